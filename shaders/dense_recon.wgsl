// Dense reconstruction loss of the original ARGA/GAE code (`--recon dense`): the scores and
// their gradient in one pass, before the product dZ = dS·Z. Host contract:
// src/kernels/dense_recon.rs, which records, per chunk of rows r0..r1: this pass, then
// dZ[r0..r1] (+)= dS·Z (matmul NN). For row r = first_row + i of the chunk and every column j:
//   s = z_r · z_j,  y = [j in row r of Y = A_train + I]  (label CSR, columns sorted)
//   loss_rows[r] = c · Σ_j [ pos_weight·y·softplus(−s) + (1 − y)·softplus(s) ],  c = norm / N²
//   ds[i, j] = 2c·g,  g = (1 − y)·σ(s) − pos_weight·y·(1 − σ(s))
// (dS is symmetric because Y is, so (dS + dSᵀ)·Z = 2·dS·Z.) S is never stored: the
// elementwise work is the product's epilogue.
//
// A workgroup owns TM = 8 rows and all columns: each lane computes 8 × 4 blocks of s
// (register-blocked as shaders/matmul.wgsl, the 8 rows' loads the same address in every lane),
// striding over the column blocks, and walks each row's sorted labels with a cursor. The rows'
// losses are summed per lane, then over the lanes in a fixed tree order: the same bits every
// run. softplus's log1p_unit: shaders/lib/logistic.wgsl, which the host module prepends.

const WG: u32 = 64u;
const TM: u32 = 8u;
const TN: u32 = 4u;

struct Params {
    n: u32,
    d: u32,
    rows: u32,
    first_row: u32,
    pos_weight: f32,
    scale: f32, // c = norm / N²
    _pad0: f32,
    _pad1: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> label_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> label_col: array<u32>;
@group(0) @binding(4) var<storage, read_write> ds: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss_rows: array<f32>;

var<workgroup> partial: array<f32, 512>; // [lane][row]: WG × TM

// s = z_r · z_j for the block's 8 rows (global rows `rows`) and 4 columns from c0.
fn scores(rows: array<u32, 8>, c0: u32) -> array<vec4<f32>, 8> {
    let d = params.d;
    let lc = params.n - 1u;
    let b0 = min(c0, lc) * d;
    let b1 = min(c0 + 1u, lc) * d;
    let b2 = min(c0 + 2u, lc) * d;
    let b3 = min(c0 + 3u, lc) * d;
    var acc: array<vec4<f32>, 8>;
    for (var k = 0u; k < d; k++) {
        let bv = vec4<f32>(z[b0 + k], z[b1 + k], z[b2 + k], z[b3 + k]);
        for (var t = 0u; t < TM; t++) {
            acc[t] += z[rows[t] * d + k] * bv;
        }
    }
    return acc;
}

struct RowPart {
    loss: f32,
    // the row's first label past the block
    cursor: u32,
}

// Row r's loss over the block's 4 columns from c0, writing their gradient into ds row i;
// `cursor`: a label of row r at or before the first ≥ c0.
fn epilogue(s: vec4<f32>, i: u32, r: u32, c0: u32, cursor: u32) -> RowPart {
    let n = params.n;
    let hi = label_ptr[r + 1u];
    var p = cursor;
    while p < hi && label_col[p] < c0 {
        p++;
    }
    let pw = params.pos_weight;
    let g_scale = 2.0 * params.scale;
    var loss = 0.0;
    for (var u = 0u; u < TN; u++) {
        let j = c0 + u;
        if j >= n {
            break;
        }
        let v = s[u];
        let y = p < hi && label_col[p] == j;
        if y {
            p++;
        }
        // one exp serves both: e = e^{−|s|}, L = log(1 + e), q = 1/(1 + e)
        let e = exp(-abs(v));
        let l = log1p_unit(e);
        let q = 1.0 / (1.0 + e);
        let sig = select(e * q, q, v >= 0.0);      // σ(s)
        let sig_neg = select(q, e * q, v >= 0.0);  // 1 − σ(s)
        let sp = max(v, 0.0) + l;                  // softplus(s)
        let sp_neg = max(-v, 0.0) + l;             // softplus(−s)
        loss += select(sp, pw * sp_neg, y);
        ds[i * n + j] = g_scale * select(sig, -pw * sig_neg, y);
    }
    return RowPart(loss, p);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let lane = lid.x;
    let i0 = (wid.x + wid.y * nwg.x) * TM; // first row of the chunk this workgroup owns
    let n = params.n;
    let last = max(params.rows, 1u) - 1u;
    var rows: array<u32, 8>;
    var cursor: array<u32, 8>;
    for (var t = 0u; t < TM; t++) {
        rows[t] = params.first_row + min(i0 + t, last);
        cursor[t] = label_ptr[rows[t]];
    }
    var loss: array<f32, 8>;
    let blocks = (n + TN - 1u) / TN;
    for (var cb = lane; cb < blocks; cb += WG) {
        let c0 = cb * TN;
        let acc = scores(rows, c0);
        for (var t = 0u; t < TM; t++) {
            if i0 + t < params.rows {
                let part = epilogue(acc[t], i0 + t, rows[t], c0, cursor[t]);
                loss[t] += part.loss;
                cursor[t] = part.cursor;
            }
        }
    }
    for (var t = 0u; t < TM; t++) {
        partial[lane * TM + t] = loss[t];
    }
    workgroupBarrier();
    for (var h = WG / 2u; h > 0u; h /= 2u) {
        if lane < h {
            for (var t = 0u; t < TM; t++) {
                partial[lane * TM + t] += partial[(lane + h) * TM + t];
            }
        }
        workgroupBarrier();
    }
    if lane < TM && i0 + lane < params.rows {
        loss_rows[params.first_row + i0 + lane] = params.scale * partial[lane];
    }
}
