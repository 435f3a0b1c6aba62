// CSR sparse × dense: out[rows × c] = epilogue(A · B), B dense [cols × c] row-major.
// Host contract: src/kernels/spmm.rs.
//
// Row-parallel gather, no atomics: invocation i owns row i / nq and the 8 output columns
// 8·(i % nq) .. +7 (nq = ⌈c/8⌉), and sums that row's non-zeros in CSR order — a fixed order,
// so results are bit-reproducible. Neighbouring invocations share a row, so their col/val
// loads are the same and their loop trip counts agree (no SIMD divergence). 8 columns per
// invocation measured 2× faster than 4 on lavapipe (col/val loads amortised) and 16 slower.
// Tail columns (c not a multiple of 8) read a clamped, valid column and are not written.
// Entry `windowed` reads a B too large for one binding through two (src/gpu/window.rs): rows
// < win_rows from `b`, the rest from `b_hi`; the sums are the same, in the same order.

override WG: u32 = 64u;
// Output columns per invocation (host: spmm::COLS_PER_INVOCATION; the loop body below is
// written out for exactly 8).
const CPI: u32 = 8u;

struct Params {
    rows: u32,
    c: u32,
    nq: u32,
    // bit 0: bias, bit 1: relu, bit 2: accumulate (see kernels::Epilogue)
    flags: u32,
    // rows of B in `b` (entry `windowed` only)
    win_rows: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Epilogue flag bits of `params.flags` (kernels::Epilogue; checked against the host's by
// tests/shaders.rs).
const FLAG_BIAS: u32 = 1u;
const FLAG_RELU: u32 = 2u;
const FLAG_ACCUMULATE: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col: array<u32>;
@group(0) @binding(3) var<storage, read> val: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read> b_hi: array<f32>;

fn finish(sum: f32, j: u32, idx: u32) {
    var v = sum;
    if (params.flags & FLAG_BIAS) != 0u {
        v += bias[j];
    }
    if (params.flags & FLAG_RELU) != 0u {
        v = max(v, 0.0);
    }
    if (params.flags & FLAG_ACCUMULATE) != 0u {
        v += out[idx];
    }
    out[idx] = v;
}

struct Slot {
    row: u32,
    j0: u32,
    js: array<u32, CPI>,
    valid: bool,
}

// The row and the 8 (clamped) columns invocation i owns.
fn slot(gid: vec3<u32>, nwg: vec3<u32>) -> Slot {
    var s: Slot;
    let i = gid.x + gid.y * nwg.x * WG;
    s.row = i / params.nq;
    s.valid = s.row < params.rows;
    s.j0 = (i % params.nq) * CPI;
    let last = params.c - 1u;
    for (var t = 0u; t < CPI; t++) {
        s.js[t] = min(s.j0 + t, last);
    }
    return s;
}

fn store(s: Slot, lo: vec4<f32>, hi: vec4<f32>) {
    let c = params.c;
    let o = s.row * c;
    let sums = array<f32, CPI>(lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w);
    for (var t = 0u; t < CPI; t++) {
        if s.j0 + t < c {
            finish(sums[t], s.j0 + t, o + s.j0 + t);
        }
    }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = slot(gid, nwg);
    if !s.valid {
        return;
    }
    let c = params.c;
    let js = s.js;
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    let end = row_ptr[s.row + 1u];
    for (var p = row_ptr[s.row]; p < end; p++) {
        let base = col[p] * c;
        let v = val[p];
        lo += v * vec4<f32>(b[base + js[0]], b[base + js[1]], b[base + js[2]], b[base + js[3]]);
        hi += v * vec4<f32>(b[base + js[4]], b[base + js[5]], b[base + js[6]], b[base + js[7]]);
    }
    store(s, lo, hi);
}

@compute @workgroup_size(WG)
fn windowed(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = slot(gid, nwg);
    if !s.valid {
        return;
    }
    let c = params.c;
    let js = s.js;
    var lo = vec4<f32>(0.0);
    var hi = vec4<f32>(0.0);
    let end = row_ptr[s.row + 1u];
    for (var p = row_ptr[s.row]; p < end; p++) {
        let j = col[p];
        let v = val[p];
        if j < params.win_rows {
            let base = j * c;
            lo += v * vec4<f32>(b[base + js[0]], b[base + js[1]], b[base + js[2]], b[base + js[3]]);
            hi += v * vec4<f32>(b[base + js[4]], b[base + js[5]], b[base + js[6]], b[base + js[7]]);
        } else {
            let base = (j - params.win_rows) * c;
            lo += v * vec4<f32>(b_hi[base + js[0]], b_hi[base + js[1]], b_hi[base + js[2]], b_hi[base + js[3]]);
            hi += v * vec4<f32>(b_hi[base + js[4]], b_hi[base + js[5]], b_hi[base + js[6]], b_hi[base + js[7]]);
        }
    }
    store(s, lo, hi);
}
