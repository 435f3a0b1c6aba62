// out[slot] (=|+=) scale · Σ_{e<len} x[e], in one workgroup with a fixed summation order
// (so the result is bit-reproducible). Host contract: src/kernels/reduce.rs.
// Lane t sums x[t], x[t + WG], x[t + 2·WG], … in order; then a pairwise tree over the lanes.
// With has2, the same launch then sums a second vector: out[slot2] = scale2 · Σ_{e<len2} x2[e]
// (two loss scalars for one launch).

const WG: u32 = 256u;

struct Params {
    len: u32,
    slot: u32,
    accumulate: u32,
    scale: f32,
    len2: u32,
    slot2: u32,
    has2: u32,
    scale2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> x2: array<f32>;

var<workgroup> partial: array<f32, WG>;

// Pairwise tree over the lanes' partial sums; the total ends in partial[0].
fn tree(t: u32, acc: f32) {
    partial[t] = acc;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if t < stride {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
    var acc = 0.0;
    for (var e = t; e < params.len; e += WG) {
        acc += x[e];
    }
    tree(t, acc);
    if t == 0u {
        let r = params.scale * partial[0];
        if params.accumulate != 0u {
            out[params.slot] += r;
        } else {
            out[params.slot] = r;
        }
    }
    if params.has2 == 0u {
        return;
    }
    workgroupBarrier();
    var acc2 = 0.0;
    for (var e = t; e < params.len2; e += WG) {
        acc2 += x2[e];
    }
    tree(t, acc2);
    if t == 0u {
        out[params.slot2] = params.scale2 * partial[0];
    }
}
