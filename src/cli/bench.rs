//! `argva bench`: how fast an epoch is on this adapter, where the time goes, and how that
//! compares with what the adapter can do (a calibration matmul and copy in the same run).

use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;

use crate::data::Graph;
use crate::data::split::{NegativeSampler, link_split};
use crate::gpu::{AdapterSummary, GpuBuffer, GpuContext, GpuError};
use crate::model::ModelKind;
use crate::train::engine::Recon;
use crate::train::minibatch::BatchSpec;
use crate::train::schedule::{Cost, KernelRow, kernel_rows};
use crate::train::{Overrides, Recipe, TrainConfig, TrainInputs, Trainer};

use super::data::DataSource;
use crate::run::defaults;
use crate::train::Prepared;

#[derive(Args, Clone, Debug)]
#[command(
    about = "Measure training speed: time per epoch, launch to first epoch, memory, \
dispatches, host overhead, a per-kernel table from GPU timestamps, and the adapter's calibrated \
matmul rate and copy bandwidth"
)]
pub struct BenchArgs {
    #[command(flatten)]
    pub source: DataSource,
    /// Model to time.
    #[arg(long, value_enum, default_value_t = ModelKind::Argva)]
    pub model: ModelKind,
    /// Timed epochs (after the warm-up).
    #[arg(long, default_value_t = 30)]
    pub epochs: u32,
    /// Untimed warm-up epochs.
    #[arg(long, default_value_t = 5)]
    pub warmup: u32,
    /// Whose training recipe to time: `pyg` or `paper` (see `argva train --help`; an epoch is
    /// then one iteration of 5 reconstruction, K discriminator and 1 generator step).
    #[arg(long, value_enum, default_value_t = Recipe::Pyg)]
    pub recipe: Recipe,
    /// Embedding width d [default: the recipe's: 32, paper GAE/VGAE 16].
    #[arg(long)]
    pub latent: Option<usize>,
    /// Reconstruction loss, `sampled` or `dense` [default: the recipe's].
    #[arg(long, value_enum)]
    pub recon: Option<Recon>,
    /// Instead of one dataset: synthetic SBM graphs from 10 k to 1 M nodes at average
    /// degree 20, printing time per epoch and memory at each size (a size the device cannot
    /// hold is a row with the reason: the buffer, its bytes and the device's limit). On a CPU
    /// adapter the 1 M-node row takes minutes (ARGVA on lavapipe: about a minute an epoch,
    /// 7 GiB of memory); --scale-max sets the largest size.
    #[arg(long)]
    pub scale: bool,
    /// Largest node count for --scale.
    #[arg(long, default_value_t = 1_000_000)]
    pub scale_max: usize,
    /// Time mini-batch training instead (`argva train --batch`): Cluster-GCN steps of Q of P
    /// clusters, with the host's time per step and how many steps were queued while the
    /// device was still busy.
    #[arg(long, value_name = "parts=P,per=Q", conflicts_with = "scale")]
    pub batch: Option<BatchSpec>,
    /// Mini-batch training in as few batches as fit this many MiB of GPU buffers (as
    /// `argva train --gpu-memory`).
    #[arg(long, value_name = "MiB", conflicts_with = "scale", value_parser = crate::train::minibatch::parse_gpu_memory)]
    pub gpu_memory: Option<u64>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Clone, Copy)]
pub struct Spread {
    pub median_ms: f64,
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

impl Spread {
    pub(super) fn of(mut v: Vec<f64>) -> Self {
        v.sort_by(f64::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        Self {
            median_ms: q(0.5),
            p10_ms: q(0.1),
            p90_ms: q(0.9),
            min_ms: v[0],
            max_ms: v[v.len() - 1],
        }
    }
}

#[derive(Serialize)]
pub struct Calibration {
    pub matmul_gflops: f64,
    pub matmul_shape: [usize; 3],
    pub copy_gbps: f64,
}

#[derive(Serialize)]
pub struct BenchReport {
    pub dataset: String,
    pub model: ModelKind,
    pub recipe: Recipe,
    pub adapter: AdapterSummary,
    pub nodes: usize,
    pub edges: usize,
    pub epoch: Spread,
    /// Epochs submitted back to back (up to 3 in flight), wall time / epochs.
    pub pipelined_ms_per_epoch: f64,
    pub launch_to_first_epoch_s: f64,
    pub peak_rss_mib: Option<f64>,
    pub gpu_buffer_mib: f64,
    pub dispatches_per_epoch: usize,
    pub submissions_per_epoch: usize,
    /// Host time to record the epoch's command buffer and submit it.
    pub host_record_submit_ms: f64,
    /// Host time to sample the epoch's negatives (overlapped with the GPU).
    pub host_negatives_ms: f64,
    /// Bytes the host writes into GPU buffers per steady-state epoch (pair list, its
    /// node-major index, the clock).
    pub host_to_gpu_bytes_per_epoch: f64,
    pub kernel_timing: &'static str,
    pub kernels: Vec<KernelRow>,
    pub calibration: Option<Calibration>,
}

pub fn run(args: BenchArgs, launched: Instant) -> Result<()> {
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if args.scale {
        return run_scale(&args);
    }
    let graph = args.source.load()?;
    let ctx = GpuContext::new_blocking()?;
    if args.batch.is_some() || args.gpu_memory.is_some() {
        let report = super::bench_batched::bench_batched(&args, &ctx, &graph)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            super::bench_batched::print_batched(&report);
        }
        return Ok(());
    }
    let report = bench_graph(&args, &ctx, &graph, launched, true)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// The report's memory line (both benches print it).
pub(super) fn memory_line(peak_rss_mib: Option<f64>, gpu_buffer_mib: f64) -> String {
    let peak = peak_rss_mib.map_or("n/a".to_string(), |m| format!("{m:.1} MiB"));
    format!("memory     peak RSS {peak}, GPU buffers {gpu_buffer_mib:.1} MiB")
}

pub(super) fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn bench_graph(
    args: &BenchArgs,
    ctx: &GpuContext,
    graph: &Graph,
    launched: Instant,
    detailed: bool,
) -> Result<BenchReport> {
    let split = link_split(graph, defaults::VAL_FRAC, defaults::TEST_FRAC, 0)?;
    let n = graph.num_nodes;
    let prepared = Prepared::new(graph, &split.train_pos, false);
    let sampler = NegativeSampler::new(n, &split.train_pos)?;
    let neg_time = std::cell::Cell::new(0.0f64);
    let sample = |rng: &mut rand_chacha::ChaCha8Rng, count: usize| {
        let t = Instant::now();
        let v = sampler.sample(rng, count);
        neg_time.set(neg_time.get() + t.elapsed().as_secs_f64());
        v
    };
    let inputs = prepared.inputs(&split.train_pos, &sample);
    let overrides = Overrides {
        epochs: Some(args.warmup + args.epochs),
        latent: args.latent,
        recon: args.recon,
        ..Overrides::default()
    };
    let cfg = TrainConfig::resolve(args.recipe, args.model, 0, &overrides);
    let allocated_before = ctx.allocated_bytes();
    let mut trainer = Trainer::new(ctx, &cfg, &inputs)?;
    // The model's buffers only (the context's counter is cumulative, and the calibration
    // below allocates its own).
    let gpu_bytes = ctx.allocated_bytes() - allocated_before;

    // First epoch: includes pipeline compilation on most drivers.
    let run_one = |trainer: &mut Trainer| -> Result<f64> {
        let t = Instant::now();
        trainer.try_submit(ctx, &inputs)?;
        for row in pollster::block_on(trainer.collect_oldest(ctx)) {
            row.map_err(anyhow::Error::msg)?;
        }
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    run_one(&mut trainer)?;
    let first = launched.elapsed().as_secs_f64();
    for _ in 1..args.warmup {
        run_one(&mut trainer)?;
    }
    let mut times = Vec::with_capacity(args.epochs as usize);
    neg_time.set(0.0);
    let uploaded_before = ctx.uploaded_bytes();
    for _ in 0..args.epochs {
        times.push(run_one(&mut trainer)?);
    }
    let host_to_gpu_bytes_per_epoch =
        (ctx.uploaded_bytes() - uploaded_before) as f64 / args.epochs.max(1) as f64;
    let host_negatives_ms = neg_time.get() * 1e3 / args.epochs as f64;

    // Pipelined (the way `argva train` runs) and the host's recording cost: both run extra
    // epochs, so the --scale table, which only wants time per epoch, skips them.
    let (pipelined, host_record_submit_ms) = if detailed {
        (
            pipelined_ms(ctx, &mut trainer, &inputs, args.epochs)?,
            host_record_submit_ms(ctx, &trainer)?,
        )
    } else {
        (f64::NAN, f64::NAN)
    };

    // Before the calibration, whose 128 MiB copy buffers live in host memory on CPU
    // adapters and would otherwise count as training's.
    let peak_rss = peak_rss_mib();
    let (kernel_timing, kernels, calibration) = if detailed {
        let calibration = calibrate(ctx)?;
        // (7 profiled epochs, fewer when fewer were asked for: a large graph's epoch is long)
        let (how, rows) = kernel_table(ctx, &trainer, calibration.as_ref(), args.epochs.min(7))?;
        (how, rows, calibration)
    } else {
        ("skipped", Vec::new(), None)
    };
    Ok(BenchReport {
        dataset: graph.name.clone(),
        model: args.model,
        recipe: args.recipe,
        adapter: ctx.summary.clone(),
        nodes: n,
        edges: graph.edges.len(),
        epoch: Spread::of(times),
        pipelined_ms_per_epoch: pipelined,
        launch_to_first_epoch_s: first,
        peak_rss_mib: peak_rss,
        gpu_buffer_mib: gpu_bytes as f64 / (1024.0 * 1024.0),
        dispatches_per_epoch: trainer.engine.step.dispatch_count(),
        submissions_per_epoch: 1,
        host_record_submit_ms,
        host_negatives_ms,
        host_to_gpu_bytes_per_epoch,
        kernel_timing,
        kernels,
        calibration,
    })
}

/// Wall time per epoch with epochs submitted back to back (up to the reader's ring in flight).
fn pipelined_ms(
    ctx: &GpuContext,
    trainer: &mut Trainer,
    inputs: &TrainInputs<'_>,
    epochs: u32,
) -> Result<f64> {
    let t = Instant::now();
    let mut submitted = 0;
    while submitted < epochs {
        if trainer.try_submit(ctx, inputs)? {
            submitted += 1;
        } else {
            for row in pollster::block_on(trainer.collect_oldest(ctx)) {
                row.map_err(anyhow::Error::msg)?;
            }
        }
    }
    while trainer.in_flight() > 0 {
        for row in pollster::block_on(trainer.collect_oldest(ctx)) {
            row.map_err(anyhow::Error::msg)?;
        }
    }
    Ok(t.elapsed().as_secs_f64() * 1e3 / epochs as f64)
}

/// Host time to record one epoch's command buffer and submit it (median of 10).
fn host_record_submit_ms(ctx: &GpuContext, trainer: &Trainer) -> Result<f64> {
    // Measured on recordings that are submitted for real, the queue drained between them so
    // that only the host's work is timed; the median resists preemption on a shared machine.
    let mut host = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let mut enc = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("epoch"),
            });
        trainer.engine.step.encode(&mut enc);
        ctx.queue.submit([enc.finish()]);
        host.push(t.elapsed().as_secs_f64() * 1e3);
        ctx.wait_idle()?;
    }
    Ok(Spread::of(host).median_ms)
}

fn kernel_table(
    ctx: &GpuContext,
    trainer: &Trainer,
    cal: Option<&Calibration>,
    reps: u32,
) -> Result<(&'static str, Vec<KernelRow>)> {
    if !ctx.summary.timestamp_queries {
        return Ok(("unavailable (adapter has no timestamp queries)", Vec::new()));
    }
    let schedule = &trainer.engine.step;
    // Each launch's time is the median over `reps` profiled epochs: on a shared CPU adapter
    // one preempted launch would otherwise dominate a mean.
    let reps = reps.max(1);
    let mut timed: Vec<(&'static str, Option<Cost>)> = Vec::new();
    let mut samples: Vec<Vec<f64>> = Vec::new();
    for _ in 0..reps {
        let (launches, ms) = pollster::block_on(schedule.profile(ctx))?;
        timed = launches;
        samples.resize(timed.len(), Vec::new());
        for (v, t) in samples.iter_mut().zip(ms) {
            v.push(t);
        }
    }
    let ms: Vec<f64> = samples
        .into_iter()
        .map(|v| Spread::of(v).median_ms)
        .collect();
    let mut rows = kernel_rows(&timed, &ms);
    if let Some(c) = cal {
        for r in &mut rows {
            r.pct_of_peak = 100.0 * (r.gflops / c.matmul_gflops).max(r.gbps / c.copy_gbps);
        }
    }
    Ok((
        if reps == 7 {
            "GPU timestamps, one pass per launch, median of 7 epochs"
        } else {
            "GPU timestamps, one pass per launch, median of fewer than 7 epochs (--epochs)"
        },
        rows,
    ))
}

/// The adapter's best dense-matmul rate (our kernel, a large square product) and its
/// buffer-copy bandwidth, both from GPU timestamps (wall clock without them).
fn calibrate(ctx: &GpuContext) -> Result<Option<Calibration>> {
    use crate::kernels::{Epilogue, matmul};
    // Small enough (0.27 GFLOP) that the best of several runs dodges preemption on a shared
    // CPU adapter; large enough to keep every core busy.
    let s = 512usize;
    let a = GpuBuffer::<f32>::from_slice(ctx, "cal a", &vec![0.5; s * s])?;
    let b = GpuBuffer::<f32>::from_slice(ctx, "cal b", &vec![0.25; s * s])?;
    let c = GpuBuffer::<f32>::zeros(ctx, "cal c", s * s)?;
    let mm = matmul::bind(
        ctx,
        matmul::Form::NN,
        (&a).into(),
        (&b).into(),
        (&c).into(),
        s,
        s,
        s,
        Epilogue::default(),
    )?;
    let copy_len = 16 << 20; // 64 MiB of f32
    let src = GpuBuffer::<f32>::zeros(ctx, "cal copy src", copy_len)?;
    let dst = GpuBuffer::<f32>::zeros(ctx, "cal copy dst", copy_len)?;
    let bytes = (copy_len * 4) as u64;
    let time = |f: &dyn Fn(&mut wgpu::CommandEncoder, Option<&wgpu::QuerySet>)| -> Result<f64> {
        let mut best = f64::INFINITY;
        for _ in 0..7 {
            let dt = if ctx.summary.timestamp_queries {
                let ns =
                    pollster::block_on(crate::gpu::timestamps(ctx, 2, |enc, q| f(enc, Some(q))))?;
                (ns[1] - ns[0]) * 1e-9
            } else {
                let t = Instant::now();
                let mut enc = ctx.device.create_command_encoder(&Default::default());
                f(&mut enc, None);
                ctx.queue.submit([enc.finish()]);
                ctx.wait_idle()?;
                t.elapsed().as_secs_f64()
            };
            best = best.min(dt);
        }
        Ok(best)
    };
    let mm_s = time(&|enc, q| {
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("calibration matmul"),
            timestamp_writes: q.map(|q| wgpu::ComputePassTimestampWrites {
                query_set: q,
                beginning_of_pass_write_index: Some(0),
                end_of_pass_write_index: Some(1),
            }),
        });
        mm.record(&mut pass);
    })?;
    let copy_s = time(&|enc, q| {
        if let Some(q) = q {
            enc.write_timestamp(q, 0);
        }
        enc.copy_buffer_to_buffer(&src.buffer, 0, &dst.buffer, 0, bytes);
        if let Some(q) = q {
            enc.write_timestamp(q, 1);
        }
    })?;
    Ok(Some(Calibration {
        matmul_gflops: 2.0 * (s * s * s) as f64 / mm_s * 1e-9,
        matmul_shape: [s, s, s],
        // A copy reads and writes every byte.
        copy_gbps: 2.0 * bytes as f64 / copy_s * 1e-9,
    }))
}

fn print_report(r: &BenchReport) {
    println!(
        "{}{} on {} ({} nodes, {} edges)",
        r.model.name(),
        if r.recipe == Recipe::Paper {
            ", paper recipe"
        } else {
            ""
        },
        r.dataset,
        r.nodes,
        r.edges
    );
    println!(
        "adapter    {} — {} backend, driver {} {}",
        r.adapter.name, r.adapter.backend, r.adapter.driver, r.adapter.driver_info
    );
    let e = &r.epoch;
    println!(
        "epoch      median {:.2} ms (p10 {:.2}, p90 {:.2}, min {:.2}, max {:.2}); pipelined {:.2} ms",
        e.median_ms, e.p10_ms, e.p90_ms, e.min_ms, e.max_ms, r.pipelined_ms_per_epoch
    );
    println!(
        "launch → first epoch done  {:.3} s",
        r.launch_to_first_epoch_s
    );
    println!("{}", memory_line(r.peak_rss_mib, r.gpu_buffer_mib));
    println!(
        "per epoch  {} dispatches, {} submission; host record+submit {:.3} ms, host negatives {:.3} ms (overlapped; 0 when drawn on the GPU); host→GPU {}",
        r.dispatches_per_epoch,
        r.submissions_per_epoch,
        r.host_record_submit_ms,
        r.host_negatives_ms,
        if r.host_to_gpu_bytes_per_epoch < 1024.0 {
            format!("{:.0} B", r.host_to_gpu_bytes_per_epoch)
        } else {
            format!("{:.1} KiB", r.host_to_gpu_bytes_per_epoch / 1024.0)
        }
    );
    if let Some(c) = &r.calibration {
        println!(
            "calibration  matmul {}³ {:.2} GFLOP/s, copy {:.2} GB/s",
            c.matmul_shape[0], c.matmul_gflops, c.copy_gbps
        );
    }
    println!("kernels    ({})", r.kernel_timing);
    if !r.kernels.is_empty() {
        println!(
            "  {:<22} {:>5} {:>10} {:>10} {:>10} {:>8} {:>8} {:>7}",
            "kernel", "calls", "ms/epoch", "MFLOP", "MB", "GFLOP/s", "GB/s", "% peak"
        );
        for k in &r.kernels {
            println!(
                "  {:<22} {:>5} {:>10.3} {:>10.2} {:>10.2} {:>8.2} {:>8.2} {:>7.1}",
                k.kernel,
                k.calls,
                k.ms_per_epoch,
                k.flops * 1e-6,
                k.bytes * 1e-6,
                k.gflops,
                k.gbps,
                k.pct_of_peak
            );
        }
        let total: f64 = r.kernels.iter().map(|k| k.ms_per_epoch).sum();
        let calls: usize = r.kernels.iter().map(|k| k.calls).sum();
        println!(
            "  {:<22} {:>5} {:>10.3}   (epoch median {:.3} ms)",
            "total (kernels)", calls, total, r.epoch.median_ms
        );
    }
}

#[derive(Serialize)]
struct ScaleRow {
    nodes: usize,
    edges: usize,
    generate_s: f64,
    /// None when the graph did not fit on the device (see `error`).
    epoch_ms: Option<f64>,
    gpu_buffer_mib: f64,
    peak_rss_mib: Option<f64>,
    /// Why this size could not be trained (e.g. a buffer over the device's binding limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn run_scale(args: &BenchArgs) -> Result<()> {
    let ctx = GpuContext::new_blocking()?;
    let mut rows = Vec::new();
    let mut nodes = 10_000;
    if !args.json {
        println!(
            "{:>9} {:>10} {:>10} {:>11} {:>12} {:>10}",
            "nodes", "edges", "gen (s)", "epoch (ms)", "GPU (MiB)", "RSS (MiB)"
        );
    }
    while nodes <= args.scale_max {
        let spec = format!("sbm:nodes={nodes},classes=8,degree=20,features=128,seed=1");
        let t = Instant::now();
        let source = DataSource {
            dataset: spec.clone(),
            ..args.source.clone()
        };
        let graph = source.load()?;
        let generate_s = t.elapsed().as_secs_f64();
        let before = ctx.allocated_bytes();
        let sub = BenchArgs {
            epochs: args.epochs.min(3),
            warmup: 1,
            ..clone_args(args)
        };
        // A graph too large for the device is a row of the table (with the device's reason),
        // not the end of the report.
        let result = bench_graph(&sub, &ctx, &graph, Instant::now(), false);
        let allocated = ctx.allocated_bytes().saturating_sub(before);
        let (epoch_ms, error) = match result {
            Ok(r) => (Some(r.epoch.median_ms), None),
            Err(e) => match e.downcast_ref::<GpuError>() {
                Some(GpuError::BufferTooLarge { .. } | GpuError::GraphTooLarge { .. }) => {
                    (None, Some(format!("{e:#}")))
                }
                _ => return Err(e).with_context(|| format!("training on {spec}")),
            },
        };
        let row = ScaleRow {
            nodes,
            edges: graph.edges.len(),
            generate_s,
            epoch_ms,
            gpu_buffer_mib: allocated as f64 / (1024.0 * 1024.0),
            peak_rss_mib: peak_rss_mib(),
            error,
        };
        if !args.json {
            println!(
                "{:>9} {:>10} {:>10.2} {:>11} {:>12.1} {:>10}",
                row.nodes,
                row.edges,
                row.generate_s,
                row.epoch_ms.map_or("—".into(), |m| format!("{m:.1}")),
                row.gpu_buffer_mib,
                row.peak_rss_mib.map_or("n/a".into(), |m| format!("{m:.0}"))
            );
            if let Some(e) = &row.error {
                println!("          does not fit: {e}");
            }
        }
        rows.push(row);
        nodes = if nodes.to_string().starts_with('1') {
            nodes * 3
        } else {
            nodes * 10 / 3
        };
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    Ok(())
}

/// `a` for one graph of the scale run.
fn clone_args(a: &BenchArgs) -> BenchArgs {
    BenchArgs {
        scale: false,
        ..a.clone()
    }
}
