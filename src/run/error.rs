//! Why a run did not finish, typed so that each front end can tell the caller's mistake from
//! the device's failure without reading messages (Python: `ValueError` vs `RuntimeError`).

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::data::DataError;
use crate::eval::EvalError;
use crate::gpu::GpuError;
use crate::train::fit::FitError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Settings no run can use, or a checkpoint that does not fit the graph.
    #[error("{0}")]
    BadInput(String),
    /// Settings a strategy cannot run (a recipe mini-batches lack, a budget no batch fits).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    FeatureMismatch(#[from] FeatureMismatch),
    /// Training failed: the device, a readback, or a diverged loss.
    #[error(transparent)]
    Fit(FitError),
    #[error("clustering the embedding: {0}")]
    Eval(#[from] EvalError),
    /// A hook failed to keep a checkpoint (e.g. writing its file).
    #[error("writing a checkpoint: {0}")]
    Hook(String),
    /// A hook asked to stop. `checkpoint`: the state after `epochs_done` epochs, to resume
    /// from (None where the strategy cannot resume: mini-batches).
    #[error("training was stopped after epoch {epochs_done}")]
    Stopped {
        epochs_done: u32,
        checkpoint: Option<Box<Checkpoint>>,
    },
}

impl RunError {
    /// Whether the caller's input is at fault (to be changed, not retried).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RunError::BadInput(_)
                | RunError::Refused(_)
                | RunError::Data(_)
                | RunError::Checkpoint(_)
                | RunError::FeatureMismatch(_)
        )
    }
}

impl From<GpuError> for RunError {
    fn from(e: GpuError) -> Self {
        RunError::Fit(e.into())
    }
}

/// A graph whose feature width is not the model's.
#[derive(Debug, thiserror::Error)]
#[error(
    "feature size mismatch: the model was trained on {trained} input features, {graph} has {given}"
)]
pub struct FeatureMismatch {
    pub trained: usize,
    pub graph: String,
    pub given: usize,
}

/// An error and its causes in one line, `a: b: c`, leaving out a cause whose text is already
/// part of the line (errors that print their source would otherwise show it twice).
pub fn error_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}
