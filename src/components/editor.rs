//! The balancer editor. The algorithm, the health checks, the links and the traffic (rate and
//! request mix) change live: a command at the current time, recorded in the timeline so that a
//! link replays it. Everything else changes the scenario's shape (the balancer's layer, TLS,
//! rules and pools, keep-alive) and restarts it from time zero. Every field checks its input and says what
//! is wrong next to it; the whole draft is validated by the engine before it can be applied.

use lbsim::balance::{Algorithm, IpHashKey};
use lbsim::scenario::{
    Command, HealthKind, HealthSpec, HttpCheck, LinkSpec, Mode, Scenario, Side, TlsSpec,
};
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
pub const ALGORITHMS: [(&str, Algorithm); 7] = [
    ("Round robin", Algorithm::RoundRobin),
    ("Least connections (nginx)", Algorithm::LeastConnections),
    ("Least connections (HAProxy)", Algorithm::HaproxyLeastconn),
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

/// Puts a JSON value into a scenario's JSON.
type Put = fn(&mut serde_json::Value, serde_json::Value) -> Result<(), String>;

/// The L7 text holds pools, rules and the default pool: merged into the balancer's L7 spec.
fn put_l7(scenario: &mut serde_json::Value, l7: serde_json::Value) -> Result<(), String> {
    let patch = serde_json::json!({ "balancer": { "l7": l7 } });
    lbsim::presets::merge_patch(scenario, &patch);
    Ok(())
}

/// The mix text is the first client group's whole mix.
fn put_mix(scenario: &mut serde_json::Value, mix: serde_json::Value) -> Result<(), String> {
    let slot = scenario
        .pointer_mut("/clients/0/mix")
        .ok_or("the scenario has no client group")?;
    *slot = mix;
    Ok(())
}

/// `draft` with the JSON `text` put in by `put`, read back by the scenario reader, so that a
/// mistake is named by its path (`balancer.l7.rules[1].pool`, `clients[0].mix[2].weight`).
fn with_json(draft: &Scenario, text: &str, put: Put) -> Result<Scenario, String> {
    let new = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let mut value = serde_json::to_value(draft).expect("scenarios serialise");
    put(&mut value, new)?;
    Scenario::parse_json(&value.to_string()).map_err(|e| e.to_string())
}

/// The command giving the running checks one changed setting.
fn with_health(s: &Scenario, change: impl FnOnce(&mut HealthSpec)) -> Result<Command, String> {
    let mut health = s.balancer.health.clone().ok_or("the checks are off")?;
    change(&mut health);
    Ok(Command::SetHealth {
        health: Some(health),
    })
}

fn set_link(side: Side, link: LinkSpec) -> Command {
    Command::SetLink { side, link }
}

/// Shows `result`'s message next to field `key`, or clears the field's message; whether it was
/// a success.
fn note(errors: &UseStateHandle<Errors>, key: &str, result: Result<(), String>) -> bool {
    let mut e = (**errors).clone();
    let ok = match result {
        Ok(()) => {
            e.remove(key);
            true
        }
        Err(msg) => {
            e.insert(key.to_string(), msg);
            false
        }
    };
    errors.set(e);
    ok
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
            s.scenario().clone(),
            s.scenario_rev,
            s.frame.balancer.algorithm,
        )
    };
    // The draft follows the scenario whenever it changes elsewhere; a live change (only the
    // timeline grew) keeps the edits waiting in the draft.
    let draft = use_state(|| current.clone());
    let errors = use_state(Errors::new);
    let base = use_mut_ref(|| current.clone());
    {
        let draft = draft.clone();
        let errors = errors.clone();
        use_effect_with(rev, move |_| {
            let only_timeline = Scenario {
                timeline: current.timeline.clone(),
                ..base.borrow().clone()
            } == current;
            if only_timeline {
                let mut d = (*draft).clone();
                d.timeline = current.timeline.clone();
                draft.set(d);
            } else {
                draft.set(current.clone());
                errors.set(Errors::new());
            }
            *base.borrow_mut() = current;
        });
    }
    // A live field: its text becomes a command applied now, or a message next to it.
    let live = |key: &'static str, f: fn(&Scenario, &str) -> Result<Command, String>| {
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        let errors = errors.clone();
        Callback::from(move |value: String| {
            let command = f(sim.borrow().world.settings(), &value);
            let made = command.and_then(|c| sim.borrow_mut().apply(c).map_err(|e| e.to_string()));
            if note(&errors, key, made) {
                refresh.emit(());
            }
        })
    };
    let problems = draft.validate();
    // A labelled field with its message, if any, under it.
    let field = |key: &str, label: &str, control: Html| {
        html! {
            <label class="tc-edit-field">
                <span>{ label }</span>
                { control }
                if let Some(e) = errors.get(key) {
                    <span class="tc-field-error" role="alert">{ e.clone() }</span>
                }
            </label>
        }
    };
    let text_input = |key: &'static str, label: &str, value: String, on: Callback<String>| {
        let invalid = errors.contains_key(key).to_string();
        let onchange = on.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().value());
        field(
            key,
            label,
            html! {
                <input type="text" {value} {onchange} aria-invalid={invalid}
                    data-testid={format!("edit-{key}")} />
            },
        )
    };

    let on_algorithm = live("algorithm", |_, v| {
        let i = v.parse().unwrap_or(0).min(ALGORITHMS.len() - 1);
        Ok(Command::SetAlgorithm {
            algorithm: ALGORITHMS[i].1,
        })
    })
    .reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value());
    let on_mode = {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            let i = selected(&e);
            let mut s = (*draft).clone();
            s.balancer.mode = MODES[i.min(MODES.len() - 1)].1;
            draft.set(s);
        })
    };
    let on_health = live("health", |s, v| {
        let current = s.balancer.health.clone().unwrap_or_default();
        let health = match v {
            "tcp" => Some(HealthSpec {
                kind: HealthKind::Tcp,
                ..current
            }),
            "http" => Some(HealthSpec {
                kind: HealthKind::Http(HttpCheck::default()),
                ..current
            }),
            _ => None,
        };
        Ok(Command::SetHealth { health })
    })
    .reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value());
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
    // A JSON field: its text goes into the draft where `put` says.
    let json_edit = |key: &'static str, put: Put| {
        let draft = draft.clone();
        let errors = errors.clone();
        Callback::from(move |text: String| {
            let made = with_json(&draft, &text, put).map(|s| draft.set(s));
            note(&errors, key, made);
        })
    };
    let json_field = |key: &'static str, label: &str, text: String, on: Callback<String>| {
        let invalid = errors.contains_key(key).to_string();
        let onchange =
            on.reform(|e: Event| e.target_unchecked_into::<HtmlTextAreaElement>().value());
        field(
            key,
            label,
            html! {
                <textarea rows="8" spellcheck="false" value={text} {onchange}
                    data-testid={format!("edit-{key}")} aria-invalid={invalid} />
            },
        )
    };
    let apply = {
        let sim = props.sim.clone();
        let draft = draft.clone();
        let refresh = props.refresh.clone();
        let errors = errors.clone();
        Callback::from(move |_: MouseEvent| {
            let mut s = sim.borrow_mut();
            let playing = s.playing;
            let opened = s.open(&draft);
            s.playing = playing;
            drop(s);
            if let Err(e) = opened {
                note(&errors, "apply", Err(e));
            }
            refresh.emit(());
        })
    };
    let d = &*draft;
    // What the live fields show: the world as it runs now (the editor re-renders with every
    // frame while it is open, so only these settings are copied, not the whole scenario).
    let (health_now, client_link, server_link, rate_now, mix_text) = {
        let s = props.sim.borrow();
        let now = s.world.settings();
        let group = now.clients.first();
        (
            now.balancer.health.clone(),
            now.network.client_link,
            now.network.server_link,
            group.map(|c| c.rate),
            group
                .and_then(|c| serde_json::to_string_pretty(&c.mix).ok())
                .unwrap_or_default(),
        )
    };
    let health_kind = match &health_now {
        None => "none",
        Some(h) if matches!(h.kind, HealthKind::Tcp) => "tcp",
        Some(_) => "http",
    };
    let algo_index = ALGORITHMS
        .iter()
        .position(|(_, a)| *a == algorithm)
        .unwrap_or(0);
    let mode_index = MODES.iter().position(|(_, m)| *m == d.balancer.mode);
    let changed = d != props.sim.borrow().scenario();
    let first_client = d.clients.first();
    html! {
        <form class="tc-editor tc-pad" data-testid="editor" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
            <h2 class="tc-h2">{ "Balancer" }</h2>
            { field("algorithm", "Algorithm (applies now)", html! {
                <select onchange={on_algorithm} data-testid="edit-algorithm">
                    { for ALGORITHMS.iter().enumerate().map(|(i, (label, _))| html! {
                        <option value={i.to_string()} selected={i == algo_index}>{ *label }</option>
                    }) }
                </select>
            }) }
            <fieldset>
                <legend>{ "Links (apply now)" }</legend>
                { text_input("client-latency", "Client link latency", client_link.latency.to_string(), live("client-latency", |s, v| {
                    Ok(set_link(Side::Client, LinkSpec { latency: parse_duration(v)?, ..s.network.client_link }))
                })) }
                { text_input("client-loss", "Client link loss (%)", format!("{}", client_link.loss * 100.0), live("client-loss", |s, v| {
                    Ok(set_link(Side::Client, LinkSpec { loss: parse_fraction(v)?, ..s.network.client_link }))
                })) }
                { text_input("server-latency", "Server link latency", server_link.latency.to_string(), live("server-latency", |s, v| {
                    Ok(set_link(Side::Server, LinkSpec { latency: parse_duration(v)?, ..s.network.server_link }))
                })) }
                { text_input("server-loss", "Server link loss (%)", format!("{}", server_link.loss * 100.0), live("server-loss", |s, v| {
                    Ok(set_link(Side::Server, LinkSpec { loss: parse_fraction(v)?, ..s.network.server_link }))
                })) }
            </fieldset>
            if let (Some(c), Some(rate)) = (first_client, rate_now) {
                <fieldset>
                    <legend>{ format!("Traffic: client group {} (applies now)", c.name) }</legend>
                    { text_input("rate", "Arrivals per second", format!("{rate}"), live("rate", |s, v| {
                        let rate = parse_decimal(v).ok_or_else(|| "a number, such as 40 or 2.5".to_string())?;
                        let group = s.clients.first().map(|c| c.name.clone()).unwrap_or_default();
                        Ok(Command::SetRate { group, rate })
                    })) }
                    { json_field("mix", "Request mix (JSON)", mix_text, live("mix", |s, v| {
                        let with = with_json(s, v, put_mix)?;
                        let c = with.clients.first().ok_or("the scenario has no client group")?;
                        Ok(Command::SetMix { group: c.name.clone(), mix: c.mix.clone() })
                    })) }
                </fieldset>
            }
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
                <legend>{ "Health checks (apply now)" }</legend>
                { field("health", "Kind", html! {
                    <select onchange={on_health} data-testid="edit-health">
                        <option value="none" selected={health_kind == "none"}>{ "None" }</option>
                        <option value="tcp" selected={health_kind == "tcp"}>{ "TCP: a handshake" }</option>
                        <option value="http" selected={health_kind == "http"}>{ "HTTP: GET, expect 200" }</option>
                    </select>
                }) }
                if let Some(h) = &health_now {
                    if let HealthKind::Http(c) = &h.kind {
                        { text_input("health-path", "Path", c.path.clone(), live("health-path", |s, v| {
                            with_health(s, |h| {
                                if let HealthKind::Http(c) = &mut h.kind { c.path = v.to_string(); }
                            })
                        })) }
                    }
                    { text_input("interval", "Interval", h.interval.to_string(), live("interval", |s, v| {
                        let d = parse_duration(v)?;
                        with_health(s, |h| h.interval = d)
                    })) }
                    { text_input("timeout", "Timeout", h.check_timeout().to_string(), live("timeout", |s, v| {
                        let d = parse_duration(v)?;
                        with_health(s, |h| h.timeout = Some(d))
                    })) }
                    { text_input("rise", "Rise (passes to come back)", h.rise.to_string(), live("rise", |s, v| {
                        let n = parse_count(v)?;
                        with_health(s, |h| h.rise = n)
                    })) }
                    { text_input("fall", "Fall (failures to go down)", h.fall.to_string(), live("fall", |s, v| {
                        let n = parse_count(v)?;
                        with_health(s, |h| h.fall = n)
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
                    { json_field("l7", "Pools and rules (JSON)", l7_text, json_edit("l7", put_l7)) }
                </fieldset>
            }
            if first_client.is_some() {
                <fieldset>
                    <legend>{ "Traffic" }</legend>
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
    fn json_fields_go_into_the_draft_or_say_where_they_are_wrong() {
        let draft = lbsim::presets::get("playground")
            .expect("preset")
            .scenario
            .clone();
        let mix = r#"[{"weight": 1, "request": {"path": "/a"}}, {"weight": 2, "request": {"path": "/b"}}]"#;
        let s = with_json(&draft, mix, put_mix).expect("a good mix goes in");
        assert_eq!(s.clients[0].mix.len(), 2);
        assert_eq!(s.clients[0].mix[1].weight, 2);
        assert_eq!(s.balancer, draft.balancer, "nothing else changed");
        let typo = r#"[{"weight": 1, "reqest": {"path": "/a"}}]"#;
        let e = with_json(&draft, typo, put_mix).unwrap_err();
        assert!(e.starts_with("clients[0].mix[0]"), "{e}");
        assert!(with_json(&draft, "[{", put_mix)
            .unwrap_err()
            .starts_with("not JSON"));
        let rules = r#"{"pools": [{"name": "all", "backends": ["A"]}], "default_pool": "all"}"#;
        let s = with_json(&draft, rules, put_l7).expect("pools go in");
        assert_eq!(s.balancer.l7.pools.len(), 1);
    }

    #[test]
    fn fractions_are_percentages_between_0_and_100() {
        assert_eq!(parse_fraction("1%"), Ok(0.01));
        assert_eq!(parse_fraction("50"), Ok(0.5));
        assert!(parse_fraction("101").is_err());
        assert!(parse_fraction("lots").is_err());
    }
}
