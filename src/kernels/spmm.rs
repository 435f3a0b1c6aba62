//! CSR sparse × dense product with the fused [`Epilogue`]. Shader: `shaders/spmm.wgsl`.
//!
//! Used for Â·H (the GCN propagation), X·W (sparse features) and, through a CSR of the
//! transpose built once on the host by [`csr_transpose`], for Aᵀ·G in the backward pass —
//! always a deterministic row gather, never atomics. Cost: 2·nnz·c FLOPs, nnz·c reads of B.

use super::{Epilogue, check_len, check_u32};
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{Windows, grid_1d, uniform};
use std::ops::Range;

pub const SOURCE: &str = include_str!("../../shaders/spmm.wgsl");
pub const WORKGROUP_SIZE: u32 = 64;
/// Output columns one invocation owns (the shader's vec4 accumulator).
pub const COLS_PER_INVOCATION: usize = 8;
/// `@binding` order: params, row_ptr, col, val, b, bias, out.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
];
/// Entry `windowed` (B past one binding): [`BINDINGS`], then b_hi, B's second window.
pub const BINDINGS_WINDOWED: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::Read,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    c: u32,
    nq: u32,
    flags: u32,
    win_rows: u32,
    _pad: [u32; 3],
}

fn spec(windowed: bool) -> KernelSpec {
    KernelSpec {
        label: "spmm",
        source: SOURCE,
        entry: if windowed { "windowed" } else { "main" },
        bindings: if windowed {
            BINDINGS_WINDOWED
        } else {
            BINDINGS
        },
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    }
}

/// A CSR matrix `[rows × cols]` on the device (the three arrays of the host CSR).
#[derive(Debug)]
pub struct CsrBuffers {
    pub row_ptr: GpuBuffer<u32>,
    pub col: GpuBuffer<u32>,
    pub val: GpuBuffer<f32>,
    pub rows: usize,
    pub cols: usize,
    pub nnz: usize,
}

impl CsrBuffers {
    /// Validates a host CSR (`row_ptr` starts at 0, never decreases, ends at nnz; every
    /// column index is below `cols`; the lengths agree) and uploads it. `rows` is
    /// `row_ptr.len() − 1`. An empty matrix (nnz = 0) is fine.
    pub fn upload(
        ctx: &GpuContext,
        label: &str,
        row_ptr: &[u32],
        col: &[u32],
        val: &[f32],
        cols: usize,
    ) -> GpuResult<CsrBuffers> {
        validate(label, row_ptr, col, val, cols)?;
        Ok(CsrBuffers {
            row_ptr: GpuBuffer::from_slice(ctx, &format!("{label}.row_ptr"), row_ptr)?,
            col: GpuBuffer::from_slice(ctx, &format!("{label}.col"), col)?,
            val: GpuBuffer::from_slice(ctx, &format!("{label}.val"), val)?,
            rows: row_ptr.len() - 1,
            cols,
            nnz: col.len(),
        })
    }
}

impl CsrBuffers {
    /// Room for any matrix of at most `rows` rows and `nnz` non-zeros, `cols` columns (a
    /// mini-batch engine's operators); empty (0 rows) until [`Self::write`].
    pub fn zeros(
        ctx: &GpuContext,
        label: &str,
        rows: usize,
        nnz: usize,
        cols: usize,
    ) -> GpuResult<CsrBuffers> {
        Ok(CsrBuffers {
            row_ptr: GpuBuffer::zeros(ctx, &format!("{label}.row_ptr"), rows + 1)?,
            col: GpuBuffer::zeros(ctx, &format!("{label}.col"), nnz)?,
            val: GpuBuffer::zeros(ctx, &format!("{label}.val"), nnz)?,
            rows: 0,
            cols,
            nnz: 0,
        })
    }

    /// Validates a host CSR as [`Self::upload`] does and writes it over the buffers' first
    /// elements; its sizes become the matrix's. Refused when it does not fit.
    pub fn write(
        &mut self,
        ctx: &GpuContext,
        row_ptr: &[u32],
        col: &[u32],
        val: &[f32],
        cols: usize,
    ) -> GpuResult<()> {
        validate(self.row_ptr.label(), row_ptr, col, val, cols)?;
        self.row_ptr.write_prefix(ctx, row_ptr)?;
        self.col.write_prefix(ctx, col)?;
        self.val.write_prefix(ctx, val)?;
        (self.rows, self.cols, self.nnz) = (row_ptr.len() - 1, cols, col.len());
        Ok(())
    }
}

/// The structural checks of [`CsrBuffers::upload`], on the host arrays.
pub fn validate(
    label: &str,
    row_ptr: &[u32],
    col: &[u32],
    val: &[f32],
    cols: usize,
) -> GpuResult<()> {
    let bad = |message: String| GpuError::InvalidArgument {
        what: format!("CSR `{label}`"),
        message,
    };
    if col.len() != val.len() {
        return Err(GpuError::SizeMismatch {
            what: format!("CSR `{label}`: values (one per column index)"),
            expected: col.len(),
            got: val.len(),
        });
    }
    check_u32(&format!("CSR `{label}`"), col.len())?;
    let Some((&first, _)) = row_ptr.split_first() else {
        return Err(bad("row_ptr is empty (it needs rows + 1 entries)".into()));
    };
    if first != 0 {
        return Err(bad(format!("row_ptr starts at {first}, not 0")));
    }
    if let Some(r) = row_ptr.windows(2).position(|w| w[1] < w[0]) {
        return Err(bad(format!(
            "row_ptr decreases at row {r} ({} then {})",
            row_ptr[r],
            row_ptr[r + 1]
        )));
    }
    let last = row_ptr[row_ptr.len() - 1] as usize;
    if last != col.len() {
        return Err(bad(format!(
            "row_ptr ends at {last} but there are {} non-zeros",
            col.len()
        )));
    }
    if let Some(p) = col.iter().position(|&j| j as usize >= cols) {
        return Err(bad(format!(
            "non-zero {p} has column {} but the matrix has {cols} columns",
            col[p]
        )));
    }
    Ok(())
}

/// Binds `out[a.rows × c] = epilogue(A · B)` with `B` dense `[a.cols × c]` row-major.
/// The bias (if any) has `c` values. Every binding's size is checked; a `B` past one
/// binding is read through two windows (see [`crate::gpu::window`]).
pub fn bind(
    ctx: &GpuContext,
    a: &CsrBuffers,
    b: Arg<'_>,
    out: Arg<'_>,
    c: usize,
    epi: Epilogue<'_>,
) -> GpuResult<Dispatch> {
    bind_rows(ctx, a, 0..a.rows, b, out, c, epi)
}

/// [`bind`] for output rows `rows` of A only: `out` holds `rows.len() × c` values. Used in
/// row chunks when the output is past one binding; `rows.start` must keep the row pointers'
/// byte offset on the storage alignment (a multiple of 64 rows at 256 bytes).
pub fn bind_rows(
    ctx: &GpuContext,
    a: &CsrBuffers,
    rows: Range<usize>,
    b: Arg<'_>,
    out: Arg<'_>,
    c: usize,
    epi: Epilogue<'_>,
) -> GpuResult<Dispatch> {
    if rows.start > rows.end || rows.end > a.rows {
        return Err(GpuError::InvalidArgument {
            what: "spmm rows".into(),
            message: format!("rows {rows:?} of a {}-row matrix", a.rows),
        });
    }
    let n_rows = rows.len();
    check_len("spmm: `b` ([cols × c])", &b, a.cols * c)?;
    check_len("spmm: `out` ([rows × c])", &out, n_rows * c)?;
    check_u32("spmm: `b`", a.cols * c)?;
    check_u32("spmm: `out`", n_rows * c)?;
    if epi.mask.is_some() {
        return Err(crate::gpu::GpuError::InvalidArgument {
            what: "spmm epilogue".into(),
            message: "a ReLU mask is only fused into matmul".into(),
        });
    }
    let windows = Windows::of(ctx, "spmm: `b`", b, c)?;
    let b = windows.map_or(b, |w| w.lo);
    // (an absent bias binds b's first window in its place)
    let (bias, flags) = epi.resolve("spmm epilogue", c, b)?;
    let nq = c.div_ceil(COLS_PER_INVOCATION);
    let params = uniform(
        ctx,
        "spmm params",
        &Params {
            rows: n_rows as u32,
            c: c as u32,
            nq: nq.max(1) as u32,
            flags,
            win_rows: windows.map_or(0, |w| (w.split / c.max(1)) as u32),
            _pad: [0; 3],
        },
    );
    let grid = grid_1d(ctx, "spmm", (n_rows * nq) as u64, WORKGROUP_SIZE)?;
    let row_ptr = a.row_ptr.range(rows.start, n_rows + 1);
    let mut args = vec![
        (&params).into(),
        row_ptr,
        (&a.col).into(),
        (&a.val).into(),
        b,
        bias,
        out,
    ];
    if let Some(w) = windows {
        args.push(w.hi);
    }
    ctx.kernel(&spec(windows.is_some()))?
        .dispatch(ctx, &args, grid)
}

/// The CSR of Aᵀ (`[cols × rows]`) for A `[rows × cols]`, with each row's columns in
/// ascending order (a counting sort, so stable and O(nnz + rows + cols)). Expects a CSR
/// that passes [`validate`].
pub fn csr_transpose(
    rows: usize,
    cols: usize,
    row_ptr: &[u32],
    col: &[u32],
    val: &[f32],
) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let nnz = col.len();
    let mut t_ptr = vec![0u32; cols + 1];
    for &j in col {
        t_ptr[j as usize + 1] += 1;
    }
    for j in 0..cols {
        t_ptr[j + 1] += t_ptr[j];
    }
    let mut next: Vec<u32> = t_ptr[..cols].to_vec();
    let mut t_col = vec![0u32; nnz];
    let mut t_val = vec![0f32; nnz];
    for r in 0..rows {
        for p in row_ptr[r] as usize..row_ptr[r + 1] as usize {
            let j = col[p] as usize;
            let q = next[j] as usize;
            t_col[q] = r as u32;
            t_val[q] = val[p];
            next[j] += 1;
        }
    }
    (t_ptr, t_col, t_val)
}

/// CPU twin of [`bind`]: `[relu](A·B + bias) [+ acc]` for the CSR `(row_ptr, col, val)`,
/// `B` `[cols × c]` row-major; returns `[rows × c]` row-major.
#[allow(clippy::too_many_arguments)]
pub fn spmm_cpu(
    row_ptr: &[u32],
    col: &[u32],
    val: &[f64],
    b: &[f64],
    c: usize,
    bias: Option<&[f64]>,
    relu: bool,
    acc: Option<&[f64]>,
) -> Vec<f64> {
    let rows = row_ptr.len().saturating_sub(1);
    let mut out = vec![0.0; rows * c];
    for r in 0..rows {
        for p in row_ptr[r] as usize..row_ptr[r + 1] as usize {
            let brow = &b[col[p] as usize * c..][..c];
            for (o, &x) in out[r * c..][..c].iter_mut().zip(brow) {
                *o += val[p] * x;
            }
        }
    }
    super::epilogue_cpu(&mut out, c, bias, relu, acc);
    out
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("main", BINDINGS), ("windowed", BINDINGS_WINDOWED)],
        super::params_layout!(Params {
            rows,
            c,
            nq,
            flags,
            win_rows
        }),
        super::EPILOGUE_FLAGS.to_vec(),
    )
}

#[cfg(test)]
mod tests {
    /// The shader's register block must match the host's grid arithmetic (array sizes in
    /// WGSL must be constants, so this cannot be an `override`).
    #[test]
    fn shader_constant_matches_host() {
        let want = format!("const CPI: u32 = {}u;", super::COLS_PER_INVOCATION);
        assert!(super::SOURCE.contains(&want), "spmm.wgsl lacks `{want}`");
    }
}
