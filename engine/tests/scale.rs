//! Scale: ten thousand clients fit in one world and are served; more hosts than the memory
//! budget allows are refused with a message that says why.

mod common;

use lbsim::scenario::{Scenario, MAX_HOSTS};
use lbsim::sim::Role;
use lbsim::time::Duration;

/// The L4 NAT reference scenario with `clients` clients (from 100.64.0.1) and 16 backends.
fn many_clients(clients: u32) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../scenarios/l4-nat.json")).expect("JSON");
    let template = v["backends"][0].clone();
    v["backends"] = (0..16)
        .map(|i| {
            let mut b = template.clone();
            b["name"] = format!("B{i}").into();
            b["address"] = format!("10.0.0.{}", 11 + i).into();
            b
        })
        .collect();
    v["clients"][0]["count"] = clients.into();
    v["clients"][0]["rate"] = 4000.into();
    v["clients"][0]["first_address"] = "100.64.0.1".into();
    v.to_string()
}

#[test]
fn ten_thousand_clients_are_served_through_the_l4_balancer() {
    let s = common::scenario(&many_clients(10_000));
    let w = common::run_until(&s, Duration::from_millis(500));
    let r = w.metrics();
    assert!(
        r.requests.ended() > 1000,
        "{} requests ended",
        r.requests.ended()
    );
    assert_eq!(
        r.packets.dropped_total(),
        0,
        "no packet dropped at this load"
    );
}

#[test]
fn more_hosts_than_memory_allows_are_refused_with_the_reason() {
    const { assert!(MAX_HOSTS >= 10_000) };
    let err = Scenario::from_json(&many_clients(MAX_HOSTS + 1))
        .expect_err("one host too many")
        .to_string();
    assert!(
        err.contains(&format!("at most {MAX_HOSTS} hosts")) && err.contains("MiB"),
        "{err}"
    );
}

const FIFTY_THOUSAND: &str = include_str!("../scenarios/fifty-thousand.json");

#[test]
fn fifty_thousand_connections_are_open_at_once_through_the_l4_balancer() {
    let s = common::scenario(FIFTY_THOUSAND);
    assert!(s.memory_estimate().total() <= lbsim::scenario::MEMORY_BUDGET);
    let w = common::run_until(&s, s.duration);
    let (client_sockets, client_buffers) = w.sockets_of(Role::Client);
    let (backend_sockets, _) = w.sockets_of(Role::Backend);
    let flows = w.balancer().flows();
    assert!(client_sockets >= 50_000, "{client_sockets} client sockets");
    assert!(
        backend_sockets >= 50_000,
        "{backend_sockets} backend sockets"
    );
    assert!(flows >= 50_000, "{flows} flows");
    // Every connection is a visit's, and every request that ended was answered.
    let m = w.metrics();
    assert_eq!(m.packets.dropped_total(), 0);
    let r = common::report(&w);
    let ok = r.requests.outcomes.get("ok").copied().unwrap_or(0);
    assert_eq!(ok, r.requests.ended, "{:?}", r.requests.outcomes);
    // The buffers the scenario sets are what the stacks hold: 1.5 KiB a client socket.
    assert_eq!(client_buffers, client_sockets * 1536);
}

#[test]
fn connections_beyond_memory_are_refused_with_the_reason() {
    let mut v: serde_json::Value = serde_json::from_str(FIFTY_THOUSAND).expect("JSON");
    for b in v["backends"].as_array_mut().unwrap() {
        b["max_connections"] = 4096.into();
    }
    let err = Scenario::from_json(&v.to_string())
        .expect_err("262,144 connections do not fit")
        .to_string();
    assert!(
        err.contains("backends") && err.contains("max_connections") && err.contains("512 MiB"),
        "{err}"
    );
    // As many as the scenario allows fit.
    for b in v["backends"].as_array_mut().unwrap() {
        b["max_connections"] = 900.into();
    }
    Scenario::from_json(&v.to_string()).expect("fits again");
}

/// The L4 NAT reference scenario in `mode` with `backends` default backends.
fn with_backends(mode: &str, backends: u32) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../scenarios/l4-nat.json")).expect("JSON");
    v["balancer"]["mode"] = mode.into();
    v["backends"] = (0..backends)
        .map(|i| serde_json::json!({"name": format!("B{i}"), "address": format!("10.0.0.{}", 11 + i)}))
        .collect();
    v.to_string()
}

#[test]
fn how_many_default_backends_fit_follows_from_their_connections() {
    // A default backend accepts 256 connections: 13.75 MiB of them at L4 (both ends' buffers
    // and state) beside a full flow table, 29.75 MiB at L7 (the proxy's two sockets too).
    for (mode, most) in [("l4_nat", 33), ("l7", 17)] {
        Scenario::from_json(&with_backends(mode, most))
            .unwrap_or_else(|e| panic!("{most} backends fit at {mode}: {e}"));
        let err = Scenario::from_json(&with_backends(mode, most + 1))
            .expect_err("one more does not")
            .to_string();
        assert!(err.contains("max_connections"), "{err}");
    }
}
