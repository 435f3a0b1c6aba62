use argva::gpu::{GpuBuffer, submit};
use argva::kernels::adam;
use argva::testing::{assert_close, rng, to_f64, uniform_f32};

use crate::ctx;

const SIZES: &[usize] = &[0, 1, 255, 1000];
const STEPS_PER_EPOCH: u32 = 5;
const STEP_IN_EPOCH: u32 = 2;

/// Runs the same recorded dispatch at several epochs (t = 3, 8, 18, 1003, 50003), with fresh
/// gradients each time, against the f64 twin stepped in the same order.
#[test]
fn steps_match_pytorch_formula_at_several_t() {
    let ctx = ctx();
    let lr = 0.01f32;
    for (s, &len) in SIZES.iter().enumerate() {
        let mut r = rng(s as u64);
        let theta = uniform_f32(&mut r, len, -1.0, 1.0);
        let m = uniform_f32(&mut r, len, -0.1, 0.1);
        let v = uniform_f32(&mut r, len, 1e-4, 1e-2);
        let (tb, mb, vb) = (
            GpuBuffer::from_slice(ctx, "theta", &theta).unwrap(),
            GpuBuffer::from_slice(ctx, "m", &m).unwrap(),
            GpuBuffer::from_slice(ctx, "v", &v).unwrap(),
        );
        let gb = GpuBuffer::<f32>::zeros(ctx, "grads", len).unwrap();
        let clock = GpuBuffer::<u32>::zeros(ctx, "clock", 4).unwrap();
        let d = adam::bind(
            ctx,
            &clock,
            (&tb).into(),
            (&gb).into(),
            (&mb).into(),
            (&vb).into(),
            len,
            lr,
            STEPS_PER_EPOCH,
            STEP_IN_EPOCH,
        )
        .unwrap();
        let (mut t64, mut m64, mut v64) = (to_f64(&theta), to_f64(&m), to_f64(&v));
        for epoch in [0u32, 1, 3, 200, 10_000] {
            let g = uniform_f32(&mut r, len, -0.5, 0.5);
            gb.write(ctx, &g).unwrap();
            clock.write(ctx, &[epoch, 0, 0, 0]).unwrap();
            submit(ctx, "adam", &[&d]);
            let before = t64.clone();
            let t = (epoch * STEPS_PER_EPOCH + STEP_IN_EPOCH + 1) as u64;
            adam::step_cpu(&mut t64, &to_f64(&g), &mut m64, &mut v64, lr as f64, t);
            let got = tb.read_blocking(ctx).unwrap();
            assert_close("adam theta", &got, &t64, 1e-5, 1e-7);
            // m = 0.9·m + 0.1·g cancels: absolute error of a few f32 ulps of the terms (≤ 0.1).
            assert_close("adam m", &mb.read_blocking(ctx).unwrap(), &m64, 1e-5, 2e-8);
            assert_close("adam v", &vb.read_blocking(ctx).unwrap(), &v64, 1e-5, 1e-12);
            // The step itself (≈ lr in size), so a wrong bias correction cannot hide in θ.
            let step: Vec<f32> = got
                .iter()
                .zip(&before)
                .map(|(&a, &b)| (a as f64 - b) as f32)
                .collect();
            let want: Vec<f64> = t64.iter().zip(&before).map(|(a, b)| a - b).collect();
            assert_close("adam step", &step, &want, 2e-3, 1e-7);
            // Keep the GPU's state as the next step's starting point for both.
            t64 = to_f64(&got);
        }
    }
}

#[test]
fn bad_sizes_are_typed_errors() {
    let ctx = ctx();
    let clock = GpuBuffer::<u32>::zeros(ctx, "clock", 4).unwrap();
    let a = GpuBuffer::<f32>::zeros(ctx, "a", 10).unwrap();
    let short = GpuBuffer::<f32>::zeros(ctx, "m", 9).unwrap();
    let err = adam::bind(
        ctx,
        &clock,
        (&a).into(),
        (&a).into(),
        (&short).into(),
        (&a).into(),
        10,
        0.01,
        1,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("`m`") && err.contains("expected 10"), "{err}");
}

/// With `FromPartials` the step first totals the fused discriminator's partial sums (a
/// row-major table, one row per workgroup: the loss, then every parameter's gradient): the
/// loss lands in its slot, every gradient is its column total (written back to `grads`);
/// without `grads` only the loss, and every parameter steps on its own gradient.
#[test]
fn finishes_partial_sums_before_stepping() {
    use argva::kernels::disc_fused::{GRAD_COLUMN, LOSS_COLUMN, sum_column};
    let ctx = ctx();
    let mut r = rng(77);
    // rows wider than 1 + len (spare columns are never read), an odd row count
    let (len, row_len, count) = (300, 305, 37);
    let table = uniform_f32(&mut r, count * row_len + 9, -0.1, 0.1);
    for with_grads in [true, false] {
        let theta = uniform_f32(&mut r, len, -1.0, 1.0);
        let g = uniform_f32(&mut r, len, -0.5, 0.5);
        let (tb, gb) = (
            GpuBuffer::from_slice(ctx, "theta", &theta).unwrap(),
            GpuBuffer::from_slice(ctx, "grads", &g).unwrap(),
        );
        let (mb, vb) = (
            GpuBuffer::<f32>::zeros(ctx, "m", len).unwrap(),
            GpuBuffer::<f32>::zeros(ctx, "v", len).unwrap(),
        );
        let tableb = GpuBuffer::from_slice(ctx, "partials", &table).unwrap();
        let losses = GpuBuffer::<f32>::zeros(ctx, "losses", 4).unwrap();
        losses.poison(ctx);
        let clock = GpuBuffer::<u32>::zeros(ctx, "clock", 4).unwrap();
        let finish = adam::FromPartials {
            table: (&tableb).into(),
            row_len,
            count,
            grads: with_grads,
            losses: (&losses).into(),
            slot: 2,
            update: true,
        };
        let d = adam::bind_ext(
            ctx,
            &clock,
            (&tb).into(),
            (&gb).into(),
            (&mb).into(),
            (&vb).into(),
            len,
            0.01,
            1,
            0,
            Some(finish),
        )
        .unwrap();
        submit(ctx, "adam partials", &[&d]);
        let mut want_g = to_f64(&g);
        if with_grads {
            for (e, w) in want_g.iter_mut().enumerate() {
                *w = sum_column(&table, row_len, count, GRAD_COLUMN + e);
            }
        }
        let (mut t64, mut m64, mut v64) = (to_f64(&theta), vec![0.0; len], vec![0.0; len]);
        adam::step_cpu(&mut t64, &want_g, &mut m64, &mut v64, 0.01, 1);
        let what = format!("gradients from partials: {with_grads}");
        assert_close(&what, &tb.read_blocking(ctx).unwrap(), &t64, 1e-5, 1e-7);
        assert_close(&what, &gb.read_blocking(ctx).unwrap(), &want_g, 1e-5, 1e-7);
        let l = losses.read_blocking(ctx).unwrap();
        let want_loss = sum_column(&table, row_len, count, LOSS_COLUMN);
        assert_close(&format!("{what}: loss"), &l[2..3], &[want_loss], 1e-5, 1e-7);
        assert!(
            [0, 1, 3].iter().all(|&i| l[i].to_bits() == u32::MAX),
            "wrote outside its slot"
        );
    }
}
