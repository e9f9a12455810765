//! Request level: each request one token, riding where the engine has it (see
//! `lbsim::view::requests`): on a link, at the balancer, in a backend's queue or at a worker,
//! and back; going as a disc, returning as a diamond, in the colour of its backend. A failed
//! request leaves a mark where it got to, in its outcome's colour and shape, that fades.

use std::collections::{BTreeMap, VecDeque};
use std::f64::consts::TAU;

use lbsim::ids::HostId;
use lbsim::trace::Outcome;
use lbsim::view::{EndedRequest, Frame, Place, RequestToken};
use web_sys::CanvasRenderingContext2d;

use super::layout::Layout;
use super::nodes::age;
use super::palette::{self, Theme};

/// Queue slots drawn per backend before a count stands for the rest.
const QUEUE_DRAWN: usize = 18;
/// Worker slots drawn per backend before a count stands for the rest.
const WORKERS_DRAWN: usize = 10;

/// Where a request is drawn, and whether it is going (not yet answered); `slot` orders the
/// requests that share a place.
fn position(layout: &Layout, t: &RequestToken, slot: usize) -> Option<((f64, f64), bool)> {
    let b = t.backend.and_then(|b| layout.backend(b));
    let hub = &layout.balancer;
    let client = layout.anchor(t.client);
    Some(match t.place {
        Place::AtClient => (client, true),
        Place::ToBalancer(p) => (layout.along(t.client, p, true), true),
        Place::AtBalancer => {
            let i = slot % 12;
            (
                (hub.left() + 10.0 + i as f64 * 7.0, hub.bottom() - 7.0),
                true,
            )
        }
        Place::ToBackend(p) => (layout.along(t.backend?, p, false), true),
        Place::Queued(i) => {
            let b = b?;
            let (col, row) = (i % 6, i / 6);
            (
                (
                    b.left() - 8.0 - col as f64 * 7.0,
                    b.y - 6.0 + row as f64 * 7.0,
                ),
                true,
            )
        }
        Place::AtBackend => {
            let b = b?;
            (
                (b.left() + 10.0 + (slot % 8) as f64 * 7.0, b.bottom() - 6.0),
                true,
            )
        }
        Place::Serving(_) => {
            let b = b?;
            (
                (
                    b.left() + 12.0 + (slot % WORKERS_DRAWN) as f64 * 9.0,
                    b.bottom() - 6.0,
                ),
                true,
            )
        }
        Place::FromBackend(p) => (layout.along(t.backend?, p, true), false),
        Place::Returning => {
            let i = slot % 12;
            (
                (hub.right() - 10.0 - i as f64 * 7.0, hub.bottom() - 7.0),
                false,
            )
        }
        Place::ToClient(p) => (layout.along(t.client, p, false), false),
    })
}

fn colour(layout: &Layout, backend: Option<HostId>, theme: Theme) -> &'static str {
    backend
        .and_then(|b| layout.backend_index(b))
        .map_or(theme.muted, palette::backend)
}

/// Draws the tokens; returns how many it drew.
pub fn draw(ctx: &CanvasRenderingContext2d, layout: &Layout, frame: &Frame, theme: Theme) -> usize {
    // Slots: requests sharing a place at a host get their own spot, in id order.
    let mut slots: BTreeMap<(HostId, u8), usize> = BTreeMap::new();
    let mut queued: BTreeMap<HostId, usize> = BTreeMap::new();
    let mut serving: BTreeMap<HostId, usize> = BTreeMap::new();
    let mut drawn = 0;
    ctx.set_line_width(1.0);
    ctx.set_stroke_style_str(theme.ink);
    for t in &frame.requests {
        let key = match t.place {
            Place::AtBalancer => (layout.hub, 0),
            Place::Returning => (layout.hub, 1),
            Place::AtBackend | Place::Serving(_) => (t.backend.unwrap_or(layout.hub), 2),
            _ => (t.client, 3),
        };
        let slot = *slots.entry(key).and_modify(|n| *n += 1).or_insert(0);
        if let (Place::Queued(i), Some(b)) = (t.place, t.backend) {
            *queued.entry(b).or_default() += 1;
            if i >= QUEUE_DRAWN {
                continue;
            }
        }
        if let (Place::Serving(_), Some(b)) = (t.place, t.backend) {
            *serving.entry(b).or_default() += 1;
            if slot >= WORKERS_DRAWN {
                continue;
            }
        }
        let Some(((x, y), going)) = position(layout, t, slot) else {
            continue;
        };
        ctx.set_fill_style_str(colour(layout, t.backend, theme));
        ctx.begin_path();
        if let Place::Serving(p) = t.place {
            // A worker slot filling up with its service time.
            ctx.set_fill_style_str(theme.panel);
            ctx.fill_rect(x - 3.5, y - 3.0, 7.0, 6.0);
            ctx.set_fill_style_str(colour(layout, t.backend, theme));
            ctx.fill_rect(x - 3.5, y + 3.0 - 6.0 * p, 7.0, 6.0 * p);
            ctx.stroke_rect(x - 3.5, y - 3.0, 7.0, 6.0);
        } else if going {
            let _ = ctx.arc(x, y, 4.5, 0.0, TAU);
            ctx.fill();
            ctx.stroke();
        } else {
            ctx.move_to(x, y - 5.5);
            ctx.line_to(x + 5.5, y);
            ctx.line_to(x, y + 5.5);
            ctx.line_to(x - 5.5, y);
            ctx.close_path();
            ctx.fill();
            ctx.stroke();
        }
        drawn += 1;
    }
    // Counts where not every request could be drawn.
    ctx.set_font("10px system-ui, sans-serif");
    ctx.set_fill_style_str(theme.ink);
    for (b, n) in &queued {
        if *n > QUEUE_DRAWN {
            if let Some(r) = layout.backend(*b) {
                let _ = ctx.fill_text(
                    &format!("+{}", n - QUEUE_DRAWN),
                    r.left() - 50.0,
                    r.y + 16.0,
                );
            }
        }
    }
    for (b, n) in &serving {
        if *n > WORKERS_DRAWN {
            if let Some(r) = layout.backend(*b) {
                let _ = ctx.fill_text(
                    &format!("+{}", n - WORKERS_DRAWN),
                    r.right() - 22.0,
                    r.bottom() - 3.0,
                );
            }
        }
    }
    drawn
}

/// Marks of failed requests where they got to, fading over `life_us` of simulated time.
pub fn marks(
    ctx: &CanvasRenderingContext2d,
    layout: &Layout,
    frame: &Frame,
    ended: &VecDeque<EndedRequest>,
    life_us: f64,
) {
    ctx.set_line_width(2.0);
    for e in ended.iter().filter(|e| e.outcome != Outcome::Ok) {
        let a = age(frame.now, e.at, life_us);
        if a >= 1.0 {
            continue;
        }
        let t = RequestToken {
            id: e.id,
            client: e.client,
            backend: e.backend,
            place: e.last,
        };
        let Some(((x, y), _)) = position(layout, &t, (e.id.0 % 7) as usize) else {
            continue;
        };
        ctx.set_global_alpha(1.0 - a);
        let c = palette::outcome(e.outcome);
        ctx.set_stroke_style_str(c);
        ctx.set_fill_style_str(c);
        let r = 4.5;
        ctx.begin_path();
        match e.outcome {
            Outcome::HttpError => {
                ctx.fill_rect(x - r, y - r, 2.0 * r, 2.0 * r);
            }
            Outcome::Refused => {
                ctx.move_to(x - r, y - r);
                ctx.line_to(x + r, y + r);
                ctx.move_to(x + r, y - r);
                ctx.line_to(x - r, y + r);
                ctx.stroke();
            }
            Outcome::Reset => {
                let _ = ctx.arc(x, y, r, 0.0, TAU);
                ctx.move_to(x - r * 0.7, y + r * 0.7);
                ctx.line_to(x + r * 0.7, y - r * 0.7);
                ctx.stroke();
            }
            Outcome::Timeout | Outcome::Ok => {
                let _ = ctx.arc(x, y, r, 0.0, TAU);
                ctx.move_to(x, y);
                ctx.line_to(x, y - r * 0.8);
                ctx.move_to(x, y);
                ctx.line_to(x + r * 0.6, y);
                ctx.stroke();
            }
        }
    }
    ctx.set_global_alpha(1.0);
}
