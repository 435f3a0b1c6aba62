//! The whole discriminator step in one launch: forward through the MLP d → h1 → h2 → 1, the
//! BCE loss, and the backward to every parameter gradient (entry `step`) or to the input
//! (entry `regulariser`), a tile of rows at a time in workgroup memory. Shader:
//! `shaders/disc_fused.wgsl` (its header states the formulas and the table layout).
//!
//! Small MLPs are where "fully fused" kernels pay (the idea behind tiny-cuda-nn): a row's
//! activations never leave the chip between layers, and the weight gradients are summed per
//! workgroup in registers. The unfused step was 7 launches (two forward products, the output
//! layer, three gradient products, Adam) and wrote four activation arrays of 2N × h each; this
//! one is 2 (this kernel, then Adam finishing its partial sums: [`adam::FromPartials`]).
//! Deterministic: each workgroup sums its rows in order, Adam sums the workgroups in order.
//!
//! Sizes fit WebGPU's default limits: 256 invocations, [`TILE_FLOATS`] f32s (15.5 KiB) of
//! workgroup memory, 6 storage bindings. [`tile_rows`] picks the rows per tile from the layer
//! widths. Every product is register-blocked (4 rows × 8 columns an invocation, as
//! `matmul.wgsl`); each invocation sums one 4 × 8 block of the weight gradients (or a run of
//! four bias values) over its workgroup's rows, so a workgroup row covers 256 blocks (the
//! default 32 → 64 → 64 → 1 has 241) and wider discriminators take more workgroup rows, each
//! repeating the forward for its own blocks.
//!
//! [`adam::FromPartials`]: super::adam::FromPartials

use super::{check_len, check_u32};
use crate::gpu::uniform;
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::model::ParamLayout;

/// `shaders/lib/logistic.wgsl` + `shaders/lib/philox.wgsl` + `shaders/disc_fused.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/lib/philox.wgsl"),
    include_str!("../../shaders/disc_fused.wgsl")
);
pub const WORKGROUP_SIZE: usize = 128;
/// Gradient register blocks one invocation sums (`BPI`).
pub const BLOCKS_PER_INVOCATION: usize = 2;
/// Workgroup memory for one tile, in f32s (`TILE_FLOATS`): under WebGPU's 16 KiB default.
pub const TILE_FLOATS: usize = 3968;
const _: () = assert!(TILE_FLOATS * 4 <= 16 * 1024);
/// Rows per tile at most (more rows only lengthen the serial per-row loops).
pub const MAX_TILE_ROWS: usize = 64;
/// Workgroups along the rows at most: the partials table has one row per workgroup, which the
/// optimizer step sums, so more only pays while it adds parallelism — 128 on a GPU,
/// [`CPU_GROUPS`] on a CPU adapter (lavapipe, SwiftShader: a handful of threads), where 128
/// rows made the optimizer's column sums 7× its own step (Cora ARGVA: 17 ms of a 575 ms epoch).
pub const MAX_GROUPS: usize = 128;
pub const CPU_GROUPS: usize = 16;

/// How many partials rows a device takes: its binding limit and workgroup cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Room {
    pub binding_bytes: u64,
    pub groups: usize,
}

impl Room {
    /// No device limit: the most rows any device gets (the buffer plan's size).
    pub const UNBOUNDED: Room = Room {
        binding_bytes: u64::MAX,
        groups: MAX_GROUPS,
    };

    pub fn of(ctx: &GpuContext) -> Self {
        // lavapipe, llvmpipe GL and Chromium's SwiftShader adapter all report a CPU device.
        let cpu = ctx.adapter.get_info().device_type == wgpu::DeviceType::Cpu;
        Room {
            binding_bytes: ctx.max_binding_bytes(),
            groups: if cpu { CPU_GROUPS } else { MAX_GROUPS },
        }
    }
}

/// Partials table columns: the loss, then parameter e's gradient at column GRAD_COLUMN + e.
pub const LOSS_COLUMN: usize = 0;
pub const GRAD_COLUMN: usize = 1;
/// `params.flags`: draw the prior rows from the counter-based generator.
pub const REAL_DRAWN: u32 = 1;
/// `@binding` order: params, clock, theta, z, prior, partials, dz.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    zrows: u32,
    fake: u32,
    d: u32,
    h1: u32,
    h2: u32,
    tile: u32,
    tiles: u32,
    inv_n: f32,
    flags: u32,
    stream: u32,
    seed_lo: u32,
    seed_hi: u32,
    num_params: u32,
    row_len: u32,
    _pad0: u32,
    o_w1: u32,
    o_b1: u32,
    o_w2: u32,
    o_b2: u32,
    o_w3: u32,
    o_b3: u32,
    _pad1: u32,
    _pad2: u32,
}

/// The discriminator's widths and where its tensors sit in the flat parameter vector
/// (`w1` [h1 × d], `b1`, `w2` [h2 × h1], `b2`, `w3` [h2], `b3`; nn.Linear layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mlp {
    pub d: usize,
    pub h1: usize,
    pub h2: usize,
    /// Offsets of w1, b1, w2, b2, w3, b3.
    pub offsets: [usize; 6],
    /// Length of the flat vector (with the padding between tensors).
    pub len: usize,
}

impl Mlp {
    pub fn of(layout: &ParamLayout) -> Self {
        let t = |name| layout.get(name);
        let (w1, w2) = (t("w1"), t("w2"));
        Mlp {
            d: w1.cols,
            h1: w1.rows,
            h2: w2.rows,
            offsets: ["w1", "b1", "w2", "b2", "w3", "b3"].map(|name| t(name).offset),
            len: layout.len,
        }
    }

    /// f32s one batch row takes in workgroup memory: x, a1, a2, da1, g, loss.
    fn floats_per_row(&self) -> usize {
        self.d + 2 * self.h1 + self.h2 + 2
    }

    /// Row length of the partials table: the loss, then one column per parameter.
    pub fn row_len(&self) -> usize {
        1 + self.len
    }
}

/// Rows per tile for these widths (as many as fit [`TILE_FLOATS`], at most
/// [`MAX_TILE_ROWS`]); an error when not even one row fits.
pub fn tile_rows(mlp: &Mlp) -> GpuResult<usize> {
    // A multiple of the shader's register-block height (TM = 4 rows).
    let rows = (TILE_FLOATS / mlp.floats_per_row()).min(MAX_TILE_ROWS) / 4 * 4;
    if rows == 0 {
        return Err(GpuError::InvalidArgument {
            what: "fused discriminator".into(),
            message: format!(
                "latent {} + 2 × hidden {} + hidden {} is too wide: four rows need {} of the \
                 {TILE_FLOATS} f32s of workgroup memory (make --disc-hidden or --latent smaller)",
                mlp.d,
                mlp.h1,
                mlp.h2,
                4 * mlp.floats_per_row()
            ),
        });
    }
    Ok(rows)
}

/// A batch: `rows` rows, the first `zrows` read from z and the rest prior samples; the first
/// `fake` labelled fake, each row's loss weighted 1/n.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    pub rows: usize,
    pub zrows: usize,
    pub fake: usize,
    pub n: usize,
}

impl Batch {
    /// A discriminator step's batch: z (n rows, fake) then n prior samples (real).
    pub fn step(n: usize) -> Self {
        Batch {
            rows: 2 * n,
            zrows: n,
            fake: n,
            n,
        }
    }
    /// The regulariser's batch: z alone, labelled real.
    pub fn regulariser(n: usize) -> Self {
        Batch {
            rows: n,
            zrows: n,
            fake: 0,
            n,
        }
    }
}

/// Where a batch's prior rows come from.
#[derive(Clone, Copy, Debug)]
pub enum Prior<'a> {
    /// Philox stream `stream` of `seed` at the epoch in `clock[0]`: what `rng::bind` writes
    /// for that stream, element (i·d + c) for row i, column c.
    Drawn { seed: u64, stream: u32 },
    /// Rows i·d .. of a buffer (host noise).
    Buffer(Arg<'a>),
}

/// Register blocks of the gradient (the shader's `grad_blocks`): 4 × 8 blocks of dW1 and
/// dW2, runs of 4 of b1, b2, w3, and b3; one per invocation, 256 per workgroup row.
fn grad_blocks(mlp: &Mlp) -> usize {
    let (d, h1, h2) = (mlp.d, mlp.h1, mlp.h2);
    h1.div_ceil(4) * d.div_ceil(8)
        + h2.div_ceil(4) * h1.div_ceil(8)
        + h1.div_ceil(4)
        + 2 * h2.div_ceil(4)
        + 1
}

/// Workgroups along the rows for a batch of `rows` rows in tiles of `tile`.
pub fn groups(rows: usize, tile: usize) -> usize {
    rows.div_ceil(tile).clamp(1, MAX_GROUPS)
}

/// An upper bound on the loop iterations one invocation runs in a launch over `batch` with
/// `groups` workgroups (`gpu::loop_probe`: drivers that cap them). Each workgroup walks
/// ⌈tiles / groups⌉ tiles; per tile an invocation's loops run about 2·(rows + d + h1 + h2)
/// times (measured on Mesa 22's llvmpipe: the default 32 → 64 → 64 discriminator's step, 16-row
/// tiles, broke between 196 and 215 tiles per workgroup, ~320 iterations a tile); the bound
/// takes twice that.
pub fn loop_iterations(mlp: &Mlp, batch: Batch, groups: usize) -> GpuResult<usize> {
    let tile = tile_rows(mlp)?;
    let per_group = batch.rows.div_ceil(tile).div_ceil(groups.max(1));
    Ok(per_group * 4 * (tile + mlp.d + mlp.h1 + mlp.h2))
}

/// Rows of the partials table a launch over `batch` writes (the optimizer sums this many):
/// one per workgroup, at most `room.groups` and as many as fit one binding (each workgroup
/// then walks more tiles). An error when not even one row fits.
pub fn partial_rows(mlp: &Mlp, batch: Batch, room: Room) -> GpuResult<usize> {
    let (max_binding_bytes, row_bytes) = (room.binding_bytes, (mlp.row_len() * 4) as u64);
    let fit = (max_binding_bytes / row_bytes).min(room.groups as u64) as usize;
    if fit == 0 {
        return Err(GpuError::InvalidArgument {
            what: "fused discriminator".into(),
            message: format!(
                "one row of its partial sums ({row_bytes} bytes: the loss and {} gradients) is \
                 over this device's {max_binding_bytes}-byte binding limit (make --disc-hidden \
                 smaller)",
                mlp.len
            ),
        });
    }
    Ok(groups(batch.rows, tile_rows(mlp)?).min(fit))
}

/// The buffers a launch reads and writes.
#[derive(Clone, Copy, Debug)]
pub struct Operands<'a> {
    pub clock: &'a GpuBuffer<u32>,
    pub theta: Arg<'a>,
    pub z: Arg<'a>,
    /// Row-major `groups × row_len` (see [`Mlp::row_len`]).
    pub partials: Arg<'a>,
    /// `regulariser`: dx of the z rows (written). `step`: never written, but bound (a
    /// binding cannot be empty): any buffer no other operand uses.
    pub dz: Arg<'a>,
}

/// A discriminator step over `batch`: writes the loss and every parameter's gradient as the
/// partials table's first [`partial_rows`] rows.
pub fn bind_step(
    ctx: &GpuContext,
    mlp: &Mlp,
    batch: Batch,
    prior: Prior<'_>,
    ops: Operands<'_>,
) -> GpuResult<Dispatch> {
    bind(ctx, mlp, batch, prior, ops, "step")
}

/// The regulariser over z (n rows, labelled real): dx into `dz`, the loss into column 0 of
/// the partials table's first [`partial_rows`] rows; no parameter gradient.
pub fn bind_regulariser(
    ctx: &GpuContext,
    mlp: &Mlp,
    n: usize,
    ops: Operands<'_>,
) -> GpuResult<Dispatch> {
    let dummy = Prior::Buffer(ops.z);
    bind(ctx, mlp, Batch::regulariser(n), dummy, ops, "regulariser")
}

fn bind(
    ctx: &GpuContext,
    mlp: &Mlp,
    batch: Batch,
    prior: Prior<'_>,
    ops: Operands<'_>,
    entry: &'static str,
) -> GpuResult<Dispatch> {
    let what = |s: &str| format!("disc_fused {entry}: {s}");
    let tile = tile_rows(mlp)?;
    let groups = partial_rows(mlp, batch, Room::of(ctx))?;
    let blocks = if entry == "step" {
        grad_blocks(mlp).div_ceil(WORKGROUP_SIZE * BLOCKS_PER_INVOCATION)
    } else {
        1
    };
    let (d, real) = (mlp.d, batch.rows.saturating_sub(batch.zrows));
    check_u32(
        &what("batch elements"),
        batch.rows.saturating_mul(d + mlp.h1),
    )?;
    check_u32(&what("partials"), groups.saturating_mul(mlp.row_len()))?;
    check_len(&what("`theta`"), &ops.theta, mlp.len)?;
    check_len(&what("`z` ([zrows × d])"), &ops.z, batch.zrows * d)?;
    check_len(&what("`partials`"), &ops.partials, groups * mlp.row_len())?;
    if entry == "regulariser" {
        check_len(&what("`dz` ([n × d])"), &ops.dz, batch.zrows * d)?;
    }
    let (flags, seed, stream, prior_arg) = match prior {
        Prior::Drawn { seed, stream } => (REAL_DRAWN, seed, stream, ops.z),
        Prior::Buffer(buf) => {
            check_len(&what("`prior` ([rows − zrows] × d)"), &buf, real * d)?;
            (0, 0, 0, buf)
        }
    };
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    if blocks > max {
        return Err(GpuError::DispatchTooLarge {
            what: what("parameter blocks"),
            groups: blocks as u64,
            limit: max as u32,
        });
    }
    let o = mlp.offsets.map(|v| v as u32);
    let params = Params {
        rows: batch.rows as u32,
        zrows: batch.zrows as u32,
        fake: batch.fake.min(batch.rows) as u32,
        d: d as u32,
        h1: mlp.h1 as u32,
        h2: mlp.h2 as u32,
        tile: tile as u32,
        tiles: batch.rows.div_ceil(tile) as u32,
        inv_n: (1.0 / batch.n.max(1) as f64) as f32,
        flags,
        stream,
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        num_params: mlp.len as u32,
        row_len: mlp.row_len() as u32,
        _pad0: 0,
        o_w1: o[0],
        o_b1: o[1],
        o_w2: o[2],
        o_b2: o[3],
        o_w3: o[4],
        o_b3: o[5],
        _pad1: 0,
        _pad2: 0,
    };
    let params = uniform(ctx, "disc_fused params", &params);
    let spec = KernelSpec {
        label: if entry == "step" {
            "disc_fused step"
        } else {
            "disc_fused reg"
        },
        source: SOURCE,
        entry,
        bindings: BINDINGS,
        constants: vec![],
    };
    let args = [
        (&params).into(),
        ops.clock.into(),
        ops.theta,
        ops.z,
        prior_arg,
        ops.partials,
        ops.dz,
    ];
    ctx.kernel(&spec)?
        .dispatch(ctx, &args, [groups as u32, blocks as u32, 1])
}

/// The f64 twin's results over a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct TwinOut {
    /// Σ of the rows' losses (each weighted 1/n).
    pub loss: f64,
    /// d loss / d parameter, laid out as the flat vector (0 in the padding).
    pub grads: Vec<f64>,
    /// d loss / d input row, `[rows × d]`.
    pub dx: Vec<f64>,
}

/// CPU twin in f64: forward, loss and backward of the MLP over input rows `x`
/// (`[batch.rows × d]`, z rows then prior rows), with the same labels and weights as the
/// shader. Composed from the unfused kernels' twins (matmul, BCE).
pub fn forward_backward_cpu(mlp: &Mlp, theta: &[f64], x: &[f64], batch: Batch) -> TwinOut {
    use super::matmul::{Form, matmul_cpu};
    let (rows, d, h1, h2) = (batch.rows, mlp.d, mlp.h1, mlp.h2);
    let [o_w1, o_b1, o_w2, o_b2, o_w3, o_b3] = mlp.offsets;
    let w1 = &theta[o_w1..o_w1 + h1 * d];
    let w2 = &theta[o_w2..o_w2 + h2 * h1];
    let w3 = &theta[o_w3..o_w3 + h2];
    let (b1, b2) = (&theta[o_b1..o_b1 + h1], &theta[o_b2..o_b2 + h2]);
    let a1 = matmul_cpu(Form::NT, x, w1, rows, h1, d, Some(b1), true, None);
    let a2 = matmul_cpu(Form::NT, &a1, w2, rows, h2, h1, Some(b2), true, None);
    let s = matmul_cpu(
        Form::NT,
        &a2,
        w3,
        rows,
        1,
        h2,
        Some(&theta[o_b3..=o_b3]),
        false,
        None,
    );
    let (loss, g) = bce_rows_cpu(&s, batch.fake.min(rows), batch.n);
    let mask = |v: f64, m: f64| if m > 0.0 { v } else { 0.0 };
    let da2: Vec<f64> = (0..rows * h2)
        .map(|e| mask(g[e / h2] * w3[e % h2], a2[e]))
        .collect();
    let da1: Vec<f64> = matmul_cpu(Form::NN, &da2, w2, rows, h1, h2, None, false, None)
        .into_iter()
        .zip(&a1)
        .map(|(v, &a)| mask(v, a))
        .collect();
    let dx = matmul_cpu(Form::NN, &da1, w1, rows, d, h1, None, false, None);
    let mut grads = vec![0.0; mlp.len];
    let colsum = |m: &[f64], w: usize| -> Vec<f64> {
        (0..w)
            .map(|j| (0..rows).map(|r| m[r * w + j]).sum())
            .collect()
    };
    let parts: [(usize, Vec<f64>); 6] = [
        (
            o_w1,
            matmul_cpu(Form::TN, &da1, x, h1, d, rows, None, false, None),
        ),
        (o_b1, colsum(&da1, h1)),
        (
            o_w2,
            matmul_cpu(Form::TN, &da2, &a1, h2, h1, rows, None, false, None),
        ),
        (o_b2, colsum(&da2, h2)),
        (
            o_w3,
            matmul_cpu(Form::TN, &g, &a2, 1, h2, rows, None, false, None),
        ),
        (o_b3, vec![g.iter().sum()]),
    ];
    for (offset, values) in parts {
        grads[offset..offset + values.len()].copy_from_slice(&values);
    }
    TwinOut {
        loss: loss.iter().sum(),
        grads,
        dx,
    }
}

/// BCE twin per logit, each weighted 1/n: the first `fake` rows are labelled 0 (loss
/// softplus(s)), the rest 1 (loss softplus(−s)). Returns (loss terms, dL/dlogit).
pub fn bce_rows_cpu(logits: &[f64], fake: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    use super::logistic::{sigmoid, softplus};
    let n = n as f64;
    logits
        .iter()
        .enumerate()
        .map(|(r, &s)| {
            if r >= fake {
                (softplus(-s) / n, -sigmoid(-s) / n)
            } else {
                (softplus(s) / n, sigmoid(s) / n)
            }
        })
        .unzip()
}

/// Column `column` of the partials table (row-major, `row_len` wide) summed over rows
/// `0..count` in order, in f64 (tests; the optimizer step does this on the GPU).
pub fn sum_column(table: &[f32], row_len: usize, count: usize, column: usize) -> f64 {
    (0..count).map(|w| table[w * row_len + column] as f64).sum()
}

/// One launch over `batch`: the forward and backward products (2 FLOPs per multiply-add:
/// forward d·h1 + h1·h2 + h2, da1 h1·h2, the weight gradients d·h1 + h1·h2 + h2 (`step`) or
/// dx d·h1 (`regulariser`)), z read once, dz or the partials table written once.
pub fn cost(mlp: &Mlp, batch: Batch, step: bool) -> super::Cost {
    let (d, h1, h2) = (mlp.d, mlp.h1, mlp.h2);
    let forward = d * h1 + h1 * h2 + h2;
    let backward = h1 * h2 + if step { forward } else { d * h1 };
    let flops = 2 * batch.rows * (forward + backward);
    let reads = batch.zrows * d + mlp.len;
    let groups = partial_rows(mlp, batch, Room::UNBOUNDED).unwrap_or(1);
    let writes = if step {
        groups * mlp.row_len()
    } else {
        batch.zrows * d + groups
    };
    super::Cost::elementwise(flops, reads, writes)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("step", BINDINGS), ("regulariser", BINDINGS)],
        super::params_layout!(Params {
            rows,
            zrows,
            fake,
            d,
            h1,
            h2,
            tile,
            tiles,
            inv_n,
            flags,
            stream,
            seed_lo,
            seed_hi,
            num_params,
            row_len,
            o_w1,
            o_b1,
            o_w2,
            o_b2,
            o_w3,
            o_b3,
        }),
        vec![
            ("TM", 4),
            ("TN", 8),
            ("TILE_FLOATS", TILE_FLOATS as u32),
            ("REAL_DRAWN", REAL_DRAWN),
            ("LOSS_COLUMN", LOSS_COLUMN as u32),
            ("GRAD_COLUMN", GRAD_COLUMN as u32),
            ("WG", WORKGROUP_SIZE as u32),
            ("BPI", BLOCKS_PER_INVOCATION as u32),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Arch, ModelKind};
    use crate::testing::{assert_grad, rng, to_f64, uniform_f32};

    fn mlp(d: usize, h: usize) -> Mlp {
        Mlp::of(&ParamLayout::discriminator(&Arch {
            kind: ModelKind::Argva,
            features: 3,
            hidden: 4,
            latent: d,
            disc_hidden: h,
            disc_hidden2: None,
            encoder_bias: true,
        }))
    }

    #[test]
    fn twin_gradients_are_derivatives_of_its_loss() {
        let m = mlp(3, 5);
        let n = 4;
        let batch = Batch::step(n);
        let theta = to_f64(&uniform_f32(&mut rng(1), m.len, -0.8, 0.8));
        let x = to_f64(&uniform_f32(&mut rng(2), batch.rows * m.d, -1.5, 1.5));
        let out = forward_backward_cpu(&m, &theta, &x, batch);
        let loss_of_theta = |t: &[f64]| forward_backward_cpu(&m, t, &x, batch).loss;
        assert_grad("disc params", loss_of_theta, &theta, &out.grads, 1e-6);
        let loss_of_x = |x: &[f64]| forward_backward_cpu(&m, &theta, x, batch).loss;
        assert_grad("disc input", loss_of_x, &x, &out.dx, 1e-6);
    }

    #[test]
    fn bce_gradients_are_derivatives_of_the_loss() {
        let n = 6;
        let s = to_f64(&uniform_f32(&mut rng(4), 2 * n, -5.0, 5.0));
        for fake in [0, n, 2 * n] {
            let f = |s: &[f64]| bce_rows_cpu(s, fake, n).0.iter().sum::<f64>();
            assert_grad("bce", f, &s, &bce_rows_cpu(&s, fake, n).1, 1e-6);
        }
        // Fake rows first (loss grows with s), real rows after (loss falls with s).
        let (_, g) = bce_rows_cpu(&s, n, n);
        assert!(g[..n].iter().all(|&v| v > 0.0) && g[n..].iter().all(|&v| v < 0.0));
    }

    #[test]
    fn tiles_fit_workgroup_memory_and_wide_ones_are_refused() {
        let m = mlp(32, 64);
        let rows = tile_rows(&m).unwrap();
        assert!(rows >= 16 && rows * (32 + 3 * 64 + 2) <= TILE_FLOATS);
        let err = tile_rows(&mlp(64, 2048)).unwrap_err().to_string();
        assert!(err.contains("too wide"), "{err}");
    }
}
