//! The scenario: everything a world is built from, as serde data (schema version 1).
//!
//! A scenario is read from JSON with [`Scenario::from_json`], which reports the first syntax or
//! type error with its field path, then [`Scenario::validate`]s the whole and reports *every*
//! problem, each with its path (`backends[2].workers must be at least 1`). A scenario that
//! validates builds a world that cannot fail to start.
//!
//! Unknown fields are refused, so that a typo is a message rather than a silently ignored
//! setting. Every field but a few has a default; the smallest scenario is
//! `{"version": 1, "duration": "10s", "backends": [{"name": "A", "address": "10.0.0.11"}]}`.

pub mod link;
mod locate;
mod validate;

use std::net::{Ipv4Addr, SocketAddrV4};

use serde::{Deserialize, Serialize};

use crate::balance::Algorithm;
use crate::time::Duration;

pub use validate::{
    command_problems, health_problems, link_problems, mix_problems, rate_ok, Live, Problem,
    MAX_RATE, MAX_WEIGHT,
};

/// Which network a host is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Clients, players and the virtual IP.
    Client,
    /// The balancer's inner address and the backends.
    Server,
}

/// The schema version this engine reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// A whole experiment: topology, servers, traffic, a timeline of actions, seed and duration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Schema version; must be [`SCHEMA_VERSION`].
    pub version: u32,
    /// Short name, shown in reports.
    #[serde(default)]
    pub name: String,
    /// What the scenario shows, for people.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Seed of every random stream in the world.
    #[serde(default)]
    pub seed: u64,
    /// How long clients generate traffic. The world then drains: requests in flight finish or
    /// time out.
    pub duration: Duration,
    /// Link defaults for each side of the balancer.
    #[serde(default)]
    pub network: Network,
    /// The balancer position between the two networks.
    #[serde(default)]
    pub balancer: BalancerSpec,
    /// The servers behind the balancer.
    pub backends: Vec<BackendSpec>,
    /// Groups of HTTP clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientGroupSpec>,
    /// Groups of UDP game players.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub players: Vec<PlayerGroupSpec>,
    /// Actions at given times ("at 5 s crash backend B").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub timeline: Vec<TimelineEntry>,
}

/// The properties of one direction of a link.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkSpec {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Each packet's delay varies uniformly by up to this much either way (packets on a link
    /// stay in order).
    pub jitter: Duration,
    /// Serialisation rate in megabits per second; 0 means unlimited.
    pub bandwidth_mbps: f64,
    /// Probability that a packet is lost in transit, in [0, 1].
    pub loss: f64,
    /// Packets that may wait for the wire before the queue drops new ones (drop-tail).
    pub queue_packets: u32,
}

impl Default for LinkSpec {
    /// A clean 1 Gbit/s link with 1 ms of latency.
    fn default() -> Self {
        LinkSpec {
            latency: Duration::from_millis(1),
            jitter: Duration::ZERO,
            bandwidth_mbps: 1000.0,
            loss: 0.0,
            queue_packets: 1000,
        }
    }
}

/// Link defaults per network; hosts may override theirs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Network {
    /// Between each client and the balancer (the internet side).
    pub client_link: LinkSpec,
    /// Between the balancer and each backend (the data-centre side).
    pub server_link: LinkSpec,
}

impl Default for Network {
    /// 10 ms to clients over 100 Mbit/s, 200 µs to backends over 10 Gbit/s.
    fn default() -> Self {
        Network {
            client_link: LinkSpec {
                latency: Duration::from_millis(10),
                bandwidth_mbps: 100.0,
                ..LinkSpec::default()
            },
            server_link: LinkSpec {
                latency: Duration::from_micros(200),
                bandwidth_mbps: 10_000.0,
                ..LinkSpec::default()
            },
        }
    }
}

/// The balancer position: the virtual IP on the client side and the inner address on the
/// server side, and how it balances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BalancerSpec {
    /// The virtual IP clients connect to.
    pub vip: Ipv4Addr,
    /// The balancer's address on the server network (source of its own traffic to backends).
    pub inner: Ipv4Addr,
    /// How traffic to the virtual IP reaches the backends.
    pub mode: Mode,
    /// How a backend is chosen for a new flow.
    pub algorithm: Algorithm,
    /// Size of the Maglev lookup table: a prime, at least 100 times the backends.
    pub maglev_table_size: u64,
    /// The TCP port balanced on the virtual IP (forwarded to each backend's HTTP port).
    pub port: u16,
    /// The UDP port balanced on the virtual IP (forwarded to each backend's game port).
    pub udp_port: u16,
    /// Health checks, if any.
    pub health: Option<HealthSpec>,
    /// What happens to a backend's existing flows when it goes down or leaves the pool.
    pub on_backend_down: OnBackendDown,
    /// Connection tracking (L4).
    pub conntrack: ConntrackSpec,
    /// The balancer's processing cost.
    pub cpu: CpuSpec,
    /// The layer-7 proxy (mode `l7`).
    pub l7: L7Spec,
}

impl Default for BalancerSpec {
    fn default() -> Self {
        BalancerSpec {
            vip: Ipv4Addr::new(203, 0, 113, 10),
            inner: Ipv4Addr::new(10, 0, 0, 1),
            mode: Mode::Router,
            algorithm: Algorithm::RoundRobin,
            maglev_table_size: crate::balance::DEFAULT_TABLE_SIZE,
            port: 80,
            udp_port: GAME_PORT,
            health: None,
            on_backend_down: OnBackendDown::Keep,
            conntrack: ConntrackSpec::default(),
            cpu: CpuSpec::default(),
            l7: L7Spec::default(),
        }
    }
}

/// What the balancer position does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A plain router: no virtual service; clients reach backends by their own addresses.
    #[default]
    Router,
    /// Layer-4 NAT: the destination of each flow is rewritten to its backend, and replies'
    /// source back to the virtual IP; both directions cross the balancer.
    L4Nat,
    /// Layer-4 direct server return: packets are tunnelled (IP-in-IP) to the backend, which
    /// answers the client directly from the virtual IP. Backends must listen on the balanced
    /// port itself.
    L4Dsr,
    /// Layer-7 reverse proxy: the balancer terminates the client's connection, reads each
    /// request, routes it by its rules and sends it on its own connection to a backend.
    L7,
}

impl Mode {
    /// A stable short name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Router => "router",
            Mode::L4Nat => "l4_nat",
            Mode::L4Dsr => "l4_dsr",
            Mode::L7 => "l7",
        }
    }

    /// Whether the balancer works at layer 4.
    pub fn is_l4(self) -> bool {
        matches!(self, Mode::L4Nat | Mode::L4Dsr)
    }
}

/// Active health checks from the balancer's inner address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HealthSpec {
    /// What a probe is.
    pub kind: HealthKind,
    /// Time from the end of one probe of a backend to the start of the next (HAProxy's
    /// `inter`: a probe that takes its whole timeout delays the next one).
    pub interval: Duration,
    /// A probe with no answer after this long fails; unset, the interval (HAProxy uses `inter`
    /// when `timeout check` is not set). See [`HealthSpec::check_timeout`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Consecutive successes that bring a down backend up.
    pub rise: u32,
    /// Consecutive failures that take an up backend down.
    pub fall: u32,
}

impl Default for HealthSpec {
    /// HAProxy's defaults: `inter 2s`, `rise 2`, `fall 3`, and no `timeout check`, so a probe
    /// may take the whole interval.
    fn default() -> Self {
        HealthSpec {
            kind: HealthKind::Tcp,
            interval: Duration::from_secs(2),
            timeout: None,
            rise: 2,
            fall: 3,
        }
    }
}

impl HealthSpec {
    /// The time a probe may take before it fails: the timeout if set, else the interval.
    pub fn check_timeout(&self) -> Duration {
        self.timeout.unwrap_or(self.interval)
    }
}

/// The kind of health probe.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum HealthKind {
    /// A TCP handshake to the backend's HTTP port: SYN answered by SYN-ACK passes (the probe
    /// connection is then reset, as HAProxy does); RST or silence fails.
    #[default]
    Tcp,
    /// An HTTP request on its own connection: an expected status passes; another status, a
    /// reset or silence fails.
    Http(HttpCheck),
}

/// What an HTTP health check asks and expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpCheck {
    /// Request target.
    pub path: String,
    /// Method.
    pub method: String,
    /// Statuses that pass.
    pub expect: Vec<u16>,
}

impl Default for HttpCheck {
    /// `GET /health`, expecting 200.
    fn default() -> Self {
        HttpCheck {
            path: "/health".to_string(),
            method: "GET".to_string(),
            expect: vec![200],
        }
    }
}

/// The layer-7 proxy's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct L7Spec {
    /// Pools of backends. Empty: one pool called `default` with every backend.
    pub pools: Vec<PoolSpec>,
    /// Routing rules, tried in order; the first that matches picks the pool.
    pub rules: Vec<RuleSpec>,
    /// The pool of requests no rule matches (default: the first pool).
    pub default_pool: Option<String>,
    /// Time to establish an upstream connection before giving up (504, as nginx answers).
    pub connect_timeout: Duration,
    /// Time to wait for the upstream's whole response (504).
    pub upstream_timeout: Duration,
    /// Whether an idempotent request (GET, HEAD, PUT, DELETE, OPTIONS) that met a refused or
    /// reset upstream connection is sent once more, to another backend.
    pub retry_idempotent: bool,
    /// Whether upstream connections are kept for the next request (nginx's default: no).
    pub upstream_keep_alive: bool,
    /// CPU time to parse and route one request.
    pub per_request: Duration,
    /// TLS termination on port 443, if any.
    pub tls: Option<TlsSpec>,
    /// Passive outlier detection, if any.
    pub outlier: Option<OutlierSpec>,
}

impl Default for L7Spec {
    fn default() -> Self {
        L7Spec {
            pools: Vec::new(),
            rules: Vec::new(),
            default_pool: None,
            connect_timeout: Duration::from_secs(2),
            upstream_timeout: Duration::from_secs(10),
            retry_idempotent: true,
            upstream_keep_alive: false,
            per_request: Duration::from_micros(20),
            tls: None,
            outlier: None,
        }
    }
}

/// A pool of backends with its own algorithm and stickiness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Unique name.
    pub name: String,
    /// Backend names.
    pub backends: Vec<String>,
    /// Algorithm (default: the balancer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    /// Cookie stickiness, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<StickySpec>,
}

/// Cookie-insertion stickiness: the balancer names the backend in a cookie and honours it
/// while that backend is ready.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StickySpec {
    /// Cookie name.
    pub cookie: String,
}

/// A routing rule: when every condition given matches, the request goes to `pool`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Conditions, all of which must hold.
    #[serde(rename = "match")]
    pub conditions: MatchSpec,
    /// The pool.
    pub pool: String,
}

/// Conditions on a request; at least one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchSpec {
    /// The path starts with this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// The path is exactly this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The Host header is this (port ignored, case-insensitive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The method is this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// A header has this value (or is present, when no value is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<NameValue>,
    /// A cookie has this value (or is present, when no value is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<NameValue>,
}

/// A name and an optional value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameValue {
    /// Name.
    pub name: String,
    /// Value, if it must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// TLS termination, modelled: real record framing and message sizes, not real cryptography.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSpec {
    /// Protocol version the balancer negotiates.
    pub version: TlsVersion,
    /// Port.
    pub port: u16,
    /// CPU time of one full handshake.
    pub handshake_cpu: Duration,
    /// CPU time per kilobyte encrypted or decrypted.
    pub per_kb_cpu: Duration,
}

impl Default for TlsSpec {
    /// TLS 1.3 on 443; 500 µs per handshake (ECDHE with a P-256 certificate), 1 µs per KB.
    fn default() -> Self {
        TlsSpec {
            version: TlsVersion::Tls13,
            port: 443,
            handshake_cpu: Duration::from_micros(500),
            per_kb_cpu: Duration::from_micros(1),
        }
    }
}

/// A TLS version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2: the handshake takes two round trips.
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3: the handshake takes one round trip.
    #[default]
    #[serde(rename = "1.3")]
    Tls13,
}

/// Passive outlier detection: a backend that answers with 5xx too often in a row is ejected
/// from its pools for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutlierSpec {
    /// Consecutive 5xx responses that eject a backend.
    pub consecutive_5xx: u32,
    /// How long an ejection lasts.
    pub ejection: Duration,
}

impl Default for OutlierSpec {
    /// Envoy's defaults: 5 in a row, 30 s.
    fn default() -> Self {
        OutlierSpec {
            consecutive_5xx: 5,
            ejection: Duration::from_secs(30),
        }
    }
}

/// What happens to existing flows of a backend that goes down or leaves the pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnBackendDown {
    /// They stay pinned to it until they end or time out (IPVS's default).
    #[default]
    Keep,
    /// They are removed from the connection table, so their next segments meet the unknown-flow
    /// policy (IPVS's `expire_nodest_conn`).
    Remove,
}

/// Connection-table settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConntrackSpec {
    /// Flows the table holds; a new flow beyond evicts the oldest.
    pub max_flows: u32,
    /// A TCP flow that saw a SYN but no answer is forgotten after this long.
    pub tcp_syn_timeout: Duration,
    /// An established TCP flow idle this long is forgotten.
    pub tcp_idle_timeout: Duration,
    /// A TCP flow with a FIN seen in one direction is forgotten after this long.
    pub tcp_fin_timeout: Duration,
    /// A TCP flow closed both ways or reset is forgotten after this long.
    pub tcp_closed_timeout: Duration,
    /// A UDP flow idle this long is forgotten.
    pub udp_timeout: Duration,
    /// What the balancer does with a TCP segment (not a SYN) of a flow it does not know.
    pub unknown_segment: UnknownSegment,
}

impl Default for ConntrackSpec {
    /// IPVS-like: SYN 30 s, established 15 min, FIN 60 s, closed 10 s, UDP 30 s.
    fn default() -> Self {
        ConntrackSpec {
            max_flows: 100_000,
            tcp_syn_timeout: Duration::from_secs(30),
            tcp_idle_timeout: Duration::from_secs(900),
            tcp_fin_timeout: Duration::from_secs(60),
            tcp_closed_timeout: Duration::from_secs(10),
            udp_timeout: Duration::from_secs(30),
            unknown_segment: UnknownSegment::Drop,
        }
    }
}

/// Policy for a TCP segment of an unknown flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownSegment {
    /// Drop it (the sender retransmits, then times out).
    #[default]
    Drop,
    /// Answer with a TCP reset from the virtual IP, so the sender learns at once.
    Reset,
}

/// The balancer's CPU, modelled as one queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CpuSpec {
    /// Time spent on each packet the balancer handles.
    pub per_packet: Duration,
    /// Packets that may wait for the CPU; beyond, new packets are dropped (overload).
    pub queue_packets: u32,
}

impl Default for CpuSpec {
    /// A microsecond per packet; 1,000 packets of backlog (Linux's netdev_max_backlog).
    fn default() -> Self {
        CpuSpec {
            per_packet: Duration::from_micros(1),
            queue_packets: 1000,
        }
    }
}

/// A backend server: its address, HTTP server settings and an optional UDP game server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    /// Unique name ("A", "api-1").
    pub name: String,
    /// Address on the server network.
    pub address: Ipv4Addr,
    /// HTTP port.
    #[serde(default = "default_http_port")]
    pub port: u16,
    /// Share of new flows relative to the other backends (weighted algorithms), at least 1.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Requests served at once; more wait in the queue.
    #[serde(default = "default_workers")]
    pub workers: u32,
    /// Requests that may wait for a worker; beyond, the server answers 503.
    #[serde(default = "default_queue_limit")]
    pub queue_limit: u32,
    /// Simultaneous TCP connections, including those being accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Listening sockets kept ready for new connections (the accept backlog).
    #[serde(default = "default_backlog")]
    pub backlog: u32,
    /// Service time of requests that match no configured route.
    #[serde(default = "default_service")]
    pub service: ServiceTime,
    /// Body size of responses that match no configured route.
    #[serde(default = "default_response_bytes")]
    pub response_bytes: u32,
    /// Routes by path prefix, longest first wins. `/health` and the cart routes are built in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// Fault at the start.
    #[serde(default, skip_serializing_if = "Fault::is_none")]
    pub fault: Fault,
    /// Overrides the server network's link defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkSpec>,
    /// UDP port of a game server that echoes each datagram, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_port: Option<u16>,
}

fn default_http_port() -> u16 {
    80
}
fn default_workers() -> u32 {
    4
}
fn default_queue_limit() -> u32 {
    256
}
fn default_max_connections() -> u32 {
    256
}
fn default_backlog() -> u32 {
    2
}
fn default_service() -> ServiceTime {
    ServiceTime::Constant(Duration::from_millis(2))
}
fn default_response_bytes() -> u32 {
    512
}

/// A route: requests whose path starts with `path` take this service time and answer this way.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Path prefix, starting with `/`.
    pub path: String,
    /// Time a worker spends on one request.
    #[serde(default = "default_service")]
    pub service: ServiceTime,
    /// Response body size in bytes.
    #[serde(default = "default_response_bytes")]
    pub response_bytes: u32,
    /// Status of a healthy answer.
    #[serde(default = "default_status")]
    pub status: u16,
}

fn default_status() -> u16 {
    200
}

/// A distribution of service times.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ServiceTime {
    /// Always the same.
    Constant(Duration),
    /// Exponential with this mean (memoryless; many short, a few long).
    Exponential(Duration),
    /// Log-normal: typical value `median`, tail heaviness `sigma` (0.5 is moderate).
    Lognormal {
        /// The median service time.
        median: Duration,
        /// Shape; larger is a heavier tail.
        sigma: f64,
    },
}

/// What is wrong with a backend. Switchable at any time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Healthy.
    #[default]
    None,
    /// The host is down: it answers nothing, and its memory (sessions, connections) is lost.
    Crash,
    /// The host is up but nothing listens on the HTTP port: connections are reset.
    PortClosed,
    /// The application answers 500 to every request, `/health` included; TCP is fine.
    AppErrors,
    /// Every service time is multiplied by `factor`.
    Slow {
        /// Multiplier, at least 1.
        factor: f64,
    },
    /// Connections are accepted and requests read, but never answered.
    Hang,
    /// Each request fails with 500 with this probability.
    Flaky {
        /// Probability in [0, 1].
        probability: f64,
    },
}

impl Fault {
    /// Whether this is [`Fault::None`].
    pub fn is_none(&self) -> bool {
        matches!(self, Fault::None)
    }

    /// A stable short name.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Crash => "crash",
            Fault::PortClosed => "port_closed",
            Fault::AppErrors => "app_errors",
            Fault::Slow { .. } => "slow",
            Fault::Hang => "hang",
            Fault::Flaky { .. } => "flaky",
        }
    }
}

/// A group of HTTP clients that share a traffic pattern; each client is its own host with its
/// own address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientGroupSpec {
    /// Unique name.
    pub name: String,
    /// Number of clients (hosts).
    #[serde(default = "default_count")]
    pub count: u32,
    /// Address of the first client; the rest follow. Default: the next free addresses of the
    /// documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_address: Option<Ipv4Addr>,
    /// Where requests go. Default: the balancer's virtual IP, port 80.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SocketAddrV4>,
    /// Arrivals per second for the whole group (requests or sessions).
    pub rate: f64,
    /// Arrival process.
    #[serde(default)]
    pub arrivals: Arrivals,
    /// What each arrival does, drawn by weight. Default: `GET /`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mix: Vec<MixEntry>,
    /// A request with no complete response after this long counts as a timeout.
    #[serde(default = "default_timeout")]
    pub timeout: Duration,
    /// Whether a cart session keeps one connection for all its requests.
    #[serde(default)]
    pub keep_alive: bool,
    /// Whether the clients speak TLS (to port 443 of the virtual IP unless `target` says).
    #[serde(default)]
    pub tls: bool,
    /// When the group starts.
    #[serde(default)]
    pub start: Duration,
    /// When the group stops (default: the scenario's duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Duration>,
    /// Overrides the client network's link defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkSpec>,
}

fn default_count() -> u32 {
    1
}
fn default_timeout() -> Duration {
    Duration::from_secs(5)
}

/// How arrivals are spaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Arrivals {
    /// Poisson process: exponential gaps, independent of responses (open loop).
    #[default]
    Poisson,
    /// Evenly spaced.
    Constant,
}

/// One entry of a traffic mix: exactly one of `request` or `cart`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixEntry {
    /// Relative weight, at least 1.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// A single request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestSpec>,
    /// A shopping session: add to cart `adds` times, then check out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cart: Option<CartSpec>,
}

fn default_weight() -> u32 {
    1
}

/// A single request of a mix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// Method token.
    #[serde(default = "default_method")]
    pub method: String,
    /// Request target, starting with `/`.
    pub path: String,
    /// Request body size in bytes.
    #[serde(default)]
    pub body_bytes: u32,
}

fn default_method() -> String {
    "GET".to_string()
}

/// A shopping session with a cart held in the server's memory.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartSpec {
    /// Items added before checkout, at least 1.
    pub adds: u32,
    /// Pause between a response and the session's next request.
    #[serde(default = "default_think")]
    pub think: Duration,
}

fn default_think() -> Duration {
    Duration::from_millis(500)
}

/// A group of game players sending fixed-rate UDP updates that the server echoes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayerGroupSpec {
    /// Unique name.
    pub name: String,
    /// Number of players (hosts).
    #[serde(default = "default_count")]
    pub count: u32,
    /// Address of the first player; see [`ClientGroupSpec::first_address`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_address: Option<Ipv4Addr>,
    /// Game server address. Default: the virtual IP, port 7777.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SocketAddrV4>,
    /// Updates per second per player.
    #[serde(default = "default_tick_hz")]
    pub tick_hz: u32,
    /// Datagram payload size (at least 12 bytes: sequence number and send time).
    #[serde(default = "default_payload")]
    pub payload_bytes: u32,
    /// How updates travel: UDP datagrams, or HTTP requests on a keep-alive connection.
    #[serde(default)]
    pub transport: GameTransport,
    /// When the group starts.
    #[serde(default)]
    pub start: Duration,
    /// When the group stops (default: the scenario's duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Duration>,
    /// Overrides the client network's link defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkSpec>,
}

fn default_tick_hz() -> u32 {
    60
}
fn default_payload() -> u32 {
    64
}

/// How a player's updates travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GameTransport {
    /// One UDP datagram per update, echoed by the game server.
    #[default]
    Udp,
    /// One `POST /game/update` per update on a keep-alive connection (HTTP/1.1: one at a
    /// time, so a late response delays the next update), echoed by the HTTP server.
    Http,
}

/// The default game port.
pub const GAME_PORT: u16 = 7777;

/// An action at a time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimelineEntry {
    /// Simulated time of the action.
    pub at: Duration,
    /// What happens.
    pub action: Command,
}

/// Something that changes the world while it runs: from the timeline, the UI or a test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Sets a backend's fault; `none` recovers it.
    SetFault {
        /// Backend name.
        backend: String,
        /// The new fault.
        fault: Fault,
    },
    /// Changes a backend's weight.
    SetWeight {
        /// Backend name.
        backend: String,
        /// New weight, at least 1.
        weight: u32,
    },
    /// Drains a backend (no new flows; existing ones go on) or returns it to service.
    SetDrain {
        /// Backend name.
        backend: String,
        /// Whether it is drained.
        drained: bool,
    },
    /// Adds a backend to the world and the pool.
    AddBackend {
        /// The new backend.
        backend: BackendSpec,
    },
    /// Takes a backend out of the pool for good (the host stays up).
    RemoveBackend {
        /// Backend name.
        backend: String,
    },
    /// Switches the balancing algorithm.
    SetAlgorithm {
        /// The new algorithm.
        algorithm: Algorithm,
    },
    /// Changes the links of one network for packets sent from then on; hosts with a link of
    /// their own keep it. Packets already on a link arrive as they were going to.
    SetLink {
        /// Which network.
        side: Side,
        /// The new properties, both ways.
        link: LinkSpec,
    },
    /// Changes the health checks (or turns them off): a fresh round of probes starts at once
    /// under the new settings; without checks every backend counts as up.
    SetHealth {
        /// The new settings; none turns the checks off.
        health: Option<HealthSpec>,
    },
    /// Changes a client group's request mix, for arrivals from then on.
    SetMix {
        /// Client group name.
        group: String,
        /// The new mix (empty: `GET /`).
        mix: Vec<MixEntry>,
    },
    /// Changes a client group's arrival rate: the next arrival is drawn afresh at the new rate.
    SetRate {
        /// Client group name.
        group: String,
        /// Arrivals per second.
        rate: f64,
    },
}

impl Command {
    /// The command's name, as in JSON (`set_weight`).
    pub fn kind(&self) -> &'static str {
        match self {
            Command::SetFault { .. } => "set_fault",
            Command::SetWeight { .. } => "set_weight",
            Command::SetDrain { .. } => "set_drain",
            Command::AddBackend { .. } => "add_backend",
            Command::RemoveBackend { .. } => "remove_backend",
            Command::SetAlgorithm { .. } => "set_algorithm",
            Command::SetLink { .. } => "set_link",
            Command::SetHealth { .. } => "set_health",
            Command::SetMix { .. } => "set_mix",
            Command::SetRate { .. } => "set_rate",
        }
    }

    /// The backend a command names, if any.
    pub fn backend(&self) -> Option<&str> {
        match self {
            Command::SetFault { backend, .. }
            | Command::SetWeight { backend, .. }
            | Command::SetDrain { backend, .. }
            | Command::RemoveBackend { backend } => Some(backend),
            Command::AddBackend { backend } => Some(&backend.name),
            Command::SetAlgorithm { .. }
            | Command::SetLink { .. }
            | Command::SetHealth { .. }
            | Command::SetMix { .. }
            | Command::SetRate { .. } => None,
        }
    }
}

/// Why a scenario could not be read.
#[derive(Clone, Debug, PartialEq)]
pub enum LoadError {
    /// The text is not valid JSON for the schema; the path names the field.
    Syntax {
        /// Field path such as `backends[1].port`, or empty for the whole document.
        path: String,
        /// What serde said.
        message: String,
    },
    /// The JSON is well formed but the scenario is not sensible: every problem found.
    Invalid(Vec<Problem>),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            LoadError::Syntax { path, message } if path.is_empty() || path == "." => {
                write!(f, "{message}")
            }
            LoadError::Syntax { path, message } => write!(f, "{path}: {message}"),
            LoadError::Invalid(problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{p}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl Scenario {
    /// Reads and validates a scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Scenario, LoadError> {
        let scenario = Self::parse_json(text)?;
        let problems = scenario.validate();
        if problems.is_empty() {
            Ok(scenario)
        } else {
            Err(LoadError::Invalid(problems))
        }
    }

    /// Reads a scenario from JSON text without validating it.
    pub fn parse_json(text: &str) -> Result<Scenario, LoadError> {
        serde_json::from_str(text).map_err(|e| {
            let end = locate::offset_of(text, e.line(), e.column());
            LoadError::Syntax {
                path: locate::path_at(text, end),
                message: e.to_string(),
            }
        })
    }

    /// The scenario as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scenario always serialises")
    }

    /// When a client group stops.
    pub fn group_stop(&self, stop: Option<Duration>) -> Duration {
        stop.unwrap_or(self.duration).min(self.duration)
    }

    /// Time after the traffic stops for requests in flight to finish or time out.
    pub fn drain(&self) -> Duration {
        let longest = self
            .clients
            .iter()
            .map(|c| c.timeout)
            .max()
            .unwrap_or(Duration::ZERO);
        longest + Duration::from_secs(1)
    }
}

#[cfg(test)]
mod tests;
