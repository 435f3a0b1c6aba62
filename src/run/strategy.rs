//! How a run trains: the whole graph at once, or Cluster-GCN mini-batches when it is asked to
//! (`batch`) or when the full batch would be over `gpu_memory` or past the device. The slot a
//! distributed strategy fills next.

use super::{RunError, RunHooks, RunSettings, Select};
use crate::data::cluster::ClusterBatches;
use crate::data::split::LinkSplit;
use crate::gpu::{GpuContext, Stopwatch};
use crate::train::engine::Recon;
use crate::train::minibatch::{full_batch_bytes, full_batch_refusal, plan_batches};
use crate::train::{Prepared, Recipe};

/// Largest graph `--recon dense` accepts: its O(N²·d) epoch becomes hours beyond this.
pub const DENSE_MAX_NODES: usize = 50_000;

/// The strategy chosen for one run.
pub enum Strategy<'g> {
    FullBatch,
    /// The batches, and the seconds partitioning the graph took.
    MiniBatch(ClusterBatches<'g>, f64),
}

/// Picks the strategy for `s` (its `cfg` the one trained) on the prepared graph, refusing
/// what neither can run; a fallback to mini-batches is told to `hooks.note`.
pub fn choose<'g>(
    ctx: &GpuContext,
    s: &RunSettings,
    prepared: &'g Prepared,
    split: &LinkSplit,
    resuming: bool,
    hooks: &mut dyn RunHooks,
) -> Result<Strategy<'g>, RunError> {
    let n = prepared.features.rows;
    if s.cfg.recon == Recon::Dense && n > DENSE_MAX_NODES {
        return Err(RunError::BadInput(format!(
            "--recon dense evaluates all N² = {:.2e} node pairs per epoch; {n} nodes is over \
             the limit of {DENSE_MAX_NODES}. Use --recon sampled (the default) for large graphs.",
            (n as f64).powi(2),
        )));
    }
    let batched = s.batch.is_some() || !resuming && too_large(ctx, s, prepared, split, hooks);
    if !batched {
        return Ok(Strategy::FullBatch);
    }
    if let Some(why) = batch_refusal(s, resuming) {
        return Err(RunError::Refused(why.into()));
    }
    let t = Stopwatch::start();
    let (cfg, features, pos) = (&s.cfg, &prepared.features, &split.train_pos);
    let batches = plan_batches(cfg, features, pos, s.batch, s.gpu_memory, Some(ctx));
    let batches = batches.map_err(RunError::Refused)?;
    Ok(Strategy::MiniBatch(batches, t.seconds()))
}

/// What mini-batch training cannot do (yet) of what `s` asks.
fn batch_refusal(s: &RunSettings, resuming: bool) -> Option<&'static str> {
    if s.cfg.recon == Recon::Dense || s.cfg.recipe == Recipe::Paper {
        Some(
            "mini-batch training (--batch, --gpu-memory) trains the pyg recipe's sampled loss, \
             not --recipe paper or --recon dense",
        )
    } else if s.select == Select::Val {
        Some(
            "mini-batch training scores validation once, at the end: --select val needs full \
             batch",
        )
    } else if s.save_every > 0 {
        Some("mini-batch runs write no checkpoints yet: leave out --save-every")
    } else if resuming {
        Some("mini-batch runs cannot be resumed yet: leave out --batch to resume in full batch")
    } else {
        None
    }
}

/// Whether full-batch training is over `gpu_memory` or past the device's limits (told to
/// `hooks.note` when the run then trains in mini-batches).
fn too_large(
    ctx: &GpuContext,
    s: &RunSettings,
    prepared: &Prepared,
    split: &LinkSplit,
    hooks: &mut dyn RunHooks,
) -> bool {
    let (cfg, x, pos) = (&s.cfg, &prepared.features, &split.train_pos[..]);
    let full = full_batch_bytes(cfg, x, pos);
    let why = match s.gpu_memory {
        Some(budget) if full > budget => format!("over --gpu-memory {} MiB", budget >> 20),
        _ => match full_batch_refusal(ctx, cfg, x, pos) {
            Some(reason) => format!("past this device's limits ({reason})"),
            None => return false,
        },
    };
    let can = cfg.recon == Recon::Sampled && cfg.recipe == Recipe::Pyg;
    if can {
        hooks.note(&format!(
            "full-batch training needs {:.1} MiB of GPU buffers, {why}: training in \
             mini-batches (docs/minibatch.md)",
            full as f64 / (1 << 20) as f64
        ));
    }
    can || s.gpu_memory.is_some()
}
