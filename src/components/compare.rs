//! Compare mode: the scenario and a variant differing in one setting, with the same seed and
//! traffic, run side by side in lockstep; the metrics that differ are highlighted.

use lbsim::presets;
use lbsim::report::Report;
use lbsim::scenario::Scenario;
use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::components::editor::ALGORITHMS;
use crate::hooks::use_simulation::SimHandle;

/// Props of [`Compare`].
#[derive(Properties, PartialEq)]
pub struct CompareProps {
    /// The simulation.
    pub sim: SimHandle,
    /// Re-renders after a change.
    pub refresh: Callback<()>,
    /// Reports a variant that could not start.
    pub on_error: Callback<String>,
}

/// The variants offered for `scenario`: the lesson's own variant when it is a preset, then
/// each other algorithm.
pub fn variants(scenario: &Scenario) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    if let Some(p) = presets::all().into_iter().find(|p| &p.scenario == scenario) {
        if let (Some(c), Some(Ok(s))) = (p.compare.clone(), p.compare_scenario()) {
            out.push((c.label, s));
        }
    }
    for (label, algorithm) in ALGORITHMS {
        if algorithm != scenario.balancer.algorithm {
            let mut s = scenario.clone();
            s.balancer.algorithm = algorithm;
            out.push((label.to_string(), s));
        }
    }
    out
}

/// One compared figure: its name and each side's value, as text and as a number.
pub struct Row {
    /// What it is.
    pub name: &'static str,
    /// Side A, side B.
    pub values: [Option<f64>; 2],
    /// Unit shown after the value.
    pub unit: &'static str,
}

impl Row {
    /// Whether the two sides differ enough to point out: by more than 5 % (or at all, for
    /// counts under 20).
    pub fn differs(&self) -> bool {
        match self.values {
            [Some(a), Some(b)] => {
                let big = a.abs().max(b.abs());
                (a - b).abs() > if big < 20.0 { 0.0 } else { 0.05 * big }
            }
            [a, b] => a.is_some() != b.is_some(),
        }
    }
}

/// The figures compared, from both sides' reports.
pub fn rows(a: &Report, b: &Report) -> Vec<Row> {
    let both = |f: &dyn Fn(&Report) -> Option<f64>| [f(a), f(b)];
    let mut rows = vec![
        Row {
            name: "requests ended",
            values: both(&|r| Some((r.requests.ended) as f64)),
            unit: "",
        },
        Row {
            name: "ok",
            values: both(&|r| r.requests.outcomes.get("ok").map(|v| *v as f64)),
            unit: "",
        },
        Row {
            name: "failed",
            values: both(&|r| {
                Some(
                    r.requests
                        .outcomes
                        .iter()
                        .filter(|(k, _)| **k != "ok")
                        .map(|(_, v)| *v as f64)
                        .sum(),
                )
            }),
            unit: "",
        },
        Row {
            name: "latency p50",
            values: both(&|r| r.latency.p50_ms),
            unit: " ms",
        },
        Row {
            name: "latency p95",
            values: both(&|r| r.latency.p95_ms),
            unit: " ms",
        },
        Row {
            name: "latency p99",
            values: both(&|r| r.latency.p99_ms),
            unit: " ms",
        },
        Row {
            name: "packets dropped",
            values: both(&|r| Some(r.packets.dropped as f64)),
            unit: "",
        },
    ];
    if a.balancer.is_some() || b.balancer.is_some() {
        rows.push(Row {
            name: "balancer memory for connections",
            values: both(&|r| r.balancer.as_ref().map(|b| b.held.bytes as f64 / 1024.0)),
            unit: " KiB",
        });
    }
    if a.sessions.is_some() || b.sessions.is_some() {
        rows.push(Row {
            name: "carts kept",
            values: both(&|r| r.sessions.as_ref().map(|s| s.kept as f64)),
            unit: "",
        });
        rows.push(Row {
            name: "carts lost",
            values: both(&|r| r.sessions.as_ref().map(|s| s.lost_carts as f64)),
            unit: "",
        });
        rows.push(Row {
            name: "sessions abandoned",
            values: both(&|r| r.sessions.as_ref().map(|s| s.abandoned as f64)),
            unit: "",
        });
    }
    if a.game.is_some() || b.game.is_some() {
        rows.push(Row {
            name: "game RTT p50",
            values: both(&|r| r.game.as_ref().and_then(|g| g.rtt.p50_ms)),
            unit: " ms",
        });
        rows.push(Row {
            name: "game RTT p99",
            values: both(&|r| r.game.as_ref().and_then(|g| g.rtt.p99_ms)),
            unit: " ms",
        });
        rows.push(Row {
            name: "game updates lost",
            values: both(&|r| r.game.as_ref().map(|g| g.lost as f64)),
            unit: "",
        });
    }
    rows
}

fn show(v: Option<f64>, unit: &str) -> String {
    match v {
        None => "–".into(),
        Some(v) if v.fract() == 0.0 => format!("{v:.0}{unit}"),
        Some(v) => format!("{v:.1}{unit}"),
    }
}

/// The compare panel.
#[function_component(Compare)]
pub fn compare(props: &CompareProps) -> Html {
    let choice = use_state(|| 0usize);
    let s = props.sim.borrow();
    let Some(twin) = &s.twin else {
        let options = variants(s.scenario());
        drop(s);
        let onchange = {
            let choice = choice.clone();
            Callback::from(move |e: Event| {
                choice.set(
                    e.target_unchecked_into::<HtmlSelectElement>()
                        .value()
                        .parse()
                        .unwrap_or(0),
                )
            })
        };
        let start = {
            let sim = props.sim.clone();
            let refresh = props.refresh.clone();
            let on_error = props.on_error.clone();
            let pick = options.get(*choice).cloned();
            Callback::from(move |_: MouseEvent| {
                if let Some((label, variant)) = pick.clone() {
                    let mut s = sim.borrow_mut();
                    let started = s.compare(label, &variant);
                    s.playing = started.is_ok();
                    drop(s);
                    if let Err(e) = started {
                        on_error.emit(format!("The variant could not start: {e}"));
                    }
                    refresh.emit(());
                }
            })
        };
        return html! {
            <div class="tc-compare tc-pad" data-testid="compare">
                <h2 class="tc-h2">{ "Compare" }</h2>
                <p>{ "Run this scenario next to a copy that differs in one setting: same seed, same traffic, in lockstep." }</p>
                <label class="tc-edit-field">
                    <span>{ "B differs by" }</span>
                    <select {onchange} data-testid="compare-variant">
                        { for options.iter().enumerate().map(|(i, (label, _))| html! {
                            <option value={i.to_string()} selected={i == *choice}>{ label }</option>
                        }) }
                    </select>
                </label>
                <button onclick={start} data-testid="compare-start">{ "Start both from zero" }</button>
            </div>
        };
    };
    let (a, b) = (Report::of(&s.world), Report::of(&twin.world));
    let label = twin.label.clone();
    let rows = rows(&a, &b);
    drop(s);
    let stop = {
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |_: MouseEvent| {
            let mut s = sim.borrow_mut();
            s.twin = None;
            s.version += 1;
            drop(s);
            refresh.emit(());
        })
    };
    html! {
        <div class="tc-compare tc-pad" data-testid="compare">
            <h2 class="tc-h2">{ "A: this scenario · B: " }{ &label }</h2>
            <table class="tc-compare-table" data-testid="compare-table">
                <thead><tr><th></th><th>{ "A" }</th><th>{ "B" }</th></tr></thead>
                <tbody>
                    { for rows.iter().map(|r| html! {
                        <tr class={classes!(r.differs().then_some("diff"))} data-metric={r.name}>
                            <th scope="row">{ r.name }</th>
                            <td>{ show(r.values[0], r.unit) }</td>
                            <td>{ show(r.values[1], r.unit) }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
            <p class="tc-muted">{ "Highlighted rows differ by more than 5 % (or at all, for small counts)." }</p>
            <button onclick={stop} data-testid="compare-stop">{ "Stop comparing" }</button>
        </div>
    }
}
