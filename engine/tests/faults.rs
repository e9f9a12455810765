//! Each fault mode produces what a client would really see.

mod common;

use lbsim::report::Report;
use lbsim::scenario::{Command, Fault};
use lbsim::time::Instant;
use lbsim::trace::{DropReason, Event, Outcome};

/// One backend with `fault` from the start; 40 requests at 20/s; 1 s client timeout.
fn with_fault(fault: &str) -> Report {
    let s = common::scenario(&format!(
        r#"{{
        "version": 1, "duration": "2s", "seed": 3,
        "backends": [{{"name": "A", "address": "10.0.0.11", "fault": {fault},
                       "service": {{"constant": "20ms"}}}}],
        "clients": [{{"name": "c", "count": 4, "target": "10.0.0.11:80", "rate": 20,
                      "arrivals": "constant", "timeout": "1s",
                      "mix": [{{"weight": 3, "request": {{"path": "/"}}}},
                              {{"weight": 1, "request": {{"path": "/health"}}}}]}}]
    }}"#
    ));
    common::report(&common::run(&s))
}

fn outcome(r: &Report, o: Outcome) -> u64 {
    r.requests.outcomes[o.name()]
}

#[test]
fn healthy_backend_answers_everything() {
    let r = with_fault(r#""none""#);
    assert_eq!(r.requests.started, 39);
    assert_eq!(outcome(&r, Outcome::Ok), 39);
}

#[test]
fn crashed_host_is_silent_so_clients_time_out() {
    let r = with_fault(r#""crash""#);
    assert_eq!(outcome(&r, Outcome::Timeout), r.requests.started);
    assert!(
        r.packets.dropped_by_reason["host_down"] > 0,
        "SYNs vanish at the dead host"
    );
    assert_eq!(r.backends[0].connections, 0);
}

#[test]
fn closed_port_refuses_connections() {
    let r = with_fault(r#""port_closed""#);
    assert_eq!(outcome(&r, Outcome::Refused), r.requests.started);
    // Refused at once: one round trip, not a timeout.
    assert!(r.latency.count == 0);
}

#[test]
fn app_errors_answer_500_everywhere_including_health() {
    let r = with_fault(r#""app_errors""#);
    assert_eq!(outcome(&r, Outcome::HttpError), r.requests.started);
    assert_eq!(r.requests.statuses.get(&500), Some(&r.requests.started));
    assert_eq!(r.backends[0].connections, r.requests.started, "TCP is fine");
}

#[test]
fn slow_multiplies_service_time() {
    let fast = with_fault(r#""none""#);
    let slow = with_fault(r#"{"slow": {"factor": 10}}"#);
    assert_eq!(outcome(&slow, Outcome::Ok), slow.requests.started);
    let p50 = |r: &Report| r.latency.p50_ms.unwrap();
    // 20 ms of service becomes 200 ms: the median grows by about 180 ms.
    let grown = p50(&slow) - p50(&fast);
    assert!(
        (170.0..=190.0).contains(&grown),
        "median grew by {grown} ms"
    );
}

#[test]
fn hang_accepts_but_never_answers() {
    let r = with_fault(r#""hang""#);
    assert_eq!(outcome(&r, Outcome::Timeout), r.requests.started);
    assert_eq!(
        r.backends[0].connections, r.requests.started,
        "the handshake completes"
    );
    assert_eq!(r.backends[0].requests, 0, "no answer is ever sent");
}

#[test]
fn flaky_fails_about_the_given_share() {
    let s = common::scenario(
        r#"{
        "version": 1, "duration": "20s", "seed": 5,
        "backends": [{"name": "A", "address": "10.0.0.11", "fault": {"flaky": {"probability": 0.3}}}],
        "clients": [{"name": "c", "count": 4, "target": "10.0.0.11:80", "rate": 50}]
    }"#,
    );
    let r = common::report(&common::run(&s));
    let share = outcome(&r, Outcome::HttpError) as f64 / r.requests.ended as f64;
    assert!((0.26..=0.34).contains(&share), "500 share {share}");
    assert_eq!(
        outcome(&r, Outcome::HttpError) + outcome(&r, Outcome::Ok),
        r.requests.ended
    );
}

#[test]
fn closing_the_port_resets_established_connections() {
    // Requests hang, then the port closes: the connections that were waiting are reset.
    let s = common::scenario(
        r#"{
        "version": 1, "duration": "1s",
        "backends": [{"name": "A", "address": "10.0.0.11", "fault": "hang"}],
        "clients": [{"name": "c", "count": 2, "target": "10.0.0.11:80", "rate": 10, "timeout": "5s", "stop": "600ms"}],
        "timeline": [{"at": "800ms", "action": {"set_fault": {"backend": "A", "fault": "port_closed"}}}]
    }"#,
    );
    let r = common::report(&common::run(&s));
    assert!(r.requests.started > 0);
    assert_eq!(outcome(&r, Outcome::Reset), r.requests.started);
}

#[test]
fn a_crash_loses_the_servers_memory_and_recovery_serves_again() {
    let s = common::scenario(
        r#"{
        "version": 1, "duration": "6s",
        "backends": [{"name": "A", "address": "10.0.0.11"}],
        "clients": [{"name": "c", "count": 2, "target": "10.0.0.11:80", "rate": 4, "arrivals": "constant",
                     "timeout": "1s", "mix": [{"cart": {"adds": 2, "think": "100ms"}}]}]
    }"#,
    );
    let mut w = lbsim::sim::World::with_trace_capacity(&s, 1_000_000);
    w.run_until(Instant::from_millis(1_600));
    let held = w.hosts()[1].sessions;
    assert!(held > 0, "carts are in the server's memory");
    w.apply(Command::SetFault {
        backend: "A".into(),
        fault: Fault::Crash,
    })
    .unwrap();
    assert_eq!(w.hosts()[1].sessions, 0, "a crash loses them");
    assert!(!w.hosts()[1].up);
    w.run_until(Instant::from_millis(3_000));
    w.apply(Command::SetFault {
        backend: "A".into(),
        fault: Fault::None,
    })
    .unwrap();
    let end = w.settle_time();
    w.run_until(end);
    let r = common::report(&w);
    let ended_ok_after_recovery = common::events(&w, |e| match e {
        Event::RequestEnded {
            outcome: Outcome::Ok,
            ..
        } => Some(()),
        _ => None,
    })
    .len();
    assert!(
        outcome(&r, Outcome::Timeout) > 0,
        "requests during the crash time out"
    );
    assert!(
        ended_ok_after_recovery > 10,
        "the recovered server answers again"
    );
    let faults = common::events(&w, |e| match e {
        Event::FaultSet { fault, .. } => Some(*fault),
        _ => None,
    });
    assert_eq!(faults, vec![Fault::Crash, Fault::None]);
    let drops = common::events(&w, |e| match e {
        Event::PacketDropped {
            reason: DropReason::HostDown,
            ..
        } => Some(()),
        _ => None,
    });
    assert!(!drops.is_empty());
}

#[test]
fn unknown_backend_is_an_error_not_a_panic() {
    let s = common::scenario(
        r#"{"version": 1, "duration": "1s", "backends": [{"name": "A", "address": "10.0.0.11"}]}"#,
    );
    let mut w = lbsim::sim::World::new(&s);
    let e = w
        .apply(Command::SetFault {
            backend: "Z".into(),
            fault: Fault::Crash,
        })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "backend is \"Z\", which is not in the pool at that time"
    );
}
