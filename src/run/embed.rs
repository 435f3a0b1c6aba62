//! The embedding of a graph under a trained model (`argva embed`, Python's
//! `FitResult.embed`): the encoder's forward pass over the whole graph.

use super::{FeatureMismatch, RunError};
use crate::checkpoint::Checkpoint;
use crate::data::Graph;
use crate::gpu::GpuContext;
use crate::train::{Prepared, TrainConfig, Trainer};

/// The trained encoder's embedding of `graph` (μ, or z for GAE/ARGA), messages passed over
/// `message_edges`.
pub async fn embed_graph(
    ctx: &GpuContext,
    ck: &Checkpoint,
    graph: &Graph,
    message_edges: &[[u32; 2]],
) -> Result<Vec<f32>, RunError> {
    if graph.features.cols != ck.arch.features {
        return Err(FeatureMismatch {
            trained: ck.arch.features,
            graph: graph.name.clone(),
            given: graph.features.cols,
        }
        .into());
    }
    let prepared = Prepared::new(graph, message_edges, ck.config.normalize_features);
    let no_negatives = |_: &mut rand_chacha::ChaCha8Rng, _: usize| Vec::new();
    let inputs = prepared.inputs(&[], &no_negatives);
    // (a whole Trainer for one forward pass: its noise on H1 and its bias-free layers are
    // the checkpoint's recipe's, as in training)
    let cfg = TrainConfig {
        epochs: 0,
        ..ck.config.clone()
    };
    let mut trainer = Trainer::new(ctx, &cfg, &inputs)?;
    trainer.restore(ctx, &ck.state, ck.epochs_done)?;
    Ok(trainer.encode(ctx).await?)
}
