//! argva — adversarially regularized graph autoencoders (GAE, VGAE, ARGA, ARGVA) trained
//! entirely on the GPU through WGSL compute shaders driven by wgpu.
//!
//! Layers, bottom up (see `docs/architecture.md`):
//! - [`gpu`]: adapter/device selection, typed buffers, the kernel binding contract.
//! - [`kernels`]: one module per WGSL kernel: host wrapper + CPU twin (the test oracle).
//! - [`data`]: Planetoid / user / synthetic graphs, link splits, the GCN operator (CPU, no GPU).
//! - [`eval`]: link-prediction and clustering metrics (CPU).
//! - [`reference`]: a float64 CPU implementation of one training epoch (replays PyG's golden epochs).
//!
//! - [`cli`]: the command line (native only), shared by the `argva` binary and Python.
//!
//! The engine (everything but [`cli`] and `python`) does no file or network I/O and no
//! blocking waits, so it can run in a browser (wasm32 + WebGPU) too.

pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod data;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod gpu;
pub mod kernels;
pub mod model;
#[cfg(all(feature = "python", not(target_arch = "wasm32")))]
mod python;
pub mod reference;
#[doc(hidden)]
pub mod testing;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
