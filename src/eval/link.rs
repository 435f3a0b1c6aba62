//! Link-prediction metrics from the scores of positive and negative pairs.

use serde::Serialize;

/// Link-prediction quality on one edge set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LinkMetrics {
    pub auc: f64,
    pub ap: f64,
}

impl LinkMetrics {
    /// Both metrics from the scores of positive and negative pairs (see [`roc_auc`] and
    /// [`average_precision`] for the empty / NaN conventions).
    pub fn from_scores(pos: &[f64], neg: &[f64]) -> Self {
        Self {
            auc: roc_auc(pos, neg),
            ap: average_precision(pos, neg),
        }
    }
}

/// Scores labelled 1 (positive) / 0 (negative), sorted by score with `total_cmp`.
fn labelled(pos: &[f64], neg: &[f64]) -> Vec<(f64, bool)> {
    let mut all: Vec<(f64, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all
}

fn undefined(pos: &[f64], neg: &[f64]) -> bool {
    pos.is_empty() || neg.is_empty() || pos.iter().chain(neg).any(|s| s.is_nan())
}

/// ROC-AUC: the probability that a random positive scores above a random negative, ties
/// counting ½ (Mann–Whitney U from average ranks).
///
/// Returns NaN when `pos` or `neg` is empty or any score is NaN (the value is undefined;
/// scikit-learn raises in that case).
pub fn roc_auc(pos: &[f64], neg: &[f64]) -> f64 {
    if undefined(pos, neg) {
        return f64::NAN;
    }
    let all = labelled(pos, neg);
    // Sum of the 1-based ranks of the positives; tied scores share their average rank.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0; // mean of ranks i+1 ..= j
        let n_pos = all[i..j].iter().filter(|e| e.1).count();
        rank_sum += avg_rank * n_pos as f64;
        i = j;
    }
    let (p, n) = (pos.len() as f64, neg.len() as f64);
    (rank_sum - p * (p + 1.0) / 2.0) / (p * n)
}

/// Average precision, scikit-learn's step-wise definition: AP = Σ_k (R_k − R_{k−1})·P_k over
/// the distinct score thresholds in descending order (no interpolation).
///
/// Returns NaN when `pos` or `neg` is empty or any score is NaN.
pub fn average_precision(pos: &[f64], neg: &[f64]) -> f64 {
    if undefined(pos, neg) {
        return f64::NAN;
    }
    let all = labelled(pos, neg);
    let total_pos = pos.len() as f64;
    let (mut tp, mut fp) = (0usize, 0usize);
    let (mut ap, mut prev_recall) = (0.0, 0.0);
    // Walk thresholds from the highest score down; a tie group enters all at once.
    let mut j = all.len();
    while j > 0 {
        let mut i = j - 1;
        while i > 0 && all[i - 1].0 == all[j - 1].0 {
            i -= 1;
        }
        for e in &all[i..j] {
            if e.1 { tp += 1 } else { fp += 1 }
        }
        let recall = tp as f64 / total_pos;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - prev_recall) * precision;
        prev_recall = recall;
        j = i;
    }
    ap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_hand_computed_with_ties() {
        // pos {0.9, 0.5, 0.3}, neg {0.5, 0.1}. Pairs (p, n): 0.9>0.5 ✓, 0.9>0.1 ✓,
        // 0.5=0.5 → ½, 0.5>0.1 ✓, 0.3<0.5 ✗, 0.3>0.1 ✓  ⇒ (1+1+½+1+0+1)/6 = 4.5/6 = 0.75.
        assert!((roc_auc(&[0.9, 0.5, 0.3], &[0.5, 0.1]) - 0.75).abs() < 1e-15);
        // All tied: every pair counts ½.
        assert_eq!(roc_auc(&[1.0, 1.0], &[1.0]), 0.5);
        assert_eq!(roc_auc(&[2.0], &[1.0, 0.0]), 1.0);
        assert_eq!(roc_auc(&[0.0], &[1.0]), 0.0);
    }

    #[test]
    fn ap_hand_computed_with_ties() {
        // Same scores. Thresholds descending:
        //   ≥0.9: tp 1 fp 0 → R 1/3, P 1      → += 1/3·1
        //   ≥0.5: tp 2 fp 1 → R 2/3, P 2/3    → += 1/3·2/3
        //   ≥0.3: tp 3 fp 1 → R 1,   P 3/4    → += 1/3·3/4
        //   ≥0.1: tp 3 fp 2 → R 1 (no step)   → += 0
        // AP = 1/3 + 2/9 + 1/4 = (12 + 8 + 9)/36 = 29/36.
        let ap = average_precision(&[0.9, 0.5, 0.3], &[0.5, 0.1]);
        assert!((ap - 29.0 / 36.0).abs() < 1e-15, "{ap}");
        // All tied: one threshold, R 1, P = 2/3.
        assert!((average_precision(&[1.0, 1.0], &[1.0]) - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(average_precision(&[2.0], &[1.0, 0.0]), 1.0);
    }

    #[test]
    fn empty_or_nan_is_undefined() {
        assert!(roc_auc(&[], &[1.0]).is_nan());
        assert!(average_precision(&[1.0], &[]).is_nan());
        assert!(roc_auc(&[f64::NAN], &[1.0]).is_nan());
    }
}

/// Values from scikit-learn 1.9.1 (numpy, float64) on formula-generated scores, so the same
/// inputs are rebuilt here exactly (k/16 and k/1009 are correctly rounded in both):
/// ```python
/// from sklearn.metrics import roc_auc_score, average_precision_score
/// def link(pos, neg):
///     y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]; s = np.r_[pos, neg]
///     return roc_auc_score(y, s), average_precision_score(y, s)
/// link([((i*37+5) % 17)/16 for i in range(40)], [((i*53+2) % 13)/16 for i in range(30)])
/// # (0.6266666666666667, 0.7332052242883154)
/// link([((i*7919+13) % 1009)/1009 for i in range(50)], [((i*4001+7) % 1009)/1009 for i in range(70)])
/// # (0.459, 0.3965430808196934)
/// ```
#[cfg(test)]
mod sklearn {
    use super::*;

    fn scores(n: usize, mul: usize, add: usize, m: usize, den: f64) -> Vec<f64> {
        (0..n).map(|i| ((i * mul + add) % m) as f64 / den).collect()
    }

    #[test]
    fn matches_sklearn_with_many_ties() {
        let (pos, neg) = (scores(40, 37, 5, 17, 16.0), scores(30, 53, 2, 13, 16.0));
        assert!((roc_auc(&pos, &neg) - 0.6266666666666667).abs() < 1e-12);
        assert!((average_precision(&pos, &neg) - 0.7332052242883154).abs() < 1e-12);
        let m = LinkMetrics::from_scores(&pos, &neg);
        assert_eq!(m.auc, roc_auc(&pos, &neg));
    }

    #[test]
    fn matches_sklearn_distinct_scores() {
        let pos = scores(50, 7919, 13, 1009, 1009.0);
        let neg = scores(70, 4001, 7, 1009, 1009.0);
        assert!((roc_auc(&pos, &neg) - 0.459).abs() < 1e-12);
        assert!((average_precision(&pos, &neg) - 0.3965430808196934).abs() < 1e-12);
    }
}
