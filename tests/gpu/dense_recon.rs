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

#[test]
fn loss_and_gradient_match_cpu() {
    let ctx = ctx();
    // 67 rows: not a multiple of the workgroup size (64); node 0.. may be isolated.
    for (n, d, seed) in [(67, 8, 1), (130, 5, 2), (3, 3, 3)] {
        let (ptr, col, a) = random_labels(n, 0.08, seed);
        let z = uniform_f32(&mut rng(seed + 10), n * d, -0.7, 0.7);
        let (want_loss, want_dz) = dense_recon::loss_and_grad_cpu(&to_f64(&z), n, d, &ptr, &col, a);
        let zb = GpuBuffer::from_slice(ctx, "z", &z).unwrap();
        let pb = GpuBuffer::from_slice(ctx, "ptr", &ptr).unwrap();
        let cb = GpuBuffer::from_slice(ctx, "col", &col).unwrap();
        let dz = GpuBuffer::<f32>::zeros(ctx, "dz", n * d).unwrap();
        let rows = GpuBuffer::<f32>::zeros(ctx, "loss rows", n).unwrap();
        dz.poison(ctx);
        rows.poison(ctx);
        let disp = dense_recon::bind(
            ctx,
            (&zb).into(),
            (&pb).into(),
            (&cb).into(),
            (&dz).into(),
            (&rows).into(),
            n,
            d,
            a,
            false,
        )
        .unwrap();
        submit(ctx, "dense recon", &[&disp]);
        let loss: f64 = rows
            .read_blocking(ctx)
            .unwrap()
            .iter()
            .map(|&v| v as f64)
            .sum();
        // f32 sums of n terms each of n products: relative 1e-4 is ample and still tight.
        assert!(
            (loss - want_loss).abs() <= 1e-4 * want_loss.abs(),
            "loss {loss} vs {want_loss}"
        );
        assert_close(
            "dense recon dz",
            &dz.read_blocking(ctx).unwrap(),
            &want_dz,
            1e-4,
            1e-6,
        );
    }
}

#[test]
fn accumulate_adds_to_existing_gradient() {
    let ctx = ctx();
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
    let zb = GpuBuffer::from_slice(ctx, "z", &z).unwrap();
    let pb = GpuBuffer::from_slice(ctx, "ptr", &ptr).unwrap();
    let cb = GpuBuffer::from_slice(ctx, "col", &col).unwrap();
    let dz = GpuBuffer::from_slice(ctx, "dz", &prior).unwrap();
    let rows = GpuBuffer::<f32>::zeros(ctx, "rows", n).unwrap();
    let disp = dense_recon::bind(
        ctx,
        (&zb).into(),
        (&pb).into(),
        (&cb).into(),
        (&dz).into(),
        (&rows).into(),
        n,
        d,
        a,
        true,
    )
    .unwrap();
    submit(ctx, "dense recon acc", &[&disp]);
    assert_close(
        "accumulated dz",
        &dz.read_blocking(ctx).unwrap(),
        &want,
        1e-4,
        1e-6,
    );
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

#[test]
fn latent_wider_than_the_kernel_is_a_typed_error() {
    let ctx = ctx();
    let b = GpuBuffer::<f32>::zeros(ctx, "b", 4).unwrap();
    let u = GpuBuffer::<u32>::zeros(ctx, "u", 4).unwrap();
    let err = dense_recon::bind(
        ctx,
        (&b).into(),
        (&u).into(),
        (&u).into(),
        (&b).into(),
        (&b).into(),
        1,
        129,
        0,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("129"), "{err}");
}
