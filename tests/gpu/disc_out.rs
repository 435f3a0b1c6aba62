use argva::gpu::{GpuBuffer, GpuError, submit};
use argva::kernels::disc_out::{self, Labels, ParamGrads};
use argva::testing::{assert_close, assert_grad, rng, to_f64, uniform_f32};

use crate::ctx;

/// GPU outputs: (loss slot, da2, dw3, db3).
struct Got {
    loss: f32,
    da2: Vec<f32>,
    dw3: Vec<f32>,
    db3: f32,
}

fn rows(labels: Labels) -> usize {
    match labels {
        Labels::Disc { n } => 2 * n,
        Labels::Reg { n } => n,
    }
}

/// Post-ReLU activations: about half exact zeros.
fn activations(seed: u64, len: usize) -> Vec<f32> {
    uniform_f32(&mut rng(seed), len, -1.0, 1.0)
        .into_iter()
        .map(|v| v.max(0.0))
        .collect()
}

/// Runs the kernel with every output poisoned; the loss goes to slot 2 of 4.
fn run(labels: Labels, a2: &[f32], w3: &[f32], b3: f32, grads: bool) -> Got {
    let ctx = ctx();
    let dh = w3.len();
    let a2b = GpuBuffer::from_slice(ctx, "a2", a2).unwrap();
    let w3b = GpuBuffer::from_slice(ctx, "w3", w3).unwrap();
    let b3b = GpuBuffer::from_slice(ctx, "b3", &[b3]).unwrap();
    let da2 = GpuBuffer::<f32>::zeros(ctx, "da2", a2.len()).unwrap();
    let dw3 = GpuBuffer::<f32>::zeros(ctx, "dw3", dh).unwrap();
    let db3 = GpuBuffer::<f32>::zeros(ctx, "db3", 1).unwrap();
    let losses = GpuBuffer::<f32>::zeros(ctx, "losses", 4).unwrap();
    for b in [&da2, &dw3, &db3, &losses] {
        b.poison(ctx);
    }
    let d = disc_out::bind(
        ctx,
        labels,
        (&a2b).into(),
        (&w3b).into(),
        (&b3b).into(),
        (&da2).into(),
        grads.then(|| ParamGrads {
            dw3: (&dw3).into(),
            db3: (&db3).into(),
        }),
        (&losses).into(),
        2,
        dh,
    )
    .unwrap();
    submit(ctx, "disc_out", &[&d]);
    let l = losses.read_blocking(ctx).unwrap();
    assert!(
        [0, 1, 3].iter().all(|&i| l[i].to_bits() == u32::MAX),
        "wrote outside its slot: {l:?}"
    );
    Got {
        loss: l[2],
        da2: da2.read_blocking(ctx).unwrap(),
        dw3: dw3.read_blocking(ctx).unwrap(),
        db3: db3.read_blocking(ctx).unwrap()[0],
    }
}

/// Odd batch sizes around the 256-row chunk and hidden widths around the slice layout
/// (dh + 1 dividing 256 or not, and wider than the workgroup).
#[test]
fn matches_cpu_for_both_label_sets() {
    let mut seed = 40;
    for n in [1, 3, 128, 129, 1000] {
        for dh in [1, 7, 64, 300] {
            for labels in [Labels::Disc { n }, Labels::Reg { n }] {
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
    let labels = Labels::Reg { n };
    let a2 = activations(7, n * dh);
    let w3 = uniform_f32(&mut rng(8), dh, -1.0, 1.0);
    let got = run(labels, &a2, &w3, -0.2, false);
    let want = disc_out::disc_out_cpu(labels, &to_f64(&a2), &to_f64(&w3), -0.2, dh);
    assert_close("loss", &[got.loss], &[want.loss], 1e-5, 1e-6);
    assert_close("da2", &got.da2, &want.da2, 1e-5, 1e-7);
    assert!(got.dw3.iter().all(|v| v.to_bits() == u32::MAX), "wrote dw3");
}

/// The twin's gradients are derivatives of its loss: with respect to the pre-activation x
/// (a2 = ReLU(x), so da2 carries ReLU′), w3 and b3; and the GPU agrees with them.
#[test]
fn gradients_are_derivatives_of_the_loss() {
    let (n, dh) = (5, 4);
    for labels in [Labels::Disc { n }, Labels::Reg { n }] {
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
    let labels = Labels::Disc { n };
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
    let losses = GpuBuffer::<f32>::zeros(ctx, "losses", 2).unwrap();
    let bind = |a2, da2, slot, dh| {
        disc_out::bind(
            ctx,
            Labels::Disc { n },
            a2,
            (&big).into(),
            (&big).into(),
            da2,
            None,
            (&losses).into(),
            slot,
            dh,
        )
    };
    let err = bind((&short).into(), (&big).into(), 0, dh).unwrap_err();
    assert!(err.to_string().contains("a2"), "{err}");
    let err = bind((&big).into(), (&short).into(), 0, dh).unwrap_err();
    assert!(err.to_string().contains("da2"), "{err}");
    let err = bind((&big).into(), (&big).into(), 2, dh).unwrap_err();
    assert!(err.to_string().contains("slot 2"), "{err}");
    let err = bind((&big).into(), (&big).into(), 0, disc_out::MAX_HIDDEN + 1).unwrap_err();
    assert!(matches!(err, GpuError::Validation { .. }), "{err}");
}
