// The decoder's per-pair loss and dL/ds (as decoder_loss.wgsl) with the epoch's negatives drawn
// here, on the GPU. Host contract: src/kernels/negatives.rs. pairs = [i0, j0, i1, j1, …]: the
// first npos are the training positives (uploaded once); pair npos + k is negative k, drawn as
// a pure function of (seed, epoch = clock.x, k):
//   attempt t = 0 .. attempts − 1: w = philox((k, epoch, stream, t), (seed_lo, seed_hi)),
//     a = ⌊w.x·n / 2³²⌋, b = ⌊w.y·n / 2³²⌋ (multiply-high: node bias ≤ n/2³² relative);
//     accepted when a ≠ b and {a, b} is not a training edge (binary search of b in row a of
//     the sorted symmetric CSR adj_ptr/adj_col of the training positives);
//   no attempt accepted: a deterministic linear probe from the last attempt's (a, b): partners
//     b + 1, b + 2, … (mod n) of a, then of a + 1, …, the first free pair (it terminates when
//     the graph has a free pair; the host refuses graphs without one).
// The pair is written as (min, max), and both endpoints are counted (u32 atomics: integer
// counts are order-independent) into `counts` for the slot lists (decoder_slots.wgsl).
//   s = z_i·z_j
//   positive: loss = softplus(−s)/npos,  grad = −σ(−s)/npos
//   negative: loss = softplus(s)/nneg,   grad = σ(s)/nneg
// Entry `windowed` reads and writes a pair list too large for one binding through two
// (src/gpu/window.rs): elements < split in `pairs`, the rest in `pairs_hi`.
// philox, mulhilo: shaders/lib/philox.wgsl; softplus, sigmoid: shaders/lib/logistic.wgsl;
// score (the per-pair loss): shaders/lib/pair_score.wgsl (all prepended by the host module).

override WG: u32 = 256u;

struct Params {
    n: u32,
    d: u32,
    npos: u32,
    nneg: u32,
    inv_pos: f32,
    inv_neg: f32,
    // elements of the pair list in `pairs` (entry `windowed` only; even)
    split: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    attempts: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// clock.x: the epoch index (the engine's clock buffer, bound as a uniform)
@group(0) @binding(1) var<uniform> clock: vec4<u32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> pairs: array<u32>;
@group(0) @binding(4) var<storage, read_write> loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;
@group(0) @binding(6) var<storage, read> adj_ptr: array<u32>;
@group(0) @binding(7) var<storage, read> adj_col: array<u32>;
@group(0) @binding(8) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(9) var<storage, read_write> pairs_hi: array<u32>;

fn pair_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

// Whether {a, b} is a training edge: b in a's sorted row of the symmetric CSR.
fn is_edge(a: u32, b: u32) -> bool {
    var lo = adj_ptr[a];
    var hi = adj_ptr[a + 1u];
    while lo < hi {
        let mid = lo + (hi - lo) / 2u;
        let c = adj_col[mid];
        if c == b {
            return true;
        }
        if c < b {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return false;
}

fn free_pair(a: u32, b: u32) -> bool {
    return a != b && !is_edge(a, b);
}

fn ordered(a: u32, b: u32) -> vec2<u32> {
    return vec2<u32>(min(a, b), max(a, b));
}

// Negative k of this epoch (see the header).
fn draw(k: u32) -> vec2<u32> {
    let n = params.n;
    let key = vec2<u32>(params.seed_lo, params.seed_hi);
    var a = 0u;
    var b = 0u;
    for (var t = 0u; t < params.attempts; t++) {
        let w = philox(vec4<u32>(k, clock.x, params.stream, t), key);
        a = mulhilo(w.x, n).x;
        b = mulhilo(w.y, n).x;
        if free_pair(a, b) {
            return ordered(a, b);
        }
    }
    for (var r = 0u; r < n; r++) {
        for (var j = 1u; j <= n; j++) {
            let c = (b + j) % n;
            if free_pair(a, c) {
                return ordered(a, c);
            }
        }
        a = (a + 1u) % n;
    }
    return vec2<u32>(0u, 0u); // unreachable with a free pair (the host checks)
}

// Negative p − npos, drawn and counted (its pair is written by the caller).
fn negative(p: u32) -> vec2<u32> {
    let e = draw(p - params.npos);
    atomicAdd(&counts[e.x], 1u);
    atomicAdd(&counts[e.y], 1u);
    return e;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = pair_index(gid, nwg);
    if p >= params.npos + params.nneg {
        return;
    }
    let q = 2u * p;
    if p >= params.npos {
        let e = negative(p);
        pairs[q] = e.x;
        pairs[q + 1u] = e.y;
        score(p, e.x, e.y);
    } else {
        score(p, pairs[q], pairs[q + 1u]);
    }
}

@compute @workgroup_size(WG)
fn windowed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = pair_index(gid, nwg);
    if p >= params.npos + params.nneg {
        return;
    }
    let q = 2u * p;
    if p >= params.npos {
        let e = negative(p);
        if q < params.split {
            pairs[q] = e.x;
            pairs[q + 1u] = e.y;
        } else {
            pairs_hi[q - params.split] = e.x;
            pairs_hi[q - params.split + 1u] = e.y;
        }
        score(p, e.x, e.y);
    } else if q < params.split {
        score(p, pairs[q], pairs[q + 1u]);
    } else {
        let h = q - params.split;
        score(p, pairs_hi[h], pairs_hi[h + 1u]);
    }
}
