//! Dense matmul in three operand layouts with the fused [`Epilogue`]. Shader:
//! `shaders/matmul.wgsl`.
//!
//! The forms cover forward and backward of a dense layer without materialising transposes:
//! NN (`X·W`), NT (`G·Wᵀ`, and forward layers whose weights are stored `[out × in]` as in
//! PyTorch), TN (`Xᵀ·G`, weight gradients, where k is the long batch dimension).
//! Cost: 2·m·n·k FLOPs. Each invocation computes a 4 × 8 output block in registers
//! ([`TILE_ROWS`] × [`TILE_COLS`]); every output is one sequential sum over k, so results
//! are bit-reproducible. Splitting TN's long k across a workgroup (64 partials per output,
//! summed in a fixed order) was measured 1.5× slower on lavapipe, whose workgroup barriers
//! are costly, so every form loops over k in one invocation.

use super::{Epilogue, check_len, check_u32};
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

pub const SOURCE: &str = include_str!("../../shaders/matmul.wgsl");
/// Workgroup size for grids of at least [`SMALL_GRID`] blocks; smaller grids use
/// [`SMALL_WORKGROUP_SIZE`] so that they still spread over several cores (lavapipe runs one
/// workgroup per thread: a 64 × 32 weight gradient was one workgroup at 64 lanes, 2× slower).
pub const WORKGROUP_SIZE: u32 = 64;
pub const SMALL_WORKGROUP_SIZE: u32 = 16;
pub const SMALL_GRID: usize = 4096;

/// Output rows per invocation (`TM` in the shader).
pub const TILE_ROWS: usize = 4;
/// Output columns per invocation (`TN` in the shader).
pub const TILE_COLS: usize = 8;
/// `@binding` order: params, a, b, bias, out, mask, colsum.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::Read,
    Binding::ReadWrite,
];

/// Where the batch operand (A in NN/NT, B in TN: the one whose rows are the batch) keeps its
/// rows: logical rows `≥ split` are read `gap` rows further on. The discriminator reads its
/// batch `[z ; z′_k]` out of one buffer `[z ; z′_0 ; … ; z′_{K−1}]` this way (split = N,
/// gap = k·N) instead of copying z′_k next to z.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowGap {
    pub split: usize,
    pub gap: usize,
}

impl RowGap {
    /// Rows stored contiguously.
    pub const NONE: RowGap = RowGap {
        split: usize::MAX,
        gap: 0,
    };

    /// Physical row of logical row `r`.
    pub fn row(&self, r: usize) -> usize {
        if r >= self.split { r + self.gap } else { r }
    }
}

impl Default for RowGap {
    fn default() -> Self {
        Self::NONE
    }
}

/// Options of [`bind_ext`] beyond the output epilogue.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extra<'a> {
    /// Row layout of the batch operand.
    pub row_gap: RowGap,
    /// TN only: also write `colsum[i] = Σ_kk A[kk, i]` (m values) — the bias gradient that
    /// goes with the weight gradient `Aᵀ·B` when A is the layer's output gradient. With the
    /// accumulate epilogue the sums are added to `colsum` as the product is to `out` (a
    /// gradient summed over row chunks of a batch too large for one binding).
    pub colsum: Option<Arg<'a>>,
}

const FLAG_COLSUM: u32 = 16;

/// Operand layouts; `out` is always `[m × n]` row-major and the sum runs over `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `out = A·B`, A `[m × k]`, B `[k × n]`.
    NN,
    /// `out = Aᵀ·B`, A stored `[k × m]`, B `[k × n]`.
    TN,
    /// `out = A·Bᵀ`, A `[m × k]`, B stored `[n × k]`.
    NT,
}

impl Form {
    fn entry(self) -> &'static str {
        match self {
            Form::NN => "nn",
            Form::TN => "tn",
            Form::NT => "nt",
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    mb: u32,
    split: u32,
    gap: u32,
    _pad: u32,
}

fn spec(entry: &'static str, workgroup_size: u32) -> KernelSpec {
    KernelSpec {
        label: "matmul",
        source: SOURCE,
        entry,
        bindings: BINDINGS,
        constants: vec![("WG", workgroup_size as f64)],
    }
}

/// Binds `out[m × n] = epilogue(op(A)·op(B))` for `form`. The bias (if any) has `n` values,
/// the mask (if any) `m × n`. Every binding's size is checked; any m, n, k ≥ 0 is allowed
/// (k = 0 gives the epilogue of 0).
#[allow(clippy::too_many_arguments)]
pub fn bind(
    ctx: &GpuContext,
    form: Form,
    a: Arg<'_>,
    b: Arg<'_>,
    out: Arg<'_>,
    m: usize,
    n: usize,
    k: usize,
    epi: Epilogue<'_>,
) -> GpuResult<Dispatch> {
    bind_ext(ctx, form, a, b, out, m, n, k, epi, Extra::default())
}

/// [`bind`] with a row gap in the batch operand and, for TN, the column sums of A.
#[allow(clippy::too_many_arguments)]
pub fn bind_ext(
    ctx: &GpuContext,
    form: Form,
    a: Arg<'_>,
    b: Arg<'_>,
    out: Arg<'_>,
    m: usize,
    n: usize,
    k: usize,
    epi: Epilogue<'_>,
    extra: Extra<'_>,
) -> GpuResult<Dispatch> {
    let (a_shape, b_shape) = match form {
        Form::NN => ("matmul NN: `a` ([m × k])", "matmul NN: `b` ([k × n])"),
        Form::TN => ("matmul TN: `a` ([k × m])", "matmul TN: `b` ([k × n])"),
        Form::NT => ("matmul NT: `a` ([m × k])", "matmul NT: `b` ([n × k])"),
    };
    // Stored rows of the batch operand: its last logical row, moved by the gap.
    let gap = extra.row_gap;
    let stored = |rows: usize| if rows == 0 { 0 } else { gap.row(rows - 1) + 1 };
    let (a_len, b_len) = match form {
        Form::NN | Form::NT => (stored(m) * k, n * k),
        Form::TN => (m * k, stored(k) * n),
    };
    for (what, arg, len) in [
        (a_shape, &a, a_len),
        (b_shape, &b, b_len),
        ("matmul: `out` ([m × n])", &out, m * n),
    ] {
        check_len(what, arg, len)?;
        check_u32(what, len)?;
    }
    let (bias, mut flags) = epi.resolve("matmul epilogue", n, a)?;
    let mask = match epi.mask {
        Some(mask) => {
            check_len("matmul epilogue: `mask` ([m × n])", &mask, m * n)?;
            flags |= super::FLAG_MASK;
            mask
        }
        None => a,
    };
    let colsum = match extra.colsum {
        Some(cs) => {
            if form != Form::TN {
                return Err(GpuError::InvalidArgument {
                    what: "matmul colsum".into(),
                    message: "the column sums of A are only available in the TN form".into(),
                });
            }
            check_len("matmul TN: `colsum` ([m])", &cs, m)?;
            if n == 0 {
                // Column 0's blocks write the sums; with no columns there are none.
                return Err(GpuError::InvalidArgument {
                    what: "matmul colsum".into(),
                    message: "column sums need an output with at least one column".into(),
                });
            }
            flags |= FLAG_COLSUM;
            cs
        }
        None => ctx.unused_output(),
    };
    let split = gap.split.min(u32::MAX as usize) as u32;
    let gap_rows = if gap.split == usize::MAX { 0 } else { gap.gap };
    check_u32("matmul row gap", gap_rows)?;
    let mb = m.div_ceil(TILE_ROWS);
    let params = uniform(
        ctx,
        "matmul params",
        &Params {
            m: m as u32,
            n: n as u32,
            k: k as u32,
            flags,
            mb: mb as u32,
            split,
            gap: gap_rows as u32,
            _pad: 0,
        },
    );
    let blocks = mb * n.div_ceil(TILE_COLS);
    let wg = if blocks < SMALL_GRID {
        SMALL_WORKGROUP_SIZE
    } else {
        WORKGROUP_SIZE
    };
    let grid = grid_1d(ctx, "matmul", blocks as u64, wg)?;
    ctx.kernel(&spec(form.entry(), wg))?.dispatch(
        ctx,
        &[(&params).into(), a, b, bias, out, mask, colsum],
        grid,
    )
}

/// CPU twin of [`bind`]: `[relu](op(A)·op(B) + bias) [+ acc]`, `[m × n]` row-major.
#[allow(clippy::too_many_arguments)]
pub fn matmul_cpu(
    form: Form,
    a: &[f64],
    b: &[f64],
    m: usize,
    n: usize,
    k: usize,
    bias: Option<&[f64]>,
    relu: bool,
    acc: Option<&[f64]>,
) -> Vec<f64> {
    let a_at = |i: usize, kk: usize| match form {
        Form::TN => a[kk * m + i],
        Form::NN | Form::NT => a[i * k + kk],
    };
    let b_at = |kk: usize, j: usize| match form {
        Form::NT => b[j * k + kk],
        Form::NN | Form::TN => b[kk * n + j],
    };
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k).map(|kk| a_at(i, kk) * b_at(kk, j)).sum();
        }
    }
    super::epilogue_cpu(&mut out, n, bias, relu, acc);
    out
}

/// ReLU, the twin of the `relu` epilogue.
pub fn relu_cpu(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v.max(0.0)).collect()
}

/// ReLU backward, the twin of the `mask` epilogue: `grad` where the activation `y` is > 0.
pub fn relu_backward_cpu(y: &[f64], grad: &[f64]) -> Vec<f64> {
    y.iter()
        .zip(grad)
        .map(|(&y, &g)| if y > 0.0 { g } else { 0.0 })
        .collect()
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("nn", BINDINGS), ("tn", BINDINGS), ("nt", BINDINGS)],
        super::params_layout!(Params {
            m,
            n,
            k,
            flags,
            mb,
            split,
            gap
        }),
        [
            super::EPILOGUE_FLAGS.as_slice(),
            &[
                ("FLAG_MASK", super::FLAG_MASK),
                ("FLAG_COLSUM", FLAG_COLSUM),
            ],
        ]
        .concat(),
    )
}

#[cfg(test)]
mod tests {
    /// The shader's register tile must match the host's grid arithmetic (array sizes in
    /// WGSL must be constants, so these cannot be `override`s).
    #[test]
    fn shader_tile_matches_host() {
        for want in [
            format!("const TM: u32 = {}u;", super::TILE_ROWS),
            format!("const TN: u32 = {}u;", super::TILE_COLS),
        ] {
            assert!(super::SOURCE.contains(&want), "matmul.wgsl lacks `{want}`");
        }
    }
}
