//! The loop probe (`gpu::loop_probe`): what it finds on this driver, and that a graph whose
//! kernels would loop past a driver's cap is refused, not trained wrong.

use argva::gpu::loop_probe::{self, LoopCap, PROBE_ITERS};
use argva::model::{Arch, ModelKind, init_params};
use argva::train::engine::{Alternation, CsrRef, Engine, EngineConfig, Negatives, Noise, Recon};

use crate::ctx;

/// Mesa's llvmpipe through 22.3 (Debian 12's stock driver) caps an invocation's loops at 65535
/// iterations in all (gallivm's loop limiter; the probe sees 65534 run); Mesa 25 and every
/// other driver argva has met run them all. The probe at start-up found the same as a rerun.
#[test]
fn the_probe_finds_the_drivers_loop_cap() {
    let ctx = ctx();
    let again = pollster::block_on(loop_probe::probe(ctx)).unwrap();
    assert_eq!(again, ctx.summary.loop_cap, "the probe is repeatable");
    let s = &ctx.summary;
    let old_llvmpipe = s.name.contains("llvmpipe")
        && ["Mesa 20.", "Mesa 21.", "Mesa 22."]
            .iter()
            .any(|v| s.driver_info.contains(v));
    let want = old_llvmpipe.then_some(LoopCap { iterations: 65534 });
    assert_eq!(again, want, "{} {}", s.name, s.driver_info);
    assert_eq!(loop_probe::cap_of(PROBE_ITERS, PROBE_ITERS), None);
    assert_eq!(
        loop_probe::cap_of(PROBE_ITERS, 25534),
        Some(LoopCap { iterations: 65534 })
    );
}

/// A cap is a refusal naming the driver, the cap, what needs more and how to get past it; on
/// a capped driver an engine past the cap is refused before anything is allocated.
#[test]
fn work_past_the_cap_is_refused_with_what_to_do() {
    let ctx = ctx();
    let cap = Some(LoopCap { iterations: 100 });
    assert!(LoopCap::check(cap, ctx, 100, "x").is_ok());
    assert!(LoopCap::check(None, ctx, usize::MAX, "x").is_ok());
    let err = LoopCap::check(cap, ctx, 101, "a test's sum")
        .unwrap_err()
        .to_string();
    for want in [
        &ctx.summary.name as &str,
        "after 100 iterations",
        "up to 101",
        "a test's sum",
        "bookworm-backports",
        "--gpu-memory",
    ] {
        assert!(err.contains(want), "`{want}` missing: {err}");
    }
    let Some(cap) = ctx.summary.loop_cap else {
        return;
    };
    let n = cap.iterations as usize + 1;
    let arch = Arch {
        kind: ModelKind::Gae,
        features: 4,
        hidden: 8,
        latent: 4,
        disc_hidden: 8,
        disc_hidden2: None,
        encoder_bias: true,
    };
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
        disc_steps: 0,
        num_pos: 10,
        num_neg: 10,
        noise: Noise::Gpu { seed: 1 },
        recon: Recon::Sampled,
        negatives: Negatives::Host,
        alternation: Alternation::Joint,
    };
    let before = ctx.allocated_bytes();
    let err = match Engine::new(ctx, arch, cfg, features, adjacency, &enc0, &dis0) {
        Ok(_) => panic!("{n} nodes trained past a loop cap of {}", cap.iterations),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("ends a shader invocation's loops") && err.contains(&format!("all {n} rows")),
        "{err}"
    );
    assert!(ctx.allocated_bytes() - before < 1 << 20);
}
