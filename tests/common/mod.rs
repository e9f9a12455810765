//! Helpers shared by the browser suites: mount the real app and wait for Yew to render.
#![allow(dead_code)]

use wasm_bindgen::JsCast;
use web_sys::Element;

/// Mounts a fresh `App` into its own element and waits until it rendered.
pub async fn mount_app() -> Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    yew::Renderer::<traffic_cop::App>::with_root(host.clone()).render();
    settle().await;
    host
}

/// Lets Yew's scheduler and the browser run pending work.
pub async fn settle() {
    sleep_ms(0).await;
    sleep_ms(10).await;
}

/// Waits `ms` milliseconds of wall time on the browser's event loop.
pub async fn sleep_ms(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Casts an element to `T`, panicking with the selector in the message.
pub fn cast<T: JsCast>(el: Element, what: &str) -> T {
    el.dyn_into::<T>()
        .unwrap_or_else(|_| panic!("{what} has an unexpected element type"))
}
