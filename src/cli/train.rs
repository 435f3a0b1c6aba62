//! `argva train`: load a graph, split its edges, train on the GPU, evaluate, report, save.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::data::split::{LinkSplit, NegativeSampler, link_split};
use crate::data::{self, Graph};
use crate::eval::{self, ClusteringMetrics};
use crate::gpu::{AdapterSummary, GpuContext};
use crate::model::ModelKind;
use crate::train::engine::Recon;
use crate::train::fit::{
    Event, FitError, FitResult, LinkScores, Observer, Resume, Validation, fit, link_scores,
};
use crate::train::layerwise::{ChunkBudget, embed_layerwise};
use crate::train::minibatch::{
    BatchFit, BatchSpec, fit_batches, full_batch_bytes, full_batch_refusal, plan_batches,
};
use crate::train::{Overrides, Recipe, TrainConfig};

use super::data::DataSource;
use super::{Prepared, output};

/// Which epoch's embedding is kept and evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// The last epoch's parameters.
    Last,
    /// The epoch with the best validation AUC (scored every --val-every epochs).
    Val,
}

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

/// Everything a run reports; `metrics.json` and `--json` are this object.
#[derive(Serialize)]
pub struct Report {
    pub dataset: String,
    pub adapter: AdapterSummary,
    pub config: TrainConfig,
    pub select: Select,
    pub selected_epoch: u32,
    pub graph: data::Summary,
    pub test: LinkScores,
    pub val: LinkScores,
    pub clustering: Option<ClusteringMetrics>,
    pub wall_seconds: f64,
    pub train_seconds: f64,
    pub dispatches_per_epoch: usize,
    pub history: Vec<crate::train::EpochLosses>,
    pub validation: Vec<(u32, LinkScores)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<BatchFit>,
}

/// Largest graph `--recon dense` accepts: its O(N²·d) epoch becomes hours beyond this.
const DENSE_MAX_NODES: usize = 50_000;

pub fn run(mut args: TrainArgs) -> Result<()> {
    let started = Instant::now();
    check_args(&args)?;
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
    // A resumed run splits with its checkpoint's seed, as the run it continues did.
    let seed = resume.as_ref().map_or(args.seed, |ck| ck.config.seed);
    let split = link_split(&graph, args.val_frac, args.test_frac, seed)
        .with_context(|| format!("splitting the edges of {}", graph.name))?;
    let (report, trained) = train_and_evaluate(&args, &graph, &split, resume, started)?;

    if let Some(dir) = &args.out {
        save(dir, &report, &trained, &split, &graph)?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_summary(&report);
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

/// Defaults of the run settings outside [`TrainConfig`]: one source for the CLI's flags and
/// the Python module's keyword arguments.
pub mod defaults {
    pub const VAL_FRAC: f64 = 0.05;
    pub const TEST_FRAC: f64 = 0.1;
    pub const VAL_EVERY: u32 = 10;
    pub const KMEANS_RESTARTS: usize = 10;
}

fn check_args(args: &TrainArgs) -> Result<()> {
    check_run(
        &config_of(args),
        (args.val_frac, args.test_frac),
        args.select,
        args.val_every,
    )
}

/// Refuses settings no run can use, naming the CLI's flags.
pub fn check_run(
    cfg: &TrainConfig,
    (val_frac, test_frac): (f64, f64),
    select: Select,
    val_every: u32,
) -> Result<()> {
    cfg.check().map_err(anyhow::Error::msg)?;
    for (flag, v) in [("--val-frac", val_frac), ("--test-frac", test_frac)] {
        if !(0.0..1.0).contains(&v) {
            bail!("{flag} must be in [0, 1), got {v}");
        }
    }
    if val_frac + test_frac >= 1.0 {
        bail!("--val-frac + --test-frac must leave edges for training");
    }
    if select == Select::Val && val_every == 0 {
        bail!("--select val needs validation during training: give --val-every a positive N");
    }
    Ok(())
}

/// What a run needs besides its graph and split: the CLI's flags, or the Python module's
/// keyword arguments.
pub struct RunSettings {
    pub cfg: TrainConfig,
    /// Score the validation pairs every N epochs (0: only at the end).
    pub val_every: u32,
    pub select: Select,
    pub kmeans_restarts: usize,
    /// Emit a checkpoint event every N epochs (0: never).
    pub save_every: u32,
    /// Mini-batch training (None: full batch, unless over `gpu_memory`).
    pub batch: Option<BatchSpec>,
    /// GPU bytes a run may use: past it, mini-batch training with batches that fit.
    pub gpu_memory: Option<u64>,
}

/// A trained and evaluated run.
pub struct Outcome {
    pub fit: FitResult,
    pub test: LinkScores,
    pub val: LinkScores,
    pub clustering: Option<ClusteringMetrics>,
    pub train_seconds: f64,
    /// A mini-batch run's batches, memory and time split.
    pub batches: Option<BatchFit>,
}

/// Trains on the split's training edges, then scores the test and validation pairs and
/// clusters the embedding when the graph has labels. The one job behind `argva train` and
/// the Python module's `fit`; the caller's observer shows progress (and may stop it).
pub fn train_graph(
    ctx: &GpuContext,
    graph: &Graph,
    split: &LinkSplit,
    s: &RunSettings,
    resume: Option<&Checkpoint>,
    observer: &mut Observer<'_>,
) -> Result<Outcome> {
    let (n, cfg) = (graph.num_nodes, &s.cfg);
    if cfg.recon == Recon::Dense && n > DENSE_MAX_NODES {
        bail!(
            "--recon dense evaluates all N² = {:.2e} node pairs per epoch; {} nodes is over the \
             limit of {DENSE_MAX_NODES}. Use --recon sampled (the default) for large graphs.",
            (n as f64).powi(2),
            n
        );
    }
    let prepared = Prepared::new(graph, &split.train_pos, cfg.normalize_features);
    if s.batch.is_some() || resume.is_none() && too_large(ctx, s, &prepared, split) {
        return train_batched(ctx, graph, split, s, &prepared, observer);
    }
    let sampler = NegativeSampler::new(n, &split.train_pos)?;
    let sample = |rng: &mut rand_chacha::ChaCha8Rng, count: usize| sampler.sample(rng, count);
    let inputs = prepared.inputs(&split.train_pos, &sample);
    let val = Validation {
        pos: &split.val_pos,
        neg: &split.val_neg,
        every: s.val_every,
        select_best: s.select == Select::Val,
    };
    let plan = Resume {
        from: resume.map(|ck| (&ck.state, ck.epochs_done)),
        save_every: s.save_every,
    };
    let t = Instant::now();
    let fit = fit(ctx, cfg, &inputs, &val, &plan, observer)?;
    evaluate(graph, split, s, fit, t.elapsed().as_secs_f64(), None)
}

/// Whether full-batch training is over `--gpu-memory` or past the device's limits (said on
/// stderr: the run then trains in mini-batches).
fn too_large(ctx: &GpuContext, s: &RunSettings, prepared: &Prepared, split: &LinkSplit) -> bool {
    let (cfg, x, pos) = (&s.cfg, &prepared.features, &split.train_pos[..]);
    let full = full_batch_bytes(cfg, x, pos);
    let why = match s.gpu_memory {
        Some(budget) if full > budget => format!("over --gpu-memory {} MiB", budget >> 20),
        _ => match full_batch_refusal(ctx, cfg, x, pos) {
            Some(reason) => format!("past this device's limits ({reason})"),
            None => return false,
        },
    };
    let can = cfg.recon == Recon::Sampled && cfg.recipe == Recipe::Pyg;
    if can {
        eprintln!(
            "note: full-batch training needs {:.1} MiB of GPU buffers, {why}: training in \
             mini-batches (docs/minibatch.md)",
            full as f64 / (1 << 20) as f64
        );
    }
    can || s.gpu_memory.is_some()
}

/// Mini-batch settings that cannot run (a recipe or option it lacks, a budget no batch fits):
/// the user's to change, so a bad-input error (Python: `ValueError`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BatchRefused(pub String);

/// GPU memory the layer-wise evaluation of a mini-batch run uses without --gpu-memory.
const EVAL_CHUNK_BYTES: u64 = 256 << 20;

/// [`train_graph`] in mini-batches: Cluster-GCN steps (`--batch`, or as many as
/// `--gpu-memory` needs), then the embedding of every node layer by layer in row chunks.
fn train_batched(
    ctx: &GpuContext,
    graph: &Graph,
    split: &LinkSplit,
    s: &RunSettings,
    prepared: &Prepared,
    observer: &mut Observer<'_>,
) -> Result<Outcome> {
    let cfg = &s.cfg;
    let refused = |why: &str| anyhow::Error::new(BatchRefused(why.to_string()));
    if cfg.recon == Recon::Dense || cfg.recipe == Recipe::Paper {
        return Err(refused(
            "mini-batch training (--batch, --gpu-memory) trains the pyg recipe's sampled loss, \
             not --recipe paper or --recon dense",
        ));
    }
    if s.select == Select::Val {
        return Err(refused(
            "mini-batch training scores validation once, at the end: --select val needs full batch",
        ));
    }
    if s.save_every > 0 {
        return Err(refused(
            "mini-batch runs write no checkpoints yet: leave out --save-every",
        ));
    }
    let t = Instant::now();
    let features = &prepared.features;
    let pos = &split.train_pos;
    let batches = plan_batches(cfg, features, pos, s.batch, s.gpu_memory, Some(ctx));
    let batches = batches.map_err(|e| refused(&e))?;
    let partition_s = t.elapsed().as_secs_f64();
    let steps = batches.steps_per_epoch();
    let mut epochs = |l: &crate::train::EpochLosses| observer(Event::Epoch(l));
    let batched = fit_batches(ctx, cfg, batches, pos, partition_s, &mut epochs);
    let mut batched = match batched {
        // (a checkpoint would resume as a full-batch run: say so instead of writing one)
        Err(FitError::Stopped { epochs_done, .. }) => bail!(
            "interrupted after epoch {epochs_done}: mini-batch runs cannot be resumed yet, so \
             no checkpoint was written"
        ),
        other => other?,
    };
    let budget = ChunkBudget {
        bytes: s.gpu_memory.unwrap_or(EVAL_CHUNK_BYTES),
    };
    let arch = cfg.arch(features.cols);
    let (embedding, eval) = embed_layerwise(
        ctx,
        &arch,
        &batched.state.encoder,
        features,
        &prepared.adjacency,
        budget,
    )?;
    batched.embedding = Some(eval);
    let fit = FitResult {
        history: batched.history.clone(),
        validation: Vec::new(),
        selected_epoch: cfg.epochs,
        embedding,
        state: batched.state.clone(),
        dispatches_per_epoch: batched.dispatches_per_step * steps,
    };
    evaluate(
        graph,
        split,
        s,
        fit,
        t.elapsed().as_secs_f64(),
        Some(batched),
    )
}

/// Scores the kept embedding on the test and validation pairs and clusters it.
fn evaluate(
    graph: &Graph,
    split: &LinkSplit,
    s: &RunSettings,
    fit: FitResult,
    train_seconds: f64,
    batches: Option<BatchFit>,
) -> Result<Outcome> {
    let (n, cfg) = (graph.num_nodes, &s.cfg);
    let d = cfg.latent;
    let emb = &fit.embedding;
    let clustering = match &graph.labels {
        Some(labels) if graph.num_classes > 1 => Some(
            eval::evaluate_clustering(
                emb,
                n,
                d,
                labels,
                graph.num_classes,
                s.kmeans_restarts.max(1),
                cfg.seed,
            )
            .context("clustering the embedding")?,
        ),
        _ => None,
    };
    Ok(Outcome {
        test: link_scores(emb, d, &split.test_pos, &split.test_neg),
        val: link_scores(emb, d, &split.val_pos, &split.val_neg),
        clustering,
        train_seconds,
        fit,
        batches,
    })
}

/// The hyperparameters a resumed run continues with: the checkpoint's, to `epochs` in total.
pub fn resumed_config(ck: &Checkpoint, epochs: u32, graph: &Graph) -> Result<TrainConfig> {
    // Equal counts train nothing more and write the outputs: a run killed after its last
    // checkpoint but before its results finishes that way.
    if ck.epochs_done > epochs {
        bail!(
            "the checkpoint has already trained {} epochs, more than --epochs {epochs}; pass \
             --epochs {} or more",
            ck.epochs_done,
            ck.epochs_done
        );
    }
    if ck.arch.features != graph.features.cols {
        bail!(
            "the checkpoint was trained on {} input features, this graph has {}",
            ck.arch.features,
            graph.features.cols
        );
    }
    Ok(TrainConfig {
        epochs,
        ..ck.config.clone()
    })
}

fn train_and_evaluate(
    args: &TrainArgs,
    graph: &Graph,
    split: &LinkSplit,
    resume: Option<Checkpoint>,
    started: Instant,
) -> Result<(Report, FitResult)> {
    let cfg = match &resume {
        Some(ck) => resumed_config(ck, config_of(args).epochs, graph)?,
        None => config_of(args),
    };
    let settings = RunSettings {
        cfg,
        val_every: args.val_every,
        select: args.select,
        kmeans_restarts: args.kmeans_restarts,
        save_every: args.save_every,
        batch: args.batch,
        gpu_memory: args.gpu_memory,
    };
    let ctx = GpuContext::new_blocking()?;
    let out = train_with_bar(args, &ctx, graph, split, &settings, resume.as_ref())?;
    let report = Report {
        dataset: graph.name.clone(),
        adapter: ctx.summary.clone(),
        config: settings.cfg,
        select: args.select,
        selected_epoch: out.fit.selected_epoch,
        graph: data::Summary::new(graph, Some(split)),
        test: out.test,
        val: out.val,
        clustering: out.clustering,
        wall_seconds: started.elapsed().as_secs_f64(),
        train_seconds: out.train_seconds,
        dispatches_per_epoch: out.fit.dispatches_per_epoch,
        history: out.fit.history.clone(),
        validation: out.fit.validation.clone(),
        batches: out.batches,
    };
    Ok((report, out.fit))
}

fn progress_bar(args: &TrainArgs, cfg: &TrainConfig, ctx: &GpuContext) -> ProgressBar {
    if args.quiet || args.json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(cfg.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} epochs {elapsed_precise} (eta {eta}) {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{} on {}", cfg.model.name(), ctx.summary.name));
    bar
}

/// One line of losses for a progress display.
pub fn loss_message(
    model: ModelKind,
    l: &crate::train::EpochLosses,
    val_auc: Option<f64>,
) -> String {
    let auc = val_auc.map_or(String::new(), |a| format!(" val AUC {a:.4}"));
    if model.adversarial() {
        format!(
            "loss {:.4} (recon {:.4}, reg {:.4}, D {:.4}){auc}",
            l.total, l.recon, l.reg, l.disc
        )
    } else {
        format!("loss {:.4} (recon {:.4}){auc}", l.total, l.recon)
    }
}

/// [`train_graph`] with the terminal's progress bar, writing --save-every checkpoints.
fn train_with_bar(
    args: &TrainArgs,
    ctx: &GpuContext,
    graph: &Graph,
    split: &LinkSplit,
    settings: &RunSettings,
    resume: Option<&Checkpoint>,
) -> Result<Outcome> {
    let cfg = &settings.cfg;
    let bar = progress_bar(args, cfg, ctx);
    let interrupt = interrupt_flag();
    let mut last_auc: Option<f64> = None;
    let mut save_error: Option<anyhow::Error> = None;
    let mut observer = |event: Event<'_>| {
        match event {
            Event::Epoch(l) => {
                bar.set_position(l.epoch as u64 + 1);
                bar.set_message(loss_message(cfg.model, l, last_auc));
            }
            Event::Validated { scores, .. } => last_auc = Some(scores.auc),
            Event::Checkpoint { epochs_done, state } => {
                let dir = args
                    .out
                    .as_deref()
                    .expect("clap: --save-every requires --out");
                let ck = Checkpoint {
                    config: cfg.clone(),
                    arch: cfg.arch(graph.features.cols),
                    epochs_done,
                    state: state.clone(),
                };
                let name = format!("checkpoint-{epochs_done:05}.safetensors");
                if let Err(e) = write_checkpoint(dir, &name, &ck) {
                    save_error.get_or_insert(e);
                }
            }
        }
        if interrupt.load(Ordering::SeqCst) {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    };
    let result = train_graph(ctx, graph, split, settings, resume, &mut observer);
    bar.finish_and_clear();
    if let Some(e) = save_error {
        return Err(e.context("writing a checkpoint"));
    }
    match result {
        Ok(out) => Ok(out),
        Err(e) => match e.downcast::<FitError>() {
            Ok(FitError::Stopped { epochs_done, state }) => {
                Err(interrupted(args, cfg, graph, epochs_done, *state))
            }
            Ok(other) => Err(other.into()),
            Err(e) => Err(e),
        },
    }
}

/// Ctrl-C during `argva train`: the first asks training to stop at the next epoch boundary
/// (the run then saves a checkpoint and says how to resume); a second one quits at once.
fn interrupt_flag() -> &'static AtomicBool {
    static FLAG: AtomicBool = AtomicBool::new(false);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // (No handler, e.g. one already installed by an embedding program: Ctrl-C then
        // keeps its default meaning.)
        let _ = ctrlc::set_handler(|| {
            if FLAG.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: stopping after the current epoch (Ctrl-C again quits now)");
        });
    });
    &FLAG
}

/// A run stopped by Ctrl-C (exit status 130): what was kept and how to go on.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// Saves the stopped run's checkpoint (with `--out`) and words the resume command.
fn interrupted(
    args: &TrainArgs,
    cfg: &TrainConfig,
    graph: &Graph,
    epochs_done: u32,
    state: crate::train::engine::EngineState,
) -> anyhow::Error {
    let stopped = format!(
        "training stopped after epoch {epochs_done} of {}",
        cfg.epochs
    );
    let Some(dir) = args.out.as_deref() else {
        return Interrupted(format!("{stopped}; nothing was saved (no --out)")).into();
    };
    let ck = Checkpoint {
        config: cfg.clone(),
        arch: cfg.arch(graph.features.cols),
        epochs_done,
        state,
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
        "{stopped}; saved {}. Resume with: argva train {} --resume {} --epochs {}{fractions} \
         --out {}{}",
        path.display(),
        args.source.dataset,
        path.display(),
        cfg.epochs,
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

fn write_checkpoint(dir: &Path, name: &str, ck: &Checkpoint) -> Result<()> {
    output::write_atomic(dir, name, &ck.to_bytes()?)?;
    Ok(())
}

fn save(
    dir: &Path,
    report: &Report,
    fit: &FitResult,
    split: &LinkSplit,
    graph: &Graph,
) -> Result<()> {
    let d = report.config.latent;
    let n = report.graph.nodes;
    let emb = crate::export::npy_bytes(&[n, d], &fit.embedding).map_err(anyhow::Error::msg)?;
    output::write_atomic(dir, "embedding.npy", &emb)?;
    let csv = crate::export::embedding_csv(&fit.embedding, d, graph.node_ids.as_deref());
    output::write_atomic(dir, "embedding.csv", csv.as_bytes())?;
    if let Some(labels) = &graph.labels {
        let bytes = crate::export::npy_bytes(
            &[labels.len()],
            &labels.iter().map(|&l| l as i64).collect::<Vec<_>>(),
        )
        .map_err(anyhow::Error::msg)?;
        output::write_atomic(dir, "labels.npy", &bytes)?;
    }
    let mut hist = String::from("epoch,total,recon,reg,kl,disc,val_auc,val_ap\n");
    for l in &fit.history {
        let v = fit.validation.iter().find(|(e, _)| *e == l.epoch + 1);
        hist.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            l.epoch + 1,
            l.total,
            l.recon,
            l.reg,
            l.kl,
            l.disc,
            v.map_or(String::new(), |(_, s)| s.auc.to_string()),
            v.map_or(String::new(), |(_, s)| s.ap.to_string()),
        ));
    }
    output::write_atomic(dir, "history.csv", hist.as_bytes())?;
    let ck = Checkpoint {
        config: report.config.clone(),
        arch: report.config.arch(report.graph.features),
        epochs_done: report.config.epochs,
        state: fit.state.clone(),
    };
    write_checkpoint(dir, "model.safetensors", &ck)?;
    for (name, pairs) in [
        ("test_pos.npy", &split.test_pos),
        ("test_neg.npy", &split.test_neg),
        ("val_pos.npy", &split.val_pos),
        ("val_neg.npy", &split.val_neg),
    ] {
        output::write_atomic(dir, name, &crate::export::pairs_npy(pairs))?;
    }
    output::write_atomic(
        dir,
        "metrics.json",
        serde_json::to_string_pretty(report)?.as_bytes(),
    )?;
    Ok(())
}

fn print_summary(r: &Report) {
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

fn print_trained(r: &Report) {
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

fn print_results(r: &Report) {
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
