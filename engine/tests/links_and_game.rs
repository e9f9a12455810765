//! Links behave as their settings say, TCP copes with what they do, and the UDP game measures
//! round trips, jitter and loss.

mod common;

use lbsim::report::Report;
use lbsim::trace::Outcome;

fn run(json: &str) -> Report {
    common::report(&common::run(&common::scenario(json)))
}

#[test]
fn unloaded_latency_is_two_round_trips_plus_service() {
    // Client link 10 ms each way, server link 200 us each way: one RTT is 20.4 ms. A request on a
    // new connection takes the handshake's RTT, then the request's RTT plus 2 ms of service.
    let r = run(r#"{"version": 1, "duration": "5s",
        "backends": [{"name": "A", "address": "10.0.0.11", "service": {"constant": "2ms"}, "response_bytes": 100}],
        "clients": [{"name": "c", "count": 5, "target": "10.0.0.11:80", "rate": 5}]}"#);
    // No load and no jitter: every request takes the same time, so the exact mean is it.
    let mean = r.latency.mean_ms.unwrap();
    assert!((42.8..43.0).contains(&mean), "mean {mean} ms");
    let p50 = r.latency.p50_ms.unwrap();
    assert!(
        (p50 - mean).abs() / mean < 1.0 / 128.0,
        "p50 {p50} within resolution"
    );
    assert_eq!(r.requests.outcomes["ok"], r.requests.started);
}

#[test]
fn tcp_retransmits_through_a_lossy_link() {
    let r = run(r#"{"version": 1, "duration": "10s", "seed": 9,
        "network": {"client_link": {"latency": "10ms", "loss": 0.1}},
        "backends": [{"name": "A", "address": "10.0.0.11"}],
        "clients": [{"name": "c", "count": 5, "target": "10.0.0.11:80", "rate": 10, "timeout": "10s"}]}"#);
    assert!(
        r.packets.dropped_by_reason["link_loss"] > 50,
        "{:?}",
        r.packets.dropped_by_reason
    );
    // Lost segments are retransmitted: nearly every request still succeeds, some slowly.
    let ok = r.requests.outcomes[Outcome::Ok.name()] as f64 / r.requests.started as f64;
    assert!(ok > 0.95, "ok share {ok}");
    assert!(
        r.latency.p99_ms.unwrap() > 200.0,
        "retransmission shows in the tail"
    );
}

#[test]
fn a_narrow_link_queues_then_drops() {
    // 1 Mbit/s with room for 4 packets, and 8 KB responses: the server's bursts overflow.
    let r = run(r#"{"version": 1, "duration": "5s", "seed": 2,
        "backends": [{"name": "A", "address": "10.0.0.11", "response_bytes": 8000,
                      "link": {"latency": "1ms", "bandwidth_mbps": 1, "queue_packets": 4}}],
        "clients": [{"name": "c", "count": 5, "target": "10.0.0.11:80", "rate": 10, "timeout": "10s"}]}"#);
    assert!(
        r.packets.dropped_by_reason["queue_full"] > 0,
        "{:?}",
        r.packets.dropped_by_reason
    );
    // Serialising 8 KB at 1 Mbit/s alone takes 64 ms.
    assert!(r.latency.p50_ms.unwrap() > 64.0);
}

const GAME: &str = r#"{"version": 1, "duration": "4s", "seed": 4,
    "network": {"client_link": {"latency": "15ms", "jitter": "JITTER", "loss": LOSS}},
    "backends": [{"name": "G", "address": "10.0.0.11", "game_port": 7777}],
    "players": [{"name": "p", "count": 3, "target": "10.0.0.11:7777", "tick_hz": 60}]}"#;

fn game(jitter: &str, loss: &str) -> lbsim::report::GameReport {
    run(&GAME.replace("JITTER", jitter).replace("LOSS", loss))
        .game
        .expect("players sent updates")
}

#[test]
fn game_round_trip_is_the_path_latency() {
    let g = game("0ms", "0");
    // 3 players x 60 Hz x 4 s.
    assert_eq!(g.sent, 720);
    assert_eq!(g.lost, 0);
    assert_eq!(g.received + g.in_flight, g.sent);
    // 2 x (15 ms + 0.2 ms) plus serialisation of a 92-byte datagram on each of 4 links.
    let mean = g.rtt.mean_ms.unwrap();
    assert!((30.4..30.5).contains(&mean), "rtt mean {mean}");
    let p50 = g.rtt.p50_ms.unwrap();
    assert!(
        (p50 - mean).abs() / mean < 1.0 / 128.0,
        "p50 {p50} within resolution"
    );
    assert!(g.jitter_ms.unwrap() < 0.05, "no jitter on the links");
}

#[test]
fn game_measures_jitter_and_loss() {
    let g = game("5ms", "0.1");
    // Loss on the client link, crossed twice per round trip: about 1 - 0.9^2 = 19 %.
    let share = g.lost as f64 / (g.sent - g.in_flight) as f64;
    assert!((0.13..0.25).contains(&share), "lost share {share}");
    assert!(g.jitter_ms.unwrap() > 1.0, "jitter {:?}", g.jitter_ms);
}
