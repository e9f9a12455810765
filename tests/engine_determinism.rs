//! The engine in wasm gives the same run as natively: the fingerprint (event-log digest and
//! report) of the shortened standard scenario equals the golden file the native suite checks.
#![cfg(target_arch = "wasm32")]

use lbsim::report::Fingerprint;
use lbsim::scenario::Scenario;
use lbsim::time::Duration;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn wasm_run_matches_the_native_golden_fingerprint() {
    let mut s = Scenario::from_json(include_str!("../engine/scenarios/standard.json"))
        .expect("standard scenario is valid");
    s.duration = Duration::from_secs(1);
    let got = Fingerprint::of_run(&s).to_text();
    let want = include_str!("../engine/tests/golden/standard-1s.txt");
    assert_eq!(got, want);
}
