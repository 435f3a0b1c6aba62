//! Gaussian samples on the GPU: Philox4x32-10 (Salmon et al., SC 2011) + Box–Muller.
//! Shader: `shaders/rng.wgsl`.
//!
//! Element `e` of a draw depends only on `(seed, epoch, stream, e)`: counter
//! `(e, epoch, stream, 0)`, key `(seed_lo, seed_hi)`; the epoch is read on the GPU from
//! `clock[0]`, so one recorded dispatch yields fresh noise every epoch. Uniforms use the top 24
//! bits of a word (exact in f32): `u = (w0 >> 8 + ½)·2⁻²⁴ ∈ (0, 1)`, `v = (w1 >> 8)·2⁻²⁴`,
//! sample `sqrt(−2 ln u)·cos(2πv)`. The CPU twin reproduces the integer bits exactly.
//!
//! Cost per element: 10 Philox rounds (≈ 60 integer ops with the 16-bit mulhilo), one log,
//! sqrt and cos; 4 bytes written.

use super::check_len;
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

/// `shaders/lib/philox.wgsl` + `shaders/rng.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/philox.wgsl"),
    include_str!("../../shaders/rng.wgsl")
);
pub const WORKGROUP_SIZE: u32 = 256;
/// `@binding` order: params, clock, out, low.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    offset: u32,
    len: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    /// Elements per stream (0: the whole draw is one stream).
    stream_len: u32,
    /// Elements `e < low_len` go to the `low` binding at `e`.
    low_len: u32,
    /// `noisy`: the standard deviation of the added samples.
    scale: f32,
}

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// Philox4x32-10 of one counter under one key (the Random123 reference algorithm).
pub fn philox4x32_10(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mulhilo = |a: u32, b: u32| {
        let p = a as u64 * b as u64;
        ((p >> 32) as u32, p as u32)
    };
    let (mut c, mut k) = (counter, key);
    for _ in 0..10 {
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
    }
    c
}

fn key(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// CPU twin of [`bind`]: `len` samples of draw `(seed, epoch, stream)`.
pub fn normal_cpu(seed: u64, epoch: u32, stream: u32, len: usize) -> Vec<f64> {
    (0..len)
        .map(|e| {
            let w = philox4x32_10([e as u32, epoch, stream, 0], key(seed));
            // u and v as the GPU holds them (f32: u rounds near 1), the rest in f64
            let u = (((w[0] >> 8) as f32 + 0.5) * 2f32.powi(-24)) as f64;
            let v = ((w[1] >> 8) as f32 * 2f32.powi(-24)) as f64;
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        })
        .collect()
}

/// How far GPU samples are from the twin's: the worst absolute error, where, and how many are
/// over 1e-5 (the browser's draw check and the native test report the same figures).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawError {
    pub worst: f64,
    pub at: usize,
    pub over_1e5: usize,
}

/// [`DrawError`] of `gpu` against `twin`, element by element.
pub fn draw_error(gpu: &[f32], twin: &[f64]) -> DrawError {
    let mut err = DrawError {
        worst: 0.0,
        at: 0,
        over_1e5: 0,
    };
    for (i, (&g, &w)) in gpu.iter().zip(twin).enumerate() {
        let e = (g as f64 - w).abs();
        err.over_1e5 += usize::from(e > 1e-5);
        if e > err.worst {
            (err.worst, err.at) = (e, i);
        }
    }
    err
}

/// CPU twin of [`bind_bits`]: element `e` is word `e % 4` of counter `(e / 4, epoch, stream, 0)`.
pub fn bits_cpu(seed: u64, epoch: u32, stream: u32, len: usize) -> Vec<u32> {
    (0..len)
        .map(|e| philox4x32_10([(e / 4) as u32, epoch, stream, 0], key(seed))[e % 4])
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn bind_entry(
    ctx: &GpuContext,
    entry: &'static str,
    clock: &GpuBuffer<u32>,
    out: Arg<'_>,
    elem_offset: usize,
    len: usize,
    seed: u64,
    stream: u32,
    stream_len: usize,
    low: Option<(Arg<'_>, usize)>,
    scale: f32,
) -> GpuResult<Dispatch> {
    if clock.is_empty() {
        return Err(GpuError::SizeMismatch {
            what: format!("rng {entry}: clock `{}` elements", clock.label()),
            expected: 1,
            got: 0,
        });
    }
    let need = elem_offset
        .checked_add(len)
        .filter(|&n| n <= u32::MAX as usize)
        .ok_or_else(|| GpuError::InvalidArgument {
            what: format!("rng {entry}"),
            message: format!("offset {elem_offset} + length {len} exceeds the u32 index range"),
        })?;
    check_len(
        &format!("rng {entry}: `out` elements (offset {elem_offset} + length {len})"),
        &out,
        need,
    )?;
    let (low, low_len) = match low {
        Some((arg, low_len)) => {
            if low_len > len {
                return Err(GpuError::InvalidArgument {
                    what: format!("rng {entry}"),
                    message: format!("{low_len} low elements of a {len}-element draw"),
                });
            }
            check_len(&format!("rng {entry}: `low`"), &arg, low_len)?;
            (arg, low_len)
        }
        None => (ctx.unused_output(), 0),
    };
    let [seed_lo, seed_hi] = key(seed);
    let params = Params {
        offset: elem_offset as u32,
        len: len as u32,
        seed_lo,
        seed_hi,
        stream,
        stream_len: stream_len as u32,
        low_len: low_len as u32,
        scale,
    };
    let params = uniform(ctx, "rng params", &params);
    let spec = KernelSpec {
        label: "rng",
        source: SOURCE,
        entry,
        bindings: BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    let grid = grid_1d(ctx, "rng", len as u64, WORKGROUP_SIZE)?;
    ctx.kernel(&spec)?.dispatch(
        ctx,
        &[(&params).into(), (&clock.buffer).into(), out, low],
        grid,
    )
}

/// Writes N(0, 1) samples of draw `(seed, clock[0], stream)` to `out[elem_offset ..
/// elem_offset + len]` (element `e` of the draw at `elem_offset + e`). `elem_offset` lets a
/// draw start inside a binding whose byte offset must stay 256-aligned.
pub fn bind(
    ctx: &GpuContext,
    clock: &GpuBuffer<u32>,
    out: Arg<'_>,
    elem_offset: usize,
    len: usize,
    seed: u64,
    stream: u32,
) -> GpuResult<Dispatch> {
    bind_entry(
        ctx,
        "normal",
        clock,
        out,
        elem_offset,
        len,
        seed,
        stream,
        0,
        None,
        1.0,
    )
}

/// Several draws in one launch: `streams` consecutive draws of `stream_len` samples each,
/// draw `i` being `(seed, clock[0], first_stream + i)` (element `e` of it at `elem_offset +
/// i·stream_len + e`) — exactly what `streams` calls of [`bind`] would write. With `low =
/// Some((buffer, low_streams))` the first `low_streams` draws go to their own buffer (at their
/// index in the launch, from 0) instead of `out`, whose elements they would have covered are
/// left untouched: the engine draws ε (stream 0, its own buffer) and every z′ (streams 1..=K,
/// after z in `zz`) in one launch.
#[allow(clippy::too_many_arguments)]
pub fn bind_streams(
    ctx: &GpuContext,
    clock: &GpuBuffer<u32>,
    low: Option<(Arg<'_>, usize)>,
    out: Arg<'_>,
    elem_offset: usize,
    stream_len: usize,
    streams: usize,
    seed: u64,
    first_stream: u32,
) -> GpuResult<Dispatch> {
    let len = stream_len
        .checked_mul(streams)
        .ok_or_else(|| GpuError::InvalidArgument {
            what: "rng streams".into(),
            message: format!("{streams} streams of {stream_len} overflow"),
        })?;
    if first_stream as usize + streams > u32::MAX as usize {
        return Err(GpuError::InvalidArgument {
            what: "rng streams".into(),
            message: format!("streams {first_stream} + {streams} exceed u32"),
        });
    }
    bind_entry(
        ctx,
        "normal",
        clock,
        out,
        elem_offset,
        len,
        seed,
        first_stream,
        stream_len,
        low.map(|(arg, low_streams)| (arg, low_streams.saturating_mul(stream_len))),
        1.0,
    )
}

/// Test hook: the raw Philox words (see [`bits_cpu`]) bit-cast into the f32 `out`.
pub fn bind_bits(
    ctx: &GpuContext,
    clock: &GpuBuffer<u32>,
    out: Arg<'_>,
    elem_offset: usize,
    len: usize,
    seed: u64,
    stream: u32,
) -> GpuResult<Dispatch> {
    bind_entry(
        ctx,
        "bits",
        clock,
        out,
        elem_offset,
        len,
        seed,
        stream,
        0,
        None,
        1.0,
    )
}

/// The original ARGA code's noise layer: `out[e] = src[e] + std · N(0, 1)`, element `e` of
/// draw `(seed, clock[0], stream)` as [`bind`] draws it; `src` is only read.
#[allow(clippy::too_many_arguments)]
pub fn bind_noisy(
    ctx: &GpuContext,
    clock: &GpuBuffer<u32>,
    src: Arg<'_>,
    out: Arg<'_>,
    len: usize,
    std: f32,
    seed: u64,
    stream: u32,
) -> GpuResult<Dispatch> {
    check_len("rng noisy: src", &src, len)?;
    // (`low` is the source here; low_len 0 keeps every element going to `out`)
    bind_entry(
        ctx,
        "noisy",
        clock,
        out,
        0,
        len,
        seed,
        stream,
        0,
        Some((src, 0)),
        std,
    )
}

/// CPU twin of [`bind_noisy`].
pub fn noisy_cpu(src: &[f64], std: f64, seed: u64, epoch: u32, stream: u32) -> Vec<f64> {
    let e = normal_cpu(seed, epoch, stream, src.len());
    src.iter().zip(e).map(|(&x, e)| x + std * e).collect()
}

/// `len` standard normals (Box–Muller, ~5 FLOPs each; Philox's integer rounds are not
/// FLOPs): writes only.
pub fn cost(len: usize) -> super::Cost {
    super::Cost::elementwise(5 * len, 0, len)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[
            ("normal", BINDINGS),
            ("bits", BINDINGS),
            ("noisy", BINDINGS),
        ],
        super::params_layout!(Params {
            offset,
            len,
            seed_lo,
            seed_hi,
            stream,
            stream_len,
            low_len,
            scale
        }),
        vec![],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_error_finds_the_worst_sample_and_counts_those_over_1e5() {
        let gpu = [0.0f32, 1.0, -2.0, 3.0];
        let twin = [0.0, 1.0 + 2e-5, -2.0 - 3e-5, 3.0 + 1e-6];
        let err = draw_error(&gpu, &twin);
        assert_eq!((err.at, err.over_1e5), (2, 2));
        assert!((err.worst - 3e-5).abs() < 1e-9, "{err:?}");
    }

    /// Known-answer vectors of Random123's `kat_vectors` for philox4x32 with 10 rounds.
    #[test]
    fn philox_matches_random123_known_answers() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }
}
