use argva::gpu::{GpuBuffer, GpuError, submit};
use argva::kernels::colsum;
use argva::testing::{assert_close, rng, to_f64, uniform_f32};

use crate::ctx;

/// (rows, cols): the engine's bias-gradient shapes (2N = 5416 rows, 1..64 columns), odd
/// sizes around the 64-lane workgroup, and empty dimensions.
const SHAPES: &[(usize, usize)] = &[
    (5416, 64),
    (5416, 1),
    (5416, 32),
    (7, 3),
    (3, 65),
    (0, 5),
    (5, 0),
];

#[test]
fn matches_cpu_with_and_without_accumulate() {
    let ctx = ctx();
    let mut r = rng(31);
    for &(rows, cols) in SHAPES {
        for accumulate in [false, true] {
            let m = uniform_f32(&mut r, rows * cols, -1.0, 1.0);
            let prev = uniform_f32(&mut r, cols, -1.0, 1.0);
            let mb = GpuBuffer::from_slice(ctx, "m", &m).unwrap();
            let out = GpuBuffer::<f32>::zeros(ctx, "out", cols).unwrap();
            if accumulate {
                out.write(ctx, &prev).unwrap();
            } else {
                out.poison(ctx);
            }
            let d = colsum::bind(ctx, (&mb).into(), (&out).into(), rows, cols, accumulate).unwrap();
            submit(ctx, "colsum", &[&d]);
            let prev64 = to_f64(&prev);
            let want =
                colsum::colsum_cpu(&to_f64(&m), rows, cols, accumulate.then_some(&prev64[..]));
            // Sequential f32 sum of `rows` terms in [-1, 1]: worst case rows²·ε/2; typical √rows.
            assert_close(
                &format!("colsum {rows}×{cols} acc={accumulate}"),
                &out.read_blocking(ctx).unwrap(),
                &want,
                1e-5,
                2e-6 * rows.max(1) as f64,
            );
        }
    }
}

#[test]
fn range_inside_larger_buffer_and_bit_reproducible() {
    let ctx = ctx();
    // 256 bytes: a multiple of every device's storage offset alignment.
    let align = 64;
    let (rows, cols) = (1001, 37);
    let m = uniform_f32(&mut rng(32), rows * cols, -1.0, 1.0);
    let mut big = vec![9.0f32; align + rows * cols + 3];
    big[align..][..rows * cols].copy_from_slice(&m);
    let mb = GpuBuffer::from_slice(ctx, "m", &big).unwrap();
    let run = || {
        let out = GpuBuffer::from_slice(ctx, "out", &vec![5.0f32; align + cols + align]).unwrap();
        let d = colsum::bind(
            ctx,
            mb.range(align, rows * cols),
            out.range(align, cols),
            rows,
            cols,
            false,
        )
        .unwrap();
        submit(ctx, "colsum", &[&d]);
        out.read_blocking(ctx).unwrap()
    };
    let got = run();
    assert_close(
        "colsum range",
        &got[align..][..cols],
        &colsum::colsum_cpu(&to_f64(&m), rows, cols, None),
        1e-5,
        2e-6 * rows as f64,
    );
    assert!(
        got[..align]
            .iter()
            .chain(&got[align + cols..])
            .all(|&v| v == 5.0)
    );
    let again = run();
    assert!(
        got.iter()
            .zip(&again)
            .all(|(p, q)| p.to_bits() == q.to_bits())
    );
}

#[test]
fn short_bindings_are_typed_errors() {
    let ctx = ctx();
    let m = GpuBuffer::<f32>::zeros(ctx, "m", 20).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", 4).unwrap();
    let err = colsum::bind(ctx, (&m).into(), (&out).into(), 7, 3, false).unwrap_err();
    assert!(
        matches!(
            err,
            GpuError::SizeMismatch {
                expected: 21,
                got: 20,
                ..
            }
        ),
        "{err}"
    );
    let err = colsum::bind(ctx, (&m).into(), (&out).into(), 4, 5, false).unwrap_err();
    assert!(
        matches!(
            err,
            GpuError::SizeMismatch {
                expected: 5,
                got: 4,
                ..
            }
        ),
        "{err}"
    );
}

/// More column groups than one grid dimension holds: the grid folds into 2-D.
#[test]
fn grid_folds_into_two_dimensions() {
    let ctx = ctx();
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let (rows, cols) = (2, max * colsum::MAX_COLS_PER_WORKGROUP + 5);
    let m = uniform_f32(&mut rng(33), rows * cols, -1.0, 1.0);
    let mb = GpuBuffer::from_slice(ctx, "m", &m).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", cols).unwrap();
    out.poison(ctx);
    let d = colsum::bind(ctx, (&mb).into(), (&out).into(), rows, cols, false).unwrap();
    assert!(d.workgroups[1] > 1, "grid {:?} did not fold", d.workgroups);
    submit(ctx, "colsum folded", &[&d]);
    assert_close(
        "colsum folded",
        &out.read_blocking(ctx).unwrap(),
        &colsum::colsum_cpu(&to_f64(&m), rows, cols, None),
        1e-6,
        1e-6,
    );
}
