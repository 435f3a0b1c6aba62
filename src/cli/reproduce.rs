//! `argva reproduce`: the paper's tables under both recipes, beside the published numbers.
//!
//! Link prediction on Cora and CiteSeer (PubMed when its files are present) and clustering on
//! Cora and CiteSeer, for each model and recipe over several seeds; every cell is mean ± std
//! with the paper's number and a verdict. Clustering reports the last iteration and the one
//! with the best validation AUC (never the best on test). Writes `reproduce.md` and
//! `reproduce.json` into the output folder.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::data::split::link_split;
use crate::data::{self, Graph, LoadOptions};
use crate::gpu::GpuContext;
use crate::model::ModelKind;
use crate::train::{Recipe, TrainConfig};

use super::output;
use super::train::{RunSettings, Select, defaults, train_graph};

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
    /// Datasets; pubmed joins only when its files are in the data root (never downloaded here).
    #[arg(long, value_delimiter = ',', default_value = "cora,citeseer,pubmed")]
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
    /// Epochs (iterations) of every run instead of the recipes' own (link prediction: 200;
    /// clustering: 50 under the paper recipe, 200 under pyg). For trying it: the table is
    /// then not the paper's setting.
    #[arg(long)]
    pub epochs: Option<u32>,
    /// Folder for reproduce.md and reproduce.json.
    #[arg(long, value_name = "DIR", default_value = "runs/reproduce")]
    pub out: PathBuf,
    /// Folder holding `<Name>/raw/ind.<name>.*` [default: $ARGVA_DATA, else ./data].
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
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
    /// Per seed, the metrics' values.
    pub runs: Vec<Vec<f64>>,
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
    for name in &args.datasets {
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

/// The recipe's settings for one run.
fn config(
    recipe: Recipe,
    model: ModelKind,
    task: Task,
    epochs: Option<u32>,
    seed: u64,
) -> TrainConfig {
    let mut cfg = match recipe {
        Recipe::Paper => TrainConfig::paper(model),
        Recipe::Pyg => TrainConfig {
            model,
            ..TrainConfig::DEFAULT
        },
    };
    if recipe == Recipe::Paper && matches!(task, Task::Clustering(_)) {
        cfg.epochs = PAPER_CLUSTERING_ITERATIONS;
    }
    cfg.epochs = epochs.unwrap_or(cfg.epochs);
    cfg.seed = seed;
    cfg
}

/// The original code's clustering runs: 50 iterations (`settings.py`).
const PAPER_CLUSTERING_ITERATIONS: u32 = 50;

/// Every cell to run, in order.
fn cells(args: &ReproduceArgs, graphs: &[Graph]) -> Vec<(usize, Task, ModelKind, Recipe)> {
    let mut out = Vec::new();
    for (g, graph) in graphs.iter().enumerate() {
        let mut tasks = vec![Task::LinkPrediction];
        if graph.labels.is_some() && !graph.name.eq_ignore_ascii_case("pubmed") {
            tasks.extend([
                Task::Clustering(Select::Last),
                Task::Clustering(Select::Val),
            ]);
        }
        for task in tasks {
            for &model in &args.models {
                for &recipe in &args.recipes {
                    out.push((g, task, model, recipe));
                }
            }
        }
    }
    out
}

pub fn run(args: ReproduceArgs) -> Result<()> {
    let started = Instant::now();
    let seeds = if args.quick { 2 } else { args.seeds.max(1) };
    let (graphs, notes) = load_graphs(&args)?;
    output::prepare_dir(&args.out)?;
    let plan = cells(&args, &graphs);
    let ctx = GpuContext::new_blocking()?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(plan.len() as u64 * seeds)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "reproduce [{bar:30}] {pos}/{len} runs {elapsed} (eta {eta}) {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let mut done = Vec::new();
    for (g, task, model, recipe) in plan {
        let graph = &graphs[g];
        let mut cell = Cell {
            dataset: graph.name.clone(),
            task,
            model,
            recipe,
            epochs: config(recipe, model, task, args.epochs, 0).epochs,
            metrics: match task {
                Task::LinkPrediction => LINK_METRICS,
                Task::Clustering(_) => CLUSTER_METRICS,
            },
            runs: Vec::new(),
        };
        for seed in 0..seeds {
            bar.set_message(format!(
                "{} {} {} seed {seed}",
                graph.name,
                model.name(),
                recipe_name(recipe)
            ));
            let cfg = config(recipe, model, task, args.epochs, seed);
            let split = link_split(graph, defaults::VAL_FRAC, defaults::TEST_FRAC, seed)?;
            let select = match task {
                Task::Clustering(s) => s,
                Task::LinkPrediction => Select::Last,
            };
            let settings = RunSettings {
                cfg,
                // (the original code evaluates clustering every 2 iterations)
                val_every: if matches!(task, Task::Clustering(_)) {
                    2
                } else {
                    defaults::VAL_EVERY
                },
                select,
                kmeans_restarts: defaults::KMEANS_RESTARTS,
                save_every: 0,
            };
            let mut quiet = |_: crate::train::fit::Event<'_>| std::ops::ControlFlow::Continue(());
            let out = train_graph(&ctx, graph, &split, &settings, None, &mut quiet).with_context(
                || format!("{} {} {recipe:?} seed {seed}", graph.name, model.name()),
            )?;
            match task {
                Task::LinkPrediction => cell.runs.push(vec![out.test.auc, out.test.ap]),
                Task::Clustering(_) => {
                    let c = out.clustering.context("clustering needs labels")?;
                    cell.runs.push(vec![c.acc, c.nmi, c.nmi_geometric, c.ari]);
                }
            }
            bar.inc(1);
        }
        done.push(cell);
    }
    bar.finish_and_clear();
    let table = markdown(&done, seeds, &notes, started.elapsed().as_secs_f64());
    output::write_atomic(&args.out, "reproduce.md", table.as_bytes())?;
    let json = serde_json::json!({ "seeds": seeds, "notes": notes, "cells": done });
    output::write_atomic(
        &args.out,
        "reproduce.json",
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    println!("{table}");
    println!("wrote      {}", args.out.display());
    Ok(())
}

/// `0.912 ± 0.010 (paper 0.924: below)`, or the mean ± std alone without a published number.
fn entry(v: &[f64], paper: Option<f64>) -> String {
    let (m, s) = mean_std(v);
    match paper {
        Some(p) => format!("{m:.3} ± {s:.3} ({p:.3}: {})", verdict(m, s, p)),
        None => format!("{m:.3} ± {s:.3}"),
    }
}

fn markdown(cells: &[Cell], seeds: u64, notes: &[String], seconds: f64) -> String {
    let mut md = format!(
        "# argva reproduce\n\nMean ± std over seeds 0–{} per cell; in brackets the paper's number \
         and whether the mean is within one std of it. Link prediction: test AUC and AP after the \
         last epoch. Clustering: k-means on the embedding of the last epoch, and of the epoch with \
         the best validation AUC (never the best on test). ARGA under the paper recipe is \
         evaluated with the original code's noise on H1. NMI: scikit-learn's arithmetic \
         normalisation (its default since 0.22), and the geometric one (its default before, \
         when the paper was written), which the paper's NMI is set beside. {:.0} s in all.\n",
        seeds - 1,
        seconds
    );
    for n in notes {
        md.push_str(&format!("\n{n}\n"));
    }
    md.push_str(
        "\n## Link prediction\n\n| data | model | recipe | epochs | AUC | AP |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in cells.iter().filter(|c| c.task == Task::LinkPrediction) {
        let p = paper_link(&c.dataset, c.model);
        md.push_str(&table_row(c, &[], &[p.map(|p| p[0]), p.map(|p| p[1])]));
    }
    md.push_str(
        "\n## Clustering\n\n| data | model | recipe | epochs | embedding | ACC | NMI | NMI \
         (geometric) | ARI |\n|---|---|---|---|---|---|---|---|---|\n",
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
    ];
    cols.extend(extra.iter().map(|e| e.to_string()));
    for (i, &paper) in papers.iter().enumerate() {
        let values: Vec<f64> = c.runs.iter().map(|r| r[i]).collect();
        cols.push(entry(&values, paper));
    }
    format!("| {} |\n", cols.join(" | "))
}
