//! Share links round-trip every scenario: the presets (in the unit tests) and random valid
//! scenarios here, with and without view state.

mod common;

use common::arbitrary::scenario;
use lbsim::scenario::link::{decode, encode, open, Shared, Source, View};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_scenarios_round_trip_through_links(
        (s, _) in scenario(),
        time in proptest::option::of(any::<u64>()),
        packet in proptest::option::of(any::<u64>()),
        request in proptest::option::of(any::<u64>()),
        lesson in proptest::option::of("[a-z-]{1,20}"),
    ) {
        let any_view = time.is_some() || packet.is_some() || request.is_some() || lesson.is_some();
        let view = any_view.then_some(View {
            time_us: time,
            packet,
            request,
            lesson,
        });
        let shared = Shared { scenario: s, view };
        let link = encode(&shared, None);
        prop_assert!(link.starts_with("tc1.custom."));
        prop_assert_eq!(decode(&link), Ok(shared.clone()));
        let opened = open(&link);
        prop_assert_eq!(opened.source, Source::Link);
        prop_assert_eq!(opened.shared, shared);
    }
}
