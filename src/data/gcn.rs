//! The GCN propagation operator `D^-½ (A + I) D^-½` (PyG's `gcn_norm` with self-loops).

use super::Csr;

/// Symmetric normalised adjacency with self-loops for `n` nodes and undirected `edges`
/// (each pair once or in both directions; duplicates and self-loops in the input are ignored).
/// Columns are sorted in each row; weights are computed in f64 and stored as f32.
///
/// Panics if an edge names a node `>= n` (a [`super::Graph`] never does).
pub fn gcn_norm(n: usize, edges: &[[u32; 2]]) -> Csr {
    let canon = super::canonical_edges(edges.iter().copied());
    // Canonical edges have i < j, so checking j suffices.
    if let Some(&[a, b]) = canon.iter().find(|e| e[1] as usize >= n) {
        panic!("gcn_norm: edge [{a}, {b}] names a node outside 0..{n}");
    }
    let mut deg = vec![1u32; n]; // the self-loop
    for &[a, b] in &canon {
        deg[a as usize] += 1;
        deg[b as usize] += 1;
    }
    let mut row_ptr = Vec::with_capacity(n + 1);
    row_ptr.push(0u32);
    for d in &deg {
        row_ptr.push(row_ptr.last().expect("starts with 0") + d);
    }
    let nnz = *row_ptr.last().expect("n + 1 entries") as usize;
    let mut col = vec![0u32; nnz];
    let mut fill: Vec<u32> = row_ptr[..n].to_vec();
    // Canonical edges are sorted by (i, j): emitting, for each row, lower neighbours (from
    // edges [j, i] with j < i, visited in j order), then the diagonal, then upper neighbours,
    // needs two passes.
    for &[a, b] in &canon {
        col[fill[b as usize] as usize] = a;
        fill[b as usize] += 1;
    }
    for (i, f) in fill.iter_mut().enumerate() {
        col[*f as usize] = i as u32;
        *f += 1;
    }
    for &[a, b] in &canon {
        col[fill[a as usize] as usize] = b;
        fill[a as usize] += 1;
    }
    let inv: Vec<f64> = deg.iter().map(|&d| 1.0 / (d as f64).sqrt()).collect();
    let mut val = vec![0f32; nnz];
    for i in 0..n {
        for k in row_ptr[i] as usize..row_ptr[i + 1] as usize {
            val[k] = (inv[i] * inv[col[k] as usize]) as f32;
        }
    }
    Csr {
        row_ptr,
        col,
        val,
        rows: n,
        cols: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn matches_dense_formula_on_random_graph() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 40;
        let edges: Vec<[u32; 2]> = (0..120)
            .map(|_| [rng.random_range(0..n as u32), rng.random_range(0..n as u32)])
            .collect();
        let m = gcn_norm(n, &edges);
        // Dense reference in f64.
        let mut a = vec![0f64; n * n];
        for &[x, y] in &edges {
            if x != y {
                a[x as usize * n + y as usize] = 1.0;
                a[y as usize * n + x as usize] = 1.0;
            }
        }
        for i in 0..n {
            a[i * n + i] = 1.0;
        }
        let d: Vec<f64> = (0..n).map(|i| a[i * n..(i + 1) * n].iter().sum()).collect();
        let dense = m.to_dense();
        for i in 0..n {
            let (c, _) = m.row(i);
            assert!(c.windows(2).all(|w| w[0] < w[1]), "row {i} columns sorted");
            for j in 0..n {
                let want = a[i * n + j] / (d[i] * d[j]).sqrt();
                assert!(
                    (dense[i * n + j] as f64 - want).abs() <= 1e-7 * want.max(1e-30),
                    "({i},{j})"
                );
                assert_eq!(dense[i * n + j], dense[j * n + i], "symmetric");
            }
        }
        assert_eq!(m.nnz(), a.iter().filter(|&&v| v != 0.0).count());
    }
}
