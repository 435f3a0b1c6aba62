//! Dense (all N² pairs) weighted reconstruction loss and its gradient, the original ARGA
//! code's loss (`--recon dense`), as two products around an elementwise pass, per chunk of
//! rows r0..r1 (every chunk's scores fit the scratch buffer, [`scratch_len`]):
//! `S = Z[r0..r1]·Zᵀ` (matmul NT), `shaders/dense_recon.wgsl` (loss per row, S ← dS in
//! place), `dZ[r0..r1] (+)= dS·Z` (matmul NN). The products run at the tuned matmul's rate
//! (the earlier one-launch kernel, a d-wide dot and update per pair in each invocation, ran at
//! ~0.6 GFLOP/s on lavapipe).
//!
//! Cost per call: 4·N²·d FLOPs in the products plus ~10 per pair in the pass; N²·4 bytes of
//! scores written, read and rewritten, and read again by the second product. The labels
//! Y = A_train + I come as a CSR with sorted columns.

use super::check_len;
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};
use crate::kernels::matmul::{self, Extra, Form};
use crate::kernels::{Cost, Epilogue};

/// `shaders/lib/logistic.wgsl` (softplus, sigmoid) + `shaders/dense_recon.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/dense_recon.wgsl")
);
/// Lanes of the elementwise pass (a power of two: its loss sum is a tree).
pub const WORKGROUP_SIZE: u32 = 64;
/// Scores one chunk may hold: 64 MiB of f32, half of WebGPU's default binding limit.
pub const SCRATCH_FLOATS: usize = 1 << 24;
/// `@binding` order: params, s (scores in, dS out), label_ptr, label_col, loss_rows.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::ReadWrite,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    rows: u32,
    first_row: u32,
    _pad: u32,
    pos_weight: f32,
    scale: f32,
    _pad1: [f32; 2],
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
/// and one binding hold): three launches per chunk.
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
        let (z_rows, scores) = (ops.z.elements(r0 * d, m * d), ops.scores.elements(0, m * n));
        let plain = Epilogue::default();
        let mut s = matmul::bind_ext(
            ctx,
            Form::NT,
            z_rows,
            ops.z,
            scores,
            m,
            n,
            d,
            plain,
            Extra::default(),
        )?;
        s.label = "dense S = Z·Zᵀ";
        out.push((s, Cost::matmul(m, n, d)));
        out.push((
            pass(ctx, ops, scores, (n, m, r0), pos_weight as f32, scale)?,
            pass_cost(m, n),
        ));
        let epi = Epilogue {
            accumulate,
            ..Default::default()
        };
        let dz_rows = ops.dz.elements(r0 * d, m * d);
        let mut g = matmul::bind_ext(
            ctx,
            Form::NN,
            scores,
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

/// The elementwise pass over one chunk's `m` rows of scores, from row `r0`.
fn pass(
    ctx: &GpuContext,
    ops: Operands<'_>,
    scores: Arg<'_>,
    (n, m, r0): (usize, usize, usize),
    pos_weight: f32,
    scale: f32,
) -> GpuResult<Dispatch> {
    let params = Params {
        n: n as u32,
        rows: m as u32,
        first_row: r0 as u32,
        _pad: 0,
        pos_weight,
        scale,
        _pad1: [0.0; 2],
    };
    let params = uniform(ctx, "dense_recon params", &params);
    let spec = KernelSpec {
        label: "dense dS",
        source: SOURCE,
        entry: "rows",
        bindings: BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    // one workgroup per row
    let grid = grid_1d(
        ctx,
        "dense dS",
        m as u64 * WORKGROUP_SIZE as u64,
        WORKGROUP_SIZE,
    )?;
    ctx.kernel(&spec)?.dispatch(
        ctx,
        &[
            (&params).into(),
            scores,
            ops.label_ptr,
            ops.label_col,
            ops.loss_rows,
        ],
        grid,
    )
}

/// The elementwise pass: a sigmoid, a softplus and a label search per score, which it reads
/// and rewrites.
fn pass_cost(m: usize, n: usize) -> Cost {
    Cost::elementwise(10 * m * n, 4 * m * n, 4 * m * n)
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
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
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

/// All of one call: both products and the pass over the N² scores (the labels' `label_nnz`
/// entries are read once per row's search, not counted).
pub fn cost(n: usize, _label_nnz: usize, d: usize) -> Cost {
    let mut c = Cost::matmul(n, n, d);
    for part in [Cost::matmul(n, d, n), pass_cost(n, n)] {
        c.flops += part.flops;
        c.bytes += part.bytes;
    }
    c
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("rows", BINDINGS)],
        super::params_layout!(Params {
            n,
            rows,
            first_row,
            pos_weight,
            scale
        }),
        vec![],
    )
}
