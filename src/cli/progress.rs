//! What `argva train` shows while the library's job runs: a progress bar with the losses,
//! notes above it, Ctrl-C as a request to stop at the next epoch, and `--save-every`
//! checkpoints written into the output folder.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use crate::checkpoint::Checkpoint;
use crate::gpu::GpuContext;
use crate::model::ModelKind;
use crate::run::RunHooks;
use crate::train::EpochLosses;
use crate::train::fit::Event;

/// The terminal's side of a training run.
pub struct TrainProgress<'a> {
    bar: ProgressBar,
    model: ModelKind,
    last_auc: Option<f64>,
    interrupt: &'static AtomicBool,
    /// Where periodic checkpoints go (`--out`).
    out: Option<&'a Path>,
}

impl<'a> TrainProgress<'a> {
    /// A bar over `epochs` (hidden unless `shown`) for `model` on `ctx`'s adapter.
    pub fn new(
        shown: bool,
        model: ModelKind,
        epochs: u32,
        ctx: &GpuContext,
        out: Option<&'a Path>,
    ) -> Self {
        let bar = if shown {
            let bar = ProgressBar::new(epochs as u64);
            let template =
                "{prefix} [{bar:30}] {pos}/{len} epochs {elapsed_precise} (eta {eta}) {msg}";
            let style = ProgressStyle::with_template(template).expect("static template");
            bar.set_style(style.progress_chars("=> "));
            bar.set_prefix(format!("{} on {}", model.name(), ctx.summary.name));
            bar
        } else {
            ProgressBar::hidden()
        };
        TrainProgress {
            bar,
            model,
            last_auc: None,
            interrupt: interrupt_flag(),
            out,
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl RunHooks for TrainProgress<'_> {
    fn event(&mut self, event: Event<'_>) -> ControlFlow<()> {
        match event {
            Event::Epoch(l) => {
                self.bar.set_position(l.epoch as u64 + 1);
                self.bar
                    .set_message(loss_message(self.model, l, self.last_auc));
            }
            Event::Validated { scores, .. } => self.last_auc = Some(scores.auc),
            Event::Checkpoint { .. } => {}
        }
        if self.interrupt.load(Ordering::SeqCst) {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn checkpoint(&mut self, ck: &Checkpoint) -> Result<(), String> {
        let dir = self
            .out
            .ok_or("--save-every needs an output folder (--out)")?;
        let name = format!("checkpoint-{:05}.safetensors", ck.epochs_done);
        super::train::write_checkpoint(dir, &name, ck).map_err(|e| super::error_text(&e))
    }

    fn note(&mut self, text: &str) {
        self.bar.suspend(|| eprintln!("note: {text}"));
    }
}

/// One line of losses for a progress display.
pub fn loss_message(model: ModelKind, l: &EpochLosses, val_auc: Option<f64>) -> String {
    let auc = val_auc.map_or(String::new(), |a| format!(" val AUC {a:.4}"));
    if model.adversarial() {
        format!(
            "loss {:.4} (recon {:.4}, reg {:.4}, D {:.4}){auc}",
            l.total, l.recon, l.reg, l.disc
        )
    } else {
        format!("loss {:.4} (recon {:.4}){auc}", l.total, l.recon)
    }
}

/// Ctrl-C during `argva train`: the first asks training to stop at the next epoch boundary
/// (the run then saves a checkpoint and says how to resume); a second one quits at once.
fn interrupt_flag() -> &'static AtomicBool {
    static FLAG: AtomicBool = AtomicBool::new(false);
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        // (No handler, e.g. one already installed by an embedding program: Ctrl-C then
        // keeps its default meaning.)
        let _ = ctrlc::set_handler(|| {
            if FLAG.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: stopping after the current epoch (Ctrl-C again quits now)");
        });
    });
    &FLAG
}
