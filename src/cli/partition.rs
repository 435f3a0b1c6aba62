//! `argva partition`: cut a graph into one shard per rank of a distributed run.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::dist::partition_graph;
use crate::output;

use super::data::DataSource;

#[derive(Args, Debug)]
#[command(
    about = "Cut a graph into one shard per rank of a distributed run: each shard's nodes \
(global ids), feature rows, labels, the edges among them and its cut edges, as .npy files, \
and manifest.json with the graph's hash, the rank count, the seed and every file's SHA-256"
)]
pub struct PartitionArgs {
    #[command(flatten)]
    pub source: DataSource,
    /// Ranks (shards): the -np the distributed run will be launched with.
    #[arg(long, value_name = "P")]
    pub ranks: usize,
    /// Seed of the partitioner's breadth-first order (the same seed gives the same bytes).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A new or empty folder for the shards (`shard-00000/` …) and `manifest.json`.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Print the manifest (JSON) instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: PartitionArgs) -> Result<()> {
    if args.ranks == 0 {
        bail!("--ranks must be at least 1");
    }
    let occupied = std::fs::read_dir(&args.out).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        bail!(
            "--out {} is not empty: give a new or empty folder (a partition is never mixed \
             with another's files)",
            args.out.display()
        );
    }
    let graph = args.source.load()?;
    let parted = partition_graph(&graph, args.ranks, args.seed)
        .with_context(|| format!("partitioning {} into {} shards", graph.name, args.ranks))?;
    output::prepare_dir(&args.out)?;
    for (path, bytes) in &parted.files {
        let path = args.out.join(path);
        let dir = path.parent().context("a shard file has a folder")?;
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the folder {}", dir.display()))?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("a file name")?;
        output::write_atomic(dir, name, bytes)?;
    }
    let m = &parted.manifest;
    if args.json {
        println!("{}", serde_json::to_string_pretty(m)?);
        return Ok(());
    }
    println!(
        "{} ({} nodes, {} edges) into {} shards, seed {}",
        m.graph.name, m.graph.nodes, m.graph.edges, m.ranks, m.seed
    );
    println!("  shard     nodes     edges   cut edges");
    for (r, s) in m.shards.iter().enumerate() {
        println!("  {r:>5} {:>9} {:>9} {:>11}", s.nodes, s.edges, s.cut_edges);
    }
    println!(
        "cut        {} edges, {:.1} % of all (a random assignment's: {:.1} %)",
        m.cut_edges,
        100.0 * m.cut_fraction,
        100.0 * m.random_cut_fraction
    );
    println!("wrote      {}", args.out.display());
    Ok(())
}
