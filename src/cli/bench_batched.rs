//! `argva bench --batch …` / `--gpu-memory …`: mini-batch training's speed (per epoch and per
//! step), memory, the host's time split and whether the device ever waited for the host.

use std::ops::ControlFlow;
use std::time::Instant;

use anyhow::Result;
use serde::Serialize;

use crate::data::Graph;
use crate::data::split::link_split;
use crate::gpu::{AdapterSummary, GpuContext};
use crate::model::ModelKind;
use crate::train::fit::Event;
use crate::train::minibatch::{BatchTiming, fit_batches, plan_batches};
use crate::train::{Overrides, TrainConfig};

use super::bench::{BenchArgs, Spread, memory_line, peak_rss_mib};
use crate::run::defaults;
use crate::train::Prepared;

#[derive(Serialize)]
pub struct BatchBenchReport {
    pub dataset: String,
    pub model: ModelKind,
    pub adapter: AdapterSummary,
    pub nodes: usize,
    pub edges: usize,
    pub parts: usize,
    pub per_batch: usize,
    pub steps_per_epoch: usize,
    /// Timed epochs (after the warm-up ones), each its steps back to back.
    pub epoch: Spread,
    pub step_ms: f64,
    pub partition_s: f64,
    pub gpu_buffer_mib: f64,
    pub peak_rss_mib: Option<f64>,
    pub dispatches_per_step: usize,
    /// Bytes the host wrote into GPU buffers per step (the batch, its tables, the clock).
    pub host_to_gpu_bytes_per_step: f64,
    /// Host time per step: cutting the batch, writing it and rebinding, waiting for the GPU.
    pub cut_ms_per_step: f64,
    pub load_ms_per_step: f64,
    pub wait_ms_per_step: f64,
    /// Steps queued while the device still had earlier steps to run, of all steps.
    pub queued_behind_work: u32,
    pub steps: u32,
}

pub fn bench_batched(
    args: &BenchArgs,
    ctx: &GpuContext,
    graph: &Graph,
) -> Result<BatchBenchReport> {
    let split = link_split(graph, defaults::VAL_FRAC, defaults::TEST_FRAC, 0)?;
    let prepared = Prepared::new(graph, &split.train_pos, false);
    let overrides = Overrides {
        epochs: Some(args.warmup + args.epochs),
        latent: args.latent,
        ..Overrides::default()
    };
    let cfg = TrainConfig::resolve(args.recipe, args.model, 0, &overrides);
    let (x, pos) = (&prepared.features, &split.train_pos);
    let t = Instant::now();
    let batches = plan_batches(&cfg, x, pos, args.batch, args.gpu_memory, Some(ctx))
        .map_err(anyhow::Error::msg)?;
    let partition_s = t.elapsed().as_secs_f64();
    let (parts, per_batch, steps_per_epoch) = (
        batches.partition.parts,
        batches.per_batch,
        batches.steps_per_epoch(),
    );
    let mut ends = Vec::new();
    let mut observe = |_: Event<'_>| {
        ends.push(Instant::now());
        ControlFlow::Continue(())
    };
    let uploaded = ctx.uploaded_bytes();
    let start = Instant::now();
    let fit = fit_batches(ctx, &cfg, batches, pos, partition_s, &mut observe);
    let fit = pollster::block_on(fit)?;
    let per_step = |s: f64| s * 1e3 / fit.steps.max(1) as f64;
    let BatchTiming {
        cut_s,
        load_s,
        wait_s,
        queued_behind_work,
        ..
    } = fit.timing;
    // Epoch i's time: from the previous epoch's report (the run's start for the first).
    let times: Vec<f64> = std::iter::once(start)
        .chain(ends.iter().copied())
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64() * 1e3)
        .skip(args.warmup as usize)
        .collect();
    let epoch = Spread::of(times);
    Ok(BatchBenchReport {
        dataset: graph.name.clone(),
        model: args.model,
        adapter: ctx.summary.clone(),
        nodes: graph.num_nodes,
        edges: graph.edges.len(),
        parts,
        per_batch,
        steps_per_epoch,
        step_ms: epoch.median_ms / steps_per_epoch.max(1) as f64,
        epoch,
        partition_s,
        gpu_buffer_mib: fit.gpu_bytes as f64 / (1 << 20) as f64,
        peak_rss_mib: peak_rss_mib(),
        dispatches_per_step: fit.dispatches_per_step,
        host_to_gpu_bytes_per_step: (ctx.uploaded_bytes() - uploaded) as f64
            / fit.steps.max(1) as f64,
        cut_ms_per_step: per_step(cut_s),
        load_ms_per_step: per_step(load_s),
        wait_ms_per_step: per_step(wait_s),
        queued_behind_work,
        steps: fit.steps,
    })
}

pub fn print_batched(r: &BatchBenchReport) {
    println!(
        "{} on {} ({} nodes, {} edges), mini-batch: {} clusters, {} per step, {} steps per epoch",
        r.model.name(),
        r.dataset,
        r.nodes,
        r.edges,
        r.parts,
        r.per_batch,
        r.steps_per_epoch
    );
    println!(
        "adapter    {} — {} backend",
        r.adapter.name, r.adapter.backend
    );
    let e = &r.epoch;
    println!(
        "epoch      median {:.2} ms (p10 {:.2}, p90 {:.2}); step {:.2} ms; partition {:.2} s",
        e.median_ms, e.p10_ms, e.p90_ms, r.step_ms, r.partition_s
    );
    println!("{}", memory_line(r.peak_rss_mib, r.gpu_buffer_mib));
    println!(
        "per step   {} launches, {:.0} bytes host→GPU; host: cut {:.2} ms, load {:.2} ms, wait {:.2} ms",
        r.dispatches_per_step,
        r.host_to_gpu_bytes_per_step,
        r.cut_ms_per_step,
        r.load_ms_per_step,
        r.wait_ms_per_step
    );
    println!(
        "overlap    {} of {} steps queued while the device still had earlier steps to run",
        r.queued_behind_work, r.steps
    );
}
