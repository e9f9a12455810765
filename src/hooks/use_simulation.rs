//! The simulation the page shows: the engine's `World`, the scenario it came from, and the
//! one clock that moves it (requestAnimationFrame: wall time × speed → `World::run_until`).
//!
//! The world lives in a `RefCell` shared by the clock and the components; components get a
//! [`SimHandle`] whose `version` changes whenever there is something new to show, so Yew
//! re-renders them at the publish rate rather than at every frame. What the views show of the
//! world is one engine [`Frame`], computed once after every change ([`Simulation::frame`]).
//!
//! The scenario the page shows, saves and shares is the world's own record
//! ([`World::scenario`]): every command the world accepts live is in its timeline, so it
//! always validates and replays.

use std::cell::RefCell;
use std::rc::Rc;

use lbsim::scenario::{Command, Scenario};
use lbsim::sim::{CommandError, World};
use lbsim::time::{Duration, Instant};
use lbsim::trace::Event;
use lbsim::view::{Frame, Viewer};

use crate::view::EventLog;

/// Records the page keeps for the event list and the inspector.
const TRACE_CAPACITY: usize = 20_000;

/// Slowest and fastest speeds, in simulated seconds per wall second.
pub const SPEED_RANGE: (f64, f64) = (0.001, 100.0);

/// The simulation and its clock settings.
pub struct Simulation {
    /// The running world.
    pub world: World,
    /// What the views show of it now.
    pub frame: Frame,
    viewer: Viewer,
    /// Simulated seconds per wall second.
    pub speed: f64,
    /// Whether the clock runs.
    pub playing: bool,
    /// The last frame could not do all its work in budget: the world runs behind the clock.
    pub behind: bool,
    /// Bumped at every change worth re-rendering for.
    pub version: u64,
    /// Bumped whenever the scenario changes (a new one, an edit): time to save it.
    pub scenario_rev: u64,
    /// Health, fault and error rows, kept longer than the trace ring.
    pub log: EventLog,
    /// Compare mode: a second world, differing in one setting, kept at the same time.
    pub twin: Option<Twin>,
}

/// The other side of compare mode.
pub struct Twin {
    /// What differs, in a few words ("IP hash").
    pub label: String,
    /// Its world, always at the main world's time.
    pub world: World,
    /// What the views show of it now.
    pub frame: Frame,
    viewer: Viewer,
}

impl Twin {
    /// A twin running `scenario`, at time zero, or what is wrong with the scenario.
    pub fn new(label: String, scenario: &Scenario) -> Result<Self, String> {
        let world = open(scenario)?;
        let mut viewer = Viewer::new();
        let frame = viewer.frame(&world);
        Ok(Twin {
            label,
            world,
            frame,
            viewer,
        })
    }

    fn restart(&mut self) {
        let scenario = self.world.scenario().clone();
        self.world = World::with_trace_capacity(&scenario, TRACE_CAPACITY);
        self.viewer = Viewer::new();
    }
}

/// A world for `scenario`, or its first problem in words.
fn open(scenario: &Scenario) -> Result<World, String> {
    World::try_new(scenario, TRACE_CAPACITY).map_err(|problems| match problems.first() {
        Some(p) => format!("the scenario is not valid: {p}"),
        None => "the scenario is not valid".to_string(),
    })
}

impl Simulation {
    /// A fresh world for `scenario`, paused at time zero, or what is wrong with the scenario.
    pub fn new(scenario: &Scenario) -> Result<Self, String> {
        let world = open(scenario)?;
        let mut viewer = Viewer::new();
        let frame = viewer.frame(&world);
        Ok(Simulation {
            world,
            frame,
            viewer,
            speed: 0.05,
            playing: false,
            behind: false,
            version: 0,
            scenario_rev: 0,
            log: EventLog::default(),
            twin: None,
        })
    }

    /// The scenario as it stands, live changes included: what the page saves and shares.
    pub fn scenario(&self) -> &Scenario {
        self.world.scenario()
    }

    /// Starts the current scenario over from time zero, keeping speed and play state. The
    /// world's record always validates, so this cannot fail.
    pub fn restart(&mut self) {
        let scenario = self.world.scenario().clone();
        self.world = World::with_trace_capacity(&scenario, TRACE_CAPACITY);
        self.reset_views();
    }

    /// Starts `scenario` from time zero, keeping speed and play state; if it is not valid,
    /// nothing changes and the problem is returned.
    pub fn open(&mut self, scenario: &Scenario) -> Result<(), String> {
        let world = open(scenario)?;
        if world.scenario() != self.world.scenario() {
            self.scenario_rev += 1;
        }
        self.world = world;
        self.reset_views();
        Ok(())
    }

    fn reset_views(&mut self) {
        self.viewer = Viewer::new();
        self.log = EventLog::default();
        if let Some(t) = &mut self.twin {
            t.restart();
        }
        self.behind = false;
        self.refresh_frame();
    }

    /// Starts compare mode: both sides from time zero with the same seed and traffic, the
    /// twin running `variant`; if the variant is not valid, nothing changes.
    pub fn compare(&mut self, label: String, variant: &Scenario) -> Result<(), String> {
        self.twin = Some(Twin::new(label, variant)?);
        self.restart();
        Ok(())
    }

    /// After the world was moved directly (the composer runs it to a response): brings the
    /// twin and the event log up to date and marks a change.
    pub fn caught_up(&mut self) {
        self.sync_twin();
        self.refresh_frame();
    }

    /// Brings the twin to the main world's time.
    fn sync_twin(&mut self) {
        let now = self.world.now();
        if let Some(t) = &mut self.twin {
            t.world.run_until(now);
        }
    }

    /// Reads the world's new records and computes the frame the views show; marks a change.
    fn refresh_frame(&mut self) {
        self.log.absorb(&self.world);
        self.frame = self.viewer.frame(&self.world);
        if let Some(t) = &mut self.twin {
            t.frame = t.viewer.frame(&t.world);
        }
        self.version += 1;
    }

    /// Where the world's activity ends (traffic stopped and in-flight work settled).
    pub fn end(&self) -> Instant {
        self.world.settle_time()
    }

    /// Advances by `wall_ms` of wall time at the current speed, spending at most `budget_ms`
    /// of real time (`clock` reads it, in ms). Stops at the end of the scenario.
    pub fn advance(&mut self, wall_ms: f64, budget_ms: f64, clock: &dyn Fn() -> f64) {
        if !self.playing {
            return;
        }
        let started = clock();
        let now = self.world.now();
        let end = self.end();
        let step = Duration::from_secs_f64(wall_ms.max(0.0) / 1000.0 * self.speed);
        let target = (now + step).min(end);
        // Slices, so that a heavy frame can stop part-way and stay responsive.
        let slices = 8u64;
        let slice = Duration::from_micros(((target - now).as_micros() / slices).max(1));
        self.behind = false;
        while self.world.now() < target {
            let next = (self.world.now() + slice).min(target);
            self.world.run_until(next);
            if clock() - started > budget_ms && self.world.now() < target {
                self.behind = true;
                break;
            }
        }
        if self.world.now() >= end {
            self.playing = false;
        }
        self.sync_twin();
        self.refresh_frame();
    }

    /// Processes exactly one event of the world's queue.
    pub fn step_event(&mut self) {
        self.playing = false;
        self.world.step();
        self.sync_twin();
        self.refresh_frame();
    }

    /// Steps until the trace records something `wanted` (a packet sent, a request started),
    /// at most `limit` events.
    pub fn step_until(&mut self, wanted: fn(&Event) -> bool, limit: u32) {
        self.playing = false;
        let from = self.world.trace().next_seq();
        for _ in 0..limit {
            if self.world.step().is_none() {
                break;
            }
            if self.world.trace().since(from).any(|r| wanted(&r.event)) {
                break;
            }
        }
        self.sync_twin();
        self.refresh_frame();
    }

    /// Whether `command` would be accepted now: the world's one judge of commands, so that a
    /// field can say what is wrong before anything changes.
    pub fn check(&self, command: &Command) -> Result<(), CommandError> {
        self.world.check(command).map(|_| ())
    }

    /// Applies a command now; the world records it in its timeline, so that a link replays
    /// it. The twin gets the same change when it can take it (it may lack the backend).
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        self.world.apply(command.clone())?;
        if let Some(t) = &mut self.twin {
            let _ = t.world.apply(command);
        }
        self.scenario_rev += 1;
        self.refresh_frame();
        Ok(())
    }

    /// Runs to `t` at once (a shared link's time position), paused.
    pub fn seek(&mut self, t: Instant) {
        self.playing = false;
        self.world.run_until(t.min(self.end()));
        self.sync_twin();
        self.refresh_frame();
    }
}

/// A shared simulation, compared by version so that components re-render when it moved.
#[derive(Clone)]
pub struct SimHandle {
    inner: Rc<RefCell<Simulation>>,
    /// The version this handle was made at.
    pub version: u64,
}

impl PartialEq for SimHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner) && self.version == other.version
    }
}

impl SimHandle {
    /// A handle on `inner` at its current version.
    pub fn new(inner: Rc<RefCell<Simulation>>) -> Self {
        let version = inner.borrow().version;
        SimHandle { inner, version }
    }

    /// Reads the simulation.
    pub fn borrow(&self) -> std::cell::Ref<'_, Simulation> {
        self.inner.borrow()
    }

    /// Changes the simulation.
    pub fn borrow_mut(&self) -> std::cell::RefMut<'_, Simulation> {
        self.inner.borrow_mut()
    }

    /// The shared cell.
    pub fn cell(&self) -> &Rc<RefCell<Simulation>> {
        &self.inner
    }
}
