//! The balancer at the balancer position: its pool of backends, the selector, health checks,
//! the CPU it spends per packet, and (in [`l4`]) the layer-4 forwarding path.
//!
//! The world hands the balancer every packet that reaches the virtual IP's balanced ports and,
//! in NAT mode, every reply of a known flow. The balancer answers with a [`Verdict`]: forward
//! these bytes to that host once the CPU is done with them, drop with a reason, or answer the
//! sender with a reset. The world then sends what the balancer decided.

pub mod l4;
pub mod l7;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use serde::Serialize;

use crate::apps::{AppTimer, Ctx};
use crate::balance::{Algorithm, Candidate, Decision, Name, Selector};
use crate::health::{BackendHealth, HealthState, ProbeResult, Prober};
use crate::ids::{FlowId, HostId};
use crate::rng::Stream;
use crate::scenario::{BalancerSpec, HealthSpec, Mode, OnBackendDown, UnknownSegment};
use crate::stack::Stack;
use crate::time::{Duration, Instant};
use crate::trace::{
    edited_copy, Bytes, DropReason, Event, FlowEndReason, PoolChange as TracedChange, RewriteKind,
};
use crate::wire::nat::{self, End, Protocol};
use crate::wire::{PacketInfo, Transport};

use l4::{Conntrack, Lookup};
use l7::{Proxy, Shared};

/// A backend as the balancer knows it.
#[derive(Clone, Debug)]
pub struct PoolEntry {
    /// Its host.
    pub host: HostId,
    /// Name.
    pub name: Name,
    /// Address.
    pub address: Ipv4Addr,
    /// HTTP port (where TCP flows go).
    pub http_port: u16,
    /// Game port (where UDP flows go), if it runs a game server.
    pub game_port: Option<u16>,
    /// Weight.
    pub weight: u32,
    /// Drained: no new flows.
    pub drained: bool,
    /// Removed from the pool for good.
    pub removed: bool,
    /// Health-check state and history.
    pub health: BackendHealth,
}

impl PoolEntry {
    /// Healthy, not drained, not removed.
    pub fn ready(&self) -> bool {
        !self.drained && !self.removed && self.health.state == HealthState::Up
    }
}

/// What to do with a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send `bytes` to host `to` when the CPU is done (`at`).
    Forward {
        /// The packet as it leaves.
        bytes: Bytes,
        /// The host it goes to.
        to: HostId,
        /// When it leaves the balancer.
        at: Instant,
        /// The flow and what was done to the packet.
        rewrite: (FlowId, RewriteKind),
    },
    /// Drop it.
    Drop(DropReason),
    /// Drop it and send this reset back (from the virtual IP), when the CPU is done.
    Reset {
        /// The reset packet.
        bytes: Bytes,
        /// When it leaves.
        at: Instant,
    },
    /// Not the balancer's business: route it as the router would.
    Route,
}

/// A change of the pool, as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolChange {
    /// When.
    pub at: Instant,
    /// What, in words.
    pub change: String,
    /// Client addresses whose backend changed (hashing algorithms only).
    pub mappings_moved: Option<u32>,
    /// Client addresses considered.
    pub clients: u32,
    /// Flows pinned to a backend that no longer takes new ones.
    pub flows_affected: u32,
}

/// A health transition, as reported.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthTransition {
    /// When.
    pub at: Instant,
    /// Backend name.
    pub backend: String,
    /// The new state.
    pub state: HealthState,
}

/// The CPU modelled as one FIFO queue.
#[derive(Clone, Debug, Default)]
struct Cpu {
    free_at: Instant,
    /// Completion times of packets admitted and not yet done.
    pending: VecDeque<Instant>,
    /// Packets processed.
    processed: u64,
    /// Time spent busy.
    busy: Duration,
}

impl Cpu {
    /// Queues work of `cost`: when it is done, or `None` when `limit` items already wait.
    fn admit(&mut self, now: Instant, cost: Duration, limit: u32) -> Option<Instant> {
        while self.pending.front().is_some_and(|&t| t <= now) {
            self.pending.pop_front();
        }
        if self.pending.len() >= limit as usize {
            return None;
        }
        let start = if self.free_at > now {
            self.free_at
        } else {
            now
        };
        let done = start + cost;
        self.free_at = done;
        self.pending.push_back(done);
        self.processed += 1;
        self.busy = self.busy + cost;
        Some(done)
    }
}

/// The balancer.
#[derive(Debug)]
pub struct Balancer {
    spec: BalancerSpec,
    seed: u64,
    /// Backends, in the order they joined.
    pub pool: Vec<PoolEntry>,
    candidates: Vec<Candidate>,
    selector: Selector,
    prober: Option<Prober>,
    /// Bumped by each change of the check settings: probe timers of an older epoch are stale.
    health_epoch: u32,
    /// The connection table (L4).
    pub conntrack: Conntrack,
    /// The reverse proxy (L7).
    pub proxy: Option<Proxy>,
    cpu: Cpu,
    clients: Vec<Ipv4Addr>,
    sweep_scheduled: bool,
    ident: u16,
    /// Health transitions so far.
    pub transitions: Vec<HealthTransition>,
    /// Pool changes so far.
    pub changes: Vec<PoolChange>,
}

impl Balancer {
    /// A balancer for `pool`; `clients` are the addresses remaps are counted over.
    pub fn new(
        spec: BalancerSpec,
        pool: Vec<PoolEntry>,
        clients: Vec<Ipv4Addr>,
        seed: u64,
    ) -> Self {
        let candidates = candidates(&pool, &Conntrack::new(spec.conntrack));
        let selector = Selector::new(
            spec.algorithm,
            &candidates,
            spec.maglev_table_size,
            Stream::new(seed, &format!("balancer/{}", spec.algorithm.name())),
        );
        let proxy = (spec.mode == Mode::L7).then(|| {
            Proxy::new(
                &spec.l7,
                spec.port,
                spec.inner,
                spec.algorithm,
                spec.maglev_table_size,
                &pool,
                seed,
            )
        });
        Balancer {
            proxy,
            seed,
            prober: spec.health.clone().map(|h| Prober::new(h, spec.inner)),
            health_epoch: 0,
            conntrack: Conntrack::new(spec.conntrack),
            spec,
            pool,
            candidates,
            selector,
            cpu: Cpu::default(),
            clients,
            sweep_scheduled: false,
            ident: 0,
            transitions: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// The settings.
    pub fn spec(&self) -> &BalancerSpec {
        &self.spec
    }

    /// The algorithm in use.
    pub fn algorithm(&self) -> Algorithm {
        self.selector.algorithm()
    }

    /// For a hashing algorithm at layer 4, the backend `client` maps to now (what its next
    /// connection gets), without side effects; `None` for other algorithms, at layer 7, or
    /// when no backend is ready.
    pub fn mapping(&self, client: Ipv4Addr) -> Option<HostId> {
        if self.proxy.is_some() || !self.selector.algorithm().is_hash() {
            return None;
        }
        self.selector
            .mapping(client, &self.candidates)
            .map(|b| self.pool[b].host)
    }

    /// Consecutive probes needed to go down and to come back up, when checks run.
    pub fn thresholds(&self) -> Option<(u32, u32)> {
        self.spec.health.as_ref().map(|h| (h.fall, h.rise))
    }

    /// Flows in the connection table (layer 4).
    pub fn flows(&self) -> usize {
        self.conntrack.len()
    }

    /// Packets the CPU processed, and the time it was busy.
    pub fn cpu(&self) -> (u64, Duration) {
        (self.cpu.processed, self.cpu.busy)
    }

    /// The first health probe of each backend, spread over one interval (as HAProxy starts its
    /// checks, so probes do not come in bursts); each later one follows the end of the one
    /// before.
    pub fn schedule_first_probes(&self, ctx: &mut Ctx<'_>) {
        let Some(h) = &self.spec.health else { return };
        let n = self.pool.len().max(1) as u64;
        for b in 0..self.pool.len() {
            let offset = Duration::from_micros(h.interval.as_micros() * b as u64 / n);
            ctx.schedule(
                ctx.now + offset,
                AppTimer::HealthProbe {
                    backend: b as u32,
                    epoch: self.health_epoch,
                },
            );
        }
    }

    /// Changes the health checks at the current time: new settings (or none) and a fresh
    /// round of probes spread over the new interval. A probe in flight finishes under the
    /// settings it started with. Without checks every backend counts as up, as a server without
    /// `check` does in HAProxy.
    pub fn set_health(&mut self, health: Option<HealthSpec>, ctx: &mut Ctx<'_>) {
        self.health_epoch += 1;
        if let Some(h) = &health {
            match self.prober.as_mut() {
                Some(p) => p.set_spec(h.clone()),
                None => self.prober = Some(Prober::new(h.clone(), self.spec.inner)),
            }
        }
        self.spec.health = health;
        if self.spec.health.is_some() {
            self.schedule_first_probes(ctx);
            return;
        }
        let mut changed = false;
        for e in &mut self.pool {
            if e.health.state != HealthState::Up {
                e.health = BackendHealth::default();
                changed = true;
                ctx.record(Event::HealthChanged {
                    backend: e.host,
                    state: HealthState::Up,
                });
                self.transitions.push(HealthTransition {
                    at: ctx.now,
                    backend: e.name.to_string(),
                    state: HealthState::Up,
                });
            }
        }
        if changed {
            self.refresh_candidates();
        }
    }

    /// Admits a packet to the CPU queue: when it will be done, or `None` when the queue is full.
    fn admit(&mut self, now: Instant) -> Option<Instant> {
        self.cpu
            .admit(now, self.spec.cpu.per_packet, self.spec.cpu.queue_packets)
    }

    fn refresh_candidates(&mut self) {
        self.candidates = candidates(&self.pool, &self.conntrack);
        self.selector.rebuild(&self.candidates);
        if let Some(p) = self.proxy.as_mut() {
            p.refresh(&self.pool);
        }
    }

    /// Runs `f` on the proxy with the pool and the CPU it shares with the balancer.
    fn with_proxy<R>(&mut self, f: impl FnOnce(&mut Proxy, &mut Shared<'_>) -> R) -> Option<R> {
        let Balancer {
            proxy,
            pool,
            cpu,
            spec,
            ..
        } = self;
        let proxy = proxy.as_mut()?;
        let limit = spec.cpu.queue_packets;
        let mut admit = |now: Instant, cost: Duration| cpu.admit(now, cost, limit);
        let mut shared = Shared {
            pool,
            cpu: &mut admit,
        };
        Some(f(proxy, &mut shared))
    }

    /// The layer-4 path for a packet from a client to a balanced port of the virtual IP.
    pub fn inbound(&mut self, bytes: &[u8], info: &PacketInfo, ctx: &mut Ctx<'_>) -> Verdict {
        let (protocol, sport, dport, syn) = match info.transport {
            Transport::Tcp {
                src_port,
                dst_port,
                flags,
                ..
            } => (Protocol::Tcp, src_port, dst_port, flags.is_initial_syn()),
            Transport::Udp { src_port, dst_port } => (Protocol::Udp, src_port, dst_port, false),
            Transport::Other(_) => return Verdict::Route,
        };
        let client = SocketAddrV4::new(info.src, sport);
        let slot = match self.conntrack.lookup_inbound(protocol, client, dport, syn) {
            Lookup::Known(slot) => slot,
            Lookup::Stray => {
                return match self.spec.conntrack.unknown_segment {
                    UnknownSegment::Drop => Verdict::Drop(DropReason::NoFlow),
                    UnknownSegment::Reset => match (nat::reset_for(bytes), self.admit(ctx.now)) {
                        (Some(rst), Some(at)) => Verdict::Reset {
                            bytes: Bytes::from(rst),
                            at,
                        },
                        (None, _) => Verdict::Drop(DropReason::NoFlow),
                        (_, None) => Verdict::Drop(DropReason::Overload),
                    },
                };
            }
            Lookup::New => match self.new_flow(protocol, client, dport, ctx) {
                Some(slot) => slot,
                None => return Verdict::Drop(DropReason::NoBackend),
            },
        };
        let Some(at) = self.admit(ctx.now) else {
            return Verdict::Drop(DropReason::Overload);
        };
        self.conntrack.observe(slot, &info.transport, true, ctx.now);
        let flow = self.conntrack.flow(slot);
        let to = self.pool[flow.backend].host;
        let (out, kind) = match self.spec.mode {
            Mode::L4Dsr => {
                self.ident = self.ident.wrapping_add(1);
                let outer =
                    nat::encapsulate(bytes, self.spec.inner, *flow.backend_addr.ip(), self.ident);
                (Bytes::from(outer), RewriteKind::Encapsulated)
            }
            _ => {
                let (out, rewritten) = edited_copy(bytes, |out| {
                    let to = flow.backend_addr;
                    nat::rewrite(out, End::Destination, *to.ip(), to.port())
                });
                rewritten.expect("a parsed TCP/UDP packet rewrites");
                (out, RewriteKind::ToBackend)
            }
        };
        Verdict::Forward {
            bytes: out,
            to,
            at,
            rewrite: (flow.id, kind),
        }
    }

    /// The NAT return path: a backend's packet to a client of a known flow. `None` when the
    /// packet belongs to no flow.
    pub fn outbound(
        &mut self,
        bytes: &[u8],
        info: &PacketInfo,
        now: Instant,
    ) -> Option<(Bytes, Instant, FlowId)> {
        let (protocol, sport, dport) = match info.transport {
            Transport::Tcp {
                src_port, dst_port, ..
            } => (Protocol::Tcp, src_port, dst_port),
            Transport::Udp { src_port, dst_port } => (Protocol::Udp, src_port, dst_port),
            Transport::Other(_) => return None,
        };
        let slot = self.conntrack.lookup_outbound(
            protocol,
            SocketAddrV4::new(info.src, sport),
            SocketAddrV4::new(info.dst, dport),
        )?;
        let at = self.admit(now)?;
        self.conntrack.observe(slot, &info.transport, false, now);
        let flow = self.conntrack.flow(slot);
        let (vip, port) = (self.spec.vip, flow.service_port);
        let (out, rewritten) = edited_copy(bytes, |out| nat::rewrite(out, End::Source, vip, port));
        rewritten.expect("a parsed TCP/UDP packet rewrites");
        Some((out, at, flow.id))
    }

    /// Whether a packet from the server side would be dropped for overload (for the caller to
    /// tell a full CPU from an unknown flow).
    pub fn overloaded(&mut self, now: Instant) -> bool {
        while self.cpu.pending.front().is_some_and(|&t| t <= now) {
            self.cpu.pending.pop_front();
        }
        self.cpu.pending.len() >= self.spec.cpu.queue_packets as usize
    }

    fn new_flow(
        &mut self,
        protocol: Protocol,
        client: SocketAddrV4,
        service_port: u16,
        ctx: &mut Ctx<'_>,
    ) -> Option<u32> {
        for (b, c) in self.candidates.iter_mut().enumerate() {
            c.active = self.conntrack.active(b);
        }
        let decision = self.selector.pick(*client.ip(), &self.candidates);
        let chosen = decision.chosen.and_then(|b| {
            let e = &self.pool[b];
            let port = match protocol {
                Protocol::Tcp => Some(e.http_port),
                Protocol::Udp => e.game_port,
            };
            port.map(|p| (b, SocketAddrV4::new(e.address, p)))
        });
        let Some((b, backend_addr)) = chosen else {
            record_decision(ctx, None, client, None, decision);
            return None;
        };
        if self.conntrack.full() {
            let oldest = self.conntrack.oldest().expect("a full table has flows");
            let flow = self.conntrack.remove(oldest);
            self.conntrack.counts.evicted += 1;
            ctx.record(Event::FlowEnded {
                flow: flow.id,
                reason: FlowEndReason::Evicted,
            });
        }
        let slot = self
            .conntrack
            .insert(protocol, client, service_port, b, backend_addr, ctx.now);
        let flow = self.conntrack.flow(slot);
        let host = self.pool[b].host;
        record_decision(ctx, Some(flow.id), client, Some(host), decision);
        ctx.record(Event::FlowStarted {
            flow: flow.id,
            protocol,
            client,
            service: SocketAddrV4::new(self.spec.vip, service_port),
            backend: host,
            to: backend_addr,
        });
        ctx.metrics.backends[b].decisions += 1;
        if !self.sweep_scheduled {
            self.sweep_scheduled = true;
            ctx.schedule(ctx.now + Duration::from_secs(1), AppTimer::ConntrackSweep);
        }
        Some(slot)
    }

    /// Handles one of the balancer's timers; whether it acted on the stack.
    pub fn on_timer(&mut self, timer: AppTimer, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        match timer {
            AppTimer::HealthProbe { backend, epoch } => {
                let b = backend as usize;
                let e = &self.pool[b];
                if e.removed || epoch != self.health_epoch || self.spec.health.is_none() {
                    return false;
                }
                let target = SocketAddrV4::new(e.address, e.http_port);
                if let Some(p) = self.prober.as_mut() {
                    p.start(b, target, epoch, stack, ctx);
                    return true;
                }
                false
            }
            AppTimer::HealthDeadline { backend, probe } => {
                let result = self
                    .prober
                    .as_mut()
                    .and_then(|p| p.deadline(backend as usize, probe, stack));
                match result {
                    Some((r, epoch)) => {
                        self.probe_ended(backend as usize, r, epoch, ctx);
                        true
                    }
                    None => false,
                }
            }
            AppTimer::ProxyHandshake { .. }
            | AppTimer::ProxyRoute { .. }
            | AppTimer::ProxyWrite { .. }
            | AppTimer::ProxyDeadline { .. }
            | AppTimer::OutlierEnd { .. } => self
                .with_proxy(|p, shared| p.on_timer(timer, stack, ctx, shared))
                .unwrap_or(false),
            AppTimer::ConntrackSweep => {
                for (slot, reason) in self.conntrack.expired(ctx.now) {
                    let flow = self.conntrack.remove(slot);
                    self.conntrack.counts.expired += 1;
                    ctx.record(Event::FlowEnded {
                        flow: flow.id,
                        reason,
                    });
                }
                if self.conntrack.is_empty() {
                    self.sweep_scheduled = false;
                } else {
                    ctx.schedule(ctx.now + Duration::from_secs(1), AppTimer::ConntrackSweep);
                }
                false
            }
            _ => false,
        }
    }

    /// Reacts after a poll of the balancer's stack (health probes); whether it needs another
    /// poll.
    /// Reacts after a poll of the balancer's stack (proxy, health probes); whether it needs
    /// another poll.
    pub fn react(&mut self, stack: &mut Stack, ctx: &mut Ctx<'_>) -> bool {
        let mut acted = self
            .with_proxy(|p, shared| p.react(stack, ctx, shared))
            .unwrap_or(false);
        let Some(prober) = self.prober.as_mut() else {
            return acted;
        };
        let ended = prober.react(stack, ctx.now);
        acted |= prober.needs_poll();
        for (b, result, epoch) in ended {
            self.probe_ended(b, result, epoch, ctx);
        }
        acted
    }

    /// A probe of `b` ended: count it, and start the next `interval` from now (HAProxy's
    /// scheduling) unless the check settings changed since (`epoch`: the new round has its own).
    fn probe_ended(&mut self, b: usize, result: ProbeResult, epoch: u32, ctx: &mut Ctx<'_>) {
        let Some(h) = &self.spec.health else { return };
        let (rise, fall) = (h.rise, h.fall);
        if epoch == self.health_epoch {
            ctx.schedule(
                ctx.now + h.interval,
                AppTimer::HealthProbe {
                    backend: b as u32,
                    epoch,
                },
            );
        }
        let host = self.pool[b].host;
        ctx.record(Event::HealthProbe {
            backend: host,
            result,
        });
        if let Some(state) = self.pool[b].health.record(ctx.now, result, rise, fall) {
            ctx.record(Event::HealthChanged {
                backend: host,
                state,
            });
            self.transitions.push(HealthTransition {
                at: ctx.now,
                backend: self.pool[b].name.to_string(),
                state,
            });
            self.refresh_candidates();
            if state == HealthState::Down {
                self.backend_gone(b, ctx);
            }
        }
    }

    /// Applies the down-backend policy to `b`'s flows; how many it had.
    fn backend_gone(&mut self, b: usize, ctx: &mut Ctx<'_>) -> u32 {
        let slots = self.conntrack.of_backend(b);
        let n = slots.len() as u32;
        if self.spec.on_backend_down == OnBackendDown::Remove {
            for slot in slots {
                let flow = self.conntrack.remove(slot);
                self.conntrack.counts.removed += 1;
                ctx.record(Event::FlowEnded {
                    flow: flow.id,
                    reason: FlowEndReason::BackendGone,
                });
            }
        }
        n
    }

    /// Changes the pool or the algorithm, reporting how many client mappings and flows moved.
    pub fn change(&mut self, what: PoolEdit, ctx: &mut Ctx<'_>) {
        let before: Vec<Option<usize>> = self
            .clients
            .iter()
            .map(|&c| self.selector.mapping(c, &self.candidates))
            .collect();
        let was_hash = self.selector.algorithm().is_hash();
        // What changed, and the backend (if any) that takes no new flows because of it; its
        // flows are affected, and removed when it leaves the pool and the policy says so.
        let (change, stopped, leaves) = match what {
            PoolEdit::Weight(b, weight) => {
                self.pool[b].weight = weight;
                let backend = self.pool[b].name.to_string();
                (TracedChange::Weight { backend, weight }, None, false)
            }
            PoolEdit::Drain(b, drained) => {
                self.pool[b].drained = drained;
                let backend = self.pool[b].name.to_string();
                (
                    TracedChange::Drain { backend, drained },
                    drained.then_some(b),
                    false,
                )
            }
            PoolEdit::Add(entry) => {
                let backend = entry.name.to_string();
                self.pool.push(entry);
                if let Some(p) = self.proxy.as_mut() {
                    p.add_backend(self.pool.len() - 1);
                }
                if self.spec.health.is_some() {
                    let b = (self.pool.len() - 1) as u32;
                    ctx.schedule(
                        ctx.now,
                        AppTimer::HealthProbe {
                            backend: b,
                            epoch: self.health_epoch,
                        },
                    );
                }
                (TracedChange::Added { backend }, None, false)
            }
            PoolEdit::Remove(b) => {
                self.pool[b].removed = true;
                let backend = self.pool[b].name.to_string();
                (TracedChange::Removed { backend }, Some(b), true)
            }
            PoolEdit::Algorithm(a) => {
                self.selector = Selector::new(
                    a,
                    &self.candidates,
                    self.spec.maglev_table_size,
                    Stream::new(self.seed, &format!("balancer/{}", a.name())),
                );
                if let Some(p) = self.proxy.as_mut() {
                    p.set_algorithm(a, self.spec.maglev_table_size);
                }
                (TracedChange::Algorithm(a), None, false)
            }
        };
        self.refresh_candidates();
        let flows_affected = match stopped {
            Some(b) if leaves => self.backend_gone(b, ctx),
            Some(b) => self.conntrack.of_backend(b).len() as u32,
            None => 0,
        };
        let mappings_moved = (was_hash && self.selector.algorithm().is_hash()).then(|| {
            self.clients
                .iter()
                .zip(&before)
                .filter(|&(&c, was)| self.selector.mapping(c, &self.candidates) != *was)
                .count() as u32
        });
        let clients = self.clients.len() as u32;
        ctx.record(Event::PoolChanged {
            change: change.clone(),
            mappings_moved,
            clients,
            flows_affected,
        });
        self.changes.push(PoolChange {
            at: ctx.now,
            change: change.to_string(),
            mappings_moved,
            clients,
            flows_affected,
        });
    }
}

/// A change to the pool.
#[derive(Clone, Debug)]
pub enum PoolEdit {
    /// Re-weight backend `b`.
    Weight(usize, u32),
    /// Drain (true) or return (false) backend `b`.
    Drain(usize, bool),
    /// A new backend joins.
    Add(PoolEntry),
    /// Backend `b` leaves for good.
    Remove(usize),
    /// Another algorithm.
    Algorithm(Algorithm),
}

fn candidates(pool: &[PoolEntry], conntrack: &Conntrack) -> Vec<Candidate> {
    pool.iter()
        .enumerate()
        .map(|(i, e)| Candidate {
            name: e.name.clone(),
            weight: e.weight,
            member: !e.removed,
            ready: e.ready(),
            active: conntrack.active(i),
        })
        .collect()
}

fn record_decision(
    ctx: &mut Ctx<'_>,
    flow: Option<FlowId>,
    client: SocketAddrV4,
    backend: Option<HostId>,
    d: Decision,
) {
    ctx.record(Event::Decision {
        flow,
        client,
        backend,
        algorithm: d.algorithm,
        explanation: Box::new(d.why),
    });
}
