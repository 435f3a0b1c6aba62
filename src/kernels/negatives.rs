//! The epoch's negative pairs and the decoder's slot lists, built on the GPU. Shaders:
//! `shaders/decoder_sample.wgsl` (draw + count + per-pair loss), `shaders/decoder_slots.wgsl`
//! (scan, place, order); the gather is [`decoder::gather`](super::decoder::gather).
//!
//! Negative `k` of epoch `e` is a pure function of `(seed, e, k)`: Philox4x32-10 with key
//! `seed`, counter `(k, e, STREAM_NEGATIVES, attempt)`, words mapped to node ids by
//! multiply-high (`⌊w·N/2³²⌋`: each node's probability is within N/2³² (relative) of 1/N),
//! accepted when the two ids differ and are not a training edge (binary search in the sorted
//! symmetric CSR of the training positives). [`ATTEMPTS`] attempts; if none is accepted (a
//! probability below 2⁻³² per pair when at most half of all pairs are edges), a deterministic
//! linear probe from the last attempt's pair takes the next free partner (see the shader).
//! Pairs are written `(min, max)`. Graphs where more than half of all pairs are training
//! edges keep the host's free-list sampler (`data::split::NegativeSampler`):
//! [`PositiveTables::gpu_sampling`] says which.
//!
//! The slot lists: the draw counts both endpoints of every negative (u32 atomics) on top of
//! the static positive counts; one single-workgroup scan makes `slot_ptr`; `place` puts each
//! positive slot at its static rank and each negative slot in the node's tail (atomic
//! cursor), restoring the counts for the next epoch; `order` heapsorts each node's tail in
//! place, so the lists equal host-built ones ([`super::decoder::pair_slots`]) and dz is the
//! same bits. Reconstruction with GPU negatives: 5 launches (sample+loss, scan, place, order,
//! gather).
//!
//! Cost, P = npos + nneg pairs: `sample_loss` as `decoder::pair_loss` plus per negative ~2
//! binary searches of log₂(degree) reads; `scan` 2 reads of N counts and N + 1 writes; `place`
//! per slot 2 reads + 1 write (+1 for positives); `order` per node 2 reads, per tail slot
//! about 2·log₂(tail) reads and writes.

use super::check_len;
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{Windows, grid_1d, uniform};

/// `shaders/lib/philox.wgsl` + `shaders/lib/logistic.wgsl` + `shaders/lib/pair_score.wgsl` +
/// `shaders/decoder_sample.wgsl`.
pub const SAMPLE_SOURCE: &str = concat!(
    include_str!("../../shaders/lib/philox.wgsl"),
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/lib/pair_score.wgsl"),
    include_str!("../../shaders/decoder_sample.wgsl")
);
pub const SLOTS_SOURCE: &str = include_str!("../../shaders/decoder_slots.wgsl");
pub const WORKGROUP_SIZE: u32 = 256;
/// The scan's single workgroup (`SCAN_WG` in the shader).
pub const SCAN_WORKGROUP: u32 = 256;
/// Philox stream of the negatives (the noise uses streams 0..=K).
pub const STREAM_NEGATIVES: u32 = 0x4E45_4700;
/// Random attempts per negative before the linear probe.
pub const ATTEMPTS: u32 = 32;

/// `sample_loss` `@binding` order: params, clock (uniform), z, pairs, loss, grad, adj_ptr,
/// adj_col, counts.
pub const SAMPLE_BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
];
/// Entry `windowed`: [`SAMPLE_BINDINGS`], then pairs_hi.
pub const SAMPLE_BINDINGS_WINDOWED: &[Binding] = &[
    Binding::Uniform,
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];
/// `scan`: params, counts, slot_ptr.
pub const SCAN_BINDINGS: &[Binding] = &[Binding::Uniform, Binding::ReadWrite, Binding::ReadWrite];
/// `place`: params, counts, slot_ptr, pairs, pos_rank, slots.
pub const PLACE_BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
];
/// `place_windowed`: [`PLACE_BINDINGS`], then pairs_hi and slots_hi. `order` binds the same
/// (it uses params, counts, slot_ptr and both slot windows).
pub const PLACE_BINDINGS_WINDOWED: &[Binding] = &[
    Binding::Uniform,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::Read,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SampleParams {
    n: u32,
    d: u32,
    npos: u32,
    nneg: u32,
    inv_pos: f32,
    inv_neg: f32,
    split: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    attempts: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SlotParams {
    n: u32,
    pos_slots: u32,
    num_slots: u32,
    pairs_split: u32,
    slots_split: u32,
    _pad: [u32; 3],
}

fn unordered_pairs(n: usize) -> u64 {
    let n = n as u64;
    n * n.saturating_sub(1) / 2
}

/// What the GPU draw and slot placement need of the training positives, built once on the
/// host: the sorted symmetric CSR of the distinct training edges (self-loops dropped, as the
/// host sampler does), and each node's positive slots with their ranks.
#[derive(Clone, Debug, PartialEq)]
pub struct PositiveTables {
    pub n: usize,
    /// The positives flattened `[i0, j0, i1, j1, …]` (the head of every epoch's pair list).
    pub pairs: Vec<u32>,
    /// Row pointers (n + 1) and ascending columns of the symmetric training adjacency.
    pub adj_ptr: Vec<u32>,
    pub adj_col: Vec<u32>,
    /// Positive slots (`2p + side`) per node.
    pub pos_count: Vec<u32>,
    /// Rank of positive slot q among its node's positive slots (ascending q).
    pub pos_rank: Vec<u32>,
    /// Distinct unordered training edges (`adj_col.len() / 2`).
    pub edges: u64,
}

impl PositiveTables {
    pub fn new(n: usize, positives: &[[u32; 2]]) -> GpuResult<Self> {
        let pairs: Vec<u32> = positives.iter().flat_map(|p| [p[0], p[1]]).collect();
        let (ptr, slots) = super::decoder::pair_slots(n, &pairs)?;
        let mut pos_rank = vec![0u32; pairs.len()];
        for i in 0..n {
            for k in ptr[i]..ptr[i + 1] {
                pos_rank[slots[k as usize] as usize] = k - ptr[i];
            }
        }
        let pos_count = (0..n).map(|i| ptr[i + 1] - ptr[i]).collect();
        let mut keys: Vec<u64> = positives
            .iter()
            .filter(|[a, b]| a != b)
            .map(|&[a, b]| crate::data::split::edge_key(a, b))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut adj_ptr = vec![0u32; n + 1];
        for &k in &keys {
            let [i, j] = crate::data::split::key_edge(k);
            adj_ptr[i as usize + 1] += 1;
            adj_ptr[j as usize + 1] += 1;
        }
        for i in 0..n {
            adj_ptr[i + 1] += adj_ptr[i];
        }
        // Keys ascend by (i, j): row r receives its partners below r (while rows < r are
        // walked, ascending) before those above (while row r is walked, ascending): sorted.
        let mut next = adj_ptr.clone();
        let mut adj_col = vec![0u32; 2 * keys.len()];
        for &k in &keys {
            let [i, j] = crate::data::split::key_edge(k);
            adj_col[next[i as usize] as usize] = j;
            next[i as usize] += 1;
            adj_col[next[j as usize] as usize] = i;
            next[j as usize] += 1;
        }
        Ok(Self {
            n,
            pairs,
            adj_ptr,
            adj_col,
            pos_count,
            pos_rank,
            edges: keys.len() as u64,
        })
    }

    /// Unordered pairs `{a, b}`, `a ≠ b`, that are not training edges.
    pub fn free_pairs(&self) -> u64 {
        unordered_pairs(self.n).saturating_sub(self.edges)
    }

    /// Whether the GPU draw applies: a free pair exists and at least half of all pairs are
    /// free (denser graphs keep the host's free-list sampler, like `NegativeSampler`).
    pub fn gpu_sampling(&self) -> bool {
        let free = self.free_pairs();
        free > 0 && free * 2 >= unordered_pairs(self.n)
    }

    /// Whether `{a, b}` is a training edge (the shader's binary search).
    pub fn is_edge(&self, a: u32, b: u32) -> bool {
        let row =
            &self.adj_col[self.adj_ptr[a as usize] as usize..self.adj_ptr[a as usize + 1] as usize];
        row.binary_search(&b).is_ok()
    }
}

fn mulhi(w: u32, n: u32) -> u32 {
    ((w as u64 * n as u64) >> 32) as u32
}

/// CPU twin of the draw: negatives `0..count` of epoch `epoch`, flattened `[i, j, …]`, `i < j`
/// (bit for bit what `sample_loss` writes after the positives).
pub fn draw_cpu(tables: &PositiveTables, seed: u64, epoch: u32, count: usize) -> Vec<u32> {
    draw_cpu_attempts(tables, seed, epoch, count, ATTEMPTS)
}

/// [`draw_cpu`] with `attempts` random attempts (test hook: 0 exercises the probe alone).
pub fn draw_cpu_attempts(
    tables: &PositiveTables,
    seed: u64,
    epoch: u32,
    count: usize,
    attempts: u32,
) -> Vec<u32> {
    let n = tables.n as u32;
    let key = [seed as u32, (seed >> 32) as u32];
    let free = |a: u32, b: u32| a != b && !tables.is_edge(a, b);
    let ordered = |a: u32, b: u32| [a.min(b), a.max(b)];
    let one = |k: u32| -> [u32; 2] {
        let (mut a, mut b) = (0, 0);
        for t in 0..attempts {
            let w = super::rng::philox4x32_10([k, epoch, STREAM_NEGATIVES, t], key);
            (a, b) = (mulhi(w[0], n), mulhi(w[1], n));
            if free(a, b) {
                return ordered(a, b);
            }
        }
        for _ in 0..n {
            for j in 1..=n {
                let c = (b + j) % n;
                if free(a, c) {
                    return ordered(a, c);
                }
            }
            a = (a + 1) % n;
        }
        [0, 0]
    };
    (0..count as u32).flat_map(one).collect()
}

/// The buffers the draw and the slot placement read and update (see [`PositiveTables`]):
/// `counts` must hold the positive counts before the draw (`place` restores them).
#[derive(Clone, Copy, Debug)]
pub struct Tables<'a> {
    pub adj_ptr: Arg<'a>,
    pub adj_col: Arg<'a>,
    pub pos_rank: Arg<'a>,
    pub counts: Arg<'a>,
}

fn check_clock(what: &str, clock: &GpuBuffer<u32>) -> GpuResult<()> {
    if clock.len() < 4 || !clock.buffer.usage().contains(wgpu::BufferUsages::UNIFORM) {
        return Err(GpuError::InvalidArgument {
            what: format!("{what}: clock `{}`", clock.label()),
            message: "the clock must be 4 u32 in a buffer usable as a uniform \
                      (GpuBuffer::zeros_with(…, BufferUsages::UNIFORM))"
                .into(),
        });
    }
    Ok(())
}

fn check_range(what: &str, n: usize, d: usize, pairs: usize) -> GpuResult<()> {
    let fits = |v: Option<usize>| v.is_some_and(|v| v <= u32::MAX as usize);
    if !fits(n.checked_mul(d)) || !fits(pairs.checked_mul(2)) || !fits(n.checked_add(1)) {
        return Err(GpuError::InvalidArgument {
            what: what.into(),
            message: format!("{n} nodes × {d} or {pairs} pairs exceed the u32 index range"),
        });
    }
    Ok(())
}

/// Draws negatives `npos..npos + nneg` of epoch `clock[0]` into `pairs` (after the `npos`
/// positives already there), counts their endpoints into `tables.counts`, and writes every
/// pair's loss and dL/ds (as [`super::decoder::pair_loss`]).
#[allow(clippy::too_many_arguments)]
pub fn sample_loss(
    ctx: &GpuContext,
    clock: &GpuBuffer<u32>,
    z: Arg<'_>,
    pairs: Arg<'_>,
    loss: Arg<'_>,
    grad: Arg<'_>,
    tables: Tables<'_>,
    n: usize,
    d: usize,
    counts: (usize, usize),
    seed: u64,
) -> GpuResult<Dispatch> {
    sample_loss_attempts(
        ctx, clock, z, pairs, loss, grad, tables, n, d, counts, seed, ATTEMPTS,
    )
}

/// [`sample_loss`] with `attempts` random attempts per negative (test hook, see
/// [`draw_cpu_attempts`]).
#[allow(clippy::too_many_arguments)]
pub fn sample_loss_attempts(
    ctx: &GpuContext,
    clock: &GpuBuffer<u32>,
    z: Arg<'_>,
    pairs: Arg<'_>,
    loss: Arg<'_>,
    grad: Arg<'_>,
    tables: Tables<'_>,
    n: usize,
    d: usize,
    (npos, nneg): (usize, usize),
    seed: u64,
    attempts: u32,
) -> GpuResult<Dispatch> {
    let what = "negatives sample_loss";
    let p = npos + nneg;
    check_range(what, n, d, p)?;
    check_clock(what, clock)?;
    if nneg > 0 && n < 2 {
        return Err(GpuError::InvalidArgument {
            what: what.into(),
            message: format!("{n} nodes have no pair to draw"),
        });
    }
    for (name, arg, need) in [
        ("z", &z, n * d),
        ("pairs", &pairs, 2 * p),
        ("loss", &loss, p),
        ("grad", &grad, p),
        ("adj_ptr", &tables.adj_ptr, n + 1),
        ("counts", &tables.counts, n),
    ] {
        check_len(&format!("{what}: `{name}` elements"), arg, need)?;
    }
    let windows = Windows::of(ctx, "negatives sample_loss: `pairs`", pairs, 2)?;
    let params = SampleParams {
        n: n as u32,
        d: d as u32,
        npos: npos as u32,
        nneg: nneg as u32,
        inv_pos: (1.0 / npos.max(1) as f64) as f32,
        inv_neg: (1.0 / nneg.max(1) as f64) as f32,
        split: windows.map_or(0, |w| w.split as u32),
        seed_lo: seed as u32,
        seed_hi: (seed >> 32) as u32,
        stream: STREAM_NEGATIVES,
        attempts,
        _pad: 0,
    };
    let params = uniform(ctx, "negatives sample params", &params);
    let spec = KernelSpec {
        label: "decoder_sample",
        source: SAMPLE_SOURCE,
        entry: if windows.is_some() {
            "windowed"
        } else {
            "main"
        },
        bindings: if windows.is_some() {
            SAMPLE_BINDINGS_WINDOWED
        } else {
            SAMPLE_BINDINGS
        },
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    let grid = grid_1d(ctx, what, p as u64, WORKGROUP_SIZE)?;
    let mut args = vec![
        (&params).into(),
        clock.range(0, 4),
        z,
        windows.map_or(pairs, |w| w.lo),
        loss,
        grad,
        tables.adj_ptr,
        tables.adj_col,
        tables.counts,
    ];
    if let Some(w) = windows {
        args.push(w.hi);
    }
    ctx.kernel(&spec)?.dispatch(ctx, &args, grid)
}

fn slot_params(
    ctx: &GpuContext,
    n: usize,
    npos: usize,
    p: usize,
    split: (usize, usize),
) -> wgpu::Buffer {
    let params = SlotParams {
        n: n as u32,
        pos_slots: (2 * npos) as u32,
        num_slots: (2 * p) as u32,
        pairs_split: split.0 as u32,
        slots_split: split.1 as u32,
        _pad: [0; 3],
    };
    uniform(ctx, "negatives slot params", &params)
}

/// `slot_ptr[0..=n]` = exclusive prefix sum of `counts[0..n]` (one workgroup).
pub fn scan(ctx: &GpuContext, counts: Arg<'_>, slot_ptr: Arg<'_>, n: usize) -> GpuResult<Dispatch> {
    check_range("negatives scan", n, 1, 0)?;
    check_len("negatives scan: `counts` elements", &counts, n)?;
    check_len("negatives scan: `slot_ptr` elements", &slot_ptr, n + 1)?;
    let params = slot_params(ctx, n, 0, 0, (0, 0));
    let spec = KernelSpec {
        label: "decoder_scan",
        source: SLOTS_SOURCE,
        entry: "scan",
        bindings: SCAN_BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    ctx.kernel(&spec)?
        .dispatch(ctx, &[(&params).into(), counts, slot_ptr], [1, 1, 1])
}

/// Writes every slot of the pair list (positives `0..npos`, then `nneg` negatives) into
/// `slots` under the pointers of [`scan`]: positives at their static ranks, negatives in
/// their node's tail in any order; leaves `counts` at the positive counts.
#[allow(clippy::too_many_arguments)]
pub fn place<'a>(
    ctx: &GpuContext,
    pairs: Arg<'a>,
    tables: Tables<'a>,
    slot_ptr: Arg<'a>,
    slots: Arg<'a>,
    n: usize,
    npos: usize,
    nneg: usize,
) -> GpuResult<Dispatch> {
    let lists = SlotLists {
        pairs,
        tables,
        slot_ptr,
        slots,
        n,
        npos,
        nneg,
    };
    lists.launch(ctx, SlotPass::Place)
}

/// After [`place`]: sorts each node's tail in place, so every node's slots ascend and equal
/// [`super::decoder::pair_slots`]' lists of the same pairs. Same arguments as [`place`].
#[allow(clippy::too_many_arguments)]
pub fn order<'a>(
    ctx: &GpuContext,
    pairs: Arg<'a>,
    tables: Tables<'a>,
    slot_ptr: Arg<'a>,
    slots: Arg<'a>,
    n: usize,
    npos: usize,
    nneg: usize,
) -> GpuResult<Dispatch> {
    let lists = SlotLists {
        pairs,
        tables,
        slot_ptr,
        slots,
        n,
        npos,
        nneg,
    };
    lists.launch(ctx, SlotPass::Order)
}

/// What `place` and `order` bind (one bind-group shape for both).
struct SlotLists<'a> {
    pairs: Arg<'a>,
    tables: Tables<'a>,
    slot_ptr: Arg<'a>,
    slots: Arg<'a>,
    n: usize,
    npos: usize,
    nneg: usize,
}

/// The two launches over [`SlotLists`].
#[derive(Clone, Copy, PartialEq)]
enum SlotPass {
    /// One invocation per slot; a whole-list and a windowed entry.
    Place,
    /// One invocation per node; one entry for both shapes (a list that fits is its own first
    /// window, with a 4-byte stand-in as the second), so the heapsort is written once.
    Order,
}

impl SlotPass {
    fn name(self) -> &'static str {
        match self {
            SlotPass::Place => "place",
            SlotPass::Order => "order",
        }
    }
}

impl<'a> SlotLists<'a> {
    fn launch(self, ctx: &'a GpuContext, pass: SlotPass) -> GpuResult<Dispatch> {
        let what = format!("negatives {}", pass.name());
        let (n, npos, p) = (self.n, self.npos, self.npos + self.nneg);
        check_range(&what, n, 1, p)?;
        for (name, arg, need) in [
            ("pairs", &self.pairs, 2 * p),
            ("pos_rank", &self.tables.pos_rank, 2 * npos),
            ("counts", &self.tables.counts, n),
            ("slot_ptr", &self.slot_ptr, n + 1),
            ("slots", &self.slots, 2 * p),
        ] {
            check_len(&format!("{what}: `{name}` elements"), arg, need)?;
        }
        let pair_windows = Windows::of(ctx, &format!("{what}: `pairs`"), self.pairs, 2)?;
        let slot_windows = Windows::of(ctx, &format!("{what}: `slots`"), self.slots, 1)?;
        let windowed = pair_windows.is_some() || slot_windows.is_some() || pass == SlotPass::Order;
        // A list that fits is its own first window; the second, never touched, is the list
        // again (read-only: may be bound twice) or the context's 4-byte stand-in (written).
        let split = |arg: Arg<'a>, w: Option<Windows<'a>>, spare: Arg<'a>| match w {
            Some(w) => (w.lo, w.hi, w.split),
            None => (arg, spare, (arg.len_bytes() / 4) as usize),
        };
        let (pairs_lo, pairs_hi, pairs_split) = split(self.pairs, pair_windows, self.pairs);
        let (slots_lo, slots_hi, slots_split) =
            split(self.slots, slot_windows, ctx.unused_output());
        let params = slot_params(ctx, n, npos, p, (pairs_split, slots_split));
        let spec = KernelSpec {
            label: match pass {
                SlotPass::Place => "decoder_place",
                SlotPass::Order => "decoder_order",
            },
            source: SLOTS_SOURCE,
            entry: match (pass, windowed) {
                (SlotPass::Place, false) => "place",
                (SlotPass::Place, true) => "place_windowed",
                (SlotPass::Order, _) => "order",
            },
            bindings: if windowed {
                PLACE_BINDINGS_WINDOWED
            } else {
                PLACE_BINDINGS
            },
            constants: vec![("WG", WORKGROUP_SIZE as f64)],
        };
        let items = match pass {
            SlotPass::Place => 2 * p,
            SlotPass::Order => n,
        };
        let grid = grid_1d(ctx, &what, items as u64, WORKGROUP_SIZE)?;
        let t = self.tables;
        let mut args = vec![
            (&params).into(),
            t.counts,
            self.slot_ptr,
            pairs_lo,
            t.pos_rank,
            slots_lo,
        ];
        if windowed {
            args.extend([pairs_hi, slots_hi]);
        }
        ctx.kernel(&spec)?.dispatch(ctx, &args, grid)
    }
}

/// The draw adds ~2 binary searches per negative (log₂ of a row, ≈ 4 reads each) and 2
/// atomic counts to the decoder's per-pair loss.
pub fn sample_loss_cost(pos: usize, neg: usize, d: usize) -> super::Cost {
    let mut c = super::decoder::pair_loss_cost(pos + neg, d);
    c.bytes += 4.0 * (12 * neg) as f64;
    c
}

/// Two reads of N counts, N + 1 pointers written.
pub fn scan_cost(n: usize) -> super::Cost {
    super::Cost::elementwise(2 * n, 2 * n, n + 1)
}

/// Per slot: its node, a pointer, a rank or a count, one slot written.
pub fn place_cost(pairs: usize) -> super::Cost {
    super::Cost::elementwise(2 * pairs, 6 * pairs, 2 * pairs)
}

/// Per node 3 reads; a heapsort of the node's tail, with uniform negatives about the mean
/// tail m = 2·nneg/N long: ~2·m·log₂ m reads and m·log₂ m writes of slots per node.
pub fn order_cost(n: usize, nneg: usize) -> super::Cost {
    let m = 2.0 * nneg as f64 / n.max(1) as f64;
    let steps = (m * (m + 1.0).log2()) as usize * n;
    super::Cost::elementwise(steps, 3 * n + 2 * steps, steps)
}

/// Every entry point this module builds (compared with the shaders by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    let slots = super::params_layout!(SlotParams {
        n,
        pos_slots,
        num_slots,
        pairs_split,
        slots_split
    });
    [
        super::Contract::entries(
            SAMPLE_SOURCE,
            &[
                ("main", SAMPLE_BINDINGS),
                ("windowed", SAMPLE_BINDINGS_WINDOWED),
            ],
            super::params_layout!(SampleParams {
                n,
                d,
                npos,
                nneg,
                inv_pos,
                inv_neg,
                split,
                seed_lo,
                seed_hi,
                stream,
                attempts
            }),
            vec![],
        ),
        super::Contract::entries(
            SLOTS_SOURCE,
            &[
                ("scan", SCAN_BINDINGS),
                ("place", PLACE_BINDINGS),
                ("place_windowed", PLACE_BINDINGS_WINDOWED),
                ("order", PLACE_BINDINGS_WINDOWED),
            ],
            slots,
            vec![("SCAN_WG", SCAN_WORKGROUP)],
        ),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_hold_a_sorted_symmetric_csr_and_static_ranks() {
        // (0,2) (2,1) (1,1) self-loop (2,0) repeat, (3,1)
        let pos = [[0, 2], [2, 1], [1, 1], [2, 0], [3, 1]];
        let t = PositiveTables::new(5, &pos).unwrap();
        assert_eq!(t.adj_ptr, vec![0, 1, 3, 5, 6, 6]);
        assert_eq!(t.adj_col, vec![2, 2, 3, 0, 1, 1]);
        assert_eq!(t.edges, 3);
        assert!(t.is_edge(0, 2) && t.is_edge(2, 0) && t.is_edge(1, 3) && !t.is_edge(1, 1));
        assert!(!t.is_edge(0, 1) && !t.is_edge(4, 0));
        // node 1's positive slots: 3 (pair 1 side 1), 4, 5 (the self pair), 9 (pair 4 side 1)
        assert_eq!(t.pos_count, vec![2, 4, 3, 1, 0]);
        assert_eq!(
            (t.pos_rank[3], t.pos_rank[4], t.pos_rank[5], t.pos_rank[9]),
            (0, 1, 2, 3)
        );
        assert_eq!(t.free_pairs(), 10 - 3);
        assert!(t.gpu_sampling());
        // K4 minus one edge: 5 of 6 pairs are edges, so the host's free list draws.
        let dense = [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3]];
        assert!(!PositiveTables::new(4, &dense).unwrap().gpu_sampling());
    }

    #[test]
    fn the_twin_follows_the_rules_and_the_probe_terminates() {
        // A star: node 0 is adjacent to everyone, so every pair with 0 is refused.
        let pos: Vec<[u32; 2]> = (1..9).map(|j| [0, j]).collect();
        let t = PositiveTables::new(9, &pos).unwrap();
        let got = draw_cpu(&t, 7, 3, 500);
        for p in got.chunks(2) {
            assert!(p[0] < p[1] && !t.is_edge(p[0], p[1]), "{p:?}");
        }
        assert_eq!(got, draw_cpu(&t, 7, 3, 500));
        assert_ne!(got, draw_cpu(&t, 7, 4, 500));
    }
}
