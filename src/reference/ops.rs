//! Dense row-major f64 products and a CSR sparse matrix: just what the reference epoch needs.

/// Compressed sparse rows, f64 values. Used for the GCN operator Â and sparse features X.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    pub rows: usize,
    pub cols: usize,
    /// `row_ptr[r]..row_ptr[r + 1]` indexes row r's entries in `col`/`val`.
    pub row_ptr: Vec<usize>,
    pub col: Vec<u32>,
    pub val: Vec<f64>,
}

impl Csr {
    /// The non-zeros of a dense row-major `rows × cols` matrix.
    pub fn from_dense(rows: usize, cols: usize, data: &[f64]) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "Csr::from_dense: data must be rows × cols"
        );
        let mut row_ptr = Vec::with_capacity(rows + 1);
        let (mut col, mut val) = (Vec::new(), Vec::new());
        row_ptr.push(0);
        for r in 0..rows {
            for (c, &v) in data[r * cols..(r + 1) * cols].iter().enumerate() {
                if v != 0.0 {
                    col.push(c as u32);
                    val.push(v);
                }
            }
            row_ptr.push(col.len());
        }
        Self {
            rows,
            cols,
            row_ptr,
            col,
            val,
        }
    }

    /// Dense copy (tests, small matrices).
    pub fn to_dense(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.rows * self.cols];
        for r in 0..self.rows {
            for e in self.row_ptr[r]..self.row_ptr[r + 1] {
                out[r * self.cols + self.col[e] as usize] += self.val[e];
            }
        }
        out
    }

    /// `self · b` with `b` dense `cols × k`: a `rows × k` result.
    pub fn mul(&self, b: &[f64], k: usize) -> Vec<f64> {
        debug_assert_eq!(b.len(), self.cols * k);
        let mut out = vec![0.0; self.rows * k];
        for r in 0..self.rows {
            let o = &mut out[r * k..(r + 1) * k];
            for e in self.row_ptr[r]..self.row_ptr[r + 1] {
                let (c, v) = (self.col[e] as usize, self.val[e]);
                for (o, &x) in o.iter_mut().zip(&b[c * k..(c + 1) * k]) {
                    *o += v * x;
                }
            }
        }
        out
    }

    /// `selfᵀ · b` with `b` dense `rows × k`: a `cols × k` result.
    pub fn t_mul(&self, b: &[f64], k: usize) -> Vec<f64> {
        debug_assert_eq!(b.len(), self.rows * k);
        let mut out = vec![0.0; self.cols * k];
        for r in 0..self.rows {
            for e in self.row_ptr[r]..self.row_ptr[r + 1] {
                let (c, v) = (self.col[e] as usize, self.val[e]);
                for (o, &x) in out[c * k..(c + 1) * k]
                    .iter_mut()
                    .zip(&b[r * k..(r + 1) * k])
                {
                    *o += v * x;
                }
            }
        }
        out
    }
}

/// `a · b`: a `m × k`, b `k × n`.
pub fn matmul(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for p in 0..k {
            let av = a[i * k + p];
            for (o, &bv) in out[i * n..(i + 1) * n]
                .iter_mut()
                .zip(&b[p * n..(p + 1) * n])
            {
                *o += av * bv;
            }
        }
    }
    out
}

/// `aᵀ · b`: a `m × k`, b `m × n` → `k × n`.
pub fn matmul_tn(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; k * n];
    for i in 0..m {
        for p in 0..k {
            let av = a[i * k + p];
            for (o, &bv) in out[p * n..(p + 1) * n]
                .iter_mut()
                .zip(&b[i * n..(i + 1) * n])
            {
                *o += av * bv;
            }
        }
    }
    out
}

/// `a · bᵀ`: a `m × k`, b `n × k` → `m × n`.
pub fn matmul_nt(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = dot(&a[i * k..(i + 1) * k], &b[j * k..(j + 1) * k]);
        }
    }
    out
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Adds `bias` (length `n`) to every row of the `· × n` matrix `a`.
pub fn add_bias(a: &mut [f64], bias: &[f64]) {
    for row in a.chunks_exact_mut(bias.len()) {
        for (x, b) in row.iter_mut().zip(bias) {
            *x += b;
        }
    }
}

/// Column sums of a `· × n` matrix.
pub fn col_sums(a: &[f64], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n];
    for row in a.chunks_exact(n) {
        for (o, x) in out.iter_mut().zip(row) {
            *o += x;
        }
    }
    out
}

pub use crate::kernels::logistic::{sigmoid, softplus};
