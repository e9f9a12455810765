//! A host's network stack: one smoltcp `Interface` over an in-memory device, with each socket
//! in a socket set of its own.
//!
//! The device is two queues. Packets that reach the host are pushed on `rx`; polling the
//! interface lets smoltcp consume them and put what it sends on `tx`, which the world then
//! takes and hands to the host's link. The world polls a stack when a packet arrives, when an
//! application acted on a socket, or when smoltcp's own deadline (`poll_at`: retransmission,
//! delayed ACK, TIME-WAIT) comes — never in a loop.
//!
//! # Cost per packet, whatever the number of sockets
//!
//! smoltcp's `Interface::poll` walks every socket of the set it is given, on ingress (to find
//! the socket that accepts a packet) and on egress (to let each send). A busy backend or proxy
//! holding thousands of connections would pay for all of them on every packet. So each socket
//! lives in its own one-socket [`SocketSet`] (a *slot*), the stack keeps the indexes smoltcp's
//! walk stands for, and a poll hands smoltcp only the slots it concerns:
//!
//! - ingress: a received packet goes to the slot whose socket accepts it, found by its
//!   4-tuple, else (a packet without ACK or RST) the lowest listening slot on its port, else
//!   (UDP) the lowest slot bound to its port — the socket smoltcp's walk, in handle order,
//!   would have found first. A packet no socket accepts goes to an empty set, so smoltcp
//!   answers it as it would (a TCP RST, an ICMP port unreachable);
//! - egress: the slots that received a packet, that an application touched since the last poll
//!   (any mutable access counts), and whose smoltcp deadline (`poll_at`) has come, in slot
//!   order, one packet each per round as smoltcp's own egress loop goes; no other socket has
//!   anything to send.
//!
//! Slots are numbered as smoltcp numbers a set's handles (a freed slot is the next one used,
//! lowest first), and the one interface keeps smoltcp's randomness (initial sequence numbers)
//! in one stream, so the packets, their order and the state changes reported are those one
//! socket set would have given.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use smoltcp::iface::{Config, Interface, PollResult, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint};

use crate::time::Instant;
use crate::trace::{Bytes, TcpState};
use crate::wire::{PacketInfo, Transport};

/// The link MTU of every simulated interface (Ethernet's, without the Ethernet header).
pub const MTU: usize = 1500;

/// Default TCP socket buffer size (each way).
pub const TCP_BUFFER: usize = 16 * 1024;

/// Closed TCP sockets a world keeps for reuse, buffers and all, over all its stacks.
pub const SPARE_SOCKETS: usize = 256;

/// Closed TCP sockets kept for reuse by every stack of a world, by buffer sizes, at most
/// [`SPARE_SOCKETS`] in all.
///
/// One pool for the world rather than one per stack: ten thousand clients each keeping the
/// sockets of their busiest moment would hold gigabytes, while the churn that recycling
/// saves is the world's, not a host's. A spare is only reused for the buffer sizes it was made
/// with (the receive buffer is the window a peer sees), and every socket leaves the pool reset
/// and is connected or made to listen at once, so which host released it changes nothing.
#[derive(Default)]
pub struct SparePool {
    /// Spares by (receive, send) buffer size, few sizes, in the order first seen.
    by_size: Vec<((usize, usize), Vec<tcp::Socket<'static>>)>,
    /// Spares held, over all sizes.
    len: usize,
}

/// The world's [`SparePool`], shared by its stacks (the world is single-threaded).
pub type Spares = Rc<RefCell<SparePool>>;

impl SparePool {
    /// A spare socket with these buffer sizes, if one is kept.
    fn take(&mut self, rx: usize, tx: usize) -> Option<tcp::Socket<'static>> {
        let (_, sockets) = self
            .by_size
            .iter_mut()
            .find(|(size, _)| *size == (rx, tx))?;
        let socket = sockets.pop()?;
        self.len -= 1;
        Some(socket)
    }

    /// Keeps a closed socket for reuse, unless the pool is full (then it is dropped).
    fn put(&mut self, socket: tcp::Socket<'static>) {
        if self.len >= SPARE_SOCKETS {
            return;
        }
        let size = (socket.recv_capacity(), socket.send_capacity());
        self.len += 1;
        match self.by_size.iter_mut().find(|(s, _)| *s == size) {
            Some((_, sockets)) => sockets.push(socket),
            None => self.by_size.push((size, vec![socket])),
        }
    }
}

/// The in-memory device.
#[derive(Debug, Default)]
pub struct SimDevice {
    rx: VecDeque<Bytes>,
    tx: Vec<Bytes>,
}

impl Device for SimDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(
        &mut self,
        _now: smoltcp::time::Instant,
    ) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let packet = self.rx.pop_front()?;
        Some((RxToken(packet), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _now: smoltcp::time::Instant) -> Option<Self::TxToken<'_>> {
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = MTU;
        // Checksums are computed on send and verified on receive, as on a real host.
        caps
    }
}

/// A received packet handed to smoltcp.
#[doc(hidden)]
pub struct RxToken(Bytes);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Space for a packet smoltcp sends.
#[doc(hidden)]
pub struct TxToken<'a>(&'a mut Vec<Bytes>);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // Built at its size in one allocation, shared from here on without copying.
        let mut buffer: Bytes = std::iter::repeat_n(0, len).collect();
        let result = f(Rc::get_mut(&mut buffer).expect("a new buffer has one owner"));
        self.0.push(buffer);
        result
    }
}

/// A state change of a TCP socket seen between two polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// Local endpoint.
    pub local: SocketAddrV4,
    /// Remote endpoint.
    pub remote: SocketAddrV4,
    /// Before.
    pub from: TcpState,
    /// Now.
    pub to: TcpState,
}

/// A socket of a [`Stack`]: the number of its slot. Stable for the socket's life; a slot freed
/// by [`Stack::release_tcp`] or [`Stack::remove`] is reused, lowest first, as smoltcp reuses
/// the handles of a socket set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SocketHandle(u32);

impl SocketHandle {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// A connection's endpoints as the stack indexes them: (local, remote).
type Tuple = (SocketAddrV4, SocketAddrV4);

/// Last seen state and endpoints of a TCP socket, to report changes.
type Known = (TcpState, SocketAddrV4, SocketAddrV4);

/// One socket in a set of its own, and where the stack's indexes list it.
struct Slot {
    /// The set: holds at most one socket, always under the same smoltcp handle.
    set: SocketSet<'static>,
    /// The socket's smoltcp handle in `set`, while the slot is occupied.
    inner: Option<smoltcp::iface::SocketHandle>,
    /// The 4-tuple under which the slot is in `Stack::flows`.
    tuple: Option<Tuple>,
    /// The port under which the slot is in `Stack::listening`.
    listening: Option<u16>,
    /// The port under which the slot is in `Stack::udp`.
    udp_port: Option<u16>,
    /// The socket's smoltcp deadline as last read; `Stack::deadlines` holds an entry for it.
    deadline: Option<Instant>,
    /// Last state reported (TCP), kept after release until the next report.
    known: Option<Known>,
    /// Touched by an application since the last poll (it is in `Stack::touched`).
    touched: bool,
    /// Polled or freed since the last report (it is in `Stack::unreported`).
    unreported: bool,
    /// The poll (`Stack::polls`) that last handed the slot to smoltcp.
    polled: u64,
}

/// One host's stack.
pub struct Stack {
    iface: Interface,
    device: SimDevice,
    slots: Vec<Slot>,
    /// Free slots, reused lowest first.
    free: BTreeSet<u32>,
    /// Occupied TCP slots by 4-tuple (several only in the rare case a listener takes a
    /// connection whose 4-tuple an older socket still holds).
    flows: BTreeSet<(Tuple, u32)>,
    /// Listening TCP slots by port.
    listening: BTreeSet<(u16, u32)>,
    /// UDP slots by bound port.
    udp: BTreeSet<(u16, u32)>,
    /// smoltcp deadlines of the slots, earliest first, kept lazily: an entry `(t, s)` counts
    /// only while slot `s`'s deadline is `t`; the others are dropped when they come to the
    /// top, or all at once when they outnumber the slots. A deadline moves at almost every
    /// poll of its socket, and a push here is cheaper than a B-tree's remove and insert.
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
    /// Slots an application touched since the last poll.
    touched: Vec<u32>,
    /// Slots polled or freed since the last [`Stack::state_changes`].
    unreported: Vec<u32>,
    /// Slots handed to smoltcp by the last poll, in slot order.
    last_polled: Vec<SocketHandle>,
    /// Polls so far.
    polls: u64,
    /// The set for packets no socket accepts (always empty).
    nobody: SocketSet<'static>,
    /// TCP sockets the applications are done with, taken out of their slots and kept for
    /// reuse with their buffers, shared with the world's other stacks.
    spares: Spares,
    /// TCP sockets allocated (not recycled) over the stack's life.
    allocated: u64,
    /// Buffer bytes (receive and send) of the TCP sockets in slots now.
    tcp_buffer_bytes: usize,
    /// Scratch for the slots of one poll.
    scratch: Vec<u32>,
    /// Scratch for the slots still sending in a poll's egress rounds.
    active: Vec<u32>,
}

impl core::fmt::Debug for Stack {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stack")
            .field("addresses", &self.iface.ip_addrs())
            .field("sockets", &self.socket_count())
            .finish()
    }
}

/// An endpoint as an IPv4 socket address (`0.0.0.0:0` when unset).
pub fn v4(endpoint: Option<IpEndpoint>) -> SocketAddrV4 {
    match endpoint {
        Some(IpEndpoint {
            addr: IpAddress::Ipv4(a),
            port,
        }) => SocketAddrV4::new(a, port),
        _ => SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
    }
}

impl Stack {
    /// A stack owning `addresses` (each a /32 here: the fabric routes by exact address), with
    /// its default route towards `gateway`. `seed` seeds smoltcp's own randomness (initial
    /// sequence numbers). Closed sockets are recycled through `spares`.
    pub fn new(
        addresses: &[Ipv4Addr],
        gateway: Ipv4Addr,
        seed: u64,
        now: Instant,
        spares: Spares,
    ) -> Self {
        let mut device = SimDevice::default();
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut device, now.to_smoltcp());
        iface.update_ip_addrs(|addrs| {
            for a in addresses {
                addrs
                    .push(IpCidr::new(IpAddress::Ipv4(*a), 32))
                    .expect("a host has few addresses");
            }
        });
        iface
            .routes_mut()
            .add_default_ipv4_route(gateway)
            .expect("one default route fits");
        Stack {
            iface,
            device,
            slots: Vec::new(),
            free: BTreeSet::new(),
            flows: BTreeSet::new(),
            listening: BTreeSet::new(),
            udp: BTreeSet::new(),
            deadlines: BinaryHeap::new(),
            touched: Vec::new(),
            unreported: Vec::new(),
            last_polled: Vec::new(),
            polls: 0,
            nobody: SocketSet::new(Vec::new()),
            spares,
            allocated: 0,
            tcp_buffer_bytes: 0,
            scratch: Vec::new(),
            active: Vec::new(),
        }
    }

    /// Queues a received packet for the next poll.
    pub fn receive(&mut self, packet: Bytes) {
        self.device.rx.push_back(packet);
    }

    /// Lets smoltcp process received packets and send what its sockets have queued: the
    /// sockets that received, that an application touched, and whose deadline has come.
    pub fn poll(&mut self, now: Instant) {
        self.polls += 1;
        // Slots touched since the last poll: their indexes first, so a packet finds them as
        // the applications left them.
        let mut slots = std::mem::take(&mut self.scratch);
        slots.clear();
        // (Their deadlines wait: this poll takes them anyway, and re-reads them after.)
        let mut touched = std::mem::take(&mut self.touched);
        // Without packets to find them, the indexes can wait for the re-read after egress.
        let arrivals = !self.device.rx.is_empty();
        for &s in &touched {
            self.slots[s as usize].touched = false;
            if arrivals {
                self.reindex(s, None);
            }
            slots.push(s);
        }
        touched.clear();
        self.touched = touched;
        while let Some(packet) = self.device.rx.front() {
            let target = self.accepting(packet);
            let (device, iface) = (&mut self.device, &mut self.iface);
            match target {
                Some(s) => {
                    let slot = &mut self.slots[s as usize];
                    iface.poll_ingress_single(now.to_smoltcp(), device, &mut slot.set);
                    slots.push(s);
                }
                None => {
                    iface.poll_ingress_single(now.to_smoltcp(), device, &mut self.nobody);
                }
            }
        }
        // The deadlines that have come; each is consumed, and the re-read after egress sets
        // the next.
        while let Some(&Reverse((t, s))) = self.deadlines.peek() {
            if t > now {
                break;
            }
            self.deadlines.pop();
            let slot = &mut self.slots[s as usize];
            if slot.deadline == Some(t) {
                slot.deadline = None;
                slots.push(s);
            }
        }
        slots.sort_unstable();
        slots.dedup();
        // Egress as smoltcp's loop over one set: each socket sends at most one packet per
        // round, in slot order, until a round sends nothing.
        let mut active = std::mem::take(&mut self.active);
        active.clone_from(&slots);
        while !active.is_empty() {
            let (device, iface, all) = (&mut self.device, &mut self.iface, &mut self.slots);
            active.retain(|&s| {
                iface.poll_egress(now.to_smoltcp(), device, &mut all[s as usize].set)
                    == PollResult::SocketStateChanged
            });
        }
        self.last_polled.clear();
        for &s in &slots {
            self.reindex(s, Some(now));
            let slot = &mut self.slots[s as usize];
            slot.polled = self.polls;
            self.last_polled.push(SocketHandle(s));
            if !slot.unreported {
                slot.unreported = true;
                self.unreported.push(s);
            }
        }
        self.scratch = slots;
        self.active = active;
    }

    /// The slot whose socket accepts `packet`, as smoltcp's walk over one set would find it;
    /// `None` when no socket does.
    fn accepting(&self, packet: &[u8]) -> Option<u32> {
        let info = PacketInfo::parse(packet)?;
        match info.transport {
            Transport::Tcp {
                src_port,
                dst_port,
                flags,
                ..
            } => {
                let tuple = (
                    SocketAddrV4::new(info.dst, dst_port),
                    SocketAddrV4::new(info.src, src_port),
                );
                let exact = self
                    .flows
                    .range((tuple, 0)..=(tuple, u32::MAX))
                    .next()
                    .map(|&(_, s)| s);
                // A listening socket accepts what carries neither ACK nor RST.
                let listener = (!flags.ack && !flags.rst && dst_port != 0)
                    .then(|| {
                        self.listening
                            .range((dst_port, 0)..=(dst_port, u32::MAX))
                            .next()
                            .map(|&(_, s)| s)
                    })
                    .flatten();
                match (exact, listener) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            Transport::Udp { dst_port, .. } => self
                .udp
                .range((dst_port, 0)..=(dst_port, u32::MAX))
                .map(|&(_, s)| s)
                .find(|&s| {
                    let slot = &self.slots[s as usize];
                    slot.inner.is_some_and(|h| {
                        let addr = slot.set.get::<udp::Socket>(h).endpoint().addr;
                        addr.is_none_or(|a| a == IpAddress::Ipv4(info.dst))
                    })
                }),
            Transport::Other(_) => None,
        }
    }

    /// Brings the indexes of slot `s` up to date with its socket: where packets find it and,
    /// given `now`, its deadline (without, an occupied slot keeps the deadline it had).
    fn reindex(&mut self, s: u32, now: Option<Instant>) {
        let slot = &mut self.slots[s as usize];
        let (mut tuple, mut listening, mut udp_port) = (None, None, None);
        let mut deadline = if slot.inner.is_some() && now.is_none() {
            slot.deadline
        } else {
            None
        };
        if let Some(h) = slot.inner {
            match slot.set.get::<smoltcp::socket::Socket>(h) {
                smoltcp::socket::Socket::Tcp(t) => {
                    if t.state() == tcp::State::Listen {
                        listening = Some(t.listen_endpoint().port);
                    } else if t.state() != tcp::State::Closed {
                        if let (Some(l), Some(r)) = (t.local_endpoint(), t.remote_endpoint()) {
                            tuple = Some((v4(Some(l)), v4(Some(r))));
                        }
                    }
                }
                smoltcp::socket::Socket::Udp(u) => {
                    if u.is_open() {
                        udp_port = Some(u.endpoint().port);
                    }
                }
            }
            if let Some(now) = now {
                deadline = self
                    .iface
                    .poll_at(now.to_smoltcp(), &slot.set)
                    .map(Instant::from_smoltcp);
            }
        }
        move_key(&mut self.flows, &mut slot.tuple, tuple, s);
        move_key(&mut self.listening, &mut slot.listening, listening, s);
        move_key(&mut self.udp, &mut slot.udp_port, udp_port, s);
        if slot.deadline != deadline {
            slot.deadline = deadline;
            if let Some(t) = deadline {
                self.deadlines.push(Reverse((t, s)));
                if self.deadlines.len() > 2 * self.slots.len() + 64 {
                    self.deadlines = self
                        .slots
                        .iter()
                        .zip(0..)
                        .filter_map(|(slot, s)| slot.deadline.map(|t| Reverse((t, s))))
                        .collect();
                }
            }
        }
    }

    /// The earliest deadline of a slot, dropping entries that no longer count.
    fn first_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((t, s))) = self.deadlines.peek() {
            if self.slots[s as usize].deadline == Some(t) {
                return Some(t);
            }
            self.deadlines.pop();
        }
        None
    }

    /// When smoltcp next needs a poll, if ever.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        let mut at = self.first_deadline();
        for &s in &self.touched {
            let slot = &self.slots[s as usize];
            let t = self
                .iface
                .poll_at(now.to_smoltcp(), &slot.set)
                .map(Instant::from_smoltcp);
            at = match (at, t) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        at
    }

    /// Whether the last poll handed `handle`'s socket to smoltcp (it received, was touched,
    /// or its deadline came): only such a socket can have changed since.
    pub fn was_polled(&self, handle: SocketHandle) -> bool {
        self.slots[handle.index()].polled == self.polls
    }

    /// The sockets the last poll handed to smoltcp, in slot order.
    pub fn polled(&self) -> &[SocketHandle] {
        &self.last_polled
    }

    /// Moves the packets smoltcp sent since the last call onto the end of `into`.
    pub fn take_sent(&mut self, into: &mut Vec<Bytes>) {
        into.append(&mut self.device.tx);
    }

    /// Whether packets wait to be sent.
    pub fn has_sent(&self) -> bool {
        !self.device.tx.is_empty()
    }

    /// Puts `socket` in a free slot (the lowest) or a new one.
    fn add(&mut self, socket: impl smoltcp::socket::AnySocket<'static>) -> SocketHandle {
        let s = match self.free.pop_first() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    set: SocketSet::new(Vec::with_capacity(1)),
                    inner: None,
                    tuple: None,
                    listening: None,
                    udp_port: None,
                    deadline: None,
                    known: None,
                    touched: false,
                    unreported: false,
                    polled: 0,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[s as usize];
        slot.inner = Some(slot.set.add(socket));
        self.touch(s);
        SocketHandle(s)
    }

    /// Notes that an application may have changed slot `s`: the next poll takes it.
    fn touch(&mut self, s: u32) {
        let slot = &mut self.slots[s as usize];
        if !slot.touched {
            slot.touched = true;
            self.touched.push(s);
        }
    }

    /// Empties slot `s`, returning its socket.
    fn take_out(&mut self, s: u32) -> smoltcp::socket::Socket<'static> {
        let slot = &mut self.slots[s as usize];
        let inner = slot.inner.take().expect("a live socket handle");
        let socket = slot.set.remove(inner);
        if let smoltcp::socket::Socket::Tcp(tcp) = &socket {
            self.tcp_buffer_bytes -= tcp.recv_capacity() + tcp.send_capacity();
        }
        if !slot.unreported {
            slot.unreported = true;
            self.unreported.push(s);
        }
        // Unindexed at once: a freed slot accepts nothing and has no deadline.
        self.reindex(s, None);
        self.free.insert(s);
        socket
    }

    /// Opens a TCP connection from `local` to `remote` on a recycled socket, or on a new one
    /// with `rx` / `tx` bytes of buffer (the receive buffer is the window the peer may fill).
    /// Nagle is off, as HTTP clients set TCP_NODELAY.
    pub fn open_connection(
        &mut self,
        remote: SocketAddrV4,
        local: SocketAddrV4,
        rx: usize,
        tx: usize,
    ) -> Result<SocketHandle, tcp::ConnectError> {
        let handle = self.take_tcp(rx, tx);
        let cx = self.iface.context();
        let slot = &mut self.slots[handle.index()];
        let socket = slot
            .set
            .get_mut::<tcp::Socket>(slot.inner.expect("just added"));
        match socket.connect(
            cx,
            IpEndpoint::new(IpAddress::Ipv4(*remote.ip()), remote.port()),
            IpEndpoint::new(IpAddress::Ipv4(*local.ip()), local.port()),
        ) {
            Ok(()) => Ok(handle),
            Err(e) => {
                self.take_out(handle.0);
                Err(e)
            }
        }
    }

    /// Opens a listening TCP socket on `port` (Nagle off) whose connection will have `rx` /
    /// `tx` bytes of buffer, recycled when one of these sizes is spare.
    pub fn open_listener(&mut self, port: u16, rx: usize, tx: usize) -> SocketHandle {
        let handle = self.take_tcp(rx, tx);
        self.tcp(handle)
            .listen(port)
            .expect("a closed socket can listen on a non-zero port");
        handle
    }

    /// Gives back a TCP socket the application no longer needs: it leaves its slot and is
    /// kept in the world's [`SparePool`] for reuse. Only a closed socket, or one in TIME-WAIT,
    /// may be released; a socket in TIME-WAIT is forgotten early (its port is not reused soon,
    /// see the client).
    pub fn release_tcp(&mut self, handle: SocketHandle) {
        debug_assert!(matches!(
            self.tcp_ref(handle).state(),
            tcp::State::Closed | tcp::State::TimeWait
        ));
        if let smoltcp::socket::Socket::Tcp(socket) = self.take_out(handle.0) {
            self.spares.borrow_mut().put(socket);
        }
    }

    /// The pool this stack recycles sockets through (a restarted host's new stack shares it).
    pub fn spares(&self) -> Spares {
        Rc::clone(&self.spares)
    }

    /// A socket ready for `connect` or `listen`, in a slot: a spare one of these sizes, reset,
    /// or a new one.
    /// Callers connect it or make it listen at once (both reset it), so a spare's old
    /// connection never sends anything more.
    fn take_tcp(&mut self, rx: usize, tx: usize) -> SocketHandle {
        let spare = self.spares.borrow_mut().take(rx, tx);
        let socket = match spare {
            Some(mut socket) => {
                socket.abort();
                socket
            }
            None => {
                self.allocated += 1;
                let mut socket = tcp::Socket::new(
                    tcp::SocketBuffer::new(vec![0; rx]),
                    tcp::SocketBuffer::new(vec![0; tx]),
                );
                socket.set_nagle_enabled(false);
                socket
            }
        };
        self.tcp_buffer_bytes += rx + tx;
        self.add(socket)
    }

    /// Buffer bytes (receive and send) held by the TCP sockets open now: what this host's
    /// connections cost it in memory, beyond smoltcp's few hundred bytes of state each.
    pub fn tcp_buffer_bytes(&self) -> usize {
        self.tcp_buffer_bytes
    }

    /// TCP sockets allocated (rather than recycled) so far.
    pub fn allocated_tcp(&self) -> u64 {
        self.allocated
    }

    /// Sockets open now (TCP and UDP).
    pub fn socket_count(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Adds a UDP socket with room for `packets` datagrams each way.
    pub fn add_udp(&mut self, packets: usize) -> SocketHandle {
        let buffer = || {
            udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; packets],
                vec![0; packets * MTU],
            )
        };
        self.add(udp::Socket::new(buffer(), buffer()))
    }

    /// A TCP socket, to act on: the next poll takes it.
    pub fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.touch(handle.0);
        let slot = &mut self.slots[handle.index()];
        slot.set
            .get_mut::<tcp::Socket>(slot.inner.expect("a live socket handle"))
    }

    /// Moves all TCP socket `handle` has received onto the end of `into`. The socket is taken
    /// to act on (the next poll takes it) only when there was something to read.
    pub fn recv_into(&mut self, handle: SocketHandle, into: &mut Vec<u8>) {
        if !self.tcp_ref(handle).can_recv() {
            return;
        }
        let socket = self.tcp(handle);
        while socket.can_recv() {
            let _ = socket.recv(|data| {
                into.extend_from_slice(data);
                (data.len(), ())
            });
        }
    }

    /// A TCP socket, to look at only (the next poll need not take it).
    pub fn tcp_ref(&self, handle: SocketHandle) -> &tcp::Socket<'static> {
        let slot = &self.slots[handle.index()];
        slot.set
            .get::<tcp::Socket>(slot.inner.expect("a live socket handle"))
    }

    /// A UDP socket, to act on: the next poll takes it.
    pub fn udp(&mut self, handle: SocketHandle) -> &mut udp::Socket<'static> {
        self.touch(handle.0);
        let slot = &mut self.slots[handle.index()];
        slot.set
            .get_mut::<udp::Socket>(slot.inner.expect("a live socket handle"))
    }

    /// Removes a socket (a closed one, or one given up on).
    pub fn remove(&mut self, handle: SocketHandle) {
        self.take_out(handle.0);
    }

    /// TCP state changes since the last call, in socket order. A socket that was removed
    /// reports nothing more.
    pub fn state_changes(&mut self, out: &mut Vec<StateChange>) {
        // Only a slot polled or freed since the last call can have changed: an application's
        // action on a socket touches it, and the next poll takes what was touched.
        let mut slots = std::mem::take(&mut self.unreported);
        slots.sort_unstable();
        for &s in &slots {
            let slot = &mut self.slots[s as usize];
            slot.unreported = false;
            let before = slot.known.take();
            let Some(smoltcp::socket::Socket::Tcp(socket)) = slot
                .inner
                .map(|h| slot.set.get::<smoltcp::socket::Socket>(h))
            else {
                // Freed, or UDP: nothing to remember.
                continue;
            };
            let state = TcpState::from(socket.state());
            if let Some(b) = before.filter(|b| b.0 == state) {
                // Unchanged: a socket changes endpoints only through a new state.
                slot.known = Some(b);
                continue;
            }
            let endpoints = (v4(socket.local_endpoint()), v4(socket.remote_endpoint()));
            let (from, (local, remote)) = match before {
                // A socket that just closed has forgotten its endpoints: report the last known.
                Some(b) if state == TcpState::Closed => (b.0, (b.1, b.2)),
                // A recycled socket now carries another connection: the old one ended.
                Some(b)
                    if b.0 != TcpState::Closed
                        && b.0 != TcpState::Listen
                        && (b.1, b.2) != endpoints =>
                {
                    out.push(StateChange {
                        local: b.1,
                        remote: b.2,
                        from: b.0,
                        to: TcpState::Closed,
                    });
                    (TcpState::Closed, endpoints)
                }
                Some(b) => (b.0, endpoints),
                None => (TcpState::Closed, endpoints),
            };
            slot.known = Some((state, local, remote));
            // A new listening socket is not a connection; nothing to report.
            if from == TcpState::Closed && state == TcpState::Listen {
                continue;
            }
            out.push(StateChange {
                local,
                remote,
                from,
                to: state,
            });
        }
        slots.clear();
        self.unreported = slots;
    }
}

/// Moves socket `s` in one of the stack's indexes from the key it had (`old`, kept in its
/// slot) to `new`; nothing happens when the key is the same.
fn move_key<K: Ord + Copy>(
    index: &mut BTreeSet<(K, u32)>,
    old: &mut Option<K>,
    new: Option<K>,
    s: u32,
) {
    if *old == new {
        return;
    }
    if let Some(k) = *old {
        index.remove(&(k, s));
    }
    if let Some(k) = new {
        index.insert((k, s));
    }
    *old = new;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    /// The earliest deadline of the stack's sockets, read from smoltcp socket by socket.
    fn earliest_read_afresh(stack: &mut Stack, now: Instant) -> Option<Instant> {
        let (iface, slots) = (&mut stack.iface, &stack.slots);
        slots
            .iter()
            .filter(|slot| slot.inner.is_some())
            .filter_map(|slot| iface.poll_at(now.to_smoltcp(), &slot.set))
            .map(Instant::from_smoltcp)
            .min()
    }

    /// Hands every packet `from` sent to `to`, which polls after each, as a host does.
    fn carry(from: &mut Stack, to: &mut Stack, now: Instant) {
        let mut sent = Vec::new();
        from.take_sent(&mut sent);
        for packet in sent {
            to.receive(packet);
            to.poll(now);
        }
    }

    /// The deadline index is kept lazily (stale entries stay until they surface): after every
    /// poll it still gives the earliest deadline a fresh read of every socket gives, the
    /// sockets a poll takes are those whose deadline came, and it never holds more than twice
    /// the slots (plus a few) however often the deadlines move.
    #[test]
    fn lazy_deadlines_answer_as_a_fresh_read_and_stay_bounded() {
        let spares = Spares::default();
        let (ca, sa) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let mut client = Stack::new(&[ca], sa, 1, Instant::ZERO, Rc::clone(&spares));
        let mut server = Stack::new(&[sa], ca, 2, Instant::ZERO, spares);
        let mut accepted = Vec::new();
        for _ in 0..6 {
            accepted.push(server.open_listener(80, 4096, 4096));
        }
        let conns: Vec<SocketHandle> = (0..6)
            .map(|i| {
                let local = SocketAddrV4::new(ca, 40_000 + i);
                let h = client
                    .open_connection(SocketAddrV4::new(sa, 80), local, 4096, 4096)
                    .expect("a unicast target");
                // A far keep-alive deadline that each write brings forward (retransmission)
                // and the ACK puts back: entries for the far ones are left behind.
                client
                    .tcp(h)
                    .set_keep_alive(Some(smoltcp::time::Duration::from_secs(10)));
                h
            })
            .collect();
        let mut now = Instant::ZERO;
        let mut most_held = 0;
        for step in 0..3_000u32 {
            now += Duration::from_micros(700);
            // Some steps write on one connection, some read what the server received; every
            // fifth step delivers nothing, so only deadlines drive those polls.
            if step % 3 == 0 {
                let h = conns[(step as usize / 3) % conns.len()];
                if client.tcp_ref(h).can_send() {
                    client.tcp(h).send_slice(b"ping").expect("room to send");
                }
            }
            for &h in &accepted {
                if server.tcp_ref(h).can_recv() {
                    server.tcp(h).recv(|d| (d.len(), ())).expect("data to read");
                }
            }
            client.poll(now);
            if step % 5 != 0 {
                carry(&mut client, &mut server, now);
            }
            server.poll(now);
            if step % 5 != 0 {
                carry(&mut server, &mut client, now);
            }
            for stack in [&mut client, &mut server] {
                assert_eq!(stack.poll_at(now), earliest_read_afresh(stack, now));
                assert!(stack.deadlines.len() <= 2 * stack.slots.len() + 64);
                most_held = most_held.max(stack.deadlines.len());
            }
        }
        // Stale entries did pile up towards the bound (so it was enforced).
        assert!(most_held > 40, "held at most {most_held}");
    }
}
