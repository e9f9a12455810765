//! The small typed kinds that events carry: why a packet was dropped or a flow ended, what the
//! balancer did to a packet, how a request, a session, a probe or a proxy answer ended, TCP and
//! health states. They sit at the bottom of the house: everything may name them, they name
//! nothing above them. Each has a stable short name (its JSON form) and a `Display` in words
//! for people.

use core::fmt;

use serde::Serialize;

use crate::balance::Algorithm;
use crate::scenario::{HealthKind, HealthSpec, LinkSpec, Side};
use crate::time::Duration;

/// Why a packet was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The link's queue was full (drop-tail).
    QueueFull,
    /// Lost in transit (the link's loss probability).
    LinkLoss,
    /// The destination host is crashed.
    HostDown,
    /// No host has the destination address.
    NoRoute,
    /// A SYN found no free listening socket: the accept backlog was full.
    BacklogFull,
    /// The bytes are not an IPv4 packet this network can carry.
    Malformed,
    /// A TCP segment (not a SYN) of a flow the balancer does not know.
    NoFlow,
    /// A new flow found no ready backend.
    NoBackend,
    /// The balancer's CPU queue was full.
    Overload,
}

impl DropReason {
    /// A stable short name.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::LinkLoss => "link_loss",
            DropReason::HostDown => "host_down",
            DropReason::NoRoute => "no_route",
            DropReason::BacklogFull => "backlog_full",
            DropReason::Malformed => "malformed",
            DropReason::NoFlow => "no_flow",
            DropReason::NoBackend => "no_backend",
            DropReason::Overload => "overload",
        }
    }
}

/// Why a flow left the balancer's connection table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowEndReason {
    /// Closed (FIN both ways, or RST) and kept for the closed timeout.
    Closed,
    /// No packet for longer than its state's timeout.
    Timeout,
    /// The table was full and a new flow needed the room (the oldest goes).
    Evicted,
    /// Its backend went down or left the pool, and the policy is to remove such flows.
    BackendGone,
}

/// What the balancer did to a packet it forwarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RewriteKind {
    /// NAT towards the backend: destination VIP:port → backend:port.
    ToBackend,
    /// NAT towards the client: source backend:port → VIP:port.
    ToClient,
    /// DSR: the packet, unchanged, inside an IP-in-IP header to the backend.
    Encapsulated,
}

/// How a request ended, as its client saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A complete response with a 1xx–3xx status.
    Ok,
    /// A complete response with a 4xx or 5xx status.
    HttpError,
    /// The connection was refused (reset before it was established).
    Refused,
    /// The connection was reset or closed before the response was complete.
    Reset,
    /// No complete response within the client's timeout.
    Timeout,
}

impl Outcome {
    /// Every outcome, in report order.
    pub const ALL: [Outcome; 5] = [
        Outcome::Ok,
        Outcome::HttpError,
        Outcome::Refused,
        Outcome::Reset,
        Outcome::Timeout,
    ];

    /// A stable short name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HttpError => "http_error",
            Outcome::Refused => "refused",
            Outcome::Reset => "reset",
            Outcome::Timeout => "timeout",
        }
    }
}

/// How a shopping session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionOutcome {
    /// Checkout found every item that was added.
    Kept,
    /// Checkout found fewer items than were added: the cart (or part of it) was lost.
    LostCart,
    /// A request of the session failed, so the shopper gave up.
    Abandoned,
}

/// A TCP connection state (RFC 793 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING-KEBAB-CASE")]
#[allow(missing_docs)]
pub enum TcpState {
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}

impl From<smoltcp::socket::tcp::State> for TcpState {
    fn from(s: smoltcp::socket::tcp::State) -> Self {
        use smoltcp::socket::tcp::State as S;
        match s {
            S::Closed => TcpState::Closed,
            S::Listen => TcpState::Listen,
            S::SynSent => TcpState::SynSent,
            S::SynReceived => TcpState::SynReceived,
            S::Established => TcpState::Established,
            S::FinWait1 => TcpState::FinWait1,
            S::FinWait2 => TcpState::FinWait2,
            S::CloseWait => TcpState::CloseWait,
            S::Closing => TcpState::Closing,
            S::LastAck => TcpState::LastAck,
            S::TimeWait => TcpState::TimeWait,
        }
    }
}

/// Whether a backend passes its checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    /// Passing: may receive new flows.
    Up,
    /// Failing: receives no new flows.
    Down,
}

/// How one probe ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeResult {
    /// The handshake completed in this time.
    Passed(Duration),
    /// The backend answered the SYN with a reset.
    Refused,
    /// No answer within the timeout.
    TimedOut,
    /// An HTTP check got a status it does not expect.
    Status(u16),
    /// An HTTP check's connection closed or reset before a whole response.
    Reset,
}

impl ProbeResult {
    /// Whether the probe passed.
    pub fn ok(self) -> bool {
        matches!(self, ProbeResult::Passed(_))
    }
}

impl fmt::Display for ProbeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeResult::Passed(d) => write!(f, "passed after {d}"),
            ProbeResult::Refused => f.write_str("connection refused (RST)"),
            ProbeResult::TimedOut => f.write_str("no answer before the timeout"),
            ProbeResult::Status(s) => write!(f, "HTTP {s}, not an expected status"),
            ProbeResult::Reset => f.write_str("connection closed before a whole response"),
        }
    }
}

/// Why the proxy answered a request itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyError {
    /// The request could not be parsed (400, 431, 413 or 501: see the status).
    BadRequest,
    /// No backend of the pool is ready (503).
    NoBackend,
    /// The backend refused the connection (502).
    UpstreamRefused,
    /// The backend reset or closed the connection before a whole response (502).
    UpstreamReset,
    /// The backend did not answer in time (504).
    UpstreamTimeout,
    /// The balancer's CPU queue was full (503).
    Overloaded,
    /// A `CONNECT` request: a reverse proxy opens no tunnels (501, RFC 9110 §9.3.6).
    Tunnel,
}

impl ProxyError {
    /// The status answered.
    pub fn status(self) -> u16 {
        match self {
            ProxyError::BadRequest => 400,
            ProxyError::NoBackend | ProxyError::Overloaded => 503,
            ProxyError::UpstreamRefused | ProxyError::UpstreamReset => 502,
            ProxyError::UpstreamTimeout => 504,
            ProxyError::Tunnel => 501,
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropReason::QueueFull => "the link's queue was full",
            DropReason::LinkLoss => "lost on the link",
            DropReason::HostDown => "the host is down",
            DropReason::NoRoute => "no host has that address",
            DropReason::BacklogFull => "the accept backlog was full",
            DropReason::Malformed => "not an IPv4 packet this network carries",
            DropReason::NoFlow => "a segment of no flow the balancer knows",
            DropReason::NoBackend => "no backend was ready for a new flow",
            DropReason::Overload => "the balancer's CPU queue was full",
        })
    }
}

impl fmt::Display for FlowEndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FlowEndReason::Closed => "closed",
            FlowEndReason::Timeout => "idle past its timeout",
            FlowEndReason::Evicted => "evicted from a full table",
            FlowEndReason::BackendGone => "its backend went away",
        })
    }
}

impl fmt::Display for RewriteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RewriteKind::ToBackend => "rewrites the destination to the backend",
            RewriteKind::ToClient => "rewrites the source back to the virtual IP",
            RewriteKind::Encapsulated => "tunnels to the backend (IP-in-IP)",
        })
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::HttpError => "HTTP error",
            Outcome::Refused => "refused",
            Outcome::Reset => "reset",
            Outcome::Timeout => "timed out",
        })
    }
}

impl fmt::Display for SessionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SessionOutcome::Kept => "kept",
            SessionOutcome::LostCart => "LOST",
            SessionOutcome::Abandoned => "abandoned",
        })
    }
}

impl fmt::Display for HealthState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HealthState::Up => "UP",
            HealthState::Down => "DOWN",
        })
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyError::BadRequest => "the request could not be parsed",
            ProxyError::NoBackend => "no backend of the pool is ready",
            ProxyError::UpstreamRefused => "the backend refused the connection",
            ProxyError::UpstreamReset => {
                "the backend closed the connection before a whole response"
            }
            ProxyError::UpstreamTimeout => "the backend did not answer in time",
            ProxyError::Overloaded => "the balancer's CPU queue was full",
            ProxyError::Tunnel => "a reverse proxy opens no tunnels (CONNECT)",
        })
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
        })
    }
}

/// Serialises a value by its `Display`: the typed kinds below are data in the event, and their
/// words are their JSON form (which keeps the event log as it always read).
pub(crate) fn display<T: fmt::Display, S: serde::Serializer>(
    value: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// What changed in the balancer's pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolChange {
    /// A backend got a new weight.
    Weight {
        /// The backend.
        backend: String,
        /// Its new weight.
        weight: u32,
    },
    /// A backend was drained (no new flows) or returned to service.
    Drain {
        /// The backend.
        backend: String,
        /// Whether it is drained now.
        drained: bool,
    },
    /// A backend joined the pool.
    Added {
        /// The backend.
        backend: String,
    },
    /// A backend left the pool for good.
    Removed {
        /// The backend.
        backend: String,
    },
    /// The balancer switched algorithm.
    Algorithm(Algorithm),
}

impl fmt::Display for PoolChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolChange::Weight { backend, weight } => write!(f, "{backend} weight → {weight}"),
            PoolChange::Drain {
                backend,
                drained: true,
            } => write!(f, "{backend} drained"),
            PoolChange::Drain {
                backend,
                drained: false,
            } => write!(f, "{backend} back in service"),
            PoolChange::Added { backend } => write!(f, "{backend} added"),
            PoolChange::Removed { backend } => write!(f, "{backend} removed"),
            PoolChange::Algorithm(a) => write!(f, "algorithm → {}", a.name()),
        }
    }
}

/// A setting of the world that changed while it ran.
#[derive(Clone, Debug, PartialEq)]
pub enum SettingChange {
    /// A network's links.
    Links {
        /// Which network.
        side: Side,
        /// The new properties.
        link: LinkSpec,
    },
    /// The health checks (none: off).
    Health(Option<HealthSpec>),
    /// A client group's arrival rate.
    Rate {
        /// The group.
        group: String,
        /// Arrivals per second.
        rate: f64,
    },
    /// A client group's request mix.
    Mix {
        /// The group.
        group: String,
        /// How many kinds of work it mixes (an empty mix is one: `GET /`).
        kinds: usize,
    },
}

impl fmt::Display for SettingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingChange::Links { side, link } => {
                let name = match side {
                    Side::Client => "client",
                    Side::Server => "server",
                };
                write!(
                    f,
                    "{name} links: {} latency, {}% loss",
                    link.latency,
                    link.loss * 100.0
                )
            }
            SettingChange::Health(Some(h)) => {
                f.write_str("health checks: ")?;
                match &h.kind {
                    HealthKind::Tcp => f.write_str("TCP connect")?,
                    HealthKind::Http(c) => write!(f, "HTTP {} {}", c.method, c.path)?,
                }
                write!(
                    f,
                    " every {}, timeout {}, rise {}, fall {}",
                    h.interval,
                    h.check_timeout(),
                    h.rise,
                    h.fall
                )
            }
            SettingChange::Health(None) => {
                f.write_str("health checks off: every backend counts as up")
            }
            SettingChange::Rate { group, rate } => write!(f, "{group}: {rate} arrivals per second"),
            SettingChange::Mix { group, kinds } => {
                write!(f, "{group}: a request mix of {kinds} kinds")
            }
        }
    }
}
