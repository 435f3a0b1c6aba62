//! The GPU training engine: every buffer of a model allocated once, every kernel of an
//! epoch bound once into a [`Schedule`], and an epoch = one command buffer submitted
//! without waiting. The host writes only the epoch's pair list and the clock per epoch.
//!
//! Buffer and formula names follow `docs/argva-math.md` (a copy of the design note):
//! encoder P1 = X·W1, H1 = ReLU(Â·P1 + b1), Q = H1·W_head, head = Â·Q + b_head
//! (head = [μ | ℓ̃] for VGAE/ARGVA, z for GAE/ARGA); z = μ + ε·exp(min(ℓ̃, 10)).
//! The discriminator sees 2N-row batches `[z ; z′_k]` (fake rows first). `zz` holds
//! `[z ; z′_0 ; … ; z′_{K−1}]`: every z′ is drawn by one launch at the start of the epoch, and
//! step k reads its batch through a row gap (rows ≥ N shifted by k·N), so nothing is copied.
//! Launches are fused where a pass over memory can carry more work (see docs/performance.md):
//! ReLU backward rides on the matmul that makes the gradient, bias gradients on the TN weight
//! gradient, and the discriminator's output layer, loss and their backward are one kernel.

use crate::gpu::{Arg, GpuBuffer, GpuContext, GpuError, GpuResult};
use crate::kernels::Epilogue;
use crate::kernels::disc_out::{self, Labels, ParamGrads};
use crate::kernels::matmul::{Extra, Form, RowGap};
use crate::kernels::spmm::CsrBuffers;
use crate::kernels::{adam, colsum, decoder, dense_recon, matmul, reduce, reparam, rng, spmm};
use crate::model::{Arch, ParamLayout};

use super::schedule::{Cost, Schedule};
use crate::gpu::Dispatch;

/// Borrowed CSR matrix (row pointers, column indices, values) with its column count.
#[derive(Clone, Copy, Debug)]
pub struct CsrRef<'a> {
    pub row_ptr: &'a [u32],
    pub col: &'a [u32],
    pub val: &'a [f32],
    pub cols: usize,
}

/// Optimiser and schedule settings the engine bakes into its dispatches.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    pub lr_encoder: f32,
    pub lr_discriminator: f32,
    pub disc_steps: usize,
    /// Positive and negative pairs per epoch (the pair buffer is sized for them once).
    pub num_pos: usize,
    pub num_neg: usize,
    /// Where ε and z′ come from: the GPU's counter-based generator, or host buffers
    /// (tests that replay recorded draws).
    pub noise: Noise,
    /// Reconstruction loss: sampled pairs, or the original code's dense N² BCE.
    pub recon: Recon,
}

/// The reconstruction loss (`--recon`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Recon {
    /// Mean BCE over the training positives + as many negatives sampled each epoch.
    #[default]
    Sampled,
    /// The original paper's weighted BCE over all N² pairs (pos_weight, norm).
    Dense,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Noise {
    Gpu { seed: u64 },
    Host,
}

/// Everything an epoch updates: parameters and Adam's first and second moments.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineState {
    pub encoder: Vec<f32>,
    pub discriminator: Vec<f32>,
    pub encoder_adam: (Vec<f32>, Vec<f32>),
    pub discriminator_adam: (Vec<f32>, Vec<f32>),
}

/// Slots of the loss buffer (read back asynchronously for the progress display).
pub mod slot {
    pub const REG: usize = 0;
    pub const RECON: usize = 1;
    pub const KL: usize = 2;
    /// Discriminator step k writes DISC + k.
    pub const DISC: usize = 3;
}

/// RNG streams: ε uses stream 0, discriminator step k's z′ uses stream 1 + k.
const STREAM_EPS: u32 = 0;

pub struct Engine {
    pub arch: Arch,
    pub cfg: EngineConfig,
    pub n: usize,
    pub enc_layout: ParamLayout,
    pub dis_layout: ParamLayout,
    pub enc_params: GpuBuffer<f32>,
    pub dis_params: GpuBuffer<f32>,
    enc_state: Vec<GpuBuffer<f32>>, // grads, m, v
    dis_state: Vec<GpuBuffer<f32>>,
    clock: GpuBuffer<u32>,
    pub losses: GpuBuffer<f32>,
    /// [μ | ℓ̃] (variational) or z; μ is the embedding users keep.
    pub head: GpuBuffer<f32>,
    /// [z ; z′_0 ; … ; z′_{K−1}] for adversarial models, z otherwise.
    pub zz: GpuBuffer<f32>,
    eps: GpuBuffer<f32>,
    pairs: GpuBuffer<u32>,
    slot_ptr: GpuBuffer<u32>,
    slots: GpuBuffer<u32>,
    pub epoch: Schedule,
    /// The encoder forward alone (evaluation: μ, or z for GAE/ARGA, from current parameters).
    pub encode: Schedule,
    // Keeps every buffer the schedule binds alive for the engine's life.
    _keep: Vec<GpuBuffer<f32>>,
    _keep_csr: Vec<CsrBuffers>,
}

/// Every storage buffer [`Engine::new`] allocates, by label, in bytes (f32 and u32 alike; an
/// empty buffer still takes one 4-byte element). Checked against the device before anything is
/// allocated, so a graph that cannot fit is refused with the whole bill; a test keeps this
/// list equal to what `Engine::new` really allocates.
pub fn buffer_plan(
    arch: &Arch,
    cfg: &EngineConfig,
    nodes: usize,
    feature_nnz: usize,
    adjacency_nnz: usize,
) -> Vec<(&'static str, u64)> {
    let (n, f, h, d, w, dh) = (
        nodes,
        arch.features,
        arch.hidden,
        arch.latent,
        arch.head_width(),
        arch.disc_hidden,
    );
    let (enc, dis) = (
        ParamLayout::encoder(arch).len,
        ParamLayout::discriminator(arch).len,
    );
    let adv = arch.kind.adversarial();
    let var = arch.kind.variational();
    let k = if adv { cfg.disc_steps } else { 0 };
    let p = cfg.num_pos + cfg.num_neg;
    let rows_d = if adv { 2 * n } else { n };
    let dense = cfg.recon == Recon::Dense;
    let elems: [(&'static str, usize); 39] = [
        ("X.row_ptr", n + 1),
        ("X.col", feature_nnz),
        ("X.val", feature_nnz),
        ("Xt.row_ptr", f + 1),
        ("Xt.col", feature_nnz),
        ("Xt.val", feature_nnz),
        ("A_hat.row_ptr", n + 1),
        ("A_hat.col", adjacency_nnz),
        ("A_hat.val", adjacency_nnz),
        ("encoder params", enc),
        ("discriminator params", dis),
        ("encoder grads", enc),
        ("encoder adam m", enc),
        ("encoder adam v", enc),
        ("disc grads", dis),
        ("disc adam m", dis),
        ("disc adam v", dis),
        ("clock", 4),
        ("losses", slot::DISC + k.max(1)),
        ("P1", n * h),
        ("H1", n * h),
        ("Q", n * w),
        ("head", if var { n * w } else { 0 }),
        ("zz", (1 + k) * n * d),
        ("eps", n * d),
        ("D a1", rows_d * dh),
        ("D a2", rows_d * dh),
        ("D da1", rows_d * dh),
        ("D da2", rows_d * dh),
        ("dz", n * d),
        ("dhead", n * w),
        ("G2", n * w),
        ("dH1", n * h),
        ("G1", n * h),
        ("KL terms", n),
        ("pair loss", if dense { n } else { p }),
        ("pair grad", p),
        ("pairs", 2 * p),
        ("pair slot ptr", n + 1),
    ];
    let mut plan: Vec<(&'static str, u64)> = elems
        .iter()
        .map(|&(label, len)| (label, (len as u64 * 4).max(4)))
        .collect();
    plan.push(("pair slots", (2 * p as u64 * 4).max(4)));
    plan
}

impl Engine {
    /// Uploads the graph and parameters, allocates every buffer and records the epoch.
    pub fn new(
        ctx: &GpuContext,
        arch: Arch,
        cfg: EngineConfig,
        features: CsrRef<'_>,
        adjacency: CsrRef<'_>,
        enc_init: &[f32],
        dis_init: &[f32],
    ) -> GpuResult<Self> {
        let n = features.row_ptr.len().saturating_sub(1);
        let (f, h, d, w, dh) = (
            arch.features,
            arch.hidden,
            arch.latent,
            arch.head_width(),
            arch.disc_hidden,
        );
        if features.cols != f {
            return Err(GpuError::SizeMismatch {
                what: "feature columns vs the model's input width".into(),
                expected: f,
                got: features.cols,
            });
        }
        if adjacency.row_ptr.len() != n + 1 || adjacency.cols != n {
            return Err(GpuError::SizeMismatch {
                what: "GCN operator rows vs nodes".into(),
                expected: n,
                got: adjacency.row_ptr.len().saturating_sub(1),
            });
        }
        // Refuse a graph the device cannot hold before allocating anything.
        let plan = buffer_plan(&arch, &cfg, n, features.col.len(), adjacency.col.len());
        let limit = ctx.max_binding_bytes();
        let biggest = plan
            .iter()
            .fold(None, |best: Option<&(&str, u64)>, b| match best {
                Some(m) if m.1 >= b.1 => Some(m),
                _ => Some(b),
            });
        if let Some(&(largest, bytes)) = biggest
            && bytes > limit
        {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            return Err(GpuError::GraphTooLarge {
                total_mib: mib(plan.iter().map(|(_, b)| b).sum()),
                largest,
                largest_bytes: bytes,
                limit_bytes: limit,
            });
        }
        let enc_layout = ParamLayout::encoder(&arch);
        let dis_layout = ParamLayout::discriminator(&arch);
        let adv = arch.kind.adversarial();
        let var = arch.kind.variational();
        let k_steps = if adv { cfg.disc_steps } else { 0 };
        let p = cfg.num_pos + cfg.num_neg;

        let x = CsrBuffers::upload(ctx, "X", features.row_ptr, features.col, features.val, f)?;
        let (xt_ptr, xt_col, xt_val) =
            spmm::csr_transpose(n, f, features.row_ptr, features.col, features.val);
        let xt = CsrBuffers::upload(ctx, "Xt", &xt_ptr, &xt_col, &xt_val, n)?;
        let adj = CsrBuffers::upload(
            ctx,
            "A_hat",
            adjacency.row_ptr,
            adjacency.col,
            adjacency.val,
            n,
        )?;

        let buf = |label: &str, len: usize| GpuBuffer::<f32>::zeros(ctx, label, len);
        let enc_params = GpuBuffer::from_slice(ctx, "encoder params", enc_init)?;
        let dis_params = GpuBuffer::from_slice(ctx, "discriminator params", dis_init)?;
        let enc_state = vec![
            buf("encoder grads", enc_layout.len)?,
            buf("encoder adam m", enc_layout.len)?,
            buf("encoder adam v", enc_layout.len)?,
        ];
        let dis_state = vec![
            buf("disc grads", dis_layout.len)?,
            buf("disc adam m", dis_layout.len)?,
            buf("disc adam v", dis_layout.len)?,
        ];
        let clock = GpuBuffer::<u32>::zeros(ctx, "clock", 4)?;
        let losses = buf("losses", slot::DISC + k_steps.max(1))?;
        let p1 = buf("P1", n * h)?;
        let h1 = buf("H1", n * h)?;
        let q = buf("Q", n * w)?;
        // GAE/ARGA write z straight into `zz`; `head` is then unused (one element).
        let head = buf("head", if var { n * w } else { 0 })?;
        let rows_d = if adv { 2 * n } else { n };
        let zz = buf("zz", (1 + k_steps) * n * d)?;
        let eps = buf("eps", n * d)?;
        let a1 = buf("D a1", rows_d * dh)?;
        let a2 = buf("D a2", rows_d * dh)?;
        let da1 = buf("D da1", rows_d * dh)?;
        let da2 = buf("D da2", rows_d * dh)?;
        let dz = buf("dz", n * d)?;
        let dhead = buf("dhead", n * w)?;
        let g2 = buf("G2", n * w)?;
        let dh1 = buf("dH1", n * h)?;
        let g1 = buf("G1", n * h)?;
        let kl_terms = buf("KL terms", n)?;
        let dense = cfg.recon == Recon::Dense;
        let pair_loss = buf("pair loss", if dense { n } else { p })?;
        let pair_grad = buf("pair grad", p)?;
        let pairs = GpuBuffer::<u32>::zeros(ctx, "pairs", 2 * p)?;
        let slot_ptr = GpuBuffer::<u32>::zeros(ctx, "pair slot ptr", n + 1)?;
        let slots = GpuBuffer::<u32>::zeros(ctx, "pair slots", 2 * p)?;

        let et = |name: &str| enc_layout.get(name).clone();
        let dt = |name: &str| dis_layout.get(name).clone();
        let ep = |name: &str| {
            let t = et(name);
            enc_params.range(t.offset, t.len())
        };
        let eg = |name: &str| {
            let t = et(name);
            enc_state[0].range(t.offset, t.len())
        };
        let dp = |name: &str| {
            let t = dt(name);
            dis_params.range(t.offset, t.len())
        };
        let dg = |name: &str| {
            let t = dt(name);
            dis_state[0].range(t.offset, t.len())
        };
        let plain = Epilogue::default();
        fn bias(b: Arg<'_>) -> Epilogue<'_> {
            Epilogue {
                bias: Some(b),
                ..Default::default()
            }
        }
        fn bias_relu(b: Arg<'_>) -> Epilogue<'_> {
            Epilogue {
                bias: Some(b),
                relu: true,
                ..Default::default()
            }
        }
        // ReLU backward fused into the product: zero where the forward activation was not > 0.
        fn masked(activation: Arg<'_>) -> Epilogue<'_> {
            Epilogue {
                mask: Some(activation),
                ..Default::default()
            }
        }
        let z = zz.range(0, n * d);
        // Product kernels with their costs (for `argva bench`'s roofline table).
        #[allow(clippy::too_many_arguments)]
        fn mm<'a>(
            ctx: &GpuContext,
            form: Form,
            a: Arg<'a>,
            b: Arg<'a>,
            out: Arg<'a>,
            m: usize,
            n: usize,
            k: usize,
            epi: Epilogue<'a>,
        ) -> GpuResult<(Dispatch, Cost)> {
            let mut dispatch = matmul::bind(ctx, form, a, b, out, m, n, k, epi)?;
            dispatch.label = form_label(form);
            Ok((dispatch, Cost::matmul(m, n, k)))
        }
        #[allow(clippy::too_many_arguments)]
        fn mm_ext<'a>(
            ctx: &GpuContext,
            form: Form,
            a: Arg<'a>,
            b: Arg<'a>,
            out: Arg<'a>,
            (m, n, k): (usize, usize, usize),
            epi: Epilogue<'a>,
            extra: Extra<'a>,
        ) -> GpuResult<(Dispatch, Cost)> {
            let mut dispatch = matmul::bind_ext(ctx, form, a, b, out, m, n, k, epi, extra)?;
            dispatch.label = form_label(form);
            Ok((dispatch, Cost::matmul(m, n, k)))
        }
        fn sp<'a>(
            ctx: &GpuContext,
            csr: &CsrBuffers,
            b: Arg<'a>,
            out: Arg<'a>,
            c: usize,
            epi: Epilogue<'a>,
        ) -> GpuResult<(Dispatch, Cost)> {
            let mut dispatch = spmm::bind(ctx, csr, b, out, c, epi)?;
            // Profile rows per operator, named by the labels the CSRs are uploaded with below.
            dispatch.label = match csr.row_ptr.label() {
                "X.row_ptr" => "spmm X·W",
                "Xt.row_ptr" => "spmm Xᵀ·G",
                "A_hat.row_ptr" => "spmm Â·H",
                _ => "spmm",
            };
            Ok((dispatch, Cost::spmm(csr.rows, csr.nnz, c)))
        }
        fn form_label(form: Form) -> &'static str {
            match form {
                Form::NN => "matmul NN",
                Form::TN => "matmul TN",
                Form::NT => "matmul NT",
            }
        }

        // ---- encoder forward (once per epoch; also the evaluation pass, where z = μ) ----
        let head_out: Arg<'_> = if var { (&head).into() } else { z };
        let forward = vec![
            sp(ctx, &x, ep("w1"), (&p1).into(), h, plain)?,
            sp(
                ctx,
                &adj,
                (&p1).into(),
                (&h1).into(),
                h,
                bias_relu(ep("b1")),
            )?,
            mm(
                ctx,
                Form::NN,
                (&h1).into(),
                ep("w_head"),
                (&q).into(),
                n,
                w,
                h,
                plain,
            )?,
            sp(ctx, &adj, (&q).into(), head_out, w, bias(ep("b_head")))?,
        ];
        let mut encode = Schedule::default();
        encode.extend(forward.iter().cloned());
        let mut s = Schedule::default();
        s.extend(forward);
        // GPU noise in one launch: ε (stream 0, `eps`) and every step's z′ (streams 1..=K,
        // after z in `zz`). Host noise is written into the same places by `set_host_noise`.
        if let Noise::Gpu { seed } = cfg.noise {
            let nd = n * d;
            if var && k_steps > 0 {
                s.push((
                    rng::bind_streams_split(
                        ctx,
                        &clock,
                        Some(((&eps).into(), 1)),
                        (&zz).into(),
                        0,
                        nd,
                        1 + k_steps,
                        seed,
                        STREAM_EPS,
                    )?,
                    Cost::rng_normal(nd * (1 + k_steps)),
                ));
            } else if var {
                s.push((
                    rng::bind(ctx, &clock, (&eps).into(), 0, nd, seed, STREAM_EPS)?,
                    Cost::rng_normal(nd),
                ));
            } else if k_steps > 0 {
                s.push((
                    rng::bind_streams(
                        ctx,
                        &clock,
                        (&zz).into(),
                        nd,
                        nd,
                        k_steps,
                        seed,
                        STREAM_EPS + 1,
                    )?,
                    Cost::rng_normal(nd * k_steps),
                ));
            }
        }
        if var {
            s.push((
                reparam::forward(ctx, (&head).into(), (&eps).into(), z, n, d)?,
                Cost::reparam_forward(n, d),
            ));
        }

        // The discriminator's hidden layers over `rows` rows of `input` (row gap `gap`).
        let disc_hidden = |s: &mut Schedule, input: Arg<'_>, rows: usize, gap: RowGap| {
            s.push(mm_ext(
                ctx,
                Form::NT,
                input,
                dp("w1"),
                a1.range(0, rows * dh),
                (rows, dh, d),
                bias_relu(dp("b1")),
                Extra {
                    row_gap: gap,
                    ..Default::default()
                },
            )?);
            s.push(mm(
                ctx,
                Form::NT,
                a1.range(0, rows * dh),
                dp("w2"),
                a2.range(0, rows * dh),
                rows,
                dh,
                dh,
                bias_relu(dp("b2")),
            )?);
            GpuResult::Ok(())
        };
        // Output layer + loss into `slot`, back to da2 (ReLU′ applied), then da1 (ReLU′ applied).
        let disc_head = |s: &mut Schedule, labels: Labels, slot: usize, grads: bool| {
            let rows = match labels {
                Labels::Disc { n } => 2 * n,
                Labels::Reg { n } => n,
            };
            s.push((
                disc_out::bind(
                    ctx,
                    labels,
                    a2.range(0, rows * dh),
                    dp("w3"),
                    dp("b3"),
                    da2.range(0, rows * dh),
                    grads.then(|| ParamGrads {
                        dw3: dg("w3"),
                        db3: dg("b3"),
                    }),
                    (&losses).into(),
                    slot,
                    dh,
                )?,
                Cost::disc_out(rows, dh),
            ));
            GpuResult::Ok(())
        };
        let disc_da1 = |s: &mut Schedule, rows: usize| {
            s.push(mm(
                ctx,
                Form::NN,
                da2.range(0, rows * dh),
                dp("w2"),
                da1.range(0, rows * dh),
                rows,
                dh,
                dh,
                masked(a1.range(0, rows * dh)),
            )?);
            GpuResult::Ok(())
        };

        // ---- discriminator steps on z detached (z′ drawn above) ----
        for k in 0..k_steps {
            let rows = 2 * n;
            // Step k's batch [z ; z′_k]: rows ≥ N live k·N rows further on in `zz`.
            let gap = RowGap {
                split: n,
                gap: k * n,
            };
            disc_hidden(&mut s, (&zz).into(), rows, gap)?;
            disc_head(&mut s, Labels::Disc { n }, slot::DISC + k, true)?;
            // Parameter gradients of the discriminator (written, not accumulated); each TN
            // weight gradient also writes its bias gradient (the column sums of its A).
            s.push(mm_ext(
                ctx,
                Form::TN,
                (&da2).into(),
                (&a1).into(),
                dg("w2"),
                (dh, dh, rows),
                plain,
                Extra {
                    colsum: Some(dg("b2")),
                    ..Default::default()
                },
            )?);
            disc_da1(&mut s, rows)?;
            s.push(mm_ext(
                ctx,
                Form::TN,
                (&da1).into(),
                (&zz).into(),
                dg("w1"),
                (dh, d, rows),
                plain,
                Extra {
                    row_gap: gap,
                    colsum: Some(dg("b1")),
                },
            )?);
            s.push((
                adam::bind(
                    ctx,
                    &clock,
                    (&dis_params).into(),
                    (&dis_state[0]).into(),
                    (&dis_state[1]).into(),
                    (&dis_state[2]).into(),
                    dis_layout.len,
                    cfg.lr_discriminator,
                    k_steps as u32,
                    k as u32,
                )?,
                Cost::adam(dis_layout.len),
            ));
        }

        // ---- encoder step ----
        let mut dz_written = false;
        if adv {
            // reg_loss = mean softplus(−D(z)) through the updated discriminator, back to dz.
            disc_hidden(&mut s, z, n, RowGap::NONE)?;
            disc_head(&mut s, Labels::Reg { n }, slot::REG, false)?;
            disc_da1(&mut s, n)?;
            s.push(mm(
                ctx,
                Form::NN,
                da1.range(0, n * dh),
                dp("w1"),
                (&dz).into(),
                n,
                d,
                dh,
                plain,
            )?);
            dz_written = true;
        }
        if dense {
            // All N² pairs, labels Y = A_train + I: the sparsity pattern of Â itself.
            let directed_edges = adj.nnz.saturating_sub(n);
            s.push((
                dense_recon::bind(
                    ctx,
                    z,
                    (&adj.row_ptr).into(),
                    (&adj.col).into(),
                    (&dz).into(),
                    (&pair_loss).into(),
                    n,
                    d,
                    directed_edges,
                    dz_written,
                )?,
                Cost::dense_recon(n, adj.nnz, d),
            ));
        } else {
            // Pair logits, loss terms and per-pair gradients, then a per-node gather.
            s.push((
                decoder::pair_loss(
                    ctx,
                    z,
                    (&pairs).into(),
                    (&pair_loss).into(),
                    (&pair_grad).into(),
                    n,
                    d,
                    cfg.num_pos,
                    cfg.num_neg,
                )?,
                Cost::pair_loss(p, d),
            ));
            s.push((
                decoder::gather(
                    ctx,
                    z,
                    (&pairs).into(),
                    (&slot_ptr).into(),
                    (&slots).into(),
                    (&pair_grad).into(),
                    (&dz).into(),
                    n,
                    d,
                    dz_written,
                )?,
                Cost::pair_gather(n, p, d),
            ));
        }
        // The reconstruction loss's sum; variational models sum it with the KL in one launch.
        let recon_len = if dense { n } else { p };
        let recon_sum = reduce::Sum {
            x: (&pair_loss).into(),
            len: recon_len,
            slot: slot::RECON,
            scale: 1.0,
        };
        let dhead_arg: Arg<'_> = if var {
            // The encoder loss weighs the per-node-mean KL by 1/N: 1/N² per node term.
            let kl_weight = 1.0 / (n as f32 * n as f32);
            s.push((
                reparam::backward(
                    ctx,
                    (&head).into(),
                    (&eps).into(),
                    (&dz).into(),
                    (&dhead).into(),
                    (&kl_terms).into(),
                    n,
                    d,
                    kl_weight,
                )?,
                Cost::reparam_backward(n, d),
            ));
            let kl_sum = reduce::Sum {
                x: (&kl_terms).into(),
                len: n,
                slot: slot::KL,
                scale: 1.0 / n as f32,
            };
            s.push((
                reduce::bind_pair(ctx, recon_sum, kl_sum, (&losses).into())?,
                Cost::reduce(recon_len + n),
            ));
            (&dhead).into()
        } else {
            s.push((
                reduce::bind(
                    ctx,
                    recon_sum.x,
                    recon_sum.len,
                    (&losses).into(),
                    slot::RECON,
                    1.0,
                    false,
                )?,
                Cost::reduce(recon_len),
            ));
            (&dz).into()
        };
        s.push(sp(ctx, &adj, dhead_arg, (&g2).into(), w, plain)?);
        s.push(mm(
            ctx,
            Form::TN,
            (&h1).into(),
            (&g2).into(),
            eg("w_head"),
            h,
            w,
            n,
            plain,
        )?);
        s.push((
            colsum::bind(ctx, dhead_arg, eg("b_head"), n, w, false)?,
            Cost::colsum(n, w),
        ));
        s.push(mm(
            ctx,
            Form::NT,
            (&g2).into(),
            ep("w_head"),
            (&dh1).into(),
            n,
            h,
            w,
            masked((&h1).into()),
        )?);
        s.push(sp(ctx, &adj, (&dh1).into(), (&g1).into(), h, plain)?);
        s.push((
            colsum::bind(ctx, (&dh1).into(), eg("b1"), n, h, false)?,
            Cost::colsum(n, h),
        ));
        s.push(sp(ctx, &xt, (&g1).into(), eg("w1"), h, plain)?);
        s.push((
            adam::bind(
                ctx,
                &clock,
                (&enc_params).into(),
                (&enc_state[0]).into(),
                (&enc_state[1]).into(),
                (&enc_state[2]).into(),
                enc_layout.len,
                cfg.lr_encoder,
                1,
                0,
            )?,
            Cost::adam(enc_layout.len),
        ));

        let keep = vec![
            p1, h1, q, a1, a2, da1, da2, dz, dhead, g2, dh1, g1, kl_terms, pair_loss, pair_grad,
        ];
        Ok(Self {
            arch,
            cfg,
            n,
            enc_layout,
            dis_layout,
            enc_params,
            dis_params,
            enc_state,
            dis_state,
            clock,
            losses,
            head,
            zz,
            eps,
            pairs,
            slot_ptr,
            slots,
            epoch: s,
            encode,
            _keep: keep,
            _keep_csr: vec![x, xt, adj],
        })
    }

    /// Writes this epoch's pair list (positives then negatives, flattened `i0 j0 i1 j1 …`)
    /// and its node-major slot index. Queued: safe to call while the previous epoch runs.
    pub fn set_pairs(&self, ctx: &GpuContext, pairs: &[u32]) -> GpuResult<()> {
        let (ptr, slots) = decoder::pair_slots(self.n, pairs)?;
        self.pairs.write(ctx, pairs)?;
        self.slot_ptr.write(ctx, &ptr)?;
        self.slots.write(ctx, &slots)
    }

    /// Host-provided noise (tests replaying recorded draws): ε (N×d) and z′ for each
    /// discriminator step (K × N × d).
    pub fn set_host_noise(&self, ctx: &GpuContext, eps: &[f32], zprime: &[f32]) -> GpuResult<()> {
        if self.cfg.noise != Noise::Host {
            return Err(GpuError::Validation {
                what: "host noise".into(),
                message: "the engine was built with GPU noise".into(),
            });
        }
        if self.arch.kind.variational() {
            self.eps.write(ctx, eps)?;
        }
        if self.arch.kind.adversarial() {
            // z′ goes after z in `zz` (the epoch overwrites only z).
            let nd = self.n * self.arch.latent;
            let want = self.cfg.disc_steps * nd;
            if zprime.len() != want {
                return Err(GpuError::SizeMismatch {
                    what: "host noise: z′ (K × N × d)".into(),
                    expected: want,
                    got: zprime.len(),
                });
            }
            if want > 0 {
                ctx.queue.write_buffer(
                    &self.zz.buffer,
                    (nd * 4) as u64,
                    bytemuck::cast_slice(zprime),
                );
            }
        }
        Ok(())
    }

    /// Sets the epoch index (0-based) the next submitted epoch runs as: it selects the RNG
    /// streams and Adam's step count.
    pub fn write_clock(&self, ctx: &GpuContext, index: u32) -> GpuResult<()> {
        self.clock.write(ctx, &[index, 0, 0, 0])
    }

    /// Queues epoch `index` and returns at once.
    pub fn submit_epoch(&self, ctx: &GpuContext, index: u32) -> GpuResult<wgpu::SubmissionIndex> {
        self.write_clock(ctx, index)?;
        Ok(self.epoch.submit(ctx))
    }

    /// The embedding users keep: μ (variational) or z, N×d row-major.
    pub async fn embedding(&self, ctx: &GpuContext) -> GpuResult<Vec<f32>> {
        let (n, d, w) = (self.n, self.arch.latent, self.arch.head_width());
        if self.arch.kind.variational() {
            let head = self.head.read(ctx).await?;
            Ok(head.chunks(w).flat_map(|row| row[..d].to_vec()).collect())
        } else {
            crate::gpu::buffer::read_buffer(ctx, &self.zz.buffer, n * d, "z").await
        }
    }

    /// The gradients of the last encoder and discriminator steps (tests, diagnostics).
    pub async fn read_grads(&self, ctx: &GpuContext) -> GpuResult<(Vec<f32>, Vec<f32>)> {
        Ok((
            self.enc_state[0].read(ctx).await?,
            self.dis_state[0].read(ctx).await?,
        ))
    }

    /// Parameters and Adam moments, read back for a checkpoint.
    pub async fn read_state(&self, ctx: &GpuContext) -> GpuResult<EngineState> {
        // GAE/VGAE have no discriminator: its part of the state is empty.
        let (discriminator, discriminator_adam) = if self.arch.kind.adversarial() {
            (
                self.dis_params.read(ctx).await?,
                (
                    self.dis_state[1].read(ctx).await?,
                    self.dis_state[2].read(ctx).await?,
                ),
            )
        } else {
            (Vec::new(), (Vec::new(), Vec::new()))
        };
        Ok(EngineState {
            encoder: self.enc_params.read(ctx).await?,
            discriminator,
            encoder_adam: (
                self.enc_state[1].read(ctx).await?,
                self.enc_state[2].read(ctx).await?,
            ),
            discriminator_adam,
        })
    }

    /// Restores parameters and Adam moments (resume from a checkpoint).
    pub fn write_state(&self, ctx: &GpuContext, st: &EngineState) -> GpuResult<()> {
        self.enc_params.write(ctx, &st.encoder)?;
        self.enc_state[1].write(ctx, &st.encoder_adam.0)?;
        self.enc_state[2].write(ctx, &st.encoder_adam.1)?;
        if self.arch.kind.adversarial() {
            self.dis_params.write(ctx, &st.discriminator)?;
            self.dis_state[1].write(ctx, &st.discriminator_adam.0)?;
            self.dis_state[2].write(ctx, &st.discriminator_adam.1)?;
        }
        Ok(())
    }
}
