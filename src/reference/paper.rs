//! The original ARGA code's iteration in float64 (`docs/reproduce.md`), the oracle for the
//! engine's paper alternation: `recon_steps` encoder steps on the dense reconstruction
//! (+ KL/N), then for adversarial models K discriminator steps and one generator step on the
//! GAN loss (+ the reconstruction for ARGA, alone for ARVGA) with Adam moments of its own.
//! Every step runs its own forward with its own noise, given per pass.

use super::ops::{matmul, matmul_nt, sigmoid, softplus};
use super::{
    AdamState, Csr, ReferenceError, disc_loss_and_grad, encoder_backward, encoder_forward,
    head_grad, kl_loss, reg_loss_and_grad, sample_z,
};
use crate::model::Arch;

/// The dense loss's labels Y = A_train + I (sorted rows) and ΣA, the directed training edges.
#[derive(Clone, Copy, Debug)]
pub struct Labels<'a> {
    pub row_ptr: &'a [u32],
    pub col: &'a [u32],
    pub edges: usize,
}

/// Everything one iteration consumes besides the parameters and Adam states.
#[derive(Clone, Copy, Debug)]
pub struct PaperInputs<'a> {
    pub arch: Arch,
    pub x: &'a Csr,
    pub adj: &'a Csr,
    pub labels: Labels<'a>,
    /// Per pass p (the recon steps', then the discriminator's and the generator's forward):
    /// ε_p (N × d, variational models) and the noise added to H1 (N × H, or none).
    pub eps: &'a [Vec<f64>],
    pub hidden_noise: &'a [Vec<f64>],
    /// One z′ per discriminator step.
    pub z_prime: &'a [Vec<f64>],
    pub recon_steps: usize,
    pub lr_enc: f64,
    pub lr_dis: f64,
    pub lr_gen: f64,
    /// 0-based iteration: Adam's step counters are `i·recon_steps + j + 1` (recon step j),
    /// `i·K + k + 1` (discriminator step k) and `i + 1` (generator).
    pub epoch_index: usize,
}

/// Parameters and the three Adam states the iteration updates in place.
pub struct PaperState {
    pub enc: Vec<f64>,
    pub dis: Vec<f64>,
    pub enc_adam: AdamState,
    pub dis_adam: AdamState,
    pub gen_adam: AdamState,
}

/// Losses of one iteration, each before its step's update.
#[derive(Clone, Debug, PartialEq)]
pub struct PaperOutputs {
    /// norm·mean weighted BCE (+ KL/N for variational models) of each recon step.
    pub recon_losses: Vec<f64>,
    pub disc_losses: Vec<f64>,
    /// mean BCE(D(z), 1) of the generator step (0 without a discriminator).
    pub reg_loss: f64,
}

/// The forward of pass `p`: z, and what its backward needs.
struct Pass {
    fwd: super::EncoderForward,
    z: Vec<f64>,
    /// ε, μ, clamped ℓ (variational models).
    variational: Option<(Vec<f64>, Vec<f64>, Vec<f64>)>,
}

fn forward(inp: &PaperInputs, enc: &[f64], p: usize) -> Result<Pass, ReferenceError> {
    let a = &inp.arch;
    let noise = inp.hidden_noise.get(p).filter(|v| !v.is_empty());
    let fwd = encoder_forward(a, inp.x, inp.adj, enc, noise.map(Vec::as_slice));
    if !a.kind.variational() {
        let z = fwd.head.clone();
        return Ok(Pass {
            fwd,
            z,
            variational: None,
        });
    }
    let eps = inp
        .eps
        .get(p)
        .ok_or(ReferenceError::Missing("eps for every pass"))?;
    let (z, mu, ls) = sample_z(a.latent, &fwd.head, eps);
    Ok(Pass {
        fwd,
        z,
        variational: Some((eps.clone(), mu, ls)),
    })
}

/// ∂/∂encoder of a loss whose gradient in z is `dz`, with `kl_weight`·Σ KL_i added.
fn encoder_grad(
    inp: &PaperInputs,
    enc: &[f64],
    pass: &Pass,
    dz: &[f64],
    kl_weight: f64,
) -> Vec<f64> {
    let dhead = match &pass.variational {
        Some((eps, mu, ls)) => {
            head_grad(inp.arch.latent, &pass.fwd.head, eps, mu, ls, dz, kl_weight)
        }
        None => dz.to_vec(),
    };
    encoder_backward(&inp.arch, inp.x, inp.adj, enc, &pass.fwd, &dhead)
}

/// The original code's weighted BCE over all N² pairs (math note: Dense reconstruction),
/// written as matrices — S = Z·Zᵀ, L = norm·mean(w ⊙ BCE(S, Y)), dZ = (dS + dSᵀ)·Z — apart
/// from its kernel's twin (`kernels::dense_recon::loss_and_grad_cpu`), which it checks.
fn dense_recon(inp: &PaperInputs, z: &[f64]) -> (f64, Vec<f64>) {
    dense_loss_and_grad(z, inp.adj.rows, inp.arch.latent, inp.labels)
}

/// [`dense_recon`] of the N × d embedding `z` against the label rows `l`.
pub fn dense_loss_and_grad(z: &[f64], n: usize, d: usize, l: Labels<'_>) -> (f64, Vec<f64>) {
    let (nn, a) = ((n * n) as f64, l.edges.max(1) as f64);
    let (pos_weight, norm) = ((nn - a) / a, nn / (2.0 * (nn - a)));
    let mut y = vec![false; n * n];
    for i in 0..n {
        for &j in &l.col[l.row_ptr[i] as usize..l.row_ptr[i + 1] as usize] {
            y[i * n + j as usize] = true;
        }
    }
    let s = matmul_nt(z, z, n, d, n);
    let (mut loss, mut ds) = (0.0, vec![0.0; n * n]);
    for (k, (&s, &y)) in s.iter().zip(&y).enumerate() {
        let (l, g) = if y {
            (pos_weight * softplus(-s), -pos_weight * sigmoid(-s))
        } else {
            (softplus(s), sigmoid(s))
        };
        loss += l;
        ds[k] = norm * g / nn;
    }
    let sym: Vec<f64> = (0..n * n)
        .map(|k| ds[k] + ds[(k % n) * n + k / n])
        .collect();
    (norm * loss / nn, matmul(&sym, z, n, n, d))
}

/// Pass `p`'s reconstruction step: its loss (norm·mean weighted BCE, + KL/N for variational
/// models) and the gradient in the encoder parameters.
pub fn recon_loss_and_grad(
    inp: &PaperInputs,
    enc: &[f64],
    p: usize,
) -> Result<(f64, Vec<f64>), ReferenceError> {
    let n = inp.adj.rows;
    let nf = n as f64;
    let pass = forward(inp, enc, p)?;
    let (mut loss, dz) = dense_recon(inp, &pass.z);
    if let Some((_, mu, ls)) = &pass.variational {
        loss += kl_loss(mu, ls, n) / nf;
    }
    Ok((loss, encoder_grad(inp, enc, &pass, &dz, 1.0 / (nf * nf))))
}

/// Pass `p`'s generator step through the discriminator `dis`: its loss, mean BCE(D(z), 1)
/// (+ the reconstruction for ARGA; ARVGA's is the GAN loss alone), and the gradient in the
/// encoder parameters. Returns the GAN part of the loss first.
pub fn generator_loss_and_grad(
    inp: &PaperInputs,
    enc: &[f64],
    dis: &[f64],
    p: usize,
) -> Result<(f64, f64, Vec<f64>), ReferenceError> {
    let a = &inp.arch;
    let pass = forward(inp, enc, p)?;
    let (gan, mut dz) = reg_loss_and_grad(a, dis, &pass.z);
    let mut loss = gan;
    if !a.kind.variational() {
        let (recon, dz_recon) = dense_recon(inp, &pass.z);
        loss += recon;
        dz.iter_mut().zip(dz_recon).for_each(|(g, r)| *g += r);
    }
    Ok((gan, loss, encoder_grad(inp, enc, &pass, &dz, 0.0)))
}

/// One iteration of the original code's schedule, updating `st` in place.
pub fn iteration(inp: &PaperInputs, st: &mut PaperState) -> Result<PaperOutputs, ReferenceError> {
    let a = &inp.arch;
    let (i, steps) = (inp.epoch_index, inp.recon_steps);
    let mut recon_losses = Vec::new();
    for j in 0..steps {
        let (loss, grad) = recon_loss_and_grad(inp, &st.enc, j)?;
        recon_losses.push(loss);
        st.enc_adam
            .step(&mut st.enc, &grad, inp.lr_enc, i * steps + j + 1);
    }
    let (mut disc_losses, mut reg_loss) = (Vec::new(), 0.0);
    if a.kind.adversarial() {
        let z = forward(inp, &st.enc, steps)?.z;
        let k_steps = inp.z_prime.len();
        for (k, zp) in inp.z_prime.iter().enumerate() {
            let (loss, grad) = disc_loss_and_grad(a, &st.dis, zp, &z);
            disc_losses.push(loss);
            st.dis_adam
                .step(&mut st.dis, &grad, inp.lr_dis, i * k_steps + k + 1);
        }
        let (gan, _, grad) = generator_loss_and_grad(inp, &st.enc, &st.dis, steps + 1)?;
        reg_loss = gan;
        st.gen_adam.step(&mut st.enc, &grad, inp.lr_gen, i + 1);
    }
    Ok(PaperOutputs {
        recon_losses,
        disc_losses,
        reg_loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matrix form here and the kernel twin's loop (written apart) agree.
    #[test]
    fn the_dense_loss_equals_its_kernels_twin() {
        let (n, d) = (23, 5);
        let mut rng = crate::testing::rng(7);
        let z = crate::testing::to_f64(&crate::testing::uniform_f32(&mut rng, n * d, -1.0, 1.0));
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); n];
        for i in 0..n {
            for j in [(i + 1) % n, (i * 7 + 3) % n] {
                rows[i].push(j as u32);
                rows[j].push(i as u32);
            }
        }
        let mut row_ptr = vec![0u32];
        let mut col = Vec::new();
        for r in &mut rows {
            r.sort_unstable();
            r.dedup();
            col.extend_from_slice(r);
            row_ptr.push(col.len() as u32);
        }
        let l = Labels {
            row_ptr: &row_ptr,
            col: &col,
            edges: col.len(),
        };
        let (loss, dz) = dense_loss_and_grad(&z, n, d, l);
        let twin = crate::kernels::dense_recon::loss_and_grad_cpu;
        let (want, want_dz) = twin(&z, n, d, &row_ptr, &col, col.len());
        assert!(
            (loss - want).abs() <= 1e-12 * want.abs(),
            "{loss} vs {want}"
        );
        for (a, b) in dz.iter().zip(&want_dz) {
            assert!((a - b).abs() <= 1e-12 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
}
