//! The event queue: a binary heap keyed by (time, sequence), so that events at the same time
//! run in the order they were scheduled — the property determinism rests on.
//!
//! Timeline entries are the exception: one due at `t` runs after every other event at `t`,
//! even those scheduled later. That is where a change made live at `t` happens (the world has
//! run up to and including `t` when someone clicks), so a recorded change replays the same.
//!
//! Most events are due a fixed delay after the moment they are scheduled: a packet's arrival
//! (the link's latency), a request's deadline (its timeout), smoltcp's delayed ACK. At 16,000
//! requests per second a single heap held some 100,000 pending events, and every pop sifted
//! through levels that no longer fit in the cache. Events scheduled at the same delay from
//! now come due in the order they were scheduled, so each of the most common delays gets a
//! *lane*, a FIFO that is sorted by construction; the heap keeps the rest. A pop takes the
//! earliest of the heap's top and the lanes' fronts by the same (time, sequence) key, so the
//! order is exactly the one heap's.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::Event;
use crate::apps::{AppTimer, Timers};
use crate::ids::HostId;
use crate::time::{Duration, Instant};

#[derive(Debug)]
struct Scheduled {
    at: Instant,
    /// Scheduling order; [`LAST`] set for events that run after the others at their time (the
    /// flag lives in the sequence number so that the heap's elements stay as small as before).
    seq: u64,
    event: Event,
}

/// The sequence bit of events scheduled to run last at their time.
const LAST: u64 = 1 << 63;

impl Scheduled {
    fn key(&self) -> (Instant, u64) {
        (self.at, self.seq)
    }
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed, so that the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// Lanes kept at most: each pop compares their fronts.
const LANES: usize = 6;

/// Pending events.
#[derive(Debug, Default)]
pub struct Queue {
    heap: BinaryHeap<Scheduled>,
    /// FIFOs of events scheduled at one delay from the time they were scheduled, by delay.
    lanes: Vec<(Duration, VecDeque<Scheduled>)>,
    /// The time of the last event popped: the world's now.
    now: Instant,
    next_seq: u64,
}

impl Queue {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Instant, event: Event) {
        self.insert(at, false, event);
    }

    /// Schedules `event` at `at`, after every other event at `at` (timeline entries).
    pub fn push_last(&mut self, at: Instant, event: Event) {
        self.insert(at, true, event);
    }

    fn insert(&mut self, at: Instant, last: bool, event: Event) {
        self.next_seq += 1;
        let seq = if last {
            self.next_seq | LAST
        } else {
            self.next_seq
        };
        let s = Scheduled { at, seq, event };
        if last || at < self.now {
            return self.heap.push(s);
        }
        let delay = at - self.now;
        let lane = match self.lanes.iter().position(|(d, _)| *d == delay) {
            Some(i) => Some(i),
            None if self.lanes.len() < LANES => {
                self.lanes.push((delay, VecDeque::new()));
                Some(self.lanes.len() - 1)
            }
            None => self
                .lanes
                .iter()
                .position(|(_, q)| q.is_empty())
                .inspect(|&i| {
                    self.lanes[i].0 = delay;
                }),
        };
        match lane {
            // In order by construction: `now` only grows, so a later push at this delay is
            // due no earlier (and has a larger sequence number).
            Some(i) if self.lanes[i].1.back().is_none_or(|b| b.key() < s.key()) => {
                self.lanes[i].1.push_back(s)
            }
            _ => self.heap.push(s),
        }
    }

    /// The earliest event's time, and where it is: the heap (`None`) or a lane.
    fn earliest(&self) -> Option<(Instant, Option<usize>)> {
        let mut best = self.heap.peek().map(|s| (s.key(), None));
        for (i, (_, q)) in self.lanes.iter().enumerate() {
            if let Some(front) = q.front() {
                if best.is_none_or(|(k, _)| front.key() < k) {
                    best = Some((front.key(), Some(i)));
                }
            }
        }
        best.map(|((at, _), place)| (at, place))
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<Instant> {
        self.earliest().map(|(at, _)| at)
    }

    /// Removes the earliest event.
    pub fn pop(&mut self) -> Option<(Instant, Event)> {
        self.pop_due(Instant::from_micros(u64::MAX))
    }

    /// Removes the earliest event if it is due at or before `t` (one search for the earliest,
    /// where [`Queue::peek_time`] then [`Queue::pop`] would make two).
    pub fn pop_due(&mut self, t: Instant) -> Option<(Instant, Event)> {
        let (at, place) = self.earliest()?;
        if at > t {
            return None;
        }
        let s = match place {
            None => self.heap.pop(),
            Some(i) => self.lanes[i].1.pop_front(),
        }?;
        self.now = s.at;
        Some((s.at, s.event))
    }

    /// Every pending event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Instant, &Event)> {
        self.heap
            .iter()
            .chain(self.lanes.iter().flat_map(|(_, q)| q.iter()))
            .map(|s| (s.at, &s.event))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(|(_, q)| q.len()).sum::<usize>()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Timers for Queue {
    fn schedule(&mut self, at: Instant, host: HostId, timer: AppTimer) {
        self.push(at, Event::Timer { host, timer });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hosts of `q`'s poll events, in the order it gives them.
    fn order(mut q: Queue) -> Vec<u32> {
        std::iter::from_fn(|| q.pop())
            .map(|(_, e)| match e {
                Event::Poll { host } => host.0,
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn earliest_first_then_in_scheduling_order() {
        let mut q = Queue::default();
        q.push(Instant::from_micros(5), Event::Poll { host: HostId(1) });
        q.push(Instant::from_micros(3), Event::Poll { host: HostId(2) });
        q.push(Instant::from_micros(5), Event::Poll { host: HostId(3) });
        q.push(Instant::from_micros(3), Event::Poll { host: HostId(4) });
        assert_eq!(order(q), [2, 4, 1, 3]);
    }

    #[test]
    fn lanes_and_heap_together_pop_in_time_then_scheduling_order() {
        // Many delays (more than there are lanes), pushes between pops, as a world does; the
        // reference is one sort by (time, scheduling order).
        let mut q = Queue::default();
        let mut pending: Vec<(Instant, u32)> = Vec::new();
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        let mut x: u64 = 7;
        let mut next = 0u32;
        for _ in 0..2000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let now = q.now;
            for _ in 0..(x >> 62) + 1 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                let delay = [0, 10, 25, 40, 100, 5000, 7, 3, 1][(x >> 60) as usize % 9]
                    + if x >> 59 & 1 == 1 { (x >> 40) % 50 } else { 0 };
                let at = now + Duration::from_micros(delay);
                q.push(at, Event::Poll { host: HostId(next) });
                pending.push((at, next));
                next += 1;
            }
            if x >> 61 & 1 == 1 {
                pending.sort_by_key(|&(at, n)| (at, n));
                let (at, n) = pending.remove(0);
                expected.push((at, n));
                let (got_at, e) = q.pop().unwrap();
                let Event::Poll { host } = e else {
                    unreachable!()
                };
                popped.push((got_at, host.0));
            }
        }
        assert_eq!(popped, expected);
        assert_eq!(q.len(), pending.len());
    }

    #[test]
    fn last_events_follow_everything_else_at_their_time() {
        let mut q = Queue::default();
        q.push_last(Instant::from_micros(5), Event::Poll { host: HostId(1) });
        q.push(Instant::from_micros(5), Event::Poll { host: HostId(2) });
        q.push(Instant::from_micros(6), Event::Poll { host: HostId(3) });
        q.push(Instant::from_micros(5), Event::Poll { host: HostId(4) });
        assert_eq!(order(q), [2, 4, 1, 3]);
    }
}
