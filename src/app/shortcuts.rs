//! Keyboard shortcuts: Space play/pause, `.` one event, `,` one event back, `n` next packet,
//! `r` next request, `+`/`-` speed, `v` level (auto, packets, requests), `0` restart,
//! `l` lessons, `?` help, Esc close. Ignored while typing.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;
use yew::prelude::*;

use crate::components::controls::{is_packet, is_request, slider_to_speed, speed_to_slider};
use crate::hooks::use_simulation::{Level, Simulation};
use crate::state::{Action, Selection, SideTab, UiState};

fn is_typing(e: &KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

/// What a key does to the simulation; whether it did anything.
fn simulation_key(s: &mut Simulation, key: &str) -> bool {
    match key {
        " " => {
            if s.world.now() >= s.end() {
                s.restart();
            }
            s.playing = !s.playing;
            s.version += 1;
        }
        "." => s.step_event(),
        "," => s.step_back(),
        "v" => {
            s.level = match s.level {
                Level::Auto => Level::Packets,
                Level::Packets => Level::Requests,
                Level::Requests => Level::Auto,
            };
            s.version += 1;
        }
        "n" => s.step_until(is_packet, 1_000_000),
        "r" => s.step_until(is_request, 10_000_000),
        "+" | "=" => {
            s.speed = slider_to_speed(speed_to_slider(s.speed) + 0.25);
            s.version += 1;
        }
        "-" => {
            s.speed = slider_to_speed(speed_to_slider(s.speed) - 0.25);
            s.version += 1;
        }
        "0" => s.restart(),
        _ => return false,
    }
    true
}

/// What a key does to the page; whether it did anything.
fn page_key(ui: &UseReducerHandle<UiState>, key: &str) -> bool {
    match key {
        "?" => ui.dispatch(Action::Help(true)),
        "l" => {
            ui.dispatch(Action::Lesson(None));
            ui.dispatch(Action::Tab(SideTab::Lessons));
        }
        "Escape" => {
            ui.dispatch(Action::Help(false));
            ui.dispatch(Action::Select(Selection::None));
        }
        _ => return false,
    }
    true
}

/// Listens for the shortcuts on the document while the component is mounted.
#[hook]
pub fn use_shortcuts(
    sim: Rc<RefCell<Simulation>>,
    ui: UseReducerHandle<UiState>,
    refresh: Callback<()>,
) {
    use_effect_with((), move |_| {
        let listener = Closure::<dyn Fn(KeyboardEvent)>::new(move |e: KeyboardEvent| {
            if is_typing(&e) || e.ctrl_key() || e.meta_key() || e.alt_key() {
                return;
            }
            let key = e.key();
            let handled = simulation_key(&mut sim.borrow_mut(), &key) || page_key(&ui, &key);
            if handled {
                e.prevent_default();
                refresh.emit(());
            }
        });
        let doc = web_sys::window().and_then(|w| w.document());
        if let Some(d) = &doc {
            let _ =
                d.add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
        }
        move || {
            if let Some(d) = &doc {
                let _ = d.remove_event_listener_with_callback(
                    "keydown",
                    listener.as_ref().unchecked_ref(),
                );
            }
        }
    });
}
