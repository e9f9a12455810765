//! What the views read is what the engine did: clients' colours follow their mapping, and each
//! request in flight is where its bytes or its backend's worker have it.

mod common;

use std::collections::BTreeMap;

use lbsim::health::HealthState;
use lbsim::ids::{HostId, RequestId};
use lbsim::presets;
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::view::{Frame, Place, Viewer};

/// Frames of `world` every `step` until `until`.
fn frames(world: &mut World, step: Duration, until: Instant) -> Vec<Frame> {
    let mut viewer = Viewer::new();
    let mut out = Vec::new();
    let mut t = world.now();
    while t < until {
        t += step;
        world.run_until(t);
        out.push(viewer.frame(world));
    }
    out
}

fn preset_world(name: &str, patch: serde_json::Value) -> World {
    let s = presets::apply_patch(&presets::get(name).unwrap().scenario, &patch).unwrap();
    World::with_trace_capacity(&s, 100_000)
}

#[test]
fn under_ip_hash_a_clients_colour_never_changes() {
    let mut w = preset_world(
        "consistent-hashing",
        serde_json::json!({"balancer": {"algorithm": {"ip_hash": "address"}}, "timeline": []}),
    );
    let frames = frames(&mut w, Duration::from_millis(250), Instant::from_secs(8));
    let mut seen: BTreeMap<HostId, HostId> = BTreeMap::new();
    for f in &frames {
        assert_eq!(f.clients.len(), 300);
        for c in &f.clients {
            let b = c
                .backend
                .expect("a hashing algorithm maps every client at once");
            assert_eq!(*seen.entry(c.host).or_insert(b), b, "client {}", c.address);
        }
    }
    let backends: std::collections::BTreeSet<_> = seen.values().collect();
    assert_eq!(
        backends.len(),
        5,
        "the clients spread over all five backends"
    );
}

#[test]
fn after_a_crash_the_crashed_backends_clients_move_within_the_failover_time() {
    // The crash lesson with IP hash: B's clients are B's until the checks take it down.
    let mut w = preset_world(
        "tcp-check-crash",
        serde_json::json!({"balancer": {"algorithm": {"ip_hash": "address"}}}),
    );
    let b = w.backend_by_name("B").unwrap();
    let before = frames(&mut w, Duration::from_millis(500), Instant::from_secs(10));
    let of_b: Vec<HostId> = before
        .last()
        .unwrap()
        .clients
        .iter()
        .filter(|c| c.backend == Some(b))
        .map(|c| c.host)
        .collect();
    assert!(!of_b.is_empty(), "some clients map to B before the crash");
    let after = frames(&mut w, Duration::from_millis(100), Instant::from_secs(20));
    let down = common::transition(&w, b, HealthState::Down).expect("B goes down");
    // Failover time, HAProxy's arithmetic: three failed probes, each given its 1 s timeout
    // and the next starting 2 s after it ended, from the first probe after the 10 s crash.
    assert!(down <= Instant::from_secs(18), "down at {down}");
    let moved = after
        .iter()
        .find(|f| {
            f.clients
                .iter()
                .filter(|c| of_b.contains(&c.host))
                .all(|c| c.backend.is_some_and(|x| x != b))
        })
        .expect("B's clients change colour");
    assert!(
        moved.now <= down + Duration::from_millis(100),
        "moved at {}",
        moved.now
    );
    let down_frame = after.iter().find(|f| f.now >= down).unwrap();
    assert_eq!(
        down_frame.backend(b).unwrap().health,
        Some(HealthState::Down),
        "and B is drawn down"
    );
}

/// Every request seen in `frames`, with its places in order.
fn journeys(frames: &[Frame]) -> BTreeMap<RequestId, Vec<Place>> {
    let mut out: BTreeMap<RequestId, Vec<Place>> = BTreeMap::new();
    for f in frames {
        for t in &f.requests {
            out.entry(t.id).or_default().push(t.place);
        }
    }
    out
}

fn stage(p: Place) -> u8 {
    match p {
        Place::AtClient => 0,
        Place::ToBalancer(_) => 1,
        Place::AtBalancer => 2,
        Place::ToBackend(_) => 3,
        Place::Queued(_) | Place::AtBackend | Place::Serving(_) => 4,
        Place::FromBackend(_) => 5,
        Place::Returning => 6,
        Place::ToClient(_) => 7,
    }
}

fn check_journeys(frames: &[Frame], what: &str) {
    let journeys = journeys(frames);
    assert!(
        journeys.len() > 100,
        "{what}: {} requests seen",
        journeys.len()
    );
    let mut served = 0;
    for (id, places) in &journeys {
        for pair in places.windows(2) {
            assert!(
                stage(pair[0]) <= stage(pair[1]),
                "{what}: request {id} went back from {:?} to {:?}",
                pair[0],
                pair[1]
            );
        }
        served += usize::from(places.iter().any(|p| matches!(p, Place::Serving(_))));
    }
    assert!(served > 10, "{what}: requests seen in service: {served}");
    // Tokens at a backend name it.
    for f in frames {
        for t in &f.requests {
            if matches!(t.place, Place::Serving(_) | Place::Queued(_)) {
                assert!(t.backend.is_some(), "{what}: {t:?} at a backend names it");
            }
        }
    }
}

#[test]
fn requests_move_forward_from_client_to_backend_and_back_at_layer_4() {
    let mut w = preset_world("uneven-costs", serde_json::json!({}));
    let frames = frames(&mut w, Duration::from_millis(3), Instant::from_secs(3));
    check_journeys(&frames, "L4 NAT");
    // The slow reports wait in a queue sometimes: queues are drawn from the engine.
    assert!(frames.iter().any(|f| f
        .requests
        .iter()
        .any(|t| matches!(t.place, Place::Queued(_)))));
    // Each ended request was seen, and ended where it was.
    let ended: usize = frames.iter().map(|f| f.ended.len()).sum();
    assert_eq!(ended as u64, w.metrics().requests.ended());
}

#[test]
fn requests_are_followed_through_the_proxys_upstream_connections_at_layer_7() {
    let mut w = preset_world("path-routing", serde_json::json!({}));
    let frames = frames(&mut w, Duration::from_millis(3), Instant::from_secs(4));
    check_journeys(&frames, "L7");
    assert!(
        frames.iter().any(|f| f
            .requests
            .iter()
            .any(|t| matches!(t.place, Place::FromBackend(_)))),
        "responses are seen on the backends' links"
    );
}
