//! Mini-batch training: an engine allocated for the largest batch trains a batch bit for bit
//! as an engine built for exactly that batch (after a larger one left its data behind), and
//! Cluster-GCN steps on Cora learn an embedding close to full-batch training's.

use std::ops::ControlFlow;

use argva::data::cluster::{Batch, ClusterBatches};
use argva::data::{LoadOptions, link_split, load};
use argva::model::ModelKind;
use argva::train::engine::{Capacity, Engine, Negatives, PositiveTables};
use argva::train::fit::link_scores;
use argva::train::layerwise::{ChunkBudget, embed_layerwise};
use argva::train::minibatch::{
    AUTO_MIN_PER_BATCH, AUTO_PART_NODES, BatchSpec, fit_batches, plan_batches,
};
use argva::train::{Prepared, TrainConfig};

use super::ctx;

fn tables(b: &Batch) -> PositiveTables {
    PositiveTables::new(b.nodes.len(), &b.positives).unwrap()
}

#[test]
fn a_capacity_engine_trains_a_batch_as_an_engine_built_for_it() {
    let ctx = ctx();
    let g = load("cora", &LoadOptions::default()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 0).unwrap();
    let mut features = g.features.clone();
    features.row_normalize();
    let mut cb = ClusterBatches::new(&features, &split.train_pos, 8, 2, 3).unwrap();
    let bounds = cb.bounds();
    let mut batches: Vec<Batch> = cb.epoch_groups(1, 0).iter().map(|q| cb.batch(q)).collect();
    batches.sort_by_key(|b| std::cmp::Reverse(b.nodes.len()));
    // The largest batch first, so the smaller one runs over its leftovers.
    let (big, small) = (&batches[0], &batches[batches.len() - 1]);
    assert!(big.nodes.len() > small.nodes.len());
    let cap: Capacity = bounds;
    for kind in [
        ModelKind::Gae,
        ModelKind::Vgae,
        ModelKind::Arga,
        ModelKind::Argva,
    ] {
        let cfg = TrainConfig {
            model: kind,
            latent: 8,
            hidden: 16,
            disc_hidden: 16,
            disc_steps: 2,
            ..TrainConfig::DEFAULT
        };
        let arch = cfg.arch(features.cols);
        let (enc0, dis0) = cfg.init_params(&arch);
        let negatives = Negatives::Gpu { seed: 4 };
        let exact_cfg = cfg.engine_config(small.positives.len(), negatives);
        let (x, a) = ((&small.features).into(), (&small.a_hat).into());
        let exact = Engine::new(ctx, arch, exact_cfg, x, a, &enc0, &dis0).unwrap();
        exact.set_positives(ctx, &tables(small)).unwrap();

        let engine_cfg = cfg.engine_config(0, negatives);
        let mut batched = Engine::with_capacity(ctx, arch, engine_cfg, cap, &enc0, &dis0).unwrap();
        let fresh = pollster::block_on(batched.read_state(ctx)).unwrap();
        let (x, a) = ((&big.features).into(), (&big.a_hat).into());
        batched.load_batch(ctx, x, a, &tables(big)).unwrap();
        batched.submit_step(ctx, 0).unwrap();
        batched.write_state(ctx, &fresh).unwrap();
        let (x, a) = ((&small.features).into(), (&small.a_hat).into());
        batched.load_batch(ctx, x, a, &tables(small)).unwrap();
        assert_eq!(batched.step.dispatch_count(), exact.step.dispatch_count());
        for step in 0..3 {
            exact.submit_step(ctx, step).unwrap();
            batched.submit_step(ctx, step).unwrap();
        }
        let want = pollster::block_on(exact.read_state(ctx)).unwrap();
        let got = pollster::block_on(batched.read_state(ctx)).unwrap();
        assert!(want.encoder.iter().all(|v| v.is_finite()));
        assert_ne!(want.encoder, enc0, "{kind:?}: the steps trained nothing");
        assert!(got == want, "{kind:?}: the states after 3 steps differ");
        batched.encode.submit(ctx);
        exact.encode.submit(ctx);
        let (e, b) = pollster::block_on(async {
            (
                exact.embedding(ctx).await.unwrap(),
                batched.embedding(ctx).await.unwrap(),
            )
        });
        assert_eq!(e.len(), small.nodes.len() * cfg.latent);
        assert!(b == e, "{kind:?}: the embeddings differ");
    }
}

#[test]
fn a_batch_past_the_capacity_is_refused_with_its_sizes() {
    let ctx = ctx();
    let g = load("cora", &LoadOptions::default()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 0).unwrap();
    let mut cb = ClusterBatches::new(&g.features, &split.train_pos, 8, 1, 3).unwrap();
    let bounds = cb.bounds();
    let b = cb.batch(&[0, 1]); // two parts: past a one-part capacity
    let cfg = TrainConfig::DEFAULT;
    let arch = cfg.arch(g.features.cols);
    let (enc0, dis0) = cfg.init_params(&arch);
    let cap: Capacity = bounds;
    let engine_cfg = cfg.engine_config(0, Negatives::Gpu { seed: 1 });
    let mut engine = Engine::with_capacity(ctx, arch, engine_cfg, cap, &enc0, &dis0).unwrap();
    let (x, a) = ((&b.features).into(), (&b.a_hat).into());
    let err = engine
        .load_batch(ctx, x, a, &tables(&b))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "{} nodes, the engine holds at most {}",
            b.nodes.len(),
            cap.nodes
        )),
        "{err}"
    );
    // One built for one graph takes no batch.
    let full_cfg = cfg.engine_config(b.positives.len(), Negatives::Host);
    let (x, a) = ((&b.features).into(), (&b.a_hat).into());
    let mut full = Engine::new(ctx, arch, full_cfg, x, a, &enc0, &dis0).unwrap();
    let (x, a) = ((&b.features).into(), (&b.a_hat).into());
    let err = full
        .load_batch(ctx, x, a, &tables(&b))
        .unwrap_err()
        .to_string();
    assert!(err.contains("built for one graph"), "{err}");
}

/// Cluster-GCN steps (8 parts, 4 per step: 2 steps per epoch, 50 epochs) on Cora against 100
/// full-batch epochs: the same number of Adam steps (with more steps GAE overfits: see
/// `docs/minibatch.md`, which has the 5-seed comparison). Test AUC and AP within 0.02, and the
/// same seed gives the same bytes.
#[test]
fn minibatch_gae_on_cora_learns_what_full_batch_learns() {
    let ctx = ctx();
    let g = load("cora", &LoadOptions::default()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 0).unwrap();
    let cfg = TrainConfig {
        model: ModelKind::Gae,
        epochs: 100,
        ..TrainConfig::DEFAULT
    };
    let prepared = Prepared::new(&g, &split.train_pos, cfg.normalize_features);
    let spec = BatchSpec {
        parts: 8,
        per_batch: 4,
    };
    let batch_cfg = TrainConfig {
        epochs: 50,
        ..cfg.clone()
    };
    let run = |ctx| {
        let mut quiet = |_: argva::train::fit::Event<'_>| ControlFlow::Continue(());
        let (x, pos) = (&prepared.features, &split.train_pos);
        let batches = plan_batches(&batch_cfg, x, pos, Some(spec), None, Some(ctx)).unwrap();
        let fit = fit_batches(ctx, &batch_cfg, batches, pos, 0.0, &mut quiet);
        let fit = pollster::block_on(fit).unwrap();
        let emb = embed_whole_graph(
            ctx,
            &cfg,
            &prepared.features,
            &prepared.adjacency,
            &fit.state,
        )
        .unwrap();
        (fit, emb)
    };
    let (fit, emb) = run(ctx);
    assert_eq!(fit.steps, 50 * 2);
    assert_eq!(fit.history.len(), 50);
    assert!(fit.history[49].recon < fit.history[0].recon);
    let batched = link_scores(&emb, cfg.latent, &split.test_pos, &split.test_neg);

    let sampler = argva::data::NegativeSampler::new(g.num_nodes, &split.train_pos).unwrap();
    let sample = |rng: &mut rand_chacha::ChaCha8Rng, k: usize| sampler.sample(rng, k);
    let inputs = prepared.inputs(&split.train_pos, &sample);
    let val = argva::train::fit::Validation {
        pos: &[],
        neg: &[],
        every: 0,
        select_best: false,
    };
    let mut quiet = |_: argva::train::fit::Event<'_>| ControlFlow::Continue(());
    let full =
        argva::train::fit::fit(ctx, &cfg, &inputs, &val, &Default::default(), &mut quiet).unwrap();
    let whole = link_scores(
        &full.embedding,
        cfg.latent,
        &split.test_pos,
        &split.test_neg,
    );
    println!(
        "Cora GAE test AUC: mini-batch {:.4}, full batch {:.4}",
        batched.auc, whole.auc
    );
    assert!(batched.auc > whole.auc - 0.02, "{batched:?} vs {whole:?}");
    assert!(batched.ap > whole.ap - 0.02, "{batched:?} vs {whole:?}");
    let (again, emb2) = run(ctx);
    assert!(emb2 == emb, "same seed, same embedding");
    assert_eq!(again.steps, fit.steps);
}

/// The layer-wise embedding (row chunks, halos gathered on the host) equals the whole-graph
/// forward bit for bit, for every model, with random parameters (biases too) and budgets
/// from one chunk to many chunks of awkward sizes.
#[test]
fn the_layerwise_embedding_is_the_whole_graph_forward() {
    let ctx = ctx();
    let g = load("cora", &LoadOptions::default()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 0).unwrap();
    let prepared = Prepared::new(&g, &split.train_pos, false);
    let (x, a) = (&prepared.features, &prepared.adjacency);
    for (kind, seed) in [
        (ModelKind::Gae, 1),
        (ModelKind::Vgae, 2),
        (ModelKind::Arga, 3),
        (ModelKind::Argva, 4),
    ] {
        let cfg = TrainConfig {
            model: kind,
            latent: 12,
            hidden: 20,
            ..TrainConfig::DEFAULT
        };
        let arch = cfg.arch(x.cols);
        let len = argva::model::ParamLayout::encoder(&arch).len;
        let mut rng = argva::testing::rng(seed);
        let encoder = argva::testing::uniform_f32(&mut rng, len, -0.3, 0.3);
        let state = argva::train::engine::EngineState {
            encoder: encoder.clone(),
            ..pollster::block_on(whole_state(ctx, &cfg, x, a)).unwrap()
        };
        let want = embed_whole_graph(ctx, &cfg, x, a, &state).unwrap();
        assert!(want.iter().any(|v| *v != 0.0) && want.iter().all(|v| v.is_finite()));
        // 64 MiB: one chunk; 300 KiB and 40 KiB: many chunks, none a multiple of 64 rows.
        for kib in [64 << 10, 300, 40] {
            let budget = ChunkBudget { bytes: kib << 10 };
            let embedded = embed_layerwise(ctx, &arch, &encoder, x, a, budget);
            let (got, stats) = pollster::block_on(embedded).unwrap();
            assert_eq!(got.len(), g.num_nodes * cfg.latent);
            assert!(got == want, "{kind:?}, {kib} KiB ({} chunks)", stats.chunks);
            if kib < 1000 {
                assert!(stats.chunks > 4, "{kib} KiB: {} chunks", stats.chunks);
                assert!(
                    stats.gpu_bytes <= (kib << 10) + 4 * len as u64 + 4096,
                    "{stats:?}"
                );
            }
        }
    }
}

/// A freshly initialised engine's state (its discriminator and Adam moments), to which a
/// test gives encoder parameters of its own.
async fn whole_state(
    ctx: &argva::gpu::GpuContext,
    cfg: &TrainConfig,
    x: &argva::data::Csr,
    a: &argva::data::Csr,
) -> argva::gpu::GpuResult<argva::train::engine::EngineState> {
    let arch = cfg.arch(x.cols);
    let (enc0, dis0) = cfg.init_params(&arch);
    let engine_cfg = cfg.engine_config(1, Negatives::Host);
    let engine = Engine::new(ctx, arch, engine_cfg, x.into(), a.into(), &enc0, &dis0)?;
    engine.read_state(ctx).await
}

/// `--gpu-memory` alone picks the fewest batches whose engine fits, and a budget that holds
/// no batch, or a given batch over it, is refused with the sizes.
#[test]
fn a_gpu_budget_picks_batches_that_fit_or_says_why_not() {
    let g = load("cora", &LoadOptions::default()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 0).unwrap();
    let cfg = TrainConfig::DEFAULT;
    let (x, pos) = (&g.features, &split.train_pos);
    let arch = cfg.arch(x.cols);
    let engine_cfg = cfg.engine_config(0, Negatives::Gpu { seed: 0 });
    let full = argva::train::minibatch::full_batch_bytes(&cfg, x, pos);
    let budget = full / 3;
    let cb = plan_batches(&cfg, x, pos, None, Some(budget), None).unwrap();
    let need = cb.bounds().bytes(&arch, &engine_cfg);
    assert!(need <= budget, "{need} > {budget}");
    assert!(cb.steps_per_epoch() >= 3, "{} steps", cb.steps_per_epoch());
    // Many small clusters per step (docs/minibatch.md, quality): ~64 nodes each, Q of P.
    // (more clusters than N / 64 only where ≥ 4 per step need them; never under 32 nodes)
    let parts = cb.partition.parts;
    assert!(parts >= g.num_nodes / AUTO_PART_NODES, "{parts} clusters");
    assert!(g.num_nodes / parts >= 32, "{parts} clusters");
    assert!(cb.per_batch >= AUTO_MIN_PER_BATCH, "{}", cb.per_batch);
    let half = plan_batches(&cfg, x, pos, None, Some(full * 2 / 3), None).unwrap();
    assert_eq!(half.partition.parts, g.num_nodes / AUTO_PART_NODES);
    assert!(half.steps_per_epoch() < cb.steps_per_epoch());
    let err = plan_batches(&cfg, x, pos, None, Some(64 << 10), None)
        .err()
        .unwrap();
    assert!(err.contains("cannot hold even one batch"), "{err}");
    let spec = BatchSpec {
        parts: 2,
        per_batch: 2,
    };
    let err = plan_batches(&cfg, x, pos, Some(spec), Some(budget), None)
        .err()
        .unwrap();
    assert!(
        err.contains("over --gpu-memory") && err.contains("use more parts"),
        "{err}"
    );
}

/// The oracle of the layer-wise embedding: the whole graph's encoder forward in one engine
/// (the full-batch engine's own evaluation), under `state`'s parameters.
fn embed_whole_graph(
    ctx: &argva::gpu::GpuContext,
    cfg: &TrainConfig,
    features: &argva::data::Csr,
    adjacency: &argva::data::Csr,
    state: &argva::train::engine::EngineState,
) -> argva::gpu::GpuResult<Vec<f32>> {
    let arch = cfg.arch(features.cols);
    // No training step runs here: the smallest pair list and host negatives (no tables).
    let engine_cfg = cfg.engine_config(1, Negatives::Host);
    let dis0 = cfg.init_params(&arch).1; // (replaced by the state's)
    let (x, a) = (features.into(), adjacency.into());
    let engine = Engine::new(ctx, arch, engine_cfg, x, a, &state.encoder, &dis0)?;
    engine.write_state(ctx, state)?;
    engine.encode.submit(ctx);
    pollster::block_on(engine.embedding(ctx))
}
