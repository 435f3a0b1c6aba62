//! The training driver end to end on a synthetic graph: the loss falls and held-out links are
//! predicted; the same seed gives bit-identical runs; a checkpointed, resumed run equals an
//! uninterrupted one.

use argva::checkpoint::Checkpoint;
use argva::data::split::{LinkSplit, NegativeSampler, link_split};
use argva::data::{self, Graph};
use argva::model::{Arch, ModelKind};
use argva::train::engine::{EngineState, Recon};
use argva::train::fit::{Checkpointing, Event, FitResult, Validation, fit};
use argva::train::{TrainConfig, TrainInputs};

use crate::ctx;

fn sbm() -> (Graph, LinkSplit) {
    let spec =
        data::sbm::SbmSpec::parse("nodes=400,classes=8,degree=8,features=64,seed=3,within=0.95")
            .unwrap();
    let g = data::sbm::generate(&spec).unwrap();
    let split = link_split(&g, 0.05, 0.1, 1).unwrap();
    (g, split)
}

struct Prepared {
    features: data::Csr,
    adjacency: data::Csr,
    sampler: NegativeSampler,
}

fn prepare(g: &Graph, split: &LinkSplit) -> Prepared {
    Prepared {
        features: g.features.clone(),
        adjacency: data::gcn_norm(g.num_nodes, &split.train_pos),
        sampler: NegativeSampler::new(g.num_nodes, &split.train_pos).unwrap(),
    }
}

fn run(
    cfg: &TrainConfig,
    select_best: bool,
    p: &Prepared,
    split: &LinkSplit,
    resume: &Checkpointing<'_>,
    saved: &mut Vec<(u32, EngineState)>,
) -> FitResult {
    let sample = |rng: &mut rand_chacha::ChaCha8Rng, count: usize| p.sampler.sample(rng, count);
    let inputs = TrainInputs {
        features: (&p.features).into(),
        adjacency: (&p.adjacency).into(),
        train_pos: &split.train_pos,
        sample_negatives: &sample,
    };
    let val = Validation {
        pos: &split.val_pos,
        neg: &split.val_neg,
        every: 5,
        select_best,
    };
    let mut observer = |e: Event<'_>| {
        if let Event::Checkpoint { epochs_done, state } = e {
            saved.push((epochs_done, state.clone()));
        }
        std::ops::ControlFlow::Continue(())
    };
    fit(ctx(), cfg, &inputs, &val, resume, &mut observer).unwrap()
}

fn config(model: ModelKind, recon: Recon, epochs: u32) -> TrainConfig {
    TrainConfig {
        model,
        epochs,
        latent: 16,
        hidden: 32,
        disc_hidden: 32,
        recon,
        ..TrainConfig::default()
    }
}

#[test]
fn every_model_learns_a_planted_partition() {
    let (g, split) = sbm();
    let p = prepare(&g, &split);
    let cases = [
        (ModelKind::Gae, Recon::Sampled),
        (ModelKind::Vgae, Recon::Sampled),
        (ModelKind::Arga, Recon::Sampled),
        (ModelKind::Argva, Recon::Sampled),
        (ModelKind::Gae, Recon::Dense),
        (ModelKind::Argva, Recon::Dense),
    ];
    for (model, recon) in cases {
        let r = run(
            &config(model, recon, 40),
            false,
            &p,
            &split,
            &Checkpointing::default(),
            &mut Vec::new(),
        );
        let first = r.history[0].recon;
        let last: f32 = r.history[35..].iter().map(|l| l.recon).sum::<f32>() / 5.0;
        assert!(
            last < 0.95 * first,
            "{model:?}/{recon:?}: reconstruction loss {first} → {last} did not fall"
        );
        let (_, auc) = r.validation.last().map(|(e, s)| (*e, s.auc)).unwrap();
        eprintln!("{model:?}/{recon:?}: recon {first} → {last}, validation AUC {auc}");
        assert!(auc > 0.8, "{model:?}/{recon:?}: validation AUC {auc}");
        assert_eq!(r.embedding.len(), g.num_nodes * 16);
        assert!(r.embedding.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn same_seed_gives_bit_identical_runs() {
    let (g, split) = sbm();
    let p = prepare(&g, &split);
    let cfg = config(ModelKind::Argva, Recon::Sampled, 12);
    let a = run(
        &cfg,
        false,
        &p,
        &split,
        &Checkpointing::default(),
        &mut Vec::new(),
    );
    let b = run(
        &cfg,
        false,
        &p,
        &split,
        &Checkpointing::default(),
        &mut Vec::new(),
    );
    let bits = |r: &FitResult| -> Vec<u32> {
        r.history
            .iter()
            .flat_map(|l| [l.recon, l.reg, l.kl, l.disc])
            .chain(r.embedding.iter().copied())
            .map(f32::to_bits)
            .collect()
    };
    assert_eq!(bits(&a), bits(&b));
    assert!(
        a.state == b.state,
        "parameters differ between identical runs"
    );
    // A different seed is a different run.
    let c = run(
        &TrainConfig { seed: 9, ..cfg },
        false,
        &p,
        &split,
        &Checkpointing::default(),
        &mut Vec::new(),
    );
    assert_ne!(bits(&a), bits(&c));
}

#[test]
fn resuming_from_a_checkpoint_equals_an_uninterrupted_run() {
    let (g, split) = sbm();
    let p = prepare(&g, &split);
    for model in [ModelKind::Gae, ModelKind::Argva] {
        let cfg = config(model, Recon::Sampled, 14);
        let mut saved = Vec::new();
        let whole = run(
            &cfg,
            false,
            &p,
            &split,
            &Checkpointing {
                from: None,
                save_every: 6,
            },
            &mut saved,
        );
        assert_eq!(
            saved.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![6, 12, 14]
        );

        // Through the safetensors bytes, as the CLI does.
        let (done, state) = saved[0].clone();
        let arch = Arch {
            kind: model,
            features: g.features.cols,
            hidden: cfg.hidden,
            latent: cfg.latent,
            disc_hidden: cfg.disc_hidden,
            disc_hidden2: None,
            encoder_bias: true,
        };
        let ck = Checkpoint {
            config: cfg.clone(),
            arch,
            epochs_done: done,
            state,
        };
        let back = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
        assert!(
            back == ck,
            "{model:?}: checkpoint changed in the safetensors round trip"
        );

        let resumed = run(
            &cfg,
            false,
            &p,
            &split,
            &Checkpointing {
                from: Some((&back.state, back.epochs_done)),
                save_every: 0,
            },
            &mut Vec::new(),
        );
        assert!(
            resumed.state == whole.state,
            "{model:?}: parameters differ after resuming"
        );
        assert!(
            resumed.embedding == whole.embedding,
            "{model:?}: embedding differs"
        );
        let tail: Vec<u32> = whole.history[6..]
            .iter()
            .map(|l| l.recon.to_bits())
            .collect();
        let again: Vec<u32> = resumed.history.iter().map(|l| l.recon.to_bits()).collect();
        assert_eq!(tail, again, "{model:?}: losses after resuming");
    }
}

/// `--select val`: the kept embedding is the one of the epoch with the best validation AUC
/// (the first, on ties), not the last one.
#[test]
fn select_best_keeps_the_best_validated_epoch() {
    let (g, split) = sbm();
    let p = prepare(&g, &split);
    let cfg = config(ModelKind::Arga, Recon::Sampled, 40);
    let r = run(
        &cfg,
        true,
        &p,
        &split,
        &Checkpointing::default(),
        &mut Vec::new(),
    );
    let (best_epoch, best) = r
        .validation
        .iter()
        .fold(None, |acc: Option<(u32, f64)>, (e, s)| match acc {
            Some((_, a)) if a >= s.auc => acc,
            _ => Some((*e, s.auc)),
        })
        .unwrap();
    assert_eq!(r.selected_epoch, best_epoch);
    // The kept embedding is that epoch's: it scores exactly the recorded validation AUC.
    let again =
        argva::train::fit::link_scores(&r.embedding, cfg.latent, &split.val_pos, &split.val_neg);
    assert_eq!(again.auc, best);
    let last = run(
        &cfg,
        false,
        &p,
        &split,
        &Checkpointing::default(),
        &mut Vec::new(),
    );
    assert_eq!(last.selected_epoch, cfg.epochs);
}

/// Where the trainer's negatives come from: drawn on the GPU on a sparse graph (an epoch then
/// uploads only its clock); on a graph where more than half of all pairs are training edges,
/// the host's free-list sampler (the GPU draw needs at least half of all pairs free).
#[test]
fn dense_graphs_sample_negatives_on_the_host() {
    use argva::train::Trainer;
    use argva::train::engine::Negatives;
    let n = 12u32;
    // 57 of the 66 pairs (all but those with i + j a multiple of 7).
    let dense: Vec<[u32; 2]> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| [i, j]))
        .filter(|[i, j]| (i + j) % 7 != 0)
        .collect();
    assert_eq!(dense.len(), 57);
    let (g, split) = sbm();
    let graphs = [
        (
            dense.clone(),
            data::Csr {
                row_ptr: (0..=n).collect(),
                col: (0..n).collect(),
                val: vec![1.0; n as usize],
                rows: n as usize,
                cols: n as usize,
            },
        ),
        (split.train_pos.clone(), g.features.clone()),
    ];
    for (k, (edges, features)) in graphs.iter().enumerate() {
        let nodes = features.rows;
        let adjacency = data::gcn_norm(nodes, edges);
        let sampler = NegativeSampler::new(nodes, edges).unwrap();
        let calls = std::cell::Cell::new(0);
        let sample = |rng: &mut rand_chacha::ChaCha8Rng, count: usize| {
            calls.set(calls.get() + 1);
            sampler.sample(rng, count)
        };
        let inputs = TrainInputs {
            features: features.into(),
            adjacency: (&adjacency).into(),
            train_pos: edges,
            sample_negatives: &sample,
        };
        let cfg = config(ModelKind::Vgae, Recon::Sampled, 3);
        let mut trainer = Trainer::new(ctx(), &cfg, &inputs).unwrap();
        let before = ctx().uploaded_bytes();
        for _ in 0..2 {
            assert!(trainer.try_submit(ctx(), &inputs).unwrap());
            for row in pollster::block_on(trainer.collect_oldest(ctx())) {
                assert!(row.unwrap().recon.is_finite());
            }
        }
        let uploaded = ctx().uploaded_bytes() - before;
        if k == 0 {
            assert_eq!(trainer.engine.cfg.negatives, Negatives::Host, "dense graph");
            assert_eq!(calls.get(), 2, "the host sampled each epoch");
            assert!(uploaded > 2 * 16, "{uploaded} bytes");
        } else {
            assert_eq!(
                trainer.engine.cfg.negatives,
                Negatives::Gpu { seed: cfg.seed }
            );
            assert_eq!(calls.get(), 0, "the host sampled nothing");
        }
    }
}
