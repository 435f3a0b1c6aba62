//! The run folder's files as bytes (`argva train --out` writes them, Python's
//! `FitResult.write` too, and the page offers them as downloads), encoded one at a time so
//! that a large graph's files never sit in memory together.

use super::{RunError, RunOutcome};
use crate::data::npy::encode as npy_bytes;
use crate::export::{embedding_csv, pairs_npy};

/// One file of a run folder.
pub struct Artifact {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// What the run folder takes from the graph besides the outcome.
#[derive(Clone, Copy, Default)]
pub struct GraphNames<'a> {
    /// Class per node (`labels.npy`).
    pub labels: Option<&'a [u32]>,
    /// The file's node names (`embedding.csv`'s first column; else 0..N).
    pub node_ids: Option<&'a [String]>,
}

impl<'a> GraphNames<'a> {
    pub fn of(graph: &'a crate::data::Graph) -> Self {
        GraphNames {
            labels: graph.labels.as_deref(),
            node_ids: graph.node_ids.as_deref(),
        }
    }
}

impl RunOutcome {
    /// Hands every file of the run folder to `write` as soon as it is encoded, `metrics.json`
    /// last (a folder with it is complete): `embedding.npy` (N × d float32), `embedding.csv`,
    /// `labels.npy` (with labels), `history.csv`, `model.safetensors`, the evaluated pairs
    /// (`{test,val}_{pos,neg}.npy`). Only one file's bytes are held at a time (a 10 M-node
    /// embedding's CSV alone is gigabytes).
    pub fn write_artifacts<E: From<RunError>>(
        &self,
        names: GraphNames<'_>,
        mut write: impl FnMut(&str, Vec<u8>) -> Result<(), E>,
    ) -> Result<(), E> {
        let d = self.report.config.latent;
        let n = self.report.graph.nodes;
        let npy = |r: Result<Vec<u8>, String>| r.map_err(|e| E::from(RunError::BadInput(e)));
        write("embedding.npy", npy(npy_bytes(&[n, d], &self.embedding))?)?;
        let csv = embedding_csv(&self.embedding, d, names.node_ids);
        write("embedding.csv", csv.into_bytes())?;
        if let Some(labels) = names.labels {
            let wide: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            write("labels.npy", npy(npy_bytes(&[labels.len()], &wide))?)?;
        }
        write("history.csv", self.history_csv().into_bytes())?;
        let model = self.checkpoint().to_bytes().map_err(RunError::from)?;
        write("model.safetensors", model)?;
        for (name, pairs) in self.split.held_out() {
            write(&format!("{name}.npy"), pairs_npy(pairs))?;
        }
        write("metrics.json", self.report.to_json().into_bytes())
    }

    /// Every file of the run folder at once (small graphs: the page's downloads).
    pub fn artifacts(&self, names: GraphNames<'_>) -> Result<Vec<Artifact>, RunError> {
        let mut files = Vec::new();
        self.write_artifacts(names, |name: &str, bytes| {
            files.push(Artifact {
                name: name.to_string(),
                bytes,
            });
            Ok::<(), RunError>(())
        })?;
        Ok(files)
    }

    /// One row per epoch: its losses, and the validation scores where it was scored.
    fn history_csv(&self) -> String {
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
