// Backward of the inner-product decoder without atomics. Host contract: src/kernels/decoder.rs.
// Every pair p = (i, j) is listed under both endpoints in a node-major CSR (slot_ptr, slots),
// slot = 2p + side (side 0: the node is i, side 1: it is j):
//   dz[i, k] (+)= Σ over i's slots, in CSR order, of grad[p] · z[other, k]
// A self-pair (i, i) has two slots, so it contributes 2·grad·z_i, the derivative of z_i·z_i.
// This is a sparse × dense product (spmm.wgsl) whose non-zeros are looked up through the pair
// list, laid out the same way: invocation i owns node i / nq and the 8 columns 8·(i % nq) .. +7
// (nq = ⌈d/8⌉), so a node's slot walk is shared by 8 columns (one invocation per element walked
// it d times: 5× slower at 1 M nodes on lavapipe) and z rows are read 8 floats at a time. Tail
// columns read a clamped, valid column and are not written.
// Entry `windowed` reads pair and slot lists too large for one binding through two each
// (src/gpu/window.rs): elements < pairs_split / slots_split from the first, the rest from `_hi`.
// Every node's slots ascend (host-built lists by construction, GPU-built ones once
// decoder_slots.wgsl's `order` has run), so the sum over a node has one fixed order.

override WG: u32 = 256u;
// Output columns per invocation (host: decoder::GATHER_COLS; the loads below are written
// out for exactly 8).
const CPI: u32 = 8u;

struct Params {
    n: u32,
    d: u32,
    accumulate: u32,
    num_pairs: u32,
    // entry `windowed` only: elements in the first window of each list, and the slot count
    pairs_split: u32,
    slots_split: u32,
    num_slots: u32,
    // ⌈d / 8⌉
    nq: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;
@group(0) @binding(3) var<storage, read> slot_ptr: array<u32>;
@group(0) @binding(4) var<storage, read> slots: array<u32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;
@group(0) @binding(7) var<storage, read> pairs_hi: array<u32>;
@group(0) @binding(8) var<storage, read> slots_hi: array<u32>;

struct Slot {
    node: u32,
    k0: u32,
    ks: array<u32, CPI>,
    valid: bool,
}

fn slot_of(gid: vec3<u32>, nwg: vec3<u32>) -> Slot {
    var s: Slot;
    let i = gid.x + gid.y * nwg.x * WG;
    s.node = i / params.nq;
    s.valid = s.node < params.n && params.d > 0u;
    s.k0 = (i % params.nq) * CPI;
    let last = max(params.d, 1u) - 1u;
    for (var t = 0u; t < CPI; t++) {
        s.ks[t] = min(s.k0 + t, last);
    }
    return s;
}

// acc += grad[p] · z[other, ks] (nothing for a pair or node out of range).
fn add_term(acc: ptr<function, array<vec4<f32>, 2>>, s: Slot, p: u32, other: u32) {
    if p >= params.num_pairs || other >= params.n {
        return;
    }
    let g = grad[p];
    let o = other * params.d;
    let ks = s.ks;
    (*acc)[0] += g * vec4<f32>(z[o + ks[0]], z[o + ks[1]], z[o + ks[2]], z[o + ks[3]]);
    (*acc)[1] += g * vec4<f32>(z[o + ks[4]], z[o + ks[5]], z[o + ks[6]], z[o + ks[7]]);
}

fn store(s: Slot, acc: array<vec4<f32>, 2>) {
    let sums = array<f32, CPI>(acc[0].x, acc[0].y, acc[0].z, acc[0].w, acc[1].x, acc[1].y, acc[1].z, acc[1].w);
    for (var t = 0u; t < CPI; t++) {
        let k = s.k0 + t;
        if k < params.d {
            let idx = s.node * params.d + k;
            var v = sums[t];
            if params.accumulate != 0u {
                v += dz[idx];
            }
            dz[idx] = v;
        }
    }
}

fn slot_main(q: u32) -> u32 {
    return slots[q];
}

fn other_main(slot: u32) -> u32 {
    // (clamped read: an out-of-range p contributes nothing in add_term)
    return pairs[min(2u * (slot >> 1u) + 1u - (slot & 1u), arrayLength(&pairs) - 1u)];
}

fn slot_win(q: u32) -> u32 {
    if q < params.slots_split {
        return slots[q];
    }
    return slots_hi[q - params.slots_split];
}

fn other_win(slot: u32) -> u32 {
    let e = min(2u * (slot >> 1u) + 1u - (slot & 1u), 2u * params.num_pairs - 1u);
    if e < params.pairs_split {
        return pairs[e];
    }
    return pairs_hi[e - params.pairs_split];
}

// The two entries differ only in how they read a slot and the other endpoint. They are written
// out twice on purpose: WGSL counts a binding as used by an entry point if any function it calls
// names it, so a shared walk with a `windowed` flag would make `main` need pairs_hi/slots_hi too
// (and the 8-binding layout of a whole-list launch would no longer fit).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = slot_of(gid, nwg);
    if !s.valid {
        return;
    }
    var acc = array<vec4<f32>, 2>();
    let end = min(slot_ptr[s.node + 1u], arrayLength(&slots));
    for (var q = slot_ptr[s.node]; q < end; q++) {
        let slot = slot_main(q);
        add_term(&acc, s, slot >> 1u, other_main(slot));
    }
    store(s, acc);
}

@compute @workgroup_size(WG)
fn windowed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = slot_of(gid, nwg);
    if !s.valid {
        return;
    }
    var acc = array<vec4<f32>, 2>();
    let end = min(slot_ptr[s.node + 1u], params.num_slots);
    for (var q = slot_ptr[s.node]; q < end; q++) {
        let slot = slot_win(q);
        add_term(&acc, s, slot >> 1u, other_win(slot));
    }
    store(s, acc);
}
