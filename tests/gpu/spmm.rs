use argva::gpu::{GpuBuffer, GpuContext, GpuError, submit};
use argva::kernels::Epilogue;
use argva::kernels::matmul::{self, Form};
use argva::kernels::spmm::{self, CsrBuffers};
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use crate::{ctx, small_binding_ctx};

/// A random CSR `[rows × cols]` with sorted columns, about `density` full, every 5th row
/// empty, values in ±[0.1, 1) (never zero).
fn random_csr(
    r: &mut ChaCha8Rng,
    rows: usize,
    cols: usize,
    density: f64,
) -> (Vec<u32>, Vec<u32>, Vec<f32>) {
    let mut row_ptr = vec![0u32];
    let (mut col, mut val) = (Vec::new(), Vec::new());
    for i in 0..rows {
        if i % 5 != 4 {
            for j in 0..cols {
                if r.random_bool(density) {
                    col.push(j as u32);
                    let v: f32 = r.random_range(0.1..1.0);
                    val.push(if r.random_bool(0.5) { v } else { -v });
                }
            }
        }
        row_ptr.push(col.len() as u32);
    }
    (row_ptr, col, val)
}

/// Dense row-major copy, for cross-checks against the dense matmul twin.
fn dense(rows: usize, cols: usize, row_ptr: &[u32], col: &[u32], val: &[f32]) -> Vec<f64> {
    let mut d = vec![0.0; rows * cols];
    for i in 0..rows {
        for p in row_ptr[i] as usize..row_ptr[i + 1] as usize {
            d[i * cols + col[p] as usize] += val[p] as f64;
        }
    }
    d
}

/// (rows, cols, c, density): c around the 8-column invocation (1, 3, 9, 64, 65), Cora-like
/// sparse features (1.3 %), an all-empty matrix, zero rows, zero output columns.
const CASES: &[(usize, usize, usize, f64)] = &[
    (37, 29, 1, 0.2),
    (37, 29, 3, 0.2),
    (50, 70, 9, 0.1),
    (131, 97, 64, 0.05),
    (300, 1433, 64, 0.013),
    (67, 40, 65, 0.1),
    (10, 10, 6, 0.0),
    (0, 10, 6, 0.5),
    (10, 10, 0, 0.5),
];

const EPILOGUES: &[(bool, bool, bool)] = &[
    (false, false, false),
    (true, false, false),
    (true, true, false),
    (false, true, false),
    (true, false, true),
    (false, false, true),
];

#[test]
fn every_epilogue_matches_cpu() {
    let ctx = ctx();
    let mut r = rng(21);
    for &(rows, cols, c, density) in CASES {
        let (row_ptr, col, val) = random_csr(&mut r, rows, cols, density);
        let a = CsrBuffers::upload(ctx, "a", &row_ptr, &col, &val, cols).unwrap();
        assert_eq!((a.rows, a.cols, a.nnz), (rows, cols, col.len()));
        let max_row = row_ptr
            .windows(2)
            .map(|w| (w[1] - w[0]) as usize)
            .max()
            .unwrap_or(0);
        for &(has_bias, relu, acc) in EPILOGUES {
            let b = uniform_f32(&mut r, cols * c, -1.0, 1.0);
            let bias = uniform_f32(&mut r, c, -1.0, 1.0);
            let prev = uniform_f32(&mut r, rows * c, -1.0, 1.0);
            let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
            let biasb = GpuBuffer::from_slice(ctx, "bias", &bias).unwrap();
            let out = GpuBuffer::<f32>::zeros(ctx, "out", rows * c).unwrap();
            if acc {
                out.write(ctx, &prev).unwrap();
            } else {
                out.poison(ctx);
            }
            let epi = Epilogue {
                bias: has_bias.then(|| (&biasb).into()),
                relu,
                accumulate: acc,
                mask: None,
            };
            let d = spmm::bind(ctx, &a, (&bb).into(), (&out).into(), c, epi).unwrap();
            submit(ctx, "spmm", &[&d]);
            let (bias64, prev64) = (to_f64(&bias), to_f64(&prev));
            let want = spmm::spmm_cpu(
                &row_ptr,
                &col,
                &to_f64(&val),
                &to_f64(&b),
                c,
                has_bias.then_some(&bias64[..]),
                relu,
                acc.then_some(&prev64[..]),
            );
            // Sequential f32 sum of ≤ max_row products of magnitude ≤ 1.
            assert_close(
                &format!("spmm {rows}×{cols}·c={c} bias={has_bias} relu={relu} acc={acc}"),
                &out.read_blocking(ctx).unwrap(),
                &want,
                1e-5,
                2e-6 * max_row.max(1) as f64,
            );
        }
    }
}

#[test]
fn cpu_twin_agrees_with_dense_product() {
    let mut r = rng(22);
    let (rows, cols, c) = (23, 17, 5);
    let (row_ptr, col, val) = random_csr(&mut r, rows, cols, 0.3);
    let b = to_f64(&uniform_f32(&mut r, cols * c, -1.0, 1.0));
    let sparse = spmm::spmm_cpu(&row_ptr, &col, &to_f64(&val), &b, c, None, false, None);
    let dense = matmul::matmul_cpu(
        Form::NN,
        &dense(rows, cols, &row_ptr, &col, &val),
        &b,
        rows,
        c,
        cols,
        None,
        false,
        None,
    );
    for (s, d) in sparse.iter().zip(&dense) {
        assert!((s - d).abs() < 1e-12, "{s} vs {d}");
    }
}

#[test]
fn transpose_is_the_dense_transpose_with_sorted_columns() {
    let mut r = rng(23);
    for &(rows, cols) in &[(23usize, 17usize), (5, 40), (0, 3), (4, 0), (30, 30)] {
        let (row_ptr, col, val) = random_csr(&mut r, rows, cols, 0.25);
        let (t_ptr, t_col, t_val) = spmm::csr_transpose(rows, cols, &row_ptr, &col, &val);
        spmm::validate("transpose", &t_ptr, &t_col, &t_val, rows).unwrap();
        assert_eq!(t_ptr.len(), cols + 1);
        for w in t_ptr.windows(2) {
            let cs = &t_col[w[0] as usize..w[1] as usize];
            assert!(
                cs.windows(2).all(|p| p[0] < p[1]),
                "columns not sorted: {cs:?}"
            );
        }
        let d = dense(rows, cols, &row_ptr, &col, &val);
        let dt = dense(cols, rows, &t_ptr, &t_col, &t_val);
        for i in 0..rows {
            for j in 0..cols {
                assert_eq!(d[i * cols + j], dt[j * rows + i]);
            }
        }
    }
}

/// For L = Σ G ⊙ (A·B): dB = Aᵀ·G, computed on the GPU by spmm over the transposed CSR,
/// equals finite differences of the CPU forward. Also Aᵀ·G vs the dense TN twin.
#[test]
fn transposed_product_is_the_gradient() {
    let ctx = ctx();
    let mut r = rng(24);
    let (rows, cols, c) = (19, 13, 6);
    let (row_ptr, col, val) = random_csr(&mut r, rows, cols, 0.3);
    let b = uniform_f32(&mut r, cols * c, -1.0, 1.0);
    let g = uniform_f32(&mut r, rows * c, -1.0, 1.0);
    let (val64, g64) = (to_f64(&val), to_f64(&g));
    let loss = |b: &[f64]| -> f64 {
        spmm::spmm_cpu(&row_ptr, &col, &val64, b, c, None, false, None)
            .iter()
            .zip(&g64)
            .map(|(y, g)| y * g)
            .sum()
    };
    let (t_ptr, t_col, t_val) = spmm::csr_transpose(rows, cols, &row_ptr, &col, &val);
    let at = CsrBuffers::upload(ctx, "aT", &t_ptr, &t_col, &t_val, rows).unwrap();
    let gb = GpuBuffer::from_slice(ctx, "g", &g).unwrap();
    let db = GpuBuffer::<f32>::zeros(ctx, "db", cols * c).unwrap();
    db.poison(ctx);
    let d = spmm::bind(ctx, &at, (&gb).into(), (&db).into(), c, Epilogue::default()).unwrap();
    submit(ctx, "spmm backward", &[&d]);
    let got = to_f64(&db.read_blocking(ctx).unwrap());
    assert_grad("dB = Aᵀ·G", loss, &to_f64(&b), &got, 1e-5);
    let want = matmul::matmul_cpu(
        Form::TN,
        &dense(rows, cols, &row_ptr, &col, &val),
        &g64,
        cols,
        c,
        rows,
        None,
        false,
        None,
    );
    for (x, y) in got.iter().zip(&want) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
}

#[test]
fn ranges_inside_larger_buffers_and_bit_reproducible() {
    let ctx = ctx();
    // 256 bytes: a multiple of every device's storage offset alignment.
    let align = 64;
    let mut r = rng(25);
    let (rows, cols, c) = (211, 150, 64);
    let (row_ptr, col, val) = random_csr(&mut r, rows, cols, 0.05);
    let a = CsrBuffers::upload(ctx, "a", &row_ptr, &col, &val, cols).unwrap();
    let b = uniform_f32(&mut r, cols * c, -1.0, 1.0);
    let bias = uniform_f32(&mut r, c, -1.0, 1.0);
    let mut big = vec![4.0f32; 2 * align + cols * c + align];
    big[2 * align..][..cols * c].copy_from_slice(&b);
    big[align..][..c].copy_from_slice(&bias);
    let bb = GpuBuffer::from_slice(ctx, "b+bias", &big).unwrap();
    let run = || {
        let out = GpuBuffer::from_slice(ctx, "out", &vec![2.0f32; align + rows * c + 7]).unwrap();
        let epi = Epilogue {
            bias: Some(bb.range(align, c)),
            relu: true,
            accumulate: false,
            mask: None,
        };
        let d = spmm::bind(
            ctx,
            &a,
            bb.range(2 * align, cols * c),
            out.range(align, rows * c),
            c,
            epi,
        )
        .unwrap();
        submit(ctx, "spmm range", &[&d]);
        out.read_blocking(ctx).unwrap()
    };
    let got = run();
    let bias64 = to_f64(&bias);
    let want = spmm::spmm_cpu(
        &row_ptr,
        &col,
        &to_f64(&val),
        &to_f64(&b),
        c,
        Some(&bias64),
        true,
        None,
    );
    assert_close("spmm range", &got[align..][..rows * c], &want, 1e-5, 1e-4);
    assert!(
        got[..align]
            .iter()
            .chain(&got[align + rows * c..])
            .all(|&v| v == 2.0)
    );
    let again = run();
    assert!(
        got.iter()
            .zip(&again)
            .all(|(p, q)| p.to_bits() == q.to_bits())
    );
}

/// (what is wrong, row_ptr, col, val, cols).
type BadCsr<'a> = (&'a str, &'a [u32], &'a [u32], &'a [f32], usize);

#[test]
fn malformed_csr_is_rejected() {
    let ctx = ctx();
    let val = [1.0f32, 2.0, 3.0];
    let cases: &[BadCsr] = &[
        ("empty row_ptr", &[], &[], &[], 3),
        ("starts at 1", &[1, 2, 3], &[0, 1, 2], &val, 3),
        ("decreases", &[0, 2, 1, 3], &[0, 1, 2], &val, 3),
        ("ends short", &[0, 1, 2], &[0, 1, 2], &val, 3),
        ("column out of range", &[0, 1, 3], &[0, 1, 3], &val, 3),
        ("values missing", &[0, 1, 3], &[0, 1, 2], &val[..2], 3),
    ];
    for &(what, row_ptr, col, val, cols) in cases {
        match CsrBuffers::upload(ctx, "bad", row_ptr, col, val, cols) {
            Err(GpuError::InvalidArgument { .. } | GpuError::SizeMismatch { .. }) => {}
            Err(e) => panic!("{what}: unexpected error kind {e}"),
            Ok(_) => panic!("{what}: accepted"),
        }
    }
    // The message names the matrix and the problem.
    let err = CsrBuffers::upload(ctx, "adj", &[0, 1, 3], &[0, 1, 3], &val, 3).unwrap_err();
    assert!(
        err.to_string().contains("adj") && err.to_string().contains("column 3"),
        "{err}"
    );
}

#[test]
fn short_bindings_are_typed_errors() {
    let ctx = ctx();
    let (row_ptr, col, val) = random_csr(&mut rng(26), 6, 5, 0.5);
    let a = CsrBuffers::upload(ctx, "a", &row_ptr, &col, &val, 5).unwrap();
    let c = 4;
    let b = GpuBuffer::<f32>::zeros(ctx, "b", 5 * c).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", 6 * c).unwrap();
    let none = Epilogue::default();
    let err = spmm::bind(ctx, &a, b.range(0, 5 * c - 1), (&out).into(), c, none).unwrap_err();
    assert!(
        matches!(
            err,
            GpuError::SizeMismatch {
                expected: 20,
                got: 19,
                ..
            }
        ),
        "{err}"
    );
    let err = spmm::bind(ctx, &a, (&b).into(), out.range(0, 6 * c - 1), c, none).unwrap_err();
    assert!(
        matches!(
            err,
            GpuError::SizeMismatch {
                expected: 24,
                got: 23,
                ..
            }
        ),
        "{err}"
    );
    let epi = Epilogue {
        bias: Some(b.range(0, c - 1)),
        ..none
    };
    let err = spmm::bind(ctx, &a, (&b).into(), (&out).into(), c, epi).unwrap_err();
    assert!(err.to_string().contains("bias"), "{err}");
}

/// More invocations than one grid dimension holds (c = 1: one invocation per row): the grid
/// folds into 2-D.
#[test]
fn grid_folds_into_two_dimensions() {
    let ctx = ctx();
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let (rows, cols, c) = (max * spmm::WORKGROUP_SIZE as usize + 77, 3, 1);
    // 4 M rows: a cheap pattern (row i holds column i % 3 unless i % 7 = 0, which is empty)
    // instead of random draws keeps the test fast.
    let mut row_ptr = vec![0u32];
    let (mut col, mut val) = (Vec::new(), Vec::new());
    for i in 0..rows {
        if i % 7 != 0 {
            col.push((i % cols) as u32);
            val.push((i % 991) as f32 / 991.0 + 0.25);
        }
        row_ptr.push(col.len() as u32);
    }
    let a = CsrBuffers::upload(ctx, "a", &row_ptr, &col, &val, cols).unwrap();
    let b = uniform_f32(&mut rng(27), cols * c, -1.0, 1.0);
    let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", rows * c).unwrap();
    out.poison(ctx);
    let d = spmm::bind(ctx, &a, (&bb).into(), (&out).into(), c, Epilogue::default()).unwrap();
    assert!(d.workgroups[1] > 1, "grid {:?} did not fold", d.workgroups);
    submit(ctx, "spmm folded", &[&d]);
    let want = spmm::spmm_cpu(
        &row_ptr,
        &col,
        &to_f64(&val),
        &to_f64(&b),
        c,
        None,
        false,
        None,
    );
    assert_close(
        "spmm folded",
        &out.read_blocking(ctx).unwrap(),
        &want,
        1e-6,
        1e-6,
    );
}

/// A B past one binding is read through two windows and an output past one binding is made
/// in row chunks (`bind_rows`, each bound at an offset): bit-identical to the one-binding
/// product (same sums in the same order), and the CPU twin's, with bias and ReLU.
#[test]
fn b_past_one_binding_and_output_in_row_chunks() {
    let (whole, small) = (ctx(), small_binding_ctx());
    let mut r = rng(29);
    let (rows, cols, c) = (200, 300, 12);
    // (≈1 200 non-zeros: the CSR itself fits one binding)
    let (row_ptr, col, val) = random_csr(&mut r, rows, cols, 0.02);
    let b = uniform_f32(&mut r, cols * c, -1.0, 1.0);
    let bias = uniform_f32(&mut r, c, -1.0, 1.0);
    // B (14 400 bytes) needs two windows and out (9 600) two chunks at 8 KiB per binding.
    assert!((cols * c * 4) as u64 > small.max_binding_bytes());
    assert!((rows * c * 4) as u64 > small.max_binding_bytes());
    let product = |ctx: &GpuContext, chunk: usize| {
        let a = CsrBuffers::upload(ctx, "a", &row_ptr, &col, &val, cols).unwrap();
        let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
        let biasb = GpuBuffer::from_slice(ctx, "bias", &bias).unwrap();
        let out = GpuBuffer::<f32>::zeros(ctx, "out", rows * c).unwrap();
        out.poison(ctx);
        let epi = Epilogue {
            bias: Some((&biasb).into()),
            relu: true,
            ..Default::default()
        };
        let launches: Vec<_> = (0..rows)
            .step_by(chunk)
            .map(|r0| {
                let r1 = (r0 + chunk).min(rows);
                let part = out.range(r0 * c, (r1 - r0) * c);
                spmm::bind_rows(ctx, &a, r0..r1, (&bb).into(), part, c, epi).unwrap()
            })
            .collect();
        submit(ctx, "spmm", &launches.iter().collect::<Vec<_>>());
        assert!(ctx.take_uncaptured_error().is_none());
        out.read_blocking(ctx).unwrap()
    };
    let one = product(whole, rows);
    let split = product(small, 128);
    assert_eq!(split, one);
    let bias64 = to_f64(&bias);
    let want = spmm::spmm_cpu(
        &row_ptr,
        &col,
        &to_f64(&val),
        &to_f64(&b),
        c,
        Some(&bias64),
        true,
        None,
    );
    assert_close("spmm through windows", &split, &want, 1e-5, 1e-5);
    // Whole bindings past the limit are still typed errors, not wgpu panics.
    let a = CsrBuffers::upload(small, "a", &row_ptr, &col, &val, cols).unwrap();
    let bb = GpuBuffer::from_slice(small, "b", &b).unwrap();
    let out = GpuBuffer::<f32>::zeros(small, "out", rows * c).unwrap();
    let err = spmm::bind(
        small,
        &a,
        (&bb).into(),
        (&out).into(),
        c,
        Epilogue::default(),
    );
    assert!(
        matches!(err, Err(GpuError::BufferTooLarge { .. })),
        "{err:?}"
    );
}
