//! The one shape of a run's results: `metrics.json`, `argva train --json`, the page's report
//! and (as JSON) the Python result's `report`.

use serde::Serialize;

use super::Select;
use crate::data;
use crate::eval::ClusteringMetrics;
use crate::gpu::AdapterSummary;
use crate::train::fit::LinkScores;
use crate::train::minibatch::BatchFit;
use crate::train::{EpochLosses, TrainConfig};

/// Everything a run reports.
#[derive(Debug, Serialize)]
pub struct RunReport {
    pub dataset: String,
    pub adapter: AdapterSummary,
    /// The hyperparameters trained with (a resumed run's: its checkpoint's).
    pub config: TrainConfig,
    pub select: Select,
    /// The epoch whose parameters made the embedding.
    pub selected_epoch: u32,
    pub graph: data::Summary,
    pub test: LinkScores,
    pub val: LinkScores,
    pub clustering: Option<ClusteringMetrics>,
    /// The run's time from start to report (the CLI's: from the command's start, loading
    /// included).
    pub wall_seconds: f64,
    pub train_seconds: f64,
    pub dispatches_per_epoch: usize,
    pub history: Vec<EpochLosses>,
    pub validation: Vec<(u32, LinkScores)>,
    /// A mini-batch run's batches, memory and time split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batches: Option<BatchFit>,
}

impl RunReport {
    pub fn to_json(&self) -> String {
        // (cannot fail: no maps with non-string keys; NaN serialises as null)
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}
