// Inner-product edge decoder over a pair list: per-pair loss and dL/ds. Host contract:
// src/kernels/decoder.rs. pairs = [i0, j0, i1, j1, …]; the first npos are positives.
//   s = z_i·z_j
//   positive: loss = softplus(−s)/npos,  grad = (σ(s) − 1)/npos = −σ(−s)/npos
//   negative: loss = softplus(s)/nneg,   grad = σ(s)/nneg
// A pair with an id ≥ n (the host rejects these) contributes 0 instead of reading out of bounds.
// Entry `windowed` reads a pair list too large for one binding through two (src/gpu/window.rs):
// elements < split from `pairs`, the rest from `pairs_hi`.
// score (the per-pair loss): shaders/lib/pair_score.wgsl; softplus, sigmoid, log1p_unit:
// shaders/lib/logistic.wgsl (the host module prepends both).

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
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read> pairs_hi: array<u32>;

fn pair_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = pair_index(gid, nwg);
    if p >= params.npos + params.nneg {
        return;
    }
    score(p, pairs[2u * p], pairs[2u * p + 1u]);
}

@compute @workgroup_size(WG)
fn windowed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let p = pair_index(gid, nwg);
    if p >= params.npos + params.nneg {
        return;
    }
    let q = 2u * p;
    if q < params.split {
        score(p, pairs[q], pairs[q + 1u]);
    } else {
        let h = q - params.split;
        score(p, pairs_hi[h], pairs_hi[h + 1u]);
    }
}
