//! The live view's per-frame work in headless Chromium: advance the world by one 60 Hz frame
//! of wall time, then draw it on a real 1280×560 canvas, as the page's clock does. Four
//! figures, each printed with its median, p95 and worst over 600 frames:
//!
//! - packet level with about 2,000 packets on the links (long links, many clients);
//! - request level at 2,000 requests per second (short links: requests drawn as tokens);
//! - compare mode, both sides at 1,000 packets each;
//! - going back: from the end of a 60 s lesson to random earlier times, with the saved points
//!   the page builds in its spare time (and without any, from time zero).
//!
//! ```sh
//! CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//! CHROMEDRIVER=/usr/bin/chromedriver \
//!   cargo bench --profile wasm-release -p traffic-cop --target wasm32-unknown-unknown --bench wasm_frame
//! ```
#![cfg(target_arch = "wasm32")]

use std::collections::VecDeque;
use std::time::Duration;

use lbsim::scenario::Scenario;
use lbsim::time::Instant;
use traffic_cop::hooks::use_simulation::{Level, Simulation, FRAME_BUDGET_MS};
use traffic_cop::render::{self, Scene};
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

/// 2,000 requests per second over the default links: the request level's load.
const REQUESTS: &str = r#"{"version": 1, "name": "requests", "seed": 3, "duration": "60s",
    "balancer": {"mode": "l4_nat", "health": {}},
    "backends": [{"name": "A", "address": "10.0.0.11"}, {"name": "B", "address": "10.0.0.12"},
                 {"name": "C", "address": "10.0.0.13"}, {"name": "D", "address": "10.0.0.14"}],
    "clients": [{"name": "web", "count": 60, "rate": 2000, "mix": [{"request": {"path": "/"}}]}]}"#;

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

/// Gives the browser a turn (untimed), as a page does between frames, so that a long bench
/// does not hold the renderer past the driver's patience.
async fn breathe() {
    gloo_timers::future::TimeoutFuture::new(0).await;
}

/// Runs 600 frames of `frame` (which returns what it drew: packets or requests, per side)
/// and prints the frame-time and load distribution under `what`.
async fn frames(what: &str, clock: &dyn Fn() -> f64, mut frame: impl FnMut() -> f64) {
    let mut times = Vec::new();
    let mut drawn = Vec::new();
    for i in 0..600 {
        if i % 30 == 0 {
            breathe().await;
        }
        let t0 = clock();
        let n = frame();
        times.push(clock() - t0);
        drawn.push(n);
    }
    times.sort_by(f64::total_cmp);
    drawn.sort_by(f64::total_cmp);
    console_log!(
        "{what}, 600 frames at 1x: median {:.2} ms, p95 {:.2} ms, max {:.2} ms; drawn per side: median {}, min {}, max {}",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times[times.len() - 1],
        percentile(&drawn, 0.5),
        drawn[0],
        drawn[drawn.len() - 1]
    );
}

/// Draws the simulation's main frame as the clock does; returns what it drew.
fn draw(canvas: &HtmlCanvasElement, sim: &Simulation) -> f64 {
    let requests = sim.shown_level() == Level::Requests;
    render::draw_frame(
        canvas,
        &Scene {
            frame: &sim.frame,
            requests,
            speed: sim.speed,
            ended: &sim.ended,
            selected: None,
        },
    );
    if requests {
        sim.frame.requests.len() as f64
    } else {
        sim.frame.packets.len() as f64
    }
}

fn busy(json: &str, level: Level) -> Simulation {
    let mut sim = Simulation::new(&Scenario::from_json(json).expect("valid scenario"))
        .expect("the scenario opens");
    sim.speed = 1.0;
    sim.level = level;
    // Warm up to the steady state: traffic has filled the links.
    sim.seek(Instant::from_secs(2));
    sim.playing = true;
    sim
}

#[wasm_bindgen_bench]
async fn frame_with_2000_packets(c: &mut Criterion) {
    let perf = web_sys::window().unwrap().performance().unwrap();
    let clock = || perf.now();
    let canvas = canvas();
    let mut sim = busy(BUSY, Level::Packets);
    frames("packet level (advance + draw)", &clock, || {
        sim.advance(1000.0 / 60.0, f64::INFINITY, &clock);
        draw(&canvas, &sim)
    })
    .await;
    *c = std::mem::take(c)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    c.bench_function("draw 2,000 packets", |b| b.iter(|| draw(&canvas, &sim)));
    // The same frames as the page's clock runs them: the world's work capped at the page's
    // budget. What the cap costs is said beside the frame times: how many frames stopped
    // short of 1/60 s of simulated time, and the speed the world kept over the 600 frames.
    let mut sim = busy(BUSY, Level::Packets);
    let start = sim.world.now();
    let short = std::cell::Cell::new(0u32);
    frames(
        "packet level, the page's budget (advance within 10 ms + draw)",
        &clock,
        || {
            sim.advance(1000.0 / 60.0, FRAME_BUDGET_MS, &clock);
            short.set(short.get() + u32::from(sim.behind));
            draw(&canvas, &sim)
        },
    )
    .await;
    console_log!(
        "  frames stopped short by the budget: {} of 600; the world kept {:.2}x of real time",
        short.get(),
        (sim.world.now() - start).as_secs_f64() / 10.0
    );
}

#[wasm_bindgen_bench]
async fn frame_with_2000_requests_per_second(c: &mut Criterion) {
    let perf = web_sys::window().unwrap().performance().unwrap();
    let clock = || perf.now();
    let canvas = canvas();
    let mut sim = busy(REQUESTS, Level::Requests);
    frames(
        "request level at 2,000 requests/s (advance + draw)",
        &clock,
        || {
            sim.advance(1000.0 / 60.0, f64::INFINITY, &clock);
            draw(&canvas, &sim)
        },
    )
    .await;
    *c = std::mem::take(c)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    c.bench_function("draw at request level", |b| b.iter(|| draw(&canvas, &sim)));
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
    sim.level = Level::Packets;
    sim.seek(Instant::from_secs(2));
    sim.playing = true;
    let none = VecDeque::new();
    let both = |sim: &Simulation| {
        draw(&a, sim);
        let twin = &sim.twin.as_ref().expect("comparing").frame;
        let scene = Scene {
            frame: twin,
            requests: false,
            speed: 1.0,
            ended: &none,
            selected: None,
        };
        render::draw_frame(&b, &scene);
        (sim.frame.packets.len() + twin.packets.len()) as f64 / 2.0
    };
    frames("compare frame (advance both + draw both)", &clock, || {
        sim.advance(1000.0 / 60.0, f64::INFINITY, &clock);
        both(&sim)
    })
    .await;
    *c = std::mem::take(c)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    c.bench_function("draw both sides", |bench| bench.iter(|| both(&sim)));
}

/// Seconds of the lessons' 60 s runs to go back to, spread over the run.
const BACK_TO: [u64; 12] = [55, 3, 41, 17, 29, 9, 50, 23, 35, 1, 45, 13];

#[wasm_bindgen_bench]
async fn going_back_in_a_60_s_lesson(_c: &mut Criterion) {
    let perf = web_sys::window().unwrap().performance().unwrap();
    let clock = || perf.now();
    for name in [
        "playground",
        "tcp-check-crash",
        "path-routing",
        "uneven-costs",
    ] {
        let scenario = lbsim::presets::get(name).expect("preset").scenario;
        let end = Instant::ZERO + scenario.duration;
        for prepared in [false, true] {
            let mut sim = Simulation::new(&scenario).expect("the scenario opens");
            sim.moments.clear();
            sim.seek(end);
            // The spare time of a paused page (8 ms a frame) before each seek, until the
            // saved points are all built again (going back uses one up).
            let rebuild = |sim: &mut Simulation| {
                for _ in 0..4_000 {
                    let before = sim.rewind_points();
                    sim.prepare_rewind(8.0, &clock);
                    if sim.rewind_points() == before && before.len() >= 9 {
                        break;
                    }
                }
            };
            let mut times = Vec::new();
            for s in BACK_TO {
                let t = Instant::from_secs(s.min(scenario.duration.as_secs_f64() as u64 - 1));
                sim.seek(end);
                if prepared {
                    rebuild(&mut sim);
                }
                let t0 = clock();
                sim.seek(t);
                times.push(clock() - t0);
                assert_eq!(sim.world.now(), t);
                breathe().await;
            }
            times.sort_by(f64::total_cmp);
            console_log!(
                "going back in {name} ({} s), {}: median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} saved points)",
                scenario.duration.as_secs_f64(),
                if prepared { "with saved points" } else { "before any saved point" },
                percentile(&times, 0.5),
                percentile(&times, 0.95),
                times[times.len() - 1],
                sim.rewind_points().len()
            );
        }
    }
}
