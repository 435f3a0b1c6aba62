//! One epoch on the GPU engine from recorded inputs and random draws (host noise), compared
//! with a float64 result: how PyTorch Geometric's golden epochs (`tests/fixtures/golden/`)
//! are replayed by the native GPU tests and by the browser page's self-test alike.

use crate::gpu::{GpuContext, GpuResult};
use crate::model::ParamLayout;
use crate::reference::golden::Golden;
use crate::reference::{Csr, EpochInputs};
use crate::train::engine::{
    Alternation, CsrRef, Engine, EngineConfig, Negatives, Noise, Recon, loss_index,
};

/// f32 against f64 through a whole epoch (sums over up to a few hundred terms, Adam's
/// normalised step): 1e-3 of the reference, relative to each tensor's magnitude.
pub const EPOCH_RTOL: f64 = 1e-3;
/// Forward values and losses of a golden epoch: 1e-4.
pub const FORWARD_RTOL: f64 = 1e-4;

/// A reference CSR as the engine's f32 CSR.
pub struct Csr32 {
    pub row_ptr: Vec<u32>,
    pub col: Vec<u32>,
    pub val: Vec<f32>,
    pub cols: usize,
}

impl Csr32 {
    pub fn from(c: &Csr) -> Self {
        Self {
            row_ptr: c.row_ptr.iter().map(|&p| p as u32).collect(),
            col: c.col.clone(),
            val: c.val.iter().map(|&v| v as f32).collect(),
            cols: c.cols,
        }
    }
    pub fn as_ref(&self) -> CsrRef<'_> {
        CsrRef {
            row_ptr: &self.row_ptr,
            col: &self.col,
            val: &self.val,
            cols: self.cols,
        }
    }
}

pub fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// How far one GPU tensor is from its reference.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Comparison {
    pub what: String,
    /// Largest |gpu − ref| / (1e-3·scale + |ref|), scale = the tensor's largest |ref|, so
    /// near-zero entries do not dominate.
    pub worst: f64,
    pub tolerance: f64,
    /// The first element past the tolerance: (index, GPU value, reference value).
    pub first_bad: Option<(usize, f32, f64)>,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.first_bad.is_none() && self.worst.is_finite()
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.first_bad {
            Some((i, g, w)) => write!(
                f,
                "{}[{i}]: GPU {g} vs reference {w} (worst rel err {:e} > {:e})",
                self.what, self.worst, self.tolerance
            ),
            None => write!(
                f,
                "{}: worst rel err {:e} (≤ {:e})",
                self.what, self.worst, self.tolerance
            ),
        }
    }
}

/// Compares `gpu` with `want` element by element (a length mismatch fails at index 0).
pub fn compare(what: &str, gpu: &[f32], want: &[f64], rtol: f64) -> Comparison {
    if gpu.len() != want.len() {
        return Comparison {
            what: format!("{what} (length {} vs {})", gpu.len(), want.len()),
            worst: f64::INFINITY,
            tolerance: rtol,
            first_bad: Some((0, f32::NAN, f64::NAN)),
        };
    }
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let mut worst = 0.0f64;
    let mut first_bad = None;
    for (i, (&g, &w)) in gpu.iter().zip(want).enumerate() {
        let e = (g as f64 - w).abs() / (1e-3 * scale + w.abs());
        let within = e <= rtol; // false for NaN too
        if !within && first_bad.is_none() {
            first_bad = Some((i, g, w));
        }
        worst = worst.max(if e.is_nan() { f64::INFINITY } else { e });
    }
    Comparison {
        what: what.into(),
        worst,
        tolerance: rtol,
        first_bad,
    }
}

/// What one replayed epoch produced.
pub struct GpuEpoch {
    /// The loss buffer (indexed by [`slot`]).
    pub losses: Vec<f32>,
    pub enc: Vec<f32>,
    pub dis: Vec<f32>,
    /// Encoder gradients of the epoch's encoder step (before Adam).
    pub enc_grads: Vec<f32>,
    pub z: Vec<f32>,
}

/// Runs the first epoch of a run on the GPU from the inputs and draws the f64 reference
/// consumes (host noise), starting from the given parameters (`init_dis` empty for models
/// without a discriminator).
pub async fn gpu_epoch(
    ctx: &GpuContext,
    r: &EpochInputs<'_>,
    init_enc: &[f64],
    init_dis: &[f64],
) -> GpuResult<GpuEpoch> {
    let cfg = EngineConfig {
        lr_encoder: r.lr_enc as f32,
        lr_discriminator: r.lr_dis as f32,
        disc_steps: r.z_prime.len().max(1),
        num_pos: r.pos.len(),
        num_neg: r.neg.len(),
        noise: Noise::Host,
        recon: Recon::Sampled,
        negatives: Negatives::Host,
        alternation: Alternation::Joint,
    };
    let (x32, adj32) = (Csr32::from(r.x), Csr32::from(r.adj));
    let dis0 = if init_dis.is_empty() {
        vec![0.0; ParamLayout::discriminator(&r.arch).len]
    } else {
        f32s(init_dis)
    };
    let engine = Engine::new(
        ctx,
        r.arch,
        cfg,
        x32.as_ref(),
        adj32.as_ref(),
        &f32s(init_enc),
        &dis0,
    )?;
    let pairs: Vec<u32> = r
        .pos
        .iter()
        .chain(r.neg)
        .flat_map(|p| [p[0], p[1]])
        .collect();
    engine.set_pairs(ctx, &pairs)?;
    let zp: Vec<f32> = r.z_prime.iter().flat_map(|z| f32s(z)).collect();
    engine.set_host_noise(ctx, &r.eps.map(f32s).unwrap_or_default(), &zp)?;
    engine.submit_step(ctx, 0)?;
    let n = r.x.rows;
    let z = crate::gpu::buffer::read_buffer(ctx, &engine.buffers.z.buffer, n * r.arch.latent, "z")
        .await?;
    let (enc_grads, _) = engine.read_grads(ctx).await?;
    Ok(GpuEpoch {
        losses: engine.buffers.losses.read(ctx).await?,
        enc: engine.buffers.enc_params.read(ctx).await?,
        dis: engine.buffers.dis_params.read(ctx).await?,
        enc_grads,
        z,
    })
}

/// Replays a golden epoch and compares every recorded output: z, the losses, the encoder's
/// gradients, and the parameters after both optimisers.
pub async fn replay_golden(ctx: &GpuContext, g: &Golden) -> GpuResult<Vec<Comparison>> {
    let (x, adj) = (g.x_csr(), g.adj());
    let init_dis = g.init_dis.clone().unwrap_or_default();
    let out = gpu_epoch(ctx, &g.epoch_inputs(&x, &adj), &g.init_enc, &init_dis).await?;
    let o = &g.outputs.epoch;
    let kind = g.arch.kind;
    let name = kind.name();
    let loss = |what: &str, at: usize, want: f64| {
        compare(
            &format!("{name} {what}"),
            &[out.losses[at]],
            &[want],
            FORWARD_RTOL,
        )
    };
    let mut c = vec![
        compare(&format!("{name} z"), &out.z, &o.z, FORWARD_RTOL),
        loss("recon", loss_index::RECON, o.recon_loss),
    ];
    if kind.variational() {
        c.push(loss("kl", loss_index::KL, o.kl_loss));
    }
    if kind.adversarial() {
        c.push(loss("reg", loss_index::REG, o.reg_loss));
        let k = o.disc_losses.len();
        c.push(compare(
            &format!("{name} disc losses"),
            &out.losses[loss_index::DISC..loss_index::DISC + k],
            &o.disc_losses,
            FORWARD_RTOL,
        ));
        let after = g.outputs.after_dis.as_deref().unwrap_or_default();
        c.push(compare(
            &format!("{name} discriminator after"),
            &out.dis,
            after,
            EPOCH_RTOL,
        ));
    }
    c.push(compare(
        &format!("{name} encoder grads"),
        &out.enc_grads,
        &o.encoder_grads,
        EPOCH_RTOL,
    ));
    c.push(compare(
        &format!("{name} encoder after"),
        &out.enc,
        &g.outputs.after_enc,
        EPOCH_RTOL,
    ));
    Ok(c)
}
