//! Training: the hyperparameters (`config.rs`: [`TrainConfig`], the recipes), the GPU
//! [`engine`] (buffers + recorded step), the asynchronous loss [`readback`], [`Trainer`]
//! (`trainer.rs`), which feeds the engine one step at a time, and the loops that drive it:
//! [`fit`] (full batch), [`minibatch`] (Cluster-GCN) and [`layerwise`] (the embedding of a
//! graph past the device).
//! Negative pairs are drawn on the GPU (`kernels::negatives`: an epoch then uploads only its
//! clock); graphs where more than half of all pairs are training edges sample them on the CPU
//! instead (`TrainInputs::sample_negatives`, the free-list sampler) while the GPU runs the
//! previous epoch.

mod config;
pub mod engine;
pub mod fit;
pub mod layerwise;
pub mod minibatch;
pub mod readback;
pub mod replay;
pub mod schedule;
mod trainer;

pub use config::{Overrides, PAPER_ARGA_NOISE, PAPER_RECON_STEPS, Recipe, TrainConfig};
pub use trainer::{EpochLosses, Prepared, SampleNegatives, TrainInputs, Trainer, queue_step};
