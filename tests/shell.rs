//! The app mounts in a real browser and renders its page frame.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

#[wasm_bindgen_test]
async fn shell_renders_every_region() {
    let root = common::mount_app().await;
    let title = root
        .query_selector(".tc-title")
        .unwrap()
        .expect("the header shows the product name");
    assert_eq!(title.text_content().unwrap(), "Traffic Cop");
    for region in ["topology", "side-panel", "bottom-panel"] {
        let el = root
            .query_selector(&format!("[data-testid='{region}']"))
            .unwrap();
        assert!(el.is_some(), "region {region} is rendered");
    }
}
