//! Traffic Cop's browser app: Yew components over the `lbsim` engine.
//!
//! The app only shows and steers the simulation; every simulation fact comes from the engine.

#![warn(missing_docs)]

mod app;
pub mod components;
pub mod hooks;
pub mod render;
pub mod state;
pub mod view;

pub use app::{install_panic_hook, App, HEIGHT_MESSAGE, THEME_KEY, WORK_KEY};

/// Whether the page shows its dark theme now (the header's toggle reads it).
pub fn app_theme_is_dark() -> bool {
    app::theme_is_dark()
}

/// Mounts the app on the page's `<body>`.
///
/// Installs a panic hook first, so that a bug shows a message with a reload button (the work
/// is saved in local storage) instead of a silent dead page.
pub fn start() {
    app::install_panic_hook();
    register_service_worker();
    yew::Renderer::<App>::new().render();
}

/// Registers the service worker that keeps the bundle for offline visits (`static/sw.js`).
fn register_service_worker() {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().service_worker().register("sw.js");
    }
}
