//! The event queue: events ordered by (time, sequence), so that events at the same time run
//! in the order they were scheduled — the property determinism rests on.
//!
//! Timeline entries are the exception: one due at `t` runs after every other event at `t`,
//! even those scheduled later. That is where a change made live at `t` happens (the world has
//! run up to and including `t` when someone clicks), so a recorded change replays the same.
//!
//! # FIFOs sorted by construction, and one heap for the rest
//!
//! At 16,000 requests per second a single heap held some 100,000 pending events, and every
//! pop sifted 80-byte elements through levels that no longer fit in the cache. Many events
//! come from a source that schedules them in time order, so a FIFO per source is sorted by
//! construction:
//!
//! - a *stream*, named by the scheduler ([`Queue::push_in`]): the balancer's CPU finishes
//!   packets in the order it took them (at 10,000 clients and 16,000 requests/s, 280,000
//!   events a second that had all gone to the heap);
//! - a *lane*, one of the few most common delays from now (a request's timeout, smoltcp's
//!   delayed ACK): events scheduled at the same delay from a growing now come due in the
//!   order they were scheduled.
//!
//! A small heap of FIFO fronts (24 bytes each, one per non-empty FIFO) finds the earliest
//! front; the main heap keeps everything else, as 24-byte keys too, the events themselves in
//! slots beside it (a pop sifted 80-byte elements before). A pop takes the earlier of the two tops by the
//! same (time, sequence) key, so the order is exactly that of one heap over all events. An
//! event that would break a FIFO's order (a source that broke its promise) goes to the heap,
//! so the order holds whatever the callers do.
//!
//! A wire delivers in order too, but a stream per wire did not pay where it matters: at
//! 10,000 clients a wire holds about one packet, so its FIFO only added a buffer to touch per
//! packet (1.11 times the wall time in paired runs). Packets stay with the lanes and the heap.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
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

/// A source of events each due no earlier than the one it scheduled before: its events wait
/// in a FIFO of their own ([`Queue::push_in`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream(pub u32);

/// An event's time and sequence number, and where it waits (a slot of the heap's events, or
/// a FIFO).
type Key = (Instant, u64, u32);

/// Delay lanes kept at most (the FIFOs before the streams').
const LANES: usize = 6;

/// Pending events.
#[derive(Debug, Default)]
pub struct Queue {
    /// The keys of the events that are in no FIFO, with their slot in `parked`.
    heap: BinaryHeap<Reverse<Key>>,
    /// The events of the heap's keys, by slot: the heap moves 24-byte keys as it sifts, not
    /// 80-byte events.
    parked: Vec<Option<Event>>,
    /// Free slots of `parked`.
    free: Vec<u32>,
    /// FIFOs sorted by construction: the [`LANES`] delay lanes, then one per stream.
    fifos: Vec<VecDeque<Scheduled>>,
    /// The delay of each lane in use (`fifos[i]` for `i < lanes.len()`).
    lanes: Vec<Duration>,
    /// The key of every non-empty FIFO's front, with the FIFO's index.
    fronts: BinaryHeap<Reverse<Key>>,
    /// The time of the last event popped: the world's now.
    now: Instant,
    next_seq: u64,
}

impl Queue {
    /// Schedules `event` at `at`.
    pub fn push(&mut self, at: Instant, event: Event) {
        let s = self.scheduled(at, false, event);
        if at < self.now {
            return self.park(s);
        }
        let delay = at - self.now;
        let lane = match self.lanes.iter().position(|d| *d == delay) {
            Some(i) => Some(i),
            None if self.lanes.len() < LANES => {
                self.lanes.push(delay);
                Some(self.lanes.len() - 1)
            }
            None => (0..self.lanes.len())
                .find(|&i| self.fifos.get(i).is_none_or(VecDeque::is_empty))
                .inspect(|&i| self.lanes[i] = delay),
        };
        match lane {
            // In order by construction: `now` only grows, so a later push at this delay is
            // due no earlier (and has a larger sequence number).
            Some(i) => self.push_fifo(i, s),
            None => self.park(s),
        }
    }

    /// Puts `s` in the heap.
    fn park(&mut self, s: Scheduled) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.parked[slot as usize] = Some(s.event);
                slot
            }
            None => {
                self.parked.push(Some(s.event));
                (self.parked.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((s.at, s.seq, slot)));
    }

    /// Schedules `event` at `at` in `stream`'s FIFO: `at` should be no earlier than the time of
    /// the stream's last event (if it is, the event waits in the heap, in the same order).
    pub fn push_in(&mut self, stream: Stream, at: Instant, event: Event) {
        let s = self.scheduled(at, false, event);
        self.push_fifo(LANES + stream.0 as usize, s);
    }

    /// Schedules `event` at `at`, after every other event at `at` (timeline entries).
    pub fn push_last(&mut self, at: Instant, event: Event) {
        let s = self.scheduled(at, true, event);
        self.park(s);
    }

    fn scheduled(&mut self, at: Instant, last: bool, event: Event) -> Scheduled {
        self.next_seq += 1;
        let seq = if last {
            self.next_seq | LAST
        } else {
            self.next_seq
        };
        Scheduled { at, seq, event }
    }

    /// Appends `s` to FIFO `i` if that keeps the FIFO in order, else to the heap.
    fn push_fifo(&mut self, i: usize, s: Scheduled) {
        if i >= self.fifos.len() {
            self.fifos.resize_with(i + 1, VecDeque::new);
        }
        let fifo = &mut self.fifos[i];
        match fifo.back() {
            None => {
                self.fronts.push(Reverse((s.at, s.seq, i as u32)));
                fifo.push_back(s);
            }
            Some(b) if b.key() < s.key() => fifo.push_back(s),
            Some(_) => self.park(s),
        }
    }

    /// The earliest event's time, and where it is: the heap (`None`) or a FIFO.
    fn earliest(&self) -> Option<(Instant, Option<usize>)> {
        let heap = self
            .heap
            .peek()
            .map(|&Reverse((at, seq, _))| ((at, seq), None));
        let fifo = self
            .fronts
            .peek()
            .map(|&Reverse((at, seq, i))| ((at, seq), Some(i as usize)));
        // Written out rather than `min_by_key` over the two: this runs for every event, and
        // the iterator form cost about 13 instructions more a pop.
        let ((at, _), place) = match (heap, fifo) {
            (Some(h), Some(f)) => {
                if f.0 < h.0 {
                    f
                } else {
                    h
                }
            }
            (h, f) => h.or(f)?,
        };
        Some((at, place))
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
            None => {
                let Reverse((at, seq, slot)) = self.heap.pop()?;
                self.free.push(slot);
                let event = self.parked[slot as usize]
                    .take()
                    .expect("every key in the heap has its event parked");
                Some(Scheduled { at, seq, event })
            }
            Some(i) => {
                let fifo = &mut self.fifos[i];
                let s = fifo.pop_front();
                let mut top = self.fronts.peek_mut().expect("the FIFO's front is there");
                match fifo.front() {
                    // The FIFO's next front takes its place (one sift, not a pop and a push).
                    Some(next) => *top = Reverse((next.at, next.seq, i as u32)),
                    None => {
                        PeekMut::pop(top);
                    }
                }
                s
            }
        }?;
        self.now = s.at;
        Some((s.at, s.event))
    }

    /// Every pending event, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Instant, &Event)> {
        let parked = self.heap.iter().filter_map(|&Reverse((at, _, slot))| {
            self.parked[slot as usize].as_ref().map(|e| (at, e))
        });
        parked.chain(self.fifos.iter().flatten().map(|s| (s.at, &s.event)))
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() + self.fifos.iter().map(VecDeque::len).sum::<usize>()
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
    fn fifos_and_heap_together_pop_in_time_then_scheduling_order() {
        // Many delays (more than there are lanes), streams kept in order and streams pushed out
        // of order, pushes between pops, as a world does; the reference is one sort by (time,
        // scheduling order).
        let mut q = Queue::default();
        let mut pending: Vec<(Instant, u32)> = Vec::new();
        let mut popped = Vec::new();
        let mut expected = Vec::new();
        let mut stream_last = [Instant::ZERO; 5];
        let mut x: u64 = 7;
        let mut next = 0u32;
        let mut pop_one = |q: &mut Queue, pending: &mut Vec<(Instant, u32)>| {
            pending.sort_by_key(|&(at, n)| (at, n));
            let (at, n) = pending.remove(0);
            expected.push((at, n));
            let (got_at, e) = q.pop().unwrap();
            let Event::Poll { host } = e else {
                unreachable!()
            };
            popped.push((got_at, host.0));
        };
        for _ in 0..4000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let now = q.now;
            for _ in 0..(x >> 62) + 1 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                let delay = [0, 10, 25, 40, 100, 5000, 7, 3, 1][(x >> 60) as usize % 9]
                    + if x >> 59 & 1 == 1 { (x >> 40) % 50 } else { 0 };
                let mut at = now + Duration::from_micros(delay);
                let event = Event::Poll { host: HostId(next) };
                match (x >> 20) % 8 {
                    // Streams 0-3 keep their promise; stream 4 breaks it now and then.
                    k @ 0..=4 => {
                        let k = k as usize;
                        if k < 4 && at < stream_last[k] {
                            at = stream_last[k];
                        }
                        stream_last[k] = stream_last[k].max(at);
                        q.push_in(Stream(k as u32), at, event);
                    }
                    _ => q.push(at, event),
                }
                pending.push((at, next));
                next += 1;
            }
            if x >> 61 & 1 == 1 {
                pop_one(&mut q, &mut pending);
            }
        }
        assert_eq!(q.len(), pending.len());
        while !pending.is_empty() {
            pop_one(&mut q, &mut pending);
        }
        assert!(q.is_empty() && q.pop().is_none());
        assert_eq!(popped, expected);
        assert!(popped.len() > 3000);
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
