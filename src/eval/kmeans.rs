//! k-means (k-means++ seeding, Lloyd iterations, best of several restarts), seeded and
//! deterministic. Points arrive as f32 (the GPU embedding); all arithmetic is f64.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Lloyd iterations per restart; converged runs stop much earlier (assignments unchanged).
const MAX_ITERS: usize = 300;

/// Cluster `n` points of dimension `dim` (row-major in `points`) into `k` clusters and return
/// each point's cluster in `0..k`. Runs `restarts` (at least 1) k-means++ seeded Lloyd runs
/// and keeps the one with the lowest inertia (sum of squared distances to the centres).
/// The same `seed` always gives the same labels.
///
/// Panics if `points.len() != n·dim`, `k == 0` or `k > n` (callers validate: see
/// [`super::evaluate_clustering`]).
pub fn kmeans(
    points: &[f32],
    n: usize,
    dim: usize,
    k: usize,
    restarts: usize,
    seed: u64,
) -> Vec<u32> {
    check_shape(points, n, dim, k);
    let x: Vec<f64> = points.iter().map(|&v| v as f64).collect();
    best_of(restarts, seed, |rng| lloyd(&x, n, dim, k, rng))
}

/// The callers' promise (see [`kmeans`]'s panics).
fn check_shape(points: &[f32], n: usize, dim: usize, k: usize) {
    assert_eq!(points.len(), n * dim, "kmeans: points must be n × dim");
    assert!(
        k >= 1 && k <= n,
        "kmeans: need 1 ≤ k ≤ n (k = {k}, n = {n})"
    );
}

/// The result of the restart with the lowest inertia, `run` returning (inertia, result). One
/// independent stream per restart so adding restarts never changes earlier ones.
fn best_of<T: Default>(
    restarts: usize,
    seed: u64,
    mut run: impl FnMut(&mut ChaCha8Rng) -> (f64, T),
) -> T {
    let mut best: Option<(f64, T)> = None;
    for r in 0..restarts.max(1) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(r as u64);
        let (inertia, result) = run(&mut rng);
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, result));
        }
    }
    best.map(|(_, t)| t).unwrap_or_default()
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-means++: first centre uniform, each next one drawn with probability ∝ D(x)², the
/// squared distance to the nearest centre chosen so far.
fn seed_centres(x: &[f64], n: usize, dim: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let mut centres = Vec::with_capacity(k * dim);
    centres.extend_from_slice(row(rng.random_range(0..n)));
    let mut d2: Vec<f64> = (0..n).map(|i| sq_dist(row(i), &centres[..dim])).collect();
    for _ in 1..k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let mut t = rng.random::<f64>() * total;
            let mut pick = n - 1;
            for (i, &w) in d2.iter().enumerate() {
                if t < w {
                    pick = i;
                    break;
                }
                t -= w;
            }
            pick
        } else {
            // All points coincide with chosen centres: any point will do.
            rng.random_range(0..n)
        };
        let c = row(pick).to_vec();
        for (i, d) in d2.iter_mut().enumerate() {
            *d = d.min(sq_dist(row(i), &c));
        }
        centres.extend_from_slice(&c);
    }
    centres
}

/// One k-means++ seeded Lloyd run: (inertia, labels).
fn lloyd(x: &[f64], n: usize, dim: usize, k: usize, rng: &mut ChaCha8Rng) -> (f64, Vec<u32>) {
    let row = |i: usize| &x[i * dim..(i + 1) * dim];
    let mut centres = seed_centres(x, n, dim, k, rng);
    let mut labels = vec![u32::MAX; n];
    let mut dist = vec![0.0; n];
    for _ in 0..MAX_ITERS {
        // Assignment step (ties go to the lowest centre index: deterministic).
        let mut changed = false;
        for i in 0..n {
            let (mut bc, mut bd) = (0usize, f64::INFINITY);
            for c in 0..k {
                let d = sq_dist(row(i), &centres[c * dim..(c + 1) * dim]);
                if d < bd {
                    (bc, bd) = (c, d);
                }
            }
            dist[i] = bd;
            if labels[i] != bc as u32 {
                labels[i] = bc as u32;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        // Update step: centres become their members' means.
        let mut sums = vec![0.0; k * dim];
        let mut counts = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            let c = l as usize;
            counts[c] += 1;
            for (s, v) in sums[c * dim..(c + 1) * dim].iter_mut().zip(row(i)) {
                *s += v;
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                // Empty cluster: move it onto the point farthest from its centre, which then
                // no longer counts as far (so two empty clusters take different points).
                let far = (0..n)
                    .max_by(|&a, &b| dist[a].total_cmp(&dist[b]))
                    .unwrap_or(0);
                dist[far] = 0.0;
                centres[c * dim..(c + 1) * dim].copy_from_slice(row(far));
            } else {
                for (dst, s) in centres[c * dim..(c + 1) * dim]
                    .iter_mut()
                    .zip(&sums[c * dim..])
                {
                    *dst = s / counts[c] as f64;
                }
            }
        }
    }
    let inertia = (0..n)
        .map(|i| sq_dist(row(i), &centres[labels[i] as usize * dim..][..dim]))
        .sum();
    (inertia, labels)
}

/// Largest point count [`cluster`] runs exact k-means on; larger sets get
/// [`minibatch_kmeans`] (exact Lloyd on 10 M × 32 points is hours on two cores).
pub const EXACT_MAX_POINTS: usize = 200_000;
/// Mini-batch k-means: points per step, steps per restart, and the sample that seeds the
/// centres (k-means++) and scores the restarts.
const MB_BATCH: usize = 4096;
const MB_STEPS: usize = 300;
const MB_SAMPLE: usize = 20_000;

/// Which k-means produced a clustering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KmeansKind {
    /// Lloyd to convergence from k-means++ seeds, best of the restarts ([`kmeans`]).
    Exact,
    /// Sculley's mini-batch k-means ([`minibatch_kmeans`]).
    MiniBatch,
}

/// [`kmeans`] up to [`EXACT_MAX_POINTS`] points, [`minibatch_kmeans`] past it.
pub fn cluster(
    points: &[f32],
    n: usize,
    dim: usize,
    k: usize,
    restarts: usize,
    seed: u64,
) -> (Vec<u32>, KmeansKind) {
    if n <= EXACT_MAX_POINTS {
        (kmeans(points, n, dim, k, restarts, seed), KmeansKind::Exact)
    } else {
        let labels = minibatch_kmeans(points, n, dim, k, restarts, seed);
        (labels, KmeansKind::MiniBatch)
    }
}

/// Mini-batch k-means (Sculley, WWW 2010; scikit-learn's `MiniBatchKMeans`): per restart,
/// k-means++ seeds from a uniform sample of [`MB_SAMPLE`] points, then [`MB_STEPS`] steps
/// that each assign [`MB_BATCH`] uniformly drawn points and move every centre towards its
/// points with rate 1/(points it has seen). The restart with the lowest inertia on the sample
/// is kept, and every point then gets its nearest centre. O((steps·batch + n)·k·dim) time,
/// O(sample·dim) memory beyond the labels; seeded and deterministic. Panics as [`kmeans`].
pub fn minibatch_kmeans(
    points: &[f32],
    n: usize,
    dim: usize,
    k: usize,
    restarts: usize,
    seed: u64,
) -> Vec<u32> {
    check_shape(points, n, dim, k);
    let row = |i: usize| points[i * dim..(i + 1) * dim].iter().map(|&v| v as f64);
    let centres = best_of(restarts, seed, |rng| {
        let m = n.min(MB_SAMPLE).max(k);
        let sample: Vec<f64> = (0..m).flat_map(|_| row(rng.random_range(0..n))).collect();
        let mut centres = seed_centres(&sample, m, dim, k, rng);
        let mut seen = vec![0u64; k];
        let mut x = vec![0.0; dim];
        for _ in 0..MB_STEPS * MB_BATCH {
            x.iter_mut()
                .zip(row(rng.random_range(0..n)))
                .for_each(|(d, v)| *d = v);
            let (c, _) = nearest(&x, &centres, dim);
            seen[c] += 1;
            let eta = 1.0 / seen[c] as f64;
            for (cv, xv) in centres[c * dim..(c + 1) * dim].iter_mut().zip(&x) {
                *cv += eta * (xv - *cv);
            }
        }
        let inertia: f64 = sample
            .chunks(dim)
            .map(|p| nearest(p, &centres, dim).1)
            .sum();
        (inertia, centres)
    });
    let mut x = vec![0.0; dim];
    (0..n)
        .map(|i| {
            x.iter_mut().zip(row(i)).for_each(|(d, v)| *d = v);
            nearest(&x, &centres, dim).0 as u32
        })
        .collect()
}

/// The centre nearest `x` (ties to the lowest index) and its squared distance.
fn nearest(x: &[f64], centres: &[f64], dim: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, centre) in centres.chunks(dim).enumerate() {
        let d = sq_dist(x, centre);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    /// `k` tight blobs (σ = 0.05) around centres 10 apart; point i belongs to blob i % k.
    fn blobs(n: usize, dim: usize, k: usize, seed: u64) -> (Vec<f32>, Vec<u32>) {
        let mut rng = testing::rng(seed);
        let centres = testing::uniform_f32(&mut rng, k * dim, -1.0, 1.0);
        let noise = testing::uniform_f32(&mut rng, n * dim, -0.05, 0.05);
        let mut pts = vec![0f32; n * dim];
        for i in 0..n {
            for j in 0..dim {
                pts[i * dim + j] = 10.0 * centres[(i % k) * dim + j] + noise[i * dim + j];
            }
        }
        (pts, (0..n).map(|i| (i % k) as u32).collect())
    }

    #[test]
    fn recovers_separated_blobs_and_is_deterministic() {
        let (pts, truth) = blobs(300, 4, 5, 3);
        let a = kmeans(&pts, 300, 4, 5, 10, 42);
        let acc = crate::eval::clustering_accuracy(&truth, &a).unwrap();
        assert_eq!(acc, 1.0);
        assert_eq!(a, kmeans(&pts, 300, 4, 5, 10, 42));
        // Each label value used: k non-empty clusters.
        for c in 0..5 {
            assert!(a.contains(&c));
        }
    }

    /// Mini-batch k-means finds separated blobs as exact k-means does, is deterministic, and
    /// `cluster` says which ran on either side of the threshold.
    #[test]
    fn minibatch_kmeans_recovers_blobs_and_cluster_names_the_method() {
        let (pts, truth) = blobs(30_000, 8, 6, 4);
        let a = minibatch_kmeans(&pts, 30_000, 8, 6, 2, 7);
        assert_eq!(crate::eval::clustering_accuracy(&truth, &a).unwrap(), 1.0);
        assert_eq!(a, minibatch_kmeans(&pts, 30_000, 8, 6, 2, 7));
        let (_, kind) = cluster(&pts[..300 * 8], 300, 8, 6, 1, 1);
        assert_eq!(kind, KmeansKind::Exact);
        let n = EXACT_MAX_POINTS + 1;
        let (big, truth) = blobs(n, 2, 3, 5);
        let (labels, kind) = cluster(&big, n, 2, 3, 1, 1);
        assert_eq!(kind, KmeansKind::MiniBatch);
        assert_eq!(
            crate::eval::clustering_accuracy(&truth, &labels).unwrap(),
            1.0
        );
    }

    #[test]
    fn k_equals_n_and_coincident_points() {
        let pts = [0.0f32, 0.0, 1.0, 1.0, 2.0, 2.0];
        let mut l = kmeans(&pts, 3, 2, 3, 2, 1);
        l.sort();
        assert_eq!(l, vec![0, 1, 2]);
        // All points equal: every point one cluster is optimal (inertia 0); no panic.
        let same = [1.0f32; 8];
        let l = kmeans(&same, 4, 2, 2, 3, 9);
        assert_eq!(l.len(), 4);
    }
}
