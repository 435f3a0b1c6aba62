// Philox4x32-10 (Salmon et al., SC 2011; the Random123 reference algorithm), shared by every
// kernel that draws random numbers (rng, disc_fused, decoder_loss). WGSL has no includes: each
// kernel's host module prepends this file (`concat!(include_str!(…), include_str!(…))`).
// CPU twin: kernels::rng::philox4x32_10.

// Full 32×32 → 64-bit product as (hi, lo), from 16-bit halves (WGSL has no u64).
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xffffu;
    let ah = a >> 16u;
    let bl = b & 0xffffu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox(counter: vec4<u32>, seed: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = seed;
    for (var r = 0u; r < 10u; r++) {
        let p0 = mulhilo(0xD2511F53u, c.x);
        let p1 = mulhilo(0xCD9E8D57u, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
        k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
    }
    return c;
}

// u in (0, 1) and v in [0, 1) from the top 24 bits of two words (exact in f32), and the
// Box–Muller sample sqrt(−2 ln u)·cos(2πv), evaluated as −cos(2π(v − ½)) so the argument
// stays in [−π, π), where Vulkan bounds cos's error.
fn box_muller(w: vec4<u32>) -> f32 {
    let u = (f32(w.x >> 8u) + 0.5) * 5.9604645e-8; // 2⁻²⁴
    let v = f32(w.y >> 8u) * 5.9604645e-8;
    return -sqrt(-2.0 * log(u)) * cos(6.2831853 * (v - 0.5));
}
