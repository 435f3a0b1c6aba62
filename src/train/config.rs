//! Hyperparameters: [`TrainConfig`], the two recipes (PyG's and the original paper's), the
//! [`Overrides`] a run gives, and the checks every front end gets.

use serde::{Deserialize, Serialize};

use super::engine::{self, Alternation, EngineConfig, Negatives, Noise};
use crate::model::{Arch, ModelKind};

/// Hyperparameters; defaults follow the reference ARGVA recipe (see `--help`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub model: ModelKind,
    pub epochs: u32,
    pub latent: usize,
    pub hidden: usize,
    pub disc_hidden: usize,
    pub disc_steps: usize,
    pub lr: f32,
    pub disc_lr: f32,
    pub seed: u64,
    pub recon: engine::Recon,
    /// Row-normalise the features (PyG's NormalizeFeatures) before training. Off by default:
    /// on Cora it costs ARGVA ~0.25 test AUC (measured, also in PyG itself: README).
    #[serde(default)]
    pub normalize_features: bool,
    /// Whose recipe the epoch follows: PyG's (the default) or the original paper code's.
    #[serde(default)]
    pub recipe: Recipe,
    /// Paper recipe, ARGA: keep H1's noise in the evaluation forward too, as the original
    /// code does (it has no training flag); off: the embedding is noise-free.
    #[serde(default)]
    pub eval_noise: bool,
}

/// Whose training recipe a run follows (`--recipe`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Recipe {
    /// PyTorch Geometric's ARGVA example: one encoder step per epoch on reg + recon + KL/N
    /// after K discriminator steps.
    #[default]
    Pyg,
    /// The original ARGA/ARVGA TensorFlow code (GAE/VGAE: Kipf's): bias-free Glorot GCN,
    /// the dense N² loss, 5 reconstruction steps, 1 discriminator step and 1 generator step
    /// per iteration, ARGA's noise on H1 (docs/reproduce.md).
    Paper,
}

/// The paper recipe's reconstruction steps per iteration (ARGA/ARVGA; GAE/VGAE take one).
pub const PAPER_RECON_STEPS: usize = 5;
/// The standard deviation of the original ARGA code's noise on H1.
pub const PAPER_ARGA_NOISE: f32 = 0.1;

impl TrainConfig {
    /// The model these hyperparameters train on a graph with `features` input features.
    pub fn arch(&self, features: usize) -> Arch {
        let paper = self.recipe == Recipe::Paper;
        Arch {
            kind: self.model,
            features,
            hidden: self.hidden,
            latent: self.latent,
            disc_hidden: self.disc_hidden,
            // The original discriminator is hidden2 → hidden3 → hidden1 → 1: its second
            // layer is as wide as the encoder's hidden layer.
            disc_hidden2: paper.then_some(self.hidden),
            encoder_bias: !paper,
        }
    }

    /// How the engine alternates its steps under this recipe.
    /// What the engine bakes in: these settings, `num_pos` positives (and as many
    /// negatives) per epoch, GPU noise from the run's seed.
    pub fn engine_config(&self, num_pos: usize, negatives: Negatives) -> EngineConfig {
        EngineConfig {
            lr_encoder: self.lr,
            lr_discriminator: self.disc_lr,
            disc_steps: self.disc_steps,
            num_pos,
            num_neg: num_pos,
            noise: Noise::Gpu { seed: self.seed },
            recon: self.recon,
            negatives,
            alternation: self.alternation(),
        }
    }

    pub fn alternation(&self) -> Alternation {
        match self.recipe {
            Recipe::Pyg => Alternation::Joint,
            Recipe::Paper => Alternation::Paper {
                recon_steps: if self.model.adversarial() {
                    PAPER_RECON_STEPS
                } else {
                    1
                },
                // (the original code's generator optimiser uses the discriminator's rate)
                lr_generator: self.disc_lr,
                hidden_noise: if self.model == ModelKind::Arga {
                    PAPER_ARGA_NOISE
                } else {
                    0.0
                },
                eval_noise: self.eval_noise,
            },
        }
    }

    /// The initial parameters this recipe draws.
    pub fn init_params(&self, arch: &Arch) -> (Vec<f32>, Vec<f32>) {
        match self.recipe {
            Recipe::Pyg => crate::model::init_params(arch, self.seed),
            Recipe::Paper => crate::model::init_params_paper(arch, self.seed),
        }
    }
}

impl TrainConfig {
    /// The reference recipe: one source for [`Default`], the CLI's flag defaults and the
    /// browser page's.
    pub const DEFAULT: TrainConfig = TrainConfig {
        model: ModelKind::Argva,
        epochs: 200,
        latent: 32,
        hidden: 64,
        disc_hidden: 64,
        disc_steps: 5,
        lr: 0.005,
        disc_lr: 0.001,
        seed: 0,
        recon: engine::Recon::Sampled,
        normalize_features: false,
        recipe: Recipe::Pyg,
        eval_noise: false,
    };

    /// The original code's settings for `model` (docs/reproduce.md): ARGA/ARVGA as Pan et
    /// al.'s `settings.py` (hidden 32, embedding 32, discriminator 64 → 32, learning rates
    /// 5·10⁻⁴ and 10⁻³, one discriminator step), GAE/VGAE as Kipf's `gae` (hidden 32,
    /// embedding 16, learning rate 0.01); 200 iterations, the dense loss, ARGA's noisy
    /// evaluation kept.
    pub fn paper(model: ModelKind) -> TrainConfig {
        let adversarial = model.adversarial();
        TrainConfig {
            model,
            epochs: 200,
            latent: if adversarial { 32 } else { 16 },
            hidden: 32,
            disc_hidden: 64,
            disc_steps: 1,
            lr: if adversarial { 5e-4 } else { 0.01 },
            disc_lr: 1e-3,
            recon: engine::Recon::Dense,
            recipe: Recipe::Paper,
            eval_noise: true,
            ..TrainConfig::DEFAULT
        }
    }
}

/// The settings a run asks for beyond its recipe: each one given replaces the recipe's
/// (`argva train`'s flags, `argva.fit`'s keyword arguments).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Overrides {
    pub epochs: Option<u32>,
    pub latent: Option<usize>,
    /// Default: 2 × latent under the pyg recipe, the recipe's own width under the paper's.
    pub hidden: Option<usize>,
    pub disc_hidden: Option<usize>,
    pub disc_steps: Option<usize>,
    pub lr: Option<f32>,
    pub disc_lr: Option<f32>,
    pub recon: Option<engine::Recon>,
    pub eval_noise: Option<bool>,
}

impl TrainConfig {
    /// The recipe's settings for `model` (the defaults of every flag).
    pub fn recipe(recipe: Recipe, model: ModelKind) -> TrainConfig {
        match recipe {
            Recipe::Pyg => TrainConfig {
                model,
                ..TrainConfig::DEFAULT
            },
            Recipe::Paper => TrainConfig::paper(model),
        }
    }

    /// `recipe`'s settings for `model` with every override given taking over: the one place
    /// the CLI and the Python module resolve what a run trains with.
    pub fn resolve(recipe: Recipe, model: ModelKind, seed: u64, o: &Overrides) -> TrainConfig {
        let base = TrainConfig::recipe(recipe, model);
        let latent = o.latent.unwrap_or(base.latent);
        let hidden = match recipe {
            Recipe::Pyg => 2 * latent,
            Recipe::Paper => base.hidden,
        };
        TrainConfig {
            epochs: o.epochs.unwrap_or(base.epochs),
            latent,
            hidden: o.hidden.unwrap_or(hidden),
            disc_hidden: o.disc_hidden.unwrap_or(base.disc_hidden),
            disc_steps: o.disc_steps.unwrap_or(base.disc_steps),
            lr: o.lr.unwrap_or(base.lr),
            disc_lr: o.disc_lr.unwrap_or(base.disc_lr),
            seed,
            recon: o.recon.unwrap_or(base.recon),
            eval_noise: o.eval_noise.unwrap_or(base.eval_noise),
            ..base
        }
    }
}

impl TrainConfig {
    /// Refuses hyperparameters no run can use, naming the CLI flag (the browser page's
    /// options have the same names).
    pub fn check(&self) -> Result<(), String> {
        if self.latent == 0 || self.hidden == 0 || self.disc_hidden == 0 {
            return Err("--latent, --hidden and --disc-hidden must be at least 1".into());
        }
        for (flag, v) in [("--lr", self.lr), ("--disc-lr", self.disc_lr)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{flag} must be a positive number, got {v}"));
            }
        }
        if self.model.adversarial() && self.disc_steps == 0 {
            return Err(format!(
                "--disc-steps 0 would never train {}'s discriminator, so its regulariser would \
                 score z against random weights; give at least 1 step, or train {} (no \
                 discriminator) instead",
                self.model.name(),
                if self.model.variational() {
                    "vgae"
                } else {
                    "gae"
                }
            ));
        }
        Ok(())
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self::DEFAULT
    }
}
