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

#[test]
fn fingerprint_matches_the_golden_file() {
    let got = Fingerprint::of_run(&short_standard()).to_text();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("LBSIM_BLESS").is_some() {
        std::fs::write(&path, &got).expect("write golden file");
    }
    let want =
        std::fs::read_to_string(&path).expect("golden file exists (LBSIM_BLESS=1 writes it)");
    assert_eq!(
        got, want,
        "the run changed; if deliberately, bless it (see module docs)"
    );
}
