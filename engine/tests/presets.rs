//! Every preset teaches something; each test here runs a preset with its own seed and asserts
//! that the run shows what the lesson says it shows.

mod common;

use std::collections::BTreeMap;

use lbsim::health::HealthState;
use lbsim::ids::HostId;
use lbsim::presets::{self, Preset};
use lbsim::report::Report;
use lbsim::scenario::Scenario;
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::trace::{Event, Outcome, SessionOutcome};
use lbsim::wire::PacketInfo;
use serde_json::json;

fn preset(name: &str) -> Preset {
    presets::get(name).unwrap_or_else(|| panic!("no preset {name}"))
}

/// The preset's scenario and its compare variant, both run to the end.
fn run_both(name: &str) -> (World, World) {
    let p = preset(name);
    let variant = p
        .compare_scenario()
        .expect("the preset has a variant")
        .expect("the variant is valid");
    (common::run(&p.scenario), common::run(&variant))
}

/// The preset's scenario with `patch` merged in, run to the end.
fn run_patched(name: &str, patch: serde_json::Value) -> World {
    let s: Scenario = presets::apply_patch(&preset(name).scenario, &patch).expect("valid patch");
    common::run(&s)
}

fn outcome(r: &Report, o: Outcome) -> u64 {
    r.requests.outcomes.get(o.name()).copied().unwrap_or(0)
}

fn pct(summary: Option<f64>) -> f64 {
    summary.expect("a percentile")
}

fn backend(w: &World, name: &str) -> HostId {
    w.backend_by_name(name).expect("backend exists")
}

fn decisions(r: &Report) -> &BTreeMap<String, u64> {
    &r.balancer.as_ref().expect("a balancer").decisions
}

#[test]
fn playground_spreads_requests_evenly_and_all_succeed() {
    let w = common::run(&preset("playground").scenario);
    let r = common::report(&w);
    assert!(r.requests.started > 1_000);
    assert_eq!(outcome(&r, Outcome::Ok), r.requests.started);
    let share = r.requests.started as f64 / r.backends.len() as f64;
    for b in &r.backends {
        let ratio = b.requests as f64 / share;
        assert!(
            (0.9..1.1).contains(&ratio),
            "{} got {ratio} of a share",
            b.name
        );
    }
}

#[test]
fn l7_balances_requests_and_l4_balances_connections() {
    let (l7, l4) = run_both("l4-vs-l7");
    let (r7, r4) = (common::report(&l7), common::report(&l4));
    assert_eq!(r7.requests.started, r4.requests.started, "the same traffic");
    let sessions = r4.sessions.as_ref().expect("carts").started;
    let total = |r: &Report| decisions(r).values().sum::<u64>();
    // L7 decides once per request; L4 once per connection, and each visit is one connection.
    assert_eq!(total(&r7), r7.requests.started);
    assert_eq!(total(&r4), sessions);
    assert!(r7.requests.started >= 3 * sessions);
    // So a visit stays on one backend at L4 (its cart survives) and spreads at L7.
    let (s7, s4) = (r7.sessions.unwrap(), r4.sessions.unwrap());
    assert_eq!(s4.kept, s4.started, "{s4:?}");
    assert!(s7.lost_carts * 2 > s7.started, "{s7:?}");
}

#[test]
fn nat_rewrites_only_addresses_ports_and_checksums_both_ways() {
    let w = common::run(&preset("nat-slow-motion").scenario);
    let r = common::report(&w);
    assert_eq!(r.requests.started, 1);
    assert_eq!(outcome(&r, Outcome::Ok), 1);
    let bytes: BTreeMap<_, _> = common::events(&w, |e| match e {
        Event::PacketSent { packet, bytes, .. } => Some((*packet, bytes.clone())),
        _ => None,
    })
    .into_iter()
    .collect();
    let mut kinds = BTreeMap::new();
    for (kind, packet_in, packet_out) in common::events(&w, |e| match e {
        Event::Rewritten {
            rewrite,
            packet_in,
            packet_out,
            ..
        } => Some((*rewrite, *packet_in, *packet_out)),
        _ => None,
    }) {
        *kinds.entry(format!("{kind:?}")).or_insert(0) += 1;
        let (a, b) = (&bytes[&packet_in], &bytes[&packet_out]);
        assert_eq!(a.len(), b.len());
        let ip_header = usize::from(a[0] & 0x0f) * 4;
        for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
            if x == y {
                continue;
            }
            let allowed = match i.checked_sub(ip_header) {
                // IPv4: header checksum, source, destination.
                None => (10..20).contains(&i),
                // TCP: ports and checksum.
                Some(t) => t < 4 || (16..18).contains(&t),
            };
            assert!(allowed, "{kind:?} changed byte {i}");
        }
    }
    // Handshake, request, response and close: each packet crosses once, rewritten each way.
    let to_backend = kinds.get("ToBackend").copied().unwrap_or(0);
    let to_client = kinds.get("ToClient").copied().unwrap_or(0);
    assert!(to_backend >= 4 && to_client >= 4, "{kinds:?}");
    assert_eq!(to_backend + to_client, r.packets.sent / 2, "{kinds:?}");
}

#[test]
fn the_tcp_check_detects_the_crash_within_its_bound_and_traffic_fails_over() {
    let p = preset("tcp-check-crash");
    let w = common::run(&p.scenario);
    let b = backend(&w, "B");
    let health = p.scenario.balancer.health.clone().expect("a health check");
    let (interval, timeout) = (health.interval, health.check_timeout());
    let (fall, rise) = (u64::from(health.fall), u64::from(health.rise));
    let times = |d: Duration, n: u64| Duration::from_micros(d.as_micros() * n);
    let crash = Instant::from_secs(10);
    let down = common::transition(&w, b, HealthState::Down).expect("B is marked down");
    // HAProxy's schedule: each probe starts an interval after the previous one ended, so the
    // first failing probe starts within an interval (and a round trip) of the crash, and
    // `fall` in a row take `fall` timeouts and `fall − 1` intervals.
    let slack = Duration::from_millis(100);
    let detection = down - crash;
    let failing = times(timeout, fall) + times(interval, fall - 1);
    assert!(detection > failing, "{detection}");
    assert!(detection <= failing + interval + slack, "{detection}");
    // Back after `rise` good probes; the first starts within a timeout and an interval.
    let up = common::transition(&w, b, HealthState::Up).expect("B comes back");
    let back = up - Instant::from_secs(25);
    assert!(
        back >= times(interval, rise - 1) && back <= timeout + times(interval, rise) + slack,
        "{back}"
    );
    // Until detection, requests sent to B time out; after it, none does.
    let r = common::report(&w);
    assert!(outcome(&r, Outcome::Timeout) > 10);
    for rec in w.trace().records() {
        if let Event::RequestEnded {
            outcome, latency, ..
        } = &rec.event
        {
            let started = rec.at - *latency;
            if *outcome == Outcome::Timeout {
                // In flight when B crashed, or sent to B before detection.
                let in_flight = Duration::from_millis(100);
                assert!(
                    started + in_flight >= crash && started < down,
                    "timed out from {started}"
                );
            }
        }
    }
}

#[test]
fn the_http_check_catches_the_500s_the_tcp_check_misses() {
    let (http, tcp) = run_both("app-500");
    let (rh, rt) = (common::report(&http), common::report(&tcp));
    let c = backend(&http, "C");
    assert!(
        common::transition(&http, c, HealthState::Down).is_some(),
        "the HTTP check takes C out"
    );
    assert!(
        rt.balancer.as_ref().unwrap().health_transitions.is_empty(),
        "the TCP check sees C's port open and keeps it"
    );
    let errors = |r: &Report| r.requests.statuses.get(&500).copied().unwrap_or(0);
    assert!(errors(&rt) * 4 > rt.requests.started, "about a third fail");
    assert!(
        errors(&rh) * 4 < errors(&rt),
        "{} vs {}",
        errors(&rh),
        errors(&rt)
    );
}

#[test]
fn path_routing_sends_video_and_api_to_their_own_servers() {
    let w = common::run(&preset("path-routing").scenario);
    let r = common::report(&w);
    let proxy = r.balancer.as_ref().unwrap().proxy.clone().expect("L7");
    let d = decisions(&r);
    let pool = |name: &str| proxy.per_pool.get(name).copied().unwrap_or(0);
    assert!(pool("video") > 0 && pool("api") > 0 && pool("web") > 0);
    assert_eq!(d["V1"] + d["V2"], pool("video"));
    assert_eq!(d["C1"] + d["C2"], pool("api"));
    assert_eq!(d["W"], pool("web"));
    // Every request a server answered had the path its pool is for.
    let names: BTreeMap<HostId, String> = r
        .backends
        .iter()
        .map(|b| (backend(&w, &b.name), b.name.clone()))
        .collect();
    let mut served = 0;
    for (host, path) in common::events(&w, |e| match e {
        Event::RequestServed { host, line, .. } => Some((*host, line.path.clone())),
        _ => None,
    }) {
        let Some(name) = names.get(&host).filter(|_| path != "/health") else {
            continue;
        };
        served += 1;
        match name.as_str() {
            "V1" | "V2" => assert!(path.starts_with("/video"), "{name} got {path}"),
            "C1" | "C2" => assert!(path.starts_with("/api"), "{name} got {path}"),
            _ => assert!(!path.starts_with("/video") && !path.starts_with("/api")),
        }
    }
    assert!(served > 500);
}

#[test]
fn tls_termination_costs_the_balancer_and_the_backends_see_plain_http() {
    let p = preset("tls-offload");
    let variant = p.compare_scenario().unwrap().unwrap();
    let mut tls = World::with_trace_capacity(&p.scenario, 10_000_000);
    tls.start_capture(lbsim::trace::CapturePoint::Both);
    let end = tls.settle_time();
    tls.run_until(end);
    let plain = common::run(&variant);
    let (rt, rp) = (common::report(&tls), common::report(&plain));
    let bt = rt.balancer.as_ref().unwrap();
    let bp = rp.balancer.as_ref().unwrap();
    assert_eq!(outcome(&rt, Outcome::Ok), rt.requests.started);
    // One handshake per connection, all on the balancer.
    assert_eq!(
        bt.proxy.as_ref().unwrap().tls_handshakes,
        rt.requests.started
    );
    assert!(
        bt.cpu_busy > 5.0 * bp.cpu_busy,
        "{} vs {}",
        bt.cpu_busy,
        bp.cpu_busy
    );
    // The client pays one more round trip before its first request.
    assert!(pct(rt.latency.p50_ms) > pct(rp.latency.p50_ms) + 15.0);
    // TLS records (content type 22 or 23) to the clients; plain HTTP to the backends.
    let hosts = tls.hosts();
    let (mut records, mut plain_to_backends) = (0, 0);
    for (from, to, bytes) in common::events(&tls, |e| match e {
        Event::PacketSent {
            from, to, bytes, ..
        } => Some((*from, *to, bytes.clone())),
        _ => None,
    }) {
        let info = PacketInfo::parse(&bytes).unwrap();
        let payload = &bytes[info.payload_offset..];
        let Some(&first) = payload.first() else {
            continue;
        };
        let is_backend = |h: HostId| {
            hosts[h.index()].side == Some(lbsim::net::Side::Server)
                && rt
                    .backends
                    .iter()
                    .any(|b| b.address == hosts[h.index()].address)
        };
        if is_backend(to) || is_backend(from) {
            assert!(first != 22 && first != 23, "TLS on the backend side");
            plain_to_backends += u64::from(payload.starts_with(b"GET "));
        } else if first == 22 || first == 23 {
            records += 1;
        }
    }
    assert!(records >= 3 * rt.requests.started, "{records} records");
    assert_eq!(plain_to_backends, rt.requests.started);
}

#[test]
fn udp_through_l4_has_a_tight_tail_and_http_through_l7_does_not() {
    let (l4, l7) = run_both("game");
    let (g4, g7) = (
        common::report(&l4).game.expect("game"),
        common::report(&l7).game.expect("game"),
    );
    assert!(g4.sent > 5_000 && g7.sent == g4.sent);
    // Medians are close: the network dominates.
    assert!((pct(g4.rtt.p50_ms) - pct(g7.rtt.p50_ms)).abs() < 5.0);
    // A lost datagram is just lost; a lost TCP segment holds every later update back.
    assert!(
        pct(g4.rtt.p99_ms) < 1.5 * pct(g4.rtt.p50_ms),
        "{:?}",
        g4.rtt
    );
    assert!(
        pct(g7.rtt.p99_ms) > 10.0 * pct(g4.rtt.p99_ms),
        "{:?}",
        g7.rtt
    );
    assert!(g4.lost > 0 && g7.lost < g4.lost);
}

#[test]
fn least_connections_steers_around_expensive_requests() {
    let (rr, lc) = run_both("uneven-costs");
    let hash = run_patched(
        "uneven-costs",
        json!({"balancer": {"algorithm": {"ip_hash": "address"}}}),
    );
    let (rr, lc, hash) = (
        common::report(&rr),
        common::report(&lc),
        common::report(&hash),
    );
    for r in [&rr, &lc, &hash] {
        assert_eq!(outcome(r, Outcome::Ok), r.requests.started);
    }
    let (p95, p99) = (
        |r: &Report| pct(r.latency.p95_ms),
        |r: &Report| pct(r.latency.p99_ms),
    );
    assert!(
        p95(&lc) * 1.4 < p95(&rr),
        "p95 {} vs {}",
        p95(&lc),
        p95(&rr)
    );
    assert!(
        p99(&lc) * 1.4 < p99(&rr),
        "p99 {} vs {}",
        p99(&lc),
        p99(&rr)
    );
    assert!(p99(&lc) < p99(&hash), "IP hash ignores load too");
}

#[test]
fn carts_survive_only_with_affinity_and_die_with_their_server() {
    let (rr, cookie) = run_both("cart");
    let hash = run_patched(
        "cart",
        json!({"balancer": {"algorithm": {"ip_hash": "address"}}}),
    );
    let sessions = |w: &World| common::report(w).sessions.expect("carts");
    let rr_s = sessions(&rr);
    assert!(rr_s.lost_carts * 2 > rr_s.started, "{rr_s:?}");
    let crash = Instant::from_secs(20);
    for w in [&cookie, &hash] {
        let s = sessions(w);
        assert!(s.kept * 10 > s.started * 9, "{s:?}");
        // Whatever went wrong went wrong when B died: its carts died with it.
        assert!(s.lost_carts + s.abandoned > 0, "{s:?}");
        for rec in w.trace().records() {
            if let Event::SessionEnded { outcome, .. } = &rec.event {
                if *outcome != SessionOutcome::Kept {
                    assert!(rec.at >= crash, "{outcome:?} at {}", rec.at);
                }
            }
        }
    }
}

#[test]
fn maglev_moves_few_clients_when_a_server_leaves_or_joins_and_modulo_moves_most() {
    let (maglev, modulo) = run_both("consistent-hashing");
    let changes = |w: &World| common::report(w).balancer.unwrap().pool_changes;
    let (m, h) = (changes(&maglev), changes(&modulo));
    assert_eq!(m.len(), 2);
    assert_eq!(h.len(), 2);
    for (cm, ch) in m.iter().zip(&h) {
        let frac = |c: &lbsim::lb::PoolChange| {
            f64::from(c.mappings_moved.expect("hashing")) / f64::from(c.clients)
        };
        // Ideal: one in five (or six) clients move.
        assert!(frac(cm) < 0.3, "maglev moved {}", frac(cm));
        assert!(frac(ch) > 0.6, "modulo moved {}", frac(ch));
    }
}

#[test]
fn tight_health_checks_fail_over_fast_but_flap_and_patient_ones_flap_less_but_fail_over_late() {
    let p = preset("health-check-tuning");
    let (tight, patient) = run_both("health-check-tuning");
    let states = |w: &World, name: &str| {
        let b = backend(w, name);
        w.trace()
            .records()
            .filter_map(|r| match r.event {
                Event::HealthChanged { backend, state } if backend == b => Some((r.at, state)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Flaky B (three answers in ten are 500, /health included) flips at almost every failed
    // probe under fall 1 and rise 1; three failures in a row are rare, so under fall 3 it
    // barely moves.
    let (ft, fp) = (states(&tight, "B").len(), states(&patient, "B").len());
    assert!(
        ft >= 12 && ft >= 6 * fp.max(1),
        "B flipped {ft} times tight, {fp} patient"
    );
    // C crashes at 25 s: one timed-out probe takes it out under fall 1, three under fall 3.
    let health = p.scenario.balancer.health.clone().expect("a health check");
    let (interval, timeout) = (health.interval, health.check_timeout());
    let crash = Instant::from_secs(25);
    let detection = |w: &World| {
        common::transition(w, backend(w, "C"), HealthState::Down).expect("C goes down") - crash
    };
    let (dt, dp) = (detection(&tight), detection(&patient));
    assert!(dt <= interval + timeout, "tight: C down after {dt}");
    assert!(
        dp >= interval + interval + timeout,
        "patient: C down after {dp}"
    );
    assert!(dt + interval < dp, "{dt} vs {dp}");
    // Until then the proxy still sends C requests, which time out connecting (504).
    let (rt, rp) = (common::report(&tight), common::report(&patient));
    let timeouts = |r: &Report| r.requests.statuses.get(&504).copied().unwrap_or(0);
    assert!(
        timeouts(&rt) > 0 && timeouts(&rt) * 2 < timeouts(&rp),
        "504s: {} tight, {} patient",
        timeouts(&rt),
        timeouts(&rp)
    );
    // The moments: B is DOWN at the first (and comes back within a second), C is DOWN at
    // the last.
    let state_at = |changes: &[(Instant, HealthState)], t: Instant| {
        changes
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map_or(HealthState::Up, |c| c.1)
    };
    let (first, last) = (
        Instant::ZERO + p.moments[0].at,
        Instant::ZERO + p.moments[p.moments.len() - 1].at,
    );
    let b = states(&tight, "B");
    assert_eq!(state_at(&b, first), HealthState::Down, "{b:?}");
    assert_eq!(state_at(&b, first + interval), HealthState::Up, "{b:?}");
    assert_eq!(state_at(&states(&tight, "C"), last), HealthState::Down);
}

#[test]
fn l7_pays_a_parse_and_a_backend_connection_per_request_and_l4_neither() {
    let (l7, l4) = run_both("l7-costs-more");
    let (r7, r4) = (common::report(&l7), common::report(&l4));
    // The same traffic, served in full both ways, every cart kept (the sticky cookie at L7).
    assert_eq!(r7.requests.started, r4.requests.started);
    let requests = r7.requests.started;
    let visits = r7.sessions.as_ref().expect("visits").started;
    assert!(
        requests > 1_000 && requests == 4 * visits,
        "{requests} in {visits}"
    );
    for r in [&r7, &r4] {
        assert_eq!(outcome(r, Outcome::Ok), requests);
        let s = r.sessions.as_ref().unwrap();
        assert_eq!(s.kept, s.started, "{s:?}");
    }
    // CPU: at L7 one work item per request (reading and routing it); at L4 one per packet.
    let (b7, b4) = (r7.balancer.as_ref().unwrap(), r4.balancer.as_ref().unwrap());
    assert_eq!(b7.packets_processed, requests);
    assert!(
        b7.cpu_busy > 3.0 * b4.cpu_busy,
        "busy {} at L7, {} at L4",
        b7.cpu_busy,
        b4.cpu_busy
    );
    // Connections: the L7 balancer ends each visit's connection and opens one to a backend
    // per request; the L4 balancer holds none, and each visit's one connection reaches a
    // backend.
    let established = |w: &World, local: std::net::Ipv4Addr| {
        common::events(w, |e| match e {
            Event::Connection {
                host, local: l, to, ..
            } if *host == lbsim::sim::BALANCER
                && *l.ip() == local
                && *to == lbsim::trace::TcpState::Established =>
            {
                Some(())
            }
            _ => None,
        })
        .len() as u64
    };
    let spec = &preset("l7-costs-more").scenario.balancer;
    assert_eq!(established(&l7, spec.vip), visits, "from clients");
    assert_eq!(established(&l7, spec.inner), requests, "to backends");
    let at_balancer = |w: &World| {
        common::events(w, |e| match e {
            Event::Connection { host, .. } if *host == lbsim::sim::BALANCER => Some(()),
            _ => None,
        })
        .len()
    };
    assert_eq!(at_balancer(&l4), 0);
    let accepted = |r: &Report| r.backends.iter().map(|b| b.connections).sum::<u64>();
    assert_eq!(accepted(&r7), requests);
    assert_eq!(accepted(&r4), visits);
    // Upstream keep-alive is what makes the per-request connection go away.
    let kept = common::report(&run_patched(
        "l7-costs-more",
        json!({"balancer": {"l7": {"upstream_keep_alive": true}}}),
    ));
    assert_eq!(outcome(&kept, Outcome::Ok), requests);
    assert!(accepted(&kept) * 10 < requests, "{}", accepted(&kept));
}

#[test]
fn l4_holds_many_connections_in_table_entries_where_l7_holds_socket_buffers() {
    // Five seconds before the end: visits still arriving, about a thousand open.
    let p = preset("many-connections");
    let variant = p.compare_scenario().unwrap().unwrap();
    let at = p.scenario.duration - lbsim::time::Duration::from_secs(5);
    let (l4, l7) = (
        common::run_until(&p.scenario, at),
        common::run_until(&variant, at),
    );
    let (r4, r7) = (common::report(&l4), common::report(&l7));
    // The same visits, served in full both ways, every cart kept.
    assert_eq!(r4.requests.started, r7.requests.started);
    for r in [&r4, &r7] {
        assert_eq!(
            outcome(r, Outcome::Ok),
            r.requests.ended,
            "{:?}",
            r.requests
        );
        let s = r.sessions.as_ref().expect("visits");
        assert_eq!(s.lost_carts, 0, "{s:?}");
    }
    let (h4, h7) = (
        &r4.balancer.as_ref().unwrap().held,
        &r7.balancer.as_ref().unwrap().held,
    );
    // About a thousand visits open, each on one connection through the balancer.
    let open = r4.sessions.as_ref().unwrap().in_flight;
    assert!(open > 800, "{open} visits open");
    // (The L4 table also keeps closed flows for a few seconds.)
    for h in [h4, h7] {
        assert!(
            h.connections * 100 >= open * 95 && h.connections * 2 <= open * 3,
            "{} connections for {open} visits",
            h.connections
        );
    }
    // L4: a table entry each. L7: at least the client socket's two 16 KiB buffers each.
    assert_eq!(h4.bytes, h4.connections * lbsim::lb::l4::FLOW_BYTES as u64);
    assert!(h4.bytes < h4.connections * 256, "{h4:?}");
    assert!(h7.bytes >= h7.connections * 32 * 1024, "{h7:?}");
    assert!(h7.bytes > 100 * h4.bytes, "{h7:?} against {h4:?}");
}

#[test]
fn draining_lets_open_visits_finish_and_removing_cuts_them() {
    let (drain, remove) = run_both("connection-draining");
    let change = Instant::from_secs(10);
    // For each request: when it started, on which backend its connection is, when it ended
    // and how.
    struct Req {
        started: Instant,
        backend: HostId,
        ended: Instant,
        outcome: Outcome,
    }
    let requests = |w: &World| {
        // A request starts before its connection's SYN reaches the balancer: flows first.
        let flows: BTreeMap<_, _> = common::events(w, |e| match e {
            Event::FlowStarted {
                client, backend, ..
            } => Some((*client, *backend)),
            _ => None,
        })
        .into_iter()
        .collect();
        let mut started = BTreeMap::new();
        let mut out = Vec::new();
        for rec in w.trace().records() {
            match &rec.event {
                Event::RequestStarted { request, local, .. } => {
                    started.insert(*request, (rec.at, flows[local]));
                }
                Event::RequestEnded {
                    request, outcome, ..
                } => {
                    let (at, backend) = started[request];
                    out.push(Req {
                        started: at,
                        backend,
                        ended: rec.at,
                        outcome: *outcome,
                    });
                }
                _ => {}
            }
        }
        out
    };
    for w in [&drain, &remove] {
        let b = backend(w, "B");
        let flows = |early: bool| {
            w.trace()
                .records()
                .filter(|r| matches!(r.event, Event::FlowStarted { backend, .. } if backend == b))
                .filter(|r| (r.at < change) == early)
                .count()
        };
        assert!(flows(true) >= 10, "B had visits before");
        assert_eq!(flows(false), 0, "no new connection to B after the change");
    }
    // Drained: every request succeeds, those B had in hand at 10 s included, and B finishes
    // every visit it began (four requests per connection).
    let rd = common::report(&drain);
    assert_eq!(outcome(&rd, Outcome::Ok), rd.requests.started);
    let b = backend(&drain, "B");
    let open: Vec<Req> = requests(&drain)
        .into_iter()
        .filter(|q| q.backend == b && q.ended > change)
        .collect();
    assert!(open.len() >= 20, "B's requests after 10 s: {}", open.len());
    assert!(open.iter().all(|q| q.outcome == Outcome::Ok));
    assert!(
        open.iter().any(|q| q.started < change),
        "one in hand at 10 s"
    );
    let bd = rd.backends.iter().find(|x| x.name == "B").unwrap();
    assert_eq!(bd.requests, 4 * bd.connections, "{bd:?}");
    let s = rd.sessions.as_ref().unwrap();
    assert_eq!(s.kept, s.started, "{s:?}");
    // "B's last visit has ended" by the second moment.
    let idle = Instant::ZERO + preset("connection-draining").moments[1].at;
    assert!(open.iter().all(|q| q.ended < idle));
    // Removed: B's visits are cut. Answers on their way are lost (timeouts); the next request
    // on a cut connection meets the balancer's reset. Nothing fails anywhere else.
    let rr = common::report(&remove);
    let (resets, timeouts) = (outcome(&rr, Outcome::Reset), outcome(&rr, Outcome::Timeout));
    assert!(
        resets >= 4 && timeouts >= 4,
        "{resets} resets, {timeouts} timeouts"
    );
    let b = backend(&remove, "B");
    let failed: Vec<Req> = requests(&remove)
        .into_iter()
        .filter(|q| q.outcome != Outcome::Ok)
        .collect();
    assert_eq!(
        failed.len() as u64,
        rr.requests.started - outcome(&rr, Outcome::Ok)
    );
    assert!(failed.iter().all(|q| q.backend == b && q.ended > change));
    let s = rr.sessions.as_ref().unwrap();
    assert!(s.abandoned >= 8, "{s:?}");
    let br = rr.backends.iter().find(|x| x.name == "B").unwrap();
    assert!(br.requests < 4 * br.connections, "{br:?}");
}

#[test]
fn retries_hide_refusals_and_outlier_ejection_takes_a_backend_answering_500_out() {
    let (with, without) = run_both("retries-and-outliers");
    let (rw, ro) = (common::report(&with), common::report(&without));
    assert_eq!(rw.requests.started, ro.requests.started, "the same traffic");
    let errors = |r: &Report| r.requests.started - outcome(r, Outcome::Ok);
    assert!(
        errors(&rw) * 5 < errors(&ro),
        "{} errors with, {} without",
        errors(&rw),
        errors(&ro)
    );
    let status = |r: &Report, s: u16| r.requests.statuses.get(&s).copied().unwrap_or(0);
    // Without either, from 5 s on C's quarter fails with 502 and D's with 500.
    for s in [500, 502] {
        assert!(
            status(&ro, s) * 5 > ro.requests.started,
            "{s}: {}",
            status(&ro, s)
        );
    }
    let proxy = |r: &Report| r.balancer.as_ref().unwrap().proxy.clone().expect("L7");
    let (pw, po) = (proxy(&rw), proxy(&ro));
    assert_eq!((po.retries, po.ejections), (0, 0));
    // Retries: every GET that C refused went to another backend; the 502s left are POSTs.
    assert!(pw.retries > 100, "{} retries", pw.retries);
    let mut methods = BTreeMap::new();
    let mut refused_posts = 0;
    for rec in with.trace().records() {
        match &rec.event {
            Event::ProxyRequest { conn, route, .. } => {
                methods.insert(*conn, route.method.clone());
            }
            Event::ProxyResponse {
                conn, status: 502, ..
            } => {
                assert_eq!(methods[conn], "POST", "only POSTs are left with 502");
                refused_posts += 1;
            }
            _ => {}
        }
    }
    assert!(refused_posts > 0 && refused_posts == status(&rw, 502));
    // Outlier ejection: D, answering 500, is ejected after five in a row, again after each
    // ejection ends; C, which refuses rather than answers, never is.
    let d = backend(&with, "D");
    let ejected: Vec<(Instant, HostId)> = with
        .trace()
        .records()
        .filter_map(|r| match r.event {
            Event::BackendEjected { backend, .. } => Some((r.at, backend)),
            _ => None,
        })
        .collect();
    assert!(ejected.len() >= 2, "{ejected:?}");
    assert!(ejected.iter().all(|&(_, b)| b == d), "never C: {ejected:?}");
    assert_eq!(pw.ejections, ejected.len() as u64);
    let p = preset("retries-and-outliers");
    let outlier = p.scenario.balancer.l7.outlier.expect("outlier detection");
    // Ejected within a second of the fault; the second moment finds the ejection over and
    // D ejected again soon after.
    let fault = Instant::from_secs(5);
    assert!(ejected[0].0 > fault && ejected[0].0 < fault + Duration::from_secs(1));
    let back = Instant::ZERO + p.moments[1].at;
    assert!(ejected[0].0 + outlier.ejection <= back && back < ejected[1].0);
    assert!(ejected[1].0 < back + Duration::from_secs(1), "{ejected:?}");
    assert!(
        status(&rw, 500) <= u64::from(outlier.consecutive_5xx) * pw.ejections,
        "{} 500s for {} ejections",
        status(&rw, 500),
        pw.ejections
    );
}

#[test]
fn every_lesson_has_a_teaching_moment_within_its_run_and_a_speed_to_reach_it() {
    for p in presets::all() {
        assert!(!p.moments.is_empty(), "{}: a moment", p.name);
        assert!(
            p.moments.iter().any(|m| m.pause) || p.name == presets::DEFAULT,
            "{}: a moment that pauses (the playground only captions)",
            p.name
        );
        assert!(
            p.moments.windows(2).all(|w| w[0].at < w[1].at),
            "{}: moments in order",
            p.name
        );
        for m in &p.moments {
            assert!(
                m.at <= p.scenario.duration,
                "{}: {} in the run",
                p.name,
                m.at
            );
            assert!(!m.caption.is_empty());
        }
        // The first moment is reached within 30 s of wall time at the lesson's speed.
        let first = p.moments[0].at.as_secs_f64();
        assert!(
            first / p.speed < 25.0,
            "{}: {first} s at {}× is too far",
            p.name,
            p.speed
        );
    }
}

#[test]
fn the_moments_say_what_the_run_shows_then() {
    // "Three failed probes later B is DOWN", "C is DOWN and the errors stop".
    for (name, which, moment) in [("tcp-check-crash", "B", 1), ("app-500", "C", 1)] {
        let p = preset(name);
        let w = common::run(&p.scenario);
        let at = Instant::ZERO + p.moments[moment].at;
        let down = common::transition(&w, backend(&w, which), HealthState::Down)
            .expect("the backend goes down");
        assert!(down <= at, "{name}: down at {down}, the moment at {at}");
    }
}

#[test]
fn every_lesson_and_its_variant_fit_side_by_side_in_the_memory_budget() {
    // Compare mode runs a lesson beside its own variant, or beside itself with another
    // algorithm.
    for p in presets::all() {
        let one = p.scenario.memory_estimate().total();
        let mut need = 2 * one;
        if let Some(variant) = p.compare_scenario() {
            need = need.max(one + variant.expect("valid variant").memory_estimate().total());
        }
        assert!(
            need <= lbsim::scenario::MEMORY_BUDGET,
            "{}: {} MiB",
            p.name,
            need >> 20
        );
    }
}
