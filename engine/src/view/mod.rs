//! What the views read: one [`Frame`] of the world, computed once per drawn frame by a
//! [`Viewer`], so that the canvas, the backend cards and the tables all show the same facts and
//! none of them walks `World → Balancer → pool` itself.
//!
//! The viewer keeps a little memory between frames, read from the trace as it grows (it
//! absorbs the records added since the last frame): which backend each client's newest
//! connection or request went to, each request in flight and how far it got ([`requests`]),
//! each backend's requests over the last simulated second, link throughput, the lost carts,
//! the balancer's newest decision, and the moments worth a mark on the time scrubber. Nothing
//! here changes the world or decides a simulation fact: it selects what the engine did and
//! recorded.

pub mod requests;

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use crate::balance::Algorithm;
use crate::health::HealthState;
use crate::ids::{HostId, PacketId};
use crate::scenario::{Fault, Mode};
use crate::sim::{HostView, Role, World};
use crate::time::{Duration, Instant};
use crate::trace::{Bytes, Event, ProbeResult, SessionOutcome};
use crate::wire::dissect::PacketKind;

use requests::Requests;
pub use requests::{EndedRequest, Place, RequestToken};

/// A packet on a link, with how far along it is.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketView {
    /// The transmission.
    pub id: PacketId,
    /// Sender.
    pub from: HostId,
    /// Receiver.
    pub to: HostId,
    /// How far along its link, 0 to 1.
    pub progress: f64,
    /// Time it takes to cross its link, in simulated µs.
    pub transit_us: u64,
    /// What it is.
    pub kind: PacketKind,
    /// Its bytes (shared with the trace).
    pub bytes: Bytes,
}

/// The balancer position as the views show it.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancerView {
    /// Its host.
    pub host: HostId,
    /// Router, L4 NAT, L4 DSR or L7.
    pub mode: Mode,
    /// The algorithm in use (the default pool's, at layer 7).
    pub algorithm: Algorithm,
    /// Whether health checks run.
    pub checks: bool,
    /// Flows in the connection table (layer 4).
    pub flows: usize,
    /// The newest decision, in words ("round_robin: 192.0.2.3 → B: current weights …").
    pub last_decision: Option<String>,
    /// Layer 7: the newest request's route, in words ("rule 2 → pool api").
    pub last_route: Option<String>,
}

/// A backend's health between two states: how many probes agree with a change not yet made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trend {
    /// Probes so far against the current state.
    pub streak: u32,
    /// Probes needed to change it (fall when up, rise when down).
    pub needed: u32,
}

/// One backend as its card and its canvas node show it.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendView {
    /// Its host.
    pub host: HostId,
    /// Name.
    pub name: String,
    /// Address.
    pub address: Ipv4Addr,
    /// Health, when checks run.
    pub health: Option<HealthState>,
    /// Falling (failures while up) or rising (passes while down), when a change is under way.
    pub trend: Option<Trend>,
    /// The newest probes, oldest first.
    pub probes: Vec<(Instant, ProbeResult)>,
    /// Whether the host is up (not crashed).
    pub up: bool,
    /// Fault in force.
    pub fault: Fault,
    /// Weight.
    pub weight: u32,
    /// Drained: no new flows.
    pub drained: bool,
    /// Removed from the pool.
    pub removed: bool,
    /// Open connections on the server.
    pub connections: usize,
    /// Carts held in its memory.
    pub sessions: usize,
    /// Requests waiting for a worker.
    pub queued: usize,
    /// Requests in service.
    pub in_service: usize,
    /// Workers (requests it serves at once).
    pub workers: u32,
    /// Requests served in the last simulated second.
    pub per_second: u32,
    /// Of which answered with a 5xx.
    pub errors_per_second: u32,
}

impl BackendView {
    /// Healthy (or unchecked), up, in the pool and not drained: it may get new traffic.
    pub fn ready(&self) -> bool {
        self.up && !self.drained && !self.removed && self.health != Some(HealthState::Down)
    }
}

/// A client host and the backend it is mapped to now.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientView {
    /// Its host.
    pub host: HostId,
    /// Its address.
    pub address: Ipv4Addr,
    /// Its group's name (`web` for host `web-12`).
    pub group: String,
    /// The backend its next connection goes to (hashing algorithms at layer 4), else the
    /// backend its newest connection or request went to; `None` before any.
    pub backend: Option<HostId>,
    /// When its newest shopping session ended with a lost cart, if one did.
    pub lost_cart: Option<Instant>,
    /// Requests it has in flight.
    pub in_flight: usize,
}

/// What a marker on the time scrubber is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarkerKind {
    /// A backend's fault changed.
    Fault,
    /// A backend's health changed.
    Health,
    /// The pool or a setting changed (a timeline entry or a live command).
    Change,
}

/// A moment of the run worth a mark on the time scrubber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Marker {
    /// When.
    pub at: Instant,
    /// What kind.
    pub kind: MarkerKind,
    /// In words ("B: crash", "B DOWN").
    pub label: String,
}

/// Everything the views show of the world at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// The world's time.
    pub now: Instant,
    /// Every host, in id order.
    pub hosts: Vec<HostView>,
    /// The balancer position.
    pub balancer: BalancerView,
    /// The backends, in pool order.
    pub backends: Vec<BackendView>,
    /// The clients and players, in host order.
    pub clients: Vec<ClientView>,
    /// Packets on links.
    pub packets: Vec<PacketView>,
    /// Requests in flight, each where the engine has it (when the viewer places them).
    pub requests: Vec<RequestToken>,
    /// Requests started and not yet ended, counted at the clients.
    pub requests_in_flight: u64,
    /// Requests that ended since the previous frame.
    pub ended: Vec<EndedRequest>,
    /// Packets per simulated second over each host's link (both ways), by host id.
    pub link_rates: Vec<f64>,
}

impl Frame {
    /// The backend view of host `h`, if it is a backend.
    pub fn backend(&self, h: HostId) -> Option<&BackendView> {
        self.backends.iter().find(|b| b.host == h)
    }

    /// The median time packets now in flight take to cross their link, in simulated µs.
    pub fn typical_transit_us(&self) -> Option<u64> {
        let mut t: Vec<u64> = self.packets.iter().map(|p| p.transit_us).collect();
        if t.is_empty() {
            return None;
        }
        let mid = t.len() / 2;
        Some(*t.select_nth_unstable(mid).1)
    }
}

/// How long a backend's served requests and a link's packets are counted for their rates.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// The start of the rate window that ends at `now`.
fn window_start(now: Instant) -> Instant {
    if now - Instant::ZERO > RATE_WINDOW {
        now - RATE_WINDOW
    } else {
        Instant::ZERO
    }
}

/// Computes frames, keeping what it read of the trace between them.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    /// Trace records absorbed so far.
    next_seq: u64,
    /// The backend each client address's newest decision chose.
    last_backend: BTreeMap<Ipv4Addr, HostId>,
    /// Requests served in the rate window: (when, backend, a 5xx).
    served: VecDeque<(Instant, HostId, bool)>,
    /// Packets sent in the rate window: (when, the host whose link).
    sent: VecDeque<(Instant, HostId)>,
    /// The newest lost cart of each client host.
    lost_carts: BTreeMap<HostId, Instant>,
    /// The newest decision and route records.
    last_decision: Option<u64>,
    last_route: Option<u64>,
    requests: Requests,
    markers: Vec<Marker>,
    /// Whether frames place the requests in flight (the request level needs them).
    skip_requests: bool,
}

impl Viewer {
    /// A viewer for a world at time zero (after a restart, make a new one).
    pub fn new() -> Self {
        Viewer::default()
    }

    /// Whether frames place each request in flight (on by default); the packet level does not
    /// need them, and placing costs a look at every packet.
    pub fn place_requests(&mut self, on: bool) {
        self.skip_requests = !on;
    }

    /// Faults, health changes and pool or setting changes seen so far, in time order.
    pub fn markers(&self) -> &[Marker] {
        &self.markers
    }

    /// Takes in the records the world traced since the last call (a frame does it too).
    pub fn absorb(&mut self, world: &World) {
        self.read(world);
        // Only the rate window is kept.
        let window_start = window_start(world.now());
        while self.served.front().is_some_and(|s| s.0 < window_start) {
            self.served.pop_front();
        }
        while self.sent.front().is_some_and(|s| s.0 < window_start) {
            self.sent.pop_front();
        }
        // Ended requests no frame took are dropped.
        self.requests.keep_ended_since(window_start);
    }

    fn read(&mut self, world: &World) {
        let trace = world.trace();
        if trace.next_seq() == self.next_seq {
            return;
        }
        let hub = crate::sim::BALANCER;
        let name = |h: HostId| world.host_name(h).unwrap_or("?").to_string();
        for r in trace.since(self.next_seq) {
            self.requests.absorb(r, world);
            match &r.event {
                Event::Decision {
                    client,
                    backend: Some(b),
                    ..
                } => {
                    self.last_backend.insert(*client.ip(), *b);
                    self.last_decision = Some(r.seq);
                }
                Event::Decision { backend: None, .. } => self.last_decision = Some(r.seq),
                Event::ProxyRequest {
                    client,
                    backend: Some(b),
                    ..
                } => {
                    self.last_backend.insert(*client.ip(), *b);
                    self.last_route = Some(r.seq);
                }
                Event::ProxyRequest { backend: None, .. } => self.last_route = Some(r.seq),
                Event::RequestServed { host, status, .. } => {
                    self.served.push_back((r.at, *host, *status >= 500));
                }
                Event::PacketSent { from, to, .. } => {
                    self.sent
                        .push_back((r.at, if *from == hub { *to } else { *from }));
                }
                Event::SessionEnded {
                    client,
                    outcome: SessionOutcome::LostCart,
                    ..
                } => {
                    self.lost_carts.insert(*client, r.at);
                }
                Event::FaultSet { host, fault } => self.markers.push(Marker {
                    at: r.at,
                    kind: MarkerKind::Fault,
                    label: format!("{}: {}", name(*host), fault.name()),
                }),
                Event::HealthChanged { backend, state } => self.markers.push(Marker {
                    at: r.at,
                    kind: MarkerKind::Health,
                    label: format!("{} {state}", name(*backend)),
                }),
                Event::PoolChanged { change, .. } => self.markers.push(Marker {
                    at: r.at,
                    kind: MarkerKind::Change,
                    label: change.to_string(),
                }),
                Event::SettingChanged { change } => self.markers.push(Marker {
                    at: r.at,
                    kind: MarkerKind::Change,
                    label: change.to_string(),
                }),
                _ => {}
            }
        }
        self.next_seq = trace.next_seq();
    }

    /// The record with `seq` in words, if the trace still holds it.
    fn said(world: &World, seq: Option<u64>) -> Option<String> {
        let r = world.trace().get(seq?)?;
        let name = |h: &Option<HostId>| {
            h.and_then(|h| world.host_name(h))
                .unwrap_or("no backend")
                .to_string()
        };
        match &r.event {
            Event::Decision {
                client,
                backend,
                algorithm,
                explanation,
                ..
            } => Some(format!(
                "{algorithm}: {} → {}: {explanation}",
                client.ip(),
                name(backend)
            )),
            Event::ProxyRequest { route, backend, .. } => Some(format!(
                "{} by {} to pool {} → {}",
                route.path,
                route
                    .rule
                    .map_or("the default".to_string(), |i| format!("rule {}", i + 1)),
                route.pool,
                name(backend)
            )),
            _ => None,
        }
    }

    /// The frame for the world as it is now.
    pub fn frame(&mut self, world: &World) -> Frame {
        self.absorb(world);
        let now = world.now();
        let window_start = window_start(now);
        let hosts = world.hosts();
        let window = (now - window_start).as_secs_f64().max(1e-3);
        let mut link_rates = vec![0.0; hosts.len()];
        for (_, h) in &self.sent {
            if let Some(r) = link_rates.get_mut(h.index()) {
                *r += 1.0 / window;
            }
        }
        let balancer = world.balancer();
        let checks = world.settings().balancer.health.is_some();
        let mut rates: BTreeMap<HostId, (u32, u32)> = BTreeMap::new();
        for (_, h, error) in &self.served {
            let r = rates.entry(*h).or_default();
            r.0 += 1;
            r.1 += u32::from(*error);
        }
        let thresholds = balancer.thresholds();
        let backends = balancer
            .pool
            .iter()
            .map(|e| {
                let h = &hosts[e.host.index()];
                let (per_second, errors_per_second) =
                    rates.get(&e.host).copied().unwrap_or_default();
                let trend = thresholds
                    .filter(|_| e.health.streak() > 0)
                    .map(|(fall, rise)| Trend {
                        streak: e.health.streak(),
                        needed: match e.health.state {
                            HealthState::Up => fall,
                            HealthState::Down => rise,
                        },
                    });
                BackendView {
                    host: e.host,
                    name: e.name.to_string(),
                    address: e.address,
                    health: checks.then_some(e.health.state),
                    trend: trend.filter(|_| checks),
                    probes: e.health.history.iter().copied().collect(),
                    up: h.up,
                    fault: h.fault,
                    weight: e.weight,
                    drained: e.drained,
                    removed: e.removed,
                    connections: h.connections,
                    sessions: h.sessions,
                    queued: h.queued,
                    in_service: h.in_service,
                    workers: h.workers,
                    per_second,
                    errors_per_second,
                }
            })
            .collect();
        let clients = hosts
            .iter()
            .filter(|h| matches!(h.role, Role::Client | Role::Player))
            .map(|h| ClientView {
                host: h.id,
                address: h.address,
                group: h
                    .name
                    .rsplit_once('-')
                    .map_or(h.name.as_str(), |(g, _)| g)
                    .to_string(),
                backend: balancer
                    .mapping(h.address)
                    .or_else(|| self.last_backend.get(&h.address).copied()),
                lost_cart: self.lost_carts.get(&h.id).copied(),
                in_flight: h.load,
            })
            .collect();
        let mode = world.settings().balancer.mode;
        let hub = hosts
            .iter()
            .find(|h| h.role == Role::Balancer)
            .map_or(HostId(0), |h| h.id);
        let packets = world
            .packets_in_flight()
            .map(|p| {
                let rewrites = p.cause.is_some() && p.from == hub && mode != Mode::Router;
                PacketView {
                    id: p.packet,
                    from: p.from,
                    to: p.to,
                    progress: p.progress(now),
                    transit_us: (p.arrives - p.sent).as_micros(),
                    kind: PacketKind::of(&p.bytes, rewrites, p.lost),
                    bytes: p.bytes.clone(),
                }
            })
            .collect();
        let requests = if self.skip_requests {
            Vec::new()
        } else {
            self.requests.tokens(world, hub)
        };
        Frame {
            now,
            balancer: BalancerView {
                host: hub,
                mode,
                algorithm: balancer.algorithm(),
                checks,
                flows: balancer.flows(),
                last_decision: Self::said(world, self.last_decision),
                last_route: Self::said(world, self.last_route),
            },
            hosts,
            backends,
            clients,
            packets,
            requests,
            requests_in_flight: world.requests_in_flight(),
            ended: self.requests.take_ended(),
            link_rates,
        }
    }
}
