//! Deterministic sum of a vector into one slot of an output buffer (loss scalars).
//! Shader: `shaders/reduce.wgsl`. One workgroup of 256 lanes: lane t sums every 256th element
//! in order, then a pairwise tree combines the lanes — a fixed order, so repeated runs are
//! bit-identical, and the error grows like len/256 + log₂ 256 rather than len.
//!
//! Cost: len FLOPs, 4·len bytes read. A single workgroup keeps it simple and deterministic;
//! it is meant for loss vectors (≤ 10⁷ elements), not bulk reductions.

use crate::gpu::uniform;
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};

pub const SOURCE: &str = include_str!("../../shaders/reduce.wgsl");
/// Lanes of the single workgroup (a `const` in the shader: it sizes workgroup memory).
pub const WORKGROUP_SIZE: u32 = 256;
/// `@binding` order: params, x, out.
pub const BINDINGS: &[Binding] = &[Binding::Uniform, Binding::Read, Binding::ReadWrite];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len: u32,
    slot: u32,
    accumulate: u32,
    scale: f32,
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
    if len > u32::MAX as usize - WORKGROUP_SIZE as usize {
        return Err(GpuError::Validation {
            what: "reduce".into(),
            message: format!("length {len} exceeds the u32 index range"),
        });
    }
    if x.len_bytes() < (len * 4) as u64 {
        return Err(GpuError::SizeMismatch {
            what: "reduce: `x` elements".into(),
            expected: len,
            got: (x.len_bytes() / 4) as usize,
        });
    }
    if (out.len_bytes() / 4) as usize <= slot {
        return Err(GpuError::SizeMismatch {
            what: format!("reduce: `out` elements (slot {slot})"),
            expected: slot + 1,
            got: (out.len_bytes() / 4) as usize,
        });
    }
    let params = Params {
        len: len as u32,
        slot: slot as u32,
        accumulate: accumulate as u32,
        scale,
    };
    let params = uniform(ctx, "reduce params", &params);
    let spec = KernelSpec {
        label: "reduce",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![],
    };
    ctx.kernel(&spec)?
        .dispatch(ctx, &[(&params).into(), x, out], [1, 1, 1])
}

/// CPU twin of [`bind`] without `accumulate`: `scale·Σ x` in f64.
pub fn sum_cpu(x: &[f64], scale: f64) -> f64 {
    scale * x.iter().sum::<f64>()
}
