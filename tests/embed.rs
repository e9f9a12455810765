//! Embed mode: an embed link shows one lesson read-only (no tools, no editing), follows the
//! theme it asks for, does not touch the host page's saved work, starts only once on screen,
//! and tells its parent page how tall it is.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use lbsim::presets;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Puts `query` and `fragment` in the address bar without reloading.
fn set_address(query: &str, fragment: &str) {
    let w = web_sys::window().unwrap();
    let path = w.location().pathname().unwrap();
    w.history()
        .unwrap()
        .replace_state_with_url(
            &JsValue::NULL,
            "",
            Some(&format!("{path}{query}#{fragment}")),
        )
        .unwrap();
}

#[wasm_bindgen_test]
async fn an_embed_link_shows_one_lesson_read_only_and_posts_its_height() {
    fresh_visit();
    let cart = presets::get("cart").unwrap();
    // Listen for height messages wherever they go (the test page may itself be framed).
    let heights: Rc<RefCell<Vec<f64>>> = Rc::default();
    let listener = {
        let heights = heights.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let data = e.data();
            let kind = js_sys::Reflect::get(&data, &"type".into()).ok();
            if kind.and_then(|k| k.as_string()).as_deref() == Some(traffic_cop::HEIGHT_MESSAGE) {
                let h = js_sys::Reflect::get(&data, &"height".into()).unwrap();
                heights.borrow_mut().push(h.as_f64().unwrap());
            }
        })
    };
    let window = web_sys::window().unwrap();
    let targets = [Some(window.clone()), window.parent().ok().flatten()];
    for t in targets.iter().flatten() {
        t.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref())
            .unwrap();
    }
    set_address("?embed&theme=dark", &cart.link());
    let app = mount_sized(800, 600).await;
    let root = &app.root;
    let page = find(root, "[data-testid='app']");
    assert_eq!(page.get_attribute("data-embed").as_deref(), Some("true"));
    assert_eq!(
        window
            .document()
            .unwrap()
            .document_element()
            .unwrap()
            .get_attribute("data-theme")
            .as_deref(),
        Some("dark"),
        "the embed follows the theme it asks for"
    );
    assert!(text(root, "[data-testid='lesson-question']").contains(&cart.question));
    for tool in [
        "backends",
        "editor",
        "side-panel",
        "share",
        "seed",
        "bottom-panel",
    ] {
        assert!(
            !exists(root, &format!("[data-testid='{tool}']")),
            "no {tool} in an embed"
        );
    }
    assert!(exists(root, "[data-testid='time']"), "it can be scrubbed");
    assert!(exists(root, "[data-testid='step']"), "and stepped");
    // On screen, it starts by itself; and it says how tall it is.
    wait_for("the embed to start", 10_000, || sim_seconds(root) > 0.2).await;
    wait_for("a height message", 5_000, || !heights.borrow().is_empty()).await;
    assert!(
        heights.borrow().iter().all(|h| *h > 100.0),
        "{:?}",
        heights.borrow()
    );
    assert!(
        storage().get_item(traffic_cop::WORK_KEY).unwrap().is_none(),
        "an embed keeps nothing in the host's storage"
    );
    for t in targets.iter().flatten() {
        t.remove_event_listener_with_callback("message", listener.as_ref().unchecked_ref())
            .unwrap();
    }
    drop(app);
    web_sys::window()
        .unwrap()
        .document()
        .unwrap()
        .document_element()
        .unwrap()
        .remove_attribute("data-theme")
        .unwrap();
    set_address("", "");
}
