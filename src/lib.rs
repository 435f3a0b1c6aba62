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
//! The engine (everything but the CLI in `src/main.rs`) does no file or network I/O
//! and no blocking waits, so it can run in a browser (wasm32 + WebGPU) too.

pub mod checkpoint;
pub mod data;
pub mod eval;
pub mod export;
pub mod gpu;
pub mod kernels;
pub mod model;
pub mod reference;
#[doc(hidden)]
pub mod testing;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
