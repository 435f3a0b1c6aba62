//! argva — adversarially regularized graph autoencoders (GAE, VGAE, ARGA, ARGVA) trained
//! entirely on the GPU through WGSL compute shaders driven by wgpu.
//!
//! Layers, bottom up (see `docs/architecture.md`):
//! - [`gpu`]: adapter/device selection, typed buffers, the kernel binding contract.
//! - [`model`]: model kinds, parameter layouts, PyTorch Geometric's names, initialisation.
//! - [`data`]: Planetoid / user / synthetic graphs, link splits, the GCN operator, `.npy`
//!   (CPU, no GPU).
//! - [`eval`]: link-prediction and clustering metrics (CPU).
//! - [`kernels`]: one module per WGSL kernel family: host wrapper + CPU twin (the test oracle).
//! - [`reference`](mod@reference): a float64 CPU implementation of one training epoch (replays PyG's golden
//!   epochs).
//! - [`train`]: the GPU engine, the full-batch and mini-batch loops, the layer-wise embedding.
//! - [`checkpoint`], [`export`]: the trained model as safetensors, results as bytes.
//! - [`run`]: **the job** — train a graph, evaluate, report — which every front end calls.
//! - [`dist`]: the distributed run's pieces built so far (collectives, partition shards).
//! - [`doctor`]: `argva doctor`'s checks of a GPU.
//! - `output` (native only): atomic file writes.
//! - Front ends: `cli` (the command line, native only), `python` (feature `python`), `web`
//!   (wasm32).
//!
//! Everything up to [`doctor`] does no network I/O and no blocking waits on the training
//! path, so the same job runs in a browser (wasm32 + WebGPU); [`data`] reads files only in
//! its native readers.

pub mod checkpoint;
#[cfg(not(target_arch = "wasm32"))]
pub mod cli;
pub mod data;
pub mod dist;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod gpu;
pub mod kernels;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod output;
#[cfg(all(feature = "python", not(target_arch = "wasm32")))]
mod python;
pub mod reference;
pub mod run;
#[doc(hidden)]
pub mod testing;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
