//! The `argva` command line (native only): argument parsing, the subcommands, file output and
//! progress display. All of argva's file I/O and blocking waits live here; the rest of the
//! library is the engine. The binary (`src/main.rs`) and the Python module call [`main`].

pub mod bench;
pub mod bench_batched;
pub mod data;
pub mod embed;

pub mod partition;
pub mod plot;
pub mod progress;
pub mod reproduce;
pub mod train;

use std::ffi::OsString;
use std::process::ExitCode;

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
    Train(Box<train::TrainArgs>),
    /// Measure speed: time per epoch, per-kernel GPU time, memory, host overhead.
    Bench(Box<bench::BenchArgs>),
    /// Embed a graph with a trained model (a checkpoint written by `train --out`).
    ///
    /// By default the encoder passes messages over every edge of the graph, so on the training
    /// graph the result differs from the run's embedding.npy, whose messages used the training
    /// edges only (the held-out validation and test edges were hidden). `--message-edges train`
    /// recomputes the run's link split (the checkpoint's seed, --val-frac and --test-frac) and
    /// gives the run's embedding back.
    Embed(Box<embed::EmbedArgs>),
    /// Run the paper's tables under both recipes beside the published numbers.
    Reproduce(Box<reproduce::ReproduceArgs>),
    /// Draw a run folder: the embedding in 2-D by class, and the training curves (PNG, SVG).
    Plot(plot::PlotArgs),
    /// Describe a dataset: nodes, features, edges, classes, isolated nodes, split sizes.
    Data(data::DataArgs),
    /// Cut a graph into one shard per rank of a distributed run (docs/scale.md).
    Partition(Box<partition::PartitionArgs>),
    /// Print the GPU adapter argva would use (honours WGPU_BACKEND and WGPU_ADAPTER_NAME)
    /// and the device limits that bound graph sizes.
    Info {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check this GPU: every kernel against its float64 twin on random inputs of awkward
    /// sizes, PyTorch Geometric's recorded epoch of each model replayed, an ARGVA run repeated
    /// to the byte, and whether the driver caps shader loops. Prints each check (pass/FAIL,
    /// worst error, bound, time) and a verdict; exits 1 if any check fails. Run it first on a
    /// new GPU or driver (about 10 s on a CPU adapter).
    Doctor {
        /// Print one JSON object (the report) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `argva <dataset> [flags]` is `argva train <dataset> [flags]`.
fn with_default_subcommand(mut args: Vec<OsString>) -> Vec<OsString> {
    // (the subcommands as clap knows them: one list, the enum's)
    let command = <Cli as clap::CommandFactory>::command();
    let known = |name: &str| name == "help" || command.find_subcommand(name).is_some();
    if let Some(first) = args.get(1).and_then(|a| a.to_str())
        && !first.starts_with('-')
        && !known(first)
    {
        args.insert(1, "train".into());
    }
    args
}

/// Runs the command line on `args` (the program name first) and returns the process's exit
/// status: the `argva` binary and `python -m argva` both enter here.
pub fn main(args: Vec<OsString>) -> ExitCode {
    ExitCode::from(exit_status(args))
}

/// [`main`]'s status as a number (0 success, 1 a failed run, 2 a usage error, 130 a run
/// stopped by Ctrl-C).
pub fn exit_status(args: Vec<OsString>) -> u8 {
    let launched = std::time::Instant::now();
    let cli = match Cli::try_parse_from(with_default_subcommand(args)) {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and succeed; a bad flag prints its usage and fails.
            let _ = e.print();
            return e.exit_code().clamp(0, 255) as u8;
        }
    };
    match run(cli, launched) {
        Ok(()) => 0,
        Err(e) if e.is::<train::Interrupted>() => {
            eprintln!("{e}");
            130
        }
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            1
        }
    }
}

fn run(cli: Cli, launched: std::time::Instant) -> Result<()> {
    match cli.command {
        Command::Train(args) => train::run(*args),
        Command::Data(args) => data::run(args),
        Command::Partition(args) => partition::run(*args),
        Command::Embed(args) => embed::run(*args),
        Command::Reproduce(args) => reproduce::run(*args),
        Command::Plot(args) => plot::run(args),
        Command::Bench(args) => bench::run(*args, launched),
        Command::Info { json } => {
            let ctx = crate::gpu::GpuContext::new_blocking()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ctx.summary)?);
            } else {
                println!("{}", ctx.summary);
            }
            Ok(())
        }
        Command::Doctor { json } => doctor(json),
    }
}

/// `argva doctor`: the library's checks on the chosen adapter, printed as they finish.
fn doctor(json: bool) -> Result<()> {
    let ctx = crate::gpu::GpuContext::new_blocking()?;
    if !json {
        println!("{}\n", ctx.summary);
    }
    let start = std::time::Instant::now();
    let now = || start.elapsed().as_secs_f64();
    let mut progress = |c: &crate::doctor::Check| {
        if !json {
            println!("{c}");
        }
    };
    let report = pollster::block_on(crate::doctor::run(&ctx, &now, &mut progress));
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for w in &report.warnings {
            println!("note  {w}");
        }
        println!("{}", report.verdict());
    }
    if report.passed {
        Ok(())
    } else {
        anyhow::bail!(
            "argva doctor: {} of {} checks failed",
            report.failed(),
            report.checks.len()
        )
    }
}

/// An error and its causes in one line, `a: b: c`, leaving out a cause whose text is already
/// part of the line (errors that print their source would otherwise show it twice).
pub fn error_text(e: &anyhow::Error) -> String {
    crate::run::error_line(e.as_ref())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::IsADirectory, "Is a directory");
        let data = crate::data::DataError::Io {
            path: "/tmp".into(),
            source: io,
        };
        let e = anyhow::Error::new(data).context("loading `/tmp`");
        let text = super::error_text(&e);
        assert_eq!(text, "loading `/tmp`: cannot read /tmp: Is a directory");
        assert_eq!(text.matches("Is a directory").count(), 1);
    }
}
