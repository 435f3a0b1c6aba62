// Numerically careful logistic helpers shared by the loss shaders (bce, decoder_loss,
// disc_out, dense_recon). WGSL has no includes: each kernel's host module prepends this file
// to its shader source (`concat!(include_str!(…), include_str!(…))`).

// log(1 + y) for y in [0, 1] to f32 relative precision: log1p(y) = 2·atanh(w),
// w = y/(2 + y) ≤ 1/3, as its odd series. Computing log(1 + y) directly loses y to rounding
// (and `log` near 1 is only accurate in absolute terms on some drivers), which would round
// softplus of a confidently-correct logit to garbage in relative terms.
fn log1p_unit(y: f32) -> f32 {
    let w = y / (2.0 + y);
    let w2 = w * w;
    var series = 1.0 / 19.0;
    for (var k = 8; k >= 0; k--) {
        series = series * w2 + 1.0 / f32(2 * k + 1);
    }
    return 2.0 * w * series;
}

// softplus(x) = log(1 + eˣ), stable for any x.
fn softplus(x: f32) -> f32 {
    return max(x, 0.0) + log1p_unit(exp(-abs(x)));
}

// σ(x) without overflow for large |x|.
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

