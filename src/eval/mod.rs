//! Evaluation metrics (CPU, f64): link prediction (ROC-AUC, average precision) and node
//! clustering (k-means on the embedding, then ACC / NMI / ARI / macro-F1 against labels).
//!
//! Definitions follow scikit-learn so numbers are comparable with published results; the
//! tests pin values computed with scikit-learn.

mod clustering;
mod kmeans;
mod link;
mod project;

pub use clustering::{
    ClusteringMetrics, EvalError, ari, clustering_accuracy, evaluate_clustering, macro_f1, nmi,
};
pub use kmeans::{EXACT_MAX_POINTS, KmeansKind, kmeans, minibatch_kmeans};
pub use link::{LinkMetrics, average_precision, roc_auc};
pub use project::pca_2d;
