//! The GPU training engine: every buffer of a model allocated once, every kernel of an
//! epoch bound once into a [`Schedule`], and an epoch = one command buffer submitted
//! without waiting. The host writes only the clock per epoch (with host negatives, also the
//! epoch's pair list and slot index; GPU negatives draw them in the epoch, see
//! `kernels::negatives`).
//!
//! Buffer and formula names follow `docs/argva-math.md` (a copy of the design note):
//! encoder P1 = X·W1, H1 = ReLU(Â·P1 + b1), Q = H1·W_head, head = Â·Q + b_head
//! (head = [μ | ℓ̃] for VGAE/ARGVA, z for GAE/ARGA); z = μ + ε·exp(min(ℓ̃, 10)).
//! The discriminator sees 2N-row batches `[z ; z′_k]` (fake rows first) in one fused launch
//! per step (`kernels::disc_fused`) that draws z′_k itself from the counter-based generator,
//! so no z′ is stored; its per-workgroup partial sums are finished by the step's Adam launch.
//! ε is drawn by the reparameterisation launch. Launches are fused where a pass over memory
//! can carry more work (see docs/performance.md): ReLU backward rides on the matmul that
//! makes the gradient, the reconstruction and KL sums share a launch.
//! Arrays past one storage binding are bound in row chunks or windows (`Access`, and
//! `src/gpu/window.rs`); when everything fits, each launch runs once over all rows.

mod plan;
mod record;

pub use crate::kernels::negatives::PositiveTables;
pub use plan::{Access, BufferSizes, Planned, binding_mismatches, buffer_plan, check_plan};
pub use record::{AdamBuffers, Buffers, Operator};

use crate::gpu::{GpuContext, GpuError, GpuResult};
use crate::model::{Arch, ParamLayout};

use super::schedule::{Gradients, Schedule};
use record::Recorder;

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
    /// Where the sampled loss's negatives come from (unused by the dense loss).
    pub negatives: Negatives,
    /// How an epoch alternates the encoder and the discriminator.
    pub alternation: Alternation,
}

/// How an epoch alternates the encoder's and the discriminator's steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Alternation {
    /// PyG's ARGVA example, argva's default: encode once, K discriminator steps on z
    /// detached, one encoder step on reg + recon + KL/N.
    Joint,
    /// The original ARGA code's iteration (`docs/reproduce.md`): `recon_steps` encoder steps
    /// on recon (+ KL/N); K discriminator steps; for adversarial models one generator step on
    /// the GAN loss (+ recon for ARGA; alone for ARGVA) at `lr_generator`, with Adam moments of
    /// its own. Every step runs its own encoder forward with fresh ε. `hidden_noise` > 0 adds
    /// N(0, hidden_noise²) to H1 in every training forward, and in the evaluation forward too
    /// when `eval_noise` (the original code's behaviour).
    Paper {
        recon_steps: usize,
        lr_generator: f32,
        hidden_noise: f32,
        eval_noise: bool,
    },
}

impl Alternation {
    /// Whether the epoch trains a generator step with Adam moments of its own.
    pub fn generator_moments(&self, arch: &Arch) -> bool {
        matches!(self, Alternation::Paper { .. }) && arch.kind.adversarial()
    }

    /// The standard deviation of the noise on H1 (0: none).
    pub fn hidden_noise(&self) -> f32 {
        match *self {
            Alternation::Paper { hidden_noise, .. } => hidden_noise,
            Alternation::Joint => 0.0,
        }
    }
}

/// Where the sampled reconstruction loss's negative pairs come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Negatives {
    /// Drawn on the GPU every epoch as a pure function of (seed, epoch), with the slot lists
    /// built there too (`kernels::negatives`); the positives are uploaded once
    /// ([`Engine::set_positives`]) and an epoch uploads only the clock.
    Gpu { seed: u64 },
    /// The host writes each epoch's whole pair list ([`Engine::set_pairs`]): tests, golden
    /// replays, and graphs too dense for the GPU draw (the host's free-list sampler).
    Host,
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
    /// The paper alternation's generator step: its own Adam moments for the encoder (empty
    /// otherwise).
    pub generator_adam: (Vec<f32>, Vec<f32>),
}

/// What a step hands its gradients to at each exchange point ([`Engine::run_step_exchanging`]):
/// whose they are and their values; it returns the values to train on (a distributed step:
/// the ranks' mean), or why it could not.
pub type Exchange<'a> = dyn FnMut(Gradients, Vec<f32>) -> Result<Vec<f32>, String> + 'a;

/// Where each loss sits in the loss buffer (read back asynchronously for the progress display).
pub mod loss_index {
    pub const REG: usize = 0;
    pub const RECON: usize = 1;
    pub const KL: usize = 2;
    /// Discriminator step k writes DISC + k.
    pub const DISC: usize = 3;
}

/// RNG streams: ε uses stream 0, discriminator step k's z′ uses stream 1 + k.
const STREAM_EPS: u32 = 0;
/// Paper alternation: the forward of pass p of an epoch (recon steps, then the discriminator's,
/// then the generator's) draws ε from stream `STREAM_PASS_EPS + p` and H1's noise from
/// `STREAM_PASS_NOISE + p`; the evaluation forward's noise is `STREAM_EVAL_NOISE`.
pub const STREAM_PASS_EPS: u32 = 0x100;
pub const STREAM_PASS_NOISE: u32 = 0x200;
pub const STREAM_EVAL_NOISE: u32 = 0x2FF;

pub struct Engine {
    pub arch: Arch,
    pub cfg: EngineConfig,
    pub n: usize,
    pub enc_layout: ParamLayout,
    pub dis_layout: ParamLayout,
    /// Every buffer the schedules bind, allocated once (see [`BufferSizes`]).
    pub buffers: Buffers,
    /// One optimisation step: an epoch of full-batch training, a batch's step of mini-batch
    /// training (its clock: the epoch or the step index).
    pub step: Schedule,
    /// The encoder forward alone (evaluation: μ, or z for GAE/ARGA, from current parameters).
    pub encode: Schedule,
    /// A mini-batch engine's room ([`Self::with_capacity`]); `None` for one graph.
    pub capacity: Option<Capacity>,
    /// Whether `step` stops at each Adam launch for its gradients to be exchanged
    /// ([`Self::exchange_gradients`]).
    exchanges: bool,
}

/// The largest batch a mini-batch engine is allocated for ([`Engine::with_capacity`]): the
/// sizes the partition bounds every batch by, one type for both.
pub type Capacity = crate::data::cluster::BatchBounds;

impl Capacity {
    /// GPU bytes of a mini-batch engine with this room ([`Engine::with_capacity`]'s plan).
    pub fn bytes(&self, arch: &Arch, cfg: &EngineConfig) -> u64 {
        self.sizes(arch, cfg).total_bytes()
    }

    fn sizes(&self, arch: &Arch, cfg: &EngineConfig) -> BufferSizes {
        let cfg = EngineConfig {
            num_pos: self.positives,
            num_neg: self.positives,
            ..*cfg
        };
        BufferSizes::new(arch, &cfg, self.nodes, self.feature_nnz, self.adjacency_nnz)
    }

    /// Whether `ctx`'s device can bind every buffer of this room (`check_plan`'s refusal)
    /// and run its loops (a driver's loop cap, `check_loops`): the sizes the mini-batch
    /// planner and the full-batch question both ask about.
    pub fn check(&self, arch: &Arch, cfg: &EngineConfig, ctx: &GpuContext) -> GpuResult<()> {
        check_device(&self.sizes(arch, cfg), ctx)?;
        check_loops(ctx, arch, self.nodes)
    }
}

/// Refuses a graph whose kernels would loop past the driver's cap (`gpu::loop_probe`): the
/// longest loops walk all `n` rows (the weight gradients Xᵀ·G and Hᵀ·G, a feature's column of
/// Xᵀ), a row of the features, or, in a discriminator step, a workgroup's share of the batch's
/// tiles; a node's neighbours and pairs are fewer than `n` on any graph a split can sample.
fn check_loops(ctx: &GpuContext, arch: &Arch, n: usize) -> GpuResult<()> {
    use crate::kernels::disc_fused::{self, Batch, Mlp, Room};
    let Some(cap) = ctx.summary.loop_cap else {
        return Ok(());
    };
    let mut longest = vec![
        (
            n,
            format!("a weight gradient sums over all {n} rows in one invocation"),
        ),
        (
            arch.features,
            format!("a product sums over all {} feature columns", arch.features),
        ),
    ];
    if arch.kind.adversarial() {
        let mlp = Mlp::of(&ParamLayout::discriminator(arch));
        let groups = disc_fused::partial_rows(&mlp, Batch::step(n), Room::of(ctx))?;
        let steps = disc_fused::loop_iterations(&mlp, Batch::step(n), groups)?;
        longest.push((
            steps,
            format!(
                "the discriminator's step over {} rows walks its tiles in {groups} workgroups",
                2 * n
            ),
        ));
    }
    let (needed, why) = longest
        .into_iter()
        .max_by_key(|(k, _)| *k)
        .unwrap_or_default();
    crate::gpu::LoopCap::check(Some(cap), ctx, needed, &why)
}

/// Refuses a plan the device cannot hold or bind, before anything is allocated.
fn check_device(sizes: &BufferSizes, ctx: &GpuContext) -> GpuResult<()> {
    check_plan(
        &sizes.all().into_iter().cloned().collect::<Vec<_>>(),
        ctx.max_binding_bytes(),
        ctx.limits.min_storage_buffer_offset_alignment as u64,
        ctx.max_buffer_bytes(),
    )
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
        if features.cols != arch.features {
            return Err(GpuError::SizeMismatch {
                what: "feature columns vs the model's input width".into(),
                expected: arch.features,
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
        let nnz = (features.col.len(), adjacency.col.len());
        let operators = Some((features, adjacency));
        let mut engine = Self::build(ctx, arch, cfg, n, nnz, operators, (enc_init, dis_init))?;
        engine.record(ctx)?;
        Ok(engine)
    }

    /// A mini-batch engine: every buffer allocated once for the largest batch `cap` (which
    /// `check_plan` refuses up front when the device cannot hold it), the operators empty
    /// until [`Self::load_batch`]. Sampled loss with GPU negatives only: `cfg.num_pos` and
    /// `num_neg` are taken from `cap`.
    pub fn with_capacity(
        ctx: &GpuContext,
        arch: Arch,
        mut cfg: EngineConfig,
        cap: Capacity,
        enc_init: &[f32],
        dis_init: &[f32],
    ) -> GpuResult<Self> {
        if cfg.recon != Recon::Sampled || !matches!(cfg.negatives, Negatives::Gpu { .. }) {
            return Err(GpuError::InvalidArgument {
                what: "mini-batch engine".into(),
                message: "batches train the sampled reconstruction loss with negatives drawn \
                          on the GPU (not --recon dense)"
                    .into(),
            });
        }
        (cfg.num_pos, cfg.num_neg) = (cap.positives, cap.positives);
        let nnz = (cap.feature_nnz, cap.adjacency_nnz);
        let mut engine = Self::build(ctx, arch, cfg, cap.nodes, nnz, None, (enc_init, dis_init))?;
        engine.capacity = Some(cap);
        Ok(engine)
    }

    /// Plans, checks and allocates the buffers for `n` nodes (or at most `n`, without
    /// operators); the schedules are recorded by [`Self::record`].
    fn build(
        ctx: &GpuContext,
        arch: Arch,
        cfg: EngineConfig,
        n: usize,
        (feature_nnz, adjacency_nnz): (usize, usize),
        operators: Option<(CsrRef<'_>, CsrRef<'_>)>,
        (enc_init, dis_init): (&[f32], &[f32]),
    ) -> GpuResult<Self> {
        if arch.kind.adversarial() {
            // A discriminator too wide for the fused kernel's tile is refused up front.
            let mlp = crate::kernels::disc_fused::Mlp::of(&ParamLayout::discriminator(&arch));
            crate::kernels::disc_fused::tile_rows(&mlp)?;
        }
        // Refuse a graph the device cannot hold before allocating anything.
        let sizes = BufferSizes::new(&arch, &cfg, n, feature_nnz, adjacency_nnz);
        check_device(&sizes, ctx)?;
        check_loops(ctx, &arch, n)?;
        let enc_layout = ParamLayout::encoder(&arch);
        let dis_layout = ParamLayout::discriminator(&arch);
        for (what, init, layout) in [
            ("encoder parameters", enc_init, &enc_layout),
            ("discriminator parameters", dis_init, &dis_layout),
        ] {
            if init.len() != layout.len {
                return Err(GpuError::SizeMismatch {
                    what: what.into(),
                    expected: layout.len,
                    got: init.len(),
                });
            }
        }
        let buffers = Buffers::allocate(ctx, &sizes, operators, enc_init, dis_init)?;
        Ok(Self {
            arch,
            cfg,
            n,
            enc_layout,
            dis_layout,
            buffers,
            step: Schedule::default(),
            encode: Schedule::default(),
            capacity: None,
            exchanges: false,
        })
    }

    /// Binds every launch of the epoch and of the encoder forward for the current `n`.
    fn record(&mut self, ctx: &GpuContext) -> GpuResult<()> {
        let layouts = (&self.enc_layout, &self.dis_layout);
        let (b, arch, cfg, n) = (&self.buffers, self.arch, self.cfg, self.n);
        let recorder = Recorder::new(ctx, b, arch, cfg, layouts, n, self.exchanges);
        (self.step, self.encode) = recorder.epoch()?;
        Ok(())
    }

    /// Records the step anew so that it stops where each gradient is complete, before its
    /// Adam launch (the discriminator's are first finished from their partial sums by a launch
    /// of their own): [`Self::run_step_exchanging`] then hands each gradient to the caller —
    /// a distributed step sums them over ranks there. The pyg alternation only.
    pub fn exchange_gradients(&mut self, ctx: &GpuContext) -> GpuResult<()> {
        if self.cfg.alternation != Alternation::Joint {
            return Err(GpuError::InvalidArgument {
                what: "exchanging gradients".into(),
                message: "the pyg recipe's alternation only (not --recipe paper)".into(),
            });
        }
        self.exchanges = true;
        self.record(ctx)
    }

    /// Runs step `index` (its clock) in segments: at each exchange point the gradients just
    /// written are read back, given to `exchange` with whose they are, and what it returns is
    /// written in their place before the Adam launch reads them. Returns the step's loss
    /// buffer. Waits on the GPU at every exchange point.
    pub async fn run_step_exchanging(
        &self,
        ctx: &GpuContext,
        index: u32,
        exchange: &mut Exchange<'_>,
    ) -> GpuResult<Vec<f32>> {
        self.write_clock(ctx, index)?;
        let mut start = 0;
        let ends = self.step.exchanges.iter().map(|&(at, g)| (at, Some(g)));
        for (end, whose) in ends.chain([(self.step.steps.len(), None)]) {
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            self.step.encode_range(&mut encoder, start..end);
            ctx.queue.submit([encoder.finish()]);
            start = end;
            let Some(whose) = whose else { break };
            let grads = match whose {
                Gradients::Encoder => &self.buffers.enc_adam.grads,
                Gradients::Discriminator => &self.buffers.dis_adam.grads,
            };
            let mine = grads.read(ctx).await?;
            let len = mine.len();
            let summed = exchange(whose, mine).map_err(|message| GpuError::InvalidArgument {
                what: "exchanging gradients".into(),
                message,
            })?;
            if summed.len() != len {
                return Err(GpuError::SizeMismatch {
                    what: format!("the exchanged {whose:?} gradients"),
                    expected: len,
                    got: summed.len(),
                });
            }
            grads.write(ctx, &summed)?;
        }
        self.buffers.losses.read(ctx).await
    }

    /// Makes a mini-batch engine ([`Self::with_capacity`]) train on one batch: its features,
    /// Â and training positives are written over the previous batch's, and the schedules
    /// rebound for its size. Queued like every upload: safe while earlier steps run.
    pub fn load_batch(
        &mut self,
        ctx: &GpuContext,
        features: CsrRef<'_>,
        adjacency: CsrRef<'_>,
        tables: &PositiveTables,
    ) -> GpuResult<()> {
        let Some(cap) = self.capacity else {
            return Err(GpuError::InvalidArgument {
                what: "load_batch".into(),
                message: "the engine was built for one graph (Engine::new), not for batches".into(),
            });
        };
        let n = features.row_ptr.len().saturating_sub(1);
        let positives = tables.pairs.len() / 2;
        for (what, got, room) in [
            ("nodes", n, cap.nodes),
            ("feature non-zeros", features.col.len(), cap.feature_nnz),
            ("Â non-zeros", adjacency.col.len(), cap.adjacency_nnz),
            ("training positives", positives, cap.positives),
        ] {
            if got > room {
                return Err(GpuError::InvalidArgument {
                    what: "batch".into(),
                    message: format!("{got} {what}, the engine holds at most {room}"),
                });
            }
        }
        if features.cols != self.arch.features || adjacency.row_ptr.len() != n + 1 {
            return Err(GpuError::SizeMismatch {
                what: "batch: feature columns and Â rows".into(),
                expected: self.arch.features,
                got: features.cols,
            });
        }
        self.buffers.write_operators(ctx, features, adjacency)?;
        self.n = n;
        (self.cfg.num_pos, self.cfg.num_neg) = (positives, positives);
        self.set_positives(ctx, tables)?;
        self.record(ctx)
    }

    /// Writes this epoch's pair list (positives then negatives, flattened `i0 j0 i1 j1 …`)
    /// and its node-major slot index (host negatives only). Queued: safe to call while the
    /// previous epoch runs.
    pub fn set_pairs(&self, ctx: &GpuContext, pairs: &[u32]) -> GpuResult<()> {
        if matches!(self.cfg.negatives, Negatives::Gpu { .. }) {
            return Err(GpuError::InvalidArgument {
                what: "host pairs".into(),
                message: "the engine draws its negatives on the GPU (Negatives::Gpu): \
                          upload the positives once with set_positives"
                    .into(),
            });
        }
        let (ptr, slots) = crate::kernels::decoder::pair_slots(self.n, pairs)?;
        self.buffers.pairs.write(ctx, pairs)?;
        self.buffers.slot_ptr.write(ctx, &ptr)?;
        self.buffers.slots.write(ctx, &slots)
    }

    /// Uploads the training positives once for GPU negatives: the head of the pair list, the
    /// symmetric CSR the draw tests membership in, and the static positive slot counts and
    /// ranks (`kernels::negatives`). Refuses graphs the GPU draw does not serve (no free
    /// pair, or more than half of all pairs training edges: use host negatives there).
    pub fn set_positives(
        &self,
        ctx: &GpuContext,
        tables: &crate::kernels::negatives::PositiveTables,
    ) -> GpuResult<()> {
        let what = |m: String| GpuError::InvalidArgument {
            what: "GPU negatives: positives".into(),
            message: m,
        };
        if !matches!(self.cfg.negatives, Negatives::Gpu { .. }) {
            return Err(what("the engine was built with host negatives".into()));
        }
        if tables.n != self.n || tables.pairs.len() != 2 * self.cfg.num_pos {
            return Err(what(format!(
                "tables for {} nodes and {} positives, the engine has {} and {}",
                tables.n,
                tables.pairs.len() / 2,
                self.n,
                self.cfg.num_pos
            )));
        }
        if !tables.gpu_sampling() {
            return Err(what(format!(
                "{} of the graph's unordered pairs are free: the GPU draw needs at least \
                 half (denser graphs sample on the host)",
                tables.free_pairs()
            )));
        }
        let b = &self.buffers;
        let up = |buf: &crate::gpu::GpuBuffer<u32>, data: &[u32]| {
            if !data.is_empty() {
                ctx.upload(&buf.buffer, 0, bytemuck::cast_slice(data));
            }
        };
        up(&b.pairs, &tables.pairs);
        up(&b.train_adj_ptr, &tables.adj_ptr);
        up(&b.train_adj_col, &tables.adj_col);
        up(&b.pos_rank, &tables.pos_rank);
        up(&b.node_counts, &tables.pos_count);
        Ok(())
    }

    /// Host-provided noise (tests replaying recorded draws): ε (N×d) and z′ for each
    /// discriminator step (K × N × d).
    pub fn set_host_noise(&self, ctx: &GpuContext, eps: &[f32], zprime: &[f32]) -> GpuResult<()> {
        if self.cfg.noise != Noise::Host {
            return Err(GpuError::InvalidArgument {
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
            ctx.upload(&self.buffers.eps.buffer, 0, bytemuck::cast_slice(eps));
        }
        if self.arch.kind.adversarial() {
            let want = self.cfg.disc_steps * nd;
            if zprime.len() != want {
                return Err(GpuError::SizeMismatch {
                    what: "host noise: z′ (K × N × d)".into(),
                    expected: want,
                    got: zprime.len(),
                });
            }
            // Draw k from row k·Np (binding offsets stay aligned).
            let stride = self.n.next_multiple_of(plan::ROW_ALIGN) * self.arch.latent;
            for (k, draw) in zprime.chunks(nd.max(1)).enumerate() {
                let offset = (k * stride * 4) as u64;
                ctx.upload(
                    &self.buffers.zprime.buffer,
                    offset,
                    bytemuck::cast_slice(draw),
                );
            }
        }
        Ok(())
    }

    /// Discriminator steps per epoch (0 without a discriminator).
    pub fn disc_steps(&self) -> usize {
        if self.arch.kind.adversarial() {
            self.cfg.disc_steps
        } else {
            0
        }
    }

    /// Sets the epoch index (0-based) the next submitted epoch runs as: it selects the RNG
    /// streams and Adam's step count.
    pub fn write_clock(&self, ctx: &GpuContext, index: u32) -> GpuResult<()> {
        self.buffers.clock.write(ctx, &[index, 0, 0, 0])
    }

    /// Queues step `index` (its clock) and returns at once; the losses stay on the device
    /// (`train::queue_step` also reads them back).
    pub fn submit_step(&self, ctx: &GpuContext, index: u32) -> GpuResult<wgpu::SubmissionIndex> {
        self.write_clock(ctx, index)?;
        Ok(self.step.submit(ctx))
    }

    /// The embedding users keep: μ (variational) or z, N×d row-major.
    pub async fn embedding(&self, ctx: &GpuContext) -> GpuResult<Vec<f32>> {
        let (n, d, w) = (self.n, self.arch.latent, self.arch.head_width());
        if self.arch.kind.variational() {
            // (a mini-batch engine's buffer has room past the batch's n rows)
            let head = &self.buffers.head.buffer;
            let head = crate::gpu::buffer::read_buffer(ctx, head, n * w, "head").await?;
            Ok(head.chunks(w).flat_map(|row| row[..d].to_vec()).collect())
        } else {
            crate::gpu::buffer::read_buffer(ctx, &self.buffers.z.buffer, n * d, "z").await
        }
    }

    /// The gradients of the last encoder and discriminator steps (tests, diagnostics).
    pub async fn read_grads(&self, ctx: &GpuContext) -> GpuResult<(Vec<f32>, Vec<f32>)> {
        Ok((
            self.buffers.enc_adam.grads.read(ctx).await?,
            self.buffers.dis_adam.grads.read(ctx).await?,
        ))
    }

    /// Parameters and Adam moments, read back for a checkpoint.
    pub async fn read_state(&self, ctx: &GpuContext) -> GpuResult<EngineState> {
        // GAE/VGAE have no discriminator: its part of the state is empty.
        let (discriminator, discriminator_adam) = if self.arch.kind.adversarial() {
            (
                self.buffers.dis_params.read(ctx).await?,
                (
                    self.buffers.dis_adam.m.read(ctx).await?,
                    self.buffers.dis_adam.v.read(ctx).await?,
                ),
            )
        } else {
            (Vec::new(), (Vec::new(), Vec::new()))
        };
        let generator_adam = if self.cfg.alternation.generator_moments(&self.arch) {
            (
                self.buffers.gen_m.read(ctx).await?,
                self.buffers.gen_v.read(ctx).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(EngineState {
            encoder: self.buffers.enc_params.read(ctx).await?,
            discriminator,
            encoder_adam: (
                self.buffers.enc_adam.m.read(ctx).await?,
                self.buffers.enc_adam.v.read(ctx).await?,
            ),
            discriminator_adam,
            generator_adam,
        })
    }

    /// Restores parameters and Adam moments (resume from a checkpoint).
    pub fn write_state(&self, ctx: &GpuContext, st: &EngineState) -> GpuResult<()> {
        self.buffers.enc_params.write(ctx, &st.encoder)?;
        self.buffers.enc_adam.m.write(ctx, &st.encoder_adam.0)?;
        self.buffers.enc_adam.v.write(ctx, &st.encoder_adam.1)?;
        if self.arch.kind.adversarial() {
            self.buffers.dis_params.write(ctx, &st.discriminator)?;
            self.buffers
                .dis_adam
                .m
                .write(ctx, &st.discriminator_adam.0)?;
            self.buffers
                .dis_adam
                .v
                .write(ctx, &st.discriminator_adam.1)?;
        }
        if self.cfg.alternation.generator_moments(&self.arch) {
            self.buffers.gen_m.write(ctx, &st.generator_adam.0)?;
            self.buffers.gen_v.write(ctx, &st.generator_adam.1)?;
        }
        Ok(())
    }
}
