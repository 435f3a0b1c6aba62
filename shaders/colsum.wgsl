// Column sums (the bias gradient): out[j] (+)= Σ_r m[r·cols + j]. Host contract:
// src/kernels/colsum.rs.
//
// One invocation per column, summing rows in order: a fixed order, so bit-reproducible.
// Neighbouring invocations read neighbouring columns of the same row (contiguous loads).
// With cols ≤ 64 and a few thousand rows this is a few µs of work, below a dispatch's cost.

override WG: u32 = 64u;

struct Params {
    rows: u32,
    cols: u32,
    accumulate: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.x + gid.y * nwg.x * WG;
    let cols = params.cols;
    if j >= cols {
        return;
    }
    var sum = 0.0;
    for (var r = 0u; r < params.rows; r++) {
        sum += m[r * cols + j];
    }
    if params.accumulate != 0u {
        sum += out[j];
    }
    out[j] = sum;
}
