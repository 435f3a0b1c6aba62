//! The library's job (`argva::run::run`) in process: the strategy a budget picks, the events
//! each strategy emits, a stopped run resumed to the uninterrupted bytes, and refusals typed
//! as bad input.

use std::ops::ControlFlow;

use argva::checkpoint::Checkpoint;
use argva::data::{Graph, LoadOptions, link_split};
use argva::model::ModelKind;
use argva::run::{self, RunError, RunHooks, RunOutcome, RunSettings};
use argva::train::Prepared;
use argva::train::fit::Event;
use argva::train::minibatch::{BatchSpec, full_batch_bytes};
use argva::train::{Overrides, Recipe, TrainConfig};

use crate::ctx;

const GRAPH: &str = "sbm:nodes=300,classes=3,degree=8,features=32,seed=2,within=0.95";

fn graph() -> Graph {
    argva::data::load(GRAPH, &LoadOptions::default()).unwrap()
}

/// Large enough for a budget's batches (clusters of at least 32 nodes, 4 a batch, 2 batches).
fn larger_graph() -> Graph {
    let spec = "sbm:nodes=2000,classes=4,degree=8,features=32,seed=2,within=0.95";
    argva::data::load(spec, &LoadOptions::default()).unwrap()
}

fn settings(model: ModelKind, epochs: u32) -> RunSettings {
    let overrides = Overrides {
        epochs: Some(epochs),
        latent: Some(8),
        ..Overrides::default()
    };
    RunSettings::new(TrainConfig::resolve(Recipe::Pyg, model, 3, &overrides))
}

/// Everything the hooks hear; stops the run after epoch `stop_after`.
#[derive(Default)]
struct Heard {
    epochs: Vec<u32>,
    validated: Vec<u32>,
    checkpoint_events: Vec<u32>,
    checkpoints: Vec<Checkpoint>,
    notes: Vec<String>,
    stop_after: Option<u32>,
}

impl RunHooks for Heard {
    fn event(&mut self, event: Event<'_>) -> ControlFlow<()> {
        match event {
            Event::Epoch(l) => {
                self.epochs.push(l.epoch + 1);
                if self.stop_after == Some(l.epoch + 1) {
                    return ControlFlow::Break(());
                }
            }
            Event::Validated { epoch, .. } => self.validated.push(epoch),
            Event::Checkpoint { epochs_done, .. } => self.checkpoint_events.push(epochs_done),
        }
        ControlFlow::Continue(())
    }

    fn checkpoint(&mut self, ck: &Checkpoint) -> Result<(), String> {
        self.checkpoints.push(ck.clone());
        Ok(())
    }

    fn note(&mut self, text: &str) {
        self.notes.push(text.to_string());
    }
}

fn go(
    graph: &Graph,
    s: &RunSettings,
    resume: Option<&Checkpoint>,
    hooks: &mut Heard,
) -> Result<RunOutcome, RunError> {
    pollster::block_on(run::run(ctx(), graph, s, resume, hooks))
}

/// GPU bytes the whole graph takes in one batch under `s`.
fn full_bytes(graph: &Graph, s: &RunSettings) -> u64 {
    let split = link_split(graph, s.val_frac, s.test_frac, s.cfg.seed).unwrap();
    let prepared = Prepared::new(graph, &split.train_pos, false);
    full_batch_bytes(&s.cfg, &prepared.features, &split.train_pos)
}

#[test]
fn the_strategy_follows_the_budget_and_says_why() {
    let g = larger_graph();
    let s = settings(ModelKind::Gae, 3);
    let mut heard = Heard::default();
    let whole = go(&g, &s, None, &mut heard).unwrap();
    assert!(whole.report.batches.is_none(), "no budget: full batch");
    assert!(heard.notes.is_empty(), "{:?}", heard.notes);

    let budget = full_bytes(&g, &s) / 2;
    let tight = RunSettings {
        gpu_memory: Some(budget),
        ..s.clone()
    };
    let mut heard = Heard::default();
    let out = go(&g, &tight, None, &mut heard).unwrap();
    let b = out
        .report
        .batches
        .as_ref()
        .expect("over budget: mini-batches");
    assert!(
        b.gpu_bytes <= budget,
        "{} bytes over the {budget}-byte budget",
        b.gpu_bytes
    );
    assert!(b.steps >= 2 * 3, "{} steps for 3 epochs", b.steps);
    assert_eq!(heard.notes.len(), 1, "{:?}", heard.notes);
    assert!(
        heard.notes[0].contains("mini-batches"),
        "{}",
        heard.notes[0]
    );

    let spec = BatchSpec {
        parts: 6,
        per_batch: 2,
    };
    let asked = RunSettings {
        batch: Some(spec),
        ..s.clone()
    };
    let mut heard = Heard::default();
    let out = go(&g, &asked, None, &mut heard).unwrap();
    let b = out.report.batches.as_ref().expect("--batch: mini-batches");
    assert_eq!((b.parts, b.per_batch), (6, 2));
    assert!(
        heard.notes.is_empty(),
        "asked for, not a fallback: {:?}",
        heard.notes
    );
}

#[test]
fn each_strategy_emits_its_events_and_checkpoints() {
    let g = graph();
    let s = RunSettings {
        val_every: 2,
        save_every: 3,
        ..settings(ModelKind::Argva, 6)
    };
    let mut heard = Heard::default();
    let out = go(&g, &s, None, &mut heard).unwrap();
    assert_eq!(heard.epochs, (1..=6).collect::<Vec<_>>());
    assert_eq!(heard.validated, vec![2, 4, 6]);
    assert_eq!(heard.checkpoint_events, vec![3, 6]);
    let kept: Vec<u32> = heard.checkpoints.iter().map(|c| c.epochs_done).collect();
    assert_eq!(kept, vec![3, 6]);
    assert!(
        heard.checkpoints[1] == out.checkpoint(),
        "the last checkpoint is the trained model"
    );
    assert_eq!(out.report.validation.len(), 3);

    let batched = RunSettings {
        batch: Some(BatchSpec {
            parts: 6,
            per_batch: 2,
        }),
        ..settings(ModelKind::Argva, 4)
    };
    let mut heard = Heard::default();
    let out = go(&g, &batched, None, &mut heard).unwrap();
    assert_eq!(heard.epochs, (1..=4).collect::<Vec<_>>());
    assert!(heard.validated.is_empty() && heard.checkpoints.is_empty());
    assert_eq!(out.report.history.len(), 4);
}

#[test]
fn a_stopped_run_resumes_to_the_uninterrupted_bytes() {
    let g = graph();
    let s = settings(ModelKind::Argva, 8);
    let whole = go(&g, &s, None, &mut Heard::default()).unwrap();

    let mut heard = Heard {
        stop_after: Some(3),
        ..Heard::default()
    };
    let stopped = go(&g, &s, None, &mut heard)
        .err()
        .expect("the hook stops the run");
    let RunError::Stopped {
        epochs_done,
        checkpoint: Some(ck),
    } = stopped
    else {
        panic!("want a stop with a checkpoint, got {stopped}");
    };
    assert!((3..8).contains(&epochs_done), "stopped after {epochs_done}");
    assert_eq!(ck.epochs_done, epochs_done);

    let mut heard = Heard::default();
    let resumed = go(&g, &s, Some(&ck), &mut heard).unwrap();
    assert_eq!(heard.epochs.first(), Some(&(epochs_done + 1)));
    assert!(
        resumed.embedding == whole.embedding,
        "embedding bytes differ"
    );
    assert!(resumed.checkpoint() == whole.checkpoint(), "model differs");
    assert_eq!(resumed.report.test, whole.report.test);
}

#[test]
fn refusals_are_bad_input_and_name_what_to_change() {
    let g = graph();
    let base = settings(ModelKind::Gae, 2);
    let batch = Some(BatchSpec {
        parts: 6,
        per_batch: 2,
    });
    let cases = [
        (
            RunSettings {
                batch,
                save_every: 1,
                ..base.clone()
            },
            "leave out --save-every",
        ),
        (
            RunSettings {
                batch,
                select: argva::run::Select::Val,
                ..base.clone()
            },
            "--select val needs full batch",
        ),
        (
            RunSettings {
                val_frac: 0.6,
                test_frac: 0.5,
                ..base.clone()
            },
            "must leave edges for training",
        ),
    ];
    for (s, want) in cases {
        let e = go(&g, &s, None, &mut Heard::default()).err().unwrap();
        assert!(e.is_bad_input(), "{e}");
        assert!(e.to_string().contains(want), "{e}");
    }
    let ck = go(&g, &base, None, &mut Heard::default())
        .unwrap()
        .checkpoint();
    let fewer = RunSettings {
        cfg: TrainConfig {
            epochs: 1,
            ..base.cfg.clone()
        },
        ..base.clone()
    };
    let e = go(&g, &fewer, Some(&ck), &mut Heard::default())
        .err()
        .unwrap();
    assert!(
        e.is_bad_input() && e.to_string().contains("already trained 2 epochs"),
        "{e}"
    );
}
