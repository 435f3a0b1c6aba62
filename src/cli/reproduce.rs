//! `argva reproduce`: the paper's tables under both recipes, beside the published numbers.
//!
//! Link prediction on Cora and CiteSeer (PubMed when its files are present) and clustering on
//! Cora and CiteSeer, for each model and recipe over several seeds; every cell is mean ± std
//! with the paper's number and a verdict. Clustering reports the last iteration and the one
//! with the best validation AUC (never the best on test). Writes `reproduce.md` and
//! `reproduce.json` into the output folder.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::data::{self, Graph, LoadOptions};
use crate::eval;
use crate::gpu::GpuContext;
use crate::model::ModelKind;
use crate::train::fit::Event;
use crate::train::{Overrides, Recipe, TrainConfig};

use crate::output;
use crate::run::{OnEvent, RunSettings, Select, defaults};

#[derive(Args, Debug)]
#[command(
    about = "Run the paper's link-prediction and clustering tables for GAE, VGAE, ARGA and ARGVA \
under both recipes (the original code's, `paper`, and PyTorch Geometric's, `pyg`) over several \
seeds, and write them beside the published numbers (reproduce.md, reproduce.json)"
)]
pub struct ReproduceArgs {
    /// Seeds per cell (0, 1, …).
    #[arg(long, default_value_t = 10)]
    pub seeds: u64,
    /// Two seeds per cell, for trying it.
    #[arg(long)]
    pub quick: bool,
    /// Datasets, comma-separated (an `sbm:` spec keeps its own commas); pubmed joins only
    /// when its files are in the data root (never downloaded here).
    #[arg(long, default_value = "cora,citeseer,pubmed")]
    pub datasets: Vec<String>,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "gae,vgae,arga,argva"
    )]
    pub models: Vec<ModelKind>,
    #[arg(long, value_enum, value_delimiter = ',', default_value = "paper,pyg")]
    pub recipes: Vec<Recipe>,
    /// Epochs (iterations) of every run instead of the recipes' 200; the paper recipe's
    /// clustering still takes the embedding of iteration 50 (or the last, when earlier). For
    /// trying it: the table is then not the paper's setting.
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Folder for reproduce.md and reproduce.json.
    #[arg(long, value_name = "DIR", default_value = "runs/reproduce")]
    pub out: PathBuf,
    /// Folder holding `<Name>/raw/ind.<name>.*` [default: $ARGVA_DATA, else ./data].
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
    /// Continue the tables in --out: the runs its reproduce.json holds (same dataset, model,
    /// recipe and epochs) are kept, not run again. Both files are rewritten after every run, so
    /// a stopped reproduce loses only the run it was in.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The two tasks of the paper's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    LinkPrediction,
    /// Clustering of the embedding at `select` (the last iteration, or the best on
    /// validation AUC).
    Clustering(Select),
}

/// One cell: a dataset, task, model and recipe over the seeds.
#[derive(Serialize)]
pub struct Cell {
    pub dataset: String,
    pub task: Task,
    pub model: ModelKind,
    pub recipe: Recipe,
    pub epochs: u32,
    pub metrics: &'static [&'static str],
    /// The seed of each run.
    pub seeds: Vec<u64>,
    /// Per run, the metrics' values.
    pub runs: Vec<Vec<f64>>,
}

impl Cell {
    /// What identifies a cell across reproduce runs (`--resume`), as in reproduce.json.
    fn key(&self) -> String {
        serde_json::json!([
            self.dataset,
            self.task,
            self.model,
            self.recipe,
            self.epochs
        ])
        .to_string()
    }
}

/// A cell's runs: the seeds and, per seed, the metrics' values.
type Runs = (Vec<u64>, Vec<Vec<f64>>);

/// The runs a previous reproduce.json in `dir` holds, by [`Cell::key`]; none when there is
/// no such file.
fn previous_runs(dir: &std::path::Path) -> Result<HashMap<String, Runs>> {
    let path = dir.join("reproduce.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let bad = || format!("{} is not a reproduce.json of this version", path.display());
    let json: serde_json::Value = serde_json::from_str(&text).with_context(bad)?;
    let mut out = HashMap::new();
    for c in json["cells"].as_array().with_context(bad)? {
        let key = serde_json::json!([
            c["dataset"],
            c["task"],
            c["model"],
            c["recipe"],
            c["epochs"]
        ]);
        let seeds: Vec<u64> = serde_json::from_value(c["seeds"].clone()).with_context(bad)?;
        let runs: Vec<Vec<f64>> = serde_json::from_value(c["runs"].clone()).with_context(bad)?;
        if seeds.len() != runs.len() {
            anyhow::bail!(bad());
        }
        out.insert(key.to_string(), (seeds, runs));
    }
    Ok(out)
}

const LINK_METRICS: &[&str] = &["auc", "ap"];
const CLUSTER_METRICS: &[&str] = &["acc", "nmi", "nmi_geometric", "ari"];

fn recipe_name(r: Recipe) -> &'static str {
    match r {
        Recipe::Paper => "paper",
        Recipe::Pyg => "pyg",
    }
}

/// The published numbers: link prediction AUC, AP (Kipf & Welling 2016, Table 1, for GAE
/// and VGAE; Pan et al. 2018, Table 2, for ARGA and ARVGA) and Cora clustering ACC, NMI, ARI
/// (Pan et al. 2018).
fn paper_link(dataset: &str, model: ModelKind) -> Option<[f64; 2]> {
    use ModelKind::*;
    Some(match (dataset.to_ascii_lowercase().as_str(), model) {
        ("cora", Gae) => [0.910, 0.920],
        ("cora", Vgae) => [0.914, 0.926],
        ("cora", Arga) => [0.924, 0.932],
        ("cora", Argva) => [0.924, 0.926],
        ("citeseer", Gae) => [0.895, 0.899],
        ("citeseer", Vgae) => [0.908, 0.920],
        ("pubmed", Gae) => [0.964, 0.965],
        ("pubmed", Vgae) => [0.944, 0.947],
        _ => return None,
    })
}

fn paper_clustering(dataset: &str, model: ModelKind) -> Option<[f64; 3]> {
    match (dataset.to_ascii_lowercase().as_str(), model) {
        ("cora", ModelKind::Arga) => Some([0.640, 0.449, 0.352]),
        ("cora", ModelKind::Argva) => Some([0.638, 0.450, 0.374]),
        _ => None,
    }
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

/// Within one standard deviation of the paper's number, or below, or above it.
fn verdict(mean: f64, std: f64, paper: f64) -> &'static str {
    if (mean - paper).abs() <= std {
        "within 1 std"
    } else if mean < paper {
        "below"
    } else {
        "above"
    }
}

/// The graphs asked for: PubMed only when its files are already there.
fn load_graphs(args: &ReproduceArgs) -> Result<(Vec<Graph>, Vec<String>)> {
    let opts = LoadOptions {
        root: args.data_root.clone().unwrap_or_else(data::default_root),
        features: None,
        labels: None,
        download: false,
        allow_unverified: false,
    };
    let (mut graphs, mut notes) = (Vec::new(), Vec::new());
    for name in dataset_names(&args.datasets) {
        let name = name.as_str();
        match data::load(name, &opts) {
            Ok(g) => graphs.push(g),
            Err(_) if name == "pubmed" => notes.push(
                "PubMed left out: its files are not in the data root (`argva data pubmed` \
                 downloads them)."
                    .into(),
            ),
            Err(e) => return Err(e).with_context(|| format!("loading `{name}`")),
        }
    }
    Ok((graphs, notes))
}

/// `--datasets` split at its commas, except those inside an `sbm:` spec (`key=value`
/// pieces after one belong to it).
fn dataset_names(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in args.iter().flat_map(|a| a.split(',')) {
        match out.last_mut() {
            Some(spec)
                if spec.starts_with("sbm:") && piece.contains('=') && !piece.contains(':') =>
            {
                spec.push(',');
                spec.push_str(piece);
            }
            _ => out.push(piece.to_string()),
        }
    }
    out
}

/// The recipe's settings for one run (`epochs` replaces the recipe's).
fn config(recipe: Recipe, model: ModelKind, epochs: Option<u32>, seed: u64) -> TrainConfig {
    let overrides = Overrides {
        epochs,
        ..Overrides::default()
    };
    TrainConfig::resolve(recipe, model, seed, &overrides)
}

/// The original code's clustering runs: 50 iterations (`settings.py`).
const PAPER_CLUSTERING_ITERATIONS: u32 = 50;

/// The epoch whose embedding is clustered in a run of `epochs`: the original code's
/// clustering runs stop after 50 iterations, PyG's example clusters its last epoch. A
/// 50-iteration run is the first 50 iterations of the 200-iteration one (every draw is a
/// function of the seed and the epoch), so one run serves both tables.
fn clustering_epoch(recipe: Recipe, epochs: u32) -> u32 {
    match recipe {
        Recipe::Paper => epochs.min(PAPER_CLUSTERING_ITERATIONS),
        Recipe::Pyg => epochs,
    }
}

/// One run per graph, model and recipe (and seed), in order; `true` where the graph's
/// clustering is in the tables too (labelled, and not PubMed, as in the paper).
fn runs(args: &ReproduceArgs, graphs: &[Graph]) -> Vec<(usize, ModelKind, Recipe, bool)> {
    let mut out = Vec::new();
    for (g, graph) in graphs.iter().enumerate() {
        let clustering = graph.labels.is_some()
            && graph.num_classes > 1
            && !graph.name.eq_ignore_ascii_case("pubmed");
        for &model in &args.models {
            for &recipe in &args.recipes {
                out.push((g, model, recipe, clustering));
            }
        }
    }
    out
}

/// What one run gives the tables: link prediction after the last epoch; clustering of the
/// clustering epoch's embedding and of the best on validation AUC up to it.
struct RunResult {
    link: Vec<f64>,
    clustering: Option<[Vec<f64>; 2]>,
}

fn run_once(
    ctx: &GpuContext,
    graph: &Graph,
    cfg: TrainConfig,
    cluster_at: Option<u32>,
) -> Result<RunResult> {
    let (n, d, seed) = (graph.num_nodes, cfg.latent, cfg.seed);
    let settings = RunSettings {
        // (the original code evaluates clustering every 2 iterations)
        val_every: if cluster_at.is_some() {
            2
        } else {
            defaults::VAL_EVERY
        },
        ..RunSettings::new(cfg)
    };
    let (mut last, mut best) = (None, None::<(f64, Vec<f32>)>);
    let mut observe = |e: Event<'_>| {
        if let (
            Event::Validated {
                epoch,
                scores,
                embedding,
            },
            Some(at),
        ) = (e, cluster_at)
        {
            // (the first of equal AUCs, as `--select val` keeps)
            if epoch <= at && best.as_ref().is_none_or(|b| scores.auc > b.0) {
                best = Some((scores.auc, embedding.to_vec()));
            }
            if epoch == at {
                last = Some(embedding.to_vec());
            }
        }
        ControlFlow::Continue(())
    };
    let mut hooks = OnEvent(&mut observe);
    let out = pollster::block_on(crate::run::run(ctx, graph, &settings, None, &mut hooks))?;
    let link = vec![out.report.test.auc, out.report.test.ap];
    let (Some(at), Some(labels)) = (cluster_at, &graph.labels) else {
        return Ok(RunResult {
            link,
            clustering: None,
        });
    };
    let cluster = |emb: Option<Vec<f32>>| -> Result<Vec<f64>> {
        let emb = emb.with_context(|| format!("no embedding was scored at epoch {at}"))?;
        let k = graph.num_classes;
        let c = eval::evaluate_clustering(&emb, n, d, labels, k, defaults::KMEANS_RESTARTS, seed)
            .context("clustering the embedding")?;
        Ok(vec![c.acc, c.nmi, c.nmi_geometric, c.ari])
    };
    Ok(RunResult {
        link,
        clustering: Some([cluster(last)?, cluster(best.map(|b| b.1))?]),
    })
}

/// The cells one run fills: link prediction, then (with clustering) last and best val.
fn cells_of(
    graph: &Graph,
    model: ModelKind,
    recipe: Recipe,
    epochs: u32,
    clustering: bool,
) -> Vec<Cell> {
    let cell = |task, epochs, metrics| Cell {
        dataset: graph.name.clone(),
        task,
        model,
        recipe,
        epochs,
        metrics,
        seeds: Vec::new(),
        runs: Vec::new(),
    };
    let mut cells = vec![cell(Task::LinkPrediction, epochs, LINK_METRICS)];
    if clustering {
        let at = clustering_epoch(recipe, epochs);
        for select in [Select::Last, Select::Val] {
            cells.push(cell(Task::Clustering(select), at, CLUSTER_METRICS));
        }
    }
    cells
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let started = Instant::now();
    let seeds = if args.quick { 2 } else { args.seeds.max(1) };
    let (graphs, notes) = load_graphs(&args)?;
    output::prepare_dir(&args.out)?;
    let previous = if args.resume {
        previous_runs(&args.out)?
    } else {
        HashMap::new()
    };
    // Each planned run with its cells (link prediction, then clustering), resumed ones filled.
    let mut plan: Vec<_> = runs(&args, &graphs)
        .into_iter()
        .map(|(g, model, recipe, clustering)| {
            let epochs = config(recipe, model, args.epochs, 0).epochs;
            let mut cells = cells_of(&graphs[g], model, recipe, epochs, clustering);
            for c in &mut cells {
                if let Some((s, r)) = previous.get(&c.key()) {
                    (c.seeds, c.runs) = (s.clone(), r.clone());
                }
            }
            (g, model, recipe, clustering, cells)
        })
        .collect();
    let ctx = GpuContext::new_blocking()?;
    let bar = progress_bar(args.quiet, plan.len() as u64 * seeds);
    for i in 0..plan.len() {
        let (g, model, recipe, clustering) = (plan[i].0, plan[i].1, plan[i].2, plan[i].3);
        let graph = &graphs[g];
        for seed in 0..seeds {
            if plan[i].4.iter().all(|c| c.seeds.contains(&seed)) {
                bar.inc(1);
                continue;
            }
            bar.set_message(format!(
                "{} {} {} seed {seed}",
                graph.name,
                model.name(),
                recipe_name(recipe)
            ));
            let cfg = config(recipe, model, args.epochs, seed);
            let at = clustering.then(|| clustering_epoch(recipe, cfg.epochs));
            let r = run_once(&ctx, graph, cfg, at).with_context(|| {
                format!("{} {} {recipe:?} seed {seed}", graph.name, model.name())
            })?;
            let values = std::iter::once(r.link).chain(r.clustering.into_iter().flatten());
            for (cell, v) in plan[i].4.iter_mut().zip(values) {
                cell.seeds.push(seed);
                cell.runs.push(v);
            }
            let cells: Vec<&Cell> = plan.iter().flat_map(|p| &p.4).collect();
            write_tables(
                &args,
                &cells,
                &notes,
                started.elapsed().as_secs_f64(),
                false,
            )?;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let cells: Vec<&Cell> = plan.iter().flat_map(|p| &p.4).collect();
    write_tables(&args, &cells, &notes, started.elapsed().as_secs_f64(), true)
}

fn progress_bar(quiet: bool, len: u64) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "reproduce [{bar:30}] {pos}/{len} runs {elapsed} (eta {eta}) {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar
}

/// Writes reproduce.md and reproduce.json (atomically) from the cells with runs; prints the
/// table when `last`.
fn write_tables(
    args: &ReproduceArgs,
    cells: &[&Cell],
    notes: &[String],
    seconds: f64,
    last: bool,
) -> Result<()> {
    let cells: Vec<&Cell> = cells
        .iter()
        .copied()
        .filter(|c| !c.runs.is_empty())
        .collect();
    let table = markdown(&cells, notes, seconds);
    output::write_atomic(&args.out, "reproduce.md", table.as_bytes())?;
    let json = serde_json::json!({ "notes": notes, "cells": cells });
    output::write_atomic(
        &args.out,
        "reproduce.json",
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    if last {
        println!("{table}");
        println!("wrote      {}", args.out.display());
    }
    Ok(())
}

/// `0.912 ± 0.010 (paper 0.924: below)`, or the mean ± std alone without a published number.
fn entry(v: &[f64], paper: Option<f64>) -> String {
    let (m, s) = mean_std(v);
    // (one seed has no spread: its value alone, no verdict)
    match (paper, v.len()) {
        (Some(p), 1) => format!("{m:.3} ({p:.3})"),
        (None, 1) => format!("{m:.3}"),
        (Some(p), _) => format!("{m:.3} ± {s:.3} ({p:.3}: {})", verdict(m, s, p)),
        (None, _) => format!("{m:.3} ± {s:.3}"),
    }
}

fn markdown(cells: &[&Cell], notes: &[String], seconds: f64) -> String {
    let mut md = format!(
        "# argva reproduce\n\nMean ± std over the seeds (0, 1, …) of each cell; in brackets the paper's number \
         and whether the mean is within one std of it (a cell of one seed: its value and the \
         paper's, no verdict). Link prediction: test AUC and AP after the \
         last epoch. Clustering: k-means on the embedding of the last epoch, and of the epoch with \
         the best validation AUC (never the best on test). ARGA under the paper recipe is \
         evaluated with the original code's noise on H1. NMI: scikit-learn's arithmetic \
         normalisation (its default since 0.22), and the geometric one (its default before, \
         when the paper was written), which the paper's NMI is set beside. {:.0} s in this \
         command.\n",
        seconds
    );
    for n in notes {
        md.push_str(&format!("\n{n}\n"));
    }
    md.push_str(
        "\n## Link prediction\n\n| data | model | recipe | epochs | seeds | AUC | AP |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for c in cells.iter().filter(|c| c.task == Task::LinkPrediction) {
        let p = paper_link(&c.dataset, c.model);
        md.push_str(&table_row(c, &[], &[p.map(|p| p[0]), p.map(|p| p[1])]));
    }
    md.push_str(
        "\n## Clustering\n\n| data | model | recipe | epochs | seeds | embedding | ACC | NMI | \
         NMI (geometric) | ARI |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for c in cells.iter() {
        let Task::Clustering(select) = c.task else {
            continue;
        };
        let which = match select {
            Select::Last => "last",
            Select::Val => "best val AUC",
        };
        let p = paper_clustering(&c.dataset, c.model);
        // (the paper's NMI is the geometric one: scikit-learn's default of its time)
        let papers = [p.map(|p| p[0]), None, p.map(|p| p[1]), p.map(|p| p[2])];
        md.push_str(&table_row(c, &[which], &papers));
    }
    md
}

/// One Markdown row: the cell's names, `extra` columns, then each metric beside its paper
/// number (`papers[i]`, or none).
fn table_row(c: &Cell, extra: &[&str], papers: &[Option<f64>]) -> String {
    let mut cols = vec![
        c.dataset.clone(),
        c.model.name().into(),
        recipe_name(c.recipe).into(),
        c.epochs.to_string(),
        c.runs.len().to_string(),
    ];
    cols.extend(extra.iter().map(|e| e.to_string()));
    for (i, &paper) in papers.iter().enumerate() {
        let values: Vec<f64> = c.runs.iter().map(|r| r[i]).collect();
        cols.push(entry(&values, paper));
    }
    format!("| {} |\n", cols.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::dataset_names;

    #[test]
    fn dataset_names_keep_an_sbm_specs_commas() {
        let args = [
            "cora,sbm:nodes=50,classes=2,citeseer".to_string(),
            "pubmed".into(),
        ];
        assert_eq!(
            dataset_names(&args),
            ["cora", "sbm:nodes=50,classes=2", "citeseer", "pubmed"]
        );
    }
}
