//! No input panics the engine: random bytes into the HTTP parsers, the packet reader and the
//! scenario loader give errors, not panics; and any scenario that validates runs.

mod common;

use lbsim::http::{Limits, Progress, RequestParser, ResponseParser};
use lbsim::scenario::Scenario;
use lbsim::sim::World;
use lbsim::time::Instant;
use lbsim::wire::{summary, PacketInfo};
use proptest::prelude::*;

/// Feeds `bytes` to a request parser in pieces, as a connection would, until an error.
fn feed_requests(bytes: &[u8], cuts: &[usize]) {
    let mut parser = RequestParser::new(Limits::default());
    let mut buf: Vec<u8> = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let to = cut.min(bytes.len()).max(from);
        buf.extend_from_slice(&bytes[from..to]);
        from = to;
        loop {
            match parser.feed(&buf) {
                Ok(Progress::Complete(_, used)) => {
                    assert!(used <= buf.len() && used > 0);
                    buf.drain(..used);
                }
                Ok(Progress::Partial) => break,
                Err(e) => {
                    assert!([400, 413, 431, 501].contains(&e.status()));
                    return;
                }
            }
        }
    }
}

/// Something that looks enough like HTTP to get past the first line sometimes.
fn http_like() -> impl Strategy<Value = Vec<u8>> {
    let pieces = prop::collection::vec(
        prop_oneof![
            Just(b"GET / HTTP/1.1\r\n".to_vec()),
            Just(b"POST /cart/add HTTP/1.1\r\n".to_vec()),
            Just(b"Host: a\r\n".to_vec()),
            Just(b"Content-Length: 5\r\n".to_vec()),
            Just(b"Content-Length: 99999999999999999999\r\n".to_vec()),
            Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"5\r\nhello\r\n".to_vec()),
            Just(b"0\r\n\r\n".to_vec()),
            Just(b"fffffffffffffffff\r\n".to_vec()),
            prop::collection::vec(any::<u8>(), 0..20),
        ],
        0..12,
    );
    pieces.prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn request_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048), cuts in prop::collection::vec(0usize..2048, 0..8)) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        feed_requests(&bytes, &cuts);
    }

    #[test]
    fn request_parser_never_panics_on_http_like_input(bytes in http_like(), cuts in prop::collection::vec(0usize..512, 0..8)) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        feed_requests(&bytes, &cuts);
    }

    #[test]
    fn response_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048), head in any::<bool>()) {
        let mut p = ResponseParser::new(Limits::default(), head);
        let _ = p.feed(&bytes);
        let mut p = ResponseParser::new(Limits::default(), head);
        let _ = p.feed_eof(&bytes);
    }

    #[test]
    fn packet_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = PacketInfo::parse(&bytes);
        let _ = summary(&bytes);
    }

    #[test]
    fn scenario_loader_never_panics_on_text(text in ".{0,400}") {
        let _ = Scenario::from_json(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Damaged versions of the standard scenario either load with a message or load and run.
    #[test]
    fn damaged_scenarios_are_refused_or_run(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6)) {
        let mut text = include_str!("../scenarios/standard.json").as_bytes().to_vec();
        for (at, byte, op) in edits {
            if text.is_empty() {
                break;
            }
            let i = at.index(text.len());
            match op {
                0 => text[i] = byte,
                1 => { text.remove(i); }
                _ => text.insert(i, byte),
            }
        }
        let text = String::from_utf8_lossy(&text);
        match Scenario::from_json(&text) {
            Err(e) => prop_assert!(!e.to_string().is_empty()),
            Ok(s) => {
                let mut w = World::with_trace_capacity(&s, 1000);
                w.run_until(Instant::from_millis(50));
            }
        }
    }
}
