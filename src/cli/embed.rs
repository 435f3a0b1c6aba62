//! `argva embed`: the embedding (μ, or z for GAE/ARGA) of a graph under a trained model.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::gpu::GpuContext;
use crate::run::{defaults, embed_graph};

use super::data::DataSource;
use super::train::read_checkpoint;
use crate::output;

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
    #[arg(long, default_value_t = defaults::VAL_FRAC)]
    pub val_frac: f64,
    /// With `--message-edges train`: the run's test fraction.
    #[arg(long, default_value_t = defaults::TEST_FRAC)]
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
    let emb = pollster::block_on(embed_graph(&ctx, &ck, &graph, &edges))?;
    let d = ck.config.latent;
    let bytes = if csv {
        crate::export::embedding_csv(&emb, d, graph.node_ids.as_deref()).into_bytes()
    } else {
        crate::data::npy::encode(&[n, d], &emb).map_err(anyhow::Error::msg)?
    };
    let path = output::write_atomic(&dir, &name, &bytes)?;
    println!("wrote {} ({n} × {d})", path.display());
    Ok(())
}
