//! A host: its addresses, its link, its smoltcp stack and the one application it runs.
//!
//! The world services a host ([`World::service`]) when a packet reached it, when one of its
//! applications acted, or when smoltcp asked to be polled: the stack is polled, the
//! application reacts once, the stack is polled again to send what it wrote, and the packets
//! it produced go on the host's link.

use std::net::Ipv4Addr;

use crate::apps::client::HttpClient;
use crate::apps::game::{GamePlayer, GameServer, HttpGamePlayer};
use crate::apps::server::HttpServer;
use crate::apps::{AppTimer, Ctx};
use crate::ids::HostId;
use crate::lb::Balancer;
use crate::net::Link;
use crate::rng::Stream;
use crate::scenario::Fault;
use crate::stack::{Stack, StateChange};
use crate::time::{Duration, Instant};
use crate::trace::Event as TraceEvent;

use super::{Event, Role, World};

/// What runs on a host: exactly one application (a backend's HTTP server may have a game
/// server beside it, on its own port).
pub(crate) enum App {
    /// The balancer position: the L4 balancer or L7 proxy, with its health checks.
    Balancer(Box<Balancer>),
    /// A backend: pool index `index`, its HTTP server and, with a game port, a game server.
    Backend {
        /// Index in the balancer's pool (and the metrics' backend list).
        index: usize,
        /// The HTTP server.
        server: Box<HttpServer>,
        /// The UDP game server, if the backend has a game port.
        game: Option<Box<GameServer>>,
    },
    /// An HTTP client (a client group's host, or the request composer).
    Client(Box<HttpClient>),
    /// A game player over UDP.
    Player(Box<GamePlayer>),
    /// A game player over HTTP.
    HttpPlayer(Box<HttpGamePlayer>),
}

impl App {
    /// What the host is for.
    pub(crate) fn role(&self) -> Role {
        match self {
            App::Balancer(_) => Role::Balancer,
            App::Backend { .. } => Role::Backend,
            App::Client(_) => Role::Client,
            App::Player(_) | App::HttpPlayer(_) => Role::Player,
        }
    }

    /// Lets the application react after a poll of its stack; whether it wrote or closed
    /// something (and the stack must be polled again to send it).
    fn react(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        match self {
            App::Backend {
                index,
                server,
                game,
            } => {
                let mut acted = server.react(stack, ctx, *index);
                if let Some(g) = game.as_mut() {
                    acted |= g.react(stack);
                }
                acted
            }
            App::Client(c) => c.react(stack, ctx),
            App::Player(p) => {
                p.react(stack, ctx);
                false
            }
            App::HttpPlayer(p) => p.react(stack, ctx),
            App::Balancer(b) => b.react(stack, ctx),
        }
    }

    /// Fires one of the application's timers; false when it found nothing to do (a stale
    /// deadline).
    fn on_timer(&mut self, timer: AppTimer, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        match (self, timer) {
            (App::Backend { index, server, .. }, AppTimer::WorkerDone { job }) => {
                server.worker_done(job, stack, ctx, *index)
            }
            (App::Client(c), AppTimer::RequestDeadline { .. } | AppTimer::SessionNext { .. }) => {
                c.on_timer(timer, stack, ctx)
            }
            (App::Player(p), AppTimer::GameTick) => {
                p.tick(stack, ctx);
                true
            }
            (App::HttpPlayer(p), AppTimer::GameTick) => {
                p.tick(ctx);
                true
            }
            (
                App::Balancer(b),
                AppTimer::HealthProbe { .. }
                | AppTimer::HealthDeadline { .. }
                | AppTimer::ConntrackSweep
                | AppTimer::ProxyHandshake { .. }
                | AppTimer::ProxyRoute { .. }
                | AppTimer::ProxyWrite { .. }
                | AppTimer::ProxyDeadline { .. }
                | AppTimer::OutlierEnd { .. },
            ) => b.on_timer(timer, stack, ctx),
            _ => false,
        }
    }
}

/// One host of the world.
pub(crate) struct Host {
    pub(crate) name: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) gateway: Ipv4Addr,
    pub(crate) extra_addresses: Vec<Ipv4Addr>,
    /// Its link to the balancer position (`None` for the balancer position itself).
    pub(crate) link: Option<Link>,
    pub(crate) stack: Stack,
    /// Seeds of the host's stacks: a reboot draws the next.
    pub(crate) stack_seeds: Stream,
    pub(crate) up: bool,
    pub(crate) fault: Fault,
    /// The poll event in the queue, if any (an earlier one replaces it).
    pub(crate) scheduled_poll: Option<Instant>,
    pub(crate) app: App,
}

impl Host {
    /// What the host is for.
    pub(crate) fn role(&self) -> Role {
        self.app.role()
    }

    /// A stack as after a boot: the host's addresses, no sockets, the next seed.
    pub(crate) fn fresh_stack(&mut self, now: Instant) -> Stack {
        let mut addresses = vec![self.address];
        addresses.extend_from_slice(&self.extra_addresses);
        Stack::new(
            &addresses,
            self.gateway,
            self.stack_seeds.next_u64(),
            now,
            self.stack.spares(),
        )
    }

    /// The HTTP server, if the host is a backend.
    pub(crate) fn server(&self) -> Option<&HttpServer> {
        match &self.app {
            App::Backend { server, .. } => Some(server),
            _ => None,
        }
    }

    /// The HTTP client, if the host is one.
    pub(crate) fn client(&self) -> Option<&HttpClient> {
        match &self.app {
            App::Client(c) => Some(c),
            _ => None,
        }
    }

    /// Everything in the applications' memory is lost (a crash), or they start empty (a
    /// reboot).
    pub(crate) fn reset_apps(&mut self) {
        if let App::Backend { server, game, .. } = &mut self.app {
            server.reset();
            if let Some(g) = game.as_mut() {
                g.reset();
            }
        }
    }
}

impl World {
    /// Runs `f` with host `h` and a context for its applications.
    pub(crate) fn with_ctx<R>(
        &mut self,
        h: HostId,
        f: impl FnOnce(&mut Host, &mut Ctx<'_>) -> R,
    ) -> R {
        let now = self.now;
        let World {
            hosts,
            queue,
            trace,
            metrics,
            ids,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            host: h,
            queue,
            trace,
            metrics,
            ids,
        };
        f(&mut hosts[h.index()], &mut ctx)
    }

    /// Fires an application timer; false when it found nothing to do (a stale deadline).
    pub(super) fn timer(&mut self, h: HostId, timer: AppTimer) -> bool {
        let acted = self.with_ctx(h, |host, ctx| {
            host.app.on_timer(timer, &mut host.stack, ctx)
        });
        if acted {
            self.service(h);
        }
        acted
    }

    /// Polls a host's stack, lets its application react until it is done, sends what it
    /// produced and schedules its next poll.
    pub(crate) fn service(&mut self, h: HostId) {
        let now = self.now;
        let World {
            hosts,
            queue,
            trace,
            metrics,
            ids,
            changes,
            ..
        } = self;
        let host = &mut hosts[h.index()];
        if !host.up {
            return;
        }
        let mut ctx = Ctx {
            now,
            host: h,
            queue,
            trace,
            metrics,
            ids,
        };
        // Poll (what arrived, and timers), let the application react once, and poll again
        // only to send what it wrote: that second poll receives nothing new, so the
        // application has nothing more to react to.
        host.stack.poll(now);
        record_changes(&mut host.stack, changes, &mut ctx);
        if host.app.react(&mut host.stack, &mut ctx) {
            host.stack.poll(now);
            record_changes(&mut host.stack, changes, &mut ctx);
        }
        let mut sent = std::mem::take(&mut self.sent);
        host.stack.take_sent(&mut sent);
        let next = host.stack.poll_at(now);
        for bytes in sent.drain(..) {
            self.transmit(h, bytes, None);
        }
        self.sent = sent;
        if let Some(t) = next {
            // Never re-poll at the same instant: smoltcp's deadline has passed only if it
            // wants to send, which the poll above already did.
            let t = if t <= now {
                now + Duration::from_micros(1)
            } else {
                t
            };
            let host = &mut self.hosts[h.index()];
            if host.scheduled_poll.is_none_or(|s| s > t) {
                host.scheduled_poll = Some(t);
                self.queue.push(t, Event::Poll { host: h });
            }
        }
    }
}

/// Records the TCP state changes of a host's sockets.
fn record_changes(stack: &mut Stack, scratch: &mut Vec<StateChange>, ctx: &mut Ctx<'_>) {
    stack.state_changes(scratch);
    for c in scratch.drain(..) {
        ctx.record(TraceEvent::Connection {
            host: ctx.host,
            local: c.local,
            remote: c.remote,
            from: c.from,
            to: c.to,
        });
    }
}
