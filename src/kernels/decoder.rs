//! Inner-product edge decoder over a sampled pair list: the per-pair loss and dL/ds, and the
//! atomic-free gather of dz. Shaders: `shaders/decoder_loss.wgsl`, `shaders/decoder_gather.wgsl`.
//!
//! `pairs` is a flattened u32 list `[i0, j0, i1, j1, …]`: the first `npos` pairs are
//! positives (label 1), the next `nneg` negatives (label 0). The loss is
//! `mean_pos softplus(−s) + mean_neg softplus(s)` with `s = z_i·z_j`.
//!
//! Cost, P = npos + nneg pairs: `pair_loss` 2·P·d FLOPs, 8·P·d bytes of z reads (gathered) +
//! 16·P bytes; `gather` 4·P·d FLOPs (each pair seen from both ends), 8·P·d bytes of z reads +
//! 4·N·d written (+4·N·d read with `accumulate`).

use super::check_len;
use super::logistic::{sigmoid, softplus};
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{Windows, grid_1d, uniform};

/// `shaders/lib/logistic.wgsl` (softplus, sigmoid) + `shaders/lib/pair_score.wgsl` +
/// `shaders/decoder_loss.wgsl`.
pub const LOSS_SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/lib/pair_score.wgsl"),
    include_str!("../../shaders/decoder_loss.wgsl")
);
pub const GATHER_SOURCE: &str = include_str!("../../shaders/decoder_gather.wgsl");
pub const WORKGROUP_SIZE: u32 = 256;
/// Columns of dz one `gather` invocation owns (`CPI` in the shader).
pub const GATHER_COLS: usize = 8;
/// `pair_loss` `@binding` order: params, z, pairs, loss, grad.
pub const LOSS_BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];
/// `pair_loss` entry `windowed` (a pair list past one binding): [`LOSS_BINDINGS`], then
/// pairs_hi, the list's second window.
pub const LOSS_BINDINGS_WINDOWED: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
];
/// `gather` `@binding` order: params, z, pairs, slot_ptr, slots, grad, dz.
pub const GATHER_BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
];
/// `gather` entry `windowed` (pair or slot list past one binding): [`GATHER_BINDINGS`],
/// then pairs_hi and slots_hi, the lists' second windows.
pub const GATHER_BINDINGS_WINDOWED: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::Read,
    Binding::Read,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LossParams {
    n: u32,
    d: u32,
    npos: u32,
    nneg: u32,
    inv_pos: f32,
    inv_neg: f32,
    split: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct GatherParams {
    n: u32,
    d: u32,
    accumulate: u32,
    num_pairs: u32,
    pairs_split: u32,
    slots_split: u32,
    num_slots: u32,
    nq: u32,
    _pad: [u32; 4],
}

fn elems(arg: &Arg<'_>) -> usize {
    (arg.len_bytes() / 4) as usize
}

fn check_sizes(what: &str, args: &[(&str, &Arg<'_>, usize)]) -> GpuResult<()> {
    for (name, arg, need) in args {
        check_len(&format!("decoder {what}: `{name}` elements"), arg, *need)?;
    }
    Ok(())
}

fn check_index_range(what: &str, n: usize, d: usize, pairs: usize) -> GpuResult<()> {
    let fits = |v: Option<usize>| v.is_some_and(|v| v <= u32::MAX as usize);
    if !fits(n.checked_mul(d)) || !fits(pairs.checked_mul(2)) || !fits(n.checked_add(1)) {
        return Err(GpuError::InvalidArgument {
            what: format!("decoder {what}"),
            message: format!("{n} nodes × {d} or {pairs} pairs exceed the u32 index range"),
        });
    }
    Ok(())
}

/// Per-pair loss and `dL/ds` (see the module docs); sum `loss` for the scalar.
#[allow(clippy::too_many_arguments)]
pub fn pair_loss(
    ctx: &GpuContext,
    z: Arg<'_>,
    pairs: Arg<'_>,
    loss: Arg<'_>,
    grad: Arg<'_>,
    n: usize,
    d: usize,
    npos: usize,
    nneg: usize,
) -> GpuResult<Dispatch> {
    let p = npos + nneg;
    check_index_range("pair_loss", n, d, p)?;
    check_sizes(
        "pair_loss",
        &[
            ("z", &z, n * d),
            ("pairs", &pairs, 2 * p),
            ("loss", &loss, p),
            ("grad", &grad, p),
        ],
    )?;
    let windows = Windows::of(ctx, "decoder pair_loss: `pairs`", pairs, 2)?;
    let params = LossParams {
        n: n as u32,
        d: d as u32,
        npos: npos as u32,
        nneg: nneg as u32,
        inv_pos: (1.0 / npos.max(1) as f64) as f32,
        inv_neg: (1.0 / nneg.max(1) as f64) as f32,
        split: windows.map_or(0, |w| w.split as u32),
        _pad: 0,
    };
    let params = uniform(ctx, "decoder loss params", &params);
    let spec = KernelSpec {
        label: "decoder_loss",
        source: LOSS_SOURCE,
        entry: if windows.is_some() {
            "windowed"
        } else {
            "main"
        },
        bindings: if windows.is_some() {
            LOSS_BINDINGS_WINDOWED
        } else {
            LOSS_BINDINGS
        },
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    let grid = grid_1d(ctx, "decoder pair_loss", p as u64, WORKGROUP_SIZE)?;
    let mut args = vec![
        (&params).into(),
        z,
        windows.map_or(pairs, |w| w.lo),
        loss,
        grad,
    ];
    if let Some(w) = windows {
        args.push(w.hi);
    }
    ctx.kernel(&spec)?.dispatch(ctx, &args, grid)
}

/// The node-major CSR of pair endpoints that [`gather`] walks: `slot_ptr` (n + 1 entries) and
/// `slots` (two per pair, `2p + side`, side 0 for the pair's first id). Slots of one node
/// keep pair order, so the gather's summation order is fixed.
pub fn pair_slots(n: usize, pairs: &[u32]) -> Result<(Vec<u32>, Vec<u32>), GpuError> {
    if !pairs.len().is_multiple_of(2) {
        return Err(GpuError::InvalidArgument {
            what: "decoder pair list".into(),
            message: format!("odd length {} (pairs are [i, j] couples)", pairs.len()),
        });
    }
    if pairs.len() > u32::MAX as usize || n >= u32::MAX as usize {
        return Err(GpuError::InvalidArgument {
            what: "decoder pair list".into(),
            message: format!(
                "{} ids over {n} nodes exceed the u32 index range",
                pairs.len()
            ),
        });
    }
    let mut count = vec![0u32; n + 1];
    for (q, &id) in pairs.iter().enumerate() {
        if id as usize >= n {
            return Err(GpuError::InvalidArgument {
                what: "decoder pair list".into(),
                message: format!("pair {} has node id {id}, but there are {n} nodes", q / 2),
            });
        }
        count[id as usize + 1] += 1;
    }
    for i in 0..n {
        count[i + 1] += count[i];
    }
    let slot_ptr = count.clone();
    let mut next = count;
    let mut slots = vec![0u32; pairs.len()];
    // q = 2p + side runs in increasing order, so each node's slots stay sorted.
    for (q, &id) in pairs.iter().enumerate() {
        let at = &mut next[id as usize];
        slots[*at as usize] = q as u32;
        *at += 1;
    }
    Ok((slot_ptr, slots))
}

/// `dz_i (+)= Σ_{slots of i} grad_p · z_other`, i.e. dz = d(Σ loss)/dz given
/// `grad = dL/ds` from [`pair_loss`] and the CSR from [`pair_slots`]. Deterministic.
#[allow(clippy::too_many_arguments)]
pub fn gather<'a>(
    ctx: &GpuContext,
    z: Arg<'a>,
    pairs: Arg<'a>,
    slot_ptr: Arg<'a>,
    slots: Arg<'a>,
    grad: Arg<'a>,
    dz: Arg<'a>,
    n: usize,
    d: usize,
    accumulate: bool,
) -> GpuResult<Dispatch> {
    // The pair count is implied by the bindings; the shader never reads past it.
    let num_pairs = (elems(&pairs) / 2).min(elems(&grad));
    check_index_range("gather", n, d, num_pairs)?;
    check_sizes(
        "gather",
        &[
            ("z", &z, n * d),
            ("slot_ptr", &slot_ptr, n + 1),
            ("dz", &dz, n * d),
        ],
    )?;
    // Lists past one binding: both are then read through two windows (one entry point).
    let pair_windows = Windows::of(ctx, "decoder gather: `pairs`", pairs, 2)?;
    let slot_windows = Windows::of(ctx, "decoder gather: `slots`", slots, 1)?;
    let windowed = pair_windows.is_some() || slot_windows.is_some();
    // A list that fits is its own first window, with an empty (never read) second one.
    let split = |arg: Arg<'a>, w: Option<Windows<'a>>| match w {
        Some(w) => (w.lo, w.hi, w.split),
        None => (arg, arg, elems(&arg)),
    };
    let (pairs_lo, pairs_hi, pairs_split) = split(pairs, pair_windows);
    let (slots_lo, slots_hi, slots_split) = split(slots, slot_windows);
    let params = GatherParams {
        n: n as u32,
        d: d as u32,
        accumulate: accumulate as u32,
        num_pairs: num_pairs as u32,
        pairs_split: pairs_split as u32,
        slots_split: slots_split as u32,
        num_slots: elems(&slots).min(u32::MAX as usize) as u32,
        nq: d.div_ceil(GATHER_COLS).max(1) as u32,
        _pad: [0; 4],
    };
    let params = uniform(ctx, "decoder gather params", &params);
    let spec = KernelSpec {
        label: "decoder_gather",
        source: GATHER_SOURCE,
        entry: if windowed { "windowed" } else { "main" },
        bindings: if windowed {
            GATHER_BINDINGS_WINDOWED
        } else {
            GATHER_BINDINGS
        },
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    let grid = grid_1d(
        ctx,
        "decoder gather",
        (n * d.div_ceil(GATHER_COLS)) as u64,
        WORKGROUP_SIZE,
    )?;
    let mut args = vec![(&params).into(), z, pairs_lo, slot_ptr, slots_lo, grad, dz];
    if windowed {
        args.extend([pairs_hi, slots_hi]);
    }
    ctx.kernel(&spec)?.dispatch(ctx, &args, grid)
}

/// CPU twin of [`pair_loss`]: (per-pair loss, per-pair dL/ds).
pub fn pair_loss_cpu(
    z: &[f64],
    pairs: &[u32],
    d: usize,
    npos: usize,
    nneg: usize,
) -> (Vec<f64>, Vec<f64>) {
    (0..npos + nneg)
        .map(|p| {
            let (i, j) = (pairs[2 * p] as usize, pairs[2 * p + 1] as usize);
            let s: f64 = (0..d).map(|k| z[i * d + k] * z[j * d + k]).sum();
            if p < npos {
                (softplus(-s) / npos as f64, -sigmoid(-s) / npos as f64)
            } else {
                (softplus(s) / nneg as f64, sigmoid(s) / nneg as f64)
            }
        })
        .unzip()
}

/// CPU twin of [`gather`] (without `accumulate`), written directly from the chain rule
/// (independent of the slot CSR): `dz_i += g·z_j`, `dz_j += g·z_i` for every pair.
pub fn gather_cpu(z: &[f64], pairs: &[u32], grad: &[f64], n: usize, d: usize) -> Vec<f64> {
    let mut dz = vec![0.0; n * d];
    for (p, &g) in grad.iter().enumerate() {
        let (i, j) = (pairs[2 * p] as usize, pairs[2 * p + 1] as usize);
        for k in 0..d {
            dz[i * d + k] += g * z[j * d + k];
            dz[j * d + k] += g * z[i * d + k];
        }
    }
    dz
}

/// Decoder logits, loss terms and dL/dlogit for `pairs` pairs of d-wide rows: each pair
/// reads its two indices and both rows (a gather, counted per pair as for spmm).
pub fn pair_loss_cost(pairs: usize, d: usize) -> super::Cost {
    super::Cost::elementwise(pairs * (2 * d + 12), pairs * (2 + 2 * d), 2 * pairs)
}

/// Per-node gather of the pair gradients into dz (n×d): every pair is listed under both
/// endpoints, and each listing reads its slot, the other index, the gradient and a row.
pub fn gather_cost(n: usize, pairs: usize, d: usize) -> super::Cost {
    let listings = 2 * pairs;
    super::Cost::elementwise(2 * listings * d, n + 1 + listings * (3 + d), n * d)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    [
        super::Contract::entries(
            LOSS_SOURCE,
            &[
                ("main", LOSS_BINDINGS),
                ("windowed", LOSS_BINDINGS_WINDOWED),
            ],
            super::params_layout!(LossParams {
                n,
                d,
                npos,
                nneg,
                inv_pos,
                inv_neg,
                split
            }),
            vec![],
        ),
        super::Contract::entries(
            GATHER_SOURCE,
            &[
                ("main", GATHER_BINDINGS),
                ("windowed", GATHER_BINDINGS_WINDOWED),
            ],
            super::params_layout!(GatherParams {
                n,
                d,
                accumulate,
                num_pairs,
                pairs_split,
                slots_split,
                num_slots,
                nq
            }),
            vec![],
        ),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gather's column block must match the host's grid arithmetic.
    #[test]
    fn gather_shader_constant_matches_host() {
        let want = format!("const CPI: u32 = {GATHER_COLS}u;");
        assert!(
            GATHER_SOURCE.contains(&want),
            "decoder_gather.wgsl lacks `{want}`"
        );
    }

    #[test]
    fn slots_list_each_pair_under_both_endpoints_in_order() {
        // pairs: (0,2) (2,1) (1,1) (2,0)
        let pairs = [0, 2, 2, 1, 1, 1, 2, 0];
        let (ptr, slots) = pair_slots(4, &pairs).unwrap();
        assert_eq!(ptr, vec![0, 2, 5, 8, 8]);
        // node 0: pair 0 side 0, pair 3 side 1; node 1: pair 1 side 1, pair 2 both sides;
        // node 2: pair 0 side 1, pair 1 side 0, pair 3 side 0; node 3: none.
        assert_eq!(slots, vec![0, 7, 3, 4, 5, 1, 2, 6]);
    }

    #[test]
    fn bad_pair_lists_are_typed_errors() {
        let err = pair_slots(3, &[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("odd length 3"), "{err}");
        let err = pair_slots(3, &[0, 1, 2, 3]).unwrap_err().to_string();
        assert!(err.contains("pair 1 has node id 3"), "{err}");
        assert_eq!(pair_slots(0, &[]).unwrap(), (vec![0], vec![]));
    }
}
