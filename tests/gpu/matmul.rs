use argva::gpu::{GpuBuffer, GpuError, submit};
use argva::kernels::matmul::{self, Form};
use argva::kernels::{Epilogue, colsum};
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};

use crate::ctx;

const FORMS: [Form; 3] = [Form::NN, Form::TN, Form::NT];

/// (m, n, k): odd sizes around the 4 × 8 tile and the 64-lane workgroup, n = 1, k = 1,
/// long k, a grid large enough for the big workgroup size, and empty dimensions.
const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (7, 9, 13),
    (33, 17, 5),
    (5, 1, 70),
    (1, 64, 300),
    (130, 64, 64),
    (13, 3, 1),
    (259, 33, 31),
    (5417, 33, 7),
    (0, 5, 4),
    (5, 0, 4),
    (4, 5, 0),
];

/// (bias, relu, accumulate): every combination the epilogue allows.
const EPILOGUES: &[(bool, bool, bool)] = &[
    (false, false, false),
    (true, false, false),
    (true, true, false),
    (false, true, false),
    (true, false, true),
    (false, false, true),
];

/// Sequential f32 sums of k products of magnitude ≤ 1: error ≲ k·ε per element in the
/// worst case; 2e-6·k is ~30× the typical error and still catches any wrong term (≥ 1e-2).
fn atol(k: usize) -> f64 {
    2e-6 * k.max(1) as f64
}

#[test]
fn every_form_and_epilogue_matches_cpu() {
    let ctx = ctx();
    let mut r = rng(11);
    for form in FORMS {
        for &(m, n, k) in SHAPES {
            for &(has_bias, relu, acc) in EPILOGUES {
                let a = uniform_f32(&mut r, m * k, -1.0, 1.0);
                let b = uniform_f32(&mut r, k * n, -1.0, 1.0);
                let bias = uniform_f32(&mut r, n, -1.0, 1.0);
                let prev = uniform_f32(&mut r, m * n, -1.0, 1.0);
                let ab = GpuBuffer::from_slice(ctx, "a", &a).unwrap();
                let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
                let biasb = GpuBuffer::from_slice(ctx, "bias", &bias).unwrap();
                let out = GpuBuffer::<f32>::zeros(ctx, "out", m * n).unwrap();
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
                let d = matmul::bind(
                    ctx,
                    form,
                    (&ab).into(),
                    (&bb).into(),
                    (&out).into(),
                    m,
                    n,
                    k,
                    epi,
                )
                .unwrap();
                submit(ctx, "matmul", &[&d]);
                let bias64 = to_f64(&bias);
                let prev64 = to_f64(&prev);
                let want = matmul::matmul_cpu(
                    form,
                    &to_f64(&a),
                    &to_f64(&b),
                    m,
                    n,
                    k,
                    has_bias.then_some(&bias64[..]),
                    relu,
                    acc.then_some(&prev64[..]),
                );
                assert_close(
                    &format!("{form:?} m={m} n={n} k={k} bias={has_bias} relu={relu} acc={acc}"),
                    &out.read_blocking(ctx).unwrap(),
                    &want,
                    1e-5,
                    atol(k),
                );
            }
        }
    }
}

/// Operands as ranges at 256-byte-aligned offsets inside larger buffers (tensors inside a
/// flat parameter buffer); elements around the output range must stay untouched.
#[test]
fn ranges_inside_larger_buffers() {
    let ctx = ctx();
    // 256 bytes: a multiple of every device's storage offset alignment.
    let align = 64;
    let mut r = rng(12);
    let (m, n, k) = (37, 11, 19);
    for form in FORMS {
        let pad = |v: &[f32]| {
            let mut big = vec![7.0f32; 3 * align + v.len() + 5];
            big[2 * align..][..v.len()].copy_from_slice(v);
            big
        };
        let a = uniform_f32(&mut r, m * k, -1.0, 1.0);
        let b = uniform_f32(&mut r, k * n, -1.0, 1.0);
        let bias = uniform_f32(&mut r, n, -1.0, 1.0);
        let ab = GpuBuffer::from_slice(ctx, "a", &pad(&a)).unwrap();
        let bb = GpuBuffer::from_slice(ctx, "b", &pad(&b)).unwrap();
        let biasb = GpuBuffer::from_slice(ctx, "bias", &pad(&bias)).unwrap();
        let out = GpuBuffer::from_slice(ctx, "out", &vec![3.0f32; align + m * n + align]).unwrap();
        let d = matmul::bind(
            ctx,
            form,
            ab.range(2 * align, m * k),
            bb.range(2 * align, k * n),
            out.range(align, m * n),
            m,
            n,
            k,
            Epilogue {
                bias: Some(biasb.range(2 * align, n)),
                relu: true,
                accumulate: false,
                mask: None,
            },
        )
        .unwrap();
        submit(ctx, "matmul range", &[&d]);
        let got = out.read_blocking(ctx).unwrap();
        let bias64 = to_f64(&bias);
        let want = matmul::matmul_cpu(
            form,
            &to_f64(&a),
            &to_f64(&b),
            m,
            n,
            k,
            Some(&bias64),
            true,
            None,
        );
        assert_close(
            &format!("{form:?} range"),
            &got[align..][..m * n],
            &want,
            1e-5,
            atol(k),
        );
        assert!(
            got[..align].iter().all(|&v| v == 3.0),
            "{form:?}: wrote before the range"
        );
        assert!(
            got[align + m * n..].iter().all(|&v| v == 3.0),
            "{form:?}: wrote after the range"
        );
    }
}

/// For L = Σ G ⊙ (A·B + bias): dA = G·Bᵀ (NT), dB = Aᵀ·G (TN), dbias = colsum(G), all on
/// the GPU, must equal finite differences of the CPU forward.
#[test]
fn backward_identities_match_finite_differences() {
    let ctx = ctx();
    let mut r = rng(13);
    let (m, n, k) = (9, 6, 5);
    let a = uniform_f32(&mut r, m * k, -1.0, 1.0);
    let b = uniform_f32(&mut r, k * n, -1.0, 1.0);
    let bias = uniform_f32(&mut r, n, -1.0, 1.0);
    let g = uniform_f32(&mut r, m * n, -1.0, 1.0);
    let (a64, b64, bias64, g64) = (to_f64(&a), to_f64(&b), to_f64(&bias), to_f64(&g));
    let loss = |a: &[f64], b: &[f64], bias: &[f64]| -> f64 {
        matmul::matmul_cpu(Form::NN, a, b, m, n, k, Some(bias), false, None)
            .iter()
            .zip(&g64)
            .map(|(y, g)| y * g)
            .sum()
    };

    let ab = GpuBuffer::from_slice(ctx, "a", &a).unwrap();
    let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
    let gb = GpuBuffer::from_slice(ctx, "g", &g).unwrap();
    let da = GpuBuffer::<f32>::zeros(ctx, "da", m * k).unwrap();
    let db = GpuBuffer::<f32>::zeros(ctx, "db", k * n).unwrap();
    let dbias = GpuBuffer::<f32>::zeros(ctx, "dbias", n).unwrap();
    for buf in [&da, &db, &dbias] {
        buf.poison(ctx);
    }
    let none = Epilogue::default();
    // dA [m × k] = G [m × n] · (B [k × n])ᵀ
    let d1 = matmul::bind(
        ctx,
        Form::NT,
        (&gb).into(),
        (&bb).into(),
        (&da).into(),
        m,
        k,
        n,
        none,
    )
    .unwrap();
    // dB [k × n] = (A [m × k])ᵀ · G [m × n]
    let d2 = matmul::bind(
        ctx,
        Form::TN,
        (&ab).into(),
        (&gb).into(),
        (&db).into(),
        k,
        n,
        m,
        none,
    )
    .unwrap();
    let d3 = colsum::bind(ctx, (&gb).into(), (&dbias).into(), m, n, false).unwrap();
    submit(ctx, "grads", &[&d1, &d2, &d3]);

    let tol = 1e-5;
    assert_grad(
        "dA",
        |x| loss(x, &b64, &bias64),
        &a64,
        &to_f64(&da.read_blocking(ctx).unwrap()),
        tol,
    );
    assert_grad(
        "dB",
        |x| loss(&a64, x, &bias64),
        &b64,
        &to_f64(&db.read_blocking(ctx).unwrap()),
        tol,
    );
    assert_grad(
        "dbias",
        |x| loss(&a64, &b64, x),
        &bias64,
        &to_f64(&dbias.read_blocking(ctx).unwrap()),
        tol,
    );
}

/// The weight-gradient shape with the longest k, twice: bit-identical.
#[test]
fn long_k_is_bit_reproducible() {
    let ctx = ctx();
    let mut r = rng(14);
    let (m, n, k) = (64, 64, 5416);
    let a = uniform_f32(&mut r, k * m, -1.0, 1.0);
    let b = uniform_f32(&mut r, k * n, -1.0, 1.0);
    let ab = GpuBuffer::from_slice(ctx, "a", &a).unwrap();
    let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
    let run = || {
        let out = GpuBuffer::<f32>::zeros(ctx, "out", m * n).unwrap();
        out.poison(ctx);
        let d = matmul::bind(
            ctx,
            Form::TN,
            (&ab).into(),
            (&bb).into(),
            (&out).into(),
            m,
            n,
            k,
            Epilogue::default(),
        )
        .unwrap();
        submit(ctx, "tn", &[&d]);
        out.read_blocking(ctx).unwrap()
    };
    let first = run();
    let want = matmul::matmul_cpu(
        Form::TN,
        &to_f64(&a),
        &to_f64(&b),
        m,
        n,
        k,
        None,
        false,
        None,
    );
    assert_close(
        "TN long k",
        &first,
        &want,
        1e-5,
        1e-6 * (k as f64).sqrt() * 10.0,
    );
    let second = run();
    assert!(
        first
            .iter()
            .zip(&second)
            .all(|(p, q)| p.to_bits() == q.to_bits())
    );
}

#[test]
fn bad_bindings_are_typed_errors() {
    let ctx = ctx();
    let (m, n, k) = (6, 5, 4);
    let a = GpuBuffer::<f32>::zeros(ctx, "a", m * k).unwrap();
    let b = GpuBuffer::<f32>::zeros(ctx, "b", k * n).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", m * n).unwrap();
    let short = GpuBuffer::<f32>::zeros(ctx, "short", n - 1).unwrap();
    let bind = |a, b, out, epi| matmul::bind(ctx, Form::NN, a, b, out, m, n, k, epi);
    let none = Epilogue::default();

    let err = bind((&a).into(), (&b).into(), a.range(0, m * n - 1), none).unwrap_err();
    assert!(
        matches!(
            err,
            GpuError::SizeMismatch {
                expected: 30,
                got: 29,
                ..
            }
        ),
        "{err}"
    );
    let err = bind((&a).into(), (&short).into(), (&out).into(), none).unwrap_err();
    assert!(
        matches!(err, GpuError::SizeMismatch { expected: 20, .. }),
        "{err}"
    );
    let err = bind((&short).into(), (&b).into(), (&out).into(), none).unwrap_err();
    assert!(
        matches!(err, GpuError::SizeMismatch { expected: 24, .. }),
        "{err}"
    );
    let epi = Epilogue {
        bias: Some(short.range(0, n - 1)),
        ..none
    };
    let err = bind((&a).into(), (&b).into(), (&out).into(), epi).unwrap_err();
    assert!(err.to_string().contains("bias"), "{err}");
    let epi = Epilogue {
        relu: true,
        accumulate: true,
        mask: None,
        ..none
    };
    let err = bind((&a).into(), (&b).into(), (&out).into(), epi).unwrap_err();
    assert!(matches!(err, GpuError::InvalidArgument { .. }), "{err}");
    // A range at an offset the device cannot bind.
    let big = GpuBuffer::<f32>::zeros(ctx, "big", 1000).unwrap();
    let err = bind(big.range(1, m * k), (&b).into(), (&out).into(), none).unwrap_err();
    assert!(err.to_string().contains("alignment"), "{err}");
}

/// More blocks than one grid dimension holds (65535 workgroups): the grid folds into 2-D.
#[test]
fn grid_folds_into_two_dimensions() {
    let ctx = ctx();
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let (m, n, k) = (
        max * matmul::WORKGROUP_SIZE as usize * matmul::TILE_ROWS + 13,
        1,
        1,
    );
    // 16 M rows: a cheap non-zero pattern instead of random draws keeps the test fast.
    let a: Vec<f32> = (0..m * k).map(|i| (i % 997) as f32 / 997.0 + 0.5).collect();
    let b = uniform_f32(&mut rng(15), k * n, -1.0, 1.0);
    let ab = GpuBuffer::from_slice(ctx, "a", &a).unwrap();
    let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", m * n).unwrap();
    out.poison(ctx);
    let d = matmul::bind(
        ctx,
        Form::NN,
        (&ab).into(),
        (&bb).into(),
        (&out).into(),
        m,
        n,
        k,
        Epilogue::default(),
    )
    .unwrap();
    assert!(d.workgroups[1] > 1, "grid {:?} did not fold", d.workgroups);
    submit(ctx, "matmul folded", &[&d]);
    let want = matmul::matmul_cpu(
        Form::NN,
        &to_f64(&a),
        &to_f64(&b),
        m,
        n,
        k,
        None,
        false,
        None,
    );
    assert_close(
        "folded grid",
        &out.read_blocking(ctx).unwrap(),
        &want,
        1e-6,
        0.0,
    );
}

/// Writes `v` (`rows × width`) into a buffer with `gap` rows of huge junk after row `split`,
/// as the engine's `[z ; z′_0 ; …]` holds a batch `[z ; z′_k]`.
fn gapped(v: &[f32], width: usize, gap: matmul::RowGap) -> Vec<f32> {
    let rows = v.len() / width.max(1);
    let stored = if rows == 0 { 0 } else { gap.row(rows - 1) + 1 };
    let mut out = vec![1e30f32; stored * width];
    for r in 0..rows {
        out[gap.row(r) * width..][..width].copy_from_slice(&v[r * width..][..width]);
    }
    out
}

/// The fused options against composed twins: the mask (ReLU backward) on NN/NT, the row gap
/// of the batch operand, and TN's column sums of A; every output poisoned first.
#[test]
fn mask_row_gap_and_colsum_match_cpu() {
    let ctx = ctx();
    let mut r = rng(16);
    for form in FORMS {
        for &(m, n, k) in SHAPES {
            for (split, gap_rows) in [(usize::MAX, 0), (0, 3), (2, 5), (7, 1)] {
                let gap = matmul::RowGap {
                    split,
                    gap: gap_rows,
                };
                let a = uniform_f32(&mut r, m * k, -1.0, 1.0);
                let b = uniform_f32(&mut r, k * n, -1.0, 1.0);
                let bias = uniform_f32(&mut r, n, -1.0, 1.0);
                // About half the mask is ≤ 0, including exact zeros (ReLU outputs).
                let mask: Vec<f32> = uniform_f32(&mut r, m * n, -1.0, 1.0)
                    .into_iter()
                    .map(|v| v.max(0.0))
                    .collect();
                let (a_st, b_st) = match form {
                    Form::NN | Form::NT => (gapped(&a, k, gap), b.clone()),
                    Form::TN => (a.clone(), gapped(&b, n, gap)),
                };
                let ab = GpuBuffer::from_slice(ctx, "a", &a_st).unwrap();
                let bb = GpuBuffer::from_slice(ctx, "b", &b_st).unwrap();
                let biasb = GpuBuffer::from_slice(ctx, "bias", &bias).unwrap();
                let maskb = GpuBuffer::from_slice(ctx, "mask", &mask).unwrap();
                let out = GpuBuffer::<f32>::zeros(ctx, "out", m * n).unwrap();
                let cs = GpuBuffer::<f32>::zeros(ctx, "colsum", m).unwrap();
                out.poison(ctx);
                cs.poison(ctx);
                let tn = form == Form::TN && n > 0;
                let masked = form != Form::TN;
                let epi = Epilogue {
                    bias: Some((&biasb).into()),
                    mask: masked.then(|| (&maskb).into()),
                    ..Default::default()
                };
                let extra = matmul::Extra {
                    row_gap: gap,
                    colsum: tn.then(|| (&cs).into()),
                };
                let d = matmul::bind_ext(
                    ctx,
                    form,
                    (&ab).into(),
                    (&bb).into(),
                    (&out).into(),
                    m,
                    n,
                    k,
                    epi,
                    extra,
                )
                .unwrap();
                submit(ctx, "matmul ext", &[&d]);
                let bias64 = to_f64(&bias);
                let mut want = matmul::matmul_cpu(
                    form,
                    &to_f64(&a),
                    &to_f64(&b),
                    m,
                    n,
                    k,
                    Some(&bias64),
                    false,
                    None,
                );
                if masked {
                    want = matmul::relu_backward_cpu(&to_f64(&mask), &want);
                }
                let what = format!("{form:?} m={m} n={n} k={k} split={split} gap={gap_rows}");
                assert_close(
                    &what,
                    &out.read_blocking(ctx).unwrap(),
                    &want,
                    1e-5,
                    atol(k),
                );
                if tn {
                    assert_close(
                        &format!("{what} colsum"),
                        &cs.read_blocking(ctx).unwrap(),
                        &colsum::colsum_cpu(&to_f64(&a), k, m, None),
                        1e-5,
                        atol(k),
                    );
                }
            }
        }
    }
}

/// The masked product is the gradient through a ReLU, and TN's column sums are the bias
/// gradient: checked against finite differences of the layer's loss.
#[test]
fn fused_outputs_are_gradients() {
    let ctx = ctx();
    let mut r = rng(17);
    // Layer y = relu(x)·Wᵀ + b, x [rows × kin], W [kout × kin], loss L = Σ G ⊙ y.
    let (rows, kin, kout) = (9, 6, 5);
    let x = to_f64(&uniform_f32(&mut r, rows * kin, -1.0, 1.0));
    let w = uniform_f32(&mut r, kout * kin, -1.0, 1.0);
    let g = uniform_f32(&mut r, rows * kout, -1.0, 1.0);
    let w64 = to_f64(&w);
    let g64 = to_f64(&g);
    let loss = |x: &[f64], b: &[f64]| {
        let a = matmul::relu_cpu(x);
        let y = matmul::matmul_cpu(Form::NT, &a, &w64, rows, kout, kin, Some(b), false, None);
        y.iter().zip(&g64).map(|(y, g)| y * g).sum::<f64>()
    };
    let a: Vec<f32> = x.iter().map(|&v| v.max(0.0) as f32).collect();
    let (gb, wb, ab) = (
        GpuBuffer::from_slice(ctx, "G", &g).unwrap(),
        GpuBuffer::from_slice(ctx, "W", &w).unwrap(),
        GpuBuffer::from_slice(ctx, "a", &a).unwrap(),
    );
    // dL/dx = (G·W) ⊙ [a > 0]: NN with the activation as the mask.
    let dx = GpuBuffer::<f32>::zeros(ctx, "dx", rows * kin).unwrap();
    dx.poison(ctx);
    let d = matmul::bind(
        ctx,
        Form::NN,
        (&gb).into(),
        (&wb).into(),
        (&dx).into(),
        rows,
        kin,
        kout,
        Epilogue {
            mask: Some((&ab).into()),
            ..Default::default()
        },
    )
    .unwrap();
    // dL/dW = Gᵀ·a and dL/db = colsum(G): TN with column sums.
    let dw = GpuBuffer::<f32>::zeros(ctx, "dW", kout * kin).unwrap();
    let db = GpuBuffer::<f32>::zeros(ctx, "db", kout).unwrap();
    dw.poison(ctx);
    db.poison(ctx);
    let t = matmul::bind_ext(
        ctx,
        Form::TN,
        (&gb).into(),
        (&ab).into(),
        (&dw).into(),
        kout,
        kin,
        rows,
        Epilogue::default(),
        matmul::Extra {
            colsum: Some((&db).into()),
            ..Default::default()
        },
    )
    .unwrap();
    submit(ctx, "fused gradients", &[&d, &t]);
    let b0 = vec![0.1; kout];
    assert_grad(
        "masked NN = dL/dx",
        |x| loss(x, &b0),
        &x,
        &to_f64(&dx.read_blocking(ctx).unwrap()),
        1e-5,
    );
    assert_grad(
        "TN colsum = dL/db",
        |b| loss(&x, b),
        &b0,
        &to_f64(&db.read_blocking(ctx).unwrap()),
        1e-5,
    );
    let want_dw = matmul::matmul_cpu(
        Form::TN,
        &g64,
        &to_f64(&a),
        kout,
        kin,
        rows,
        None,
        false,
        None,
    );
    assert_close(
        "TN dW",
        &dw.read_blocking(ctx).unwrap(),
        &want_dw,
        1e-5,
        1e-5,
    );
}

#[test]
fn bad_fused_options_are_typed_errors() {
    let ctx = ctx();
    let (m, n, k) = (4, 5, 6);
    let a = GpuBuffer::<f32>::zeros(ctx, "a", m * k).unwrap();
    let b = GpuBuffer::<f32>::zeros(ctx, "b", k * n).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", m * n).unwrap();
    let short = GpuBuffer::<f32>::zeros(ctx, "short", m * n - 1).unwrap();
    let bind = |form, epi, extra| {
        matmul::bind_ext(
            ctx,
            form,
            (&a).into(),
            (&b).into(),
            (&out).into(),
            m,
            n,
            k,
            epi,
            extra,
        )
    };
    let short_mask = Epilogue {
        mask: Some((&short).into()),
        ..Default::default()
    };
    let err = bind(Form::NN, short_mask, matmul::Extra::default()).unwrap_err();
    assert!(err.to_string().contains("mask"), "{err}");
    // Column sums only exist in the TN form.
    let cs = matmul::Extra {
        colsum: Some((&out).into()),
        ..Default::default()
    };
    let err = bind(Form::NN, Epilogue::default(), cs).unwrap_err();
    assert!(matches!(err, GpuError::InvalidArgument { .. }), "{err}");
    // A row gap needs the stored rows.
    let gap = matmul::Extra {
        row_gap: matmul::RowGap { split: 1, gap: 2 },
        ..Default::default()
    };
    let err = bind(Form::NT, Epilogue::default(), gap).unwrap_err();
    assert!(matches!(err, GpuError::SizeMismatch { .. }), "{err}");
    // spmm has no mask.
    let csr = argva::kernels::spmm::CsrBuffers::upload(ctx, "I", &[0, 1], &[0], &[1.0], 1).unwrap();
    let err = argva::kernels::spmm::bind(ctx, &csr, (&b).into(), (&out).into(), 1, short_mask)
        .unwrap_err();
    assert!(matches!(err, GpuError::InvalidArgument { .. }), "{err}");
}

/// A weight gradient `Aᵀ·B` and its bias gradient summed over row chunks of the batch (each
/// chunk bound at a byte offset, the first writing, the rest accumulating) equal the
/// unchunked product: the engine's path for batches past one binding.
#[test]
fn tn_with_column_sums_accumulates_over_row_chunks() {
    let ctx = ctx();
    let mut r = rng(61);
    for &(m, n, k, chunk) in &[(9, 7, 300, 64), (16, 24, 1000, 192), (3, 1, 65, 64)] {
        let a = uniform_f32(&mut r, k * m, -1.0, 1.0);
        let b = uniform_f32(&mut r, k * n, -1.0, 1.0);
        let ab = GpuBuffer::from_slice(ctx, "a", &a).unwrap();
        let bb = GpuBuffer::from_slice(ctx, "b", &b).unwrap();
        let out = GpuBuffer::<f32>::zeros(ctx, "out", m * n).unwrap();
        let cs = GpuBuffer::<f32>::zeros(ctx, "colsum", m).unwrap();
        out.poison(ctx);
        cs.poison(ctx);
        let mut launches = Vec::new();
        for (i, k0) in (0..k).step_by(chunk).enumerate() {
            let rows = chunk.min(k - k0);
            let epi = Epilogue {
                accumulate: i > 0,
                ..Default::default()
            };
            let extra = matmul::Extra {
                colsum: Some((&cs).into()),
                ..Default::default()
            };
            launches.push(
                matmul::bind_ext(
                    ctx,
                    Form::TN,
                    ab.range(k0 * m, rows * m),
                    bb.range(k0 * n, rows * n),
                    (&out).into(),
                    m,
                    n,
                    rows,
                    epi,
                    extra,
                )
                .unwrap(),
            );
        }
        assert!(launches.len() > 1);
        submit(ctx, "tn chunks", &launches.iter().collect::<Vec<_>>());
        let what = format!("TN m={m} n={n} k={k} in chunks of {chunk}");
        let want = matmul::matmul_cpu(
            Form::TN,
            &to_f64(&a),
            &to_f64(&b),
            m,
            n,
            k,
            None,
            false,
            None,
        );
        assert_close(
            &what,
            &out.read_blocking(ctx).unwrap(),
            &want,
            1e-5,
            atol(k),
        );
        assert_close(
            &format!("{what}: colsum"),
            &cs.read_blocking(ctx).unwrap(),
            &colsum::colsum_cpu(&to_f64(&a), k, m, None),
            1e-5,
            atol(k),
        );
    }
}
