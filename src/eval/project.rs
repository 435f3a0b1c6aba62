//! A 2-D view of an embedding for plots: its projection on the two principal axes (the
//! browser page's scatter plot; the CLI's `argva plot` uses t-SNE, which is native-only).

/// `n × d` row-major rows, centred and projected on the covariance's two leading
/// eigenvectors (power iteration with deflation, f64), as `n × 2` row-major.
pub fn pca_2d(rows: &[f32], d: usize) -> Vec<f32> {
    if d == 0 || rows.is_empty() {
        return Vec::new();
    }
    let n = rows.len() / d;
    let mut mean = vec![0.0f64; d];
    for r in rows.chunks_exact(d) {
        for (m, &v) in mean.iter_mut().zip(r) {
            *m += v as f64 / n as f64;
        }
    }
    let mut cov = vec![0.0f64; d * d];
    for r in rows.chunks_exact(d) {
        for i in 0..d {
            let a = r[i] as f64 - mean[i];
            for j in 0..d {
                cov[i * d + j] += a * (r[j] as f64 - mean[j]);
            }
        }
    }
    let first = leading_eigenvector(&cov, d);
    let lambda = rayleigh(&cov, &first, d);
    for i in 0..d {
        for j in 0..d {
            cov[i * d + j] -= lambda * first[i] * first[j];
        }
    }
    let second = leading_eigenvector(&cov, d);
    let mut out = Vec::with_capacity(2 * n);
    for r in rows.chunks_exact(d) {
        for axis in [&first, &second] {
            let p: f64 = (0..d).map(|k| (r[k] as f64 - mean[k]) * axis[k]).sum();
            out.push(p as f32);
        }
    }
    out
}

fn leading_eigenvector(m: &[f64], d: usize) -> Vec<f64> {
    // A fixed, non-symmetric start so the result is deterministic and rarely orthogonal to
    // the answer.
    let mut v: Vec<f64> = (0..d).map(|i| 1.0 + 0.1 * i as f64).collect();
    for _ in 0..300 {
        let w: Vec<f64> = (0..d)
            .map(|i| (0..d).map(|j| m[i * d + j] * v[j]).sum())
            .collect();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            break;
        }
        v = w.into_iter().map(|x| x / norm).collect();
    }
    v
}

fn rayleigh(m: &[f64], v: &[f64], d: usize) -> f64 {
    (0..d)
        .map(|i| v[i] * (0..d).map(|j| m[i * d + j] * v[j]).sum::<f64>())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_two_spread_axes_of_a_3d_cloud() {
        // Points spread 10× along x, 3× along z, barely along y (an exact, awkward layout).
        let mut rows = Vec::new();
        for i in 0..200 {
            let t = (i as f32 * 0.7).sin();
            let u = (i as f32 * 1.3).cos();
            rows.extend([10.0 * t + 5.0, 0.01 * u, 3.0 * u - 2.0]);
        }
        let p = pca_2d(&rows, 3);
        assert_eq!(p.len(), 400);
        for (i, xy) in p.chunks(2).enumerate() {
            let t = (i as f32 * 0.7).sin();
            let u = (i as f32 * 1.3).cos();
            // Axes are defined up to sign; the mean is removed.
            let want = [10.0 * t, 3.0 * u];
            let mt = (0..200).map(|k| (k as f32 * 0.7).sin()).sum::<f32>() / 200.0;
            let mu = (0..200).map(|k| (k as f32 * 1.3).cos()).sum::<f32>() / 200.0;
            let want = [want[0] - 10.0 * mt, want[1] - 3.0 * mu];
            for a in 0..2 {
                assert!(
                    (xy[a].abs() - want[a].abs()).abs() < 0.05,
                    "row {i} axis {a}: {} vs ±{}",
                    xy[a],
                    want[a]
                );
            }
        }
    }
}
