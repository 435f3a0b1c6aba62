//! `argva embed`: the embedding (μ, or z for GAE/ARGA) of a graph under a trained model.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::checkpoint::Checkpoint;
use crate::data::Graph;
use crate::gpu::GpuContext;
use crate::train::{TrainConfig, Trainer};

use super::data::DataSource;
use super::train::read_checkpoint;
use super::{Prepared, output};

/// Which edges carry the encoder's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageEdges {
    /// Every edge of the graph (embedding a graph, new or grown, with a trained model).
    All,
    /// The training edges of the run's link split (same seed and fractions): gives back the
    /// run's own embedding.npy.
    Train,
}

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// The trained model (model.safetensors or checkpoint-*.safetensors).
    #[arg(long, value_name = "CKPT")]
    pub checkpoint: PathBuf,
    #[command(flatten)]
    pub source: DataSource,
    /// Output file: `.npy` (float32 N×d) or `.csv` (node id, then d columns).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Edges that carry messages: `all` of the graph, or the run's `train` edges.
    #[arg(long, value_enum, default_value_t = MessageEdges::All)]
    pub message_edges: MessageEdges,
    /// With `--message-edges train`: the run's validation fraction.
    #[arg(long, default_value_t = 0.05)]
    pub val_frac: f64,
    /// With `--message-edges train`: the run's test fraction.
    #[arg(long, default_value_t = 0.1)]
    pub test_frac: f64,
}

pub fn run(args: EmbedArgs) -> Result<()> {
    let csv = match args.out.extension().and_then(|e| e.to_str()) {
        Some("npy") => false,
        Some("csv") => true,
        _ => bail!(
            "--out {}: the file name must end in .npy or .csv",
            args.out.display()
        ),
    };
    let dir = match args.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    output::prepare_dir(&dir)?;
    let name = args
        .out
        .file_name()
        .and_then(|n| n.to_str())
        .context("--out needs a file name")?
        .to_string();
    let ck = read_checkpoint(&args.checkpoint)?;
    let graph = args.source.load()?;
    let n = graph.num_nodes;
    let edges = match args.message_edges {
        MessageEdges::All => graph.edges.clone(),
        MessageEdges::Train => {
            crate::data::link_split(&graph, args.val_frac, args.test_frac, ck.config.seed)
                .with_context(|| format!("splitting the edges of {}", graph.name))?
                .train_pos
        }
    };
    let ctx = GpuContext::new_blocking()?;
    let emb = embed_graph(&ctx, &ck, &graph, &edges)?;
    let d = ck.config.latent;
    let bytes = if csv {
        crate::export::embedding_csv(&emb, d, graph.node_ids.as_deref()).into_bytes()
    } else {
        crate::export::npy_bytes(&[n, d], &emb).map_err(anyhow::Error::msg)?
    };
    let path = output::write_atomic(&dir, &name, &bytes)?;
    println!("wrote {} ({n} × {d})", path.display());
    Ok(())
}

/// A graph whose feature width is not the model's.
#[derive(Debug, thiserror::Error)]
#[error(
    "feature size mismatch: the model was trained on {trained} input features, {graph} has {given}"
)]
pub struct FeatureMismatch {
    pub trained: usize,
    pub graph: String,
    pub given: usize,
}

/// The trained encoder's embedding of `graph` (μ, or z for GAE/ARGA), messages passed over
/// `message_edges`: `argva embed` and the Python result's `embed`.
pub fn embed_graph(
    ctx: &GpuContext,
    ck: &Checkpoint,
    graph: &Graph,
    message_edges: &[[u32; 2]],
) -> Result<Vec<f32>> {
    if graph.features.cols != ck.arch.features {
        return Err(FeatureMismatch {
            trained: ck.arch.features,
            graph: graph.name.clone(),
            given: graph.features.cols,
        }
        .into());
    }
    let prepared = Prepared::new(graph, message_edges, ck.config.normalize_features);
    let no_negatives = |_: &mut rand_chacha::ChaCha8Rng, _: usize| Vec::new();
    let inputs = prepared.inputs(&[], &no_negatives);
    let cfg = TrainConfig {
        epochs: 0,
        ..ck.config.clone()
    };
    let mut trainer = Trainer::new(ctx, &cfg, &inputs)?;
    trainer.restore(ctx, &ck.state, ck.epochs_done)?;
    Ok(pollster::block_on(trainer.encode(ctx))?)
}
