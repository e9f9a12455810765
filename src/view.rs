//! View models: what the components show, read from the engine's world. Nothing here decides
//! a simulation fact; it selects and formats what the engine recorded.

use std::ops::Range;

use lbsim::health::HealthState;
use lbsim::ids::{HostId, PacketId, RequestId};
use lbsim::scenario::Mode;
use lbsim::sim::{Role, World};
use lbsim::time::{Duration, Instant};
use lbsim::trace::{Event, Outcome, Record, RewriteKind, SessionOutcome};
use lbsim::wire::dissect::{self, Layer, PacketKind};
use lbsim::wire::{PacketInfo, Transport};

use crate::state::EventKind;

/// A packet on a link, placed for drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketDot {
    /// The transmission.
    pub id: PacketId,
    /// Sender and receiver.
    pub from: HostId,
    /// Receiver.
    pub to: HostId,
    /// How far along its link, 0 to 1.
    pub progress: f64,
    /// What it is.
    pub kind: PacketKind,
    /// A few characters naming it ("SYN", "GET /", "200").
    pub label: String,
}

/// The host where the balancer (or router) sits: every link ends there.
pub fn hub(world: &World) -> HostId {
    world
        .hosts()
        .iter()
        .find(|h| h.role == Role::Balancer)
        .map_or(HostId(0), |h| h.id)
}

/// Every packet on a link now.
pub fn packet_dots(world: &World) -> Vec<PacketDot> {
    let now = world.now();
    let hub = hub(world);
    // Labels are drawn only when few packets are in view: name them only then.
    let labels = world
        .packets_in_flight()
        .nth(crate::render::LABEL_UP_TO)
        .is_none();
    world
        .packets_in_flight()
        .map(|p| {
            let span = (p.arrives - p.sent).as_micros().max(1) as f64;
            let progress = ((now - p.sent).as_micros() as f64 / span).clamp(0.0, 1.0);
            let forwarded = p.cause.is_some() && p.from == hub;
            let rewrites = forwarded && world.scenario().balancer.mode != Mode::Router;
            PacketDot {
                id: p.packet,
                from: p.from,
                to: p.to,
                progress,
                kind: PacketKind::of(&p.bytes, rewrites, p.lost),
                label: if labels {
                    short_label(&p.bytes)
                } else {
                    String::new()
                },
            }
        })
        .collect()
}

/// A packet's name in a few characters, as a label beside it.
pub fn short_label(bytes: &[u8]) -> String {
    let Some(info) = PacketInfo::parse(bytes) else {
        return "?".into();
    };
    match info.transport {
        Transport::Tcp { flags, .. } => {
            let payload = &bytes[info.payload_offset.min(bytes.len())..];
            if flags.rst {
                "RST".into()
            } else if flags.syn && flags.ack {
                "SYN-ACK".into()
            } else if flags.syn {
                "SYN".into()
            } else if flags.fin {
                "FIN".into()
            } else if payload.is_empty() {
                "ACK".into()
            } else if payload.starts_with(b"HTTP/1.") && payload.len() >= 12 {
                String::from_utf8_lossy(&payload[9..12]).into_owned()
            } else if (20..=23).contains(&payload[0]) && payload.get(1) == Some(&3) {
                "TLS".into()
            } else {
                let line = payload.split(|&b| b == b'\r').next().unwrap_or_default();
                let mut words = line.split(|&b| b == b' ');
                match (words.next(), words.next()) {
                    (Some(m), Some(p)) if m.iter().all(u8::is_ascii_uppercase) => {
                        let text = format!(
                            "{} {}",
                            String::from_utf8_lossy(m),
                            String::from_utf8_lossy(p)
                        );
                        text.chars().take(18).collect()
                    }
                    _ => format!("{} B", payload.len()),
                }
            }
        }
        Transport::Udp { .. } => "UDP".into(),
        Transport::Other(4) => "IPIP".into(),
        Transport::Other(p) => format!("IP {p}"),
    }
}

/// A row of the event list.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    /// Position in the log.
    pub seq: u64,
    /// When.
    pub at: Instant,
    /// Its filter.
    pub kind: EventKind,
    /// In words.
    pub text: String,
    /// The packet it is about, if any.
    pub packet: Option<PacketId>,
    /// The request it is about, if any.
    pub request: Option<RequestId>,
}

/// Names of hosts by id, for texts.
pub struct Names(Vec<String>);

impl Names {
    /// The world's host names.
    pub fn of(world: &World) -> Self {
        Names(world.hosts().into_iter().map(|h| h.name).collect())
    }

    /// One host's name.
    pub fn get(&self, h: HostId) -> &str {
        self.0.get(h.index()).map_or("?", String::as_str)
    }
}

/// Describes a record for the event list; `None` for records the list does not show.
pub fn describe(names: &Names, r: &Record) -> Option<EventRow> {
    let row = |kind, text: String, packet, request| EventRow {
        seq: r.seq,
        at: r.at,
        kind,
        text,
        packet,
        request,
    };
    Some(match &r.event {
        Event::PacketSent {
            packet,
            from,
            to,
            bytes,
            arrives,
            ..
        } => {
            let what = lbsim::wire::summary(bytes);
            let text = match arrives {
                Some(_) => format!("{} → {}: {what}", names.get(*from), names.get(*to)),
                None => format!(
                    "{} → {}: queue full, dropped: {what}",
                    names.get(*from),
                    names.get(*to)
                ),
            };
            row(EventKind::Packets, text, Some(*packet), None)
        }
        Event::PacketDropped {
            packet,
            host,
            reason,
        } => row(
            EventKind::Errors,
            format!(
                "packet {packet} dropped at {}: {}",
                names.get(*host),
                reason.name()
            ),
            Some(*packet),
            None,
        ),
        Event::Rewritten {
            rewrite,
            packet_in,
            packet_out,
            ..
        } => row(
            EventKind::Packets,
            format!(
                "balancer {}: {packet_in} → {packet_out}",
                match rewrite {
                    RewriteKind::ToBackend => "rewrites the destination to the backend",
                    RewriteKind::ToClient => "rewrites the source back to the virtual IP",
                    RewriteKind::Encapsulated => "tunnels to the backend (IP-in-IP)",
                }
            ),
            Some(*packet_out),
            None,
        ),
        Event::RequestStarted {
            request,
            client,
            method,
            path,
            ..
        } => row(
            EventKind::Requests,
            format!("{} sends {method} {path}", names.get(*client)),
            None,
            Some(*request),
        ),
        Event::RequestEnded {
            request,
            client,
            outcome,
            status,
            latency,
        } => {
            let kind = if *outcome == Outcome::Ok {
                EventKind::Requests
            } else {
                EventKind::Errors
            };
            let status = status.map_or(String::new(), |s| format!(" {s}"));
            row(
                kind,
                format!(
                    "{} request {request}: {}{status} after {latency}",
                    names.get(*client),
                    outcome.name()
                ),
                None,
                Some(*request),
            )
        }
        Event::RequestServed {
            host,
            method,
            path,
            status,
            service,
            ..
        } => row(
            EventKind::Requests,
            format!(
                "{} serves {method} {path}: {status} in {service}",
                names.get(*host)
            ),
            None,
            None,
        ),
        Event::SessionEnded {
            client,
            added,
            checked_out,
            outcome,
            ..
        } => {
            let kind = if *outcome == SessionOutcome::Kept {
                EventKind::Requests
            } else {
                EventKind::Errors
            };
            let found =
                checked_out.map_or("no checkout".to_string(), |n| format!("checkout found {n}"));
            row(
                kind,
                format!(
                    "{}'s cart: added {added}, {found}: {}",
                    names.get(*client),
                    match outcome {
                        SessionOutcome::Kept => "kept",
                        SessionOutcome::LostCart => "LOST",
                        SessionOutcome::Abandoned => "abandoned",
                    }
                ),
                None,
                None,
            )
        }
        Event::Decision {
            client,
            backend,
            algorithm,
            explanation,
            ..
        } => row(
            if backend.is_some() {
                EventKind::Decisions
            } else {
                EventKind::Errors
            },
            format!(
                "{algorithm}: {client} → {}: {explanation}",
                backend.map_or("no backend", |b| names.get(b))
            ),
            None,
            None,
        ),
        Event::ProxyRequest {
            method,
            path,
            rule,
            pool,
            backend,
            retry,
            ..
        } => row(
            EventKind::Decisions,
            format!(
                "proxy {}routes {method} {path} by {} to pool {pool} → {}",
                if *retry { "retries: " } else { "" },
                rule.map_or("the default".to_string(), |i| format!("rule {}", i + 1)),
                backend.map_or("no ready backend", |b| names.get(b))
            ),
            None,
            None,
        ),
        Event::ProxyResponse {
            status,
            error: Some(e),
            ..
        } => row(
            EventKind::Errors,
            format!("proxy answers {status} itself: {e:?}"),
            None,
            None,
        ),
        Event::HealthProbe { backend, result } => row(
            EventKind::Health,
            format!("probe of {}: {}", names.get(*backend), result),
            None,
            None,
        ),
        Event::HealthChanged { backend, state } => row(
            EventKind::Health,
            format!(
                "{} is now {}",
                names.get(*backend),
                match state {
                    HealthState::Up => "UP: it gets new traffic",
                    HealthState::Down => "DOWN: no new traffic",
                }
            ),
            None,
            None,
        ),
        Event::FaultSet { host, fault } => row(
            EventKind::Faults,
            format!("{}: fault {}", names.get(*host), fault.name()),
            None,
            None,
        ),
        Event::SettingChanged { change } => row(EventKind::Faults, change.clone(), None, None),
        Event::PoolChanged {
            change,
            mappings_moved,
            clients,
            ..
        } => row(
            EventKind::Faults,
            match mappings_moved {
                Some(m) => format!("pool: {change} ({m} of {clients} clients move)"),
                None => format!("pool: {change}"),
            },
            None,
            None,
        ),
        Event::BackendEjected { backend, until } => row(
            EventKind::Health,
            format!("{} ejected until {until}", names.get(*backend)),
            None,
            None,
        ),
        _ => return None,
    })
}

/// The newest `limit` rows the filter shows, newest first.
pub fn event_rows(
    world: &World,
    log: &EventLog,
    shows: impl Fn(EventKind) -> bool,
    limit: usize,
) -> Vec<EventRow> {
    let names = Names::of(world);
    let mut rows: Vec<EventRow> = world
        .trace()
        .records()
        .rev()
        .filter_map(|r| describe(&names, r))
        .filter(|row| !EventLog::keeps(row.kind) && shows(row.kind))
        .take(limit)
        .collect();
    for kind in EventKind::ALL {
        if EventLog::keeps(kind) && shows(kind) {
            rows.extend(log.rows(kind).rev().take(limit).cloned());
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.seq));
    rows.truncate(limit);
    rows
}

/// The rare kinds of event (health, faults, errors), kept longer than the trace ring keeps
/// records: in a busy run the ring turns over in seconds, and a crash a minute ago must still
/// be in the list.
#[derive(Clone, Debug, Default)]
pub struct EventLog {
    rows: std::collections::BTreeMap<EventKind, std::collections::VecDeque<EventRow>>,
    next_seq: u64,
}

impl EventLog {
    /// Rows kept per kind.
    pub const CAPACITY: usize = 1_000;

    /// Whether rows of `kind` are kept here rather than read from the ring.
    pub fn keeps(kind: EventKind) -> bool {
        matches!(
            kind,
            EventKind::Health | EventKind::Faults | EventKind::Errors
        )
    }

    /// Takes in the records the world added since the last call.
    pub fn absorb(&mut self, world: &World) {
        let trace = world.trace();
        if trace.next_seq() == self.next_seq {
            return;
        }
        let names = Names::of(world);
        for r in trace.since(self.next_seq) {
            // Cheap test first: most records are of kinds never kept here.
            let rare = match &r.event {
                Event::HealthProbe { .. }
                | Event::HealthChanged { .. }
                | Event::FaultSet { .. }
                | Event::PoolChanged { .. }
                | Event::SettingChanged { .. }
                | Event::BackendEjected { .. }
                | Event::PacketDropped { .. } => true,
                Event::RequestEnded { outcome, .. } => *outcome != Outcome::Ok,
                Event::SessionEnded { outcome, .. } => *outcome != SessionOutcome::Kept,
                Event::Decision { backend, .. } => backend.is_none(),
                Event::ProxyResponse { error, .. } => error.is_some(),
                _ => false,
            };
            if !rare {
                continue;
            }
            if let Some(row) = describe(&names, r).filter(|row| Self::keeps(row.kind)) {
                let q = self.rows.entry(row.kind).or_default();
                if q.len() == Self::CAPACITY {
                    q.pop_front();
                }
                q.push_back(row);
            }
        }
        self.next_seq = trace.next_seq();
    }

    /// Kept rows of `kind`, oldest first.
    pub fn rows(&self, kind: EventKind) -> impl DoubleEndedIterator<Item = &EventRow> {
        self.rows.get(&kind).into_iter().flatten()
    }
}

/// A backend's card.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendCard {
    /// Name.
    pub name: String,
    /// Address.
    pub address: String,
    /// Health state, when checks run.
    pub health: Option<HealthState>,
    /// The newest probes, oldest first: (passed, description).
    pub probes: Vec<(bool, String)>,
    /// Fault now.
    pub fault: &'static str,
    /// Weight.
    pub weight: u32,
    /// Drained.
    pub drained: bool,
    /// Removed.
    pub removed: bool,
    /// Open connections on the server.
    pub connections: usize,
    /// Carts held in its memory.
    pub sessions: usize,
    /// Requests served in the last simulated second.
    pub per_second: u32,
    /// Of which errors (5xx).
    pub errors: u32,
}

/// Every backend's card, in pool order.
pub fn backend_cards(world: &World) -> Vec<BackendCard> {
    let hosts = world.hosts();
    let checks = world.settings().balancer.health.is_some();
    let since = world.now().saturating_since(Instant::ZERO);
    let window_start = if since > Duration::from_secs(1) {
        world.now() - Duration::from_secs(1)
    } else {
        Instant::ZERO
    };
    let mut served = vec![(0u32, 0u32); hosts.len()];
    for r in world.trace().records().rev() {
        if r.at < window_start {
            break;
        }
        if let Event::RequestServed { host, status, .. } = &r.event {
            if let Some(s) = served.get_mut(host.index()) {
                s.0 += 1;
                s.1 += u32::from(*status >= 500);
            }
        }
    }
    world
        .balancer()
        .pool
        .iter()
        .map(|e| {
            let h = &hosts[e.host.index()];
            BackendCard {
                name: e.name.clone(),
                address: e.address.to_string(),
                health: checks.then_some(e.health.state),
                probes: e
                    .health
                    .history
                    .iter()
                    .map(|(at, r)| (r.ok(), format!("{at}: {r}")))
                    .collect(),
                fault: h.fault.name(),
                weight: e.weight,
                drained: e.drained,
                removed: e.removed,
                connections: h.connections,
                sessions: h.sessions,
                per_second: served[e.host.index()].0,
                errors: served[e.host.index()].1,
            }
        })
        .collect()
}

/// A packet for the inspector.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketDetail {
    /// The transmission.
    pub id: PacketId,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Sender and receiver names.
    pub route: String,
    /// When it was sent, and when it arrives (or was dropped).
    pub sent: Instant,
    /// Its layers.
    pub layers: Vec<Layer>,
    /// If the balancer rewrote it: the other side of the rewrite.
    pub rewrite: Option<Rewrite>,
}

/// A balancer rewrite: the packet as it arrived and as it left.
#[derive(Clone, Debug, PartialEq)]
pub struct Rewrite {
    /// What was done.
    pub what: &'static str,
    /// As it arrived.
    pub before: Vec<u8>,
    /// As it left.
    pub after: Vec<u8>,
    /// Bytes that differ (in `after`'s offsets).
    pub changed: Vec<Range<usize>>,
    /// Fields that changed: (name, before, after).
    pub fields: Vec<(String, String, String)>,
}

fn sent_bytes(world: &World, id: PacketId) -> Option<(Instant, HostId, HostId, Vec<u8>)> {
    world.trace().records().rev().find_map(|r| match &r.event {
        Event::PacketSent {
            packet,
            from,
            to,
            bytes,
            ..
        } if *packet == id => Some((r.at, *from, *to, bytes.to_vec())),
        _ => None,
    })
}

/// The inspector's view of packet `id`, if the trace still holds it.
pub fn packet_detail(world: &World, id: PacketId) -> Option<PacketDetail> {
    let names = Names::of(world);
    let (sent, from, to, bytes) = sent_bytes(world, id)?;
    let rewrite = world.trace().records().rev().find_map(|r| match &r.event {
        Event::Rewritten {
            rewrite,
            packet_in,
            packet_out,
            ..
        } if *packet_in == id || *packet_out == id => Some((*rewrite, *packet_in, *packet_out)),
        _ => None,
    });
    let rewrite = rewrite.and_then(|(kind, pin, pout)| {
        let before = sent_bytes(world, pin)?.3;
        let after = sent_bytes(world, pout)?.3;
        let changed = dissect::changed(&before, &after);
        let (lb, la) = (dissect::dissect(&before), dissect::dissect(&after));
        let mut fields = Vec::new();
        if kind != RewriteKind::Encapsulated {
            for (x, y) in lb.iter().zip(&la) {
                for (f, g) in x.fields.iter().zip(&y.fields) {
                    if f.name == g.name && f.value != g.value {
                        fields.push((f.name.clone(), f.value.clone(), g.value.clone()));
                    }
                }
            }
        }
        Some(Rewrite {
            what: match kind {
                RewriteKind::ToBackend => {
                    "Destination rewritten from the virtual IP to the backend"
                }
                RewriteKind::ToClient => "Source rewritten from the backend back to the virtual IP",
                RewriteKind::Encapsulated => {
                    "Encapsulated in an outer IPv4 header (IP-in-IP) to the backend"
                }
            },
            before,
            after,
            changed,
            fields,
        })
    });
    Some(PacketDetail {
        id,
        layers: dissect::dissect(&bytes),
        route: format!("{} → {}", names.get(from), names.get(to)),
        bytes,
        sent,
        rewrite,
    })
}

/// The balancer's label on the topology: its layer and mode.
pub fn balancer_label(world: &World) -> (&'static str, &'static str) {
    match world.scenario().balancer.mode {
        Mode::Router => ("Router", "no balancing: clients address servers"),
        Mode::L4Nat => ("L4 balancer · NAT", "rewrites addresses, never reads HTTP"),
        Mode::L4Dsr => ("L4 balancer · DSR", "tunnels in, servers answer directly"),
        Mode::L7 => ("L7 proxy", "reads each request, routes it"),
    }
}
