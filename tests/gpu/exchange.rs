//! A step that stops for its gradients (`Engine::exchange_gradients`, the distributed
//! step's mechanism): with the gradients handed back unchanged it trains to the fused step's
//! bytes, for every model; what the exchange returns is what Adam then uses.

use argva::data::{LoadOptions, NegativeSampler, link_split};
use argva::dist::{Collective, InProcess, ordered_sum};
use argva::model::ModelKind;
use argva::train::engine::{EngineState, Exchange};
use argva::train::schedule::Gradients;
use argva::train::{Overrides, Prepared, Recipe, TrainConfig, Trainer};

use crate::ctx;

const STEPS: u32 = 3;

/// A trainer (GPU negatives, 3 discriminator steps) on a 400-node SBM drawn with `graph_seed`.
fn trainer(kind: ModelKind, graph_seed: u64) -> Trainer {
    let ctx = ctx();
    let spec = format!("sbm:nodes=400,classes=4,degree=8,features=24,seed={graph_seed}");
    let g = argva::data::load(&spec, &LoadOptions::default()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 1).unwrap();
    let prepared = Prepared::new(&g, &split.train_pos, false);
    let sampler = NegativeSampler::new(g.num_nodes, &split.train_pos).unwrap();
    let sample = |rng: &mut rand_chacha::ChaCha8Rng, count: usize| sampler.sample(rng, count);
    let inputs = prepared.inputs(&split.train_pos, &sample);
    let overrides = Overrides {
        latent: Some(8),
        disc_steps: Some(3),
        ..Overrides::default()
    };
    let cfg = TrainConfig::resolve(Recipe::Pyg, kind, 2, &overrides);
    Trainer::new(ctx, &cfg, &inputs).unwrap()
}

/// Losses of each step and the state after them: the fused step, or the exchanging one with
/// `exchange` standing in for the ranks.
fn train(kind: ModelKind, exchange: Option<&mut Exchange<'_>>) -> (Vec<Vec<f32>>, EngineState) {
    let ctx = ctx();
    let mut trainer = trainer(kind, 5);
    let engine = &mut trainer.engine;
    let mut losses = Vec::new();
    match exchange {
        None => {
            for step in 0..STEPS {
                engine.submit_step(ctx, step).unwrap();
                losses.push(engine.buffers.losses.read_blocking(ctx).unwrap());
            }
        }
        Some(exchange) => {
            engine.exchange_gradients(ctx).unwrap();
            for step in 0..STEPS {
                let run = engine.run_step_exchanging(ctx, step, exchange);
                losses.push(pollster::block_on(run).unwrap());
            }
        }
    }
    (losses, pollster::block_on(engine.read_state(ctx)).unwrap())
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn an_unchanged_exchange_trains_the_fused_steps_bytes() {
    for kind in ModelKind::ALL {
        let (fused_losses, fused) = train(kind, None);
        let mut seen = Vec::new();
        // Two "ranks" with the same gradient: their mean is that gradient, exactly.
        let mut mean_of_two = |whose: Gradients, g: Vec<f32>| -> Result<Vec<f32>, String> {
            seen.push(whose);
            Ok(g.iter().map(|&x| (x + x) * 0.5).collect())
        };
        let (losses, state) = train(kind, Some(&mut mean_of_two));
        let name = kind.name();
        assert!(
            fused_losses
                .iter()
                .zip(&losses)
                .all(|(a, b)| same_bits(a, b)),
            "{name} losses"
        );
        for (what, a, b) in [
            ("encoder", &fused.encoder, &state.encoder),
            ("discriminator", &fused.discriminator, &state.discriminator),
            ("encoder m", &fused.encoder_adam.0, &state.encoder_adam.0),
            ("encoder v", &fused.encoder_adam.1, &state.encoder_adam.1),
            (
                "discriminator m",
                &fused.discriminator_adam.0,
                &state.discriminator_adam.0,
            ),
        ] {
            assert!(
                same_bits(a, b),
                "{name}: {what} differs from the fused step's"
            );
        }
        // One exchange per discriminator step, then the encoder's, every step.
        let k = if kind.adversarial() { 3 } else { 0 };
        let per_step: Vec<Gradients> = std::iter::repeat_n(Gradients::Discriminator, k)
            .chain([Gradients::Encoder])
            .collect();
        assert_eq!(seen, per_step.repeat(STEPS as usize), "{name}");
    }
}

#[test]
fn adam_uses_what_the_exchange_returns() {
    let (_, fused) = train(ModelKind::Gae, None);
    let mut halve = |_: Gradients, g: Vec<f32>| -> Result<Vec<f32>, String> {
        Ok(g.iter().map(|&x| x * 0.5).collect())
    };
    let (_, halved) = train(ModelKind::Gae, Some(&mut halve));
    assert!(
        !same_bits(&fused.encoder, &halved.encoder),
        "the returned gradients were ignored"
    );
    let mut short = |_: Gradients, g: Vec<f32>| -> Result<Vec<f32>, String> { Ok(g[1..].to_vec()) };
    let ctx = ctx();
    let spec = "sbm:nodes=100,classes=2,degree=6,features=8,seed=5";
    let g = argva::data::load(spec, &LoadOptions::default()).unwrap();
    let split = link_split(&g, 0.05, 0.1, 1).unwrap();
    let prepared = Prepared::new(&g, &split.train_pos, false);
    let none = |_: &mut rand_chacha::ChaCha8Rng, _: usize| Vec::new();
    let inputs = prepared.inputs(&split.train_pos, &none);
    let cfg = TrainConfig::resolve(Recipe::Pyg, ModelKind::Gae, 2, &Overrides::default());
    let mut trainer = Trainer::new(ctx, &cfg, &inputs).unwrap();
    trainer.engine.exchange_gradients(ctx).unwrap();
    let err = pollster::block_on(trainer.engine.run_step_exchanging(ctx, 0, &mut short));
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("exchanged Encoder gradients")
    );
    let paper = TrainConfig::resolve(Recipe::Paper, ModelKind::Gae, 2, &Overrides::default());
    let mut trainer = Trainer::new(ctx, &paper, &inputs).unwrap();
    let refused = trainer
        .engine
        .exchange_gradients(ctx)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("pyg recipe's alternation"), "{refused}");
}

/// Two ranks, each training on its own graph, exchanging through the in-process collective
/// (their mean, summed in rank order): both hold the same bytes after every step, the same
/// again on a second run, and not what either would train alone.
#[test]
fn ranks_exchanging_through_the_collective_stay_replicas() {
    let run = || -> Vec<EngineState> {
        std::thread::scope(|s| {
            let ranks: Vec<_> = InProcess::world(2)
                .into_iter()
                .map(|comm| {
                    s.spawn(move || {
                        let ctx = ctx();
                        let mut trainer = trainer(ModelKind::Argva, 5 + comm.rank() as u64);
                        trainer.engine.exchange_gradients(ctx).unwrap();
                        let p = comm.size() as f32;
                        let mut mean = |_: Gradients, g: Vec<f32>| {
                            let sum = ordered_sum(&comm, &g).map_err(|e| e.to_string())?;
                            Ok(sum.iter().map(|x| x / p).collect())
                        };
                        for step in 0..STEPS {
                            let run = trainer.engine.run_step_exchanging(ctx, step, &mut mean);
                            pollster::block_on(run).unwrap();
                        }
                        pollster::block_on(trainer.engine.read_state(ctx)).unwrap()
                    })
                })
                .collect();
            ranks.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    let (a, b) = (run(), run());
    for (what, of) in [
        (
            "encoder",
            (|s: &EngineState| s.encoder.clone()) as fn(&EngineState) -> Vec<f32>,
        ),
        ("discriminator", |s| s.discriminator.clone()),
        ("encoder m", |s| s.encoder_adam.0.clone()),
        ("discriminator v", |s| s.discriminator_adam.1.clone()),
    ] {
        assert!(
            same_bits(&of(&a[0]), &of(&a[1])),
            "the ranks' {what} differ"
        );
        assert!(same_bits(&of(&a[0]), &of(&b[0])), "two runs' {what} differ");
    }
    let (_, alone) = train(ModelKind::Argva, None);
    assert!(
        !same_bits(&a[0].encoder, &alone.encoder),
        "the other rank's gradients count"
    );
}
