//! The nodes and their links: clients in the colour of the backend they map to (one by one,
//! or a group as a bar of its shares), the balancer with its algorithm and newest decision,
//! the backends with health, faults, drain, weight, queue and workers; links as thick as
//! their traffic.

use std::f64::consts::TAU;

use lbsim::balance::{Algorithm, IpHashKey};
use lbsim::health::HealthState;
use lbsim::ids::HostId;
use lbsim::scenario::{Fault, Mode};
use lbsim::time::Instant;
use lbsim::view::{BackendView, Frame};
use web_sys::CanvasRenderingContext2d;

use super::layout::{Layout, Rect};
use super::palette::{self, Theme};

/// An algorithm as people say it.
pub fn algorithm_name(a: Algorithm) -> &'static str {
    match a {
        Algorithm::RoundRobin => "round robin",
        Algorithm::LeastConnections => "least connections",
        Algorithm::HaproxyLeastconn => "least connections (HAProxy)",
        Algorithm::IpHash(IpHashKey::Address) => "IP hash",
        Algorithm::IpHash(IpHashKey::Nginx) => "IP hash (nginx /24)",
        Algorithm::Maglev => "Maglev",
        Algorithm::PowerOfTwo => "power of two choices",
    }
}

/// The balancer's title: its layer and mode.
pub fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Router => "Router",
        Mode::L4Nat => "L4 balancer · NAT",
        Mode::L4Dsr => "L4 balancer · DSR",
        Mode::L7 => "L7 proxy",
    }
}

/// `text` cut to what fits in `width` pixels at `px` size, with an ellipsis.
pub fn fit(text: &str, width: f64, px: f64) -> String {
    let most = (width / (px * 0.56)).max(1.0) as usize;
    if text.chars().count() <= most {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(most.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A backend's state in a few words, and its colour.
pub fn backend_state(b: &BackendView) -> (String, &'static str) {
    if !b.up {
        return ("crashed".into(), palette::DOWN);
    }
    if b.removed {
        return ("removed".into(), palette::DOWN);
    }
    match (b.health, b.trend) {
        (Some(HealthState::Down), Some(t)) => {
            (format!("rising {}/{}", t.streak, t.needed), palette::TREND)
        }
        (Some(HealthState::Down), None) => ("DOWN".into(), palette::DOWN),
        (Some(HealthState::Up), Some(t)) => {
            (format!("falling {}/{}", t.streak, t.needed), palette::TREND)
        }
        (Some(HealthState::Up), None) => ("UP".into(), palette::UP),
        (None, _) => (String::new(), palette::UP),
    }
}

/// A fault in a few words, if one is in force.
pub fn fault_words(f: Fault) -> Option<String> {
    match f {
        Fault::None | Fault::Crash => None,
        Fault::PortClosed => Some("port closed".into()),
        Fault::AppErrors => Some("answers 500".into()),
        Fault::Slow { factor } => Some(format!("slow ×{factor:.0}")),
        Fault::Hang => Some("hangs".into()),
        Fault::Flaky { probability } => Some(format!("flaky {:.0}%", probability * 100.0)),
    }
}

/// A link's width for `rate` packets per second.
fn width(rate: f64) -> f64 {
    (1.0 + (1.0 + rate / 40.0).log2()).clamp(1.0, 9.0)
}

/// Every link, as thick as its traffic over the last second.
pub fn links(ctx: &CanvasRenderingContext2d, layout: &Layout, frame: &Frame, theme: Theme) {
    let rate = |h: HostId| frame.link_rates.get(h.index()).copied().unwrap_or(0.0);
    ctx.set_stroke_style_str(theme.muted);
    ctx.set_global_alpha(0.45);
    let line = |from: (f64, f64), to: (f64, f64), r: f64| {
        ctx.set_line_width(width(r));
        ctx.begin_path();
        ctx.move_to(from.0, from.1);
        ctx.line_to(to.0, to.1);
        ctx.stroke();
    };
    if layout.groups.is_empty() {
        for (h, pos, _) in &layout.clients {
            line(*pos, layout.hub_side(*h), rate(*h));
        }
    } else {
        for g in &layout.groups {
            let r: f64 = g.members.iter().map(|m| rate(*m)).sum();
            line(
                (g.rect.right(), g.rect.y),
                (layout.balancer.left(), layout.balancer.y),
                r,
            );
        }
    }
    for (h, r) in &layout.backends {
        line(
            (layout.balancer.right(), layout.balancer.y),
            (r.left(), r.y),
            rate(*h),
        );
    }
    ctx.set_global_alpha(1.0);
}

fn circle(ctx: &CanvasRenderingContext2d, x: f64, y: f64, r: f64) {
    ctx.begin_path();
    let _ = ctx.arc(x, y, r, 0.0, TAU);
}

/// The age of a mark as a fraction of its life (0 new, 1 gone); `life` in simulated µs.
pub fn age(now: Instant, at: Instant, life_us: f64) -> f64 {
    if at > now {
        return 0.0;
    }
    ((now - at).as_micros() as f64 / life_us.max(1.0)).min(1.0)
}

/// Clients, one by one or as groups.
pub fn clients(
    ctx: &CanvasRenderingContext2d,
    layout: &Layout,
    frame: &Frame,
    theme: Theme,
    mark_life_us: f64,
) {
    let colour = |b: Option<HostId>| {
        b.and_then(|b| layout.backend_index(b))
            .map(palette::backend)
    };
    let letter = |b: Option<HostId>| {
        b.and_then(|b| frame.backend(b))
            .and_then(|v| v.name.chars().next())
    };
    if layout.groups.is_empty() {
        ctx.set_font("bold 9px system-ui, sans-serif");
        for ((h, (x, y), r), c) in layout.clients.iter().zip(&frame.clients) {
            debug_assert_eq!(*h, c.host);
            match colour(c.backend) {
                Some(fill) => {
                    ctx.set_fill_style_str(fill);
                    circle(ctx, *x, *y, *r);
                    ctx.fill();
                    if *r >= 6.0 {
                        if let Some(l) = letter(c.backend) {
                            ctx.set_fill_style_str(theme.panel);
                            let _ = ctx.fill_text(&l.to_string(), x - 3.0, y + 3.2);
                        }
                    }
                }
                None => {
                    ctx.set_stroke_style_str(theme.muted);
                    ctx.set_line_width(1.5);
                    circle(ctx, *x, *y, *r - 0.5);
                    ctx.stroke();
                }
            }
            if let Some(at) = c.lost_cart {
                let a = age(frame.now, at, mark_life_us * 2.0);
                if a < 1.0 {
                    ctx.set_global_alpha(1.0 - a);
                    lost_mark(ctx, x + r, y - r);
                    ctx.set_global_alpha(1.0);
                }
            }
        }
        return;
    }
    ctx.set_font("11px system-ui, sans-serif");
    for g in &layout.groups {
        let members: Vec<&lbsim::view::ClientView> = frame
            .clients
            .iter()
            .filter(|c| g.members.contains(&c.host))
            .collect();
        let r = &g.rect;
        // A bar of the group's shares by backend, in pool order, unmapped last.
        let total = members.len().max(1) as f64;
        let bar = Rect {
            x: r.x,
            y: r.y + 4.0,
            w: r.w,
            h: (r.h * 0.45).max(8.0),
        };
        let mut x = bar.left();
        for (i, (b, _)) in layout.backends.iter().enumerate() {
            let n = members.iter().filter(|c| c.backend == Some(*b)).count() as f64;
            if n > 0.0 {
                ctx.set_fill_style_str(palette::backend(i));
                ctx.fill_rect(x, bar.top(), bar.w * n / total, bar.h);
                x += bar.w * n / total;
            }
        }
        ctx.set_stroke_style_str(theme.ink);
        ctx.set_line_width(1.0);
        ctx.stroke_rect(bar.left(), bar.top(), bar.w, bar.h);
        let in_flight: usize = members.iter().map(|c| c.in_flight).sum();
        ctx.set_fill_style_str(theme.ink);
        let _ = ctx.fill_text(
            &fit(&format!("{} ×{}", g.name, members.len()), r.w + 20.0, 11.0),
            r.left(),
            bar.top() - 4.0,
        );
        ctx.set_fill_style_str(theme.muted);
        let _ = ctx.fill_text(
            &format!("{in_flight} in flight"),
            r.left(),
            bar.bottom() + 11.0,
        );
        let lost = members
            .iter()
            .filter(|c| {
                c.lost_cart
                    .is_some_and(|at| age(frame.now, at, mark_life_us * 2.0) < 1.0)
            })
            .count();
        if lost > 0 {
            lost_mark(ctx, bar.right() + 6.0, bar.top());
            ctx.set_fill_style_str(palette::DOWN);
            let _ = ctx.fill_text(
                &format!("{lost} carts lost"),
                bar.right() + 12.0,
                bar.top() + 4.0,
            );
        }
    }
}

/// A lost cart: a red cross in a circle.
fn lost_mark(ctx: &CanvasRenderingContext2d, x: f64, y: f64) {
    ctx.set_fill_style_str(palette::DOWN);
    circle(ctx, x, y, 4.5);
    ctx.fill();
    ctx.set_stroke_style_str("#ffffff");
    ctx.set_line_width(1.5);
    ctx.begin_path();
    ctx.move_to(x - 2.0, y - 2.0);
    ctx.line_to(x + 2.0, y + 2.0);
    ctx.move_to(x + 2.0, y - 2.0);
    ctx.line_to(x - 2.0, y + 2.0);
    ctx.stroke();
}

fn rounded(ctx: &CanvasRenderingContext2d, r: &Rect, radius: f64) {
    ctx.begin_path();
    let _ = ctx.round_rect_with_f64(r.left(), r.top(), r.w, r.h, radius);
}

/// The balancer: its layer, algorithm, table size or route, and newest decision.
pub fn balancer(ctx: &CanvasRenderingContext2d, layout: &Layout, frame: &Frame, theme: Theme) {
    let r = &layout.balancer;
    let b = &frame.balancer;
    ctx.set_fill_style_str(theme.panel);
    rounded(ctx, r, 8.0);
    ctx.fill();
    ctx.set_stroke_style_str(palette::backend(0));
    ctx.set_line_width(2.0);
    ctx.stroke();
    let left = r.left() + 8.0;
    ctx.set_fill_style_str(theme.ink);
    ctx.set_font("bold 12px system-ui, sans-serif");
    let _ = ctx.fill_text(
        &fit(mode_name(b.mode), r.w - 12.0, 12.0),
        left,
        r.top() + 16.0,
    );
    ctx.set_font("11px system-ui, sans-serif");
    ctx.set_fill_style_str(theme.muted);
    let line2 = match b.mode {
        Mode::Router => "no balancing".to_string(),
        _ => algorithm_name(b.algorithm).to_string(),
    };
    let _ = ctx.fill_text(&fit(&line2, r.w - 12.0, 11.0), left, r.top() + 32.0);
    let line3 = match b.mode {
        Mode::L4Nat | Mode::L4Dsr => format!("conntrack: {} flows", b.flows),
        Mode::L7 => b
            .last_route
            .clone()
            .unwrap_or_else(|| "no request yet".into()),
        Mode::Router => String::new(),
    };
    let _ = ctx.fill_text(&fit(&line3, r.w - 12.0, 11.0), left, r.top() + 48.0);
    // The newest decision, where there is room for it.
    if let Some(d) = b.last_decision.as_ref().filter(|_| layout.size.0 >= 600.0) {
        ctx.set_font("10px system-ui, sans-serif");
        let _ = ctx.fill_text(
            &fit(d, r.w * 1.9, 10.0),
            r.left() - r.w * 0.45,
            r.bottom() + 14.0,
        );
    }
}

/// The backends: state, fault, weight, rate, with a probe pulse after each probe.
pub fn backends(
    ctx: &CanvasRenderingContext2d,
    layout: &Layout,
    frame: &Frame,
    theme: Theme,
    mark_life_us: f64,
) {
    for (i, ((h, r), b)) in layout.backends.iter().zip(&frame.backends).enumerate() {
        debug_assert_eq!(*h, b.host);
        let (state, state_colour) = backend_state(b);
        let dim = !b.up || b.removed;
        ctx.set_global_alpha(if dim { 0.55 } else { 1.0 });
        ctx.set_fill_style_str(if dim { theme.muted } else { theme.panel });
        rounded(ctx, r, 6.0);
        ctx.fill();
        ctx.set_stroke_style_str(state_colour);
        let down = b.health == Some(HealthState::Down) || !b.up;
        ctx.set_line_width(if down { 3.0 } else { 1.5 });
        let dash = js_sys::Array::new();
        if b.drained || b.trend.is_some() {
            dash.push(&4.0.into());
            dash.push(&3.0.into());
        }
        let _ = ctx.set_line_dash(&dash);
        ctx.stroke();
        let _ = ctx.set_line_dash(&js_sys::Array::new());
        // The backend's own colour: the stripe its clients wear.
        ctx.set_fill_style_str(palette::backend(i));
        ctx.fill_rect(r.left(), r.top() + 3.0, 5.0, r.h - 6.0);
        ctx.set_global_alpha(1.0);
        let px = if r.h >= 30.0 { 12.0 } else { 10.0 };
        ctx.set_font(&format!("bold {px}px system-ui, sans-serif"));
        ctx.set_fill_style_str(theme.ink);
        let mut name = b.name.clone();
        if b.weight != 1 {
            name.push_str(&format!(" w{}", b.weight));
        }
        let _ = ctx.fill_text(
            &fit(&name, r.w * 0.45, px),
            r.left() + 9.0,
            r.top() + px + 2.0,
        );
        ctx.set_font(&format!("{px}px system-ui, sans-serif"));
        ctx.set_fill_style_str(state_colour);
        let _ = ctx.fill_text(&fit(&state, r.w * 0.5, px), r.x + 2.0, r.top() + px + 2.0);
        if r.h >= 30.0 {
            let mut words = Vec::new();
            if let Some(f) = fault_words(b.fault) {
                words.push(f);
            }
            if b.drained {
                words.push("drained".into());
            }
            if words.is_empty() {
                words.push(format!("{} req/s", b.per_second));
            }
            ctx.set_fill_style_str(theme.muted);
            ctx.set_font("10px system-ui, sans-serif");
            let _ = ctx.fill_text(
                &fit(&words.join(" · "), r.w - 12.0, 10.0),
                r.left() + 9.0,
                r.top() + 27.0,
            );
        }
        // A pulse after each probe: a ring that grows and fades, red when it failed.
        if let Some((at, result)) = b.probes.last() {
            let a = age(frame.now, *at, mark_life_us * 0.6);
            if a < 1.0 {
                ctx.set_global_alpha(1.0 - a);
                ctx.set_stroke_style_str(if result.ok() {
                    palette::packet(lbsim::wire::dissect::PacketKind::Probe)
                } else {
                    palette::DOWN
                });
                ctx.set_line_width(2.0);
                let grow = 3.0 + 8.0 * a;
                ctx.begin_path();
                let _ = ctx.round_rect_with_f64(
                    r.left() - grow,
                    r.top() - grow,
                    r.w + 2.0 * grow,
                    r.h + 2.0 * grow,
                    8.0,
                );
                ctx.stroke();
                ctx.set_global_alpha(1.0);
            }
        }
    }
}
