//! Whole-scenario validation: every problem, each with its field path.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use super::addresses::refused_range;
use super::{
    BackendSpec, Buffers, Command, Fault, HealthKind, HealthSpec, LinkSpec, MixEntry, Mode,
    Scenario, ServiceTime, SCHEMA_VERSION,
};
use crate::balance::{maglev::is_prime, Algorithm};
use crate::time::Duration;

/// One thing wrong with a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Field path, such as `backends[2].workers`.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl core::fmt::Display for Problem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}", self.path, self.message)
    }
}

/// The longest scenario the engine accepts.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// The memory a world may use: what the browser tab is given (wasm32 can address 4 GiB).
pub const MEMORY_BUDGET: u64 = 512 * 1024 * 1024;
/// Memory a host costs without its connections: its stack (a smoltcp interface) and its
/// application. Measured natively (`cargo bench -p lbsim --bench memory -- 50000`): 10,000
/// client hosts take 23 MiB built and about 5 KiB each once they work; rounded up.
pub const HOST_MEMORY: u64 = 8 * 1024;
/// Memory a TCP connection costs beyond its socket buffers: a smoltcp socket in its slot at
/// each end and the applications' state for it and its requests. Measured with the same
/// bench: 25,000 more open connections with 3.5 KiB of buffers each cost 158 MiB (6.4 KiB
/// each), so 2.9 KiB beyond the buffers; rounded up.
pub const CONNECTION_MEMORY: u64 = 3 * 1024;
/// Memory one entry of the balancer's connection table costs, its indexes and hash-table
/// slack included. Measured: a table filling from 15,000 to 100,000 flows grows the resident
/// size by 39 MiB (`-- 10000`), about 480 bytes a flow.
pub const FLOW_MEMORY: u64 = 512;
/// The most client and player hosts a world may have: as many as fit in [`MEMORY_BUDGET`]
/// with nothing else. Connections and the flow table take their share too
/// ([`Scenario::memory_estimate`]).
pub const MAX_HOSTS: u32 = (MEMORY_BUDGET / HOST_MEMORY) as u32;

/// What a world may need at most, by part, from its scenario: what the validator holds
/// against [`MEMORY_BUDGET`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Every host at [`HOST_MEMORY`].
    pub hosts: u64,
    /// As many connections as the backends accept together (their `max_connections`,
    /// counting backends the timeline adds), each with its buffers at both ends (the
    /// backend's, and the largest a client group sets), [`CONNECTION_MEMORY`], and at L7 the
    /// proxy's two sockets.
    pub connections: u64,
    /// The balancer's connection table (layer 4 only), full, at [`FLOW_MEMORY`] an entry.
    pub flows: u64,
}

impl MemoryEstimate {
    /// All parts.
    pub fn total(&self) -> u64 {
        self.hosts + self.connections + self.flows
    }
}

/// The most backends, including those a timeline adds.
pub const MAX_BACKENDS: usize = 64;

/// The highest arrival rate of a client group, per second.
pub const MAX_RATE: f64 = 100_000.0;

/// The highest weight of a backend.
pub const MAX_WEIGHT: u32 = 1000;

const WEIGHT_BOUNDS: &str = "must be at least 1 and at most 1000";
const RATE_BOUNDS: &str = "must be more than 0 and at most 100000 per second";

/// Whether a client group may arrive at `rate` per second.
pub fn rate_ok(rate: f64) -> bool {
    rate.is_finite() && rate > 0.0 && rate <= MAX_RATE
}

/// What is wrong with a link's properties, each problem under `path`.
pub fn link_problems(path: &str, link: &LinkSpec) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    c.link(path, link);
    c.problems
}

/// What is wrong with health-check settings, each problem under `path`.
pub fn health_problems(path: &str, health: &HealthSpec) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    c.health(path, health);
    c.problems
}

/// What is wrong with a client group's mix, each problem under `path[i]`.
pub fn mix_problems(path: &str, mix: &[MixEntry]) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    for (j, m) in mix.iter().enumerate() {
        c.mix(&format!("{path}[{j}]"), m);
    }
    c.problems
}

struct Checker {
    problems: Vec<Problem>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn check(&mut self, ok: bool, path: impl Into<String>, message: &str) {
        if !ok {
            self.fail(path, message);
        }
    }

    fn link(&mut self, path: &str, link: &LinkSpec) {
        self.check(
            link.bandwidth_mbps.is_finite() && link.bandwidth_mbps >= 0.0,
            format!("{path}.bandwidth_mbps"),
            "must be a non-negative number (0 means unlimited)",
        );
        self.check(
            (0.0..=1.0).contains(&link.loss),
            format!("{path}.loss"),
            "must be a probability between 0 and 1",
        );
        self.check(
            link.queue_packets >= 1,
            format!("{path}.queue_packets"),
            "must be at least 1",
        );
        self.check(
            link.latency <= Duration::from_secs(10),
            format!("{path}.latency"),
            "must be at most 10s",
        );
        self.check(
            link.jitter <= link.latency,
            format!("{path}.jitter"),
            "must not exceed the latency",
        );
    }

    fn health(&mut self, path: &str, h: &HealthSpec) {
        if let HealthKind::Http(check) = &h.kind {
            self.check(
                origin_form(&check.path),
                format!("{path}.kind.http.path"),
                ORIGIN_FORM,
            );
            self.check(
                !check.method.is_empty() && check.method.bytes().all(|c| c.is_ascii_uppercase()),
                format!("{path}.kind.http.method"),
                "must be an upper-case token such as GET",
            );
            self.check(
                !check.expect.is_empty() && check.expect.iter().all(|s| (100..=599).contains(s)),
                format!("{path}.kind.http.expect"),
                "must list statuses between 100 and 599",
            );
        }
        self.check(
            h.interval >= Duration::from_millis(10) && h.interval <= Duration::from_secs(600),
            format!("{path}.interval"),
            "must be between 10ms and 600s",
        );
        if let Some(timeout) = h.timeout {
            self.check(
                timeout > Duration::ZERO && timeout <= h.interval,
                format!("{path}.timeout"),
                "must be more than 0s and at most the interval (unset, it is the interval)",
            );
        }
        self.check(
            (1..=100).contains(&h.rise),
            format!("{path}.rise"),
            "must be between 1 and 100",
        );
        self.check(
            (1..=100).contains(&h.fall),
            format!("{path}.fall"),
            "must be between 1 and 100",
        );
    }

    fn buffers(&mut self, path: &str, buffers: Option<Buffers>) {
        let Some(b) = buffers else { return };
        let bounds = format!(
            "must be between {} and {} bytes",
            Buffers::MIN,
            Buffers::MAX
        );
        for (field, size) in [("receive", b.receive), ("send", b.send)] {
            self.check(
                (Buffers::MIN..=Buffers::MAX).contains(&size),
                format!("{path}.{field}"),
                &bounds,
            );
        }
    }

    fn service(&mut self, path: &str, service: &ServiceTime) {
        let limit = Duration::from_secs(60);
        match *service {
            ServiceTime::Constant(d) | ServiceTime::Exponential(d) => {
                self.check(d <= limit, path.to_string(), "must be at most 60s")
            }
            ServiceTime::Lognormal { median, sigma } => {
                self.check(
                    median <= limit,
                    format!("{path}.median"),
                    "must be at most 60s",
                );
                self.check(
                    sigma.is_finite() && (0.0..=3.0).contains(&sigma),
                    format!("{path}.sigma"),
                    "must be between 0 and 3",
                );
            }
        }
    }

    fn fault(&mut self, path: &str, fault: &Fault) {
        match *fault {
            Fault::Slow { factor } => self.check(
                factor.is_finite() && (1.0..=1000.0).contains(&factor),
                format!("{path}.slow.factor"),
                "must be between 1 and 1000",
            ),
            Fault::Flaky { probability } => self.check(
                (0.0..=1.0).contains(&probability),
                format!("{path}.flaky.probability"),
                "must be a probability between 0 and 1",
            ),
            _ => {}
        }
    }

    fn mix(&mut self, path: &str, entry: &MixEntry) {
        self.check(
            entry.weight >= 1,
            format!("{path}.weight"),
            "must be at least 1",
        );
        match (&entry.request, &entry.cart) {
            (Some(r), None) => {
                self.check(
                    origin_form(&r.path),
                    format!("{path}.request.path"),
                    ORIGIN_FORM,
                );
                self.check(
                    !r.method.is_empty() && r.method.bytes().all(|b| b.is_ascii_uppercase()),
                    format!("{path}.request.method"),
                    "must be an upper-case token such as GET",
                );
                self.check(
                    r.body_bytes <= 1024 * 1024,
                    format!("{path}.request.body_bytes"),
                    "must be at most 1 MiB",
                );
            }
            (None, Some(c)) => {
                self.check(
                    (1..=100).contains(&c.adds),
                    format!("{path}.cart.adds"),
                    "must be between 1 and 100",
                );
            }
            _ => self.fail(path, "needs exactly one of `request` or `cart`"),
        }
    }
}

impl Checker {
    fn backend(
        &mut self,
        p: &str,
        be: &BackendSpec,
        s: &Scenario,
        names: &mut BTreeSet<String>,
        addresses: &mut BTreeSet<Ipv4Addr>,
    ) {
        let c = self;
        name(c, names, p, &be.name);
        if let Some(range) = refused_range(be.address) {
            c.fail(
                format!("{p}.address"),
                format!("must be a unicast address: {} is {range}", be.address),
            );
        }
        c.check(
            addresses.insert(be.address),
            format!("{p}.address"),
            "is already used by another host",
        );
        c.check(be.port != 0, format!("{p}.port"), "must not be 0");
        c.check(
            (1..=MAX_WEIGHT).contains(&be.weight),
            format!("{p}.weight"),
            WEIGHT_BOUNDS,
        );
        c.check(
            (1..=1024).contains(&be.workers),
            format!("{p}.workers"),
            "must be between 1 and 1024",
        );
        c.check(
            be.queue_limit <= 100_000,
            format!("{p}.queue_limit"),
            "must be at most 100000",
        );
        c.check(
            (1..=4096).contains(&be.max_connections),
            format!("{p}.max_connections"),
            "must be between 1 and 4096",
        );
        c.check(
            be.backlog >= 1 && be.backlog <= be.max_connections,
            format!("{p}.backlog"),
            "must be at least 1 and at most max_connections",
        );
        c.service(&format!("{p}.service"), &be.service);
        c.buffers(&format!("{p}.buffers"), be.buffers);
        c.check(
            be.response_bytes <= 16 * 1024 * 1024,
            format!("{p}.response_bytes"),
            "must be at most 16 MiB",
        );
        for (j, r) in be.routes.iter().enumerate() {
            let rp = format!("{p}.routes[{j}]");
            c.check(
                r.path.starts_with('/'),
                format!("{rp}.path"),
                "must start with /",
            );
            c.service(&format!("{rp}.service"), &r.service);
            c.check(
                (200..=599).contains(&r.status),
                format!("{rp}.status"),
                "must be a final status between 200 and 599",
            );
            c.check(
                r.response_bytes <= 16 * 1024 * 1024,
                format!("{rp}.response_bytes"),
                "must be at most 16 MiB",
            );
        }
        c.fault(&format!("{p}.fault"), &be.fault);
        if let Some(link) = &be.link {
            c.link(&format!("{p}.link"), link);
        }
        if let Some(port) = be.game_port {
            c.check(port != 0, format!("{p}.game_port"), "must not be 0");
        }
        if s.balancer.mode == Mode::L4Dsr {
            c.check(
                be.port == s.balancer.port,
                format!("{p}.port"),
                "must equal balancer.port in DSR mode: the packet reaches the backend unchanged",
            );
            if let Some(port) = be.game_port {
                c.check(
                    port == s.balancer.udp_port,
                    format!("{p}.game_port"),
                    "must equal balancer.udp_port in DSR mode",
                );
            }
        }
    }

    fn balancer(&mut self, s: &Scenario) {
        let b = &s.balancer;
        self.check(b.port != 0, "balancer.port", "must not be 0");
        self.check(b.udp_port != 0, "balancer.udp_port", "must not be 0");
        let added = s
            .timeline
            .iter()
            .filter(|t| matches!(t.action, Command::AddBackend { .. }))
            .count();
        let most = (s.backends.len() + added).max(1) as u64;
        let uses_maglev = b.algorithm == Algorithm::Maglev
            || s.timeline.iter().any(|t| {
                matches!(
                    t.action,
                    Command::SetAlgorithm {
                        algorithm: Algorithm::Maglev
                    }
                )
            });
        if uses_maglev {
            self.check(
                is_prime(b.maglev_table_size)
                    && b.maglev_table_size >= 100 * most
                    && b.maglev_table_size <= 1_000_003,
                "balancer.maglev_table_size",
                &format!(
                    "must be a prime between 100 × backends ({}) and 1000003",
                    100 * most
                ),
            );
        }
        if let Some(h) = &b.health {
            self.health("balancer.health", h);
        }
        let t = &b.conntrack;
        self.check(
            (1..=10_000_000).contains(&t.max_flows),
            "balancer.conntrack.max_flows",
            "must be between 1 and 10000000",
        );
        for (field, d) in [
            ("tcp_syn_timeout", t.tcp_syn_timeout),
            ("tcp_idle_timeout", t.tcp_idle_timeout),
            ("tcp_fin_timeout", t.tcp_fin_timeout),
            ("tcp_closed_timeout", t.tcp_closed_timeout),
            ("udp_timeout", t.udp_timeout),
        ] {
            self.check(
                d >= Duration::from_millis(1) && d <= Duration::from_secs(86_400),
                format!("balancer.conntrack.{field}"),
                "must be between 1ms and 1 day",
            );
        }
        self.l7(s);
        self.check(
            b.cpu.per_packet <= Duration::from_millis(100),
            "balancer.cpu.per_packet",
            "must be at most 100ms",
        );
        self.check(
            (1..=1_000_000).contains(&b.cpu.queue_packets),
            "balancer.cpu.queue_packets",
            "must be between 1 and 1000000",
        );
    }
}

impl Checker {
    fn l7(&mut self, s: &Scenario) {
        let l7 = &s.balancer.l7;
        let mut pools = BTreeSet::new();
        for (i, p) in l7.pools.iter().enumerate() {
            let path = format!("balancer.l7.pools[{i}]");
            self.check(
                !p.name.is_empty() && pools.insert(p.name.clone()),
                format!("{path}.name"),
                "must be a name no other pool has",
            );
            self.check(
                !p.backends.is_empty(),
                format!("{path}.backends"),
                "needs at least one backend",
            );
            for (j, b) in p.backends.iter().enumerate() {
                self.check(
                    s.backends.iter().any(|x| &x.name == b),
                    format!("{path}.backends[{j}]"),
                    "names no backend",
                );
            }
            if let Some(sticky) = &p.sticky {
                self.check(
                    !sticky.cookie.is_empty()
                        && sticky
                            .cookie
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'),
                    format!("{path}.sticky.cookie"),
                    "must be a cookie name (letters, digits, - and _)",
                );
            }
        }
        let known = |name: &str| {
            if l7.pools.is_empty() {
                name == "default"
            } else {
                pools.contains(name)
            }
        };
        for (i, r) in l7.rules.iter().enumerate() {
            let path = format!("balancer.l7.rules[{i}]");
            self.check(known(&r.pool), format!("{path}.pool"), "names no pool");
            let m = &r.conditions;
            self.check(
                m.path_prefix.is_some()
                    || m.path.is_some()
                    || m.host.is_some()
                    || m.method.is_some()
                    || m.header.is_some()
                    || m.cookie.is_some(),
                format!("{path}.match"),
                "needs at least one condition",
            );
            for (field, p) in [("path_prefix", &m.path_prefix), ("path", &m.path)] {
                if let Some(p) = p {
                    self.check(
                        p.starts_with('/'),
                        format!("{path}.match.{field}"),
                        "must start with /",
                    );
                }
            }
        }
        if let Some(d) = &l7.default_pool {
            self.check(known(d), "balancer.l7.default_pool", "names no pool");
        }
        for (field, d) in [
            ("connect_timeout", l7.connect_timeout),
            ("upstream_timeout", l7.upstream_timeout),
        ] {
            self.check(
                d > Duration::ZERO && d <= Duration::from_secs(300),
                format!("balancer.l7.{field}"),
                "must be more than 0s and at most 300s",
            );
        }
        self.check(
            l7.per_request <= Duration::from_millis(100),
            "balancer.l7.per_request",
            "must be at most 100ms",
        );
        if let Some(t) = &l7.tls {
            self.check(
                t.port != 0 && t.port != s.balancer.port,
                "balancer.l7.tls.port",
                "must be a port other than 0 and balancer.port",
            );
        }
        if let Some(o) = &l7.outlier {
            self.check(
                (1..=1000).contains(&o.consecutive_5xx),
                "balancer.l7.outlier.consecutive_5xx",
                "must be between 1 and 1000",
            );
        }
        for (i, g) in s.clients.iter().enumerate() {
            if g.tls && g.target.is_none() {
                self.check(
                    s.balancer.mode == Mode::L7 && l7.tls.is_some(),
                    format!("clients[{i}].tls"),
                    "needs a target, or an L7 balancer with balancer.l7.tls",
                );
            }
        }
    }
}

impl Scenario {
    /// The most memory a world built from this scenario may need, by part.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        let added = self.timeline.iter().filter_map(|t| match &t.action {
            Command::AddBackend { backend } => Some(backend),
            _ => None,
        });
        let backends: Vec<&BackendSpec> = self.backends.iter().chain(added).collect();
        let clients: u64 = self.clients.iter().map(|g| u64::from(g.count)).sum::<u64>()
            + self.players.iter().map(|g| u64::from(g.count)).sum::<u64>();
        let bytes = |b: Buffers| u64::from(b.receive) + u64::from(b.send);
        let client_buffers = self
            .clients
            .iter()
            .map(|g| bytes(g.buffers.unwrap_or(Buffers::CLIENT)))
            .chain(
                [bytes(Buffers::CLIENT)]
                    .into_iter()
                    .filter(|_| !self.players.is_empty()),
            )
            .max()
            .unwrap_or(0);
        let proxy = if self.balancer.mode == Mode::L7 {
            4 * crate::stack::TCP_BUFFER as u64
        } else {
            0
        };
        MemoryEstimate {
            hosts: (clients + backends.len() as u64 + 1) * HOST_MEMORY,
            connections: backends
                .iter()
                .map(|b| {
                    u64::from(b.max_connections)
                        * (CONNECTION_MEMORY
                            + bytes(b.buffers.unwrap_or(Buffers::SERVER))
                            + client_buffers
                            + proxy)
                })
                .sum(),
            flows: if self.balancer.mode.is_l4() {
                u64::from(self.balancer.conntrack.max_flows) * FLOW_MEMORY
            } else {
                0
            },
        }
    }

    /// Every problem with the scenario; empty when it is valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut c = Checker {
            problems: Vec::new(),
        };
        c.check(
            self.version == SCHEMA_VERSION,
            "version",
            "must be 1 (the only schema version this engine knows)",
        );
        c.check(
            self.duration > Duration::ZERO && self.duration <= MAX_DURATION,
            "duration",
            "must be more than 0s and at most 1 hour",
        );
        c.link("network.client_link", &self.network.client_link);
        c.link("network.server_link", &self.network.server_link);

        let b = &self.balancer;
        if let Some(range) = refused_range(b.vip) {
            c.fail(
                "balancer.vip",
                format!("must be a unicast address: {} is {range}", b.vip),
            );
        }
        if let Some(range) = refused_range(b.inner) {
            c.fail(
                "balancer.inner",
                format!("must be a unicast address: {} is {range}", b.inner),
            );
        }
        c.check(
            b.vip != b.inner,
            "balancer.inner",
            "must differ from the virtual IP",
        );
        c.balancer(self);

        // Addresses and names must be unique across the world.
        let mut addresses: BTreeSet<Ipv4Addr> = [b.vip, b.inner].into_iter().collect();
        let mut names = BTreeSet::new();

        c.check(
            !self.backends.is_empty(),
            "backends",
            "needs at least one backend",
        );
        let added = self
            .timeline
            .iter()
            .filter(|t| matches!(t.action, Command::AddBackend { .. }))
            .count();
        c.check(
            self.backends.len() + added <= MAX_BACKENDS,
            "backends",
            "may list at most 64 backends, counting those the timeline adds",
        );
        for (i, be) in self.backends.iter().enumerate() {
            c.backend(
                &format!("backends[{i}]"),
                be,
                self,
                &mut names,
                &mut addresses,
            );
        }

        let mut hosts: u64 = 0;
        for (i, g) in self.clients.iter().enumerate() {
            let p = format!("clients[{i}]");
            name(&mut c, &mut names, &p, &g.name);
            c.check(g.count >= 1, format!("{p}.count"), "must be at least 1");
            hosts += u64::from(g.count);
            c.check(rate_ok(g.rate), format!("{p}.rate"), RATE_BOUNDS);
            c.check(
                g.timeout > Duration::ZERO && g.timeout <= Duration::from_secs(120),
                format!("{p}.timeout"),
                "must be more than 0s and at most 120s",
            );
            c.buffers(&format!("{p}.buffers"), g.buffers);
            for (j, m) in g.mix.iter().enumerate() {
                c.mix(&format!("{p}.mix[{j}]"), m);
            }
            if let Some(stop) = g.stop {
                c.check(stop > g.start, format!("{p}.stop"), "must be after start");
            }
            if let Some(link) = &g.link {
                c.link(&format!("{p}.link"), link);
            }
            if let Some(t) = g.target {
                c.check(t.port() != 0, format!("{p}.target"), "port must not be 0");
            }
        }
        for (i, g) in self.players.iter().enumerate() {
            let p = format!("players[{i}]");
            name(&mut c, &mut names, &p, &g.name);
            c.check(g.count >= 1, format!("{p}.count"), "must be at least 1");
            hosts += u64::from(g.count);
            c.check(
                (1..=1000).contains(&g.tick_hz),
                format!("{p}.tick_hz"),
                "must be between 1 and 1000",
            );
            c.check(
                (12..=1400).contains(&g.payload_bytes),
                format!("{p}.payload_bytes"),
                "must be between 12 and 1400",
            );
            if let Some(stop) = g.stop {
                c.check(stop > g.start, format!("{p}.stop"), "must be after start");
            }
            if let Some(link) = &g.link {
                c.link(&format!("{p}.link"), link);
            }
        }
        c.check(
            hosts <= u64::from(MAX_HOSTS),
            "clients",
            &format!(
                "clients and players together may have at most {MAX_HOSTS} hosts (each needs \
                 about {} KiB of the {} MiB a world may use)",
                HOST_MEMORY / 1024,
                MEMORY_BUDGET / (1024 * 1024)
            ),
        );
        let need = self.memory_estimate();
        let mib = |b: u64| b.div_ceil(1024 * 1024);
        c.check(
            hosts > u64::from(MAX_HOSTS) || need.total() <= MEMORY_BUDGET,
            "backends",
            &format!(
                "would let the world need about {} MiB ({} MiB for hosts, {} MiB for the \
                 connections the backends' max_connections allow with their buffers, {} MiB for \
                 the flow table), more than the {} MiB a world may use: lower max_connections \
                 or the buffers, or use fewer clients",
                mib(need.total()),
                mib(need.hosts),
                mib(need.connections),
                mib(need.flows),
                MEMORY_BUDGET / (1024 * 1024)
            ),
        );
        if hosts <= u64::from(MAX_HOSTS) {
            match self.endpoint_addresses() {
                Ok(groups) => {
                    for (path, addrs) in groups {
                        for a in addrs {
                            if !addresses.insert(a) {
                                c.fail(
                                    format!("{path}.first_address"),
                                    format!("gives {a}, which is already used by another host"),
                                );
                                break;
                            }
                        }
                    }
                }
                Err(Problem { path, message }) => c.fail(path, message),
            }
        }

        // Timeline actions in time order, so that a backend added at 5 s may be removed at 9 s.
        let mut order: Vec<usize> = (0..self.timeline.len()).collect();
        order.sort_by_key(|&i| self.timeline[i].at);
        let mut live = Live {
            pool: self.backends.iter().map(|b| b.name.clone()).collect(),
            names,
            addresses,
        };
        for i in order {
            let t = &self.timeline[i];
            for Problem { path, message } in command_problems(self, t.at, &t.action, &mut live) {
                let path = if path == "at" {
                    format!("timeline[{i}].at")
                } else {
                    format!("timeline[{i}].action.{path}")
                };
                c.problems.push(Problem { path, message });
            }
        }
        c.problems
    }
}

/// What a timeline command is judged against besides the scenario: the pool as the timeline
/// has it at the command's time, and the host names and addresses taken by then.
#[derive(Clone, Debug, Default)]
pub struct Live {
    /// Backends in the pool (added and not removed).
    pool: BTreeSet<String>,
    /// Every host name taken (backends, client and player groups, backends added so far).
    names: BTreeSet<String>,
    /// Every address taken.
    addresses: BTreeSet<Ipv4Addr>,
}

/// What is wrong with `command` at time `at` of `scenario`, against the pool and hosts as `live`
/// has them then; `live` then follows the command (a backend added or removed). Paths are
/// relative to the command (`set_weight.weight`), or `at` for its time.
///
/// This is the one judge of commands: [`Scenario::validate`] asks it for every timeline entry,
/// in time order, and the world asks it (through `validate`, for the scenario the command would
/// record) before it changes anything live, so the two can never disagree.
pub fn command_problems(
    scenario: &Scenario,
    at: Duration,
    command: &Command,
    live: &mut Live,
) -> Vec<Problem> {
    let mut c = Checker {
        problems: Vec::new(),
    };
    c.check(
        at <= scenario.duration,
        "at",
        &format!(
            "must not be after the scenario's duration ({}): its traffic has stopped",
            scenario.duration
        ),
    );
    let kind = command.kind();
    let in_pool = |c: &mut Checker, live: &Live, backend: &str| {
        c.check(
            live.pool.contains(backend),
            format!("{kind}.backend"),
            &format!("is {backend:?}, which is not in the pool at that time"),
        )
    };
    match command {
        Command::SetFault { backend, fault } => {
            in_pool(&mut c, live, backend);
            c.fault(&format!("{kind}.fault"), fault);
        }
        Command::SetWeight { backend, weight } => {
            in_pool(&mut c, live, backend);
            c.check(
                (1..=MAX_WEIGHT).contains(weight),
                format!("{kind}.weight"),
                WEIGHT_BOUNDS,
            );
        }
        Command::SetDrain { backend, .. } => in_pool(&mut c, live, backend),
        Command::RemoveBackend { backend } => {
            in_pool(&mut c, live, backend);
            live.pool.remove(backend.as_str());
        }
        Command::AddBackend { backend } => {
            c.backend(
                &format!("{kind}.backend"),
                backend,
                scenario,
                &mut live.names,
                &mut live.addresses,
            );
            live.pool.insert(backend.name.clone());
        }
        Command::SetAlgorithm { .. } => {}
        Command::SetLink { link, .. } => c.link(&format!("{kind}.link"), link),
        Command::SetHealth { health } => {
            if let Some(h) = health {
                c.health(&format!("{kind}.health"), h);
            }
        }
        Command::SetMix { group, mix } => {
            c.check(
                scenario.clients.iter().any(|g| &g.name == group),
                format!("{kind}.group"),
                &format!("is {group:?}, which is not a client group"),
            );
            for (j, m) in mix.iter().enumerate() {
                c.mix(&format!("{kind}.mix[{j}]"), m);
            }
        }
        Command::SetRate { group, rate } => {
            c.check(
                scenario.clients.iter().any(|g| &g.name == group),
                format!("{kind}.group"),
                &format!("is {group:?}, which is not a client group"),
            );
            c.check(rate_ok(*rate), format!("{kind}.rate"), RATE_BOUNDS);
        }
    }
    c.problems
}

/// What a path a client or a check sends must be, so that the parsers on the way accept it.
const ORIGIN_FORM: &str =
    "must start with / and hold only URI characters (RFC 3986: no spaces, quotes, |, # or non-ASCII; %XX for others)";

/// Whether `path` is an origin-form request-target (RFC 9112 §3.2.1).
fn origin_form(path: &str) -> bool {
    crate::http::target_form("GET", path) == Ok(crate::http::TargetForm::Origin)
}

fn name(c: &mut Checker, names: &mut BTreeSet<String>, path: &str, name: &str) {
    if name.is_empty() || name.len() > 32 {
        c.fail(format!("{path}.name"), "must be 1 to 32 characters");
    } else if !name
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        c.fail(
            format!("{path}.name"),
            "may contain only letters, digits, - and _",
        );
    } else if !names.insert(name.to_string()) {
        c.fail(format!("{path}.name"), format!("{name:?} is used twice"));
    }
}
