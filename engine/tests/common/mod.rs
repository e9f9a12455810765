//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

pub mod arbitrary;

use lbsim::report::Report;
use lbsim::scenario::Scenario;
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::trace::{Event, Record};

/// Parses and validates a scenario, panicking with the problems.
pub fn scenario(json: &str) -> Scenario {
    Scenario::from_json(json).unwrap_or_else(|e| panic!("test scenario is invalid:\n{e}"))
}

/// The standard scenario shipped with the engine.
pub fn standard() -> Scenario {
    scenario(include_str!("../../scenarios/standard.json"))
}

/// Builds a world keeping every record, and runs it until it settles.
pub fn run(s: &Scenario) -> World {
    let mut w = World::with_trace_capacity(s, 10_000_000);
    let end = w.settle_time();
    w.run_until(end);
    w
}

/// Runs a world until `t`.
pub fn run_until(s: &Scenario, t: Duration) -> World {
    let mut w = World::with_trace_capacity(s, 10_000_000);
    w.run_until(Instant::ZERO + t);
    w
}

/// The world's report.
pub fn report(w: &World) -> Report {
    Report::of(w)
}

/// When `backend` first entered health `state`.
pub fn transition(
    w: &World,
    backend: lbsim::ids::HostId,
    state: lbsim::health::HealthState,
) -> Option<Instant> {
    w.trace().records().find_map(|r| match r.event {
        Event::HealthChanged {
            backend: b,
            state: s,
        } if b == backend && s == state => Some(r.at),
        _ => None,
    })
}

/// Every record of kind matching `f`.
pub fn events<'a, T>(w: &'a World, f: impl Fn(&'a Event) -> Option<T>) -> Vec<T> {
    w.trace()
        .records()
        .filter_map(|r: &Record| f(&r.event))
        .collect()
}
