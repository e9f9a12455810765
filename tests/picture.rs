//! The picture at every speed, in headless Chromium as a learner sees it: clients wear their
//! backend's colour (steady under IP hash, moving after a crash), a down backend is drawn down,
//! requests are drawn at 1×, going back in time and playing on shows what a fresh run shows,
//! and every lesson brings its teaching moment on screen by itself.
#![cfg(target_arch = "wasm32")]

mod common;

use std::collections::BTreeMap;

use common::*;
use lbsim::presets;
use lbsim::scenario::link::{self, Shared};
use lbsim::scenario::Scenario;
use wasm_bindgen_test::*;
use web_sys::Element;

wasm_bindgen_test_configure!(run_in_browser);

/// Forty clients hashed by address onto four backends behind an L4 balancer with fast TCP
/// checks; `timeline` is the scenario's timeline JSON.
fn hashed(timeline: &str) -> Scenario {
    Scenario::from_json(&format!(
        r#"{{
        "version": 1, "name": "hashed", "seed": 2, "duration": "20s",
        "balancer": {{"mode": "l4_nat", "algorithm": {{"ip_hash": "address"}},
                     "health": {{"kind": "tcp", "interval": "1s", "timeout": "500ms", "fall": 2}}}},
        "backends": [{{"name": "A", "address": "10.0.0.11"}}, {{"name": "B", "address": "10.0.0.12"}},
                     {{"name": "C", "address": "10.0.0.13"}}, {{"name": "D", "address": "10.0.0.14"}}],
        "clients": [{{"name": "web", "count": 40, "rate": 40}}],
        "timeline": {timeline}
    }}"#
    ))
    .expect("valid scenario")
}

/// Mounts the app on a link to `scenario`.
async fn open(scenario: &Scenario) -> Mounted {
    fresh_visit();
    let text = link::encode(
        &Shared {
            scenario: scenario.clone(),
            view: None,
        },
        None,
    );
    set_fragment(&text);
    mount_as_is().await
}

/// Each client's address and the backend its node says it maps to now.
fn colours(root: &Element) -> BTreeMap<String, String> {
    find_all(root, "[data-testid='client']")
        .iter()
        .map(|c| {
            (
                c.get_attribute("data-address").unwrap_or_default(),
                c.get_attribute("data-backend").unwrap_or_default(),
            )
        })
        .collect()
}

fn attr(root: &Element, selector: &str, name: &str) -> String {
    find(root, selector).get_attribute(name).unwrap_or_default()
}

#[wasm_bindgen_test]
async fn under_ip_hash_a_clients_colour_never_changes_over_a_run() {
    let app = open(&hashed("[]")).await;
    let root = &app.root;
    set_speed(root, 0.3).await; // 2×
    play(root).await;
    let first = colours(root);
    assert_eq!(first.len(), 40, "forty clients drawn one by one");
    assert!(
        first.values().all(|b| b != "none"),
        "a hash maps every client from the start: {first:?}"
    );
    while sim_seconds(root) < 6.0 {
        sleep_ms(200).await;
        assert_eq!(colours(root), first, "at {} s", sim_seconds(root));
    }
}

#[wasm_bindgen_test]
async fn after_a_crash_its_clients_change_colour_within_the_failover_time() {
    let app = open(&hashed(
        r#"[{"at": "3s", "action": {"set_fault": {"backend": "B", "fault": "crash"}}}]"#,
    ))
    .await;
    let root = &app.root;
    set_speed(root, 0.3).await;
    play(root).await;
    wait_for("2 s", 20_000, || sim_seconds(root) > 2.0).await;
    let of_b: Vec<String> = colours(root)
        .into_iter()
        .filter(|(_, b)| b == "B")
        .map(|(a, _)| a)
        .collect();
    assert!(!of_b.is_empty(), "some clients map to B before the crash");
    // Two failed probes a second apart, each given 500 ms: down by about 5 s.
    wait_for("B's clients to move", 20_000, || {
        let now = colours(root);
        of_b.iter().all(|a| now.get(a).is_some_and(|b| b != "B"))
    })
    .await;
    assert!(
        sim_seconds(root) < 6.5,
        "moved within the failover time, at {} s",
        sim_seconds(root)
    );
    assert_eq!(
        attr(root, "[data-testid='node-B']", "data-health"),
        "crashed"
    );
}

#[wasm_bindgen_test]
async fn a_backend_that_fails_its_checks_is_drawn_down() {
    let app = open(&hashed(
        r#"[{"at": "1s", "action": {"set_fault": {"backend": "C", "fault": "port_closed"}}}]"#,
    ))
    .await;
    let root = &app.root;
    set_speed(root, 0.3).await;
    play(root).await;
    wait_for("C drawn down", 20_000, || {
        attr(root, "[data-testid='node-C']", "data-health") == "down"
    })
    .await;
    let about = attr(root, "[data-testid='node-C']", "aria-label");
    assert!(
        about.contains("DOWN") && about.contains("port closed"),
        "{about}"
    );
}

#[wasm_bindgen_test]
async fn at_1x_requests_are_drawn_in_flight() {
    let app = mount_app().await;
    let root = &app.root;
    set_speed(root, 0.0).await; // 1×
    play(root).await;
    let canvas = find(root, "[data-testid='canvas']");
    wait_for("request tokens on the canvas", 20_000, || {
        canvas.get_attribute("data-level").as_deref() == Some("requests")
            && canvas
                .get_attribute("data-tokens")
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n > 0)
    })
    .await;
    assert!(text(root, "[data-testid='level-shown']").contains("requests"));
}

/// The event list's rows, as text.
fn rows(root: &Element) -> Vec<String> {
    find_all(root, "[data-testid='event-rows'] li")
        .iter()
        .map(|r| r.text_content().unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn going_back_and_playing_on_shows_what_a_fresh_run_shows() {
    let app = mount_app().await;
    let root = &app.root;
    pause(root).await;
    // Forward to 4 s, back to 1 s, then forward to 3 s.
    set_input(root, "[data-testid='time']", "4000000").await;
    assert!((sim_seconds(root) - 4.0).abs() < 1e-6);
    set_input(root, "[data-testid='time']", "1000000").await;
    assert!((sim_seconds(root) - 1.0).abs() < 1e-6, "went back");
    set_input(root, "[data-testid='time']", "3000000").await;
    let after_going_back = rows(root);
    assert!(
        after_going_back.len() > 20,
        "{} rows",
        after_going_back.len()
    );
    // A fresh run to 3 s.
    click(root, "[data-testid='restart']").await;
    pause(root).await;
    set_input(root, "[data-testid='time']", "3000000").await;
    assert_eq!(rows(root), after_going_back);
    // One event back, then forward again by one: the same rows.
    click(root, "[data-testid='step']").await;
    let stepped = rows(root);
    click(root, "[data-testid='step-back']").await;
    assert_eq!(rows(root), after_going_back, "one event back");
    click(root, "[data-testid='step']").await;
    assert_eq!(rows(root), stepped);
}

#[wasm_bindgen_test]
async fn every_lesson_brings_its_teaching_moment_on_screen_by_itself() {
    for p in presets::all() {
        fresh_visit();
        set_fragment(&p.link());
        let app = mount_as_is().await;
        let root = &app.root;
        let first = &p.moments[0].caption;
        let started = js_sys::Date::now();
        wait_for(&format!("{}'s first moment", p.name), 30_000, || {
            exists(root, "[data-testid='moment-caption']")
                && text(root, "[data-testid='moment-caption']").contains(first.as_str())
        })
        .await;
        let waited = (js_sys::Date::now() - started) / 1000.0;
        console_log!("{}: moment after {waited:.1} s", p.name);
        drop(app);
    }
}
