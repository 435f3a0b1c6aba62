use argva::data::{self, LoadOptions};
use argva::data::split::{link_split, NegativeSampler};
use argva::gpu::GpuContext;
use argva::model::{Arch, ModelKind, init_params};
use argva::reference::{self, AdamState, Csr, EpochInputs};
use argva::train::engine::{CsrRef, Engine, EngineConfig, Noise, Recon};
use rand::SeedableRng;

fn main() {
    let kind = match std::env::args().nth(1).as_deref() { Some("gae") => ModelKind::Gae, Some("vgae") => ModelKind::Vgae, _ => ModelKind::Argva };
    let opts = LoadOptions { root: "/work/shared/datasets".into(), features: None, labels: None, download: false, allow_unverified: false };
    let g = data::load("cora", &opts).unwrap();
    let split = link_split(&g, 0.05, 0.1, 0).unwrap();
    let mut feat = g.features.clone();
    feat.row_normalize();
    let adj = data::gcn_norm(g.num_nodes, &split.train_pos);
    let n = g.num_nodes;
    let conv = |c: &argva::data::Csr| Csr { rows: c.rows, cols: c.cols, row_ptr: c.row_ptr.iter().map(|&p| p as usize).collect(), col: c.col.clone(), val: c.val.iter().map(|&v| v as f64).collect() };
    let (x64, a64) = (conv(&feat), conv(&adj));
    let arch = Arch { kind, features: feat.cols, hidden: 64, latent: 32, disc_hidden: 64 };
    let (enc0, dis0) = init_params(&arch, 0);
    let sampler = NegativeSampler::new(n, &split.train_pos).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let neg = sampler.sample(&mut rng, split.train_pos.len());
    let ctx = GpuContext::new_blocking().unwrap();
    let k = if kind.adversarial() { 5 } else { 0 };
    let cfg = EngineConfig { lr_encoder: 0.005, lr_discriminator: 0.001, disc_steps: 5, num_pos: split.train_pos.len(), num_neg: neg.len(), noise: Noise::Gpu { seed: 3 }, recon: Recon::Sampled };
    let cr = |c: &argva::data::Csr| (c.row_ptr.clone(), c.col.clone(), c.val.clone(), c.cols);
    let (fx, ax) = (cr(&feat), cr(&adj));
    let engine = Engine::new(&ctx, arch, cfg, CsrRef { row_ptr: &fx.0, col: &fx.1, val: &fx.2, cols: fx.3 }, CsrRef { row_ptr: &ax.0, col: &ax.1, val: &ax.2, cols: ax.3 }, &enc0, &dis0).unwrap();
    let pairs: Vec<u32> = split.train_pos.iter().chain(&neg).flat_map(|p| [p[0], p[1]]).collect();
    engine.set_pairs(&ctx, &pairs).unwrap();
    let mut enc: Vec<f64> = enc0.iter().map(|&v| v as f64).collect();
    let mut dis: Vec<f64> = dis0.iter().map(|&v| v as f64).collect();
    let (mut ea, mut da) = (AdamState::new(enc.len()), AdamState::new(dis.len()));
    for epoch in 0..30u32 {
        let eps = argva::kernels::rng::normal_cpu(3, epoch, 0, n * 32);
        let zp: Vec<Vec<f64>> = (0..k).map(|s| argva::kernels::rng::normal_cpu(3, epoch, 1 + s as u32, n * 32)).collect();
        let inputs = EpochInputs { arch, x: &x64, adj: &a64, pos: &split.train_pos, neg: &neg, eps: kind.variational().then_some(&eps[..]), z_prime: &zp, lr_enc: 0.005, lr_dis: 0.001, epoch_index: epoch as usize };
        let out = reference::epoch(&inputs, &mut enc, &mut dis, &mut ea, &mut da).unwrap();
        engine.submit_epoch(&ctx, epoch).unwrap();
        let l = engine.losses.read_blocking(&ctx).unwrap();
        let ge = engine.enc_params.read_blocking(&ctx).unwrap();
        let maxd = ge.iter().zip(&enc).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0, f64::max);
        let maxv = enc.iter().map(|b| b.abs()).fold(0.0, f64::max);
        println!("epoch {epoch}: ref recon {:.5} reg {:.5} kl {:.5} disc {:?} | gpu recon {:.5} reg {:.5} kl {:.5} | max|Δenc| {maxd:.2e} of {maxv:.2e}", out.recon_loss, out.reg_loss, out.kl_loss, out.disc_losses.iter().map(|v| (v*1e4).round()/1e4).collect::<Vec<_>>(), l[1], l[0], l[2]);
    }
}
