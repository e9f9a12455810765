//! Whole-world throughput: simulated packets per wall-clock second for the standard scenario
//! (50 clients, 4 backends, about 10,000 requests), run from start until it settles.
//!
//! `cargo bench -p lbsim --bench world`. A packet here is one transmission over one link (what
//! the trace records and the view draws): a packet the router forwards counts once per link.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use lbsim::scenario::Scenario;
use lbsim::sim::World;

fn standard() -> Scenario {
    Scenario::from_json(include_str!("../scenarios/standard.json")).expect("valid")
}

fn run(s: &Scenario, trace_capacity: usize) -> u64 {
    let mut w = World::with_trace_capacity(s, trace_capacity);
    let end = w.settle_time();
    w.run_until(end);
    w.metrics().packets.sent
}

fn world(c: &mut Criterion) {
    let s = standard();
    let packets = run(&s, 0);
    let mut group = c.benchmark_group("standard scenario");
    group.sample_size(10);
    group.throughput(Throughput::Elements(packets));
    // The ring size the browser view keeps, and none (the CLI keeps 1,024).
    group.bench_function("trace ring 50k", |b| b.iter(|| run(&s, 50_000)));
    group.bench_function("trace ring 1k", |b| b.iter(|| run(&s, 1_024)));
    group.finish();
}

criterion_group!(benches, world);
criterion_main!(benches);
