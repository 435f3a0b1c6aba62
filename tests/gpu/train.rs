//! Whole training epochs on the GPU against the float64 reference: PyTorch Geometric's golden
//! epochs replayed with their recorded random draws, a larger random graph, determinism, and
//! learning on a planted-partition graph.

use argva::gpu::GpuContext;
use argva::kernels::negatives;
use argva::model::{Arch, ModelKind, init_params};
use argva::reference::golden::Golden;
use argva::reference::{self, AdamState, Csr, EpochInputs};
use argva::testing::rng;
use argva::train::engine::{
    Alternation, BufferSizes, CsrRef, Engine, EngineConfig, EngineState, Negatives, Noise,
    PositiveTables, Recon, binding_mismatches, loss_index,
};
use argva::train::replay::{self, Csr32, EPOCH_RTOL, FORWARD_RTOL, GpuEpoch, compare, f32s};
use rand::RngExt;

use crate::{SMALL_BINDING, ctx, small_binding_ctx};

const KINDS: [ModelKind; 4] = [
    ModelKind::Gae,
    ModelKind::Vgae,
    ModelKind::Arga,
    ModelKind::Argva,
];

/// `compare` as an assertion: fails naming the first element past the tolerance.
#[track_caller]
fn check(what: &str, gpu: &[f32], want: &[f64], rtol: f64) -> f64 {
    let c = compare(what, gpu, want, rtol);
    assert!(c.passed(), "{c}");
    c.worst
}

/// One epoch on the GPU from the reference's inputs and draws.
fn gpu_epoch(ctx: &GpuContext, inputs: &EpochInputs<'_>, enc: &[f64], dis: &[f64]) -> GpuEpoch {
    let out = pollster::block_on(replay::gpu_epoch(ctx, inputs, enc, dis)).unwrap();
    assert!(ctx.take_uncaptured_error().is_none());
    out
}

#[test]
fn replays_pyg_golden_epochs() {
    let ctx = ctx();
    for kind in KINDS {
        let path = format!(
            "{}/tests/fixtures/golden/{}_one_epoch.json",
            env!("CARGO_MANIFEST_DIR"),
            kind.name()
        );
        let g = Golden::load(&path).unwrap();
        let comparisons = pollster::block_on(replay::replay_golden(ctx, &g)).unwrap();
        assert!(ctx.take_uncaptured_error().is_none());
        // z, recon, encoder grads and params; + KL; + reg, disc losses, disc params.
        let expected = 4 + usize::from(kind.variational()) + 3 * usize::from(kind.adversarial());
        assert_eq!(comparisons.len(), expected, "{kind:?}");
        for c in &comparisons {
            assert!(c.passed(), "{c}");
            let want = if c.what.ends_with(" after") || c.what.ends_with(" grads") {
                EPOCH_RTOL
            } else {
                FORWARD_RTOL
            };
            assert_eq!(c.tolerance, want, "{}", c.what);
        }
    }
}

/// A random graph with sparse binary features: (x, Â, positives, negatives).
fn random_graph(
    n: usize,
    f: usize,
    p_edge: f64,
    seed: u64,
) -> (Csr, Csr, Vec<[u32; 2]>, Vec<[u32; 2]>) {
    let mut r = rng(seed);
    let mut dense = vec![0.0; n * f];
    for v in dense.iter_mut() {
        if r.random_bool(0.05) {
            *v = 1.0;
        }
    }
    let x = Csr::from_dense(n, f, &dense);
    let mut pos = Vec::new();
    let mut is_edge = std::collections::HashSet::new();
    for i in 0..n as u32 {
        for j in i + 1..n as u32 {
            if r.random_bool(p_edge) {
                pos.push([i, j]);
                is_edge.insert((i, j));
            }
        }
    }
    let mut neg = Vec::new();
    while neg.len() < pos.len() {
        let (i, j) = (r.random_range(0..n as u32), r.random_range(0..n as u32));
        if i != j && !is_edge.contains(&(i.min(j), i.max(j))) {
            neg.push([i, j]);
        }
    }
    let directed: Vec<[u32; 2]> = pos.iter().flat_map(|&[i, j]| [[i, j], [j, i]]).collect();
    (x, reference::gcn_norm_f64(n, &directed), pos, neg)
}

#[test]
fn one_epoch_matches_the_reference_on_a_random_graph() {
    let ctx = ctx();
    let (n, f) = (157, 61);
    let (x, adj, pos, neg) = random_graph(n, f, 0.03, 7);
    for kind in KINDS {
        let arch = Arch {
            kind,
            features: f,
            hidden: 24,
            latent: 12,
            disc_hidden: 20,
            disc_hidden2: None,
            encoder_bias: true,
        };
        let (enc0, dis0) = init_params(&arch, 3);
        let (enc0, dis0): (Vec<f64>, Vec<f64>) = (
            enc0.iter().map(|&v| v as f64).collect(),
            dis0.iter().map(|&v| v as f64).collect(),
        );
        let mut r = rng(11);
        let mut normal =
            |len: usize| -> Vec<f64> { argva::kernels::rng::normal_cpu(r.random(), 0, 0, len) };
        let eps = kind.variational().then(|| normal(n * arch.latent));
        let k = if kind.adversarial() { 3 } else { 0 };
        let z_prime: Vec<Vec<f64>> = (0..k).map(|_| normal(n * arch.latent)).collect();
        let lrs = (0.01, 0.002);

        let (mut enc, mut dis) = (enc0.clone(), dis0.clone());
        let (mut ea, mut da) = (AdamState::new(enc.len()), AdamState::new(dis.len()));
        let inputs = EpochInputs {
            arch,
            x: &x,
            adj: &adj,
            pos: &pos,
            neg: &neg,
            eps: eps.as_deref(),
            z_prime: &z_prime,
            lr_enc: lrs.0,
            lr_dis: lrs.1,
            epoch_index: 0,
        };
        let want = reference::epoch(&inputs, &mut enc, &mut dis, &mut ea, &mut da).unwrap();
        let dis_init: &[f64] = if kind.adversarial() { &dis0 } else { &[] };
        let got = gpu_epoch(ctx, &inputs, &enc0, dis_init);
        let name = kind.name();
        check(&format!("{name} z"), &got.z, &want.z, 1e-4);
        check(
            &format!("{name} recon"),
            &[got.losses[loss_index::RECON]],
            &[want.recon_loss],
            1e-4,
        );
        check(
            &format!("{name} encoder grads"),
            &got.enc_grads,
            &want.encoder_grads,
            EPOCH_RTOL,
        );
        check(&format!("{name} encoder after"), &got.enc, &enc, EPOCH_RTOL);
        if kind.adversarial() {
            check(
                &format!("{name} disc losses"),
                &got.losses[loss_index::DISC..loss_index::DISC + k],
                &want.disc_losses,
                1e-4,
            );
            check(
                &format!("{name} discriminator after"),
                &got.dis,
                &dis,
                EPOCH_RTOL,
            );
        }
    }
}

/// Several epochs in a row (Adam's step count and moments carried on the GPU) stay with the
/// reference fed the same draws — recorded on the host, or drawn by the GPU's generator.
#[test]
fn consecutive_epochs_track_the_reference() {
    let ctx = ctx();
    let (n, f) = (120, 40);
    let (x, adj, pos, neg) = random_graph(n, f, 0.04, 9);
    for (kind, noise) in KINDS
        .iter()
        .flat_map(|&k| [(k, Noise::Host), (k, Noise::Gpu { seed: 1 })])
    {
        let arch = Arch {
            kind,
            features: f,
            hidden: 16,
            latent: 8,
            disc_hidden: 12,
            disc_hidden2: None,
            encoder_bias: true,
        };
        let (enc0, dis0) = init_params(&arch, 5);
        let k = if kind.adversarial() { 2 } else { 0 };
        let cfg = EngineConfig {
            lr_encoder: 0.01,
            lr_discriminator: 0.002,
            disc_steps: k.max(1),
            num_pos: pos.len(),
            num_neg: neg.len(),
            noise,
            recon: Recon::Sampled,
            negatives: Negatives::Host,
            alternation: Alternation::Joint,
        };
        let (x32, adj32) = (Csr32::from(&x), Csr32::from(&adj));
        let engine =
            Engine::new(ctx, arch, cfg, x32.as_ref(), adj32.as_ref(), &enc0, &dis0).unwrap();
        let pairs: Vec<u32> = pos.iter().chain(&neg).flat_map(|p| [p[0], p[1]]).collect();
        engine.set_pairs(ctx, &pairs).unwrap();
        let mut enc: Vec<f64> = enc0.iter().map(|&v| v as f64).collect();
        let mut dis: Vec<f64> = dis0.iter().map(|&v| v as f64).collect();
        let (mut ea, mut da) = (AdamState::new(enc.len()), AdamState::new(dis.len()));
        for epoch in 0..4u32 {
            let eps = argva::kernels::rng::normal_cpu(1, epoch, 0, n * arch.latent);
            let z_prime: Vec<Vec<f64>> = (0..k)
                .map(|s| argva::kernels::rng::normal_cpu(1, epoch, 1 + s as u32, n * arch.latent))
                .collect();
            let inputs = EpochInputs {
                arch,
                x: &x,
                adj: &adj,
                pos: &pos,
                neg: &neg,
                eps: kind.variational().then_some(&eps[..]),
                z_prime: &z_prime,
                lr_enc: 0.01,
                lr_dis: 0.002,
                epoch_index: epoch as usize,
            };
            reference::epoch(&inputs, &mut enc, &mut dis, &mut ea, &mut da).unwrap();
            let zp: Vec<f32> = z_prime.iter().flat_map(|z| f32s(z)).collect();
            // GPU noise must draw exactly what the twin draws for (seed 1, epoch, stream).
            if noise == Noise::Host {
                engine.set_host_noise(ctx, &f32s(&eps), &zp).unwrap();
            }
            engine.submit_step(ctx, epoch).unwrap();
            let name = format!("{} ({noise:?}) epoch {epoch}", kind.name());
            check(
                &format!("{name} encoder"),
                &engine.buffers.enc_params.read_blocking(ctx).unwrap(),
                &enc,
                EPOCH_RTOL,
            );
            if kind.adversarial() {
                check(
                    &format!("{name} discriminator"),
                    &engine.buffers.dis_params.read_blocking(ctx).unwrap(),
                    &dis,
                    EPOCH_RTOL,
                );
            }
        }
    }
}

/// The fused epoch's launch counts with the reference recipe's K = 5 discriminator steps
/// (docs/performance.md; they do not depend on the graph): issue 13 asked ≤ 30 for ARGVA.
/// No launch draws noise: the reparameterisation draws ε and each discriminator step its z′
/// (host noise reads them instead), so both noise sources launch the same kernels.
#[test]
fn epoch_launch_counts() {
    let ctx = ctx();
    let (n, f) = (30, 12);
    let (x, adj, pos, neg) = random_graph(n, f, 0.1, 3);
    let (x32, adj32) = (Csr32::from(&x), Csr32::from(&adj));
    let variants = [Noise::Gpu { seed: 1 }, Noise::Host]
        .into_iter()
        .flat_map(|noise| {
            [
                (noise, Negatives::Host),
                (noise, Negatives::Gpu { seed: 2 }),
            ]
        });
    for (kind, want) in KINDS.into_iter().zip([15, 17, 26, 28]) {
        for (noise, negatives) in variants.clone() {
            let arch = Arch {
                kind,
                features: f,
                hidden: 16,
                latent: 8,
                disc_hidden: 12,
                disc_hidden2: None,
                encoder_bias: true,
            };
            let (enc0, dis0) = init_params(&arch, 5);
            let cfg = EngineConfig {
                lr_encoder: 0.01,
                lr_discriminator: 0.002,
                disc_steps: 5,
                num_pos: pos.len(),
                num_neg: neg.len(),
                noise,
                recon: Recon::Sampled,
                negatives,
                alternation: Alternation::Joint,
            };
            let engine =
                Engine::new(ctx, arch, cfg, x32.as_ref(), adj32.as_ref(), &enc0, &dis0).unwrap();
            // GPU negatives add the slot lists' scan, place and order (the draw rides on the
            // pair-loss launch): the reconstruction is 5 launches instead of 2.
            let want = want + if negatives == Negatives::Host { 0 } else { 3 };
            assert_eq!(
                engine.step.dispatch_count(),
                want,
                "{} {noise:?} {negatives:?}",
                kind.name()
            );
            assert_eq!(
                engine.step.steps.len(),
                want,
                "{}: an empty launch was recorded",
                kind.name()
            );
        }
    }
}

/// `buffer_plan` lists exactly what `Engine::new` allocates (it is what a too-large graph is
/// refused with), for every model and both reconstruction losses.
#[test]
fn buffer_plan_matches_what_the_engine_allocates() {
    // A context of its own: the shared one's byte counter moves with other tests.
    let ctx = GpuContext::new_blocking().unwrap();
    let (n, f) = (97, 33);
    let (x, adj, pos, neg) = random_graph(n, f, 0.05, 4);
    let (x32, adj32) = (Csr32::from(&x), Csr32::from(&adj));
    let variants = [Negatives::Host, Negatives::Gpu { seed: 3 }]
        .into_iter()
        .flat_map(|neg| [(Recon::Sampled, neg), (Recon::Dense, neg)]);
    for kind in KINDS {
        for (recon, negatives) in variants.clone() {
            let arch = Arch {
                kind,
                features: f,
                hidden: 10,
                latent: 6,
                disc_hidden: 9,
                disc_hidden2: None,
                encoder_bias: true,
            };
            let (enc0, dis0) = init_params(&arch, 1);
            let cfg = EngineConfig {
                lr_encoder: 0.01,
                lr_discriminator: 0.001,
                disc_steps: 3,
                num_pos: pos.len(),
                num_neg: neg.len(),
                noise: Noise::Gpu { seed: 1 },
                recon,
                negatives,
                alternation: Alternation::Joint,
            };
            let before = ctx.allocated_bytes();
            let engine =
                Engine::new(&ctx, arch, cfg, x32.as_ref(), adj32.as_ref(), &enc0, &dis0).unwrap();
            let planned: u64 =
                argva::train::engine::buffer_plan(&arch, &cfg, n, x.val.len(), adj.val.len())
                    .iter()
                    .map(|b| b.bytes)
                    .sum();
            assert_eq!(
                ctx.allocated_bytes() - before,
                planned,
                "{kind:?} {recon:?} {negatives:?}"
            );
            drop(engine);
        }
    }
}

/// A graph whose embedding z exceeds the device's binding limit (the decoder gathers from
/// all of it through one binding) is refused up front with the bill, not by a wgpu panic
/// halfway through allocation. (Activations past the limit are split, see
/// `split_buffers_train_like_whole_ones`.)
#[test]
fn a_graph_too_large_for_the_device_is_refused_with_its_size() {
    // At a binding limit every device shares (8 KiB), so the refusal names the same buffer on
    // all of them (at its own limit SwiftShader, binding 1 GiB, refuses another one first).
    let ctx = small_binding_ctx();
    let arch = Arch {
        kind: ModelKind::Arga,
        features: 4,
        hidden: 8,
        latent: 64,
        disc_hidden: 8,
        disc_hidden2: None,
        encoder_bias: true,
    };
    // z (N × 64) passes the limit at this N.
    let n = (ctx.max_binding_bytes() / (64 * 4) + 1) as usize;
    let err = engine_refusal(ctx, arch, n);
    assert!(
        err.contains("`z`") && err.contains("bound whole") && err.contains("MiB"),
        "{err}"
    );
}

/// Why `Engine::new` refuses `arch` on a graph of `n` nodes (4 features, each node linked to
/// itself only); panics if it does not, or if it allocated for it (other tests may allocate
/// meanwhile: their share, under one binding, is allowed).
pub fn engine_refusal(ctx: &GpuContext, arch: Arch, n: usize) -> String {
    let row_ptr: Vec<u32> = (0..=n as u32).collect();
    let x_col: Vec<u32> = (0..n as u32).map(|i| i % 4).collect();
    let a_col: Vec<u32> = (0..n as u32).collect();
    let val = vec![1.0f32; n];
    let features = CsrRef {
        row_ptr: &row_ptr,
        col: &x_col,
        val: &val,
        cols: 4,
    };
    let adjacency = CsrRef {
        row_ptr: &row_ptr,
        col: &a_col,
        val: &val,
        cols: n,
    };
    let (enc0, dis0) = init_params(&arch, 1);
    let cfg = EngineConfig {
        lr_encoder: 0.01,
        lr_discriminator: 0.001,
        disc_steps: 5,
        num_pos: 10,
        num_neg: 10,
        noise: Noise::Gpu { seed: 1 },
        recon: Recon::Sampled,
        negatives: Negatives::Host,
        alternation: Alternation::Joint,
    };
    let before = ctx.allocated_bytes();
    let err = match Engine::new(ctx, arch, cfg, features, adjacency, &enc0, &dis0) {
        Ok(_) => panic!("{n} nodes were not refused"),
        Err(e) => e.to_string(),
    };
    assert!(ctx.allocated_bytes() - before < ctx.max_binding_bytes());
    err
}

/// Arrays past one storage binding are split (row chunks bound at offsets, gathers through two
/// windows, per-draw noise launches, discriminator halves in chunks): with the device's
/// binding limit lowered to 8 KiB, a 200-node graph takes every split path, and three epochs
/// give what the unsplit engine gives — the same noise, the same losses, parameters and
/// embedding up to the order of the chunked sums.
#[test]
fn split_buffers_train_like_whole_ones() {
    let (whole_ctx, split_ctx) = (ctx(), small_binding_ctx());
    assert_eq!(SMALL_BINDING, 8192);
    let case = SplitCase::new();
    // The sizes that force each path at this limit.
    let (n, pairs, adj) = (case.n, &case.pairs, &case.adj);
    assert!(n * 16 * 4 > 8192 && pairs.len() * 4 > 8192 && adj.col.len() * 4 <= 8192);
    for kind in KINDS {
        let run = |ctx: &GpuContext| case.three_epochs(ctx, kind);
        let (whole_launches, whole_losses, whole_state, whole_z) = run(whole_ctx);
        let (split_launches, split_losses, split_state, split_z) = run(split_ctx);
        let what = kind.name();
        assert!(
            split_launches > whole_launches,
            "{what}: {split_launches} launches split vs {whole_launches} whole"
        );
        let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        check(
            &format!("{what} losses"),
            &split_losses,
            &f64s(&whole_losses),
            1e-4,
        );
        check(
            &format!("{what} encoder"),
            &split_state.encoder,
            &f64s(&whole_state.encoder),
            1e-4,
        );
        check(
            &format!("{what} discriminator"),
            &split_state.discriminator,
            &f64s(&whole_state.discriminator),
            1e-4,
        );
        check(
            &format!("{what} embedding"),
            &split_z,
            &f64s(&whole_z),
            1e-4,
        );
    }
}

/// The buffer plan's binding claims hold for what the recorder really binds, on a device
/// that takes every path (whole bindings, and row chunks and windows under an 8 KiB limit):
/// every buffer planned `Whole` is bound whole somewhere, gathers use at most two windows, and
/// no launch binds a storage buffer the plan does not list.
#[test]
fn bindings_follow_the_buffer_plan() {
    let case = SplitCase::new();
    let gpu = Negatives::Gpu { seed: 4 };
    let variants = KINDS.iter().flat_map(|&k| {
        [
            (k, Recon::Sampled, Negatives::Host),
            (k, Recon::Sampled, gpu),
        ]
    });
    for (kind, recon, negatives) in
        variants.chain([(ModelKind::Argva, Recon::Dense, Negatives::Host)])
    {
        let (arch, cfg, _, _) = case.parts_with(kind, recon, negatives);
        let (n, x, adj) = (case.n, &case.x, &case.adj);
        let sizes = BufferSizes::new(&arch, &cfg, n, x.val.len(), adj.val.len());
        // (the dense loss needs 64 rows of scores in one binding: not on the 8 KiB device)
        let contexts = if recon == Recon::Dense {
            vec![ctx()]
        } else {
            vec![ctx(), small_binding_ctx()]
        };
        for ctx in contexts {
            let engine = case.engine_with(ctx, kind, recon, negatives);
            let problems = binding_mismatches(
                &sizes,
                &engine.buffers.labelled(),
                &[&engine.step, &engine.encode],
                &[ctx.unused_output().buffer],
            );
            let limit = ctx.max_binding_bytes();
            assert!(
                problems.is_empty(),
                "{kind:?} {recon:?} {negatives:?} at {limit} B: {problems:#?}"
            );
        }
    }
    // The paper alternation (generator moments, the noisy H1, the noisy evaluation forward),
    // on a device whose bindings hold H1 whole (its noise launch binds it whole).
    for kind in [ModelKind::Arga, ModelKind::Argva] {
        let (mut arch, mut cfg, _, _) = case.parts_with(kind, Recon::Dense, Negatives::Host);
        arch.encoder_bias = false;
        arch.disc_hidden2 = Some(arch.hidden);
        cfg.alternation = Alternation::Paper {
            recon_steps: 5,
            lr_generator: 0.001,
            hidden_noise: if kind == ModelKind::Arga { 0.1 } else { 0.0 },
            eval_noise: true,
        };
        let (enc0, dis0) = argva::model::init_params_paper(&arch, 2);
        let (x, adj) = (case.x32.as_ref(), case.adj32.as_ref());
        let engine = Engine::new(ctx(), arch, cfg, x, adj, &enc0, &dis0).unwrap();
        let sizes = BufferSizes::new(&arch, &cfg, case.n, case.x.val.len(), case.adj.val.len());
        let problems = binding_mismatches(
            &sizes,
            &engine.buffers.labelled(),
            &[&engine.step, &engine.encode],
            &[ctx().unused_output().buffer],
        );
        assert!(problems.is_empty(), "paper {kind:?}: {problems:#?}");
    }
}

/// A 200-node graph and a small model whose arrays pass an 8 KiB binding: under
/// [`small_binding_ctx`] every split path (row chunks, two-window gathers, per-draw noise).
pub(crate) struct SplitCase {
    pub n: usize,
    pub x: Csr,
    pub adj: Csr,
    x32: Csr32,
    adj32: Csr32,
    pos: usize,
    neg: usize,
    pub pairs: Vec<u32>,
}

impl SplitCase {
    pub fn new() -> Self {
        let (n, f) = (200, 40);
        let (x, adj, pos, neg) = random_graph(n, f, 0.03, 21);
        let pairs = pos.iter().chain(&neg).flat_map(|p| [p[0], p[1]]).collect();
        SplitCase {
            n,
            x32: Csr32::from(&x),
            adj32: Csr32::from(&adj),
            x,
            adj,
            pos: pos.len(),
            neg: neg.len(),
            pairs,
        }
    }

    /// The model, engine settings and initial parameters of one variant.
    /// (`negatives`: where the sampled loss's negatives come from.)
    pub fn parts_with(
        &self,
        kind: ModelKind,
        recon: Recon,
        negatives: Negatives,
    ) -> (Arch, EngineConfig, Vec<f32>, Vec<f32>) {
        let arch = Arch {
            kind,
            features: self.x.cols,
            hidden: 16,
            latent: 8,
            disc_hidden: 16,
            disc_hidden2: None,
            encoder_bias: true,
        };
        let (enc0, dis0) = init_params(&arch, 5);
        let cfg = EngineConfig {
            lr_encoder: 0.01,
            lr_discriminator: 0.002,
            disc_steps: 3,
            num_pos: self.pos,
            num_neg: self.neg,
            noise: Noise::Gpu { seed: 9 },
            recon,
            negatives,
            alternation: Alternation::Joint,
        };
        (arch, cfg, enc0, dis0)
    }

    pub fn engine(&self, ctx: &GpuContext, kind: ModelKind, recon: Recon) -> Engine {
        self.engine_with(ctx, kind, recon, Negatives::Host)
    }

    /// The engine with negatives from `negatives` (GPU: its positives already uploaded).
    pub fn engine_with(
        &self,
        ctx: &GpuContext,
        kind: ModelKind,
        recon: Recon,
        negatives: Negatives,
    ) -> Engine {
        let (arch, cfg, enc0, dis0) = self.parts_with(kind, recon, negatives);
        let (x, adj) = (self.x32.as_ref(), self.adj32.as_ref());
        let engine = Engine::new(ctx, arch, cfg, x, adj, &enc0, &dis0).unwrap();
        if negatives != Negatives::Host {
            engine.set_positives(ctx, &self.tables()).unwrap();
        }
        engine
    }

    /// The training positives' tables for GPU negatives.
    pub fn tables(&self) -> PositiveTables {
        let pos: Vec<[u32; 2]> = self.pairs[..2 * self.pos]
            .chunks(2)
            .map(|p| [p[0], p[1]])
            .collect();
        PositiveTables::new(self.n, &pos).unwrap()
    }

    /// Three epochs with GPU negatives (seed `seed`), then with host pairs that are the twin's
    /// draw for the same (seed, epoch): (losses, final state) of each.
    pub fn gpu_vs_twin(
        &self,
        ctx: &GpuContext,
        kind: ModelKind,
        seed: u64,
    ) -> [(Vec<f32>, EngineState); 2] {
        let gpu = self.engine_with(ctx, kind, Recon::Sampled, Negatives::Gpu { seed });
        let host = self.engine_with(ctx, kind, Recon::Sampled, Negatives::Host);
        let tables = self.tables();
        let mut out = [(Vec::new(), None), (Vec::new(), None)];
        for epoch in 0..3 {
            let mut pairs = tables.pairs.clone();
            pairs.extend(negatives::draw_cpu(&tables, seed, epoch, self.neg));
            host.set_pairs(ctx, &pairs).unwrap();
            for (engine, (losses, _)) in [&gpu, &host].into_iter().zip(out.iter_mut()) {
                engine.submit_step(ctx, epoch).unwrap();
                losses.extend(engine.buffers.losses.read_blocking(ctx).unwrap());
            }
            assert_eq!(
                gpu.buffers.pairs.read_blocking(ctx).unwrap(),
                pairs,
                "epoch {epoch}: the GPU's pairs are the twin's"
            );
        }
        for (engine, (_, state)) in [&gpu, &host].into_iter().zip(out.iter_mut()) {
            *state = Some(pollster::block_on(engine.read_state(ctx)).unwrap());
        }
        assert!(ctx.take_uncaptured_error().is_none());
        out.map(|(l, s)| (l, s.unwrap()))
    }

    /// Three epochs with the sampled loss: (launches, losses, final state, embedding).
    pub fn three_epochs(
        &self,
        ctx: &GpuContext,
        kind: ModelKind,
    ) -> (usize, Vec<f32>, EngineState, Vec<f32>) {
        let engine = self.engine(ctx, kind, Recon::Sampled);
        engine.set_pairs(ctx, &self.pairs).unwrap();
        let mut losses = Vec::new();
        for epoch in 0..3 {
            engine.submit_step(ctx, epoch).unwrap();
            losses.extend(engine.buffers.losses.read_blocking(ctx).unwrap());
        }
        let state = pollster::block_on(engine.read_state(ctx)).unwrap();
        let z = pollster::block_on(engine.embedding(ctx)).unwrap();
        assert!(ctx.take_uncaptured_error().is_none());
        (engine.step.dispatch_count(), losses, state, z)
    }
}

/// A wait on the GPU that outlasts its limit is an error naming what was waited for, never a
/// hang; with the normal limit the same work finishes.
#[test]
fn a_gpu_wait_past_its_limit_is_an_error() {
    use argva::gpu::{GpuBuffer, submit};
    use argva::kernels::{Epilogue, matmul};
    let mut ctx = GpuContext::new_blocking().unwrap();
    let n = 768; // ~0.9 GFLOP a product: no CPU adapter finishes four in a microsecond
    let a = GpuBuffer::<f32>::zeros(&ctx, "a", n * n).unwrap();
    let out = GpuBuffer::<f32>::zeros(&ctx, "out", n * n).unwrap();
    let (aa, oo) = ((&a).into(), (&out).into());
    let d = matmul::bind(
        &ctx,
        matmul::Form::NN,
        aa,
        aa,
        oo,
        n,
        n,
        n,
        Epilogue::default(),
    )
    .unwrap();
    ctx.wait_idle().unwrap();
    ctx.set_wait_limit(std::time::Duration::from_micros(1));
    submit(&ctx, "slow", &[&d, &d, &d, &d]);
    let waited = ctx.wait_for(None, "the test's products");
    if ctx.summary.backend == "Gl" {
        // wgpu's GL device runs a submission while it is submitted: nothing is left to time out.
        eprintln!("GL: the wait returned {waited:?} (work already done at submit)");
    } else {
        let msg = waited.expect_err("a 1 µs limit").to_string();
        assert!(
            msg.contains("the test's products") && msg.contains("did not finish within"),
            "{msg}"
        );
    }
    ctx.set_wait_limit(argva::gpu::context::GPU_WAIT_LIMIT);
    ctx.wait_idle().unwrap();
}

/// GPU negatives in the engine: its epochs draw exactly the twin's pairs for (seed, epoch), and
/// train bit for bit like an engine fed those pairs from the host (the gather sums the
/// GPU-built lists in the host lists' order), whole and under an 8 KiB binding limit.
#[test]
fn gpu_negatives_train_like_the_twins_pairs_from_the_host() {
    let case = SplitCase::new();
    for ctx in [ctx(), small_binding_ctx()] {
        for kind in KINDS {
            let [(gl, gs), (hl, hs)] = case.gpu_vs_twin(ctx, kind, 17);
            let what = format!("{} at {} B", kind.name(), ctx.max_binding_bytes());
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&gl), bits(&hl), "{what}: losses");
            assert_eq!(gs, hs, "{what}: state");
        }
    }
}

/// Same seed → the same bits, run after run; and a run resumed at epoch 2 from epoch 1's state
/// draws (and ends) exactly as the uninterrupted run: negatives are a pure function of
/// (seed, epoch).
#[test]
fn gpu_negatives_are_deterministic_and_resume_exactly() {
    let ctx = ctx();
    let case = SplitCase::new();
    let gpu = Negatives::Gpu { seed: 23 };
    let run = |resume_from: Option<&EngineState>| {
        let engine = case.engine_with(ctx, ModelKind::Argva, Recon::Sampled, gpu);
        let mut mid = None;
        let first = match resume_from {
            Some(state) => {
                engine.write_state(ctx, state).unwrap();
                2
            }
            None => 0,
        };
        for epoch in first..3 {
            engine.submit_step(ctx, epoch).unwrap();
            if epoch == 1 {
                mid = Some(pollster::block_on(engine.read_state(ctx)).unwrap());
            }
        }
        let losses = engine.buffers.losses.read_blocking(ctx).unwrap();
        let pairs = engine.buffers.pairs.read_blocking(ctx).unwrap();
        let state = pollster::block_on(engine.read_state(ctx)).unwrap();
        (losses, pairs, state, mid)
    };
    let a = run(None);
    let b = run(None);
    assert_eq!(a.0, b.0, "losses");
    assert_eq!(a.1, b.1, "pairs");
    assert_eq!(a.2, b.2, "state");
    let resumed = run(a.3.as_ref());
    assert_eq!(resumed.0, a.0, "resumed: epoch 2's losses");
    assert_eq!(resumed.1, a.1, "resumed: epoch 2's pairs");
    assert_eq!(resumed.2, a.2, "resumed: final state");
    // The engine refuses host pairs, and host engines refuse positives.
    let engine = case.engine_with(ctx, ModelKind::Gae, Recon::Sampled, gpu);
    assert!(engine.set_pairs(ctx, &case.pairs).is_err());
    let host = case.engine(ctx, ModelKind::Gae, Recon::Sampled);
    assert!(host.set_positives(ctx, &case.tables()).is_err());
}

/// Tolerance of the paper iterations: each chains seven encoder forwards, f32 sums over all
/// N² pairs and seven Adam steps, and Adam's first steps move a weight by ≈ lr whatever its
/// gradient's size, so a near-zero gradient's relative rounding reaches the weight (measured
/// worst: see the test's output; GAE/VGAE/ARGA stay within the default epoch tolerance).
const PAPER_RTOL: f64 = 5e-3;

/// The paper recipe's iterations (`Alternation::Paper`, docs/reproduce.md) against their f64
/// twin `reference::paper::iteration`, fed the draws the GPU makes (every pass's ε and H1
/// noise, each discriminator step's z′): bias-free encoder, the 32 → 64 → 32-shaped
/// discriminator (narrower second layer), the dense loss, ARGA's noise layer, the generator's
/// own Adam moments, over three iterations.
#[test]
fn paper_iterations_track_the_reference() {
    use argva::kernels::rng::normal_cpu;
    use argva::model::init_params_paper;
    use argva::reference::paper::{self, Labels, PaperInputs, PaperState};
    use argva::train::engine::{STREAM_PASS_EPS, STREAM_PASS_NOISE};
    let ctx = ctx();
    let (n, f, seed) = (70, 23, 4);
    let (x, adj, pos, _) = random_graph(n, f, 0.06, 12);
    let (row_ptr, col): (Vec<u32>, Vec<u32>) = (
        adj.row_ptr.iter().map(|&p| p as u32).collect(),
        adj.col.clone(),
    );
    let labels = Labels {
        row_ptr: &row_ptr,
        col: &col,
        edges: 2 * pos.len(),
    };
    for kind in KINDS {
        let arch = Arch {
            kind,
            features: f,
            hidden: 12,
            latent: 6,
            disc_hidden: 16,
            disc_hidden2: Some(12),
            encoder_bias: false,
        };
        let (adv, var) = (kind.adversarial(), kind.variational());
        let recon_steps = if adv { 5 } else { 1 };
        let noise_std = if kind == ModelKind::Arga { 0.1 } else { 0.0 };
        let (lr_enc, lr_dis, lr_gen) = (0.01, 0.004, 0.006);
        let cfg = EngineConfig {
            lr_encoder: lr_enc,
            lr_discriminator: lr_dis,
            disc_steps: 1,
            num_pos: pos.len(),
            num_neg: pos.len(),
            noise: Noise::Gpu { seed },
            recon: Recon::Dense,
            negatives: Negatives::Host,
            alternation: Alternation::Paper {
                recon_steps,
                lr_generator: lr_gen,
                hidden_noise: noise_std,
                eval_noise: false,
            },
        };
        let (enc0, dis0) = init_params_paper(&arch, 6);
        let (x32, adj32) = (Csr32::from(&x), Csr32::from(&adj));
        let engine =
            Engine::new(ctx, arch, cfg, x32.as_ref(), adj32.as_ref(), &enc0, &dis0).unwrap();
        let f64s = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        let mut st = PaperState {
            enc: f64s(&enc0),
            dis: f64s(&dis0),
            enc_adam: AdamState::new(enc0.len()),
            dis_adam: AdamState::new(dis0.len()),
            gen_adam: AdamState::new(enc0.len()),
        };
        let passes = recon_steps + if adv { 2 } else { 0 };
        for epoch in 0..3u32 {
            let draw = |stream: u32, len: usize| normal_cpu(seed, epoch, stream, len);
            let eps: Vec<Vec<f64>> = (0..passes as u32)
                .map(|p| draw(STREAM_PASS_EPS + p, n * arch.latent))
                .collect();
            let hidden_noise: Vec<Vec<f64>> = (0..passes as u32)
                .map(|p| match noise_std > 0.0 {
                    true => draw(STREAM_PASS_NOISE + p, n * arch.hidden)
                        .iter()
                        .map(|e| noise_std as f64 * e)
                        .collect(),
                    false => Vec::new(),
                })
                .collect();
            let z_prime: Vec<Vec<f64>> = if adv {
                vec![draw(1, n * arch.latent)]
            } else {
                Vec::new()
            };
            let inputs = PaperInputs {
                arch,
                x: &x,
                adj: &adj,
                labels,
                eps: if var { &eps } else { &[] },
                hidden_noise: &hidden_noise,
                z_prime: &z_prime,
                recon_steps,
                lr_enc: lr_enc as f64,
                lr_dis: lr_dis as f64,
                lr_gen: lr_gen as f64,
                epoch_index: epoch as usize,
            };
            let out = paper::iteration(&inputs, &mut st).unwrap();
            let mut worst = 0.0f64;
            engine.submit_step(ctx, epoch).unwrap();
            let name = format!("paper {} iteration {epoch}", kind.name());
            let losses = engine.buffers.losses.read_blocking(ctx).unwrap();
            let enc = engine.buffers.enc_params.read_blocking(ctx).unwrap();
            worst = worst.max(check(&format!("{name} encoder"), &enc, &st.enc, PAPER_RTOL));
            let lay = argva::model::ParamLayout::encoder(&arch);
            for b in ["b1", "b_head"] {
                assert!(
                    enc[lay.get(b).range()].iter().all(|&v| v == 0.0),
                    "{name}: {b}"
                );
            }
            if adv {
                let dis = engine.buffers.dis_params.read_blocking(ctx).unwrap();
                worst = worst.max(check(
                    &format!("{name} discriminator"),
                    &dis,
                    &st.dis,
                    PAPER_RTOL,
                ));
                let gen_m = engine.buffers.gen_m.read_blocking(ctx).unwrap();
                check(
                    &format!("{name} generator m"),
                    &gen_m,
                    &st.gen_adam.m,
                    PAPER_RTOL,
                );
                let want = [out.disc_losses[0], out.reg_loss];
                let got = [losses[loss_index::DISC], losses[loss_index::REG]];
                check(&format!("{name} disc, reg losses"), &got, &want, PAPER_RTOL);
            }
            eprintln!("{name}: worst relative error of the parameters {worst:.2e}");
            if !adv {
                // The twin's loss is recon + KL/N; the GPU keeps the two parts in their slots
                // (KL as the per-node mean; 0 for GAE). (With a discriminator the generator
                // step's sums overwrite the slots: its losses are checked above.)
                let got = [losses[loss_index::RECON] + losses[loss_index::KL] / n as f32];
                check(
                    &format!("{name} recon loss"),
                    &got,
                    &out.recon_losses,
                    PAPER_RTOL,
                );
            }
        }
        // The generator's moments differ from the reconstruction steps' (separate states).
        if adv {
            assert_ne!(st.gen_adam.m, st.enc_adam.m);
        }
        assert!(ctx.take_uncaptured_error().is_none());
    }
}
