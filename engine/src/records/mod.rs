//! Every request as a record a user can check: who sent it from which address and port, what
//! the balancer decided and why, the rule that routed it, the backend that served it, when each
//! step happened and how it ended. `lbsim run --requests` writes them as JSON lines; [`har`]
//! writes the same run as an HTTP Archive (HAR 1.2) that browsers' developer tools import.
//!
//! Records are read from the trace, as [`crate::sim::RequestStory`] reads one request's story,
//! but for every request of a run: a [`RequestLog`] is fed the trace as the world runs
//! ([`RequestLog::observe`], or [`run_until`], which observes often enough that the bounded
//! trace ring drops nothing unread), so a run of any length is recorded whole. Records the ring
//! dropped before they were read are counted ([`RequestLog::missed`]), never guessed at.
//!
//! What ties the records of one request together:
//! - the client's end of its connection (`local`): the balancer's decisions and the proxy's
//!   routing name it, and at L4 (NAT and DSR keep the client's address) so does the backend;
//! - at L7 the backend sees the proxy's connection instead, so the answer a backend gave is
//!   matched to the oldest request routed to that backend for that target and not yet
//!   answered. Every answer is matched at most once, so per backend the records count exactly
//!   the answers the report counts.

pub mod har;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddrV4;

use serde::Serialize;

use crate::ids::{HostId, RequestId, SessionId};
use crate::lb::l7::ProxyError;
use crate::scenario::Mode;
use crate::sim::{describe_match, World};
use crate::time::{Duration, Instant};
use crate::trace::{Event, Outcome, Record, TcpState};

/// Milliseconds, with microsecond precision, for records (as the report gives latencies).
fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// The balancer's choice for a request (at L4: for its connection).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecisionRecord {
    /// The algorithm, or `sticky_cookie` when a pool's cookie chose.
    pub algorithm: String,
    /// Why, in one line, as the event list shows it.
    pub explanation: String,
    /// When, in milliseconds after the request started (negative when the connection it reused
    /// was opened before).
    pub at_ms: f64,
    /// At L4: the decision was made for an earlier request's connection, which this one reuses.
    pub reused_connection: bool,
}

/// The answer a backend gave.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServedRecord {
    /// The backend.
    pub backend: String,
    /// The status it answered.
    pub status: u16,
    /// When it began working on the request, in milliseconds after the request started.
    pub start_ms: f64,
    /// Time the request spent queued and in service there.
    pub service_ms: f64,
}

/// An answer the proxy gave itself.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProxyAnswerRecord {
    /// The status.
    pub status: u16,
    /// Why (for example `no_backend`, `upstream_timeout`; `bad_request` with a parse error).
    pub error: ProxyError,
    /// When, in milliseconds after the request started.
    pub at_ms: f64,
}

/// One request, from the client's first byte to its outcome.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestRecord {
    /// The request's id (as in the trace: `r17` there, 17 here).
    pub request: RequestId,
    /// The client host's name.
    pub client: String,
    /// The client's address.
    pub client_address: std::net::Ipv4Addr,
    /// The client's port for the connection it went on.
    pub client_port: u16,
    /// The shopping session it belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionId>,
    /// Method.
    pub method: String,
    /// Request target as the client sent it.
    pub target: String,
    /// Where the client sent it: the virtual IP and port (or a backend, with no balancer).
    pub to: SocketAddrV4,
    /// `https` when it went to the proxy's TLS port, else `http`.
    pub scheme: &'static str,
    /// When it started, in milliseconds of simulated time.
    pub started_ms: f64,
    /// The backend the balancer chose (at L7, for the last attempt), or that served it.
    pub backend: Option<String>,
    /// The balancer's decision and its reasons.
    pub decision: Option<DecisionRecord>,
    /// The rule that routed it (L7), in words; `no rule matched: the default pool` else.
    pub rule: Option<String>,
    /// The pool it was routed to (L7).
    pub pool: Option<String>,
    /// Attempts on another backend after a refused or reset upstream connection (L7).
    pub retries: u32,
    /// Time to establish the client's connection, when it opened one for this request.
    pub connect_ms: Option<f64>,
    /// The backend's answer, if one answered.
    pub served: Option<ServedRecord>,
    /// The proxy's own answer, if it gave one.
    pub proxy_answer: Option<ProxyAnswerRecord>,
    /// How it ended for the client; `None` while it is in flight.
    pub outcome: Option<Outcome>,
    /// The status the client received.
    pub status: Option<u16>,
    /// Time from start to outcome.
    pub total_ms: Option<f64>,
}

impl RequestRecord {
    /// The record as one line of JSON.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("records always serialise")
    }
}

/// A request being read back.
#[derive(Clone, Debug)]
struct Draft {
    request: RequestId,
    client: HostId,
    local: SocketAddrV4,
    session: Option<SessionId>,
    method: String,
    path: String,
    to: SocketAddrV4,
    started: Instant,
    backend: Option<HostId>,
    decision: Option<(Instant, String, String)>,
    rule: Option<Option<u32>>,
    pool: Option<String>,
    attempts: u32,
    connected: Option<Instant>,
    served: Option<(HostId, u16, Instant, Duration)>,
    proxy_answer: Option<(u16, ProxyError, Instant)>,
    ended: Option<(Instant, Outcome, Option<u16>, Duration)>,
}

/// Reads every request of a run out of a world's trace, as the world runs.
#[derive(Clone, Debug, Default)]
pub struct RequestLog {
    /// The next trace sequence number to read.
    next_seq: u64,
    missed: u64,
    /// Every request seen, by id.
    drafts: BTreeMap<RequestId, Draft>,
    /// The request on each client connection (one at a time), by the client's endpoint.
    on_connection: BTreeMap<SocketAddrV4, RequestId>,
    /// At L4, the latest decision for each client endpoint: (when, backend, algorithm, why).
    decisions: BTreeMap<SocketAddrV4, (Instant, Option<HostId>, String, String)>,
    /// At L7, the request on each client connection of the proxy.
    proxy_conns: BTreeMap<u64, RequestId>,
    /// At L7, requests routed to a backend for a target and not yet answered, oldest first.
    awaiting: BTreeMap<(HostId, String), VecDeque<RequestId>>,
}

impl RequestLog {
    /// An empty log; feed it with [`RequestLog::observe`].
    pub fn new() -> Self {
        RequestLog::default()
    }

    /// The log of whatever `world`'s trace still holds (everything, when the ring is large
    /// enough for the run).
    pub fn of(world: &World) -> Self {
        let mut log = RequestLog::new();
        log.observe(world);
        log
    }

    /// Reads the trace records added since the last call.
    pub fn observe(&mut self, world: &World) {
        let trace = world.trace();
        if trace.next_seq() <= self.next_seq {
            return;
        }
        let l7 = world.scenario().balancer.mode == Mode::L7;
        let mut first = true;
        for r in trace.since(self.next_seq) {
            if first {
                self.missed += r.seq - self.next_seq;
                first = false;
            }
            self.read(r, l7);
        }
        if first {
            // The ring kept none of the new records.
            self.missed += trace.next_seq() - self.next_seq;
        }
        self.next_seq = trace.next_seq();
    }

    /// Trace records that were dropped from the ring before this log read them: when not zero,
    /// some records lack steps (observe more often, or keep a larger ring).
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// Requests seen so far.
    pub fn len(&self) -> usize {
        self.drafts.len()
    }

    /// Whether no request was seen.
    pub fn is_empty(&self) -> bool {
        self.drafts.is_empty()
    }

    fn current(&mut self, endpoint: &SocketAddrV4) -> Option<&mut Draft> {
        let id = self.on_connection.get(endpoint)?;
        self.drafts.get_mut(id).filter(|d| d.ended.is_none())
    }

    fn read(&mut self, r: &Record, l7: bool) {
        match &r.event {
            Event::RequestStarted {
                request,
                client,
                session,
                line,
                target,
                local,
            } => {
                // At L4 a reused connection carries the decision made when it opened.
                let decision = if l7 {
                    None
                } else {
                    self.decisions.get(local).cloned()
                };
                let (backend, decision) = match decision {
                    Some((at, b, alg, why)) => (b, Some((at, alg, why))),
                    None => (None, None),
                };
                self.on_connection.insert(*local, *request);
                self.drafts.insert(
                    *request,
                    Draft {
                        request: *request,
                        client: *client,
                        local: *local,
                        session: *session,
                        method: line.method.clone(),
                        path: line.path.clone(),
                        to: *target,
                        started: r.at,
                        backend,
                        decision,
                        rule: None,
                        pool: None,
                        attempts: 0,
                        connected: None,
                        served: None,
                        proxy_answer: None,
                        ended: None,
                    },
                );
            }
            Event::Connection {
                local, from, to, ..
            } if *from == TcpState::SynSent && *to == TcpState::Established => {
                let at = r.at;
                if let Some(d) = self.current(local) {
                    d.connected.get_or_insert(at);
                }
            }
            Event::Decision {
                client,
                backend,
                algorithm,
                explanation,
                ..
            } => {
                let at = r.at;
                if !l7 {
                    self.decisions.insert(
                        *client,
                        (at, *backend, algorithm.to_string(), explanation.to_string()),
                    );
                }
                if let Some(d) = self.current(client) {
                    d.backend = *backend;
                    d.decision = Some((at, algorithm.to_string(), explanation.to_string()));
                }
            }
            Event::ProxyRequest {
                conn,
                client,
                route,
                backend,
                ..
            } => {
                let Some(id) = self.on_connection.get(client).copied() else {
                    return;
                };
                let Some(d) = self.drafts.get_mut(&id).filter(|d| d.ended.is_none()) else {
                    return;
                };
                // A retry: the earlier attempt met a refused or reset connection, no answer.
                if let Some(prev) = d.backend.filter(|_| d.attempts > 0) {
                    if let Some(q) = self.awaiting.get_mut(&(prev, d.path.clone())) {
                        q.retain(|&x| x != id);
                    }
                }
                d.attempts += 1;
                d.rule = Some(route.rule);
                d.pool = Some(route.pool.clone());
                d.backend = *backend;
                if let Some(b) = backend {
                    self.awaiting
                        .entry((*b, d.path.clone()))
                        .or_default()
                        .push_back(id);
                }
                self.proxy_conns.insert(*conn, id);
            }
            Event::RequestServed {
                host,
                peer,
                line,
                status,
                service,
                ..
            } => {
                let start =
                    Instant::from_micros(r.at.as_micros().saturating_sub(service.as_micros()));
                let served = Some((*host, *status, start, *service));
                if l7 {
                    let key = (*host, line.path.clone());
                    let id = self.awaiting.get_mut(&key).and_then(VecDeque::pop_front);
                    if let Some(d) = id.and_then(|id| self.drafts.get_mut(&id)) {
                        d.served = served;
                    }
                } else if let Some(d) = self.current(peer) {
                    if d.path == line.path && d.served.is_none() {
                        d.backend.get_or_insert(*host);
                        d.served = served;
                    }
                }
            }
            Event::ProxyResponse {
                conn,
                status,
                error,
                ..
            } => {
                let Some(id) = self.proxy_conns.get(conn).copied() else {
                    return;
                };
                let Some(d) = self.drafts.get_mut(&id) else {
                    return;
                };
                if let Some(e) = error {
                    d.proxy_answer.get_or_insert((*status, *e, r.at));
                    // A refused or reset upstream gave no answer: it will not be served.
                    if matches!(e, ProxyError::UpstreamRefused | ProxyError::UpstreamReset) {
                        if let Some(b) = d.backend {
                            if let Some(q) = self.awaiting.get_mut(&(b, d.path.clone())) {
                                q.retain(|&x| x != id);
                            }
                        }
                    }
                }
                self.proxy_conns.remove(conn);
            }
            Event::RequestEnded {
                request,
                outcome,
                status,
                latency,
                ..
            } => {
                if let Some(d) = self.drafts.get_mut(request) {
                    d.ended = Some((r.at, *outcome, *status, *latency));
                    if self.on_connection.get(&d.local) == Some(request) {
                        self.on_connection.remove(&d.local);
                    }
                }
            }
            _ => {}
        }
    }

    /// The records, in request order, as `world` names hosts and rules.
    pub fn records(&self, world: &World) -> Vec<RequestRecord> {
        let hosts = world.hosts();
        let name = |h: HostId| {
            hosts
                .get(h.index())
                .map_or_else(|| h.to_string(), |v| v.name.clone())
        };
        let rules = &world.scenario().balancer.l7.rules;
        let tls_port = world.scenario().balancer.l7.tls.map(|t| t.port);
        let after = |d: &Draft, at: Instant| {
            let (a, s) = (at.as_micros() as f64, d.started.as_micros() as f64);
            (a - s) / 1000.0
        };
        self.drafts
            .values()
            .map(|d| RequestRecord {
                request: d.request,
                client: name(d.client),
                client_address: *d.local.ip(),
                client_port: d.local.port(),
                session: d.session,
                method: d.method.clone(),
                target: d.path.clone(),
                to: d.to,
                scheme: if tls_port == Some(d.to.port()) {
                    "https"
                } else {
                    "http"
                },
                started_ms: ms(d.started - Instant::ZERO),
                backend: d.backend.or(d.served.map(|s| s.0)).map(name),
                decision: d.decision.as_ref().map(|(at, alg, why)| DecisionRecord {
                    algorithm: alg.clone(),
                    explanation: why.clone(),
                    at_ms: after(d, *at),
                    reused_connection: *at < d.started,
                }),
                rule: d.rule.map(|rule| {
                    match rule.and_then(|i| rules.get(i as usize).map(|x| (i, x))) {
                        Some((i, x)) => {
                            format!("rule {} ({})", i + 1, describe_match(&x.conditions))
                        }
                        None => "no rule matched: the default pool".to_string(),
                    }
                }),
                pool: d.pool.clone(),
                retries: d.attempts.saturating_sub(1),
                connect_ms: d
                    .connected
                    .filter(|&c| c >= d.started)
                    .map(|c| ms(c - d.started)),
                served: d.served.map(|(b, status, start, service)| ServedRecord {
                    backend: name(b),
                    status,
                    start_ms: after(d, start),
                    service_ms: ms(service),
                }),
                proxy_answer: d.proxy_answer.map(|(status, error, at)| ProxyAnswerRecord {
                    status,
                    error,
                    at_ms: after(d, at),
                }),
                outcome: d.ended.map(|e| e.1),
                status: d.ended.and_then(|e| e.2),
                total_ms: d.ended.map(|e| ms(e.3)),
            })
            .collect()
    }
}

/// Runs `world` until `t` as [`World::run_until`] does, feeding `log` often enough that the
/// trace ring drops nothing unread: in slices of simulated time that shrink when a slice
/// filled half the ring and grow when it filled little of it.
pub fn run_until(world: &mut World, t: Instant, log: &mut RequestLog) {
    let capacity = world.trace().capacity().max(2) as u64;
    let mut slice = Duration::from_millis(1);
    while world.now() < t {
        let next = (world.now() + slice).min(t);
        let before = world.trace().next_seq();
        world.run_until(next);
        log.observe(world);
        let produced = world.trace().next_seq() - before;
        if produced > capacity / 2 {
            slice = Duration::from_micros((slice.as_micros() / 2).max(1));
        } else if produced < capacity / 8 {
            slice = Duration::from_micros((slice.as_micros() * 2).min(1_000_000));
        }
    }
    world.run_until(t);
    log.observe(world);
}
