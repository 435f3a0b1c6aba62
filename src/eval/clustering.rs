//! Clustering metrics against ground-truth classes: accuracy under the best one-to-one
//! cluster↔class matching (Hungarian), NMI, ARI and macro-F1 (after the same matching).

use std::collections::BTreeMap;

use pathfinding::kuhn_munkres::kuhn_munkres;
use pathfinding::matrix::Matrix;
use serde::Serialize;

use super::kmeans::{KmeansKind, cluster};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    #[error("label vectors differ in length: {truth} true labels vs {pred} predicted")]
    LengthMismatch { truth: usize, pred: usize },
    #[error("no samples to evaluate")]
    Empty,
    #[error("embedding has {got} values, expected {n} nodes × {d} dims")]
    EmbeddingShape { got: usize, n: usize, d: usize },
    #[error("embedding value {index} is {value} (training diverged?)")]
    NonFinite { index: usize, value: f32 },
    #[error("k = {k} clusters is not in 1..={n} (number of nodes)")]
    BadK { k: usize, n: usize },
}

/// Node-clustering quality (all in [0, 1] except ARI, which can be negative).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClusteringMetrics {
    pub acc: f64,
    pub nmi: f64,
    /// NMI with the geometric-mean normalisation, scikit-learn's default before 0.22 (what the
    /// ARGA paper's code got).
    pub nmi_geometric: f64,
    pub ari: f64,
    pub f1: f64,
    /// Exact k-means, or mini-batch k-means past `kmeans::EXACT_MAX_POINTS` nodes.
    pub kmeans: KmeansKind,
}

/// k-means on the `n × d` embedding (k clusters, best of `restarts`, seeded; mini-batch
/// k-means on large graphs, [`cluster`]), then every metric against `labels`.
pub fn evaluate_clustering(
    embedding: &[f32],
    n: usize,
    d: usize,
    labels: &[u32],
    k: usize,
    restarts: usize,
    seed: u64,
) -> Result<ClusteringMetrics, EvalError> {
    if embedding.len() != n * d {
        return Err(EvalError::EmbeddingShape {
            got: embedding.len(),
            n,
            d,
        });
    }
    if let Some((index, &value)) = embedding.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(EvalError::NonFinite { index, value });
    }
    check(labels, &vec![0; n])?;
    if k == 0 || k > n {
        return Err(EvalError::BadK { k, n });
    }
    let (pred, kmeans) = cluster(embedding, n, d, k, restarts, seed);
    Ok(ClusteringMetrics {
        acc: clustering_accuracy(labels, &pred)?,
        nmi: nmi(labels, &pred)?,
        nmi_geometric: nmi_geometric(labels, &pred)?,
        ari: ari(labels, &pred)?,
        f1: macro_f1(labels, &pred)?,
        kmeans,
    })
}

fn check(truth: &[u32], pred: &[u32]) -> Result<(), EvalError> {
    if truth.len() != pred.len() {
        return Err(EvalError::LengthMismatch {
            truth: truth.len(),
            pred: pred.len(),
        });
    }
    if truth.is_empty() {
        return Err(EvalError::Empty);
    }
    Ok(())
}

/// Label values → dense indices 0.. in increasing value order.
fn densify(labels: &[u32]) -> (Vec<usize>, usize) {
    let mut ids = BTreeMap::new();
    for &l in labels {
        let next = ids.len();
        ids.entry(l).or_insert(next);
    }
    // Re-number in sorted order so results do not depend on first-appearance order.
    for (i, v) in ids.values_mut().enumerate() {
        *v = i;
    }
    (labels.iter().map(|l| ids[l]).collect(), ids.len())
}

/// Contingency table: counts[class][cluster], plus the class and cluster counts.
struct Contingency {
    counts: Vec<Vec<u64>>,
    classes: usize,
    clusters: usize,
    n: usize,
}

impl Contingency {
    fn new(truth: &[u32], pred: &[u32]) -> Self {
        let (t, classes) = densify(truth);
        let (p, clusters) = densify(pred);
        let mut counts = vec![vec![0u64; clusters]; classes];
        for (&a, &b) in t.iter().zip(&p) {
            counts[a][b] += 1;
        }
        Self {
            counts,
            classes,
            clusters,
            n: truth.len(),
        }
    }
    fn row_sums(&self) -> Vec<u64> {
        self.counts.iter().map(|r| r.iter().sum()).collect()
    }
    fn col_sums(&self) -> Vec<u64> {
        (0..self.clusters)
            .map(|c| self.counts.iter().map(|r| r[c]).sum())
            .collect()
    }

    /// Best one-to-one cluster → class matching (maximum total overlap): `map[cluster]` is
    /// its class, or None for clusters left over when there are more clusters than classes.
    fn matching(&self) -> Vec<Option<usize>> {
        // kuhn_munkres needs rows ≤ columns: pad to a square matrix with zero overlaps.
        let m = self.classes.max(self.clusters);
        let mut w = Matrix::new(m, m, 0i64);
        for (cl, row) in self.counts.iter().enumerate() {
            for (k, &c) in row.iter().enumerate() {
                w[(k, cl)] = c as i64;
            }
        }
        let (_, assign) = kuhn_munkres(&w);
        (0..self.clusters)
            .map(|k| Some(assign[k]).filter(|&c| c < self.classes))
            .collect()
    }
}

/// Fraction of samples whose cluster maps to their class under the best one-to-one
/// cluster↔class matching (Hungarian algorithm on the contingency table).
pub fn clustering_accuracy(truth: &[u32], pred: &[u32]) -> Result<f64, EvalError> {
    check(truth, pred)?;
    let ct = Contingency::new(truth, pred);
    let hits: u64 = ct
        .matching()
        .iter()
        .enumerate()
        .filter_map(|(k, c)| c.map(|c| ct.counts[c][k]))
        .sum();
    Ok(hits as f64 / ct.n as f64)
}

/// Macro-averaged F1 over the true classes after the Hungarian mapping of clusters to
/// classes. A class no cluster maps to scores F1 = 0; points in unmatched clusters count as
/// misses of their class. (With as many clusters as classes this is scikit-learn's
/// `f1_score(truth, mapped_pred, average="macro")`.)
pub fn macro_f1(truth: &[u32], pred: &[u32]) -> Result<f64, EvalError> {
    check(truth, pred)?;
    let ct = Contingency::new(truth, pred);
    let (support, sizes) = (ct.row_sums(), ct.col_sums());
    let mut f1_sum = 0.0;
    for (k, class) in ct.matching().into_iter().enumerate() {
        if let Some(c) = class {
            let tp = ct.counts[c][k] as f64;
            // F1 = 2TP / (2TP + FP + FN) = 2TP / (predicted + actual); 0 when TP = 0.
            if tp > 0.0 {
                f1_sum += 2.0 * tp / (sizes[k] + support[c]) as f64;
            }
        }
    }
    Ok(f1_sum / ct.classes as f64)
}

fn entropy(counts: &[u64], n: f64) -> f64 {
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// Normalised mutual information, arithmetic-mean normalisation
/// MI / ((H(truth) + H(pred)) / 2) — scikit-learn's default. Two single-cluster labelings
/// score 1 (as scikit-learn).
pub fn nmi(truth: &[u32], pred: &[u32]) -> Result<f64, EvalError> {
    nmi_with(truth, pred, |ht, hp| (ht + hp) / 2.0)
}

/// NMI with the geometric-mean normalisation MI / √(H(truth)·H(pred)), scikit-learn's default
/// before 0.22.
pub fn nmi_geometric(truth: &[u32], pred: &[u32]) -> Result<f64, EvalError> {
    nmi_with(truth, pred, |ht, hp| (ht * hp).sqrt())
}

/// MI / `norm`(H(truth), H(pred)).
fn nmi_with(truth: &[u32], pred: &[u32], norm: fn(f64, f64) -> f64) -> Result<f64, EvalError> {
    check(truth, pred)?;
    let ct = Contingency::new(truth, pred);
    if ct.classes == 1 && ct.clusters == 1 {
        return Ok(1.0);
    }
    let n = ct.n as f64;
    let (a, b) = (ct.row_sums(), ct.col_sums());
    let mut mi = 0.0;
    for (i, row) in ct.counts.iter().enumerate() {
        for (j, &c) in row.iter().enumerate() {
            if c > 0 {
                let c = c as f64;
                mi += c / n * (c * n / (a[i] as f64 * b[j] as f64)).ln();
            }
        }
    }
    let h = norm(entropy(&a, n), entropy(&b, n));
    // MI ≤ min(H) ≤ either mean; rounding can make MI a hair negative when independent.
    Ok((mi.max(0.0)) / h.max(f64::EPSILON))
}

/// Adjusted Rand index (Hubert & Arabie): (Σ C(n_ij,2) − E) / (½(Σ C(a_i,2) + Σ C(b_j,2)) − E)
/// with E = Σ C(a_i,2)·Σ C(b_j,2) / C(n,2). Identical partitions (including the degenerate
/// all-singletons / single-cluster cases where the ratio is 0/0) score 1, as scikit-learn.
pub fn ari(truth: &[u32], pred: &[u32]) -> Result<f64, EvalError> {
    check(truth, pred)?;
    let ct = Contingency::new(truth, pred);
    let comb2 = |x: u64| (x as f64) * (x as f64 - 1.0) / 2.0;
    let sum_ij: f64 = ct.counts.iter().flatten().map(|&c| comb2(c)).sum();
    let sum_a: f64 = ct.row_sums().into_iter().map(comb2).sum();
    let sum_b: f64 = ct.col_sums().into_iter().map(comb2).sum();
    let expected = sum_a * sum_b / comb2(ct.n as u64).max(1.0);
    let max_index = (sum_a + sum_b) / 2.0;
    if max_index == expected {
        return Ok(1.0);
    }
    Ok((sum_ij - expected) / (max_index - expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_small_case() {
        // truth 0 0 0 1 1 1, pred 1 1 0 0 0 0. Contingency [class][cluster]:
        //   class 0: cluster0 1, cluster1 2;  class 1: cluster0 3, cluster1 0.
        // Best matching: cluster1→class0 (2) + cluster0→class1 (3) ⇒ ACC = 5/6.
        let (t, p) = ([0, 0, 0, 1, 1, 1], [1, 1, 0, 0, 0, 0]);
        assert!((clustering_accuracy(&t, &p).unwrap() - 5.0 / 6.0).abs() < 1e-15);
        // F1: class0 tp 2, predicted 2, actual 3 → 4/5; class1 tp 3, predicted 4, actual 3
        // → 6/7; macro = (4/5 + 6/7)/2 = 58/70.
        assert!((macro_f1(&t, &p).unwrap() - 58.0 / 70.0).abs() < 1e-15);
        // ARI: Σ C(n_ij,2) = C(2,2)+C(3,2) = 1+3 = 4; Σ C(a,2) = 3+3 = 6; Σ C(b,2) = C(4,2)+C(2,2)
        // = 7; E = 6·7/C(6,2) = 42/15 = 2.8; max = 6.5 ⇒ ARI = (4−2.8)/(6.5−2.8) = 1.2/3.7.
        assert!((ari(&t, &p).unwrap() - 1.2 / 3.7).abs() < 1e-15);
    }

    #[test]
    fn permuted_labels_are_perfect() {
        let t = [0, 0, 1, 1, 2, 2, 2];
        let p = [7, 7, 3, 3, 5, 5, 5];
        assert_eq!(clustering_accuracy(&t, &p).unwrap(), 1.0);
        assert!((nmi(&t, &p).unwrap() - 1.0).abs() < 1e-15);
        assert!((ari(&t, &p).unwrap() - 1.0).abs() < 1e-15);
        assert!((macro_f1(&t, &p).unwrap() - 1.0).abs() < 1e-15);
        // Degenerate identical partitions (sklearn returns 1).
        assert_eq!(nmi(&[4, 4], &[1, 1]).unwrap(), 1.0);
        assert_eq!(ari(&[0, 1, 2], &[2, 0, 1]).unwrap(), 1.0);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(
            nmi(&[0, 1], &[0]),
            Err(EvalError::LengthMismatch { truth: 2, pred: 1 })
        );
        assert_eq!(ari(&[], &[]), Err(EvalError::Empty));
        assert!(matches!(
            evaluate_clustering(&[0.0; 6], 3, 2, &[0, 1, 0], 4, 1, 0),
            Err(EvalError::BadK { k: 4, n: 3 })
        ));
        assert!(matches!(
            evaluate_clustering(&[0.0; 5], 3, 2, &[0, 1, 0], 2, 1, 0),
            Err(EvalError::EmbeddingShape { .. })
        ));
        assert!(matches!(
            evaluate_clustering(&[0.0, f32::NAN], 2, 1, &[0, 1], 2, 1, 0),
            Err(EvalError::NonFinite { index: 1, .. })
        ));
    }

    /// Expected values from scikit-learn 1.9.1 / scipy (`linear_sum_assignment` for ACC and
    /// the mapping used for F1), on formula-generated labels:
    /// ```python
    /// t = [(i*7 + i//5) % 4 for i in range(60)]
    /// p = [(i*3 + i//4 + (i*i) % 3) % 4 for i in range(60)]      # square case
    /// C[b, a] += 1 for a, b in zip(t, p); r, c = linear_sum_assignment(-C)
    /// acc = C[r, c].sum()/60; mapped = [dict(zip(r, c))[x] for x in p]
    /// normalized_mutual_info_score(t, p), adjusted_rand_score(t, p),
    /// f1_score(t, mapped, average="macro")
    /// # (0.36666666666666664, 0.05216281756479585, -0.003812297440097886, 0.3564099814099814)
    /// normalized_mutual_info_score(t, p, average_method="geometric")   # 0.052171914636678696
    /// normalized_mutual_info_score(t, p5, average_method="geometric")  # 0.17220900077299067
    /// p5 = [(i*i + i//3) % 5 for i in range(60)]                 # 5 clusters vs 4 classes
    /// # acc, nmi, ari = (0.3333333333333333, 0.17180010365056186, 0.014696058784235137)
    /// ```
    #[test]
    fn matches_sklearn() {
        let t: Vec<u32> = (0..60).map(|i| (i * 7 + i / 5) % 4).collect();
        let p: Vec<u32> = (0..60).map(|i| (i * 3 + i / 4 + (i * i) % 3) % 4).collect();
        let close = |a: f64, b: f64, tol: f64| assert!((a - b).abs() < tol, "{a} vs {b}");
        close(
            clustering_accuracy(&t, &p).unwrap(),
            0.36666666666666664,
            1e-12,
        );
        close(nmi(&t, &p).unwrap(), 0.05216281756479585, 1e-10);
        close(ari(&t, &p).unwrap(), -0.003812297440097886, 1e-10);
        close(macro_f1(&t, &p).unwrap(), 0.3564099814099814, 1e-10);
        let p5: Vec<u32> = (0..60).map(|i| (i * i + i / 3) % 5).collect();
        close(
            clustering_accuracy(&t, &p5).unwrap(),
            0.3333333333333333,
            1e-12,
        );
        close(nmi(&t, &p5).unwrap(), 0.17180010365056186, 1e-10);
        close(nmi_geometric(&t, &p).unwrap(), 0.052171914636678696, 1e-10);
        close(nmi_geometric(&t, &p5).unwrap(), 0.17220900077299067, 1e-10);
        close(ari(&t, &p5).unwrap(), 0.014696058784235137, 1e-10);
    }

    #[test]
    fn evaluate_clustering_on_blobs() {
        // Three 2-D blobs far apart, labels permuted relative to blob order.
        let mut emb = Vec::new();
        let mut labels = Vec::new();
        for i in 0..30u32 {
            let b = i % 3;
            emb.extend([100.0 * b as f32 + (i as f32) * 0.01, -50.0 * b as f32]);
            labels.push((b + 1) % 3);
        }
        let m = evaluate_clustering(&emb, 30, 2, &labels, 3, 4, 11).unwrap();
        assert_eq!(
            m,
            ClusteringMetrics {
                acc: 1.0,
                nmi: m.nmi,
                nmi_geometric: m.nmi_geometric,
                ari: m.ari,
                f1: 1.0,
                kmeans: KmeansKind::Exact,
            }
        );
        assert!((m.nmi - 1.0).abs() < 1e-12 && (m.ari - 1.0).abs() < 1e-12);
    }
}
