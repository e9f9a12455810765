//! Resident memory across 10 simulated minutes at 1,000 requests per second: the standard
//! topology (50 clients, 4 backends) with the rate raised and the duration stretched.
//!
//! `cargo bench -p lbsim --bench memory`. Prints the process's resident set size (VmRSS, Linux)
//! at each simulated minute; a flat column means traces, connection tables and histograms are
//! bounded. Requires /proc (Linux).

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
