//! Live charts in plain SVG (no plotting library: a few polylines and bars cost nothing in the
//! bundle and stay crisp at any size): latency percentiles and outcomes per second, each
//! backend's share, the health timeline, errors by kind and carts.

use lbsim::health::HealthState;
use lbsim::report::Report;
use lbsim::time::Instant;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;

/// Windows (seconds) the time charts show.
const SPAN: usize = 60;

/// Props of [`Charts`].
#[derive(Properties, PartialEq)]
pub struct ChartsProps {
    /// The simulation.
    pub sim: SimHandle,
}

/// One line of a chart: label, colour, a value per window (`None`: nothing to plot).
pub struct Line {
    /// Legend text.
    pub label: &'static str,
    /// Stroke colour.
    pub colour: &'static str,
    /// Values, oldest first.
    pub values: Vec<Option<f64>>,
}

/// A labelled bar: its parts as (value, colour, what it counts).
pub type BarRow = (String, Vec<(u64, &'static str, &'static str)>);

/// A nice upper bound for an axis: 1, 2 or 5 times a power of ten.
pub fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|m| *m >= v)
        .unwrap_or(10.0 * p)
}

fn line_chart(title: &str, unit: &str, lines: &[Line], testid: &str) -> Html {
    let (w, h, left, bottom) = (320.0, 120.0, 34.0, 16.0);
    let n = lines
        .iter()
        .map(|l| l.values.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let top = nice_max(
        lines
            .iter()
            .flat_map(|l| l.values.iter().flatten())
            .fold(0.0f64, |a, b| a.max(*b)),
    );
    let x = |i: usize| left + (w - left - 4.0) * i as f64 / (n - 1) as f64;
    let y = |v: f64| 4.0 + (h - bottom - 4.0) * (1.0 - v / top);
    html! {
        <figure class="tc-chart" data-testid={testid.to_string()}>
            <figcaption>{ title }
                { for lines.iter().map(|l| html! {
                    <span class="tc-key"><span style={format!("background:{}", l.colour)}></span>{ l.label }</span>
                }) }
            </figcaption>
            <svg viewBox={format!("0 0 {w} {h}")} role="img" aria-label={title.to_string()}>
                <line x1={left.to_string()} y1={y(0.0).to_string()} x2={w.to_string()} y2={y(0.0).to_string()} class="tc-axis" />
                <line x1={left.to_string()} y1={y(top).to_string()} x2={w.to_string()} y2={y(top).to_string()} class="tc-grid" />
                <text x="2" y={(y(top) + 4.0).to_string()} class="tc-tick">{ format!("{top}{unit}") }</text>
                <text x="2" y={(y(0.0)).to_string()} class="tc-tick">{ format!("0{unit}") }</text>
                <text x={left.to_string()} y={h.to_string()} class="tc-tick">{ format!("−{}s", n - 1) }</text>
                <text x={(w - 24.0).to_string()} y={h.to_string()} class="tc-tick">{ "now" }</text>
                { for lines.iter().map(|l| {
                    // Gaps (windows with no value) break the line.
                    let mut paths = Vec::new();
                    let mut cur = String::new();
                    for (i, v) in l.values.iter().enumerate() {
                        match v {
                            Some(v) => cur.push_str(&format!("{:.1},{:.1} ", x(i + n - l.values.len()), y(*v))),
                            None if !cur.is_empty() => paths.push(std::mem::take(&mut cur)),
                            None => {}
                        }
                    }
                    if !cur.is_empty() {
                        paths.push(cur);
                    }
                    paths.into_iter().map(|p| html! {
                        <polyline points={p} fill="none" stroke={l.colour} stroke-width="1.6" />
                    }).collect::<Html>()
                }) }
            </svg>
        </figure>
    }
}

fn bars(title: &str, rows: &[BarRow], testid: &str) -> Html {
    let max = rows
        .iter()
        .map(|(_, parts)| parts.iter().map(|p| p.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    html! {
        <figure class="tc-chart" data-testid={testid.to_string()}>
            <figcaption>{ title }</figcaption>
            <table class="tc-bars">
                { for rows.iter().map(|(label, parts)| html! {
                    <tr>
                        <th scope="row">{ label }</th>
                        <td>
                            <div class="tc-bar">
                                { for parts.iter().map(|(v, colour, what)| html! {
                                    <span style={format!("width:{:.2}%;background:{colour}", *v as f64 / max as f64 * 100.0)}
                                        title={format!("{what}: {v}")}></span>
                                }) }
                            </div>
                        </td>
                        <td class="tc-num">{ parts.iter().map(|(v, _, what)| format!("{v} {what}")).collect::<Vec<_>>().join(" · ") }</td>
                    </tr>
                }) }
            </table>
        </figure>
    }
}

/// The charts panel.
#[function_component(Charts)]
pub fn charts(props: &ChartsProps) -> Html {
    let s = props.sim.borrow();
    let w = &s.world;
    let windows: Vec<_> = w.metrics().series.windows().collect();
    let recent = &windows[windows.len().saturating_sub(SPAN)..];
    let q = |p: f64| -> Vec<Option<f64>> {
        recent
            .iter()
            .map(|win| win.latency.quantile(p).map(|d| d.as_millis_f64()))
            .collect()
    };
    let latency = [
        Line {
            label: "p50",
            colour: "#009e73",
            values: q(0.5),
        },
        Line {
            label: "p95",
            colour: "#e69f00",
            values: q(0.95),
        },
        Line {
            label: "p99",
            colour: "#d55e00",
            values: q(0.99),
        },
    ];
    let outcomes = [
        Line {
            label: "ok",
            colour: "#0072b2",
            values: recent
                .iter()
                .map(|w| Some((w.ended - w.failed) as f64))
                .collect(),
        },
        Line {
            label: "failed",
            colour: "#d55e00",
            values: recent.iter().map(|w| Some(w.failed as f64)).collect(),
        },
    ];
    let report = Report::of(w);
    let share: Vec<_> = report
        .backends
        .iter()
        .map(|b| {
            (
                b.name.clone(),
                vec![
                    (b.requests, "#0072b2", "requests"),
                    (b.connections, "#56b4e9", "connections"),
                ],
            )
        })
        .collect();
    let errors: Vec<_> = report
        .requests
        .outcomes
        .iter()
        .filter(|(k, _)| **k != "ok")
        .map(|(k, v)| (k.replace('_', " "), vec![(*v, "#d55e00", "requests")]))
        .collect();
    let carts = report.sessions.as_ref().map(|c| {
        vec![
            ("kept".to_string(), vec![(c.kept, "#009e73", "sessions")]),
            (
                "lost cart".to_string(),
                vec![(c.lost_carts, "#d55e00", "sessions")],
            ),
            (
                "abandoned".to_string(),
                vec![(c.abandoned, "#e69f00", "sessions")],
            ),
        ]
    });
    // Health timeline: each backend's state from 0 to now.
    let now = w.now().as_micros().max(1) as f64;
    let transitions = &w.balancer().transitions;
    let timeline = html! {
        <figure class="tc-chart" data-testid="chart-health">
            <figcaption>{ "Health over time" }<span class="tc-muted">{ " (red: down)" }</span></figcaption>
            <svg viewBox="0 0 320 14" preserveAspectRatio="none" class="tc-health-axis" aria-hidden="true"></svg>
            { for s.frame.backends.iter().map(|e| {
                let mut segs = Vec::new();
                let mut from = 0.0;
                let mut state = HealthState::Up;
                for t in transitions.iter().filter(|t| t.backend == e.name) {
                    segs.push((from, t.at.as_micros() as f64, state));
                    from = t.at.as_micros() as f64;
                    state = t.state;
                }
                segs.push((from, now, state));
                html! {
                    <div class="tc-health-row">
                        <span class="tc-health-name">{ &e.name }</span>
                        <svg viewBox="0 0 1000 10" preserveAspectRatio="none" role="img"
                            aria-label={format!("{}: {} changes", e.name, segs.len() - 1)}>
                            { for segs.iter().map(|(a, b, st)| html! {
                                <rect x={(a / now * 1000.0).to_string()} y="0" width={((b - a) / now * 1000.0).max(0.5).to_string()} height="10"
                                    fill={ if *st == HealthState::Up { "#009e73" } else { "#d55e00" } } />
                            }) }
                        </svg>
                    </div>
                }
            }) }
            <p class="tc-muted">{ format!("0 s to {}", Instant::from_micros(now as u64)) }</p>
        </figure>
    };
    html! {
        <div class="tc-charts tc-pad" data-testid="charts">
            { line_chart("Latency per second", " ms", &latency, "chart-latency") }
            { line_chart("Requests ended per second", "", &outcomes, "chart-outcomes") }
            { bars("Each backend's share", &share, "chart-share") }
            { timeline }
            if !errors.is_empty() {
                { bars("Errors by kind", &errors, "chart-errors") }
            }
            if let Some(c) = carts {
                { bars("Shopping carts", &c, "chart-carts") }
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(0.7), 1.0);
        assert_eq!(nice_max(42.8), 50.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(1000.0), 1000.0);
    }
}
