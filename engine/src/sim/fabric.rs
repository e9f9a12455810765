//! The packet fabric: the links between the hosts and the balancer position.
//!
//! A host's packet goes up its link to the balancer position; the balancer position's goes down
//! the link of the host that owns its destination address. Every transmission is traced (sent,
//! then delivered or dropped with a reason) and counted, and captured when a pcap capture runs.
//! At the balancer position a packet takes the layer-4 path (a [`Verdict`] from the balancer,
//! carried out once its CPU is done with it) or is routed as a router does (TTL decremented,
//! header checksum updated incrementally).

use crate::ids::{HostId, PacketId};
use crate::lb::Verdict;
use crate::net::{Direction, Transit};
use crate::scenario::Mode;
use crate::trace::{edited_copy, Bytes, DropReason, Event as TraceEvent, RewriteKind};
use crate::wire::{self, PacketInfo, Transport};

use super::host::App;
use super::queue::Stream;
use super::{Event, InFlight, Outgoing, Role, World, BALANCER};

/// The queue stream of the balancer's CPU: it finishes packets in the order it took them.
const CPU: Stream = Stream(0);

impl World {
    /// Puts a packet from `from` on the right link: a host's goes up to the balancer position;
    /// the balancer position's goes down to the host owning the destination address.
    pub(super) fn transmit(
        &mut self,
        from: HostId,
        bytes: Bytes,
        cause: Option<PacketId>,
    ) -> Option<PacketId> {
        let to = if from == BALANCER {
            let dst = PacketInfo::parse(&bytes).map(|i| i.dst);
            dst.and_then(|d| self.by_address.get(&d).copied())
                .filter(|&to| to != BALANCER)
        } else {
            Some(BALANCER)
        };
        match to {
            Some(to) => self.transmit_to(from, to, bytes, cause),
            None => {
                let packet = self.new_packet_id();
                self.trace.push(
                    self.now,
                    TraceEvent::PacketSent {
                        packet,
                        from,
                        to: BALANCER,
                        arrives: None,
                        cause,
                        bytes,
                    },
                );
                self.metrics.packet_sent(self.now);
                self.drop_packet(packet, BALANCER, DropReason::NoRoute);
                None
            }
        }
    }

    fn new_packet_id(&mut self) -> PacketId {
        self.next_packet += 1;
        PacketId(self.next_packet)
    }

    /// Puts a packet on the link between `from` and `to` (one of them the balancer position);
    /// returns its id when it left (not dropped by the queue).
    pub(super) fn transmit_to(
        &mut self,
        from: HostId,
        to: HostId,
        bytes: Bytes,
        cause: Option<PacketId>,
    ) -> Option<PacketId> {
        let now = self.now;
        let packet = self.new_packet_id();
        let (link_host, dir) = if from == BALANCER {
            (to, Direction::Down)
        } else {
            (from, Direction::Up)
        };
        let link = self.hosts[link_host.index()]
            .link
            .as_mut()
            .expect("every host but the balancer has a link");
        let side = link.side;
        let transit = link.wire(dir).offer(now, bytes.len());
        let arrives = match transit {
            Transit::Arrives { at, .. } => Some(at),
            Transit::QueueFull => None,
        };
        if let Some(c) = self.capture.as_mut() {
            if arrives.is_some() {
                c.record(now, side, &bytes);
            }
        }
        self.trace.push(
            now,
            TraceEvent::PacketSent {
                packet,
                from,
                to,
                arrives,
                cause,
                bytes: bytes.clone(),
            },
        );
        self.metrics.packet_sent(now);
        match transit {
            Transit::QueueFull => {
                self.drop_packet(packet, from, DropReason::QueueFull);
                None
            }
            Transit::Arrives { at, lost } => {
                self.queue.push(
                    at,
                    Event::Arrive(InFlight {
                        packet,
                        from,
                        to,
                        lost,
                        sent: now,
                        arrives: at,
                        cause,
                        bytes,
                    }),
                );
                Some(packet)
            }
        }
    }

    /// The balancer's CPU is done with a packet: it leaves on its link.
    pub(super) fn balancer_out(&mut self, out: Outgoing) {
        let Outgoing {
            bytes,
            to,
            cause,
            rewrite,
        } = out;
        let sent = self.transmit_to(BALANCER, to, bytes, Some(cause));
        if let (Some((flow, rewrite)), Some(packet_out)) = (rewrite, sent) {
            self.trace.push(
                self.now,
                TraceEvent::Rewritten {
                    flow,
                    rewrite,
                    packet_in: cause,
                    packet_out,
                },
            );
        }
    }

    pub(super) fn drop_packet(&mut self, packet: PacketId, host: HostId, reason: DropReason) {
        self.trace.push(
            self.now,
            TraceEvent::PacketDropped {
                packet,
                host,
                reason,
            },
        );
        self.metrics.packet_dropped(self.now, reason);
    }

    fn deliver(&mut self, packet: PacketId, host: HostId) {
        self.trace
            .push(self.now, TraceEvent::PacketDelivered { packet, host });
        self.metrics.packets.delivered += 1;
    }

    /// A packet reaches the far end of its link.
    pub(super) fn arrive(&mut self, p: InFlight) {
        if p.lost {
            return self.drop_packet(p.packet, p.to, DropReason::LinkLoss);
        }
        if p.to == BALANCER {
            return self.at_balancer(p);
        }
        let host = &mut self.hosts[p.to.index()];
        if !host.up {
            return self.drop_packet(p.packet, p.to, DropReason::HostDown);
        }
        // DSR: a tunnelled packet is unwrapped before the stack sees it.
        let bytes = match wire::nat::decapsulate(&p.bytes, host.address) {
            Some(inner) => Bytes::from(inner),
            None => p.bytes.clone(),
        };
        if let App::Backend { server, .. } = &host.app {
            let syn = PacketInfo::parse(&bytes).is_some_and(|i| i.is_syn_to(server.port()));
            if syn && server.backlog_full(&host.stack) {
                return self.drop_packet(p.packet, p.to, DropReason::BacklogFull);
            }
        }
        self.deliver(p.packet, p.to);
        self.hosts[p.to.index()].stack.receive(bytes);
        self.service(p.to);
    }

    fn at_balancer(&mut self, p: InFlight) {
        let Some(info) = PacketInfo::parse(&p.bytes) else {
            return self.drop_packet(p.packet, BALANCER, DropReason::Malformed);
        };
        let spec = &self.settings.balancer;
        if spec.mode.is_l4() {
            // To a balanced port of the virtual IP: the layer-4 path.
            let balanced = match info.transport {
                Transport::Tcp { dst_port, .. } => dst_port == spec.port,
                Transport::Udp { dst_port, .. } => dst_port == spec.udp_port,
                Transport::Other(_) => false,
            };
            if info.dst == spec.vip && balanced {
                let verdict = self.with_ctx(BALANCER, |host, ctx| match &mut host.app {
                    App::Balancer(b) => b.inbound(&p.bytes, &info, ctx),
                    _ => unreachable!("the balancer position has a balancer"),
                });
                return self.carry_out(p, verdict);
            }
            // A backend's reply to a client of a NAT flow: back through the balancer.
            if spec.mode == Mode::L4Nat && self.hosts[p.from.index()].role() == Role::Backend {
                let now = self.now;
                let b = self.balancer_mut();
                if let Some((bytes, at, flow)) = b.outbound(&p.bytes, &info, now) {
                    let to = self.by_address.get(&info.dst).copied();
                    let verdict = match to {
                        Some(to) => Verdict::Forward {
                            bytes,
                            to,
                            at,
                            rewrite: (flow, RewriteKind::ToClient),
                        },
                        None => Verdict::Drop(DropReason::NoRoute),
                    };
                    return self.carry_out(p, verdict);
                }
                if b.overloaded(now) {
                    return self.drop_packet(p.packet, BALANCER, DropReason::Overload);
                }
            }
        }
        // Everything else is routed: to the balancer's own stack, or on to the host that owns
        // the destination (in DSR mode, backends' replies take this path: no balancer work).
        match self.by_address.get(&info.dst).copied() {
            Some(BALANCER) => {
                self.deliver(p.packet, BALANCER);
                self.hosts[BALANCER.index()].stack.receive(p.bytes);
                self.service(BALANCER);
            }
            Some(_) => {
                let (bytes, ttl) = edited_copy(&p.bytes, wire::checksum::decrement_ttl);
                if ttl.is_none() {
                    return self.drop_packet(p.packet, BALANCER, DropReason::Malformed);
                }
                self.deliver(p.packet, BALANCER);
                self.transmit(BALANCER, bytes, Some(p.packet));
            }
            None => self.drop_packet(p.packet, BALANCER, DropReason::NoRoute),
        }
    }

    /// Does what the balancer decided for packet `p`.
    fn carry_out(&mut self, p: InFlight, verdict: Verdict) {
        match verdict {
            Verdict::Forward {
                bytes,
                to,
                at,
                rewrite,
            } => {
                self.deliver(p.packet, BALANCER);
                self.queue.push_in(
                    CPU,
                    at,
                    Event::BalancerOut(Outgoing {
                        bytes,
                        to,
                        cause: p.packet,
                        rewrite: Some(rewrite),
                    }),
                );
            }
            Verdict::Reset { bytes, at } => {
                self.drop_packet(p.packet, BALANCER, DropReason::NoFlow);
                self.queue.push_in(
                    CPU,
                    at,
                    Event::BalancerOut(Outgoing {
                        bytes,
                        to: p.from,
                        cause: p.packet,
                        rewrite: None,
                    }),
                );
            }
            Verdict::Drop(reason) => self.drop_packet(p.packet, BALANCER, reason),
            Verdict::Route => {
                self.deliver(p.packet, BALANCER);
                self.transmit(BALANCER, p.bytes, Some(p.packet));
            }
        }
    }
}
