// The discriminator's output layer and its BCE loss, forward and backward, row-parallel.
// Host contract: src/kernels/disc_out.rs. a2 is [rows × dh] (post-ReLU), w3 [dh], b3 [1].
//   s_r = a2[r]·w3 + b3;   rows r < fake are labelled 0, the rest 1; inv_n = 1/n:
//   label 0: loss_r = softplus(s_r)/n,  g_r = σ(s_r)/n;   label 1: loss_r = softplus(−s_r)/n,
//   g_r = −σ(−s_r)/n
//   da2[r, j] = g_r · w3[j] · [a2[r, j] > 0]            (the ReLU backward of layer 2, fused)
// and, per workgroup w of WG rows, partial sums (row w + base of the partials table, whose
// columns are `stride` apart): column 0 Σ loss_r; with flag bit 0 also column 1 Σ g_r (db3)
// and column 2 + j Σ g_r · a2[r, j] (dw3[j]). Whoever needs the totals sums a column over the
// workgroups in order (the optimizer step, shaders/adam.wgsl): every sum has a fixed order,
// so results are bit-reproducible, and no launch is spent on the reduction.
// softplus, sigmoid, log1p_unit: shaders/lib/logistic.wgsl, which the host module prepends.

// Rows per workgroup (a const: it sizes workgroup memory; host: disc_out::ROWS_PER_WORKGROUP).
const WG: u32 = 64u;

struct Params {
    rows: u32,
    fake: u32,
    dh: u32,
    // first partials row this launch writes, and the table's column stride
    base: u32,
    stride: u32,
    inv_n: f32,
    flags: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a2: array<f32>;
@group(0) @binding(2) var<storage, read> w3: array<f32>;
@group(0) @binding(3) var<storage, read> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> da2: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

var<workgroup> g_rows: array<f32, WG>;
var<workgroup> loss_rows: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = wid.x + wid.y * nwg.x;
    let first = w * WG;
    if first >= params.rows {
        return; // a whole workgroup past the end (folded grids): uniform, before any barrier
    }
    let dh = params.dh;
    let r = first + t;
    var g = 0.0;
    var loss = 0.0;
    if r < params.rows {
        var s = b3[0];
        let o = r * dh;
        for (var j = 0u; j < dh; j++) {
            s += a2[o + j] * w3[j];
        }
        if r < params.fake {
            loss = softplus(s) * params.inv_n;
            g = sigmoid(s) * params.inv_n;
        } else {
            loss = softplus(-s) * params.inv_n;
            g = -sigmoid(-s) * params.inv_n;
        }
        for (var j = 0u; j < dh; j++) {
            da2[o + j] = select(0.0, g * w3[j], a2[o + j] > 0.0);
        }
    }
    g_rows[t] = g;
    loss_rows[t] = loss;
    workgroupBarrier();
    let rows_here = min(WG, params.rows - first);
    let columns = select(1u, dh + 2u, (params.flags & 1u) != 0u);
    let row = params.base + w;
    for (var c = t; c < columns; c += WG) {
        var sum = 0.0;
        if c == 0u {
            for (var rr = 0u; rr < rows_here; rr++) {
                sum += loss_rows[rr];
            }
        } else if c == 1u {
            for (var rr = 0u; rr < rows_here; rr++) {
                sum += g_rows[rr];
            }
        } else {
            let j = c - 2u;
            for (var rr = 0u; rr < rows_here; rr++) {
                sum += g_rows[rr] * a2[(first + rr) * dh + j];
            }
        }
        partials[c * params.stride + row] = sum;
    }
}
