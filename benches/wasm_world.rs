//! Whole-world throughput in wasm, in headless Chromium: the same scenarios as the native
//! benches (`engine/benches/world.rs`, `engine/benches/l4.rs`), so the two compare.
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! CHROMEDRIVER=/usr/bin/chromedriver \
//!   cargo bench -p traffic-cop --target wasm32-unknown-unknown --bench wasm_world
//! ```
#![cfg(target_arch = "wasm32")]

use lbsim::scenario::Scenario;
use lbsim::sim::World;
use std::time::Duration;

use wasm_bindgen_test::{wasm_bindgen_bench, wasm_bindgen_test_configure, Criterion, Instant};

wasm_bindgen_test_configure!(run_in_browser);

fn run(s: &Scenario) -> u64 {
    let mut w = World::with_trace_capacity(s, 50_000);
    let end = w.settle_time();
    w.run_until(end);
    w.metrics().packets.sent
}

/// Times `iters` whole runs, yielding to the browser between runs so that the page (and the
/// test runner's WebDriver session) stays responsive.
async fn bench(c: &mut Criterion, name: &str, json: &str) {
    let s = Scenario::from_json(json).expect("valid scenario");
    let packets = run(&s);
    *c = std::mem::take(c)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(10));
    wasm_bindgen_test::console_log!("{name}: {packets} packets per run");
    c.bench_async_function(name, |b| {
        let s = s.clone();
        Box::pin(b.iter_custom_future(move |iters| {
            let s = s.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    std::hint::black_box(run(&s));
                    total += start.elapsed();
                    gloo_timers::future::TimeoutFuture::new(0).await;
                }
                total
            }
        }))
    })
    .await;
}

#[wasm_bindgen_bench]
async fn standard_scenario(c: &mut Criterion) {
    bench(
        c,
        "standard scenario (wasm)",
        include_str!("../engine/scenarios/standard.json"),
    )
    .await;
}

#[wasm_bindgen_bench]
async fn l4_scenario(c: &mut Criterion) {
    bench(
        c,
        "l4 scenario (wasm)",
        include_str!("../engine/scenarios/l4-nat.json"),
    )
    .await;
}

#[wasm_bindgen_bench]
async fn l7_scenario(c: &mut Criterion) {
    let s =
        Scenario::from_json(include_str!("../engine/scenarios/l7.json")).expect("valid scenario");
    let mut w = World::with_trace_capacity(&s, 0);
    let end = w.settle_time();
    w.run_until(end);
    wasm_bindgen_test::console_log!(
        "l7 scenario (wasm): {} requests per run",
        w.metrics().requests.started
    );
    bench(
        c,
        "l7 scenario (wasm)",
        include_str!("../engine/scenarios/l7.json"),
    )
    .await;
}

#[path = "../engine/benches/common/scaling.rs"]
mod rows;

/// The scaling bench's rows that run in both (`cargo bench -p lbsim --bench scaling -- both`
/// natively): the same worlds, 5 simulated seconds each with the CLI's 1,024-event ring, the
/// median of three runs (one for the 10,000-client row) after one untimed simulated second of
/// the row (`warm_up`), as packets per wall second.
#[wasm_bindgen_bench]
async fn scaling_rows(_c: &mut Criterion) {
    for row in &rows::BOTH {
        let s = rows::scenario(row);
        gloo_timers::future::TimeoutFuture::new(0).await;
        rows::warm_up(&s);
        let samples = if row.1 > 1000 { 1 } else { 3 };
        let mut times = Vec::new();
        let mut packets = 0;
        for _ in 0..samples {
            gloo_timers::future::TimeoutFuture::new(0).await;
            let start = Instant::now();
            let mut w = World::with_trace_capacity(&s, 1024);
            w.run_until(lbsim::time::Instant::from_secs(5));
            packets = w.metrics().packets.sent;
            times.push(start.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let (mode, clients, backends, rate) = row;
        wasm_bindgen_test::console_log!(
            "| {mode} | {clients} | {backends} | {rate} | {packets} | {median:.2} s | {:.0} | {:.0} |",
            packets as f64 / median,
            median * 1e9 / packets as f64
        );
    }
}

/// The 50,000-connection world (`engine/scenarios/fifty-thousand.json`, as in
/// `cargo bench -p lbsim --bench memory -- 50000` natively): the connections open and the size
/// of the wasm linear memory (which never shrinks, so it is the peak so far) at each simulated
/// second, and the wall time.
#[wasm_bindgen_bench]
async fn fifty_thousand_connections(_c: &mut Criterion) {
    let s = Scenario::from_json(include_str!("../engine/scenarios/fifty-thousand.json"))
        .expect("valid scenario");
    let mib = || core::arch::wasm32::memory_size(0) as f64 * 65536.0 / (1024.0 * 1024.0);
    let start = Instant::now();
    let mut w = World::with_trace_capacity(&s, 1024);
    wasm_bindgen_test::console_log!("fifty thousand: built, wasm memory {:.1} MiB", mib());
    let seconds = s.duration.as_secs_f64() as u64;
    for second in 1..=seconds {
        gloo_timers::future::TimeoutFuture::new(0).await;
        w.run_until(lbsim::time::Instant::from_secs(second));
        let (open, _) = w.sockets_of(lbsim::sim::Role::Client);
        wasm_bindgen_test::console_log!(
            "| {second} | {open} | {} | {:.1} |",
            w.balancer().flows(),
            mib()
        );
    }
    wasm_bindgen_test::console_log!(
        "fifty thousand: {:.1} s wall",
        start.elapsed().as_secs_f64()
    );
}
