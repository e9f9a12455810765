//! The balancer editor. The algorithm switches live (a command at the current time, recorded
//! in the timeline so that a link replays it); everything else changes the scenario's shape
//! and restarts it from time zero. Every field checks its input and says what is wrong next to
//! it; the whole draft is validated by the engine before it can be applied.

use lbsim::balance::{Algorithm, IpHashKey};
use lbsim::scenario::{Command, HealthKind, HealthSpec, HttpCheck, Mode, Scenario, TlsSpec};
use lbsim::time::Duration;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;

/// Props of [`Editor`].
#[derive(Properties, PartialEq)]
pub struct EditorProps {
    /// The simulation.
    pub sim: SimHandle,
    /// Re-renders after a change.
    pub refresh: Callback<()>,
}

/// The algorithms the editor offers, with their labels.
pub const ALGORITHMS: [(&str, Algorithm); 6] = [
    ("Round robin", Algorithm::RoundRobin),
    ("Least connections", Algorithm::LeastConnections),
    (
        "IP hash (whole address)",
        Algorithm::IpHash(IpHashKey::Address),
    ),
    (
        "IP hash (nginx: first three octets)",
        Algorithm::IpHash(IpHashKey::Nginx),
    ),
    ("Maglev consistent hashing", Algorithm::Maglev),
    ("Power of two choices", Algorithm::PowerOfTwo),
];

const MODES: [(&str, Mode); 3] = [
    ("L4 · NAT", Mode::L4Nat),
    ("L4 · direct server return", Mode::L4Dsr),
    ("L7 · reverse proxy", Mode::L7),
];

/// An input's problem, keyed by field.
type Errors = std::collections::BTreeMap<String, String>;

fn parse_duration(text: &str) -> Result<Duration, String> {
    Duration::parse(text.trim()).map_err(|e| format!("{e} (write it like 250ms or 2s)"))
}

/// A decimal number as people type it (`2.5`, `.5`, `40.`, `1e3`), or `None`.
///
/// Read with serde_json's float parser, which the bundle carries anyway for scenarios: a
/// second, `str::parse`, would bring its own tables (BENCHMARKS.md, "Release bundle").
fn parse_decimal(text: &str) -> Option<f64> {
    let text = text.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    if !digits.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let lead = if digits.starts_with('.') { "0" } else { "" };
    let trail = if digits.ends_with('.') { "0" } else { "" };
    serde_json::from_str(&format!("{sign}{lead}{digits}{trail}")).ok()
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    let v = parse_decimal(text.trim().trim_end_matches('%'))
        .ok_or_else(|| "a percentage, such as 1 or 0.5".to_string())?;
    if (0.0..=100.0).contains(&v) {
        Ok(v / 100.0)
    } else {
        Err("between 0 and 100 %".into())
    }
}

fn parse_count(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("a whole number, 1 or more".into()),
    }
}

/// The index of the option chosen in the `<select>` that fired `e`.
fn selected(e: &Event) -> usize {
    e.target_unchecked_into::<HtmlSelectElement>()
        .value()
        .parse()
        .unwrap_or(0)
}

/// The balancer editor.
#[function_component(Editor)]
pub fn editor(props: &EditorProps) -> Html {
    let (current, rev, algorithm) = {
        let s = props.sim.borrow();
        (
            s.scenario.clone(),
            s.scenario_rev,
            s.world.balancer().algorithm(),
        )
    };
    // The draft follows the scenario whenever it changes elsewhere.
    let draft = use_state(|| current.clone());
    let errors = use_state(Errors::new);
    {
        let draft = draft.clone();
        let errors = errors.clone();
        use_effect_with(rev, move |_| {
            draft.set(current);
            errors.set(Errors::new());
        });
    }
    let problems = draft.validate();
    let edit = |key: &'static str, f: fn(&mut Scenario, &str) -> Result<(), String>| {
        let draft = draft.clone();
        let errors = errors.clone();
        Callback::from(move |value: String| {
            let mut s = (*draft).clone();
            let mut e = (*errors).clone();
            match f(&mut s, &value) {
                Ok(()) => {
                    e.remove(key);
                    draft.set(s);
                }
                Err(msg) => {
                    e.insert(key.to_string(), msg);
                }
            }
            errors.set(e);
        })
    };
    let text_input = |key: &'static str, label: &str, value: String, on: Callback<String>| {
        let error = errors.get(key).cloned();
        let onchange = on.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().value());
        html! {
            <label class="tc-edit-field">
                <span>{ label }</span>
                <input type="text" {value} {onchange} aria-invalid={error.is_some().to_string()}
                    data-testid={format!("edit-{key}")} />
                if let Some(e) = error {
                    <span class="tc-field-error" role="alert">{ e }</span>
                }
            </label>
        }
    };

    let on_algorithm = {
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |e: Event| {
            let i = selected(&e);
            let algorithm = ALGORITHMS[i.min(ALGORITHMS.len() - 1)].1;
            let ok = sim
                .borrow_mut()
                .apply(Command::SetAlgorithm { algorithm })
                .is_ok();
            if ok {
                refresh.emit(());
            }
        })
    };
    let on_mode = {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let i = selected(&e);
            let mut s = (*draft).clone();
            s.balancer.mode = MODES[i.min(MODES.len() - 1)].1;
            draft.set(s);
        })
    };
    let on_health = {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<HtmlSelectElement>().value();
            let mut s = (*draft).clone();
            s.balancer.health = match v.as_str() {
                "tcp" => Some(HealthSpec {
                    kind: HealthKind::Tcp,
                    ..s.balancer.health.clone().unwrap_or_default()
                }),
                "http" => Some(HealthSpec {
                    kind: HealthKind::Http(HttpCheck::default()),
                    ..s.balancer.health.clone().unwrap_or_default()
                }),
                _ => None,
            };
            draft.set(s);
        })
    };
    let on_tls = {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            let mut s = (*draft).clone();
            s.balancer.l7.tls = on.then(TlsSpec::default);
            for c in &mut s.clients {
                c.tls = on;
            }
            draft.set(s);
        })
    };
    let on_keep_alive = {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<HtmlInputElement>().checked();
            let mut s = (*draft).clone();
            for c in &mut s.clients {
                c.keep_alive = on;
            }
            draft.set(s);
        })
    };
    let l7_text = serde_json::to_string_pretty(&serde_json::json!({
        "pools": draft.balancer.l7.pools,
        "rules": draft.balancer.l7.rules,
        "default_pool": draft.balancer.l7.default_pool,
    }))
    .unwrap_or_default();
    let on_l7 = {
        let draft = draft.clone();
        let errors = errors.clone();
        Callback::from(move |e: Event| {
            let text = e.target_unchecked_into::<HtmlTextAreaElement>().value();
            let mut errs = (*errors).clone();
            // Merged into the whole draft and read back by the scenario reader, so a mistake
            // is named by its path (balancer.l7.rules[1].pool).
            let merged = serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|patch| {
                    let mut value = serde_json::to_value(&*draft).expect("serialises");
                    lbsim::presets::merge_patch(
                        &mut value,
                        &serde_json::json!({ "balancer": { "l7": patch } }),
                    );
                    Scenario::parse_json(&value.to_string()).map_err(|e| e.to_string())
                });
            match merged {
                Ok(s) => {
                    errs.remove("l7");
                    draft.set(s);
                }
                Err(msg) => {
                    errs.insert("l7".to_string(), msg);
                }
            }
            errors.set(errs);
        })
    };
    let apply = {
        let sim = props.sim.clone();
        let draft = draft.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |_: MouseEvent| {
            let mut s = sim.borrow_mut();
            let playing = s.playing;
            s.restart(Some((*draft).clone()));
            s.playing = playing;
            drop(s);
            refresh.emit(());
        })
    };
    let d = &*draft;
    let health_kind = match &d.balancer.health {
        None => "none",
        Some(h) if matches!(h.kind, HealthKind::Tcp) => "tcp",
        Some(_) => "http",
    };
    let algo_index = ALGORITHMS
        .iter()
        .position(|(_, a)| *a == algorithm)
        .unwrap_or(0);
    let mode_index = MODES.iter().position(|(_, m)| *m == d.balancer.mode);
    let changed = *d != props.sim.borrow().scenario;
    let first_client = d.clients.first();
    html! {
        <form class="tc-editor tc-pad" data-testid="editor" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <h2 class="tc-h2">{ "Balancer" }</h2>
            <label class="tc-edit-field">
                <span>{ "Algorithm (applies now)" }</span>
                <select onchange={on_algorithm} data-testid="edit-algorithm">
                    { for ALGORITHMS.iter().enumerate().map(|(i, (label, _))| html! {
                        <option value={i.to_string()} selected={i == algo_index}>{ *label }</option>
                    }) }
                </select>
            </label>
            <p class="tc-muted">{ "The fields below change the scenario's shape: apply them to restart from time zero." }</p>
            <label class="tc-edit-field">
                <span>{ "Layer and mode" }</span>
                <select onchange={on_mode} data-testid="edit-mode">
                    if mode_index.is_none() { <option selected=true>{ "Router (no balancer)" }</option> }
                    { for MODES.iter().enumerate().map(|(i, (label, _))| html! {
                        <option value={i.to_string()} selected={Some(i) == mode_index}>{ *label }</option>
                    }) }
                </select>
            </label>
            <fieldset>
                <legend>{ "Health checks" }</legend>
                <label class="tc-edit-field">
                    <span>{ "Kind" }</span>
                    <select onchange={on_health} data-testid="edit-health">
                        <option value="none" selected={health_kind == "none"}>{ "None" }</option>
                        <option value="tcp" selected={health_kind == "tcp"}>{ "TCP: a handshake" }</option>
                        <option value="http" selected={health_kind == "http"}>{ "HTTP: GET, expect 200" }</option>
                    </select>
                </label>
                if let Some(h) = &d.balancer.health {
                    if let HealthKind::Http(c) = &h.kind {
                        { text_input("health-path", "Path", c.path.clone(), edit("health-path", |s, v| {
                            if !v.starts_with('/') { return Err("a path starts with /".into()); }
                            if let Some(HealthSpec { kind: HealthKind::Http(c), .. }) = s.balancer.health.as_mut() { c.path = v.to_string(); }
                            Ok(())
                        })) }
                    }
                    { text_input("interval", "Interval", h.interval.to_string(), edit("interval", |s, v| {
                        let d = parse_duration(v)?;
                        if let Some(h) = s.balancer.health.as_mut() { h.interval = d; }
                        Ok(())
                    })) }
                    { text_input("timeout", "Timeout", h.timeout.to_string(), edit("timeout", |s, v| {
                        let d = parse_duration(v)?;
                        if let Some(h) = s.balancer.health.as_mut() { h.timeout = d; }
                        Ok(())
                    })) }
                    { text_input("rise", "Rise (passes to come back)", h.rise.to_string(), edit("rise", |s, v| {
                        let n = parse_count(v)?;
                        if let Some(h) = s.balancer.health.as_mut() { h.rise = n; }
                        Ok(())
                    })) }
                    { text_input("fall", "Fall (failures to go down)", h.fall.to_string(), edit("fall", |s, v| {
                        let n = parse_count(v)?;
                        if let Some(h) = s.balancer.health.as_mut() { h.fall = n; }
                        Ok(())
                    })) }
                }
            </fieldset>
            if d.balancer.mode == Mode::L7 {
                <fieldset>
                    <legend>{ "Layer 7" }</legend>
                    <label class="tc-edit-check">
                        <input type="checkbox" checked={d.balancer.l7.tls.is_some()} onchange={on_tls} data-testid="edit-tls" />
                        { "TLS terminated at the balancer (clients connect over TLS)" }
                    </label>
                    <label class="tc-edit-field">
                        <span>{ "Pools and rules (JSON)" }</span>
                        <textarea rows="8" spellcheck="false" value={l7_text} onchange={on_l7} data-testid="edit-l7"
                            aria-invalid={errors.contains_key("l7").to_string()} />
                        if let Some(e) = errors.get("l7") {
                            <span class="tc-field-error" role="alert">{ e }</span>
                        }
                    </label>
                </fieldset>
            }
            <fieldset>
                <legend>{ "Links" }</legend>
                { text_input("client-latency", "Client link latency", d.network.client_link.latency.to_string(), edit("client-latency", |s, v| {
                    s.network.client_link.latency = parse_duration(v)?; Ok(())
                })) }
                { text_input("client-loss", "Client link loss (%)", format!("{}", d.network.client_link.loss * 100.0), edit("client-loss", |s, v| {
                    s.network.client_link.loss = parse_fraction(v)?; Ok(())
                })) }
                { text_input("server-latency", "Server link latency", d.network.server_link.latency.to_string(), edit("server-latency", |s, v| {
                    s.network.server_link.latency = parse_duration(v)?; Ok(())
                })) }
                { text_input("server-loss", "Server link loss (%)", format!("{}", d.network.server_link.loss * 100.0), edit("server-loss", |s, v| {
                    s.network.server_link.loss = parse_fraction(v)?; Ok(())
                })) }
            </fieldset>
            if let Some(c) = first_client {
                <fieldset>
                    <legend>{ format!("Traffic: client group {}", c.name) }</legend>
                    { text_input("rate", "Arrivals per second", format!("{}", c.rate), edit("rate", |s, v| {
                        let r = parse_decimal(v).ok_or_else(|| "a number, such as 40 or 2.5".to_string())?;
                        if !(r > 0.0 && r.is_finite()) { return Err("more than 0".into()); }
                        if let Some(c) = s.clients.first_mut() { c.rate = r; }
                        Ok(())
                    })) }
                    <label class="tc-edit-check">
                        <input type="checkbox" checked={d.clients.iter().all(|c| c.keep_alive)} onchange={on_keep_alive} />
                        { "Keep-alive: one connection per visit" }
                    </label>
                </fieldset>
            }
            if !problems.is_empty() {
                <ul class="tc-problems" role="alert" data-testid="edit-problems">
                    { for problems.iter().map(|p| html! { <li><code>{ &p.path }</code>{ ": " }{ &p.message }</li> }) }
                </ul>
            }
            <button onclick={apply} disabled={!problems.is_empty() || !errors.is_empty() || !changed}
                data-testid="edit-apply">{ "Apply and restart" }</button>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_read_as_people_type_them() {
        for (text, value) in [
            ("40", 40.0),
            (" 2.5 ", 2.5),
            (".5", 0.5),
            ("-.5", -0.5),
            ("+3", 3.0),
            ("40.", 40.0),
            ("1e3", 1000.0),
            ("0.1", 0.1),
        ] {
            assert_eq!(parse_decimal(text), Some(value), "{text:?}");
        }
        for bad in ["", "-", ".", "forty", "1,5", "1e999", "NaN", "--1", "0x10"] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn fractions_are_percentages_between_0_and_100() {
        assert_eq!(parse_fraction("1%"), Ok(0.01));
        assert_eq!(parse_fraction("50"), Ok(0.5));
        assert!(parse_fraction("101").is_err());
        assert!(parse_fraction("lots").is_err());
    }
}
