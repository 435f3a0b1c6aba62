//! A float64 CPU implementation of one training epoch of GAE, VGAE, ARGA and ARGVA, exactly
//! as `docs/argva-math.md` writes it: the oracle for the GPU engine, checked against PyTorch
//! Geometric's own epochs (the golden files, see [`golden`]).
//!
//! Parameters are the flat vectors of [`crate::model::ParamLayout`] in f64 (same offsets and
//! padding as the GPU buffers). Nothing here is fast; everything is plain loops in f64.

pub mod golden;
mod ops;
pub mod paper;

pub use ops::{Csr, sigmoid, softplus};

use crate::model::{Arch, ParamLayout};
use ops::{add_bias, col_sums, dot, matmul, matmul_nt, matmul_tn};

/// PyTorch's Adam defaults (β1, β2, ε), no weight decay.
pub const ADAM_BETA1: f64 = 0.9;
pub const ADAM_BETA2: f64 = 0.999;
pub const ADAM_EPS: f64 = 1e-8;
/// logσ is clamped at this value before use (PyG's MAX_LOGSTD).
pub const MAX_LOGSTD: f64 = 10.0;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReferenceError {
    #[error("{what} has {got} values, expected {expected}")]
    Size {
        what: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("{what} pair {index} names node {node}, but there are only {n} nodes")]
    PairOutOfRange {
        what: &'static str,
        index: usize,
        node: u32,
        n: usize,
    },
    #[error("{0} is required for this model")]
    Missing(&'static str),
}

/// Everything one epoch consumes besides the parameters and Adam state.
#[derive(Clone, Copy, Debug)]
pub struct EpochInputs<'a> {
    pub arch: Arch,
    /// Node features, `N × F`.
    pub x: &'a Csr,
    /// The GCN operator Â, `N × N` (see [`gcn_norm_f64`]).
    pub adj: &'a Csr,
    /// Positive and negative pairs of the reconstruction loss.
    pub pos: &'a [[u32; 2]],
    pub neg: &'a [[u32; 2]],
    /// Reparameterisation noise ε, `N × d` (variational models only).
    pub eps: Option<&'a [f64]>,
    /// One `N × d` sample z′ ~ N(0, I) per discriminator step (adversarial models only);
    /// the number of discriminator steps is `z_prime.len()`.
    pub z_prime: &'a [Vec<f64>],
    pub lr_enc: f64,
    pub lr_dis: f64,
    /// 0-based epoch: Adam's step counter is `epoch_index + 1` for the encoder and
    /// `epoch_index·K + k + 1` for discriminator step k of K.
    pub epoch_index: usize,
}

impl EpochInputs<'_> {
    pub fn nodes(&self) -> usize {
        self.adj.rows
    }

    /// Checks every size and index against the architecture and node count.
    pub fn validate(&self, enc: &[f64], dis: &[f64]) -> Result<(), ReferenceError> {
        let (a, n) = (&self.arch, self.nodes());
        let size = |what, got, expected| {
            if got == expected {
                Ok(())
            } else {
                Err(ReferenceError::Size {
                    what,
                    got,
                    expected,
                })
            }
        };
        size("operator columns", self.adj.cols, n)?;
        size("feature rows", self.x.rows, n)?;
        size("feature columns", self.x.cols, a.features)?;
        size("encoder parameters", enc.len(), ParamLayout::encoder(a).len)?;
        for (what, pairs) in [("positive", self.pos), ("negative", self.neg)] {
            for (index, p) in pairs.iter().enumerate() {
                if let Some(&node) = p.iter().find(|&&v| v as usize >= n) {
                    return Err(ReferenceError::PairOutOfRange {
                        what,
                        index,
                        node,
                        n,
                    });
                }
            }
        }
        if a.kind.variational() {
            let eps = self.eps.ok_or(ReferenceError::Missing("eps"))?;
            size("eps", eps.len(), n * a.latent)?;
        }
        if a.kind.adversarial() {
            size(
                "discriminator parameters",
                dis.len(),
                ParamLayout::discriminator(a).len,
            )?;
            if self.z_prime.is_empty() {
                return Err(ReferenceError::Missing(
                    "z_prime (one per discriminator step)",
                ));
            }
            for z in self.z_prime {
                size("z_prime", z.len(), n * a.latent)?;
            }
        }
        Ok(())
    }
}

/// Adam's moments for one network (same layout as its parameters).
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    pub m: Vec<f64>,
    pub v: Vec<f64>,
}

impl AdamState {
    pub fn new(len: usize) -> Self {
        Self {
            m: vec![0.0; len],
            v: vec![0.0; len],
        }
    }

    /// One Adam step at step counter `t` (≥ 1), written as PyTorch computes it.
    pub fn step(&mut self, params: &mut [f64], grad: &[f64], lr: f64, t: usize) {
        let bc1 = 1.0 - ADAM_BETA1.powi(t as i32);
        let bc2_sqrt = (1.0 - ADAM_BETA2.powi(t as i32)).sqrt();
        for i in 0..params.len() {
            let g = grad[i];
            self.m[i] += (1.0 - ADAM_BETA1) * (g - self.m[i]);
            self.v[i] = ADAM_BETA2 * self.v[i] + (1.0 - ADAM_BETA2) * g * g;
            let denom = self.v[i].sqrt() / bc2_sqrt + ADAM_EPS;
            params[i] -= lr / bc1 * self.m[i] / denom;
        }
    }
}

/// What one epoch produced (losses as PyG reports them).
#[derive(Clone, Debug, PartialEq)]
pub struct EpochOutputs {
    /// `N × d` latent (the encoder forward at the start of the epoch).
    pub z: Vec<f64>,
    /// Variational models: μ and the clamped logσ, `N × d` each.
    pub mu: Option<Vec<f64>>,
    pub logstd: Option<Vec<f64>>,
    /// Discriminator loss before each of its Adam steps.
    pub disc_losses: Vec<f64>,
    pub reg_loss: f64,
    pub recon_loss: f64,
    /// PyG's `kl_loss()`: per-node mean of the KL; it enters the total as `kl_loss / N`.
    pub kl_loss: f64,
    pub total_loss: f64,
    /// ∂total/∂encoder parameters (flat layout) before the encoder's Adam step.
    pub encoder_grads: Vec<f64>,
}

/// The encoder's intermediate values kept for its backward pass.
struct EncoderForward {
    /// Â·P1 + b1 (pre-ReLU), `N × H`.
    a1: Vec<f64>,
    /// What Q = · W_head was made from: H1 = ReLU(a1), or H1 + noise.
    hq: Vec<f64>,
    /// Â·Q + b_head before the clamp, `N × head_width`.
    head: Vec<f64>,
}

/// The encoder forward; `noise` (N × H) is added to H1 before the head (the original ARGA
/// code's noise layer).
fn encoder_forward(
    arch: &Arch,
    x: &Csr,
    adj: &Csr,
    enc: &[f64],
    noise: Option<&[f64]>,
) -> EncoderForward {
    let lay = ParamLayout::encoder(arch);
    let (h, w) = (arch.hidden, arch.head_width());
    let p1 = x.mul(&enc[lay.get("w1").range()], h);
    let mut a1 = adj.mul(&p1, h);
    add_bias(&mut a1, &enc[lay.get("b1").range()]);
    let mut hq: Vec<f64> = a1.iter().map(|&v| v.max(0.0)).collect();
    if let Some(noise) = noise {
        hq.iter_mut().zip(noise).for_each(|(v, e)| *v += e);
    }
    let q = matmul(&hq, &enc[lay.get("w_head").range()], x.rows, h, w);
    let mut head = adj.mul(&q, w);
    add_bias(&mut head, &enc[lay.get("b_head").range()]);
    EncoderForward { a1, hq, head }
}

/// The encoder head for every node, `N × head_width`: `[μ | logσ̃]` (logσ before the clamp)
/// for variational models, z for GAE/ARGA. At evaluation z = μ.
pub fn encode(arch: &Arch, x: &Csr, adj: &Csr, enc: &[f64]) -> Vec<f64> {
    encoder_forward(arch, x, adj, enc, None).head
}

/// Gradient of the encoder parameters given ∂L/∂head (`N × head_width`).
fn encoder_backward(
    arch: &Arch,
    x: &Csr,
    adj: &Csr,
    enc: &[f64],
    fwd: &EncoderForward,
    dhead: &[f64],
) -> Vec<f64> {
    let lay = ParamLayout::encoder(arch);
    let (n, h, w) = (x.rows, arch.hidden, arch.head_width());
    let mut grad = vec![0.0; lay.len];
    // Â is symmetric: Âᵀ·G = Â·G.
    let g2 = adj.mul(dhead, w);
    grad[lay.get("w_head").range()].copy_from_slice(&matmul_tn(&fwd.hq, &g2, n, h, w));
    // Without biases (the paper recipe) theirs stay 0.
    if arch.encoder_bias {
        grad[lay.get("b_head").range()].copy_from_slice(&col_sums(dhead, w));
    }
    let mut da1 = matmul_nt(&g2, &enc[lay.get("w_head").range()], n, w, h);
    for (g, &a) in da1.iter_mut().zip(&fwd.a1) {
        if a <= 0.0 {
            *g = 0.0;
        }
    }
    let g1 = adj.mul(&da1, h);
    grad[lay.get("w1").range()].copy_from_slice(&x.t_mul(&g1, h));
    if arch.encoder_bias {
        grad[lay.get("b1").range()].copy_from_slice(&col_sums(&da1, h));
    }
    grad
}

/// z = μ + ε·exp(min(ℓ̃, 10)) from a variational head: (z, μ, clamped ℓ).
fn sample_z(d: usize, head: &[f64], eps: &[f64]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = head.len() / (2 * d);
    let mut mu = vec![0.0; n * d];
    let mut ls = vec![0.0; n * d];
    for i in 0..n {
        mu[i * d..(i + 1) * d].copy_from_slice(&head[i * 2 * d..i * 2 * d + d]);
        for k in 0..d {
            ls[i * d + k] = head[i * 2 * d + d + k].min(MAX_LOGSTD);
        }
    }
    let z = (0..n * d).map(|e| mu[e] + eps[e] * ls[e].exp()).collect();
    (z, mu, ls)
}

/// PyG's `kl_loss()`: −½·mean_i Σ_k (1 + 2ℓ − μ² − e^{2ℓ}).
fn kl_loss(mu: &[f64], ls: &[f64], n: usize) -> f64 {
    -0.5 / n as f64
        * mu.iter()
            .zip(ls)
            .map(|(&m, &l)| 1.0 + 2.0 * l - m * m - (2.0 * l).exp())
            .sum::<f64>()
}

/// ∂/∂head (N × 2d) of Σ dz⊙z + `kl_weight`·Σ_i KL_i (KL_i node i's unscaled term), back
/// through the reparameterisation and the clamp.
fn head_grad(
    d: usize,
    head: &[f64],
    eps: &[f64],
    mu: &[f64],
    ls: &[f64],
    dz: &[f64],
    kl_weight: f64,
) -> Vec<f64> {
    let n = mu.len() / d.max(1);
    let mut dhead = vec![0.0; n * 2 * d];
    for i in 0..n {
        for k in 0..d {
            let e = i * d + k;
            dhead[i * 2 * d + k] = dz[e] + kl_weight * mu[e];
            let clamp_pass = head[i * 2 * d + d + k] < MAX_LOGSTD;
            dhead[i * 2 * d + d + k] = if clamp_pass {
                dz[e] * eps[e] * ls[e].exp() + kl_weight * ((2.0 * ls[e]).exp() - 1.0)
            } else {
                0.0
            };
        }
    }
    dhead
}

/// The discriminator's intermediate values for a batch of rows.
struct DiscForward {
    rows: usize,
    x: Vec<f64>,
    a1: Vec<f64>,
    h1: Vec<f64>,
    a2: Vec<f64>,
    h2: Vec<f64>,
    logits: Vec<f64>,
}

fn disc_forward(arch: &Arch, dis: &[f64], x: &[f64]) -> DiscForward {
    let lay = ParamLayout::discriminator(arch);
    let (d, (w1, w2)) = (arch.latent, arch.disc_widths());
    let rows = x.len() / d;
    let p = |name| &dis[lay.get(name).range()];
    // nn.Linear: y = x·Wᵀ + b with W [out, in].
    let mut a1 = matmul_nt(x, p("w1"), rows, d, w1);
    add_bias(&mut a1, p("b1"));
    let h1: Vec<f64> = a1.iter().map(|&v| v.max(0.0)).collect();
    let mut a2 = matmul_nt(&h1, p("w2"), rows, w1, w2);
    add_bias(&mut a2, p("b2"));
    let h2: Vec<f64> = a2.iter().map(|&v| v.max(0.0)).collect();
    let logits = h2
        .chunks_exact(w2)
        .map(|r| dot(r, p("w3")) + p("b3")[0])
        .collect();
    DiscForward {
        rows,
        x: x.to_vec(),
        a1,
        h1,
        a2,
        h2,
        logits,
    }
}

/// Back through D from ∂L/∂logits: (parameter gradient, ∂L/∂input rows).
fn disc_backward(
    arch: &Arch,
    dis: &[f64],
    f: &DiscForward,
    dlogits: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let lay = ParamLayout::discriminator(arch);
    let (d, (w1, w2), r) = (arch.latent, arch.disc_widths(), f.rows);
    let p = |name| &dis[lay.get(name).range()];
    let mut grad = vec![0.0; lay.len];
    grad[lay.get("w3").range()].copy_from_slice(&matmul_tn(dlogits, &f.h2, r, 1, w2));
    grad[lay.get("b3").range()][0] = dlogits.iter().sum();
    let relu_back = |g: &mut [f64], a: &[f64]| {
        for (g, &a) in g.iter_mut().zip(a) {
            if a <= 0.0 {
                *g = 0.0;
            }
        }
    };
    let mut da2 = matmul(dlogits, p("w3"), r, 1, w2);
    relu_back(&mut da2, &f.a2);
    grad[lay.get("w2").range()].copy_from_slice(&matmul_tn(&da2, &f.h1, r, w2, w1));
    grad[lay.get("b2").range()].copy_from_slice(&col_sums(&da2, w2));
    let mut da1 = matmul(&da2, p("w2"), r, w2, w1);
    relu_back(&mut da1, &f.a1);
    grad[lay.get("w1").range()].copy_from_slice(&matmul_tn(&da1, &f.x, r, w1, d));
    grad[lay.get("b1").range()].copy_from_slice(&col_sums(&da1, w1));
    let dx = matmul(&da1, p("w1"), r, w1, d);
    (grad, dx)
}

/// Discriminator loss `mean softplus(−D(z′)) + mean softplus(D(z))` (z′ real, z fake and
/// detached) and its gradient with respect to the discriminator parameters.
pub fn disc_loss_and_grad(arch: &Arch, dis: &[f64], z_prime: &[f64], z: &[f64]) -> (f64, Vec<f64>) {
    let n = z.len() / arch.latent;
    let mut both = z_prime.to_vec();
    both.extend_from_slice(z); // one 2N-row batch: real rows first
    let f = disc_forward(arch, dis, &both);
    let nf = n as f64;
    let (real, fake) = f.logits.split_at(n);
    let loss = real.iter().map(|&a| softplus(-a)).sum::<f64>() / nf
        + fake.iter().map(|&a| softplus(a)).sum::<f64>() / nf;
    let dlogits: Vec<f64> = real
        .iter()
        .map(|&a| (sigmoid(a) - 1.0) / nf)
        .chain(fake.iter().map(|&a| sigmoid(a) / nf))
        .collect();
    (loss, disc_backward(arch, dis, &f, &dlogits).0)
}

/// Regulariser `mean softplus(−D(z))` (the encoder fooling D) and ∂/∂z.
pub fn reg_loss_and_grad(arch: &Arch, dis: &[f64], z: &[f64]) -> (f64, Vec<f64>) {
    let f = disc_forward(arch, dis, z);
    let nf = f.rows as f64;
    let loss = f.logits.iter().map(|&a| softplus(-a)).sum::<f64>() / nf;
    let dlogits: Vec<f64> = f.logits.iter().map(|&a| (sigmoid(a) - 1.0) / nf).collect();
    (loss, disc_backward(arch, dis, &f, &dlogits).1)
}

/// Sampled inner-product reconstruction loss
/// `mean_{P⁺} softplus(−z_i·z_j) + mean_{P⁻} softplus(z_i·z_j)` and ∂/∂z. An empty pair set
/// contributes nothing.
pub fn recon_loss_and_grad(
    z: &[f64],
    d: usize,
    pos: &[[u32; 2]],
    neg: &[[u32; 2]],
) -> (f64, Vec<f64>) {
    let mut dz = vec![0.0; z.len()];
    let mut loss = 0.0;
    for (pairs, y) in [(pos, 1.0), (neg, 0.0)] {
        let count = pairs.len() as f64;
        for &[i, j] in pairs {
            let (i, j) = (i as usize * d, j as usize * d);
            let s = dot(&z[i..i + d], &z[j..j + d]);
            loss += if y == 1.0 { softplus(-s) } else { softplus(s) } / count;
            let g = (sigmoid(s) - y) / count;
            for k in 0..d {
                let (zi, zj) = (z[i + k], z[j + k]);
                dz[i + k] += g * zj;
                dz[j + k] += g * zi;
            }
        }
    }
    (loss, dz)
}

/// The encoder's loss at given parameters, every part of it, and its gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderLoss {
    pub z: Vec<f64>,
    pub mu: Option<Vec<f64>>,
    pub logstd: Option<Vec<f64>>,
    pub reg_loss: f64,
    pub recon_loss: f64,
    pub kl_loss: f64,
    /// reg + recon + kl/N.
    pub total_loss: f64,
    pub grad: Vec<f64>,
}

/// Encoder loss `reg(z) + recon(z) + KL/N` (reg only for adversarial models, through the
/// discriminator `dis` as given; KL only for variational ones) and its gradient with respect
/// to the encoder parameters. Inputs must be valid ([`EpochInputs::validate`]).
pub fn encoder_loss_and_grad(inputs: &EpochInputs, enc: &[f64], dis: &[f64]) -> EncoderLoss {
    let a = &inputs.arch;
    let (n, d) = (inputs.nodes(), a.latent);
    let nf = n as f64;
    let fwd = encoder_forward(a, inputs.x, inputs.adj, enc, None);
    let (z, mu, logstd) = if a.kind.variational() {
        let eps = inputs.eps.expect("validated: eps present");
        let (z, mu, ls) = sample_z(d, &fwd.head, eps);
        (z, Some(mu), Some(ls))
    } else {
        (fwd.head.clone(), None, None)
    };

    let (recon_loss, mut dz) = recon_loss_and_grad(&z, d, inputs.pos, inputs.neg);
    let mut reg_loss = 0.0;
    if a.kind.adversarial() {
        let (loss, dz_reg) = reg_loss_and_grad(a, dis, &z);
        reg_loss = loss;
        for (g, r) in dz.iter_mut().zip(dz_reg) {
            *g += r;
        }
    }

    let (kl_loss, dhead) = match (&mu, &logstd) {
        (Some(mu), Some(ls)) => {
            let eps = inputs.eps.expect("validated: eps present");
            // The encoder loss adds kl/N: ∂(kl/N)/∂· = (1/N)·(1/N)·…
            let w = 1.0 / (nf * nf);
            (
                kl_loss(mu, ls, n),
                head_grad(d, &fwd.head, eps, mu, ls, &dz, w),
            )
        }
        _ => (0.0, dz),
    };
    let grad = encoder_backward(a, inputs.x, inputs.adj, enc, &fwd, &dhead);
    EncoderLoss {
        z,
        mu,
        logstd,
        reg_loss,
        recon_loss,
        kl_loss,
        total_loss: reg_loss + recon_loss + kl_loss / nf,
        grad,
    }
}

/// One training epoch, updating `enc`/`dis` and their Adam states in place:
/// 1. encode once (z);
/// 2. adversarial models: for each z′ in `inputs.z_prime`, an Adam step of D on
///    [`disc_loss_and_grad`] with z detached;
/// 3. one Adam step of the encoder on [`encoder_loss_and_grad`] through the updated D.
///
/// `dis`/`dis_adam` are untouched (and may be empty) for GAE and VGAE.
pub fn epoch(
    inputs: &EpochInputs,
    enc: &mut [f64],
    dis: &mut [f64],
    enc_adam: &mut AdamState,
    dis_adam: &mut AdamState,
) -> Result<EpochOutputs, ReferenceError> {
    inputs.validate(enc, dis)?;
    let a = &inputs.arch;
    let mut disc_losses = Vec::new();
    if a.kind.adversarial() {
        // The encoder forward of step 1; z does not change during the discriminator steps.
        let z = encoder_loss_and_grad(inputs, enc, dis).z;
        let k_steps = inputs.z_prime.len();
        for (k, zp) in inputs.z_prime.iter().enumerate() {
            let (loss, grad) = disc_loss_and_grad(a, dis, zp, &z);
            disc_losses.push(loss);
            dis_adam.step(
                dis,
                &grad,
                inputs.lr_dis,
                inputs.epoch_index * k_steps + k + 1,
            );
        }
    }
    let el = encoder_loss_and_grad(inputs, enc, dis);
    enc_adam.step(enc, &el.grad, inputs.lr_enc, inputs.epoch_index + 1);
    Ok(EpochOutputs {
        z: el.z,
        mu: el.mu,
        logstd: el.logstd,
        disc_losses,
        reg_loss: el.reg_loss,
        recon_loss: el.recon_loss,
        kl_loss: el.kl_loss,
        total_loss: el.total_loss,
        encoder_grads: el.grad,
    })
}

/// The GCN operator Â = D^{-½}(A + I)D^{-½} as PyG's `gcn_norm` builds it from directed
/// `[source, target]` edges (list both directions for an undirected graph): every node gets
/// exactly one self-loop of weight 1 (existing loops are kept, not doubled), duplicate edges
/// add up, the degree counts incoming weights, and row `target` gathers from `source`.
///
/// Panics if an edge names a node ≥ `n` (callers validate their edge lists).
pub fn gcn_norm_f64(n: usize, edges: &[[u32; 2]]) -> Csr {
    let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    for &[s, t] in edges {
        assert!(
            (s as usize) < n && (t as usize) < n,
            "edge ({s}, {t}) outside {n} nodes"
        );
        if s != t {
            rows[t as usize].push((s, 1.0));
        }
    }
    for (i, r) in rows.iter_mut().enumerate() {
        r.push((i as u32, 1.0));
        r.sort_by_key(|e| e.0);
        r.dedup_by(|b, a| {
            // Merge duplicates (sum their weights).
            if a.0 == b.0 {
                a.1 += b.1;
                true
            } else {
                false
            }
        });
    }
    let dinv: Vec<f64> = rows
        .iter()
        .map(|r| 1.0 / r.iter().map(|e| e.1).sum::<f64>().sqrt())
        .collect();
    let mut row_ptr = vec![0];
    let (mut col, mut val) = (Vec::new(), Vec::new());
    for (t, r) in rows.iter().enumerate() {
        for &(s, w) in r {
            col.push(s);
            val.push(dinv[s as usize] * w * dinv[t]);
        }
        row_ptr.push(col.len());
    }
    Csr {
        rows: n,
        cols: n,
        row_ptr,
        col,
        val,
    }
}
