//! The inspector's packet: its layers, its bytes and, for a packet the balancer rewrote, the
//! packet before and after with what changed.

use std::ops::Range;

use lbsim::ids::{HostId, PacketId};
use lbsim::sim::World;
use lbsim::time::Instant;
use lbsim::trace::{Event, RewriteKind};
use lbsim::wire::dissect::{self, Layer};

use super::events::Names;

/// A packet for the inspector.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketDetail {
    /// The transmission.
    pub id: PacketId,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Sender and receiver names.
    pub route: String,
    /// When it was sent, and when it arrives (or was dropped).
    pub sent: Instant,
    /// Its layers.
    pub layers: Vec<Layer>,
    /// If the balancer rewrote it: the other side of the rewrite.
    pub rewrite: Option<Rewrite>,
}

/// A balancer rewrite: the packet as it arrived and as it left.
#[derive(Clone, Debug, PartialEq)]
pub struct Rewrite {
    /// What was done.
    pub what: &'static str,
    /// As it arrived.
    pub before: Vec<u8>,
    /// As it left.
    pub after: Vec<u8>,
    /// Bytes that differ (in `after`'s offsets).
    pub changed: Vec<Range<usize>>,
    /// Fields that changed: (name, before, after).
    pub fields: Vec<(String, String, String)>,
}

fn sent_bytes(world: &World, id: PacketId) -> Option<(Instant, HostId, HostId, Vec<u8>)> {
    world.trace().records().rev().find_map(|r| match &r.event {
        Event::PacketSent {
            packet,
            from,
            to,
            bytes,
            ..
        } if *packet == id => Some((r.at, *from, *to, bytes.to_vec())),
        _ => None,
    })
}

/// The inspector's view of packet `id`, if the trace still holds it.
pub fn packet_detail(world: &World, id: PacketId) -> Option<PacketDetail> {
    let names = Names::of_world(world);
    let (sent, from, to, bytes) = sent_bytes(world, id)?;
    let rewrite = world.trace().records().rev().find_map(|r| match &r.event {
        Event::Rewritten {
            rewrite,
            packet_in,
            packet_out,
            ..
        } if *packet_in == id || *packet_out == id => Some((*rewrite, *packet_in, *packet_out)),
        _ => None,
    });
    let rewrite = rewrite.and_then(|(kind, pin, pout)| {
        let before = sent_bytes(world, pin)?.3;
        let after = sent_bytes(world, pout)?.3;
        let changed = dissect::changed(&before, &after);
        let (lb, la) = (dissect::dissect(&before), dissect::dissect(&after));
        let mut fields = Vec::new();
        if kind != RewriteKind::Encapsulated {
            for (x, y) in lb.iter().zip(&la) {
                for (f, g) in x.fields.iter().zip(&y.fields) {
                    if f.name == g.name && f.value != g.value {
                        fields.push((f.name.clone(), f.value.clone(), g.value.clone()));
                    }
                }
            }
        }
        Some(Rewrite {
            what: match kind {
                RewriteKind::ToBackend => {
                    "Destination rewritten from the virtual IP to the backend"
                }
                RewriteKind::ToClient => "Source rewritten from the backend back to the virtual IP",
                RewriteKind::Encapsulated => {
                    "Encapsulated in an outer IPv4 header (IP-in-IP) to the backend"
                }
            },
            before,
            after,
            changed,
            fields,
        })
    });
    Some(PacketDetail {
        id,
        layers: dissect::dissect(&bytes),
        route: format!("{} → {}", names.get(from), names.get(to)),
        bytes,
        sent,
        rewrite,
    })
}
