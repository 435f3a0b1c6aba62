// Reparameterisation z = μ + ε·exp(min(ℓ̃, 10)) and its backward with the KL term fused.
// Host contract: src/kernels/reparam.rs. head is N × 2d with rows [μ | ℓ̃]; eps, z, dz are N × d.
//   forward  (one invocation per element of z):  z = μ + ε·e^ℓ,  ℓ = min(ℓ̃, 10)
//   backward (one invocation per row i):
//     dμ = dz + w·μ;   dℓ̃ = (dz·ε·e^ℓ + w·(e^{2ℓ} − 1))·[ℓ̃ < 10]
//     kl_terms[i] = −½ Σ_k (1 + 2ℓ − μ² − e^{2ℓ})          (w = kl_weight; kl unscaled)
//   forward_drawn: the forward, drawing ε itself (Philox stream `stream` of the seed at the epoch
//     in clock[0], element (first_row + i)·d + k: what shaders/rng.wgsl's `normal` writes for that
//     stream) and keeping it in eps for the backward; no separate noise launch.
// All entries share bindings 0–3 (binding 3 is the output: z, or dhead). philox, box_muller:
// shaders/lib/philox.wgsl, which the host module prepends.

override WG: u32 = 256u;
const MAX_LOG_STD: f32 = 10.0;

struct Params {
    n: u32,
    d: u32,
    kl_weight: f32,
    // forward_drawn: the first row's index in the whole draw, the stream and the seed
    first_row: u32,
    stream: u32,
    seed_lo: u32,
    seed_hi: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> head: array<f32>;
@group(0) @binding(2) var<storage, read_write> eps: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> kl_terms: array<f32>;
@group(0) @binding(5) var<storage, read> dz: array<f32>;
@group(0) @binding(6) var<storage, read> clock: array<u32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    let d = params.d;
    if t >= params.n * d {
        return;
    }
    let i = t / d;
    let k = t - i * d;
    let mu = head[i * 2u * d + k];
    let l = min(head[i * 2u * d + d + k], MAX_LOG_STD);
    out[t] = mu + eps[t] * exp(l);
}

@compute @workgroup_size(WG)
fn forward_drawn(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    let d = params.d;
    if t >= params.n * d {
        return;
    }
    let i = t / d;
    let k = t - i * d;
    let e = params.first_row * d + t;
    let w = philox(vec4<u32>(e, clock[0], params.stream, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
    let noise = box_muller(w);
    eps[t] = noise;
    let mu = head[i * 2u * d + k];
    let l = min(head[i * 2u * d + d + k], MAX_LOG_STD);
    out[t] = mu + noise * exp(l);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * WG;
    let d = params.d;
    if i >= params.n {
        return;
    }
    let w = params.kl_weight;
    var kl = 0.0;
    for (var k = 0u; k < d; k++) {
        let mu = head[i * 2u * d + k];
        let lt = head[i * 2u * d + d + k];
        let l = min(lt, MAX_LOG_STD);
        let el = exp(l);
        let e2 = el * el;
        let g = dz[i * d + k];
        out[i * 2u * d + k] = g + w * mu;
        out[i * 2u * d + d + k] = select(0.0, g * eps[i * d + k] * el + w * (e2 - 1.0), lt < MAX_LOG_STD);
        kl += 1.0 + 2.0 * l - mu * mu - e2;
    }
    kl_terms[i] = -0.5 * kl;
}
