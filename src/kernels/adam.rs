//! One Adam step over a flat parameter vector, as PyTorch's `torch.optim.Adam` (β1 0.9,
//! β2 0.999, ε 1e-8, no weight decay). Shader: `shaders/adam.wgsl`.
//!
//! The step count `t = clock[0]·steps_per_epoch + step_in_epoch + 1` is computed on the GPU
//! from the epoch clock, so one recorded dispatch is reused every epoch.
//!
//! Cost per element: ≈ 12 FLOPs + one sqrt; 16 bytes read, 12 written.

use super::{check_len, check_u32};
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

pub const SOURCE: &str = include_str!("../../shaders/adam.wgsl");
pub const WORKGROUP_SIZE: u32 = 256;
pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;
/// `@binding` order: params, clock, theta, grads, m, v.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len: u32,
    steps_per_epoch: u32,
    step_in_epoch: u32,
    _pad: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    // Passed rather than computed in f32 on the GPU: 1 − 0.999 in f32 is off by 1.3e-5.
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    ln_beta1: f32,
    ln_beta2: f32,
}

/// Updates `params`, `m`, `v` (each `len` elements) in place from `grads`.
#[allow(clippy::too_many_arguments)]
pub fn bind(
    ctx: &GpuContext,
    clock: &GpuBuffer<u32>,
    params: Arg<'_>,
    grads: Arg<'_>,
    m: Arg<'_>,
    v: Arg<'_>,
    len: usize,
    lr: f32,
    steps_per_epoch: u32,
    step_in_epoch: u32,
) -> GpuResult<Dispatch> {
    if clock.is_empty() {
        return Err(GpuError::SizeMismatch {
            what: format!("adam: clock `{}` elements", clock.label()),
            expected: 1,
            got: 0,
        });
    }
    check_u32("adam: parameters", len)?;
    for (what, arg) in [("params", &params), ("grads", &grads), ("m", &m), ("v", &v)] {
        check_len(&format!("adam: `{what}` elements"), arg, len)?;
    }
    let uniforms = Params {
        len: len as u32,
        steps_per_epoch,
        step_in_epoch,
        _pad: 0,
        lr,
        beta1: BETA1 as f32,
        beta2: BETA2 as f32,
        eps: EPS as f32,
        one_minus_beta1: (1.0 - BETA1) as f32,
        one_minus_beta2: (1.0 - BETA2) as f32,
        ln_beta1: BETA1.ln() as f32,
        ln_beta2: BETA2.ln() as f32,
    };
    let uniforms = uniform(ctx, "adam params", &uniforms);
    let spec = KernelSpec {
        label: "adam",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    let grid = grid_1d(ctx, "adam", len as u64, WORKGROUP_SIZE)?;
    ctx.kernel(&spec)?.dispatch(
        ctx,
        &[
            (&uniforms).into(),
            (&clock.buffer).into(),
            params,
            grads,
            m,
            v,
        ],
        grid,
    )
}

/// CPU twin of [`bind`] at step `t` (1-based), in place.
pub fn step_cpu(theta: &mut [f64], grads: &[f64], m: &mut [f64], v: &mut [f64], lr: f64, t: u64) {
    let bc1 = 1.0 - BETA1.powf(t as f64);
    let bc2 = 1.0 - BETA2.powf(t as f64);
    for e in 0..theta.len() {
        let g = grads[e];
        m[e] = BETA1 * m[e] + (1.0 - BETA1) * g;
        v[e] = BETA2 * v[e] + (1.0 - BETA2) * g * g;
        theta[e] -= lr * (m[e] / bc1) / ((v[e] / bc2).sqrt() + EPS);
    }
}
