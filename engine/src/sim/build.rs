//! Building a world from a scenario: the balancer position (host 0), the backends (hosts 1 to
//! n, in scenario order), the client and player hosts, the first events of each, and the
//! timeline.
//!
//! The order in which events are first queued is part of the event log (events at the same
//! time run in the order they were scheduled), so it is kept exactly: client arrivals, game
//! ticks, timeline entries, first health probes, then the balancer's and backends' first polls.

use rustc_hash::FxHashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use crate::apps::client::HttpClient;
use crate::apps::game::{GamePlayer, GameServer, HttpGamePlayer};
use crate::apps::server::HttpServer;
use crate::apps::Ids;
use crate::health::BackendHealth;
use crate::ids::HostId;
use crate::lb::{Balancer, PoolEntry};
use crate::metrics::Metrics;
use crate::net::{Link, Side};
use crate::rng::Stream;
use crate::scenario::{BackendSpec, Buffers, Fault, GameTransport, Mode, Problem, Scenario};
use crate::stack::{Spares, Stack};
use crate::time::{Duration, Instant};
use crate::trace::Trace;

use super::host::{App, Host};
use super::traffic::{works, Group};
use super::{Event, Queue, Role, World, BALANCER, DEFAULT_TRACE_CAPACITY};

impl World {
    /// Builds a world from a scenario, which must be valid ([`Scenario::validate`]).
    ///
    /// # Panics
    /// When the scenario does not validate: validate user input first, or use
    /// [`World::try_new`].
    pub fn new(scenario: &Scenario) -> World {
        Self::with_trace_capacity(scenario, DEFAULT_TRACE_CAPACITY)
    }

    /// Builds a world keeping the newest `capacity` trace records, or says what is wrong with
    /// the scenario.
    pub fn try_new(scenario: &Scenario, capacity: usize) -> Result<World, Vec<Problem>> {
        let problems = scenario.validate();
        if problems.is_empty() {
            Ok(Self::build(scenario, capacity))
        } else {
            Err(problems)
        }
    }

    /// Like [`World::new`], keeping the newest `capacity` trace records.
    pub fn with_trace_capacity(scenario: &Scenario, capacity: usize) -> World {
        match Self::try_new(scenario, capacity) {
            Ok(w) => w,
            Err(problems) => panic!("invalid scenario: {problems:?}"),
        }
    }

    fn build(s: &Scenario, capacity: usize) -> World {
        let seed = s.seed;
        let addresses = s
            .endpoint_addresses()
            .expect("validated scenarios have addresses");
        let b = s.balancer.clone();
        // The balancer: its pool is every backend (hosts 1 to n); remaps are counted over
        // every client and player address.
        let pool = s
            .backends
            .iter()
            .enumerate()
            .map(|(i, spec)| pool_entry(spec, HostId(i as u32 + 1)))
            .collect();
        let clients = addresses
            .iter()
            .flat_map(|(_, a)| a.iter().copied())
            .collect();
        let balancer = Balancer::new(s.balancer.clone(), pool, clients, seed);
        let mut world = World {
            recorded: s.clone(),
            settings: s.clone(),
            scheduled: s.timeline.iter().map(|t| t.action.clone()).collect(),
            now: Instant::ZERO,
            queue: Queue::default(),
            hosts: Vec::new(),
            by_address: FxHashMap::default(),
            groups: Vec::new(),
            trace: Trace::new(capacity),
            metrics: Metrics::new(s.backends.len()),
            ids: Ids::default(),
            next_packet: 0,
            capture: None,
            changes: Vec::new(),
            sent: Vec::new(),
            events_processed: 0,
            composer: None,
            spares: Spares::default(),
        };
        world.add_host(
            "balancer",
            b.inner,
            vec![b.vip],
            b.vip,
            None,
            App::Balancer(Box::new(balancer)),
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
                let client = HttpClient::new(
                    addr,
                    target,
                    g.timeout,
                    g.keep_alive,
                    g.tls,
                    g.buffers.unwrap_or(Buffers::CLIENT),
                );
                let h = world.add_host(
                    &name,
                    addr,
                    vec![],
                    b.vip,
                    Some(link),
                    App::Client(Box::new(client)),
                );
                hosts.push(h);
            }
            let start = Instant::ZERO + g.start;
            world.groups.push(Group {
                hosts,
                works: works(&g.mix),
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
                let app = match g.transport {
                    GameTransport::Udp => App::Player(Box::new(GamePlayer::new(
                        target,
                        g.tick_hz,
                        g.payload_bytes,
                        stop,
                    ))),
                    GameTransport::Http => App::HttpPlayer(Box::new(HttpGamePlayer::new(
                        addr,
                        target,
                        g.tick_hz,
                        g.payload_bytes,
                        stop,
                    ))),
                };
                let h = world.add_host(&name, addr, vec![], b.vip, Some(link), app);
                // Players start spread over one tick, as real players are not in lockstep.
                let offset = Duration::from_micros(tick.as_micros() * k as u64 / count.max(1));
                world.queue.push(
                    Instant::ZERO + g.start + offset,
                    Event::Timer {
                        host: h,
                        timer: crate::apps::AppTimer::GameTick,
                    },
                );
            }
        }
        for (i, t) in s.timeline.iter().enumerate() {
            world
                .queue
                .push_last(Instant::ZERO + t.at, Event::Timeline { index: i as u32 });
        }
        world.with_ctx(BALANCER, |host, ctx| {
            if let App::Balancer(b) = &host.app {
                b.schedule_first_probes(ctx);
            }
        });
        // The balancer opens its listening sockets (L7) before any client connects.
        world.service(BALANCER);
        // Servers open their listening sockets; initial faults take effect.
        for i in 0..world.hosts.len() {
            let h = HostId(i as u32);
            let fault = world.hosts[i].fault;
            if world.hosts[i].role() == Role::Backend {
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
    pub(super) fn add_backend_host(
        &mut self,
        spec: &BackendSpec,
        index: usize,
        link: Link,
    ) -> HostId {
        let b = &self.settings.balancer;
        // In DSR mode a backend also owns the VIP (on loopback, in real deployments) so that it
        // accepts the decapsulated packets and answers from the VIP.
        let extra = if b.mode == Mode::L4Dsr {
            vec![b.vip]
        } else {
            vec![]
        };
        let gateway = b.inner;
        let app = App::Backend {
            index,
            server: Box::new(HttpServer::new(spec, self.settings.seed)),
            game: spec.game_port.map(|p| Box::new(GameServer::new(p))),
        };
        let h = self.add_host(&spec.name, spec.address, extra, gateway, Some(link), app);
        self.hosts[h.index()].fault = spec.fault;
        h
    }

    /// Adds a host running `app`; the balancer position routes all its addresses to it, any
    /// other host only its first (a DSR backend's copy of the VIP is local to it).
    pub(super) fn add_host(
        &mut self,
        name: &str,
        address: Ipv4Addr,
        extra_addresses: Vec<Ipv4Addr>,
        gateway: Ipv4Addr,
        link: Option<Link>,
        app: App,
    ) -> HostId {
        let id = HostId(self.hosts.len() as u32);
        let mut stack_seeds = Stream::new(self.settings.seed, &format!("stack/{name}"));
        let mut addresses = vec![address];
        addresses.extend_from_slice(&extra_addresses);
        let stack = Stack::new(
            &addresses,
            gateway,
            stack_seeds.next_u64(),
            self.now,
            Rc::clone(&self.spares),
        );
        let routed = if app.role() == Role::Balancer {
            addresses.len()
        } else {
            1
        };
        for a in &addresses[..routed] {
            self.by_address.insert(*a, id);
        }
        self.hosts.push(Host {
            name: name.to_string(),
            address,
            gateway,
            extra_addresses,
            link,
            stack,
            stack_seeds,
            up: true,
            fault: Fault::None,
            scheduled_poll: None,
            app,
        });
        id
    }
}

/// How the balancer knows a backend from its scenario entry.
pub(super) fn pool_entry(spec: &BackendSpec, host: HostId) -> PoolEntry {
    PoolEntry {
        host,
        name: spec.name.as_str().into(),
        address: spec.address,
        http_port: spec.port,
        game_port: spec.game_port,
        weight: spec.weight,
        drained: false,
        removed: false,
        health: BackendHealth::default(),
    }
}
