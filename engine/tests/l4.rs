//! The layer-4 balancer: NAT and DSR on real packets, the connection table, health checks and
//! failover, and what a balancer costs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use lbsim::health::{HealthState, ProbeResult};
use lbsim::ids::HostId;
use lbsim::report::Report;
use lbsim::scenario::{Command, Scenario};
use lbsim::sim::{StepKind, World};
use lbsim::time::{Duration, Instant};
use lbsim::trace::{Event, FlowEndReason, Outcome, RewriteKind};
use lbsim::wire::PacketInfo;

const VIP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// Three backends behind the VIP; `balancer` and `extra` are spliced in as JSON.
fn three(balancer: &str, extra: &str) -> Scenario {
    common::scenario(&format!(
        r#"{{"version": 1, "duration": "10s", "seed": 7,
            "balancer": {balancer},
            "backends": [{{"name": "A", "address": "10.0.0.11"}},
                         {{"name": "B", "address": "10.0.0.12"}},
                         {{"name": "C", "address": "10.0.0.13"}}],
            "clients": [{{"name": "web", "count": 30, "rate": 60, "timeout": "3s"}}]
            {extra}}}"#
    ))
}

fn outcome(r: &Report, o: Outcome) -> u64 {
    r.requests.outcomes[o.name()]
}

#[test]
fn nat_clients_see_the_vip_and_backends_see_their_own_address() {
    let w = common::run(&three(r#"{"mode": "l4_nat"}"#, ""));
    let r = common::report(&w);
    assert_eq!(outcome(&r, Outcome::Ok), r.requests.started);
    let hosts = w.hosts();
    let side = |h: HostId| hosts[h.index()].side;
    let packets: BTreeMap<_, _> = common::events(&w, |e| match e {
        Event::PacketSent {
            packet,
            from,
            to,
            bytes,
            ..
        } => Some((*packet, (*from, *to, bytes.clone()))),
        _ => None,
    })
    .into_iter()
    .collect();
    let mut rewrites = 0;
    for (packet_in, packet_out, kind) in common::events(&w, |e| match e {
        Event::Rewritten {
            packet_in,
            packet_out,
            rewrite,
            ..
        } => Some((*packet_in, *packet_out, *rewrite)),
        _ => None,
    }) {
        rewrites += 1;
        let (from_in, _, inp) = &packets[&packet_in];
        let (_, to_out, out) = &packets[&packet_out];
        let (i, o) = (
            PacketInfo::parse(inp).unwrap(),
            PacketInfo::parse(out).unwrap(),
        );
        match kind {
            RewriteKind::ToBackend => {
                assert_eq!(i.dst, VIP, "clients address the VIP");
                assert_eq!(
                    o.dst,
                    hosts[to_out.index()].address,
                    "the backend gets its own address"
                );
                assert_eq!(i.src, o.src);
                assert!(side(*from_in).is_some_and(|s| s == lbsim::net::Side::Client));
            }
            RewriteKind::ToClient => {
                assert_eq!(i.src, hosts[from_in.index()].address);
                assert_eq!(o.src, VIP, "replies come from the VIP");
                assert_eq!(i.dst, o.dst);
            }
            RewriteKind::Encapsulated => panic!("no encapsulation in NAT mode"),
        }
        // Only addresses, ports and checksums change: the rest of the packet is the same.
        assert_eq!(inp.len(), out.len());
        assert_eq!(&inp[i.payload_offset..], &out[o.payload_offset..]);
    }
    assert!(rewrites > 5_000, "{rewrites} rewrites");
}

#[test]
fn round_robin_spreads_new_flows_and_flows_stay_pinned() {
    let w = common::run(&three(r#"{"mode": "l4_nat"}"#, ""));
    let r = common::report(&w);
    let d = &r.balancer.as_ref().unwrap().decisions;
    let (lo, hi) = (d.values().min().unwrap(), d.values().max().unwrap());
    assert!(hi - lo <= 1, "round robin: {d:?}");
    // Every packet of a flow went to the backend its flow started with.
    let flows: BTreeMap<_, _> = common::events(&w, |e| match e {
        Event::FlowStarted { flow, backend, .. } => Some((*flow, *backend)),
        _ => None,
    })
    .into_iter()
    .collect();
    let outgoing: BTreeMap<_, _> = common::events(&w, |e| match e {
        Event::PacketSent { packet, to, .. } => Some((*packet, *to)),
        _ => None,
    })
    .into_iter()
    .collect();
    for (flow, out) in common::events(&w, |e| match e {
        Event::Rewritten {
            flow,
            packet_out,
            rewrite: RewriteKind::ToBackend,
            ..
        } => Some((*flow, *packet_out)),
        _ => None,
    }) {
        assert_eq!(outgoing[&out], flows[&flow]);
    }
}

#[test]
fn dsr_tunnels_in_and_the_return_path_bypasses_the_balancer() {
    let nat = common::run(&three(r#"{"mode": "l4_nat"}"#, ""));
    let dsr = common::run(&three(r#"{"mode": "l4_dsr"}"#, ""));
    let r = common::report(&dsr);
    assert_eq!(outcome(&r, Outcome::Ok), r.requests.started);
    let kinds: BTreeSet<_> = common::events(&dsr, |e| match e {
        Event::Rewritten { rewrite, .. } => Some(*rewrite),
        _ => None,
    })
    .into_iter()
    .collect();
    assert_eq!(
        kinds,
        BTreeSet::from([RewriteKind::Encapsulated]),
        "no NAT on the way back"
    );
    // Replies leave the backends already from the VIP.
    let backend = HostId(1);
    let replies = common::events(&dsr, |e| match e {
        Event::PacketSent { from, bytes, .. } if *from == backend => PacketInfo::parse(bytes),
        _ => None,
    });
    assert!(replies
        .iter()
        .filter(|i| i.dst != Ipv4Addr::new(10, 0, 0, 1))
        .all(|i| i.src == VIP));
    // The balancer's CPU sees about half the packets it sees in NAT mode.
    let processed = |w: &World| w.balancer().cpu().0 as f64;
    let ratio = processed(&dsr) / processed(&nat);
    assert!(
        (0.4..0.65).contains(&ratio),
        "DSR/NAT packets processed {ratio}"
    );
}

#[test]
fn dsr_requires_backends_on_the_balanced_port() {
    let text = r#"{"version": 1, "duration": "1s", "balancer": {"mode": "l4_dsr"},
        "backends": [{"name": "A", "address": "10.0.0.11", "port": 8080}]}"#;
    let e = Scenario::from_json(text).unwrap_err().to_string();
    assert!(
        e.contains("backends[0].port must equal balancer.port in DSR mode"),
        "{e}"
    );
}

/// B's probes as (end, result), in order.
fn probes_of(w: &World, b: HostId) -> Vec<(Instant, ProbeResult)> {
    w.trace()
        .records()
        .filter_map(|r| match r.event {
            Event::HealthProbe { backend, result } if backend == b => Some((r.at, result)),
            _ => None,
        })
        .collect()
}

/// A world where B crashes at 4 s and comes back at 20 s, under `health`.
fn crash_b(health: &str) -> World {
    let mut s = three(
        &format!(r#"{{"mode": "l4_nat", "health": {health}}}"#),
        r#", "timeline": [{"at": "4s", "action": {"set_fault": {"backend": "B", "fault": "crash"}}}]"#,
    );
    s.duration = Duration::from_secs(30);
    s.timeline.push(lbsim::scenario::TimelineEntry {
        at: Duration::from_secs(20),
        action: Command::SetFault {
            backend: "B".into(),
            fault: lbsim::scenario::Fault::None,
        },
    });
    common::run(&s)
}

#[test]
fn health_checks_run_on_haproxys_schedule_and_time_to_down_follows_its_arithmetic() {
    // HAProxy: the next check starts `inter` after the previous one ended, and a check with no
    // answer ends at its timeout (`inter` when `timeout check` is unset). So with a backend
    // that stops answering, each failed check costs timeout + interval, and the first failing
    // check that ends at `f` marks it down `(fall − 1) × (interval + timeout)` later.
    for (health, interval, timeout) in [
        (
            r#"{"interval": "2s", "timeout": "1s", "fall": 3, "rise": 2}"#,
            2_000,
            1_000,
        ),
        (r#"{"interval": "2s", "fall": 3, "rise": 2}"#, 2_000, 2_000),
    ] {
        let (interval, timeout) = (
            Duration::from_millis(interval),
            Duration::from_millis(timeout),
        );
        let w = crash_b(health);
        let b = HostId(2);
        let probes = probes_of(&w, b);
        // Every probe starts one interval after the previous one ended.
        for pair in probes.windows(2) {
            let ((prev, _), (next, result)) = (pair[0], pair[1]);
            let took = match result {
                ProbeResult::Passed(d) => d,
                ProbeResult::TimedOut => timeout,
                other => panic!("{health}: a crash gives no {other:?}"),
            };
            assert_eq!(
                next,
                prev + interval + took,
                "{health}: probe ending at {next}"
            );
        }
        let first_fail = probes
            .iter()
            .position(|(_, r)| *r == ProbeResult::TimedOut)
            .expect("probes fail");
        let (f, _) = probes[first_fail];
        let down = common::transition(&w, b, HealthState::Down).expect("B goes down");
        assert_eq!(
            down,
            f + Duration::from_micros((interval + timeout).as_micros() * 2),
            "{health}: fall 3 = the first failure and two more, each interval + timeout apart"
        );
        // The first failing check started after the crash, at most an interval after the last
        // good one ended.
        let (last_good, _) = probes[first_fail - 1];
        assert!(last_good <= Instant::from_secs(4) && f - timeout > Instant::from_secs(4));
    }
}

#[test]
fn a_crash_is_detected_and_traffic_fails_over() {
    // Health: 2 s from the end of a probe to the next, timeout 1 s, fall 3, rise 2.
    let w = crash_b(r#"{"interval": "2s", "timeout": "1s", "fall": 3, "rise": 2}"#);
    let b = HostId(2);
    let down = common::transition(&w, b, HealthState::Down).expect("B goes down");
    let detection = down - Instant::from_secs(4);
    // 3 timeouts and 2 intervals after the first failing probe starts, which is at most an
    // interval (and a round trip) after the crash.
    assert!(
        detection > Duration::from_secs(3 + 2 * 2)
            && detection <= Duration::from_millis((3 + 3 * 2) * 1000 + 100),
        "detected after {detection}"
    );
    // No new flow goes to B while it is down; it gets flows again after it rises.
    // Back up after `rise` good probes, the first within a timeout and an interval of 20 s.
    let up = common::transition(&w, b, HealthState::Up).expect("B comes back");
    assert!(
        up > Instant::from_secs(20) && up <= Instant::from_millis((20 + 1 + 2 * 2) * 1000 + 100)
    );
    for r in w.trace().records() {
        if let Event::FlowStarted { backend, .. } = r.event {
            if r.at > down && r.at < up {
                assert_ne!(backend, b, "a flow went to B at {} while it was down", r.at);
            }
        }
    }
    // Requests that start after detection all succeed: traffic failed over.
    let mut after = 0;
    for r in w.trace().records() {
        if let Event::RequestEnded {
            outcome, latency, ..
        } = &r.event
        {
            let started = r.at - *latency;
            if started > down + Duration::from_millis(100) && started < up {
                after += 1;
                assert_eq!(*outcome, Outcome::Ok, "request started at {started}");
            }
        }
    }
    assert!(after > 500);
    let r = common::report(&w);
    assert!(
        outcome(&r, Outcome::Timeout) > 0,
        "requests pinned to B before detection time out"
    );
}

#[test]
fn a_tcp_check_keeps_a_backend_that_answers_500_up() {
    let s = three(
        r#"{"mode": "l4_nat", "health": {}}"#,
        r#", "timeline": [{"at": "1s", "action": {"set_fault": {"backend": "C", "fault": "app_errors"}}}]"#,
    );
    let w = common::run(&s);
    let c = HostId(3);
    assert_eq!(
        common::transition(&w, c, HealthState::Down),
        None,
        "the handshake still works"
    );
    let probes = common::events(&w, |e| match e {
        Event::HealthProbe { backend, result } if *backend == c => Some(result.ok()),
        _ => None,
    });
    assert!(probes.len() >= 5 && probes.iter().all(|ok| *ok));
    let r = common::report(&w);
    assert!(r.requests.statuses[&500] > 100, "clients get C's 500s");
    assert_eq!(
        r.backends[2].statuses.get(&500),
        r.requests.statuses.get(&500),
        "every 500 comes from C"
    );
    assert!(
        r.backends[2].statuses[&200] > 0,
        "C answered 200 before the fault"
    );
}

#[test]
fn stray_segments_are_dropped_or_reset_as_configured() {
    // A table of 8 flows evicts connections mid-handshake; their next segments are strays.
    let run = |policy: &str| {
        let s = three(
            &format!(
                r#"{{"mode": "l4_nat", "conntrack": {{"max_flows": 8, "unknown_segment": "{policy}"}}}}"#
            ),
            "",
        );
        common::report(&common::run(&s))
    };
    let dropped = run("drop");
    let reset = run("reset");
    assert!(dropped.packets.dropped_by_reason["no_flow"] > 0);
    assert!(reset.packets.dropped_by_reason["no_flow"] > 0);
    // Dropped strays leave clients retransmitting until they give up; a reset tells them.
    assert_eq!(outcome(&dropped, Outcome::Reset), 0);
    assert!(outcome(&dropped, Outcome::Timeout) > 0);
    assert!(outcome(&reset, Outcome::Reset) > 0);
    assert!(outcome(&reset, Outcome::Timeout) < outcome(&dropped, Outcome::Timeout));
}

#[test]
fn a_full_table_evicts_the_oldest_flow() {
    let w = common::run(&three(
        r#"{"mode": "l4_nat", "conntrack": {"max_flows": 8}}"#,
        "",
    ));
    let r = common::report(&w);
    let ct = &r.balancer.as_ref().unwrap().conntrack;
    assert!(ct.counts.evicted > 100, "{ct:?}");
    assert!(ct.counts.peak <= 8);
    assert!(
        r.packets
            .dropped_by_reason
            .get("no_flow")
            .copied()
            .unwrap_or(0)
            > 0,
        "evicted flows' packets are strays"
    );
    let evictions = common::events(&w, |e| match e {
        Event::FlowEnded {
            reason: FlowEndReason::Evicted,
            ..
        } => Some(()),
        _ => None,
    });
    assert_eq!(evictions.len() as u64, ct.counts.evicted);
}

#[test]
fn flows_are_forgotten_after_their_timeout() {
    let mut s = three(r#"{"mode": "l4_nat"}"#, "");
    s.duration = Duration::from_secs(2);
    let mut w = World::new(&s);
    w.run_until(Instant::from_secs(3));
    assert!(!w.balancer().conntrack.is_empty());
    // Closed flows stay 10 s; then the sweep forgets them.
    w.run_until(Instant::from_secs(15));
    assert!(w.balancer().conntrack.is_empty());
    let c = w.balancer().conntrack.counts;
    assert_eq!(c.expired, c.created);
}

#[test]
fn udp_through_l4_adds_only_the_per_packet_cost() {
    let game = |mode: &str, target: &str| {
        let s = common::scenario(&format!(
            r#"{{"version": 1, "duration": "3s", "seed": 4,
                "balancer": {{"mode": "{mode}"}},
                "backends": [{{"name": "G", "address": "10.0.0.11", "game_port": 7777}}],
                "players": [{{"name": "p", "count": 3, "target": "{target}", "tick_hz": 60}}]}}"#
        ));
        common::report(&common::run(&s)).game.unwrap()
    };
    let direct = game("router", "10.0.0.11:7777");
    let l4 = game("l4_nat", "203.0.113.10:7777");
    assert_eq!(l4.lost, 0);
    assert_eq!(l4.received + l4.in_flight, l4.sent);
    // Through the balancer each way costs its 1 µs per packet: 2 µs a round trip.
    let extra_us = (l4.rtt.mean_ms.unwrap() - direct.rtt.mean_ms.unwrap()) * 1000.0;
    assert!((1.5..=2.5).contains(&extra_us), "L4 adds {extra_us} µs");
}

#[test]
fn an_overloaded_balancer_queues_then_drops() {
    let s = three(
        r#"{"mode": "l4_nat", "cpu": {"per_packet": "2ms", "queue_packets": 20}}"#,
        "",
    );
    let r = common::report(&common::run(&s));
    assert!(
        r.packets.dropped_by_reason["overload"] > 0,
        "{:?}",
        r.packets.dropped_by_reason
    );
    assert!(
        r.latency.p50_ms.unwrap() > 50.0,
        "queueing shows as latency"
    );
}

#[test]
fn removing_a_backend_moves_few_mappings_under_maglev_and_most_under_modulo() {
    let moved = |algorithm: &str| {
        let s = common::scenario(&format!(
            r#"{{"version": 1, "duration": "2s",
                "balancer": {{"mode": "l4_nat", "algorithm": {algorithm}}},
                "backends": [{{"name": "A", "address": "10.0.0.11"}}, {{"name": "B", "address": "10.0.0.12"}},
                             {{"name": "C", "address": "10.0.0.13"}}, {{"name": "D", "address": "10.0.0.14"}},
                             {{"name": "E", "address": "10.0.0.15"}}],
                "clients": [{{"name": "web", "count": 500, "rate": 100}}],
                "timeline": [{{"at": "1s", "action": {{"remove_backend": {{"backend": "E"}}}}}}]}}"#
        ));
        let r = common::report(&common::run(&s));
        let change = r.balancer.unwrap().pool_changes[0].clone();
        assert_eq!(change.clients, 500);
        change.mappings_moved.unwrap() as f64 / 500.0
    };
    let maglev = moved(r#""maglev""#);
    let modulo = moved(r#"{"ip_hash": "address"}"#);
    assert!((0.12..0.30).contains(&maglev), "maglev moved {maglev}");
    assert!(modulo > 0.6, "modulo moved {modulo}");
}

#[test]
fn drain_stops_new_flows_and_reweighting_shifts_them() {
    let s = three(
        r#"{"mode": "l4_nat"}"#,
        r#", "timeline": [{"at": "3s", "action": {"set_drain": {"backend": "A", "drained": true}}},
                          {"at": "6s", "action": {"set_drain": {"backend": "A", "drained": false}}},
                          {"at": "6s", "action": {"set_weight": {"backend": "C", "weight": 3}}}]"#,
    );
    let w = common::run(&s);
    let a = HostId(1);
    let mut per_phase = [[0u32; 3]; 3];
    for r in w.trace().records() {
        if let Event::FlowStarted { backend, .. } = r.event {
            let phase = if r.at < Instant::from_secs(3) {
                0
            } else if r.at < Instant::from_secs(6) {
                1
            } else {
                2
            };
            per_phase[phase][backend.index() - 1] += 1;
        }
    }
    assert_eq!(
        per_phase[1][a.index() - 1],
        0,
        "a drained backend gets no new flows"
    );
    let [a2, b2, c2] = per_phase[2];
    assert!(
        c2 > 2 * a2 && c2 > 2 * b2,
        "weight 3 takes three fifths: {:?}",
        per_phase[2]
    );
    let r = common::report(&w);
    assert_eq!(
        outcome(&r, Outcome::Ok),
        r.requests.started,
        "draining breaks nothing"
    );
    assert_eq!(r.balancer.unwrap().pool_changes.len(), 3);
}

#[test]
fn no_ready_backend_drops_new_flows_with_a_reason() {
    let s = three(
        r#"{"mode": "l4_nat"}"#,
        r#", "timeline": [{"at": "1s", "action": {"set_drain": {"backend": "A", "drained": true}}},
                          {"at": "1s", "action": {"set_drain": {"backend": "B", "drained": true}}},
                          {"at": "1s", "action": {"set_drain": {"backend": "C", "drained": true}}}]"#,
    );
    let w = common::run(&s);
    let r = common::report(&w);
    assert!(r.packets.dropped_by_reason["no_backend"] > 0);
    let none_ready = common::events(&w, |e| match e {
        Event::Decision {
            backend: None,
            explanation,
            ..
        } => Some(explanation.to_string()),
        _ => None,
    });
    assert!(!none_ready.is_empty());
    assert_eq!(none_ready[0], "no backend is ready");
    assert!(outcome(&r, Outcome::Timeout) > 0);
}

#[test]
fn a_request_story_names_the_decision_and_the_backend_that_served_it() {
    let w = common::run(&three(r#"{"mode": "l4_nat"}"#, ""));
    let ids = common::events(&w, |e| match e {
        Event::RequestStarted { request, .. } => Some(*request),
        _ => None,
    });
    for id in ids.iter().step_by(50) {
        let story = w.request_story(*id).expect("the trace holds it");
        let kinds: Vec<StepKind> = story.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                StepKind::Sent,
                StepKind::Decision,
                StepKind::Served,
                StepKind::Ended
            ],
            "{story:#?}"
        );
        assert!(
            story.steps[1].text.starts_with("round_robin picks "),
            "{story:#?}"
        );
        assert_eq!(story.outcome, Some((Outcome::Ok, Some(200))));
    }
}
