//! Scores of the kept embedding: link prediction on the held-out pairs, and clustering
//! against the labels when the graph has them.

use super::{RunError, RunSettings};
use crate::data::Graph;
use crate::data::split::LinkSplit;
use crate::eval::{ClusteringMetrics, evaluate_clustering};
use crate::train::fit::{LinkScores, link_scores};

pub struct Scores {
    pub test: LinkScores,
    pub val: LinkScores,
    pub clustering: Option<ClusteringMetrics>,
}

/// Scores the N × d `embedding` on the split's test and validation pairs and clusters it.
pub fn evaluate(
    graph: &Graph,
    split: &LinkSplit,
    s: &RunSettings,
    embedding: &[f32],
) -> Result<Scores, RunError> {
    let (n, d) = (graph.num_nodes, s.cfg.latent);
    let clustering = match &graph.labels {
        Some(labels) if graph.num_classes > 1 => Some(evaluate_clustering(
            embedding,
            n,
            d,
            labels,
            graph.num_classes,
            s.kmeans_restarts.max(1),
            s.cfg.seed,
        )?),
        _ => None,
    };
    Ok(Scores {
        test: link_scores(embedding, d, &split.test_pos, &split.test_neg),
        val: link_scores(embedding, d, &split.val_pos, &split.val_neg),
        clustering,
    })
}
