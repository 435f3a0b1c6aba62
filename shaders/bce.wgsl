// Binary cross-entropy on discriminator logits, per row, with dL/dlogit. Host contract:
// src/kernels/bce.rs. inv_n = 1/n.
//   disc (2n rows): rows 0..n fake (label 0): loss = softplus(s)/n,  grad = σ(s)/n
//                   rows n..2n real (label 1): loss = softplus(−s)/n, grad = (σ(s) − 1)/n
//   reg  (n rows, label 1):                    loss = softplus(−s)/n, grad = (σ(s) − 1)/n
// σ(s) − 1 is computed as −σ(−s) (no cancellation for large s).

override WG: u32 = 256u;

struct Params {
    n: u32,
    inv_n: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> loss: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad: array<f32>;

// log(1 + y) for y in [0, 1] to f32 relative precision: log1p(y) = 2·atanh(w),
// w = y/(2 + y) ≤ 1/3, as its odd series. Computing log(1 + y) directly loses y to rounding
// (and `log` near 1 is only accurate in absolute terms on some drivers), which would round
// softplus of a confidently-correct logit to garbage in relative terms.
fn log1p_unit(y: f32) -> f32 {
    let w = y / (2.0 + y);
    let w2 = w * w;
    var series = 1.0 / 19.0;
    for (var k = 8; k >= 0; k--) {
        series = series * w2 + 1.0 / f32(2 * k + 1);
    }
    return 2.0 * w * series;
}

fn softplus(x: f32) -> f32 {
    return max(x, 0.0) + log1p_unit(exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

// Row r with label `real`.
fn row(r: u32, real: bool) {
    let s = logits[r];
    if real {
        loss[r] = softplus(-s) * params.inv_n;
        grad[r] = -sigmoid(-s) * params.inv_n;
    } else {
        loss[r] = softplus(s) * params.inv_n;
        grad[r] = sigmoid(s) * params.inv_n;
    }
}

@compute @workgroup_size(WG)
fn disc(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WG;
    if r >= 2u * params.n {
        return;
    }
    row(r, r >= params.n);
}

@compute @workgroup_size(WG)
fn reg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.x + gid.y * nwg.x * WG;
    if r >= params.n {
        return;
    }
    row(r, true);
}
