use argva::gpu::{GpuBuffer, submit};
use argva::kernels::dense_recon;
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};
use rand::RngExt;

use crate::ctx;

/// A random symmetric graph without self-loops: (label CSR of Y = A + I with sorted
/// columns, number of directed edges of A).
fn random_labels(n: usize, p: f64, seed: u64) -> (Vec<u32>, Vec<u32>, usize) {
    let mut r = rng(seed);
    let mut adj = vec![vec![]; n];
    for i in 0..n {
        for j in i + 1..n {
            if r.random_bool(p) {
                adj[i].push(j as u32);
                adj[j].push(i as u32);
            }
        }
    }
    let a = adj.iter().map(Vec::len).sum();
    let (mut ptr, mut col) = (vec![0u32], vec![]);
    for (i, row) in adj.iter_mut().enumerate() {
        row.push(i as u32);
        row.sort_unstable();
        col.extend_from_slice(row);
        ptr.push(col.len() as u32);
    }
    (ptr, col, a)
}

/// Records and runs one dense reconstruction in chunks of `rows` rows (None: the module's
/// own chunking) over poisoned scratch and loss rows; returns (loss, dz).
#[allow(clippy::too_many_arguments)]
fn run(
    z: &[f32],
    (ptr, col, a): (&[u32], &[u32], usize),
    (n, d): (usize, usize),
    dz_init: Option<&[f32]>,
    rows: Option<usize>,
) -> (f64, Vec<f32>) {
    let ctx = ctx();
    let zb = GpuBuffer::from_slice(ctx, "z", z).unwrap();
    let pb = GpuBuffer::from_slice(ctx, "ptr", ptr).unwrap();
    let cb = GpuBuffer::from_slice(ctx, "col", col).unwrap();
    let dz = match dz_init {
        Some(v) => GpuBuffer::from_slice(ctx, "dz", v).unwrap(),
        None => GpuBuffer::<f32>::zeros(ctx, "dz", n * d).unwrap(),
    };
    if dz_init.is_none() {
        dz.poison(ctx);
    }
    let loss_rows = GpuBuffer::<f32>::zeros(ctx, "loss rows", n).unwrap();
    let scores = GpuBuffer::<f32>::zeros(ctx, "scores", dense_recon::scratch_len(n)).unwrap();
    loss_rows.poison(ctx);
    scores.poison(ctx);
    let ops = dense_recon::Operands {
        z: (&zb).into(),
        label_ptr: (&pb).into(),
        label_col: (&cb).into(),
        scores: (&scores).into(),
        dz: (&dz).into(),
        loss_rows: (&loss_rows).into(),
    };
    let acc = dz_init.is_some();
    let steps = match rows {
        Some(r) => dense_recon::record_chunked(ctx, ops, (n, d), a, acc, r),
        None => dense_recon::record(ctx, ops, n, d, a, acc),
    }
    .unwrap();
    let dispatches: Vec<_> = steps.iter().map(|(d, _)| d).collect();
    submit(ctx, "dense recon", &dispatches);
    let loss = loss_rows
        .read_blocking(ctx)
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .sum();
    (loss, dz.read_blocking(ctx).unwrap())
}

#[test]
fn loss_and_gradient_match_cpu() {
    // 67 rows: not a multiple of the workgroup size (64); node 0.. may be isolated. The last
    // case runs in three chunks of rows (64, 64, 22), as graphs past the scratch do.
    for (n, d, seed, rows) in [
        (67, 8, 1, None),
        (130, 5, 2, None),
        (3, 3, 3, None),
        (150, 7, 4, Some(64)),
    ] {
        let (ptr, col, a) = random_labels(n, 0.08, seed);
        let z = uniform_f32(&mut rng(seed + 10), n * d, -0.7, 0.7);
        let (want_loss, want_dz) = dense_recon::loss_and_grad_cpu(&to_f64(&z), n, d, &ptr, &col, a);
        let (loss, dz) = run(&z, (&ptr, &col, a), (n, d), None, rows);
        // f32 sums of n terms each of n products: relative 1e-4 is ample and still tight.
        assert!(
            (loss - want_loss).abs() <= 1e-4 * want_loss.abs(),
            "n={n}: loss {loss} vs {want_loss}"
        );
        assert_close(&format!("dense recon dz n={n}"), &dz, &want_dz, 1e-4, 1e-6);
    }
}

#[test]
fn accumulate_adds_to_existing_gradient() {
    let (n, d) = (40, 4);
    let (ptr, col, a) = random_labels(n, 0.1, 7);
    let z = uniform_f32(&mut rng(8), n * d, -0.5, 0.5);
    let prior = uniform_f32(&mut rng(9), n * d, -1.0, 1.0);
    let (_, grad) = dense_recon::loss_and_grad_cpu(&to_f64(&z), n, d, &ptr, &col, a);
    let want: Vec<f64> = grad
        .iter()
        .zip(&prior)
        .map(|(g, &p)| g + p as f64)
        .collect();
    let (_, dz) = run(&z, (&ptr, &col, a), (n, d), Some(&prior), None);
    assert_close("accumulated dz", &dz, &want, 1e-4, 1e-6);
}

/// Same inputs, same bits: the products and the row sums run in a fixed order.
#[test]
fn repeated_calls_give_the_same_bits() {
    let (n, d) = (90, 6);
    let (ptr, col, a) = random_labels(n, 0.1, 5);
    let z = uniform_f32(&mut rng(6), n * d, -0.8, 0.8);
    let first = run(&z, (&ptr, &col, a), (n, d), None, None);
    let again = run(&z, (&ptr, &col, a), (n, d), None, None);
    assert_eq!(first.0.to_bits(), again.0.to_bits());
    assert_eq!(first.1, again.1);
}

#[test]
fn cpu_gradient_matches_finite_differences() {
    let (n, d) = (9, 3);
    let (ptr, col, a) = random_labels(n, 0.3, 11);
    let z = to_f64(&uniform_f32(&mut rng(12), n * d, -1.0, 1.0));
    let (_, grad) = dense_recon::loss_and_grad_cpu(&z, n, d, &ptr, &col, a);
    let loss = |z: &[f64]| dense_recon::loss_and_grad_cpu(z, n, d, &ptr, &col, a).0;
    assert_grad("dense recon", loss, &z, &grad, 1e-6);
}

/// Chunks that are neither all rows nor whole multiples of 64 (misaligned z offsets), or a
/// scratch too small for a chunk, are refused by name.
#[test]
fn bad_chunks_are_refused() {
    let ctx = ctx();
    let b = GpuBuffer::<f32>::zeros(ctx, "b", 400).unwrap();
    let u = GpuBuffer::<u32>::zeros(ctx, "u", 400).unwrap();
    let small = GpuBuffer::<f32>::zeros(ctx, "scratch", 10).unwrap();
    fn ops<'a>(
        b: &'a GpuBuffer<f32>,
        u: &'a GpuBuffer<u32>,
        scores: &'a GpuBuffer<f32>,
    ) -> dense_recon::Operands<'a> {
        dense_recon::Operands {
            z: b.into(),
            label_ptr: u.into(),
            label_col: u.into(),
            scores: scores.into(),
            dz: b.into(),
            loss_rows: b.into(),
        }
    }
    let big = GpuBuffer::<f32>::zeros(ctx, "scratch", 100 * 100).unwrap();
    for (scores, rows) in [(&big, 30), (&small, 100), (&big, 0)] {
        let err = dense_recon::record_chunked(ctx, ops(&b, &u, scores), (100, 2), 10, false, rows)
            .unwrap_err()
            .to_string();
        assert!(err.contains("scratch"), "{err}");
    }
}
