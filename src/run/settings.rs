//! What a run is asked to do besides its graph: the hyperparameters and everything around
//! them (split, validation, selection, clustering, checkpoints, batches), with the one source
//! of their defaults and the checks every front end gets.

use serde::{Deserialize, Serialize};

use super::RunError;
use crate::checkpoint::Checkpoint;
use crate::data::Graph;
use crate::model::ModelKind;
use crate::train::minibatch::{BatchSpec, gpu_memory_bytes};
use crate::train::{Overrides, Recipe, TrainConfig};

/// Which epoch's embedding is kept and evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// The last epoch's parameters.
    #[default]
    Last,
    /// The epoch with the best validation AUC (scored every --val-every epochs).
    Val,
}

/// Defaults of the run settings outside [`TrainConfig`]: one source for the CLI's flags, the
/// Python module's keyword arguments and the page's options.
pub mod defaults {
    pub const VAL_FRAC: f64 = 0.05;
    pub const TEST_FRAC: f64 = 0.1;
    pub const VAL_EVERY: u32 = 10;
    pub const KMEANS_RESTARTS: usize = 10;
}

/// Everything a run needs besides its graph (and, resuming, its checkpoint).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    pub cfg: TrainConfig,
    /// Fractions of the edges held out for validation and for testing.
    pub val_frac: f64,
    pub test_frac: f64,
    /// Score the validation pairs every N epochs (0: only at the end).
    pub val_every: u32,
    pub select: Select,
    pub kmeans_restarts: usize,
    /// Hand a checkpoint to the hooks every N epochs (0: never).
    pub save_every: u32,
    /// Mini-batch training (None: full batch, unless over `gpu_memory`).
    pub batch: Option<BatchSpec>,
    /// GPU bytes a run may use: past it, mini-batch training with batches that fit.
    pub gpu_memory: Option<u64>,
}

impl RunSettings {
    /// `cfg` with every other setting at its default.
    pub fn new(cfg: TrainConfig) -> Self {
        RunSettings {
            cfg,
            val_frac: defaults::VAL_FRAC,
            test_frac: defaults::TEST_FRAC,
            val_every: defaults::VAL_EVERY,
            select: Select::Last,
            kmeans_restarts: defaults::KMEANS_RESTARTS,
            save_every: 0,
            batch: None,
            gpu_memory: None,
        }
    }

    /// Refuses settings no run can use (named as the CLI's flags, which the Python keywords
    /// and the page's options mirror).
    pub fn check(&self) -> Result<(), RunError> {
        let bad = |m: String| Err(RunError::BadInput(m));
        self.cfg.check().or_else(bad)?;
        for (flag, v) in [
            ("--val-frac", self.val_frac),
            ("--test-frac", self.test_frac),
        ] {
            if !(0.0..1.0).contains(&v) {
                return bad(format!("{flag} must be in [0, 1), got {v}"));
            }
        }
        if self.val_frac + self.test_frac >= 1.0 {
            return bad("--val-frac + --test-frac must leave edges for training".into());
        }
        if self.select == Select::Val && self.val_every == 0 {
            return bad(
                "--select val needs validation during training: give --val-every a positive N"
                    .into(),
            );
        }
        Ok(())
    }

    /// The hyperparameters a run continues with from `ck`: the checkpoint's, to
    /// `self.cfg.epochs` in total.
    pub fn resumed_config(&self, ck: &Checkpoint, graph: &Graph) -> Result<TrainConfig, RunError> {
        let epochs = self.cfg.epochs;
        // Equal counts train nothing more and give the outputs: a run killed after its last
        // checkpoint but before its results finishes that way.
        if ck.epochs_done > epochs {
            return Err(RunError::BadInput(format!(
                "the checkpoint has already trained {} epochs, more than --epochs {epochs}; pass \
                 --epochs {} or more",
                ck.epochs_done, ck.epochs_done
            )));
        }
        if ck.arch.features != graph.features.cols {
            return Err(RunError::BadInput(format!(
                "the checkpoint was trained on {} input features, this graph has {}",
                ck.arch.features, graph.features.cols
            )));
        }
        Ok(TrainConfig {
            epochs,
            ..ck.config.clone()
        })
    }
}

/// Run settings as the Python module and the page send them (JSON): the recipe, each
/// hyperparameter given (None: the recipe's), and the rest as [`RunSettings`] has them, the
/// batch as `--batch` spells it and the budget in MiB. A field left out takes its default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunOptions {
    pub recipe: Recipe,
    pub model: ModelKind,
    pub seed: u64,
    pub normalize_features: bool,
    pub overrides: Overrides,
    pub val_frac: f64,
    pub test_frac: f64,
    pub val_every: u32,
    pub select: Select,
    pub kmeans_restarts: usize,
    /// `parts=P,per=Q`.
    pub batch: Option<String>,
    /// MiB.
    pub gpu_memory: Option<u64>,
    pub save_every: u32,
}

impl Default for RunOptions {
    fn default() -> Self {
        let s = RunSettings::new(TrainConfig::DEFAULT);
        RunOptions {
            recipe: s.cfg.recipe,
            model: s.cfg.model,
            seed: s.cfg.seed,
            normalize_features: s.cfg.normalize_features,
            overrides: Overrides::default(),
            val_frac: s.val_frac,
            test_frac: s.test_frac,
            val_every: s.val_every,
            select: s.select,
            kmeans_restarts: s.kmeans_restarts,
            batch: None,
            gpu_memory: None,
            save_every: s.save_every,
        }
    }
}

impl RunOptions {
    /// The settings these options resolve to, checked. `origin` starts the message of a
    /// field that does not parse (e.g. "argva.fit ").
    pub fn settings(&self, origin: &str) -> Result<RunSettings, RunError> {
        let bad = |field: &str, e: String| RunError::BadInput(format!("{origin}{field}: {e}"));
        let batch = self
            .batch
            .as_deref()
            .map(str::parse::<BatchSpec>)
            .transpose();
        let batch = batch.map_err(|e| bad("batch", e))?;
        let gpu_memory = self.gpu_memory.map(gpu_memory_bytes).transpose();
        let gpu_memory = gpu_memory.map_err(|e| bad("gpu_memory", e))?;
        let o = self;
        let settings = RunSettings {
            cfg: TrainConfig {
                normalize_features: o.normalize_features,
                ..TrainConfig::resolve(o.recipe, o.model, o.seed, &o.overrides)
            },
            val_frac: o.val_frac,
            test_frac: o.test_frac,
            val_every: o.val_every,
            select: o.select,
            kmeans_restarts: o.kmeans_restarts,
            save_every: o.save_every,
            batch,
            gpu_memory,
        };
        settings.check()?;
        Ok(settings)
    }
}
