//! One module per WGSL kernel: the host wrapper (which owns the binding contract: uniform
//! layout, binding order, workgroup size) and the CPU twin used as the test oracle.
//!
//! Twins compute in f64 on f64 inputs so the same function serves as the oracle for the
//! f32 GPU result and as the forward for finite-difference gradient checks.

pub mod dense_recon;
pub mod relu;

/// Every shader the crate ships, by file name: validated with naga in the tests.
pub const SHADERS: &[(&str, &str)] = &[
    ("dense_recon.wgsl", dense_recon::SOURCE),
    ("relu.wgsl", relu::SOURCE),
];
