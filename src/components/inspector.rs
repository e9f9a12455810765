//! The inspector: a packet's layers and bytes (and a rewrite's before and after), or a
//! request's waterfall.

use std::ops::Range;

use lbsim::ids::{PacketId, RequestId};
use lbsim::sim::StepKind;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;
use crate::state::{Action, Selection, UiState};
use crate::view::{self, PacketDetail};

/// Props of [`Inspector`].
#[derive(Properties, PartialEq)]
pub struct InspectorProps {
    /// The simulation.
    pub sim: SimHandle,
    /// The UI state.
    pub ui: UseReducerHandle<UiState>,
}

/// The inspector panel.
#[function_component(Inspector)]
pub fn inspector(props: &InspectorProps) -> Html {
    let body = match props.ui.selection {
        Selection::None => html! {
            <p class="tc-muted tc-pad">
                { "Click a packet on the topology or a row of the event list to inspect it. \
                   Slow the clock down to follow one connection, or press n to step to the next packet." }
            </p>
        },
        Selection::Packet(id) => packet(props, id),
        Selection::Request(id) => request(props, id),
    };
    html! { <div class="tc-inspector" data-testid="inspector">{ body }</div> }
}

fn packet(props: &InspectorProps, id: PacketId) -> Html {
    let detail = view::packet_detail(&props.sim.borrow().world, id);
    let Some(d) = detail else {
        return html! {
            <p class="tc-pad">{ format!("Packet {id} is no longer in the trace (it keeps the newest 20,000 records).") }</p>
        };
    };
    let highlight: Option<Range<usize>> = props
        .ui
        .field
        .and_then(|(l, f)| d.layers.get(l)?.fields.get(f))
        .map(|f| f.range.clone());
    html! {
        <div class="tc-pad">
            <h2 class="tc-h2">{ format!("Packet {}", d.id) }</h2>
            <p class="tc-muted">{ format!("{} · sent at {} · {} bytes", d.route, d.sent, d.bytes.len()) }</p>
            { layers(props, &d) }
            <h3 class="tc-h3">{ "Bytes" }</h3>
            { hex(&d.bytes, highlight.as_ref(), &[], "packet-hex") }
            if let Some(r) = &d.rewrite {
                <section class="tc-rewrite" data-testid="rewrite">
                    <h3 class="tc-h3">{ "Rewritten by the balancer" }</h3>
                    <p>{ r.what }</p>
                    <ul class="tc-changes" data-testid="changed-fields">
                        { for r.fields.iter().map(|(name, a, b)| html! {
                            <li><strong>{ name }</strong>{ ": " }<code>{ a }</code>{ " → " }<code>{ b }</code></li>
                        }) }
                    </ul>
                    <h4 class="tc-h4">{ "Before (as it arrived)" }</h4>
                    { hex(&r.before, None, &r.changed, "before-hex") }
                    <h4 class="tc-h4">{ "After (as it left)" }</h4>
                    { hex(&r.after, None, &r.changed, "after-hex") }
                    <p class="tc-muted">{ "Marked bytes differ: addresses, ports and the checksums that cover them. The rest is untouched." }</p>
                </section>
            }
        </div>
    }
}

fn layers(props: &InspectorProps, d: &PacketDetail) -> Html {
    let selected = props.ui.field;
    html! {
        <div class="tc-layers" data-testid="layers">
            { for d.layers.iter().enumerate().map(|(li, layer)| html! {
                <details open=true class="tc-layer">
                    <summary><strong>{ &layer.name }</strong>{ ", " }{ &layer.summary }</summary>
                    <ul role="list">
                        { for layer.fields.iter().enumerate().map(|(fi, f)| {
                            let ui = props.ui.clone();
                            let on = selected == Some((li, fi));
                            let onclick = Callback::from(move |_: MouseEvent| {
                                ui.dispatch(Action::Field(if on { None } else { Some((li, fi)) }));
                            });
                            html! {
                                <li>
                                    <button class={classes!("tc-field", on.then_some("on"))} onclick={onclick}
                                        aria-pressed={on.to_string()}
                                        title={format!("bytes {}–{}", f.range.start, f.range.end.saturating_sub(1))}>
                                        <span class="tc-field-name">{ &f.name }</span>{ ": " }
                                        <span class="tc-field-value">{ &f.value }</span>
                                    </button>
                                </li>
                            }
                        }) }
                    </ul>
                </details>
            }) }
        </div>
    }
}

/// A hex pane: 16 bytes a row with an ASCII column; `highlight` marks a field, `changed` marks
/// bytes a rewrite changed.
fn hex(
    bytes: &[u8],
    highlight: Option<&Range<usize>>,
    changed: &[Range<usize>],
    testid: &str,
) -> Html {
    let class = |i: usize| {
        classes!(
            highlight.is_some_and(|r| r.contains(&i)).then_some("hl"),
            changed.iter().any(|r| r.contains(&i)).then_some("chg")
        )
    };
    html! {
        <div class="tc-hex" data-testid={testid.to_string()} role="table" aria-label="Packet bytes">
            { for bytes.chunks(16).enumerate().map(|(row, chunk)| html! {
                <div class="tc-hex-row" role="row">
                    <span class="tc-hex-off">{ format!("{:04x}", row * 16) }</span>
                    { for chunk.iter().enumerate().map(|(i, b)| html! {
                        <span class={class(row * 16 + i)} data-i={(row * 16 + i).to_string()}>{ format!("{b:02x}") }</span>
                    }) }
                    <span class="tc-hex-ascii">
                        { chunk.iter().map(|&b| if b.is_ascii_graphic() { b as char } else { '.' }).collect::<String>() }
                    </span>
                </div>
            }) }
        </div>
    }
}

fn request(props: &InspectorProps, id: RequestId) -> Html {
    let story = props.sim.borrow().world.request_story(id);
    let Some(s) = story else {
        return html! { <p class="tc-pad">{ format!("Request {id} is no longer in the trace.") }</p> };
    };
    let start = s.steps.first().map_or(0, |x| x.at.as_micros());
    let end = s
        .steps
        .iter()
        .map(|x| x.at.as_micros() + x.took.map_or(0, |d| d.as_micros()))
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let span = (end - start) as f64;
    html! {
        <div class="tc-pad" data-testid="request-view">
            <h2 class="tc-h2">{ format!("Request {} · {}", s.request, s.line) }</h2>
            if let Some(rule) = &s.rule {
                <p>{ "Rule: " }<strong data-testid="rule">{ rule }</strong></p>
            }
            <ol class="tc-waterfall">
                { for s.steps.iter().map(|step| {
                    // The client's "ended" step spans the whole request; others are points
                    // or the backend's service time.
                    let (from, len) = match (step.kind, step.took) {
                        (StepKind::Ended, Some(d)) => (step.at.as_micros().saturating_sub(d.as_micros()), d.as_micros()),
                        (_, Some(d)) => (step.at.as_micros(), d.as_micros()),
                        _ => (step.at.as_micros(), 0),
                    };
                    let left = (from.saturating_sub(start)) as f64 / span * 100.0;
                    let width = (len as f64 / span * 100.0).max(0.8);
                    let offset = step.at.as_micros().saturating_sub(start);
                    html! {
                        <li class={format!("tc-step tc-step-{:?}", step.kind).to_ascii_lowercase()}>
                            <div class="tc-step-bar" aria-hidden="true">
                                <span style={format!("left:{left:.2}%;width:{width:.2}%")}></span>
                            </div>
                            <div class="tc-step-text">
                                <span class="tc-muted">{ format!("+{:.3} ms ", offset as f64 / 1000.0) }</span>
                                { &step.text }
                            </div>
                        </li>
                    }
                }) }
            </ol>
            if s.outcome.is_none() {
                <p class="tc-muted">{ "Still in flight." }</p>
            }
        </div>
    }
}
