// Dense matmul, three operand layouts, with the fused epilogue. Host contract:
// src/kernels/matmul.rs. out is [m × n] row-major; the sum runs over k.
//   nn: out = A·B    A [m × k], B [k × n]
//   tn: out = Aᵀ·B   A stored [k × m], B [k × n]
//   nt: out = A·Bᵀ   A [m × k], B stored [n × k]
// Options (flags): bias, relu, mask (out = … · [mask > 0], the ReLU backward fused into the
// product that makes the gradient), accumulate; for tn also colsum (colsum[i] = Σ_kk A[kk, i],
// the bias gradient that goes with the weight gradient Aᵀ·B, summed by the blocks of column 0
// in the same sequential order as their products; with accumulate they add to colsum too, so a
// weight gradient and its bias gradient can be summed over row chunks). Row gap: the batch operand (A in nn/nt, B in
// tn) reads its rows r ≥ split from row r + gap, so a batch [z ; z′_k] can be read out of one
// buffer [z ; z′_0 ; … ; z′_K−1] without a copy.
//
// Register blocking (measured fastest on lavapipe, see docs/performance.md): each invocation owns
// a TM × TN = 4 × 8 block of out and keeps it in registers, loading TM values of A and TN of B
// per step of k — 32 multiply-adds per 12 loads, no workgroup memory. Neighbouring
// invocations own neighbouring row blocks of the same columns, so their B loads are the same
// address (measured 1.3–2× faster on lavapipe than neighbouring column blocks). Each output is one sequential sum over k, so results are reproducible.
// Edge blocks read clamped (valid) rows/columns and skip their writes: no branches in the loop.

override WG: u32 = 64u;
const TM: u32 = 4u;
const TN: u32 = 8u;

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // bit 0: bias, bit 1: relu, bit 2: accumulate, bit 3: mask (see kernels::Epilogue),
    // bit 4: colsum (tn only)
    flags: u32,
    // ⌈m / TM⌉: row blocks per block column
    mb: u32,
    // row gap of the batch operand: rows ≥ split are read `gap` rows further on
    split: u32,
    gap: u32,
    _pad0: u32,
}

// Epilogue flag bits of `params.flags` (kernels::Epilogue; checked against the host's by
// tests/shaders.rs).
const FLAG_BIAS: u32 = 1u;
const FLAG_RELU: u32 = 2u;
const FLAG_ACCUMULATE: u32 = 4u;
const FLAG_MASK: u32 = 8u;
const FLAG_COLSUM: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> mask: array<f32>;
@group(0) @binding(6) var<storage, read_write> colsum: array<f32>;

// Physical row of the batch operand's logical row r.
fn grow(r: u32) -> u32 {
    return r + select(0u, params.gap, r >= params.split);
}

struct Block {
    // first row and column of the block; rows/cols clamped into the matrix
    r0: u32,
    c0: u32,
    rows: array<u32, 4>,
    cols: array<u32, 8>,
    valid: bool,
}

fn block(gid: vec3<u32>, nwg: vec3<u32>) -> Block {
    var blk: Block;
    let i = gid.x + gid.y * nwg.x * WG;
    let mb = max(params.mb, 1u);
    blk.r0 = (i % mb) * TM;
    blk.c0 = (i / mb) * TN;
    blk.valid = blk.r0 < params.m && blk.c0 < params.n;
    let lr = max(params.m, 1u) - 1u;
    let lc = max(params.n, 1u) - 1u;
    for (var t = 0u; t < TM; t++) {
        blk.rows[t] = min(blk.r0 + t, lr);
    }
    for (var t = 0u; t < TN; t++) {
        blk.cols[t] = min(blk.c0 + t, lc);
    }
    return blk;
}

fn finish(v: f32, row: u32, col: u32) {
    if row >= params.m || col >= params.n {
        return;
    }
    let idx = row * params.n + col;
    var x = v;
    if (params.flags & FLAG_BIAS) != 0u {
        x += bias[col];
    }
    if (params.flags & FLAG_RELU) != 0u {
        x = max(x, 0.0);
    }
    if (params.flags & FLAG_MASK) != 0u {
        x = select(0.0, x, mask[idx] > 0.0);
    }
    if (params.flags & FLAG_ACCUMULATE) != 0u {
        x += out[idx];
    }
    out[idx] = x;
}

// acc[2t] holds row t's columns 0..3, acc[2t + 1] its columns 4..7.
fn store(blk: Block, acc: array<vec4<f32>, 8>) {
    for (var t = 0u; t < TM; t++) {
        let r = blk.r0 + t;
        let lo = acc[2u * t];
        let hi = acc[2u * t + 1u];
        finish(lo.x, r, blk.c0);
        finish(lo.y, r, blk.c0 + 1u);
        finish(lo.z, r, blk.c0 + 2u);
        finish(lo.w, r, blk.c0 + 3u);
        finish(hi.x, r, blk.c0 + 4u);
        finish(hi.y, r, blk.c0 + 5u);
        finish(hi.z, r, blk.c0 + 6u);
        finish(hi.w, r, blk.c0 + 7u);
    }
}

// B [k × n] physical row `row`, the block's 8 columns.
fn b_row(blk: Block, row: u32) -> array<vec4<f32>, 2> {
    let o = row * params.n;
    let cs = blk.cols;
    return array<vec4<f32>, 2>(
        vec4<f32>(b[o + cs[0]], b[o + cs[1]], b[o + cs[2]], b[o + cs[3]]),
        vec4<f32>(b[o + cs[4]], b[o + cs[5]], b[o + cs[6]], b[o + cs[7]]),
    );
}

@compute @workgroup_size(WG)
fn nn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let blk = block(gid, nwg);
    if !blk.valid {
        return;
    }
    let k = params.k;
    let a0 = grow(blk.rows[0]) * k;
    let a1 = grow(blk.rows[1]) * k;
    let a2 = grow(blk.rows[2]) * k;
    let a3 = grow(blk.rows[3]) * k;
    var acc: array<vec4<f32>, 8>;
    for (var kk = 0u; kk < k; kk++) {
        let bv = b_row(blk, kk);
        let x0 = a[a0 + kk];
        let x1 = a[a1 + kk];
        let x2 = a[a2 + kk];
        let x3 = a[a3 + kk];
        acc[0] += x0 * bv[0];
        acc[1] += x0 * bv[1];
        acc[2] += x1 * bv[0];
        acc[3] += x1 * bv[1];
        acc[4] += x2 * bv[0];
        acc[5] += x2 * bv[1];
        acc[6] += x3 * bv[0];
        acc[7] += x3 * bv[1];
    }
    store(blk, acc);
}

@compute @workgroup_size(WG)
fn tn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let blk = block(gid, nwg);
    if !blk.valid {
        return;
    }
    let m = params.m;
    let rs = blk.rows;
    var acc: array<vec4<f32>, 8>;
    var cs = vec4<f32>(0.0);
    for (var kk = 0u; kk < params.k; kk++) {
        let bv = b_row(blk, grow(kk));
        let o = kk * m;
        let x0 = a[o + rs[0]];
        let x1 = a[o + rs[1]];
        let x2 = a[o + rs[2]];
        let x3 = a[o + rs[3]];
        cs += vec4<f32>(x0, x1, x2, x3);
        acc[0] += x0 * bv[0];
        acc[1] += x0 * bv[1];
        acc[2] += x1 * bv[0];
        acc[3] += x1 * bv[1];
        acc[4] += x2 * bv[0];
        acc[5] += x2 * bv[1];
        acc[6] += x3 * bv[0];
        acc[7] += x3 * bv[1];
    }
    store(blk, acc);
    if (params.flags & FLAG_COLSUM) != 0u && blk.c0 == 0u {
        for (var t = 0u; t < TM; t++) {
            if blk.r0 + t < m {
                var v = cs[t];
                if (params.flags & FLAG_ACCUMULATE) != 0u {
                    v += colsum[blk.r0 + t];
                }
                colsum[blk.r0 + t] = v;
            }
        }
    }
}

@compute @workgroup_size(WG)
fn nt(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let blk = block(gid, nwg);
    if !blk.valid {
        return;
    }
    let k = params.k;
    let a0 = grow(blk.rows[0]) * k;
    let a1 = grow(blk.rows[1]) * k;
    let a2 = grow(blk.rows[2]) * k;
    let a3 = grow(blk.rows[3]) * k;
    let cs = blk.cols;
    var acc: array<vec4<f32>, 8>;
    for (var kk = 0u; kk < k; kk++) {
        let lo = vec4<f32>(b[cs[0] * k + kk], b[cs[1] * k + kk], b[cs[2] * k + kk], b[cs[3] * k + kk]);
        let hi = vec4<f32>(b[cs[4] * k + kk], b[cs[5] * k + kk], b[cs[6] * k + kk], b[cs[7] * k + kk]);
        let x0 = a[a0 + kk];
        let x1 = a[a1 + kk];
        let x2 = a[a2 + kk];
        let x3 = a[a3 + kk];
        acc[0] += x0 * lo;
        acc[1] += x0 * hi;
        acc[2] += x1 * lo;
        acc[3] += x1 * hi;
        acc[4] += x2 * lo;
        acc[5] += x2 * hi;
        acc[6] += x3 * lo;
        acc[7] += x3 * hi;
    }
    store(blk, acc);
}
