//! Going back in time. The world is deterministic, so the state at any time is the state a
//! fresh world reaches by running there; what makes going back quick is to start from a saved
//! world close before the target instead of from zero.
//!
//! Worlds cannot be copied (a smoltcp stack is not `Clone`), so a saved point is a world of its
//! own: built in the background, in the frames' spare time, by running a fresh world to the
//! point (every `spacing` of simulated time up to the furthest time the page has shown), or
//! the world the page left when it went back. Going back takes the latest saved point at or
//! before the target and runs it forward the rest of the way. Each saved point carries the
//! page's memory of the run beside the world (the event list's kept rows, the viewer's), so
//! that what the page shows after going back is what a fresh run to that time shows.

use lbsim::scenario::Scenario;
use lbsim::sim::World;
use lbsim::time::{Duration, Instant};
use lbsim::view::Viewer;

use crate::view::EventLog;

/// A world with the page's memory of its run.
pub struct Snapshot {
    /// The world.
    pub world: World,
    /// Its viewer.
    pub viewer: Viewer,
    /// The event list's kept rows.
    pub log: EventLog,
}

impl Snapshot {
    /// A fresh world for `scenario` at time zero (which validates: the page's scenarios do).
    pub fn fresh(scenario: &Scenario, capacity: usize) -> Snapshot {
        Snapshot {
            world: World::with_trace_capacity(scenario, capacity),
            viewer: Viewer::new(),
            log: EventLog::default(),
        }
    }

    /// Runs to `t` (or to the end of what is pending).
    pub fn run_until(&mut self, t: Instant) {
        self.world.run_until(t);
        self.catch_up();
    }

    /// Runs until `n` events in all have been processed.
    pub fn run_to_event(&mut self, n: u64) {
        self.world.run_to_event(n);
        self.catch_up();
    }

    /// Lets the memories read what the world traced, as the page's clock does after a frame.
    fn catch_up(&mut self) {
        self.log.absorb(&self.world);
        self.viewer.absorb(&self.world);
    }
}

/// Most saved points kept.
const MOST: usize = 12;

/// The memory the page's worlds may hold together: the live one, the saved points and the one
/// being built ([`World::memory_in_use`] each). A world of tens of thousands of connections
/// keeps fewer saved points, or none (going back then runs from zero), rather than exhausting
/// the tab.
const MEMORY: u64 = lbsim::scenario::MEMORY_BUDGET;

/// Saved points of one scenario's run.
#[derive(Default)]
pub struct Rewind {
    saved: Vec<Snapshot>,
    /// The point being built, and the time it is built to.
    building: Option<(Snapshot, Instant)>,
    /// The furthest time the page has shown.
    horizon: Instant,
}

impl Rewind {
    /// Forgets every saved point (the scenario changed).
    pub fn clear(&mut self) {
        self.saved.clear();
        self.building = None;
        self.horizon = Instant::ZERO;
    }

    /// The page has shown the world at `t`.
    pub fn reached(&mut self, t: Instant) {
        self.horizon = self.horizon.max(t);
    }

    /// Keeps `snapshot` (a world the page is leaving) as a saved point, beside the page's
    /// `live` worlds (their [`World::memory_in_use`] together), while the worlds fit in
    /// [`MEMORY`].
    pub fn keep(&mut self, snapshot: Snapshot, live: u64) {
        let at = snapshot.world.now();
        if at == Instant::ZERO || self.saved.iter().any(|s| s.world.now() == at) {
            return;
        }
        let pos = self.saved.partition_point(|s| s.world.now() < at);
        self.saved.insert(pos, snapshot);
        while self.saved.len() > MOST || (!self.saved.is_empty() && !self.fits(live, 0)) {
            // Drop the point closest to its predecessor: the others spread wider.
            let i = (1..self.saved.len())
                .min_by_key(|&i| self.saved[i].world.now() - self.saved[i - 1].world.now())
                .unwrap_or(0);
            self.saved.remove(i);
        }
    }

    /// Whether the saved points, `live` and `more` bytes fit in [`MEMORY`].
    fn fits(&self, live: u64, more: u64) -> bool {
        let saved: u64 = self.saved.iter().map(|s| s.world.memory_in_use()).sum();
        let building = self
            .building
            .as_ref()
            .map_or(0, |(s, _)| s.world.memory_in_use());
        saved + building + live + more <= MEMORY
    }

    /// The latest saved point at or before `t` (taken out), or a fresh world.
    fn start_for(
        &mut self,
        scenario: &Scenario,
        capacity: usize,
        fits: impl Fn(&World) -> bool,
    ) -> Snapshot {
        match self.saved.iter().rposition(|s| fits(&s.world)) {
            Some(i) => self.saved.remove(i),
            None => Snapshot::fresh(scenario, capacity),
        }
    }

    /// The world at time `t`.
    pub fn at_time(&mut self, scenario: &Scenario, capacity: usize, t: Instant) -> Snapshot {
        let mut s = self.start_for(scenario, capacity, |w| w.now() <= t);
        s.run_until(t);
        s
    }

    /// The world after its `n`th event.
    pub fn at_event(&mut self, scenario: &Scenario, capacity: usize, n: u64) -> Snapshot {
        let mut s = self.start_for(scenario, capacity, |w| w.events_processed() <= n);
        s.run_to_event(n);
        s
    }

    /// Builds saved points for up to `budget_ms` of real time (`clock` reads it): one every
    /// `spacing` of simulated time up to the furthest time shown, while one more copy of the
    /// `live` worlds (their [`World::memory_in_use`] together, read only when a point is to be
    /// built) would fit in [`MEMORY`] (a point is built up to about the live world's time, so
    /// it weighs about as much).
    pub fn work(
        &mut self,
        scenario: &Scenario,
        capacity: usize,
        spacing: Duration,
        budget_ms: f64,
        clock: &dyn Fn() -> f64,
        live: &dyn Fn() -> u64,
    ) {
        let started = clock();
        while clock() - started < budget_ms {
            if self.building.is_none() {
                let Some(target) = self.next_target(spacing) else {
                    return;
                };
                let live = live();
                if !self.fits(live, live) {
                    return;
                }
                self.building = Some((Snapshot::fresh(scenario, capacity), target));
            }
            let Some((snap, target)) = self.building.as_mut() else {
                return;
            };
            // Small slices, so that the budget is kept.
            let next = (snap.world.now() + Duration::from_millis(20)).min(*target);
            snap.run_until(next);
            if snap.world.now() >= *target {
                if let Some((snap, _)) = self.building.take() {
                    self.keep(snap, live());
                }
            }
        }
    }

    /// The earliest multiple of `spacing` up to the horizon with no saved point near it.
    fn next_target(&self, spacing: Duration) -> Option<Instant> {
        let step = spacing.as_micros().max(1);
        let mut t = Instant::from_micros(step);
        while t <= self.horizon {
            let covered = self.saved.iter().any(|s| {
                let at = s.world.now();
                at <= t && t - at < Duration::from_micros(step / 2)
            });
            if !covered {
                return Some(t);
            }
            t += Duration::from_micros(step);
        }
        None
    }

    /// Times of the saved points, for tests and the bench.
    pub fn saved_times(&self) -> Vec<Instant> {
        self.saved.iter().map(|s| s.world.now()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(json: &str) -> Scenario {
        Scenario::from_json(json).expect("valid")
    }

    fn points_kept(s: &Scenario, until: Instant) -> (u64, usize) {
        let mut live = Snapshot::fresh(s, 1024);
        live.run_until(until);
        let mut rewind = Rewind::default();
        rewind.reached(until);
        let spacing = Duration::from_secs(1);
        rewind.work(s, 1024, spacing, f64::INFINITY, &|| 0.0, &|| {
            live.world.memory_in_use()
        });
        (live.world.memory_in_use(), rewind.saved_times().len())
    }

    #[test]
    fn a_small_world_keeps_a_saved_point_every_spacing() {
        let s = scenario(include_str!("../../engine/scenarios/l4-nat.json"));
        let (memory, kept) = points_kept(&s, Instant::from_secs(4));
        assert!(memory < 16 * 1024 * 1024, "{memory}");
        assert_eq!(kept, 4);
    }

    #[test]
    fn fifty_thousand_connections_keep_no_copy_that_would_not_fit() {
        let s = scenario(include_str!("../../engine/scenarios/fifty-thousand.json"));
        let (memory, kept) = points_kept(&s, Instant::from_secs(10));
        // 50,000 connections weigh more than half of what the page's worlds may hold.
        assert!(memory > MEMORY / 2, "{memory}");
        assert_eq!(kept, 0);
    }
}
