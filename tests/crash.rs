//! A bug anyway: the app's panic hook (installed as the page installs it, before rendering)
//! survives Yew's renderer and puts the crash message with its reload button on the page.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_panic_shows_the_crash_message_with_a_reload_button() {
    traffic_cop::install_panic_hook();
    // Rendering the app must not replace the hook (Yew's renderer installs its own default
    // unless a custom one was set).
    let _app = mount_app().await;
    // Panic in a callback of the page's own, as a bug in an event handler would.
    let boom = Closure::once_into_js(|| -> () { panic!("a deliberate bug for the test") });
    web_sys::window()
        .unwrap()
        .set_timeout_with_callback_and_timeout_and_arguments_0(boom.unchecked_ref(), 0)
        .unwrap();
    wait_for("the crash message", 5_000, || {
        web_sys::window()
            .unwrap()
            .document()
            .unwrap()
            .get_element_by_id("tc-crash")
            .is_some()
    })
    .await;
    let doc = web_sys::window().unwrap().document().unwrap();
    let crash = doc.get_element_by_id("tc-crash").unwrap();
    let text = crash.text_content().unwrap_or_default();
    assert!(text.contains("Reloading the page restores it"), "{text}");
    assert!(text.contains("a deliberate bug for the test"), "{text}");
    assert!(
        crash.query_selector("button").unwrap().is_some(),
        "a reload button"
    );
}
