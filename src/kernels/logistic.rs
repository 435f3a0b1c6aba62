//! The f64 twins of `shaders/lib/logistic.wgsl`'s helpers, shared by the kernels' CPU twins
//! (the decoder, the dense loss, the discriminator's BCE) and by the reference epoch.

/// log(1 + eˣ) without overflow: max(x, 0) + log1p(e^{−|x|}).
pub fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// 1 / (1 + e^{−x}), without overflow for large negative x.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}
