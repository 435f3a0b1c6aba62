//! GPU kernels against their CPU twins, on whichever adapter `WGPU_BACKEND` /
//! `WGPU_ADAPTER_NAME` select (lavapipe in CI). One test binary for all kernels, so the
//! device is opened once and shared.

use std::sync::OnceLock;

use argva::gpu::GpuContext;

mod adam;
mod colsum;
mod decoder;
mod dense_recon;
mod disc_fused;
mod doctor;
mod exchange;
mod faults;
mod fit;
mod kernel_timing;
mod loop_probe;
mod matmul;
mod minibatch;
mod negatives;
mod recorded;
mod reduce;
mod reparam;
mod rng;
mod run;
mod spmm;
mod train;

/// The shared device. Without an adapter the suite is skipped with a message, except under
/// CI, where it fails ([`argva::testing::gpu_or_skip`]).
pub fn ctx() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| argva::testing::gpu_or_skip("the GPU test suite"))
}

/// Bytes [`small_binding_ctx`] allows per binding.
pub const SMALL_BINDING: u64 = 8192;

/// A second device handle that treats bindings as if the device allowed only
/// [`SMALL_BINDING`] bytes: small inputs then take the split paths (row chunks, two-window
/// gathers) that real devices take for arrays of hundreds of MiB.
pub fn small_binding_ctx() -> &'static GpuContext {
    static CTX: OnceLock<GpuContext> = OnceLock::new();
    CTX.get_or_init(|| {
        let mut ctx = argva::testing::gpu_or_skip("the GPU test suite");
        ctx.limit_bindings(SMALL_BINDING);
        ctx
    })
}
