//! What runs on hosts: the HTTP server, the HTTP clients and the UDP game.
//!
//! Applications only touch their own host's sockets. The world calls them after each poll of
//! the host's stack (`react`), and when one of their timers fires; whatever they write is sent
//! by the next poll. Everything else they may do goes through [`Ctx`]: schedule a timer, record
//! an event, count a metric, take a fresh id.

pub mod client;
pub mod game;
pub mod server;

use std::ops::RangeInclusive;

use crate::ids::{HostId, RequestId, SessionId};
use crate::metrics::Metrics;
use crate::time::Instant;
use crate::trace::{Event as TraceEvent, Trace};

/// A timer an application set for itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppTimer {
    /// A server worker finished a job.
    WorkerDone {
        /// The job.
        job: u64,
    },
    /// A client request's time is up.
    RequestDeadline {
        /// The request.
        request: RequestId,
    },
    /// A shopper's think time is over: next request of the session.
    SessionNext {
        /// The session.
        session: SessionId,
    },
    /// A game player's next update is due.
    GameTick,
    /// The balancer probes a backend.
    HealthProbe {
        /// Backend index in the pool.
        backend: u32,
        /// The check settings' epoch when it was scheduled; a change of settings makes it stale.
        epoch: u32,
    },
    /// A health probe's time is up.
    HealthDeadline {
        /// Backend index in the pool.
        backend: u32,
        /// The probe.
        probe: u64,
    },
    /// The balancer forgets flows whose timeout has passed.
    ConntrackSweep,
    /// The proxy's CPU finished a TLS handshake: send the server's flight.
    ProxyHandshake {
        /// Client connection.
        conn: u64,
    },
    /// The proxy's CPU parsed a request: route it.
    ProxyRoute {
        /// Client connection.
        conn: u64,
    },
    /// The proxy's CPU encrypted a response: send it.
    ProxyWrite {
        /// Client connection.
        conn: u64,
    },
    /// An upstream connection's connect or response deadline.
    ProxyDeadline {
        /// Upstream connection.
        up: u64,
        /// Which deadline.
        generation: u64,
    },
    /// A backend's outlier ejection ends.
    OutlierEnd {
        /// Pool index.
        backend: u32,
    },
}

/// Fresh identifiers, world-wide.
#[derive(Clone, Debug, Default)]
pub struct Ids {
    next_request: u64,
    next_session: u64,
}

impl Ids {
    /// A new request id.
    pub fn request(&mut self) -> RequestId {
        self.next_request += 1;
        RequestId(self.next_request)
    }

    /// A new session id.
    pub fn session(&mut self) -> SessionId {
        self.next_session += 1;
        SessionId(self.next_session)
    }
}

/// Where applications' timers go: the world's event queue. Applications only ever add
/// timers; the world decides when they fire.
pub trait Timers {
    /// Fires `timer` on `host` at `at`.
    fn schedule(&mut self, at: Instant, host: HostId, timer: AppTimer);
}

/// What an application may reach besides its sockets.
pub struct Ctx<'a> {
    /// The current simulated time.
    pub now: Instant,
    /// The host the application runs on.
    pub host: HostId,
    pub(crate) queue: &'a mut dyn Timers,
    pub(crate) trace: &'a mut Trace,
    /// World metrics.
    pub metrics: &'a mut Metrics,
    /// World-wide ids.
    pub ids: &'a mut Ids,
}

impl Ctx<'_> {
    /// Fires `timer` on this host at `at`.
    pub fn schedule(&mut self, at: Instant, timer: AppTimer) {
        self.queue.schedule(at, self.host, timer);
    }

    /// Records an event at the current time.
    pub fn record(&mut self, event: TraceEvent) {
        self.trace.push(self.now, event);
    }
}

/// Ephemeral ports, handed out in order so that a port is reused only after every other one
/// of its range.
#[derive(Clone, Debug)]
pub struct PortAllocator {
    next: u16,
    range: RangeInclusive<u16>,
}

pub use crate::wire::{EPHEMERAL_PORTS, PROBE_PORTS};

impl Default for PortAllocator {
    fn default() -> Self {
        PortAllocator::over(EPHEMERAL_PORTS)
    }
}

impl PortAllocator {
    /// Hands out the ports of `range`, from its first.
    pub fn over(range: RangeInclusive<u16>) -> Self {
        PortAllocator {
            next: *range.start(),
            range,
        }
    }

    /// The next port.
    pub fn allocate(&mut self) -> u16 {
        let port = self.next;
        self.next = if self.next == *self.range.end() {
            *self.range.start()
        } else {
            self.next + 1
        };
        port
    }
}
