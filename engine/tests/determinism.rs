//! Determinism: the same scenario and seed give a byte-identical event log and report.
//!
//! The golden file pins the fingerprint of the standard scenario (shortened to 1 s); the wasm
//! suite (`tests/engine_determinism.rs` at the repository root) checks the same file in
//! headless Chromium, so native and wasm runs are shown equal. After a deliberate change of
//! behaviour, regenerate it with `LBSIM_BLESS=1 cargo test -p lbsim --test determinism`.

mod common;

use lbsim::report::Fingerprint;
use lbsim::time::Duration;
use lbsim::trace::Record;

const GOLDEN: &str = "tests/golden/standard-1s.txt";

fn short_standard() -> lbsim::scenario::Scenario {
    let mut s = common::standard();
    s.duration = Duration::from_secs(1);
    s
}

#[test]
fn same_seed_same_event_log_and_report() {
    let s = short_standard();
    let a = common::run(&s);
    let b = common::run(&s);
    let lines =
        |w: &lbsim::sim::World| w.trace().records().map(Record::to_line).collect::<Vec<_>>();
    let (la, lb) = (lines(&a), lines(&b));
    assert!(la.len() > 10_000, "a real run: {} records", la.len());
    assert_eq!(la.len(), lb.len());
    for (i, (x, y)) in la.iter().zip(&lb).enumerate() {
        assert_eq!(x, y, "record {i} differs");
    }
    assert_eq!(common::report(&a).to_json(), common::report(&b).to_json());
}

#[test]
fn another_seed_gives_another_run() {
    let s = short_standard();
    let mut other = s.clone();
    other.seed += 1;
    assert_ne!(
        Fingerprint::of_run(&s).digest,
        Fingerprint::of_run(&other).digest
    );
}

/// Compares `got` with the golden file at `golden` (relative to the crate), or writes it when
/// `LBSIM_BLESS` is set.
fn check_golden(golden: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(golden);
    if std::env::var_os("LBSIM_BLESS").is_some() {
        std::fs::write(&path, got).expect("write golden file");
    }
    let want =
        std::fs::read_to_string(&path).expect("golden file exists (LBSIM_BLESS=1 writes it)");
    assert_eq!(
        got, want,
        "{golden}: the run changed; if deliberately, bless it (see module docs)"
    );
}

#[test]
fn fingerprint_matches_the_golden_file() {
    check_golden(GOLDEN, &Fingerprint::of_run(&short_standard()).to_text());
}

const PRESET_GOLDEN: &str = "tests/golden/presets.txt";

/// Every preset (and its compare variant) and the L7 reference scenario, each as one line:
/// name, event-log digest and record count. A refactoring that changes none of the behaviour
/// leaves this file as it is.
#[test]
fn every_preset_fingerprint_matches_the_golden_file() {
    let mut runs: Vec<(String, lbsim::scenario::Scenario)> = vec![(
        "scenarios/l7".to_string(),
        common::scenario(include_str!("../scenarios/l7.json")),
    )];
    for p in lbsim::presets::all() {
        if let Some(v) = p.compare_scenario() {
            runs.push((format!("{}+variant", p.name), v.expect("variant is valid")));
        }
        runs.push((p.name.clone(), p.scenario));
    }
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    let got: String = runs
        .iter()
        .map(|(name, s)| {
            let f = Fingerprint::of_run(s);
            format!("{name} {:016x} {}\n", f.digest, f.records)
        })
        .collect();
    check_golden(PRESET_GOLDEN, &got);
}
