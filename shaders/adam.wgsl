// Adam step as PyTorch (no weight decay, no amsgrad). Host contract: src/kernels/adam.rs.
//   t = clock[0]·steps_per_epoch + step_in_epoch + 1   (read on the GPU: one recorded
//       dispatch serves every epoch)
//   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
//   θ ← θ − lr·(m / (1 − β1ᵗ)) / (sqrt(v / (1 − β2ᵗ)) + ε)
// 1 − βᵗ = −expm1(t·ln β), with a series near 0 so the early steps keep full precision.

override WG: u32 = 256u;

struct Params {
    len: u32,
    steps_per_epoch: u32,
    step_in_epoch: u32,
    _pad: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    one_minus_beta1: f32,
    one_minus_beta2: f32,
    ln_beta1: f32,
    ln_beta2: f32,
    // partial sums (kernels::adam::FromPartials): bit 0 the loss into losses[slot], bit 1
    // every gradient, bit 2 only that (no update); the table is row-major, `count` rows of
    // `row_len` values
    flags: u32,
    count: u32,
    row_len: u32,
    slot: u32,
}

// `params.flags` (kernels::adam::FromPartials) and the columns of disc_fused's partials table
// (kernels::disc_fused): checked against the host's by tests/shaders.rs.
const FINISH_LOSS: u32 = 1u;
const FINISH_GRADS: u32 = 2u;
const FINISH_ONLY: u32 = 4u;
const LOSS_COLUMN: u32 = 0u;
const GRAD_COLUMN: u32 = 1u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> clock: array<u32>;
@group(0) @binding(2) var<storage, read_write> theta: array<f32>;
@group(0) @binding(3) var<storage, read_write> grads: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;
@group(0) @binding(6) var<storage, read> partials: array<f32>;
@group(0) @binding(7) var<storage, read_write> losses: array<f32>;

// Column `c` of the partials table (disc_fused.wgsl) summed over its rows in order.
fn column_total(c: u32) -> f32 {
    var sum = 0.0;
    for (var w = 0u; w < params.count; w++) {
        sum += partials[w * params.row_len + c];
    }
    return sum;
}

// 1 − e^x for x ≤ 0.
fn one_minus_exp(x: f32) -> f32 {
    if x > -0.25 {
        var term = x;
        var sum = x;
        for (var k = 2; k <= 9; k++) {
            term *= x / f32(k);
            sum += term;
        }
        return -sum;
    }
    return 1.0 - exp(x);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = gid.x + gid.y * nwg.x * WG;
    if e >= params.len {
        return;
    }
    let t = f32(clock[0] * params.steps_per_epoch + params.step_in_epoch + 1u);
    let bc1 = one_minus_exp(t * params.ln_beta1);
    let bc2 = one_minus_exp(t * params.ln_beta2);
    var g = grads[e];
    if (params.flags & FINISH_LOSS) != 0u && e == 0u {
        losses[params.slot] = column_total(LOSS_COLUMN);
    }
    if (params.flags & FINISH_GRADS) != 0u {
        g = column_total(GRAD_COLUMN + e);
        grads[e] = g;
    }
    if (params.flags & FINISH_ONLY) != 0u {
        return;
    }
    let m1 = params.beta1 * m[e] + params.one_minus_beta1 * g;
    let v1 = params.beta2 * v[e] + params.one_minus_beta2 * g * g;
    m[e] = m1;
    v[e] = v1;
    theta[e] = theta[e] - params.lr * (m1 / bc1) / (sqrt(v1 / bc2) + params.eps);
}
