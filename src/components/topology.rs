//! The topology: hosts as DOM elements over a canvas on which the packets move. The canvas is
//! drawn by the animation clock (see `app.rs`); this component lays out the hosts and turns a
//! click on the canvas into a packet selection.

use lbsim::sim::Role;
use lbsim::wire::dissect::PacketKind;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;
use crate::render::{self, Layout};
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

/// The topology view.
#[function_component(Topology)]
pub fn topology(props: &TopologyProps) -> Html {
    let (hosts, label, card_state, dots, twin) = {
        let s = props.sim.borrow();
        let f = &s.frame;
        let cards = view::backend_cards(f);
        let twin = s.twin.as_ref().map(|t| {
            (
                t.label.clone(),
                view::balancer_label(t.frame.balancer.mode).0,
            )
        });
        (
            f.hosts.clone(),
            view::balancer_label(f.balancer.mode),
            cards,
            f.packets.len(),
            twin,
        )
    };
    let layout = Layout::of(&hosts);
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
            let layout = Layout::of(&s.frame.hosts);
            let dots = view::packet_dots(&s.frame);
            if let Some(id) = render::pick(&layout, &dots, x, y, rect.width(), rect.height()) {
                ui.dispatch(Action::Select(Selection::Packet(id)));
            }
        })
    };
    let many = hosts
        .iter()
        .filter(|h| matches!(h.role, Role::Client | Role::Player))
        .count()
        > 12;
    html! {
        <section class={classes!("tc-topology", twin.is_some().then_some("split"))} aria-label="Topology" data-testid="topology">
          <div class="tc-pane">
            if twin.is_some() { <span class="tc-pane-label">{ "A: this scenario" }</span> }
            <canvas ref={props.canvas.clone()} class="tc-canvas" onclick={onclick}
                data-testid="canvas" data-packets={dots.to_string()}
                aria-label={format!("{dots} packets on the links; click one to inspect it")} role="img" />
            { for hosts.iter().map(|h| {
                let (x, y) = layout.positions[h.id.index()];
                let style = format!("left:{:.2}%;top:{:.2}%", x * 100.0, y * 100.0);
                match h.role {
                    Role::Balancer => html! {
                        <div class="tc-host tc-hub" style={style} data-testid="balancer"
                            title={format!("{} · {}", h.address, label.1)}>
                            <strong>{ label.0 }</strong>
                            <span class="tc-muted">{ label.1 }</span>
                        </div>
                    },
                    Role::Backend => {
                        let card = card_state.iter().find(|c| c.name == h.name);
                        let down = card.is_some_and(|c| c.health == Some(lbsim::health::HealthState::Down));
                        html! {
                            <div class={classes!("tc-host", "tc-server", (!h.up).then_some("crashed"), down.then_some("down"))}
                                style={style} title={format!("{} {} · fault {}", h.name, h.address, h.fault.name())}>
                                <strong>{ &h.name }</strong>
                                <span class="tc-muted">{ h.address.to_string() }</span>
                            </div>
                        }
                    }
                    _ => html! {
                        <div class={classes!("tc-host", "tc-client", many.then_some("small"))} style={style}
                            title={format!("{} {}", h.name, h.address)}>
                            if !many { <span>{ &h.name }</span> }
                        </div>
                    },
                }
            }) }
                      </div>
            if let Some((label, balancer)) = &twin {
                <div class="tc-pane" data-testid="twin-pane">
                    <span class="tc-pane-label">{ format!("B: {label} · {balancer}") }</span>
                    <canvas ref={props.twin_canvas.clone()} class="tc-canvas" data-testid="twin-canvas"
                        role="img" aria-label={format!("The variant: {label}")} />
                </div>
            }
            <ul class="tc-legend" aria-label="Packet kinds">
                { for PacketKind::ALL.iter().map(|k| html! {
                    <li><span class={format!("tc-swatch tc-swatch-{:?}", k).to_ascii_lowercase()}
                        style={format!("color:{}", render::colour(*k))}>{ swatch(*k) }</span>{ k.label() }</li>
                }) }
            </ul>
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
