// Column sums (the bias gradient): out[j] (+)= Σ_r m[r·cols + j]. Host contract:
// src/kernels/colsum.rs.
//
// A workgroup owns CW = params.cw columns (a power of two ≤ 8) and splits the rows into
// WG / CW slices: thread t sums column t % CW over rows slice, slice + S, ... (S = WG / CW),
// then thread t < CW adds the S partials in slice order. Every sum has a fixed order, so
// results are bit-reproducible without atomics. With few columns the slices keep every lane
// (and, through more workgroups, every core) busy; one thread per column left a single
// workgroup summing 5416 rows serially.

override WG: u32 = 64u;

struct Params {
    rows: u32,
    cols: u32,
    accumulate: u32,
    cw: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> m: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let cw = params.cw;
    let slices = WG / cw;
    let j = (wid.x + wid.y * nwg.x) * cw + t % cw;
    let cols = params.cols;
    var sum = 0.0;
    if j < cols {
        for (var r = t / cw; r < params.rows; r += slices) {
            sum += m[r * cols + j];
        }
    }
    partial[t] = sum;
    workgroupBarrier();
    if t >= cw || j >= cols {
        return;
    }
    var total = 0.0;
    for (var s = 0u; s < slices; s++) {
        total += partial[s * cw + t];
    }
    if params.accumulate != 0u {
        total += out[j];
    }
    out[j] = total;
}
