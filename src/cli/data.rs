//! `argva data` and the dataset arguments every subcommand shares.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use crate::data::{self, Graph, LoadOptions};

/// Where a graph comes from. Shared by `train` and `data`.
#[derive(Args, Debug, Clone)]
pub struct DataSource {
    /// A Planetoid dataset (cora, citeseer, pubmed), a synthetic graph
    /// (`sbm:nodes=10000,classes=5,degree=10,features=500,seed=1`), an edge-list file
    /// (CSV/TSV/whitespace, two columns of node ids, optional header), or a `.npy` of integer
    /// node ids: PyTorch Geometric's `edge_index` (2 × E) or E × 2 pairs, int64 or int32.
    #[arg(default_value = "cora")]
    pub dataset: String,
    /// Folder holding `<Name>/raw/ind.<name>.*` (PyTorch Geometric's layout; files there are
    /// SHA-256 checked) [default: $ARGVA_DATA, else ./data]. Cora and CiteSeer need none:
    /// when the folder lacks them, argva uses the copy compiled into it. PubMed is downloaded
    /// into it.
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// Node features for an edge-list graph: `.npy` (float32/float64, N×F), `.npz` (a SciPy
    /// CSR matrix from `scipy.sparse.save_npz`, kept sparse) or CSV (`node,f0,f1,…`). Without
    /// it, one-hot identity features are used.
    #[arg(long, value_name = "FILE")]
    pub features: Option<PathBuf>,
    /// Node labels for an edge-list graph (`node,label` CSV) — enables clustering metrics.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Never download missing Planetoid files (PubMed); fail instead.
    #[arg(long)]
    pub offline: bool,
    /// Accept downloaded files whose SHA-256 sum argva does not know (PubMed's `allx`; the
    /// other files are still checked).
    #[arg(long)]
    pub allow_unverified: bool,
}

impl DataSource {
    pub fn load(&self) -> Result<Graph> {
        let opts = LoadOptions {
            root: self.data_root.clone().unwrap_or_else(data::default_root),
            features: self.features.clone(),
            labels: self.labels.clone(),
            download: !self.offline,
            allow_unverified: self.allow_unverified,
        };
        data::load(&self.dataset, &opts).with_context(|| format!("loading `{}`", self.dataset))
    }
}

#[derive(Args, Debug)]
#[command(
    about = "Describe a graph: nodes, features, feature non-zeros, undirected edges, \
classes, isolated nodes, and the link split sizes"
)]
pub struct DataArgs {
    #[command(flatten)]
    pub source: DataSource,
    /// Fraction of edges held out for validation.
    #[arg(long, default_value_t = crate::run::defaults::VAL_FRAC)]
    pub val_frac: f64,
    /// Fraction of edges held out for testing.
    #[arg(long, default_value_t = crate::run::defaults::TEST_FRAC)]
    pub test_frac: f64,
    /// Seed of the split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: DataArgs) -> Result<()> {
    let graph = args.source.load()?;
    let split = data::split::link_split(&graph, args.val_frac, args.test_frac, args.seed)
        .with_context(|| format!("splitting the edges of {}", graph.name))?;
    let summary = data::Summary::new(&graph, Some(&split));
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{summary}");
    }
    Ok(())
}
