//! The job every front end runs: split a graph's edges, train on the GPU (the whole graph,
//! or mini-batches where it does not fit), evaluate, and hand back one report and the run
//! folder's files as bytes. One async entry, [`run`], that works natively and in a browser:
//! no flags, no files, no terminal, no blocking waits. The command line, the Python module
//! and the page own only their arguments, progress display and where the bytes go; what they
//! hear while it runs comes through [`RunHooks`].

mod artifacts;
mod embed;
mod error;
mod evaluate;
mod report;
mod settings;
mod strategy;

use std::ops::ControlFlow;

pub use artifacts::{Artifact, GraphNames};
pub use embed::embed_graph;
pub use error::{FeatureMismatch, RunError, error_line};
pub use evaluate::{Scores, evaluate};
pub use report::RunReport;
pub use settings::{RunOptions, RunSettings, Select, defaults};
pub use strategy::{DENSE_MAX_NODES, Strategy};

use crate::checkpoint::Checkpoint;
use crate::data::split::{LinkSplit, NegativeSampler, link_split};
use crate::data::{Graph, Summary};
use crate::gpu::{GpuContext, Stopwatch};
use crate::train::Prepared;
use crate::train::engine::EngineState;
use crate::train::fit::{Checkpointing, Event, FitError, FitResult, Validation, fit_async};
use crate::train::layerwise::{ChunkBudget, embed_layerwise};
use crate::train::minibatch::{BatchFit, fit_batches};

/// What a front end hears while a run goes on, and how it stops one.
pub trait RunHooks {
    /// Every training event (losses per epoch, validation scores, checkpoints due);
    /// `Break` stops the run at the next epoch boundary ([`RunError::Stopped`]).
    fn event(&mut self, _event: Event<'_>) -> ControlFlow<()> {
        ControlFlow::Continue(())
    }
    /// A checkpoint every `save_every` epochs: keep it (write it, hold its bytes). An error
    /// stops the run ([`RunError::Hook`]).
    fn checkpoint(&mut self, _checkpoint: &Checkpoint) -> Result<(), String> {
        Ok(())
    }
    /// A decision the caller should hear about (a fallback to mini-batches, and why).
    fn note(&mut self, _text: &str) {}
}

/// No hooks: run to the end in silence.
impl RunHooks for () {}

/// Hooks that only watch the events (a closure's `Break` stops the run).
pub struct OnEvent<F>(pub F);

impl<F: FnMut(Event<'_>) -> ControlFlow<()>> RunHooks for OnEvent<F> {
    fn event(&mut self, event: Event<'_>) -> ControlFlow<()> {
        (self.0)(event)
    }
}

/// A trained and evaluated run.
pub struct RunOutcome {
    pub report: RunReport,
    /// The kept embedding, N × d row-major (μ for VGAE/ARGVA, z for GAE/ARGA).
    pub embedding: Vec<f32>,
    /// Parameters and Adam state after the last epoch.
    pub state: EngineState,
    /// The edge split trained and evaluated on.
    pub split: LinkSplit,
}

impl RunOutcome {
    /// The trained model as a checkpoint (`model.safetensors`): resumable, embeddable.
    pub fn checkpoint(&self) -> Checkpoint {
        let cfg = &self.report.config;
        Checkpoint::new(
            cfg,
            self.report.graph.features,
            cfg.epochs,
            self.state.clone(),
        )
    }
}

/// Trains on `graph` under `settings` (from `resume`'s state and epoch count when given: its
/// hyperparameters, to `settings.cfg.epochs` in total), evaluates, and reports.
pub async fn run(
    ctx: &GpuContext,
    graph: &Graph,
    settings: &RunSettings,
    resume: Option<&Checkpoint>,
    hooks: &mut dyn RunHooks,
) -> Result<RunOutcome, RunError> {
    let clock = Stopwatch::start();
    settings.check()?;
    let s = &match resume {
        Some(ck) => RunSettings {
            cfg: settings.resumed_config(ck, graph)?,
            ..settings.clone()
        },
        None => settings.clone(),
    };
    // (a resumed run splits with its checkpoint's seed, as the run it continues did)
    let split = link_split(graph, s.val_frac, s.test_frac, s.cfg.seed)?;
    let prepared = Prepared::new(graph, &split.train_pos, s.cfg.normalize_features);
    let strategy = strategy::choose(ctx, s, &prepared, &split, resume.is_some(), hooks)?;
    let t = Stopwatch::start();
    let mut partition_s = 0.0;
    let (fit, batches) = match strategy {
        Strategy::FullBatch => {
            let fit = full_batch(ctx, s, &prepared, &split, resume, hooks).await?;
            (fit, None)
        }
        Strategy::MiniBatch(batches, took) => {
            partition_s = took;
            let trained = Batched {
                s,
                prepared: &prepared,
                split: &split,
                partition_s: took,
            };
            let (fit, b) = trained.fit(ctx, batches, hooks).await?;
            (fit, Some(b))
        }
    };
    let train_seconds = partition_s + t.seconds();
    let scores = evaluate(graph, &split, s, &fit.embedding)?;
    let report = RunReport {
        dataset: graph.name.clone(),
        adapter: ctx.summary.clone(),
        config: s.cfg.clone(),
        select: s.select,
        selected_epoch: fit.selected_epoch,
        graph: Summary::new(graph, Some(&split)),
        test: scores.test,
        val: scores.val,
        clustering: scores.clustering,
        wall_seconds: clock.seconds(),
        train_seconds,
        dispatches_per_epoch: fit.dispatches_per_epoch,
        history: fit.history,
        validation: fit.validation,
        batches,
    };
    Ok(RunOutcome {
        report,
        embedding: fit.embedding,
        state: fit.state,
        split,
    })
}

/// Full-batch training: every epoch on the whole training graph.
async fn full_batch(
    ctx: &GpuContext,
    s: &RunSettings,
    prepared: &Prepared,
    split: &LinkSplit,
    resume: Option<&Checkpoint>,
    hooks: &mut dyn RunHooks,
) -> Result<FitResult, RunError> {
    let (cfg, features) = (&s.cfg, prepared.features.cols);
    let sampler = NegativeSampler::new(prepared.features.rows, &split.train_pos)?;
    let sample = |rng: &mut rand_chacha::ChaCha8Rng, count: usize| sampler.sample(rng, count);
    let inputs = prepared.inputs(&split.train_pos, &sample);
    let val = Validation {
        pos: &split.val_pos,
        neg: &split.val_neg,
        every: s.val_every,
        select_best: s.select == Select::Val,
    };
    let checkpointing = Checkpointing {
        from: resume.map(|ck| (&ck.state, ck.epochs_done)),
        save_every: s.save_every,
    };
    let mut hook_error = None;
    let mut observer = |event: Event<'_>| {
        if let Event::Checkpoint { epochs_done, state } = event {
            let ck = Checkpoint::new(cfg, features, epochs_done, state.clone());
            if let Err(e) = hooks.checkpoint(&ck) {
                hook_error = Some(e);
                return ControlFlow::Break(());
            }
        }
        hooks.event(event)
    };
    let fit = fit_async(ctx, cfg, &inputs, &val, &checkpointing, &mut observer).await;
    if let Some(e) = hook_error {
        return Err(RunError::Hook(e));
    }
    fit.map_err(|e| match e {
        FitError::Stopped { epochs_done, state } => RunError::Stopped {
            epochs_done,
            checkpoint: Some(Box::new(Checkpoint::new(
                cfg,
                features,
                epochs_done,
                *state,
            ))),
        },
        other => RunError::Fit(other),
    })
}

/// Mini-batch training: Cluster-GCN steps, then every node's embedding layer by layer.
struct Batched<'a> {
    s: &'a RunSettings,
    prepared: &'a Prepared,
    split: &'a LinkSplit,
    partition_s: f64,
}

impl Batched<'_> {
    async fn fit(
        &self,
        ctx: &GpuContext,
        batches: crate::data::cluster::ClusterBatches<'_>,
        hooks: &mut dyn RunHooks,
    ) -> Result<(FitResult, BatchFit), RunError> {
        let (cfg, pos) = (&self.s.cfg, &self.split.train_pos);
        let steps = batches.steps_per_epoch();
        let mut observer = |event: Event<'_>| hooks.event(event);
        let fit = fit_batches(ctx, cfg, batches, pos, self.partition_s, &mut observer).await;
        let mut batched = fit.map_err(|e| match e {
            // (a checkpoint would resume as a full-batch run: none is made)
            FitError::Stopped { epochs_done, .. } => RunError::Stopped {
                epochs_done,
                checkpoint: None,
            },
            other => RunError::Fit(other),
        })?;
        let budget = ChunkBudget {
            bytes: self.s.gpu_memory.unwrap_or(EVAL_CHUNK_BYTES),
        };
        let (x, a) = (&self.prepared.features, &self.prepared.adjacency);
        let arch = cfg.arch(x.cols);
        let encoder = &batched.state.encoder;
        let (embedding, eval) = embed_layerwise(ctx, &arch, encoder, x, a, budget).await?;
        batched.embedding = Some(eval);
        let fit = FitResult {
            history: batched.history.clone(),
            validation: Vec::new(),
            selected_epoch: cfg.epochs,
            embedding,
            state: batched.state.clone(),
            dispatches_per_epoch: batched.dispatches_per_step * steps,
        };
        Ok((fit, batched))
    }
}

/// GPU memory the layer-wise evaluation of a mini-batch run uses without `gpu_memory`.
pub const EVAL_CHUNK_BYTES: u64 = 256 << 20;
