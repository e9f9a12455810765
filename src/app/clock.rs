//! The one clock: requestAnimationFrame → advance the world (wall time × speed, within a
//! budget) → draw the canvases → publish to the DOM views at about 10 Hz while running, at once
//! after a change. No component owns a timer that changes the simulation.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lbsim::ids::PacketId;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlCanvasElement;
use yew::prelude::*;

use std::collections::VecDeque;

use crate::hooks::use_simulation::{Level, Simulation, FRAME_BUDGET_MS};
use crate::render::{self, Scene};

/// The animation callback, kept alive while the app is mounted.
type FrameSlot = Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>>;

/// Most of a frame spent building saved points for going back while playing, in ms.
const REWIND_PLAYING_MS: f64 = 3.0;
/// ... and while paused.
const REWIND_PAUSED_MS: f64 = 8.0;

/// How often the DOM views follow the running world, in ms.
const PUBLISH_EVERY_MS: f64 = 100.0;

/// What the clock draws on and publishes to.
#[derive(Clone)]
pub struct ClockTargets {
    /// The main canvas.
    pub canvas: NodeRef,
    /// Compare mode's second canvas.
    pub twin_canvas: NodeRef,
    /// The version the DOM views were last given.
    pub version: UseStateHandle<u64>,
    /// The packet the inspector shows, ringed on the canvas.
    pub selected: Rc<Cell<Option<PacketId>>>,
}

/// Runs the clock while the component is mounted.
#[hook]
pub fn use_clock(sim: Rc<RefCell<Simulation>>, targets: ClockTargets) {
    use_effect_with((), move |_| {
        let alive = Rc::new(Cell::new(true));
        let frame: FrameSlot = Rc::new(RefCell::new(None));
        let last = Rc::new(Cell::new(None::<f64>));
        let published = Rc::new(Cell::new(0.0f64));
        let perf = web_sys::window().and_then(|w| w.performance());
        {
            let alive = alive.clone();
            let frame2 = frame.clone();
            *frame.borrow_mut() = Some(Closure::new(move |t: f64| {
                if !alive.get() {
                    return;
                }
                let dt = last.get().map_or(0.0, |l| (t - l).min(100.0));
                last.set(Some(t));
                let clock = || perf.as_ref().map_or(0.0, |p| p.now());
                let mut s = sim.borrow_mut();
                let before = s.version;
                let started = clock();
                s.advance(dt, FRAME_BUDGET_MS, &clock);
                draw(&targets, &s);
                // Spare time builds saved points for going back.
                let spare = FRAME_BUDGET_MS - (clock() - started);
                let most = if s.playing {
                    REWIND_PLAYING_MS
                } else {
                    REWIND_PAUSED_MS
                };
                if spare > 1.0 {
                    s.prepare_rewind(spare.min(most), &clock);
                }
                let moved = s.version != before;
                if (moved && t - published.get() > PUBLISH_EVERY_MS)
                    || (!s.playing && s.version != *targets.version)
                {
                    published.set(t);
                    targets.version.set(s.version);
                }
                drop(s);
                if let Some(f) = frame2.borrow().as_ref() {
                    if let Some(w) = web_sys::window() {
                        let _ = w.request_animation_frame(f.as_ref().unchecked_ref());
                    }
                }
            }));
        }
        if let (Some(w), Some(f)) = (web_sys::window(), frame.borrow().as_ref()) {
            let _ = w.request_animation_frame(f.as_ref().unchecked_ref());
        }
        move || {
            alive.set(false);
            frame.borrow_mut().take();
        }
    });
}

/// Draws both canvases from the simulation's frames, if they are mounted, at the same level.
fn draw(targets: &ClockTargets, s: &Simulation) {
    let requests = s.shown_level() == Level::Requests;
    if let Some(c) = targets.canvas.cast::<HtmlCanvasElement>() {
        let scene = Scene {
            frame: &s.frame,
            requests,
            speed: s.speed,
            ended: &s.ended,
            selected: targets.selected.get(),
        };
        render::draw_frame(&c, &scene);
    }
    if let (Some(t), Some(c)) = (&s.twin, targets.twin_canvas.cast::<HtmlCanvasElement>()) {
        let none = VecDeque::new();
        let scene = Scene {
            frame: &t.frame,
            requests,
            speed: s.speed,
            ended: &none,
            selected: None,
        };
        render::draw_frame(&c, &scene);
    }
}
