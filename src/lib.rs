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

pub use app::{install_panic_hook, App, WORK_KEY};

/// Mounts the app on the page's `<body>`.
///
/// Installs a panic hook first, so that a bug shows a message with a reload button (the work
/// is saved in local storage) instead of a silent dead page.
pub fn start() {
    app::install_panic_hook();
    yew::Renderer::<App>::new().render();
}
