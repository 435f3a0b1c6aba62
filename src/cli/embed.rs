//! `argva embed`: the embedding (μ, or z for GAE/ARGA) of a graph under a trained model.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use argva::gpu::GpuContext;
use argva::train::{TrainConfig, Trainer};

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
    if graph.features.cols != ck.arch.features {
        bail!(
            "feature size mismatch: the model was trained on {} input features, {} has {}",
            ck.arch.features,
            graph.name,
            graph.features.cols
        );
    }
    let n = graph.num_nodes;
    let edges = match args.message_edges {
        MessageEdges::All => graph.edges.clone(),
        MessageEdges::Train => {
            argva::data::link_split(&graph, args.val_frac, args.test_frac, ck.config.seed)
                .with_context(|| format!("splitting the edges of {}", graph.name))?
                .train_pos
        }
    };
    let prepared = Prepared::new(&graph, &edges, ck.config.normalize_features);
    let no_negatives = |_: &mut rand_chacha::ChaCha8Rng, _: usize| Vec::new();
    let inputs = prepared.inputs(&[], &no_negatives);
    let ctx = GpuContext::new_blocking()?;
    let cfg = TrainConfig {
        epochs: 0,
        ..ck.config.clone()
    };
    let mut trainer = Trainer::new(&ctx, &cfg, &inputs)?;
    trainer.restore(&ctx, &ck.state, ck.epochs_done)?;
    let emb = pollster::block_on(trainer.encode(&ctx))?;
    let d = cfg.latent;
    let bytes = if csv {
        argva::export::embedding_csv(&emb, d, graph.node_ids.as_deref()).into_bytes()
    } else {
        argva::export::npy_bytes(&[n, d], &emb).map_err(anyhow::Error::msg)?
    };
    let path = output::write_atomic(&dir, &name, &bytes)?;
    println!("wrote {} ({n} × {d})", path.display());
    Ok(())
}
