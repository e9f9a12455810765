//! Accounting, as a property over random small scenarios stopped at random times: every packet
//! ends delivered, dropped with a reason, or is in flight; every request ends with exactly one
//! outcome or is in flight; every session likewise. Counters are checked against the event
//! log, not against themselves.

mod common;

use std::collections::BTreeSet;

use common::arbitrary::scenario;
use lbsim::sim::World;
use lbsim::time::Instant;
use lbsim::trace::Event;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn nothing_vanishes((s, stop_pct) in scenario()) {
        prop_assert_eq!(s.validate(), vec![]);
        let mut w = World::with_trace_capacity(&s, usize::MAX);
        let end = w.settle_time();
        w.run_until(Instant::from_micros(end.as_micros() * stop_pct / 100));
        let m = w.metrics();

        // Packets: counters against the log.
        let mut sent = BTreeSet::new();
        let mut ended = BTreeSet::new();
        let (mut delivered, mut dropped) = (0u64, 0u64);
        let mut requests_started = BTreeSet::new();
        let mut requests_ended = BTreeSet::new();
        let mut sessions_ended = BTreeSet::new();
        for r in w.trace().records() {
            match &r.event {
                Event::PacketSent { packet, .. } => prop_assert!(sent.insert(*packet)),
                Event::PacketDelivered { packet, .. } => {
                    prop_assert!(sent.contains(packet), "delivered before sent");
                    prop_assert!(ended.insert(*packet), "ended twice");
                    delivered += 1;
                }
                Event::PacketDropped { packet, .. } => {
                    prop_assert!(sent.contains(packet), "dropped before sent");
                    prop_assert!(ended.insert(*packet), "ended twice");
                    dropped += 1;
                }
                Event::RequestStarted { request, .. } => prop_assert!(requests_started.insert(*request)),
                Event::RequestEnded { request, .. } => {
                    prop_assert!(requests_started.contains(request));
                    prop_assert!(requests_ended.insert(*request), "request ended twice");
                }
                Event::SessionEnded { session, .. } => prop_assert!(sessions_ended.insert(*session)),
                _ => {}
            }
        }
        let in_flight: BTreeSet<_> = w.packets_in_flight().map(|p| p.packet).collect();
        prop_assert_eq!(m.packets.sent, sent.len() as u64);
        prop_assert_eq!(m.packets.delivered, delivered);
        prop_assert_eq!(m.packets.dropped_total(), dropped);
        let unended: BTreeSet<_> = sent.difference(&ended).copied().collect();
        prop_assert_eq!(&unended, &in_flight, "in flight = sent and not ended");
        prop_assert_eq!(m.packets.sent, m.packets.delivered + m.packets.dropped_total() + in_flight.len() as u64);

        // Requests and sessions.
        prop_assert_eq!(m.requests.started, requests_started.len() as u64);
        prop_assert_eq!(m.requests.ended(), requests_ended.len() as u64);
        prop_assert_eq!(m.requests.started, m.requests.ended() + w.requests_in_flight());
        // Game updates: each is echoed, counted lost, or may still come back.
        prop_assert_eq!(m.game.sent, m.game.received + m.game.lost + w.game_updates_in_flight());
        let sessions_done: u64 = m.sessions.outcomes.values().sum();
        prop_assert_eq!(sessions_done, sessions_ended.len() as u64);
        prop_assert_eq!(m.sessions.started, sessions_done + w.sessions_in_flight());
    }
}

#[test]
fn a_settled_world_has_nothing_in_flight() {
    let w = common::run(&common::standard());
    let m = w.metrics();
    assert_eq!(w.packets_in_flight().count(), 0);
    assert_eq!(w.requests_in_flight(), 0);
    assert_eq!(
        m.packets.sent,
        m.packets.delivered + m.packets.dropped_total()
    );
    assert!(m.requests.started > 9_000);
}
