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

mod queue;
mod story;

pub use story::{describe_match, RequestStory, Step, StepKind};

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

pub use queue::Queue;

use crate::apps::client::{HttpClient, RawResult, Work};
use crate::apps::game::{GamePlayer, GameServer, HttpGamePlayer};
use crate::apps::server::HttpServer;
use crate::apps::{AppTimer, Ctx, Ids};
use crate::health::BackendHealth;
use crate::ids::{FlowId, HostId, PacketId, RequestId};
use crate::lb::{Balancer, PoolEdit, PoolEntry, Verdict};
use crate::metrics::Metrics;
use crate::net::{Direction, Link, Side, Transit};
use crate::rng::Stream;
use crate::scenario::{
    health_problems, link_problems, mix_problems, rate_ok, Arrivals, BackendSpec, Command, Fault,
    GameTransport, HealthKind, HealthSpec, LinkSpec, MixEntry, Mode, Problem, Scenario, MAX_RATE,
};
use crate::stack::{Stack, StateChange};
use crate::time::{Duration, Instant};
use crate::trace::{
    Bytes, CapturePoint, DropReason, Event as TraceEvent, PcapCapture, RewriteKind, Trace,
};
use crate::wire::{self, PacketInfo, Transport};

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
    BalancerOut(Box<Outgoing>),
}

/// A packet the balancer processed, waiting for its CPU time to pass.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The packet as it leaves.
    pub bytes: Vec<u8>,
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

struct Host {
    name: String,
    role: Role,
    address: Ipv4Addr,
    gateway: Ipv4Addr,
    extra_addresses: Vec<Ipv4Addr>,
    link: Option<Link>,
    stack: Stack,
    stack_seeds: Stream,
    up: bool,
    fault: Fault,
    scheduled_poll: Option<Instant>,
    backend: Option<usize>,
    server: Option<HttpServer>,
    game_server: Option<GameServer>,
    client: Option<HttpClient>,
    player: Option<GamePlayer>,
    http_player: Option<HttpGamePlayer>,
    balancer: Option<Box<Balancer>>,
}

impl Host {
    fn fresh_stack(&mut self, now: Instant) -> Stack {
        let mut addresses = vec![self.address];
        addresses.extend_from_slice(&self.extra_addresses);
        Stack::new(&addresses, self.gateway, self.stack_seeds.next_u64(), now)
    }

    /// Runs the applications after a poll; whether any wrote or closed something.
    fn react(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let mut acted = false;
        if let Some(server) = self.server.as_mut() {
            acted |= server.react(
                &mut self.stack,
                ctx,
                self.backend.expect("servers are backends"),
            );
        }
        if let Some(game) = self.game_server.as_mut() {
            acted |= game.react(&mut self.stack);
        }
        if let Some(client) = self.client.as_mut() {
            acted |= client.react(&mut self.stack, ctx);
        }
        if let Some(player) = self.player.as_mut() {
            player.react(&mut self.stack, ctx);
        }
        if let Some(p) = self.http_player.as_mut() {
            acted |= p.react(&mut self.stack, ctx);
        }
        if let Some(b) = self.balancer.as_mut() {
            acted |= b.react(&mut self.stack, ctx);
        }
        acted
    }
}

struct Group {
    hosts: Vec<HostId>,
    works: Vec<(u64, Work)>,
    rate: f64,
    /// Bumped by each rate change, so that the arrival drawn at the old rate is skipped.
    epoch: u32,
    arrivals: Arrivals,
    start: Instant,
    stop: Instant,
    rng: Stream,
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
}

/// Why a command was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// No backend has that name.
    UnknownBackend(String),
    /// The command's values are not acceptable.
    Invalid(String),
}

impl core::fmt::Display for CommandError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CommandError::UnknownBackend(name) => write!(f, "no backend is called {name:?}"),
            CommandError::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CommandError {}

/// The simulated world.
pub struct World {
    scenario: Scenario,
    now: Instant,
    queue: Queue,
    hosts: Vec<Host>,
    by_address: BTreeMap<Ipv4Addr, HostId>,
    groups: Vec<Group>,
    trace: Trace,
    metrics: Metrics,
    ids: Ids,
    next_packet: u64,
    capture: Option<PcapCapture>,
    changes: Vec<StateChange>,
    events_processed: u64,
    /// The client that sends raw requests, once created.
    composer: Option<HostId>,
}

impl core::fmt::Debug for World {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("World")
            .field("scenario", &self.scenario.name)
            .field("now", &self.now)
            .field("hosts", &self.hosts.len())
            .field("pending", &self.queue.len())
            .finish()
    }
}

impl World {
    /// Builds a world from a scenario, which must be valid ([`Scenario::validate`]).
    ///
    /// # Panics
    /// When the scenario does not validate: validate user input first.
    pub fn new(scenario: &Scenario) -> World {
        Self::with_trace_capacity(scenario, DEFAULT_TRACE_CAPACITY)
    }

    /// Like [`World::new`], keeping the newest `capacity` trace records.
    pub fn with_trace_capacity(scenario: &Scenario, capacity: usize) -> World {
        let problems = scenario.validate();
        assert!(problems.is_empty(), "invalid scenario: {problems:?}");
        let s = scenario;
        let seed = s.seed;
        let mut world = World {
            scenario: s.clone(),
            now: Instant::ZERO,
            queue: Queue::default(),
            hosts: Vec::new(),
            by_address: BTreeMap::new(),
            groups: Vec::new(),
            trace: Trace::new(capacity),
            metrics: Metrics::new(s.backends.len()),
            ids: Ids::default(),
            next_packet: 0,
            capture: None,
            changes: Vec::new(),
            events_processed: 0,
            composer: None,
        };

        let b = s.balancer.clone();
        world.add_host(
            "balancer",
            Role::Balancer,
            b.inner,
            vec![b.vip],
            b.vip,
            None,
        );
        for (i, spec) in s.backends.iter().enumerate() {
            let link = Link::new(
                Side::Server,
                spec.link,
                s.network.server_link,
                seed,
                &spec.name,
            );
            world.add_backend_host(spec, i, link);
        }
        let addresses = s
            .endpoint_addresses()
            .expect("validated scenarios have addresses");
        let mut address_groups = addresses.into_iter().map(|(_, a)| a);
        for (gi, g) in s.clients.iter().enumerate() {
            let port = match (&b.l7.tls, g.tls) {
                (Some(t), true) => t.port,
                _ => b.port,
            };
            let target = g.target.unwrap_or(SocketAddrV4::new(b.vip, port));
            let mut hosts = Vec::new();
            for (k, addr) in address_groups
                .next()
                .expect("one per group")
                .into_iter()
                .enumerate()
            {
                let name = format!("{}-{}", g.name, k + 1);
                let link = Link::new(Side::Client, g.link, s.network.client_link, seed, &name);
                let h = world.add_host(&name, Role::Client, addr, vec![], b.vip, Some(link));
                world.hosts[h.index()].client = Some(HttpClient::new(
                    addr,
                    target,
                    g.timeout,
                    g.keep_alive,
                    g.tls,
                ));
                hosts.push(h);
            }
            let works = works(&g.mix);
            let start = Instant::ZERO + g.start;
            world.groups.push(Group {
                hosts,
                works,
                rate: g.rate,
                epoch: 0,
                arrivals: g.arrivals,
                start,
                stop: Instant::ZERO + s.group_stop(g.stop),
                rng: Stream::new(seed, &format!("clients/{}/arrivals", g.name)),
            });
            world.groups[gi].schedule_next(gi, start, &mut world.queue);
        }
        for g in &s.players {
            let target = g.target.unwrap_or(match g.transport {
                GameTransport::Udp => SocketAddrV4::new(b.vip, b.udp_port),
                GameTransport::Http => SocketAddrV4::new(b.vip, b.port),
            });
            let stop = Instant::ZERO + s.group_stop(g.stop);
            let tick = Duration::from_micros(1_000_000 / u64::from(g.tick_hz));
            let addrs = address_groups.next().expect("one per group");
            let count = addrs.len() as u64;
            for (k, addr) in addrs.into_iter().enumerate() {
                let name = format!("{}-{}", g.name, k + 1);
                let link = Link::new(Side::Client, g.link, s.network.client_link, seed, &name);
                let h = world.add_host(&name, Role::Player, addr, vec![], b.vip, Some(link));
                let host = &mut world.hosts[h.index()];
                match g.transport {
                    GameTransport::Udp => {
                        host.player =
                            Some(GamePlayer::new(target, g.tick_hz, g.payload_bytes, stop))
                    }
                    GameTransport::Http => {
                        host.http_player = Some(HttpGamePlayer::new(
                            addr,
                            target,
                            g.tick_hz,
                            g.payload_bytes,
                            stop,
                        ))
                    }
                }
                // Players start spread over one tick, as real players are not in lockstep.
                let offset = Duration::from_micros(tick.as_micros() * k as u64 / count.max(1));
                world.queue.push(
                    Instant::ZERO + g.start + offset,
                    Event::Timer {
                        host: h,
                        timer: AppTimer::GameTick,
                    },
                );
            }
        }
        for (i, t) in s.timeline.iter().enumerate() {
            world
                .queue
                .push_last(Instant::ZERO + t.at, Event::Timeline { index: i as u32 });
        }
        // The balancer: its pool is every backend; remaps are counted over every client.
        let pool = s
            .backends
            .iter()
            .enumerate()
            .map(|(i, spec)| pool_entry(spec, HostId(i as u32 + 1)))
            .collect();
        let clients = world
            .hosts
            .iter()
            .filter(|h| matches!(h.role, Role::Client | Role::Player))
            .map(|h| h.address)
            .collect();
        let balancer = Balancer::new(s.balancer.clone(), pool, clients, seed);
        world.with_ctx(BALANCER, |_, ctx| balancer.schedule_first_probes(ctx));
        world.hosts[BALANCER.index()].balancer = Some(Box::new(balancer));
        // The balancer opens its listening sockets (L7) before any client connects.
        world.service(BALANCER);
        // Servers open their listening sockets; initial faults take effect.
        for i in 0..world.hosts.len() {
            let h = HostId(i as u32);
            let fault = world.hosts[i].fault;
            if world.hosts[i].role == Role::Backend {
                if fault.is_none() {
                    world.service(h);
                } else {
                    world.hosts[i].fault = Fault::None;
                    world.set_fault(h, fault);
                }
            }
        }
        world
    }

    /// Adds backend number `index` as a host with its link and applications.
    fn add_backend_host(&mut self, spec: &BackendSpec, index: usize, link: Link) -> HostId {
        let b = self.scenario.balancer.clone();
        // In DSR mode a backend also owns the VIP (on loopback, in real deployments) so that it
        // accepts the decapsulated packets and answers from the VIP.
        let extra = if b.mode == Mode::L4Dsr {
            vec![b.vip]
        } else {
            vec![]
        };
        let h = self.add_host(
            &spec.name,
            Role::Backend,
            spec.address,
            extra,
            b.inner,
            Some(link),
        );
        let host = &mut self.hosts[h.index()];
        host.backend = Some(index);
        host.fault = spec.fault;
        host.server = Some(HttpServer::new(spec, self.scenario.seed));
        host.game_server = spec.game_port.map(GameServer::new);
        h
    }

    /// Runs `f` with host `h` and a context for its applications.
    fn with_ctx<R>(&mut self, h: HostId, f: impl FnOnce(&mut Host, &mut Ctx<'_>) -> R) -> R {
        let now = self.now;
        let World {
            hosts,
            queue,
            trace,
            metrics,
            ids,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            host: h,
            queue,
            trace,
            metrics,
            ids,
        };
        f(&mut hosts[h.index()], &mut ctx)
    }

    fn add_host(
        &mut self,
        name: &str,
        role: Role,
        address: Ipv4Addr,
        extra_addresses: Vec<Ipv4Addr>,
        gateway: Ipv4Addr,
        link: Option<Link>,
    ) -> HostId {
        let id = HostId(self.hosts.len() as u32);
        let mut stack_seeds = Stream::new(self.scenario.seed, &format!("stack/{name}"));
        let mut addresses = vec![address];
        addresses.extend_from_slice(&extra_addresses);
        let stack = Stack::new(&addresses, gateway, stack_seeds.next_u64(), self.now);
        // Other hosts' extra addresses (a DSR backend's copy of the VIP) are local to them:
        // the fabric routes the VIP to the balancer.
        let routed = if role == Role::Balancer {
            addresses.len()
        } else {
            1
        };
        for a in &addresses[..routed] {
            self.by_address.insert(*a, id);
        }
        self.hosts.push(Host {
            name: name.to_string(),
            role,
            address,
            gateway,
            extra_addresses,
            link,
            stack,
            stack_seeds,
            up: true,
            fault: Fault::None,
            scheduled_poll: None,
            backend: None,
            server: None,
            game_server: None,
            client: None,
            player: None,
            http_player: None,
            balancer: None,
        });
        id
    }

    /// The current simulated time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The scenario the world was built from.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
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
        Instant::ZERO + self.scenario.duration + self.scenario.drain()
    }

    /// Processes every event up to and including `t`, then sets the clock to `t`.
    pub fn run_until(&mut self, t: Instant) {
        while self.queue.peek_time().is_some_and(|at| at <= t) {
            self.step_one();
        }
        if t > self.now {
            self.now = t;
        }
    }

    /// Processes the next event that does something (stale timer entries are skipped);
    /// returns its time, or `None` when nothing is pending.
    pub fn step(&mut self) -> Option<Instant> {
        loop {
            let at = self.queue.peek_time()?;
            if self.step_one() {
                return Some(at);
            }
        }
    }

    /// Pops and handles one event; false when it was stale.
    fn step_one(&mut self) -> bool {
        let Some((at, event)) = self.queue.pop() else {
            return false;
        };
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
            Event::BalancerOut(out) => {
                let Outgoing {
                    bytes,
                    to,
                    cause,
                    rewrite,
                } = *out;
                let sent = self.transmit_to(BALANCER, to, Bytes::new(bytes), Some(cause));
                if let (Some((flow, rewrite)), Some(packet_out)) = (rewrite, sent) {
                    self.trace.push(
                        self.now,
                        TraceEvent::Rewritten {
                            flow,
                            rewrite,
                            packet_in: cause,
                            packet_out,
                        },
                    );
                }
            }
            Event::Timeline { index } => {
                let action = self.scenario.timeline[index as usize].action.clone();
                self.apply(action)
                    .expect("validated timelines name existing backends");
            }
        }
        true
    }

    /// Changes the world at the current time.
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        let pool_index = |w: &World, name: &str| {
            w.balancer()
                .pool
                .iter()
                .position(|e| e.name == name && !e.removed)
                .ok_or_else(|| CommandError::UnknownBackend(name.to_string()))
        };
        let edit = match command {
            Command::SetFault { backend, fault } => {
                let h = self
                    .backend_by_name(&backend)
                    .ok_or(CommandError::UnknownBackend(backend))?;
                self.set_fault(h, fault);
                return Ok(());
            }
            Command::SetWeight { backend, weight } => {
                if weight == 0 {
                    return Err(CommandError::Invalid("a weight must be at least 1".into()));
                }
                PoolEdit::Weight(pool_index(self, &backend)?, weight)
            }
            Command::SetDrain { backend, drained } => {
                PoolEdit::Drain(pool_index(self, &backend)?, drained)
            }
            Command::RemoveBackend { backend } => PoolEdit::Remove(pool_index(self, &backend)?),
            Command::SetAlgorithm { algorithm } => PoolEdit::Algorithm(algorithm),
            Command::SetLink { side, link } => {
                refuse(link_problems("link", &link))?;
                self.set_link(side, link);
                return Ok(());
            }
            Command::SetHealth { health } => {
                if let Some(h) = &health {
                    refuse(health_problems("health", h))?;
                }
                self.set_health(health);
                return Ok(());
            }
            Command::SetRate { group, rate } => {
                if !rate_ok(rate) {
                    return Err(CommandError::Invalid(format!(
                        "a rate must be more than 0 and at most {MAX_RATE} per second"
                    )));
                }
                let gi = self.group_index(&group)?;
                self.set_rate(gi, rate);
                return Ok(());
            }
            Command::SetMix { group, mix } => {
                refuse(mix_problems("mix", &mix))?;
                let gi = self.group_index(&group)?;
                self.groups[gi].works = works(&mix);
                let change = format!("{group}: a request mix of {} kinds", mix.len().max(1));
                self.scenario.clients[gi].mix = mix;
                self.trace
                    .push(self.now, TraceEvent::SettingChanged { change });
                return Ok(());
            }
            Command::AddBackend { backend } => {
                if self.backend_by_name(&backend.name).is_some()
                    || self.by_address.contains_key(&backend.address)
                {
                    return Err(CommandError::Invalid(format!(
                        "a host is already called {:?} or has {}",
                        backend.name, backend.address
                    )));
                }
                let index = self.metrics.backends.len();
                let link = Link::new(
                    Side::Server,
                    backend.link,
                    self.scenario.network.server_link,
                    self.scenario.seed,
                    &backend.name,
                );
                let h = self.add_backend_host(&backend, index, link);
                self.metrics.backends.push(Default::default());
                self.service(h);
                PoolEdit::Add(pool_entry(&backend, h))
            }
        };
        self.with_balancer(|b, ctx| b.change(edit, ctx));
        Ok(())
    }

    /// Runs `f` on the balancer at the current time, then services its host (what `f` changed
    /// may send packets).
    fn with_balancer(&mut self, f: impl FnOnce(&mut Balancer, &mut Ctx<'_>)) {
        self.with_ctx(BALANCER, |host, ctx| {
            f(
                host.balancer
                    .as_mut()
                    .expect("the balancer position has a balancer"),
                ctx,
            );
        });
        self.service(BALANCER);
    }

    /// Gives every host of `side` that follows its network's link properties `link`, and makes
    /// them the network's (a backend added later takes them).
    fn set_link(&mut self, side: Side, link: LinkSpec) {
        for host in &mut self.hosts {
            if let Some(l) = host.link.as_mut().filter(|l| l.side == side && !l.own) {
                l.set_spec(link);
            }
        }
        let network = &mut self.scenario.network;
        let name = match side {
            Side::Client => {
                network.client_link = link;
                "client"
            }
            Side::Server => {
                network.server_link = link;
                "server"
            }
        };
        let change = format!(
            "{name} links: {} latency, {}% loss",
            link.latency,
            link.loss * 100.0
        );
        self.trace
            .push(self.now, TraceEvent::SettingChanged { change });
    }

    /// Gives the balancer new health-check settings (or none) and makes them the scenario's.
    fn set_health(&mut self, health: Option<HealthSpec>) {
        let change = match &health {
            Some(h) => format!(
                "health checks: {} every {}, timeout {}, rise {}, fall {}",
                match &h.kind {
                    HealthKind::Tcp => "TCP connect".to_string(),
                    HealthKind::Http(c) => format!("HTTP {} {}", c.method, c.path),
                },
                h.interval,
                h.check_timeout(),
                h.rise,
                h.fall
            ),
            None => "health checks off: every backend counts as up".to_string(),
        };
        self.trace
            .push(self.now, TraceEvent::SettingChanged { change });
        self.scenario.balancer.health = health.clone();
        self.with_balancer(|b, ctx| b.set_health(health, ctx));
    }

    /// The index of the client group called `name`.
    fn group_index(&self, name: &str) -> Result<usize, CommandError> {
        self.scenario
            .clients
            .iter()
            .position(|g| g.name == name)
            .ok_or_else(|| CommandError::Invalid(format!("no client group is called {name:?}")))
    }

    /// Sets group `gi`'s rate and draws its next arrival afresh from now (or from its start, if
    /// it has not started), so that a change from a trickle to a flood shows at once.
    fn set_rate(&mut self, gi: usize, rate: f64) {
        let now = self.now;
        let group = &mut self.groups[gi];
        group.rate = rate;
        group.epoch += 1;
        let from = now.max(group.start);
        group.schedule_next(gi, from, &mut self.queue);
        let group = &mut self.scenario.clients[gi];
        group.rate = rate;
        let change = format!("{}: {rate} arrivals per second", group.name);
        self.trace
            .push(self.now, TraceEvent::SettingChanged { change });
    }

    /// The balancer.
    pub fn balancer(&self) -> &Balancer {
        self.hosts[BALANCER.index()]
            .balancer
            .as_deref()
            .expect("the balancer position has a balancer")
    }

    /// The host id of the backend called `name`.
    pub fn backend_by_name(&self, name: &str) -> Option<HostId> {
        self.hosts
            .iter()
            .position(|h| h.role == Role::Backend && h.name == name)
            .map(|i| HostId(i as u32))
    }

    /// The host that owns `address`.
    pub fn host_by_address(&self, address: Ipv4Addr) -> Option<HostId> {
        self.by_address.get(&address).copied()
    }

    fn set_fault(&mut self, h: HostId, fault: Fault) {
        let now = self.now;
        let host = &mut self.hosts[h.index()];
        let was = host.fault;
        host.fault = fault;
        if fault == Fault::Crash {
            if was != Fault::Crash {
                // Down, and everything in memory is gone.
                host.up = false;
                host.stack = host.fresh_stack(now);
                host.scheduled_poll = None;
                if let Some(s) = host.server.as_mut() {
                    s.reset();
                }
                if let Some(g) = host.game_server.as_mut() {
                    g.reset();
                }
            }
        } else {
            if was == Fault::Crash {
                // Rebooted: a fresh stack and an empty application.
                host.up = true;
                host.stack = host.fresh_stack(now);
                if let Some(s) = host.server.as_mut() {
                    s.reset();
                }
                if let Some(g) = host.game_server.as_mut() {
                    g.reset();
                }
            }
            if let Some(s) = host.server.as_mut() {
                s.set_fault(fault, &mut host.stack);
            }
        }
        self.trace
            .push(now, TraceEvent::FaultSet { host: h, fault });
        self.service(h);
    }

    /// Fires an application timer; false when it found nothing to do (a stale deadline).
    fn timer(&mut self, h: HostId, timer: AppTimer) -> bool {
        let now = self.now;
        let World {
            hosts,
            queue,
            trace,
            metrics,
            ids,
            ..
        } = self;
        let host = &mut hosts[h.index()];
        let mut ctx = Ctx {
            now,
            host: h,
            queue,
            trace,
            metrics,
            ids,
        };
        let acted = match timer {
            AppTimer::WorkerDone { job } => {
                let backend = host.backend.expect("servers are backends");
                host.server
                    .as_mut()
                    .is_some_and(|s| s.worker_done(job, &mut host.stack, &mut ctx, backend))
            }
            AppTimer::RequestDeadline { .. } | AppTimer::SessionNext { .. } => host
                .client
                .as_mut()
                .is_some_and(|c| c.on_timer(timer, &mut host.stack, &mut ctx)),
            AppTimer::GameTick => {
                if let Some(p) = host.player.as_mut() {
                    p.tick(&mut host.stack, &mut ctx);
                }
                if let Some(p) = host.http_player.as_mut() {
                    p.tick(&mut ctx);
                }
                true
            }
            AppTimer::HealthProbe { .. }
            | AppTimer::HealthDeadline { .. }
            | AppTimer::ConntrackSweep
            | AppTimer::ProxyHandshake { .. }
            | AppTimer::ProxyRoute { .. }
            | AppTimer::ProxyWrite { .. }
            | AppTimer::ProxyDeadline { .. }
            | AppTimer::OutlierEnd { .. } => host
                .balancer
                .as_mut()
                .is_some_and(|b| b.on_timer(timer, &mut host.stack, &mut ctx)),
        };
        if acted {
            self.service(h);
        }
        acted
    }

    fn arrival(&mut self, gi: usize) {
        let now = self.now;
        let group = &mut self.groups[gi];
        let h = group.hosts[group.rng.below(group.hosts.len() as u64) as usize];
        let pick = group
            .rng
            .weighted(group.works.iter().map(|(w, _)| *w))
            .expect("mixes have positive weights");
        let work = group.works[pick].1.clone();
        group.schedule_next(gi, now, &mut self.queue);
        let World {
            hosts,
            queue,
            trace,
            metrics,
            ids,
            ..
        } = self;
        let host = &mut hosts[h.index()];
        let mut ctx = Ctx {
            now,
            host: h,
            queue,
            trace,
            metrics,
            ids,
        };
        host.client
            .as_mut()
            .expect("client groups hold clients")
            .start(&work, &mut host.stack, &mut ctx);
        self.service(h);
    }

    /// Polls a host's stack, lets its applications react until they are done, sends what it
    /// produced and schedules its next poll.
    fn service(&mut self, h: HostId) {
        let now = self.now;
        let World {
            hosts,
            queue,
            trace,
            metrics,
            ids,
            changes,
            ..
        } = self;
        let host = &mut hosts[h.index()];
        if !host.up {
            return;
        }
        let mut ctx = Ctx {
            now,
            host: h,
            queue,
            trace,
            metrics,
            ids,
        };
        // Poll (what arrived, and timers), let the applications react once, and poll again
        // only to send what they wrote: that second poll receives nothing new, so the
        // applications have nothing more to react to.
        host.stack.poll(now);
        record_changes(&mut host.stack, changes, &mut ctx);
        if host.react(&mut ctx) {
            host.stack.poll(now);
            record_changes(&mut host.stack, changes, &mut ctx);
        }
        let sent = host.stack.take_sent();
        let next = host.stack.poll_at(now);
        for bytes in sent {
            self.transmit(h, Bytes::new(bytes), None);
        }
        if let Some(t) = next {
            // Never re-poll at the same instant: smoltcp's deadline has passed only if it
            // wants to send, which the poll above already did.
            let t = if t <= now {
                now + Duration::from_micros(1)
            } else {
                t
            };
            let host = &mut self.hosts[h.index()];
            if host.scheduled_poll.is_none_or(|s| s > t) {
                host.scheduled_poll = Some(t);
                self.queue.push(t, Event::Poll { host: h });
            }
        }
    }

    /// Puts a packet from `from` on the right link: a host's goes up to the balancer position;
    /// the balancer position's goes down to the host owning the destination address.
    fn transmit(
        &mut self,
        from: HostId,
        bytes: Bytes,
        cause: Option<PacketId>,
    ) -> Option<PacketId> {
        let to = if from == BALANCER {
            let dst = PacketInfo::parse(&bytes).map(|i| i.dst);
            dst.and_then(|d| self.by_address.get(&d).copied())
                .filter(|&to| to != BALANCER)
        } else {
            Some(BALANCER)
        };
        match to {
            Some(to) => self.transmit_to(from, to, bytes, cause),
            None => {
                let packet = self.new_packet_id();
                self.trace.push(
                    self.now,
                    TraceEvent::PacketSent {
                        packet,
                        from,
                        to: BALANCER,
                        arrives: None,
                        cause,
                        bytes,
                    },
                );
                self.metrics.packet_sent(self.now);
                self.drop_packet(packet, BALANCER, DropReason::NoRoute);
                None
            }
        }
    }

    fn new_packet_id(&mut self) -> PacketId {
        self.next_packet += 1;
        PacketId(self.next_packet)
    }

    /// Puts a packet on the link between `from` and `to` (one of them the balancer position);
    /// returns its id when it left (not dropped by the queue).
    fn transmit_to(
        &mut self,
        from: HostId,
        to: HostId,
        bytes: Bytes,
        cause: Option<PacketId>,
    ) -> Option<PacketId> {
        let now = self.now;
        let packet = self.new_packet_id();
        let (link_host, dir) = if from == BALANCER {
            (to, Direction::Down)
        } else {
            (from, Direction::Up)
        };
        let link = self.hosts[link_host.index()]
            .link
            .as_mut()
            .expect("every host but the balancer has a link");
        let side = link.side;
        let transit = link.wire(dir).offer(now, bytes.len());
        let arrives = match transit {
            Transit::Arrives { at, .. } => Some(at),
            Transit::QueueFull => None,
        };
        if let Some(c) = self.capture.as_mut() {
            if arrives.is_some() {
                c.record(now, side, &bytes);
            }
        }
        self.trace.push(
            now,
            TraceEvent::PacketSent {
                packet,
                from,
                to,
                arrives,
                cause,
                bytes: bytes.clone(),
            },
        );
        self.metrics.packet_sent(now);
        match transit {
            Transit::QueueFull => {
                self.drop_packet(packet, from, DropReason::QueueFull);
                None
            }
            Transit::Arrives { at, lost } => {
                self.queue.push(
                    at,
                    Event::Arrive(InFlight {
                        packet,
                        from,
                        to,
                        lost,
                        sent: now,
                        arrives: at,
                        cause,
                        bytes,
                    }),
                );
                Some(packet)
            }
        }
    }

    fn drop_packet(&mut self, packet: PacketId, host: HostId, reason: DropReason) {
        self.trace.push(
            self.now,
            TraceEvent::PacketDropped {
                packet,
                host,
                reason,
            },
        );
        self.metrics.packet_dropped(self.now, reason);
    }

    fn deliver(&mut self, packet: PacketId, host: HostId) {
        self.trace
            .push(self.now, TraceEvent::PacketDelivered { packet, host });
        self.metrics.packets.delivered += 1;
    }

    fn arrive(&mut self, p: InFlight) {
        if p.lost {
            return self.drop_packet(p.packet, p.to, DropReason::LinkLoss);
        }
        if p.to == BALANCER {
            return self.at_balancer(p);
        }
        let host = &mut self.hosts[p.to.index()];
        if !host.up {
            return self.drop_packet(p.packet, p.to, DropReason::HostDown);
        }
        // DSR: a tunnelled packet is unwrapped before the stack sees it.
        let bytes = match wire::nat::decapsulate(&p.bytes, host.address) {
            Some(inner) => Bytes::new(inner.to_vec()),
            None => p.bytes.clone(),
        };
        if let Some(server) = host.server.as_ref() {
            let syn = PacketInfo::parse(&bytes).is_some_and(|i| i.is_syn_to(server.port()));
            if syn && server.backlog_full(&mut host.stack) {
                return self.drop_packet(p.packet, p.to, DropReason::BacklogFull);
            }
        }
        self.deliver(p.packet, p.to);
        self.hosts[p.to.index()].stack.receive(bytes);
        self.service(p.to);
    }

    fn at_balancer(&mut self, p: InFlight) {
        let Some(info) = PacketInfo::parse(&p.bytes) else {
            return self.drop_packet(p.packet, BALANCER, DropReason::Malformed);
        };
        let spec = &self.scenario.balancer;
        if spec.mode.is_l4() {
            // To a balanced port of the virtual IP: the layer-4 path.
            let balanced = match info.transport {
                Transport::Tcp { dst_port, .. } => dst_port == spec.port,
                Transport::Udp { dst_port, .. } => dst_port == spec.udp_port,
                Transport::Other(_) => false,
            };
            if info.dst == spec.vip && balanced {
                let verdict = self.with_ctx(BALANCER, |host, ctx| {
                    host.balancer
                        .as_mut()
                        .expect("the balancer position has a balancer")
                        .inbound(&p.bytes, &info, ctx)
                });
                return self.carry_out(p, verdict);
            }
            // A backend's reply to a client of a NAT flow: back through the balancer.
            if spec.mode == Mode::L4Nat && self.hosts[p.from.index()].role == Role::Backend {
                let now = self.now;
                let b = self.hosts[BALANCER.index()]
                    .balancer
                    .as_mut()
                    .expect("the balancer position has a balancer");
                if let Some((bytes, at, flow)) = b.outbound(&p.bytes, &info, now) {
                    let to = self.by_address.get(&info.dst).copied();
                    let verdict = match to {
                        Some(to) => Verdict::Forward {
                            bytes,
                            to,
                            at,
                            rewrite: (flow, RewriteKind::ToClient),
                        },
                        None => Verdict::Drop(DropReason::NoRoute),
                    };
                    return self.carry_out(p, verdict);
                }
                if b.overloaded(now) {
                    return self.drop_packet(p.packet, BALANCER, DropReason::Overload);
                }
            }
        }
        // Everything else is routed: to the balancer's own stack, or on to the host that owns
        // the destination (in DSR mode, backends' replies take this path: no balancer work).
        match self.by_address.get(&info.dst).copied() {
            Some(BALANCER) => {
                self.deliver(p.packet, BALANCER);
                self.hosts[BALANCER.index()].stack.receive(p.bytes);
                self.service(BALANCER);
            }
            Some(_) => {
                let mut bytes = p.bytes.to_vec();
                if wire::checksum::decrement_ttl(&mut bytes).is_none() {
                    return self.drop_packet(p.packet, BALANCER, DropReason::Malformed);
                }
                self.deliver(p.packet, BALANCER);
                self.transmit(BALANCER, Bytes::new(bytes), Some(p.packet));
            }
            None => self.drop_packet(p.packet, BALANCER, DropReason::NoRoute),
        }
    }

    /// Does what the balancer decided for packet `p`.
    fn carry_out(&mut self, p: InFlight, verdict: Verdict) {
        match verdict {
            Verdict::Forward {
                bytes,
                to,
                at,
                rewrite,
            } => {
                self.deliver(p.packet, BALANCER);
                self.queue.push(
                    at,
                    Event::BalancerOut(Box::new(Outgoing {
                        bytes,
                        to,
                        cause: p.packet,
                        rewrite: Some(rewrite),
                    })),
                );
            }
            Verdict::Reset { bytes, at } => {
                self.drop_packet(p.packet, BALANCER, DropReason::NoFlow);
                self.queue.push(
                    at,
                    Event::BalancerOut(Box::new(Outgoing {
                        bytes,
                        to: p.from,
                        cause: p.packet,
                        rewrite: None,
                    })),
                );
            }
            Verdict::Drop(reason) => self.drop_packet(p.packet, BALANCER, reason),
            Verdict::Route => {
                self.deliver(p.packet, BALANCER);
                self.transmit(BALANCER, p.bytes, Some(p.packet));
            }
        }
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
                role: h.role,
                address: h.address,
                side: h.link.as_ref().map(|l| l.side),
                up: h.up,
                fault: h.fault,
                connections: h.server.as_ref().map_or(0, HttpServer::connections),
                sessions: h.server.as_ref().map_or(0, HttpServer::sessions),
                load: h.server.as_ref().map_or(0, HttpServer::load)
                    + h.client.as_ref().map_or(0, HttpClient::in_flight),
            })
            .collect()
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
            .filter_map(|h| h.client.as_ref())
            .map(|c| c.in_flight() as u64)
            .sum()
    }

    /// Shopping sessions in progress.
    pub fn sessions_in_flight(&self) -> u64 {
        self.hosts
            .iter()
            .filter_map(|h| h.client.as_ref())
            .map(|c| c.sessions_in_flight() as u64)
            .sum()
    }

    /// Game updates whose echo may still arrive.
    pub fn game_updates_in_flight(&self) -> u64 {
        self.hosts
            .iter()
            .map(|h| {
                h.player.as_ref().map_or(0, GamePlayer::in_flight)
                    + h.http_player.as_ref().map_or(0, HttpGamePlayer::in_flight)
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
                    self.scenario.network.client_link,
                    self.scenario.seed,
                    "composer",
                );
                let b = &self.scenario.balancer;
                let target = SocketAddrV4::new(b.vip, b.port);
                let gateway = b.vip;
                let h = self.add_host(
                    "composer",
                    Role::Client,
                    address,
                    vec![],
                    gateway,
                    Some(link),
                );
                self.hosts[h.index()].client = Some(HttpClient::new(
                    address,
                    target,
                    Duration::from_secs(10),
                    false,
                    false,
                ));
                self.composer = Some(h);
                h
            }
        };
        let id = self.with_ctx(h, |host, ctx| {
            host.client
                .as_mut()
                .expect("the composer is a client")
                .send_raw(bytes, &mut host.stack, ctx)
        });
        self.service(h);
        (h, id)
    }

    /// How a request sent with [`World::send_raw`] ended, once it has.
    pub fn raw_result(&self, composer: HostId, id: RequestId) -> Option<&RawResult> {
        self.hosts[composer.index()]
            .client
            .as_ref()
            .and_then(|c| c.raw_result(id))
    }

    /// Socket count of a host (for memory and leak checks).
    pub fn socket_count(&self, h: HostId) -> usize {
        self.hosts[h.index()].stack.sockets.iter().count()
    }
}

/// How the balancer knows a backend from its scenario entry.
fn pool_entry(spec: &BackendSpec, host: HostId) -> PoolEntry {
    PoolEntry {
        host,
        name: spec.name.clone(),
        address: spec.address,
        http_port: spec.port,
        game_port: spec.game_port,
        weight: spec.weight,
        drained: false,
        removed: false,
        health: BackendHealth::default(),
    }
}

/// Refuses a command with the first of its `problems`, if it has any.
fn refuse(problems: Vec<Problem>) -> Result<(), CommandError> {
    match problems.into_iter().next() {
        Some(p) => Err(CommandError::Invalid(p.to_string())),
        None => Ok(()),
    }
}

/// What a client group's arrivals do, weighted, from its mix (empty: `GET /`).
fn works(mix: &[MixEntry]) -> Vec<(u64, Work)> {
    if mix.is_empty() {
        return vec![(
            1,
            Work::Request(crate::scenario::RequestSpec {
                method: "GET".into(),
                path: "/".into(),
                body_bytes: 0,
            }),
        )];
    }
    mix.iter()
        .map(|m| {
            let work = match (&m.request, &m.cart) {
                (Some(r), _) => Work::Request(r.clone()),
                (None, Some(c)) => Work::Cart(*c),
                (None, None) => unreachable!("validated"),
            };
            (u64::from(m.weight), work)
        })
        .collect()
}

/// Records the TCP state changes of a host's sockets.
fn record_changes(stack: &mut Stack, scratch: &mut Vec<StateChange>, ctx: &mut Ctx<'_>) {
    stack.state_changes(scratch);
    for c in scratch.drain(..) {
        ctx.record(TraceEvent::Connection {
            host: ctx.host,
            local: c.local,
            remote: c.remote,
            from: c.from,
            to: c.to,
        });
    }
}

impl Group {
    /// Draws the arrival after `from` and queues it (as group `gi`, in the current rate
    /// epoch), unless the group has stopped by then.
    fn schedule_next(&mut self, gi: usize, from: Instant, queue: &mut Queue) {
        let next = from + self.gap();
        if next < self.stop {
            let epoch = self.epoch;
            queue.push(
                next,
                Event::Arrival {
                    group: gi as u32,
                    epoch,
                },
            );
        }
    }

    /// Time to the next arrival.
    fn gap(&mut self) -> Duration {
        let mean = Duration::from_secs_f64(1.0 / self.rate);
        match self.arrivals {
            Arrivals::Poisson => self.rng.exponential(mean).max(Duration::from_micros(1)),
            Arrivals::Constant => mean.max(Duration::from_micros(1)),
        }
    }
}
