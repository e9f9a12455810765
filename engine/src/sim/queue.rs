//! The event queue: a binary heap keyed by (time, sequence), so that events at the same time
//! run in the order they were scheduled — the property determinism rests on.
//!
//! Timeline entries are the exception: one due at `t` runs after every other event at `t`,
//! even those scheduled later. That is where a change made live at `t` happens (the world has
//! run up to and including `t` when someone clicks), so a recorded change replays the same.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::Event;
use crate::apps::{AppTimer, Timers};
use crate::ids::HostId;
use crate::time::Instant;

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

/// Pending events.
#[derive(Debug, Default)]
pub struct Queue {
    heap: BinaryHeap<Scheduled>,
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
        self.heap.push(Scheduled { at, seq, event });
    }

    /// Time of the earliest event.
    pub fn peek_time(&self) -> Option<Instant> {
        self.heap.peek().map(|s| s.at)
    }

    /// Removes the earliest event.
    pub fn pop(&mut self) -> Option<(Instant, Event)> {
        self.heap.pop().map(|s| (s.at, s.event))
    }

    /// Every pending event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Instant, &Event)> {
        self.heap.iter().map(|s| (s.at, &s.event))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
    fn last_events_follow_everything_else_at_their_time() {
        let mut q = Queue::default();
        q.push_last(Instant::from_micros(5), Event::Poll { host: HostId(1) });
        q.push(Instant::from_micros(5), Event::Poll { host: HostId(2) });
        q.push(Instant::from_micros(6), Event::Poll { host: HostId(3) });
        q.push(Instant::from_micros(5), Event::Poll { host: HostId(4) });
        assert_eq!(order(q), [2, 4, 1, 3]);
    }
}
