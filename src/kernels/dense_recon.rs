//! Dense (all N² pairs) weighted reconstruction loss and its gradient, the original ARGA
//! code's loss (`--recon dense`), per chunk of rows r0..r1 (every chunk's scores fit the
//! scratch buffer, [`scratch_len`]): `shaders/dense_recon.wgsl` computes the scores
//! `Z[r0..r1]·Zᵀ` block by block in registers and writes their gradient dS and each row's loss
//! (S itself is never stored), then `dZ[r0..r1] (+)= dS·Z` (matmul NN). Two launches per chunk.
//! (Before: S by a matmul, an elementwise pass over it, then the product: three launches and
//! S written, read and rewritten; the first version was one d-wide dot per pair per invocation
//! at ~0.6 GFLOP/s on lavapipe.)
//!
//! Cost per call: 4·N²·d FLOPs in the scores and the product plus ~20 per pair in the
//! epilogue; N²·4 bytes of dS written, and read by the product. The labels Y = A_train + I
//! come as a CSR with sorted columns.

use super::check_len;
use crate::gpu::uniform;
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::kernels::matmul::{self, Extra, Form};
use crate::kernels::{Cost, Epilogue};

/// `shaders/lib/logistic.wgsl` (softplus, sigmoid) + `shaders/dense_recon.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/dense_recon.wgsl")
);
/// Lanes of the scores pass (`WG` in the shader; a power of two: its loss sum is a tree).
pub const WORKGROUP_SIZE: u32 = 64;
/// Rows of the chunk each workgroup of the scores pass owns (`TM` in the shader).
pub const ROWS_PER_WORKGROUP: u32 = 8;
/// Scores one chunk may hold: 64 MiB of f32, half of WebGPU's default binding limit.
pub const SCRATCH_FLOATS: usize = 1 << 24;
/// `@binding` order: params, z, label_ptr, label_col, ds (the chunk's dS), loss_rows.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    d: u32,
    rows: u32,
    first_row: u32,
    pos_weight: f32,
    scale: f32,
    _pad: [f32; 2],
}

/// The weights of the original code: `pos_weight = (N² − a)/a`, `norm = N²/(2(N² − a))`,
/// with `a` the number of non-zeros of A_train (both directions, no self-loops).
pub fn weights(n: usize, a: usize) -> (f64, f64) {
    let n2 = (n as f64) * (n as f64);
    let a = a.max(1) as f64;
    ((n2 - a) / a, n2 / (2.0 * (n2 - a)))
}

/// Rows of scores per chunk on an `n`-node graph when a chunk may hold `room` scores: all of
/// them when they fit, else a multiple of 64 (so each chunk's rows of z and dz start at a
/// 256-byte-aligned offset); 0 when not even 64 rows fit.
pub fn chunk_rows(n: usize, room: usize) -> usize {
    let fit = room / n.max(1);
    if fit >= n { n.max(1) } else { fit / 64 * 64 }
}

/// Elements of the scratch buffer (the engine's plan): one chunk of [`SCRATCH_FLOATS`].
pub fn scratch_len(n: usize) -> usize {
    chunk_rows(n, SCRATCH_FLOATS).max(64.min(n)) * n
}

/// What one dense reconstruction reads and writes.
#[derive(Clone, Copy, Debug)]
pub struct Operands<'a> {
    /// N × d.
    pub z: Arg<'a>,
    pub label_ptr: Arg<'a>,
    pub label_col: Arg<'a>,
    /// Scratch for one chunk's scores ([`scratch_len`] elements at least).
    pub scores: Arg<'a>,
    /// N × d, written (or added to, with `accumulate`).
    pub dz: Arg<'a>,
    /// N: row i's share of the loss (sum them for the scalar).
    pub loss_rows: Arg<'a>,
}

/// Records the loss and gradient in chunks of [`chunk_rows`] (as many scores as the scratch
/// and one binding hold): two launches per chunk.
pub fn record(
    ctx: &GpuContext,
    ops: Operands<'_>,
    n: usize,
    d: usize,
    num_edges_directed: usize,
    accumulate: bool,
) -> GpuResult<Vec<(Dispatch, Cost)>> {
    let binding = (ctx.max_binding_bytes() / 4) as usize;
    let rows = chunk_rows(n, SCRATCH_FLOATS.min(binding));
    if rows == 0 {
        return Err(GpuError::InvalidArgument {
            what: "dense reconstruction".into(),
            message: format!(
                "its scores are computed 64 rows at a time at least: 64 × {n} × 4 bytes in one \
                 binding, over this device's limit of {} bytes (use --recon sampled)",
                ctx.max_binding_bytes()
            ),
        });
    }
    record_chunked(ctx, ops, (n, d), num_edges_directed, accumulate, rows)
}

/// [`record`] with chunks of `rows` rows (tests: several chunks on a small graph).
pub fn record_chunked(
    ctx: &GpuContext,
    ops: Operands<'_>,
    (n, d): (usize, usize),
    num_edges_directed: usize,
    accumulate: bool,
    rows: usize,
) -> GpuResult<Vec<(Dispatch, Cost)>> {
    let scratch = (ops.scores.len_bytes() / 4) as usize;
    if rows == 0 || (rows < n && !rows.is_multiple_of(64)) || rows.min(n) * n > scratch {
        return Err(GpuError::InvalidArgument {
            what: "dense reconstruction".into(),
            message: format!(
                "chunks of {rows} rows of {n} scores (all rows, or a multiple of 64) need a \
                 scratch of {} elements, it has {scratch}",
                rows.min(n) * n
            ),
        });
    }
    for (what, arg, need) in [
        ("z", &ops.z, n * d),
        ("label_ptr", &ops.label_ptr, n + 1),
        ("dz", &ops.dz, n * d),
        ("loss_rows", &ops.loss_rows, n),
    ] {
        check_len(
            &format!("dense reconstruction `{what}` elements"),
            arg,
            need,
        )?;
    }
    let (pos_weight, norm) = weights(n, num_edges_directed);
    let scale = (norm / ((n as f64) * (n as f64)).max(1.0)) as f32;
    let mut out = Vec::new();
    for r0 in (0..n).step_by(rows) {
        let m = rows.min(n - r0);
        let ds = ops.scores.elements(0, m * n);
        out.push((
            scores(ctx, ops, ds, (n, d, m, r0), pos_weight as f32, scale)?,
            scores_cost(m, n, d),
        ));
        let epi = Epilogue {
            accumulate,
            ..Default::default()
        };
        let dz_rows = ops.dz.elements(r0 * d, m * d);
        let mut g = matmul::bind_ext(
            ctx,
            Form::NN,
            ds,
            ops.z,
            dz_rows,
            m,
            d,
            n,
            epi,
            Extra::default(),
        )?;
        g.label = "dense dZ = dS·Z";
        out.push((g, Cost::matmul(m, d, n)));
    }
    Ok(out)
}

/// The scores pass over one chunk's `m` rows from row `r0`: dS into `ds`, the rows' losses.
fn scores(
    ctx: &GpuContext,
    ops: Operands<'_>,
    ds: Arg<'_>,
    (n, d, m, r0): (usize, usize, usize, usize),
    pos_weight: f32,
    scale: f32,
) -> GpuResult<Dispatch> {
    let params = Params {
        n: n as u32,
        d: d as u32,
        rows: m as u32,
        first_row: r0 as u32,
        pos_weight,
        scale,
        _pad: [0.0; 2],
    };
    let params = uniform(ctx, "dense_recon params", &params);
    let spec = KernelSpec {
        label: "dense dS (scores)",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![],
    };
    let groups = m.div_ceil(ROWS_PER_WORKGROUP as usize) as u64;
    let grid = crate::gpu::grid_1d(
        ctx,
        "dense dS (scores)",
        groups * WORKGROUP_SIZE as u64,
        WORKGROUP_SIZE,
    )?;
    ctx.kernel(&spec)?.dispatch(
        ctx,
        &[
            (&params).into(),
            ops.z,
            ops.label_ptr,
            ops.label_col,
            ds,
            ops.loss_rows,
        ],
        grid,
    )
}

/// The scores pass: a d-wide dot, an exp, a log1p series and a label step per pair; dS
/// written once.
fn scores_cost(m: usize, n: usize, d: usize) -> Cost {
    // (the product's inputs and its output once: dS)
    let mut c = Cost::matmul(m, n, d);
    c.flops += 20.0 * (m * n) as f64;
    c
}

/// CPU twin: (total loss, dZ) for z (N×d), labels Y as a sorted-column CSR, and the
/// number of directed training edges `a`.
pub fn loss_and_grad_cpu(
    z: &[f64],
    n: usize,
    d: usize,
    label_ptr: &[u32],
    label_col: &[u32],
    a: usize,
) -> (f64, Vec<f64>) {
    let (pw, norm) = weights(n, a);
    let c = norm / ((n * n).max(1) as f64);
    use super::logistic::{sigmoid, softplus};
    let mut loss = 0.0;
    let mut dz = vec![0.0; n * d];
    for i in 0..n {
        let row = &label_col[label_ptr[i] as usize..label_ptr[i + 1] as usize];
        for j in 0..n {
            let s: f64 = (0..d).map(|k| z[i * d + k] * z[j * d + k]).sum();
            let y = row.binary_search(&(j as u32)).is_ok();
            let (l, g) = if y {
                (pw * softplus(-s), -pw * (1.0 - sigmoid(s)))
            } else {
                (softplus(s), sigmoid(s))
            };
            loss += c * l;
            // dS_ij contributes to dz_i through s_ij and to dz_j through s_ji = s_ij.
            for k in 0..d {
                dz[i * d + k] += c * g * z[j * d + k];
                dz[j * d + k] += c * g * z[i * d + k];
            }
        }
    }
    (loss, dz)
}

/// All of one call: the scores pass and the product.
pub fn cost(n: usize, d: usize) -> Cost {
    let mut c = scores_cost(n, n, d);
    let p = Cost::matmul(n, d, n);
    c.flops += p.flops;
    c.bytes += p.bytes;
    c
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("main", BINDINGS)],
        super::params_layout!(Params {
            n,
            d,
            rows,
            first_row,
            pos_weight,
            scale
        }),
        vec![],
    )
}
