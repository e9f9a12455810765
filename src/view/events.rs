//! The event list: each trace record in words, with its filter kind and what it is about.

use lbsim::health::HealthState;
use lbsim::ids::{HostId, PacketId, RequestId};
use lbsim::sim::World;
use lbsim::time::Instant;
use lbsim::trace::{Event, Outcome, Record, SessionOutcome};
use lbsim::view::Frame;

use crate::state::EventKind;

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
    /// The host names of a frame.
    pub fn of(frame: &Frame) -> Self {
        Names(frame.hosts.iter().map(|h| h.name.clone()).collect())
    }

    /// The world's host names.
    pub fn of_world(world: &World) -> Self {
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
            format!("packet {packet} dropped at {}: {reason}", names.get(*host)),
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
            format!("balancer {rewrite}: {packet_in} → {packet_out}"),
            Some(*packet_out),
            None,
        ),
        Event::RequestStarted {
            request,
            client,
            line,
            ..
        } => row(
            EventKind::Requests,
            format!("{} sends {} {}", names.get(*client), line.method, line.path),
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
            line,
            status,
            service,
            ..
        } => row(
            EventKind::Requests,
            format!(
                "{} serves {} {}: {status} in {service}",
                names.get(*host),
                line.method,
                line.path
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
                    "{}'s cart: added {added}, {found}: {outcome}",
                    names.get(*client)
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
            route,
            backend,
            retry,
            ..
        } => row(
            EventKind::Decisions,
            format!(
                "proxy {}routes {} {} by {} to pool {} → {}",
                if *retry { "retries: " } else { "" },
                route.method,
                route.path,
                route
                    .rule
                    .map_or("the default".to_string(), |i| format!("rule {}", i + 1)),
                route.pool,
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
            format!("proxy answers {status} itself: {e}"),
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
        Event::SettingChanged { change } => row(EventKind::Faults, change.to_string(), None, None),
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
        // Shown elsewhere or too many to list: deliveries (the packet's own row says where it
        // went), TCP state changes, flow bookkeeping and the proxy relaying a backend's answer.
        Event::PacketDelivered { .. }
        | Event::Connection { .. }
        | Event::FlowStarted { .. }
        | Event::FlowEnded { .. }
        | Event::ProxyResponse { error: None, .. } => return None,
    })
}

/// The newest `limit` rows the filter shows, newest first.
pub fn event_rows(
    world: &World,
    frame: &Frame,
    log: &EventLog,
    shows: impl Fn(EventKind) -> bool,
    limit: usize,
) -> Vec<EventRow> {
    let names = Names::of(frame);
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
        let mut names = None;
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
                Event::PacketSent { .. }
                | Event::PacketDelivered { .. }
                | Event::Connection { .. }
                | Event::RequestStarted { .. }
                | Event::RequestServed { .. }
                | Event::FlowStarted { .. }
                | Event::FlowEnded { .. }
                | Event::Rewritten { .. }
                | Event::ProxyRequest { .. } => false,
            };
            if !rare {
                continue;
            }
            let names = names.get_or_insert_with(|| Names::of_world(world));
            if let Some(row) = describe(names, r).filter(|row| Self::keeps(row.kind)) {
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
