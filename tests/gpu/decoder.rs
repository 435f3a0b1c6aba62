use argva::doctor::harness::{self, DecoderRun};
use argva::gpu::{GpuBuffer, GpuContext, submit};
use argva::kernels::decoder;
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};
use rand::RngExt;

use crate::{ctx, small_binding_ctx};

/// Random pairs over n nodes (self-pairs and repeats included, as sampling can give).
fn random_pairs(seed: u64, n: usize, count: usize) -> Vec<u32> {
    let mut r = rng(seed);
    (0..2 * count)
        .map(|_| r.random_range(0..n as u32))
        .collect()
}

// (n, d, npos, nneg): pair counts straddle the workgroup size (256), n·d is not a multiple
// of it; one-node and empty cases.
const CASES: &[(usize, usize, usize, usize)] = &[
    (0, 4, 0, 0),
    (1, 3, 1, 1),
    (7, 5, 0, 3),
    (40, 8, 130, 127),
    (301, 16, 600, 601),
];

type Run = DecoderRun;

/// pair_loss then gather in one submission, every output poisoned first.
fn run(z: &[f32], pairs: &[u32], n: usize, d: usize, npos: usize, nneg: usize) -> Run {
    run_on(ctx(), z, pairs, n, d, npos, nneg)
}

fn run_on(
    ctx: &GpuContext,
    z: &[f32],
    pairs: &[u32],
    n: usize,
    d: usize,
    npos: usize,
    nneg: usize,
) -> Run {
    pollster::block_on(harness::decoder(ctx, z, pairs, (n, d), (npos, nneg))).unwrap()
}

#[test]
fn loss_grad_and_gather_match_cpu() {
    for (s, &(n, d, npos, nneg)) in CASES.iter().enumerate() {
        let s = s as u64;
        let z = uniform_f32(&mut rng(s), n * d, -0.8, 0.8);
        let pairs = if n == 0 {
            vec![]
        } else {
            random_pairs(10 + s, n, npos + nneg)
        };
        let got = run(&z, &pairs, n, d, npos, nneg);
        let z64 = to_f64(&z);
        let (loss, grad) = decoder::pair_loss_cpu(&z64, &pairs, d, npos, nneg);
        // A d-term f32 dot product, then softplus/σ: relative 1e-5.
        assert_close("decoder loss", &got.loss, &loss, 1e-5, 1e-8);
        assert_close("decoder grad", &got.grad, &grad, 1e-5, 1e-8);
        // dz from the GPU's own grad and z: the CPU chain rule on the same inputs.
        let dz = decoder::gather_cpu(&z64, &pairs, &to_f64(&got.grad), n, d);
        assert_close("decoder dz", &got.dz, &dz, 1e-5, 1e-7);
    }
}

#[test]
fn gather_is_the_gradient_of_the_summed_loss() {
    let (n, d, npos, nneg) = (9, 3, 7, 6);
    let z = to_f64(&uniform_f32(&mut rng(5), n * d, -1.0, 1.0));
    let mut pairs = random_pairs(6, n, npos + nneg);
    pairs[0..2].copy_from_slice(&[4, 4]); // a self-pair: both sides count
    let f = |z: &[f64]| {
        decoder::pair_loss_cpu(z, &pairs, d, npos, nneg)
            .0
            .iter()
            .sum::<f64>()
    };
    let (_, grad) = decoder::pair_loss_cpu(&z, &pairs, d, npos, nneg);
    let analytic = decoder::gather_cpu(&z, &pairs, &grad, n, d);
    assert_grad("decoder", f, &z, &analytic, 1e-6);

    // And the GPU end to end (loss → grad → gather) against that checked gradient.
    let z32: Vec<f32> = z.iter().map(|&v| v as f32).collect();
    let got = run(&z32, &pairs, n, d, npos, nneg);
    assert_close("decoder dz vs d(Σ loss)/dz", &got.dz, &analytic, 1e-5, 1e-7);
}

#[test]
fn gather_accumulates_into_dz() {
    let ctx = ctx();
    let (n, d, p) = (50, 6, 333);
    let z = uniform_f32(&mut rng(1), n * d, -1.0, 1.0);
    let pairs = random_pairs(2, n, p);
    let grad = uniform_f32(&mut rng(3), p, -0.01, 0.01);
    let prev = uniform_f32(&mut rng(4), n * d, -1.0, 1.0);
    let (ptr, slots) = decoder::pair_slots(n, &pairs).unwrap();
    let zb = GpuBuffer::from_slice(ctx, "z", &z).unwrap();
    let pb = GpuBuffer::from_slice(ctx, "pairs", &pairs).unwrap();
    let ptrb = GpuBuffer::from_slice(ctx, "slot_ptr", &ptr).unwrap();
    let sb = GpuBuffer::from_slice(ctx, "slots", &slots).unwrap();
    let gb = GpuBuffer::from_slice(ctx, "grad", &grad).unwrap();
    let dz = GpuBuffer::from_slice(ctx, "dz", &prev).unwrap();
    let g = decoder::gather(
        ctx,
        (&zb).into(),
        (&pb).into(),
        (&ptrb).into(),
        (&sb).into(),
        (&gb).into(),
        (&dz).into(),
        n,
        d,
        true,
    )
    .unwrap();
    submit(ctx, "gather", &[&g]);
    let want: Vec<f64> = decoder::gather_cpu(&to_f64(&z), &pairs, &to_f64(&grad), n, d)
        .iter()
        .zip(&prev)
        .map(|(a, &b)| a + b as f64)
        .collect();
    assert_close(
        "gather +=",
        &dz.read_blocking(ctx).unwrap(),
        &want,
        1e-5,
        1e-7,
    );
}

#[test]
fn out_of_range_ids_contribute_nothing_on_the_gpu() {
    // The host rejects these (pair_slots); the shader must still not read out of bounds.
    let ctx = ctx();
    let (n, d) = (5, 4);
    let z = uniform_f32(&mut rng(1), n * d, -1.0, 1.0);
    let pairs = vec![0, 1, 7, 2, 3, u32::MAX, 2, 4];
    let zb = GpuBuffer::from_slice(ctx, "z", &z).unwrap();
    let pb = GpuBuffer::from_slice(ctx, "pairs", &pairs).unwrap();
    let loss = GpuBuffer::<f32>::zeros(ctx, "loss", 4).unwrap();
    let grad = GpuBuffer::<f32>::zeros(ctx, "grad", 4).unwrap();
    loss.poison(ctx);
    grad.poison(ctx);
    let l = decoder::pair_loss(
        ctx,
        (&zb).into(),
        (&pb).into(),
        (&loss).into(),
        (&grad).into(),
        n,
        d,
        2,
        2,
    )
    .unwrap();
    submit(ctx, "decoder", &[&l]);
    let (got_l, got_g) = (
        loss.read_blocking(ctx).unwrap(),
        grad.read_blocking(ctx).unwrap(),
    );
    assert_eq!(
        (got_l[1], got_g[1], got_l[2], got_g[2]),
        (0.0, 0.0, 0.0, 0.0)
    );
    let good = [0, 1, 0, 0, 0, 0, 2, 4];
    let (want_l, want_g) = decoder::pair_loss_cpu(&to_f64(&z), &good, d, 2, 2);
    assert_close("valid pair 0", &got_l[..1], &want_l[..1], 1e-5, 0.0);
    assert_close("valid pair 3", &got_g[3..], &want_g[3..], 1e-5, 0.0);
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let (n, d, npos, nneg) = (200, 16, 900, 900);
    let z = uniform_f32(&mut rng(1), n * d, -1.0, 1.0);
    let pairs = random_pairs(2, n, npos + nneg);
    let a = run(&z, &pairs, n, d, npos, nneg);
    let b = run(&z, &pairs, n, d, npos, nneg);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.loss), bits(&b.loss));
    assert_eq!(bits(&a.dz), bits(&b.dz));
}

#[test]
fn bad_sizes_are_typed_errors() {
    let ctx = ctx();
    let z = GpuBuffer::<f32>::zeros(ctx, "z", 10 * 4).unwrap();
    let pairs = GpuBuffer::<u32>::zeros(ctx, "pairs", 2 * 5).unwrap();
    let short = GpuBuffer::<f32>::zeros(ctx, "loss", 5).unwrap();
    let grad = GpuBuffer::<f32>::zeros(ctx, "grad", 6).unwrap();
    // 6 pairs declared, only 5 in the list.
    let err = decoder::pair_loss(
        ctx,
        (&z).into(),
        (&pairs).into(),
        (&short).into(),
        (&grad).into(),
        10,
        4,
        3,
        3,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("`pairs`") && err.contains("expected 12"),
        "{err}"
    );
    let ptr = GpuBuffer::<u32>::zeros(ctx, "slot_ptr", 10).unwrap();
    let err = decoder::gather(
        ctx,
        (&z).into(),
        (&pairs).into(),
        (&ptr).into(),
        (&pairs).into(),
        (&grad).into(),
        (&short).into(),
        10,
        4,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("slot_ptr") && err.contains("expected 11"),
        "{err}"
    );
}

/// Pair and slot lists past one binding are read through two windows: the same losses,
/// gradients and dz, bit for bit, as through one binding, and the CPU twin's.
#[test]
fn lists_past_one_binding_match_whole_lists() {
    let small = small_binding_ctx();
    for (seed, &(n, d, npos, nneg)) in
        [(700usize, 2usize, 1000usize, 1000usize), (301, 2, 600, 601)]
            .iter()
            .enumerate()
    {
        let pairs = random_pairs(90 + seed as u64, n, npos + nneg);
        assert!(pairs.len() as u64 * 4 > small.max_binding_bytes());
        let z = uniform_f32(&mut rng(91 + seed as u64), n * d, -1.0, 1.0);
        let whole = run(&z, &pairs, n, d, npos, nneg);
        let split = run_on(small, &z, &pairs, n, d, npos, nneg);
        let what = format!("n={n} d={d} pairs={}", npos + nneg);
        assert_eq!(split.loss, whole.loss, "{what}: loss");
        assert_eq!(split.grad, whole.grad, "{what}: grad");
        assert_eq!(split.dz, whole.dz, "{what}: dz");
        let (loss, grad) = decoder::pair_loss_cpu(&to_f64(&z), &pairs, d, npos, nneg);
        let dz = decoder::gather_cpu(&to_f64(&z), &pairs, &grad, n, d);
        assert_close(&format!("{what} loss"), &split.loss, &loss, 1e-5, 1e-7);
        assert_close(&format!("{what} dz"), &split.dz, &dz, 1e-4, 1e-6);
    }
}
