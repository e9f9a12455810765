//! Lessons and share links in the real app: a quiz is answered, then its scenario runs; a
//! damaged link names what is wrong, opens the nearest scenario and keeps the previous work;
//! a shared link reopened in a fresh page reproduces the same run.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use lbsim::presets;
use lbsim::scenario::link::{self, Shared, View};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_quiz_is_answered_first_then_its_scenario_runs_and_shows_why() {
    let app = mount_app().await;
    let root = &app.root;
    press("l").await;
    assert!(
        exists(root, "[data-testid='lesson-list']"),
        "l opens the lessons"
    );
    click(root, "[data-testid='lesson-cart']").await;
    assert!(exists(root, "[data-testid='quiz']"));
    assert!(
        !exists(root, "[data-testid='run-lesson']"),
        "the explanation waits for an answer"
    );
    // A wrong answer first: the verdict says so and gives the right one.
    click(root, "[data-testid='choice-0']").await;
    click(root, "[data-testid='answer']").await;
    let verdict = text(root, "[data-testid='verdict']");
    assert!(verdict.starts_with("Not quite."), "{verdict}");
    assert!(verdict.contains("IP hash or a sticky cookie"), "{verdict}");
    // The cart scenario now runs in the lesson's layout: three backends behind the L7 proxy
    // on the canvas, the figures beside it.
    assert_eq!(
        find(root, "[data-testid='app']")
            .get_attribute("data-layout")
            .as_deref(),
        Some("lesson")
    );
    assert!(text(root, "[data-testid='balancer']").contains("L7 proxy"));
    assert_eq!(find_all(root, "[data-testid^='node-']").len(), 3);
    assert!(text(root, "[data-testid='figures']").contains("carts lost"));
    assert!(
        text(root, "[data-testid='play']").contains("Pause"),
        "it plays"
    );
    // The lesson's compare variant is one click away.
    assert!(text(root, "[data-testid='run-variant']").contains("Sticky cookie"));
}

#[wasm_bindgen_test]
async fn the_many_connections_lesson_shows_what_each_layer_holds_side_by_side() {
    let app = mount_app().await;
    let root = &app.root;
    press("l").await;
    click(root, "[data-testid='lesson-many-connections']").await;
    click(root, "[data-testid='choice-1']").await;
    click(root, "[data-testid='answer']").await;
    let verdict = text(root, "[data-testid='verdict']");
    assert!(verdict.starts_with("Right"), "{verdict}");
    // Its compare variant, L7, beside L4: the figure reads both sides.
    click(root, "[data-testid='run-variant']").await;
    assert!(exists(root, "[data-testid='twin-canvas']"));
    set_speed(root, 1.0).await; // 10×
    play_until(root, 10.0, 60_000).await;
    pause(root).await;
    let figures = text(root, "[data-testid='figures']");
    assert!(
        figures.contains("balancer memory for connections"),
        "{figures}"
    );
    // A: flow entries, in KiB; B: socket buffers, in MiB.
    let (a, b) = figures
        .split_once(" · B ")
        .unwrap_or_else(|| panic!("both sides: {figures}"));
    assert!(a.contains("KiB for"), "{figures}");
    assert!(b.contains("MiB for"), "{figures}");
}

#[wasm_bindgen_test]
async fn a_damaged_link_names_the_problem_opens_its_preset_and_keeps_the_previous_work() {
    // Previous work: the game preset, saved by an earlier visit.
    let game = presets::get("game").unwrap();
    fresh_visit();
    storage()
        .set_item(traffic_cop::WORK_KEY, &game.link())
        .unwrap();
    // A link to the cart preset with a byte of its data changed.
    let cart = presets::get("cart").unwrap().link();
    let mut damaged: Vec<char> = cart.chars().collect();
    let at = cart.find('.').unwrap() + 12;
    damaged[at] = if damaged[at] == 'A' { 'B' } else { 'A' };
    set_fragment(&damaged.into_iter().collect::<String>());
    let app = mount_as_is().await;
    let root = &app.root;
    let notice = text(root, "[data-testid='notice']");
    assert!(notice.contains("could not be opened"), "{notice}");
    assert!(
        notice.contains("damaged") || notice.contains("checksum"),
        "names what is wrong: {notice}"
    );
    // The nearest sensible scenario: the preset the link names.
    assert!(text(root, "[data-testid='balancer']").contains("L7 proxy"));
    assert_eq!(find_all(root, "[data-testid^='backend-']").len(), 3);
    // The previous work is untouched, and one click brings it back.
    assert_eq!(
        storage()
            .get_item(traffic_cop::WORK_KEY)
            .unwrap()
            .as_deref(),
        Some(game.link().as_str())
    );
    click(root, "[data-testid='restore']").await;
    assert!(text(root, "[data-testid='balancer']").contains("L4 balancer · NAT"));
    assert_eq!(
        find_all(root, "[data-testid^='backend-']").len(),
        1,
        "the game server"
    );
    assert!(!exists(root, "[data-testid='notice']"));
}

#[wasm_bindgen_test]
async fn an_unknown_version_link_says_so_and_opens_the_playground() {
    fresh_visit();
    set_fragment("tc9.whatever.AAAA.00000000");
    let app = mount_as_is().await;
    let notice = text(&app.root, "[data-testid='notice']");
    assert!(notice.contains("format \"tc9\""), "{notice}");
    assert!(notice.contains("playground"), "{notice}");
}

/// Runs the app from `fragment` to its shared time and returns the event list's text, the
/// backend cards' text and the downloaded report's size and hash.
async fn open_and_read(fragment: &str) -> (String, String, String) {
    fresh_visit();
    set_fragment(fragment);
    let app = mount_as_is().await;
    let root = &app.root;
    wait_for("the shared time position", 10_000, || {
        text(root, "[data-testid='clock']").starts_with("t = 3.000000s")
    })
    .await;
    click(root, "[data-testid='download-report']").await;
    (
        text(root, "[data-testid='event-rows']"),
        text(root, "[data-testid='backends']"),
        find(root, "[data-testid='downloads']")
            .get_attribute("data-last")
            .unwrap(),
    )
}

#[wasm_bindgen_test]
async fn a_shared_link_reopened_in_a_fresh_page_reproduces_the_same_run() {
    let mut scenario = presets::get("tcp-check-crash").unwrap().scenario;
    scenario.seed = 77;
    let fragment = link::encode(
        &Shared {
            scenario,
            view: Some(View {
                time_us: Some(3_000_000),
                ..View::default()
            }),
        },
        None,
    );
    let first = open_and_read(&fragment).await;
    let second = open_and_read(&fragment).await;
    assert!(
        first.0.contains("probe of"),
        "{}",
        &first.0[..200.min(first.0.len())]
    );
    assert!(
        first.2.starts_with("traffic-cop-report.json:"),
        "{}",
        first.2
    );
    assert_eq!(first, second, "the same events, cards and report");
}

#[wasm_bindgen_test]
async fn edits_are_recorded_so_the_link_replays_them() {
    let app = mount_app().await;
    let root = &app.root;
    set_speed(root, 0.0).await; // 1×
    play(root).await;
    wait_for("some time to pass", 10_000, || {
        !text(root, "[data-testid='clock']").starts_with("t = 0.0")
    })
    .await;
    click(
        root,
        "[data-testid='backend-C'] [data-testid='fault-crash']",
    )
    .await;
    // The address follows edits once they pause (debounced).
    linked_timeline_with("the address to follow the edit", |_| true).await;
    let shared = linked().expect("the address follows the work");
    let entry = shared
        .scenario
        .timeline
        .last()
        .expect("the crash is in the timeline");
    assert_eq!(
        serde_json::to_value(&entry.action).unwrap(),
        serde_json::json!({"set_fault": {"backend": "C", "fault": "crash"}})
    );
    assert!(entry.at > lbsim::time::Duration::ZERO);
}
