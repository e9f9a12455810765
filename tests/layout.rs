//! The page on a laptop (1280×720) and a phone (390×844), for the default page and two
//! lessons: nothing wider than the screen (no horizontal scrolling), no two pieces of text on
//! top of each other, touch targets of 44 px on the phone, and on a lesson link the lesson's
//! question on screen without a click. Also the table view, the live region, the theme
//! toggle and the lesson's keyboard walk.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use lbsim::presets;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{DomRect, Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const SIZES: [(u32, u32); 2] = [(1280, 720), (390, 844)];

/// A rectangle as (left, top, right, bottom).
type Box4 = (f64, f64, f64, f64);

fn b4(r: &DomRect) -> Box4 {
    (r.left(), r.top(), r.right(), r.bottom())
}

fn intersect(a: Box4, b: Box4) -> Box4 {
    (a.0.max(b.0), a.1.max(b.1), a.2.min(b.2), a.3.min(b.3))
}

fn area(a: Box4) -> f64 {
    (a.2 - a.0).max(0.0) * (a.3 - a.1).max(0.0)
}

fn style(el: &Element) -> web_sys::CssStyleDeclaration {
    web_sys::window()
        .unwrap()
        .get_computed_style(el)
        .unwrap()
        .unwrap()
}

/// The part of `el` that is on screen: its box cut by every ancestor (up to `root`) that clips
/// its overflow; `None` when nothing of it shows.
fn visible_box(el: &Element, root: &Element) -> Option<Box4> {
    let s = style(el);
    if s.get_property_value("visibility").unwrap() == "hidden"
        || s.get_property_value("display").unwrap() == "none"
    {
        return None;
    }
    let mut b = b4(&el.get_bounding_client_rect());
    let mut up = el.parent_element();
    while let Some(a) = up {
        let st = style(&a);
        if st.get_property_value("display").unwrap() == "none" {
            return None;
        }
        let clips = ["overflow-x", "overflow-y"]
            .iter()
            .any(|p| st.get_property_value(p).unwrap() != "visible");
        if clips {
            b = intersect(b, b4(&a.get_bounding_client_rect()));
        }
        if a == *root {
            break;
        }
        up = a.parent_element();
    }
    (area(b) > 0.0).then_some(b)
}

/// Elements under `root` holding text of their own (not only in their children), and their
/// visible boxes. Screen-reader-only text is left out.
fn text_boxes(root: &Element) -> Vec<(Element, Box4)> {
    find_all(root, "*")
        .into_iter()
        .filter(|el| {
            let nodes = el.child_nodes();
            (0..nodes.length()).any(|i| {
                let n = nodes.item(i).unwrap();
                n.node_type() == web_sys::Node::TEXT_NODE
                    && !n.text_content().unwrap_or_default().trim().is_empty()
            }) && el.closest(".tc-sr").unwrap().is_none()
        })
        .filter_map(|el| {
            let b = visible_box(&el, root)?;
            Some((el, b))
        })
        .collect()
}

fn describe(el: &Element) -> String {
    let text: String = el
        .text_content()
        .unwrap_or_default()
        .chars()
        .take(40)
        .collect();
    format!("<{} class={:?}> {text:?}", el.tag_name(), el.class_name())
}

/// Checks one page at one size.
fn check_layout(root: &Element, (w, _): (u32, u32), what: &str) {
    let frame = b4(&root.get_bounding_client_rect());
    // No horizontal scrolling, and nothing beyond the frame that is not clipped.
    let r: HtmlElement = root.clone().dyn_into().unwrap();
    assert!(
        r.scroll_width() <= r.client_width() + 1,
        "{what}: scrolls sideways ({} > {})",
        r.scroll_width(),
        r.client_width()
    );
    for el in find_all(root, "*") {
        if let Some(b) = visible_box(&el, root) {
            assert!(
                b.0 >= frame.0 - 1.0 && b.2 <= frame.0 + f64::from(w) + 1.0,
                "{what}: wider than the screen: {} at {b:?}",
                describe(&el)
            );
        }
    }
    // No two pieces of text on top of each other.
    let texts = text_boxes(root);
    for (i, (a, ba)) in texts.iter().enumerate() {
        for (b, bb) in &texts[i + 1..] {
            if a.contains(Some(b)) || b.contains(Some(a)) {
                continue;
            }
            let overlap = area(intersect(*ba, *bb));
            assert!(
                overlap <= 4.0,
                "{what}: text overlaps ({overlap:.0} px²): {} and {}",
                describe(a),
                describe(b)
            );
        }
    }
}

/// Buttons on the phone are at least 44 px each way (touch targets).
fn check_touch_targets(root: &Element, what: &str) {
    for el in find_all(root, "button, select, input[type=text]") {
        if el.class_list().contains("tc-scrub-mark") || el.closest(".tc-hits").unwrap().is_some() {
            continue;
        }
        if let Some(b) = visible_box(&el, root) {
            let r = el.get_bounding_client_rect();
            let _ = b;
            assert!(
                r.height() >= 43.5 && r.width() >= 43.5,
                "{what}: a small touch target: {} is {:.0}×{:.0}",
                describe(&el),
                r.width(),
                r.height()
            );
        }
    }
}

#[wasm_bindgen_test]
async fn the_default_page_fits_a_laptop_and_a_phone() {
    for size in SIZES {
        fresh_visit();
        let app = mount_sized(size.0, size.1).await;
        sleep_ms(300).await;
        let what = format!("default page at {}×{}", size.0, size.1);
        check_layout(&app.root, size, &what);
        if size.0 < 500 {
            check_touch_targets(&app.root, &what);
        }
    }
}

#[wasm_bindgen_test]
async fn lessons_fit_a_laptop_and_a_phone_with_their_question_on_screen() {
    for name in ["cart", "tcp-check-crash"] {
        for size in SIZES {
            fresh_visit();
            set_fragment(&presets::get(name).unwrap().link());
            let app = mount_sized(size.0, size.1).await;
            sleep_ms(300).await;
            let root = &app.root;
            let what = format!("{name} at {}×{}", size.0, size.1);
            assert_eq!(
                find(root, "[data-testid='app']")
                    .get_attribute("data-layout")
                    .as_deref(),
                Some("lesson"),
                "{what}: a lesson link opens the lesson layout"
            );
            let q = find(root, "[data-testid='lesson-question']");
            assert!(
                visible_box(&q, root).is_some(),
                "{what}: the question is on the page without a click"
            );
            assert!(text(root, "[data-testid='lesson-question']")
                .contains(&presets::get(name).unwrap().question));
            check_layout(root, size, &what);
            if size.0 < 500 {
                check_touch_targets(root, &what);
            }
        }
    }
}

#[wasm_bindgen_test]
async fn a_lesson_is_walked_through_with_the_keyboard_alone() {
    fresh_visit();
    set_fragment(&presets::get("cart").unwrap().link());
    let app = mount_sized(1280, 720).await;
    let root = &app.root;
    // The lesson comes from the link: on a busy machine it can take longer than one settle.
    wait_for("the lesson's quiz", 10_000, || {
        exists(root, "[data-testid='quiz']")
    })
    .await;
    // Every control of the lesson can take the keyboard's focus.
    for el in find_all(
        root,
        "[data-testid='lesson'] button, [data-testid='lesson'] input",
    ) {
        let h: HtmlElement = el.clone().dyn_into().unwrap();
        assert!(h.tab_index() >= 0, "{} is reachable by Tab", describe(&el));
    }
    // The quiz: a digit chooses, Enter answers.
    let quiz = find(root, "[data-testid='quiz']");
    key_on(&quiz, "3").await;
    let third: web_sys::HtmlInputElement = cast(find(root, "[data-testid='choice-2']"), "choice");
    assert!(third.checked(), "3 chose the third answer");
    key_on(&quiz, "Enter").await;
    assert!(text(root, "[data-testid='verdict']").starts_with("Right."));
    // Space pauses and plays, . steps one event, , goes one back.
    pause(root).await;
    press(" ").await;
    assert!(
        text(root, "[data-testid='play']").contains("Pause"),
        "Space plays"
    );
    press(" ").await;
    let before = events_processed(root);
    press(".").await;
    assert_eq!(events_processed(root), before + 1);
    press(",").await;
    assert_eq!(events_processed(root), before);
    // l leaves for the list of lessons.
    press("l").await;
    assert!(exists(root, "[data-testid='lesson-list']"));
}

/// Dispatches a keydown of `key` on `el`, as a keyboard focused there would.
async fn key_on(el: &Element, key: &str) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    el.dispatch_event(&e).unwrap();
    settle().await;
}

#[wasm_bindgen_test]
async fn the_table_view_and_the_live_region_say_what_the_canvas_shows() {
    fresh_visit();
    set_fragment(&presets::get("tcp-check-crash").unwrap().link());
    let app = mount_sized(1280, 720).await;
    let root = &app.root;
    click(root, "[data-testid='table-toggle']").await;
    assert_eq!(
        find_all(root, "[data-testid^='row-']").len(),
        4,
        "a row per backend"
    );
    // At the lesson's pause (B crashed), the table and the live region say so.
    wait_for("the crash moment", 30_000, || {
        text(root, "[data-testid='play']").contains("Play") && sim_seconds(root) >= 10.0
    })
    .await;
    assert!(text(root, "[data-testid='row-B']").contains("crashed"));
    let said = text(root, "[data-testid='announcer']");
    assert!(
        said.contains("B") && said.contains("crash"),
        "announced: {said}"
    );
}

#[wasm_bindgen_test]
async fn the_theme_toggle_switches_and_is_kept() {
    fresh_visit();
    storage().remove_item(traffic_cop::THEME_KEY).unwrap();
    let html = web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .document_element()
        .unwrap();
    let app = mount_app().await;
    let root = &app.root;
    let dark_before = traffic_cop::app_theme_is_dark();
    click(root, "[data-testid='theme']").await;
    assert_eq!(traffic_cop::app_theme_is_dark(), !dark_before);
    let chosen = if dark_before { "light" } else { "dark" };
    assert_eq!(html.get_attribute("data-theme").as_deref(), Some(chosen));
    assert_eq!(
        storage()
            .get_item(traffic_cop::THEME_KEY)
            .unwrap()
            .as_deref(),
        Some(chosen)
    );
    // The page's background follows.
    let bg = style(&find(root, ".tc-shell").parent_element().unwrap())
        .get_property_value("--bg")
        .unwrap();
    assert_eq!(
        bg.trim(),
        if chosen == "dark" {
            "#17181a"
        } else {
            "#f7f7f5"
        }
    );
    // Reopened, the choice holds.
    drop(app);
    html.remove_attribute("data-theme").unwrap();
    let _app = mount_as_is().await;
    assert_eq!(html.get_attribute("data-theme").as_deref(), Some(chosen));
    storage().remove_item(traffic_cop::THEME_KEY).unwrap();
    html.remove_attribute("data-theme").unwrap();
}
