// CSR sparse × dense: out[rows × c] = epilogue(A · B), B dense [cols × c] row-major.
// Host contract: src/kernels/spmm.rs.
//
// Row-parallel gather, no atomics: invocation i owns row i / nq and the 4 output columns
// 4·(i % nq) .. +3 (nq = ⌈c/4⌉), and sums that row's non-zeros in CSR order — a fixed order,
// so results are bit-reproducible. Neighbouring invocations share a row, so their B loads are
// one contiguous row segment and their loop trip counts agree (no SIMD divergence).
// Tail columns (c not a multiple of 4) read a clamped, valid column and are not written.

override WG: u32 = 64u;

struct Params {
    rows: u32,
    c: u32,
    nq: u32,
    // bit 0: bias, bit 1: relu, bit 2: accumulate (see kernels::Epilogue)
    flags: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col: array<u32>;
@group(0) @binding(3) var<storage, read> val: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

fn finish(sum: f32, j: u32, idx: u32) {
    var v = sum;
    if (params.flags & 1u) != 0u {
        v += bias[j];
    }
    if (params.flags & 2u) != 0u {
        v = max(v, 0.0);
    }
    if (params.flags & 4u) != 0u {
        v += out[idx];
    }
    out[idx] = v;
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let row = i / params.nq;
    if row >= params.rows {
        return;
    }
    let c = params.c;
    let j0 = (i % params.nq) * 4u;
    let last = c - 1u;
    let j1 = min(j0 + 1u, last);
    let j2 = min(j0 + 2u, last);
    let j3 = min(j0 + 3u, last);
    var acc = vec4<f32>(0.0);
    let end = row_ptr[row + 1u];
    for (var p = row_ptr[row]; p < end; p++) {
        let base = col[p] * c;
        acc += val[p] * vec4<f32>(b[base + j0], b[base + j1], b[base + j2], b[base + j3]);
    }
    let o = row * c;
    finish(acc.x, j0, o + j0);
    if j0 + 1u < c {
        finish(acc.y, j0 + 1u, o + j0 + 1u);
    }
    if j0 + 2u < c {
        finish(acc.z, j0 + 2u, o + j0 + 2u);
    }
    if j0 + 3u < c {
        finish(acc.w, j0 + 3u, o + j0 + 3u);
    }
}
