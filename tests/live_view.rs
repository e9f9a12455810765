//! The live view, driven in headless Chromium as a user drives it: the default scenario runs
//! and its packets are drawn; Step processes exactly one event; crashing a backend from its
//! card takes it down after the checks, and the event list says so; a rewritten packet shows
//! both addresses and the changed bytes in the inspector.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Pixels of the canvas in one of the packet colours (shapes are filled with exact colours,
/// so their centres match exactly).
fn packet_pixels(canvas: &HtmlCanvasElement) -> usize {
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .unwrap()
        .unwrap()
        .dyn_into()
        .unwrap();
    let (w, h) = (canvas.width(), canvas.height());
    let data = ctx
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .unwrap()
        .data();
    let palette: Vec<[u8; 3]> = lbsim::wire::dissect::PacketKind::ALL
        .iter()
        .map(|k| {
            let hex = traffic_cop::render::palette::packet(*k);
            let v = u32::from_str_radix(&hex[1..], 16).unwrap();
            [(v >> 16) as u8, (v >> 8) as u8, v as u8]
        })
        .collect();
    data.chunks_exact(4)
        .filter(|p| p[3] == 255 && palette.iter().any(|c| c[..] == p[..3]))
        .count()
}

#[wasm_bindgen_test]
async fn the_default_scenario_runs_and_its_packets_are_drawn() {
    let app = mount_app().await;
    let root = &app.root;
    assert!(text(root, "[data-testid='balancer']").contains("L4 balancer · NAT"));
    assert_eq!(find_all(root, "[data-testid^='backend-']").len(), 4);
    set_speed(root, -1.0).await; // 0.1×
    choose(root, "[data-testid='level']", 1).await; // packets
    play(root).await;
    let canvas: HtmlCanvasElement = cast(find(root, "[data-testid='canvas']"), "canvas");
    wait_for("packets on the canvas", 20_000, || {
        canvas
            .get_attribute("data-packets")
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n > 0)
            && packet_pixels(&canvas) > 0
    })
    .await;
    assert!(events_processed(root) > 0);
}

#[wasm_bindgen_test]
async fn step_processes_exactly_one_event() {
    let app = mount_app().await;
    let root = &app.root;
    pause(root).await;
    let before = events_processed(root);
    click(root, "[data-testid='step']").await;
    assert_eq!(events_processed(root), before + 1);
    press(".").await;
    assert_eq!(events_processed(root), before + 2, "the . key steps too");
    // "Next packet" runs to the next packet sent, and no further.
    click(root, "[data-testid='filter-packets']").await;
    let rows = find_all(root, "[data-kind='packets']").len();
    click(root, "[data-testid='next-packet']").await;
    let after = find_all(root, "[data-kind='packets']").len();
    assert!(after > rows, "a packet row appeared ({rows} → {after})");
    assert!(
        text(root, "[data-testid='play']").contains("Play"),
        "still paused"
    );
}

#[wasm_bindgen_test]
async fn crashing_a_backend_from_its_card_takes_it_down_after_the_checks() {
    let app = mount_app().await;
    let root = &app.root;
    set_speed(root, 1.0).await; // 10×
    play(root).await;
    let card = "[data-testid='backend-B']";
    assert!(text(root, &format!("{card} [data-testid='health']")).contains("UP"));
    click(root, &format!("{card} [data-testid='fault-crash']")).await;
    assert_eq!(
        text(root, &format!("{card} [data-testid='fault']")),
        "crash"
    );
    wait_for("B to be marked down", 30_000, || {
        text(root, &format!("{card} [data-testid='health']")).contains("DOWN")
    })
    .await;
    // Show only health and faults, as a user looking for what happened would.
    for kind in ["decisions", "requests", "errors"] {
        click(root, &format!("[data-testid='filter-{kind}']")).await;
    }
    let rows: Vec<String> = find_all(root, "[data-testid='event-rows'] li")
        .iter()
        .map(|r| r.text_content().unwrap_or_default())
        .collect();
    let head = &rows[..rows.len().min(20)];
    assert!(
        rows.iter().any(|r| r.contains("B: fault crash")),
        "{head:?}"
    );
    assert!(rows.iter().any(|r| r.contains("B is now DOWN")), "{head:?}");
    assert!(
        rows.iter().any(|r| r.contains("probe of B: no answer")),
        "the failed probes are listed: {head:?}"
    );
}

#[wasm_bindgen_test]
async fn a_rewritten_packet_shows_both_addresses_and_the_changed_bytes() {
    let app = mount_app().await;
    let root = &app.root;
    pause(root).await;
    click(root, "[data-testid='filter-packets']").await;
    // Step packet by packet until the balancer has rewritten one towards a backend.
    let rewrite = "[data-testid='event-rows'] li[data-kind='packets']";
    let mut found = None;
    for _ in 0..60 {
        found = find_all(root, rewrite).into_iter().find(|r| {
            r.text_content()
                .unwrap_or_default()
                .contains("rewrites the destination")
        });
        if found.is_some() {
            break;
        }
        click(root, "[data-testid='next-packet']").await;
    }
    let row = found.expect("the balancer rewrote a packet within 60 packets");
    cast::<web_sys::HtmlElement>(row.query_selector("button").unwrap().unwrap(), "row").click();
    settle().await;
    let inspector = find(root, "[data-testid='inspector']");
    assert!(
        exists(&inspector, "[data-testid='rewrite']"),
        "the before/after view"
    );
    let changes = text(&inspector, "[data-testid='changed-fields']");
    assert!(
        changes.contains("Destination Address: 203.0.113.10 → 10.0.0.1"),
        "VIP to a backend: {changes}"
    );
    assert!(changes.contains("Header Checksum"), "{changes}");
    assert!(changes.contains("Checksum"), "{changes}");
    let marked = |pane: &str| -> Vec<usize> {
        find_all(&inspector, &format!("[data-testid='{pane}'] .chg"))
            .iter()
            .map(|b| b.get_attribute("data-i").unwrap().parse().unwrap())
            .collect()
    };
    let (before, after) = (marked("before-hex"), marked("after-hex"));
    assert_eq!(before, after, "the same bytes are marked on both sides");
    // Only the IPv4 checksum and destination, and the TCP checksum, may change (the ports
    // stay: the backends listen on the virtual service's port here).
    assert!(after.iter().any(|i| (16..20).contains(i)), "{after:?}");
    for i in &after {
        assert!(
            (10..12).contains(i) || (16..20).contains(i) || (36..38).contains(i),
            "byte {i} changed: {after:?}"
        );
    }
    // Selecting a field highlights its bytes.
    let field = find_all(&inspector, ".tc-field")
        .into_iter()
        .find(|f| {
            f.text_content()
                .unwrap_or_default()
                .starts_with("Destination Address")
        })
        .expect("the IPv4 layer lists the destination");
    cast::<web_sys::HtmlElement>(field, "field").click();
    settle().await;
    assert_eq!(
        find_all(&inspector, "[data-testid='packet-hex'] .hl").len(),
        4
    );
}

/// The case that froze the page: 5000 typed into a backend's weight. The engine refuses it
/// with its reason (at the field and in the notice), nothing is recorded, a good weight is
/// taken, Restart runs the clock again, and the page's link reopens the work.
#[wasm_bindgen_test]
async fn an_out_of_bounds_weight_is_refused_and_the_work_survives_a_restart_and_a_reload() {
    use lbsim::scenario::Command;
    let app = mount_app().await;
    let root = &app.root;
    set_speed(root, 0.0).await; // 1×
    play(root).await;
    wait_for("the clock runs", 10_000, || sim_seconds(root) > 0.3).await;
    let weight = "[data-testid='backend-A'] [data-testid='weight']";
    set_input(root, weight, "5000").await;
    let input: web_sys::HtmlInputElement = cast(find(root, weight), weight);
    let message = input.validation_message().unwrap_or_default();
    assert!(
        message.contains("at most 1000"),
        "the field says why: {message:?}"
    );
    assert!(
        text(root, "[data-testid='notice']").contains("weight must be at least 1 and at most 1000"),
        "the notice says why: {}",
        text(root, "[data-testid='notice']")
    );
    set_input(root, weight, "5").await;
    assert_eq!(
        input.validation_message().unwrap_or_default(),
        "",
        "a good weight clears the message"
    );
    linked_timeline_with("the weight 5 in the link", |c| {
        matches!(c, Command::SetWeight { weight: 5, .. })
    })
    .await;
    let shared = linked().expect("the link decodes");
    assert!(
        !shared
            .scenario
            .timeline
            .iter()
            .any(|e| matches!(e.action, Command::SetWeight { weight: 5000, .. })),
        "the refused weight is not recorded"
    );
    assert!(
        shared.scenario.validate().is_empty(),
        "the saved work is valid"
    );
    click(root, "[data-testid='restart']").await;
    play(root).await;
    wait_for("the clock runs after the restart", 10_000, || {
        sim_seconds(root) > 0.3
    })
    .await;
    drop(app);
    // A reload: the same address bar and storage, a new app.
    let app = mount_as_is().await;
    let root = &app.root;
    assert!(
        !exists(root, "[data-testid='notice']"),
        "the link opens without complaint"
    );
    let reopened = linked().expect("the link decodes");
    assert_eq!(reopened.scenario, shared.scenario, "the same work reopens");
}
