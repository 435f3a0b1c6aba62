//! Subcommands of the `argva` binary: argument parsing, file output, progress display.

pub mod bench;
pub mod data;
pub mod embed;
pub mod output;
pub mod plot;
pub mod train;

use argva::data::{Csr, Graph, gcn_norm};
use argva::train::TrainInputs;

/// A graph made ready for the engine: its features (row-normalised on request) and the GCN
/// operator Â over the given message edges.
pub struct Prepared {
    pub features: Csr,
    pub adjacency: Csr,
}

/// Draws an epoch's negative pairs.
pub type SampleNegatives<'a> = dyn Fn(&mut rand_chacha::ChaCha8Rng, usize) -> Vec<[u32; 2]> + 'a;

impl Prepared {
    pub fn new(graph: &Graph, message_edges: &[[u32; 2]], normalize_features: bool) -> Self {
        let mut features = graph.features.clone();
        if normalize_features {
            features.row_normalize();
        }
        let adjacency = gcn_norm(graph.num_nodes, message_edges);
        Self {
            features,
            adjacency,
        }
    }

    pub fn inputs<'a>(
        &'a self,
        train_pos: &'a [[u32; 2]],
        sample_negatives: &'a SampleNegatives<'a>,
    ) -> TrainInputs<'a> {
        TrainInputs {
            features: (&self.features).into(),
            adjacency: (&self.adjacency).into(),
            train_pos,
            sample_negatives,
        }
    }
}
