//! `argva doctor`: is this device right? Every kernel against its float64 twin on random
//! inputs of awkward sizes (outputs poisoned first), PyTorch Geometric's recorded epoch of each
//! model replayed, a whole training run repeated to the byte, and the driver's loop cap — on
//! whatever adapter the user has. One async, wasm-safe function: the command line, Python
//! (`argva.doctor()`) and the browser page all call [`run`], and the GPU test suite asserts
//! that it passes.

pub mod checks;
pub mod harness;

use serde::Serialize;

use crate::gpu::{AdapterSummary, GpuContext, GpuResult};

/// What one check found.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub passed: bool,
    /// The largest error seen (the check's own measure: absolute, or relative to the values'
    /// scale; 0 for checks that compare bytes).
    pub worst: f64,
    /// What `worst` was held to, in words.
    pub bound: String,
    /// Why it failed, or what it compared.
    pub detail: String,
    pub seconds: f64,
}

/// Every check and the verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub adapter: AdapterSummary,
    pub checks: Vec<Check>,
    /// Things right but worth knowing (a loop cap: some graphs are refused here).
    pub warnings: Vec<String>,
    pub passed: bool,
}

/// What a check function returns: its worst error and bound, or the first failure.
pub struct Outcome {
    pub worst: f64,
    pub bound: String,
    pub failure: Option<String>,
    pub detail: String,
}

impl Outcome {
    /// Within the bound: `worst` ≤ `bound` (NaN fails).
    pub fn within(worst: f64, bound: f64, detail: impl Into<String>) -> Self {
        let ok = worst <= bound;
        Outcome {
            worst,
            bound: format!("{bound:.1e}"),
            failure: (!ok).then(|| format!("error {worst:.3e} over the bound {bound:.1e}")),
            detail: detail.into(),
        }
    }

    /// A comparison that stopped at its first bad element (`testing::compare`'s result).
    pub fn compared(result: Result<f64, String>, bound: String, detail: impl Into<String>) -> Self {
        let (worst, failure) = match result {
            Ok(w) => (w, None),
            Err(e) => (f64::INFINITY, Some(e)),
        };
        Outcome {
            worst,
            bound,
            failure,
            detail: detail.into(),
        }
    }
}

/// Runs every check on `ctx`; `now` reads a clock in seconds (the caller's: `Instant` on
/// native, `performance.now()` in a page), `progress` sees each check as it finishes.
pub async fn run(
    ctx: &GpuContext,
    now: &dyn Fn() -> f64,
    progress: &mut dyn FnMut(&Check),
) -> Report {
    let mut report = Report {
        adapter: ctx.summary.clone(),
        checks: Vec::new(),
        warnings: Vec::new(),
        passed: true,
    };
    if let Some(cap) = ctx.summary.loop_cap {
        report.warnings.push(format!(
            "the driver ends an invocation's loops after {} iterations in all: graphs whose \
             kernels would loop longer (GAE past ~65 000 nodes, ARGVA past ~12 000) train in \
             mini-batches here; a newer driver (Mesa 25) has no such cap",
            cap.iterations
        ));
    }
    for kind in checks::all() {
        let start = now();
        let outcome = kind.run(ctx).await;
        let check = finish(kind.name(), outcome, now() - start);
        progress(&check);
        report.passed &= check.passed;
        report.checks.push(check);
    }
    report
}

fn finish(name: String, outcome: GpuResult<Outcome>, seconds: f64) -> Check {
    match outcome {
        Ok(o) => Check {
            name,
            passed: o.failure.is_none(),
            worst: o.worst,
            bound: o.bound,
            detail: o.failure.unwrap_or(o.detail),
            seconds,
        },
        Err(e) => Check {
            name,
            passed: false,
            worst: f64::INFINITY,
            bound: "-".into(),
            detail: format!("the device failed: {e}"),
            seconds,
        },
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.passed { "pass" } else { "FAIL" };
        write!(
            f,
            "{verdict}  {:<38} worst {:>9.2e}  bound {:>16}  {:>5.2} s  {}",
            self.name, self.worst, self.bound, self.seconds, self.detail
        )
    }
}

impl Report {
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }

    /// The last line: how many checks passed, on which adapter.
    pub fn verdict(&self) -> String {
        let on = format!("{} ({})", self.adapter.name, self.adapter.driver_info);
        if self.passed {
            format!("verdict: all {} checks passed on {on}", self.checks.len())
        } else {
            format!(
                "verdict: {} of {} checks FAILED on {on}: results on this device are not to be \
                 trusted; report it with the output of `argva doctor --json`",
                self.failed(),
                self.checks.len()
            )
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for c in &self.checks {
            writeln!(f, "{c}")?;
        }
        for w in &self.warnings {
            writeln!(f, "note  {w}")?;
        }
        write!(f, "{}", self.verdict())
    }
}
