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

pub mod routing;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use serde::Serialize;
use smoltcp::iface::SocketHandle;
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
use crate::trace::Event;
pub use crate::trace::ProxyError;

use super::PoolEntry;
use crate::tls::ServerSession;
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
    tls: Option<ServerSession>,
    raw: Vec<u8>,
    inbuf: Vec<u8>,
    parser: RequestParser,
    out: Vec<u8>,
    phase: Phase,
    close_after: bool,
    pending: Option<Box<Pending>>,
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
    downs: Vec<Down>,
    ups: Vec<Up>,
    next_id: u64,
    ports: PortAllocator,
    /// Consecutive 5xx and ejection end, per pool entry.
    outliers: Vec<(u32, Option<Instant>)>,
    /// Counters.
    pub stats: ProxyStats,
    to_release: Vec<SocketHandle>,
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
                backends: pool.iter().map(|e| e.name.clone()).collect(),
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
                    .filter_map(|n| pool.iter().position(|e| &e.name == n))
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
            downs: Vec::new(),
            ups: Vec::new(),
            next_id: 0,
            ports: PortAllocator::default(),
            outliers: vec![(0, None); pool.len()],
            stats: ProxyStats::default(),
            to_release: Vec::new(),
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
        let mut busy = vec![0u32; pool.len()];
        for u in &self.ups {
            if u.down.is_some() {
                busy[u.backend] += 1;
            }
        }
        for p in &mut self.pools {
            p.candidates = p
                .members
                .iter()
                .map(|&i| {
                    let e = &pool[i];
                    Candidate {
                        name: e.name.clone(),
                        weight: e.weight,
                        member: !e.removed,
                        ready: e.ready() && self.outliers[i].1.is_none(),
                        active: busy[i],
                    }
                })
                .collect();
            p.selector.rebuild(&p.candidates);
        }
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
        let mut i = 0;
        while i < self.downs.len() {
            let (keep, wrote) = self.serve_down(i, stack, ctx, shared);
            acted |= wrote;
            if keep {
                i += 1;
            } else {
                self.downs.swap_remove(i);
            }
        }
        let mut i = 0;
        while i < self.ups.len() {
            let (keep, wrote) = self.serve_up(i, stack, ctx, shared);
            acted |= wrote;
            if keep {
                i += 1;
            } else {
                self.ups.swap_remove(i);
            }
        }
        // What the upstream pass relayed goes out now, not at the client connection's next
        // poll (which, on a kept-alive upstream, waited for a delayed ACK: about 10 ms).
        for d in &mut self.downs {
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
        acted
    }

    fn accept(&mut self, stack: &mut Stack) {
        let mut i = 0;
        while i < self.listeners.len() {
            let (h, port) = self.listeners[i];
            let socket = stack.tcp(h);
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
                ServerSession::new(t.version, fnv1a64(format!("{}/{id}", self.seed).as_bytes()))
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
                self.listeners.push((stack.open_listener(port), port));
            }
        }
    }

    fn serve_down(
        &mut self,
        i: usize,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) -> (bool, bool) {
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
        if let Some(u) = self.ups.iter_mut().find(|u| u.down == Some(down)) {
            u.down = None;
            stack.tcp(u.handle).abort();
            u.closing = true;
        }
    }

    fn down_mut(&mut self, id: u64) -> Option<&mut Down> {
        self.downs.iter_mut().find(|d| d.id == id)
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
                let Some(k) = self
                    .ups
                    .iter()
                    .position(|u| u.id == up && u.generation == generation && u.down.is_some())
                else {
                    return false;
                };
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

    /// Routes the request of connection `conn` and sends it to a backend.
    fn dispatch(
        &mut self,
        conn: u64,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) {
        self.refresh(shared.pool);
        let Some(di) = self.downs.iter().position(|d| d.id == conn) else {
            return;
        };
        let d = &mut self.downs[di];
        let Some(p) = d.pending.as_mut() else { return };
        let peer = d.peer;
        let https = d.tls.is_some();
        let route = *p.route.get_or_insert_with(|| self.router.route(&p.request));
        let pool = &mut self.pools[route.pool];
        if p.tried.is_empty() {
            *self.stats.per_pool.entry(pool.name.clone()).or_default() += 1;
            let rule = route
                .rule
                .map_or("default".to_string(), |r| format!("rule {r}"));
            *self.stats.per_rule.entry(rule).or_default() += 1;
        }
        // Candidates this time: ready, and not already tried for this request.
        let mut candidates = pool.candidates.clone();
        for (c, &member) in candidates.iter_mut().zip(&pool.members) {
            if p.tried.contains(&member) {
                c.ready = false;
            }
        }
        let cookie_backend = pool
            .sticky
            .as_ref()
            .and_then(|name| p.request.headers.cookie(name))
            .and_then(|value| candidates.iter().position(|c| c.name == value));
        let (chosen, sticky, explanation, algorithm) = match (pool.sticky.is_some(), cookie_backend)
        {
            (true, Some(k)) if candidates[k].ready => (
                Some(k),
                Some(Sticky::Hit),
                Why::StickyCookie {
                    to: candidates[k].name.clone(),
                },
                "sticky_cookie",
            ),
            (sticky, _) => {
                let d = pool.selector.pick(*peer.ip(), &candidates);
                (d.chosen, sticky.then_some(Sticky::Miss), d.why, d.algorithm)
            }
        };
        let backend = chosen.map(|k| pool.members[k]);
        let host = backend.map(|b| shared.pool[b].host);
        ctx.record(Event::Decision {
            flow: None,
            client: peer,
            backend: host,
            algorithm,
            explanation,
        });
        if p.tried.is_empty() {
            match sticky {
                Some(Sticky::Hit) => self.stats.sticky_hits += 1,
                Some(Sticky::Miss) => self.stats.sticky_misses += 1,
                None => {}
            }
            p.sticky = sticky;
        }
        ctx.record(Event::ProxyRequest {
            conn,
            client: peer,
            method: p.request.method.clone(),
            path: p.request.target.clone(),
            host: p.request.authority().unwrap_or("").to_string(),
            rule: route.rule.map(|r| r as u32),
            pool: pool.name.clone(),
            backend: host,
            retry: !p.tried.is_empty(),
        });
        let Some(b) = backend else {
            self.answer_error(conn, ProxyError::NoBackend, None, ctx);
            return;
        };
        p.tried.push(b);
        ctx.metrics.backends[b].decisions += 1;
        let bytes = forward_request(&p.request, *peer.ip(), https, self.spec.upstream_keep_alive);
        let head = p.request.method == "HEAD";
        d.phase = Phase::Upstream;
        let e = &shared.pool[b];
        let target = SocketAddrV4::new(e.address, e.http_port);
        // An idle kept-alive connection to that backend, or a new one.
        let reuse = self.ups.iter().position(|u| {
            u.idle && u.backend == b && stack.tcp(u.handle).state() == State::Established
        });
        let id = self.id();
        let generation = id;
        match reuse {
            Some(k) => {
                let u = &mut self.ups[k];
                u.idle = false;
                u.down = Some(conn);
                u.request = bytes;
                u.sent = 0;
                u.parser = ResponseParser::new(Limits::default(), head);
                u.generation = generation;
                ctx.schedule(
                    ctx.now + self.spec.upstream_timeout,
                    AppTimer::ProxyDeadline {
                        up: u.id,
                        generation,
                    },
                );
            }
            None => {
                let local = SocketAddrV4::new(self.inner, self.ports.allocate());
                let handle = stack
                    .open_connection(target, local, TCP_BUFFER, TCP_BUFFER)
                    .expect("backends have unicast addresses and ports");
                self.ups.push(Up {
                    id,
                    handle,
                    local,
                    backend: b,
                    down: Some(conn),
                    established: false,
                    request: bytes,
                    sent: 0,
                    inbuf: Vec::new(),
                    parser: ResponseParser::new(Limits::default(), head),
                    generation,
                    idle: false,
                    closing: false,
                });
                ctx.schedule(
                    ctx.now + self.spec.connect_timeout,
                    AppTimer::ProxyDeadline { up: id, generation },
                );
            }
        }
        self.refresh(shared.pool);
    }

    fn serve_up(
        &mut self,
        i: usize,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) -> (bool, bool) {
        let u = &mut self.ups[i];
        let socket = stack.tcp(u.handle);
        let state = socket.state();
        if u.closing || (u.idle && state != State::Established) {
            return match state {
                State::Closed | State::TimeWait => {
                    stack.release_tcp(u.handle);
                    (false, false)
                }
                State::CloseWait => {
                    socket.close();
                    (true, true)
                }
                _ => (true, false),
            };
        }
        if u.idle {
            return (true, false);
        }
        if !u.established {
            match state {
                State::SynSent | State::SynReceived => return (true, false),
                State::Closed => {
                    stack.release_tcp(u.handle);
                    let down = u.down.take();
                    if let Some(down) = down {
                        self.upstream_failed(down, ProxyError::UpstreamRefused, stack, ctx, shared);
                    }
                    return (false, true);
                }
                _ => {
                    u.established = true;
                    // The connect deadline becomes the response deadline.
                    u.generation += 1 << 32;
                    let (up, generation) = (u.id, u.generation);
                    ctx.schedule(
                        ctx.now + self.spec.upstream_timeout,
                        AppTimer::ProxyDeadline { up, generation },
                    );
                }
            }
        }
        let mut wrote = false;
        if u.sent < u.request.len() && socket.can_send() {
            if let Ok(n) = socket.send_slice(&u.request[u.sent..]) {
                u.sent += n;
                wrote |= n > 0;
            }
        }
        while socket.can_recv() {
            let _ = socket.recv(|data| {
                u.inbuf.extend_from_slice(data);
                (data.len(), ())
            });
        }
        let open = socket.may_recv();
        if u.inbuf.is_empty() && open {
            return (true, wrote);
        }
        let parsed = if open {
            u.parser.feed(&u.inbuf)
        } else {
            u.parser.feed_eof(&u.inbuf)
        };
        match parsed {
            Ok(Progress::Complete(response, used)) => {
                u.inbuf.drain(..used);
                let down = u.down.take();
                let keep = self.spec.upstream_keep_alive && response.keep_alive() && open;
                if keep {
                    u.idle = true;
                } else {
                    socket.close();
                    u.closing = true;
                }
                let backend = u.backend;
                if let Some(down) = down {
                    self.relay(down, backend, response, ctx, shared);
                }
                self.refresh(shared.pool);
                (true, true)
            }
            Ok(Progress::Partial) if open => (true, wrote),
            Ok(Progress::Partial) | Err(_) => {
                socket.abort();
                u.closing = true;
                if let Some(down) = u.down.take() {
                    self.upstream_failed(down, ProxyError::UpstreamReset, stack, ctx, shared);
                }
                (true, true)
            }
        }
    }

    /// An upstream attempt failed: retry an idempotent request once elsewhere, else 502.
    fn upstream_failed(
        &mut self,
        down: u64,
        error: ProxyError,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) {
        let retry = self.spec.retry_idempotent
            && self
                .downs
                .iter()
                .find(|d| d.id == down)
                .and_then(|d| d.pending.as_ref())
                .is_some_and(|p| idempotent(&p.request.method) && p.tried.len() < 2);
        if retry {
            self.stats.retries += 1;
            self.dispatch(down, stack, ctx, shared);
        } else {
            self.answer_error(down, error, None, ctx);
        }
    }

    /// Relays a backend's response to connection `down`.
    fn relay(
        &mut self,
        down: u64,
        backend: usize,
        response: Response,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) {
        // Passive outlier detection.
        if let Some(o) = self.spec.outlier {
            let (count, until) = &mut self.outliers[backend];
            if response.status >= 500 {
                *count += 1;
                if *count >= o.consecutive_5xx && until.is_none() {
                    *until = Some(ctx.now + o.ejection);
                    self.stats.ejections += 1;
                    ctx.schedule(
                        ctx.now + o.ejection,
                        AppTimer::OutlierEnd {
                            backend: backend as u32,
                        },
                    );
                    ctx.record(Event::BackendEjected {
                        backend: shared.pool[backend].host,
                        until: ctx.now + o.ejection,
                    });
                }
            } else {
                *count = 0;
            }
        }
        let Some(d) = self.downs.iter_mut().find(|d| d.id == down) else {
            return;
        };
        let Some(p) = d.pending.as_mut() else { return };
        let pool = p.route.map(|r| &self.pools[r.pool]);
        let set_cookie = match (pool.and_then(|pl| pl.sticky.as_ref()), p.sticky) {
            (Some(name), Some(Sticky::Miss)) => {
                Some(format!("{name}={}; Path=/", shared.pool[backend].name))
            }
            (Some(name), None) if p.tried.len() > 1 => {
                Some(format!("{name}={}; Path=/", shared.pool[backend].name))
            }
            _ => None,
        };
        let keep = !d.close_after;
        let bytes = forward_response(&response, set_cookie.as_deref(), keep);
        ctx.record(Event::ProxyResponse {
            conn: down,
            status: response.status,
            backend: Some(shared.pool[backend].host),
            error: None,
        });
        let (id, tls) = (d.id, d.tls.is_some());
        self.deliver(id, bytes, response.status, tls, ctx, shared);
    }

    /// Sends response bytes to a client, after the CPU has encrypted them (TLS).
    fn deliver(
        &mut self,
        down: u64,
        bytes: Vec<u8>,
        status: u16,
        tls: bool,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) {
        let per_kb = self.tls.map(|t| t.per_kb_cpu).unwrap_or(Duration::ZERO);
        let Some(d) = self.downs.iter_mut().find(|d| d.id == down) else {
            return;
        };
        if tls {
            let cost = Duration::from_micros(per_kb.as_micros() * bytes.len() as u64 / 1024);
            if let Some(p) = d.pending.as_mut() {
                p.response = bytes;
                p.status = status;
            } else {
                d.pending = Some(Box::new(Pending {
                    request: Request {
                        method: String::new(),
                        target: String::new(),
                        version: 1,
                        headers: Default::default(),
                        body: Vec::new(),
                    },
                    route: None,
                    tried: Vec::new(),
                    sticky: None,
                    response: bytes,
                    status,
                }));
            }
            d.phase = Phase::Writing;
            let done = (shared.cpu)(ctx.now, cost).unwrap_or(ctx.now);
            ctx.schedule(done, AppTimer::ProxyWrite { conn: down });
        } else {
            d.out.extend(bytes);
            d.pending = None;
            d.phase = Phase::Reading;
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
        let Some(d) = self.downs.iter_mut().find(|d| d.id == down) else {
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
