//! Scaling: simulated packets per wall-clock second as clients, backends and the request rate
//! grow, for the layer-4 NAT balancer and the layer-7 proxy (issue 15).
//!
//! `cargo bench -p lbsim --bench scaling` prints one Markdown table. Each row is
//! `engine/scenarios/l4-nat.json` with its client count, backend count (copies of its backend,
//! each with 4 workers and 3 ms mean service time), request rate and mode changed, run for 5
//! simulated seconds with the CLI's 1,024-event trace ring; the figure is the median of
//! `SAMPLES` runs (default 3), after one untimed simulated second of the row (`warm_up`).
//! Arguments filter the rows: `-- l4` or `-- l7` keeps one mode; `-- both` runs only the rows
//! the wasm bench runs too (`benches/wasm_world.rs`); `-- l4_nat/10000/64/16000`
//! (mode/clients/backends/rate) runs one row, to profile it.
//! The cost per packet (ns) is the one to compare between rows: it should not grow with the
//! number of open connections. Nothing here is asserted.

use std::time::Instant as WallClock;

use lbsim::scenario::Scenario;

#[path = "common/scaling.rs"]
mod rows;
use lbsim::sim::World;
use lbsim::time::Instant;
use rows::{scenario, Row};

/// Runs a row once: (packets sent, wall seconds).
fn run(s: &Scenario) -> (u64, f64) {
    let started = WallClock::now();
    let mut w = World::with_trace_capacity(s, 1024);
    w.run_until(Instant::from_secs(5));
    (w.metrics().packets.sent, started.elapsed().as_secs_f64())
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.iter().any(|a| a == "--list") {
        println!("scaling: bench");
        return;
    }
    let samples: usize = std::env::var("SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let mut rows: Vec<Row> = Vec::new();
    for mode in ["l4_nat", "l7"] {
        for backends in [4, 16, 64] {
            rows.push((mode, 50, backends, 1000));
        }
        for rate in [4000, 16000] {
            rows.push((mode, 500, 64, rate));
        }
        for clients in [5000, 10000] {
            rows.push((mode, clients, 64, 16000));
        }
        rows.push((mode, 50, 4, 4000));
    }
    if args.iter().any(|a| a == "both") {
        // The rows the wasm bench runs too (`benches/wasm_world.rs`).
        rows = rows::BOTH.to_vec();
    }
    rows.retain(|&(mode, clients, backends, rate)| {
        let name = format!("{mode}/{clients}/{backends}/{rate}");
        args.is_empty()
            || args
                .iter()
                .any(|a| a == "both" || mode.starts_with(a) || name == *a)
    });
    println!("| mode | clients | backends | requests/s | packets | median wall | packets per wall second | ns per packet |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for row in &rows {
        let s = scenario(row);
        rows::warm_up(&s);
        let mut times = Vec::new();
        let mut packets = 0;
        for _ in 0..samples.max(1) {
            let (p, t) = run(&s);
            packets = p;
            times.push(t);
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let (mode, clients, backends, rate) = row;
        println!(
            "| {mode} | {clients} | {backends} | {rate} | {packets} | {median:.2} s | {:.0} | {:.0} |",
            packets as f64 / median,
            median * 1e9 / packets as f64
        );
    }
}
