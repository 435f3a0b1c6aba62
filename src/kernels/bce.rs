//! Discriminator losses: binary cross-entropy on logits, per row, fused with dL/dlogit.
//! Shader: `shaders/bce.wgsl`. Sum `loss` for the scalar (each row already carries 1/n).
//!
//! Cost per row: one exp, one log, ≈ 6 FLOPs; 4 bytes read, 8 written.

use super::{check_len, check_u32};
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

/// `shaders/lib/logistic.wgsl` (softplus, sigmoid) + `shaders/bce.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/bce.wgsl")
);
pub const WORKGROUP_SIZE: u32 = 256;
/// `@binding` order: params, logits, loss, grad.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    inv_n: f32,
    _pad: [u32; 2],
}

fn bind(
    ctx: &GpuContext,
    entry: &'static str,
    logits: Arg<'_>,
    loss: Arg<'_>,
    grad: Arg<'_>,
    n: usize,
    rows: usize,
) -> GpuResult<Dispatch> {
    check_u32(&format!("bce {entry}: rows"), rows)?;
    for (what, arg) in [("logits", &logits), ("loss", &loss), ("grad", &grad)] {
        check_len(&format!("bce {entry}: `{what}` elements"), arg, rows)?;
    }
    let params = Params {
        n: n as u32,
        inv_n: (1.0 / n.max(1) as f64) as f32,
        _pad: [0; 2],
    };
    let params = uniform(ctx, "bce params", &params);
    let spec = KernelSpec {
        label: "bce",
        source: SOURCE,
        entry,
        bindings: BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    let grid = grid_1d(ctx, "bce", rows as u64, WORKGROUP_SIZE)?;
    ctx.kernel(&spec)?
        .dispatch(ctx, &[(&params).into(), logits, loss, grad], grid)
}

/// Discriminator loss over `2n` logits: rows `0..n` fake (label 0), `n..2n` real (label 1).
pub fn disc(
    ctx: &GpuContext,
    logits: Arg<'_>,
    loss: Arg<'_>,
    grad: Arg<'_>,
    n: usize,
) -> GpuResult<Dispatch> {
    let rows = n.saturating_mul(2);
    bind(ctx, "disc", logits, loss, grad, n, rows)
}

/// The encoder's regulariser over `n` logits, all labelled real.
pub fn reg(
    ctx: &GpuContext,
    logits: Arg<'_>,
    loss: Arg<'_>,
    grad: Arg<'_>,
    n: usize,
) -> GpuResult<Dispatch> {
    bind(ctx, "reg", logits, loss, grad, n, n)
}

fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn row_cpu(s: f64, real: bool, n: usize) -> (f64, f64) {
    let n = n as f64;
    if real {
        (softplus(-s) / n, -sigmoid(-s) / n)
    } else {
        (softplus(s) / n, sigmoid(s) / n)
    }
}

/// CPU twin of [`disc`]: (per-row loss, per-row dL/dlogit) for `2n` logits.
pub fn disc_cpu(logits: &[f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    rows_cpu(logits, n, n)
}

/// Loss terms and gradients of `logits` whose first `fake` rows are labelled 0 and the rest
/// 1, each weighted 1/n (a row chunk of a discriminator batch).
pub fn rows_cpu(logits: &[f64], fake: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    logits
        .iter()
        .enumerate()
        .map(|(r, &s)| row_cpu(s, r >= fake, n))
        .unzip()
}

/// CPU twin of [`reg`].
pub fn reg_cpu(logits: &[f64]) -> (Vec<f64>, Vec<f64>) {
    rows_cpu(logits, 0, logits.len())
}
