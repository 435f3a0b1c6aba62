//! Training: the GPU [`engine`] (buffers + recorded epoch), the asynchronous loss
//! [`readback`], and [`Trainer`], which feeds the engine one epoch at a time and evaluates.
//! Negative pairs are drawn on the GPU (`kernels::negatives`: an epoch then uploads only its
//! clock); graphs where more than half of all pairs are training edges sample them on the CPU
//! instead (`TrainInputs::sample_negatives`, the free-list sampler) while the GPU runs the
//! previous epoch.

pub mod engine;
pub mod fit;
pub mod layerwise;
pub mod minibatch;
pub mod readback;
pub mod replay;
pub mod schedule;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::gpu::{GpuContext, GpuResult};
use crate::model::{Arch, ModelKind};
use engine::{
    Alternation, CsrRef, Engine, EngineConfig, Negatives, Noise, PositiveTables, loss_index,
};
use readback::LossReader;

/// Hyperparameters; defaults follow the reference ARGVA recipe (see `--help`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub model: ModelKind,
    pub epochs: u32,
    pub latent: usize,
    pub hidden: usize,
    pub disc_hidden: usize,
    pub disc_steps: usize,
    pub lr: f32,
    pub disc_lr: f32,
    pub seed: u64,
    pub recon: engine::Recon,
    /// Row-normalise the features (PyG's NormalizeFeatures) before training. Off by default:
    /// on Cora it costs ARGVA ~0.25 test AUC (measured, also in PyG itself: README).
    #[serde(default)]
    pub normalize_features: bool,
    /// Whose recipe the epoch follows: PyG's (the default) or the original paper code's.
    #[serde(default)]
    pub recipe: Recipe,
    /// Paper recipe, ARGA: keep H1's noise in the evaluation forward too, as the original
    /// code does (it has no training flag); off: the embedding is noise-free.
    #[serde(default)]
    pub eval_noise: bool,
}

/// Whose training recipe a run follows (`--recipe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Recipe {
    /// PyTorch Geometric's ARGVA example: one encoder step per epoch on reg + recon + KL/N
    /// after K discriminator steps.
    #[default]
    Pyg,
    /// The original ARGA/ARVGA TensorFlow code (GAE/VGAE: Kipf's): bias-free Glorot GCN,
    /// the dense N² loss, 5 reconstruction steps, 1 discriminator step and 1 generator step
    /// per iteration, ARGA's noise on H1 (docs/reproduce.md).
    Paper,
}

/// The paper recipe's reconstruction steps per iteration (ARGA/ARVGA; GAE/VGAE take one).
pub const PAPER_RECON_STEPS: usize = 5;
/// The standard deviation of the original ARGA code's noise on H1.
pub const PAPER_ARGA_NOISE: f32 = 0.1;

impl TrainConfig {
    /// The model these hyperparameters train on a graph with `features` input features.
    pub fn arch(&self, features: usize) -> Arch {
        let paper = self.recipe == Recipe::Paper;
        Arch {
            kind: self.model,
            features,
            hidden: self.hidden,
            latent: self.latent,
            disc_hidden: self.disc_hidden,
            // The original discriminator is hidden2 → hidden3 → hidden1 → 1: its second
            // layer is as wide as the encoder's hidden layer.
            disc_hidden2: paper.then_some(self.hidden),
            encoder_bias: !paper,
        }
    }

    /// How the engine alternates its steps under this recipe.
    /// What the engine bakes in: these settings, `num_pos` positives (and as many
    /// negatives) per epoch, GPU noise from the run's seed.
    pub fn engine_config(&self, num_pos: usize, negatives: Negatives) -> EngineConfig {
        EngineConfig {
            lr_encoder: self.lr,
            lr_discriminator: self.disc_lr,
            disc_steps: self.disc_steps,
            num_pos,
            num_neg: num_pos,
            noise: Noise::Gpu { seed: self.seed },
            recon: self.recon,
            negatives,
            alternation: self.alternation(),
        }
    }

    pub fn alternation(&self) -> Alternation {
        match self.recipe {
            Recipe::Pyg => Alternation::Joint,
            Recipe::Paper => Alternation::Paper {
                recon_steps: if self.model.adversarial() {
                    PAPER_RECON_STEPS
                } else {
                    1
                },
                // (the original code's generator optimiser uses the discriminator's rate)
                lr_generator: self.disc_lr,
                hidden_noise: if self.model == ModelKind::Arga {
                    PAPER_ARGA_NOISE
                } else {
                    0.0
                },
                eval_noise: self.eval_noise,
            },
        }
    }

    /// The initial parameters this recipe draws.
    pub fn init_params(&self, arch: &Arch) -> (Vec<f32>, Vec<f32>) {
        match self.recipe {
            Recipe::Pyg => crate::model::init_params(arch, self.seed),
            Recipe::Paper => crate::model::init_params_paper(arch, self.seed),
        }
    }
}

impl TrainConfig {
    /// The reference recipe: one source for [`Default`], the CLI's flag defaults and the
    /// browser page's.
    pub const DEFAULT: TrainConfig = TrainConfig {
        model: ModelKind::Argva,
        epochs: 200,
        latent: 32,
        hidden: 64,
        disc_hidden: 64,
        disc_steps: 5,
        lr: 0.005,
        disc_lr: 0.001,
        seed: 0,
        recon: engine::Recon::Sampled,
        normalize_features: false,
        recipe: Recipe::Pyg,
        eval_noise: false,
    };

    /// The original code's settings for `model` (docs/reproduce.md): ARGA/ARVGA as Pan et
    /// al.'s `settings.py` (hidden 32, embedding 32, discriminator 64 → 32, learning rates
    /// 5·10⁻⁴ and 10⁻³, one discriminator step), GAE/VGAE as Kipf's `gae` (hidden 32,
    /// embedding 16, learning rate 0.01); 200 iterations, the dense loss, ARGA's noisy
    /// evaluation kept.
    pub fn paper(model: ModelKind) -> TrainConfig {
        let adversarial = model.adversarial();
        TrainConfig {
            model,
            epochs: 200,
            latent: if adversarial { 32 } else { 16 },
            hidden: 32,
            disc_hidden: 64,
            disc_steps: 1,
            lr: if adversarial { 5e-4 } else { 0.01 },
            disc_lr: 1e-3,
            recon: engine::Recon::Dense,
            recipe: Recipe::Paper,
            eval_noise: true,
            ..TrainConfig::DEFAULT
        }
    }
}

/// The settings a run asks for beyond its recipe: each one given replaces the recipe's
/// (`argva train`'s flags, `argva.fit`'s keyword arguments).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Overrides {
    pub epochs: Option<u32>,
    pub latent: Option<usize>,
    /// Default: 2 × latent under the pyg recipe, the recipe's own width under the paper's.
    pub hidden: Option<usize>,
    pub disc_hidden: Option<usize>,
    pub disc_steps: Option<usize>,
    pub lr: Option<f32>,
    pub disc_lr: Option<f32>,
    pub recon: Option<engine::Recon>,
    pub eval_noise: Option<bool>,
}

impl TrainConfig {
    /// The recipe's settings for `model` (the defaults of every flag).
    pub fn recipe(recipe: Recipe, model: ModelKind) -> TrainConfig {
        match recipe {
            Recipe::Pyg => TrainConfig {
                model,
                ..TrainConfig::DEFAULT
            },
            Recipe::Paper => TrainConfig::paper(model),
        }
    }

    /// `recipe`'s settings for `model` with every override given taking over: the one place
    /// the CLI and the Python module resolve what a run trains with.
    pub fn resolve(recipe: Recipe, model: ModelKind, seed: u64, o: &Overrides) -> TrainConfig {
        let base = TrainConfig::recipe(recipe, model);
        let latent = o.latent.unwrap_or(base.latent);
        let hidden = match recipe {
            Recipe::Pyg => 2 * latent,
            Recipe::Paper => base.hidden,
        };
        TrainConfig {
            epochs: o.epochs.unwrap_or(base.epochs),
            latent,
            hidden: o.hidden.unwrap_or(hidden),
            disc_hidden: o.disc_hidden.unwrap_or(base.disc_hidden),
            disc_steps: o.disc_steps.unwrap_or(base.disc_steps),
            lr: o.lr.unwrap_or(base.lr),
            disc_lr: o.disc_lr.unwrap_or(base.disc_lr),
            seed,
            recon: o.recon.unwrap_or(base.recon),
            eval_noise: o.eval_noise.unwrap_or(base.eval_noise),
            ..base
        }
    }
}

impl TrainConfig {
    /// Refuses hyperparameters no run can use, naming the CLI flag (the browser page's
    /// options have the same names).
    pub fn check(&self) -> Result<(), String> {
        if self.latent == 0 || self.hidden == 0 || self.disc_hidden == 0 {
            return Err("--latent, --hidden and --disc-hidden must be at least 1".into());
        }
        for (flag, v) in [("--lr", self.lr), ("--disc-lr", self.disc_lr)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{flag} must be a positive number, got {v}"));
            }
        }
        if self.model.adversarial() && self.disc_steps == 0 {
            return Err(format!(
                "--disc-steps 0 would never train {}'s discriminator, so its regulariser would \
                 score z against random weights; give at least 1 step, or train {} (no \
                 discriminator) instead",
                self.model.name(),
                if self.model.variational() {
                    "vgae"
                } else {
                    "gae"
                }
            ));
        }
        Ok(())
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// What training needs from a prepared graph: features, the GCN operator over the training
/// message edges, and the training positives (each undirected edge once, i < j).
pub struct TrainInputs<'a> {
    pub features: CsrRef<'a>,
    pub adjacency: CsrRef<'a>,
    pub train_pos: &'a [[u32; 2]],
    /// Returns `count` negative pairs for an epoch (never a training edge or a self-loop):
    /// used only on graphs too dense for the GPU draw (see the module docs).
    pub sample_negatives: &'a SampleNegatives<'a>,
}

impl<'a> From<&'a crate::data::Csr> for CsrRef<'a> {
    fn from(c: &'a crate::data::Csr) -> Self {
        CsrRef {
            row_ptr: &c.row_ptr,
            col: &c.col,
            val: &c.val,
            cols: c.cols,
        }
    }
}

/// Draws an epoch's negative pairs.
pub type SampleNegatives<'a> = dyn Fn(&mut ChaCha8Rng, usize) -> Vec<[u32; 2]> + 'a;

/// A graph made ready for the engine: its features (row-normalised on request) and the GCN
/// operator Â over the given message edges.
pub struct Prepared {
    pub features: crate::data::Csr,
    pub adjacency: crate::data::Csr,
}

impl Prepared {
    pub fn new(
        graph: &crate::data::Graph,
        message_edges: &[[u32; 2]],
        normalize_features: bool,
    ) -> Self {
        let mut features = graph.features.clone();
        if normalize_features {
            features.row_normalize();
        }
        let adjacency = crate::data::gcn_norm(graph.num_nodes, message_edges);
        Self {
            features,
            adjacency,
        }
    }

    pub fn inputs<'a>(
        &'a self,
        train_pos: &'a [[u32; 2]],
        sample_negatives: &'a SampleNegatives<'a>,
    ) -> TrainInputs<'a> {
        TrainInputs {
            features: (&self.features).into(),
            adjacency: (&self.adjacency).into(),
            train_pos,
            sample_negatives,
        }
    }
}

/// Loss scalars of one epoch, as read back from the GPU.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EpochLosses {
    pub epoch: u32,
    pub recon: f32,
    pub reg: f32,
    pub kl: f32,
    /// Mean of the discriminator's K step losses.
    pub disc: f32,
    /// reg + recon + KL/N, what the encoder step minimises.
    pub total: f32,
}

impl EpochLosses {
    /// Decodes the loss buffer (`engine::loss_index`) of an epoch over `n` nodes with `k`
    /// discriminator steps.
    pub fn of(epoch: u32, v: &[f32], k: usize, n: usize) -> EpochLosses {
        let disc = if k > 0 {
            v[loss_index::DISC..loss_index::DISC + k]
                .iter()
                .sum::<f32>()
                / k as f32
        } else {
            0.0
        };
        let (reg, recon, kl) = (v[loss_index::REG], v[loss_index::RECON], v[loss_index::KL]);
        EpochLosses {
            epoch,
            recon,
            reg,
            kl,
            disc,
            total: reg + recon + kl / n as f32,
        }
    }
}

/// Queues the engine's step as epoch (full batch) or step (mini-batch) `index`, its losses
/// copied into `reader`'s next entry; returns without waiting.
pub fn queue_step(
    ctx: &GpuContext,
    engine: &Engine,
    reader: &mut LossReader,
    index: u32,
) -> GpuResult<()> {
    engine.write_clock(ctx, index)?;
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("epoch"),
        });
    engine.step.encode(&mut encoder);
    let entry = reader.record_copy(&mut encoder, &engine.buffers.losses.buffer);
    let submission = ctx.queue.submit([encoder.finish()]);
    reader.submitted(index, entry, submission);
    Ok(())
}

pub struct Trainer {
    pub engine: Engine,
    reader: LossReader,
    /// Host negatives of epoch e come from stream e of this seed: a pure function of (seed,
    /// epoch), like the GPU's ε, z′ and negatives, so a resumed run draws what an
    /// uninterrupted one would.
    negative_seed: u64,
    next_epoch: u32,
    /// This epoch's pair list, positives first (kept: only the negatives are rewritten).
    pairs: Vec<u32>,
    num_pos_flat: usize,
}

impl Trainer {
    pub fn new(ctx: &GpuContext, cfg: &TrainConfig, inputs: &TrainInputs<'_>) -> GpuResult<Self> {
        let arch = cfg.arch(inputs.features.cols);
        let (enc, dis) = cfg.init_params(&arch);
        let n = inputs.features.row_ptr.len().saturating_sub(1);
        // GPU negatives (key = the run's seed) wherever at least half of all pairs are free.
        let tables = match cfg.recon {
            engine::Recon::Sampled => Some(PositiveTables::new(n, inputs.train_pos)?),
            engine::Recon::Dense => None,
        }
        .filter(PositiveTables::gpu_sampling);
        let negatives = if tables.is_some() {
            Negatives::Gpu { seed: cfg.seed }
        } else {
            Negatives::Host
        };
        let engine_cfg = cfg.engine_config(inputs.train_pos.len(), negatives);
        let engine = Engine::new(
            ctx,
            arch,
            engine_cfg,
            inputs.features,
            inputs.adjacency,
            &enc,
            &dis,
        )?;
        if let Some(tables) = &tables {
            engine.set_positives(ctx, tables)?;
        }
        let reader = LossReader::new(ctx, engine.buffers.losses.len());
        Ok(Self {
            engine,
            reader,
            negative_seed: cfg.seed ^ 0x6e65_6761_7469_7665,
            next_epoch: 0,
            pairs: inputs.train_pos.iter().flat_map(|p| [p[0], p[1]]).collect(),
            num_pos_flat: 2 * inputs.train_pos.len(),
        })
    }

    /// Queues the epoch (host negatives: samples and uploads them first) and returns without
    /// waiting, unless `RING` epochs are already in flight (then it returns `false` and the
    /// caller collects).
    pub fn try_submit(&mut self, ctx: &GpuContext, inputs: &TrainInputs<'_>) -> GpuResult<bool> {
        if self.reader.is_full() {
            return Ok(false);
        }
        if self.engine.cfg.recon == engine::Recon::Sampled
            && self.engine.cfg.negatives == Negatives::Host
        {
            // Sampled on the CPU while the GPU runs the epochs already queued.
            let mut rng = ChaCha8Rng::seed_from_u64(self.negative_seed);
            rng.set_stream(self.next_epoch as u64);
            let neg = (inputs.sample_negatives)(&mut rng, inputs.train_pos.len());
            self.pairs.truncate(self.num_pos_flat);
            self.pairs.extend(neg.iter().flat_map(|p| [p[0], p[1]]));
            self.engine.set_pairs(ctx, &self.pairs)?;
        }
        queue_step(ctx, &self.engine, &mut self.reader, self.next_epoch)?;
        self.next_epoch += 1;
        Ok(true)
    }

    /// Loss rows of finished epochs (oldest first), without waiting.
    pub fn collect(&mut self, ctx: &GpuContext) -> Vec<Result<EpochLosses, String>> {
        let rows = self.reader.collect(ctx, false);
        self.losses(rows)
    }

    /// The losses of the oldest epoch in flight (and of any finished after it), waiting for
    /// the GPU ([`LossReader::collect_oldest`]).
    pub async fn collect_oldest(&mut self, ctx: &GpuContext) -> Vec<Result<EpochLosses, String>> {
        let rows = self.reader.collect_oldest(ctx).await;
        self.losses(rows)
    }

    fn losses(
        &self,
        rows: Vec<(u32, Result<Vec<f32>, String>)>,
    ) -> Vec<Result<EpochLosses, String>> {
        let (k, n) = (self.engine.disc_steps(), self.engine.n);
        rows.into_iter()
            .map(|(epoch, r)| r.map(|v| EpochLosses::of(epoch, &v, k, n)))
            .collect()
    }

    /// Continues from a checkpoint: its parameters, Adam moments and epoch count.
    pub fn restore(
        &mut self,
        ctx: &GpuContext,
        state: &engine::EngineState,
        epochs_done: u32,
    ) -> GpuResult<()> {
        self.engine.write_state(ctx, state)?;
        self.next_epoch = epochs_done;
        Ok(())
    }

    pub fn in_flight(&self) -> usize {
        self.reader.pending()
    }

    pub fn epochs_submitted(&self) -> u32 {
        self.next_epoch
    }

    /// Runs the encoder forward with the current parameters and returns the embedding users
    /// keep: μ (variational) or z (GAE/ARGA), N×d row-major.
    pub async fn encode(&self, ctx: &GpuContext) -> GpuResult<Vec<f32>> {
        self.engine.encode.submit(ctx);
        self.engine.embedding(ctx).await
    }
}
