//! The playground's tools in the real app: the editor switches the algorithm and the decisions
//! follow; bad input is caught next to its field; the composer's malformed request earns a 400
//! and says why; compare mode shows round robin losing carts that IP hash keeps; charts draw;
//! a capture is computed ahead with progress and offered as a pcap.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn decision_rows(root: &web_sys::Element) -> Vec<String> {
    find_all(root, "[data-testid='event-rows'] li[data-kind='decisions']")
        .iter()
        .map(|r| r.text_content().unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn switching_the_algorithm_in_the_editor_changes_the_decisions() {
    let app = mount_app().await;
    let root = &app.root;
    set_speed(root, 0.0).await; // 1×
    play(root).await;
    wait_for("round robin decisions", 10_000, || {
        decision_rows(root)
            .iter()
            .any(|r| r.contains("round_robin:"))
    })
    .await;
    click(root, "[data-testid='tab-edit']").await;
    let labels = options(root, "[data-testid='edit-algorithm']");
    let lc = labels
        .iter()
        .position(|l| l == "Least connections (nginx)")
        .unwrap() as u32;
    choose(root, "[data-testid='edit-algorithm']", lc).await;
    let switched = sim_seconds(root);
    wait_for("least-connections decisions", 10_000, || {
        decision_rows(root)
            .first()
            .is_some_and(|r| r.contains("least_connections:"))
    })
    .await;
    // Every decision after the switch is least connections.
    for row in decision_rows(root) {
        let at: f64 = row.split('s').next().unwrap().parse().unwrap();
        if at > switched + 0.001 {
            assert!(row.contains("least_connections:"), "{row}");
        }
    }
    // The change is in the timeline, so the address bar's link replays it (once edits pause).
    linked_timeline_with("the address to carry the switch", |c| {
        serde_json::to_string(c)
            .unwrap()
            .contains("least_connections")
    })
    .await;
}

#[wasm_bindgen_test]
async fn checks_rates_and_links_change_live_and_keep_the_edits_waiting_in_the_draft() {
    use lbsim::scenario::{Command, HealthKind, Side};
    use lbsim::time::Duration;
    let app = mount_app().await;
    let root = &app.root;
    set_speed(root, 0.0).await;
    play(root).await;
    wait_for("the world to run", 10_000, || sim_seconds(root) > 0.5).await;
    pause(root).await;
    click(root, "[data-testid='tab-edit']").await;
    // A structural edit waits in the draft...
    let modes = options(root, "[data-testid='edit-mode']");
    let l7 = modes.iter().position(|m| m.starts_with("L7")).unwrap() as u32;
    choose(root, "[data-testid='edit-mode']", l7).await;
    // ...while the checks, the rate and a link change now, at the paused time.
    let at = sim_seconds(root);
    let kinds = options(root, "[data-testid='edit-health']");
    let http = kinds.iter().position(|k| k.starts_with("HTTP")).unwrap() as u32;
    choose(root, "[data-testid='edit-health']", http).await;
    set_input(root, "[data-testid='edit-interval']", "3s").await;
    set_input(root, "[data-testid='edit-rate']", "7.5").await;
    set_input(root, "[data-testid='edit-client-latency']", "80ms").await;
    set_text(
        root,
        "[data-testid='edit-mix']",
        r#"[{"weight": 1, "request": {"method": "POST", "path": "/orders"}}]"#,
    )
    .await;
    linked_timeline_with("the mix change in the link", |c| {
        matches!(c, Command::SetMix { mix, .. }
            if mix.len() == 1 && mix[0].request.as_ref().is_some_and(|r| r.path == "/orders"))
    })
    .await;
    linked_timeline_with("the check change in the link", |c| {
        matches!(c, Command::SetHealth { health: Some(h) }
            if matches!(h.kind, HealthKind::Http(_)) && h.interval == Duration::from_secs(3))
    })
    .await;
    linked_timeline_with(
        "the rate change in the link",
        |c| matches!(c, Command::SetRate { rate, .. } if *rate == 7.5),
    )
    .await;
    linked_timeline_with("the link change in the link", |c| {
        matches!(c, Command::SetLink { side: Side::Client, link }
            if link.latency == Duration::from_millis(80))
    })
    .await;
    assert!((sim_seconds(root) - at).abs() < 1e-6, "paused: nothing ran");
    // Both show in the event list.
    let events = text(root, "[data-testid='event-rows']");
    assert!(events.contains("web: 7.5 arrivals per second"), "{events}");
    assert!(
        events.contains("client links: 80ms latency, 0% loss"),
        "{events}"
    );
    assert!(
        events.contains("health checks: HTTP GET /health every 3s"),
        "{events}"
    );
    let value = |id: &str| {
        cast::<web_sys::HtmlInputElement>(find(root, &format!("[data-testid='{id}']")), id).value()
    };
    assert_eq!(value("edit-rate"), "7.5");
    assert_eq!(value("edit-client-latency"), "80ms");
    assert_eq!(value("edit-interval"), "3s");
    // The waiting edit survived the live changes and can still be applied.
    let mode = cast::<web_sys::HtmlSelectElement>(find(root, "[data-testid='edit-mode']"), "mode");
    assert_eq!(mode.selected_index(), l7 as i32);
    let apply =
        cast::<web_sys::HtmlButtonElement>(find(root, "[data-testid='edit-apply']"), "apply");
    assert!(!apply.disabled(), "the waiting edit can be applied");
    // A mix the engine refuses says why, with the entry's path.
    set_text(
        root,
        "[data-testid='edit-mix']",
        r#"[{"weight": 0, "request": {"path": "/"}}]"#,
    )
    .await;
    let mix = find(root, "[data-testid='edit-mix']");
    let why = mix.parent_element().unwrap().text_content().unwrap();
    assert!(why.contains("mix[0].weight must be at least 1"), "{why}");
    // A bad live value is refused next to its field and changes nothing.
    set_input(root, "[data-testid='edit-client-latency']", "11s").await;
    let field = find(root, "[data-testid='edit-client-latency']");
    assert_eq!(field.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert!(
        field
            .parent_element()
            .unwrap()
            .text_content()
            .unwrap()
            .contains("at most 10s"),
        "the engine's reason is shown"
    );
}

#[wasm_bindgen_test]
async fn bad_input_gets_a_message_next_to_its_field_and_cannot_be_applied() {
    let app = mount_app().await;
    let root = &app.root;
    click(root, "[data-testid='tab-edit']").await;
    set_input(root, "[data-testid='edit-interval']", "soon").await;
    let field = find(root, "[data-testid='edit-interval']");
    assert_eq!(field.get_attribute("aria-invalid").as_deref(), Some("true"));
    let message = field.parent_element().unwrap().text_content().unwrap();
    assert!(message.contains("250ms or 2s"), "{message}");
    set_input(root, "[data-testid='edit-rate']", "-3").await;
    assert!(text(root, "[data-testid='editor']").contains("more than 0"));
    let apply =
        cast::<web_sys::HtmlButtonElement>(find(root, "[data-testid='edit-apply']"), "apply");
    assert!(apply.disabled(), "nothing applies while a field is wrong");
    // A good value clears its message.
    set_input(root, "[data-testid='edit-interval']", "1s").await;
    assert_eq!(
        find(root, "[data-testid='edit-interval']")
            .get_attribute("aria-invalid")
            .as_deref(),
        Some("false")
    );
    // A seed that is not a number is refused where it was typed.
    set_input(root, "[data-testid='seed']", "twelve").await;
    assert!(text(root, "[data-testid='controls']").contains("whole number"));
}

#[wasm_bindgen_test]
async fn a_structural_edit_restarts_with_the_new_shape() {
    let app = mount_app().await;
    let root = &app.root;
    click(root, "[data-testid='tab-edit']").await;
    let modes = options(root, "[data-testid='edit-mode']");
    let l7 = modes.iter().position(|m| m.starts_with("L7")).unwrap() as u32;
    choose(root, "[data-testid='edit-mode']", l7).await;
    click(root, "[data-testid='edit-apply']").await;
    assert!(text(root, "[data-testid='balancer']").contains("L7 proxy"));
    assert!(sim_seconds(root) < 0.5, "restarted from zero");
}

#[wasm_bindgen_test]
async fn a_malformed_request_from_the_composer_earns_a_400_and_says_why() {
    let app = mount_app().await;
    let root = &app.root;
    // An L7 lesson: the proxy reads requests.
    press("l").await;
    click(root, "[data-testid='lesson-path-routing']").await;
    // A lesson without a quiz runs at once.
    assert!(text(root, "[data-testid='play']").contains("Pause"));
    pause(root).await;
    // The lesson's layout folds the tools away: open it in the playground.
    click(root, "[data-testid='open-playground']").await;
    click(root, "[data-testid='tab-send']").await;
    set_text(
        root,
        "[data-testid='compose-text']",
        "GET /api/items HTTP/1.1\nHost shop.example\n\n",
    )
    .await;
    let parse = text(root, "[data-testid='compose-parse']");
    assert!(
        parse.contains("will reject") && parse.contains("400"),
        "{parse}"
    );
    click(root, "[data-testid='compose-send']").await;
    let status = text(root, "[data-testid='compose-status']");
    assert!(status.starts_with("400 "), "{status}");
    let result = text(root, "[data-testid='compose-result']");
    assert!(
        result.contains("from the balancer: not a valid HTTP/1.x message"),
        "the body says who answered and why: {result}"
    );
    // A good request goes through a rule to a backend.
    set_text(
        root,
        "[data-testid='compose-text']",
        "GET /api/items HTTP/1.1\nHost: shop.example\n\n",
    )
    .await;
    click(root, "[data-testid='compose-send']").await;
    assert!(text(root, "[data-testid='compose-status']").starts_with("200 "));
}

#[wasm_bindgen_test]
async fn compare_mode_shows_round_robin_losing_carts_that_ip_hash_keeps() {
    let app = mount_app().await;
    let root = &app.root;
    press("l").await;
    click(root, "[data-testid='lesson-cart']").await;
    click(root, "[data-testid='choice-2']").await;
    click(root, "[data-testid='answer']").await;
    click(root, "[data-testid='open-playground']").await;
    click(root, "[data-testid='tab-compare']").await;
    let variants = options(root, "[data-testid='compare-variant']");
    let hash = variants
        .iter()
        .position(|v| v == "IP hash (whole address)")
        .unwrap() as u32;
    choose(root, "[data-testid='compare-variant']", hash).await;
    click(root, "[data-testid='compare-start']").await;
    assert!(
        exists(root, "[data-testid='twin-canvas']"),
        "B is drawn beside A"
    );
    set_speed(root, 1.0).await; // 10×
                                // Before the 20 s crash: enough carts have checked out on both sides (the lesson pauses at
                                // its moment on the way: play on).
    play_until(root, 15.0, 30_000).await;
    pause(root).await;
    let row = find(
        root,
        "[data-testid='compare-table'] tr[data-metric='carts lost']",
    );
    let cells: Vec<String> = find_all(&row, "td")
        .iter()
        .map(|c| c.text_content().unwrap())
        .collect();
    let (a, b): (u32, u32) = (cells[0].parse().unwrap(), cells[1].parse().unwrap());
    assert!(a > 0, "round robin loses carts: {cells:?}");
    assert_eq!(b, 0, "IP hash keeps every cart before the crash: {cells:?}");
    assert!(
        row.class_list().contains("diff"),
        "the difference is highlighted"
    );
}

#[wasm_bindgen_test]
async fn charts_draw_and_a_capture_is_computed_ahead_and_offered() {
    let app = mount_app().await;
    let root = &app.root;
    set_speed(root, 1.0).await;
    play(root).await;
    wait_for("3 simulated seconds", 20_000, || sim_seconds(root) >= 3.0).await;
    pause(root).await;
    click(root, "[data-testid='tab-charts']").await;
    assert!(!find_all(root, "[data-testid='chart-latency'] polyline").is_empty());
    assert_eq!(find_all(root, "[data-testid='chart-share'] tr").len(), 4);
    click(root, "[data-testid='download-pcap-client']").await;
    wait_for("the capture", 30_000, || {
        find(root, "[data-testid='downloads']")
            .get_attribute("data-last")
            .is_some_and(|l| l.starts_with("traffic-cop-client.pcap:"))
    })
    .await;
    let last = find(root, "[data-testid='downloads']")
        .get_attribute("data-last")
        .unwrap();
    let bytes: usize = last.split(':').nth(1).unwrap().parse().unwrap();
    assert!(bytes > 10_000, "{last}");
    assert!(!exists(root, "[data-testid='download-progress']"));
    click(root, "[data-testid='download-report']").await;
    let last = find(root, "[data-testid='downloads']")
        .get_attribute("data-last")
        .unwrap();
    assert!(last.starts_with("traffic-cop-report.json:"), "{last}");
}
