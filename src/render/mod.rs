//! Drawing the topology's packets on a canvas: pure functions from the view model (host
//! positions, packets with their progress) to draw calls. Hosts themselves are DOM elements
//! laid over the canvas at the same positions, so they can be clicked, focused and read.

use std::collections::BTreeMap;

use lbsim::ids::{HostId, PacketId};
use lbsim::sim::{HostView, Role};
use lbsim::view::Frame;
use lbsim::wire::dissect::PacketKind;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use crate::view::{self, PacketDot, LABEL_UP_TO};

/// More packets than this on one link are drawn as a stream with a count.
pub const AGGREGATE_ABOVE: usize = 16;

/// Where each host sits, in fractions of the topology's width and height.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Position of each host by id.
    pub positions: Vec<(f64, f64)>,
    /// The hub (balancer position).
    pub hub: HostId,
}

fn spread(n: usize, i: usize, lo: f64, hi: f64) -> f64 {
    if n <= 1 {
        (lo + hi) / 2.0
    } else {
        lo + (hi - lo) * i as f64 / (n - 1) as f64
    }
}

impl Layout {
    /// Clients (and players) on the left, the balancer in the middle, backends on the right.
    pub fn of(hosts: &[HostView]) -> Layout {
        let mut positions = vec![(0.5, 0.5); hosts.len()];
        let hub = hosts
            .iter()
            .find(|h| h.role == Role::Balancer)
            .map_or(HostId(0), |h| h.id);
        let left: Vec<&HostView> = hosts
            .iter()
            .filter(|h| matches!(h.role, Role::Client | Role::Player))
            .collect();
        let right: Vec<&HostView> = hosts.iter().filter(|h| h.role == Role::Backend).collect();
        let band = |n: usize| {
            let half = (0.1 * n as f64).min(0.42);
            (0.5 - half, 0.5 + half)
        };
        let (lo, hi) = band(left.len());
        for (i, h) in left.iter().enumerate() {
            positions[h.id.index()] = (0.08, spread(left.len(), i, lo, hi));
        }
        let (lo, hi) = band(right.len());
        for (i, h) in right.iter().enumerate() {
            positions[h.id.index()] = (0.86, spread(right.len(), i, lo, hi));
        }
        positions[hub.index()] = (0.47, 0.5);
        Layout { positions, hub }
    }

    /// A host's position in pixels.
    pub fn at(&self, h: HostId, w: f64, hgt: f64) -> (f64, f64) {
        let (x, y) = self.positions.get(h.index()).copied().unwrap_or((0.5, 0.5));
        (x * w, y * hgt)
    }

    /// Where a packet is drawn, in pixels: along its link, nudged sideways by direction so
    /// that the two directions of a link do not overlap.
    pub fn place(&self, p: &PacketDot, w: f64, h: f64) -> (f64, f64) {
        let (x0, y0) = self.at(p.from, w, h);
        let (x1, y1) = self.at(p.to, w, h);
        let (dx, dy) = (x1 - x0, y1 - y0);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let side = if p.to == self.hub { 4.0 } else { -4.0 };
        let (nx, ny) = (-dy / len * side, dx / len * side);
        (x0 + dx * p.progress + nx, y0 + dy * p.progress + ny)
    }
}

/// Colour of a packet kind (Okabe–Ito, colour-blind safe); each kind also has its own shape.
pub fn colour(kind: PacketKind) -> &'static str {
    match kind {
        PacketKind::Control => "#56b4e9",
        PacketKind::Data => "#0072b2",
        PacketKind::Datagram => "#009e73",
        PacketKind::Probe => "#cc79a7",
        PacketKind::Rewritten => "#e69f00",
        PacketKind::Lost => "#d55e00",
    }
}

/// Adds one packet's shape to the current path (the caller fills or strokes once per kind).
fn shape(ctx: &CanvasRenderingContext2d, kind: PacketKind, x: f64, y: f64, r: f64) {
    match kind {
        PacketKind::Control => {
            ctx.move_to(x, y - r * 1.3);
            ctx.line_to(x + r * 1.3, y);
            ctx.line_to(x, y + r * 1.3);
            ctx.line_to(x - r * 1.3, y);
            ctx.close_path();
        }
        PacketKind::Datagram => {
            ctx.move_to(x, y - r * 1.2);
            ctx.line_to(x + r * 1.2, y + r);
            ctx.line_to(x - r * 1.2, y + r);
            ctx.close_path();
        }
        PacketKind::Probe => ctx.rect(x - r, y - r, 2.0 * r, 2.0 * r),
        PacketKind::Lost => {
            ctx.move_to(x - r, y - r);
            ctx.line_to(x + r, y + r);
            ctx.move_to(x + r, y - r);
            ctx.line_to(x - r, y + r);
        }
        PacketKind::Data | PacketKind::Rewritten => {
            ctx.move_to(x + r, y);
            let _ = ctx.arc(x, y, r, 0.0, std::f64::consts::TAU);
        }
    }
}

/// Draws every packet of one kind as one path: one style change and one fill per kind.
fn shapes(ctx: &CanvasRenderingContext2d, kind: PacketKind, at: &[(f64, f64)]) {
    if at.is_empty() {
        return;
    }
    let c = colour(kind);
    ctx.set_fill_style_str(c);
    ctx.set_stroke_style_str(c);
    ctx.begin_path();
    for &(x, y) in at {
        shape(ctx, kind, x, y, 4.0);
    }
    if kind == PacketKind::Lost {
        ctx.set_line_width(2.5);
        ctx.stroke();
        return;
    }
    ctx.fill();
    if kind == PacketKind::Rewritten {
        // A ring around each: rewritten packets stand out in any palette.
        ctx.begin_path();
        ctx.set_line_width(1.5);
        for &(x, y) in at {
            ctx.move_to(x + 6.5, y);
            let _ = ctx.arc(x, y, 6.5, 0.0, std::f64::consts::TAU);
        }
        ctx.stroke();
    }
}

/// Draws links and packets on a canvas of `w` × `h` CSS pixels (already scaled for the
/// device's pixel ratio).
pub fn draw(
    ctx: &CanvasRenderingContext2d,
    w: f64,
    h: f64,
    layout: &Layout,
    dots: &[PacketDot],
    selected: Option<PacketId>,
    ink: &str,
) {
    ctx.clear_rect(0.0, 0.0, w, h);
    // Links: every host to the hub.
    ctx.set_global_alpha(0.35);
    ctx.set_stroke_style_str(ink);
    ctx.set_line_width(1.0);
    ctx.begin_path();
    let (hx, hy) = layout.at(layout.hub, w, h);
    for (i, _) in layout.positions.iter().enumerate() {
        let id = HostId(i as u32);
        if id == layout.hub {
            continue;
        }
        let (x, y) = layout.at(id, w, h);
        ctx.move_to(x, y);
        ctx.line_to(hx, hy);
    }
    ctx.stroke();
    ctx.set_global_alpha(1.0);

    // Group by directed link; crowded links become streams.
    let mut links: BTreeMap<(HostId, HostId), Vec<&PacketDot>> = BTreeMap::new();
    for d in dots {
        links.entry((d.from, d.to)).or_default().push(d);
    }
    let labels = dots.len() <= LABEL_UP_TO;
    ctx.set_font("11px system-ui, sans-serif");
    let mut by_kind: BTreeMap<PacketKind, Vec<(f64, f64)>> = BTreeMap::new();
    for ((from, to), group) in &links {
        if group.len() > AGGREGATE_ABOVE {
            stream(ctx, w, h, layout, *from, *to, group);
            continue;
        }
        for d in group {
            by_kind
                .entry(d.kind)
                .or_default()
                .push(layout.place(d, w, h));
        }
    }
    for (kind, at) in &by_kind {
        shapes(ctx, *kind, at);
    }
    if labels {
        ctx.set_fill_style_str(ink);
        for d in dots {
            let (x, y) = layout.place(d, w, h);
            let _ = ctx.fill_text(&d.label, x + 7.0, y - 6.0);
        }
    }
    if let Some(d) = selected.and_then(|s| dots.iter().find(|d| d.id == s)) {
        let (x, y) = layout.place(d, w, h);
        ctx.set_stroke_style_str(ink);
        ctx.set_line_width(2.0);
        ctx.begin_path();
        let _ = ctx.arc(x, y, 9.0, 0.0, std::f64::consts::TAU);
        ctx.stroke();
    }
}

/// Many packets on one link: a band from the rearmost to the foremost, as thick as the
/// logarithm of their number, in the colour of the most common kind, with the count.
fn stream(
    ctx: &CanvasRenderingContext2d,
    w: f64,
    h: f64,
    layout: &Layout,
    from: HostId,
    to: HostId,
    group: &[&PacketDot],
) {
    let mut kinds: BTreeMap<PacketKind, usize> = BTreeMap::new();
    for d in group {
        *kinds.entry(d.kind).or_default() += 1;
    }
    let main = kinds
        .iter()
        .max_by_key(|(_, n)| **n)
        .map_or(PacketKind::Data, |(k, _)| *k);
    let first = group
        .iter()
        .min_by(|a, b| a.progress.total_cmp(&b.progress))
        .expect("a crowded link has packets");
    let last = group
        .iter()
        .max_by(|a, b| a.progress.total_cmp(&b.progress))
        .expect("a crowded link has packets");
    let (x0, y0) = layout.place(first, w, h);
    let (x1, y1) = layout.place(last, w, h);
    ctx.set_stroke_style_str(colour(main));
    ctx.set_global_alpha(0.6);
    ctx.set_line_width(2.0 + (group.len() as f64).log2() * 1.5);
    ctx.begin_path();
    ctx.move_to(x0, y0);
    ctx.line_to(x1, y1);
    ctx.stroke();
    ctx.set_global_alpha(1.0);
    let (ax, ay) = layout.at(from, w, h);
    let (bx, by) = layout.at(to, w, h);
    ctx.set_fill_style_str(colour(main));
    let _ = ctx.fill_text(
        &format!("×{}", group.len()),
        (ax + bx) / 2.0 + 6.0,
        (ay + by) / 2.0 - 8.0,
    );
}

/// Draws a frame's packets on `canvas`, sizing its backing store to its layout size and the
/// device's pixel ratio; with `hosts`, the hosts are drawn on the canvas too (compare mode's
/// second pane, which has no DOM hosts over it). Marks the canvas with the packet count, and
/// the first frame drawn with the time since navigation (for the start-up measurement).
pub fn draw_frame(
    canvas: &HtmlCanvasElement,
    frame: &Frame,
    selected: Option<PacketId>,
    hosts: bool,
) {
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
    let layout = Layout::of(&frame.hosts);
    let dots = view::packet_dots(frame);
    let dark = window
        .as_ref()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches());
    let ink = if dark { "#e8eaed" } else { "#1d1d1f" };
    draw(&ctx, w, h, &layout, &dots, selected, ink);
    if hosts {
        draw_hosts(&ctx, w, h, &layout, &frame.hosts, ink);
    }
    canvas
        .set_attribute("data-packets", &dots.len().to_string())
        .ok();
    if !canvas.has_attribute("data-first-frame-ms") {
        if let Some(p) = window.and_then(|w| w.performance()) {
            canvas
                .set_attribute("data-first-frame-ms", &format!("{:.1}", p.now()))
                .ok();
        }
    }
}

/// Hosts as labelled marks: backends and the balancer with their names, clients as dots.
fn draw_hosts(
    ctx: &CanvasRenderingContext2d,
    w: f64,
    h: f64,
    layout: &Layout,
    hosts: &[HostView],
    ink: &str,
) {
    ctx.set_font("12px system-ui, sans-serif");
    for v in hosts {
        let (x, y) = layout.at(v.id, w, h);
        match v.role {
            Role::Client | Role::Player => {
                ctx.set_fill_style_str(ink);
                ctx.begin_path();
                let _ = ctx.arc(x, y, 2.5, 0.0, std::f64::consts::TAU);
                ctx.fill();
            }
            _ => {
                let colour = match (v.role, v.up) {
                    (Role::Balancer, _) => "#0072b2",
                    (_, true) => "#009e73",
                    (_, false) => "#d55e00",
                };
                ctx.set_stroke_style_str(colour);
                ctx.set_line_width(2.0);
                ctx.stroke_rect(x - 26.0, y - 11.0, 52.0, 22.0);
                ctx.set_fill_style_str(ink);
                let _ = ctx.fill_text(&v.name, x - 22.0, y + 4.0);
            }
        }
    }
}

/// The packet nearest to (`x`, `y`) within 10 pixels, if any.
pub fn pick(
    layout: &Layout,
    dots: &[PacketDot],
    x: f64,
    y: f64,
    w: f64,
    h: f64,
) -> Option<PacketId> {
    dots.iter()
        .map(|d| {
            let (px, py) = layout.place(d, w, h);
            (d.id, (px - x).powi(2) + (py - y).powi(2))
        })
        .filter(|(_, d2)| *d2 <= 100.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id)
}
