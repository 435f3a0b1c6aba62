//! Same seed → the same bytes, release to release: the engine's results (losses, final
//! parameters and Adam moments, embedding) on Cora and on a graph that takes every
//! split-binding path, as SHA-256 digests recorded per adapter in
//! `tests/fixtures/engine_digests.json`. A refactor of the engine that changes any bit fails
//! here. An adapter without a recording checks that two runs agree and prints its digests
//! (add them to the fixture to pin that adapter too).

use std::collections::BTreeMap;

use argva::data::{self, LoadOptions, NegativeSampler};
use argva::gpu::GpuContext;
use argva::model::ModelKind;
use argva::train::engine::EngineState;
use argva::train::fit::{Checkpointing, Validation, fit};
use argva::train::{Prepared, TrainConfig};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::train::SplitCase;
use crate::{ctx, small_binding_ctx};

const KINDS: [ModelKind; 4] = [
    ModelKind::Gae,
    ModelKind::Vgae,
    ModelKind::Arga,
    ModelKind::Argva,
];

fn digest(parts: &[&[f32]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(bytemuck::cast_slice::<f32, u8>(p));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn state_parts(s: &EngineState) -> [&[f32]; 6] {
    [
        &s.encoder,
        &s.discriminator,
        &s.encoder_adam.0,
        &s.encoder_adam.1,
        &s.discriminator_adam.0,
        &s.discriminator_adam.1,
    ]
}

/// Three epochs of `kind` on Cora through the training driver (GPU noise, host negatives).
fn cora(ctx: &GpuContext, kind: ModelKind) -> String {
    let g = data::load("cora", &LoadOptions::default()).unwrap();
    let split = data::link_split(&g, 0.05, 0.1, 0).unwrap();
    let prepared = Prepared::new(&g, &split.train_pos, false);
    let sampler = NegativeSampler::new(g.num_nodes, &split.train_pos).unwrap();
    let sample = |rng: &mut ChaCha8Rng, count: usize| sampler.sample(rng, count);
    let inputs = prepared.inputs(&split.train_pos, &sample);
    let cfg = TrainConfig {
        model: kind,
        epochs: 3,
        ..TrainConfig::default()
    };
    let val = Validation {
        pos: &[],
        neg: &[],
        every: 0,
        select_best: false,
    };
    let r = fit(
        ctx,
        &cfg,
        &inputs,
        &val,
        &Checkpointing::default(),
        &mut |_| std::ops::ControlFlow::Continue(()),
    )
    .unwrap();
    let losses: Vec<f32> = r
        .history
        .iter()
        .flat_map(|l| [l.recon, l.reg, l.kl, l.disc])
        .collect();
    let mut parts = vec![losses.as_slice(), r.embedding.as_slice()];
    parts.extend(state_parts(&r.state));
    digest(&parts)
}

/// Three epochs on a 200-node graph under an 8 KiB binding limit (every split path).
fn split(ctx: &GpuContext, kind: ModelKind) -> String {
    let (_, losses, state, z) = SplitCase::new().three_epochs(ctx, kind);
    let mut parts = vec![losses.as_slice(), z.as_slice()];
    parts.extend(state_parts(&state));
    digest(&parts)
}

fn digests() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kind in KINDS {
        out.insert(format!("cora {}", kind.name()), cora(ctx(), kind));
        out.insert(
            format!("split {}", kind.name()),
            split(small_binding_ctx(), kind),
        );
    }
    out
}

#[test]
fn results_equal_the_recorded_engine() {
    let s = &ctx().summary;
    let adapter = format!("{} | {} | {}", s.backend, s.name, s.driver_info);
    let recorded: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(include_str!("../fixtures/engine_digests.json")).unwrap();
    let got = digests();
    match recorded.get(&adapter) {
        Some(want) => assert_eq!(&got, want, "results changed on {adapter}"),
        None => {
            assert_eq!(got, digests(), "two runs differ on {adapter}");
            eprintln!(
                "no recorded digests for {adapter:?}; this adapter's:\n{}",
                serde_json::to_string_pretty(&BTreeMap::from([(adapter.clone(), got)])).unwrap()
            );
        }
    }
}
