// Binary cross-entropy on discriminator logits, per row, with dL/dlogit. Host contract:
// src/kernels/bce.rs. inv_n = 1/n.
//   disc (2n rows): rows 0..n fake (label 0): loss = softplus(s)/n,  grad = σ(s)/n
//                   rows n..2n real (label 1): loss = softplus(−s)/n, grad = (σ(s) − 1)/n
//   reg  (n rows, label 1):                    loss = softplus(−s)/n, grad = (σ(s) − 1)/n
// σ(s) − 1 is computed as −σ(−s) (no cancellation for large s).
// softplus, sigmoid, log1p_unit: shaders/lib/logistic.wgsl, which the host module prepends.

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
