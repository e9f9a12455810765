//! The world: hosts, links, the event queue, and the loop that runs them.
//!
//! [`World::run_until`] processes every event up to a time, in (time, sequence) order;
//! [`World::step`] processes exactly one; [`World::apply`] changes the world at `now`. Nothing
//! here reads a clock or draws ambient randomness, so a scenario and seed always give the same
//! event log.
//!
//! The balancer position is host 0. It owns the virtual IP (client side) and the inner address
//! (server side) with its own smoltcp stack; packets for other addresses are forwarded, as a
//! router does (TTL decremented, header checksum updated incrementally).

mod build;
mod commands;
mod fabric;
mod host;
mod queue;
mod story;
mod traffic;

pub use commands::CommandError;
pub use queue::Queue;
pub use story::{describe_match, RequestStory, Step, StepKind};

use rustc_hash::FxHashMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::apps::client::{HttpClient, RawResult};
use crate::apps::server::Work;
use crate::apps::{AppTimer, Ids};
use crate::ids::{FlowId, HostId, PacketId, RequestId};
use crate::lb::Balancer;
use crate::metrics::Metrics;
use crate::net::{Link, Side};
use crate::scenario::{Command, Fault, Scenario};
use crate::stack::{Spares, StateChange};
use crate::time::{Duration, Instant};
use crate::trace::{Bytes, CapturePoint, PcapCapture, RewriteKind, Trace};

use host::{App, Host};
use traffic::Group;

/// The balancer position's host id.
pub const BALANCER: HostId = HostId(0);

/// Default size of the event ring.
pub const DEFAULT_TRACE_CAPACITY: usize = 50_000;

/// What the queue holds.
#[derive(Clone, Debug)]
pub enum Event {
    /// A packet reaches the far end of a link.
    Arrive(InFlight),
    /// smoltcp asked to be polled (timers: retransmission, delayed ACK, TIME-WAIT).
    Poll {
        /// Host to poll.
        host: HostId,
    },
    /// An application's timer.
    Timer {
        /// Host of the application.
        host: HostId,
        /// Which timer.
        timer: AppTimer,
    },
    /// The next arrival of a client group.
    Arrival {
        /// Group index.
        group: u32,
        /// The group's rate epoch when it was drawn; a rate change makes it stale.
        epoch: u32,
    },
    /// A timeline entry is due.
    Timeline {
        /// Entry index.
        index: u32,
    },
    /// The balancer's CPU is done with a packet: it leaves.
    BalancerOut(Outgoing),
}

/// A packet the balancer processed, waiting for its CPU time to pass.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The packet as it leaves.
    pub bytes: Bytes,
    /// Where it goes.
    pub to: HostId,
    /// The packet it came from.
    pub cause: PacketId,
    /// The flow and what was done, if it is a flow's packet (not a reset).
    pub rewrite: Option<(FlowId, RewriteKind)>,
}

/// A packet on a link.
#[derive(Clone, Debug)]
pub struct InFlight {
    /// This transmission.
    pub packet: PacketId,
    /// Sender.
    pub from: HostId,
    /// Receiver.
    pub to: HostId,
    /// Lost on the way (reported dropped on arrival).
    pub lost: bool,
    /// When it was sent.
    pub sent: Instant,
    /// When it reaches `to`.
    pub arrives: Instant,
    /// The packet this one was forwarded from, if a router or balancer forwarded it.
    pub cause: Option<PacketId>,
    /// The bytes.
    pub bytes: Bytes,
}

impl InFlight {
    /// How far along its link the packet is at `now`, from 0 (just sent) to 1 (arriving).
    pub fn progress(&self, now: Instant) -> f64 {
        let span = (self.arrives - self.sent).as_micros().max(1) as f64;
        ((now - self.sent).as_micros() as f64 / span).clamp(0.0, 1.0)
    }
}

/// What a host is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The balancer position.
    Balancer,
    /// A backend server.
    Backend,
    /// An HTTP client.
    Client,
    /// A game player.
    Player,
}

/// A snapshot of one host, for views and reports.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HostView {
    /// Id.
    pub id: HostId,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Primary address.
    pub address: Ipv4Addr,
    /// Network, `None` for the balancer position.
    pub side: Option<Side>,
    /// Whether the host is up.
    pub up: bool,
    /// Fault in force (backends).
    pub fault: Fault,
    /// Open server connections (backends).
    pub connections: usize,
    /// Cart sessions in memory (backends).
    pub sessions: usize,
    /// Requests queued or in service (backends), or in flight (clients).
    pub load: usize,
    /// Requests waiting for a worker (backends).
    pub queued: usize,
    /// Requests in service (backends).
    pub in_service: usize,
    /// Workers: requests served at once (backends).
    pub workers: u32,
}

/// The simulated world.
pub struct World {
    /// The scenario as recorded: what the world was built from, live commands in its timeline.
    recorded: Scenario,
    /// The settings in force now (links, health checks, rates and mixes as changed so far).
    settings: Scenario,
    /// The timeline the world was built with, which its `Timeline` events index (live
    /// commands join `recorded`'s timeline, not this one).
    scheduled: Vec<Command>,
    now: Instant,
    queue: Queue,
    hosts: Vec<Host>,
    /// Which host owns each address (looked up for every packet the balancer position sends;
    /// never iterated, so its order cannot reach the event log).
    by_address: FxHashMap<Ipv4Addr, HostId>,
    groups: Vec<Group>,
    trace: Trace,
    metrics: Metrics,
    ids: Ids,
    next_packet: u64,
    capture: Option<PcapCapture>,
    changes: Vec<StateChange>,
    /// Scratch for the packets a host's stack sent in one service.
    sent: Vec<Bytes>,
    events_processed: u64,
    /// The client that sends raw requests, once created.
    composer: Option<HostId>,
    /// Closed sockets kept for reuse, shared by every host's stack.
    spares: Spares,
}

impl core::fmt::Debug for World {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("World")
            .field("scenario", &self.recorded.name)
            .field("now", &self.now)
            .field("hosts", &self.hosts.len())
            .field("pending", &self.queue.len())
            .finish()
    }
}

impl World {
    /// The current simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The event ring.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// The event ring, to enable its digest.
    pub fn trace_mut(&mut self) -> &mut Trace {
        &mut self.trace
    }

    /// What the world counted.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Queue events processed so far.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Time of the next pending event.
    pub fn next_event_at(&self) -> Option<Instant> {
        self.queue.peek_time()
    }

    /// When the scenario's traffic has stopped and requests in flight have had time to end.
    pub fn settle_time(&self) -> Instant {
        Instant::ZERO + self.recorded.duration + self.recorded.drain()
    }

    /// Processes every event up to and including `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while let Some((at, event)) = self.queue.pop_due(t) {
            self.handle(at, event);
        }
        if t > self.now {
            self.now = t;
        }
    }

    /// Processes events until `n` have been processed in all (stale ones included), or nothing
    /// is pending: the state the world was in after its `n`th event.
    pub fn run_to_event(&mut self, n: u64) {
        while self.events_processed < n {
            let Some((at, event)) = self.queue.pop() else {
                break;
            };
            self.handle(at, event);
        }
    }

    /// Processes the next event that does something (stale timer entries are skipped);
    /// returns its time, or `None` when nothing is pending.
    pub fn step(&mut self) -> Option<Instant> {
        loop {
            let (at, event) = self.queue.pop()?;
            if self.handle(at, event) {
                return Some(at);
            }
        }
    }

    /// Handles one event, just popped; false when it was stale.
    fn handle(&mut self, at: Instant, event: Event) -> bool {
        if at > self.now {
            self.now = at;
        }
        self.events_processed += 1;
        match event {
            Event::Arrive(p) => self.arrive(p),
            Event::Poll { host } => {
                let h = &mut self.hosts[host.index()];
                if h.scheduled_poll != Some(at) {
                    return false;
                }
                h.scheduled_poll = None;
                self.service(host);
            }
            Event::Timer { host, timer } => {
                if !self.hosts[host.index()].up {
                    return false;
                }
                return self.timer(host, timer);
            }
            Event::Arrival { group, epoch } => {
                if epoch != self.groups[group as usize].epoch {
                    return false;
                }
                self.arrival(group as usize)
            }
            Event::BalancerOut(out) => self.balancer_out(out),
            Event::Timeline { index } => {
                let action = self.scheduled[index as usize].clone();
                self.execute(action);
            }
        }
        true
    }

    /// The balancer.
    pub fn balancer(&self) -> &Balancer {
        match &self.hosts[BALANCER.index()].app {
            App::Balancer(b) => b,
            _ => unreachable!("the balancer position has a balancer"),
        }
    }

    fn balancer_mut(&mut self) -> &mut Balancer {
        match &mut self.hosts[BALANCER.index()].app {
            App::Balancer(b) => b,
            _ => unreachable!("the balancer position has a balancer"),
        }
    }

    /// The host id of the backend called `name`.
    pub fn backend_by_name(&self, name: &str) -> Option<HostId> {
        self.hosts
            .iter()
            .position(|h| h.role() == Role::Backend && h.name == name)
            .map(|i| HostId(i as u32))
    }

    /// The host that owns `address`.
    pub fn host_by_address(&self, address: Ipv4Addr) -> Option<HostId> {
        self.by_address.get(&address).copied()
    }

    /// Starts a pcap capture at `point`; the bytes are collected with
    /// [`World::take_capture_bytes`].
    pub fn start_capture(&mut self, point: CapturePoint) {
        self.capture = Some(PcapCapture::new(point));
    }

    /// pcap bytes captured since the last call (the file header first).
    pub fn take_capture_bytes(&mut self) -> Vec<u8> {
        self.capture
            .as_mut()
            .map(PcapCapture::take_bytes)
            .unwrap_or_default()
    }

    /// Every host, in id order.
    pub fn hosts(&self) -> Vec<HostView> {
        self.hosts
            .iter()
            .enumerate()
            .map(|(i, h)| HostView {
                id: HostId(i as u32),
                name: h.name.clone(),
                role: h.role(),
                address: h.address,
                side: h.link.as_ref().map(|l| l.side),
                up: h.up,
                fault: h.fault,
                connections: h.server().map_or(0, |s| s.connections()),
                sessions: h.server().map_or(0, |s| s.sessions()),
                load: h.server().map_or(0, |s| s.load())
                    + h.client().map_or(0, HttpClient::in_flight),
                queued: h.server().map_or(0, |s| s.queued()),
                in_service: h.server().map_or(0, |s| s.in_service()),
                workers: h.server().map_or(0, |s| s.workers()),
            })
            .collect()
    }

    /// Every request the backends' servers hold: the backend, the peer that sent it (a
    /// client's endpoint, or the proxy's) and where it is (queued, in service, hung).
    pub fn backend_work(&self) -> Vec<(HostId, SocketAddrV4, Work)> {
        self.hosts
            .iter()
            .enumerate()
            .filter(|(_, h)| h.up)
            .filter_map(|(i, h)| Some((HostId(i as u32), h.server()?)))
            .flat_map(|(id, s)| s.work().into_iter().map(move |(peer, w)| (id, peer, w)))
            .collect()
    }

    /// Host `h`'s name, if it exists.
    pub fn host_name(&self, h: HostId) -> Option<&str> {
        self.hosts.get(h.index()).map(|h| h.name.as_str())
    }

    /// What host `h` is for, if it exists.
    pub fn host_role(&self, h: HostId) -> Option<Role> {
        self.hosts.get(h.index()).map(Host::role)
    }

    /// Packets on links right now.
    pub fn packets_in_flight(&self) -> impl Iterator<Item = &InFlight> {
        self.queue.iter().filter_map(|(_, e)| match e {
            Event::Arrive(p) => Some(p),
            _ => None,
        })
    }

    /// Requests started and not yet ended, counted at the clients.
    pub fn requests_in_flight(&self) -> u64 {
        self.hosts
            .iter()
            .filter_map(Host::client)
            .map(|c| c.in_flight() as u64)
            .sum()
    }

    /// Shopping sessions in progress.
    pub fn sessions_in_flight(&self) -> u64 {
        self.hosts
            .iter()
            .filter_map(Host::client)
            .map(|c| c.sessions_in_flight() as u64)
            .sum()
    }

    /// Game updates whose echo may still arrive.
    pub fn game_updates_in_flight(&self) -> u64 {
        self.hosts
            .iter()
            .map(|h| match &h.app {
                App::Player(p) => p.in_flight(),
                App::HttpPlayer(p) => p.in_flight(),
                _ => 0,
            })
            .map(|n| n as u64)
            .sum()
    }

    /// TCP sockets allocated rather than recycled by a host's stack so far.
    pub fn sockets_allocated(&self, h: HostId) -> u64 {
        self.hosts[h.index()].stack.allocated_tcp()
    }

    /// Sends raw request bytes from a fresh client (the request composer's), through the
    /// balancer's virtual IP on its HTTP port: the bytes go exactly as given, however wrong.
    /// The client is created on first use, on a documentation address no host has.
    pub fn send_raw(&mut self, bytes: Vec<u8>) -> (HostId, RequestId) {
        let h = match self.composer {
            Some(h) => h,
            None => {
                let address = [[198, 51, 100], [203, 0, 113], [192, 0, 2]]
                    .iter()
                    .flat_map(|[a, b, c]| {
                        (1..=254u8).rev().map(move |d| Ipv4Addr::new(*a, *b, *c, d))
                    })
                    .find(|a| !self.by_address.contains_key(a))
                    .expect("a free documentation address remains (hosts are bounded)");
                let link = Link::new(
                    Side::Client,
                    None,
                    self.settings.network.client_link,
                    self.settings.seed,
                    "composer",
                );
                let b = &self.settings.balancer;
                let target = SocketAddrV4::new(b.vip, b.port);
                let gateway = b.vip;
                let client = HttpClient::new(
                    address,
                    target,
                    Duration::from_secs(10),
                    false,
                    false,
                    crate::scenario::Buffers::CLIENT,
                );
                let h = self.add_host(
                    "composer",
                    address,
                    vec![],
                    gateway,
                    Some(link),
                    App::Client(Box::new(client)),
                );
                self.composer = Some(h);
                h
            }
        };
        let id = self.with_ctx(h, |host, ctx| match &mut host.app {
            App::Client(c) => c.send_raw(bytes, &mut host.stack, ctx),
            _ => unreachable!("the composer is a client"),
        });
        self.service(h);
        (h, id)
    }

    /// How a request sent with [`World::send_raw`] ended, once it has.
    pub fn raw_result(&self, composer: HostId, id: RequestId) -> Option<&RawResult> {
        self.hosts[composer.index()]
            .client()
            .and_then(|c| c.raw_result(id))
    }

    /// Socket count of a host (for memory and leak checks).
    pub fn socket_count(&self, h: HostId) -> usize {
        self.hosts[h.index()].stack.socket_count()
    }

    /// Buffer bytes of a host's open TCP sockets.
    pub fn tcp_buffer_bytes(&self, h: HostId) -> usize {
        self.hosts[h.index()].stack.tcp_buffer_bytes()
    }

    /// The memory the world holds now, as [`Scenario::memory_estimate`] counts it: every host
    /// at [`HOST_MEMORY`](crate::scenario::HOST_MEMORY), every open socket with its buffers and
    /// half a connection's state, every flow of the connection table. What a page may weigh
    /// before it keeps another copy of the world.
    pub fn memory_in_use(&self) -> u64 {
        use crate::scenario::{CONNECTION_MEMORY, FLOW_MEMORY, HOST_MEMORY};
        let (sockets, buffers) = self.sockets_where(|_| true);
        self.hosts.len() as u64 * HOST_MEMORY
            + buffers as u64
            + sockets as u64 * CONNECTION_MEMORY / 2
            + self.balancer().flows() as u64 * FLOW_MEMORY
    }

    /// Sockets open now, and the buffer bytes of their TCP sockets, over every host of `role`.
    pub fn sockets_of(&self, role: Role) -> (usize, usize) {
        self.sockets_where(|h| h.role() == role)
    }

    /// Sockets open now, and their TCP buffer bytes, over the hosts `keep` takes.
    fn sockets_where(&self, keep: impl Fn(&Host) -> bool) -> (usize, usize) {
        self.hosts
            .iter()
            .filter(|h| keep(h))
            .fold((0, 0), |(n, bytes), h| {
                (
                    n + h.stack.socket_count(),
                    bytes + h.stack.tcp_buffer_bytes(),
                )
            })
    }
}
