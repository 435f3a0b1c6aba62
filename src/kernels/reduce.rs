//! Deterministic sum of a vector into one slot of an output buffer (loss scalars).
//! Shader: `shaders/reduce.wgsl`. One workgroup of 256 lanes: lane t sums every 256th element
//! in order, then a pairwise tree combines the lanes — a fixed order, so repeated runs are
//! bit-identical, and the error grows like len/256 + log₂ 256 rather than len.
//!
//! Cost: len FLOPs, 4·len bytes read. A single workgroup keeps it simple and deterministic;
//! it is meant for loss vectors (≤ 10⁷ elements), not bulk reductions.

use super::check_len;
use crate::gpu::uniform;
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};

pub const SOURCE: &str = include_str!("../../shaders/reduce.wgsl");
/// Lanes of the single workgroup (a `const` in the shader: it sizes workgroup memory).
pub const WORKGROUP_SIZE: u32 = 256;
/// `@binding` order: params, x, out, x2.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::Read,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len: u32,
    slot: u32,
    accumulate: u32,
    scale: f32,
    len2: u32,
    slot2: u32,
    has2: u32,
    scale2: f32,
}

/// One vector to sum into one slot: `out[slot] = scale·Σ_{e<len} x[e]`.
#[derive(Clone, Copy, Debug)]
pub struct Sum<'a> {
    pub x: Arg<'a>,
    pub len: usize,
    pub slot: usize,
    pub scale: f32,
}

/// `out[slot] = scale·Σ_{e<len} x[e]` (or `+=` with `accumulate`); `len = 0` gives 0.
pub fn bind(
    ctx: &GpuContext,
    x: Arg<'_>,
    len: usize,
    out: Arg<'_>,
    slot: usize,
    scale: f32,
    accumulate: bool,
) -> GpuResult<Dispatch> {
    let first = Sum {
        x,
        len,
        slot,
        scale,
    };
    bind_sums(ctx, first, None, out, accumulate)
}

/// Two sums in one launch (two loss scalars): `first` as [`bind`] (with `accumulate`), then
/// `out[second.slot] = second.scale·Σ second.x` (always written, never accumulated).
pub fn bind_pair(
    ctx: &GpuContext,
    first: Sum<'_>,
    second: Sum<'_>,
    out: Arg<'_>,
) -> GpuResult<Dispatch> {
    bind_sums(ctx, first, Some(second), out, false)
}

fn bind_sums(
    ctx: &GpuContext,
    first: Sum<'_>,
    second: Option<Sum<'_>>,
    out: Arg<'_>,
    accumulate: bool,
) -> GpuResult<Dispatch> {
    for (i, sum) in std::iter::once(&first).chain(second.as_ref()).enumerate() {
        let x = if i == 0 { "x" } else { "x2" };
        if sum.len > u32::MAX as usize - WORKGROUP_SIZE as usize {
            return Err(GpuError::InvalidArgument {
                what: "reduce".into(),
                message: format!("length {} exceeds the u32 index range", sum.len),
            });
        }
        check_len(&format!("reduce: `{x}` elements"), &sum.x, sum.len)?;
        check_len(
            &format!("reduce: `out` elements (slot {})", sum.slot),
            &out,
            sum.slot + 1,
        )?;
    }
    let params = Params {
        len: first.len as u32,
        slot: first.slot as u32,
        accumulate: accumulate as u32,
        scale: first.scale,
        len2: second.map_or(0, |s| s.len as u32),
        slot2: second.map_or(0, |s| s.slot as u32),
        has2: second.is_some() as u32,
        scale2: second.map_or(0.0, |s| s.scale),
    };
    let params = uniform(ctx, "reduce params", &params);
    let spec = KernelSpec {
        label: "reduce",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![],
    };
    let x2 = second.map_or(first.x, |s| s.x);
    ctx.kernel(&spec)?
        .dispatch(ctx, &[(&params).into(), first.x, out, x2], [1, 1, 1])
}

/// CPU twin of [`bind`] without `accumulate`: `scale·Σ x` in f64.
pub fn sum_cpu(x: &[f64], scale: f64) -> f64 {
    scale * x.iter().sum::<f64>()
}

/// Sum of `len` values into one loss slot.
pub fn cost(len: usize) -> super::Cost {
    super::Cost::elementwise(len, len, 1)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("main", BINDINGS)],
        super::params_layout!(Params {
            len,
            slot,
            accumulate,
            scale,
            len2,
            slot2,
            has2,
            scale2
        }),
        vec![],
    )
}
