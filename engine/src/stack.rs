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

/// Socket buffer sizes.
pub const TCP_BUFFER: usize = 16 * 1024;

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
}

impl core::fmt::Debug for Stack {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Stack")
            .field("addresses", &self.iface.ip_addrs())
            .finish()
    }
}

fn v4(endpoint: Option<IpEndpoint>) -> SocketAddrV4 {
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

    /// Adds a TCP socket with the standard buffers, Nagle off (as HTTP servers and clients set
    /// TCP_NODELAY).
    pub fn add_tcp(&mut self) -> SocketHandle {
        self.add_tcp_sized(TCP_BUFFER, TCP_BUFFER)
    }

    /// Adds a TCP socket with `rx` and `tx` bytes of buffer; the receive buffer is the
    /// window the peer may fill.
    pub fn add_tcp_sized(&mut self, rx: usize, tx: usize) -> SocketHandle {
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; rx]),
            tcp::SocketBuffer::new(vec![0; tx]),
        );
        socket.set_nagle_enabled(false);
        self.sockets.add(socket)
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

    /// Starts connecting TCP socket `handle` from `local` to `remote`.
    pub fn connect(
        &mut self,
        handle: SocketHandle,
        remote: SocketAddrV4,
        local: SocketAddrV4,
    ) -> Result<(), tcp::ConnectError> {
        let cx = self.iface.context();
        self.sockets.get_mut::<tcp::Socket>(handle).connect(
            cx,
            IpEndpoint::new(IpAddress::Ipv4(*remote.ip()), remote.port()),
            IpEndpoint::new(IpAddress::Ipv4(*local.ip()), local.port()),
        )
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
        let mut previous = std::mem::take(&mut self.known).into_iter().peekable();
        let mut now_known = std::mem::take(&mut self.spare_known);
        now_known.clear();
        for (handle, socket) in self.sockets.iter() {
            let smoltcp::socket::Socket::Tcp(socket) = socket else {
                continue;
            };
            while previous.peek().is_some_and(|p| p.0 < handle) {
                previous.next();
            }
            let before = previous.next_if(|p| p.0 == handle);
            let state = TcpState::from(socket.state());
            let (local, remote) = match before {
                // Endpoints do not change while a connection lives; a socket that just closed
                // has forgotten them, so report the last known.
                Some(b) if b.1 != TcpState::Listen && b.1 != TcpState::Closed => (b.2, b.3),
                _ => (v4(socket.local_endpoint()), v4(socket.remote_endpoint())),
            };
            now_known.push((handle, state, local, remote));
            let from = before.map_or(TcpState::Closed, |b| b.1);
            // A new listening socket is not a connection; nothing to report.
            if from == state || (from == TcpState::Closed && state == TcpState::Listen) {
                continue;
            }
            out.push(StateChange {
                local,
                remote,
                from,
                to: state,
            });
        }
        drop(previous);
        self.spare_known = std::mem::replace(&mut self.known, now_known);
    }
}
