//! Helpers shared by the test suites (unit, integration, benches): seeded random inputs,
//! tolerance comparison that names the worst element, and finite-difference gradients.
//! Public so integration tests can use them; not part of the stable API.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` values uniform in `[lo, hi)`, rounded to f32 (so the f64 twin sees exactly what the
/// GPU sees).
pub fn uniform_f32(rng: &mut ChaCha8Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

pub fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// Worst violation of `|gpu − cpu| ≤ atol + rtol·|cpu|`, or `Ok` with the largest error seen.
/// NaN anywhere (e.g. a poisoned element the kernel never wrote) is a failure.
pub fn compare(gpu: &[f32], cpu: &[f64], rtol: f64, atol: f64) -> Result<f64, String> {
    if gpu.len() != cpu.len() {
        return Err(format!("length: gpu {} vs cpu {}", gpu.len(), cpu.len()));
    }
    let mut worst = 0.0f64;
    for (i, (&g, &c)) in gpu.iter().zip(cpu).enumerate() {
        let err = (g as f64 - c).abs();
        if !err.is_finite() || err > atol + rtol * c.abs() {
            return Err(format!(
                "element {i}: gpu {g} vs cpu {c} (|err| {err:e} > atol {atol:e} + rtol {rtol:e}·|cpu|)"
            ));
        }
        worst = worst.max(err);
    }
    Ok(worst)
}

/// Panicking form of [`compare`] for tests.
#[track_caller]
pub fn assert_close(what: &str, gpu: &[f32], cpu: &[f64], rtol: f64, atol: f64) {
    if let Err(e) = compare(gpu, cpu, rtol, atol) {
        panic!("{what}: {e}");
    }
}

/// Central differences of a scalar function at `x`: ∂f/∂x_i ≈ (f(x+h·e_i) − f(x−h·e_i)) / 2h.
pub fn finite_diff(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = x[i];
            x[i] = orig + h;
            let up = f(&x);
            x[i] = orig - h;
            let down = f(&x);
            x[i] = orig;
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// Checks an analytic gradient against [`finite_diff`] (f64 on both sides).
#[track_caller]
pub fn assert_grad(what: &str, f: impl Fn(&[f64]) -> f64, x: &[f64], analytic: &[f64], tol: f64) {
    let numeric = finite_diff(f, x, 1e-6);
    assert_eq!(numeric.len(), analytic.len(), "{what}: gradient length");
    for (i, (&n, &a)) in numeric.iter().zip(analytic).enumerate() {
        let err = (n - a).abs();
        assert!(
            err <= tol * (1.0 + n.abs()),
            "{what}: d/dx[{i}] analytic {a} vs finite difference {n} (|err| {err:e})"
        );
    }
}

/// The names in a folder, sorted (empty when it does not exist): what a run left behind.
pub fn file_names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Opens the GPU a test suite runs on, or ends the suite when there is none: with a message
/// and exit status 0 on a machine without an adapter (a laptop's `cargo test`), but as a
/// failure under CI (`CI` set) or `ARGVA_REQUIRE_GPU=1`, where a missing adapter is a broken
/// set-up, not a reason to pass. The suite's GPU tests call it (through their shared device).
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_or_skip(suite: &str) -> crate::gpu::GpuContext {
    match crate::gpu::GpuContext::new_blocking() {
        Ok(ctx) => ctx,
        Err(e) => {
            let required = std::env::var_os("CI").is_some_and(|v| !v.is_empty())
                || std::env::var("ARGVA_REQUIRE_GPU").is_ok_and(|v| v == "1");
            if required {
                panic!("{suite} needs a GPU adapter (CI or ARGVA_REQUIRE_GPU=1): {e}");
            }
            // (straight to stderr: the test harness captures `eprintln!`, and exits drop it)
            let message = format!(
                "\nskipping {suite}: no GPU adapter ({e}). Install one (README: Mesa's \
                 lavapipe) to run these tests; CI=1 or ARGVA_REQUIRE_GPU=1 makes this a failure.\n"
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
            std::process::exit(0);
        }
    }
}

/// [`gpu_or_skip`] for suites that drive the `argva` binary: checks once that an adapter
/// opens before the first run.
#[cfg(not(target_arch = "wasm32"))]
pub fn require_gpu(suite: &str) {
    static CHECKED: std::sync::Once = std::sync::Once::new();
    CHECKED.call_once(|| drop(gpu_or_skip(suite)));
}
