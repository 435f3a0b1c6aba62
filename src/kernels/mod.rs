//! One module per WGSL kernel: the host wrapper (which owns the binding contract: uniform
//! layout, binding order, workgroup size) and the CPU twin used as the test oracle.
//!
//! Twins compute in f64 on f64 inputs so the same function serves as the oracle for the
//! f32 GPU result and as the forward for finite-difference gradient checks.

pub mod adam;
pub mod bce;
pub mod decoder;
pub mod dense_recon;
pub mod reduce;
pub mod relu;
pub mod reparam;
pub mod rng;

/// Every shader the crate ships, by file name: validated with naga in the tests.
pub const SHADERS: &[(&str, &str)] = &[
    ("adam.wgsl", adam::SOURCE),
    ("bce.wgsl", bce::SOURCE),
    ("decoder_gather.wgsl", decoder::GATHER_SOURCE),
    ("decoder_loss.wgsl", decoder::LOSS_SOURCE),
    ("dense_recon.wgsl", dense_recon::SOURCE),
    ("reduce.wgsl", reduce::SOURCE),
    ("relu.wgsl", relu::SOURCE),
    ("reparam.wgsl", reparam::SOURCE),
    ("rng.wgsl", rng::SOURCE),
];

use crate::gpu::Arg;

/// What a product kernel (spmm, matmul) does with each output element after the sum:
/// `out = [relu]( sum + bias[col] ) [+ out]`. Fusing these saves a dispatch and a pass over
/// the output each. `accumulate` adds into the existing output (gradient accumulation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// Per-column bias, one value per output column.
    pub bias: Option<Arg<'a>>,
    /// Apply max(·, 0) after the bias (not allowed together with `accumulate`).
    pub relu: bool,
    /// `out += result` instead of `out = result`.
    pub accumulate: bool,
}
