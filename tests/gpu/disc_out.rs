use argva::gpu::{GpuBuffer, GpuError, submit};
use argva::kernels::disc_out::{self, Labels, Partials};
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};

use crate::ctx;

/// GPU outputs: (loss slot, da2, dw3, db3).
struct Got {
    loss: f32,
    da2: Vec<f32>,
    dw3: Vec<f32>,
    db3: f32,
}

/// The discriminator's batch: n fake rows, then n real.
fn disc(n: usize) -> Labels {
    Labels {
        rows: 2 * n,
        fake: n,
        n,
    }
}

/// The regulariser's batch: n rows, all labelled real.
fn reg(n: usize) -> Labels {
    Labels {
        rows: n,
        fake: 0,
        n,
    }
}

fn rows(labels: Labels) -> usize {
    labels.rows()
}

/// Post-ReLU activations: about half exact zeros.
fn activations(seed: u64, len: usize) -> Vec<f32> {
    uniform_f32(&mut rng(seed), len, -1.0, 1.0)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect()
}

/// Runs the kernel with every output poisoned, writing partials rows 3.. of a table with
/// room to spare, and totals the partial sums on the host (in the GPU optimizer's order).
fn run(labels: Labels, a2: &[f32], w3: &[f32], b3: f32, grads: bool) -> Got {
    let ctx = ctx();
    let dh = w3.len();
    let groups = disc_out::workgroups(rows(labels));
    let (base, stride) = (3, groups + 5);
    let a2b = GpuBuffer::from_slice(ctx, "a2", a2).unwrap();
    let w3b = GpuBuffer::from_slice(ctx, "w3", w3).unwrap();
    let b3b = GpuBuffer::from_slice(ctx, "b3", &[b3]).unwrap();
    let da2 = GpuBuffer::<f32>::zeros(ctx, "da2", a2.len()).unwrap();
    let table = GpuBuffer::<f32>::zeros(ctx, "partials", (dh + 2) * stride).unwrap();
    for b in [&da2, &table] {
        b.poison(ctx);
    }
    let d = disc_out::bind(
        ctx,
        labels,
        (&a2b).into(),
        (&w3b).into(),
        (&b3b).into(),
        (&da2).into(),
        Partials {
            table: (&table).into(),
            base,
            stride,
        },
        grads,
        dh,
    )
    .unwrap();
    submit(ctx, "disc_out", &[&d]);
    let t = table.read_blocking(ctx).unwrap();
    // Only rows base..base + groups of the columns it owns were written.
    let columns = if grads { dh + 2 } else { 1 };
    for (i, v) in t.iter().enumerate() {
        let (c, w) = (i / stride, i % stride);
        let written = c < columns && (base..base + groups).contains(&w);
        assert_eq!(
            v.to_bits() != u32::MAX,
            written,
            "partials column {c} row {w}"
        );
    }
    let total = |c: usize| disc_out::sum_column(&t[base..], stride, groups, c) as f32;
    Got {
        loss: total(disc_out::LOSS_COLUMN),
        da2: da2.read_blocking(ctx).unwrap(),
        dw3: if grads {
            (0..dh).map(|j| total(disc_out::DW3_COLUMN + j)).collect()
        } else {
            Vec::new()
        },
        db3: if grads {
            total(disc_out::DB3_COLUMN)
        } else {
            0.0
        },
    }
}

/// Odd batch sizes around the 256-row chunk and hidden widths around the slice layout
/// (dh + 1 dividing 256 or not, and wider than the workgroup).
#[test]
fn matches_cpu_for_both_label_sets() {
    let mut seed = 40;
    for n in [1, 3, 128, 129, 1000] {
        for dh in [1, 7, 64, 300] {
            for labels in [disc(n), reg(n)] {
                seed += 1;
                let a2 = activations(seed, rows(labels) * dh);
                let w3 = uniform_f32(&mut rng(seed + 1000), dh, -1.0, 1.0);
                let b3 = 0.3;
                let got = run(labels, &a2, &w3, b3, true);
                let want =
                    disc_out::disc_out_cpu(labels, &to_f64(&a2), &to_f64(&w3), b3 as f64, dh);
                let what = format!("{labels:?} dh={dh}");
                // Sums of ≤ 2n terms of size ≤ 1/n each (loss, grads) and dh-term dot products.
                let tol = 1e-5 * (dh as f64).sqrt().max(1.0);
                assert_close(&format!("{what} loss"), &[got.loss], &[want.loss], tol, tol);
                assert_close(&format!("{what} da2"), &got.da2, &want.da2, tol, 1e-7);
                assert_close(&format!("{what} dw3"), &got.dw3, &want.dw3, tol, 1e-6);
                assert_close(&format!("{what} db3"), &[got.db3], &[want.db3], tol, 1e-6);
            }
        }
    }
}

/// Without parameter gradients the kernel still writes the loss and da2.
#[test]
fn without_param_grads_writes_loss_and_da2() {
    let (n, dh) = (37, 16);
    let labels = reg(n);
    let a2 = activations(7, n * dh);
    let w3 = uniform_f32(&mut rng(8), dh, -1.0, 1.0);
    let got = run(labels, &a2, &w3, -0.2, false);
    let want = disc_out::disc_out_cpu(labels, &to_f64(&a2), &to_f64(&w3), -0.2, dh);
    assert_close("loss", &[got.loss], &[want.loss], 1e-5, 1e-6);
    assert_close("da2", &got.da2, &want.da2, 1e-5, 1e-7);
    assert!(got.dw3.is_empty());
}

/// The twin's gradients are derivatives of its loss: with respect to the pre-activation x
/// (a2 = ReLU(x), so da2 carries ReLU′), w3 and b3; and the GPU agrees with them.
#[test]
fn gradients_are_derivatives_of_the_loss() {
    let (n, dh) = (5, 4);
    for labels in [disc(n), reg(n)] {
        let x = to_f64(&uniform_f32(&mut rng(9), rows(labels) * dh, -1.0, 1.0));
        let a2: Vec<f64> = x.iter().map(|v| v.max(0.0)).collect();
        let w3 = to_f64(&uniform_f32(&mut rng(10), dh, -1.0, 1.0));
        let b3 = 0.05;
        let loss = |x: &[f64], w3: &[f64], b3: f64| {
            let a: Vec<f64> = x.iter().map(|v| v.max(0.0)).collect();
            disc_out::disc_out_cpu(labels, &a, w3, b3, dh).loss
        };
        let got = run(
            labels,
            &a2.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            &w3.iter().map(|&v| v as f32).collect::<Vec<_>>(),
            b3 as f32,
            true,
        );
        let what = format!("{labels:?}");
        assert_grad(
            &format!("{what} da2"),
            |x| loss(x, &w3, b3),
            &x,
            &to_f64(&got.da2),
            1e-4,
        );
        assert_grad(
            &format!("{what} dw3"),
            |w| loss(&x, w, b3),
            &w3,
            &to_f64(&got.dw3),
            1e-4,
        );
        assert_grad(
            &format!("{what} db3"),
            |b| loss(&x, &w3, b[0]),
            &[b3],
            &[got.db3 as f64],
            1e-4,
        );
    }
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let (n, dh) = (700, 64);
    let labels = disc(n);
    let a2 = activations(11, 2 * n * dh);
    let w3 = uniform_f32(&mut rng(12), dh, -1.0, 1.0);
    let (x, y) = (
        run(labels, &a2, &w3, 0.1, true),
        run(labels, &a2, &w3, 0.1, true),
    );
    assert_eq!(x.loss.to_bits(), y.loss.to_bits());
    assert_eq!(x.db3.to_bits(), y.db3.to_bits());
    assert_eq!(x.dw3, y.dw3);
    assert_eq!(x.da2, y.da2);
}

#[test]
fn bad_sizes_are_typed_errors() {
    let ctx = ctx();
    let (n, dh) = (4, 3);
    let big = GpuBuffer::<f32>::zeros(ctx, "big", 2 * n * dh).unwrap();
    let short = GpuBuffer::<f32>::zeros(ctx, "short", 2 * n * dh - 1).unwrap();
    let table = GpuBuffer::<f32>::zeros(ctx, "partials", (dh + 2) * 2).unwrap();
    let bind = |a2, da2, base, stride| {
        disc_out::bind(
            ctx,
            disc(n),
            a2,
            (&big).into(),
            (&big).into(),
            da2,
            Partials {
                table: (&table).into(),
                base,
                stride,
            },
            true,
            dh,
        )
    };
    let err = bind((&short).into(), (&big).into(), 0, 2).unwrap_err();
    assert!(err.to_string().contains("a2"), "{err}");
    let err = bind((&big).into(), (&short).into(), 0, 2).unwrap_err();
    assert!(err.to_string().contains("da2"), "{err}");
    // 8 rows are one workgroup: row 2 of a 2-row table, then a table too short for stride 3.
    let err = bind((&big).into(), (&big).into(), 2, 2).unwrap_err();
    assert!(err.to_string().contains("partials"), "{err}");
    let err = bind((&big).into(), (&big).into(), 0, 3).unwrap_err();
    assert!(matches!(err, GpuError::SizeMismatch { .. }), "{err}");
    assert!(bind((&big).into(), (&big).into(), 1, 2).is_ok());
}

/// A discriminator batch run in row chunks (each bound at a byte offset, labelled by
/// row-chunk `Labels`, writing consecutive rows of one partials table) gives the loss and the
/// gradients of the whole batch: the engine's path for batches past one binding.
#[test]
fn row_chunks_fill_one_partials_table() {
    let ctx = ctx();
    for &(n, dh, chunk) in &[(192usize, 7usize, 64usize), (128, 64, 64), (320, 5, 128)] {
        let labels = disc(n);
        let a2 = activations(n as u64, 2 * n * dh);
        let w3 = uniform_f32(&mut rng(dh as u64), dh, -1.0, 1.0);
        let b3 = -0.1f32;
        let a2b = GpuBuffer::from_slice(ctx, "a2", &a2).unwrap();
        let w3b = GpuBuffer::from_slice(ctx, "w3", &w3).unwrap();
        let b3b = GpuBuffer::from_slice(ctx, "b3", &[b3]).unwrap();
        let da2 = GpuBuffer::<f32>::zeros(ctx, "da2", a2.len()).unwrap();
        let stride = 2 * disc_out::workgroups(n);
        let table = GpuBuffer::<f32>::zeros(ctx, "partials", (dh + 2) * stride).unwrap();
        da2.poison(ctx);
        let mut launches = Vec::new();
        let mut base = 0;
        for r0 in (0..2 * n).step_by(chunk) {
            // (with n = 320 and chunks of 128, one chunk holds fake and real rows)
            let rows = chunk.min(2 * n - r0);
            let fake = rows.min(n.saturating_sub(r0));
            launches.push(
                disc_out::bind(
                    ctx,
                    Labels { rows, fake, n },
                    a2b.range(r0 * dh, rows * dh),
                    (&w3b).into(),
                    (&b3b).into(),
                    da2.range(r0 * dh, rows * dh),
                    Partials {
                        table: (&table).into(),
                        base,
                        stride,
                    },
                    true,
                    dh,
                )
                .unwrap(),
            );
            base += disc_out::workgroups(rows);
        }
        assert!(launches.len() > 2);
        submit(ctx, "disc_out chunks", &launches.iter().collect::<Vec<_>>());
        let t = table.read_blocking(ctx).unwrap();
        let total = |c: usize| disc_out::sum_column(&t, stride, base, c);
        let want = disc_out::disc_out_cpu(labels, &to_f64(&a2), &to_f64(&w3), b3 as f64, dh);
        let what = format!("n={n} dh={dh} chunks of {chunk}");
        let tol = 1e-5 * (dh as f64).sqrt();
        let got_dw3: Vec<f32> = (0..dh)
            .map(|j| total(disc_out::DW3_COLUMN + j) as f32)
            .collect();
        let loss = total(disc_out::LOSS_COLUMN) as f32;
        let db3 = total(disc_out::DB3_COLUMN) as f32;
        assert_close(&format!("{what} loss"), &[loss], &[want.loss], tol, tol);
        assert_close(
            &format!("{what} da2"),
            &da2.read_blocking(ctx).unwrap(),
            &want.da2,
            tol,
            1e-7,
        );
        assert_close(&format!("{what} dw3"), &got_dw3, &want.dw3, tol, 1e-6);
        assert_close(&format!("{what} db3"), &[db3], &[want.db3], tol, 1e-6);
    }
}
