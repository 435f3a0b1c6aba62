//! One Adam step over a flat parameter vector, as PyTorch's `torch.optim.Adam` (β1 0.9,
//! β2 0.999, ε 1e-8, no weight decay). Shader: `shaders/adam.wgsl`.
//!
//! The step count `t = clock[0]·steps_per_epoch + step_in_epoch + 1` is computed on the GPU
//! from the epoch clock, so one recorded dispatch is reused every epoch.
//!
//! Cost per element: ≈ 12 FLOPs + one sqrt; 16 bytes read, 12 written. With
//! [`FromPartials`], the invocations of w3, b3 and parameter 0 first sum a column of the
//! discriminator output layer's partial sums (one value per 64 batch rows) in order.

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

/// Sums the step finishes before updating: the partial sums the discriminator's output layer
/// left per workgroup ([`disc_out::Partials`](super::disc_out::Partials), rows `0..count`).
/// The loss total goes to `losses[slot]`; with `w3_b3` the gradients of w3 (dh values at that
/// offset of the parameter vector) and b3 (one value at the second offset) are the column
/// totals, written back into `grads` too.
#[derive(Clone, Copy, Debug)]
pub struct FromPartials<'a> {
    pub table: Arg<'a>,
    pub stride: usize,
    pub count: usize,
    pub dh: usize,
    pub w3_b3: Option<(usize, usize)>,
    pub losses: Arg<'a>,
    pub slot: usize,
}

/// `params.flags`: total the loss column into its slot, and the w3/b3 gradient columns.
const FINISH_LOSS: u32 = 1;
const FINISH_W3_B3: u32 = 2;

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
    // partial sums (see FromPartials): bit 0 loss, bit 1 w3/b3 gradients
    flags: u32,
    count: u32,
    stride: u32,
    dh: u32,
    w3: u32,
    b3: u32,
    slot: u32,
    _pad1: u32,
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
            let columns = if p.w3_b3.is_some() { p.dh + 2 } else { 1 };
            if p.count > p.stride || columns * p.stride > u32::MAX as usize {
                return Err(GpuError::InvalidArgument {
                    what: "adam partials".into(),
                    message: format!("{} rows of a table with {} rows", p.count, p.stride),
                });
            }
            check_len(
                "adam: `partials` elements",
                &p.table,
                (columns - 1) * p.stride + p.count,
            )?;
            check_len("adam: `losses` elements", &p.losses, p.slot + 1)?;
            if let Some((w3, b3)) = p.w3_b3
                && (w3 + p.dh > len || b3 >= len || len == 0)
            {
                return Err(GpuError::InvalidArgument {
                    what: "adam partials".into(),
                    message: format!(
                        "w3 at {w3} (+{}) or b3 at {b3} outside {len} parameters",
                        p.dh
                    ),
                });
            }
            (p.table, p.losses)
        }
        // (never read: the clock stands in for the table, already bound read-only)
        None => ((&clock.buffer).into(), ctx.unused_output()),
    };
    let (w3, b3) = partials.and_then(|p| p.w3_b3).unwrap_or((0, 0));
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
        flags: partials.map_or(0, |p| {
            FINISH_LOSS | if p.w3_b3.is_some() { FINISH_W3_B3 } else { 0 }
        }),
        count: partials.map_or(0, |p| p.count as u32),
        stride: partials.map_or(0, |p| p.stride as u32),
        dh: partials.map_or(0, |p| p.dh as u32),
        w3: w3 as u32,
        b3: b3 as u32,
        slot: partials.map_or(0, |p| p.slot as u32),
        _pad1: 0,
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
            stride,
            dh,
            w3,
            b3,
            slot
        }),
        vec![
            ("FINISH_LOSS", FINISH_LOSS),
            ("FINISH_W3_B3", FINISH_W3_B3),
            ("LOSS_COLUMN", super::disc_out::LOSS_COLUMN as u32),
            ("DB3_COLUMN", super::disc_out::DB3_COLUMN as u32),
            ("DW3_COLUMN", super::disc_out::DW3_COLUMN as u32),
        ],
    )
}
