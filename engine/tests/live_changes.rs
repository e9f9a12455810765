//! Changes made while a world runs — a client group's rate, a network's links — take effect at
//! once, and the same change written in the timeline replays to the same world.

mod common;

use lbsim::health::HealthState;
use lbsim::ids::HostId;
use lbsim::scenario::{
    Command, HealthKind, HealthSpec, LinkSpec, LoadError, MixEntry, Scenario, Side, TimelineEntry,
};
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::trace::Event;
use proptest::prelude::*;

/// One backend, one client group arriving once a second, on 10 ms client links; a second
/// backend with a link of its own (5 ms) beside one on the network's (1 ms).
fn base() -> Scenario {
    common::scenario(
        r#"{
        "version": 1, "duration": "3s", "seed": 5,
        "network": {"client_link": {"latency": "10ms"}, "server_link": {"latency": "1ms"}},
        "balancer": {"mode": "l4_nat", "algorithm": "round_robin"},
        "backends": [{"name": "A", "address": "10.0.0.11", "link": {"latency": "5ms"}},
                     {"name": "B", "address": "10.0.0.12"}],
        "clients": [{"name": "web", "count": 5, "rate": 1, "arrivals": "constant",
                     "mix": [{"weight": 1, "request": {"path": "/"}}]}]
    }"#,
    )
}

/// `s` with `command` in its timeline at `at`.
fn with_entry(s: &Scenario, at: Duration, command: Command) -> Scenario {
    let mut s = s.clone();
    s.timeline.push(TimelineEntry {
        at,
        action: command,
    });
    s.validate().is_empty().then_some(s).expect("valid")
}

/// Runs `s` to `at`, applies `command` there, and runs until it settles.
fn live(s: &Scenario, at: Duration, command: Command) -> World {
    let mut w = World::with_trace_capacity(s, 10_000_000);
    w.run_until(Instant::ZERO + at);
    w.apply(command).expect("the command applies");
    let end = w.settle_time();
    w.run_until(end);
    w
}

fn requests_started(w: &World) -> Vec<Instant> {
    w.trace()
        .records()
        .filter(|r| matches!(r.event, Event::RequestStarted { .. }))
        .map(|r| r.at)
        .collect()
}

/// One-way delays of the packets `host` sent, with the time each was sent.
fn delays_from(w: &World, host: HostId) -> Vec<(Instant, Duration)> {
    w.trace()
        .records()
        .filter_map(|r| match &r.event {
            Event::PacketSent {
                from,
                arrives: Some(arrives),
                ..
            } if *from == host => Some((r.at, *arrives - r.at)),
            _ => None,
        })
        .collect()
}

fn host(w: &World, name: &str) -> HostId {
    w.hosts()
        .iter()
        .find(|h| h.name == name)
        .map(|h| h.id)
        .expect("host exists")
}

#[test]
fn a_rate_change_draws_the_next_arrival_at_once() {
    let rate = Command::SetRate {
        group: "web".into(),
        rate: 50.0,
    };
    let w = live(&base(), Duration::from_millis(1500), rate.clone());
    let started = requests_started(&w);
    // Once a second until 1.5 s (one arrival, at 1 s), then every 20 ms from 1.52 s until the
    // group stops at 3 s: the arrival drawn for 2 s at the old rate never happens.
    assert_eq!(started[0], Instant::from_secs(1));
    assert_eq!(started[1], Instant::from_micros(1_520_000));
    assert_eq!(started.len(), 1 + 74, "{started:?}");
    // The change is in the trace, at its time.
    let changes = common::events(&w, |e| match e {
        Event::SettingChanged { change } => Some(change.to_string()),
        _ => None,
    });
    assert_eq!(changes, ["web: 50 arrivals per second"]);
    // The same change from the timeline is the same world.
    let replayed = common::run(&with_entry(&base(), Duration::from_millis(1500), rate));
    assert_eq!(common::report(&replayed), common::report(&w));
    assert_eq!(requests_started(&replayed), started);
}

#[test]
fn a_mix_change_shapes_the_arrivals_after_it() {
    let mix: Vec<MixEntry> = serde_json::from_str(
        r#"[{"weight": 1, "request": {"method": "POST", "path": "/orders", "body_bytes": 100}}]"#,
    )
    .expect("a mix");
    let change = Command::SetMix {
        group: "web".into(),
        mix,
    };
    let mut s = base();
    s.clients[0].rate = 10.0;
    let at = Duration::from_millis(1500);
    let w = live(&s, at, change.clone());
    let started = common::events(&w, |e| match e {
        Event::RequestStarted { line, .. } => Some((line.method.clone(), line.path.clone())),
        _ => None,
    });
    let times = requests_started(&w);
    let before = times.iter().filter(|t| **t <= Instant::ZERO + at).count();
    assert!(before > 0 && before < started.len());
    assert!(started[..before]
        .iter()
        .all(|(m, p)| m == "GET" && p == "/"));
    assert!(started[before..]
        .iter()
        .all(|(m, p)| m == "POST" && p == "/orders"));
    let replayed = common::run(&with_entry(&s, at, change));
    assert_eq!(common::report(&replayed), common::report(&w));
}

#[test]
fn a_link_change_delays_packets_sent_after_it_and_spares_links_of_their_own() {
    let slow = LinkSpec {
        latency: Duration::from_millis(40),
        ..LinkSpec::default()
    };
    let at = Duration::from_millis(1500);
    let client_change = Command::SetLink {
        side: Side::Client,
        link: slow,
    };
    let server_change = Command::SetLink {
        side: Side::Server,
        link: slow,
    };
    let mut s = base();
    s.clients[0].rate = 10.0;
    let mut w = World::with_trace_capacity(&s, 10_000_000);
    w.run_until(Instant::ZERO + at);
    w.apply(client_change.clone()).expect("applies");
    w.apply(server_change.clone()).expect("applies");
    let end = w.settle_time();
    w.run_until(end);

    let change = Instant::ZERO + at;
    // Clients follow the client network: 10 ms before, 40 ms after (plus serialisation at
    // 1 Gbit/s: a few microseconds). B follows the server network; A has a link of its own
    // and keeps it.
    let clients = (1..=5).map(|k| format!("web-{k}"));
    let expectations = clients
        .map(|name| (name, 10, 40))
        .chain([("B".to_string(), 1, 40), ("A".to_string(), 5, 5)]);
    for (name, before, after) in expectations {
        let delays = delays_from(&w, host(&w, &name));
        let sent_before = delays.iter().filter(|(t, _)| *t < change).count();
        assert!(
            sent_before > 0 && sent_before < delays.len(),
            "{name} sent packets before and after the change"
        );
        // (A packet sent at the very instant of the change may go either side of it.)
        for (t, d) in delays.into_iter().filter(|(t, _)| *t != change) {
            let expected = if t < change { before } else { after };
            assert!(
                d.as_micros() >= expected * 1000 && d.as_micros() < expected * 1000 + 100,
                "{name} sent at {t}: {d}"
            );
        }
    }
    // The world's network now has the new links, so a backend added later takes them.
    assert_eq!(w.settings().network.server_link, slow);

    let mut s = with_entry(&s, at, client_change);
    s.timeline.push(TimelineEntry {
        at,
        action: server_change,
    });
    let replayed = common::run(&s);
    assert_eq!(common::report(&replayed), common::report(&w));
}

#[test]
fn bad_live_changes_are_refused_with_a_reason_and_change_nothing() {
    let mut w = World::with_trace_capacity(&base(), 1000);
    w.run_until(Instant::from_secs(1));
    let unknown = w.apply(Command::SetRate {
        group: "mobile".into(),
        rate: 5.0,
    });
    assert!(unknown.unwrap_err().to_string().contains("mobile"));
    for rate in [0.0, -1.0, f64::NAN, 1e9] {
        assert!(w
            .apply(Command::SetRate {
                group: "web".into(),
                rate,
            })
            .is_err());
    }
    let lossy = LinkSpec {
        loss: 1.5,
        ..LinkSpec::default()
    };
    let e = w
        .apply(Command::SetLink {
            side: Side::Client,
            link: lossy,
        })
        .unwrap_err();
    assert!(e.to_string().contains("loss"), "{e}");
    assert_eq!(w.settings().network, base().network);
    assert_eq!(w.settings().clients[0].rate, 1.0);
}

#[test]
fn timeline_changes_are_validated_with_their_paths() {
    let text = r#"{
        "version": 1, "duration": "3s",
        "backends": [{"name": "A", "address": "10.0.0.11"}],
        "clients": [{"name": "web", "rate": 10, "mix": [{"weight": 1, "request": {"path": "/"}}]}],
        "timeline": [
            {"at": "1s", "action": {"set_rate": {"group": "mobile", "rate": 0}}},
            {"at": "2s", "action": {"set_link": {"side": "server", "link": {"loss": 2}}}},
            {"at": "2s", "action": {"set_health": {"health": {"kind": "tcp", "interval": "1ms", "timeout": "1ms"}}}},
            {"at": "2s", "action": {"set_mix": {"group": "web", "mix": [{"weight": 0, "request": {"path": "/"}}]}}}
        ]
    }"#;
    let problems = match Scenario::from_json(text) {
        Err(LoadError::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    };
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "timeline[0].action.set_rate.group",
            "timeline[0].action.set_rate.rate",
            "timeline[1].action.set_link.link.loss",
            "timeline[2].action.set_health.health.interval",
            "timeline[3].action.set_mix.mix[0].weight",
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Any timeline (faults, rates, links) gives the same world as the same changes made live,
    /// each once the world has run to its time.
    #[test]
    fn timelines_replay_changes_made_live((s, _) in common::arbitrary::scenario()) {
        let replayed = common::run(&s);
        let mut bare = s.clone();
        bare.timeline.clear();
        let mut w = World::with_trace_capacity(&bare, 10_000_000);
        let mut entries = s.timeline.clone();
        entries.sort_by_key(|e| e.at);
        for e in entries {
            w.run_until(Instant::ZERO + e.at);
            w.apply(e.action).expect("valid timeline entries apply");
        }
        let end = w.settle_time();
        w.run_until(end);
        prop_assert_eq!(common::report(&replayed), common::report(&w));
        prop_assert_eq!(requests_started(&replayed), requests_started(&w));
    }
}

/// Three backends behind an L4 balancer with a TCP check; C answers 500 from the start.
fn checked() -> Scenario {
    common::scenario(
        r#"{
        "version": 1, "duration": "12s", "seed": 9,
        "balancer": {"mode": "l4_nat", "health": {"kind": "tcp", "interval": "1s",
                     "timeout": "500ms", "rise": 2, "fall": 2}},
        "backends": [{"name": "A", "address": "10.0.0.11"}, {"name": "B", "address": "10.0.0.12"},
                     {"name": "C", "address": "10.0.0.13", "fault": "app_errors"}],
        "clients": [{"name": "web", "count": 10, "rate": 20,
                     "mix": [{"weight": 1, "request": {"path": "/"}}]}]
    }"#,
    )
}

fn http_check() -> HealthSpec {
    HealthSpec {
        kind: HealthKind::Http(Default::default()),
        ..checked().balancer.health.expect("checked")
    }
}

#[test]
fn switching_to_an_http_check_live_catches_the_backend_answering_500() {
    let at = Duration::from_secs(4);
    let switch = Command::SetHealth {
        health: Some(http_check()),
    };
    let w = live(&checked(), at, switch.clone());
    let c = host(&w, "C");
    // The TCP check saw nothing wrong; the HTTP check takes C down after `fall` probes of the
    // new round (spread over one interval from the switch), each answered 500 at once.
    let down = common::transition(&w, c, HealthState::Down).expect("C goes down");
    let switched = Instant::ZERO + at;
    assert!(
        down > switched && down <= switched + Duration::from_secs(2),
        "down at {down}"
    );
    let changes = common::events(&w, |e| match e {
        Event::SettingChanged { change } => Some(change.to_string()),
        _ => None,
    });
    assert_eq!(
        changes,
        ["health checks: HTTP GET /health every 1s, timeout 500ms, rise 2, fall 2"]
    );
    // No new flow goes to C once it is down.
    for r in w.trace().records() {
        if let Event::FlowStarted { backend, .. } = r.event {
            assert!(r.at <= down || backend != c, "a flow went to C at {}", r.at);
        }
    }
    let replayed = common::run(&with_entry(&checked(), at, switch));
    assert_eq!(common::report(&replayed), common::report(&w));
}

#[test]
fn turning_checks_off_counts_every_backend_up_again() {
    let mut s = checked();
    s.balancer.health = Some(http_check());
    let w = live(
        &s,
        Duration::from_secs(6),
        Command::SetHealth { health: None },
    );
    let c = host(&w, "C");
    let down = common::transition(&w, c, HealthState::Down).expect("C went down");
    let up = common::transition(&w, c, HealthState::Up).expect("C counts as up again");
    assert!(down < Instant::from_secs(6));
    assert_eq!(up, Instant::from_secs(6));
    // No probe is sent once the checks are off (one in flight may still end).
    let probes = common::events(&w, |e| match e {
        Event::HealthProbe { .. } => Some(()),
        _ => None,
    });
    let late = w
        .trace()
        .records()
        .filter(|r| matches!(r.event, Event::HealthProbe { .. }) && r.at > Instant::from_secs(7))
        .count();
    assert!(!probes.is_empty());
    assert_eq!(late, 0);
    // C takes flows again, and its 500s reach the clients.
    assert!(w.trace().records().any(
        |r| r.at > up && matches!(r.event, Event::FlowStarted { backend, .. } if backend == c)
    ));
}

#[test]
fn bad_health_settings_are_refused() {
    let mut w = World::with_trace_capacity(&checked(), 1000);
    w.run_until(Instant::from_secs(1));
    let e = w
        .apply(Command::SetHealth {
            health: Some(HealthSpec {
                timeout: Some(Duration::from_secs(5)),
                ..http_check()
            }),
        })
        .unwrap_err();
    assert!(e.to_string().contains("health.timeout"), "{e}");
    assert_eq!(w.settings().balancer.health, checked().balancer.health);
}
