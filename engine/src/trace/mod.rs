//! What happened, as typed events.
//!
//! Every packet transmission, delivery and drop, every connection state change, request,
//! session and fault is a [`Record`] in a bounded ring ([`Trace`]): the newest `capacity`
//! records are kept, older ones are counted and forgotten, so memory stays bounded however long
//! the world runs. Packet records keep the packet's bytes for the inspector.
//!
//! Each record has a canonical one-line JSON form. When enabled, the trace folds every line into
//! an FNV-1a digest, which is how tests show that a scenario and seed give the same event log
//! natively and in wasm.

mod kinds;
mod pcap;

use std::net::SocketAddrV4;
use std::rc::Rc;

use serde::{Serialize, Serializer};

use kinds::display;
pub use kinds::{
    DropReason, FlowEndReason, HealthState, Outcome, PoolChange, ProbeResult, ProxyError,
    RewriteKind, SessionOutcome, SettingChange, TcpState,
};
pub use pcap::{CapturePoint, PcapCapture};

use crate::balance::Why;
use crate::ids::{FlowId, HostId, PacketId, RequestId, SessionId};
use crate::rng::fnv1a64;
use crate::scenario::Fault;
use crate::time::{Duration, Instant};
use crate::wire::nat::Protocol;

/// Packet bytes, shared between the packet in flight and the trace: one allocation, made at
/// the packet's size when it is built (a packet is never resized after).
pub type Bytes = Rc<[u8]>;

/// A copy of `packet` changed by `edit` (a rewrite in place), and what `edit` returned.
pub fn edited_copy<R>(packet: &[u8], edit: impl FnOnce(&mut [u8]) -> R) -> (Bytes, R) {
    let mut copy = Bytes::from(packet);
    let result = edit(Rc::get_mut(&mut copy).expect("a new copy has one owner"));
    (copy, result)
}

fn hex<S: Serializer>(bytes: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes.iter() {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    s.serialize_str(&out)
}

/// Something that happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A packet was put on a link (`arrives` is `None` when the queue dropped it at once).
    PacketSent {
        /// This transmission.
        packet: PacketId,
        /// Sending host.
        from: HostId,
        /// Host at the link's far end.
        to: HostId,
        /// When it reaches `to`.
        arrives: Option<Instant>,
        /// The packet this one was forwarded from, if a router or balancer forwarded it.
        #[serde(skip_serializing_if = "Option::is_none")]
        cause: Option<PacketId>,
        /// The IPv4 packet.
        #[serde(serialize_with = "hex")]
        bytes: Bytes,
    },
    /// A packet reached its link's far end and was accepted there.
    PacketDelivered {
        /// The transmission.
        packet: PacketId,
        /// Receiving host.
        host: HostId,
    },
    /// A packet ended without being delivered.
    PacketDropped {
        /// The transmission.
        packet: PacketId,
        /// Where it was dropped.
        host: HostId,
        /// Why.
        reason: DropReason,
    },
    /// A TCP connection changed state.
    Connection {
        /// Host of the socket.
        host: HostId,
        /// Local endpoint.
        local: SocketAddrV4,
        /// Remote endpoint.
        remote: SocketAddrV4,
        /// State before.
        from: TcpState,
        /// State now.
        to: TcpState,
    },
    /// A client began a request.
    RequestStarted {
        /// The request.
        request: RequestId,
        /// Client host.
        client: HostId,
        /// Session it belongs to, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        session: Option<SessionId>,
        /// Method and request target.
        #[serde(flatten)]
        line: Box<RequestLine>,
        /// Where it is sent.
        target: SocketAddrV4,
        /// The client's end of the connection it goes on.
        local: SocketAddrV4,
    },
    /// A server answered a request.
    RequestServed {
        /// Server host.
        host: HostId,
        /// Peer that sent the request.
        peer: SocketAddrV4,
        /// Method and request target.
        #[serde(flatten)]
        line: Box<RequestLine>,
        /// Status sent.
        status: u16,
        /// Time the request spent queued and in service.
        service: Duration,
    },
    /// A request ended, as its client saw it.
    RequestEnded {
        /// The request.
        request: RequestId,
        /// Client host.
        client: HostId,
        /// Classification.
        outcome: Outcome,
        /// Response status, when a response arrived.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        /// Time from start to outcome.
        latency: Duration,
    },
    /// A shopping session ended.
    SessionEnded {
        /// The session.
        session: SessionId,
        /// Client host.
        client: HostId,
        /// Items added successfully.
        added: u32,
        /// Items the checkout found, if it completed.
        #[serde(skip_serializing_if = "Option::is_none")]
        checked_out: Option<u32>,
        /// Classification.
        outcome: SessionOutcome,
    },
    /// The balancer chose a backend for a new flow (or found none ready).
    Decision {
        /// The flow created, if a backend was chosen.
        #[serde(skip_serializing_if = "Option::is_none")]
        flow: Option<FlowId>,
        /// The client.
        client: SocketAddrV4,
        /// The chosen backend.
        #[serde(skip_serializing_if = "Option::is_none")]
        backend: Option<HostId>,
        /// The algorithm (or `sticky_cookie` when the proxy's cookie chose).
        algorithm: &'static str,
        /// What it weighed (its JSON form is its words).
        #[serde(serialize_with = "display")]
        explanation: Box<Why>,
    },
    /// A flow entered the balancer's connection table.
    FlowStarted {
        /// The flow.
        flow: FlowId,
        /// TCP or UDP.
        protocol: Protocol,
        /// The client's address and port.
        client: SocketAddrV4,
        /// The virtual service it reached.
        service: SocketAddrV4,
        /// The backend host.
        backend: HostId,
        /// Where its packets now go.
        to: SocketAddrV4,
    },
    /// A flow left the connection table.
    FlowEnded {
        /// The flow.
        flow: FlowId,
        /// Why.
        reason: FlowEndReason,
    },
    /// The balancer forwarded a packet of a flow, changed as `rewrite` says: `packet_in` as it
    /// arrived, `packet_out` as it left.
    Rewritten {
        /// The flow.
        flow: FlowId,
        /// What was done.
        rewrite: RewriteKind,
        /// The packet as it arrived.
        packet_in: PacketId,
        /// The packet as it left.
        packet_out: PacketId,
    },
    /// A health probe ended.
    HealthProbe {
        /// Backend host.
        backend: HostId,
        /// How.
        result: ProbeResult,
    },
    /// A backend's health changed.
    HealthChanged {
        /// Backend host.
        backend: HostId,
        /// The new state.
        state: HealthState,
    },
    /// A setting of the world changed while it ran: a network's links, the health checks, a
    /// group's rate or mix.
    SettingChanged {
        /// What changed.
        #[serde(serialize_with = "display")]
        change: Box<SettingChange>,
    },
    /// The pool changed: a backend added, removed, drained or re-weighted, or the algorithm.
    PoolChanged {
        /// What changed.
        #[serde(serialize_with = "display")]
        change: PoolChange,
        /// Client addresses whose backend changed (hashing algorithms only).
        #[serde(skip_serializing_if = "Option::is_none")]
        mappings_moved: Option<u32>,
        /// Client addresses considered.
        clients: u32,
        /// Existing flows pinned to a backend that can no longer take new ones.
        flows_affected: u32,
    },
    /// The proxy routed a request.
    ProxyRequest {
        /// Client connection at the proxy.
        conn: u64,
        /// The client.
        client: SocketAddrV4,
        /// The request and where the rules sent it.
        #[serde(flatten)]
        route: Box<ProxyRoute>,
        /// The backend chosen, if any was ready.
        #[serde(skip_serializing_if = "Option::is_none")]
        backend: Option<HostId>,
        /// Whether this is a retry on another backend.
        retry: bool,
    },
    /// The proxy answered a request (relaying the backend's response, or its own error).
    ProxyResponse {
        /// Client connection at the proxy.
        conn: u64,
        /// Status sent to the client.
        status: u16,
        /// The backend that answered, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        backend: Option<HostId>,
        /// Why the proxy answered itself, if it did.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<ProxyError>,
    },
    /// Outlier detection ejected a backend until a time.
    BackendEjected {
        /// Backend host.
        backend: HostId,
        /// When it may come back.
        until: Instant,
    },
    /// A backend's fault changed.
    FaultSet {
        /// Backend host.
        host: HostId,
        /// The fault now in force.
        fault: Fault,
    },
}

/// A request's method and target, as an event names them (boxed in the events: a record of
/// the trace stays small, and most records are packets).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RequestLine {
    /// Method.
    pub method: String,
    /// Request target.
    pub path: String,
}

/// A request the proxy routed, and where its rules sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProxyRoute {
    /// Method.
    pub method: String,
    /// Request target.
    pub path: String,
    /// Host header.
    pub host: String,
    /// Index of the rule that matched, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<u32>,
    /// The pool.
    pub pool: String,
}

/// One event with its time and sequence number.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    /// Position in the whole log, from 0, gap-free.
    pub seq: u64,
    /// Simulated time.
    pub at: Instant,
    /// What happened.
    #[serde(flatten)]
    pub event: Event,
}

impl Record {
    /// The canonical one-line JSON form.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("records always serialise")
    }
}

/// The bounded event ring.
///
/// Once full, a new record is written over the oldest in place: the oldest is dropped where it
/// lies, without first being moved out of a memory line that has long left the caches.
#[derive(Debug)]
pub struct Trace {
    /// The records held; once `capacity` are, `head` is the oldest.
    records: Vec<Record>,
    head: usize,
    capacity: usize,
    next_seq: u64,
    digest: Option<u64>,
}

impl Trace {
    /// A ring keeping the newest `capacity` records.
    pub fn new(capacity: usize) -> Self {
        Trace {
            records: Vec::with_capacity(capacity.min(1 << 16)),
            head: 0,
            capacity,
            next_seq: 0,
            digest: None,
        }
    }

    /// Starts folding every record from now on into a digest of the event log.
    pub fn enable_digest(&mut self) {
        self.digest.get_or_insert(0xcbf2_9ce4_8422_2325);
    }

    /// The digest of every record since [`Trace::enable_digest`], if enabled.
    pub fn digest(&self) -> Option<u64> {
        self.digest
    }

    /// Appends an event.
    pub fn push(&mut self, at: Instant, event: Event) {
        let record = Record {
            seq: self.next_seq,
            at,
            event,
        };
        self.next_seq += 1;
        if let Some(d) = self.digest.as_mut() {
            let mut line = record.to_line();
            line.push('\n');
            // Continue FNV-1a from the running state.
            let mut h = *d;
            for &b in line.as_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            *d = h;
        }
        if self.capacity == 0 {
            return;
        }
        if self.records.len() < self.capacity {
            self.records.push(record);
        } else {
            self.records[self.head] = record;
            self.head = if self.head + 1 == self.capacity {
                0
            } else {
                self.head + 1
            };
        }
    }

    /// The `i`th record held, oldest first (`i` below the number held).
    fn at(&self, i: usize) -> &Record {
        &self.records[(self.head + i) % self.records.len()]
    }

    /// The `i`th record held, oldest first, if there are that many.
    fn nth(&self, i: usize) -> Option<&Record> {
        (i < self.records.len()).then(|| self.at(i))
    }

    /// Records still held, oldest first.
    pub fn records(&self) -> impl DoubleEndedIterator<Item = &Record> + ExactSizeIterator {
        (0..self.records.len()).map(|i| self.at(i))
    }

    /// Records with `seq >= from` still held, oldest first.
    pub fn since(&self, from: u64) -> impl Iterator<Item = &Record> {
        let first = self.nth(0).map_or(self.next_seq, |r| r.seq);
        let skip = from.saturating_sub(first).min(self.records.len() as u64) as usize;
        self.records().skip(skip)
    }

    /// The record with sequence number `seq`, if still held.
    pub fn get(&self, seq: u64) -> Option<&Record> {
        let first = self.nth(0)?.seq;
        self.nth(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    /// Sequence number the next record will get (= records ever pushed).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The ring's capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The digest of a sequence of lines, as [`Trace::digest`] computes it.
pub fn digest_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut text = Vec::new();
    for l in lines {
        text.extend_from_slice(l.as_bytes());
        text.push(b'\n');
    }
    fnv1a64(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(host: u32) -> Event {
        Event::FaultSet {
            host: HostId(host),
            fault: Fault::Crash,
        }
    }

    #[test]
    fn ring_keeps_the_newest_and_counts_all() {
        let mut t = Trace::new(3);
        for i in 0..5 {
            t.push(Instant::from_micros(i), fault(i as u32));
        }
        let seqs: Vec<u64> = t.records().map(|r| r.seq).collect();
        assert_eq!(seqs, [2, 3, 4]);
        assert_eq!(t.next_seq(), 5);
        assert_eq!(t.since(3).map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(t.since(0).count(), 3);
        assert_eq!(t.get(4).map(|r| r.seq), Some(4));
        assert_eq!(t.get(1), None);
        // Around the ring more than once, read both ways.
        for i in 5..11 {
            t.push(Instant::from_micros(i), fault(i as u32));
        }
        let newest_first: Vec<u64> = t.records().rev().map(|r| r.seq).collect();
        assert_eq!(newest_first, [10, 9, 8]);
        assert_eq!(t.records().len(), 3);
        assert_eq!(t.get(9).map(|r| r.at), Some(Instant::from_micros(9)));
        assert_eq!((t.get(7), t.get(11)), (None, None));
        assert_eq!(t.since(9).map(|r| r.seq).collect::<Vec<_>>(), [9, 10]);
    }

    #[test]
    fn a_record_is_no_larger_than_a_packet_record_needs() {
        // A record is written for every packet sent and delivered, and the ring is the largest
        // thing a busy world writes: rarer events box what would make every record larger
        // (a packet's event is 64 bytes with its tag; the time and sequence make 80).
        let size = std::mem::size_of::<Record>();
        assert!(size <= 80, "a record takes {size} bytes");
    }

    #[test]
    fn digest_equals_fnv_of_the_log_lines() {
        let mut t = Trace::new(10);
        t.enable_digest();
        t.push(Instant::from_micros(1), fault(1));
        t.push(Instant::from_micros(2), fault(2));
        let lines: Vec<String> = t.records().map(Record::to_line).collect();
        assert_eq!(
            lines[0],
            r#"{"seq":0,"at":1,"kind":"fault_set","host":1,"fault":"crash"}"#
        );
        assert_eq!(
            t.digest(),
            Some(digest_lines(lines.iter().map(String::as_str)))
        );
    }
}
