//! The run report: what the CLI prints and writes as JSON, and what tests compare.
//!
//! Every figure is derived from the world's metrics with integer arithmetic or IEEE basic
//! operations, and every map is ordered, so a report's JSON is byte-identical for the same
//! scenario and seed on every platform.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::lb::l4::ConntrackCounts;
use crate::lb::l7::ProxyStats;
use crate::lb::{HealthTransition, PoolChange};
use crate::metrics::LatencySummary;
use crate::scenario::{Fault, Mode};
use crate::sim::{Role, World};
use crate::time::Duration;
use crate::trace::{Outcome, SessionOutcome};

/// Requests, as clients saw them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestReport {
    /// Started.
    pub started: u64,
    /// Ended, whatever the outcome.
    pub ended: u64,
    /// Started and not ended when the report was taken.
    pub in_flight: u64,
    /// Ended, by outcome (every outcome present).
    pub outcomes: BTreeMap<String, u64>,
    /// Responses by status.
    pub statuses: BTreeMap<u16, u64>,
}

/// One backend.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BackendReport {
    /// Name.
    pub name: String,
    /// Address.
    pub address: Ipv4Addr,
    /// Fault in force at the end.
    pub fault: Fault,
    /// Requests answered.
    pub requests: u64,
    /// Answers by status.
    pub statuses: BTreeMap<u16, u64>,
    /// TCP connections accepted.
    pub connections: u64,
    /// Cart sessions held in memory at the end.
    pub sessions_held: u64,
}

/// Packets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PacketReport {
    /// Transmissions offered to links (a forwarded packet counts once per link).
    pub sent: u64,
    /// Delivered at the far end.
    pub delivered: u64,
    /// Dropped, in all.
    pub dropped: u64,
    /// On a link when the report was taken.
    pub in_flight: u64,
    /// Dropped, by reason.
    pub dropped_by_reason: BTreeMap<String, u64>,
}

/// Shopping sessions.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionReport {
    /// Started.
    pub started: u64,
    /// Checkout found the whole cart.
    pub kept: u64,
    /// Checkout found fewer items than were added.
    pub lost_carts: u64,
    /// Of the lost carts, those found empty.
    pub empty_carts: u64,
    /// A request failed, so the shopper gave up.
    pub abandoned: u64,
    /// Still shopping.
    pub in_flight: u64,
}

/// Game traffic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GameReport {
    /// Updates sent.
    pub sent: u64,
    /// Echoes received.
    pub received: u64,
    /// Updates whose echo never came.
    pub lost: u64,
    /// Updates whose echo may still come.
    pub in_flight: u64,
    /// Round-trip time.
    pub rtt: LatencySummary,
    /// Mean |RTT(n) − RTT(n−1)| in milliseconds.
    pub jitter_ms: Option<f64>,
}

/// The balancer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BalancerReport {
    /// Mode.
    pub mode: Mode,
    /// Algorithm at the end.
    pub algorithm: &'static str,
    /// Packets its CPU processed.
    pub packets_processed: u64,
    /// Share of the simulated time its CPU was busy.
    pub cpu_busy: f64,
    /// New flows sent to each backend, by name.
    pub decisions: BTreeMap<String, u64>,
    /// Connection table.
    pub conntrack: ConntrackReport,
    /// What the balancer holds in memory for the connections through it now.
    pub held: HeldReport,
    /// Health transitions, in order.
    pub health_transitions: Vec<HealthTransition>,
    /// Pool changes, with the flows and client mappings they moved.
    pub pool_changes: Vec<PoolChange>,
    /// The reverse proxy's counters (L7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyStats>,
}

/// The connection table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConntrackReport {
    /// Flows held when the report was taken.
    pub flows: u64,
    /// Counters.
    #[serde(flatten)]
    pub counts: ConntrackCounts,
}

/// What the balancer holds for connections: at L4 a flow entry each, at L7 two TCP sockets
/// each (the client's, ended at the proxy, and the one to the backend) with their buffers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeldReport {
    /// Connections through the balancer now: L4 flows, or the proxy's client connections.
    pub connections: u64,
    /// Bytes held for them: flow entries ([`crate::lb::l4::FLOW_BYTES`] each) and socket
    /// buffers.
    pub bytes: u64,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Simulated time when the report was taken.
    pub simulated: Duration,
    /// Requests.
    pub requests: RequestReport,
    /// Latency of requests that received a complete response.
    pub latency: LatencySummary,
    /// Per backend, in scenario order.
    pub backends: Vec<BackendReport>,
    /// Packets.
    pub packets: PacketReport,
    /// The balancer, unless it is a plain router without health checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balancer: Option<BalancerReport>,
    /// Shopping sessions, if any were started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<SessionReport>,
    /// Game traffic, if any was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub game: Option<GameReport>,
}

impl Report {
    /// The report of a world as it stands.
    pub fn of(world: &World) -> Report {
        let m = world.metrics();
        let requests = RequestReport {
            started: m.requests.started,
            ended: m.requests.ended(),
            in_flight: world.requests_in_flight(),
            outcomes: Outcome::ALL
                .iter()
                .map(|&o| (o.name().to_string(), m.requests.outcome(o)))
                .collect(),
            statuses: m.requests.statuses.clone(),
        };
        let hosts = world.hosts();
        let backends = hosts
            .iter()
            .filter(|h| h.role == Role::Backend)
            .zip(&m.backends)
            .map(|(h, c)| BackendReport {
                name: h.name.clone(),
                address: h.address,
                fault: h.fault,
                requests: c.requests,
                statuses: c.statuses.clone(),
                connections: c.connections,
                sessions_held: h.sessions as u64,
            })
            .collect();
        let packets = PacketReport {
            sent: m.packets.sent,
            delivered: m.packets.delivered,
            dropped: m.packets.dropped_total(),
            in_flight: world.packets_in_flight().count() as u64,
            dropped_by_reason: m
                .packets
                .dropped
                .iter()
                .map(|(r, n)| (r.name().to_string(), *n))
                .collect(),
        };
        let lb = world.balancer();
        let spec = lb.spec();
        let balancer = (spec.mode != Mode::Router || spec.health.is_some()).then(|| {
            let (processed, busy) = lb.cpu();
            let elapsed = (world.now() - crate::time::Instant::ZERO)
                .as_micros()
                .max(1);
            BalancerReport {
                mode: spec.mode,
                algorithm: lb.algorithm().name(),
                packets_processed: processed,
                cpu_busy: busy.as_micros() as f64 / elapsed as f64,
                decisions: lb
                    .pool
                    .iter()
                    .zip(&m.backends)
                    .map(|(e, c)| (e.name.to_string(), c.decisions))
                    .collect(),
                conntrack: ConntrackReport {
                    flows: lb.conntrack.len() as u64,
                    counts: lb.conntrack.counts,
                },
                held: HeldReport {
                    connections: lb
                        .proxy
                        .as_ref()
                        .map_or(lb.conntrack.len(), |p| p.connections())
                        as u64,
                    bytes: (lb.conntrack.len() * crate::lb::l4::FLOW_BYTES
                        + world.tcp_buffer_bytes(crate::sim::BALANCER))
                        as u64,
                },
                health_transitions: lb.transitions.clone(),
                pool_changes: lb.changes.clone(),
                proxy: lb.proxy.as_ref().map(|p| p.stats.clone()),
            }
        });
        let s = &m.sessions;
        let sessions = (s.started > 0).then(|| SessionReport {
            started: s.started,
            kept: s.outcomes.get(&SessionOutcome::Kept).copied().unwrap_or(0),
            lost_carts: s.lost_carts(),
            empty_carts: s.empty_carts,
            abandoned: s
                .outcomes
                .get(&SessionOutcome::Abandoned)
                .copied()
                .unwrap_or(0),
            in_flight: world.sessions_in_flight(),
        });
        let g = &m.game;
        let game = (g.sent > 0).then(|| GameReport {
            sent: g.sent,
            received: g.received,
            lost: g.lost,
            in_flight: world.game_updates_in_flight(),
            rtt: g.rtt.summary(),
            jitter_ms: (g.jitter_samples > 0)
                .then(|| g.jitter_sum_us as f64 / g.jitter_samples as f64 / 1000.0),
        });
        Report {
            scenario: world.scenario().name.clone(),
            seed: world.scenario().seed,
            simulated: world.now() - crate::time::Instant::ZERO,
            requests,
            latency: m.latency.summary(),
            backends,
            packets,
            balancer,
            sessions,
            game,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("reports always serialise")
    }

    /// A summary for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} ms"));
        let _ = writeln!(
            out,
            "scenario {:?}, seed {}, {} simulated",
            self.scenario, self.seed, self.simulated
        );
        let r = &self.requests;
        let _ = writeln!(
            out,
            "requests: {} started, {} ended, {} in flight",
            r.started, r.ended, r.in_flight
        );
        let outcomes: Vec<String> = r.outcomes.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  outcomes: {}", outcomes.join(", "));
        if !r.statuses.is_empty() {
            let statuses: Vec<String> = r
                .statuses
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            let _ = writeln!(out, "  statuses: {}", statuses.join(", "));
        }
        let l = &self.latency;
        let _ = writeln!(
            out,
            "latency: p50 {}, p95 {}, p99 {}, max {}",
            ms(l.p50_ms),
            ms(l.p95_ms),
            ms(l.p99_ms),
            ms(l.max_ms)
        );
        let _ = writeln!(out, "backends:");
        for b in &self.backends {
            let fault = if b.fault.is_none() {
                String::new()
            } else {
                format!("  [{}]", b.fault.name())
            };
            let _ = writeln!(
                out,
                "  {:<10} {:<15} {:>7} requests {:>7} connections{}",
                b.name,
                b.address.to_string(),
                b.requests,
                b.connections,
                fault
            );
        }
        let p = &self.packets;
        let _ = writeln!(
            out,
            "packets: {} sent, {} delivered, {} dropped, {} in flight",
            p.sent, p.delivered, p.dropped, p.in_flight
        );
        for (reason, n) in &p.dropped_by_reason {
            let _ = writeln!(out, "  dropped ({reason}): {n}");
        }
        if let Some(b) = &self.balancer {
            let decisions: Vec<String> = b
                .decisions
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(
                out,
                "balancer: {} {}, {} work items on its CPU ({:.1} % busy), decisions: {}",
                b.mode.name(),
                b.algorithm,
                b.packets_processed,
                b.cpu_busy * 100.0,
                decisions.join(", ")
            );
            let c = &b.conntrack;
            let _ = writeln!(
                out,
                "  conntrack: {} flows now, {} peak, {} created, {} expired, {} evicted, {} removed",
                c.flows, c.counts.peak, c.counts.created, c.counts.expired, c.counts.evicted, c.counts.removed
            );
            let _ = writeln!(
                out,
                "  holds {} connections in {:.1} KiB (flow entries and socket buffers)",
                b.held.connections,
                b.held.bytes as f64 / 1024.0
            );
            if let Some(p) = &b.proxy {
                let list = |m: &BTreeMap<String, u64>| {
                    m.iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let _ = writeln!(
                    out,
                    "  proxy pools: {}; rules: {}",
                    list(&p.per_pool),
                    list(&p.per_rule)
                );
                if !p.errors.is_empty() {
                    let _ = writeln!(out, "  proxy answered itself: {}", list(&p.errors));
                }
                let _ = writeln!(
                    out,
                    "  sticky hits {}, misses {}; retries {}; TLS handshakes {}; ejections {}",
                    p.sticky_hits, p.sticky_misses, p.retries, p.tls_handshakes, p.ejections
                );
            }
            for t in &b.health_transitions {
                let _ = writeln!(out, "  health: {} {:?} at {}", t.backend, t.state, t.at);
            }
            for p in &b.pool_changes {
                let moved = p.mappings_moved.map_or(String::new(), |m| {
                    format!(", {m} of {} client mappings moved", p.clients)
                });
                let _ = writeln!(
                    out,
                    "  change at {}: {}{moved}, {} flows affected",
                    p.at, p.change, p.flows_affected
                );
            }
        }
        if let Some(s) = &self.sessions {
            let _ = writeln!(
                out,
                "carts: {} sessions, {} kept, {} lost ({} empty), {} abandoned, {} in flight",
                s.started, s.kept, s.lost_carts, s.empty_carts, s.abandoned, s.in_flight
            );
        }
        if let Some(g) = &self.game {
            let _ = writeln!(
                out,
                "game: {} updates, {} echoed, {} lost; rtt p50 {}, p99 {}; jitter {}",
                g.sent,
                g.received,
                g.lost,
                ms(g.rtt.p50_ms),
                ms(g.rtt.p99_ms),
                ms(g.jitter_ms)
            );
        }
        out
    }
}

/// What identifies a run: the digest of its whole event log and its report. Equal fingerprints
/// mean byte-identical event logs (up to FNV-1a collisions) and byte-identical reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// FNV-1a 64 of every event record's JSON line, newline-terminated.
    pub digest: u64,
    /// Records in the log.
    pub records: u64,
    /// The report as pretty JSON.
    pub report: String,
}

impl Fingerprint {
    /// Runs `scenario` from the start until it settles and fingerprints the run.
    pub fn of_run(scenario: &crate::scenario::Scenario) -> Fingerprint {
        let mut world = World::with_trace_capacity(scenario, 0);
        world.trace_mut().enable_digest();
        let end = world.settle_time();
        world.run_until(end);
        Fingerprint {
            digest: world.trace().digest().expect("digest enabled"),
            records: world.trace().next_seq(),
            report: Report::of(&world).to_json(),
        }
    }

    /// The text form kept in golden files: two header lines, then the report.
    pub fn to_text(&self) -> String {
        format!(
            "digest {:016x}\nrecords {}\n{}\n",
            self.digest, self.records, self.report
        )
    }
}
