// Counter-based Gaussian samples: Philox4x32-10 + Box–Muller. Host contract: src/kernels/rng.rs.
// Element e of a draw is a pure function of (seed, epoch = clock[0], stream, e):
//   counter = (e, epoch, stream, 0), key = (seed_lo, seed_hi)
//   u = (w0 >> 8 + ½)·2⁻²⁴ ∈ (0, 1),  v = (w1 >> 8)·2⁻²⁴ ∈ [0, 1)
//   out[offset + e] = sqrt(−2 ln u) · cos(2π v)   (evaluated as −cos(2π(v − ½)))
// so a run is reproducible and independent of the dispatch shape. Entry `bits` writes the raw
// Philox words (element e gets word e % 4 of counter e / 4) bit-cast to f32, for exact tests.
// Entry `noisy` writes out[offset + e] = low[e] + scale · sample (the ARGA code's noise layer:
// a noised copy of `low`, which stays as it was).
// philox, box_muller: shaders/lib/philox.wgsl, which the host module prepends.

override WG: u32 = 256u;

struct Params {
    offset: u32,
    len: u32,
    seed_lo: u32,
    seed_hi: u32,
    stream: u32,
    // elements per stream: element e of the launch is element e % stream_len of stream
    // stream + e / stream_len (0: one stream), so several draws share one launch
    stream_len: u32,
    // elements e < low_len of a `normal` launch go to low[e] instead of out[offset + e]
    low_len: u32,
    // `noisy`: the samples' standard deviation
    scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> clock: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> low: array<f32>;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * WG;
}

@compute @workgroup_size(WG)
fn normal(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = index(gid, nwg);
    if e >= params.len {
        return;
    }
    var idx = e;
    var stream = params.stream;
    if params.stream_len != 0u {
        idx = e % params.stream_len;
        stream += e / params.stream_len;
    }
    let w = philox(vec4<u32>(idx, clock[0], stream, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
    let sample = box_muller(w);
    if e < params.low_len {
        low[e] = sample;
    } else {
        out[params.offset + e] = sample;
    }
}

@compute @workgroup_size(WG)
fn bits(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = index(gid, nwg);
    if e >= params.len {
        return;
    }
    let w = philox(vec4<u32>(e / 4u, clock[0], params.stream, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
    out[params.offset + e] = bitcast<f32>(w[e % 4u]);
}

@compute @workgroup_size(WG)
fn noisy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = index(gid, nwg);
    if e >= params.len {
        return;
    }
    let w = philox(vec4<u32>(e, clock[0], params.stream, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
    out[params.offset + e] = low[e] + params.scale * box_muller(w);
}
