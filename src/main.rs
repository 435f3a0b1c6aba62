//! The `argva` command line. All file I/O, blocking and progress display live here; the
//! library is the engine.

mod cli;

use std::ffi::OsString;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "argva",
    version,
    about = "Adversarially regularized graph autoencoders (GAE, VGAE, ARGA, ARGVA), trained on the GPU",
    long_about = "Adversarially regularized graph autoencoders (GAE, VGAE, ARGA, ARGVA; Pan et al., \
IJCAI 2018), trained entirely on the GPU through WGSL compute shaders (wgpu: Vulkan, Metal, DX12, \
WebGPU, or Mesa's lavapipe on a machine without a GPU).\n\n\
`argva cora` is short for `argva train cora`: ARGVA on Cora with the reference recipe.\n\n\
Environment: WGPU_BACKEND (vulkan, gl, metal, dx12) and WGPU_ADAPTER_NAME pick the adapter; \
ARGVA_DATA is the data root when --data-root is not given (default ./data). Cora and CiteSeer \
are built into argva and need no files or network; PubMed is downloaded on first use."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a dataset and report link-prediction and clustering metrics.
    Train(Box<cli::train::TrainArgs>),
    /// Measure speed: time per epoch, per-kernel GPU time, memory, host overhead.
    Bench(Box<cli::bench::BenchArgs>),
    /// Embed a graph with a trained model (a checkpoint written by `train --out`).
    ///
    /// By default the encoder passes messages over every edge of the graph, so on the training
    /// graph the result differs from the run's embedding.npy, whose messages used the training
    /// edges only (the held-out validation and test edges were hidden). `--message-edges train`
    /// recomputes the run's link split (the checkpoint's seed, --val-frac and --test-frac) and
    /// gives the run's embedding back.
    Embed(Box<cli::embed::EmbedArgs>),
    /// Draw a run folder: the embedding in 2-D by class, and the training curves (PNG, SVG).
    Plot(cli::plot::PlotArgs),
    /// Describe a dataset: nodes, features, edges, classes, isolated nodes, split sizes.
    Data(cli::data::DataArgs),
    /// Print the GPU adapter argva would use (honours WGPU_BACKEND and WGPU_ADAPTER_NAME)
    /// and the device limits that bound graph sizes.
    Info {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `argva <dataset> [flags]` is `argva train <dataset> [flags]`.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    const SUBCOMMANDS: &[&str] = &["train", "data", "bench", "embed", "plot", "info", "help"];
    if let Some(first) = args.get(1).and_then(|a| a.to_str())
        && !first.starts_with('-')
        && !SUBCOMMANDS.contains(&first)
    {
        args.insert(1, "train".into());
    }
    args
}

fn main() -> std::process::ExitCode {
    let launched = std::time::Instant::now();
    let cli = Cli::parse_from(with_default_subcommand(std::env::args_os().collect()));
    match run(cli, launched) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::error_text(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli, launched: std::time::Instant) -> Result<()> {
    match cli.command {
        Command::Train(args) => cli::train::run(*args),
        Command::Data(args) => cli::data::run(args),
        Command::Embed(args) => cli::embed::run(*args),
        Command::Plot(args) => cli::plot::run(args),
        Command::Bench(args) => cli::bench::run(*args, launched),
        Command::Info { json } => {
            let ctx = argva::gpu::GpuContext::new_blocking()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ctx.summary)?);
            } else {
                println!("{}", ctx.summary);
            }
            Ok(())
        }
    }
}
