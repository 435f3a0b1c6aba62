//! GPU negatives (`kernels::negatives`): the draw against its CPU twin (same Philox, mapping
//! and retry), the GPU-built slot lists against `decoder::pair_slots`, the gather over them
//! against the gather over host-built lists (bit for bit), the sampling rules and uniformity,
//! and the engine with GPU negatives against the engine fed the twin's pairs.

use std::collections::BTreeMap;

use argva::doctor::harness::{self, NegativesRun};
use argva::gpu::{GpuBuffer, GpuContext, submit};
use argva::kernels::negatives::{self, PositiveTables, Tables};
use argva::kernels::{decoder, rng::philox4x32_10};
use argva::testing::{assert_close, rng, to_f64, uniform_f32};
use rand::RngExt;

use crate::{ctx, small_binding_ctx};

/// `edges` distinct random training edges `[i, j]`, `i < j`, over `n` nodes.
fn random_edges(seed: u64, n: usize, edges: usize) -> Vec<[u32; 2]> {
    let mut r = rng(seed);
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < edges {
        let (a, b) = (r.random_range(0..n as u32), r.random_range(0..n as u32));
        if a != b && seen.insert((a.min(b), a.max(b))) {
            out.push([a.min(b), a.max(b)]);
        }
    }
    out
}

/// What one submission of the five launches left in every buffer.
type Out = NegativesRun;

/// The reconstruction with GPU negatives on `ctx` (`doctor::harness::negatives`: every output
/// poisoned first, the positive head of `pairs` written, its tail poisoned).
#[allow(clippy::too_many_arguments)]
fn run(
    ctx: &GpuContext,
    t: &PositiveTables,
    z: &[f32],
    d: usize,
    nneg: usize,
    seed: u64,
    epoch: u32,
    attempts: u32,
) -> Out {
    let out = pollster::block_on(harness::negatives(
        ctx,
        t,
        z,
        d,
        nneg,
        (seed, epoch),
        attempts,
    ));
    assert!(ctx.take_uncaptured_error().is_none());
    out.unwrap()
}

/// The gather over host-built (`pair_slots`) lists of `pairs`, with the given `grad`.
fn host_gather(
    ctx: &GpuContext,
    z: &[f32],
    pairs: &[u32],
    grad: &[f32],
    n: usize,
    d: usize,
) -> Vec<f32> {
    let (ptr, slots) = decoder::pair_slots(n, pairs).unwrap();
    let zb = GpuBuffer::from_slice(ctx, "z", z).unwrap();
    let pb = GpuBuffer::from_slice(ctx, "pairs", pairs).unwrap();
    let ptrb = GpuBuffer::from_slice(ctx, "slot_ptr", &ptr).unwrap();
    let sb = GpuBuffer::from_slice(ctx, "slots", &slots).unwrap();
    let gb = GpuBuffer::from_slice(ctx, "grad", grad).unwrap();
    let dz = GpuBuffer::<f32>::zeros(ctx, "dz", n * d).unwrap();
    dz.poison(ctx);
    let g = decoder::gather(
        ctx,
        (&zb).into(),
        (&pb).into(),
        (&ptrb).into(),
        (&sb).into(),
        (&gb).into(),
        (&dz).into(),
        n,
        d,
        false,
    )
    .unwrap();
    submit(ctx, "host gather", &[&g]);
    dz.read_blocking(ctx).unwrap()
}

// (n, edges, d, nneg): pair counts straddling the workgroup size, n not a multiple of 256 and
// above it (the scan's blocks), a graph without edges, a 2-node graph.
const CASES: &[(usize, usize, usize, usize)] = &[
    (2, 0, 3, 5),
    (7, 6, 5, 9),
    (40, 130, 8, 127),
    (301, 600, 16, 601),
    (1000, 1500, 9, 1500),
];

fn check_case(ctx: &GpuContext, case: usize, attempts: u32) {
    check(ctx, case as u64, CASES[case], attempts)
}

fn check(
    ctx: &GpuContext,
    case: u64,
    (n, e, d, nneg): (usize, usize, usize, usize),
    attempts: u32,
) {
    let pos = random_edges(case, n, e);
    let t = PositiveTables::new(n, &pos).unwrap();
    let z = uniform_f32(&mut rng(40 + case), n * d, -0.8, 0.8);
    let (seed, epoch) = (0x1234_5678_9abc + case, 3 + case as u32);
    let got = run(ctx, &t, &z, d, nneg, seed, epoch, attempts);
    let what = format!("n={n} edges={e} nneg={nneg} attempts={attempts}");
    // The draw: the twin's pairs exactly, after the untouched positives.
    let neg = negatives::draw_cpu_attempts(&t, seed, epoch, nneg, attempts);
    assert_eq!(&got.pairs[..2 * e], &t.pairs[..], "{what}: positives");
    assert_eq!(&got.pairs[2 * e..], &neg[..], "{what}: negatives");
    // The loss of every pair, as the decoder's twin computes it.
    let (loss, grad) = decoder::pair_loss_cpu(&to_f64(&z), &got.pairs, d, e, nneg);
    assert_close(&format!("{what}: loss"), &got.loss, &loss, 1e-5, 1e-8);
    assert_close(&format!("{what}: grad"), &got.grad, &grad, 1e-5, 1e-8);
    // The slot lists: pair_slots' lists exactly (after `order`, every node's slots ascend).
    let (ptr, slots) = decoder::pair_slots(n, &got.pairs).unwrap();
    assert_eq!(got.slot_ptr, ptr, "{what}: slot_ptr");
    for i in 0..n {
        let (a, b) = (ptr[i] as usize, ptr[i + 1] as usize);
        assert_eq!(got.slots[a..b], slots[a..b], "{what}: node {i}'s slots");
    }
    // The counts are back at the positives', ready for the next epoch.
    assert_eq!(got.counts, t.pos_count, "{what}: counts restored");
    // dz over the GPU-built lists is the dz over host-built lists, bit for bit.
    let host = host_gather(ctx, &z, &got.pairs, &got.grad, n, d);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got.dz), bits(&host), "{what}: dz");
    let dz = decoder::gather_cpu(&to_f64(&z), &got.pairs, &to_f64(&got.grad), n, d);
    // (f32 sums of up to hundreds of terms: the probe alone repeats pairs, so a node may see
    // many)
    assert_close(&format!("{what}: dz vs twin"), &got.dz, &dz, 1e-4, 1e-5);
}

#[test]
fn the_gpu_draw_and_slot_lists_match_their_twins() {
    for case in 0..CASES.len() {
        check_case(ctx(), case, negatives::ATTEMPTS);
    }
}

/// With no random attempt every negative comes from the linear probe (from (0, 0): all the same
/// pair, so two nodes get tails of hundreds of slots): still the twin's.
#[test]
fn the_probe_alone_matches_the_twin() {
    for case in 0..CASES.len() {
        check_case(ctx(), case, 0);
    }
    // A star: every draw that hits the hub is refused, some many times over.
    let pos: Vec<[u32; 2]> = (1..300).map(|j| [0, j]).collect();
    let t = PositiveTables::new(300, &pos).unwrap();
    let z = uniform_f32(&mut rng(3), 300 * 4, -1.0, 1.0);
    for attempts in [0, 1, 2] {
        let got = run(ctx(), &t, &z, 4, 700, 5, 1, attempts);
        let neg = negatives::draw_cpu_attempts(&t, 5, 1, 700, attempts);
        assert_eq!(
            &got.pairs[2 * pos.len()..],
            &neg[..],
            "star, {attempts} attempts"
        );
    }
}

/// The same bits in every buffer: `order` leaves each node's slots ascending, whatever order
/// the atomics placed them in.
fn same_results(a: &Out, b: &Out, what: &str) {
    assert_eq!(a.pairs, b.pairs, "{what}: pairs");
    assert_eq!(a.slot_ptr, b.slot_ptr, "{what}: slot_ptr");
    assert_eq!(a.counts, b.counts, "{what}: counts");
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a.loss), bits(&b.loss), "{what}: loss");
    assert_eq!(bits(&a.grad), bits(&b.grad), "{what}: grad");
    assert_eq!(bits(&a.dz), bits(&b.dz), "{what}: dz");
    assert_eq!(a.slots, b.slots, "{what}: slots");
}

/// Pair and slot lists past one binding (8 KiB): the windowed entries give the same bits.
#[test]
fn lists_past_one_binding_match_whole_lists() {
    // z and the per-node arrays fit 8 KiB; pairs and slots need two windows.
    for (case, (n, e, d, nneg)) in [(700, 1000, 2, 1000), (301, 600, 2, 601)]
        .into_iter()
        .enumerate()
    {
        assert!((2 * (e + nneg) * 4) as u64 > small_binding_ctx().max_binding_bytes());
        let pos = random_edges(60 + case as u64, n, e);
        let t = PositiveTables::new(n, &pos).unwrap();
        let z = uniform_f32(&mut rng(7), n * d, -1.0, 1.0);
        let whole = run(ctx(), &t, &z, d, nneg, 11, 2, negatives::ATTEMPTS);
        let split = run(
            small_binding_ctx(),
            &t,
            &z,
            d,
            nneg,
            11,
            2,
            negatives::ATTEMPTS,
        );
        same_results(&split, &whole, &format!("n={n}, windowed vs whole"));
        // Random attempts (tails of a few slots) and the probe alone (every negative the same
        // pair: two tails of nneg slots, sorted across both windows).
        for attempts in [negatives::ATTEMPTS, 0] {
            check(
                small_binding_ctx(),
                60 + case as u64,
                (n, e, d, nneg),
                attempts,
            );
        }
    }
}

/// Same (seed, epoch): the same pairs and bits run after run; another epoch or seed: others.
#[test]
fn draws_are_a_pure_function_of_seed_and_epoch() {
    let (n, e, d, nneg) = CASES[3];
    let pos = random_edges(9, n, e);
    let t = PositiveTables::new(n, &pos).unwrap();
    let z = uniform_f32(&mut rng(8), n * d, -1.0, 1.0);
    let a = run(ctx(), &t, &z, d, nneg, 42, 7, negatives::ATTEMPTS);
    let b = run(ctx(), &t, &z, d, nneg, 42, 7, negatives::ATTEMPTS);
    same_results(&a, &b, "run twice");
    let c = run(ctx(), &t, &z, d, nneg, 42, 8, negatives::ATTEMPTS);
    let s = run(ctx(), &t, &z, d, nneg, 43, 7, negatives::ATTEMPTS);
    assert_ne!(a.pairs, c.pairs);
    assert_ne!(a.pairs, s.pairs);
    // The stream is not one of the noise streams: epoch 7's first words differ from ε's.
    let w = philox4x32_10([0, 7, negatives::STREAM_NEGATIVES, 0], [42, 0]);
    assert_ne!(w, philox4x32_10([0, 7, 0, 0], [42, 0]));
}

/// The rules (no self pair, no training edge, i < j) and uniformity over the free pairs:
/// 60 000 draws over the 714 free pairs of a 40-node, 66-edge graph. Pearson's statistic
/// Σ (O − E)²/E over the free pairs (E = 60 000/714 ≈ 84 each) is χ² with 713 degrees of
/// freedom for a uniform sampler: mean 713, sd √1426 ≈ 38; the test refuses above
/// dof + 5·sd ≈ 902 (and below dof − 5·sd, too regular to be random). Per node too: the
/// endpoint counts against E_i = nneg·(n − 1 − deg_i)/F, 39 dof, refused past 39 + 5·√78.
#[test]
fn draws_follow_the_rules_and_are_uniform_over_free_pairs() {
    let (n, e, nneg) = (40usize, 66usize, 60_000usize);
    let pos = random_edges(77, n, e);
    let t = PositiveTables::new(n, &pos).unwrap();
    let z = vec![0.0f32; n];
    let got = run(ctx(), &t, &z, 1, nneg, 2024, 0, negatives::ATTEMPTS);
    let neg = &got.pairs[2 * e..];
    let mut per_pair = BTreeMap::<(u32, u32), usize>::new();
    let mut per_node = vec![0usize; n];
    for p in neg.chunks(2) {
        let (a, b) = (p[0], p[1]);
        assert!(a < b, "({a}, {b}) not ordered / a self pair");
        assert!(!t.is_edge(a, b), "({a}, {b}) is a training edge");
        *per_pair.entry((a, b)).or_default() += 1;
        per_node[a as usize] += 1;
        per_node[b as usize] += 1;
    }
    let free = t.free_pairs() as usize;
    assert_eq!(free, n * (n - 1) / 2 - e);
    let expected = nneg as f64 / free as f64;
    let mut chi2 = 0.0;
    for a in 0..n as u32 {
        for b in a + 1..n as u32 {
            if !t.is_edge(a, b) {
                let o = per_pair.get(&(a, b)).copied().unwrap_or(0) as f64;
                chi2 += (o - expected).powi(2) / expected;
            }
        }
    }
    let dof = (free - 1) as f64;
    let sd = (2.0 * dof).sqrt();
    assert!(
        (dof - 5.0 * sd..dof + 5.0 * sd).contains(&chi2),
        "pairs: χ² = {chi2:.1} with {dof} dof"
    );
    let mut chi2_nodes = 0.0;
    for (i, &o) in per_node.iter().enumerate() {
        let deg = (t.adj_ptr[i + 1] - t.adj_ptr[i]) as f64;
        let want = nneg as f64 * (n as f64 - 1.0 - deg) / free as f64;
        chi2_nodes += (o as f64 - want).powi(2) / want;
    }
    let dof = (n - 1) as f64;
    assert!(
        chi2_nodes < dof + 5.0 * (2.0 * dof).sqrt(),
        "nodes: χ² = {chi2_nodes:.1} with {dof} dof"
    );
    eprintln!("uniformity: pairs χ² = {chi2:.1} (713 dof), nodes χ² = {chi2_nodes:.1} (39 dof)");
}

#[test]
fn bad_arguments_are_typed_errors() {
    let ctx = ctx();
    let t = PositiveTables::new(4, &[[0, 1]]).unwrap();
    let plain = GpuBuffer::<u32>::zeros(ctx, "clock", 4).unwrap();
    let buf = GpuBuffer::<u32>::zeros(ctx, "b", 64).unwrap();
    let f = GpuBuffer::<f32>::zeros(ctx, "f", 64).unwrap();
    let tables = Tables {
        adj_ptr: (&buf).into(),
        adj_col: (&buf).into(),
        pos_rank: (&buf).into(),
        counts: (&buf).into(),
    };
    let err = negatives::sample_loss(
        ctx,
        &plain,
        (&f).into(),
        (&buf).into(),
        (&f).into(),
        (&f).into(),
        tables,
        4,
        2,
        (1, 3),
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("uniform"), "{err}");
    assert!(PositiveTables::new(3, &[[0, 3]]).is_err());
    assert!(t.gpu_sampling());
}
