//! The topology: the canvas the clock draws on (see `render`), with hit targets laid over it at
//! the renderer's positions — each backend, the balancer and each client (one by one up to 64,
//! else each group) — that say what they show on hover and to screen readers; the lesson's
//! caption; the legend of what the marks mean at the level shown; and compare mode's second
//! canvas at the same layout and scale.

use lbsim::health::HealthState;
use lbsim::view::Frame;
use lbsim::wire::dissect::PacketKind;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::hooks::use_simulation::{Level, SimHandle};
use crate::render::layout::Layout;
use crate::render::nodes::{algorithm_name, backend_state, fault_words, mode_name};
use crate::render::{packets, palette};
use crate::state::{Action, Selection, UiState};
use crate::view;

/// Props of [`Topology`].
#[derive(Properties, PartialEq)]
pub struct TopologyProps {
    /// The simulation.
    pub sim: SimHandle,
    /// The UI state.
    pub ui: UseReducerHandle<UiState>,
    /// The canvas the clock draws on.
    pub canvas: NodeRef,
    /// Compare mode's second canvas.
    pub twin_canvas: NodeRef,
}

/// A position in pixels as CSS percentages of the canvas.
fn at(x: f64, y: f64, (w, h): (f64, f64)) -> String {
    format!("left:{:.2}%;top:{:.2}%", x / w * 100.0, y / h * 100.0)
}

/// The hit targets over the canvas.
fn targets(frame: &Frame, layout: &Layout) -> Html {
    let size = layout.size;
    let name_of = |h| {
        frame
            .backend(h)
            .map_or("none".to_string(), |b| b.name.clone())
    };
    let backends = layout.backends.iter().zip(&frame.backends).map(|((_, r), b)| {
        let (state, _) = backend_state(b);
        let mut about = vec![format!("{} {}", b.name, b.address), state.clone()];
        about.extend(fault_words(b.fault));
        if b.drained {
            about.push("drained".into());
        }
        about.push(format!("weight {}", b.weight));
        about.push(format!("{} queued, {} in service", b.queued, b.in_service));
        about.push(format!("{} requests/s", b.per_second));
        let health = match (b.up, b.health) {
            (false, _) => "crashed",
            (_, Some(HealthState::Down)) => "down",
            (_, Some(HealthState::Up)) => "up",
            (_, None) => "unchecked",
        };
        html! {
            <div class="tc-hit tc-hit-backend" role="img" tabindex="0"
                style={format!("{};width:{:.0}px;height:{:.0}px", at(r.x, r.y, size), r.w, r.h)}
                data-testid={format!("node-{}", b.name)} data-health={health}
                aria-label={format!("Backend {}", about.join(", "))} title={about.join(" · ")} />
        }
    });
    let bal = &frame.balancer;
    let r = &layout.balancer;
    let balancer_about = [
        Some(mode_name(bal.mode).to_string()),
        Some(algorithm_name(bal.algorithm).to_string()),
        bal.last_decision.clone(),
        bal.last_route.clone(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let balancer = html! {
        <div class="tc-hit tc-hit-balancer" role="img" tabindex="0" data-testid="balancer"
            style={format!("{};width:{:.0}px;height:{:.0}px", at(r.x, r.y, size), r.w, r.h)}
            aria-label={balancer_about.clone()} title={balancer_about}>
            <span class="tc-sr">{ mode_name(bal.mode) }</span>
        </div>
    };
    let clients = layout.clients.iter().zip(&frame.clients).map(|((_, (x, y), rad), c)| {
        let to = c.backend.map(name_of);
        let about = match &to {
            Some(b) => format!("{} → {b}", c.address),
            None => format!("{}: no backend yet", c.address),
        };
        html! {
            <span class="tc-hit tc-hit-client" data-testid="client"
                data-address={c.address.to_string()} data-backend={to.unwrap_or_else(|| "none".into())}
                style={format!("{};width:{:.0}px;height:{:.0}px", at(*x, *y, size), rad * 2.0 + 2.0, rad * 2.0 + 2.0)}
                title={about} />
        }
    });
    let groups = layout.groups.iter().map(|g| {
        let members: Vec<_> = frame.clients.iter().filter(|c| g.members.contains(&c.host)).collect();
        let mut shares: Vec<String> = frame
            .backends
            .iter()
            .filter_map(|b| {
                let n = members.iter().filter(|c| c.backend == Some(b.host)).count();
                (n > 0).then(|| format!("{n} → {}", b.name))
            })
            .collect();
        if shares.is_empty() {
            shares.push("none mapped yet".into());
        }
        let about = format!("{}: {} clients; {}", g.name, members.len(), shares.join(", "));
        html! {
            <span class="tc-hit tc-hit-group" data-testid="client-group" role="img" tabindex="0"
                style={format!("{};width:{:.0}px;height:{:.0}px", at(g.rect.x, g.rect.y, size), g.rect.w, g.rect.h)}
                aria-label={about.clone()} title={about} />
        }
    });
    html! { <>{ for backends }{ balancer }{ for clients }{ for groups }</> }
}

/// The legend for the level shown.
fn legend(requests: bool) -> Html {
    if requests {
        return html! {
            <ul class="tc-legend" aria-label="What the marks mean" data-testid="legend">
                <li><span class="tc-swatch" aria-hidden="true">{ "●" }</span>{ "request on its way" }</li>
                <li><span class="tc-swatch" aria-hidden="true">{ "◆" }</span>{ "response" }</li>
                <li><span class="tc-swatch" aria-hidden="true">{ "▮" }</span>{ "at a worker" }</li>
                <li>{ "colour: its backend" }</li>
                <li><span class="tc-swatch" aria-hidden="true" style={format!("color:{}", palette::DOWN)}>{ "■" }</span>{ "HTTP error" }</li>
                <li><span class="tc-swatch" aria-hidden="true" style="color:#cc79a7">{ "✕" }</span>{ "refused" }</li>
                <li><span class="tc-swatch" aria-hidden="true" style="color:#e69f00">{ "⊘" }</span>{ "reset" }</li>
                <li><span class="tc-swatch" aria-hidden="true" style="color:#8c8c8c">{ "◷" }</span>{ "timeout" }</li>
            </ul>
        };
    }
    html! {
        <ul class="tc-legend" aria-label="Packet kinds" data-testid="legend">
            { for PacketKind::ALL.iter().map(|k| html! {
                <li><span aria-hidden="true" class={format!("tc-swatch tc-swatch-{:?}", k).to_ascii_lowercase()}
                    style={format!("color:{}", palette::packet(*k))}>{ swatch(*k) }</span>{ k.label() }</li>
            }) }
        </ul>
    }
}

/// The topology view.
#[function_component(Topology)]
pub fn topology(props: &TopologyProps) -> Html {
    let size = props
        .canvas
        .cast::<HtmlCanvasElement>()
        .map(|c| (f64::from(c.client_width()), f64::from(c.client_height())))
        .filter(|(w, h)| *w > 0.0 && *h > 0.0)
        .unwrap_or((1000.0, 400.0));
    let (overlay, requests, twin, caption, paused_at_moment, level) = {
        let s = props.sim.borrow();
        let layout = Layout::of(&s.frame, size.0, size.1);
        let twin = s.twin.as_ref().map(|t| {
            (
                t.label.clone(),
                view::balancer_label(t.frame.balancer.mode).0,
            )
        });
        let caption = s.caption().map(|m| m.caption.clone());
        let paused = !s.playing
            && s.moments
                .iter()
                .any(|m| m.pause && lbsim::time::Instant::ZERO + m.at == s.world.now());
        (
            targets(&s.frame, &layout),
            s.shown_level() == Level::Requests,
            twin,
            caption,
            paused,
            s.level,
        )
    };
    let onclick = {
        let sim = props.sim.clone();
        let ui = props.ui.clone();
        let canvas = props.canvas.clone();
        Callback::from(move |e: MouseEvent| {
            let Some(c) = canvas.cast::<HtmlCanvasElement>() else {
                return;
            };
            let rect = c.get_bounding_client_rect();
            let (x, y) = (
                f64::from(e.client_x()) - rect.left(),
                f64::from(e.client_y()) - rect.top(),
            );
            let s = sim.borrow();
            let layout = Layout::of(&s.frame, rect.width(), rect.height());
            let dots = view::packet_dots(&s.frame);
            if let Some(id) = packets::pick(&layout, &dots, x, y) {
                ui.dispatch(Action::Select(Selection::Packet(id)));
            }
        })
    };
    let level_text = match (level, requests) {
        (Level::Auto, true) => "auto: requests",
        (Level::Auto, false) => "auto: packets",
        (_, true) => "requests",
        (_, false) => "packets",
    };
    html! {
        <section class={classes!("tc-topology", twin.is_some().then_some("split"))} aria-label="Topology" data-testid="topology">
          <div class="tc-pane">
            if twin.is_some() { <span class="tc-pane-label">{ "A: this scenario" }</span> }
            <canvas ref={props.canvas.clone()} class="tc-canvas" onclick={onclick}
                data-testid="canvas" role="img"
                aria-label={format!("The balancer, its clients and backends at {level_text} level; click a packet to inspect it")} />
            <div class="tc-hits">{ overlay }</div>
          </div>
            if let Some(c) = caption {
                <div class={classes!("tc-caption", paused_at_moment.then_some("paused"))} role="status" data-testid="moment-caption">
                    <span>{ c }</span>
                    if paused_at_moment { <span class="tc-muted">{ " — press Play (space) to go on" }</span> }
                </div>
            }
            if let Some((label, balancer)) = &twin {
                <div class="tc-pane" data-testid="twin-pane">
                    <span class="tc-pane-label">{ format!("B: {label} · {balancer}") }</span>
                    <canvas ref={props.twin_canvas.clone()} class="tc-canvas" data-testid="twin-canvas"
                        role="img" aria-label={format!("The variant: {label}")} />
                </div>
            }
            <div class="tc-legend-bar">
                <span class="tc-level" data-testid="level-shown">{ level_text }</span>
                { legend(requests) }
            </div>
        </section>
    }
}

fn swatch(k: PacketKind) -> &'static str {
    match k {
        PacketKind::Control => "◆",
        PacketKind::Data => "●",
        PacketKind::Datagram => "▲",
        PacketKind::Probe => "■",
        PacketKind::Rewritten => "◎",
        PacketKind::Lost => "✕",
    }
}
