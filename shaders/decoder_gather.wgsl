// Backward of the inner-product decoder without atomics. Host contract: src/kernels/decoder.rs.
// Every pair p = (i, j) is listed under both endpoints in a node-major CSR (slot_ptr, slots),
// slot = 2p + side (side 0: the node is i, side 1: it is j). One invocation per element (i, k):
//   dz[i, k] (+)= Σ over i's slots, in CSR order, of grad[p] · z[other, k]
// A self-pair (i, i) has two slots, so it contributes 2·grad·z_i, the derivative of z_i·z_i.

override WG: u32 = 256u;

struct Params {
    n: u32,
    d: u32,
    accumulate: u32,
    num_pairs: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> pairs: array<u32>;
@group(0) @binding(3) var<storage, read> slot_ptr: array<u32>;
@group(0) @binding(4) var<storage, read> slots: array<u32>;
@group(0) @binding(5) var<storage, read> grad: array<f32>;
@group(0) @binding(6) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.x + gid.y * nwg.x * WG;
    let d = params.d;
    if t >= params.n * d {
        return;
    }
    let i = t / d;
    let k = t - i * d;
    var acc = 0.0;
    let end = min(slot_ptr[i + 1u], arrayLength(&slots));
    for (var q = slot_ptr[i]; q < end; q++) {
        let slot = slots[q];
        let p = slot >> 1u;
        if p >= params.num_pairs {
            continue;
        }
        let other = pairs[2u * p + 1u - (slot & 1u)];
        if other < params.n {
            acc += grad[p] * z[other * d + k];
        }
    }
    if params.accumulate != 0u {
        acc += dz[t];
    }
    dz[t] = acc;
}
