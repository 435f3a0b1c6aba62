// The discriminator's output layer and its BCE loss, forward and backward, in one workgroup.
// Host contract: src/kernels/disc_out.rs. a2 is [rows × dh] (post-ReLU), w3 [dh], b3 [1].
//   s_r = a2[r]·w3 + b3;   rows r < fake are labelled 0, the rest 1; inv_n = 1/n:
//   label 0: loss_r = softplus(s_r)/n,  g_r = σ(s_r)/n;   label 1: loss_r = softplus(−s_r)/n,
//   g_r = −σ(−s_r)/n
//   losses[slot] = Σ_r loss_r
//   da2[r, j] = g_r · w3[j] · [a2[r, j] > 0]            (the ReLU backward of layer 2, fused)
//   with flag bit 0: dw3[j] = Σ_r g_r · a2[r, j],  db3 = Σ_r g_r
// Rows go in chunks of WG: lane t makes g of row base + t into workgroup memory; then entry
// e = slice·cols + col (cols = dh + 1, the last column standing for db3) sums rows
// base + slice, base + slice + S, … of the chunk into its own accumulator. Every sum has a
// fixed order (lanes, slices, then a fixed tree), so results are bit-reproducible.
// softplus, sigmoid, log1p_unit: shaders/lib/logistic.wgsl, which the host module prepends.

const WG: u32 = 256u;
// Accumulator entries: cols · slices ≤ ACC (the host checks dh + 1 ≤ ACC).
const ACC: u32 = 2048u;

struct Params {
    rows: u32,
    fake: u32,
    dh: u32,
    slot: u32,
    inv_n: f32,
    flags: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a2: array<f32>;
@group(0) @binding(2) var<storage, read> w3: array<f32>;
@group(0) @binding(3) var<storage, read> b3: array<f32>;
@group(0) @binding(4) var<storage, read_write> da2: array<f32>;
@group(0) @binding(5) var<storage, read_write> dw3: array<f32>;
@group(0) @binding(6) var<storage, read_write> db3: array<f32>;
@group(0) @binding(7) var<storage, read_write> losses: array<f32>;

var<workgroup> g_chunk: array<f32, WG>;
var<workgroup> partial: array<f32, WG>;
var<workgroup> acc: array<f32, ACC>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) t: u32) {
    let rows = params.rows;
    let dh = params.dh;
    let cols = dh + 1u;
    let slices = max(WG / cols, 1u);
    let entries = cols * slices;
    for (var e = t; e < entries; e += WG) {
        acc[e] = 0.0;
    }
    var loss = 0.0;
    for (var base = 0u; base < rows; base += WG) {
        let r = base + t;
        var g = 0.0;
        if r < rows {
            var s = b3[0];
            let o = r * dh;
            for (var j = 0u; j < dh; j++) {
                s += a2[o + j] * w3[j];
            }
            if r < params.fake {
                loss += softplus(s) * params.inv_n;
                g = sigmoid(s) * params.inv_n;
            } else {
                loss += softplus(-s) * params.inv_n;
                g = -sigmoid(-s) * params.inv_n;
            }
        }
        g_chunk[t] = g;
        workgroupBarrier();
        let chunk = min(WG, rows - base);
        for (var e = t; e < entries; e += WG) {
            let col = e % cols;
            let slice = e / cols;
            var sum = acc[e];
            for (var rr = slice; rr < chunk; rr += slices) {
                let gr = g_chunk[rr];
                if col < dh {
                    let i = (base + rr) * dh + col;
                    let x = a2[i];
                    sum += gr * x;
                    da2[i] = select(0.0, gr * w3[col], x > 0.0);
                } else {
                    sum += gr;
                }
            }
            acc[e] = sum;
        }
        workgroupBarrier();
    }
    partial[t] = loss;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
        if t < stride {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    if t == 0u {
        losses[params.slot] = partial[0];
    }
    if (params.flags & 1u) != 0u {
        for (var col = t; col < cols; col += WG) {
            var sum = 0.0;
            for (var slice = 0u; slice < slices; slice++) {
                sum += acc[slice * cols + col];
            }
            if col < dh {
                dw3[col] = sum;
            } else {
                db3[0] = sum;
            }
        }
    }
}
