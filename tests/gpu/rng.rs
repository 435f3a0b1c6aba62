use argva::gpu::{Arg, GpuBuffer, submit};
use argva::kernels::rng;
use argva::testing::assert_close;

use crate::ctx;

const SEED: u64 = 0x1234_5678_9abc_def0;
// Straddle the workgroup size (256) and include empty.
const SIZES: &[usize] = &[0, 1, 255, 257, 1000];
// An offset inside the binding, as the engine uses for a draw that starts mid-buffer.
const OFFSET: usize = 37;

fn clock(epoch: u32) -> GpuBuffer<u32> {
    GpuBuffer::from_slice(ctx(), "clock", &[epoch, 0, 0, 0]).unwrap()
}

/// Runs a normal draw into a poisoned buffer of OFFSET + len; returns the whole buffer.
fn draw(clock: &GpuBuffer<u32>, len: usize, seed: u64, stream: u32) -> Vec<f32> {
    let ctx = ctx();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", OFFSET + len).unwrap();
    out.poison(ctx);
    let d = rng::bind(ctx, clock, (&out).into(), OFFSET, len, seed, stream).unwrap();
    submit(ctx, "rng", &[&d]);
    out.read_blocking(ctx).unwrap()
}

#[test]
fn philox_bits_match_cpu_exactly() {
    let ctx = ctx();
    for &len in SIZES {
        for (epoch, stream) in [(0, 0), (5, 3), (u32::MAX, u32::MAX)] {
            let c = clock(epoch);
            let out = GpuBuffer::<f32>::zeros(ctx, "out", OFFSET + len).unwrap();
            out.poison(ctx);
            let d = rng::bind_bits(ctx, &c, (&out).into(), OFFSET, len, SEED, stream).unwrap();
            submit(ctx, "rng bits", &[&d]);
            let got: Vec<u32> = out
                .read_blocking(ctx)
                .unwrap()
                .iter()
                .map(|v| v.to_bits())
                .collect();
            assert!(
                got[..OFFSET].iter().all(|&b| b == u32::MAX),
                "wrote before the offset"
            );
            assert_eq!(got[OFFSET..], rng::bits_cpu(SEED, epoch, stream, len)[..]);
        }
    }
}

#[test]
fn normals_match_cpu_twin() {
    for &len in SIZES {
        let got = draw(&clock(3), len, SEED, 1);
        assert!(got[..OFFSET].iter().all(|v| v.to_bits() == u32::MAX));
        // The integer bits are identical; what remains is f32 log/sqrt/cos rounding.
        assert_close(
            "rng normal",
            &got[OFFSET..],
            &rng::normal_cpu(SEED, 3, 1, len),
            1e-5,
            1e-5,
        );
    }
}

/// Every backend draws the same samples to f32 rounding: ln and cos are the shader's own
/// polynomials, not the builtins (WGSL lets `cos` err by 2⁻¹¹: Chromium's SwiftShader drew
/// samples 8.7e-4 apart from this twin, 82 % of them over 1e-5). The browser suite runs the
/// same comparison under Tint (`tests/web/run.mjs`, `check_draws`).
#[test]
fn normals_are_the_twins_to_f32_rounding() {
    const LEN: usize = 1 << 16;
    let got = draw(&clock(3), LEN, SEED, 1);
    let want = rng::normal_cpu(SEED, 3, 1, LEN);
    let err = rng::draw_error(&got[OFFSET..], &want);
    println!("worst |GPU − twin| over {LEN} normals: {:.2e}", err.worst);
    assert!(err.worst < 2e-6, "{err:?}");
    assert_eq!(err.over_1e5, 0, "{err:?}");
}

#[test]
fn epoch_is_read_from_the_clock_at_run_time() {
    let ctx = ctx();
    let len = 300;
    let c = clock(0);
    let out = GpuBuffer::<f32>::zeros(ctx, "out", len).unwrap();
    // One dispatch, recorded once, reused across epochs: only the clock changes.
    let d = rng::bind(ctx, &c, (&out).into(), 0, len, SEED, 2).unwrap();
    for epoch in [0u32, 1, 17] {
        c.write(ctx, &[epoch, 0, 0, 0]).unwrap();
        out.poison(ctx);
        submit(ctx, "rng", &[&d]);
        let got = out.read_blocking(ctx).unwrap();
        assert_close(
            "rng by epoch",
            &got,
            &rng::normal_cpu(SEED, epoch, 2, len),
            1e-5,
            1e-5,
        );
    }
}

#[test]
fn samples_look_standard_normal() {
    let n = 200_000;
    let x: Vec<f64> = draw(&clock(1), n, 42, 0)[OFFSET..]
        .iter()
        .map(|&v| v as f64)
        .collect();
    let mean = x.iter().sum::<f64>() / n as f64;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let within1 = x.iter().filter(|v| v.abs() < 1.0).count() as f64 / n as f64;
    let kurt = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n as f64 / (var * var);
    // Standard errors at n = 2·10⁵: mean 0.0022, variance 0.0032, P(|x|<1) 0.001, kurtosis 0.011.
    assert!(mean.abs() < 0.011, "mean {mean}");
    assert!((var - 1.0).abs() < 0.016, "variance {var}");
    assert!(
        (within1 - 0.682_689).abs() < 0.005,
        "P(|x| < 1) = {within1}"
    );
    assert!((kurt - 3.0).abs() < 0.06, "kurtosis {kurt}");
    assert!(x.iter().all(|v| v.is_finite()));
}

#[test]
fn seed_stream_and_epoch_each_change_every_sample() {
    let len = 1000;
    let base = draw(&clock(4), len, SEED, 0);
    for (what, other) in [
        ("seed", draw(&clock(4), len, SEED + 1, 0)),
        ("stream", draw(&clock(4), len, SEED, 1)),
        ("epoch", draw(&clock(5), len, SEED, 0)),
        // High seed bits are part of the key too.
        ("seed high bits", draw(&clock(4), len, SEED ^ (1 << 40), 0)),
    ] {
        let same = base[OFFSET..]
            .iter()
            .zip(&other[OFFSET..])
            .filter(|(a, b)| a == b)
            .count();
        assert_eq!(same, 0, "changing the {what} left {same} samples equal");
    }
}

#[test]
fn same_inputs_give_bit_identical_outputs() {
    let c = clock(9);
    let (a, b) = (draw(&c, 4097, SEED, 7), draw(&c, 4097, SEED, 7));
    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
}

#[test]
fn bad_sizes_are_typed_errors() {
    let ctx = ctx();
    let c = clock(0);
    let out = GpuBuffer::<f32>::zeros(ctx, "out", 100).unwrap();
    let err = rng::bind(ctx, &c, (&out).into(), 10, 91, 1, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected 101") && err.contains("got 100"),
        "{err}"
    );
    let empty = GpuBuffer::<u32>::zeros(ctx, "clock", 0).unwrap();
    let err = rng::bind(ctx, &empty, (&out).into(), 0, 10, 1, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("clock"), "{err}");
}

/// One launch of K streams writes exactly what K single-stream draws write (the engine draws
/// every discriminator step's z′ this way), with nothing before the offset touched.
#[test]
fn several_streams_in_one_launch_match_single_draws() {
    let ctx = ctx();
    let c = clock(7);
    for (stream_len, streams) in [(1, 1), (257, 3), (1000, 5), (0, 4), (12, 0)] {
        let len = stream_len * streams;
        let out = GpuBuffer::<f32>::zeros(ctx, "out", OFFSET + len).unwrap();
        out.poison(ctx);
        let d = rng::bind_streams(
            ctx,
            &c,
            None,
            (&out).into(),
            OFFSET,
            stream_len,
            streams,
            SEED,
            2,
        )
        .unwrap();
        submit(ctx, "rng streams", &[&d]);
        let got = out.read_blocking(ctx).unwrap();
        assert!(got[..OFFSET].iter().all(|v| v.to_bits() == u32::MAX));
        for i in 0..streams {
            let one = draw(&c, stream_len, SEED, 2 + i as u32);
            assert_eq!(
                got[OFFSET + i * stream_len..][..stream_len]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                one[OFFSET..]
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>(),
                "stream {i} of {streams} × {stream_len}"
            );
            assert_close(
                "rng streams vs twin",
                &got[OFFSET + i * stream_len..][..stream_len],
                &rng::normal_cpu(SEED, 7, 2 + i as u32, stream_len),
                1e-5,
                1e-5,
            );
        }
    }
}

/// The split form sends the first draws to their own buffer (the engine's ε) and the rest to
/// `out` at their launch index (z′ after z in `zz`), leaving the covered part of `out` alone.
#[test]
fn split_streams_go_to_two_buffers() {
    let ctx = ctx();
    let c = clock(4);
    let (stream_len, streams) = (300, 4);
    let low = GpuBuffer::<f32>::zeros(ctx, "low", stream_len).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", stream_len * streams).unwrap();
    low.poison(ctx);
    out.poison(ctx);
    let d = rng::bind_streams(
        ctx,
        &c,
        Some(((&low).into(), 1)),
        (&out).into(),
        0,
        stream_len,
        streams,
        SEED,
        0,
    )
    .unwrap();
    submit(ctx, "rng split", &[&d]);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let (low, out) = (
        low.read_blocking(ctx).unwrap(),
        out.read_blocking(ctx).unwrap(),
    );
    assert_eq!(bits(&low), bits(&draw(&c, stream_len, SEED, 0)[OFFSET..]));
    assert!(out[..stream_len].iter().all(|v| v.to_bits() == u32::MAX));
    for s in 1..streams {
        assert_eq!(
            bits(&out[s * stream_len..][..stream_len]),
            bits(&draw(&c, stream_len, SEED, s as u32)[OFFSET..]),
            "stream {s}"
        );
    }
    // More low streams than the launch has, or a short low buffer, are typed errors.
    let small = GpuBuffer::<f32>::zeros(ctx, "small", stream_len - 1).unwrap();
    let big = GpuBuffer::<f32>::zeros(ctx, "big", stream_len * 9).unwrap();
    let bind = |low: Arg<'_>, low_streams| {
        rng::bind_streams(
            ctx,
            &c,
            Some((low, low_streams)),
            (&big).into(),
            0,
            stream_len,
            2,
            SEED,
            0,
        )
    };
    assert!(bind((&small).into(), 1).is_err());
    assert!(bind((&big).into(), 3).is_err());
}

/// The noise layer: a noised copy (src + std·draw) against its twin, src left as it was, and
/// the draw the same one `bind` makes of that stream.
#[test]
fn a_noised_copy_matches_its_twin_and_leaves_the_source() {
    let ctx = ctx();
    let mut r = argva::testing::rng(8);
    for &len in SIZES {
        let c = clock(6);
        let src_host = argva::testing::uniform_f32(&mut r, len, -2.0, 2.0);
        let src = GpuBuffer::from_slice(ctx, "src", &src_host).unwrap();
        let out = GpuBuffer::<f32>::zeros(ctx, "out", len).unwrap();
        out.poison(ctx);
        let d = rng::bind_noisy(ctx, &c, (&src).into(), (&out).into(), len, 0.1, SEED, 9).unwrap();
        submit(ctx, "rng noisy", &[&d]);
        let got = out.read_blocking(ctx).unwrap();
        let src64: Vec<f64> = src_host.iter().map(|&v| v as f64).collect();
        let want = rng::noisy_cpu(&src64, 0.1, SEED, 6, 9);
        assert_close("rng noisy", &got, &want, 1e-5, 1e-6);
        assert_eq!(
            src.read_blocking(ctx).unwrap(),
            src_host,
            "the source changed"
        );
        // The noise is what `bind` draws: (out − src)/0.1 is that stream's normals.
        let plain = rng::normal_cpu(SEED, 6, 9, len);
        let noise: Vec<f32> = got
            .iter()
            .zip(&src_host)
            .map(|(o, s)| (o - s) / 0.1)
            .collect();
        assert_close("rng noisy: its draw", &noise, &plain, 1e-3, 1e-3);
    }
    let src = GpuBuffer::<f32>::zeros(ctx, "src", 4).unwrap();
    let out = GpuBuffer::<f32>::zeros(ctx, "out", 8).unwrap();
    let err = rng::bind_noisy(
        ctx,
        &clock(0),
        (&src).into(),
        (&out).into(),
        8,
        0.1,
        SEED,
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("src"), "{err}");
}
