//! The loop probe (`gpu::loop_probe`): what it finds on this driver, and that a graph whose
//! kernels would loop past a driver's cap is refused, not trained wrong.

use argva::gpu::loop_probe::{self, LoopCap, PROBE_ITERS};
use argva::model::{Arch, ModelKind};

use crate::ctx;
use crate::train::engine_refusal;

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
        "--batch parts=P,per=Q",
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
    let err = engine_refusal(ctx, arch, n);
    // A discriminator step walks a workgroup's share of 2n rows' tiles: ARGVA is refused far
    // sooner (at default widths on a CPU adapter, past about 12 000 nodes; it broke between
    // 25 000 and 27 500 on Mesa 22).
    let argva = Arch {
        kind: ModelKind::Argva,
        latent: 32,
        disc_hidden: 64,
        ..arch
    };
    let refused = engine_refusal(ctx, argva, 13_000);
    assert!(
        refused.contains("the discriminator's step over 26000 rows"),
        "{refused}"
    );
    assert!(
        err.contains("ends a shader invocation's loops") && err.contains(&format!("all {n} rows")),
        "{err}"
    );
}

/// On a capped driver the question "does a full batch fit this device?" counts the cap too, so
/// the command line trains such a graph in mini-batches (saying why) instead of refusing it.
#[test]
fn a_graph_past_the_cap_is_past_the_device_for_the_batch_planner() {
    use argva::data::{self, split::link_split};
    use argva::train::TrainConfig;
    use argva::train::minibatch::full_batch_refusal;
    let ctx = ctx();
    let spec =
        data::sbm::SbmSpec::parse("nodes=13000,classes=8,degree=4,features=16,seed=1").unwrap();
    let g = data::sbm::generate(&spec).unwrap();
    let split = link_split(&g, 0.05, 0.1, 1).unwrap();
    let cfg = TrainConfig::default(); // ARGVA
    let refusal = full_batch_refusal(ctx, &cfg, &g.features, &split.train_pos);
    match ctx.summary.loop_cap {
        Some(_) => {
            let why = refusal.expect("a capped driver cannot run this full batch");
            assert!(
                why.contains("the discriminator's step over 26000 rows"),
                "{why}"
            );
        }
        None => assert_eq!(refusal, None),
    }
}
