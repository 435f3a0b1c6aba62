// The device's loop budget (host: src/gpu/loop_probe.rs). WGSL bounds no loop, but Mesa's
// llvmpipe up to at least 22.3 ends every loop of an invocation once all its loops together
// have run 65535 iterations (gallivm's "loop limiter"), silently: a kernel whose invocation
// walks a long list then sums part of it. Two loops of `iters` steps each; each step depends
// on the last (an LCG), so no compiler folds the loop away. out = [steps of loop 1, steps of
// loop 2, the LCG state] (the host checks the counts; the state keeps the work observable).

struct Params {
    iters: u32,
    seed: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(1)
fn main() {
    var x = params.seed;
    var first = 0u;
    for (var i = 0u; i < params.iters; i++) {
        x = x * 1664525u + 1013904223u;
        first += 1u;
    }
    var second = 0u;
    for (var i = 0u; i < params.iters; i++) {
        x = x * 1664525u + 1013904223u;
        second += 1u;
    }
    out[0] = first;
    out[1] = second;
    out[2] = x;
}
