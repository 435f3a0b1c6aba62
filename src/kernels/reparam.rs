//! The variational head: reparameterisation forward, and its backward fused with the KL term.
//! Shader: `shaders/reparam.wgsl`. `head` is N × 2d with rows `[μ | ℓ̃]` (ℓ = min(ℓ̃, 10) is
//! log σ, clamped as PyG does); `eps`, `z`, `dz` are N × d.
//!
//! Cost: forward 3·N·d FLOPs + N·d exp, 16·N·d bytes; backward ≈ 12·N·d FLOPs + N·d exp,
//! 28·N·d bytes + 4·N for the KL terms.

use super::{check_len, check_u32};
use crate::gpu::{Arg, Binding, Dispatch, GpuBuffer, GpuContext, GpuResult, KernelSpec};
use crate::gpu::{grid_1d, uniform};

/// `shaders/lib/philox.wgsl` + `shaders/reparam.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/philox.wgsl"),
    include_str!("../../shaders/reparam.wgsl")
);
pub const WORKGROUP_SIZE: u32 = 256;
/// Upper clamp of ℓ̃ (PyG's `MAX_LOGSTD`).
pub const MAX_LOG_STD: f64 = 10.0;
/// Forward `@binding` order: params, head, eps (only read), z.
pub const FORWARD_BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];
/// Backward `@binding` order: params, head, eps (only read), dhead, kl_terms, dz.
pub const BACKWARD_BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
];
/// `forward_drawn` `@binding` order: params, head, eps (written), z, then two bindings it
/// does not use (kl_terms, dz of the backward) and the clock.
pub const FORWARD_DRAWN_BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::Read,
    Binding::Read,
];

/// Where the forward's ε comes from.
#[derive(Clone, Copy, Debug)]
pub enum Eps<'a> {
    /// Read from `eps` (host noise, or drawn by an earlier launch).
    Given,
    /// Drawn in the launch from Philox stream `stream` of `seed` at the epoch in `clock[0]`
    /// (rows are numbered from `first_row`) and written to `eps`.
    Drawn {
        clock: &'a GpuBuffer<u32>,
        seed: u64,
        stream: u32,
        first_row: usize,
    },
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    d: u32,
    kl_weight: f32,
    first_row: u32,
    stream: u32,
    seed_lo: u32,
    seed_hi: u32,
    _pad: u32,
}

impl Params {
    fn new(n: usize, d: usize, kl_weight: f32) -> Self {
        Params {
            n: n as u32,
            d: d as u32,
            kl_weight,
            first_row: 0,
            stream: 0,
            seed_lo: 0,
            seed_hi: 0,
            _pad: 0,
        }
    }
}

fn check(entry: &str, n: usize, d: usize, args: &[(&str, &Arg<'_>, usize)]) -> GpuResult<()> {
    check_u32(
        &format!("reparam {entry}: [n × 2d]"),
        n.saturating_mul(2 * d),
    )?;
    for (what, arg, need) in args {
        check_len(&format!("reparam {entry}: `{what}` elements"), arg, *need)?;
    }
    Ok(())
}

fn spec(entry: &'static str, bindings: &'static [Binding]) -> KernelSpec {
    KernelSpec {
        label: "reparam",
        source: SOURCE,
        entry,
        bindings,
        constants: vec![("WG", WORKGROUP_SIZE as f64)],
    }
}

/// `z = μ + ε·exp(min(ℓ̃, 10))` for `n` rows of width `d`, ε read from `eps`.
pub fn forward(
    ctx: &GpuContext,
    head: Arg<'_>,
    eps: Arg<'_>,
    z: Arg<'_>,
    n: usize,
    d: usize,
) -> GpuResult<Dispatch> {
    forward_with(ctx, head, eps, z, n, d, Eps::Given)
}

/// [`forward`] with ε from `source` (drawn: also written to `eps`).
pub fn forward_with(
    ctx: &GpuContext,
    head: Arg<'_>,
    eps: Arg<'_>,
    z: Arg<'_>,
    n: usize,
    d: usize,
    source: Eps<'_>,
) -> GpuResult<Dispatch> {
    check(
        "forward",
        n,
        d,
        &[
            ("head", &head, n * 2 * d),
            ("eps", &eps, n * d),
            ("z", &z, n * d),
        ],
    )?;
    let mut params = Params::new(n, d, 0.0);
    let grid = grid_1d(ctx, "reparam forward", (n * d) as u64, WORKGROUP_SIZE)?;
    let Eps::Drawn {
        clock,
        seed,
        stream,
        first_row,
    } = source
    else {
        let params = uniform(ctx, "reparam params", &params);
        return ctx.kernel(&spec("forward", FORWARD_BINDINGS))?.dispatch(
            ctx,
            &[(&params).into(), head, eps, z],
            grid,
        );
    };
    check_u32(
        "reparam forward_drawn: rows",
        (first_row + n).saturating_mul(d),
    )?;
    check_len("reparam forward_drawn: clock", &clock.into(), 1)?;
    params.first_row = first_row as u32;
    params.stream = stream;
    params.seed_lo = seed as u32;
    params.seed_hi = (seed >> 32) as u32;
    let params = uniform(ctx, "reparam params", &params);
    // (bindings 4 and 5 belong to the backward: never read here)
    let unused = [ctx.unused_output(), clock.into()];
    ctx.kernel(&spec("forward_drawn", FORWARD_DRAWN_BINDINGS))?
        .dispatch(
            ctx,
            &[
                (&params).into(),
                head,
                eps,
                z,
                unused[0],
                unused[1],
                clock.into(),
            ],
            grid,
        )
}

/// Writes `dhead` (N × 2d) = the gradient of `Σ dz⊙z + kl_weight·Σ_i kl_i` and
/// `kl_terms[i] = −½ Σ_k (1 + 2ℓ − μ² − e^{2ℓ})` (unscaled, one per node).
#[allow(clippy::too_many_arguments)]
pub fn backward(
    ctx: &GpuContext,
    head: Arg<'_>,
    eps: Arg<'_>,
    dz: Arg<'_>,
    dhead: Arg<'_>,
    kl_terms: Arg<'_>,
    n: usize,
    d: usize,
    kl_weight: f32,
) -> GpuResult<Dispatch> {
    check(
        "backward",
        n,
        d,
        &[
            ("head", &head, n * 2 * d),
            ("eps", &eps, n * d),
            ("dz", &dz, n * d),
            ("dhead", &dhead, n * 2 * d),
            ("kl_terms", &kl_terms, n),
        ],
    )?;
    let params = uniform(ctx, "reparam params", &Params::new(n, d, kl_weight));
    let grid = grid_1d(ctx, "reparam backward", n as u64, WORKGROUP_SIZE)?;
    ctx.kernel(&spec("backward", BACKWARD_BINDINGS))?.dispatch(
        ctx,
        &[(&params).into(), head, eps, dhead, kl_terms, dz],
        grid,
    )
}

/// CPU twin of [`forward`].
pub fn forward_cpu(head: &[f64], eps: &[f64], n: usize, d: usize) -> Vec<f64> {
    let mut z = vec![0.0; n * d];
    for i in 0..n {
        for k in 0..d {
            let mu = head[i * 2 * d + k];
            let l = head[i * 2 * d + d + k].min(MAX_LOG_STD);
            z[i * d + k] = mu + eps[i * d + k] * l.exp();
        }
    }
    z
}

/// CPU twin of the KL terms of [`backward`]: `−½ Σ_k (1 + 2ℓ − μ² − e^{2ℓ})` per node.
pub fn kl_cpu(head: &[f64], n: usize, d: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            -0.5 * (0..d)
                .map(|k| {
                    let mu = head[i * 2 * d + k];
                    let l = head[i * 2 * d + d + k].min(MAX_LOG_STD);
                    1.0 + 2.0 * l - mu * mu - (2.0 * l).exp()
                })
                .sum::<f64>()
        })
        .collect()
}

/// CPU twin of `dhead` of [`backward`].
pub fn backward_cpu(
    head: &[f64],
    eps: &[f64],
    dz: &[f64],
    n: usize,
    d: usize,
    kl_weight: f64,
) -> Vec<f64> {
    let mut dhead = vec![0.0; n * 2 * d];
    for i in 0..n {
        for k in 0..d {
            let mu = head[i * 2 * d + k];
            let lt = head[i * 2 * d + d + k];
            let el = lt.min(MAX_LOG_STD).exp();
            let g = dz[i * d + k];
            dhead[i * 2 * d + k] = g + kl_weight * mu;
            dhead[i * 2 * d + d + k] = if lt < MAX_LOG_STD {
                g * eps[i * d + k] * el + kl_weight * (el * el - 1.0)
            } else {
                0.0
            };
        }
    }
    dhead
}

/// z = μ + ε·exp(min(ℓ̃, 10)) over n×d: reads μ, ℓ̃, ε; writes z.
pub fn forward_cost(n: usize, d: usize) -> super::Cost {
    super::Cost::elementwise(4 * n * d, 3 * n * d, n * d)
}

/// Reparameterisation backward with the fused KL: reads μ, ℓ̃, ε, dz; writes dμ, dℓ̃
/// and one KL term per row (~14 FLOPs per element).
pub fn backward_cost(n: usize, d: usize) -> super::Cost {
    super::Cost::elementwise(14 * n * d, 4 * n * d, 2 * n * d + n)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[
            ("forward", FORWARD_BINDINGS),
            ("forward_drawn", FORWARD_DRAWN_BINDINGS),
            ("backward", BACKWARD_BINDINGS),
        ],
        super::params_layout!(Params {
            n,
            d,
            kl_weight,
            first_row,
            stream,
            seed_lo,
            seed_hi
        }),
        vec![],
    )
}
