use argva::gpu::{GpuBuffer, submit};
use argva::kernels::reduce;
use argva::testing::{rng, to_f64, uniform_f32};

use crate::ctx;

// Around the lane count (256), and one large enough to loop many times per lane.
const SIZES: &[usize] = &[0, 1, 255, 256, 257, 1000, 100_003];
const SLOT: usize = 2;

/// Runs one reduction of `x[..len]` into slot 2 of a 4-slot `out` that starts as `init`.
fn run(x: &GpuBuffer<f32>, len: usize, init: [f32; 4], scale: f32, accumulate: bool) -> Vec<f32> {
    let ctx = ctx();
    let out = GpuBuffer::from_slice(ctx, "out", &init).unwrap();
    let d = reduce::bind(ctx, x.into(), len, (&out).into(), SLOT, scale, accumulate).unwrap();
    submit(ctx, "reduce", &[&d]);
    out.read_blocking(ctx).unwrap()
}

/// |gpu − cpu| ≤ 1e-6·Σ|x|·scale (+ a little): f32 sums in a fixed 256-way tree.
fn check(what: &str, got: f32, want: f64, x: &[f64], scale: f64) {
    let bound = 1e-6 * scale.abs() * x.iter().map(|v| v.abs()).sum::<f64>() + 1e-7;
    assert!(
        (got as f64 - want).abs() <= bound,
        "{what}: gpu {got} vs cpu {want} (bound {bound:e})"
    );
}

#[test]
fn sum_matches_cpu_and_leaves_other_slots_alone() {
    let ctx = ctx();
    let poison = f32::from_bits(u32::MAX);
    for (i, &len) in SIZES.iter().enumerate() {
        // A longer buffer than len: the reduction must stop at len.
        let x = uniform_f32(&mut rng(i as u64), len + 5, -1.0, 1.0);
        let xb = GpuBuffer::from_slice(ctx, "x", &x).unwrap();
        let x64 = to_f64(&x[..len]);
        let got = run(&xb, len, [poison; 4], 0.37, false);
        check("reduce", got[SLOT], reduce::sum_cpu(&x64, 0.37), &x64, 0.37);
        for s in [0, 1, 3] {
            assert_eq!(got[s].to_bits(), u32::MAX, "slot {s} was written");
        }
        let got = run(&xb, len, [0.0, 0.0, 1.5, 0.0], -2.0, true);
        check(
            "reduce +=",
            got[SLOT],
            1.5 + reduce::sum_cpu(&x64, -2.0),
            &x64,
            2.0,
        );
    }
}

#[test]
fn sums_a_range_inside_a_larger_buffer() {
    let ctx = ctx();
    let x = uniform_f32(&mut rng(7), 2000, -1.0, 1.0);
    let xb = GpuBuffer::from_slice(ctx, "x", &x).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", 4).unwrap();
    out.poison(ctx);
    // Elements 256..1256 (1 KiB offset: meets the 256-byte alignment).
    let d = reduce::bind(
        ctx,
        xb.range(256, 1000),
        1000,
        (&out).into(),
        SLOT,
        1.0,
        false,
    )
    .unwrap();
    submit(ctx, "reduce", &[&d]);
    let x64 = to_f64(&x[256..1256]);
    check(
        "reduce range",
        out.read_blocking(ctx).unwrap()[SLOT],
        reduce::sum_cpu(&x64, 1.0),
        &x64,
        1.0,
    );
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let ctx = ctx();
    let x = uniform_f32(&mut rng(8), 300_001, -1.0, 1.0);
    let xb = GpuBuffer::from_slice(ctx, "x", &x).unwrap();
    let a = run(&xb, x.len(), [0.0; 4], 1.0, false);
    let b = run(&xb, x.len(), [0.0; 4], 1.0, false);
    assert_eq!(a[SLOT].to_bits(), b[SLOT].to_bits());
}

#[test]
fn bad_sizes_are_typed_errors() {
    let ctx = ctx();
    let x = GpuBuffer::<f32>::zeros(ctx, "x", 10).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", 2).unwrap();
    let err = reduce::bind(ctx, (&x).into(), 11, (&out).into(), 0, 1.0, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`x`") && err.contains("expected 11"), "{err}");
    let err = reduce::bind(ctx, (&x).into(), 10, (&out).into(), 2, 1.0, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("slot 2") && err.contains("got 2"), "{err}");
}

/// Two sums in one launch (the engine's reconstruction and KL losses): each slot gets what a
/// single reduction gives, bit for bit, and the other slots are left alone.
#[test]
fn a_pair_of_sums_matches_two_single_sums() {
    let ctx = ctx();
    for (i, &(len1, len2)) in [(0, 5), (257, 1000), (100_003, 255), (1, 0)]
        .iter()
        .enumerate()
    {
        let x1 = uniform_f32(&mut rng(50 + i as u64), len1 + 3, -1.0, 1.0);
        let x2 = uniform_f32(&mut rng(60 + i as u64), len2 + 3, -1.0, 1.0);
        let (b1, b2) = (
            GpuBuffer::from_slice(ctx, "x1", &x1).unwrap(),
            GpuBuffer::from_slice(ctx, "x2", &x2).unwrap(),
        );
        let out = GpuBuffer::<f32>::zeros(ctx, "out", 4).unwrap();
        out.poison(ctx);
        let first = reduce::Sum {
            x: (&b1).into(),
            len: len1,
            slot: 1,
            scale: 1.0,
        };
        let second = reduce::Sum {
            x: (&b2).into(),
            len: len2,
            slot: 3,
            scale: 0.25,
        };
        let d = reduce::bind_pair(ctx, first, second, (&out).into()).unwrap();
        submit(ctx, "reduce pair", &[&d]);
        let got = out.read_blocking(ctx).unwrap();
        for s in [0, 2] {
            assert_eq!(got[s].to_bits(), u32::MAX, "slot {s} was written");
        }
        let single1 = run(&b1, len1, [0.0; 4], 1.0, false)[SLOT];
        let single2 = run(&b2, len2, [0.0; 4], 0.25, false)[SLOT];
        assert_eq!(got[1].to_bits(), single1.to_bits(), "first sum");
        assert_eq!(got[3].to_bits(), single2.to_bits(), "second sum");
        let (x1, x2) = (to_f64(&x1[..len1]), to_f64(&x2[..len2]));
        check("pair first", got[1], reduce::sum_cpu(&x1, 1.0), &x1, 1.0);
        check("pair second", got[3], reduce::sum_cpu(&x2, 0.25), &x2, 0.25);
    }
    // Each input's size is checked.
    let short = GpuBuffer::<f32>::zeros(ctx, "short", 3).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", 4).unwrap();
    let ok = reduce::Sum {
        x: (&short).into(),
        len: 3,
        slot: 0,
        scale: 1.0,
    };
    let long = reduce::Sum { len: 4, ..ok };
    let err = reduce::bind_pair(ctx, ok, long, (&out).into()).unwrap_err();
    assert!(err.to_string().contains("x2"), "{err}");
    let far = reduce::Sum { slot: 4, ..ok };
    let err = reduce::bind_pair(ctx, ok, far, (&out).into()).unwrap_err();
    assert!(err.to_string().contains("slot 4"), "{err}");
}
