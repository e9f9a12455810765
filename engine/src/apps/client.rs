//! The HTTP client on each client host.
//!
//! A client opens a TCP connection per request (or, for a keep-alive shopping session, one per
//! session), sends the request, reads the response with the engine's parser and classifies how
//! the request ended, as a person at the keyboard would see it:
//!
//! | outcome | seen as |
//! |---|---|
//! | `ok` | a complete response, status below 400 |
//! | `http_error` | a complete response, status 400 or more |
//! | `refused` | the connection was reset before it was established (nothing listens) |
//! | `reset` | the connection was reset or closed before the response was complete |
//! | `timeout` | no complete response within the timeout (the client then resets the connection) |
//!
//! A shopping session adds to its cart `adds` times, then checks out; the checkout answer says
//! how many items the server found. Fewer than were added is a lost cart.
//!
//! Sockets the client closes are forgotten once they reach TIME-WAIT: the port allocator does
//! not reuse a port for 16 thousand connections, which is what TIME-WAIT protects against.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::ops::Bound::{Excluded, Unbounded};

use crate::stack::SocketHandle;
use serde::Deserialize;
use smoltcp::socket::tcp::State;

use super::{AppTimer, Ctx, PortAllocator};
use crate::http::{request_bytes, Limits, Progress, Response, ResponseParser};
use crate::ids::{RequestId, SessionId};
use crate::scenario::{Buffers, CartSpec, RequestSpec};
use crate::stack::Stack;
use crate::time::{Duration, Instant};
use crate::tls::ClientSession;
use crate::trace::{Event, Outcome, RequestLine, SessionOutcome};

/// How long a closed connection may linger (FIN-WAIT) before the client resets it.
const LINGER: Duration = Duration::from_secs(30);

/// What an arrival asks a client to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    /// One request.
    Request(RequestSpec),
    /// A shopping session.
    Cart(CartSpec),
}

/// How a raw request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawResult {
    /// The outcome.
    pub outcome: Outcome,
    /// The response, if one came.
    pub response: Option<Response>,
    /// Time from sending to the outcome.
    pub latency: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Raw,
    Plain,
    CartAdd,
    Checkout,
}

#[derive(Debug)]
struct Active {
    socket: SocketHandle,
    /// The request, in plaintext, until it is queued in `out`.
    bytes: Vec<u8>,
    /// Bytes owed to the socket (the request, or TLS records).
    out: Vec<u8>,
    /// Whether the request has been handed to `out`.
    queued: bool,
    /// TLS: the session and the record bytes received but not yet read.
    /// Boxed: a session is 720 bytes, which every plain request would otherwise carry.
    tls: Option<Box<ClientSession>>,
    raw: Vec<u8>,
    inbuf: Vec<u8>,
    parser: ResponseParser,
    started: Instant,
    established: bool,
    session: Option<SessionId>,
    step: Step,
}

#[derive(Debug)]
struct Session {
    cart: CartSpec,
    added: u32,
    cookies: BTreeMap<String, String>,
    socket: Option<SocketHandle>,
}

#[derive(Deserialize)]
struct CartBody {
    items: u32,
}

/// One client host's HTTP client.
#[derive(Debug)]
pub struct HttpClient {
    address: Ipv4Addr,
    target: SocketAddrV4,
    host_header: String,
    timeout: Duration,
    keep_alive: bool,
    tls: bool,
    buffers: Buffers,
    /// Outcomes and responses of raw requests, for whoever sent them.
    raw_results: BTreeMap<RequestId, RawResult>,
    ports: PortAllocator,
    /// Requests in flight, boxed: a map node moves its values as requests come and go, and
    /// an `Active` is a few hundred bytes.
    requests: BTreeMap<RequestId, Box<Active>>,
    sessions: BTreeMap<SessionId, Session>,
    lingering: Vec<(SocketHandle, Instant)>,
}

impl HttpClient {
    /// A client at `address` sending to `target`, over TLS when `tls`, each connection with
    /// `buffers`.
    pub fn new(
        address: Ipv4Addr,
        target: SocketAddrV4,
        timeout: Duration,
        keep_alive: bool,
        tls: bool,
        buffers: Buffers,
    ) -> Self {
        HttpClient {
            address,
            target,
            host_header: if tls {
                crate::tls::SERVER_NAME.to_string()
            } else {
                target.ip().to_string()
            },
            timeout,
            keep_alive,
            tls,
            buffers,
            raw_results: BTreeMap::new(),
            ports: PortAllocator::default(),
            requests: BTreeMap::new(),
            sessions: BTreeMap::new(),
            lingering: Vec::new(),
        }
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.requests.len()
    }

    /// Sessions in progress.
    pub fn sessions_in_flight(&self) -> usize {
        self.sessions.len()
    }

    /// Starts what an arrival asks for.
    pub fn start(&mut self, work: &Work, stack: &mut Stack, ctx: &mut Ctx<'_>) {
        match work {
            Work::Request(spec) => {
                let body = vec![b'x'; spec.body_bytes as usize];
                self.send(
                    &spec.method,
                    &spec.path,
                    body,
                    None,
                    Step::Plain,
                    stack,
                    ctx,
                );
            }
            Work::Cart(cart) => {
                let id = ctx.ids.session();
                ctx.metrics.sessions.started += 1;
                self.sessions.insert(
                    id,
                    Session {
                        cart: *cart,
                        added: 0,
                        cookies: BTreeMap::new(),
                        socket: None,
                    },
                );
                self.session_next(id, stack, ctx);
            }
        }
    }

    /// Sends raw request bytes as a request of its own (the request composer's path); its
    /// outcome and response are kept for [`HttpClient::raw_result`].
    pub fn send_raw(&mut self, bytes: Vec<u8>, stack: &mut Stack, ctx: &mut Ctx<'_>) -> RequestId {
        let (method, path) = first_line(&bytes);
        self.open(bytes, method, path, None, Step::Raw, stack, ctx)
    }

    /// How a raw request ended, once it has.
    pub fn raw_result(&self, id: RequestId) -> Option<&RawResult> {
        self.raw_results.get(&id)
    }

    /// Handles one of this client's timers; returns whether it did anything (a deadline of a
    /// request that already ended does nothing).
    pub fn on_timer(&mut self, timer: AppTimer, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        match timer {
            AppTimer::RequestDeadline { request } if self.requests.contains_key(&request) => {
                self.end(request, Outcome::Timeout, None, stack, ctx)
            }
            AppTimer::SessionNext { session } if self.sessions.contains_key(&session) => {
                self.session_next(session, stack, ctx);
                true
            }
            _ => false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        session: Option<SessionId>,
        step: Step,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
    ) {
        let cookies = session
            .and_then(|s| self.sessions.get(&s))
            .filter(|s| !s.cookies.is_empty())
            .map(|s| {
                let pairs: Vec<String> =
                    s.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
                pairs.join("; ")
            });
        let fields = [
            ("Host", self.host_header.as_str()),
            ("User-Agent", "lbsim-client/1"),
            ("Accept", "*/*"),
        ];
        let cookie = cookies.as_deref().map(|c| ("Cookie", c));
        let bytes = request_bytes(method, path, fields.into_iter().chain(cookie), &body);
        self.open(
            bytes,
            method.to_string(),
            path.to_string(),
            session,
            step,
            stack,
            ctx,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn open(
        &mut self,
        bytes: Vec<u8>,
        method: String,
        path: String,
        session: Option<SessionId>,
        step: Step,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
    ) -> RequestId {
        let id = ctx.ids.request();
        let reused = session
            .filter(|_| !self.tls)
            .and_then(|s| self.sessions.get_mut(&s))
            .and_then(|s| s.socket.take());
        let (socket, established) = match reused {
            Some(h) if stack.tcp_ref(h).state() == State::Established => (h, true),
            other => {
                if let Some(h) = other {
                    stack.tcp(h).close();
                    self.lingering.push((h, ctx.now));
                }
                let local = SocketAddrV4::new(self.address, self.ports.allocate());
                let (rx, tx) = self.buffers.sizes();
                let h = stack
                    .open_connection(self.target, local, rx, tx)
                    .expect("validated targets are unicast with a port");
                (h, false)
            }
        };
        let head_request = method == "HEAD";
        // Over TLS every request opens its own connection and handshake.
        let (tls, hello) = if self.tls {
            let seed = crate::rng::fnv1a64(format!("{}/{}", self.address, id).as_bytes());
            let (session, hello) = ClientSession::start(seed);
            (Some(Box::new(session)), hello)
        } else {
            (None, Vec::new())
        };
        self.requests.insert(
            id,
            Box::new(Active {
                socket,
                bytes,
                out: hello,
                queued: false,
                tls,
                raw: Vec::new(),
                inbuf: Vec::new(),
                parser: ResponseParser::new(Limits::default(), head_request),
                started: ctx.now,
                established,
                session,
                step,
            }),
        );
        ctx.metrics.requests.started += 1;
        ctx.record(Event::RequestStarted {
            request: id,
            client: ctx.host,
            session,
            line: Box::new(RequestLine { method, path }),
            target: self.target,
            local: crate::stack::v4(stack.tcp_ref(socket).local_endpoint()),
        });
        ctx.schedule(
            ctx.now + self.timeout,
            AppTimer::RequestDeadline { request: id },
        );
        id
    }

    /// Reacts to what the last poll changed; returns whether it wrote or closed anything.
    pub fn react(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        let now = ctx.now;
        let mut acted = false;
        // Sockets are looked at through `tcp_ref`, and taken to act on (which has the next poll
        // take them) only to read, write or close.
        self.lingering
            .retain(|&(h, since)| match stack.tcp_ref(h).state() {
                State::Closed | State::TimeWait => {
                    stack.release_tcp(h);
                    false
                }
                _ if now - since > LINGER => {
                    stack.tcp(h).abort();
                    acted = true;
                    true
                }
                _ => true,
            });
        // In id order; `progress` may end (remove) the request it is given.
        let mut next = self.requests.keys().next().copied();
        while let Some(id) = next {
            acted |= self.progress(id, stack, ctx);
            next = self
                .requests
                .range((Excluded(id), Unbounded))
                .next()
                .map(|(&k, _)| k);
        }
        acted
    }

    fn progress(&mut self, id: RequestId, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        let a = self.requests.get_mut(&id).expect("id from requests");
        let h = a.socket;
        if !a.established {
            match stack.tcp_ref(h).state() {
                State::SynSent | State::SynReceived => return false,
                State::Closed => return self.end(id, Outcome::Refused, None, stack, ctx),
                _ => a.established = true,
            }
        }
        // Over TLS the request waits for the handshake; in the clear it goes at once.
        if !a.queued && a.tls.as_deref().is_none_or(ClientSession::established) {
            let bytes = match a.tls.as_mut() {
                Some(s) => s.seal(&a.bytes),
                None => std::mem::take(&mut a.bytes),
            };
            if a.out.is_empty() {
                a.out = bytes;
            } else {
                a.out.extend(bytes);
            }
            a.queued = true;
        }
        let mut acted = false;
        if !a.out.is_empty() {
            let socket = stack.tcp_ref(h);
            if socket.can_send() {
                if let Ok(n) = stack.tcp(h).send_slice(&a.out) {
                    a.out.drain(..n);
                    acted |= n > 0;
                }
            } else if !socket.may_send() {
                return self.end(id, Outcome::Reset, None, stack, ctx);
            }
        }
        let target = if a.tls.is_some() {
            &mut a.raw
        } else {
            &mut a.inbuf
        };
        stack.recv_into(h, target);
        if let Some(session) = a.tls.as_mut() {
            match session.feed(&mut a.raw) {
                Ok(fed) => {
                    a.inbuf.extend(fed.plaintext);
                    let handshake_moved = fed.established || !fed.send.is_empty();
                    a.out.extend(fed.send);
                    if handshake_moved {
                        // Send the Finished (and, once established, the request) now; the
                        // second pass feeds nothing new, so it does not recurse again.
                        self.progress(id, stack, ctx);
                        return true;
                    }
                }
                Err(_) => return self.end(id, Outcome::Reset, None, stack, ctx),
            }
        }
        let a = self.requests.get_mut(&id).expect("id from requests");
        let open = stack.tcp_ref(a.socket).may_recv();
        if a.inbuf.is_empty() && open {
            return acted;
        }
        let parsed = if open {
            a.parser.feed(&a.inbuf)
        } else {
            a.parser.feed_eof(&a.inbuf)
        };
        match parsed {
            Ok(Progress::Complete(response, _)) => {
                let outcome = if response.status < 400 {
                    Outcome::Ok
                } else {
                    Outcome::HttpError
                };
                self.end(id, outcome, Some(response), stack, ctx)
            }
            Ok(Progress::Partial) if open => acted,
            // Closed or reset before the response was whole, or a response we cannot frame.
            Ok(Progress::Partial) | Err(_) => self.end(id, Outcome::Reset, None, stack, ctx),
        }
    }

    fn end(
        &mut self,
        id: RequestId,
        outcome: Outcome,
        response: Option<Response>,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
    ) -> bool {
        let a = self.requests.remove(&id).expect("ending an active request");
        let latency = ctx.now - a.started;
        let status = response.as_ref().map(|r| r.status);
        ctx.record(Event::RequestEnded {
            request: id,
            client: ctx.host,
            outcome,
            status,
            latency,
        });
        ctx.metrics.request_ended(ctx.now, outcome, status, latency);

        let reusable = self.keep_alive
            && a.tls.is_none()
            && a.session.is_some()
            && response.as_ref().is_some_and(Response::keep_alive)
            && stack.tcp_ref(a.socket).state() == State::Established;
        match (reusable, a.session.and_then(|s| self.sessions.get_mut(&s))) {
            (true, Some(session)) => session.socket = Some(a.socket),
            _ => {
                let socket = stack.tcp(a.socket);
                if outcome == Outcome::Timeout {
                    socket.abort();
                } else {
                    socket.close();
                }
                self.lingering.push((a.socket, ctx.now));
            }
        }
        if a.step == Step::Raw {
            self.raw_results.insert(
                id,
                RawResult {
                    outcome,
                    response: response.clone(),
                    latency,
                },
            );
        }
        if let Some(session) = a.session {
            self.session_step(session, a.step, outcome, response, stack, ctx);
        }
        true
    }

    fn session_step(
        &mut self,
        id: SessionId,
        step: Step,
        outcome: Outcome,
        response: Option<Response>,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(session) = self.sessions.get_mut(&id) else {
            return;
        };
        let response = match response {
            Some(r) if outcome == Outcome::Ok && r.status == 200 => r,
            _ => return self.end_session(id, SessionOutcome::Abandoned, None, stack, ctx),
        };
        for value in response.headers.get_all("set-cookie") {
            let text = String::from_utf8_lossy(value);
            if let Some((name, value)) = text.split(';').next().and_then(|p| p.split_once('=')) {
                session
                    .cookies
                    .insert(name.trim().to_string(), value.trim().to_string());
            }
        }
        match step {
            Step::CartAdd => {
                session.added += 1;
                let at = ctx.now + session.cart.think;
                ctx.schedule(at, AppTimer::SessionNext { session: id });
            }
            Step::Checkout => {
                // Through `from_str`, the one JSON reader the bundle carries.
                let items = std::str::from_utf8(&response.body)
                    .ok()
                    .and_then(|text| serde_json::from_str::<CartBody>(text).ok())
                    .map_or(0, |b| b.items);
                let kept = items >= session.added;
                let outcome = if kept {
                    SessionOutcome::Kept
                } else {
                    SessionOutcome::LostCart
                };
                if !kept && items == 0 {
                    ctx.metrics.sessions.empty_carts += 1;
                }
                self.end_session(id, outcome, Some(items), stack, ctx);
            }
            Step::Plain | Step::Raw => {}
        }
    }

    fn session_next(&mut self, id: SessionId, stack: &mut Stack, ctx: &mut Ctx<'_>) {
        let session = &self.sessions[&id];
        if session.added < session.cart.adds {
            let body = format!("item={}", session.added + 1).into_bytes();
            self.send(
                "POST",
                "/cart/add",
                body,
                Some(id),
                Step::CartAdd,
                stack,
                ctx,
            );
        } else {
            self.send(
                "POST",
                "/checkout",
                Vec::new(),
                Some(id),
                Step::Checkout,
                stack,
                ctx,
            );
        }
    }

    fn end_session(
        &mut self,
        id: SessionId,
        outcome: SessionOutcome,
        checked_out: Option<u32>,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
    ) {
        let session = self.sessions.remove(&id).expect("ending a live session");
        if let Some(h) = session.socket {
            stack.tcp(h).close();
            self.lingering.push((h, ctx.now));
        }
        *ctx.metrics.sessions.outcomes.entry(outcome).or_default() += 1;
        ctx.record(Event::SessionEnded {
            session: id,
            client: ctx.host,
            added: session.added,
            checked_out,
            outcome,
        });
    }
}

/// Method and target of a raw request, for the trace (empty when unreadable).
fn first_line(bytes: &[u8]) -> (String, String) {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let text = String::from_utf8_lossy(line);
    let mut parts = text.split_whitespace();
    let method = parts.next().unwrap_or("").chars().take(16).collect();
    let path = parts.next().unwrap_or("").chars().take(256).collect();
    (method, path)
}
