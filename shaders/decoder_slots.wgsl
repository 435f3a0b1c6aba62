// The decoder gather's node-major slot lists (slot = 2p + side, see decoder_gather.wgsl) built on
// the GPU, deterministically, from the epoch's pair list. Host contract: src/kernels/negatives.rs.
// At the start of an epoch counts[i] holds node i's positive slots (static, uploaded once); the
// draw (decoder_sample.wgsl) adds its negatives' endpoints. Then:
//   `scan` (one workgroup): slot_ptr = exclusive prefix sum of counts, slot_ptr[n] = total;
//   `place` (one invocation per slot q, whose node is pairs[q]): a positive slot goes to
//     slot_ptr[node] + pos_rank[q] (its static rank: positives stay in ascending order at the
//     head of the node's segment); a negative slot to slot_ptr[node] + atomicSub(counts[node])
//     − 1, i.e. the node's tail, in whatever order the atomics run. The subtractions leave
//     counts at the positive counts again, ready for the next epoch: no reset launch.
//   `order` (one invocation per node): heapsorts the node's tail in place, so every segment
//     ascends like the host-built lists (decoder::pair_slots) and the gather's sum over a node
//     has one order, on every device, bit for bit. In place, O(m log m) steps for a tail of m
//     (the gather once sorted tails itself, in private memory or by an O(m²) selection walk:
//     Mesa 22's llvmpipe ends every loop of an invocation after 65535 iterations in all, which
//     cut that walk short, and its GL path did not sort private arrays reproducibly).
// Entries `place_windowed` and `order` read pairs and read or write slots through two windows
// each (src/gpu/window.rs): elements < pairs_split / slots_split in the first, the rest in
// `_hi`; `order` binds what `place_windowed` binds (it uses a subset).

override WG: u32 = 256u;
// The scan's workgroup (one, whatever n).
const SCAN_WG: u32 = 256u;

struct Params {
    n: u32,
    // 2 · npos: slots below it are positive
    pos_slots: u32,
    // 2 · (npos + nneg)
    num_slots: u32,
    pairs_split: u32,
    slots_split: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> slot_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> pairs: array<u32>;
@group(0) @binding(4) var<storage, read> pos_rank: array<u32>;
@group(0) @binding(5) var<storage, read_write> slots: array<u32>;
@group(0) @binding(6) var<storage, read> pairs_hi: array<u32>;
@group(0) @binding(7) var<storage, read_write> slots_hi: array<u32>;

var<workgroup> part: array<u32, SCAN_WG>;

// Invocation t sums the t-th contiguous block of counts, the workgroup scans the 256 block
// sums (Hillis–Steele), and each invocation writes its block's pointers.
@compute @workgroup_size(SCAN_WG)
fn scan(@builtin(local_invocation_index) t: u32) {
    let n = params.n;
    let per = (n + SCAN_WG - 1u) / SCAN_WG;
    let lo = min(t * per, n);
    let hi = min(lo + per, n);
    var sum = 0u;
    for (var i = lo; i < hi; i++) {
        sum += atomicLoad(&counts[i]);
    }
    part[t] = sum;
    workgroupBarrier();
    for (var off = 1u; off < SCAN_WG; off <<= 1u) {
        var v = 0u;
        if t >= off {
            v = part[t - off];
        }
        workgroupBarrier();
        part[t] += v;
        workgroupBarrier();
    }
    var run = part[t] - sum;
    for (var i = lo; i < hi; i++) {
        slot_ptr[i] = run;
        run += atomicLoad(&counts[i]);
    }
    if t == SCAN_WG - 1u {
        slot_ptr[n] = part[t];
    }
}

fn slot_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// Where slot q (node `node`) goes; num_slots (nothing written) for a node out of range.
fn position(q: u32, node: u32) -> u32 {
    if node >= params.n {
        return params.num_slots;
    }
    if q < params.pos_slots {
        return slot_ptr[node] + pos_rank[q];
    }
    return slot_ptr[node] + atomicSub(&counts[node], 1u) - 1u;
}

@compute @workgroup_size(WG)
fn place(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = slot_index(gid, nwg);
    if q >= params.num_slots {
        return;
    }
    let at = position(q, pairs[q]);
    if at < params.num_slots {
        slots[at] = q;
    }
}

@compute @workgroup_size(WG)
fn place_windowed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = slot_index(gid, nwg);
    if q >= params.num_slots {
        return;
    }
    var node: u32;
    if q < params.pairs_split {
        node = pairs[q];
    } else {
        node = pairs_hi[q - params.pairs_split];
    }
    let at = position(q, node);
    if at < params.slots_split {
        slots[at] = q;
    } else if at < params.num_slots {
        slots_hi[at - params.slots_split] = q;
    }
}

// The tail [lo, hi) of node i's segment (empty for i out of range). After `place` the counts
// are the positive counts again, so the tail starts that far into the segment.
fn tail_of(gid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let i = slot_index(gid, nwg);
    if i >= params.n {
        return vec2<u32>(0u, 0u);
    }
    let lo = slot_ptr[i] + atomicLoad(&counts[i]);
    return vec2<u32>(lo, max(lo, min(slot_ptr[i + 1u], params.num_slots)));
}

// Heapsort through the two windows (one entry for both cases: a list that fits one binding
// has slots_split = num_slots, so slots_hi, bound to a 4-byte stand-in, is never touched).
fn slot_at_win(q: u32) -> u32 {
    if q < params.slots_split {
        return slots[q];
    }
    return slots_hi[q - params.slots_split];
}

fn set_slot_win(q: u32, v: u32) {
    if q < params.slots_split {
        slots[q] = v;
    } else {
        slots_hi[q - params.slots_split] = v;
    }
}

fn sift_win(lo: u32, start: u32, end: u32) {
    var root = start;
    loop {
        var c = 2u * root + 1u;
        if c >= end {
            break;
        }
        if c + 1u < end {
            if slot_at_win(lo + c) < slot_at_win(lo + c + 1u) {
                c += 1u;
            }
        }
        let r = slot_at_win(lo + root);
        let v = slot_at_win(lo + c);
        if r >= v {
            break;
        }
        set_slot_win(lo + root, v);
        set_slot_win(lo + c, r);
        root = c;
    }
}

@compute @workgroup_size(WG)
fn order(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = tail_of(gid, nwg);
    let m = t.y - t.x;
    for (var s = m / 2u; s > 0u; s--) {
        sift_win(t.x, s - 1u, m);
    }
    for (var e = m; e > 1u; e--) {
        let top = slot_at_win(t.x);
        set_slot_win(t.x, slot_at_win(t.x + e - 1u));
        set_slot_win(t.x + e - 1u, top);
        sift_win(t.x, 0u, e - 1u);
    }
}
