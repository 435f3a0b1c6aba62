//! The training driver: submit epochs back to back (at most `readback::RING` in flight),
//! collect loss scalars as the GPU finishes them, stop on NaN/Inf, evaluate periodically on
//! the validation pairs, and report. [`fit_async`] runs everywhere (in a browser it yields to
//! the page between epochs); [`fit`] is its blocking form for native callers. The progress
//! display is the caller's, through [`Observer`].

use std::ops::ControlFlow;

use serde::Serialize;

use super::engine::EngineState;
use super::{EpochLosses, TrainConfig, TrainInputs, Trainer};
use crate::gpu::GpuContext;

/// Link-prediction scores of the embedding on one pair set.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct LinkScores {
    pub auc: f64,
    pub ap: f64,
}

/// Scores pairs by z_i·z_j (in f64; the decoder's sigmoid is monotone, so AUC and AP are the
/// same on logits) and computes AUC and AP.
pub fn link_scores(embedding: &[f32], d: usize, pos: &[[u32; 2]], neg: &[[u32; 2]]) -> LinkScores {
    let score = |p: &[u32; 2]| -> f64 {
        let (i, j) = (p[0] as usize * d, p[1] as usize * d);
        (0..d)
            .map(|k| embedding[i + k] as f64 * embedding[j + k] as f64)
            .sum()
    };
    let ps: Vec<f64> = pos.iter().map(score).collect();
    let ns: Vec<f64> = neg.iter().map(score).collect();
    LinkScores {
        auc: crate::eval::roc_auc(&ps, &ns),
        ap: crate::eval::average_precision(&ps, &ns),
    }
}

/// Validation pairs and how often to score them.
pub struct Validation<'a> {
    pub pos: &'a [[u32; 2]],
    pub neg: &'a [[u32; 2]],
    /// Score every `every` epochs (0: never during training).
    pub every: u32,
    /// Keep the embedding of the epoch with the best validation AUC instead of the last.
    pub select_best: bool,
}

/// What the caller sees while training runs.
#[derive(Clone, Copy)]
pub enum Event<'a> {
    Epoch(&'a EpochLosses),
    Validated {
        epoch: u32,
        scores: LinkScores,
        /// The embedding scored (N × d): `argva reproduce` clusters it.
        embedding: &'a [f32],
    },
    /// Every `Checkpointing::save_every` epochs: the state to checkpoint after `epochs_done` epochs.
    Checkpoint {
        epochs_done: u32,
        state: &'a EngineState,
    },
}

/// Continuing a run and saving it as it goes.
#[derive(Default)]
pub struct Checkpointing<'a> {
    /// Start from this state after this many epochs (a checkpoint), instead of from init.
    pub from: Option<(&'a EngineState, u32)>,
    /// Emit [`Event::Checkpoint`] every N epochs (0: never).
    pub save_every: u32,
}

/// Sees every [`Event`]; returning `ControlFlow::Break` stops training there (a user's
/// interrupt): the fit then ends with [`FitError::Stopped`].
pub type Observer<'a> = dyn FnMut(Event<'_>) -> ControlFlow<()> + 'a;

#[derive(Debug, Serialize)]
pub struct FitResult {
    pub history: Vec<EpochLosses>,
    pub validation: Vec<(u32, LinkScores)>,
    /// The epoch whose parameters produced `embedding` (the last one, or the best on
    /// validation with `select_best`), 1-based count of epochs trained.
    pub selected_epoch: u32,
    #[serde(skip)]
    pub embedding: Vec<f32>,
    /// Parameters and Adam state after the last epoch (for the final checkpoint).
    #[serde(skip)]
    pub state: EngineState,
    pub dispatches_per_epoch: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error(transparent)]
    Gpu(#[from] crate::gpu::GpuError),
    #[error("training diverged at epoch {epoch}: the {loss} loss is {value}")]
    NonFinite {
        epoch: u32,
        loss: &'static str,
        value: f32,
    },
    #[error("reading epoch {epoch}'s losses failed: {reason}")]
    Readback { epoch: u32, reason: String },
    /// The device reported a failure (lost, out of memory, a refused command) while training.
    #[error(
        "the GPU failed during epoch {epoch}: {message}. Checkpoints already written are \
         intact (continue with --resume); if it ran out of memory, try a smaller --latent, \
         --hidden or graph, or another adapter (`argva info`, WGPU_ADAPTER_NAME)"
    )]
    Device { epoch: u32, message: String },
    /// The observer asked to stop (a user's interrupt): every submitted epoch finished, and
    /// `state` is the parameters after them, for a checkpoint to resume from.
    #[error("training was stopped after epoch {epochs_done}")]
    Stopped {
        epochs_done: u32,
        state: Box<EngineState>,
    },
}

/// Why the epoch loop ended early: the observer's stop, or a failure.
enum Halt {
    Stop,
    Fail(FitError),
}

impl From<FitError> for Halt {
    fn from(e: FitError) -> Self {
        Halt::Fail(e)
    }
}

impl From<crate::gpu::GpuError> for Halt {
    fn from(e: crate::gpu::GpuError) -> Self {
        Halt::Fail(e.into())
    }
}

pub(crate) fn check_finite(l: &EpochLosses) -> Result<(), FitError> {
    for (loss, value) in [
        ("reconstruction", l.recon),
        ("regularisation", l.reg),
        ("KL", l.kl),
        ("discriminator", l.disc),
    ] {
        if !value.is_finite() {
            return Err(FitError::NonFinite {
                epoch: l.epoch + 1,
                loss,
                value,
            });
        }
    }
    Ok(())
}

/// Reports each finished epoch's losses, failing on a device fault or a non-finite loss.
fn absorb(
    ctx: &GpuContext,
    rows: Vec<Result<EpochLosses, String>>,
    history: &mut Vec<EpochLosses>,
    observer: &mut Observer<'_>,
) -> Result<(), Halt> {
    for row in rows {
        let epoch = history.len() as u32 + 1;
        if let Some(message) = ctx.device_fault() {
            return Err(FitError::Device { epoch, message }.into());
        }
        let l = row.map_err(|reason| FitError::Readback { epoch, reason })?;
        check_finite(&l)?;
        let flow = observer(Event::Epoch(&l));
        history.push(l);
        if flow.is_break() {
            return Err(Halt::Stop);
        }
    }
    Ok(())
}

/// What the epoch loop accumulates.
#[derive(Default)]
struct Progress {
    history: Vec<EpochLosses>,
    validation: Vec<(u32, LinkScores)>,
    /// Best validation AUC so far, its epoch and embedding (`select_best`).
    best: Option<(f64, u32, Vec<f32>)>,
}

/// Trains `cfg.epochs` epochs and returns the history and the kept embedding (blocking).
#[cfg(not(target_arch = "wasm32"))]
pub fn fit(
    ctx: &GpuContext,
    cfg: &TrainConfig,
    inputs: &TrainInputs<'_>,
    val: &Validation<'_>,
    checkpointing: &Checkpointing<'_>,
    observer: &mut Observer<'_>,
) -> Result<FitResult, FitError> {
    pollster::block_on(fit_async(ctx, cfg, inputs, val, checkpointing, observer))
}

/// Trains `cfg.epochs` epochs and returns the history and the kept embedding. Waits only in
/// [`Trainer::collect_oldest`] and the readbacks, so in a browser the page stays live.
pub async fn fit_async(
    ctx: &GpuContext,
    cfg: &TrainConfig,
    inputs: &TrainInputs<'_>,
    val: &Validation<'_>,
    checkpointing: &Checkpointing<'_>,
    observer: &mut Observer<'_>,
) -> Result<FitResult, FitError> {
    let mut trainer = Trainer::new(ctx, cfg, inputs)?;
    if let Some((state, done)) = checkpointing.from {
        trainer.restore(ctx, state, done)?;
    }
    let mut run = Progress::default();
    let request = FitRequest {
        cfg,
        inputs,
        val,
        checkpointing,
    };
    match train_epochs(ctx, &request, observer, &mut trainer, &mut run).await {
        Ok(()) => {}
        Err(Halt::Fail(e)) => return Err(e),
        Err(Halt::Stop) => {
            // Let the epochs already submitted finish: the state is then theirs.
            while trainer.in_flight() > 0 {
                let _ = trainer.collect_oldest(ctx).await;
            }
            return Err(FitError::Stopped {
                epochs_done: trainer.epochs_submitted(),
                state: Box::new(trainer.engine.read_state(ctx).await?),
            });
        }
    }
    let Progress {
        history,
        validation,
        best,
    } = run;
    let (selected_epoch, embedding) = match best {
        Some((_, e, emb)) => (e, emb),
        None => (cfg.epochs, trainer.encode(ctx).await?),
    };
    let state = trainer.engine.read_state(ctx).await?;
    Ok(FitResult {
        state,
        history,
        validation,
        selected_epoch,
        embedding,
        dispatches_per_epoch: trainer.engine.step.dispatch_count(),
    })
}

/// What one fit was asked to do.
struct FitRequest<'p, 'a> {
    cfg: &'p TrainConfig,
    inputs: &'p TrainInputs<'a>,
    val: &'p Validation<'a>,
    checkpointing: &'p Checkpointing<'a>,
}

/// Submits epochs until `cfg.epochs`, reporting losses, validation scores and checkpoints.
async fn train_epochs(
    ctx: &GpuContext,
    request: &FitRequest<'_, '_>,
    observer: &mut Observer<'_>,
    trainer: &mut Trainer,
    run: &mut Progress,
) -> Result<(), Halt> {
    let FitRequest {
        cfg,
        inputs,
        val,
        checkpointing,
    } = *request;
    let d = cfg.latent;
    let mut epoch = trainer.epochs_submitted();
    let history = &mut run.history;
    while epoch < cfg.epochs {
        if !trainer.try_submit(ctx, inputs)? {
            absorb(ctx, trainer.collect_oldest(ctx).await, history, observer)?;
            continue;
        }
        epoch += 1;
        absorb(ctx, trainer.collect(ctx), history, observer)?;
        crate::gpu::yield_to_host().await;
        let due = val.every > 0 && (epoch.is_multiple_of(val.every) || epoch == cfg.epochs);
        if due && !val.pos.is_empty() {
            // Drain first so losses are reported in order before the score.
            while trainer.in_flight() > 0 {
                absorb(ctx, trainer.collect_oldest(ctx).await, history, observer)?;
            }
            let emb = trainer.encode(ctx).await?;
            let scores = link_scores(&emb, d, val.pos, val.neg);
            run.validation.push((epoch, scores));
            let flow = observer(Event::Validated {
                epoch,
                scores,
                embedding: &emb,
            });
            if val.select_best && run.best.as_ref().is_none_or(|b| scores.auc > b.0) {
                run.best = Some((scores.auc, epoch, emb));
            }
            if flow.is_break() {
                return Err(Halt::Stop);
            }
        }
        if checkpointing.save_every > 0
            && (epoch.is_multiple_of(checkpointing.save_every) || epoch == cfg.epochs)
        {
            while trainer.in_flight() > 0 {
                absorb(ctx, trainer.collect_oldest(ctx).await, history, observer)?;
            }
            let state = trainer.engine.read_state(ctx).await?;
            let flow = observer(Event::Checkpoint {
                epochs_done: epoch,
                state: &state,
            });
            if flow.is_break() {
                return Err(Halt::Stop);
            }
        }
    }
    while trainer.in_flight() > 0 {
        absorb(ctx, trainer.collect_oldest(ctx).await, history, observer)?;
    }
    Ok(())
}
