//! A host's network stack: a smoltcp `Interface` and `SocketSet` over an in-memory device.
//!
//! The device is two queues. Packets that reach the host are pushed on `rx`; polling the
//! interface lets smoltcp consume them and put what it sends on `tx`, which the world then
//! takes and hands to the host's link. The world polls a stack when a packet arrives, when an
//! application acted on a socket, or when smoltcp's own deadline (`poll_at`: retransmission,
//! delayed ACK, TIME-WAIT) comes — never in a loop.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{tcp, udp};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint};

use crate::time::Instant;
use crate::trace::{Bytes, TcpState};

/// The link MTU of every simulated interface (Ethernet's, without the Ethernet header).
pub const MTU: usize = 1500;

/// Default TCP socket buffer size (each way).
pub const TCP_BUFFER: usize = 16 * 1024;

/// Closed TCP sockets a stack keeps for reuse, buffers and all.
pub const SPARE_SOCKETS: usize = 16;

/// The in-memory device.
#[derive(Debug, Default)]
pub struct SimDevice {
    rx: VecDeque<Bytes>,
    tx: Vec<Vec<u8>>,
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
pub struct TxToken<'a>(&'a mut Vec<Vec<u8>>);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buffer = vec![0; len];
        let result = f(&mut buffer);
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

/// One host's stack.
pub struct Stack {
    /// The smoltcp interface.
    pub iface: Interface,
    /// The host's sockets.
    pub sockets: SocketSet<'static>,
    device: SimDevice,
    /// Last seen state and endpoints of each TCP socket, in handle order, to report changes.
    known: Vec<(SocketHandle, TcpState, SocketAddrV4, SocketAddrV4)>,
    /// The previous `known`, kept for its allocation.
    spare_known: Vec<(SocketHandle, TcpState, SocketAddrV4, SocketAddrV4)>,
    /// TCP sockets the applications are done with, taken out of the socket set (so polls do
    /// not walk them) and kept for reuse with their buffers.
    spare_tcp: Vec<tcp::Socket<'static>>,
    /// TCP sockets allocated (not recycled) over the stack's life.
    allocated: u64,
}

impl core::fmt::Debug for Stack {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stack")
            .field("addresses", &self.iface.ip_addrs())
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
    /// sequence numbers).
    pub fn new(addresses: &[Ipv4Addr], gateway: Ipv4Addr, seed: u64, now: Instant) -> Self {
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
            sockets: SocketSet::new(Vec::new()),
            device,
            known: Vec::new(),
            spare_known: Vec::new(),
            spare_tcp: Vec::new(),
            allocated: 0,
        }
    }

    /// Queues a received packet for the next poll.
    pub fn receive(&mut self, packet: Bytes) {
        self.device.rx.push_back(packet);
    }

    /// Lets smoltcp process received packets and send what its sockets have queued.
    pub fn poll(&mut self, now: Instant) {
        self.iface
            .poll(now.to_smoltcp(), &mut self.device, &mut self.sockets);
    }

    /// When smoltcp next needs a poll, if ever.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.iface
            .poll_at(now.to_smoltcp(), &self.sockets)
            .map(Instant::from_smoltcp)
    }

    /// Packets smoltcp sent since the last call.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.device.tx)
    }

    /// Whether packets wait to be sent.
    pub fn has_sent(&self) -> bool {
        !self.device.tx.is_empty()
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
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        match socket.connect(
            cx,
            IpEndpoint::new(IpAddress::Ipv4(*remote.ip()), remote.port()),
            IpEndpoint::new(IpAddress::Ipv4(*local.ip()), local.port()),
        ) {
            Ok(()) => Ok(handle),
            Err(e) => {
                self.sockets.remove(handle);
                Err(e)
            }
        }
    }

    /// Opens a listening TCP socket on `port` (standard buffers, Nagle off), recycled when one
    /// is spare.
    pub fn open_listener(&mut self, port: u16) -> SocketHandle {
        let handle = self.take_tcp(TCP_BUFFER, TCP_BUFFER);
        self.tcp(handle)
            .listen(port)
            .expect("a closed socket can listen on a non-zero port");
        handle
    }

    /// Gives back a TCP socket the application no longer needs: it leaves the socket set and
    /// is kept (up to [`SPARE_SOCKETS`]) for reuse. Only a closed socket, or one in TIME-WAIT,
    /// may be released; a socket in TIME-WAIT is forgotten early (its port is not reused soon,
    /// see the client).
    pub fn release_tcp(&mut self, handle: SocketHandle) {
        debug_assert!(matches!(
            self.tcp(handle).state(),
            tcp::State::Closed | tcp::State::TimeWait
        ));
        let socket = self.sockets.remove(handle);
        if self.spare_tcp.len() < SPARE_SOCKETS {
            if let smoltcp::socket::Socket::Tcp(socket) = socket {
                self.spare_tcp.push(socket);
            }
        }
    }

    /// A socket ready for `connect` or `listen`, in the socket set: a spare one, reset, or a
    /// new one. Callers connect it or make it listen at once (both reset it), so a spare's
    /// old connection never sends anything more.
    fn take_tcp(&mut self, rx: usize, tx: usize) -> SocketHandle {
        let socket = match self.spare_tcp.pop() {
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
        self.sockets.add(socket)
    }

    /// TCP sockets allocated (rather than recycled) so far.
    pub fn allocated_tcp(&self) -> u64 {
        self.allocated
    }

    /// Adds a UDP socket with room for `packets` datagrams each way.
    pub fn add_udp(&mut self, packets: usize) -> SocketHandle {
        let buffer = || {
            udp::PacketBuffer::new(
                vec![udp::PacketMetadata::EMPTY; packets],
                vec![0; packets * MTU],
            )
        };
        self.sockets.add(udp::Socket::new(buffer(), buffer()))
    }

    /// A TCP socket.
    pub fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    /// A UDP socket.
    pub fn udp(&mut self, handle: SocketHandle) -> &mut udp::Socket<'static> {
        self.sockets.get_mut::<udp::Socket>(handle)
    }

    /// Removes a socket (a closed one, or one given up on).
    pub fn remove(&mut self, handle: SocketHandle) {
        self.sockets.remove(handle);
    }

    /// TCP state changes since the last call, in socket order. A socket that was removed
    /// reports nothing more.
    pub fn state_changes(&mut self, out: &mut Vec<StateChange>) {
        // Both the socket set and `known` are in ascending handle order: walk them together.
        let previous = std::mem::take(&mut self.known);
        let mut prev = 0;
        let mut now_known = std::mem::take(&mut self.spare_known);
        now_known.clear();
        for (handle, socket) in self.sockets.iter() {
            let smoltcp::socket::Socket::Tcp(socket) = socket else {
                continue;
            };
            while previous.get(prev).is_some_and(|p| p.0 < handle) {
                prev += 1;
            }
            let before = previous.get(prev).filter(|p| p.0 == handle).copied();
            if before.is_some() {
                prev += 1;
            }
            let state = TcpState::from(socket.state());
            if let Some(b) = before.filter(|b| b.1 == state) {
                // Unchanged: a socket changes endpoints only through a new state.
                now_known.push(b);
                continue;
            }
            let endpoints = (v4(socket.local_endpoint()), v4(socket.remote_endpoint()));
            let (from, (local, remote)) = match before {
                // A socket that just closed has forgotten its endpoints: report the last known.
                Some(b) if state == TcpState::Closed => (b.1, (b.2, b.3)),
                // A recycled socket now carries another connection: the old one ended.
                Some(b)
                    if b.1 != TcpState::Closed
                        && b.1 != TcpState::Listen
                        && (b.2, b.3) != endpoints =>
                {
                    out.push(StateChange {
                        local: b.2,
                        remote: b.3,
                        from: b.1,
                        to: TcpState::Closed,
                    });
                    (TcpState::Closed, endpoints)
                }
                Some(b) => (b.1, endpoints),
                None => (TcpState::Closed, endpoints),
            };
            now_known.push((handle, state, local, remote));
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
        self.known = now_known;
        self.spare_known = previous;
    }
}
