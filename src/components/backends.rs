//! Backend cards: health with its probe history, load, and buttons that break, heal, drain,
//! re-weight, add and remove backends at the current simulated time.

use lbsim::health::HealthState;
use lbsim::scenario::{BackendSpec, Command, Fault, MAX_WEIGHT};
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;
use crate::view::{self, BackendCard};

/// Props of [`Backends`].
#[derive(Properties, PartialEq)]
pub struct BackendsProps {
    /// The simulation.
    pub sim: SimHandle,
    /// Re-renders after a change.
    pub refresh: Callback<()>,
    /// Reports a command the engine refused.
    pub on_error: Callback<String>,
}

/// The faults a card offers, with their button labels.
const FAULTS: [(&str, Fault); 6] = [
    ("Crash", Fault::Crash),
    ("Close port", Fault::PortClosed),
    ("Answer 500", Fault::AppErrors),
    ("Slow ×5", Fault::Slow { factor: 5.0 }),
    ("Hang", Fault::Hang),
    ("Heal", Fault::None),
];

/// A backend spec for one more backend: the next free letter and address.
pub fn next_backend(cards: &[BackendCard], taken: &[std::net::Ipv4Addr]) -> Option<BackendSpec> {
    let name = ('A'..='Z')
        .map(String::from)
        .find(|n| !cards.iter().any(|c| &c.name == n))?;
    let address = (11..=250u8)
        .map(|d| std::net::Ipv4Addr::new(10, 0, 0, d))
        .find(|a| !taken.contains(a))?;
    // Through the scenario reader, the one deserialiser of scenario types in the bundle.
    let minimal = serde_json::json!({
        "version": 1, "duration": "1s",
        "backends": [{ "name": name, "address": address.to_string() }],
    });
    lbsim::scenario::Scenario::parse_json(&minimal.to_string())
        .ok()
        .and_then(|s| s.backends.into_iter().next())
}

/// The cards.
#[function_component(Backends)]
pub fn backends(props: &BackendsProps) -> Html {
    let (cards, taken) = {
        let s = props.sim.borrow();
        (
            view::backend_cards(&s.frame),
            s.frame.hosts.iter().map(|h| h.address).collect::<Vec<_>>(),
        )
    };
    let run = {
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        let on_error = props.on_error.clone();
        move |c: Command| -> Option<String> {
            let result = sim.borrow_mut().apply(c);
            match result {
                Ok(()) => {
                    refresh.emit(());
                    None
                }
                Err(e) => {
                    let text = e.to_string();
                    on_error.emit(format!("Not applied: {text}"));
                    Some(text)
                }
            }
        }
    };
    let add = {
        let run = run.clone();
        let next = next_backend(&cards, &taken);
        Callback::from(move |_: MouseEvent| {
            if let Some(b) = next.clone() {
                let _ = run(Command::AddBackend { backend: b });
            }
        })
    };
    html! {
        <section class="tc-backends" aria-label="Backends" data-testid="backends">
            { for cards.iter().map(|c| card(c, &run)) }
            <button class="tc-add" onclick={add} data-testid="add-backend">{ "+ Add backend" }</button>
        </section>
    }
}

fn card(c: &BackendCard, run: &(impl Fn(Command) -> Option<String> + Clone + 'static)) -> Html {
    let name = c.name.clone();
    let health = match c.health {
        Some(HealthState::Up) => {
            html! { <span class="tc-badge up" data-testid="health">{ "▲ UP" }</span> }
        }
        Some(HealthState::Down) => {
            html! { <span class="tc-badge down" data-testid="health">{ "▼ DOWN" }</span> }
        }
        None => {
            html! { <span class="tc-badge none" data-testid="health" title="No health checks configured">{ "no checks" }</span> }
        }
    };
    let weight_change = {
        let run = run.clone();
        let name = name.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            // Only the reading is done here; the engine judges the value (its bounds are the
            // timeline's), and its reason is shown at the field.
            let refused = match input.value().trim().parse::<u32>() {
                Ok(weight) => run(Command::SetWeight {
                    backend: name.clone(),
                    weight,
                }),
                Err(_) => Some("a weight is a whole number, such as 1 or 5".to_string()),
            };
            input.set_custom_validity(refused.as_deref().unwrap_or(""));
            if refused.is_some() {
                input.report_validity();
            }
        })
    };
    let drain = {
        let run = run.clone();
        let name = name.clone();
        let drained = c.drained;
        Callback::from(move |_: MouseEvent| {
            let _ = run(Command::SetDrain {
                backend: name.clone(),
                drained: !drained,
            });
        })
    };
    let remove = {
        let run = run.clone();
        let name = name.clone();
        Callback::from(move |_: MouseEvent| {
            let _ = run(Command::RemoveBackend {
                backend: name.clone(),
            });
        })
    };
    html! {
        <article class={classes!("tc-card", c.removed.then_some("removed"))} data-testid={format!("backend-{}", c.name)}
            aria-label={format!("Backend {}", c.name)}>
            <header>
                <strong>{ &c.name }</strong>
                <span class="tc-muted">{ format!(" {}", c.address) }</span>
                { health }
            </header>
            <div class="tc-probes" role="group" aria-label="Recent health probes, oldest first">
                { for c.probes.iter().map(|(ok, text)| html! {
                    <span class={classes!("tc-probe", if *ok { "ok" } else { "bad" })} title={text.clone()}>
                        { if *ok { "✓" } else { "✗" } }
                    </span>
                }) }
            </div>
            <dl class="tc-stats">
                <dt>{ "conns" }</dt><dd>{ c.connections }</dd>
                <dt>{ "req/s" }</dt><dd>{ c.per_second }</dd>
                <dt>{ "5xx/s" }</dt><dd>{ c.errors }</dd>
                <dt>{ "carts" }</dt><dd>{ c.sessions }</dd>
            </dl>
            <p class="tc-fault">{ "fault: " }<strong data-testid="fault">{ c.fault }</strong>
                if c.drained { <span class="tc-muted">{ " · drained" }</span> }
                if c.removed { <span class="tc-muted">{ " · removed" }</span> }
            </p>
            if !c.removed {
                <div class="tc-card-actions">
                    { for FAULTS.iter().map(|(label, fault)| {
                        let run = run.clone();
                        let name = name.clone();
                        let fault = *fault;
                        let onclick = Callback::from(move |_: MouseEvent| { let _ = run(Command::SetFault { backend: name.clone(), fault }); });
                        html! { <button onclick={onclick} data-testid={format!("fault-{}", fault.name())}>{ *label }</button> }
                    }) }
                    <button onclick={drain} data-testid="drain">{ if c.drained { "Undrain" } else { "Drain" } }</button>
                    <label>{ "weight " }<input type="number" min="1" max={MAX_WEIGHT.to_string()} value={c.weight.to_string()} onchange={weight_change}
                        data-testid="weight" /></label>
                    <button onclick={remove} data-testid="remove">{ "Remove" }</button>
                </div>
            }
        </article>
    }
}
