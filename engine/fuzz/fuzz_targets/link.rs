//! Any text given as a share link: decoding never panics, opening always yields a valid
//! scenario, and whatever decodes re-encodes to a link that decodes to the same thing.
#![no_main]

use lbsim::scenario::link;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opened = link::open(&text);
    assert!(opened.shared.scenario.validate().is_empty());
    assert_eq!(opened.error.is_none(), link::decode(&text).is_ok());
    if opened.error.is_none() {
        let again = link::encode(&opened.shared, None);
        assert_eq!(link::decode(&again).as_ref(), Ok(&opened.shared));
    }
});
