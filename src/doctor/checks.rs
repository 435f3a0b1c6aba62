//! The doctor's checks: each runs a kernel (or an epoch, or a run) on the device and holds it
//! to its float64 twin with the bound the GPU test suite uses for that kernel. Random inputs of
//! awkward sizes (not multiples of any workgroup), every output poisoned (NaN) first.

use std::ops::ControlFlow;

use super::Outcome;
use super::harness::{self, poisoned};
use crate::gpu::{GpuBuffer, GpuContext, GpuResult, submit};
use crate::kernels::matmul::{self, Form};
use crate::kernels::negatives::{self, PositiveTables};
use crate::kernels::spmm::{self, CsrBuffers};
use crate::kernels::{Epilogue, adam, colsum, decoder, reduce, reparam, rng};
use crate::model::ModelKind;
use crate::testing::{compare, rng as seeded, to_f64, uniform_f32};
use rand::RngExt;

/// One check of the doctor's list.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Spmm,
    Matmul(Form),
    Colsum,
    Reduce,
    RngBits,
    RngNormals,
    Reparam,
    Decoder,
    Negatives,
    Adam,
    Discriminator,
    DenseRecon,
    Golden(ModelKind),
    Determinism,
}

const MODELS: [ModelKind; 4] = [
    ModelKind::Gae,
    ModelKind::Vgae,
    ModelKind::Arga,
    ModelKind::Argva,
];

/// Every check, in the order the report lists them.
pub fn all() -> Vec<Kind> {
    let mut all = vec![Kind::Spmm];
    all.extend([Form::NN, Form::TN, Form::NT].map(Kind::Matmul));
    all.extend([
        Kind::Colsum,
        Kind::Reduce,
        Kind::RngBits,
        Kind::RngNormals,
        Kind::Reparam,
        Kind::Decoder,
        Kind::Negatives,
        Kind::Adam,
        Kind::Discriminator,
        Kind::DenseRecon,
    ]);
    all.extend(MODELS.map(Kind::Golden));
    all.push(Kind::Determinism);
    all
}

impl Kind {
    pub fn name(self) -> String {
        match self {
            Kind::Spmm => "spmm (sparse × dense, bias, ReLU)".into(),
            Kind::Matmul(f) => format!("matmul {f:?} (bias, ReLU / accumulate)"),
            Kind::Colsum => "colsum".into(),
            Kind::Reduce => "reduce (loss sums)".into(),
            Kind::RngBits => "rng: Philox bits".into(),
            Kind::RngNormals => "rng: N(0, 1) draws".into(),
            Kind::Reparam => "reparam (forward, backward, KL)".into(),
            Kind::Decoder => "decoder (pair loss, gather)".into(),
            Kind::Negatives => "negatives (draw, slot lists, dz)".into(),
            Kind::Adam => "adam".into(),
            Kind::Discriminator => "disc_fused (a discriminator step)".into(),
            Kind::DenseRecon => "dense_recon (the paper's N² loss)".into(),
            Kind::Golden(m) => format!("golden {} epoch (PyG's, replayed)", m.name()),
            Kind::Determinism => "determinism (ARGVA run twice)".into(),
        }
    }

    pub async fn run(self, ctx: &GpuContext) -> GpuResult<Outcome> {
        match self {
            Kind::Spmm => spmm_check(ctx).await,
            Kind::Matmul(f) => matmul_check(ctx, f).await,
            Kind::Colsum => colsum_check(ctx).await,
            Kind::Reduce => reduce_check(ctx).await,
            Kind::RngBits => rng_bits(ctx).await,
            Kind::RngNormals => rng_normals(ctx).await,
            Kind::Reparam => reparam_check(ctx).await,
            Kind::Decoder => decoder_check(ctx).await,
            Kind::Negatives => negatives_check(ctx).await,
            Kind::Adam => adam_check(ctx).await,
            Kind::Discriminator => discriminator(ctx).await,
            Kind::DenseRecon => dense_recon_check(ctx).await,
            Kind::Golden(m) => golden(ctx, m).await,
            Kind::Determinism => determinism(ctx).await,
        }
    }
}

/// Several comparisons: the first failure, else the worst error of them all.
fn all_of(parts: Vec<(&str, Result<f64, String>)>, bound: String, detail: String) -> Outcome {
    let mut worst = 0.0f64;
    for (what, r) in parts {
        match r {
            Ok(w) => worst = worst.max(w),
            Err(e) => return Outcome::compared(Err(format!("{what}: {e}")), bound, detail),
        }
    }
    Outcome::compared(Ok(worst), bound, detail)
}

/// A random CSR with sorted columns, about `density` full, every 5th row empty.
fn random_csr(seed: u64, rows: usize, cols: usize, density: f64) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let mut r = seeded(seed);
    let (mut row_ptr, mut col, mut val) = (vec![0u32], Vec::new(), Vec::new());
    for i in 0..rows {
        for j in 0..cols {
            if i % 5 != 4 && r.random_bool(density) {
                col.push(j as u32);
                let v: f32 = r.random_range(0.1..1.0);
                val.push(if r.random_bool(0.5) { v } else { -v });
            }
        }
        row_ptr.push(col.len() as u32);
    }
    (row_ptr, col, val)
}

async fn spmm_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (rows, cols, c) = (301, 1433, 65);
    let (row_ptr, col, val) = random_csr(1, rows, cols, 0.013);
    let a = CsrBuffers::upload(ctx, "a", &row_ptr, &col, &val, cols)?;
    let mut r = seeded(2);
    let (b, bias) = (
        uniform_f32(&mut r, cols * c, -1.0, 1.0),
        uniform_f32(&mut r, c, -1.0, 1.0),
    );
    let (bb, biasb) = (
        GpuBuffer::from_slice(ctx, "b", &b)?,
        GpuBuffer::from_slice(ctx, "bias", &bias)?,
    );
    let out = poisoned(ctx, "out", rows * c)?;
    let epi = Epilogue {
        bias: Some((&biasb).into()),
        relu: true,
        accumulate: false,
        mask: None,
    };
    submit(
        ctx,
        "doctor spmm",
        &[&spmm::bind(ctx, &a, (&bb).into(), (&out).into(), c, epi)?],
    );
    let bias64 = to_f64(&bias);
    let want = spmm::spmm_cpu(
        &row_ptr,
        &col,
        &to_f64(&val),
        &to_f64(&b),
        c,
        Some(&bias64),
        true,
        None,
    );
    let max_row = row_ptr
        .windows(2)
        .map(|w| (w[1] - w[0]) as usize)
        .max()
        .unwrap_or(1);
    let atol = 2e-6 * max_row as f64;
    let got = out.read(ctx).await?;
    let detail = format!("{rows}×{cols} ({} non-zeros) · {cols}×{c}", col.len());
    Ok(Outcome::compared(
        compare(&got, &want, 1e-5, atol),
        format!("{atol:.1e} + 1e-5·|x|"),
        detail,
    ))
}

async fn matmul_check(ctx: &GpuContext, form: Form) -> GpuResult<Outcome> {
    let (m, n, k) = (67, 37, 129);
    let mut r = seeded(3 + form as u64);
    let (a, b) = (
        uniform_f32(&mut r, m * k, -1.0, 1.0),
        uniform_f32(&mut r, k * n, -1.0, 1.0),
    );
    let (bias, prev) = (
        uniform_f32(&mut r, n, -1.0, 1.0),
        uniform_f32(&mut r, m * n, -1.0, 1.0),
    );
    let (ab, bb) = (
        GpuBuffer::from_slice(ctx, "a", &a)?,
        GpuBuffer::from_slice(ctx, "b", &b)?,
    );
    let biasb = GpuBuffer::from_slice(ctx, "bias", &bias)?;
    // NN with bias and ReLU (a forward layer), TN and NT accumulating (gradients).
    let accumulate = form != Form::NN;
    let out = if accumulate {
        GpuBuffer::from_slice(ctx, "out", &prev)?
    } else {
        poisoned(ctx, "out", m * n)?
    };
    let epi = Epilogue {
        bias: (!accumulate).then(|| (&biasb).into()),
        relu: !accumulate,
        accumulate,
        mask: None,
    };
    let d = matmul::bind(
        ctx,
        form,
        (&ab).into(),
        (&bb).into(),
        (&out).into(),
        m,
        n,
        k,
        epi,
    )?;
    submit(ctx, "doctor matmul", &[&d]);
    let (bias64, prev64) = (to_f64(&bias), to_f64(&prev));
    let want = matmul::matmul_cpu(
        form,
        &to_f64(&a),
        &to_f64(&b),
        m,
        n,
        k,
        (!accumulate).then_some(&bias64[..]),
        !accumulate,
        accumulate.then_some(&prev64[..]),
    );
    let atol = 2e-6 * k as f64;
    let got = out.read(ctx).await?;
    Ok(Outcome::compared(
        compare(&got, &want, 1e-5, atol),
        format!("{atol:.1e} + 1e-5·|x|"),
        format!("m {m}, n {n}, k {k}"),
    ))
}

async fn colsum_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (rows, cols) = (1001, 37);
    let m = uniform_f32(&mut seeded(5), rows * cols, -1.0, 1.0);
    let mb = GpuBuffer::from_slice(ctx, "m", &m)?;
    let out = poisoned(ctx, "out", cols)?;
    submit(
        ctx,
        "doctor colsum",
        &[&colsum::bind(
            ctx,
            (&mb).into(),
            (&out).into(),
            rows,
            cols,
            false,
        )?],
    );
    let want = colsum::colsum_cpu(&to_f64(&m), rows, cols, None);
    let atol = 2e-6 * rows as f64;
    let got = out.read(ctx).await?;
    Ok(Outcome::compared(
        compare(&got, &want, 1e-5, atol),
        format!("{atol:.1e} + 1e-5·|x|"),
        format!("{rows}×{cols}"),
    ))
}

async fn reduce_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (len, slot, scale) = (100_003, 2, 0.37f32);
    let x = uniform_f32(&mut seeded(6), len, -1.0, 1.0);
    let xb = GpuBuffer::from_slice(ctx, "x", &x)?;
    let out = GpuBuffer::from_slice(ctx, "out", &[7.0f32; 4])?;
    submit(
        ctx,
        "doctor reduce",
        &[&reduce::bind(
            ctx,
            (&xb).into(),
            len,
            (&out).into(),
            slot,
            scale,
            false,
        )?],
    );
    let got = out.read(ctx).await?;
    let x64 = to_f64(&x);
    let want = reduce::sum_cpu(&x64, scale as f64);
    let bound = 1e-6 * scale as f64 * x64.iter().map(|v| v.abs()).sum::<f64>() + 1e-7;
    let others = got.iter().enumerate().all(|(i, &v)| i == slot || v == 7.0);
    let mut o = Outcome::within(
        (got[slot] as f64 - want).abs(),
        bound,
        format!("{len} values"),
    );
    if !others {
        o.failure = Some(format!("the other slots changed: {got:?}"));
    }
    Ok(o)
}

const DRAWS: usize = 1 << 16;
const DRAW_SEED: (u64, u32, u32) = (0x1234_5678_9abc_def0, 3, 1);

async fn rng_bits(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (seed, epoch, stream) = DRAW_SEED;
    let got: Vec<u32> = harness::draws(ctx, true, DRAWS, DRAW_SEED)
        .await?
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let want = rng::bits_cpu(seed, epoch, stream, DRAWS);
    let bad = got.iter().zip(&want).position(|(a, b)| a != b);
    Ok(Outcome {
        worst: bad.map_or(0.0, |_| 1.0),
        bound: "equal".into(),
        failure: bad.map(|i| format!("word {i}: {:#x} vs the twin's {:#x}", got[i], want[i])),
        detail: format!("{DRAWS} words equal the twin's"),
    })
}

async fn rng_normals(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (seed, epoch, stream) = DRAW_SEED;
    let got = harness::draws(ctx, false, DRAWS, DRAW_SEED).await?;
    let err = rng::draw_error(&got, &rng::normal_cpu(seed, epoch, stream, DRAWS));
    Ok(Outcome::within(
        err.worst,
        1e-5,
        format!("{DRAWS} Box–Muller samples"),
    ))
}

async fn reparam_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (n, d) = (301, 13);
    let mut r = seeded(8);
    let head = uniform_f32(&mut r, n * 2 * d, -2.0, 2.0);
    let eps = uniform_f32(&mut r, n * d, -2.0, 2.0);
    let dz = uniform_f32(&mut r, n * d, -1.0, 1.0);
    let (hb, eb, dzb) = (
        GpuBuffer::from_slice(ctx, "head", &head)?,
        GpuBuffer::from_slice(ctx, "eps", &eps)?,
        GpuBuffer::from_slice(ctx, "dz", &dz)?,
    );
    let (z, dhead, kl) = (
        poisoned(ctx, "z", n * d)?,
        poisoned(ctx, "dhead", n * 2 * d)?,
        poisoned(ctx, "kl", n)?,
    );
    let w = 0.25f32;
    let f = reparam::forward(ctx, (&hb).into(), (&eb).into(), (&z).into(), n, d)?;
    let b = reparam::backward(
        ctx,
        (&hb).into(),
        (&eb).into(),
        (&dzb).into(),
        (&dhead).into(),
        (&kl).into(),
        n,
        d,
        w,
    )?;
    submit(ctx, "doctor reparam", &[&f, &b]);
    let (h64, e64) = (to_f64(&head), to_f64(&eps));
    Ok(all_of(
        vec![
            (
                "z",
                compare(
                    &z.read(ctx).await?,
                    &reparam::forward_cpu(&h64, &e64, n, d),
                    1e-5,
                    1e-6,
                ),
            ),
            (
                "dhead",
                compare(
                    &dhead.read(ctx).await?,
                    &reparam::backward_cpu(&h64, &e64, &to_f64(&dz), n, d, w as f64),
                    1e-5,
                    1e-6,
                ),
            ),
            (
                "kl",
                compare(
                    &kl.read(ctx).await?,
                    &reparam::kl_cpu(&h64, n, d),
                    1e-5,
                    1e-5,
                ),
            ),
        ],
        "1e-6 + 1e-5·|x|".into(),
        format!("{n} nodes × {d}"),
    ))
}

async fn decoder_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (n, d, npos, nneg) = (301, 19, 700, 650);
    let mut r = seeded(9);
    let z = uniform_f32(&mut r, n * d, -0.8, 0.8);
    let pairs: Vec<u32> = (0..2 * (npos + nneg))
        .map(|_| r.random_range(0..n as u32))
        .collect();
    let p = npos + nneg;
    let got = harness::decoder(ctx, &z, &pairs, (n, d), (npos, nneg)).await?;
    let z64 = to_f64(&z);
    let (want_loss, want_grad) = decoder::pair_loss_cpu(&z64, &pairs, d, npos, nneg);
    let want_dz = decoder::gather_cpu(&z64, &pairs, &to_f64(&got.grad), n, d);
    Ok(all_of(
        vec![
            ("loss", compare(&got.loss, &want_loss, 1e-5, 1e-8)),
            ("grad", compare(&got.grad, &want_grad, 1e-5, 1e-8)),
            ("dz", compare(&got.dz, &want_dz, 1e-5, 1e-7)),
        ],
        "1e-7 + 1e-5·|x|".into(),
        format!("{p} pairs over {n} nodes, d {d}"),
    ))
}

/// The whole GPU-negatives reconstruction: draw + loss, scan, place, order, gather; the draw
/// must be the twin's pairs exactly, the lists `pair_slots`' exactly, dz the twin's.
async fn negatives_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (n, d, nneg, seed, epoch) = (301, 9, 601, 0x5eed, 4);
    let mut r = seeded(10);
    let mut pos = std::collections::BTreeSet::new();
    while pos.len() < 600 {
        let (a, b) = (r.random_range(0..n as u32), r.random_range(0..n as u32));
        if a != b {
            pos.insert([a.min(b), a.max(b)]);
        }
    }
    let pos: Vec<[u32; 2]> = pos.into_iter().collect();
    let t = PositiveTables::new(n, &pos)?;
    let z = uniform_f32(&mut r, n * d, -0.8, 0.8);
    let npos = pos.len();
    let got = harness::negatives(ctx, &t, &z, d, nneg, (seed, epoch), negatives::ATTEMPTS).await?;
    let want_neg = negatives::draw_cpu(&t, seed, epoch, nneg);
    let detail = format!("{nneg} negatives beside {npos} positives over {n} nodes");
    let fail = |why: String| {
        Ok(Outcome {
            worst: f64::INFINITY,
            bound: "equal".into(),
            failure: Some(why),
            detail: detail.clone(),
        })
    };
    if got.pairs[2 * npos..] != want_neg[..] {
        return fail("the drawn pairs are not the twin's".into());
    }
    let (ptr, want_slots) = decoder::pair_slots(n, &got.pairs)?;
    if got.slot_ptr != ptr || got.slots != want_slots {
        return fail("the slot lists are not the host-built lists".into());
    }
    if got.counts != t.pos_count {
        return fail("the counts were not restored".into());
    }
    let want_dz = decoder::gather_cpu(&to_f64(&z), &got.pairs, &to_f64(&got.grad), n, d);
    Ok(Outcome::compared(
        compare(&got.dz, &want_dz, 1e-4, 1e-5),
        "1e-5 + 1e-4·|x|".into(),
        detail,
    ))
}

async fn adam_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    let (len, lr, epoch) = (1001, 0.01f32, 200u32);
    let mut r = seeded(11);
    let (theta, g) = (
        uniform_f32(&mut r, len, -1.0, 1.0),
        uniform_f32(&mut r, len, -0.5, 0.5),
    );
    let (m, v) = (
        uniform_f32(&mut r, len, -0.1, 0.1),
        uniform_f32(&mut r, len, 1e-4, 1e-2),
    );
    let (tb, gb) = (
        GpuBuffer::from_slice(ctx, "theta", &theta)?,
        GpuBuffer::from_slice(ctx, "g", &g)?,
    );
    let (mb, vb) = (
        GpuBuffer::from_slice(ctx, "m", &m)?,
        GpuBuffer::from_slice(ctx, "v", &v)?,
    );
    let clock = GpuBuffer::from_slice(ctx, "clock", &[epoch, 0, 0, 0])?;
    let d = adam::bind(
        ctx,
        &clock,
        (&tb).into(),
        (&gb).into(),
        (&mb).into(),
        (&vb).into(),
        len,
        lr,
        5,
        2,
    )?;
    submit(ctx, "doctor adam", &[&d]);
    let (mut t64, mut m64, mut v64) = (to_f64(&theta), to_f64(&m), to_f64(&v));
    adam::step_cpu(
        &mut t64,
        &to_f64(&g),
        &mut m64,
        &mut v64,
        lr as f64,
        (epoch * 5 + 3) as u64,
    );
    Ok(all_of(
        vec![
            ("θ", compare(&tb.read(ctx).await?, &t64, 1e-5, 1e-7)),
            ("m", compare(&mb.read(ctx).await?, &m64, 1e-5, 2e-8)),
            ("v", compare(&vb.read(ctx).await?, &v64, 1e-5, 1e-12)),
        ],
        "1e-7 + 1e-5·|x|".into(),
        format!("{len} parameters, step {}", epoch * 5 + 3),
    ))
}

/// PyTorch Geometric's recorded first epoch of `model` (tests/fixtures/golden), replayed.
async fn golden(ctx: &GpuContext, model: ModelKind) -> GpuResult<Outcome> {
    let json = match model {
        ModelKind::Gae => include_str!("../../tests/fixtures/golden/gae_one_epoch.json"),
        ModelKind::Vgae => include_str!("../../tests/fixtures/golden/vgae_one_epoch.json"),
        ModelKind::Arga => include_str!("../../tests/fixtures/golden/arga_one_epoch.json"),
        ModelKind::Argva => include_str!("../../tests/fixtures/golden/argva_one_epoch.json"),
    };
    let g =
        crate::reference::golden::Golden::from_json(json.as_bytes(), "golden").map_err(|e| {
            crate::gpu::GpuError::InvalidArgument {
                what: "golden epoch".into(),
                message: e.to_string(),
            }
        })?;
    let comparisons = crate::train::replay::replay_golden(ctx, &g).await?;
    // Each tensor's error as a fraction of its tolerance: the worst must stay ≤ 1.
    let worst = comparisons
        .iter()
        .map(|c| c.worst / c.tolerance)
        .fold(0.0, f64::max);
    let failure = comparisons
        .iter()
        .find(|c| !c.passed())
        .map(|c| c.to_string());
    Ok(Outcome {
        worst,
        bound: "1 (tol.)".into(),
        failure,
        detail: format!("{} tensors within their tolerances", comparisons.len()),
    })
}

/// A small ARGVA run (GPU noise and negatives, every kernel of an epoch) twice: the same bytes.
async fn determinism(ctx: &GpuContext) -> GpuResult<Outcome> {
    use crate::data::split::{NegativeSampler, link_split};
    use crate::train::fit::{Checkpointing, Validation, fit_async};
    use crate::train::{TrainConfig, TrainInputs};
    let bad = |e: String| crate::gpu::GpuError::InvalidArgument {
        what: "determinism check".into(),
        message: e,
    };
    let spec = crate::data::sbm::SbmSpec::parse(
        "nodes=400,classes=8,degree=8,features=64,seed=3,within=0.95",
    )
    .map_err(|e| bad(e.to_string()))?;
    let g = crate::data::sbm::generate(&spec).map_err(|e| bad(e.to_string()))?;
    let split = link_split(&g, 0.05, 0.1, 1).map_err(|e| bad(e.to_string()))?;
    let adjacency = crate::data::gcn_norm(g.num_nodes, &split.train_pos);
    let sampler =
        NegativeSampler::new(g.num_nodes, &split.train_pos).map_err(|e| bad(e.to_string()))?;
    let sample = |rng: &mut rand_chacha::ChaCha8Rng, count: usize| sampler.sample(rng, count);
    let inputs = TrainInputs {
        features: (&g.features).into(),
        adjacency: (&adjacency).into(),
        train_pos: &split.train_pos,
        sample_negatives: &sample,
    };
    let val = Validation {
        pos: &split.val_pos,
        neg: &split.val_neg,
        every: 5,
        select_best: false,
    };
    let cfg = TrainConfig {
        model: ModelKind::Argva,
        epochs: 10,
        latent: 16,
        hidden: 32,
        disc_hidden: 32,
        ..TrainConfig::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let r = fit_async(
            ctx,
            &cfg,
            &inputs,
            &val,
            &Checkpointing::default(),
            &mut |_| ControlFlow::Continue(()),
        )
        .await
        .map_err(|e| bad(e.to_string()))?;
        let bits: Vec<u32> = r
            .history
            .iter()
            .flat_map(|l| [l.recon, l.reg, l.kl, l.disc])
            .chain(r.embedding.iter().copied())
            .map(f32::to_bits)
            .collect();
        runs.push(bits);
    }
    let differ = runs[0].iter().zip(&runs[1]).filter(|(a, b)| a != b).count();
    Ok(Outcome {
        worst: differ as f64,
        bound: "0 differ".into(),
        failure: (differ > 0).then(|| {
            format!(
                "{differ} of {} losses and embedding values differ between two identical runs",
                runs[0].len()
            )
        }),
        detail: format!(
            "10 epochs on a 400-node SBM: {} values the same bits",
            runs[0].len()
        ),
    })
}

/// One fused discriminator step (forward, BCE, backward; d 32 → 64 → 64 → 1, the default) on
/// a batch of [z ; prior] rows no tile divides: its loss and every parameter gradient.
async fn discriminator(ctx: &GpuContext) -> GpuResult<Outcome> {
    use crate::kernels::disc_fused::{self, Batch, GRAD_COLUMN, LOSS_COLUMN, Mlp, Operands, Prior};
    use crate::model::{Arch, ParamLayout};
    let n = 333;
    let m = Mlp::of(&ParamLayout::discriminator(&Arch {
        kind: ModelKind::Argva,
        features: 3,
        hidden: 4,
        latent: 32,
        disc_hidden: 64,
        disc_hidden2: None,
        encoder_bias: true,
    }));
    let mut r = seeded(12);
    let theta = uniform_f32(&mut r, m.len, -0.4, 0.4);
    let (z, prior) = (
        uniform_f32(&mut r, n * m.d, -1.5, 1.5),
        uniform_f32(&mut r, n * m.d, -2.0, 2.0),
    );
    let batch = Batch::step(n);
    let groups = disc_fused::partial_rows(&m, batch, disc_fused::Room::of(ctx))?;
    let clock = GpuBuffer::from_slice(ctx, "clock", &[3u32, 0, 0, 0])?;
    let (tb, zb) = (
        GpuBuffer::from_slice(ctx, "theta", &theta)?,
        GpuBuffer::from_slice(ctx, "z", &z)?,
    );
    let pb = GpuBuffer::from_slice(ctx, "prior", &prior)?;
    let (partials, dz) = (
        poisoned(ctx, "partials", groups * m.row_len())?,
        poisoned(ctx, "dz", n * m.d)?,
    );
    let ops = Operands {
        clock: &clock,
        theta: (&tb).into(),
        z: (&zb).into(),
        partials: (&partials).into(),
        dz: (&dz).into(),
    };
    submit(
        ctx,
        "doctor disc_fused",
        &[&disc_fused::bind_step(
            ctx,
            &m,
            batch,
            Prior::Buffer((&pb).into()),
            ops,
        )?],
    );
    let table = partials.read(ctx).await?;
    let total = |column: usize| disc_fused::sum_column(&table, m.row_len(), groups, column);
    let rows = to_f64(&[z, prior].concat());
    let want = disc_fused::forward_backward_cpu(&m, &to_f64(&theta), &rows, batch);
    let grads: Vec<f32> = (0..m.len).map(|e| total(GRAD_COLUMN + e) as f32).collect();
    Ok(all_of(
        vec![
            (
                "loss",
                compare(&[total(LOSS_COLUMN) as f32], &[want.loss], 1e-5, 1e-6),
            ),
            ("gradients", compare(&grads, &want.grads, 1e-4, 1e-6)),
        ],
        "1e-6 + 1e-4·|x|".into(),
        format!("{} rows, {} parameters", 2 * n, m.len),
    ))
}

/// The original ARGA code's weighted N² reconstruction loss and its gradient, in row chunks.
async fn dense_recon_check(ctx: &GpuContext) -> GpuResult<Outcome> {
    use crate::kernels::dense_recon;
    let (n, d) = (150, 7);
    let mut r = seeded(13);
    let mut adj = vec![Vec::new(); n];
    for i in 0..n {
        for j in i + 1..n {
            if r.random_bool(0.08) {
                adj[i].push(j as u32);
                adj[j].push(i as u32);
            }
        }
    }
    let a = adj.iter().map(Vec::len).sum();
    let (mut ptr, mut col) = (vec![0u32], Vec::new());
    for (i, row) in adj.iter_mut().enumerate() {
        row.push(i as u32);
        row.sort_unstable();
        col.extend_from_slice(row);
        ptr.push(col.len() as u32);
    }
    let z = uniform_f32(&mut r, n * d, -0.7, 0.7);
    let (zb, pb, cb) = (
        GpuBuffer::from_slice(ctx, "z", &z)?,
        GpuBuffer::from_slice(ctx, "ptr", &ptr)?,
        GpuBuffer::from_slice(ctx, "col", &col)?,
    );
    let (dz, loss_rows) = (poisoned(ctx, "dz", n * d)?, poisoned(ctx, "loss rows", n)?);
    let scores = poisoned(ctx, "scores", dense_recon::scratch_len(n))?;
    let ops = dense_recon::Operands {
        z: (&zb).into(),
        label_ptr: (&pb).into(),
        label_col: (&cb).into(),
        scores: (&scores).into(),
        dz: (&dz).into(),
        loss_rows: (&loss_rows).into(),
    };
    // Chunks of 64 rows (64, 64, 22), as graphs past the scratch run.
    let steps = dense_recon::record_chunked(ctx, ops, (n, d), a, false, 64)?;
    submit(
        ctx,
        "doctor dense recon",
        &steps.iter().map(|(d, _)| d).collect::<Vec<_>>(),
    );
    let (want_loss, want_dz) = dense_recon::loss_and_grad_cpu(&to_f64(&z), n, d, &ptr, &col, a);
    let loss: f64 = loss_rows.read(ctx).await?.iter().map(|&v| v as f64).sum();
    Ok(all_of(
        vec![
            ("loss", compare(&[loss as f32], &[want_loss], 1e-4, 0.0)),
            ("dz", compare(&dz.read(ctx).await?, &want_dz, 1e-4, 1e-6)),
        ],
        "1e-6 + 1e-4·|x|".into(),
        format!("{n} nodes, {a} edges, d {d}, three row chunks"),
    ))
}
