//! One Adam step over a flat parameter vector, as PyTorch's `torch.optim.Adam` (β1 0.9,
//! β2 0.999, ε 1e-8, no weight decay). Shader: `shaders/adam.wgsl`.
//!
//! The step count `t = clock[0]·steps_per_epoch + step_in_epoch + 1` is computed on the GPU
//! from the epoch clock, so one recorded dispatch is reused every epoch.
//!
//! Cost per element: ≈ 12 FLOPs + one sqrt; 16 bytes read, 12 written. With
//! [`FromPartials`], each invocation first sums its gradient's column of the fused
//! discriminator's partial sums (one row per workgroup of that launch) in order, and
//! invocation 0 the loss column.

use super::{check_len, check_u32};
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

pub const SOURCE: &str = include_str!("../../shaders/adam.wgsl");
pub const WORKGROUP_SIZE: u32 = 256;
pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;
pub const EPS: f64 = 1e-8;
/// `@binding` order: params, clock, theta, grads, m, v, partials, losses.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
    Binding::ReadWrite,
];

/// Sums the step finishes before updating: the partial sums the fused discriminator left
/// per workgroup ([`disc_fused`](super::disc_fused): row-major, rows `0..count` of `row_len`
/// values, column 0 the loss, column 1 + e parameter e's gradient). The loss total goes to
/// `losses[slot]`; with `grads` every gradient is its column's total, written back into
/// `grads` too (for diagnostics).
#[derive(Clone, Copy, Debug)]
pub struct FromPartials<'a> {
    pub table: Arg<'a>,
    pub row_len: usize,
    pub count: usize,
    pub grads: bool,
    pub losses: Arg<'a>,
    pub slot: usize,
    /// false: only finish the sums, leaving θ, m and v to a later Adam launch (a distributed
    /// step exchanges the gradients in between).
    pub update: bool,
}

/// `params.flags`: total the loss column into its slot, and every gradient column.
const FINISH_LOSS: u32 = 1;
const FINISH_GRADS: u32 = 2;
/// ... and stop there (no update).
const FINISH_ONLY: u32 = 4;

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
    // partial sums (see FromPartials): bit 0 loss, bit 1 every gradient
    flags: u32,
    count: u32,
    row_len: u32,
    slot: u32,
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
    bind_ext(
        ctx,
        clock,
        params,
        grads,
        m,
        v,
        len,
        lr,
        steps_per_epoch,
        step_in_epoch,
        None,
    )
}

/// [`bind`] that first finishes the sums in `partials` (see [`FromPartials`]).
#[allow(clippy::too_many_arguments)]
pub fn bind_ext(
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
    partials: Option<FromPartials<'_>>,
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
    let (table, losses) = match &partials {
        Some(p) => {
            if p.grads && p.row_len < len + 1 {
                return Err(GpuError::InvalidArgument {
                    what: "adam partials".into(),
                    message: format!(
                        "rows of {} values cannot hold the loss and {len} gradients",
                        p.row_len
                    ),
                });
            }
            check_u32("adam: `partials`", p.count.saturating_mul(p.row_len))?;
            let need = if p.count == 0 {
                0
            } else {
                (p.count - 1) * p.row_len + if p.grads { len + 1 } else { 1 }
            };
            check_len("adam: `partials` elements", &p.table, need)?;
            check_len("adam: `losses` elements", &p.losses, p.slot + 1)?;
            (p.table, p.losses)
        }
        // (never read: the clock stands in for the table, already bound read-only)
        None => ((&clock.buffer).into(), ctx.unused_output()),
    };
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
        flags: partials.map_or(0, flags),
        count: partials.map_or(0, |p| p.count as u32),
        row_len: partials.map_or(0, |p| p.row_len as u32),
        slot: partials.map_or(0, |p| p.slot as u32),
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
            table,
            losses,
        ],
        grid,
    )
}

/// The launch's `flags` for what it finishes of `p`.
fn flags(p: FromPartials<'_>) -> u32 {
    let grads = if p.grads { FINISH_GRADS } else { 0 };
    let only = if p.update { 0 } else { FINISH_ONLY };
    FINISH_LOSS | grads | only
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

/// One Adam step over `len` parameters: reads θ, g, m, v; writes θ, m, v (~12 FLOPs).
pub fn cost(len: usize) -> super::Cost {
    super::Cost::elementwise(12 * len, 4 * len, 3 * len)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("main", BINDINGS)],
        super::params_layout!(Params {
            len,
            steps_per_epoch,
            step_in_epoch,
            lr,
            beta1,
            beta2,
            eps,
            one_minus_beta1,
            one_minus_beta2,
            ln_beta1,
            ln_beta2,
            flags,
            count,
            row_len,
            slot
        }),
        vec![
            ("FINISH_LOSS", FINISH_LOSS),
            ("FINISH_GRADS", FINISH_GRADS),
            ("FINISH_ONLY", FINISH_ONLY),
            ("LOSS_COLUMN", super::disc_fused::LOSS_COLUMN as u32),
            ("GRAD_COLUMN", super::disc_fused::GRAD_COLUMN as u32),
        ],
    )
}
