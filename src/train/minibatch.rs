//! Mini-batch training (Cluster-GCN, `docs/minibatch.md`): one engine allocated for the
//! largest batch ([`Engine::with_capacity`]); each step loads one batch's subgraph
//! ([`Engine::load_batch`]) and runs the model's epoch on it, so GPU memory is bounded by the
//! batch, not the graph. The host cuts step s + 1's subgraph while the GPU runs step s (its
//! uploads are queued behind it); at most `readback::RING` steps are in flight.

use serde::{Deserialize, Serialize};

use super::engine::{Capacity, Engine, EngineConfig, EngineState, Negatives, PositiveTables};
use super::fit::{Event, FitError, Observer};
use super::readback::LossReader;
use super::{EpochLosses, TrainConfig, queue_step};
use crate::data::Csr;
use crate::data::cluster::{Batch, BatchBounds, ClusterBatches};
use crate::gpu::{GpuContext, GpuError, Stopwatch};
use crate::model::Arch;

/// `--batch parts=P,per=Q`: P node clusters, Q of them per step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSpec {
    pub parts: usize,
    pub per_batch: usize,
}

impl std::str::FromStr for BatchSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (mut parts, mut per_batch) = (None, None);
        for item in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}` is not key=value (e.g. parts=64,per=4)"))?;
            let v: usize = v
                .trim()
                .parse()
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("`{k}` needs a positive integer, got `{v}`"))?;
            match k.trim() {
                "parts" => parts = Some(v),
                "per" => per_batch = Some(v),
                other => return Err(format!("unknown key `{other}` (known: parts, per)")),
            }
        }
        let parts = parts.ok_or("`parts` is required (e.g. parts=64,per=4)")?;
        let per_batch = per_batch.unwrap_or(1);
        if per_batch > parts {
            return Err(format!("per={per_batch} is more than parts={parts}"));
        }
        Ok(BatchSpec { parts, per_batch })
    }
}

/// A `--gpu-memory` budget given in MiB, in bytes (at least 1 MiB; no overflow).
pub fn gpu_memory_bytes(mib: u64) -> Result<u64, String> {
    if mib == 0 {
        return Err("the budget must be at least 1 MiB".into());
    }
    mib.checked_mul(1 << 20)
        .ok_or_else(|| format!("{mib} MiB is more bytes than a 64-bit count holds"))
}

/// `--gpu-memory`'s parser: MiB in, bytes out.
pub fn parse_gpu_memory(s: &str) -> Result<u64, String> {
    let mib = s.trim().parse::<u64>();
    let mib = mib.map_err(|_| format!("`{s}` is not a whole number of MiB"))?;
    gpu_memory_bytes(mib)
}

/// Where a mini-batch run's time went (host wall-clock; the GPU's work overlaps the host's).
#[derive(Clone, Debug, Default, Serialize)]
pub struct BatchTiming {
    pub partition_s: f64,
    /// Cutting the subgraphs (features, Â, positive tables).
    pub cut_s: f64,
    /// Writing batches into the engine and rebinding its launches.
    pub load_s: f64,
    /// Waiting for the GPU (steps in flight at the ring's depth).
    pub wait_s: f64,
    /// Steps queued while the device still had earlier steps to run: for those the device
    /// did not wait for the host (all but the run's first, when the host keeps up: steps are
    /// queued across epoch boundaries).
    pub queued_behind_work: u32,
}

/// A finished mini-batch run.
#[derive(Debug, Serialize)]
pub struct BatchFit {
    /// Per epoch: the mean of its steps' losses.
    pub history: Vec<EpochLosses>,
    pub steps: u32,
    /// Batches left out because no training edge lies inside them.
    pub empty_batches: u32,
    pub bounds: BatchBounds,
    /// Clusters, and clusters per step.
    pub parts: usize,
    pub per_batch: usize,
    /// Edges the partition cuts, of all training edges.
    pub cut_fraction: f64,
    /// GPU bytes the engine allocated (for the largest batch).
    pub gpu_bytes: u64,
    pub dispatches_per_step: usize,
    pub timing: BatchTiming,
    /// The layer-wise evaluation's chunks, memory and time (set by the caller).
    pub embedding: Option<crate::train::layerwise::LayerwiseStats>,
    #[serde(skip)]
    pub state: EngineState,
}

/// Batches per epoch a `--gpu-memory` budget aims for beyond what the sizes suggest (a
/// batch of the largest parts outgrows the average one).
const AUTO_MARGIN: f64 = 1.25;
/// Nodes per cluster a budget aims for: many small clusters per step, whose random regrouping
/// every epoch restores the edges between clusters (Cluster-GCN's "stochastic multiple
/// partitions") and keeps a step's negatives from being one community's (GAE's clustering
/// drops with a few large clusters per step: docs/minibatch.md, quality).
pub const AUTO_PART_NODES: usize = 64;
/// Fewest clusters per batch when a budget picks the batches.
pub const AUTO_MIN_PER_BATCH: usize = 4;
/// Fewest nodes a cluster may have when a budget picks the batches.
const MIN_PART_NODES: usize = 32;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// The room a full-batch run needs (every node and training edge at once).
fn whole_graph(features: &Csr, train_pos: &[[u32; 2]]) -> Capacity {
    let n = features.rows;
    Capacity {
        nodes: n,
        feature_nnz: features.col.len(),
        adjacency_nnz: n + 2 * train_pos.len(),
        positives: train_pos.len(),
    }
}

/// What an engine of some room would cost under a run's settings, and whether a device can
/// hold it: one place for the model and the engine settings every size question uses.
struct Sizer<'c> {
    arch: Arch,
    engine_cfg: EngineConfig,
    device: Option<&'c GpuContext>,
}

impl<'c> Sizer<'c> {
    fn new(cfg: &TrainConfig, features: &Csr, device: Option<&'c GpuContext>) -> Self {
        Sizer {
            arch: cfg.arch(features.cols),
            engine_cfg: cfg.engine_config(0, Negatives::Gpu { seed: cfg.seed }),
            device,
        }
    }

    fn bytes(&self, cap: &Capacity) -> u64 {
        cap.bytes(&self.arch, &self.engine_cfg)
    }

    /// Why the device cannot bind an engine of this room, if it cannot.
    fn refusal(&self, cap: &Capacity) -> Option<String> {
        let ctx = self.device?;
        let checked = cap.check(&self.arch, &self.engine_cfg, ctx);
        checked.err().map(|e| e.to_string())
    }

    /// Within `budget` bytes and bindable on the device.
    fn fits(&self, cap: &Capacity, budget: u64) -> bool {
        self.bytes(cap) <= budget && self.refusal(cap).is_none()
    }
}

/// GPU bytes of a full-batch run.
pub fn full_batch_bytes(cfg: &TrainConfig, features: &Csr, train_pos: &[[u32; 2]]) -> u64 {
    Sizer::new(cfg, features, None).bytes(&whole_graph(features, train_pos))
}

/// Why `ctx`'s device cannot hold a full-batch run, if it cannot (a buffer past its limits).
pub fn full_batch_refusal(
    ctx: &GpuContext,
    cfg: &TrainConfig,
    features: &Csr,
    train_pos: &[[u32; 2]],
) -> Option<String> {
    Sizer::new(cfg, features, Some(ctx)).refusal(&whole_graph(features, train_pos))
}

/// The partition and batch size: `spec` as given (checked against `budget` when both are
/// set; the engine refuses what the device cannot bind), or the fewest batches of clusters
/// of about [`AUTO_PART_NODES`] nodes (at least [`AUTO_MIN_PER_BATCH`] per batch) whose
/// engine fits `budget` bytes and `device`'s limits. A budget no batch fits is refused with
/// what it would take.
pub fn plan_batches<'g>(
    cfg: &TrainConfig,
    features: &'g Csr,
    train_pos: &[[u32; 2]],
    spec: Option<BatchSpec>,
    budget: Option<u64>,
    device: Option<&GpuContext>,
) -> Result<ClusterBatches<'g>, String> {
    let sizer = Sizer::new(cfg, features, device);
    let cut = |parts, per| {
        ClusterBatches::new(features, train_pos, parts, per, cfg.seed).map_err(|e| e.to_string())
    };
    let Some(spec) = spec else {
        let full = sizer.bytes(&whole_graph(features, train_pos));
        return auto_batches(&sizer, features.rows, full, budget, &cut);
    };
    let cb = cut(spec.parts, spec.per_batch)?;
    let need = sizer.bytes(&cb.bounds());
    match budget {
        Some(budget) if need > budget => Err(format!(
            "a batch of {} of {} clusters needs {:.1} MiB of GPU buffers, over --gpu-memory \
             {:.0} MiB: use more parts (or fewer per batch)",
            spec.per_batch,
            spec.parts,
            mib(need),
            mib(budget)
        )),
        _ => Ok(cb),
    }
}

/// [`plan_batches`] without a spec, for `n` nodes whose full batch takes `full` bytes:
/// batches estimated from that, then doubled until the largest batch fits.
fn auto_batches<'g>(
    sizer: &Sizer<'_>,
    n: usize,
    full: u64,
    budget: Option<u64>,
    cut: &dyn Fn(usize, usize) -> Result<ClusterBatches<'g>, String>,
) -> Result<ClusterBatches<'g>, String> {
    let one = Capacity {
        nodes: 1,
        feature_nnz: 1,
        adjacency_nnz: 1,
        positives: 1,
    };
    let fixed = sizer.bytes(&one);
    let too_small = |what: String| {
        let holder = budget.map_or("this device".into(), |b| {
            format!("--gpu-memory {:.0} MiB", mib(b))
        });
        format!(
            "{holder} cannot hold even one batch: {what} (the whole graph takes {:.1} MiB)",
            mib(full)
        )
    };
    let budget = budget.unwrap_or(u64::MAX - 1);
    if budget <= fixed {
        let what = format!(
            "the model's parameters and Adam state alone take {:.2} MiB",
            mib(fixed)
        );
        return Err(too_small(what));
    }
    let ratio = (full - fixed.min(full)) as f64 / (budget - fixed) as f64;
    // (at least 2 steps: this runs when the whole graph does not fit)
    let mut steps = (ratio * AUTO_MARGIN).ceil().max(2.0) as usize;
    // The cluster count stays at n / AUTO_PART_NODES while batches shrink, so one partition
    // (the costly part: ~35 s at 10 M nodes) serves every try until clusters must shrink.
    let target = (n / AUTO_PART_NODES).max(1);
    let mut tried: Option<ClusterBatches<'g>> = None;
    loop {
        let parts = target.max(steps * AUTO_MIN_PER_BATCH);
        let per = parts.div_ceil(steps);
        if parts > n / MIN_PART_NODES {
            let what = format!(
                "{steps} batches of {per} clusters would leave fewer than {MIN_PART_NODES} \
                 nodes per cluster"
            );
            return Err(too_small(what));
        }
        let mut cb = match tried.take() {
            Some(cb) if cb.partition.parts == parts => cb,
            _ => cut(parts, per)?,
        };
        cb.per_batch = per;
        if sizer.fits(&cb.bounds(), budget) {
            return Ok(cb);
        }
        tried = Some(cb);
        steps *= 2;
    }
}

/// Trains `cfg.epochs` epochs of Cluster-GCN steps over `batches` (cut from the graph's
/// prepared features and training edges `train_pos`; `partition_s` the time that took);
/// `observer` sees each epoch's mean losses as [`Event::Epoch`] and may stop the run
/// ([`FitError::Stopped`]). Waits only on the GPU, as [`super::fit::fit_async`] does.
pub async fn fit_batches(
    ctx: &GpuContext,
    cfg: &TrainConfig,
    mut batches: ClusterBatches<'_>,
    train_pos: &[[u32; 2]],
    partition_s: f64,
    observer: &mut Observer<'_>,
) -> Result<BatchFit, FitError> {
    let mut timing = BatchTiming {
        partition_s,
        ..Default::default()
    };
    let bounds = batches.bounds();
    let arch = cfg.arch(batches.features_cols());
    let (enc, dis) = cfg.init_params(&arch);
    let engine_cfg = cfg.engine_config(0, Negatives::Gpu { seed: cfg.seed });
    let mut engine = Engine::with_capacity(ctx, arch, engine_cfg, bounds, &enc, &dis)?;
    let gpu_bytes = engine
        .buffers
        .labelled()
        .iter()
        .map(|(_, b)| b.size())
        .sum();
    let mut reader = LossReader::new(ctx, engine.buffers.losses.len());
    let mut run = Steps::default();
    let mut empty_batches = 0;
    let order_seed = cfg.seed ^ 0x6261_7463_6865_7321;
    // Steps are queued across epoch boundaries too; an epoch is reported once all of its
    // steps are back.
    for epoch in 0..cfg.epochs {
        let mut steps = 0;
        for group in batches.epoch_groups(order_seed, epoch as u64) {
            let t = Stopwatch::start();
            let b = batches.batch(&group);
            if b.positives.is_empty() {
                empty_batches += 1;
                continue;
            }
            let tables = batch_tables(&b)?;
            timing.cut_s += t.seconds();
            let t = Stopwatch::start();
            while reader.is_full() {
                run.absorb(ctx, reader.collect_oldest(ctx).await, &engine)?;
            }
            timing.wait_s += t.seconds();
            let t = Stopwatch::start();
            engine.load_batch(ctx, (&b.features).into(), (&b.a_hat).into(), &tables)?;
            // Is the device still busy with earlier steps as this one is queued?
            run.absorb(ctx, reader.collect(ctx, false), &engine)?;
            if reader.pending() > 0 {
                timing.queued_behind_work += 1;
            }
            queue_step(ctx, &engine, &mut reader, run.steps)?;
            timing.load_s += t.seconds();
            run.submitted(b.nodes.len(), epoch);
            steps += 1;
            if run.report(observer)? {
                return Err(stopped(ctx, &run, &engine).await);
            }
            crate::gpu::yield_to_host().await;
        }
        run.planned.push(steps);
        if run.report(observer)? {
            return Err(stopped(ctx, &run, &engine).await);
        }
    }
    let t = Stopwatch::start();
    while reader.pending() > 0 {
        run.absorb(ctx, reader.collect_oldest(ctx).await, &engine)?;
        if run.report(observer)? {
            return Err(stopped(ctx, &run, &engine).await);
        }
    }
    timing.wait_s += t.seconds();
    let edges = train_pos.len().max(1) as f64;
    Ok(BatchFit {
        history: run.history,
        steps: run.steps,
        empty_batches,
        bounds,
        parts: batches.partition.parts,
        per_batch: batches.per_batch,
        cut_fraction: batches.partition.edge_cut(train_pos) as f64 / edges,
        gpu_bytes,
        dispatches_per_step: engine.step.dispatch_count(),
        timing,
        embedding: None,
        state: engine.read_state(ctx).await?,
    })
}

/// A batch's positive tables for the GPU's negative draw (refusing a batch too dense for it).
fn batch_tables(b: &Batch) -> Result<PositiveTables, FitError> {
    let tables = PositiveTables::new(b.nodes.len(), &b.positives)?;
    if tables.gpu_sampling() {
        return Ok(tables);
    }
    Err(GpuError::InvalidArgument {
        what: "--batch".into(),
        message: format!(
            "a batch of {} nodes has {} training edges: too dense to draw negatives among its \
             nodes; use fewer, larger batches (a higher per=)",
            b.nodes.len(),
            b.positives.len()
        ),
    }
    .into())
}

/// The stop the observer asked for, with the state after the epochs reported.
async fn stopped(ctx: &GpuContext, run: &Steps, engine: &Engine) -> FitError {
    match engine.read_state(ctx).await {
        Ok(state) => FitError::Stopped {
            epochs_done: run.history.len() as u32,
            state: Box::new(state),
        },
        Err(e) => e.into(),
    }
}

/// Steps submitted and the losses collected so far.
#[derive(Default)]
struct Steps {
    steps: u32,
    /// Nodes (for its KL/N) and epoch of each submitted step.
    nodes: Vec<usize>,
    epoch_of: Vec<u32>,
    /// Steps of each epoch whose steps are all submitted.
    planned: Vec<usize>,
    /// Losses of each epoch's finished steps.
    done: Vec<Vec<EpochLosses>>,
    /// Epochs reported.
    history: Vec<EpochLosses>,
}

impl Steps {
    fn submitted(&mut self, nodes: usize, epoch: u32) {
        self.nodes.push(nodes);
        self.epoch_of.push(epoch);
        self.steps += 1;
    }

    /// Reports every epoch whose steps are all back (in order) to `observer`; whether it
    /// asked to stop.
    fn report(&mut self, observer: &mut Observer<'_>) -> Result<bool, FitError> {
        while let Some(&planned) = self.planned.get(self.history.len()) {
            let e = self.history.len();
            if self.done.get(e).map_or(0, Vec::len) < planned {
                break;
            }
            let losses = self.epoch_mean(e as u32)?;
            let flow = observer(Event::Epoch(&losses));
            self.history.push(losses);
            if flow.is_break() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Files finished steps' losses under their epochs (failing on a device fault).
    fn absorb(
        &mut self,
        ctx: &GpuContext,
        rows: Vec<(u32, Result<Vec<f32>, String>)>,
        engine: &Engine,
    ) -> Result<(), FitError> {
        for (step, row) in rows {
            let epoch = self.history.len() as u32 + 1;
            if let Some(message) = ctx.device_fault() {
                return Err(FitError::Device { epoch, message });
            }
            let v = row.map_err(|reason| FitError::Readback { epoch, reason })?;
            let (n, e) = (
                self.nodes[step as usize],
                self.epoch_of[step as usize] as usize,
            );
            if self.done.len() <= e {
                self.done.resize(e + 1, Vec::new());
            }
            self.done[e].push(EpochLosses::of(step, &v, engine.disc_steps(), n));
        }
        Ok(())
    }

    /// The mean of the epoch's step losses (refusing a non-finite one).
    fn epoch_mean(&mut self, epoch: u32) -> Result<EpochLosses, FitError> {
        let steps = self
            .done
            .get_mut(epoch as usize)
            .map(std::mem::take)
            .unwrap_or_default();
        let k = steps.len().max(1) as f32;
        let mean = |f: fn(&EpochLosses) -> f32| steps.iter().map(f).sum::<f32>() / k;
        let l = EpochLosses {
            epoch,
            recon: mean(|l| l.recon),
            reg: mean(|l| l.reg),
            kl: mean(|l| l.kl),
            disc: mean(|l| l.disc),
            total: mean(|l| l.total),
        };
        super::fit::check_finite(&l)?;
        Ok(l)
    }
}
