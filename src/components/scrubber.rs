//! The time scrubber: the whole run as a slider, with marks at the timeline's actions, faults,
//! health changes and the lesson's moments. Drag or click to go to any time, backwards
//! included; step one event back.

use lbsim::time::Instant;
use lbsim::view::MarkerKind;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;

/// Props of [`Scrubber`].
#[derive(Properties, PartialEq)]
pub struct ScrubberProps {
    /// The simulation.
    pub sim: SimHandle,
    /// Re-renders after a change.
    pub refresh: Callback<()>,
}

/// One mark on the scrubber.
struct Mark {
    at: Instant,
    class: &'static str,
    label: String,
}

/// The scrubber.
#[function_component(Scrubber)]
pub fn scrubber(props: &ScrubberProps) -> Html {
    let (now, end, marks) = {
        let s = props.sim.borrow();
        let mut marks: Vec<Mark> = s
            .scenario()
            .timeline
            .iter()
            .map(|e| Mark {
                at: Instant::ZERO + e.at,
                class: "timeline",
                label: format!("{}: {}", e.at, e.action.kind().replace('_', " ")),
            })
            .collect();
        marks.extend(
            s.markers
                .iter()
                .filter(|m| m.kind != MarkerKind::Change)
                .map(|m| Mark {
                    at: m.at,
                    class: match m.kind {
                        MarkerKind::Fault => "fault",
                        MarkerKind::Health => "health",
                        MarkerKind::Change => "timeline",
                    },
                    label: format!("{}: {}", m.at, m.label),
                }),
        );
        marks.extend(s.moments.iter().map(|m| Mark {
            at: Instant::ZERO + m.at,
            class: "moment",
            label: format!("{}: {}", m.at, m.caption),
        }));
        (s.world.now(), s.end(), marks)
    };
    let span = end.as_micros().max(1) as f64;
    let on_input = {
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |e: InputEvent| {
            let v = e
                .target_unchecked_into::<HtmlInputElement>()
                .value_as_number();
            if v.is_finite() {
                sim.borrow_mut()
                    .seek(Instant::from_micros(v.max(0.0) as u64));
                refresh.emit(());
            }
        })
    };
    let back = {
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |_: MouseEvent| {
            sim.borrow_mut().step_back();
            refresh.emit(());
        })
    };
    let jump = |at: Instant| {
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |_: MouseEvent| {
            sim.borrow_mut().seek(at);
            refresh.emit(());
        })
    };
    html! {
        <div class="tc-scrubber" data-testid="scrubber">
            <button onclick={back} data-testid="step-back" aria-keyshortcuts="," title="One event back (,)">{ "◀ Back" }</button>
            <div class="tc-scrub-track">
                <input type="range" min="0" max={end.as_micros().to_string()} step="1000"
                    value={now.as_micros().to_string()} oninput={on_input} data-testid="time"
                    aria-label="Simulated time" aria-valuetext={format!("{now} of {end}")} />
                <div class="tc-scrub-marks" aria-hidden="true">
                    { for marks.iter().map(|m| html! {
                        <button class={classes!("tc-scrub-mark", m.class)} tabindex="-1"
                            style={format!("left:{:.3}%", m.at.as_micros() as f64 / span * 100.0)}
                            title={m.label.clone()} onclick={jump(m.at)} />
                    }) }
                </div>
            </div>
        </div>
    }
}
