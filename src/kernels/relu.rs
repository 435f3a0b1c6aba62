//! ReLU forward and its in-place backward. Shader: `shaders/relu.wgsl`.
//!
//! The template every kernel module follows: the binding contract (the `Params` uniform, the
//! binding list, the workgroup size) is declared here once, next to the CPU twin that tests
//! use as the oracle. Cost: n reads + n writes, no FLOPs worth counting.

use super::check_len;
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

pub const SOURCE: &str = include_str!("../../shaders/relu.wgsl");
pub const WORKGROUP_SIZE: u32 = 256;
/// `@binding` order: params, input, out.
pub const BINDINGS: &[Binding] = &[Binding::Uniform, Binding::Read, Binding::ReadWrite];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    _pad: [u32; 3],
}

fn spec(entry: &'static str) -> KernelSpec {
    KernelSpec {
        label: "relu",
        source: SOURCE,
        entry,
        bindings: BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    }
}

fn bind(
    ctx: &GpuContext,
    entry: &'static str,
    input: Arg<'_>,
    out: Arg<'_>,
    n: usize,
) -> GpuResult<Dispatch> {
    for (what, arg) in [("input", &input), ("out", &out)] {
        check_len(&format!("relu {entry}: `{what}` elements"), arg, n)?;
    }
    let params = uniform(
        ctx,
        "relu params",
        &Params {
            n: n as u32,
            _pad: [0; 3],
        },
    );
    let grid = grid_1d(ctx, "relu", n as u64, WORKGROUP_SIZE)?;
    ctx.kernel(&spec(entry))?
        .dispatch(ctx, &[(&params).into(), input, out], grid)
}

fn same_len(x: &GpuBuffer<f32>, y: &GpuBuffer<f32>) -> GpuResult<usize> {
    if x.len() != y.len() {
        return Err(GpuError::SizeMismatch {
            what: format!("relu: `{}` vs `{}`", x.label(), y.label()),
            expected: x.len(),
            got: y.len(),
        });
    }
    Ok(x.len())
}

/// `y = max(x, 0)`.
pub fn forward(ctx: &GpuContext, x: &GpuBuffer<f32>, y: &GpuBuffer<f32>) -> GpuResult<Dispatch> {
    let n = same_len(x, y)?;
    bind(ctx, "forward", x.into(), y.into(), n)
}

/// In place: `grad ← grad ⊙ [y > 0]`, with `y` the forward's output.
pub fn backward(
    ctx: &GpuContext,
    y: &GpuBuffer<f32>,
    grad: &GpuBuffer<f32>,
) -> GpuResult<Dispatch> {
    let n = same_len(y, grad)?;
    bind(ctx, "backward", y.into(), grad.into(), n)
}

/// [`backward`] over the first `n` elements of two bindings (e.g. the first rows of a
/// larger activation buffer).
pub fn backward_range(
    ctx: &GpuContext,
    y: Arg<'_>,
    grad: Arg<'_>,
    n: usize,
) -> GpuResult<Dispatch> {
    bind(ctx, "backward", y, grad, n)
}

/// CPU twin of [`forward`].
pub fn forward_cpu(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v.max(0.0)).collect()
}

/// CPU twin of [`backward`].
pub fn backward_cpu(y: &[f64], grad: &[f64]) -> Vec<f64> {
    y.iter()
        .zip(grad)
        .map(|(&y, &g)| if y > 0.0 { g } else { 0.0 })
        .collect()
}
