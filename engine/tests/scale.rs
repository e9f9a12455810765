//! Scale: ten thousand clients fit in one world and are served; more hosts than the memory
//! budget allows are refused with a message that says why.

mod common;

use lbsim::scenario::{Scenario, MAX_HOSTS};
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
