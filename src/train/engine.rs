//! The GPU training engine: every buffer of a model allocated once, every kernel of an
//! epoch bound once into a [`Schedule`], and an epoch = one command buffer submitted
//! without waiting. The host writes only the epoch's pair list and the clock per epoch.
//!
//! Buffer and formula names follow `docs/argva-math.md` (a copy of the design note):
//! encoder P1 = X·W1, H1 = ReLU(Â·P1 + b1), Q = H1·W_head, head = Â·Q + b_head
//! (head = [μ | ℓ̃] for VGAE/ARGVA, z for GAE/ARGA); z = μ + ε·exp(min(ℓ̃, 10)).
//! The discriminator sees 2N-row batches `[z ; z′_k]` (fake rows first). `zz` holds z, then
//! z′_k from row (1 + k)·Np (Np = N rounded up to 64 rows): every z′ is drawn at the start of
//! the epoch, and step k reads its batch through a row gap (rows ≥ N shifted to z′_k), so
//! nothing is copied. Launches are fused where a pass over memory can carry more work (see
//! docs/performance.md): ReLU backward rides on the matmul that makes the gradient, bias
//! gradients on the TN weight gradient, the discriminator's output layer, loss and their
//! backward are one kernel, and its partial sums are finished by the Adam launch.
//! Arrays past one storage binding are bound in row chunks or windows (`Access`, and
//! `src/gpu/window.rs`); when everything fits, each launch runs once over all rows.

use crate::gpu::window::gather_capacity;
use crate::gpu::{
    Arg, GpuBuffer, GpuContext, GpuError, GpuResult, MAX_WINDOWS, chunk_rows, row_chunks,
};
use crate::kernels::Epilogue;
use crate::kernels::disc_out::{self, Partials};
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

/// How the engine binds a buffer, which decides what the device must allow of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// One binding: must fit the per-binding limit.
    Whole,
    /// Row chunks, each bound at an offset: only the buffer-size limit applies.
    Rows,
    /// Rows of `row` values gathered from anywhere (Â·H, the decoder's lookups): read through
    /// at most [`MAX_WINDOWS`] bindings.
    Gather { row: usize },
    /// Blocks of `block` values bound whole (z and each step's z′ in `zz`), otherwise rows.
    Blocks { block: usize },
}

/// One storage buffer of the engine: its label, bytes and how it is bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub label: &'static str,
    pub bytes: u64,
    pub access: Access,
}

/// Rows between the fake and real halves of discriminator batches, and between the draws
/// in `zz`, are padded to a multiple of this, so that every row chunk's byte offset meets the
/// storage alignment (≤ 256 bytes on every device: 64 rows of 4 bytes).
const ROW_ALIGN: usize = 64;

/// Every storage buffer [`Engine::new`] allocates, in bytes (f32 and u32 alike; an empty
/// buffer still takes one 4-byte element), with how it is bound. Checked against the device
/// by [`check_plan`] before anything is allocated, so a graph that cannot fit is refused with
/// the whole bill; a test keeps this list equal to what `Engine::new` really allocates.
pub fn buffer_plan(
    arch: &Arch,
    cfg: &EngineConfig,
    nodes: usize,
    feature_nnz: usize,
    adjacency_nnz: usize,
) -> Vec<Planned> {
    use Access::*;
    let (n, f, h, d, w, dh) = (
        nodes,
        arch.features,
        arch.hidden,
        arch.latent,
        arch.head_width(),
        arch.disc_hidden,
    );
    let np = n.next_multiple_of(ROW_ALIGN);
    let (enc, dis) = (
        ParamLayout::encoder(arch).len,
        ParamLayout::discriminator(arch).len,
    );
    let adv = arch.kind.adversarial();
    let var = arch.kind.variational();
    let k = if adv { cfg.disc_steps } else { 0 };
    let p = cfg.num_pos + cfg.num_neg;
    let rows_d = if adv { 2 * np } else { 0 };
    let dense = cfg.recon == Recon::Dense;
    let elems: [(&'static str, usize, Access); 41] = [
        ("X.row_ptr", n + 1, Rows),
        ("X.col", feature_nnz, Whole),
        ("X.val", feature_nnz, Whole),
        ("Xt.row_ptr", f + 1, Whole),
        ("Xt.col", feature_nnz, Whole),
        ("Xt.val", feature_nnz, Whole),
        ("A_hat.row_ptr", n + 1, Rows),
        ("A_hat.col", adjacency_nnz, Whole),
        ("A_hat.val", adjacency_nnz, Whole),
        ("encoder params", enc, Whole),
        ("discriminator params", dis, Whole),
        ("encoder grads", enc, Whole),
        ("encoder adam m", enc, Whole),
        ("encoder adam v", enc, Whole),
        ("disc grads", dis, Whole),
        ("disc adam m", dis, Whole),
        ("disc adam v", dis, Whole),
        ("clock", 4, Whole),
        ("losses", slot::DISC + k.max(1), Whole),
        ("P1", n * h, Gather { row: h }),
        ("H1", n * h, Rows),
        ("Q", n * w, Gather { row: w }),
        ("head", if var { n * w } else { 0 }, Rows),
        (
            "zz",
            if adv { (1 + k) * np * d } else { n * d },
            Blocks { block: n * d },
        ),
        ("eps", if var { np * d } else { 0 }, Rows),
        ("D a1", rows_d * dh, Rows),
        ("D a2", rows_d * dh, Rows),
        ("D da1", rows_d * dh, Rows),
        ("D da2", rows_d * dh, Rows),
        ("dz", n * d, Whole),
        ("dhead", if var { n * w } else { 0 }, Gather { row: w }),
        ("G2", n * w, Rows),
        ("dH1", n * h, Gather { row: h }),
        ("G1", n * h, Gather { row: h }),
        ("KL terms", n, Whole),
        ("D partials", (dh + 2) * partial_rows(adv, n), Whole),
        ("pair loss", if dense { n } else { p }, Whole),
        ("pair grad", p, Whole),
        ("pairs", 2 * p, Gather { row: 2 }),
        ("pair slot ptr", n + 1, Whole),
        ("pair slots", 2 * p, Gather { row: 1 }),
    ];
    elems
        .iter()
        .map(|&(label, len, access)| Planned {
            label,
            bytes: (len as u64 * 4).max(4),
            access,
        })
        .collect()
}

/// The first buffer of `plan` this device cannot hold or bind the way the engine binds it,
/// as `GraphTooLarge` with the plan's total. `binding`, `align` and `max_buffer` are the
/// device's per-binding limit, storage offset alignment and buffer-size limit.
pub fn check_plan(plan: &[Planned], binding: u64, align: u64, max_buffer: u64) -> GpuResult<()> {
    let total: u64 = plan.iter().map(|b| b.bytes).sum();
    let per_binding = format!("this device's per-binding limit of {binding} bytes");
    for b in plan {
        let reason = if b.bytes > max_buffer {
            Some(format!(
                "is over this device's buffer-size limit of {max_buffer} bytes"
            ))
        } else {
            match b.access {
                Access::Whole if b.bytes > binding => {
                    Some(format!("is bound whole, over {per_binding}"))
                }
                Access::Blocks { block } if block as u64 * 4 > binding => Some(format!(
                    "holds blocks of {} bytes (z and each step's z′) that are bound whole, over \
                     {per_binding}",
                    block as u64 * 4
                )),
                Access::Gather { row } => {
                    let row_bytes = row.max(1) as u64 * 4;
                    (b.bytes > gather_capacity(binding, align, row_bytes)).then(|| {
                        format!(
                            "is gathered from through at most {MAX_WINDOWS} bindings of \
                             {per_binding}"
                        )
                    })
                }
                _ => None,
            }
        };
        if let Some(reason) = reason {
            return Err(GpuError::GraphTooLarge {
                total_mib: total as f64 / (1024.0 * 1024.0),
                buffer: b.label,
                bytes: b.bytes,
                reason,
            });
        }
    }
    Ok(())
}

/// Rows of the discriminator output layer's partial-sums table: one per 64 rows of each half
/// of a batch, chunked or not (0 without a discriminator).
fn partial_rows(adversarial: bool, n: usize) -> usize {
    if adversarial {
        2 * disc_out::workgroups(n)
    } else {
        0
    }
}

/// A run of discriminator-batch rows (see `pieces` in [`Engine::new`]): `rows` rows whose
/// activations start at row `act` of a1/a2/da1/da2 and whose input starts at row `src` of
/// `zz` (read through `gap`; `whole_src`: bind all of `zz`), the first `fake` of them fake.
#[derive(Clone, Copy, Debug)]
struct Piece {
    act: usize,
    src: usize,
    rows: usize,
    fake: usize,
    gap: RowGap,
    whole_src: bool,
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
        check_plan(
            &buffer_plan(&arch, &cfg, n, features.col.len(), adjacency.col.len()),
            ctx.max_binding_bytes(),
            ctx.limits.min_storage_buffer_offset_alignment as u64,
            ctx.max_buffer_bytes(),
        )?;
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
        // Discriminator batches keep their real rows from row Np (see `pieces`), and `zz`
        // keeps z′_k at rows (1 + k)·Np (GAE/VGAE: z alone).
        let np = n.next_multiple_of(ROW_ALIGN);
        let rows_d = if adv { 2 * np } else { 0 };
        let zz = buf("zz", if adv { (1 + k_steps) * np * d } else { n * d })?;
        let eps = buf("eps", if var { np * d } else { 0 })?;
        let a1 = buf("D a1", rows_d * dh)?;
        let a2 = buf("D a2", rows_d * dh)?;
        let da1 = buf("D da1", rows_d * dh)?;
        let da2 = buf("D da2", rows_d * dh)?;
        let dz = buf("dz", n * d)?;
        let dhead = buf("dhead", if var { n * w } else { 0 })?;
        let g2 = buf("G2", n * w)?;
        let dh1 = buf("dH1", n * h)?;
        let g1 = buf("G1", n * h)?;
        let kl_terms = buf("KL terms", n)?;
        // The output layer's partial sums (see kernels::disc_out::Partials): a row per 64
        // batch rows of either half, dh + 2 columns.
        let partial_rows = partial_rows(adv, n);
        let partials = buf("D partials", (dh + 2) * partial_rows)?;
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
        // Rows one binding holds at the widest activation: the chunk every row-local launch
        // is split into when its arrays are past one binding (one chunk on most devices and
        // graphs: the schedule is then exactly the unsplit one).
        let chunk = chunk_rows(ctx, (h.max(w).max(d).max(dh) * 4) as u64);
        let node_chunks = row_chunks(n, chunk);
        // Rows r0..r1 of a row-major buffer `width` values wide.
        fn rows(b: &GpuBuffer<f32>, width: usize, (r0, r1): (usize, usize)) -> Arg<'_> {
            b.range(r0 * width, (r1 - r0) * width)
        }
        // Product kernels with their costs (for `argva bench`'s roofline table).
        #[allow(clippy::too_many_arguments)]
        fn mm<'a>(
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
            dispatch.label = match form {
                Form::NN => "matmul NN",
                Form::TN => "matmul TN",
                Form::NT => "matmul NT",
            };
            Ok((dispatch, Cost::matmul(m, n, k)))
        }
        let no_extra = Extra::default();
        // Rows `r0..r1` of CSR × dense (all rows in one launch when they fit one binding).
        fn sp<'a>(
            ctx: &GpuContext,
            csr: &CsrBuffers,
            (r0, r1): (usize, usize),
            b: Arg<'a>,
            out: Arg<'a>,
            c: usize,
            epi: Epilogue<'a>,
        ) -> GpuResult<(Dispatch, Cost)> {
            let mut dispatch = spmm::bind_rows(ctx, csr, r0..r1, b, out, c, epi)?;
            // Profile rows per operator, named by the labels the CSRs are uploaded with below.
            dispatch.label = match csr.row_ptr.label() {
                "X.row_ptr" => "spmm X·W",
                "Xt.row_ptr" => "spmm Xᵀ·G",
                "A_hat.row_ptr" => "spmm Â·H",
                _ => "spmm",
            };
            // (nnz of a chunk is not known without the row pointers: share by rows)
            let nnz = (csr.nnz as f64 * (r1 - r0) as f64 / csr.rows.max(1) as f64) as usize;
            Ok((dispatch, Cost::spmm(r1 - r0, nnz, c)))
        }
        // Â·B (or X·B) into `out`, one launch per row chunk.
        let propagate = |s: &mut Schedule,
                         csr: &CsrBuffers,
                         b: Arg<'_>,
                         out: &GpuBuffer<f32>,
                         c: usize,
                         epi: Epilogue<'_>|
         -> GpuResult<()> {
            for &ch in &node_chunks {
                s.push(sp(ctx, csr, ch, b, rows(out, c, ch), c, epi)?);
            }
            Ok(())
        };

        // ---- encoder forward (once per epoch; also the evaluation pass, where z = μ) ----
        let head_buf = if var { &head } else { &zz };
        let mut forward = Schedule::default();
        propagate(&mut forward, &x, ep("w1"), &p1, h, plain)?;
        propagate(
            &mut forward,
            &adj,
            (&p1).into(),
            &h1,
            h,
            bias_relu(ep("b1")),
        )?;
        for &ch in &node_chunks {
            forward.push(mm(
                ctx,
                Form::NN,
                rows(&h1, h, ch),
                ep("w_head"),
                rows(&q, w, ch),
                (ch.1 - ch.0, w, h),
                plain,
                no_extra,
            )?);
        }
        propagate(
            &mut forward,
            &adj,
            (&q).into(),
            head_buf,
            w,
            bias(ep("b_head")),
        )?;
        let encode = forward.clone();
        let mut s = forward;

        // The discriminator batch of step k (or of the regulariser) as runs of rows: where its
        // activations (a1, a2, …) sit, where its input rows come from in `zz`, and how many
        // are fake. One piece over the whole batch when it fits one binding (step k reads
        // [z ; z′_k] through a row gap); otherwise row chunks of each half, each bound at an
        // offset (real rows then live from row Np of the activations, so offsets stay aligned).
        let disc_whole = adv
            && (zz.len() * 4) as u64 <= ctx.max_binding_bytes()
            && (2 * n * dh * 4) as u64 <= ctx.max_binding_bytes();
        let pieces = |step: Option<usize>| -> Vec<Piece> {
            let real_src = |k: usize| (1 + k) * np;
            match step {
                Some(k) if disc_whole => vec![Piece {
                    act: 0,
                    src: 0,
                    rows: 2 * n,
                    fake: n,
                    gap: RowGap {
                        split: n,
                        gap: real_src(k) - n,
                    },
                    whole_src: true,
                }],
                Some(k) => {
                    let half = |act: usize, src: usize, fake: bool| {
                        node_chunks.iter().map(move |&(r0, r1)| Piece {
                            act: act + r0,
                            src: src + r0,
                            rows: r1 - r0,
                            fake: if fake { r1 - r0 } else { 0 },
                            gap: RowGap::NONE,
                            whole_src: false,
                        })
                    };
                    half(0, 0, true)
                        .chain(half(np, real_src(k), false))
                        .collect()
                }
                None => node_chunks
                    .iter()
                    .map(|&(r0, r1)| Piece {
                        act: r0,
                        src: r0,
                        rows: r1 - r0,
                        fake: 0,
                        gap: RowGap::NONE,
                        whole_src: false,
                    })
                    .collect(),
            }
        };
        let src_arg = |p: &Piece| {
            if p.whole_src {
                (&zz).into()
            } else {
                rows(&zz, d, (p.src, p.src + p.rows))
            }
        };
        // A piece's rows of a discriminator activation.
        fn act<'b>(b: &'b GpuBuffer<f32>, dh: usize, p: &Piece) -> Arg<'b> {
            rows(b, dh, (p.act, p.act + p.rows))
        }

        // GPU noise: ε (stream 0, `eps`) and every step's z′ (streams 1..=K, rows (1 + k)·Np
        // of `zz`), in one launch when `zz` fits one binding, else one launch per draw.
        // Padding rows between the draws get samples too; nothing reads them.
        if let Noise::Gpu { seed } = cfg.noise {
            let (nd, npd) = (n * d, np * d);
            let zz_whole = (zz.len() * 4) as u64 <= ctx.max_binding_bytes();
            if k_steps > 0 && zz_whole {
                let low = var.then(|| ((&eps).into(), 1));
                let first = if var { STREAM_EPS } else { STREAM_EPS + 1 };
                let offset = if var { 0 } else { npd };
                let streams = k_steps + var as usize;
                s.push((
                    rng::bind_streams_split(
                        ctx,
                        &clock,
                        low,
                        (&zz).into(),
                        offset,
                        npd,
                        streams,
                        seed,
                        first,
                    )?,
                    Cost::rng_normal(npd * streams),
                ));
            } else {
                if var {
                    s.push((
                        rng::bind(ctx, &clock, eps.range(0, nd), 0, nd, seed, STREAM_EPS)?,
                        Cost::rng_normal(nd),
                    ));
                }
                for k in 0..k_steps {
                    let out = zz.range((1 + k) * npd, nd);
                    s.push((
                        rng::bind(ctx, &clock, out, 0, nd, seed, STREAM_EPS + 1 + k as u32)?,
                        Cost::rng_normal(nd),
                    ));
                }
            }
        }
        if var {
            for &ch in &node_chunks {
                s.push((
                    reparam::forward(
                        ctx,
                        rows(&head, w, ch),
                        rows(&eps, d, ch),
                        rows(&zz, d, ch),
                        ch.1 - ch.0,
                        d,
                    )?,
                    Cost::reparam_forward(ch.1 - ch.0, d),
                ));
            }
        }

        // The discriminator's hidden layers over the pieces of a batch.
        let disc_hidden = |s: &mut Schedule, pieces: &[Piece]| {
            for p in pieces {
                s.push(mm(
                    ctx,
                    Form::NT,
                    src_arg(p),
                    dp("w1"),
                    act(&a1, dh, p),
                    (p.rows, dh, d),
                    bias_relu(dp("b1")),
                    Extra {
                        row_gap: p.gap,
                        ..Default::default()
                    },
                )?);
                s.push(mm(
                    ctx,
                    Form::NT,
                    act(&a1, dh, p),
                    dp("w2"),
                    act(&a2, dh, p),
                    (p.rows, dh, dh),
                    bias_relu(dp("b2")),
                    no_extra,
                )?);
            }
            GpuResult::Ok(())
        };
        // Output layer + loss, back to da2 (ReLU′ applied); the loss and (with `grads`) the
        // output layer's gradients as partial sums, the pieces taking consecutive rows of the
        // table. Returns the rows written: the optimizer step that follows sums them.
        let disc_head = |s: &mut Schedule, pieces: &[Piece], grads: bool| {
            let mut base = 0;
            for p in pieces {
                let labels = disc_out::Labels::Rows {
                    rows: p.rows,
                    fake: p.fake,
                    n,
                };
                let table = Partials {
                    table: (&partials).into(),
                    base,
                    stride: partial_rows,
                };
                s.push((
                    disc_out::bind(
                        ctx,
                        labels,
                        act(&a2, dh, p),
                        dp("w3"),
                        dp("b3"),
                        act(&da2, dh, p),
                        table,
                        grads,
                        dh,
                    )?,
                    Cost::disc_out(p.rows, dh),
                ));
                base += disc_out::workgroups(p.rows);
            }
            GpuResult::Ok(base)
        };
        let disc_da1 = |s: &mut Schedule, pieces: &[Piece]| {
            for p in pieces {
                s.push(mm(
                    ctx,
                    Form::NN,
                    act(&da2, dh, p),
                    dp("w2"),
                    act(&da1, dh, p),
                    (p.rows, dh, dh),
                    masked(act(&a1, dh, p)),
                    no_extra,
                )?);
            }
            GpuResult::Ok(())
        };
        // What an Adam launch finishes of the output layer's partial sums: `count` rows, the
        // loss into `slot` and, for the discriminator's step, the w3/b3 gradients.
        let finish_partials = |count, w3_b3, slot| adam::FromPartials {
            table: (&partials).into(),
            stride: partial_rows,
            count,
            dh,
            w3_b3,
            losses: (&losses).into(),
            slot,
        };
        // Accumulate over the pieces after the first.
        let summed = |i: usize| Epilogue {
            accumulate: i > 0,
            ..Default::default()
        };

        // ---- discriminator steps on z detached (z′ drawn above) ----
        for k in 0..k_steps {
            let batch = pieces(Some(k));
            disc_hidden(&mut s, &batch)?;
            let parts = disc_head(&mut s, &batch, true)?;
            // Parameter gradients of the discriminator (written by the first piece, summed by
            // the rest); each TN weight gradient also makes its bias gradient (the column
            // sums of its A).
            for (i, p) in batch.iter().enumerate() {
                s.push(mm(
                    ctx,
                    Form::TN,
                    act(&da2, dh, p),
                    act(&a1, dh, p),
                    dg("w2"),
                    (dh, dh, p.rows),
                    summed(i),
                    Extra {
                        colsum: Some(dg("b2")),
                        ..Default::default()
                    },
                )?);
            }
            disc_da1(&mut s, &batch)?;
            for (i, p) in batch.iter().enumerate() {
                s.push(mm(
                    ctx,
                    Form::TN,
                    act(&da1, dh, p),
                    src_arg(p),
                    dg("w1"),
                    (dh, d, p.rows),
                    summed(i),
                    Extra {
                        row_gap: p.gap,
                        colsum: Some(dg("b1")),
                    },
                )?);
            }
            // The step's loss and the output layer's gradients are finished here.
            let finish = finish_partials(
                parts,
                Some((dt("w3").offset, dt("b3").offset)),
                slot::DISC + k,
            );
            s.push((
                adam::bind_ext(
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
                    Some(finish),
                )?,
                Cost::adam(dis_layout.len),
            ));
        }

        // ---- encoder step ----
        let mut dz_written = false;
        // The regulariser's loss is left as partial sums that the encoder's Adam step adds up.
        let mut reg_parts = None;
        if adv {
            // reg_loss = mean softplus(−D(z)) through the updated discriminator, back to dz.
            let batch = pieces(None);
            disc_hidden(&mut s, &batch)?;
            reg_parts = Some(disc_head(&mut s, &batch, false)?);
            disc_da1(&mut s, &batch)?;
            for p in &batch {
                s.push(mm(
                    ctx,
                    Form::NN,
                    act(&da1, dh, p),
                    dp("w1"),
                    rows(&dz, d, (p.src, p.src + p.rows)),
                    (p.rows, d, dh),
                    plain,
                    no_extra,
                )?);
            }
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
        let dhead_buf = if var {
            // The encoder loss weighs the per-node-mean KL by 1/N: 1/N² per node term.
            let kl_weight = 1.0 / (n as f32 * n as f32);
            for &ch in &node_chunks {
                s.push((
                    reparam::backward(
                        ctx,
                        rows(&head, w, ch),
                        rows(&eps, d, ch),
                        rows(&dz, d, ch),
                        rows(&dhead, w, ch),
                        rows(&kl_terms, 1, ch),
                        ch.1 - ch.0,
                        d,
                        kl_weight,
                    )?,
                    Cost::reparam_backward(ch.1 - ch.0, d),
                ));
            }
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
            &dhead
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
            &dz
        };
        propagate(&mut s, &adj, dhead_buf.into(), &g2, w, plain)?;
        for (i, &ch) in node_chunks.iter().enumerate() {
            s.push(mm(
                ctx,
                Form::TN,
                rows(&h1, h, ch),
                rows(&g2, w, ch),
                eg("w_head"),
                (h, w, ch.1 - ch.0),
                summed(i),
                no_extra,
            )?);
        }
        for (i, &ch) in node_chunks.iter().enumerate() {
            s.push((
                colsum::bind(
                    ctx,
                    rows(dhead_buf, w, ch),
                    eg("b_head"),
                    ch.1 - ch.0,
                    w,
                    i > 0,
                )?,
                Cost::colsum(ch.1 - ch.0, w),
            ));
        }
        for &ch in &node_chunks {
            s.push(mm(
                ctx,
                Form::NT,
                rows(&g2, w, ch),
                ep("w_head"),
                rows(&dh1, h, ch),
                (ch.1 - ch.0, h, w),
                masked(rows(&h1, h, ch)),
                no_extra,
            )?);
        }
        propagate(&mut s, &adj, (&dh1).into(), &g1, h, plain)?;
        for (i, &ch) in node_chunks.iter().enumerate() {
            s.push((
                colsum::bind(ctx, rows(&dh1, h, ch), eg("b1"), ch.1 - ch.0, h, i > 0)?,
                Cost::colsum(ch.1 - ch.0, h),
            ));
        }
        s.push(sp(ctx, &xt, (0, f), (&g1).into(), eg("w1"), h, plain)?);
        let finish_reg = reg_parts.map(|count| finish_partials(count, None, slot::REG));
        s.push((
            adam::bind_ext(
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
                finish_reg,
            )?,
            Cost::adam(enc_layout.len),
        ));

        let keep = vec![
            p1, h1, q, a1, a2, da1, da2, dz, dhead, g2, dh1, g1, kl_terms, partials, pair_loss,
            pair_grad,
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
        let nd = self.n * self.arch.latent;
        if self.arch.kind.variational() {
            if eps.len() != nd {
                return Err(GpuError::SizeMismatch {
                    what: "host noise: ε (N × d)".into(),
                    expected: nd,
                    got: eps.len(),
                });
            }
            // (ε's buffer may have padding rows after the N used ones)
            ctx.queue
                .write_buffer(&self.eps.buffer, 0, bytemuck::cast_slice(eps));
        }
        if self.arch.kind.adversarial() {
            // z′_k goes to rows (1 + k)·Np of `zz` (the epoch overwrites only z).
            let want = self.cfg.disc_steps * nd;
            if zprime.len() != want {
                return Err(GpuError::SizeMismatch {
                    what: "host noise: z′ (K × N × d)".into(),
                    expected: want,
                    got: zprime.len(),
                });
            }
            let stride = self.n.next_multiple_of(ROW_ALIGN) * self.arch.latent;
            for (k, draw) in zprime.chunks(nd.max(1)).enumerate() {
                ctx.queue.write_buffer(
                    &self.zz.buffer,
                    ((1 + k) * stride * 4) as u64,
                    bytemuck::cast_slice(draw),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(label: &'static str, bytes: u64, access: Access) -> Vec<Planned> {
        vec![
            Planned {
                label: "small",
                bytes: 1000,
                access: Access::Whole,
            },
            Planned {
                label,
                bytes,
                access,
            },
        ]
    }

    /// What each way of binding lets through, at a 1 MiB binding / 4 MiB buffer device.
    #[test]
    fn check_plan_refuses_what_cannot_be_bound_and_nothing_else() {
        const MIB: u64 = 1 << 20;
        let check = |p: &[Planned]| check_plan(p, MIB, 256, 4 * MIB);
        let refused = |p: &[Planned], name: &str, why: &str| {
            let err = check(p).expect_err(name).to_string();
            assert!(
                err.contains(&format!("`{name}`")) && err.contains(why),
                "{err}"
            );
            assert!(err.contains("MiB of GPU buffers"), "{err}");
        };
        // Whole: one binding.
        assert!(check(&plan("w", MIB, Access::Whole)).is_ok());
        refused(&plan("w", MIB + 4, Access::Whole), "w", "bound whole");
        // Rows: only the buffer limit.
        assert!(check(&plan("r", 4 * MIB, Access::Rows)).is_ok());
        refused(
            &plan("r", 4 * MIB + 4, Access::Rows),
            "r",
            "buffer-size limit",
        );
        // Gather: two windows, the first ending on a whole row (12-byte rows: 1 048 320 bytes).
        let two = 1_048_320 + MIB;
        assert!(check(&plan("g", two, Access::Gather { row: 3 })).is_ok());
        refused(
            &plan("g", two + 12, Access::Gather { row: 3 }),
            "g",
            "2 bindings",
        );
        // Blocks: each block whole, the buffer in rows.
        let blocks = Access::Blocks {
            block: (MIB / 4) as usize,
        };
        assert!(check(&plan("z", 3 * MIB, blocks)).is_ok());
        let big_blocks = Access::Blocks {
            block: (MIB / 4) as usize + 1,
        };
        refused(&plan("z", 3 * MIB, big_blocks), "z", "blocks");
    }
}
