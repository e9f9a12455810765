//! The UDP game: players send fixed-rate updates, the server echoes each one.
//!
//! An update carries its sequence number and send time (12 bytes, big-endian), padded to the
//! configured size. From each echo the player measures the round trip; jitter is the mean
//! absolute difference between consecutive round trips (the RFC 3550 idea, unsmoothed); an
//! update whose echo has not come back within [`LOSS_AFTER`] counts as lost.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::stack::SocketHandle;
use smoltcp::socket::tcp::State;
use smoltcp::wire::{IpAddress, IpEndpoint};

use super::{AppTimer, Ctx, PortAllocator};
use crate::http::{Limits, Progress, RequestBuilder, ResponseParser};
use crate::scenario::Buffers;
use crate::stack::Stack;
use crate::time::{Duration, Instant};

/// An update with no echo after this long is lost.
pub const LOSS_AFTER: Duration = Duration::from_secs(1);

/// Datagrams each game socket can buffer each way.
const UDP_SLOTS: usize = 64;

/// A game server: echoes every datagram to its sender.
#[derive(Debug)]
pub struct GameServer {
    port: u16,
    socket: Option<SocketHandle>,
}

impl GameServer {
    /// A server on `port`.
    pub fn new(port: u16) -> Self {
        GameServer { port, socket: None }
    }

    /// Forgets its socket (the host crashed).
    pub fn reset(&mut self) {
        self.socket = None;
    }

    /// Echoes what arrived; returns whether it sent anything.
    pub fn react(&mut self, stack: &mut Stack) -> bool {
        let h = match self.socket {
            Some(h) => h,
            None => {
                let h = stack.add_udp(UDP_SLOTS);
                stack.udp(h).bind(self.port).expect("a fresh socket binds");
                self.socket = Some(h);
                h
            }
        };
        let socket = stack.udp(h);
        let mut sent = false;
        let mut buf = [0u8; 1500];
        while socket.can_recv() && socket.can_send() {
            let Ok((n, meta)) = socket.recv_slice(&mut buf) else {
                break;
            };
            sent |= socket.send_slice(&buf[..n], meta.endpoint).is_ok();
        }
        sent
    }
}

/// A player: sends an update every tick and measures the echoes.
#[derive(Debug)]
pub struct GamePlayer {
    target: SocketAddrV4,
    local_port: u16,
    tick_hz: u64,
    /// Time of the first update and updates sent since: update n is due at
    /// first + n / tick_hz seconds exactly, with no rounding drift.
    first: Option<Instant>,
    ticks: u64,
    payload: usize,
    stop: Instant,
    socket: Option<SocketHandle>,
    seq: u32,
    pending: BTreeMap<u32, Instant>,
    last_rtt: Option<Duration>,
}

impl GamePlayer {
    /// A player sending `tick_hz` updates per second of `payload` bytes to `target` until `stop`.
    pub fn new(target: SocketAddrV4, tick_hz: u32, payload: u32, stop: Instant) -> Self {
        GamePlayer {
            target,
            local_port: 40000,
            tick_hz: u64::from(tick_hz.max(1)),
            first: None,
            ticks: 0,
            payload: payload.max(12) as usize,
            stop,
            socket: None,
            seq: 0,
            pending: BTreeMap::new(),
            last_rtt: None,
        }
    }

    /// Updates sent whose echo may still come.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Sends one update and schedules the next.
    pub fn tick(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>) {
        let h = match self.socket {
            Some(h) => h,
            None => {
                let h = stack.add_udp(UDP_SLOTS);
                stack
                    .udp(h)
                    .bind(self.local_port)
                    .expect("a fresh socket binds");
                self.socket = Some(h);
                h
            }
        };
        self.expire(ctx);
        let mut datagram = vec![0u8; self.payload];
        datagram[..4].copy_from_slice(&self.seq.to_be_bytes());
        datagram[4..12].copy_from_slice(&ctx.now.as_micros().to_be_bytes());
        let target = IpEndpoint::new(IpAddress::Ipv4(*self.target.ip()), self.target.port());
        if stack.udp(h).send_slice(&datagram, target).is_ok() {
            self.pending.insert(self.seq, ctx.now);
            ctx.metrics.game.sent += 1;
        }
        self.seq = self.seq.wrapping_add(1);
        let first = *self.first.get_or_insert(ctx.now);
        self.ticks += 1;
        let next = first + Duration::from_micros(self.ticks * 1_000_000 / self.tick_hz);
        if next < self.stop {
            ctx.schedule(next, AppTimer::GameTick);
        }
    }

    /// Counts updates whose echo is overdue as lost.
    fn expire(&mut self, ctx: &mut Ctx<'_>) {
        while let Some((&seq, &sent)) = self.pending.first_key_value() {
            if ctx.now - sent < LOSS_AFTER {
                break;
            }
            self.pending.remove(&seq);
            ctx.metrics.game.lost += 1;
        }
    }

    /// Reads echoes; never writes.
    pub fn react(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>) {
        let Some(h) = self.socket else {
            return;
        };
        let socket = stack.udp(h);
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = socket.recv_slice(&mut buf) {
            if n < 12 {
                continue;
            }
            let seq = u32::from_be_bytes(buf[..4].try_into().expect("4 bytes"));
            let Some(sent) = self.pending.remove(&seq) else {
                continue; // a duplicate, or an echo already counted lost
            };
            let rtt = ctx.now - sent;
            let game = &mut ctx.metrics.game;
            game.received += 1;
            game.rtt.record(rtt);
            if let Some(prev) = self.last_rtt {
                let diff = rtt.as_micros().abs_diff(prev.as_micros());
                game.jitter_sum_us += diff;
                game.jitter_samples += 1;
            }
            self.last_rtt = Some(rtt);
        }
    }
}

/// Connections an HTTP player keeps to the server, as a browser does per origin.
pub const HTTP_CONNECTIONS: usize = 6;

/// A player whose updates travel as HTTP requests: `POST /game/update` on keep-alive
/// connections, up to [`HTTP_CONNECTIONS`] of them as a browser allows per origin. HTTP/1.1
/// carries one request at a time per connection, so an update waits when every connection is
/// busy, and a lost segment holds up its connection until TCP retransmits it. An update's
/// round trip is measured from the tick that made it, as a player feels it; one unanswered
/// after [`LOSS_AFTER`], or on a connection that broke, is lost.
#[derive(Debug)]
pub struct HttpGamePlayer {
    address: Ipv4Addr,
    target: SocketAddrV4,
    host: String,
    tick_hz: u64,
    payload: usize,
    stop: Instant,
    first: Option<Instant>,
    ticks: u64,
    seq: u32,
    ports: PortAllocator,
    conns: Vec<GameConn>,
    waiting: VecDeque<(u32, Instant)>,
    last_rtt: Option<Duration>,
}

#[derive(Debug)]
struct GameConn {
    socket: SocketHandle,
    in_flight: Option<(u32, Instant)>,
    out: Vec<u8>,
    inbuf: Vec<u8>,
    parser: ResponseParser,
}

impl HttpGamePlayer {
    /// A player at `address` sending `tick_hz` updates per second of `payload` bytes.
    pub fn new(
        address: Ipv4Addr,
        target: SocketAddrV4,
        tick_hz: u32,
        payload: u32,
        stop: Instant,
    ) -> Self {
        HttpGamePlayer {
            address,
            target,
            host: target.ip().to_string(),
            tick_hz: u64::from(tick_hz.max(1)),
            payload: payload.max(12) as usize,
            stop,
            first: None,
            ticks: 0,
            seq: 0,
            ports: PortAllocator::default(),
            conns: Vec::new(),
            waiting: VecDeque::new(),
            last_rtt: None,
        }
    }

    /// Updates made whose answer may still come.
    pub fn in_flight(&self) -> usize {
        self.waiting.len() + self.conns.iter().filter(|c| c.in_flight.is_some()).count()
    }

    /// Makes one update and schedules the next.
    pub fn tick(&mut self, ctx: &mut Ctx<'_>) {
        self.waiting.push_back((self.seq, ctx.now));
        self.seq = self.seq.wrapping_add(1);
        ctx.metrics.game.sent += 1;
        let first = *self.first.get_or_insert(ctx.now);
        self.ticks += 1;
        let next = first + Duration::from_micros(self.ticks * 1_000_000 / self.tick_hz);
        if next < self.stop {
            ctx.schedule(next, AppTimer::GameTick);
        }
    }

    /// Hands waiting updates to free connections, opens more when all are busy, reads
    /// answers; whether it wrote or opened anything.
    pub fn react(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        let mut acted = false;
        // Updates that waited too long are lost.
        while self
            .waiting
            .front()
            .is_some_and(|&(_, t)| ctx.now - t >= LOSS_AFTER)
        {
            self.waiting.pop_front();
            ctx.metrics.game.lost += 1;
        }
        // Broken connections lose their update.
        self.conns
            .retain_mut(|c| match stack.tcp(c.socket).state() {
                State::Closed | State::TimeWait | State::CloseWait => {
                    if stack.tcp(c.socket).state() == State::CloseWait {
                        stack.tcp(c.socket).abort();
                    } else {
                        stack.release_tcp(c.socket);
                    }
                    if c.in_flight.is_some() {
                        ctx.metrics.game.lost += 1;
                    }
                    acted = true;
                    false
                }
                _ => true,
            });
        let mut answered = false;
        for c in &mut self.conns {
            let socket = stack.tcp(c.socket);
            if socket.state() != State::Established {
                continue;
            }
            if c.in_flight.is_none() {
                if let Some((seq, made)) = self.waiting.pop_front() {
                    let mut body = vec![0u8; self.payload];
                    body[..4].copy_from_slice(&seq.to_be_bytes());
                    body[4..12].copy_from_slice(&made.as_micros().to_be_bytes());
                    let request = RequestBuilder::new("POST", "/game/update", &self.host)
                        .header("Content-Type", "application/octet-stream")
                        .body(body);
                    c.out.extend(request.to_bytes());
                    c.in_flight = Some((seq, made));
                }
            }
            if !c.out.is_empty() && socket.can_send() {
                if let Ok(n) = socket.send_slice(&c.out) {
                    c.out.drain(..n);
                    acted |= n > 0;
                }
            }
            while socket.can_recv() {
                let _ = socket.recv(|data| {
                    c.inbuf.extend_from_slice(data);
                    (data.len(), ())
                });
            }
            if let Ok(Progress::Complete(_, used)) = c.parser.feed(&c.inbuf) {
                c.inbuf.drain(..used);
                if let Some((_, made)) = c.in_flight.take() {
                    let rtt = ctx.now - made;
                    let game = &mut ctx.metrics.game;
                    game.received += 1;
                    game.rtt.record(rtt);
                    if let Some(prev) = self.last_rtt {
                        game.jitter_sum_us += rtt.as_micros().abs_diff(prev.as_micros());
                        game.jitter_samples += 1;
                    }
                    self.last_rtt = Some(rtt);
                    answered = true;
                }
            }
        }
        // Every connection busy (or connecting) and updates waiting: open another.
        let free = self.conns.iter().any(|c| c.in_flight.is_none());
        if !self.waiting.is_empty() && !free && self.conns.len() < HTTP_CONNECTIONS {
            let local = SocketAddrV4::new(self.address, self.ports.allocate());
            let (rx, tx) = Buffers::CLIENT.sizes();
            let socket = stack
                .open_connection(self.target, local, rx, tx)
                .expect("validated targets are unicast with a port");
            self.conns.push(GameConn {
                socket,
                in_flight: None,
                out: Vec::new(),
                inbuf: Vec::new(),
                parser: ResponseParser::new(Limits::default(), false),
            });
            acted = true;
        }
        if answered && !self.waiting.is_empty() {
            // A connection came free: the next update goes at once.
            self.react(stack, ctx);
            acted = true;
        }
        acted
    }
}
