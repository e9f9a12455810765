//! The live view's per-frame work in headless Chromium: advance the world by one 60 Hz frame
//! of wall time, then draw every packet in flight on a real 1280×560 canvas. The scenario
//! keeps about 2,000 packets on the links (long links, many clients), the issue's target
//! load. Prints the median, p95 and worst frame over 600 frames, and the packets in flight.
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! CHROMEDRIVER=/usr/bin/chromedriver \
//!   cargo bench -p traffic-cop --target wasm32-unknown-unknown --bench wasm_frame
//! ```
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use lbsim::scenario::Scenario;
use traffic_cop::hooks::use_simulation::Simulation;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_bench, wasm_bindgen_test_configure, Criterion};
use web_sys::HtmlCanvasElement;

wasm_bindgen_test_configure!(run_in_browser);

/// Long links and many clients: about 2,000 packets in flight at once.
const BUSY: &str = r#"{"version": 1, "name": "busy", "seed": 3, "duration": "60s",
    "network": {"client_link": {"latency": "120ms"}, "server_link": {"latency": "40ms"}},
    "balancer": {"mode": "l4_nat", "health": {}},
    "backends": [{"name": "A", "address": "10.0.0.11"}, {"name": "B", "address": "10.0.0.12"},
                 {"name": "C", "address": "10.0.0.13"}, {"name": "D", "address": "10.0.0.14"}],
    "clients": [{"name": "web", "count": 250, "rate": 2050, "mix": [{"request": {"path": "/"}}]}]}"#;

fn canvas() -> HtmlCanvasElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let c: HtmlCanvasElement = doc.create_element("canvas").unwrap().dyn_into().unwrap();
    c.set_attribute("style", "width:1280px;height:560px;display:block")
        .unwrap();
    doc.body().unwrap().append_child(&c).unwrap();
    c
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs 600 frames of `frame` (which returns the packets in flight it drew, per side) and
/// prints the frame-time and load distribution under `what`.
fn frames(what: &str, clock: &dyn Fn() -> f64, mut frame: impl FnMut() -> f64) {
    let mut times = Vec::new();
    let mut in_flight = Vec::new();
    for _ in 0..600 {
        let t0 = clock();
        let n = frame();
        times.push(clock() - t0);
        in_flight.push(n);
    }
    times.sort_by(f64::total_cmp);
    in_flight.sort_by(f64::total_cmp);
    console_log!(
        "{what}, 600 frames at 1x: median {:.2} ms, p95 {:.2} ms, max {:.2} ms; packets in flight (per side): median {}, min {}, max {}",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[times.len() - 1],
        percentile(&in_flight, 0.5),
        in_flight[0],
        in_flight[in_flight.len() - 1]
    );
}

#[wasm_bindgen_bench]
async fn frame_with_2000_packets(c: &mut Criterion) {
    let perf = web_sys::window().unwrap().performance().unwrap();
    let clock = || perf.now();
    let canvas = canvas();
    let mut sim = Simulation::new(&Scenario::from_json(BUSY).expect("valid scenario"))
        .expect("the scenario opens");
    sim.speed = 1.0;
    sim.playing = true;
    // Warm up to the steady state: traffic has filled the links.
    sim.world.run_until(lbsim::time::Instant::from_secs(2));
    frames("frame (advance + draw)", &clock, || {
        sim.advance(1000.0 / 60.0, f64::INFINITY, &clock);
        traffic_cop::render::draw_frame(&canvas, &sim.frame, None, false);
        sim.frame.packets.len() as f64
    });
    // Criterion's own figure: the draw alone, on the last state.
    *c = std::mem::take(c)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    c.bench_function("draw 2,000 packets", |b| {
        b.iter(|| traffic_cop::render::draw_frame(&canvas, &sim.frame, None, false))
    });
}

#[wasm_bindgen_bench]
async fn compare_frame_with_1000_packets_a_side(c: &mut Criterion) {
    let perf = web_sys::window().unwrap().performance().unwrap();
    let clock = || perf.now();
    let (a, b) = (canvas(), canvas());
    for c in [&a, &b] {
        c.set_attribute("style", "width:1280px;height:280px;display:block")
            .unwrap();
    }
    let half = BUSY.replace(r#""rate": 2050"#, r#""rate": 700"#);
    let scenario = Scenario::from_json(&half).expect("valid scenario");
    let mut variant = scenario.clone();
    variant.balancer.algorithm = lbsim::balance::Algorithm::LeastConnections;
    let mut sim = Simulation::new(&scenario).expect("the scenario opens");
    sim.compare("least connections".into(), &variant)
        .expect("the variant opens");
    sim.speed = 1.0;
    sim.playing = true;
    sim.seek(lbsim::time::Instant::from_secs(2));
    sim.playing = true;
    frames("compare frame (advance both + draw both)", &clock, || {
        sim.advance(1000.0 / 60.0, f64::INFINITY, &clock);
        traffic_cop::render::draw_frame(&a, &sim.frame, None, false);
        let twin = &sim.twin.as_ref().expect("comparing").frame;
        traffic_cop::render::draw_frame(&b, twin, None, true);
        (sim.frame.packets.len() + twin.packets.len()) as f64 / 2.0
    });
    *c = std::mem::take(c)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    c.bench_function("draw both sides", |bench| {
        bench.iter(|| {
            traffic_cop::render::draw_frame(&a, &sim.frame, None, false);
            let twin = &sim.twin.as_ref().expect("comparing").frame;
            traffic_cop::render::draw_frame(&b, twin, None, true);
        })
    });
}
