//! Column sums of a row-major matrix: the gradient of a per-column bias. Shader:
//! `shaders/colsum.wgsl`. Cost: rows·cols adds. A workgroup owns up to
//! [`MAX_COLS_PER_WORKGROUP`] columns and splits the rows into slices reduced in a fixed order.

use super::{check_len, check_u32};
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

pub const SOURCE: &str = include_str!("../../shaders/colsum.wgsl");
pub const WORKGROUP_SIZE: u32 = 64;
/// Columns one workgroup sums (fewer, a power of two, when the matrix is narrower); the
/// workgroup's other lanes split the rows.
pub const MAX_COLS_PER_WORKGROUP: usize = 8;
/// `@binding` order: params, m, out.
pub const BINDINGS: &[Binding] = &[Binding::Uniform, Binding::Read, Binding::ReadWrite];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    accumulate: u32,
    cw: u32,
}

fn spec() -> KernelSpec {
    KernelSpec {
        label: "colsum",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    }
}

/// Binds `out[c] = Σ_r m[r·cols + c]` (or `+=` with `accumulate`) for `m` `[rows × cols]`.
pub fn bind(
    ctx: &GpuContext,
    m: Arg<'_>,
    out: Arg<'_>,
    rows: usize,
    cols: usize,
    accumulate: bool,
) -> GpuResult<Dispatch> {
    check_len("colsum: `m` ([rows × cols])", &m, rows * cols)?;
    check_u32("colsum: `m`", rows * cols)?;
    check_len("colsum: `out` ([cols])", &out, cols)?;
    let cw = cols.next_power_of_two().min(MAX_COLS_PER_WORKGROUP);
    let params = uniform(
        ctx,
        "colsum params",
        &Params {
            rows: rows as u32,
            cols: cols as u32,
            accumulate: accumulate as u32,
            cw: cw as u32,
        },
    );
    // One workgroup per `cw` columns (grid_1d with a "workgroup size" of 1 counts groups).
    let grid = grid_1d(ctx, "colsum", cols.div_ceil(cw) as u64, 1)?;
    ctx.kernel(&spec())?
        .dispatch(ctx, &[(&params).into(), m, out], grid)
}

/// CPU twin of [`bind`]: the column sums of `m` `[rows × cols]`, plus `acc` if given.
pub fn colsum_cpu(m: &[f64], rows: usize, cols: usize, acc: Option<&[f64]>) -> Vec<f64> {
    let mut out = acc.map_or_else(|| vec![0.0; cols], <[f64]>::to_vec);
    for r in 0..rows {
        for (o, &x) in out.iter_mut().zip(&m[r * cols..][..cols]) {
            *o += x;
        }
    }
    out
}

/// Column sums of a rows×cols matrix (bias gradients).
pub fn cost(rows: usize, cols: usize) -> super::Cost {
    super::Cost::elementwise(rows * cols, rows * cols, cols)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("main", BINDINGS)],
        super::params_layout!(Params {
            rows,
            cols,
            accumulate,
            cw
        }),
        vec![],
    )
}
