//! The discriminator's output layer with its BCE loss, forward and backward, in one launch.
//! Shader: `shaders/disc_out.wgsl`.
//!
//! From the last hidden activation `a2` `[rows × dh]` it computes the logits
//! `s = a2·w3ᵀ + b3`, the ReLU-masked gradient of `a2`, and — as per-workgroup partial sums
//! in a [`Partials`] table — the loss `Σ_r loss_r` (each row carries 1/n, as in
//! [`bce`](super::bce)) and optionally the gradients of `w3` and `b3`. That is seven launches
//! of the unfused step (output matmul, bce, reduce, the weight and bias gradients, the gradient
//! matmul, ReLU backward) in one; the partial sums are added up by the launch that needs them
//! (the optimizer step: [`adam::FromPartials`](super::adam::FromPartials)), in a fixed order,
//! so no launch is spent on the reduction and results are bit-reproducible.
//!
//! One invocation per row, [`ROWS_PER_WORKGROUP`] rows per workgroup (it ran as a single
//! workgroup before: 4 ms a call on Cora's 5 416 rows on lavapipe, one thread's worth of work).
//! Cost per row ≈ 6·dh FLOPs.

use super::check_len;
use crate::gpu::uniform;
use crate::gpu::{Arg, Binding, Dispatch, GpuContext, GpuError, GpuResult, KernelSpec};

/// `shaders/lib/logistic.wgsl` (softplus, sigmoid) + `shaders/disc_out.wgsl`.
pub const SOURCE: &str = concat!(
    include_str!("../../shaders/lib/logistic.wgsl"),
    include_str!("../../shaders/disc_out.wgsl")
);
/// Rows per workgroup, one invocation each (a `const` in the shader: it sizes workgroup
/// memory); also the rows behind one row of the partials table.
pub const ROWS_PER_WORKGROUP: usize = 64;
/// `@binding` order: params, a2, w3, b3, da2, partials.
pub const BINDINGS: &[Binding] = &[
    Binding::Uniform,
    Binding::Read,
    Binding::Read,
    Binding::Read,
    Binding::ReadWrite,
    Binding::ReadWrite,
];

/// Partials columns: the loss, Σg (db3), then dw3[j] at column 2 + j.
pub const LOSS_COLUMN: usize = 0;
pub const DB3_COLUMN: usize = 1;
pub const DW3_COLUMN: usize = 2;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    fake: u32,
    dh: u32,
    base: u32,
    stride: u32,
    inv_n: f32,
    flags: u32,
    _pad: u32,
}

/// The table of per-workgroup partial sums a launch writes into: column c of row w at
/// `c·stride + w` (columns [`LOSS_COLUMN`], [`DB3_COLUMN`], [`DW3_COLUMN`] + j; `dh + 2`
/// columns, so the binding holds `(dh + 2)·stride` values). A launch writes rows
/// `base .. base + workgroups(rows)`: the row chunks of one batch take consecutive rows.
#[derive(Clone, Copy, Debug)]
pub struct Partials<'a> {
    pub table: Arg<'a>,
    pub base: usize,
    pub stride: usize,
}

/// Rows of the partials table a launch over `rows` rows writes.
pub fn workgroups(rows: usize) -> usize {
    rows.div_ceil(ROWS_PER_WORKGROUP)
}

/// A run of `rows` batch rows whose first `fake` rows are labelled fake (0) and the rest
/// real (1), each weighted 1/n: the discriminator's batch (2n rows, n fake), the
/// regulariser's (n rows, none fake), or a row chunk of either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Labels {
    pub rows: usize,
    pub fake: usize,
    pub n: usize,
}

impl Labels {
    /// (rows, fake rows, n)
    fn shape(self) -> (usize, usize, usize) {
        (self.rows, self.fake.min(self.rows), self.n)
    }

    /// Rows of the batch.
    pub fn rows(self) -> usize {
        self.rows
    }
}

/// Binds the fused output layer: reads `a2` (`[rows × dh]`), `w3` (dh), `b3` (1); writes
/// `da2` (`[rows × dh]`) and the partial sums of the loss and, with `grads`, of the
/// parameter gradients (see [`Partials`]).
#[allow(clippy::too_many_arguments)]
pub fn bind(
    ctx: &GpuContext,
    labels: Labels,
    a2: Arg<'_>,
    w3: Arg<'_>,
    b3: Arg<'_>,
    da2: Arg<'_>,
    partials: Partials<'_>,
    grads: bool,
    dh: usize,
) -> GpuResult<Dispatch> {
    let (rows, fake, n) = labels.shape();
    let elements = rows
        .checked_mul(dh)
        .filter(|&e| e < u32::MAX as usize - 256);
    let Some(elements) = elements else {
        return Err(GpuError::InvalidArgument {
            what: "disc_out".into(),
            message: format!("{rows} × {dh} exceeds the u32 index range"),
        });
    };
    check_len("disc_out: `a2` ([rows × dh])", &a2, elements)?;
    check_len("disc_out: `w3` ([dh])", &w3, dh)?;
    check_len("disc_out: `b3` ([1])", &b3, 1)?;
    check_len("disc_out: `da2` ([rows × dh])", &da2, elements)?;
    let groups = workgroups(rows);
    if partials.base + groups > partials.stride {
        return Err(GpuError::InvalidArgument {
            what: "disc_out partials".into(),
            message: format!(
                "rows {}..{} of a table with {} rows",
                partials.base,
                partials.base + groups,
                partials.stride
            ),
        });
    }
    let columns = if grads { dh + 2 } else { 1 };
    check_len(
        &format!(
            "disc_out: `partials` ({columns} columns × stride {})",
            partials.stride
        ),
        &partials.table,
        (columns - 1) * partials.stride + partials.base + groups,
    )?;
    if (dh + 2) * partials.stride > u32::MAX as usize {
        return Err(GpuError::InvalidArgument {
            what: "disc_out partials".into(),
            message: "table exceeds the u32 index range".into(),
        });
    }
    let params = Params {
        rows: rows as u32,
        fake: fake as u32,
        dh: dh as u32,
        base: partials.base as u32,
        stride: partials.stride as u32,
        inv_n: (1.0 / n.max(1) as f64) as f32,
        flags: grads as u32,
        _pad: 0,
    };
    let params = uniform(ctx, "disc_out params", &params);
    let spec = KernelSpec {
        label: "disc_out",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![],
    };
    // One workgroup per ROWS_PER_WORKGROUP rows, folded into 2-D past the per-dimension limit.
    let max = ctx.limits.max_compute_workgroups_per_dimension as usize;
    let grid = if groups <= max {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(max);
        if y > max {
            return Err(GpuError::DispatchTooLarge {
                what: "disc_out".into(),
                groups: groups as u64,
                limit: max as u32,
            });
        }
        [max as u32, y as u32, 1]
    };
    ctx.kernel(&spec)?.dispatch(
        ctx,
        &[(&params).into(), a2, w3, b3, da2, partials.table],
        grid,
    )
}

/// Column `column` of the partials table summed over rows `0..count` in order (the GPU's
/// order), in f64: the totals [`bind`]'s partial sums stand for (tests; the optimizer step
/// does this on the GPU).
pub fn sum_column(table: &[f32], stride: usize, count: usize, column: usize) -> f64 {
    table[column * stride..][..count]
        .iter()
        .map(|&v| v as f64)
        .sum()
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
    let (rows, fake, n) = labels.shape();
    let logits = matmul_cpu(Form::NT, a2, w3, rows, 1, dh, Some(&[b3]), false, None);
    let (loss, g) = bce_rows_cpu(&logits, fake, n);
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

/// BCE twin per logit, each weighted 1/n: the first `fake` rows are labelled 0 (loss
/// softplus(s)), the rest 1 (loss softplus(−s)). Returns (loss terms, dL/dlogit).
pub fn bce_rows_cpu(logits: &[f64], fake: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    use crate::reference::{sigmoid, softplus};
    let n = n as f64;
    logits
        .iter()
        .enumerate()
        .map(|(r, &s)| {
            if r >= fake {
                (softplus(-s) / n, -sigmoid(-s) / n)
            } else {
                (softplus(s) / n, sigmoid(s) / n)
            }
        })
        .unzip()
}

/// The discriminator's output layer fused with its BCE loss and gradients over `rows`
/// rows of width `h`: logits (2h FLOPs a row), dW3/db3 and da2 (≈3h), each activation read
/// once and da2 written once.
pub fn cost(rows: usize, h: usize) -> super::Cost {
    super::Cost::elementwise(5 * rows * h, rows * h + h + 1, rows * h + h + 1)
}

/// Every entry point this module builds, with its bindings and uniform layout as the host
/// writes them (compared with the shader by `tests/shaders.rs`).
pub fn contracts() -> Vec<super::Contract> {
    super::Contract::entries(
        SOURCE,
        &[("main", BINDINGS)],
        super::params_layout!(Params {
            rows,
            fake,
            dh,
            base,
            stride,
            inv_n,
            flags
        }),
        vec![],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_grad, rng, to_f64, uniform_f32};

    #[test]
    fn bce_gradients_are_derivatives_of_the_loss() {
        let n = 6;
        let s = to_f64(&uniform_f32(&mut rng(4), 2 * n, -5.0, 5.0));
        for fake in [0, n, 2 * n] {
            let f = |s: &[f64]| bce_rows_cpu(s, fake, n).0.iter().sum::<f64>();
            assert_grad("bce", f, &s, &bce_rows_cpu(&s, fake, n).1, 1e-6);
        }
        // Fake rows first (loss grows with s), real rows after (loss falls with s).
        let (_, g) = bce_rows_cpu(&s, n, n);
        assert!(g[..n].iter().all(|&v| v > 0.0) && g[n..].iter().all(|&v| v < 0.0));
    }
}
