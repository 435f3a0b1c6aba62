// The decoder's per-pair loss and dL/ds, shared by decoder_loss.wgsl (host pairs) and
// decoder_sample.wgsl (pairs drawn on the GPU); the host modules prepend this file after
// logistic.wgsl. It uses the including shader's module-scope `params` (n, d, npos, inv_pos,
// inv_neg), `z`, `loss` and `grad` (WGSL resolves module-scope names in any order; naga
// validates both shaders in tests/shaders.rs).
//   s = z_i·z_j;  positive (p < npos): loss = softplus(−s)/npos, g = −σ(−s)/npos;
//   negative: loss = softplus(s)/nneg, g = σ(s)/nneg;  a pair out of range scores 0.

// Loss and gradient of pair p = (i, j).
fn score(p: u32, i: u32, j: u32) {
    if i >= params.n || j >= params.n {
        loss[p] = 0.0;
        grad[p] = 0.0;
        return;
    }
    let d = params.d;
    var s = 0.0;
    for (var k = 0u; k < d; k++) {
        s += z[i * d + k] * z[j * d + k];
    }
    if p < params.npos {
        loss[p] = softplus(-s) * params.inv_pos;
        grad[p] = -sigmoid(-s) * params.inv_pos;
    } else {
        loss[p] = softplus(s) * params.inv_neg;
        grad[p] = sigmoid(s) * params.inv_neg;
    }
}
