//! The discriminator's output layer with its BCE loss, forward and backward, in one launch.
//! Shader: `shaders/disc_out.wgsl`.
//!
//! From the last hidden activation `a2` `[rows × dh]` it computes the logits
//! `s = a2·w3ᵀ + b3`, the loss `Σ_r loss_r` into one slot of the loss buffer (each row carries
//! 1/n, as in [`bce`](super::bce)), the ReLU-masked gradient of `a2`, and optionally the
//! gradients of `w3` and `b3`. That is seven launches of the unfused step (output matmul, bce,
//! reduce, the weight and bias gradients, the gradient matmul, ReLU backward) in one.
//!
//! One workgroup of 256 lanes: the loss and the output layer's gradients are sums over every
//! row, and one workgroup sums them in a fixed order without atomics (bit-reproducible).
//! It is meant for discriminator batches (2N rows); cost per row ≈ 6·dh FLOPs.

use super::check_len;
use crate::gpu::uniform;
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};

/// `shaders/lib/logistic.wgsl` (softplus, sigmoid) + `shaders/disc_out.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/disc_out.wgsl")
);
/// Lanes of the single workgroup (a `const` in the shader: it sizes workgroup memory).
pub const WORKGROUP_SIZE: u32 = 256;
/// Largest hidden width: `dh + 1` accumulators must fit the shader's workgroup array.
pub const MAX_HIDDEN: usize = 2047;
/// `@binding` order: params, a2, w3, b3, da2, dw3, db3, losses.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    fake: u32,
    dh: u32,
    slot: u32,
    inv_n: f32,
    flags: u32,
    _pad: [u32; 2],
}

/// The batch and its labels: the discriminator's loss (`n` fake rows then `n` real rows) or
/// the encoder's regulariser (`n` rows, all labelled real).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels {
    Disc { n: usize },
    Reg { n: usize },
}

impl Labels {
    /// (rows, fake rows, n)
    fn shape(self) -> (usize, usize, usize) {
        match self {
            Labels::Disc { n } => (2 * n, n, n),
            Labels::Reg { n } => (n, 0, n),
        }
    }
}

/// Where the layer's parameter gradients go (`dw3`: dh values, `db3`: one).
#[derive(Clone, Copy, Debug)]
pub struct ParamGrads<'a> {
    pub dw3: Arg<'a>,
    pub db3: Arg<'a>,
}

/// Binds the fused output layer: reads `a2` (`[rows × dh]`), `w3` (dh), `b3` (1); writes
/// `losses[slot]`, `da2` (`[rows × dh]`) and, if given, the parameter gradients.
#[allow(clippy::too_many_arguments)]
pub fn bind(
    ctx: &GpuContext,
    labels: Labels,
    a2: Arg<'_>,
    w3: Arg<'_>,
    b3: Arg<'_>,
    da2: Arg<'_>,
    grads: Option<ParamGrads<'_>>,
    losses: Arg<'_>,
    slot: usize,
    dh: usize,
) -> GpuResult<Dispatch> {
    let (rows, fake, n) = labels.shape();
    if dh > MAX_HIDDEN {
        return Err(GpuError::Validation {
            what: "disc_out".into(),
            message: format!("hidden width {dh} exceeds {MAX_HIDDEN}"),
        });
    }
    let elements = rows
        .checked_mul(dh)
        .filter(|&e| e < u32::MAX as usize - 256);
    let Some(elements) = elements else {
        return Err(GpuError::Validation {
            what: "disc_out".into(),
            message: format!("{rows} × {dh} exceeds the u32 index range"),
        });
    };
    check_len("disc_out: `a2` ([rows × dh])", &a2, elements)?;
    check_len("disc_out: `w3` ([dh])", &w3, dh)?;
    check_len("disc_out: `b3` ([1])", &b3, 1)?;
    check_len("disc_out: `da2` ([rows × dh])", &da2, elements)?;
    check_len(
        &format!("disc_out: `losses` (slot {slot})"),
        &losses,
        slot + 1,
    )?;
    let (dw3, db3, flags) = match grads {
        Some(g) => {
            check_len("disc_out: `dw3` ([dh])", &g.dw3, dh)?;
            check_len("disc_out: `db3` ([1])", &g.db3, 1)?;
            (g.dw3, g.db3, 1)
        }
        None => (ctx.unused_output(0), ctx.unused_output(1), 0),
    };
    let params = Params {
        rows: rows as u32,
        fake: fake as u32,
        dh: dh as u32,
        slot: slot as u32,
        inv_n: (1.0 / n.max(1) as f64) as f32,
        flags,
        _pad: [0; 2],
    };
    let params = uniform(ctx, "disc_out params", &params);
    let spec = KernelSpec {
        label: "disc_out",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![],
    };
    ctx.kernel(&spec)?.dispatch(
        ctx,
        &[(&params).into(), a2, w3, b3, da2, dw3, db3, losses],
        [1, 1, 1],
    )
}

/// Result of [`disc_out_cpu`].
#[derive(Clone, Debug, PartialEq)]
pub struct DiscOut {
    pub loss: f64,
    pub da2: Vec<f64>,
    pub dw3: Vec<f64>,
    pub db3: f64,
}

/// CPU twin of [`bind`] in f64, composed from the unfused twins (output matmul, bce, sum,
/// weight and bias gradients, the gradient matmul and the ReLU mask).
pub fn disc_out_cpu(labels: Labels, a2: &[f64], w3: &[f64], b3: f64, dh: usize) -> DiscOut {
    use super::matmul::{Form, matmul_cpu};
    let (rows, _, n) = labels.shape();
    let logits = matmul_cpu(Form::NT, a2, w3, rows, 1, dh, Some(&[b3]), false, None);
    let (loss, g) = match labels {
        Labels::Disc { .. } => super::bce::disc_cpu(&logits, n),
        Labels::Reg { .. } => super::bce::reg_cpu(&logits),
    };
    let dw3 = matmul_cpu(Form::TN, &g, a2, 1, dh, rows, None, false, None);
    let da2 = matmul_cpu(Form::NN, &g, w3, rows, dh, 1, None, false, None)
        .iter()
        .zip(a2)
        .map(|(&v, &x)| if x > 0.0 { v } else { 0.0 })
        .collect();
    DiscOut {
        loss: loss.iter().sum(),
        da2,
        dw3,
        db3: g.iter().sum(),
    }
}
