//! One-off throughput of the product kernels at the engine's shapes (Cora: N = 2708,
//! 2N = 5416 rows). Ignored by default; timings are printed, never asserted:
//! `WGPU_BACKEND=vulkan cargo test --test gpu kernel_timing -- --ignored --nocapture`.

use std::time::Instant;

use argva::gpu::{Dispatch, GpuBuffer, submit};
use argva::kernels::matmul::{self, Form};
use argva::kernels::spmm::{self, CsrBuffers};
use argva::kernels::{Epilogue, colsum};
use argva::testing::{rng, uniform_f32};
use rand::RngExt;

use crate::ctx;

/// Mean seconds per dispatch over `reps` dispatches recorded in one pass (after a warm-up).
fn time(d: &Dispatch, reps: usize) -> f64 {
    let ctx = ctx();
    submit(ctx, "warm-up", &[d]);
    ctx.wait_idle().unwrap();
    let list: Vec<&Dispatch> = std::iter::repeat_n(d, reps).collect();
    let t = Instant::now();
    submit(ctx, "timing", &list);
    ctx.wait_idle().unwrap();
    t.elapsed().as_secs_f64() / reps as f64
}

fn report(what: &str, flops: f64, secs: f64) {
    println!(
        "{what:<40} {:>8.1} µs  {:>6.2} GFLOP/s",
        secs * 1e6,
        flops / secs / 1e9
    );
}

#[test]
#[ignore = "timing, run by hand"]
fn kernel_throughput() {
    let ctx = ctx();
    println!("adapter: {}", ctx.summary.name);
    let mut r = rng(99);
    let buf = |n: usize, r: &mut _| {
        GpuBuffer::from_slice(ctx, "x", &uniform_f32(r, n, -1.0, 1.0)).unwrap()
    };
    let none = Epilogue::default();

    for &(form, m, n, k, name) in &[
        (Form::NN, 5416, 64, 64, "NN 5416×64·64×64"),
        (Form::NT, 5416, 64, 64, "NT 5416×64·(64×64)ᵀ"),
        (Form::NT, 5416, 64, 32, "NT 5416×32·(64×32)ᵀ +bias relu"),
        (Form::NT, 5416, 1, 64, "NT 5416×64·(1×64)ᵀ n=1"),
        (Form::TN, 64, 64, 5416, "TN (5416×64)ᵀ·5416×64"),
        (Form::TN, 1, 64, 5416, "TN (5416×1)ᵀ·5416×64"),
        (Form::TN, 64, 32, 5416, "TN (5416×64)ᵀ·5416×32"),
        (Form::NN, 2708, 32, 64, "NN 2708×64·64×32"),
    ] {
        let (a, b, out, bias) = (
            buf(m * k, &mut r),
            buf(k * n, &mut r),
            buf(m * n, &mut r),
            buf(n, &mut r),
        );
        let epi = Epilogue {
            bias: Some((&bias).into()),
            relu: name.contains("relu"),
            accumulate: false,
            mask: None,
        };
        let d = matmul::bind(
            ctx,
            form,
            (&a).into(),
            (&b).into(),
            (&out).into(),
            m,
            n,
            k,
            epi,
        )
        .unwrap();
        report(name, 2.0 * (m * n * k) as f64, time(&d, 20));
    }

    // Sparse: a random graph-like operator (N = 2708, ~13k nnz) and Cora-like features.
    for &(rows, cols, per_row, c, name) in &[
        (
            2708usize,
            2708usize,
            5usize,
            64usize,
            "spmm Â·H 2708² (~13.5k nnz), c=64",
        ),
        (2708, 1433, 18, 64, "spmm X·W 2708×1433 (1.3 %), c=64"),
        (1433, 2708, 34, 64, "spmm Xᵀ·G 1433×2708, c=64"),
        (2708, 2708, 5, 32, "spmm Â·H c=32"),
    ] {
        let mut row_ptr = vec![0u32];
        let mut col = Vec::new();
        for _ in 0..rows {
            let mut cs: Vec<u32> = (0..per_row)
                .map(|_| r.random_range(0..cols as u32))
                .collect();
            cs.sort_unstable();
            cs.dedup();
            col.extend(cs);
            row_ptr.push(col.len() as u32);
        }
        let val = uniform_f32(&mut r, col.len(), 0.1, 1.0);
        let a = CsrBuffers::upload(ctx, "a", &row_ptr, &col, &val, cols).unwrap();
        let (b, out) = (buf(cols * c, &mut r), buf(rows * c, &mut r));
        let d = spmm::bind(ctx, &a, (&b).into(), (&out).into(), c, none).unwrap();
        report(name, 2.0 * (a.nnz * c) as f64, time(&d, 20));
    }

    for &cols in &[64usize, 1] {
        let (m, out) = (buf(5416 * cols, &mut r), buf(cols, &mut r));
        let d = colsum::bind(ctx, (&m).into(), (&out).into(), 5416, cols, false).unwrap();
        report(
            &format!("colsum 5416×{cols}"),
            (5416 * cols) as f64,
            time(&d, 20),
        );
    }
}
