//! The layer-7 reverse proxy.
//!
//! The proxy runs on the balancer's own stack. It accepts connections on the virtual IP's
//! HTTP port (and, with TLS, on 443 where it terminates the modelled TLS), reads each request
//! with the engine's parser, spends its CPU on parsing and routing, picks a pool by the
//! ordered rules and a backend by the pool's algorithm (or its sticky cookie), and sends the
//! request on its own connection from the inner address. The response is relayed back with
//! the proxy's headers; the client's connection stays open for the next request.
//!
//! Errors a real proxy gives: a malformed request 400, an oversized head 431 (a request line
//! alone 414), an oversized body 413, an unknown transfer coding 501, conflicting framing 400
//! (smuggling guard), `CONNECT` 501 (a reverse proxy opens no tunnels); no
//! ready backend 503; an upstream that refuses or resets 502 (an idempotent request is first
//! retried once on another backend); an upstream that does not answer in time 504.

mod conns;
pub mod routing;
mod upstream;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::stack::SocketHandle;
use serde::Serialize;
use smoltcp::socket::tcp::State;

use crate::apps::{AppTimer, Ctx, PortAllocator};
use crate::balance::{Algorithm, Candidate, Selector, Why};
use crate::http::{
    HttpError, Limits, Progress, Request, RequestParser, Response, ResponseBuilder, ResponseParser,
};
use crate::ids::HostId;
use crate::rng::{fnv1a64, Stream};
use crate::scenario::{L7Spec, TlsSpec};
use crate::stack::{Stack, TCP_BUFFER};
use crate::time::{Duration, Instant};
pub use crate::trace::ProxyError;
use crate::trace::{Event, ProxyRoute};

use super::PoolEntry;
use crate::tls::ServerSession;
use conns::{Conn, Conns};
use routing::{forward_request, forward_response, idempotent, Route, Router};

/// How a pool's sticky cookie was used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sticky {
    /// The cookie named a ready backend: it got the request.
    Hit,
    /// No cookie, or it named a backend that is not ready: chosen afresh, cookie set.
    Miss,
}

/// What the proxy counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProxyStats {
    /// Requests read, by pool.
    pub per_pool: BTreeMap<String, u64>,
    /// Requests by the rule that routed them (`default` for none).
    pub per_rule: BTreeMap<String, u64>,
    /// Answers the proxy gave itself, by status and cause.
    pub errors: BTreeMap<String, u64>,
    /// Sticky cookies honoured.
    pub sticky_hits: u64,
    /// Sticky cookies missing or naming a backend that was not ready.
    pub sticky_misses: u64,
    /// Requests retried on another backend.
    pub retries: u64,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// Backends ejected by outlier detection.
    pub ejections: u64,
}

struct L7Pool {
    name: String,
    members: Vec<usize>,
    selector: Selector,
    candidates: Vec<Candidate>,
    sticky: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// TLS: before the handshake completes.
    Handshake,
    /// Waiting for (the rest of) a request.
    Reading,
    /// The CPU is parsing and routing the request.
    Routing,
    /// The request is with a backend.
    Upstream,
    /// The CPU is encrypting the response.
    Writing,
}

struct Pending {
    request: Request,
    route: Option<Route>,
    tried: Vec<usize>,
    sticky: Option<Sticky>,
    response: Vec<u8>,
    status: u16,
}

struct Down {
    id: u64,
    handle: SocketHandle,
    peer: SocketAddrV4,
    /// Boxed: a session is 720 bytes, which every plain connection would otherwise carry
    /// through the proxy's list.
    tls: Option<Box<ServerSession>>,
    raw: Vec<u8>,
    inbuf: Vec<u8>,
    parser: RequestParser,
    out: Vec<u8>,
    phase: Phase,
    close_after: bool,
    pending: Option<Box<Pending>>,
}

impl Conn for Down {
    fn id(&self) -> u64 {
        self.id
    }
    fn handle(&self) -> SocketHandle {
        self.handle
    }
}

impl Conn for Up {
    fn id(&self) -> u64 {
        self.id
    }
    fn handle(&self) -> SocketHandle {
        self.handle
    }
}

struct Up {
    id: u64,
    handle: SocketHandle,
    /// The proxy's end of the connection (the inner address and a port of its own).
    local: SocketAddrV4,
    backend: usize,
    down: Option<u64>,
    established: bool,
    request: Vec<u8>,
    sent: usize,
    inbuf: Vec<u8>,
    parser: ResponseParser,
    /// Bumped at each new deadline, so an old deadline timer finds nothing to do.
    generation: u64,
    idle: bool,
    closing: bool,
}

/// The proxy.
pub struct Proxy {
    spec: L7Spec,
    http_port: u16,
    tls: Option<TlsSpec>,
    inner: Ipv4Addr,
    seed: u64,
    pools: Vec<L7Pool>,
    router: Router,
    listeners: Vec<(SocketHandle, u16)>,
    downs: Conns<Down>,
    ups: Conns<Up>,
    next_id: u64,
    ports: PortAllocator,
    /// Consecutive 5xx and ejection end, per pool entry.
    outliers: Vec<(u32, Option<Instant>)>,
    /// Counters.
    pub stats: ProxyStats,
    to_release: Vec<SocketHandle>,
    /// Client connections to flush after a reaction's upstream pass (kept for the next).
    flush: Vec<usize>,
    /// Scratch kept from request to request (each was allocated per request): upstream
    /// connections per backend, a pool's candidates for one pick, a count's key.
    busy: Vec<u32>,
    candidates: Vec<Candidate>,
    key: String,
}

impl core::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Proxy")
            .field("connections", &self.downs.len())
            .field("upstreams", &self.ups.len())
            .finish()
    }
}

/// What the proxy needs of the balancer: its pool and its CPU.
pub struct Shared<'a> {
    /// The balancer's backends.
    pub pool: &'a [PoolEntry],
    /// Admits work of a cost to the CPU queue: when it is done, or `None` when full.
    pub cpu: &'a mut dyn FnMut(Instant, Duration) -> Option<Instant>,
}

/// Counts one more for `key`, allocating the key only the first time it is counted.
fn count_key(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// Listening sockets kept ready per port.
const BACKLOG: usize = 2;

impl Proxy {
    /// A proxy for `pool` with `spec`; `algorithm` is the balancer's default.
    pub fn new(
        spec: &L7Spec,
        http_port: u16,
        inner: Ipv4Addr,
        algorithm: Algorithm,
        table_size: u64,
        pool: &[PoolEntry],
        seed: u64,
    ) -> Self {
        let specs = if spec.pools.is_empty() {
            vec![crate::scenario::PoolSpec {
                name: "default".to_string(),
                backends: pool.iter().map(|e| e.name.to_string()).collect(),
                algorithm: None,
                sticky: None,
            }]
        } else {
            spec.pools.clone()
        };
        let pools: Vec<L7Pool> = specs
            .iter()
            .map(|p| {
                let members: Vec<usize> = p
                    .backends
                    .iter()
                    .filter_map(|n| pool.iter().position(|e| *e.name == **n))
                    .collect();
                let candidates = Vec::new();
                let algorithm = p.algorithm.unwrap_or(algorithm);
                L7Pool {
                    name: p.name.clone(),
                    members,
                    selector: Selector::new(
                        algorithm,
                        &candidates,
                        table_size,
                        Stream::new(seed, &format!("proxy/{}/{}", p.name, algorithm.name())),
                    ),
                    candidates,
                    sticky: p.sticky.as_ref().map(|s| s.cookie.clone()),
                }
            })
            .collect();
        let names: Vec<String> = pools.iter().map(|p| p.name.clone()).collect();
        let mut proxy = Proxy {
            router: Router::new(spec, &names),
            spec: spec.clone(),
            http_port,
            tls: spec.tls,
            inner,
            seed,
            pools,
            listeners: Vec::new(),
            downs: Conns::default(),
            ups: Conns::default(),
            next_id: 0,
            ports: PortAllocator::default(),
            outliers: vec![(0, None); pool.len()],
            stats: ProxyStats::default(),
            to_release: Vec::new(),
            flush: Vec::new(),
            busy: Vec::new(),
            candidates: Vec::new(),
            key: String::new(),
        };
        proxy.refresh(pool);
        proxy
    }

    /// Connections from clients open now.
    pub fn connections(&self) -> usize {
        self.downs.len()
    }

    /// Pool names, in order.
    pub fn pool_names(&self) -> Vec<String> {
        self.pools.iter().map(|p| p.name.clone()).collect()
    }

    /// A backend joined: it goes to the default pool.
    pub fn add_backend(&mut self, index: usize) {
        self.outliers.resize(index + 1, (0, None));
        let default = self.router.route(&Request {
            method: String::new(),
            target: String::new(),
            version: 1,
            headers: Default::default(),
            body: Vec::new(),
        });
        self.pools[default.pool].members.push(index);
    }

    /// Rebuilds every pool's candidates after readiness, weights or membership changed.
    pub fn refresh(&mut self, pool: &[PoolEntry]) {
        let mut busy = std::mem::take(&mut self.busy);
        busy.clear();
        busy.resize(pool.len(), 0);
        for u in self.ups.iter() {
            if u.down.is_some() {
                busy[u.backend] += 1;
            }
        }
        let ready = |i: usize| pool[i].ready() && self.outliers[i].1.is_none();
        for p in &mut self.pools {
            if p.candidates.len() == p.members.len() {
                // The same members: update what changed in place, and rebuild the selector
                // (a Maglev table) only if more than the connection counts did.
                let mut changed = false;
                for (c, &i) in p.candidates.iter_mut().zip(&p.members) {
                    let e = &pool[i];
                    let now = (e.weight, !e.removed, ready(i));
                    if (c.weight, c.member, c.ready) != now {
                        (c.weight, c.member, c.ready) = now;
                        changed = true;
                    }
                    c.active = busy[i];
                }
                if !changed {
                    continue;
                }
            } else {
                p.candidates = p
                    .members
                    .iter()
                    .map(|&i| {
                        let e = &pool[i];
                        Candidate {
                            name: e.name.clone(),
                            weight: e.weight,
                            member: !e.removed,
                            ready: ready(i),
                            active: busy[i],
                        }
                    })
                    .collect();
            }
            p.selector.rebuild(&p.candidates);
        }
        self.busy = busy;
    }

    /// Switches every pool to `algorithm`.
    pub fn set_algorithm(&mut self, algorithm: Algorithm, table_size: u64) {
        for p in &mut self.pools {
            p.selector = Selector::new(
                algorithm,
                &p.candidates,
                table_size,
                Stream::new(self.seed, &format!("proxy/{}/{}", p.name, algorithm.name())),
            );
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Each client connection at the proxy with a request in hand: the client's endpoint, and
    /// the upstream connection (the proxy's end of it, and the backend's pool index) the
    /// request went on, if it has gone upstream.
    pub fn requests(&self) -> Vec<(SocketAddrV4, Option<(SocketAddrV4, usize)>)> {
        self.downs
            .iter()
            .filter(|d| d.phase != Phase::Reading || d.pending.is_some())
            .map(|d| {
                let up = self
                    .ups
                    .iter()
                    .find(|u| u.down == Some(d.id))
                    .map(|u| (u.local, u.backend));
                (d.peer, up)
            })
            .collect()
    }

    /// Reacts after a poll of the balancer's stack; whether anything needs another poll.
    pub fn react(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>, shared: &mut Shared<'_>) -> bool {
        let mut acted = !self.to_release.is_empty();
        for h in self.to_release.drain(..) {
            stack.release_tcp(h);
        }
        self.accept(stack);
        // Only connections the last poll took or the proxy changed can have anything to do
        // (`conns`). That holds over TLS too: a session reads whole records of what arrived,
        // so without new bytes it has nothing new to say, and its flights after the CPU's
        // handshake time come by timer.
        let ready = self.downs.ready(stack.polled());
        let wrote = Conns::serve_each(
            self,
            |p| &mut p.downs,
            ready,
            |p, i| p.serve_down(i, stack, ctx, shared),
        );
        acted |= wrote;
        let before = self.downs.marks();
        let ready = self.ups.ready(stack.polled());
        let wrote = Conns::serve_each(
            self,
            |p| &mut p.ups,
            ready,
            |p, i| p.serve_up(i, stack, ctx, shared),
        );
        acted |= wrote;
        // What the upstream pass relayed goes out now, not at the client connection's next
        // poll (which, on a kept-alive upstream, waited for a delayed ACK: about 10 ms). Only
        // a connection served or changed in this reaction can have something it could send.
        let mut flush = std::mem::take(&mut self.flush);
        self.downs.marked_or_served(before, &mut flush);
        for &i in &flush {
            let d = &mut self.downs[i];
            if d.out.is_empty() {
                continue;
            }
            let socket = stack.tcp(d.handle);
            if socket.can_send() {
                if let Ok(n) = socket.send_slice(&d.out) {
                    d.out.drain(..n);
                    acted |= n > 0;
                }
            }
        }
        self.flush = flush;
        acted
    }

    fn accept(&mut self, stack: &mut Stack) {
        let mut i = 0;
        while i < self.listeners.len() {
            let (h, port) = self.listeners[i];
            let socket = stack.tcp_ref(h);
            if socket.state() == State::Listen {
                i += 1;
                continue;
            }
            self.listeners.swap_remove(i);
            let peer = socket
                .remote_endpoint()
                .map(|e| match e.addr {
                    smoltcp::wire::IpAddress::Ipv4(a) => SocketAddrV4::new(a, e.port),
                })
                .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
            let id = self.id();
            let tls = self.tls.filter(|t| t.port == port).map(|t| {
                let seed = fnv1a64(format!("{}/{id}", self.seed).as_bytes());
                Box::new(ServerSession::new(t.version, seed))
            });
            let phase = if tls.is_some() {
                Phase::Handshake
            } else {
                Phase::Reading
            };
            self.downs.push(Down {
                id,
                handle: h,
                peer,
                tls,
                raw: Vec::new(),
                inbuf: Vec::new(),
                parser: RequestParser::new(Limits::default()),
                out: Vec::new(),
                phase,
                close_after: false,
                pending: None,
            });
        }
        let mut ports = vec![self.http_port];
        if let Some(t) = self.tls {
            ports.push(t.port);
        }
        for port in ports {
            while self.listeners.iter().filter(|(_, p)| *p == port).count() < BACKLOG {
                self.listeners
                    .push((stack.open_listener(port, TCP_BUFFER, TCP_BUFFER), port));
            }
        }
    }

    /// Whether serving client connection `i` would do nothing now (the same tests as
    /// `serve_down`, without touching the socket, so the next poll need not take it).
    /// Connections over TLS are always served.
    fn down_is_quiet(&self, i: usize, stack: &Stack) -> bool {
        let d = &self.downs[i];
        let socket = stack.tcp_ref(d.handle);
        let state = socket.state();
        let idle = matches!(d.phase, Phase::Reading | Phase::Handshake);
        let ended = matches!(state, State::Closed | State::TimeWait);
        let to_parse = d.phase == Phase::Reading && !d.inbuf.is_empty();
        let busy = ended || socket.can_recv() || to_parse || !d.out.is_empty();
        d.tls.is_none()
            && !busy
            && !(idle
                && (d.close_after || (state == State::CloseWait && d.inbuf.is_empty()))
                && matches!(state, State::Established | State::CloseWait))
    }

    fn serve_down(
        &mut self,
        i: usize,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) -> (bool, bool) {
        if self.down_is_quiet(i, stack) {
            return (true, false);
        }
        let d = &mut self.downs[i];
        let socket = stack.tcp(d.handle);
        if matches!(socket.state(), State::Closed | State::TimeWait) {
            let (id, handle) = (d.id, d.handle);
            stack.release_tcp(handle);
            self.abandon_upstream(id, stack);
            return (false, false);
        }
        let mut wrote = false;
        while socket.can_recv() {
            let target = if d.tls.is_some() {
                &mut d.raw
            } else {
                &mut d.inbuf
            };
            let _ = socket.recv(|data| {
                target.extend_from_slice(data);
                (data.len(), ())
            });
        }
        if let Some(session) = d.tls.as_mut() {
            match session.feed(&mut d.raw) {
                Ok(fed) => {
                    if fed.hello {
                        // The handshake's CPU first; the flight goes out when it is done.
                        let cost = self
                            .tls
                            .expect("a TLS connection has TLS settings")
                            .handshake_cpu;
                        match (shared.cpu)(ctx.now, cost) {
                            Some(done) => {
                                ctx.schedule(done, AppTimer::ProxyHandshake { conn: d.id })
                            }
                            None => {
                                socket.abort();
                                return (true, true);
                            }
                        }
                    }
                    d.out.extend(fed.send);
                    if fed.established {
                        d.phase = Phase::Reading;
                        self.stats.tls_handshakes += 1;
                    }
                    d.inbuf.extend(fed.plaintext);
                }
                Err(_) => {
                    socket.abort();
                    return (true, true);
                }
            }
        }
        if d.phase == Phase::Reading && !d.inbuf.is_empty() {
            match d.parser.feed(&d.inbuf) {
                Ok(Progress::Complete(request, _)) if request.method == "CONNECT" => {
                    // What follows a CONNECT would be tunnel bytes: answer and close.
                    let id = d.id;
                    d.inbuf.clear();
                    d.close_after = true;
                    self.answer_error(id, ProxyError::Tunnel, None, ctx);
                    wrote = true;
                }
                Ok(Progress::Complete(request, used)) => {
                    d.inbuf.drain(..used);
                    let mut cost = self.spec.per_request;
                    if let (Some(t), true) = (self.tls, d.tls.is_some()) {
                        cost = cost
                            + Duration::from_micros(t.per_kb_cpu.as_micros() * used as u64 / 1024);
                    }
                    d.close_after = !request.keep_alive();
                    d.pending = Some(Box::new(Pending {
                        request,
                        route: None,
                        tried: Vec::new(),
                        sticky: None,
                        response: Vec::new(),
                        status: 0,
                    }));
                    match (shared.cpu)(ctx.now, cost) {
                        Some(done) => {
                            d.phase = Phase::Routing;
                            ctx.schedule(done, AppTimer::ProxyRoute { conn: d.id });
                        }
                        None => {
                            let id = d.id;
                            self.answer_error(id, ProxyError::Overloaded, None, ctx);
                        }
                    }
                    wrote = true;
                }
                Ok(Progress::Partial) => {}
                Err(e) => {
                    let id = d.id;
                    d.close_after = true;
                    self.answer_error(id, ProxyError::BadRequest, Some(e), ctx);
                    wrote = true;
                }
            }
        }
        let d = &mut self.downs[i];
        let socket = stack.tcp(d.handle);
        if !d.out.is_empty() && socket.can_send() {
            if let Ok(n) = socket.send_slice(&d.out) {
                d.out.drain(..n);
                wrote |= n > 0;
            }
        }
        let idle = matches!(d.phase, Phase::Reading | Phase::Handshake) && d.out.is_empty();
        let peer_done = socket.state() == State::CloseWait && d.inbuf.is_empty();
        if idle
            && (d.close_after || peer_done)
            && matches!(socket.state(), State::Established | State::CloseWait)
        {
            socket.close();
            wrote = true;
        }
        (true, wrote)
    }

    /// The client of connection `down` went away: its upstream request is abandoned.
    fn abandon_upstream(&mut self, down: u64, stack: &mut Stack) {
        if let Some(k) = self.ups.iter().position(|u| u.down == Some(down)) {
            self.ups.mark(k);
            let u = &mut self.ups[k];
            u.down = None;
            stack.tcp(u.handle).abort();
            u.closing = true;
        }
    }

    fn down_mut(&mut self, id: u64) -> Option<&mut Down> {
        self.downs.get_mut(id)
    }

    /// Handles one of the proxy's timers; whether it acted on the stack.
    pub fn on_timer(
        &mut self,
        timer: AppTimer,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) -> bool {
        match timer {
            AppTimer::ProxyHandshake { conn } => {
                let Some(d) = self.down_mut(conn) else {
                    return false;
                };
                if let Some(session) = d.tls.as_mut() {
                    let flight = session.flight();
                    d.out.extend(flight);
                }
                true
            }
            AppTimer::ProxyRoute { conn } => {
                self.dispatch(conn, stack, ctx, shared);
                true
            }
            AppTimer::ProxyWrite { conn } => {
                let Some(d) = self.down_mut(conn) else {
                    return false;
                };
                if let Some(p) = d.pending.take() {
                    let bytes = match d.tls.as_mut() {
                        Some(s) => s.seal(&p.response),
                        None => p.response,
                    };
                    d.out.extend(bytes);
                }
                d.phase = Phase::Reading;
                true
            }
            AppTimer::ProxyDeadline { up, generation } => {
                let Some(k) = self.ups.index(up).filter(|&k| {
                    let u = &self.ups[k];
                    u.generation == generation && u.down.is_some()
                }) else {
                    return false;
                };
                self.ups.mark(k);
                let u = &mut self.ups[k];
                stack.tcp(u.handle).abort();
                u.closing = true;
                let down = u.down.take().expect("checked");
                self.answer_error(down, ProxyError::UpstreamTimeout, None, ctx);
                self.refresh(shared.pool);
                true
            }
            AppTimer::OutlierEnd { backend } => {
                let b = backend as usize;
                if self.outliers[b].1.is_some_and(|until| until <= ctx.now) {
                    self.outliers[b] = (0, None);
                    self.refresh(shared.pool);
                }
                false
            }
            _ => false,
        }
    }

    /// The proxy answers a request itself.
    fn answer_error(
        &mut self,
        down: u64,
        error: ProxyError,
        parse: Option<HttpError>,
        ctx: &mut Ctx<'_>,
    ) {
        let status = parse.map_or(error.status(), HttpError::status);
        let why = match (parse, error) {
            (Some(e), _) => e.message().to_string(),
            (None, ProxyError::NoBackend) => "no backend is ready".to_string(),
            (None, ProxyError::UpstreamRefused) => "the backend refused the connection".to_string(),
            (None, ProxyError::UpstreamReset) => {
                "the backend closed the connection before answering".to_string()
            }
            (None, ProxyError::UpstreamTimeout) => "the backend did not answer in time".to_string(),
            (None, ProxyError::Overloaded) => "the balancer is overloaded".to_string(),
            (None, ProxyError::BadRequest) => "bad request".to_string(),
            (None, ProxyError::Tunnel) => {
                "CONNECT is not implemented: a reverse proxy opens no tunnels".to_string()
            }
        };
        let kind = parse.map_or(format!("{:?}", error), |e| e.name().to_string());
        *self
            .stats
            .errors
            .entry(format!("{status} {kind}"))
            .or_default() += 1;
        ctx.record(Event::ProxyResponse {
            conn: down,
            status,
            backend: None,
            error: Some(error),
        });
        let Some(d) = self.downs.get_mut(down) else {
            return;
        };
        let keep = !d.close_after && parse.is_none();
        let mut response = ResponseBuilder::new(status)
            .header("Content-Type", "text/plain")
            .header("Via", routing::VIA)
            .body(format!("{status} from the balancer: {why}\n").into_bytes());
        if !keep {
            response = response.header("Connection", "close");
            d.close_after = true;
        }
        let bytes = response.to_bytes();
        let bytes = match d.tls.as_mut() {
            Some(s) if s.established() => s.seal(&bytes),
            Some(_) => Vec::new(),
            None => bytes,
        };
        d.out.extend(bytes);
        d.pending = None;
        d.phase = Phase::Reading;
    }
}

/// The host id of the backend at pool index `b` (for callers outside).
pub fn host_of(pool: &[PoolEntry], b: usize) -> HostId {
    pool[b].host
}
