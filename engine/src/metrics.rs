//! Counters, latency histograms and windowed time series.
//!
//! Histograms are log-linear over microseconds: exact below 2^b, then 2^b buckets per power of
//! two, so a percentile is within 2^-b relative error (b = 6: 1.6 %). They use integer
//! arithmetic only, so percentiles are identical on every platform. Their storage grows only up
//! to the largest value seen.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use crate::time::{Duration, Instant};
use crate::trace::{DropReason, Outcome, SessionOutcome};

/// A log-linear histogram of durations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Histogram {
    sub_bits: u32,
    counts: Vec<u32>,
    total: u64,
    sum_us: u128,
    max_us: u64,
}

impl Histogram {
    /// A histogram with 1.6 % resolution, for totals.
    pub fn fine() -> Self {
        Self::with_resolution(6)
    }

    /// A histogram with 6 % resolution, for time-series windows.
    pub fn coarse() -> Self {
        Self::with_resolution(4)
    }

    fn with_resolution(sub_bits: u32) -> Self {
        Histogram {
            sub_bits,
            counts: Vec::new(),
            total: 0,
            sum_us: 0,
            max_us: 0,
        }
    }

    fn index(&self, v: u64) -> usize {
        let b = self.sub_bits;
        if v < (1 << b) {
            return v as usize;
        }
        let e = 63 - v.leading_zeros(); // floor(log2 v) >= b
        let sub = (v >> (e - b)) & ((1 << b) - 1);
        ((1 << b) + (u64::from(e - b) << b) + sub) as usize
    }

    /// The smallest value that falls in bucket `i`.
    fn lower_bound(&self, i: usize) -> u64 {
        let b = self.sub_bits;
        let i = i as u64;
        if i < (1 << b) {
            return i;
        }
        let e = (i >> b) - 1 + u64::from(b);
        let sub = i & ((1 << b) - 1);
        (1 << e) + (sub << (e - u64::from(b)))
    }

    /// Counts one value.
    pub fn record(&mut self, d: Duration) {
        let v = d.as_micros();
        let i = self.index(v);
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] = self.counts[i].saturating_add(1);
        self.total += 1;
        self.sum_us += u128::from(v);
        self.max_us = self.max_us.max(v);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` in [0, 1] (the middle of its bucket, so within half the
    /// resolution; the exact maximum for q = 1), or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.total == 0 {
            return None;
        }
        if q >= 1.0 {
            return Some(Duration::from_micros(self.max_us));
        }
        // Rank of the wanted value, 1-based: ceil(q * total), at least 1.
        let rank = ((q.max(0.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                let mid = (self.lower_bound(i) + self.lower_bound(i + 1) - 1) / 2;
                return Some(Duration::from_micros(mid.min(self.max_us)));
            }
        }
        Some(Duration::from_micros(self.max_us))
    }

    /// The mean, or `None` when empty.
    pub fn mean(&self) -> Option<Duration> {
        (self.total > 0)
            .then(|| Duration::from_micros((self.sum_us / u128::from(self.total)) as u64))
    }

    /// The largest value counted.
    pub fn max(&self) -> Option<Duration> {
        (self.total > 0).then_some(Duration::from_micros(self.max_us))
    }

    /// p50 / p95 / p99 / max / mean in milliseconds, for reports.
    pub fn summary(&self) -> LatencySummary {
        let ms = |d: Option<Duration>| d.map(|d| d.as_millis_f64());
        LatencySummary {
            count: self.total,
            p50_ms: ms(self.quantile(0.50)),
            p95_ms: ms(self.quantile(0.95)),
            p99_ms: ms(self.quantile(0.99)),
            max_ms: ms(self.max()),
            mean_ms: ms(self.mean()),
        }
    }
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Values counted.
    pub count: u64,
    /// Median.
    pub p50_ms: Option<f64>,
    /// 95th percentile.
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    pub p99_ms: Option<f64>,
    /// Largest.
    pub max_ms: Option<f64>,
    /// Mean.
    pub mean_ms: Option<f64>,
}

/// Packet counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PacketCounts {
    /// Transmissions offered to a link.
    pub sent: u64,
    /// Transmissions accepted at the far end.
    pub delivered: u64,
    /// Transmissions dropped, by reason.
    pub dropped: BTreeMap<DropReason, u64>,
}

impl PacketCounts {
    /// All drops.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// Request counters, as clients saw them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Requests started.
    pub started: u64,
    /// Requests ended, by outcome.
    pub outcomes: BTreeMap<Outcome, u64>,
    /// Responses received, by status.
    pub statuses: BTreeMap<u16, u64>,
}

impl RequestCounts {
    /// Requests ended with `o`.
    pub fn outcome(&self, o: Outcome) -> u64 {
        self.outcomes.get(&o).copied().unwrap_or(0)
    }

    /// Requests ended, whatever the outcome.
    pub fn ended(&self) -> u64 {
        self.outcomes.values().sum()
    }
}

/// Shopping session counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SessionCounts {
    /// Sessions started.
    pub started: u64,
    /// Sessions ended, by outcome.
    pub outcomes: BTreeMap<SessionOutcome, u64>,
    /// Checkouts that found an empty cart (a subset of lost carts).
    pub empty_carts: u64,
}

impl SessionCounts {
    /// Sessions whose checkout found fewer items than were added.
    pub fn lost_carts(&self) -> u64 {
        self.outcomes
            .get(&SessionOutcome::LostCart)
            .copied()
            .unwrap_or(0)
    }
}

/// What one backend did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BackendCounts {
    /// Requests answered.
    pub requests: u64,
    /// Answers by status.
    pub statuses: BTreeMap<u16, u64>,
    /// TCP connections accepted.
    pub connections: u64,
    /// New flows (L4) or requests (L7) the balancer sent it.
    pub decisions: u64,
}

/// Game traffic measurements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameStats {
    /// Updates sent by players.
    pub sent: u64,
    /// Echoes received back.
    pub received: u64,
    /// Updates whose echo did not come back in time.
    pub lost: u64,
    /// Round-trip times.
    pub rtt: Histogram,
    /// Sum of |RTT(n) - RTT(n-1)| over consecutive echoes of each player, in microseconds.
    pub jitter_sum_us: u64,
    /// Number of terms in `jitter_sum_us`.
    pub jitter_samples: u64,
}

impl Default for GameStats {
    fn default() -> Self {
        GameStats {
            sent: 0,
            received: 0,
            lost: 0,
            rtt: Histogram::fine(),
            jitter_sum_us: 0,
            jitter_samples: 0,
        }
    }
}

/// One window of the time series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Start of the window.
    pub start: Instant,
    /// Requests that ended in the window.
    pub ended: u64,
    /// Of which ended with a non-ok outcome.
    pub failed: u64,
    /// Latency of requests that got a response.
    pub latency: Histogram,
    /// Packets sent.
    pub packets: u64,
    /// Packets dropped.
    pub drops: u64,
}

/// Fixed-width windows over simulated time, the newest `keep` of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    /// Width of each window.
    pub width: Duration,
    keep: usize,
    windows: VecDeque<Window>,
}

impl Series {
    /// Windows of `width`, keeping the newest `keep`.
    pub fn new(width: Duration, keep: usize) -> Self {
        Series {
            width,
            keep,
            windows: VecDeque::new(),
        }
    }

    /// The window containing `at`, created (with empty ones before it) as needed.
    pub fn at(&mut self, at: Instant) -> &mut Window {
        let w = self.width.as_micros().max(1);
        let start = Instant::from_micros(at.as_micros() / w * w);
        loop {
            match self.windows.back() {
                Some(last) if last.start >= start => break,
                last => {
                    let next = last.map_or(start, |l| l.start + self.width);
                    if self.windows.len() == self.keep {
                        self.windows.pop_front();
                    }
                    self.windows.push_back(Window {
                        start: next,
                        ended: 0,
                        failed: 0,
                        latency: Histogram::coarse(),
                        packets: 0,
                        drops: 0,
                    });
                }
            }
        }
        // Events arrive in time order, so `at` is in the newest window (or, after the ring
        // forgot it, in one already gone: count it in the oldest kept).
        let idx = self
            .windows
            .iter()
            .rposition(|win| win.start <= at)
            .unwrap_or(0);
        &mut self.windows[idx]
    }

    /// The windows kept, oldest first.
    pub fn windows(&self) -> impl ExactSizeIterator<Item = &Window> {
        self.windows.iter()
    }
}

/// Everything the world counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metrics {
    /// Packets.
    pub packets: PacketCounts,
    /// Requests.
    pub requests: RequestCounts,
    /// Latency of requests that got a complete response.
    pub latency: Histogram,
    /// Shopping sessions.
    pub sessions: SessionCounts,
    /// Per backend, in scenario order.
    pub backends: Vec<BackendCounts>,
    /// Game traffic.
    pub game: GameStats,
    /// One-second windows.
    pub series: Series,
}

impl Metrics {
    /// Empty metrics for `backends` backends.
    pub fn new(backends: usize) -> Self {
        Metrics {
            packets: PacketCounts::default(),
            requests: RequestCounts::default(),
            latency: Histogram::fine(),
            sessions: SessionCounts::default(),
            backends: vec![BackendCounts::default(); backends],
            game: GameStats::default(),
            series: Series::new(Duration::from_secs(1), 300),
        }
    }

    /// Counts a packet offered to a link.
    pub fn packet_sent(&mut self, at: Instant) {
        self.packets.sent += 1;
        self.series.at(at).packets += 1;
    }

    /// Counts a drop.
    pub fn packet_dropped(&mut self, at: Instant, reason: DropReason) {
        *self.packets.dropped.entry(reason).or_default() += 1;
        self.series.at(at).drops += 1;
    }

    /// Counts a request's end.
    pub fn request_ended(
        &mut self,
        at: Instant,
        outcome: Outcome,
        status: Option<u16>,
        latency: Duration,
    ) {
        *self.requests.outcomes.entry(outcome).or_default() += 1;
        let window = self.series.at(at);
        window.ended += 1;
        if outcome != Outcome::Ok {
            window.failed += 1;
        }
        if let Some(s) = status {
            *self.requests.statuses.entry(s).or_default() += 1;
            window.latency.record(latency);
            self.latency.record(latency);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_percentiles_are_within_resolution() {
        let mut h = Histogram::fine();
        for v in 1..=10_000u64 {
            h.record(Duration::from_micros(v * 10));
        }
        for (q, exact) in [(0.5, 50_000.0), (0.95, 95_000.0), (0.99, 99_000.0)] {
            let got = h.quantile(q).unwrap().as_micros() as f64;
            assert!(
                (got - exact).abs() / exact <= 1.0 / 64.0,
                "q{q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.quantile(1.0), Some(Duration::from_micros(100_000)));
        assert_eq!(h.mean(), Some(Duration::from_micros(50_005)));
        assert_eq!(Histogram::fine().quantile(0.5), None);
    }

    #[test]
    fn bucket_bounds_invert_the_index() {
        let h = Histogram::fine();
        for v in [0u64, 1, 63, 64, 65, 127, 128, 1000, 123_456, 1 << 40] {
            let i = h.index(v);
            assert!(h.lower_bound(i) <= v, "{v}");
            assert!(h.lower_bound(i + 1) > v, "{v}");
        }
    }

    #[test]
    fn series_windows_are_bounded_and_contiguous() {
        let mut s = Series::new(Duration::from_secs(1), 3);
        s.at(Instant::from_millis(500)).ended += 1;
        s.at(Instant::from_millis(4_200)).ended += 2;
        let starts: Vec<u64> = s
            .windows()
            .map(|w| w.start.as_micros() / 1_000_000)
            .collect();
        assert_eq!(starts, [2, 3, 4]);
        assert_eq!(s.windows().last().unwrap().ended, 2);
    }
}
