//! One graph made ready for the engine ([`Prepared`], [`TrainInputs`]), and [`Trainer`],
//! which feeds the engine one step at a time: host negatives where the GPU cannot draw them,
//! submission without waiting, backpressure through the loss ring, the losses read back.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::TrainConfig;
use super::engine::{self, CsrRef, Engine, Negatives, PositiveTables, loss_index};
use super::readback::LossReader;
use crate::gpu::{GpuContext, GpuResult};

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
