//! How many loop iterations one invocation of this device may run, measured, not assumed.
//!
//! WGSL puts no bound on a loop, and argva's kernels walk data-sized lists (a node's
//! neighbours, a weight gradient's sum over every row). Mesa's llvmpipe up to at least 22.3.6
//! (Debian 12's stock driver, Vulkan and GL alike) ends all of an invocation's loops once they
//! have run 65535 iterations together, without an error: a longer walk sums part of its list.
//! 25.0.7 has no such cap. [`probe`] runs `shaders/loop_probe.wgsl` (two loops of
//! [`PROBE_ITERS`] steps) once when a context opens; a cut loop reveals the cap, and
//! [`LoopCap`] refuses work that needs longer loops, saying which driver and what to do.

use super::{Binding, GpuBuffer, GpuContext, GpuError, GpuResult, KernelSpec, submit, uniform};

pub const SOURCE: &str = include_str!("../../shaders/loop_probe.wgsl");
/// `@binding` order: params, out.
pub const BINDINGS: &[Binding] = &[Binding::Uniform, Binding::ReadWrite];
/// Steps of each of the probe's two loops: together past llvmpipe 22's 65535, each below it.
pub const PROBE_ITERS: u32 = 40_000;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ProbeParams {
    pub iters: u32,
    pub seed: u32,
    pub _pad: [u32; 2],
}

/// The probe's finding: `None` when both loops ran to the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LoopCap {
    /// Loop iterations an invocation ran in all before its loops were ended.
    pub iterations: u32,
}

/// Runs the probe on `ctx`; `Some` when the device cut a loop short.
pub async fn probe(ctx: &GpuContext) -> GpuResult<Option<LoopCap>> {
    let params = uniform(
        ctx,
        "loop probe params",
        &ProbeParams {
            iters: PROBE_ITERS,
            seed: 12345,
            _pad: [0; 2],
        },
    );
    let out = GpuBuffer::<u32>::zeros(ctx, "loop probe out", 3)?;
    let spec = KernelSpec {
        label: "loop_probe",
        source: SOURCE,
        entry: "main",
        bindings: BINDINGS,
        constants: vec![],
    };
    let dispatch =
        ctx.kernel(&spec)?
            .dispatch(ctx, &[(&params).into(), (&out).into()], [1, 1, 1])?;
    submit(ctx, "loop probe", &[&dispatch]);
    let got = out.read(ctx).await?;
    Ok(cap_of(got[0], got[1]))
}

/// The cap two loop counts reveal (`None` when both ran [`PROBE_ITERS`]).
pub fn cap_of(first: u32, second: u32) -> Option<LoopCap> {
    (first != PROBE_ITERS || second != PROBE_ITERS).then_some(LoopCap {
        iterations: first.saturating_add(second),
    })
}

impl LoopCap {
    /// Refuses work whose longest loop runs `needed` iterations, naming `why` and the device.
    pub fn check(cap: Option<Self>, ctx: &GpuContext, needed: usize, why: &str) -> GpuResult<()> {
        match cap {
            Some(cap) if needed > cap.iterations as usize => Err(GpuError::LoopCap {
                driver: format!("{} {}", ctx.summary.name, ctx.summary.driver_info),
                cap: cap.iterations,
                needed,
                why: why.to_string(),
            }),
            _ => Ok(()),
        }
    }
}
