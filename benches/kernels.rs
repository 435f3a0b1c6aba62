//! Criterion timings of the main training kernels at Cora's shapes and of one whole ARGVA
//! epoch: `cargo bench --bench kernels`.
//!
//! Cora is the copy compiled into argva (or `$ARGVA_DATA`'s, when that holds one). The kernels timed are the engine's own bound dispatches (found by their
//! profile label in the recorded epoch), so they run at exactly the shapes training uses.
//! Every iteration submits one command buffer and waits for the device to go idle, so a
//! sample includes the submit + wait overhead (a few hundred µs on lavapipe).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha8Rng;

use argva::data::split::{NegativeSampler, link_split};
use argva::data::{self, Graph, LoadOptions};
use argva::gpu::{Dispatch, GpuContext};
use argva::model::ModelKind;
use argva::train::{TrainConfig, TrainInputs, Trainer};

/// Labels of the kernels timed alone, as `argva bench` names them.
const KERNELS: &[&str] = &[
    "spmm X·W",
    "spmm Â·H",
    "spmm Xᵀ·G",
    "matmul NN",
    "matmul NT",
    "matmul TN",
    "decoder_loss",
    "decoder_gather",
    "adam",
];

fn graph() -> Graph {
    // `$ARGVA_DATA` (or ./data) when it holds Cora, else the copy compiled into argva.
    data::load("cora", &LoadOptions::default()).expect("Cora is embedded in argva")
}

fn wait(ctx: &GpuContext) {
    ctx.wait_idle().expect("device wait");
}

fn submit_one(ctx: &GpuContext, d: &Dispatch) {
    argva::gpu::submit(ctx, "bench kernel", &[d]);
    wait(ctx);
}

fn benches(c: &mut Criterion) {
    let ctx = match GpuContext::new_blocking() {
        Ok(ctx) => ctx,
        Err(e) => {
            eprintln!("no GPU adapter, nothing to benchmark: {e}");
            return;
        }
    };
    let graph = graph();
    let split = link_split(&graph, 0.05, 0.1, 0).expect("link split");
    let n = graph.num_nodes;
    let adjacency = data::gcn_norm(n, &split.train_pos);
    let sampler = NegativeSampler::new(n, &split.train_pos).expect("negative sampler");
    let sample = |rng: &mut ChaCha8Rng, count: usize| sampler.sample(rng, count);
    let inputs = TrainInputs {
        features: (&graph.features).into(),
        adjacency: (&adjacency).into(),
        train_pos: &split.train_pos,
        sample_negatives: &sample,
    };
    let cfg = TrainConfig {
        model: ModelKind::Argva,
        epochs: u32::MAX,
        ..TrainConfig::default()
    };
    let mut trainer = Trainer::new(&ctx, &cfg, &inputs).expect("trainer");
    // One real epoch first: pipelines compiled, pair list and clock written.
    let epoch = |trainer: &mut Trainer| {
        assert!(trainer.try_submit(&ctx, &inputs).expect("submit"));
        for row in pollster::block_on(trainer.collect_oldest(&ctx)) {
            row.expect("epoch losses");
        }
    };
    epoch(&mut trainer);

    let mut group = c.benchmark_group(format!("kernels ({})", graph.name));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for &label in KERNELS {
        let found = (trainer.engine.step.steps.iter())
            .find(|s| s.dispatch.label == label)
            .map(|s| s.dispatch.clone());
        match found {
            Some(d) => {
                group.bench_function(label, |b| b.iter(|| submit_one(&ctx, &d)));
            }
            None => eprintln!("no `{label}` dispatch in the ARGVA epoch; skipped"),
        }
    }
    group.finish();

    let mut group = c.benchmark_group(format!("epoch ({})", graph.name));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("argva epoch (negatives + submit + wait)", |b| {
        b.iter(|| epoch(&mut trainer))
    });
    group.finish();
}

criterion_group!(kernel_benches, benches);
criterion_main!(kernel_benches);
