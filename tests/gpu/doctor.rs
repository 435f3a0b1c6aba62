//! `argva doctor` (`argva::doctor`): on the suite's device every check passes, each reported as
//! it finishes; the verdict fails when any check does.

use argva::doctor::{self, Check};

use crate::ctx;

#[test]
fn every_check_passes_on_this_device() {
    let start = std::time::Instant::now();
    let now = || start.elapsed().as_secs_f64();
    let mut seen = Vec::new();
    let report = pollster::block_on(doctor::run(ctx(), &now, &mut |c: &Check| {
        seen.push(c.name.clone())
    }));
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.to_string())
        .collect();
    assert!(report.passed && failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(
        seen,
        report
            .checks
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    );
    // Every kernel family, the four golden epochs, the repeated run.
    assert_eq!(report.checks.len(), doctor::checks::all().len());
    for want in [
        "spmm",
        "matmul TN",
        "negatives",
        "golden argva",
        "determinism",
    ] {
        assert!(
            seen.iter().any(|n| n.starts_with(want)),
            "no `{want}` check"
        );
    }
    assert!(
        report
            .verdict()
            .starts_with("verdict: all 19 checks passed"),
        "{}",
        report.verdict()
    );
}

#[test]
fn one_failed_check_fails_the_verdict() {
    let check = |name: &str, passed: bool| Check {
        name: name.into(),
        passed,
        worst: if passed { 0.0 } else { f64::INFINITY },
        bound: "1e-5".into(),
        detail: String::new(),
        seconds: 0.0,
    };
    let checks: Vec<Check> = (0..19)
        .map(|i| check(&format!("check {i}"), i != 1))
        .collect();
    let report = doctor::Report {
        adapter: ctx().summary.clone(),
        passed: checks.iter().all(|c| c.passed),
        checks,
        warnings: vec![],
    };
    assert!(!report.passed && report.failed() == 1);
    let text = report.to_string();
    assert!(
        text.contains("FAIL") && text.contains("1 of 19 checks FAILED"),
        "{text}"
    );
}
