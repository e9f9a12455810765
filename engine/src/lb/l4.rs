//! The layer-4 path: the connection table and what happens to each packet of a flow.
//!
//! A flow is a (protocol, client address, client port, service port) that reached the virtual
//! IP. Its first packet — a TCP SYN, or any UDP datagram — picks a backend and creates the
//! entry; every later packet follows the entry, so a connection never changes backend
//! mid-stream whatever the algorithm does next. In NAT mode replies are matched by the
//! (backend, client) pair and their source is rewritten back to the virtual IP.
//!
//! Per-flow TCP state is what a middlebox can see: SYN seen, established, a FIN seen, closed
//! (FIN both ways, or a RST). Each state has its idle timeout; a periodic sweep forgets flows
//! whose time is up. The table is bounded: a new flow in a full table evicts the oldest. Flow
//! look-ups use hash maps; nothing iterates them, so their order never reaches the trace.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, SocketAddrV4};

use rustc_hash::FxHashMap;

use crate::ids::FlowId;
use crate::scenario::ConntrackSpec;
use crate::time::{Duration, Instant};
use crate::trace::FlowEndReason;
use crate::wire::nat::Protocol;
use crate::wire::{TcpFlags, Transport};

/// Where a flow stands, as far as the balancer can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    /// A SYN was forwarded; no handshake completion seen yet.
    SynSeen,
    /// Data may flow.
    Established,
    /// A FIN was seen in one direction.
    Closing,
    /// FIN both ways, or a RST: kept briefly for stray segments.
    Closed,
    /// A UDP flow (no state beyond idleness).
    Udp,
}

impl FlowState {
    /// Whether the flow counts as an active connection for least-connections.
    pub fn active(self) -> bool {
        !matches!(self, FlowState::Closed)
    }
}

/// A connection-table entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    /// Id, in creation order.
    pub id: FlowId,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The client's address and port.
    pub client: SocketAddrV4,
    /// The virtual IP's port the client reached.
    pub service_port: u16,
    /// Pool index of the backend.
    pub backend: usize,
    /// The backend's address and port.
    pub backend_addr: SocketAddrV4,
    /// State.
    pub state: FlowState,
    fin_from_client: bool,
    fin_from_backend: bool,
    /// Last packet seen, either way.
    pub last_seen: Instant,
}

/// A connection-table key: protocol and two endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key(Protocol, SocketAddrV4, SocketAddrV4);

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        // One 64-bit and one 32-bit write: the whole key, cheaply.
        let a = u64::from(u32::from(*self.1.ip())) << 16 | u64::from(self.1.port());
        let b = u64::from(u32::from(*self.2.ip())) << 16 | u64::from(self.2.port());
        h.write_u64(a ^ b.rotate_left(29));
        h.write_u32(self.0 as u32);
    }
}

/// What a packet does to its flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// It belongs to this flow (slot in the table).
    Known(u32),
    /// It would start a flow (a SYN, or UDP).
    New,
    /// A TCP segment that cannot start a flow and matches none.
    Stray,
}

/// Counters kept by the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConntrackCounts {
    /// Flows created.
    pub created: u64,
    /// Flows forgotten after their timeout (including closed ones).
    pub expired: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Flows removed because their backend went down or left.
    pub removed: u64,
    /// The most flows held at once.
    pub peak: u64,
}

/// Memory one flow takes in the table: its slot, its two hash-index entries (with hashbrown's
/// control byte each) and its age entry. Table slack and tree nodes come on top, so this is a
/// floor.
pub const FLOW_BYTES: usize = core::mem::size_of::<Option<Flow>>()
    + 2 * (core::mem::size_of::<(Key, u32)>() + 1)
    + core::mem::size_of::<(FlowId, u32)>();

/// The connection table.
#[derive(Debug)]
pub struct Conntrack {
    spec: ConntrackSpec,
    slots: Vec<Option<Flow>>,
    free: Vec<u32>,
    by_client: FxHashMap<Key, u32>,
    by_backend: FxHashMap<Key, u32>,
    /// Creation order, for eviction.
    age: BTreeMap<FlowId, u32>,
    next_id: u64,
    /// Active flows per backend (pool index).
    active: Vec<u32>,
    /// What happened so far.
    pub counts: ConntrackCounts,
}

impl Conntrack {
    /// An empty table.
    pub fn new(spec: ConntrackSpec) -> Self {
        Conntrack {
            spec,
            slots: Vec::new(),
            free: Vec::new(),
            by_client: FxHashMap::default(),
            by_backend: FxHashMap::default(),
            age: BTreeMap::new(),
            next_id: 0,
            active: Vec::new(),
            counts: ConntrackCounts::default(),
        }
    }

    /// Flows held.
    pub fn len(&self) -> usize {
        self.age.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
    }

    /// Active flows per backend.
    pub fn active(&self, backend: usize) -> u32 {
        self.active.get(backend).copied().unwrap_or(0)
    }

    /// The flow in `slot`.
    pub fn flow(&self, slot: u32) -> &Flow {
        self.slots[slot as usize].as_ref().expect("a live slot")
    }

    /// Every flow, in slot order.
    pub fn flows(&self) -> impl Iterator<Item = &Flow> {
        self.slots.iter().flatten()
    }

    /// Classifies a packet from a client to the service port.
    pub fn lookup_inbound(
        &self,
        protocol: Protocol,
        client: SocketAddrV4,
        service_port: u16,
        syn: bool,
    ) -> Lookup {
        let key = Key(
            protocol,
            client,
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, service_port),
        );
        match self.by_client.get(&key) {
            // A new SYN on the 4-tuple of a closed flow starts over (port reuse).
            Some(&slot) if !(syn && self.flow(slot).state == FlowState::Closed) => {
                Lookup::Known(slot)
            }
            _ if protocol == Protocol::Udp || syn => Lookup::New,
            _ => Lookup::Stray,
        }
    }

    /// The flow a backend's reply belongs to (NAT mode).
    pub fn lookup_outbound(
        &self,
        protocol: Protocol,
        backend: SocketAddrV4,
        client: SocketAddrV4,
    ) -> Option<u32> {
        self.by_backend
            .get(&Key(protocol, backend, client))
            .copied()
    }

    /// The oldest flow, which a full table evicts.
    pub fn oldest(&self) -> Option<u32> {
        self.age.values().next().copied()
    }

    /// Whether a new flow needs room first.
    pub fn full(&self) -> bool {
        self.len() >= self.spec.max_flows as usize
    }

    /// Creates a flow; the caller made room.
    pub fn insert(
        &mut self,
        protocol: Protocol,
        client: SocketAddrV4,
        service_port: u16,
        backend: usize,
        backend_addr: SocketAddrV4,
        now: Instant,
    ) -> u32 {
        let state = match protocol {
            Protocol::Tcp => FlowState::SynSeen,
            Protocol::Udp => FlowState::Udp,
        };
        self.next_id += 1;
        let id = FlowId(self.next_id);
        // A closed flow on the same 4-tuple is replaced.
        let key = Key(
            protocol,
            client,
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, service_port),
        );
        if let Some(&old) = self.by_client.get(&key) {
            self.remove(old);
            self.counts.expired += 1;
        }
        let flow = Flow {
            id,
            protocol,
            client,
            service_port,
            backend,
            backend_addr,
            state,
            fin_from_client: false,
            fin_from_backend: false,
            last_seen: now,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(flow);
                s
            }
            None => {
                self.slots.push(Some(flow));
                (self.slots.len() - 1) as u32
            }
        };
        self.by_client.insert(key, slot);
        self.by_backend
            .insert(Key(protocol, backend_addr, client), slot);
        self.age.insert(id, slot);
        if self.active.len() <= backend {
            self.active.resize(backend + 1, 0);
        }
        self.active[backend] += 1;
        self.counts.created += 1;
        self.counts.peak = self.counts.peak.max(self.len() as u64);
        slot
    }

    /// Removes a flow and returns it.
    pub fn remove(&mut self, slot: u32) -> Flow {
        let flow = self.slots[slot as usize].take().expect("a live slot");
        self.free.push(slot);
        let key = Key(
            flow.protocol,
            flow.client,
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, flow.service_port),
        );
        self.by_client.remove(&key);
        self.by_backend
            .remove(&Key(flow.protocol, flow.backend_addr, flow.client));
        self.age.remove(&flow.id);
        if flow.state.active() {
            self.active[flow.backend] -= 1;
        }
        flow
    }

    /// Updates a flow's state for a packet seen now, from the client or from the backend.
    pub fn observe(&mut self, slot: u32, transport: &Transport, from_client: bool, now: Instant) {
        let flow = self.slots[slot as usize].as_mut().expect("a live slot");
        flow.last_seen = now;
        let Transport::Tcp { flags, .. } = *transport else {
            return;
        };
        let was_active = flow.state.active();
        flow.state = next_state(flow, flags, from_client);
        if was_active && !flow.state.active() {
            self.active[flow.backend] -= 1;
        }
    }

    /// Flows whose timeout has passed, in slot order, with why they ended.
    pub fn expired(&self, now: Instant) -> Vec<(u32, FlowEndReason)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(slot, f)| {
                let f = f.as_ref()?;
                (now - f.last_seen >= self.timeout(f.state)).then(|| {
                    let reason = if f.state == FlowState::Closed {
                        FlowEndReason::Closed
                    } else {
                        FlowEndReason::Timeout
                    };
                    (slot as u32, reason)
                })
            })
            .collect()
    }

    /// Slots of the flows pinned to `backend`.
    pub fn of_backend(&self, backend: usize) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, f)| f.as_ref().is_some_and(|f| f.backend == backend))
            .map(|(s, _)| s as u32)
            .collect()
    }

    fn timeout(&self, state: FlowState) -> Duration {
        match state {
            FlowState::SynSeen => self.spec.tcp_syn_timeout,
            FlowState::Established => self.spec.tcp_idle_timeout,
            FlowState::Closing => self.spec.tcp_fin_timeout,
            FlowState::Closed => self.spec.tcp_closed_timeout,
            FlowState::Udp => self.spec.udp_timeout,
        }
    }
}

fn next_state(flow: &mut Flow, flags: TcpFlags, from_client: bool) -> FlowState {
    // A closed flow stays closed: a late FIN or ACK after a RST does not reopen it (a new SYN
    // on the same 4-tuple starts a new flow instead).
    if flow.state == FlowState::Closed || flags.rst {
        return FlowState::Closed;
    }
    if flags.fin {
        if from_client {
            flow.fin_from_client = true;
        } else {
            flow.fin_from_backend = true;
        }
        return if flow.fin_from_client && flow.fin_from_backend {
            FlowState::Closed
        } else {
            FlowState::Closing
        };
    }
    match flow.state {
        // The client's ACK after the handshake (a balancer in DSR mode never sees the
        // SYN-ACK, only this).
        FlowState::SynSeen if from_client && flags.ack && !flags.syn => FlowState::Established,
        s => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(syn: bool, ack: bool, fin: bool, rst: bool) -> Transport {
        Transport::Tcp {
            src_port: 1,
            dst_port: 80,
            flags: TcpFlags {
                syn,
                ack,
                fin,
                rst,
                psh: false,
            },
            seq: 0,
            ack: 0,
        }
    }

    fn client(port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), port)
    }

    const BACKEND: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 11), 80);

    #[test]
    fn a_connection_lives_and_closes() {
        let mut t = Conntrack::new(ConntrackSpec::default());
        let now = Instant::ZERO;
        assert_eq!(
            t.lookup_inbound(Protocol::Tcp, client(5), 80, true),
            Lookup::New
        );
        assert_eq!(
            t.lookup_inbound(Protocol::Tcp, client(5), 80, false),
            Lookup::Stray
        );
        let s = t.insert(Protocol::Tcp, client(5), 80, 0, BACKEND, now);
        assert_eq!(
            t.lookup_inbound(Protocol::Tcp, client(5), 80, false),
            Lookup::Known(s)
        );
        assert_eq!(
            t.lookup_outbound(Protocol::Tcp, BACKEND, client(5)),
            Some(s)
        );
        assert_eq!(t.active(0), 1);
        t.observe(s, &tcp(true, true, false, false), false, now); // SYN-ACK
        assert_eq!(t.flow(s).state, FlowState::SynSeen);
        t.observe(s, &tcp(false, true, false, false), true, now); // ACK
        assert_eq!(t.flow(s).state, FlowState::Established);
        t.observe(s, &tcp(false, true, true, false), true, now);
        assert_eq!(t.flow(s).state, FlowState::Closing);
        t.observe(s, &tcp(false, true, true, false), false, now);
        assert_eq!(t.flow(s).state, FlowState::Closed);
        assert_eq!(t.active(0), 0, "a closed flow is not active");
        // Kept for the closed timeout, then forgotten.
        assert!(t.expired(Instant::from_secs(9)).is_empty());
        assert_eq!(
            t.expired(Instant::from_secs(10)),
            vec![(s, FlowEndReason::Closed)]
        );
        t.remove(s);
        assert!(t.is_empty());
        assert_eq!(t.lookup_outbound(Protocol::Tcp, BACKEND, client(5)), None);
    }

    #[test]
    fn idle_flows_time_out_by_state() {
        let mut t = Conntrack::new(ConntrackSpec::default());
        let syn = t.insert(Protocol::Tcp, client(1), 80, 0, BACKEND, Instant::ZERO);
        let udp = t.insert(Protocol::Udp, client(2), 7777, 0, BACKEND, Instant::ZERO);
        assert_eq!(
            t.expired(Instant::from_secs(30)),
            vec![(syn, FlowEndReason::Timeout), (udp, FlowEndReason::Timeout)]
        );
        let mut t = Conntrack::new(ConntrackSpec::default());
        let s = t.insert(Protocol::Tcp, client(1), 80, 0, BACKEND, Instant::ZERO);
        t.observe(s, &tcp(false, true, false, false), true, Instant::ZERO);
        assert!(
            t.expired(Instant::from_secs(899)).is_empty(),
            "established lasts 15 min"
        );
    }

    #[test]
    fn a_late_fin_does_not_reopen_a_reset_flow() {
        let mut t = Conntrack::new(ConntrackSpec::default());
        let s = t.insert(Protocol::Tcp, client(1), 80, 0, BACKEND, Instant::ZERO);
        t.observe(s, &tcp(false, false, false, true), false, Instant::ZERO); // RST
        assert_eq!(t.active(0), 0);
        t.observe(s, &tcp(false, true, true, false), true, Instant::ZERO); // a late FIN
        assert_eq!(t.flow(s).state, FlowState::Closed);
        assert_eq!(t.active(0), 0);
        t.remove(s);
        assert_eq!(t.active(0), 0, "no underflow");
    }

    #[test]
    fn a_reset_closes_and_the_oldest_is_evictable() {
        let mut t = Conntrack::new(ConntrackSpec {
            max_flows: 2,
            ..ConntrackSpec::default()
        });
        let a = t.insert(Protocol::Tcp, client(1), 80, 0, BACKEND, Instant::ZERO);
        let _b = t.insert(Protocol::Tcp, client(2), 80, 1, BACKEND, Instant::ZERO);
        assert!(t.full());
        assert_eq!(t.oldest(), Some(a));
        t.observe(a, &tcp(false, false, false, true), false, Instant::ZERO);
        assert_eq!(t.flow(a).state, FlowState::Closed);
        // A new SYN on a closed flow's 4-tuple starts a new flow.
        assert_eq!(
            t.lookup_inbound(Protocol::Tcp, client(1), 80, true),
            Lookup::New
        );
    }
}
