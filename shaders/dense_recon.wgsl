// Dense reconstruction loss of the original ARGA/GAE code (`--recon dense`), fused with its
// gradient so the N×N matrices S = Z·Zᵀ and dS are never stored. Host contract:
// src/kernels/dense_recon.rs. One invocation per row i:
//   s_ij = z_i·z_j,  y_ij = [j in row i of Y = A_train + I]  (label CSR, columns sorted)
//   loss_i = c · Σ_j [ pos_weight·y·softplus(−s) + (1 − y)·softplus(s) ],   c = norm / N²
//   dz_i (+)= Σ_j 2·dS_ij·z_j,  dS_ij = c·[ (1 − y)·σ(s) − pos_weight·y·(1 − σ(s)) ]
// (dS is symmetric because Y is, so (dS + dSᵀ)·Z = 2·dS·Z.)
// softplus, sigmoid, log1p_unit: shaders/lib/logistic.wgsl, which the host module prepends.

override WG: u32 = 64u;
// Largest latent width supported (accumulators live in registers).
const MAX_D: u32 = 128u;

struct Params {
    n: u32,
    d: u32,
    accumulate: u32,
    _pad: u32,
    pos_weight: f32,
    scale: f32, // c = norm / N²
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> label_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> label_col: array<u32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss_rows: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let n = params.n;
    let d = params.d;
    if i >= n {
        return;
    }
    var acc: array<f32, MAX_D>;
    for (var k = 0u; k < d; k++) {
        acc[k] = 0.0;
    }
    var loss = 0.0;
    var p = label_ptr[i];
    let end = label_ptr[i + 1u];
    for (var j = 0u; j < n; j++) {
        var s = 0.0;
        for (var k = 0u; k < d; k++) {
            s += z[i * d + k] * z[j * d + k];
        }
        while p < end && label_col[p] < j {
            p++;
        }
        let y = p < end && label_col[p] == j;
        let sg = sigmoid(s);
        var g: f32;
        if y {
            loss += params.pos_weight * softplus(-s);
            g = -params.pos_weight * (1.0 - sg);
        } else {
            loss += softplus(s);
            g = sg;
        }
        let w = 2.0 * params.scale * g;
        for (var k = 0u; k < d; k++) {
            acc[k] += w * z[j * d + k];
        }
    }
    for (var k = 0u; k < d; k++) {
        let prev = select(0.0, dz[i * d + k], params.accumulate != 0u);
        dz[i * d + k] = prev + acc[k];
    }
    loss_rows[i] = params.scale * loss;
}
