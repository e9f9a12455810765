//! Links and the fabric.
//!
//! The world is a star: every client, player and backend has one link to the balancer
//! position, which sits between two networks — the client side (clients and the virtual IP)
//! and the server side (the balancer's inner address and the backends). Each link has two
//! directions ([`Wire`]s), each with its own queue.
//!
//! A wire models, in order: a drop-tail queue of at most `queue_packets` packets waiting for
//! the wire; serialisation at the link's bandwidth; loss with the link's probability; and
//! propagation delay with uniform jitter. Packets on one wire stay in order, as on a single path.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::rng::Stream;
use crate::scenario::LinkSpec;
pub use crate::scenario::Side;
use crate::time::{Duration, Instant};

/// Which way a packet crosses a host's link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the host towards the balancer position.
    Up,
    /// From the balancer position towards the host.
    Down,
}

/// What a wire does with a packet offered to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transit {
    /// The packet reaches the far end at this time (or, when `lost`, vanishes on the way and
    /// is reported dropped at that time).
    Arrives {
        /// Arrival time at the far end.
        at: Instant,
        /// Lost in transit.
        lost: bool,
    },
    /// The queue was full: dropped at once, never sent.
    QueueFull,
}

/// One direction of a link.
#[derive(Clone, Debug)]
pub struct Wire {
    spec: LinkSpec,
    /// When the wire finishes serialising the last accepted packet.
    busy_until: Instant,
    /// Departure times of the accepted packets before the last one, oldest first, while they
    /// may still be waiting (the last one's is `busy_until`). A wire that is idle when a
    /// packet comes (at 10,000 clients, almost every one) never reads or writes this buffer,
    /// a memory line of its own that has long left the caches.
    waiting: VecDeque<Instant>,
    /// Arrival time of the last packet, to keep the wire in order under jitter.
    last_arrival: Instant,
    rng: Stream,
}

impl Wire {
    /// A wire with the given properties and its own random stream.
    pub fn new(spec: LinkSpec, rng: Stream) -> Self {
        Wire {
            spec,
            busy_until: Instant::ZERO,
            waiting: VecDeque::new(),
            last_arrival: Instant::ZERO,
            rng,
        }
    }

    /// The wire's properties.
    pub fn spec(&self) -> &LinkSpec {
        &self.spec
    }

    /// Changes the properties for packets offered from now on.
    pub fn set_spec(&mut self, spec: LinkSpec) {
        self.spec = spec;
    }

    /// Packets waiting for or being serialised at `now`.
    pub fn queued(&mut self, now: Instant) -> usize {
        if self.busy_until <= now {
            // Every departure is at or before the last one's.
            self.waiting.clear();
            return 0;
        }
        while self.waiting.front().is_some_and(|&d| d <= now) {
            self.waiting.pop_front();
        }
        self.waiting.len() + 1
    }

    /// Time to put `bytes` on the wire.
    pub fn serialisation(&self, bytes: usize) -> Duration {
        if self.spec.bandwidth_mbps <= 0.0 {
            Duration::ZERO
        } else {
            // bits / (Mbit/s) = microseconds; round up so no packet is free.
            Duration::from_micros((bytes as f64 * 8.0 / self.spec.bandwidth_mbps).ceil() as u64)
        }
    }

    /// Offers a packet of `bytes` at `now`.
    pub fn offer(&mut self, now: Instant, bytes: usize) -> Transit {
        if self.queued(now) >= self.spec.queue_packets as usize {
            return Transit::QueueFull;
        }
        let start = if self.busy_until > now {
            // The last packet is still waiting or on the wire: it joins the list.
            self.waiting.push_back(self.busy_until);
            self.busy_until
        } else {
            now
        };
        let departs = start + self.serialisation(bytes);
        self.busy_until = departs;
        let lost = self.rng.chance(self.spec.loss);
        let jitter = self.rng.jitter_micros(self.spec.jitter);
        let base = (departs + self.spec.latency).as_micros() as i64;
        let mut at = Instant::from_micros((base + jitter).max(departs.as_micros() as i64) as u64);
        if at < self.last_arrival {
            at = self.last_arrival;
        }
        self.last_arrival = at;
        Transit::Arrives { at, lost }
    }
}

/// A host's link to the balancer position.
#[derive(Clone, Debug)]
pub struct Link {
    /// Which network the link belongs to.
    pub side: Side,
    /// Whether the host has link properties of its own; otherwise it follows its network's,
    /// and a change of the network's properties changes it.
    pub own: bool,
    /// Host towards balancer.
    pub up: Wire,
    /// Balancer towards host.
    pub down: Wire,
}

impl Link {
    /// A host's link, the same both ways: with the host's `own` properties if it has any, else
    /// with its `network`'s. `name` keys the random streams.
    pub fn new(
        side: Side,
        own: Option<LinkSpec>,
        network: LinkSpec,
        seed: u64,
        name: &str,
    ) -> Self {
        let spec = own.unwrap_or(network);
        Link {
            side,
            own: own.is_some(),
            up: Wire::new(spec, Stream::new(seed, &format!("link/{name}/up"))),
            down: Wire::new(spec, Stream::new(seed, &format!("link/{name}/down"))),
        }
    }

    /// Changes the properties both ways, for packets offered from now on.
    pub fn set_spec(&mut self, spec: LinkSpec) {
        self.up.set_spec(spec);
        self.down.set_spec(spec);
    }

    /// The wire for a direction.
    pub fn wire(&mut self, dir: Direction) -> &mut Wire {
        match dir {
            Direction::Up => &mut self.up,
            Direction::Down => &mut self.down,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(spec: LinkSpec) -> Wire {
        Wire::new(spec, Stream::new(1, "test"))
    }

    #[test]
    fn latency_plus_serialisation() {
        let mut w = wire(LinkSpec {
            latency: Duration::from_millis(1),
            bandwidth_mbps: 8.0, // one byte per microsecond
            ..LinkSpec::default()
        });
        assert_eq!(
            w.offer(Instant::ZERO, 100),
            Transit::Arrives {
                at: Instant::from_micros(1_100),
                lost: false
            }
        );
        // The second packet waits for the first to finish serialising.
        assert_eq!(
            w.offer(Instant::ZERO, 100),
            Transit::Arrives {
                at: Instant::from_micros(1_200),
                lost: false
            }
        );
    }

    #[test]
    fn drop_tail_queue() {
        let mut w = wire(LinkSpec {
            bandwidth_mbps: 8.0,
            queue_packets: 2,
            ..LinkSpec::default()
        });
        assert!(matches!(
            w.offer(Instant::ZERO, 1000),
            Transit::Arrives { .. }
        ));
        assert!(matches!(
            w.offer(Instant::ZERO, 1000),
            Transit::Arrives { .. }
        ));
        assert_eq!(w.offer(Instant::ZERO, 1000), Transit::QueueFull);
        // Once the first packet is on the wire, there is room again.
        assert!(matches!(
            w.offer(Instant::from_micros(1_000), 1000),
            Transit::Arrives { .. }
        ));
    }

    #[test]
    fn the_queue_counts_as_a_list_of_every_departure_would() {
        // The wire keeps the last departure apart from the list; a plain list of every
        // accepted packet's departure must give the same counts, drops and arrivals.
        let spec = LinkSpec {
            bandwidth_mbps: 8.0,
            queue_packets: 4,
            ..LinkSpec::default()
        };
        let mut w = wire(spec);
        let mut rng = Stream::new(7, "offers");
        let (mut departures, mut busy_until) = (Vec::<Instant>::new(), Instant::ZERO);
        let mut now = Instant::ZERO;
        let mut full = 0;
        for _ in 0..5_000 {
            now += Duration::from_micros(rng.below(400));
            let bytes = 1 + rng.below(1_500) as usize;
            departures.retain(|&d| d > now);
            assert_eq!(w.queued(now), departures.len());
            let expected = if departures.len() >= spec.queue_packets as usize {
                full += 1;
                Transit::QueueFull
            } else {
                busy_until = busy_until.max(now) + w.serialisation(bytes);
                departures.push(busy_until);
                Transit::Arrives {
                    at: busy_until + spec.latency,
                    lost: false,
                }
            };
            assert_eq!(w.offer(now, bytes), expected);
        }
        assert!(full > 100, "the queue filled {full} times");
    }

    #[test]
    fn jitter_keeps_order_and_loss_is_drawn() {
        let mut w = wire(LinkSpec {
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            bandwidth_mbps: 0.0,
            loss: 0.3,
            queue_packets: 100,
        });
        let mut last = Instant::ZERO;
        let mut lost = 0;
        for i in 0..1000 {
            match w.offer(Instant::from_micros(i * 100), 100) {
                Transit::Arrives { at, lost: l } => {
                    assert!(at >= last, "in order");
                    assert!(at >= Instant::from_micros(i * 100 + 5_000));
                    last = at;
                    lost += l as u32;
                }
                Transit::QueueFull => panic!("unlimited bandwidth never queues"),
            }
        }
        assert!((250..350).contains(&lost), "lost {lost} of 1000 at 30%");
    }
}
