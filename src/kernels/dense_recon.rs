//! Dense (all N² pairs) weighted reconstruction loss and its gradient, fused.
//! Shader: `shaders/dense_recon.wgsl`. Used by `--recon dense`, the original ARGA code's loss.
//!
//! Cost per call: 4·N²·d FLOPs (the score and the gradient row), N²·d·4 bytes of z reads
//! (from cache in practice), no N×N storage. The labels Y = A_train + I come as a CSR with
//! sorted columns.

use super::check_len;
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

/// `shaders/lib/logistic.wgsl` (softplus, sigmoid) + `shaders/dense_recon.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/dense_recon.wgsl")
);
pub const WORKGROUP_SIZE: u32 = 64;
/// Largest latent width the shader's register accumulator holds (`MAX_D` in the shader).
pub const MAX_LATENT: usize = 128;
/// `@binding` order: params, z, label_ptr, label_col, dz, loss_rows.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    d: u32,
    accumulate: u32,
    _pad: u32,
    pos_weight: f32,
    scale: f32,
    _pad1: [f32; 2],
}

/// The weights of the original code: `pos_weight = (N² − a)/a`, `norm = N²/(2(N² − a))`,
/// with `a` the number of non-zeros of A_train (both directions, no self-loops).
pub fn weights(n: usize, a: usize) -> (f64, f64) {
    let n2 = (n as f64) * (n as f64);
    let a = a.max(1) as f64;
    ((n2 - a) / a, n2 / (2.0 * (n2 - a)))
}

/// Binds one fused loss + gradient pass. `dz` is written (or added to, with `accumulate`);
/// `loss_rows[i]` receives row i's share of the loss (sum them for the scalar).
#[allow(clippy::too_many_arguments)]
pub fn bind(
    ctx: &GpuContext,
    z: Arg<'_>,
    label_ptr: Arg<'_>,
    label_col: Arg<'_>,
    dz: Arg<'_>,
    loss_rows: Arg<'_>,
    n: usize,
    d: usize,
    num_edges_directed: usize,
    accumulate: bool,
) -> GpuResult<Dispatch> {
    if d > MAX_LATENT {
        return Err(GpuError::InvalidArgument {
            what: "dense reconstruction".into(),
            message: format!("latent width {d} exceeds the kernel's maximum {MAX_LATENT}"),
        });
    }
    for (what, arg, need) in [
        ("z", &z, n * d),
        ("label_ptr", &label_ptr, n + 1),
        ("dz", &dz, n * d),
        ("loss_rows", &loss_rows, n),
    ] {
        check_len(
            &format!("dense reconstruction `{what}` elements"),
            arg,
            need,
        )?;
    }
    let (pos_weight, norm) = weights(n, num_edges_directed);
    let params = Params {
        n: n as u32,
        d: d as u32,
        accumulate: accumulate as u32,
        _pad: 0,
        pos_weight: pos_weight as f32,
        scale: (norm / ((n as f64) * (n as f64)).max(1.0)) as f32,
        _pad1: [0.0; 2],
    };
    let params = uniform(ctx, "dense_recon params", &params);
    let spec = KernelSpec {
        label: "dense_recon",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    };
    let grid = grid_1d(ctx, "dense_recon", n as u64, WORKGROUP_SIZE)?;
    ctx.kernel(&spec)?.dispatch(
        ctx,
        &[(&params).into(), z, label_ptr, label_col, dz, loss_rows],
        grid,
    )
}

/// CPU twin: (total loss, dZ) for z (N×d), labels Y as a sorted-column CSR, and the
/// number of directed training edges `a`.
pub fn loss_and_grad_cpu(
    z: &[f64],
    n: usize,
    d: usize,
    label_ptr: &[u32],
    label_col: &[u32],
    a: usize,
) -> (f64, Vec<f64>) {
    let (pw, norm) = weights(n, a);
    let c = norm / ((n * n).max(1) as f64);
    let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let mut loss = 0.0;
    let mut dz = vec![0.0; n * d];
    for i in 0..n {
        let row = &label_col[label_ptr[i] as usize..label_ptr[i + 1] as usize];
        for j in 0..n {
            let s: f64 = (0..d).map(|k| z[i * d + k] * z[j * d + k]).sum();
            let y = row.binary_search(&(j as u32)).is_ok();
            let (l, g) = if y {
                (pw * softplus(-s), -pw * (1.0 - sigmoid(s)))
            } else {
                (softplus(s), sigmoid(s))
            };
            loss += c * l;
            // dS_ij contributes to dz_i through s_ij and to dz_j through s_ji = s_ij.
            for k in 0..d {
                dz[i * d + k] += c * g * z[j * d + k];
                dz[j * d + k] += c * g * z[i * d + k];
            }
        }
    }
    (loss, dz)
}

/// The dense N² reconstruction loss and its gradient: per pair a d-wide dot for the logit
/// and another d-wide update of dz; z is re-read from cache, so memory traffic is z, the
/// label CSR (`label_nnz` entries) and dz once.
pub fn cost(n: usize, label_nnz: usize, d: usize) -> super::Cost {
    let (nf, df) = (n as f64, d as f64);
    super::Cost {
        flops: nf * nf * (4.0 * df + 12.0),
        bytes: 4.0 * (2.0 * nf * df + nf + 1.0 + label_nnz as f64 + nf),
    }
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("main", BINDINGS)],
        super::params_layout!(Params {
            n,
            d,
            accumulate,
            pos_weight,
            scale
        }),
        vec![],
    )
}
