//! What the views read: one [`Frame`] of the world, computed once per drawn frame by a
//! [`Viewer`], so that the canvas, the backend cards and the tables all show the same facts and
//! none of them walks `World → Balancer → pool` itself.
//!
//! The viewer keeps a little memory between frames, read from the trace as it grows (it
//! absorbs the records added since the last frame): which backend each client's newest
//! connection or request went to, each backend's requests over the last simulated second, and
//! the lost carts. Nothing here changes the world or decides a simulation fact: it selects
//! what the engine did and recorded.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::rc::Rc;

use crate::balance::Algorithm;
use crate::health::HealthState;
use crate::ids::{HostId, PacketId};
use crate::scenario::{Fault, Mode};
use crate::sim::{HostView, Role, World};
use crate::time::{Duration, Instant};
use crate::trace::{Event, ProbeResult, SessionOutcome};
use crate::wire::dissect::PacketKind;

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
    /// What it is.
    pub kind: PacketKind,
    /// Its bytes (shared with the trace).
    pub bytes: Rc<Vec<u8>>,
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
    /// The backend its next connection goes to (hashing algorithms at layer 4), else the
    /// backend its newest connection or request went to; `None` before any.
    pub backend: Option<HostId>,
    /// When its newest shopping session ended with a lost cart, if one did.
    pub lost_cart: Option<Instant>,
    /// Requests it has in flight.
    pub in_flight: usize,
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
    /// Requests started and not yet ended.
    pub requests_in_flight: u64,
}

impl Frame {
    /// The backend view of host `h`, if it is a backend.
    pub fn backend(&self, h: HostId) -> Option<&BackendView> {
        self.backends.iter().find(|b| b.host == h)
    }
}

/// How long a backend's served requests are counted for its rate.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// Computes frames, keeping what it read of the trace between them.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    /// Trace records absorbed so far.
    next_seq: u64,
    /// The backend each client address's newest decision chose.
    last_backend: BTreeMap<Ipv4Addr, HostId>,
    /// Requests served in the rate window: (when, backend, a 5xx).
    served: VecDeque<(Instant, HostId, bool)>,
    /// The newest lost cart of each client host.
    lost_carts: BTreeMap<HostId, Instant>,
}

impl Viewer {
    /// A viewer for a world at time zero (after a restart, make a new one).
    pub fn new() -> Self {
        Viewer::default()
    }

    /// Takes in the records the world traced since the last call.
    fn absorb(&mut self, world: &World) {
        let trace = world.trace();
        if trace.next_seq() == self.next_seq {
            return;
        }
        for r in trace.since(self.next_seq) {
            match &r.event {
                Event::Decision {
                    client,
                    backend: Some(b),
                    ..
                }
                | Event::ProxyRequest {
                    client,
                    backend: Some(b),
                    ..
                } => {
                    self.last_backend.insert(*client.ip(), *b);
                }
                Event::RequestServed { host, status, .. } => {
                    self.served.push_back((r.at, *host, *status >= 500));
                }
                Event::SessionEnded {
                    client,
                    outcome: SessionOutcome::LostCart,
                    ..
                } => {
                    self.lost_carts.insert(*client, r.at);
                }
                _ => {}
            }
        }
        self.next_seq = trace.next_seq();
    }

    /// The frame for the world as it is now.
    pub fn frame(&mut self, world: &World) -> Frame {
        self.absorb(world);
        let now = world.now();
        let window_start = if now - Instant::ZERO > RATE_WINDOW {
            now - RATE_WINDOW
        } else {
            Instant::ZERO
        };
        while self.served.front().is_some_and(|s| s.0 < window_start) {
            self.served.pop_front();
        }
        let hosts = world.hosts();
        let balancer = world.balancer();
        let checks = world.settings().balancer.health.is_some();
        let mut rates: BTreeMap<HostId, (u32, u32)> = BTreeMap::new();
        for (_, h, error) in &self.served {
            let r = rates.entry(*h).or_default();
            r.0 += 1;
            r.1 += u32::from(*error);
        }
        let backends = balancer
            .pool
            .iter()
            .map(|e| {
                let h = &hosts[e.host.index()];
                let (per_second, errors_per_second) =
                    rates.get(&e.host).copied().unwrap_or_default();
                BackendView {
                    host: e.host,
                    name: e.name.clone(),
                    address: e.address,
                    health: checks.then_some(e.health.state),
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
                let span = (p.arrives - p.sent).as_micros().max(1) as f64;
                let progress = ((now - p.sent).as_micros() as f64 / span).clamp(0.0, 1.0);
                let rewrites = p.cause.is_some() && p.from == hub && mode != Mode::Router;
                PacketView {
                    id: p.packet,
                    from: p.from,
                    to: p.to,
                    progress,
                    kind: PacketKind::of(&p.bytes, rewrites, p.lost),
                    bytes: p.bytes.clone(),
                }
            })
            .collect();
        Frame {
            now,
            balancer: BalancerView {
                host: hub,
                mode,
                algorithm: balancer.algorithm(),
                checks,
                flows: balancer.flows(),
            },
            hosts,
            backends,
            clients,
            packets,
            requests_in_flight: world.requests_in_flight(),
        }
    }
}
