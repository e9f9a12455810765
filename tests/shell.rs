//! The app mounts in a real browser and renders its page frame.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;

#[wasm_bindgen_test]
async fn shell_renders_every_region() {
    let app = common::mount_app().await;
    let root = &app.root;
    assert_eq!(common::text(root, ".tc-title"), "Traffic Cop");
    for region in [
        "topology",
        "side-panel",
        "bottom-panel",
        "controls",
        "events",
        "backends",
    ] {
        assert!(
            common::exists(root, &format!("[data-testid='{region}']")),
            "region {region} is rendered"
        );
    }
}
