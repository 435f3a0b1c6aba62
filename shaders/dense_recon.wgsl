// Dense reconstruction loss of the original ARGA/GAE code (`--recon dense`): the elementwise
// pass between two products. Host contract: src/kernels/dense_recon.rs, which records, per
// chunk of rows r0..r1: S = Z[r0..r1]·Zᵀ (matmul NT), this pass, then dZ[r0..r1] (+)= dS·Z
// (matmul NN). One workgroup per row r = first_row + i of the chunk, its lanes striding over j:
//   s = S[i, j],  y = [j in row r of Y = A_train + I]  (label CSR, columns sorted)
//   loss_rows[r] = c · Σ_j [ pos_weight·y·softplus(−s) + (1 − y)·softplus(s) ],  c = norm / N²
//   S[i, j] ← 2c·g,  g = (1 − y)·σ(s) − pos_weight·y·(1 − σ(s))
// (dS is symmetric because Y is, so (dS + dSᵀ)·Z = 2·dS·Z.) The row's loss is summed in a
// fixed tree order: the same bits every run.
// softplus, sigmoid: shaders/lib/logistic.wgsl, which the host module prepends.

override WG: u32 = 64u;

struct Params {
    n: u32,
    rows: u32,
    first_row: u32,
    _pad: u32,
    pos_weight: f32,
    scale: f32, // c = norm / N²
    _pad1: f32,
    _pad2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;
@group(0) @binding(2) var<storage, read> label_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> label_col: array<u32>;
@group(0) @binding(4) var<storage, read_write> loss_rows: array<f32>;

var<workgroup> partial: array<f32, WG>;

// Whether column j is in the sorted range label_col[lo..hi].
fn is_label(lo: u32, hi: u32, j: u32) -> bool {
    var a = lo;
    var b = hi;
    while a < b {
        let m = (a + b) / 2u;
        if label_col[m] < j {
            a = m + 1u;
        } else {
            b = m;
        }
    }
    return a < hi && label_col[a] == j;
}

@compute @workgroup_size(WG)
fn rows(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = wid.x + wid.y * nwg.x;
    let n = params.n;
    let live = i < params.rows;
    var loss = 0.0;
    if live {
        let r = params.first_row + i;
        let lo = label_ptr[r];
        let hi = label_ptr[r + 1u];
        let g_scale = 2.0 * params.scale;
        for (var j = lid.x; j < n; j += WG) {
            let e = i * n + j;
            let v = s[e];
            let sg = sigmoid(v);
            if is_label(lo, hi, j) {
                loss += params.pos_weight * softplus(-v);
                s[e] = -g_scale * params.pos_weight * (1.0 - sg);
            } else {
                loss += softplus(v);
                s[e] = g_scale * sg;
            }
        }
    }
    partial[lid.x] = loss;
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h /= 2u) {
        if lid.x < h {
            partial[lid.x] += partial[lid.x + h];
        }
        workgroupBarrier();
    }
    if live && lid.x == 0u {
        loss_rows[params.first_row + i] = params.scale * partial[0];
    }
}
