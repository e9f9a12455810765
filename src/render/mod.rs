//! Drawing the world on a canvas: pure functions from one engine frame (and the page's level
//! and speed) to draw calls. Everything visual is drawn here, for both sides of compare mode
//! alike; the topology lays accessible hit targets over the main canvas at the same positions
//! (see [`layout`]).
//!
//! Two levels: packets, each on its link ([`packets`]), when a packet stays on screen long
//! enough to follow; else requests, each one token from client to backend and back
//! ([`requests`]). At both, clients wear the colour of the backend they map to and the nodes
//! show health, faults, drain, weight, queue and workers ([`nodes`]).

pub mod layout;
pub mod nodes;
pub mod packets;
pub mod palette;
pub mod requests;

use std::collections::VecDeque;

use lbsim::ids::PacketId;
use lbsim::view::{EndedRequest, Frame};
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

pub use layout::Layout;
pub use palette::{Theme, BACKENDS};

use crate::hooks::use_simulation::MARK_SECONDS;
use crate::view;

/// What one canvas shows.
pub struct Scene<'a> {
    /// The frame.
    pub frame: &'a Frame,
    /// Request level (else packet level).
    pub requests: bool,
    /// The clock's speed, which sets how long marks last in simulated time.
    pub speed: f64,
    /// Requests that ended lately.
    pub ended: &'a VecDeque<EndedRequest>,
    /// The packet the inspector shows.
    pub selected: Option<PacketId>,
}

/// Whether the user asked for reduced motion.
pub fn reduced_motion() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches())
}

/// Draws a scene on a 2D context of `w` × `h` CSS pixels; returns (packets, tokens) drawn.
pub fn draw(
    ctx: &CanvasRenderingContext2d,
    w: f64,
    h: f64,
    scene: &Scene<'_>,
    theme: Theme,
) -> (usize, usize) {
    let frame = scene.frame;
    let mut layout = Layout::of(frame, w, h);
    layout.snap = theme.reduced_motion;
    let life_us = MARK_SECONDS * scene.speed * 1e6;
    ctx.clear_rect(0.0, 0.0, w, h);
    nodes::links(ctx, &layout, frame, theme);
    nodes::clients(ctx, &layout, frame, theme, life_us);
    nodes::balancer(ctx, &layout, frame, theme);
    nodes::backends(ctx, &layout, frame, theme, life_us);
    if scene.requests {
        let tokens = requests::draw(ctx, &layout, frame, theme);
        requests::marks(ctx, &layout, frame, scene.ended, life_us);
        (0, tokens)
    } else {
        let dots = view::packet_dots(frame);
        packets::draw(ctx, &layout, &dots, scene.selected, theme);
        (dots.len(), 0)
    }
}

/// Draws a scene on `canvas`, sizing its backing store to its layout size and the device's
/// pixel ratio. Marks the canvas with its level and what it drew, and the first frame drawn
/// with the time since navigation (for the start-up measurement).
pub fn draw_frame(canvas: &HtmlCanvasElement, scene: &Scene<'_>) {
    let (w, h) = (
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    if w <= 0.0 || h <= 0.0 {
        return;
    }
    let window = web_sys::window();
    let ratio = window.as_ref().map_or(1.0, |w| w.device_pixel_ratio());
    let (pw, ph) = ((w * ratio) as u32, (h * ratio) as u32);
    if canvas.width() != pw || canvas.height() != ph {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|x| x.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let _ = ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
    let (packets, tokens) = draw(&ctx, w, h, scene, Theme::current());
    let level = if scene.requests {
        "requests"
    } else {
        "packets"
    };
    canvas.set_attribute("data-level", level).ok();
    canvas
        .set_attribute("data-packets", &packets.to_string())
        .ok();
    canvas
        .set_attribute("data-tokens", &tokens.to_string())
        .ok();
    if !canvas.has_attribute("data-first-frame-ms") {
        if let Some(p) = window.and_then(|w| w.performance()) {
            canvas
                .set_attribute("data-first-frame-ms", &format!("{:.1}", p.now()))
                .ok();
        }
    }
}
