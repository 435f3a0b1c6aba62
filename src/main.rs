//! The `argva` command line. All I/O and blocking lives here; the library is the engine.

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "argva",
    version,
    about = "Adversarially regularized graph autoencoders, trained on the GPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the GPU adapter argva would use (honours WGPU_BACKEND and WGPU_ADAPTER_NAME)
    /// and the device limits that bound graph sizes.
    Info {
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Info { json } => {
            let ctx = argva::gpu::GpuContext::new_blocking()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ctx.summary)?);
            } else {
                println!("{}", ctx.summary);
            }
        }
    }
    Ok(())
}
