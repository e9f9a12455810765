//! Resident memory across 10 simulated minutes at 1,000 requests per second: the standard
//! topology (50 clients, 4 backends) with the rate raised and the duration stretched.
//!
//! `cargo bench -p lbsim --bench memory`. Prints the process's resident set size (VmRSS, Linux)
//! at each simulated minute; a flat column means traces, connection tables and histograms are
//! bounded. Requires /proc (Linux).
//!
//! `cargo bench -p lbsim --bench memory -- 10000` instead runs 10,000 clients (from
//! 100.64.0.1) at 16,000 requests per second through an L4 NAT balancer and 64 backends
//! (`engine/scenarios/l4-nat.json` scaled up) for 10 simulated seconds, and prints the resident
//! size at each second; `-- 10000 minutes` runs them at 1,000 requests per second for 10
//! simulated minutes and prints the resident size at each minute.
//!
//! `cargo bench -p lbsim --bench memory -- 50000` runs `engine/scenarios/fifty-thousand.json`
//! (50,000 TCP connections open at once through the L4 balancer) and prints the connections
//! open and the resident size at each second: what [`lbsim::scenario::HOST_MEMORY`] and
//! [`lbsim::scenario::CONNECTION_MEMORY`] are measured from.

use lbsim::scenario::Scenario;
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line")
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("memory: bench");
        return;
    }
    if std::env::args().any(|a| a == "10000") {
        if std::env::args().any(|a| a == "minutes") {
            return ten_thousand_clients_for_ten_minutes();
        }
        return ten_thousand_clients();
    }
    if std::env::args().any(|a| a == "50000") {
        return fifty_thousand_connections();
    }
    let mut s = Scenario::from_json(include_str!("../scenarios/standard.json")).expect("valid");
    s.duration = Duration::from_secs(600);
    for g in &mut s.clients {
        g.rate = 250.0; // four groups: 1,000 requests per second in all
    }
    let mut w = World::new(&s);
    println!("simulated minute | requests ended | packets sent | events in ring | RSS (MiB)");
    let started = std::time::Instant::now();
    for minute in 1..=10 {
        w.run_until(Instant::from_secs(60 * minute));
        println!(
            "{minute:>16} | {:>14} | {:>12} | {:>14} | {:>9.1}",
            w.metrics().requests.ended(),
            w.metrics().packets.sent,
            w.trace().records().len(),
            rss_kib() as f64 / 1024.0
        );
    }
    println!("wall time {:.1} s", started.elapsed().as_secs_f64());
}

/// `engine/scenarios/l4-nat.json` with 10,000 clients (from 100.64.0.1) and 64 backends.
fn ten_thousand_clients_through_64_backends() -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../scenarios/l4-nat.json")).expect("JSON");
    let template = v["backends"][0].clone();
    v["backends"] = (0..64)
        .map(|i| {
            let mut b = template.clone();
            b["name"] = format!("B{i}").into();
            b["address"] = format!("10.0.0.{}", 11 + i).into();
            // Far above the two dozen connections each holds at once at this rate, and within
            // the memory budget for 64 backends.
            b["max_connections"] = 64.into();
            b
        })
        .collect();
    v["clients"][0]["count"] = 10_000.into();
    v["clients"][0]["first_address"] = "100.64.0.1".into();
    v
}

fn ten_thousand_clients() {
    let mut v = ten_thousand_clients_through_64_backends();
    v["duration"] = "10s".into();
    v["clients"][0]["rate"] = 16_000.into();
    let s = Scenario::from_json(&v.to_string()).expect("valid");
    let mut w = World::with_trace_capacity(&s, 1024);
    println!("built: RSS {:.1} MiB", rss_kib() as f64 / 1024.0);
    println!(
        "simulated second | requests ended | packets sent | sockets open (clients, backends) \
         | sockets allocated (clients, backends) | flows | RSS (MiB)"
    );
    for second in 1..=10 {
        w.run_until(Instant::from_secs(second));
        let (mut open, mut allocated) = ([0usize; 2], [0u64; 2]);
        for h in w.hosts() {
            let side = usize::from(h.role != lbsim::sim::Role::Client);
            open[side] += w.socket_count(h.id);
            allocated[side] += w.sockets_allocated(h.id);
        }
        println!(
            "{second:>16} | {:>14} | {:>12} | {:>7}, {:>7} | {:>7}, {:>7} | {:>6} | {:>9.1}",
            w.metrics().requests.ended(),
            w.metrics().packets.sent,
            open[0],
            open[1],
            allocated[0],
            allocated[1],
            w.balancer().flows(),
            rss_kib() as f64 / 1024.0
        );
    }
}

/// The 10,000 clients at 1,000 requests per second for 10 simulated minutes, the resident
/// size at each minute: flat once the flow table and the spare sockets have filled.
fn ten_thousand_clients_for_ten_minutes() {
    let mut v = ten_thousand_clients_through_64_backends();
    v["duration"] = "600s".into();
    v["clients"][0]["rate"] = 1_000.into();
    let s = Scenario::from_json(&v.to_string()).expect("valid");
    let started = std::time::Instant::now();
    let mut w = World::with_trace_capacity(&s, 1024);
    println!("built: RSS {:.1} MiB", rss_kib() as f64 / 1024.0);
    println!("simulated minute | requests ended | packets sent | flows | RSS (MiB)");
    for minute in 1..=10 {
        w.run_until(Instant::from_secs(60 * minute));
        println!(
            "{minute:>16} | {:>14} | {:>12} | {:>6} | {:>9.1}",
            w.metrics().requests.ended(),
            w.metrics().packets.sent,
            w.balancer().flows(),
            rss_kib() as f64 / 1024.0
        );
    }
    println!("wall time {:.1} s", started.elapsed().as_secs_f64());
}

/// 10,000 clients open 5,000 kept-alive visits a second (two adds and a checkout, 10 s of
/// thought between requests) with 1 KiB socket buffers, through the L4 NAT balancer to 64
/// backends: after 11 simulated seconds over 50,000 TCP connections are open at once. Prints
/// the open connections, flows and resident size at each second.
fn fifty_thousand_connections() {
    let s = Scenario::from_json(include_str!("../scenarios/fifty-thousand.json")).expect("valid");
    let started = std::time::Instant::now();
    let mut w = World::with_trace_capacity(&s, 1024);
    println!("built: RSS {:.1} MiB", rss_kib() as f64 / 1024.0);
    println!(
        "simulated second | requests ended | packets sent | client connections open | flows \
         | RSS (MiB)"
    );
    for second in 1..=s.duration.as_secs_f64() as u64 {
        w.run_until(Instant::from_secs(second));
        let (open, _) = w.sockets_of(lbsim::sim::Role::Client);
        println!(
            "{second:>16} | {:>14} | {:>12} | {:>23} | {:>6} | {:>9.1}",
            w.metrics().requests.ended(),
            w.metrics().packets.sent,
            open,
            w.balancer().flows(),
            rss_kib() as f64 / 1024.0
        );
    }
    println!("wall time {:.1} s", started.elapsed().as_secs_f64());
}
