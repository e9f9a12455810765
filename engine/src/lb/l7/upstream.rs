//! The proxy's upstream side: routing a parsed request to a backend, the upstream
//! connection it opens from the inner address, the retry of an idempotent request when the
//! backend refuses or resets, and the response relayed back to the client's connection.

use std::fmt::Write;

use super::*;

impl Proxy {
    /// Routes the request of connection `conn` and sends it to a backend.
    pub(super) fn dispatch(
        &mut self,
        conn: u64,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) {
        self.refresh(shared.pool);
        let Some(di) = self.downs.index(conn) else {
            return;
        };
        self.downs.mark(di);
        let d = &mut self.downs[di];
        let Some(p) = d.pending.as_mut() else { return };
        let peer = d.peer;
        let https = d.tls.is_some();
        let route = *p.route.get_or_insert_with(|| self.router.route(&p.request));
        let pool = &mut self.pools[route.pool];
        if p.tried.is_empty() {
            count_key(&mut self.stats.per_pool, &pool.name);
            let key = &mut self.key;
            key.clear();
            match route.rule {
                Some(r) => write!(key, "rule {r}").expect("a String takes any text"),
                None => key.push_str("default"),
            }
            count_key(&mut self.stats.per_rule, key);
        }
        // Candidates this time: ready, and not already tried for this request.
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clone_from(&pool.candidates);
        for (c, &member) in candidates.iter_mut().zip(&pool.members) {
            if p.tried.contains(&member) {
                c.ready = false;
            }
        }
        let cookie_backend = pool
            .sticky
            .as_ref()
            .and_then(|name| p.request.headers.cookie(name))
            .and_then(|value| candidates.iter().position(|c| *c.name == *value));
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
        self.candidates = candidates;
        let backend = chosen.map(|k| pool.members[k]);
        let host = backend.map(|b| shared.pool[b].host);
        ctx.record(Event::Decision {
            flow: None,
            client: peer,
            backend: host,
            algorithm,
            explanation: Box::new(explanation),
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
            route: Box::new(ProxyRoute {
                method: p.request.method.clone(),
                path: p.request.target.clone(),
                host: p.request.authority().unwrap_or("").to_string(),
                rule: route.rule.map(|r| r as u32),
                pool: pool.name.clone(),
            }),
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
            u.idle && u.backend == b && stack.tcp_ref(u.handle).state() == State::Established
        });
        let id = self.id();
        let generation = id;
        match reuse {
            Some(k) => {
                self.ups.mark(k);
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

    /// Whether serving upstream connection `i` would do nothing now: looked at without
    /// touching its socket, so the next poll of the stack need not take it.
    fn up_is_quiet(&self, i: usize, stack: &Stack) -> bool {
        let u = &self.ups[i];
        let socket = stack.tcp_ref(u.handle);
        let state = socket.state();
        if u.closing || (u.idle && state != State::Established) {
            !matches!(state, State::Closed | State::TimeWait | State::CloseWait)
        } else if u.idle {
            true
        } else if !u.established {
            matches!(state, State::SynSent | State::SynReceived)
        } else {
            let can_write = u.sent < u.request.len() && socket.can_send();
            !can_write && !socket.can_recv() && socket.may_recv() && u.inbuf.is_empty()
        }
    }

    pub(super) fn serve_up(
        &mut self,
        i: usize,
        stack: &mut Stack,
        ctx: &mut Ctx<'_>,
        shared: &mut Shared<'_>,
    ) -> (bool, bool) {
        if self.up_is_quiet(i, stack) {
            return (true, false);
        }
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
                .get(down)
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
        let Some(d) = self.downs.get_mut(down) else {
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
        let Some(d) = self.downs.get_mut(down) else {
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
}
