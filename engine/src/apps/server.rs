//! The HTTP server on each backend.
//!
//! Connections are accepted from a pool of listening sockets (the accept backlog); a SYN that
//! finds none free is dropped by the host, as a full backlog does. Requests are parsed with the
//! engine's `http` module, queued for a pool of workers, and answered after a service time drawn
//! from the route's distribution. Keep-alive and pipelining follow RFC 9112.
//!
//! Built-in routes: `GET /health` (a cheap 200), and a shopping cart whose contents live only in
//! this server's memory, keyed by the `sid` cookie: `POST /cart/add`, `GET /cart`,
//! `POST /checkout`. Each answers `{"items":N}`. A request with an unknown `sid` starts a new,
//! empty session, as most frameworks do, which is how a cart is lost when requests move between
//! servers.

use std::collections::{BTreeMap, VecDeque};

use std::net::SocketAddrV4;

use crate::stack::SocketHandle;
use rustc_hash::FxHashMap;
use smoltcp::socket::tcp::State;

use super::{AppTimer, Ctx};
use crate::http::{write_response_head, HttpError, Limits, Progress, Request, RequestParser};
use crate::rng::Stream;
use crate::scenario::{BackendSpec, Buffers, Fault, ServiceTime};
use crate::stack::Stack;
use crate::time::{Duration, Instant};
use crate::trace::{Event, RequestLine};

/// Service time of `GET /health`.
pub const HEALTH_SERVICE: Duration = Duration::from_micros(50);

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "sid";

/// The largest connection buffer a server keeps for its next connections.
const SPARE_BUFFER_LIMIT: usize = 64 * 1024;

#[derive(Debug)]
struct Conn {
    handle: SocketHandle,
    /// Unique for the server's lifetime, so a job never answers on a reused socket handle.
    id: u64,
    peer: SocketAddrV4,
    inbuf: Vec<u8>,
    parser: RequestParser,
    out: Vec<u8>,
    /// A request of this connection is queued or in service (or hanging).
    busy: bool,
    /// Close once `out` is flushed.
    close_after: bool,
}

#[derive(Debug)]
struct Job {
    conn: SocketHandle,
    conn_id: u64,
    request: Request,
    arrived: Instant,
    /// When a worker took it and when it will be done, once one has.
    service: Option<(Instant, Instant)>,
}

/// Where a request is at a server: for the views.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Waiting for a worker, at this position in the queue (0: next).
    Queued(usize),
    /// A worker serves it, from `started` to `done`.
    Serving {
        /// When the worker took it.
        started: Instant,
        /// When it will be answered.
        done: Instant,
    },
    /// Read and never answered (the server hangs).
    Hung,
}

/// A backend's HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    spec: BackendSpec,
    fault: Fault,
    limits: Limits,
    listeners: Vec<SocketHandle>,
    conns: Vec<Conn>,
    /// Where each connection's socket is in `conns` (looked up, never iterated).
    index: FxHashMap<SocketHandle, usize>,
    /// Scratch: positions in `conns` of the connections one reaction serves.
    ready: Vec<usize>,
    next_conn: u64,
    queue: VecDeque<Job>,
    in_service: BTreeMap<u64, Job>,
    next_job: u64,
    carts: BTreeMap<String, u32>,
    next_session: u64,
    /// Sockets aborted by the server, released once their RST is sent.
    aborted: Vec<SocketHandle>,
    /// The input and output buffers of closed connections, emptied, for the next ones (one
    /// allocation each per connection before; at most as many as were open at once).
    spare_buffers: Vec<(Vec<u8>, Vec<u8>)>,

    service_rng: Stream,
    fault_rng: Stream,
}

impl HttpServer {
    /// A server as the scenario describes it; `seed` keys its random streams.
    pub fn new(spec: &BackendSpec, seed: u64) -> Self {
        HttpServer {
            fault: spec.fault,
            limits: Limits::default(),
            listeners: Vec::new(),
            conns: Vec::new(),
            index: FxHashMap::default(),
            ready: Vec::new(),
            next_conn: 0,
            queue: VecDeque::new(),
            in_service: BTreeMap::new(),
            next_job: 0,
            carts: BTreeMap::new(),
            next_session: 0,
            aborted: Vec::new(),
            spare_buffers: Vec::new(),
            service_rng: Stream::new(seed, &format!("server/{}/service", spec.name)),
            fault_rng: Stream::new(seed, &format!("server/{}/faults", spec.name)),
            spec: spec.clone(),
        }
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.spec.port
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        self.fault
    }

    /// Shopping sessions held in memory.
    pub fn sessions(&self) -> usize {
        self.carts.len()
    }

    /// Open connections (not counting idle listening sockets).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Every request the server holds, by the peer that sent it (a client's endpoint, or the
    /// proxy's): queued, in service, or hung.
    pub fn work(&self) -> Vec<(SocketAddrV4, Work)> {
        let peer = |conn_id: u64| self.conns.iter().find(|c| c.id == conn_id).map(|c| c.peer);
        let mut out: Vec<(SocketAddrV4, Work)> = self
            .queue
            .iter()
            .enumerate()
            .filter_map(|(i, j)| Some((peer(j.conn_id)?, Work::Queued(i))))
            .collect();
        out.extend(self.in_service.values().filter_map(|j| {
            let (started, done) = j.service?;
            Some((peer(j.conn_id)?, Work::Serving { started, done }))
        }));
        if self.fault == Fault::Hang {
            out.extend(
                self.conns
                    .iter()
                    .filter(|c| c.busy)
                    .map(|c| (c.peer, Work::Hung)),
            );
        }
        out
    }

    /// Workers: requests it serves at once.
    pub fn workers(&self) -> u32 {
        self.spec.workers
    }

    /// Requests waiting for a worker.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Requests a worker is serving now.
    pub fn in_service(&self) -> usize {
        self.in_service.len()
    }

    /// Requests waiting for a worker plus those in service.
    pub fn load(&self) -> usize {
        self.queue.len() + self.in_service.len()
    }

    /// Whether a new SYN would find no listening socket: what a full accept backlog does.
    pub fn backlog_full(&self, stack: &Stack) -> bool {
        self.fault != Fault::PortClosed
            && !self
                .listeners
                .iter()
                .any(|&h| stack.tcp_ref(h).state() == State::Listen)
    }

    /// Forgets everything, as a crashed process does: connections, queue, sessions.
    pub fn reset(&mut self) {
        self.listeners.clear();
        self.conns.clear();
        self.index.clear();
        self.queue.clear();
        self.in_service.clear();
        self.carts.clear();
        self.aborted.clear();
    }

    /// Changes the fault. Closing the port resets every connection (nothing listens any more,
    /// so the kernel answers RST); the caller handles crashes, which take the whole host down.
    pub fn set_fault(&mut self, fault: Fault, stack: &mut Stack) {
        if fault == Fault::PortClosed && self.fault != Fault::PortClosed {
            let conns = std::mem::take(&mut self.conns);
            self.index.clear();
            for h in self
                .listeners
                .drain(..)
                .chain(conns.into_iter().map(|c| c.handle))
            {
                stack.tcp(h).abort();
                // The RST goes out at the next poll; `react` then removes the socket.
                self.aborted.push(h);
            }
            self.queue.clear();
            self.in_service.clear();
        }
        self.fault = fault;
    }

    /// Reacts to what the last poll changed. Returns whether it wrote or closed anything (the
    /// stack then needs another poll).
    pub fn react(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>, backend: usize) -> bool {
        let mut acted = false;
        for h in self.aborted.drain(..) {
            stack.release_tcp(h);
        }

        // Listening sockets that received a SYN become connections.
        let mut i = 0;
        while i < self.listeners.len() {
            let h = self.listeners[i];
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
                .unwrap_or(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0));
            self.next_conn += 1;
            self.index.insert(h, self.conns.len());
            let (inbuf, out) = self.spare_buffers.pop().unwrap_or_default();
            self.conns.push(Conn {
                handle: h,
                id: self.next_conn,
                peer,
                inbuf,
                parser: RequestParser::new(self.limits),
                out,
                busy: false,
                close_after: false,
            });
            ctx.metrics.backends[backend].connections += 1;
        }
        // Keep the backlog full while the connection limit allows.
        if self.fault != Fault::PortClosed {
            while self.listeners.len() < self.spec.backlog as usize
                && self.listeners.len() + self.conns.len() < self.spec.max_connections as usize
            {
                let (rx, tx) = self.spec.buffers.unwrap_or(Buffers::SERVER).sizes();
                self.listeners
                    .push(stack.open_listener(self.spec.port, rx, tx));
            }
        }

        // Only a connection whose socket the last poll took can have anything new: data,
        // room to send, a FIN, a close (the server's own writes touch the socket, so the poll
        // before this reaction took it). Served in the order of `conns`, as a walk over all
        // of them would (the others have nothing to do): when one is removed, the last takes
        // its place and is served next.
        let mut ready = std::mem::take(&mut self.ready);
        ready.clear();
        ready.extend(
            stack
                .polled()
                .iter()
                .filter_map(|h| self.index.get(h).copied()),
        );
        ready.sort_unstable();
        let mut k = 0;
        while k < ready.len() {
            let i = ready[k];
            let (keep, wrote) = self.serve_connection(i, stack, ctx, backend);
            acted |= wrote;
            if keep {
                k += 1;
                continue;
            }
            let last = self.conns.len() - 1;
            self.remove_conn(i);
            if i != last && ready.last() == Some(&last) {
                // The last connection, due later, now sits at `i`: serve it now.
                ready.pop();
            } else {
                k += 1;
            }
        }
        self.ready = ready;
        acted
    }

    /// Removes the connection at `i` (the last takes its place).
    fn remove_conn(&mut self, i: usize) {
        let mut gone = self.conns.swap_remove(i);
        self.index.remove(&gone.handle);
        // A buffer grown for a large body is let go, not kept for every later connection.
        if gone.inbuf.capacity().max(gone.out.capacity()) <= SPARE_BUFFER_LIMIT {
            gone.inbuf.clear();
            gone.out.clear();
            self.spare_buffers.push((gone.inbuf, gone.out));
        }
        if let Some(moved) = self.conns.get(i) {
            self.index.insert(moved.handle, i);
        }
    }

    fn conn(&self, h: SocketHandle) -> Option<&Conn> {
        self.index.get(&h).map(|&i| &self.conns[i])
    }

    /// Serves connection `i`; returns (whether to keep it, whether anything was written).
    fn serve_connection(
        &mut self,
        i: usize,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        backend: usize,
    ) -> (bool, bool) {
        let mut acted = false;
        let h = self.conns[i].handle;
        // Looked at through `tcp_ref`, and taken to act on (which has the next poll take it)
        // only to read, write or close: an idle connection stays out of the next poll.
        if matches!(stack.tcp_ref(h).state(), State::Closed | State::TimeWait) {
            stack.release_tcp(h);
            return (false, false);
        }
        let conn = &mut self.conns[i];
        stack.recv_into(h, &mut conn.inbuf);
        // Parse the next request unless one is already being handled (no pipelined overlap).
        if !conn.busy && !conn.close_after && !conn.inbuf.is_empty() {
            match conn.parser.feed(&conn.inbuf) {
                Ok(Progress::Complete(request, used)) => {
                    conn.inbuf.drain(..used);
                    conn.busy = true;
                    let conn_id = conn.id;
                    self.dispatch(h, conn_id, request, stack, ctx, backend);
                    acted = true;
                }
                Ok(Progress::Partial) => {}
                Err(e) => {
                    let peer = conn.peer;
                    self.answer(h, error_answer(e), false, stack);
                    ctx.record(Event::RequestServed {
                        host: ctx.host,
                        peer,
                        // Nothing parsed: no method, no target.
                        line: Box::default(),
                        status: e.status(),
                        service: Duration::ZERO,
                    });
                    count(ctx, backend, e.status());
                    acted = true;
                }
            }
        }
        let conn = &mut self.conns[i];
        if !conn.out.is_empty() && stack.tcp_ref(h).can_send() {
            if let Ok(n) = stack.tcp(h).send_slice(&conn.out) {
                conn.out.drain(..n);
                acted |= n > 0;
            }
        }
        // The peer sent FIN (CLOSE-WAIT): once nothing is owed to it, close our side too.
        let state = stack.tcp_ref(h).state();
        let peer_done = state == State::CloseWait;
        let ours_open = matches!(state, State::Established | State::CloseWait);
        if ours_open && conn.out.is_empty() && (conn.close_after || (peer_done && !conn.busy)) {
            stack.tcp(h).close();
            acted = true;
        }
        (true, acted)
    }

    fn dispatch(
        &mut self,
        conn: SocketHandle,
        conn_id: u64,
        request: Request,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        backend: usize,
    ) {
        if self.fault == Fault::Hang {
            // Read and never answered; the connection stays busy until the peer gives up.
            return;
        }
        if self.queue.len() >= self.spec.queue_limit as usize
            && self.in_service.len() >= self.spec.workers as usize
        {
            let busy = Answer::new(503, None, Body::Static(b"server busy\n"));
            self.answer(conn, busy, request.keep_alive(), stack);
            ctx.record(Event::RequestServed {
                host: ctx.host,
                peer: self
                    .conn(conn)
                    .map_or(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0), |c| {
                        c.peer
                    }),
                line: Box::new(RequestLine {
                    method: request.method,
                    path: request.target,
                }),
                status: 503,
                service: Duration::ZERO,
            });
            count(ctx, backend, 503);
            return;
        }
        self.queue.push_back(Job {
            conn,
            conn_id,
            request,
            arrived: ctx.now,
            service: None,
        });
        self.start_jobs(ctx);
    }

    fn start_jobs(&mut self, ctx: &mut Ctx<'_>) {
        while self.in_service.len() < self.spec.workers as usize {
            let Some(mut job) = self.queue.pop_front() else {
                return;
            };
            let service = self.service_time(job.request.path());
            job.service = Some((ctx.now, ctx.now + service));
            self.next_job += 1;
            ctx.schedule(
                ctx.now + service,
                AppTimer::WorkerDone { job: self.next_job },
            );
            self.in_service.insert(self.next_job, job);
        }
    }

    fn service_time(&mut self, path: &str) -> Duration {
        let base = if path == "/health" || path == "/game/update" {
            HEALTH_SERVICE
        } else {
            let dist = self
                .route(path)
                .map_or(self.spec.service, |r| self.spec.routes[r].service);
            sample(&mut self.service_rng, dist)
        };
        match self.fault {
            Fault::Slow { factor } => base.mul_f64(factor),
            _ => base,
        }
    }

    /// Index of the longest configured route prefix matching `path`.
    fn route(&self, path: &str) -> Option<usize> {
        self.spec
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| path.starts_with(r.path.as_str()))
            .max_by_key(|(_, r)| r.path.len())
            .map(|(i, _)| i)
    }

    /// A worker finished `job`: answer it and start the next. Returns false when the job was
    /// forgotten (the server crashed or closed its port since).
    pub fn worker_done(
        &mut self,
        job: u64,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        backend: usize,
    ) -> bool {
        let Some(job) = self.in_service.remove(&job) else {
            return false;
        };
        let peer = self
            .conn(job.conn)
            .filter(|c| c.id == job.conn_id)
            .map(|c| c.peer);
        if let Some(peer) = peer {
            let keep = job.request.keep_alive();
            let answer = self.respond(&job.request);
            let status = answer.status;
            self.answer(job.conn, answer, keep, stack);
            ctx.record(Event::RequestServed {
                host: ctx.host,
                peer,
                line: Box::new(RequestLine {
                    method: job.request.method,
                    path: job.request.target,
                }),
                status,
                service: ctx.now - job.arrived,
            });
            count(ctx, backend, status);
        }
        self.start_jobs(ctx);
        true
    }

    /// Queues `answer` on the connection, from this server, written straight into the
    /// connection's output; it is sent as the socket allows.
    fn answer(&mut self, conn: SocketHandle, answer: Answer, keep_alive: bool, stack: &mut Stack) {
        let Some(&i) = self.index.get(&conn) else {
            return;
        };
        let c = &mut self.conns[i];
        let fields = [
            Some(("X-Backend", self.spec.name.as_str())),
            answer.content_type.map(|t| ("Content-Type", t)),
            answer.cookie.as_deref().map(|v| ("Set-Cookie", v)),
            (!keep_alive).then_some(("Connection", "close")),
        ];
        let body_len = match &answer.body {
            Body::Filler(n) => *n,
            Body::Static(b) => b.len(),
            Body::Owned(b) => b.len(),
        };
        c.out.reserve(128 + body_len);
        write_response_head(
            &mut c.out,
            answer.status,
            fields.into_iter().flatten(),
            body_len,
        );
        match &answer.body {
            Body::Filler(n) => extend_filler(&mut c.out, *n),
            Body::Static(b) => c.out.extend_from_slice(b),
            Body::Owned(b) => c.out.extend_from_slice(b),
        }
        c.answered(keep_alive, stack);
    }

    /// The application's answer to a request.
    fn respond(&mut self, request: &Request) -> Answer {
        let failing = match self.fault {
            Fault::AppErrors => true,
            Fault::Flaky { probability } => self.fault_rng.chance(probability),
            _ => false,
        };
        if failing {
            return Answer::new(
                500,
                Some("text/plain"),
                Body::Static(b"internal server error\n"),
            );
        }
        let path = request.path();
        match path {
            "/game/update" => Answer::new(
                200,
                Some("application/octet-stream"),
                Body::Owned(request.body.clone()),
            ),
            "/health" => Answer::new(200, Some("text/plain"), Body::Static(b"ok\n")),
            "/cart/add" | "/cart" | "/checkout" => {
                let known = request
                    .headers
                    .cookie(SESSION_COOKIE)
                    .filter(|sid| self.carts.contains_key(*sid))
                    .map(str::to_string);
                let mut cookie = None;
                let items = match (path, known) {
                    ("/cart/add", Some(sid)) => {
                        let items = self.carts.get_mut(&sid).expect("known session");
                        *items += 1;
                        *items
                    }
                    ("/cart/add", None) => {
                        self.next_session += 1;
                        let sid = format!("{}-{}", self.spec.name, self.next_session);
                        cookie = Some(format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly"));
                        self.carts.insert(sid, 1);
                        1
                    }
                    ("/checkout", Some(sid)) => self.carts.remove(&sid).unwrap_or(0),
                    ("/cart", Some(sid)) => self.carts[&sid],
                    _ => 0,
                };
                let json = format!("{{\"items\":{items}}}").into_bytes();
                Answer {
                    cookie,
                    ..Answer::new(200, Some("application/json"), Body::Owned(json))
                }
            }
            _ => match self.route(path) {
                Some(r) => {
                    let route = &self.spec.routes[r];
                    let body = Body::Filler(route.response_bytes as usize);
                    Answer::new(route.status, Some("text/plain"), body)
                }
                None if self.spec.routes.is_empty() || path == "/" => {
                    let body = Body::Filler(self.spec.response_bytes as usize);
                    Answer::new(200, Some("text/plain"), body)
                }
                None => Answer::new(404, None, Body::Static(b"not found\n")),
            },
        }
    }
}

impl Conn {
    /// A response was queued on `out`: the connection is free for its next request (or to
    /// close), and what the socket takes now is sent.
    fn answered(&mut self, keep_alive: bool, stack: &mut Stack) {
        self.busy = false;
        self.close_after = !keep_alive;
        let socket = stack.tcp(self.handle);
        if socket.can_send() {
            if let Ok(n) = socket.send_slice(&self.out) {
                self.out.drain(..n);
            }
        }
    }
}

/// What the application answers, before it is written: status, the fields after
/// `X-Backend` and the body.
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    /// `Set-Cookie`, when a session starts.
    cookie: Option<String>,
    body: Body,
}

impl Answer {
    fn new(status: u16, content_type: Option<&'static str>, body: Body) -> Self {
        Answer {
            status,
            content_type,
            cookie: None,
            body,
        }
    }
}

/// An answer's body.
enum Body {
    /// [`extend_filler`] of this many bytes, written in place.
    Filler(usize),
    Static(&'static [u8]),
    Owned(Vec<u8>),
}

fn count(ctx: &mut Ctx<'_>, backend: usize, status: u16) {
    let b = &mut ctx.metrics.backends[backend];
    b.requests += 1;
    *b.statuses.entry(status).or_default() += 1;
}

/// The answer to a request that could not be parsed.
fn error_answer(e: HttpError) -> Answer {
    let body = format!("{}\n", e.message()).into_bytes();
    Answer::new(e.status(), Some("text/plain"), Body::Owned(body))
}

/// Draws a service time.
pub fn sample(rng: &mut Stream, dist: ServiceTime) -> Duration {
    match dist {
        ServiceTime::Constant(d) => d,
        ServiceTime::Exponential(mean) => rng.exponential(mean),
        ServiceTime::Lognormal { median, sigma } => rng.lognormal(median, sigma),
    }
}

/// Appends a readable body of `n` bytes to `out`: a sentence over and over.
pub fn extend_filler(out: &mut Vec<u8>, n: usize) {
    const TEXT: &[u8] = b"Traffic Cop sends real bytes. ";
    let start = out.len();
    out.extend_from_slice(&TEXT[..TEXT.len().min(n)]);
    // Then the text so far again, doubling it: a few copies, not one per sentence.
    while out.len() - start < n {
        let have = out.len() - start;
        out.extend_from_within(start..start + have.min(n - have));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_repeats_its_sentence_after_what_the_output_held() {
        let sentence = b"Traffic Cop sends real bytes. ";
        for n in [0, 1, 29, 30, 31, 900, 4096] {
            let mut out = b"HTTP head\r\n\r\n".to_vec();
            extend_filler(&mut out, n);
            let (head, body) = out.split_at(13);
            assert_eq!(head, b"HTTP head\r\n\r\n");
            assert_eq!(body.len(), n);
            assert!(body
                .iter()
                .enumerate()
                .all(|(i, b)| *b == sentence[i % sentence.len()]));
        }
    }
}
