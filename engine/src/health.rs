//! Active health checks.
//!
//! Each backend has a small state machine with per-direction thresholds: `fall` consecutive
//! failed probes take an up backend down, `rise` consecutive successes bring a down backend up
//! (HAProxy's model; a backend starts up). *Ready* — what selectors ask — means healthy and not
//! drained.
//!
//! Probes are ordinary traffic from the balancer's inner address, sent by the balancer's own
//! stack. A TCP probe opens a connection to the backend's HTTP port: a SYN-ACK passes, and the
//! probe connection is then reset (as HAProxy does, leaving no TIME-WAIT behind); a RST, or no
//! answer within the timeout, fails. Because the probe only needs the handshake, a backend
//! whose application answers 500 to everything stays up — the lesson the HTTP check answers:
//! it sends a real request (`GET /health` by default) and passes only on an expected status.
//!
//! Scheduling follows HAProxy: one probe at a time per backend, the next starting `interval`
//! after the previous one *ended*, so a probe that waits out its timeout delays the next; the
//! timeout defaults to the interval (HAProxy's `inter` when `timeout check` is unset). With a
//! backend that stops answering, the first failing probe that starts at `t` marks it down at
//! `t + fall × timeout + (fall − 1) × interval`. (HAProxy's `fastinter` and `downinter`, which
//! default to `inter`, are not modelled.)

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::stack::SocketHandle;
use smoltcp::socket::tcp::State;

use crate::apps::{AppTimer, Ctx, PortAllocator};
use crate::http::{Limits, Progress, RequestBuilder, ResponseParser};
use crate::scenario::{HealthKind, HealthSpec};
use crate::stack::Stack;
use crate::time::Instant;
pub use crate::trace::{HealthState, ProbeResult};

/// Probes kept per backend for its card's history.
pub const HISTORY: usize = 20;

/// One backend's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendHealth {
    /// Current state.
    pub state: HealthState,
    /// Consecutive probes agreeing with a change not yet made.
    streak: u32,
    /// The newest probes, oldest first.
    pub history: VecDeque<(Instant, ProbeResult)>,
}

impl Default for BackendHealth {
    fn default() -> Self {
        BackendHealth {
            state: HealthState::Up,
            streak: 0,
            history: VecDeque::new(),
        }
    }
}

impl BackendHealth {
    /// Consecutive probes against the current state, not yet enough to change it: failures
    /// while up (falling), passes while down (rising).
    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// Counts a probe; returns the new state when it changed.
    pub fn record(
        &mut self,
        at: Instant,
        result: ProbeResult,
        rise: u32,
        fall: u32,
    ) -> Option<HealthState> {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((at, result));
        let (against, threshold, next) = match self.state {
            HealthState::Up => (!result.ok(), fall, HealthState::Down),
            HealthState::Down => (result.ok(), rise, HealthState::Up),
        };
        if against {
            self.streak += 1;
            if self.streak >= threshold {
                self.state = next;
                self.streak = 0;
                return Some(next);
            }
        } else {
            self.streak = 0;
        }
        None
    }
}

/// A probe in flight.
#[derive(Debug)]
struct Probe {
    id: u64,
    socket: SocketHandle,
    started: Instant,
    /// The check settings' epoch the next probe is scheduled in.
    epoch: u32,
    established: bool,
    /// HTTP checks: the request, how much of it is sent, and the response so far.
    request: Vec<u8>,
    sent: usize,
    inbuf: Vec<u8>,
    parser: Option<ResponseParser>,
}

/// The prober on the balancer's stack: one probe at a time per backend.
#[derive(Debug)]
pub struct Prober {
    spec: HealthSpec,
    from: Ipv4Addr,
    ports: PortAllocator,
    probes: Vec<Option<Probe>>,
    next_id: u64,
    /// Probe sockets reset by us, released once the reset has been sent.
    to_release: Vec<SocketHandle>,
}

impl Prober {
    /// A prober sending from `from` (the balancer's inner address).
    pub fn new(spec: HealthSpec, from: Ipv4Addr) -> Self {
        Prober {
            spec,
            from,
            ports: PortAllocator::over(crate::apps::PROBE_PORTS),
            probes: Vec::new(),
            next_id: 0,
            to_release: Vec::new(),
        }
    }

    /// The check settings.
    pub fn spec(&self) -> &HealthSpec {
        &self.spec
    }

    /// New check settings, for the probes started from now on.
    pub fn set_spec(&mut self, spec: HealthSpec) {
        self.spec = spec;
    }

    /// Starts a probe of backend `b` at `target` and schedules its deadline. The next probe is
    /// the caller's to schedule when this one ends, in settings `epoch`. A probe still in
    /// flight is left to finish, and the next then follows it in `epoch`.
    pub fn start(
        &mut self,
        b: usize,
        target: SocketAddrV4,
        epoch: u32,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
    ) {
        if self.probes.len() <= b {
            self.probes.resize_with(b + 1, || None);
        }
        if let Some(p) = self.probes[b].as_mut() {
            p.epoch = epoch;
            return;
        }
        let local = SocketAddrV4::new(self.from, self.ports.allocate());
        let socket = stack
            .open_connection(target, local, 4096, 1024)
            .expect("backends have unicast addresses and ports");
        self.next_id += 1;
        let (request, parser) = match &self.spec.kind {
            HealthKind::Tcp => (Vec::new(), None),
            HealthKind::Http(check) => {
                let request =
                    RequestBuilder::new(&check.method, &check.path, &target.ip().to_string())
                        .header("User-Agent", "traffic-cop-health/1")
                        .header("Connection", "close")
                        .to_bytes();
                let head = check.method == "HEAD";
                (request, Some(ResponseParser::new(Limits::default(), head)))
            }
        };
        self.probes[b] = Some(Probe {
            id: self.next_id,
            socket,
            started: ctx.now,
            epoch,
            established: false,
            request,
            sent: 0,
            inbuf: Vec::new(),
            parser,
        });
        ctx.schedule(
            ctx.now + self.spec.check_timeout(),
            AppTimer::HealthDeadline {
                backend: b as u32,
                probe: self.next_id,
            },
        );
    }

    /// Probes that ended since the last poll: (backend, result, epoch the next probe belongs
    /// to). Sockets this prober reset are released here, after the poll that sent their RST.
    pub fn react(&mut self, stack: &mut Stack, now: Instant) -> Vec<(usize, ProbeResult, u32)> {
        for h in self.to_release.drain(..) {
            stack.release_tcp(h);
        }
        let expect = match &self.spec.kind {
            HealthKind::Tcp => None,
            HealthKind::Http(check) => Some(check.expect.clone()),
        };
        let mut done = Vec::new();
        for (b, slot) in self.probes.iter_mut().enumerate() {
            let Some(p) = slot.as_mut() else { continue };
            let socket = stack.tcp(p.socket);
            let state = socket.state();
            if !p.established {
                match state {
                    State::SynSent | State::SynReceived => continue,
                    State::Closed => {
                        stack.release_tcp(p.socket);
                        done.push((b, ProbeResult::Refused, p.epoch));
                        *slot = None;
                        continue;
                    }
                    _ => p.established = true,
                }
            }
            let result = match (&expect, p.parser.as_mut()) {
                // A TCP check passes on the handshake.
                (None, _) | (_, None) => ProbeResult::Passed(now - p.started),
                (Some(expect), Some(parser)) => {
                    if p.sent < p.request.len() && socket.can_send() {
                        p.sent += socket.send_slice(&p.request[p.sent..]).unwrap_or(0);
                    }
                    while socket.can_recv() {
                        let _ = socket.recv(|data| {
                            p.inbuf.extend_from_slice(data);
                            (data.len(), ())
                        });
                    }
                    let open = socket.may_recv();
                    let parsed = if open {
                        parser.feed(&p.inbuf)
                    } else {
                        parser.feed_eof(&p.inbuf)
                    };
                    match parsed {
                        Ok(Progress::Complete(r, _)) if expect.contains(&r.status) => {
                            ProbeResult::Passed(now - p.started)
                        }
                        Ok(Progress::Complete(r, _)) => ProbeResult::Status(r.status),
                        Ok(Progress::Partial) if open => continue,
                        Ok(Progress::Partial) | Err(_) => ProbeResult::Reset,
                    }
                }
            };
            // Done: reset the probe connection rather than close it (no TIME-WAIT left
            // behind); the RST is sent at the next poll and the socket released after.
            if stack.tcp(p.socket).state() == State::Closed {
                stack.release_tcp(p.socket);
            } else {
                stack.tcp(p.socket).abort();
                self.to_release.push(p.socket);
            }
            done.push((b, result, p.epoch));
            *slot = None;
        }
        done
    }

    /// Whether reset sockets wait for a poll to send their RST.
    pub fn needs_poll(&self) -> bool {
        !self.to_release.is_empty()
    }

    /// A probe's deadline: if it is still in flight, it failed; with the epoch the next probe
    /// belongs to.
    pub fn deadline(
        &mut self,
        b: usize,
        probe: u64,
        stack: &mut Stack,
    ) -> Option<(ProbeResult, u32)> {
        let slot = self.probes.get_mut(b)?;
        match slot {
            Some(p) if p.id == probe => {
                stack.tcp(p.socket).abort();
                self.to_release.push(p.socket);
                let epoch = p.epoch;
                *slot = None;
                Some((ProbeResult::TimedOut, epoch))
            }
            _ => None,
        }
    }
}
