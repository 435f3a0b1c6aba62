use argva::gpu::{GpuBuffer, submit};
use argva::kernels::relu;
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};

use crate::ctx;

// Sizes straddle the workgroup size (256) and include empty.
const SIZES: &[usize] = &[0, 1, 255, 257, 1000];

#[test]
fn forward_matches_cpu() {
    let ctx = ctx();
    let mut r = rng(1);
    for &n in SIZES {
        let x = uniform_f32(&mut r, n, -1.0, 1.0);
        let xb = GpuBuffer::from_slice(ctx, "x", &x).unwrap();
        let yb = GpuBuffer::<f32>::zeros(ctx, "y", n).unwrap();
        yb.poison(ctx);
        let d = relu::forward(ctx, &xb, &yb).unwrap();
        submit(ctx, "relu", &[&d]);
        // Exact: max() is exact in f32.
        assert_close(
            "relu forward",
            &yb.read_blocking(ctx).unwrap(),
            &relu::forward_cpu(&to_f64(&x)),
            0.0,
            0.0,
        );
    }
}

#[test]
fn backward_matches_cpu_and_finite_differences() {
    let ctx = ctx();
    let mut r = rng(2);
    for &n in SIZES {
        let x = uniform_f32(&mut r, n, -1.0, 1.0);
        let dy = uniform_f32(&mut r, n, -2.0, 2.0);
        let y = relu::forward_cpu(&to_f64(&x));
        let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
        let yb = GpuBuffer::from_slice(ctx, "y", &y32).unwrap();
        let gb = GpuBuffer::from_slice(ctx, "grad", &dy).unwrap();
        let d = relu::backward(ctx, &yb, &gb).unwrap();
        submit(ctx, "relu backward", &[&d]);
        let want = relu::backward_cpu(&y, &to_f64(&dy));
        assert_close(
            "relu backward",
            &gb.read_blocking(ctx).unwrap(),
            &want,
            0.0,
            0.0,
        );

        // The twin's backward is the derivative of Σ dy ⊙ relu(x) (x away from the kink).
        let dy64 = to_f64(&dy);
        let loss = |x: &[f64]| {
            relu::forward_cpu(x)
                .iter()
                .zip(&dy64)
                .map(|(a, b)| a * b)
                .sum()
        };
        assert_grad("relu", loss, &to_f64(&x), &want, 1e-6);
    }
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let ctx = ctx();
    let x = uniform_f32(&mut rng(3), 777, -1.0, 1.0);
    let xb = GpuBuffer::from_slice(ctx, "x", &x).unwrap();
    let run = || {
        let yb = GpuBuffer::<f32>::zeros(ctx, "y", x.len()).unwrap();
        submit(ctx, "relu", &[&relu::forward(ctx, &xb, &yb).unwrap()]);
        yb.read_blocking(ctx).unwrap()
    };
    let (a, b) = (run(), run());
    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
}

#[test]
fn mismatched_lengths_are_a_typed_error() {
    let ctx = ctx();
    let x = GpuBuffer::<f32>::zeros(ctx, "x", 10).unwrap();
    let y = GpuBuffer::<f32>::zeros(ctx, "y", 11).unwrap();
    let err = relu::forward(ctx, &x, &y).unwrap_err().to_string();
    assert!(
        err.contains("expected 10") && err.contains("got 11"),
        "{err}"
    );
}
