//! The figures that prove a lesson's point, beside its canvas, as the run goes: lost carts,
//! errors, failover time, the balancer's CPU, mappings moved… (each lesson names its own).

use lbsim::health::HealthState;
use lbsim::presets::Figure;
use lbsim::report::Report;
use lbsim::scenario::{Command, Fault};
use lbsim::time::Instant;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;

/// Props of [`Figures`].
#[derive(Properties, PartialEq)]
pub struct FiguresProps {
    /// The simulation.
    pub sim: SimHandle,
    /// What to show.
    pub figures: Vec<Figure>,
}

/// A figure's label and value in words, from the report of the run so far.
pub fn figure(
    f: Figure,
    r: &Report,
    s: &lbsim::scenario::Scenario,
    now: Instant,
) -> (String, String) {
    let outcome = |k: &str| r.requests.outcomes.get(k).copied().unwrap_or(0);
    let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.0} ms"));
    let b = r.balancer.as_ref();
    match f {
        Figure::Requests => (
            "requests OK".into(),
            format!("{} of {}", outcome("ok"), r.requests.ended),
        ),
        Figure::Errors => (
            "failed requests".into(),
            (r.requests.ended - outcome("ok")).to_string(),
        ),
        Figure::ServerErrors => (
            "5xx answers".into(),
            r.requests
                .statuses
                .iter()
                .filter(|(s, _)| **s >= 500)
                .map(|(_, n)| n)
                .sum::<u64>()
                .to_string(),
        ),
        Figure::Timeouts => ("timeouts".into(), outcome("timeout").to_string()),
        Figure::LostCarts => (
            "carts lost".into(),
            r.sessions
                .as_ref()
                .map_or("0".into(), |s| format!("{} of {}", s.lost_carts, s.started)),
        ),
        Figure::P99 => ("latency p99".into(), ms(r.latency.p99_ms)),
        Figure::Failover => {
            // From each fault the timeline set to the backend's next DOWN.
            let faults = s.timeline.iter().rev().filter_map(|e| match &e.action {
                Command::SetFault { backend, fault } if *fault != Fault::None => {
                    Some((Instant::ZERO + e.at, backend.clone()))
                }
                _ => None,
            });
            let found = faults
                .filter(|(at, _)| *at <= now)
                .filter_map(|(at, backend)| {
                    let down = b?.health_transitions.iter().find(|t| {
                        t.backend == backend && t.state == HealthState::Down && t.at >= at
                    })?;
                    Some(down.at - at)
                })
                .next();
            (
                "failover time".into(),
                found.map_or("–".into(), |d| d.to_string()),
            )
        }
        Figure::HealthFlips => (
            "health changes".into(),
            b.map_or(0, |b| b.health_transitions.len()).to_string(),
        ),
        Figure::BalancerCpu => (
            "balancer CPU busy".into(),
            b.map_or("–".into(), |b| format!("{:.1} %", b.cpu_busy * 100.0)),
        ),
        Figure::MappingsMoved => (
            "client mappings moved".into(),
            b.map_or("–".into(), |b| {
                let moved: Vec<String> = b
                    .pool_changes
                    .iter()
                    .filter_map(|c| c.mappings_moved.map(|m| format!("{m} of {}", c.clients)))
                    .collect();
                if moved.is_empty() {
                    "none yet".into()
                } else {
                    moved.join(", then ")
                }
            }),
        ),
        Figure::Ejections => (
            "ejections".into(),
            b.and_then(|b| b.proxy.as_ref())
                .map_or("0".into(), |p| p.ejections.to_string()),
        ),
        Figure::Retries => (
            "retried requests".into(),
            b.and_then(|b| b.proxy.as_ref())
                .map_or("0".into(), |p| p.retries.to_string()),
        ),
        Figure::Flows => (
            "flows in the table".into(),
            b.map_or("–".into(), |b| b.conntrack.flows.to_string()),
        ),
        Figure::BalancerMemory => (
            "balancer memory for connections".into(),
            b.map_or("–".into(), |b| {
                format!(
                    "{} for {} connections",
                    bytes(b.held.bytes),
                    b.held.connections
                )
            }),
        ),
    }
}

/// A byte count in words: B, KiB or MiB.
fn bytes(n: u64) -> String {
    match n {
        0..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// The figures strip.
#[function_component(Figures)]
pub fn figures(props: &FiguresProps) -> Html {
    let shown: Vec<(String, String)> = {
        let s = props.sim.borrow();
        let report = Report::of(&s.world);
        // In compare mode each figure reads both sides: A (this scenario), then B.
        let twin = s
            .twin
            .as_ref()
            .map(|t| (Report::of(&t.world), t.world.scenario().clone()));
        props
            .figures
            .iter()
            .map(|f| {
                let (label, a) = figure(*f, &report, s.scenario(), s.world.now());
                match &twin {
                    Some((r, scenario)) => {
                        let (_, b) = figure(*f, r, scenario, s.world.now());
                        (label, format!("A {a} · B {b}"))
                    }
                    None => (label, a),
                }
            })
            .collect()
    };
    html! {
        <dl class="tc-figures" data-testid="figures" aria-label="What the run shows">
            { for shown.into_iter().map(|(label, value)| html! {
                <div class="tc-figure"><dt>{ label }</dt><dd>{ value }</dd></div>
            }) }
        </dl>
    }
}
