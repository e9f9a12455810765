//! Any bytes given as a packet: the fabric's parser, the one-line summary and the inspector's
//! dissector never panic, and every field the dissector names lies inside the packet.
#![no_main]

use lbsim::wire::{dissect, summary, PacketInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = PacketInfo::parse(data);
    let _ = summary(data);
    for layer in dissect::dissect(data) {
        assert!(layer.range.start <= layer.range.end && layer.range.end <= data.len());
        for field in layer.fields {
            assert!(field.range.start <= field.range.end && field.range.end <= data.len());
        }
    }
    let _ = dissect::changed(data, &data[data.len() / 2..]);
});
