//! Traffic Cop's browser app: Yew components over the `lbsim` engine.
//!
//! The app only shows and steers the simulation; every simulation fact comes from the engine.

#![warn(missing_docs)]

mod app;
pub mod components;

pub use app::App;

/// Mounts the app on the page's `<body>`.
///
/// Installs a panic hook first so that an engine or UI bug shows a message in the console
/// instead of a silent dead page.
pub fn start() {
    console_error_panic_hook::set_once();
    yew::Renderer::<App>::new().render();
}
