//! The run folder's files as bytes (`argva train --out` writes them, Python's
//! `FitResult.write` too, and the page offers them as downloads).

use super::{RunError, RunOutcome};
use crate::data::Graph;
use crate::data::npy::encode as npy_bytes;
use crate::export::{embedding_csv, pairs_npy};

/// One file of a run folder.
pub struct Artifact {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl RunOutcome {
    /// Every file of the run folder, `metrics.json` last (a folder with it is complete):
    /// `embedding.npy` (N × d float32), `embedding.csv`, `labels.npy` (with labels),
    /// `history.csv`, `model.safetensors`, the evaluated pairs (`{test,val}_{pos,neg}.npy`).
    pub fn artifacts(&self, graph: &Graph) -> Result<Vec<Artifact>, RunError> {
        let d = self.report.config.latent;
        let n = self.report.graph.nodes;
        let npy = |r: Result<Vec<u8>, String>| r.map_err(RunError::BadInput);
        let mut files = vec![
            ("embedding.npy", npy(npy_bytes(&[n, d], &self.embedding))?),
            (
                "embedding.csv",
                embedding_csv(&self.embedding, d, graph.node_ids.as_deref()).into_bytes(),
            ),
        ];
        if let Some(labels) = &graph.labels {
            let wide: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            files.push(("labels.npy", npy(npy_bytes(&[labels.len()], &wide))?));
        }
        files.push(("history.csv", self.history_csv().into_bytes()));
        files.push(("model.safetensors", self.checkpoint().to_bytes()?));
        let split = &self.split;
        for (name, pairs) in [
            ("test_pos.npy", &split.test_pos),
            ("test_neg.npy", &split.test_neg),
            ("val_pos.npy", &split.val_pos),
            ("val_neg.npy", &split.val_neg),
        ] {
            files.push((name, pairs_npy(pairs)));
        }
        files.push(("metrics.json", self.report.to_json().into_bytes()));
        Ok(files
            .into_iter()
            .map(|(name, bytes)| Artifact {
                name: name.to_string(),
                bytes,
            })
            .collect())
    }

    /// One row per epoch: its losses, and the validation scores where it was scored.
    pub fn history_csv(&self) -> String {
        let r = &self.report;
        let mut csv = String::from("epoch,total,recon,reg,kl,disc,val_auc,val_ap\n");
        for l in &r.history {
            let v = r.validation.iter().find(|(e, _)| *e == l.epoch + 1);
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                l.epoch + 1,
                l.total,
                l.recon,
                l.reg,
                l.kl,
                l.disc,
                v.map_or(String::new(), |(_, s)| s.auc.to_string()),
                v.map_or(String::new(), |(_, s)| s.ap.to_string()),
            ));
        }
        csv
    }
}
