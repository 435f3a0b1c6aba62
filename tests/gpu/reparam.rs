use argva::gpu::{GpuBuffer, submit};
use argva::kernels::reparam;
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};

use crate::ctx;

// (n, d): row counts straddling the workgroup size (256) and element counts that are not
// multiples of it; empty and single-row cases.
const SHAPES: &[(usize, usize)] = &[(0, 4), (1, 1), (1, 3), (37, 5), (300, 7)];

/// head rows [μ | ℓ̃]; with `clamped`, every 7th ℓ̃ is above the clamp at 10.
fn random_head(seed: u64, n: usize, d: usize, clamped: bool) -> Vec<f32> {
    let mut head = uniform_f32(&mut rng(seed), n * 2 * d, -1.5, 1.5);
    if clamped {
        for i in 0..n {
            for k in (0..d).step_by(7) {
                head[i * 2 * d + d + k] = 10.0 + 0.5 * ((i + k) % 3) as f32;
            }
        }
    }
    head
}

#[test]
fn forward_matches_cpu() {
    let ctx = ctx();
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        let head = random_head(s as u64, n, d, true);
        let eps = uniform_f32(&mut rng(100 + s as u64), n * d, -2.0, 2.0);
        let hb = GpuBuffer::from_slice(ctx, "head", &head).unwrap();
        let eb = GpuBuffer::from_slice(ctx, "eps", &eps).unwrap();
        let zb = GpuBuffer::<f32>::zeros(ctx, "z", n * d).unwrap();
        zb.poison(ctx);
        let disp = reparam::forward(ctx, (&hb).into(), (&eb).into(), (&zb).into(), n, d).unwrap();
        submit(ctx, "reparam forward", &[&disp]);
        // One exp and one fma in f32: a few ulp.
        assert_close(
            "reparam z",
            &zb.read_blocking(ctx).unwrap(),
            &reparam::forward_cpu(&to_f64(&head), &to_f64(&eps), n, d),
            1e-5,
            1e-6,
        );
    }
}

fn run_backward(
    head: &[f32],
    eps: &[f32],
    dz: &[f32],
    n: usize,
    d: usize,
    w: f32,
) -> (Vec<f32>, Vec<f32>) {
    let ctx = ctx();
    let hb = GpuBuffer::from_slice(ctx, "head", head).unwrap();
    let eb = GpuBuffer::from_slice(ctx, "eps", eps).unwrap();
    let gb = GpuBuffer::from_slice(ctx, "dz", dz).unwrap();
    let dh = GpuBuffer::<f32>::zeros(ctx, "dhead", n * 2 * d).unwrap();
    let kl = GpuBuffer::<f32>::zeros(ctx, "kl", n).unwrap();
    dh.poison(ctx);
    kl.poison(ctx);
    let disp = reparam::backward(
        ctx,
        (&hb).into(),
        (&eb).into(),
        (&gb).into(),
        (&dh).into(),
        (&kl).into(),
        n,
        d,
        w,
    )
    .unwrap();
    submit(ctx, "reparam backward", &[&disp]);
    (
        dh.read_blocking(ctx).unwrap(),
        kl.read_blocking(ctx).unwrap(),
    )
}

#[test]
fn backward_and_kl_match_cpu() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        let head = random_head(10 + s as u64, n, d, true);
        let eps = uniform_f32(&mut rng(200 + s as u64), n * d, -2.0, 2.0);
        let dz = uniform_f32(&mut rng(300 + s as u64), n * d, -1.0, 1.0);
        // The engine's weight 1/N², and a large one so the KL part is visible.
        for w in [1.0 / ((n * n).max(1) as f32), 0.25] {
            let (dh, kl) = run_backward(&head, &eps, &dz, n, d, w);
            let (h64, e64) = (to_f64(&head), to_f64(&eps));
            let want = reparam::backward_cpu(&h64, &e64, &to_f64(&dz), n, d, w as f64);
            assert_close("reparam dhead", &dh, &want, 1e-5, 1e-6);
            // Clamped entries get exactly zero gradient.
            for i in 0..n {
                for k in (0..d).step_by(7) {
                    assert_eq!(dh[i * 2 * d + d + k], 0.0, "clamped ℓ̃ at ({i}, {k})");
                }
            }
            // e^{2ℓ} reaches e^{21}: compare relative to the term sizes.
            assert_close("reparam kl", &kl, &reparam::kl_cpu(&h64, n, d), 1e-5, 1e-5);
        }
    }
}

#[test]
fn backward_is_the_gradient_of_the_twin() {
    // Unclamped values (the clamp has a zero derivative, checked above): finite differences
    // of Σ dz⊙z + w·Σ kl over the whole head.
    for &(n, d) in &[(1, 3), (5, 4)] {
        let head = to_f64(&random_head(7, n, d, false));
        let eps = to_f64(&uniform_f32(&mut rng(8), n * d, -2.0, 2.0));
        let dz = to_f64(&uniform_f32(&mut rng(9), n * d, -1.0, 1.0));
        let w = 0.3;
        let f = |h: &[f64]| {
            let z = reparam::forward_cpu(h, &eps, n, d);
            let lin: f64 = z.iter().zip(&dz).map(|(a, b)| a * b).sum();
            lin + w * reparam::kl_cpu(h, n, d).iter().sum::<f64>()
        };
        let analytic = reparam::backward_cpu(&head, &eps, &dz, n, d, w);
        assert_grad("reparam", f, &head, &analytic, 1e-6);
    }
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let (n, d) = (301, 6);
    let head = random_head(1, n, d, true);
    let eps = uniform_f32(&mut rng(2), n * d, -2.0, 2.0);
    let dz = uniform_f32(&mut rng(3), n * d, -1.0, 1.0);
    let a = run_backward(&head, &eps, &dz, n, d, 0.01);
    let b = run_backward(&head, &eps, &dz, n, d, 0.01);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.0), bits(&b.0));
    assert_eq!(bits(&a.1), bits(&b.1));
}

#[test]
fn bad_sizes_are_typed_errors() {
    let ctx = ctx();
    let head = GpuBuffer::<f32>::zeros(ctx, "head", 2 * 10 * 4).unwrap();
    let eps = GpuBuffer::<f32>::zeros(ctx, "eps", 10 * 4).unwrap();
    let short = GpuBuffer::<f32>::zeros(ctx, "z", 39).unwrap();
    let err = reparam::forward(ctx, (&head).into(), (&eps).into(), (&short).into(), 10, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`z`") && err.contains("expected 40"), "{err}");
    let kl = GpuBuffer::<f32>::zeros(ctx, "kl", 9).unwrap();
    let err = reparam::backward(
        ctx,
        (&head).into(),
        (&eps).into(),
        (&eps).into(),
        (&head).into(),
        (&kl).into(),
        10,
        4,
        0.1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("kl_terms") && err.contains("expected 10"),
        "{err}"
    );
}

/// With ε drawn in the launch, eps holds exactly the rng kernel's draw of that stream (rows
/// numbered from `first_row`, as a row chunk of a larger draw is), and z is what the plain
/// forward makes from that ε: bit for bit.
#[test]
fn a_drawn_eps_is_the_rng_draw() {
    use argva::kernels::rng;
    let ctx = ctx();
    let (n, d, first_row, seed, stream) = (70, 5, 64, 0xBEEF, 0);
    let head = random_head(9, n, d, true);
    let clock = GpuBuffer::from_slice(ctx, "clock", &[7u32, 0, 0, 0]).unwrap();
    let whole = GpuBuffer::<f32>::zeros(ctx, "draw", (first_row + n) * d).unwrap();
    let draw = rng::bind(
        ctx,
        &clock,
        (&whole).into(),
        0,
        (first_row + n) * d,
        seed,
        stream,
    );
    submit(ctx, "rng", &[&draw.unwrap()]);
    let want_eps = whole.read_blocking(ctx).unwrap()[first_row * d..].to_vec();
    let hb = GpuBuffer::from_slice(ctx, "head", &head).unwrap();
    let eb = GpuBuffer::<f32>::zeros(ctx, "eps", n * d).unwrap();
    let zb = GpuBuffer::<f32>::zeros(ctx, "z", n * d).unwrap();
    eb.poison(ctx);
    zb.poison(ctx);
    let source = reparam::Eps::Drawn {
        clock: &clock,
        seed,
        stream,
        first_row,
    };
    let disp = reparam::forward_with(ctx, (&hb).into(), (&eb).into(), (&zb).into(), n, d, source);
    submit(ctx, "reparam forward_drawn", &[&disp.unwrap()]);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&eb.read_blocking(ctx).unwrap()), bits(&want_eps));
    let eg = GpuBuffer::from_slice(ctx, "eps given", &want_eps).unwrap();
    let zg = GpuBuffer::<f32>::zeros(ctx, "z given", n * d).unwrap();
    let plain = reparam::forward(ctx, (&hb).into(), (&eg).into(), (&zg).into(), n, d).unwrap();
    submit(ctx, "reparam forward", &[&plain]);
    assert_eq!(
        bits(&zb.read_blocking(ctx).unwrap()),
        bits(&zg.read_blocking(ctx).unwrap())
    );
}
