//! Requests in flight, each placed where the engine has it: on a link (riding its connection's
//! newest packet), at the balancer, queued or in service at a backend, or on its way back.
//!
//! A request is known from its client's `request_started` record to its `request_ended`. Its
//! connection is known by the client's end of it (the endpoint every packet of the connection
//! names on the client side; on the server side too at layer 4, where NAT only rewrites the
//! virtual IP; at layer 7 the proxy says which upstream connection carries it). Each frame,
//! the request is placed by what the engine holds now, in this order: a backend's server has
//! it (queued, in service, hung); a packet of its connection carrying bytes is on a link; else
//! it rests where it last got to. A request travels with its bytes, so it waits at its client
//! while the connection's handshake runs (packet level shows that). Where it got to only moves
//! forward, so an acknowledgement or a retransmission never drags a request back.

use std::collections::BTreeMap;
use std::net::SocketAddrV4;

use crate::apps::server::Work;
use crate::ids::{FlowId, HostId, RequestId};
use crate::sim::{InFlight, Role, World};
use crate::time::Instant;
use crate::trace::{Event, Outcome, Record};
use crate::wire::{self, PacketInfo, Transport};

/// Where a request is, from its client to its backend and back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Place {
    /// Still at its client (connecting, or its bytes not sent yet).
    AtClient,
    /// On the client's link towards the balancer, this far along (0 to 1).
    ToBalancer(f64),
    /// At the balancer (the proxy reads, routes, or waits to connect upstream).
    AtBalancer,
    /// On the backend's link from the balancer, this far along.
    ToBackend(f64),
    /// Waiting for a worker at the backend, at this position in its queue (0: next).
    Queued(usize),
    /// A worker serves it, this far through its service time.
    Serving(f64),
    /// At the backend, not answered (a hang, or not yet read).
    AtBackend,
    /// Its response on the backend's link towards the balancer, this far along.
    FromBackend(f64),
    /// Back through the balancer (the proxy relays it).
    Returning,
    /// Its response on the client's link, this far along.
    ToClient(f64),
}

impl Place {
    /// How far along the whole path the request is: 0 at the client, 5 back at it. Places
    /// only move forward.
    fn stage(self) -> f64 {
        match self {
            Place::AtClient => 0.0,
            Place::ToBalancer(p) => p,
            Place::AtBalancer => 1.0,
            Place::ToBackend(p) => 1.0 + p,
            Place::AtBackend | Place::Queued(_) => 2.0,
            Place::Serving(p) => 2.0 + 0.5 * p,
            Place::FromBackend(p) => 3.0 + p,
            Place::Returning => 4.0,
            Place::ToClient(p) => 4.0 + p,
        }
    }

    /// Where a request that got this far rests when nothing carries it.
    fn rest(self) -> Place {
        match self {
            Place::ToBalancer(_) => Place::AtBalancer,
            Place::ToBackend(_) | Place::Queued(_) | Place::Serving(_) => Place::AtBackend,
            Place::FromBackend(_) => Place::Returning,
            Place::ToClient(_) => Place::ToClient(1.0),
            other => other,
        }
    }
}

/// One request in flight, for drawing.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestToken {
    /// The request.
    pub id: RequestId,
    /// Its client host.
    pub client: HostId,
    /// The backend it went to, once the balancer chose.
    pub backend: Option<HostId>,
    /// Where it is.
    pub place: Place,
}

/// A request that ended since the previous frame.
#[derive(Clone, Debug, PartialEq)]
pub struct EndedRequest {
    /// The request.
    pub id: RequestId,
    /// Its client host.
    pub client: HostId,
    /// The backend it went to, if one was chosen.
    pub backend: Option<HostId>,
    /// How it ended.
    pub outcome: Outcome,
    /// The status, if a response came.
    pub status: Option<u16>,
    /// When.
    pub at: Instant,
    /// Where it got to last (where a failure is marked).
    pub last: Place,
}

#[derive(Clone, Debug)]
struct Open {
    client: HostId,
    local: SocketAddrV4,
    backend: Option<HostId>,
    /// The furthest place it got to.
    furthest: Place,
}

/// What the viewer keeps of the requests between frames.
#[derive(Clone, Debug, Default)]
pub(super) struct Requests {
    open: BTreeMap<RequestId, Open>,
    /// The request on each client connection now.
    by_endpoint: BTreeMap<SocketAddrV4, RequestId>,
    /// Layer 4: each client connection's backend, while its flow lives.
    flow_backend: BTreeMap<SocketAddrV4, HostId>,
    flows: BTreeMap<FlowId, SocketAddrV4>,
    /// Ended since the last frame.
    ended: Vec<EndedRequest>,
}

impl Requests {
    /// Takes in one trace record.
    pub(super) fn absorb(&mut self, r: &Record, world: &World) {
        match &r.event {
            Event::RequestStarted {
                request,
                client,
                local,
                target,
                ..
            } => {
                // Without a balancer, the client addresses its backend itself.
                let direct = world
                    .host_by_address(*target.ip())
                    .filter(|&h| world.host_role(h) == Some(Role::Backend));
                let backend = direct.or_else(|| self.flow_backend.get(local).copied());
                self.open.insert(
                    *request,
                    Open {
                        client: *client,
                        local: *local,
                        backend,
                        furthest: Place::AtClient,
                    },
                );
                self.by_endpoint.insert(*local, *request);
            }
            Event::FlowStarted {
                flow,
                client,
                backend,
                ..
            } => {
                self.flow_backend.insert(*client, *backend);
                self.flows.insert(*flow, *client);
                self.chose(*client, *backend);
            }
            Event::FlowEnded { flow, .. } => {
                if let Some(endpoint) = self.flows.remove(flow) {
                    self.flow_backend.remove(&endpoint);
                }
            }
            Event::ProxyRequest {
                client,
                backend: Some(b),
                ..
            } => self.chose(*client, *b),
            Event::RequestEnded {
                request,
                client,
                outcome,
                status,
                ..
            } => {
                if let Some(o) = self.open.remove(request) {
                    if self.by_endpoint.get(&o.local) == Some(request) {
                        self.by_endpoint.remove(&o.local);
                    }
                    self.ended.push(EndedRequest {
                        id: *request,
                        client: *client,
                        backend: o.backend,
                        outcome: *outcome,
                        status: *status,
                        at: r.at,
                        last: o.furthest,
                    });
                }
            }
            _ => {}
        }
    }

    /// The request on client connection `endpoint` went to `backend`.
    fn chose(&mut self, endpoint: SocketAddrV4, backend: HostId) {
        if let Some(o) = self
            .by_endpoint
            .get(&endpoint)
            .and_then(|id| self.open.get_mut(id))
        {
            o.backend = Some(backend);
        }
    }

    /// Forgets ended requests older than `t` that no frame took.
    pub(super) fn keep_ended_since(&mut self, t: Instant) {
        self.ended.retain(|e| e.at >= t);
    }

    /// The requests that ended since the last call.
    pub(super) fn take_ended(&mut self) -> Vec<EndedRequest> {
        std::mem::take(&mut self.ended)
    }

    /// Every open request, placed.
    pub(super) fn tokens(&mut self, world: &World, hub: HostId) -> Vec<RequestToken> {
        if self.open.is_empty() {
            return Vec::new();
        }
        // Layer 7: the proxy's upstream connection → the client connection it serves.
        let mut upstream: BTreeMap<SocketAddrV4, SocketAddrV4> = BTreeMap::new();
        if let Some(proxy) = world.balancer().proxy.as_ref() {
            for (client, up) in proxy.requests() {
                if let Some((local, _)) = up {
                    upstream.insert(local, client);
                }
            }
        }
        let client_end = |peer: SocketAddrV4| upstream.get(&peer).copied().unwrap_or(peer);
        // What the backends hold.
        let mut now_at: BTreeMap<SocketAddrV4, (HostId, Place)> = BTreeMap::new();
        let now = world.now();
        for (backend, peer, work) in world.backend_work() {
            let place = match work {
                Work::Queued(i) => Place::Queued(i),
                Work::Serving { started, done } => {
                    let span = (done - started).as_micros().max(1) as f64;
                    Place::Serving(((now - started).as_micros() as f64 / span).clamp(0.0, 1.0))
                }
                Work::Hung => Place::AtBackend,
            };
            now_at.insert(client_end(peer), (backend, place));
        }
        // What the links carry: each packet with bytes (or a SYN going out), by its client
        // connection.
        for p in world.packets_in_flight() {
            let Some((endpoint, place)) = self.carried(world, p, hub, &client_end) else {
                continue;
            };
            let entry = now_at.entry(endpoint).or_insert((p.to, place));
            if entry.1.stage() < place.stage() && !at_backend(entry.1) {
                *entry = (p.to, place);
            }
        }
        let mut tokens = Vec::with_capacity(self.open.len());
        for (id, o) in &mut self.open {
            let place = match now_at.get(&o.local) {
                Some(&(_, place)) if place.stage() >= o.furthest.stage() => place,
                _ => o.furthest.rest(),
            };
            o.furthest = place;
            tokens.push(RequestToken {
                id: *id,
                client: o.client,
                backend: o.backend,
                place,
            });
        }
        tokens
    }

    /// The client connection a packet belongs to and where it puts its request, if it carries
    /// the request (bytes, or a SYN on the way out).
    fn carried(
        &self,
        world: &World,
        p: &InFlight,
        hub: HostId,
        client_end: &dyn Fn(SocketAddrV4) -> SocketAddrV4,
    ) -> Option<(SocketAddrV4, Place)> {
        let outer = PacketInfo::parse(&p.bytes)?;
        // DSR: the balancer tunnels the client's packet; read the inner one.
        let inner;
        let info = if matches!(outer.transport, Transport::Other(4)) {
            inner = wire::nat::decapsulate(&p.bytes, outer.dst)?;
            PacketInfo::parse(inner)?
        } else {
            outer
        };
        let Transport::Tcp {
            src_port, dst_port, ..
        } = info.transport
        else {
            return None;
        };
        // A request travels with its bytes: the handshake before them is drawn at packet
        // level, not as the request moving.
        if info.payload_len == 0 {
            return None;
        }
        let src = SocketAddrV4::new(info.src, src_port);
        let dst = SocketAddrV4::new(info.dst, dst_port);
        let from_hub = p.from == hub;
        let far = if from_hub { p.to } else { p.from };
        let client_side = world.host_role(far) != Some(Role::Backend);
        let progress = p.progress(world.now());
        let (endpoint, place) = match (client_side, from_hub) {
            // Client → balancer (or, without one, client → router).
            (true, false) => (src, Place::ToBalancer(progress)),
            // Balancer → client.
            (true, true) => (dst, Place::ToClient(progress)),
            // Balancer → backend.
            (false, true) => (client_end(src), Place::ToBackend(progress)),
            // Backend → balancer.
            (false, false) => (client_end(dst), Place::FromBackend(progress)),
        };
        // Bytes coming back before the request reached a backend are a handshake (TLS), not
        // its answer.
        let back = matches!(place, Place::ToClient(_) | Place::FromBackend(_));
        let id = self.by_endpoint.get(&endpoint)?;
        let reached = self.open.get(id).is_some_and(|o| o.furthest.stage() >= 2.0);
        if back && !reached {
            return None;
        }
        Some((endpoint, place))
    }
}

fn at_backend(place: Place) -> bool {
    matches!(
        place,
        Place::Queued(_) | Place::Serving(_) | Place::AtBackend
    )
}
