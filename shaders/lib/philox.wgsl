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

// u in (0, 1] and v in [0, 1) from the top 24 bits of two words (exact in f32), and the
// Box–Muller sample sqrt(−2 ln u)·cos(2πv), evaluated as −cos(2π(v − ½)). ln and cos are
// polynomials in +, −, ×, ÷ here, not the builtins: WGSL lets `cos` err by 2⁻¹¹ and `log` by
// 2⁻²¹ absolute, and implementations use that room (Chromium's SwiftShader does), so a run's
// draws — every ε, z′ and noise sample — would differ between backends by far more than
// rounding. With these, every backend draws the same samples to f32 rounding.
fn box_muller(w: vec4<u32>) -> f32 {
    let u = (f32(w.x >> 8u) + 0.5) * 5.9604645e-8; // 2⁻²⁴
    let v = f32(w.y >> 8u) * 5.9604645e-8;
    return -sqrt(-2.0 * ln_unit(u)) * cos_turns(v - 0.5);
}

// ln u for u in (0, 1]: u = m·2ᵉ with m in [√½, √2), ln m = 2·atanh(s), s = (m − 1)/(m + 1),
// |s| ≤ 0.172 (series to s¹¹: error below 1e-10).
fn ln_unit(u: f32) -> f32 {
    let bits = bitcast<u32>(u);
    var e = i32(bits >> 23u) - 127;
    var m = bitcast<f32>((bits & 0x007fffffu) | 0x3f800000u);
    if m > 1.4142135 {
        m = m * 0.5;
        e = e + 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 / 11.0))));
    return f32(e) * 0.69314718 + 2.0 * s * series;
}

// cos(2πt) for t in [−½, ½]: folded by symmetry onto [0, ⅛] turns, then Taylor series of cos or
// sin on [0, π/4] (to x¹⁰ and x¹¹: error below 1e-9). The folds are exact in f32.
fn cos_turns(t: f32) -> f32 {
    var a = abs(t);
    var sign = 1.0;
    if a > 0.25 {
        a = 0.5 - a; // cos(2πa) = −cos(2π(½ − a))
        sign = -1.0;
    }
    if a > 0.125 {
        let x = 6.2831853 * (0.25 - a); // cos(2πa) = sin(2π(¼ − a))
        let x2 = x * x;
        return sign * x * (1.0 - x2 / 6.0 * (1.0 - x2 / 20.0 * (1.0 - x2 / 42.0 * (1.0 - x2 / 72.0 * (1.0 - x2 / 110.0)))));
    }
    let x = 6.2831853 * a;
    let x2 = x * x;
    return sign * (1.0 - x2 / 2.0 * (1.0 - x2 / 12.0 * (1.0 - x2 / 30.0 * (1.0 - x2 / 56.0 * (1.0 - x2 / 90.0)))));
}
