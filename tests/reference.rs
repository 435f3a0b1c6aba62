//! The float64 reference epoch against PyTorch Geometric's golden epochs, and its gradients
//! against finite differences.

use argva::model::{Arch, ModelKind, ParamLayout, init_params};
use argva::reference::golden::Golden;
use argva::reference::{
    AdamState, Csr, EpochInputs, disc_loss_and_grad, encoder_loss_and_grad, epoch, gcn_norm_f64,
};
use argva::testing;

const KINDS: [ModelKind; 4] = [
    ModelKind::Gae,
    ModelKind::Vgae,
    ModelKind::Arga,
    ModelKind::Argva,
];

fn fixture(kind: ModelKind) -> Golden {
    let path = format!(
        "{}/tests/fixtures/golden/{}_one_epoch.json",
        env!("CARGO_MANIFEST_DIR"),
        kind.name()
    );
    Golden::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Largest |a − b| / (1 + |b|) — absolute near zero, relative for large values.
#[track_caller]
fn check(what: &str, ours: &[f64], golden: &[f64], tol: f64) -> f64 {
    assert_eq!(ours.len(), golden.len(), "{what}: length");
    let mut worst = 0.0f64;
    for (i, (&a, &b)) in ours.iter().zip(golden).enumerate() {
        let e = (a - b).abs() / (1.0 + b.abs());
        assert!(
            e <= tol,
            "{what}[{i}]: reference {a} vs PyG {b} (err {e:e})"
        );
        worst = worst.max(e);
    }
    worst
}

#[test]
fn replays_every_golden_epoch() {
    // PyG writes −log(σ(s) + 1e-15) where we write softplus(−s): agreement to ~1e-10.
    const TOL: f64 = 1e-9;
    for kind in KINDS {
        let g = fixture(kind);
        assert_eq!(g.arch.kind, kind);
        assert_eq!(g.hyper.adam_betas, [0.9, 0.999]);
        assert_eq!(g.hyper.adam_eps, 1e-8);
        let (x, adj) = (g.x_csr(), g.adj());
        let inputs = g.epoch_inputs(&x, &adj);
        let mut enc = g.init_enc.clone();
        let mut dis = g.init_dis.clone().unwrap_or_default();
        let mut enc_adam = AdamState::new(enc.len());
        let mut dis_adam = AdamState::new(dis.len());
        let out = epoch(&inputs, &mut enc, &mut dis, &mut enc_adam, &mut dis_adam).unwrap();
        let o = &g.outputs.epoch;
        let mut errs = vec![
            ("z", check("z", &out.z, &o.z, TOL)),
            (
                "losses",
                check(
                    "losses [reg, recon, kl, total]",
                    &[out.reg_loss, out.recon_loss, out.kl_loss, out.total_loss],
                    &[o.reg_loss, o.recon_loss, o.kl_loss, o.total_loss],
                    TOL,
                ),
            ),
            (
                "disc_losses",
                check("disc_losses", &out.disc_losses, &o.disc_losses, TOL),
            ),
            (
                "encoder_grads",
                check("encoder_grads", &out.encoder_grads, &o.encoder_grads, TOL),
            ),
            (
                "after_enc",
                check("after encoder", &enc, &g.outputs.after_enc, TOL),
            ),
        ];
        if kind.variational() {
            errs.push((
                "mu",
                check("mu", out.mu.as_ref().unwrap(), o.mu.as_ref().unwrap(), TOL),
            ));
            let ls = check(
                "logstd",
                out.logstd.as_ref().unwrap(),
                o.logstd.as_ref().unwrap(),
                TOL,
            );
            errs.push(("logstd", ls));
        } else {
            assert!(out.mu.is_none() && o.mu.is_none());
        }
        if kind.adversarial() {
            errs.push((
                "after_dis",
                check(
                    "after disc",
                    &dis,
                    g.outputs.after_dis.as_ref().unwrap(),
                    TOL,
                ),
            ));
        } else {
            assert!(dis.is_empty() && out.disc_losses.is_empty());
        }
        let worst = errs.iter().map(|e| e.1).fold(0.0, f64::max);
        println!("{}: max rel err {worst:.2e} {errs:?}", kind.name());
    }
}

#[test]
fn golden_errors_name_the_file_and_problem() {
    let err = Golden::load("no/such/file.json").unwrap_err().to_string();
    assert!(err.contains("no/such/file.json"), "{err}");
    let err = Golden::from_json(b"{\"model\": \"gae\"}", "g.json")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("g.json: not a golden"), "{err}");
    // A pair naming a node outside the graph.
    let path = format!(
        "{}/tests/fixtures/golden/gae_one_epoch.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["inputs"]["pos_pairs"]["data"][0] = serde_json::json!(99);
    let err = Golden::from_json(v.to_string().as_bytes(), "bad.json")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.json") && err.contains("pos_pairs") && err.contains("99"),
        "{err}"
    );
}

/// A small random graph with every model part live: random binary features, a ring plus
/// chords, random pairs.
struct Tiny {
    arch: Arch,
    x: Csr,
    adj: Csr,
    pos: Vec<[u32; 2]>,
    neg: Vec<[u32; 2]>,
    eps: Vec<f64>,
    z_prime: Vec<Vec<f64>>,
}

fn tiny(kind: ModelKind, seed: u64) -> Tiny {
    let arch = Arch {
        kind,
        features: 6,
        hidden: 5,
        latent: 3,
        disc_hidden: 4,
        // A narrower second layer (the paper's discriminator shape): both widths exercised.
        disc_hidden2: Some(2),
        encoder_bias: true,
    };
    let n = 9;
    let mut rng = testing::rng(seed);
    let xs: Vec<f64> = testing::uniform_f32(&mut rng, n * arch.features, 0.0, 1.0)
        .iter()
        .map(|&v| if v < 0.4 { 1.0 } else { 0.0 })
        .collect();
    let mut edges = Vec::new();
    for i in 0..n as u32 {
        for j in [(i + 1) % n as u32, (i + 3) % n as u32] {
            edges.extend([[i, j], [j, i]]);
        }
    }
    let r = testing::uniform_f32(&mut rng, 24, 0.0, n as f32);
    let node = |k: usize| (r[k] as u32).min(n as u32 - 1);
    let pos = (0..6).map(|k| [node(2 * k), node(2 * k + 1)]).collect();
    let neg = (6..12).map(|k| [node(2 * k), node(2 * k + 1)]).collect();
    let eps = testing::to_f64(&testing::uniform_f32(&mut rng, n * 3, -1.5, 1.5));
    let z_prime = vec![testing::to_f64(&testing::uniform_f32(
        &mut rng,
        n * 3,
        -2.0,
        2.0,
    ))];
    Tiny {
        arch,
        x: Csr::from_dense(n, arch.features, &xs),
        adj: gcn_norm_f64(n, &edges),
        pos,
        neg,
        eps,
        z_prime,
    }
}

fn inputs(t: &Tiny) -> EpochInputs<'_> {
    EpochInputs {
        arch: t.arch,
        x: &t.x,
        adj: &t.adj,
        pos: &t.pos,
        neg: &t.neg,
        eps: Some(&t.eps),
        z_prime: &t.z_prime,
        lr_enc: 0.01,
        lr_dis: 0.01,
        epoch_index: 0,
    }
}

/// Init scaled up so activations are O(1) and the KL / reg terms matter.
fn params(arch: &Arch, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let (e, d) = init_params(arch, seed);
    let mut e = testing::to_f64(&e);
    // Non-zero biases so their gradients are exercised too.
    let lay = ParamLayout::encoder(arch);
    let mut rng = testing::rng(seed + 100);
    for name in ["b1", "b_head"] {
        let t = lay.get(name);
        let b = testing::uniform_f32(&mut rng, t.len(), -0.3, 0.3);
        e[t.range()].copy_from_slice(&testing::to_f64(&b));
    }
    (e.iter().map(|v| 1.5 * v).collect(), testing::to_f64(&d))
}

#[test]
fn encoder_gradient_matches_finite_differences() {
    for kind in KINDS {
        let t = tiny(kind, 5);
        let inp = inputs(&t);
        let (enc, dis) = params(&t.arch, 3);
        inp.validate(&enc, &dis).unwrap();
        let el = encoder_loss_and_grad(&inp, &enc, &dis);
        assert!(
            el.grad.iter().any(|&g| g.abs() > 1e-3),
            "{kind:?}: gradient is ~zero"
        );
        testing::assert_grad(
            &format!("{} encoder", kind.name()),
            |e| encoder_loss_and_grad(&inp, e, &dis).total_loss,
            &enc,
            &el.grad,
            1e-6,
        );
    }
}

#[test]
fn discriminator_gradient_matches_finite_differences() {
    let t = tiny(ModelKind::Argva, 8);
    let inp = inputs(&t);
    let (enc, dis) = params(&t.arch, 4);
    let z = encoder_loss_and_grad(&inp, &enc, &dis).z;
    let (_, grad) = disc_loss_and_grad(&t.arch, &dis, &t.z_prime[0], &z);
    testing::assert_grad(
        "discriminator",
        |d| disc_loss_and_grad(&t.arch, d, &t.z_prime[0], &z).0,
        &dis,
        &grad,
        1e-6,
    );
}

#[test]
fn gcn_norm_is_symmetric_with_unit_self_loops() {
    // Path 0–1–2 plus a given self-loop on 2 (kept once) and a duplicate 0→1 edge.
    let a = gcn_norm_f64(3, &[[0, 1], [1, 0], [1, 2], [2, 1], [2, 2], [0, 1]]).to_dense();
    // In-degrees with loops: node0 1+1 = 2, node1 1+2+1 = 4 (0→1 twice), node2 1+1 = 2.
    // Â[1][0] = w(0→1)=2 / sqrt(d1·d0) = 2/sqrt(8); Â[0][1] = 1/sqrt(8); Â[2][2] = 1/2.
    let s8 = 8f64.sqrt();
    let expect = [
        0.5,
        1.0 / s8,
        0.0,
        2.0 / s8,
        0.25,
        1.0 / s8,
        0.0,
        1.0 / s8,
        0.5,
    ];
    for (a, e) in a.iter().zip(expect) {
        assert!((a - e).abs() < 1e-15, "{a} vs {e}");
    }
}

#[test]
fn bad_epoch_inputs_are_errors() {
    let t = tiny(ModelKind::Argva, 1);
    let (mut enc, mut dis) = params(&t.arch, 1);
    let mut inp = inputs(&t);
    inp.eps = None;
    let mut a = AdamState::new(enc.len());
    let mut b = AdamState::new(dis.len());
    let err = epoch(&inp, &mut enc, &mut dis, &mut a, &mut b).unwrap_err();
    assert!(err.to_string().contains("eps"), "{err}");
    let pos = [[0, 42]];
    let inp = EpochInputs {
        pos: &pos,
        ..inputs(&t)
    };
    let err = epoch(&inp, &mut enc, &mut dis, &mut a, &mut b).unwrap_err();
    assert!(err.to_string().contains("42"), "{err}");
}

#[test]
fn adam_first_step_moves_each_parameter_by_lr() {
    // At t = 1, m̂ = g and v̂ = g², so the step is lr·g/(|g| + 1e-8) ≈ lr·sign(g).
    let mut p = vec![1.0, -2.0, 0.5, 3.0];
    let g = [0.3, -4.0, 0.0, 1e-3];
    let mut adam = AdamState::new(4);
    adam.step(&mut p, &g, 0.01, 1);
    let step = |g: f64| 0.01 * g / (g.abs() + 1e-8);
    let expect = [1.0 - step(0.3), -2.0 - step(-4.0), 0.5, 3.0 - step(1e-3)];
    for (a, e) in p.iter().zip(expect) {
        assert!((a - e).abs() < 1e-12, "{a} vs {e}");
    }
    // Second step with the same gradient: m̂ = g, v̂ = g² again ⇒ the same move.
    adam.step(&mut p, &g, 0.01, 2);
    assert!((p[0] - (1.0 - 2.0 * step(0.3))).abs() < 1e-12, "{}", p[0]);
}

#[test]
fn training_epochs_reduce_the_reconstruction_loss() {
    for kind in KINDS {
        let t = tiny(kind, 21);
        let (mut enc, mut dis) = params(&t.arch, 6);
        let (mut ea, mut da) = (AdamState::new(enc.len()), AdamState::new(dis.len()));
        let mut recon = Vec::new();
        for e in 0..60 {
            let inp = EpochInputs {
                epoch_index: e,
                ..inputs(&t)
            };
            let out = epoch(&inp, &mut enc, &mut dis, &mut ea, &mut da).unwrap();
            assert!(out.total_loss.is_finite());
            recon.push(out.recon_loss);
        }
        let (first, last) = (recon[0], recon[recon.len() - 1]);
        println!("{kind:?}: recon {first} → {last}");
        assert!(last < 0.8 * first, "{kind:?}: recon {first} → {last}");
    }
}

/// The paper recipe's two encoder steps (`reference::paper`): the dense reconstruction
/// (+ KL/N) and the generator loss (GAN, + recon for ARGA), with the noise layer on H1 and no
/// encoder biases, against central differences in the weights (the biases are not
/// parameters there: their gradient must stay 0).
#[test]
fn paper_step_gradients_match_finite_differences() {
    use argva::reference::paper::{self, Labels, PaperInputs};
    for kind in KINDS {
        let mut t = tiny(kind, 11);
        t.arch.encoder_bias = false;
        let (enc, dis) = params(&t.arch, 6);
        let n = t.adj.rows;
        let row_ptr: Vec<u32> = t.adj.row_ptr.iter().map(|&p| p as u32).collect();
        let mut rng = testing::rng(21);
        let noise = vec![testing::to_f64(&testing::uniform_f32(
            &mut rng,
            n * t.arch.hidden,
            -0.2,
            0.2,
        ))];
        let inp = PaperInputs {
            arch: t.arch,
            x: &t.x,
            adj: &t.adj,
            labels: Labels {
                row_ptr: &row_ptr,
                col: &t.adj.col,
                edges: t.adj.col.len() - n,
            },
            eps: std::slice::from_ref(&t.eps),
            hidden_noise: if kind == ModelKind::Arga { &noise } else { &[] },
            z_prime: &t.z_prime,
            recon_steps: 1,
            lr_enc: 0.01,
            lr_dis: 0.01,
            lr_gen: 0.01,
            epoch_index: 0,
        };
        let lay = ParamLayout::encoder(&t.arch);
        let weights: Vec<usize> = ["w1", "w_head"]
            .iter()
            .flat_map(|w| lay.get(w).range())
            .collect();
        let with = |sub: &[f64]| {
            let mut e = enc.clone();
            weights.iter().zip(sub).for_each(|(&i, &v)| e[i] = v);
            e
        };
        let sub: Vec<f64> = weights.iter().map(|&i| enc[i]).collect();
        let check = |what: &str, grad: &[f64], loss: &dyn Fn(&[f64]) -> f64| {
            for b in ["b1", "b_head"] {
                assert!(
                    grad[lay.get(b).range()].iter().all(|&g| g == 0.0),
                    "{what}: {b}"
                );
            }
            let g: Vec<f64> = weights.iter().map(|&i| grad[i]).collect();
            assert!(
                g.iter().any(|v| v.abs() > 1e-4),
                "{what}: gradient is ~zero"
            );
            testing::assert_grad(what, |s| loss(&with(s)), &sub, &g, 1e-6);
        };
        let (_, grad) = paper::recon_loss_and_grad(&inp, &enc, 0).unwrap();
        check(&format!("{} paper recon step", kind.name()), &grad, &|e| {
            paper::recon_loss_and_grad(&inp, e, 0).unwrap().0
        });
        if kind.adversarial() {
            let (_, _, grad) = paper::generator_loss_and_grad(&inp, &enc, &dis, 0).unwrap();
            check(
                &format!("{} paper generator step", kind.name()),
                &grad,
                &|e| paper::generator_loss_and_grad(&inp, e, &dis, 0).unwrap().1,
            );
        }
    }
}
