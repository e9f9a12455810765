//! The scaling bench's rows, shared by the native bench (`engine/benches/scaling.rs`) and the
//! wasm one in Chromium (`benches/wasm_world.rs`), so that both run the same worlds.

use lbsim::scenario::Scenario;
use lbsim::sim::World;
use lbsim::time::Instant;

/// One row: mode, clients, backends, requests per second.
pub type Row = (&'static str, u32, u32, u32);

/// The rows run in both native code and wasm, to compare the two on the same worlds.
pub const BOTH: [Row; 6] = [
    ("l4_nat", 50, 4, 1000),
    ("l4_nat", 50, 4, 4000),
    ("l4_nat", 500, 64, 4000),
    ("l4_nat", 10000, 64, 16000),
    ("l7", 50, 4, 1000),
    ("l7", 50, 4, 4000),
];

/// The scenario of a row.
pub fn scenario(&(mode, clients, backends, rate): &Row) -> Scenario {
    let mut v: serde_json::Value =
        serde_json::from_str(include_str!("../../scenarios/l4-nat.json")).expect("JSON");
    v["duration"] = "5s".into();
    v["balancer"]["mode"] = mode.into();
    let template = v["backends"][0].clone();
    v["backends"] = (0..backends)
        .map(|i| {
            let mut b = template.clone();
            b["name"] = format!("B{i}").into();
            b["address"] = format!("10.0.{}.{}", i / 250, 11 + i % 250).into();
            // 2,048 connections over the pool: far above what these rates keep open at once,
            // and within the memory a world may use however many backends there are.
            b["max_connections"] = (2048 / backends).min(1024).into();
            b
        })
        .collect();
    let group = &mut v["clients"][0];
    group["count"] = clients.into();
    group["rate"] = rate.into();
    if clients > 700 {
        // More than the documentation ranges hold: shared address space (RFC 6598).
        group["first_address"] = "100.64.0.1".into();
    }
    Scenario::from_json(&v.to_string()).expect("a valid scenario")
}

/// Runs a row for one simulated second, untimed, before its timed runs. In Chromium, V8 first
/// compiles wasm with its baseline compiler and optimizes a function only once it is hot, so
/// without this the first row timed would pay for compilation; natively the same run warms the
/// allocator, so that both sides are measured alike.
pub fn warm_up(s: &Scenario) {
    let mut w = World::with_trace_capacity(s, 1024);
    w.run_until(Instant::from_secs(1));
}
