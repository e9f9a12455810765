//! The simulation the page shows: the engine's `World` and the one clock that moves it
//! (requestAnimationFrame: wall time × speed → `World::run_until`).
//!
//! The world lives in a `RefCell` shared by the clock and the components; components get a
//! [`SimHandle`] whose `version` changes whenever there is something new to show, so Yew
//! re-renders them at the publish rate rather than at every frame. What the views show of the
//! world is one engine [`Frame`], computed once after every change.
//!
//! The scenario the page shows, saves and shares is the world's own record
//! ([`World::scenario`]): every command the world accepts live is in its timeline, so it
//! always validates and replays. Time moves both ways: going back runs a saved world forward
//! to the target ([`Rewind`]); lessons slow down around their moments and pause at their
//! teaching point.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use lbsim::presets::{self, Moment};
use lbsim::scenario::{Command, Scenario};
use lbsim::sim::{CommandError, World};
use lbsim::time::{Duration, Instant};
use lbsim::trace::Event;
use lbsim::view::{EndedRequest, Frame, Marker, Viewer};

use super::rewind::{Rewind, Snapshot};
use crate::view::EventLog;

/// Records the page keeps for the event list and the inspector.
const TRACE_CAPACITY: usize = 20_000;

/// Slowest and fastest speeds, in simulated seconds per wall second.
pub const SPEED_RANGE: (f64, f64) = (0.001, 100.0);

/// Most real time one frame of the page's clock may spend advancing the world, in ms: past it
/// the world stops part-way and the page says it is catching up, so a heavy scenario slows
/// down rather than freezing the page.
pub const FRAME_BUDGET_MS: f64 = 10.0;

/// How long marks (ended requests, probes, lost carts) stay on the canvas, in wall seconds.
pub const MARK_SECONDS: f64 = 1.5;

/// Around a moment, playing runs at this fraction of the speed...
const MOMENT_SLOWDOWN: f64 = 0.25;
/// ... from this many wall seconds (at the normal speed) before it ...
const MOMENT_LEAD_S: f64 = 1.0;
/// ... and its caption stays this many wall seconds after it.
const MOMENT_SHOW_S: f64 = 6.0;

/// At which level the canvas draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Packets when a packet stays on screen long enough to follow, else requests.
    Auto,
    /// Every packet on its link.
    Packets,
    /// Every request as one token, client → balancer → backend → back.
    Requests,
}

/// A packet on screen for at least this long (wall seconds) is followed at packet level.
const PACKET_LEVEL_FROM_S: f64 = 0.15;

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
    /// The level the canvas draws at, as chosen.
    pub level: Level,
    /// Requests that ended lately, for their marks on the canvas.
    pub ended: VecDeque<EndedRequest>,
    /// The lesson's moments, when the scenario is a lesson's.
    pub moments: Vec<Moment>,
    /// Moments already paused at.
    paused_at: Vec<Instant>,
    /// Marks on the time scrubber: faults, health changes, pool and setting changes.
    pub markers: Vec<Marker>,
    rewind: Rewind,
    /// Events processed before each step, to step back to.
    steps: Vec<u64>,
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
    /// A lesson's scenario plays at the lesson's speed, with its moments.
    pub fn new(scenario: &Scenario) -> Result<Self, String> {
        let world = open(scenario)?;
        let mut viewer = Viewer::new();
        let frame = viewer.frame(&world);
        let mut sim = Simulation {
            world,
            frame,
            viewer,
            speed: 1.0,
            playing: false,
            behind: false,
            version: 0,
            scenario_rev: 0,
            log: EventLog::default(),
            twin: None,
            level: Level::Auto,
            ended: VecDeque::new(),
            moments: Vec::new(),
            paused_at: Vec::new(),
            markers: Vec::new(),
            rewind: Rewind::default(),
            steps: Vec::new(),
        };
        sim.follow_lesson();
        Ok(sim)
    }

    /// The scenario as it stands, live changes included: what the page saves and shares.
    pub fn scenario(&self) -> &Scenario {
        self.world.scenario()
    }

    /// When the scenario is a lesson's, takes its speed and moments; else none.
    fn follow_lesson(&mut self) {
        match presets::all()
            .into_iter()
            .find(|p| &p.scenario == self.world.scenario())
        {
            Some(p) => {
                self.speed = p.speed.clamp(SPEED_RANGE.0, SPEED_RANGE.1);
                self.moments = p.moments;
            }
            None => self.moments.clear(),
        }
        self.paused_at.clear();
    }

    /// Starts the current scenario over from time zero, keeping speed and play state. The
    /// world's record always validates, so this cannot fail.
    pub fn restart(&mut self) {
        let scenario = self.world.scenario().clone();
        self.world = World::with_trace_capacity(&scenario, TRACE_CAPACITY);
        self.paused_at.clear();
        self.reset_views();
    }

    /// Starts `scenario` from time zero, keeping play state; if it is not valid, nothing
    /// changes and the problem is returned. A lesson's scenario takes the lesson's speed.
    pub fn open(&mut self, scenario: &Scenario) -> Result<(), String> {
        let world = open(scenario)?;
        if world.scenario() != self.world.scenario() {
            self.scenario_rev += 1;
            self.rewind.clear();
            self.markers.clear();
        }
        self.world = world;
        self.follow_lesson();
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
        self.ended.clear();
        self.steps.clear();
        self.refresh_frame();
    }

    /// Starts compare mode: both sides from time zero with the same seed and traffic, the
    /// twin running `variant`; if the variant is not valid, nothing changes.
    pub fn compare(&mut self, label: String, variant: &Scenario) -> Result<(), String> {
        let need =
            self.world.scenario().memory_estimate().total() + variant.memory_estimate().total();
        if need > lbsim::scenario::MEMORY_BUDGET {
            return Err(format!(
                "side by side the two worlds could need about {} MiB, more than the {} MiB the \
                 page's worlds may use: compare a smaller scenario",
                need.div_ceil(1024 * 1024),
                lbsim::scenario::MEMORY_BUDGET / (1024 * 1024)
            ));
        }
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
        // The level shown (from the frame before) says whether requests need placing.
        let requests = self.shown_level() == Level::Requests;
        self.viewer.place_requests(requests);
        self.frame = self.viewer.frame(&self.world);
        for m in self.viewer.markers() {
            if !self.markers.contains(m) {
                let pos = self.markers.partition_point(|x| x.at <= m.at);
                self.markers.insert(pos, m.clone());
            }
        }
        let now = self.world.now();
        self.ended.extend(self.frame.ended.drain(..));
        let keep = Duration::from_secs_f64(MARK_SECONDS * self.speed);
        while self.ended.front().is_some_and(|e| now - e.at > keep) {
            self.ended.pop_front();
        }
        if let Some(t) = &mut self.twin {
            t.frame = t.viewer.frame(&t.world);
        }
        self.rewind.reached(now);
        self.version += 1;
    }

    /// Where the world's activity ends (traffic stopped and in-flight work settled).
    pub fn end(&self) -> Instant {
        self.world.settle_time()
    }

    /// The level the canvas draws at now: the chosen one, or for `Auto`, packets when a
    /// packet stays on screen for at least 0.15 s at this speed, else requests.
    pub fn shown_level(&self) -> Level {
        match self.level {
            Level::Auto => {
                let transit_us = self.frame.typical_transit_us().unwrap_or_else(|| {
                    self.world
                        .settings()
                        .network
                        .client_link
                        .latency
                        .as_micros()
                });
                let on_screen = transit_us as f64 / 1e6 / self.speed;
                if on_screen >= PACKET_LEVEL_FROM_S {
                    Level::Packets
                } else {
                    Level::Requests
                }
            }
            chosen => chosen,
        }
    }

    /// A moment's window in simulated time: from its lead-in to the end of its caption.
    fn window(&self, m: &Moment) -> (Instant, Instant) {
        let at = Instant::ZERO + m.at;
        let lead = Duration::from_secs_f64(MOMENT_LEAD_S * self.speed);
        let show = Duration::from_secs_f64(MOMENT_SHOW_S * self.speed);
        let from = if at - Instant::ZERO > lead {
            at - lead
        } else {
            Instant::ZERO
        };
        (from, at + show)
    }

    /// The moment whose caption is on screen now, if any.
    pub fn caption(&self) -> Option<&Moment> {
        let now = self.world.now();
        self.moments.iter().rev().find(|m| {
            let (from, to) = self.window(m);
            from <= now && now <= to
        })
    }

    /// The speed the clock runs at now: slower from a moment's lead-in to just after it.
    fn paced_speed(&self) -> f64 {
        let now = self.world.now();
        let slow = self.moments.iter().any(|m| {
            let at = Instant::ZERO + m.at;
            let (from, _) = self.window(m);
            let after = at + Duration::from_secs_f64(MOMENT_LEAD_S * self.speed);
            from <= now && now <= after
        });
        if slow {
            self.speed * MOMENT_SLOWDOWN
        } else {
            self.speed
        }
    }

    /// Advances by `wall_ms` of wall time at the current speed, spending at most `budget_ms`
    /// of real time (`clock` reads it, in ms). Stops at the end of the scenario, and pauses at
    /// a lesson's teaching moment.
    pub fn advance(&mut self, wall_ms: f64, budget_ms: f64, clock: &dyn Fn() -> f64) {
        if !self.playing {
            return;
        }
        let started = clock();
        let now = self.world.now();
        let end = self.end();
        let step = Duration::from_secs_f64(wall_ms.max(0.0) / 1000.0 * self.paced_speed());
        let mut target = (now + step).min(end);
        // The next teaching moment not yet paused at stops the clock there.
        let pause = self
            .moments
            .iter()
            .map(|m| Instant::ZERO + m.at)
            .zip(self.moments.iter().map(|m| m.pause))
            .find(|&(at, pause)| {
                pause && at > now && at <= target && !self.paused_at.contains(&at)
            });
        if let Some((at, _)) = pause {
            target = at;
        }
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
        if let Some((at, _)) = pause {
            if self.world.now() >= at {
                self.paused_at.push(at);
                self.playing = false;
            }
        }
        if self.world.now() >= end {
            self.playing = false;
        }
        self.sync_twin();
        self.refresh_frame();
    }

    /// Builds saved points for going back, for up to `budget_ms` of real time.
    pub fn prepare_rewind(&mut self, budget_ms: f64, clock: &dyn Fn() -> f64) {
        let spacing =
            Duration::from_secs_f64(((self.end() - Instant::ZERO).as_secs_f64() / 10.0).max(1.0));
        let scenario = self.world.scenario().clone();
        let (world, twin) = (&self.world, &self.twin);
        self.rewind.work(
            &scenario,
            TRACE_CAPACITY,
            spacing,
            budget_ms,
            clock,
            &|| live_memory(world, twin),
        );
    }

    /// Processes exactly one event of the world's queue.
    pub fn step_event(&mut self) {
        self.playing = false;
        self.steps.push(self.world.events_processed());
        self.world.step();
        self.sync_twin();
        self.refresh_frame();
    }

    /// Goes back to where the world was before the last step (or one event back).
    pub fn step_back(&mut self) {
        self.playing = false;
        let n = match self.steps.pop() {
            Some(n) => n,
            None => self.world.events_processed().saturating_sub(1),
        };
        let steps = std::mem::take(&mut self.steps);
        let scenario = self.world.scenario().clone();
        let snap = self.rewind.at_event(&scenario, TRACE_CAPACITY, n);
        self.go_to(snap);
        self.steps = steps;
    }

    /// Steps until the trace records something `wanted` (a packet sent, a request started),
    /// at most `limit` events.
    pub fn step_until(&mut self, wanted: fn(&Event) -> bool, limit: u32) {
        self.playing = false;
        self.steps.push(self.world.events_processed());
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
        // The future changed: saved points and what was seen after now no longer hold.
        let now = self.world.now();
        self.rewind.clear();
        self.markers.retain(|m| m.at <= now);
        self.scenario_rev += 1;
        self.refresh_frame();
        Ok(())
    }

    /// Moves to time `t` (clamped to the run), forwards by running, backwards by running a
    /// saved world forward; paused.
    pub fn seek(&mut self, t: Instant) {
        self.playing = false;
        let t = t.min(self.end());
        if t >= self.world.now() {
            self.world.run_until(t);
            self.sync_twin();
            self.refresh_frame();
            return;
        }
        let scenario = self.world.scenario().clone();
        let snap = self.rewind.at_time(&scenario, TRACE_CAPACITY, t);
        self.go_to(snap);
    }

    /// Makes `snap` the world shown, keeping the world it replaces as a saved point; the twin
    /// runs again from zero to the same time.
    fn go_to(&mut self, snap: Snapshot) {
        let Snapshot { world, viewer, log } = snap;
        let left = Snapshot {
            world: std::mem::replace(&mut self.world, world),
            viewer: std::mem::replace(&mut self.viewer, viewer),
            log: std::mem::replace(&mut self.log, log),
        };
        let live = live_memory(&self.world, &self.twin);
        self.rewind.keep(left, live);
        let now = self.world.now();
        // Moments after the new time may pause again.
        self.paused_at.retain(|&at| at < now);
        self.ended.clear();
        self.steps.clear();
        if let Some(t) = &mut self.twin {
            t.restart();
            t.world.run_until(now);
        }
        self.behind = false;
        self.refresh_frame();
    }

    /// Saved times for going back (tests and the bench read them).
    pub fn rewind_points(&self) -> Vec<Instant> {
        self.rewind.saved_times()
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

/// What the live world and its twin hold now ([`World::memory_in_use`]).
fn live_memory(world: &World, twin: &Option<Twin>) -> u64 {
    world.memory_in_use() + twin.as_ref().map_or(0, |t| t.world.memory_in_use())
}
