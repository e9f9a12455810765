//! The balancer position: its mode, health checks, the L7 proxy (pools, rules, TLS,
//! outlier ejection), conntrack and CPU.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::GAME_PORT;
use crate::balance::Algorithm;
use crate::time::Duration;

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
