//! Any bytes given as a scenario file: loading never panics, and a scenario that loads goes
//! through a share link and back unchanged.
#![no_main]

use lbsim::scenario::{link, Scenario};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = Scenario::from_json(text) {
        let shared = link::Shared {
            scenario,
            view: None,
        };
        let encoded = link::encode(&shared, None);
        assert_eq!(link::decode(&encoded).as_ref(), Ok(&shared));
    }
});
