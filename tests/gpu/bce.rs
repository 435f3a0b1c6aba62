use argva::gpu::{GpuBuffer, submit};
use argva::kernels::bce;
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};

use crate::ctx;

// n straddles the workgroup size (256); 2n rows for `disc`.
const SIZES: &[usize] = &[0, 1, 127, 129, 300];

/// Logits in ±8 with a few confident ones (±25) where softplus is tiny or ≈ |s|.
fn logits(seed: u64, len: usize) -> Vec<f32> {
    let mut s = uniform_f32(&mut rng(seed), len, -8.0, 8.0);
    for (i, v) in s.iter_mut().enumerate().step_by(11) {
        *v = if i % 2 == 0 { 25.0 } else { -25.0 };
    }
    s
}

fn run(disc: bool, s: &[f32], n: usize) -> (Vec<f32>, Vec<f32>) {
    let ctx = ctx();
    let sb = GpuBuffer::from_slice(ctx, "logits", s).unwrap();
    let loss = GpuBuffer::<f32>::zeros(ctx, "loss", s.len()).unwrap();
    let grad = GpuBuffer::<f32>::zeros(ctx, "grad", s.len()).unwrap();
    loss.poison(ctx);
    grad.poison(ctx);
    let bind = if disc { bce::disc } else { bce::reg };
    let d = bind(ctx, (&sb).into(), (&loss).into(), (&grad).into(), n).unwrap();
    submit(ctx, "bce", &[&d]);
    (
        loss.read_blocking(ctx).unwrap(),
        grad.read_blocking(ctx).unwrap(),
    )
}

#[test]
fn disc_and_reg_match_cpu() {
    for (i, &n) in SIZES.iter().enumerate() {
        let s = logits(i as u64, 2 * n);
        let (loss, grad) = run(true, &s, n);
        let (want_l, want_g) = bce::disc_cpu(&to_f64(&s), n);
        // Relative 1e-5 even for softplus(−25) ≈ 1.4e-11: the shader's log1p keeps it.
        assert_close("bce disc loss", &loss, &want_l, 1e-5, 1e-12);
        assert_close("bce disc grad", &grad, &want_g, 1e-5, 1e-12);

        let s = logits(100 + i as u64, n);
        let (loss, grad) = run(false, &s, n);
        let (want_l, want_g) = bce::reg_cpu(&to_f64(&s));
        assert_close("bce reg loss", &loss, &want_l, 1e-5, 1e-12);
        assert_close("bce reg grad", &grad, &want_g, 1e-5, 1e-12);
    }
}

#[test]
fn gradients_are_derivatives_of_the_loss() {
    let n = 6;
    let s = to_f64(&uniform_f32(&mut rng(4), 2 * n, -5.0, 5.0));
    let f = |s: &[f64]| bce::disc_cpu(s, n).0.iter().sum::<f64>();
    assert_grad("bce disc", f, &s, &bce::disc_cpu(&s, n).1, 1e-6);
    let f = |s: &[f64]| bce::reg_cpu(s).0.iter().sum::<f64>();
    assert_grad("bce reg", f, &s, &bce::reg_cpu(&s).1, 1e-6);
    // Labels: fake rows first (loss grows with s), real rows after (loss falls with s).
    let (_, g) = bce::disc_cpu(&s, n);
    assert!(g[..n].iter().all(|&v| v > 0.0) && g[n..].iter().all(|&v| v < 0.0));
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let s = logits(9, 2 * 777);
    let (a, b) = (run(true, &s, 777), run(true, &s, 777));
    assert!(
        a.0.iter()
            .zip(&b.0)
            .all(|(p, q)| p.to_bits() == q.to_bits())
    );
    assert!(
        a.1.iter()
            .zip(&b.1)
            .all(|(p, q)| p.to_bits() == q.to_bits())
    );
}

#[test]
fn bad_sizes_are_typed_errors() {
    let ctx = ctx();
    let s = GpuBuffer::<f32>::zeros(ctx, "logits", 19).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "loss", 20).unwrap();
    let err = bce::disc(ctx, (&s).into(), (&out).into(), (&out).into(), 10)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("logits") && err.contains("expected 20"),
        "{err}"
    );
    let err = bce::reg(ctx, (&out).into(), (&s).into(), (&out).into(), 20)
        .unwrap_err()
        .to_string();
    assert!(err.contains("loss") && err.contains("expected 20"), "{err}");
}
