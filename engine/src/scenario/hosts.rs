//! The hosts around the balancer: backends (HTTP server, routes, service time, faults),
//! client groups (arrivals, mixes, carts) and game players.

use std::net::{Ipv4Addr, SocketAddrV4};

use serde::{Deserialize, Serialize};

use super::LinkSpec;
use crate::time::Duration;

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
    /// TCP buffer sizes of each accepted connection. Default: [`Buffers::SERVER`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffers: Option<Buffers>,
}

/// A TCP socket's buffer sizes, in bytes. The receive buffer is the window the peer may fill;
/// the send buffer holds what is written and not yet acknowledged. Small buffers let many
/// idle connections fit in memory, at the cost of throughput on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffers {
    /// Receive buffer.
    pub receive: u32,
    /// Send buffer.
    pub send: u32,
}

impl Buffers {
    /// A client's connection: a 16 KiB window, and 4 KiB for its small requests.
    pub const CLIENT: Buffers = Buffers {
        receive: 16 * 1024,
        send: 4 * 1024,
    };
    /// A backend's connection: 16 KiB each way.
    pub const SERVER: Buffers = Buffers {
        receive: 16 * 1024,
        send: 16 * 1024,
    };
    /// The smallest buffer a scenario may set.
    pub const MIN: u32 = 512;
    /// The largest buffer a scenario may set (the largest window without window scaling).
    pub const MAX: u32 = 65_535;

    /// Both sizes, as the stack takes them.
    pub fn sizes(self) -> (usize, usize) {
        (self.receive as usize, self.send as usize)
    }
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
    /// TCP buffer sizes of each connection a client opens. Default: [`Buffers::CLIENT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffers: Option<Buffers>,
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
