//! Packet level: every packet on its link, shaped and coloured by kind; a crowded link becomes
//! a stream with its count.

use std::collections::BTreeMap;

use lbsim::ids::{HostId, PacketId};
use lbsim::wire::dissect::PacketKind;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use super::layout::Layout;
use super::palette::{self, Theme};
use crate::view::{PacketDot, LABEL_UP_TO};

/// More packets than this on one link are drawn as a stream with a count.
pub const AGGREGATE_ABOVE: usize = 16;

/// Where a packet is drawn: along its link, on its direction's side.
pub fn place(layout: &Layout, p: &PacketDot) -> (f64, f64) {
    if p.to == layout.hub {
        layout.along(p.from, p.progress, true)
    } else {
        layout.along(p.to, p.progress, false)
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

/// The half-size of a packet's sprite in CSS pixels: room for the rewritten ring.
const SPRITE_HALF: f64 = 8.0;

thread_local! {
    /// Each kind's shape drawn once, at a device pixel ratio: (ratio, one canvas per kind).
    static SPRITES: std::cell::RefCell<Option<(f64, Vec<HtmlCanvasElement>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Draws one packet of `kind` centred in a sprite canvas (`2 × SPRITE_HALF` CSS pixels a
/// side at `ratio` device pixels each): its shape, filled (a lost one stroked), and for a
/// rewritten one a ring around it.
fn sprite(kind: PacketKind, ratio: f64) -> Option<HtmlCanvasElement> {
    let canvas = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into::<HtmlCanvasElement>()
        .ok()?;
    let side = (2.0 * SPRITE_HALF * ratio).ceil() as u32;
    canvas.set_width(side);
    canvas.set_height(side);
    let ctx = canvas
        .get_context("2d")
        .ok()??
        .dyn_into::<CanvasRenderingContext2d>()
        .ok()?;
    let _ = ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
    let (c, x, y) = (palette::packet(kind), SPRITE_HALF, SPRITE_HALF);
    ctx.set_fill_style_str(c);
    ctx.set_stroke_style_str(c);
    ctx.begin_path();
    shape(&ctx, kind, x, y, 4.0);
    if kind == PacketKind::Lost {
        ctx.set_line_width(2.5);
        ctx.stroke();
    } else {
        ctx.fill();
    }
    if kind == PacketKind::Rewritten {
        // A ring around each: rewritten packets stand out in any palette.
        ctx.begin_path();
        ctx.set_line_width(1.5);
        let _ = ctx.arc(x, y, 6.5, 0.0, std::f64::consts::TAU);
        ctx.stroke();
    }
    Some(canvas)
}

/// Draws every packet of one kind: one copy of the kind's sprite per packet. (A path of a
/// thousand small shapes costs the browser's rasteriser several milliseconds when filled
/// at once; copying a small image is cheap and the same for every packet.)
fn shapes(ctx: &CanvasRenderingContext2d, kind: PacketKind, at: &[(f64, f64)]) {
    if at.is_empty() {
        return;
    }
    let ratio = web_sys::window().map_or(1.0, |w| w.device_pixel_ratio());
    SPRITES.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.as_ref().is_none_or(|(r, _)| *r != ratio) {
            let all: Option<Vec<_>> = PacketKind::ALL.iter().map(|&k| sprite(k, ratio)).collect();
            *cell = all.map(|v| (ratio, v));
        }
        let Some((_, sprites)) = cell.as_ref() else {
            return;
        };
        let Some(image) = PacketKind::ALL
            .iter()
            .position(|&k| k == kind)
            .map(|i| &sprites[i])
        else {
            return;
        };
        let side = 2.0 * SPRITE_HALF;
        for &(x, y) in at {
            let _ = ctx.draw_image_with_html_canvas_element_and_dw_and_dh(
                image,
                x - SPRITE_HALF,
                y - SPRITE_HALF,
                side,
                side,
            );
        }
    });
}

/// Draws the packets, their labels when few, and a ring around the selected one.
pub fn draw(
    ctx: &CanvasRenderingContext2d,
    layout: &Layout,
    dots: &[PacketDot],
    selected: Option<PacketId>,
    theme: Theme,
) {
    // Group by directed link; crowded links become streams.
    let mut links: BTreeMap<(HostId, HostId), Vec<&PacketDot>> = BTreeMap::new();
    for d in dots {
        links.entry((d.from, d.to)).or_default().push(d);
    }
    let mut by_kind: BTreeMap<PacketKind, Vec<(f64, f64)>> = BTreeMap::new();
    ctx.set_font("11px system-ui, sans-serif");
    for group in links.values() {
        if group.len() > AGGREGATE_ABOVE {
            stream(ctx, layout, group);
            continue;
        }
        for d in group {
            by_kind.entry(d.kind).or_default().push(place(layout, d));
        }
    }
    for (kind, at) in &by_kind {
        shapes(ctx, *kind, at);
    }
    if dots.len() <= LABEL_UP_TO {
        ctx.set_fill_style_str(theme.ink);
        for d in dots {
            let (x, y) = place(layout, d);
            let _ = ctx.fill_text(&d.label, x + 7.0, y - 6.0);
        }
    }
    if let Some(d) = selected.and_then(|s| dots.iter().find(|d| d.id == s)) {
        let (x, y) = place(layout, d);
        ctx.set_stroke_style_str(theme.ink);
        ctx.set_line_width(2.0);
        ctx.begin_path();
        let _ = ctx.arc(x, y, 9.0, 0.0, std::f64::consts::TAU);
        ctx.stroke();
    }
}

/// Many packets on one link: a band from the rearmost to the foremost, as thick as the
/// logarithm of their number, in the colour of the most common kind, with the count.
fn stream(ctx: &CanvasRenderingContext2d, layout: &Layout, group: &[&PacketDot]) {
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
    let (x0, y0) = place(layout, first);
    let (x1, y1) = place(layout, last);
    ctx.set_stroke_style_str(palette::packet(main));
    ctx.set_global_alpha(0.6);
    ctx.set_line_width(2.0 + (group.len() as f64).log2() * 1.5);
    ctx.begin_path();
    ctx.move_to(x0, y0);
    ctx.line_to(x1, y1);
    ctx.stroke();
    ctx.set_global_alpha(1.0);
    ctx.set_fill_style_str(palette::packet(main));
    let _ = ctx.fill_text(
        &format!("×{}", group.len()),
        (x0 + x1) / 2.0 + 6.0,
        (y0 + y1) / 2.0 - 8.0,
    );
}

/// The packet nearest to (`x`, `y`) within 10 pixels, if any.
pub fn pick(layout: &Layout, dots: &[PacketDot], x: f64, y: f64) -> Option<PacketId> {
    dots.iter()
        .map(|d| {
            let (px, py) = place(layout, d);
            (d.id, (px - x).powi(2) + (py - y).powi(2))
        })
        .filter(|(_, d2)| *d2 <= 100.0)
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id)
}
