//! `argva train`: load a graph, split its edges, train on the GPU, evaluate, report, save.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use crate::checkpoint::Checkpoint;
use crate::data::Graph;
use crate::gpu::GpuContext;
use crate::model::ModelKind;
use crate::run::{GraphNames, RunError, RunOutcome, RunReport, RunSettings, Select, defaults};
use crate::train::engine::Recon;
use crate::train::minibatch::BatchSpec;
use crate::train::{Overrides, Recipe, TrainConfig};

use super::data::DataSource;
use super::progress::TrainProgress;
use crate::output;

#[derive(Args, Debug)]
#[command(
    about = "Train a graph autoencoder on the GPU, then report link prediction (AUC, AP on \
the test edges) and node clustering (k-means on μ: ACC, NMI, ARI, F1)"
)]
pub struct TrainArgs {
    #[command(flatten)]
    pub source: DataSource,

    /// Model: gae, vgae, arga, argva (adversarial models add the discriminator; variational
    /// ones the KL term and reparameterization).
    #[arg(long, value_enum, default_value_t = TrainConfig::DEFAULT.model)]
    pub model: ModelKind,
    /// Whose training recipe: `pyg` (PyTorch Geometric's ARGVA example) or `paper` (the
    /// original ARGA/ARVGA code, Kipf's for GAE/VGAE: bias-free GCN, the dense N² loss, and per
    /// iteration 5 reconstruction steps, 1 discriminator step and 1 generator step; see
    /// docs/reproduce.md). It sets the defaults of the flags below; a flag given wins.
    #[arg(long, value_enum, default_value_t = Recipe::Pyg)]
    pub recipe: Recipe,
    #[arg(long, help = recipe_help(
        "Training epochs (one encoder step each, with --disc-steps discriminator steps for \
         adversarial models; --recipe paper: iterations)",
        |c| c.epochs,
    ))]
    pub epochs: Option<u32>,
    /// Seed of everything random: initialisation, edge split, negatives, ε, z′, k-means.
    #[arg(long, default_value_t = TrainConfig::DEFAULT.seed)]
    pub seed: u64,
    #[arg(long, help = recipe_help("Embedding width d", |c| c.latent))]
    pub latent: Option<usize>,
    /// Hidden width of the first GCN layer [default: 2 × latent; --recipe paper: 32].
    #[arg(long)]
    pub hidden: Option<usize>,
    #[arg(long, help = recipe_help(
        "Discriminator hidden width (d → h → h → 1; --recipe paper: d → h → hidden → 1)",
        |c| c.disc_hidden,
    ))]
    pub disc_hidden: Option<usize>,
    #[arg(long, help = recipe_help("Discriminator steps per epoch", |c| c.disc_steps))]
    pub disc_steps: Option<usize>,
    #[arg(long, help = recipe_help(
        "Encoder learning rate (Adam; --recipe paper: of the reconstruction steps)",
        |c| c.lr,
    ))]
    pub lr: Option<f32>,
    #[arg(long, help = recipe_help(
        "Discriminator learning rate (Adam; --recipe paper: also the generator step's)",
        |c| c.disc_lr,
    ))]
    pub disc_lr: Option<f32>,
    #[arg(long, value_enum, help = recipe_help(
        "Reconstruction loss: `sampled` (positives + as many fresh negatives per epoch, as \
         PyTorch Geometric) or `dense` (the original paper's weighted BCE over all N² pairs)",
        |c| c.recon.to_possible_value().map_or(String::new(), |v| v.get_name().to_string()),
    ))]
    pub recon: Option<Recon>,
    /// --recipe paper, ARGA: evaluate the embedding without the noise on H1 (the original
    /// code, which has no training flag, keeps it at evaluation too).
    #[arg(long)]
    pub no_eval_noise: bool,
    /// Fraction of edges held out for validation.
    #[arg(long, default_value_t = defaults::VAL_FRAC)]
    pub val_frac: f64,
    /// Fraction of edges held out for testing.
    #[arg(long, default_value_t = defaults::TEST_FRAC)]
    pub test_frac: f64,
    /// Score the validation pairs every N epochs (0: only at the end).
    #[arg(long, default_value_t = defaults::VAL_EVERY)]
    pub val_every: u32,
    /// Which epoch's embedding to keep: the last, or the best on validation AUC.
    #[arg(long, value_enum, default_value_t = Select::Last)]
    pub select: Select,
    /// Mini-batch training for graphs past the device (Cluster-GCN, docs/minibatch.md):
    /// `parts=P,per=Q` cuts the nodes into P clusters once; each step trains on the subgraph
    /// Q random clusters induce, so GPU memory is bounded by the batch; the embedding is then
    /// computed layer by layer in row chunks. The sampled loss and the pyg recipe only;
    /// validation is scored at the end. Off: full batch (unless over --gpu-memory).
    #[arg(long, value_name = "parts=P,per=Q", conflicts_with_all = ["resume", "save_every"])]
    pub batch: Option<BatchSpec>,
    /// GPU memory the run may use, in MiB: a graph whose full-batch buffers are larger trains
    /// in as few mini-batches as fit, each of many small clusters (~64 nodes; a budget that
    /// holds no batch is refused); with --batch, the batch is checked against it. Also bounds
    /// the layer-wise evaluation's chunks [default: no limit; evaluation chunks of 256 MiB].
    #[arg(long, value_name = "MiB", value_parser = crate::train::minibatch::parse_gpu_memory)]
    pub gpu_memory: Option<u64>,
    /// Row-normalise the node features first (PyG's NormalizeFeatures). Off by default: on
    /// Cora ARGVA loses ~0.25 test AUC with it (PyTorch Geometric too).
    #[arg(long)]
    pub normalize_features: bool,
    /// k-means restarts for the clustering metrics.
    #[arg(long, default_value_t = defaults::KMEANS_RESTARTS)]
    pub kmeans_restarts: usize,
    /// Write embedding.npy (N×d float32, μ), embedding.csv, metrics.json, the evaluated
    /// pairs ({test,val}_{pos,neg}.npy, int64 E×2), history.csv and the trained model
    /// (model.safetensors, for `argva embed` and --resume) into this folder
    /// [default: runs/<dataset>-<model>-seed<seed>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Write no files (only print the report).
    #[arg(long, conflicts_with_all = ["out", "save_every"])]
    pub no_save: bool,
    /// Also write a checkpoint (checkpoint-EPOCH.safetensors) into the output folder every
    /// N epochs.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub save_every: u32,
    /// Continue from a checkpoint: its weights, Adam state, epoch count and hyperparameters
    /// (model, widths, learning rates, seed) are used; --epochs is the total to reach (the
    /// checkpoint's own count only evaluates it and writes the outputs). The edge split uses
    /// the checkpoint's seed; give the run's --val-frac and --test-frac again if not the defaults.
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,
    /// Print one JSON object (metrics, config, history) on stdout instead of tables.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(mut args: TrainArgs) -> Result<()> {
    let started = Instant::now();
    let settings = settings_of(&args);
    settings.check()?;
    let graph = args.source.load()?;
    if args.out.is_none() && !args.no_save {
        args.out = Some(default_out_dir(&graph.name, args.model, args.seed));
    }
    if let Some(dir) = &args.out {
        output::prepare_dir(dir)?;
    }
    let resume = match &args.resume {
        Some(path) => Some(read_checkpoint(path)?),
        None => None,
    };
    let ctx = GpuContext::new_blocking()?;
    let mut outcome = train(&args, &ctx, &graph, &settings, resume.as_ref())?;
    outcome.report.wall_seconds = started.elapsed().as_secs_f64();
    if let Some(dir) = &args.out {
        let mut write =
            |name: &str, bytes: Vec<u8>| output::write_atomic(dir, name, &bytes).map(drop);
        outcome.write_artifacts(GraphNames::of(&graph), &mut write)?;
    }
    if args.json {
        println!("{}", outcome.report.to_json());
    } else {
        print_summary(&outcome.report);
        if let Some(dir) = &args.out {
            println!("wrote      {}", dir.display());
        }
    }
    Ok(())
}

/// `runs/<dataset>-<model>-seed<seed>`, the dataset name reduced to safe characters.
fn default_out_dir(dataset: &str, model: ModelKind, seed: u64) -> PathBuf {
    let name: String = dataset
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("runs").join(format!("{name}-{}-seed{seed}", model.name()))
}

/// A flag's help with its default under each recipe (the paper's differs for GAE/VGAE in
/// places), read from the recipes themselves.
fn recipe_help<T: std::fmt::Display + PartialEq>(text: &str, of: fn(&TrainConfig) -> T) -> String {
    let pyg = of(&TrainConfig::DEFAULT);
    let (ar, gae) = (
        of(&TrainConfig::paper(ModelKind::Argva)),
        of(&TrainConfig::paper(ModelKind::Gae)),
    );
    let paper = if ar == gae {
        ar.to_string()
    } else {
        format!("{ar}, gae/vgae {gae}")
    };
    format!("{text} [default: {pyg}; --recipe paper: {paper}]")
}

/// The hyperparameters the flags ask for: the recipe's, with each flag given taking over.
fn config_of(args: &TrainArgs) -> TrainConfig {
    let overrides = Overrides {
        epochs: args.epochs,
        latent: args.latent,
        hidden: args.hidden,
        disc_hidden: args.disc_hidden,
        disc_steps: args.disc_steps,
        lr: args.lr,
        disc_lr: args.disc_lr,
        recon: args.recon,
        eval_noise: args.no_eval_noise.then_some(false),
    };
    TrainConfig {
        normalize_features: args.normalize_features,
        ..TrainConfig::resolve(args.recipe, args.model, args.seed, &overrides)
    }
}

/// The run the flags ask for.
fn settings_of(args: &TrainArgs) -> RunSettings {
    RunSettings {
        cfg: config_of(args),
        val_frac: args.val_frac,
        test_frac: args.test_frac,
        val_every: args.val_every,
        select: args.select,
        kmeans_restarts: args.kmeans_restarts,
        save_every: args.save_every,
        batch: args.batch,
        gpu_memory: args.gpu_memory,
    }
}

/// The library's job under the terminal's progress bar, Ctrl-C and --save-every files.
fn train(
    args: &TrainArgs,
    ctx: &GpuContext,
    graph: &Graph,
    settings: &RunSettings,
    resume: Option<&Checkpoint>,
) -> Result<RunOutcome> {
    let epochs = settings.cfg.epochs;
    let shown = !(args.quiet || args.json);
    let mut hooks = TrainProgress::new(shown, settings.cfg.model, epochs, ctx, args.out.as_deref());
    let result = pollster::block_on(crate::run::run(ctx, graph, settings, resume, &mut hooks));
    hooks.finish();
    match result {
        Ok(outcome) => Ok(outcome),
        Err(RunError::Stopped {
            epochs_done,
            checkpoint,
        }) => Err(interrupted(
            args,
            epochs,
            epochs_done,
            checkpoint.map(|c| *c),
        )),
        Err(e) => Err(e.into()),
    }
}

/// A run stopped by Ctrl-C (exit status 130): what was kept and how to go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// Saves the stopped run's checkpoint (with `--out`) and words the resume command.
fn interrupted(
    args: &TrainArgs,
    epochs: u32,
    epochs_done: u32,
    checkpoint: Option<Checkpoint>,
) -> anyhow::Error {
    let stopped = format!("training stopped after epoch {epochs_done} of {epochs}");
    let Some(ck) = checkpoint else {
        return Interrupted(format!(
            "{stopped}: mini-batch runs cannot be resumed yet, so no checkpoint was written"
        ))
        .into();
    };
    let Some(dir) = args.out.as_deref() else {
        return Interrupted(format!("{stopped}; nothing was saved (no --out)")).into();
    };
    let name = format!("checkpoint-{epochs_done:05}.safetensors");
    if let Err(e) = write_checkpoint(dir, &name, &ck) {
        return e.context(format!("{stopped}, and saving its checkpoint failed"));
    }
    let path = dir.join(&name);
    let mut fractions = String::new();
    if args.val_frac != defaults::VAL_FRAC || args.test_frac != defaults::TEST_FRAC {
        fractions = format!(
            " --val-frac {} --test-frac {}",
            args.val_frac, args.test_frac
        );
    }
    Interrupted(format!(
        "{stopped}; saved {}. Resume with: argva train {} --resume {} --epochs {epochs}{fractions} \
         --out {}{}",
        path.display(),
        args.source.dataset,
        path.display(),
        dir.display(),
        if args.source.features.is_some() || args.source.labels.is_some() {
            " (and the same --features/--labels)"
        } else {
            ""
        }
    ))
    .into()
}

pub fn read_checkpoint(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
    Checkpoint::from_bytes(&bytes).with_context(|| format!("checkpoint {}", path.display()))
}

pub(super) fn write_checkpoint(dir: &Path, name: &str, ck: &Checkpoint) -> Result<()> {
    output::write_atomic(dir, name, &ck.to_bytes()?)?;
    Ok(())
}

fn print_summary(r: &RunReport) {
    let c = &r.config;
    println!(
        "{} on {} ({} nodes, {} features, {} edges) — {}, {} backend",
        c.model.name(),
        r.dataset,
        r.graph.nodes,
        r.graph.features,
        r.graph.edges,
        r.adapter.name,
        r.adapter.backend
    );
    if c.epochs == 0 {
        println!("trained    0 epochs: the untrained model (its initial parameters) was evaluated");
    } else {
        print_trained(r);
    }
    print_results(r);
}

fn print_trained(r: &RunReport) {
    let c = &r.config;
    println!(
        "trained    {} epochs in {:.2} s ({:.1} ms/epoch, {} dispatches/epoch); kept epoch {} ({})",
        c.epochs,
        r.train_seconds,
        1e3 * r.train_seconds / c.epochs.max(1) as f64,
        r.dispatches_per_epoch,
        r.selected_epoch,
        match r.select {
            Select::Last => "last",
            Select::Val => "best validation AUC",
        }
    );
}

fn print_results(r: &RunReport) {
    let c = &r.config;
    if let Some(last) = r.history.last() {
        let mut terms = format!("recon {:.4}", last.recon);
        if c.model.adversarial() {
            terms += &format!(", reg {:.4}, discriminator {:.4}", last.reg, last.disc);
        }
        if c.model.variational() {
            terms += &format!(", KL {:.4}", last.kl);
        }
        println!("final loss {:.4} ({terms})", last.total);
    }
    println!();
    println!("             AUC      AP");
    println!("  test    {:.4}  {:.4}", r.test.auc, r.test.ap);
    println!("  val     {:.4}  {:.4}", r.val.auc, r.val.ap);
    if let Some(m) = &r.clustering {
        println!();
        println!(
            "  clustering  ACC {:.4}  NMI {:.4}  ARI {:.4}  F1 {:.4}",
            m.acc, m.nmi, m.ari, m.f1
        );
    }
    println!();
    println!("wall time  {:.2} s", r.wall_seconds);
}
