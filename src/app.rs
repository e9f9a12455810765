//! The page: lays out the views, owns the animation clock, the keyboard shortcuts, and the
//! URL fragment and local storage that keep and share the work.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lbsim::ids::{PacketId, RequestId};
use lbsim::presets;
use lbsim::scenario::link::{self, Shared, Source, View};
use lbsim::scenario::Scenario;
use lbsim::time::Instant;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlCanvasElement, KeyboardEvent};
use yew::prelude::*;

use crate::components::backends::Backends;
use crate::components::charts::Charts;
use crate::components::compare::Compare;
use crate::components::composer::Composer;
use crate::components::controls::{
    is_packet, is_request, slider_to_speed, speed_to_slider, Controls,
};
use crate::components::downloads::Downloads;
use crate::components::editor::Editor;
use crate::components::events::EventList;
use crate::components::help::Help;
use crate::components::inspector::Inspector;
use crate::components::lessons::Lessons;
use crate::components::shell::Header;
use crate::components::topology::Topology;
use crate::hooks::use_simulation::{SimHandle, Simulation};
use crate::render;
use crate::state::{Action, Notice, Selection, SideTab, UiState};

/// Local-storage key of the current work (a share link of the scenario).
pub const WORK_KEY: &str = "traffic-cop/work";

/// The animation callback, kept alive while the app is mounted.
type FrameSlot = Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>>;

/// How long the URL and the saved work wait for edits to pause, in ms.
const SAVE_DEBOUNCE_MS: u32 = 300;

/// Most real time one frame may spend advancing the world, in ms.
const FRAME_BUDGET_MS: f64 = 10.0;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The work saved in this browser, if any is there and still opens.
pub fn saved_work() -> Option<Scenario> {
    let text = storage()?.get_item(WORK_KEY).ok()??;
    link::decode(&text).ok().map(|s| s.scenario)
}

fn save_work(scenario: &Scenario) {
    let text = link::encode(
        &Shared {
            scenario: scenario.clone(),
            view: None,
        },
        preset_of(scenario).as_deref(),
    );
    if let Some(s) = storage() {
        let _ = s.set_item(WORK_KEY, &text);
    }
    // The address bar follows the work, so that copying it shares it.
    if let Some(w) = web_sys::window() {
        if let Ok(history) = w.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#{text}")));
        }
    }
}

/// The preset a scenario is, if it is one unchanged.
fn preset_of(scenario: &Scenario) -> Option<String> {
    presets::all()
        .into_iter()
        .find(|p| &p.scenario == scenario)
        .map(|p| p.name)
}

/// What the page opens with: the link in the address, else the saved work, else the default
/// preset; with a notice when the link was bad.
struct Start {
    scenario: Scenario,
    view: Option<View>,
    notice: Option<Notice>,
}

fn start() -> Start {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    let fragment = hash.trim_start_matches('#');
    let saved = saved_work();
    if !fragment.is_empty() {
        let opened = link::open(fragment);
        if let Some(error) = opened.error {
            let loaded = match &opened.source {
                Source::LinkDespiteChecksum => {
                    "its data opened anyway; check it is what you expect".to_string()
                }
                Source::Preset(name) => format!("opened the preset it names, \"{name}\", instead"),
                Source::Default | Source::Link => {
                    format!("opened the \"{}\" preset instead", presets::DEFAULT)
                }
            };
            // The saved work is not overwritten until the user acts: it stays restorable.
            return Start {
                scenario: opened.shared.scenario,
                view: None,
                notice: Some(Notice {
                    text: format!("This link could not be opened: {error}. Traffic Cop {loaded}."),
                    can_restore: saved.is_some(),
                }),
            };
        }
        return Start {
            scenario: opened.shared.scenario,
            view: opened.shared.view,
            notice: None,
        };
    }
    Start {
        scenario: saved.unwrap_or_else(|| {
            presets::get(presets::DEFAULT)
                .expect("the default preset exists")
                .scenario
        }),
        view: None,
        notice: None,
    }
}

/// Installs a panic hook that logs the panic and shows a message with a reload button: the
/// work is in local storage, so reloading loses nothing.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if doc.get_element_by_id("tc-crash").is_some() {
            return;
        }
        if let (Ok(el), Some(body)) = (doc.create_element("div"), doc.body()) {
            el.set_id("tc-crash");
            el.set_attribute("role", "alert").ok();
            el.set_class_name("tc-crash");
            el.set_inner_html(
                "<h2>Traffic Cop hit a bug and stopped.</h2>\
                 <p>Your scenario is saved in this browser. Reloading the page restores it.</p>\
                 <button onclick=\"location.reload()\">Reload</button>",
            );
            let text = doc.create_element("pre").ok();
            if let Some(t) = text {
                t.set_text_content(Some(&info.to_string()));
                el.append_child(&t).ok();
            }
            body.append_child(&el).ok();
        }
    }));
}

fn is_typing(e: &KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let boot = use_mut_ref(|| Some(start()));
    let ui = use_reducer(UiState::default);
    let sim = {
        let boot = boot.clone();
        use_mut_ref(move || {
            let s = boot.borrow();
            let start = s
                .as_ref()
                .expect("boot state is taken after the first render");
            let mut sim = Simulation::new(start.scenario.clone());
            sim.playing = start.view.is_none() && start.notice.is_none();
            sim
        })
    };
    let version = use_state(|| 0u64);
    let canvas = use_node_ref();
    let twin_canvas = use_node_ref();
    let drawn_selection = use_memo((), |_| Rc::new(Cell::new(None::<PacketId>)));
    let drawn_selection: Rc<Cell<Option<PacketId>>> = (*drawn_selection).clone();
    drawn_selection.set(match ui.selection {
        Selection::Packet(p) => Some(p),
        _ => None,
    });

    let refresh = {
        let version = version.clone();
        let sim = sim.clone();
        Callback::from(move |()| version.set(sim.borrow().version))
    };

    // First render: apply the link's view, show the notice.
    {
        let boot = boot.clone();
        let sim = sim.clone();
        let ui = ui.clone();
        let refresh = refresh.clone();
        use_effect_with((), move |_| {
            if let Some(start) = boot.borrow_mut().take() {
                if let Some(v) = &start.view {
                    if let Some(t) = v.time_us {
                        sim.borrow_mut().seek(Instant::from_micros(t));
                    }
                    if let Some(p) = v.packet {
                        ui.dispatch(Action::Select(Selection::Packet(PacketId(p))));
                    } else if let Some(r) = v.request {
                        ui.dispatch(Action::Select(Selection::Request(RequestId(r))));
                    }
                    if let Some(l) = &v.lesson {
                        ui.dispatch(Action::Lesson(Some(l.clone())));
                    }
                }
                if start.notice.is_some() {
                    ui.dispatch(Action::Notice(start.notice));
                } else {
                    save_work(&sim.borrow().scenario);
                }
                refresh.emit(());
            }
        });
    }

    // The one clock: requestAnimationFrame → advance the world → draw → publish.
    {
        let sim = sim.clone();
        let canvas = canvas.clone();
        let twin_canvas = twin_canvas.clone();
        let version = version.clone();
        let drawn_selection = drawn_selection.clone();
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
                    s.advance(dt, FRAME_BUDGET_MS, &clock);
                    draw_frame(&canvas, &s, drawn_selection.get());
                    if let (Some(t), Some(c)) = (&s.twin, twin_canvas.cast::<HtmlCanvasElement>()) {
                        render::draw_world_as(&c, &t.world, None, true);
                    }
                    // DOM views follow at about 10 Hz while running, at once after a change.
                    let moved = s.version != before;
                    if (moved && t - published.get() > 100.0)
                        || (!s.playing && s.version != *version)
                    {
                        published.set(t);
                        version.set(s.version);
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

    // Keyboard shortcuts.
    {
        let sim = sim.clone();
        let ui = ui.clone();
        let refresh = refresh.clone();
        use_effect_with((), move |_| {
            let listener = Closure::<dyn Fn(KeyboardEvent)>::new(move |e: KeyboardEvent| {
                if is_typing(&e) || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                let mut handled = true;
                {
                    let mut s = sim.borrow_mut();
                    match e.key().as_str() {
                        " " => {
                            if s.world.now() >= s.end() {
                                s.restart(None);
                            }
                            s.playing = !s.playing;
                            s.version += 1;
                        }
                        "." => s.step_event(),
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
                        "0" => s.restart(None),
                        _ => handled = false,
                    }
                }
                if !handled {
                    handled = true;
                    match e.key().as_str() {
                        "?" => ui.dispatch(Action::Help(true)),
                        "l" => ui.dispatch(Action::Tab(SideTab::Lessons)),
                        "Escape" => {
                            ui.dispatch(Action::Help(false));
                            ui.dispatch(Action::Select(Selection::None));
                        }
                        _ => handled = false,
                    }
                }
                if handled {
                    e.prevent_default();
                    refresh.emit(());
                }
            });
            let doc = web_sys::window().and_then(|w| w.document());
            if let Some(d) = &doc {
                let _ = d
                    .add_event_listener_with_callback("keydown", listener.as_ref().unchecked_ref());
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

    // The scenario changed (a restart, a lesson, an edit): save it and follow it in the URL,
    // debounced so that a burst of edits writes once.
    let scenario_rev = sim.borrow().scenario_rev;
    let pending_save = use_mut_ref(|| None::<gloo_timers::callback::Timeout>);
    {
        let sim = sim.clone();
        let ui = ui.clone();
        use_effect_with(scenario_rev, move |rev| {
            // The first revision is saved by the start effect unless a bad link is on show.
            if *rev > 0 {
                if ui.notice.as_ref().is_some_and(|n| n.can_restore) {
                    ui.dispatch(Action::Notice(None));
                }
                // Replacing the timer cancels the one before it.
                *pending_save.borrow_mut() = Some(gloo_timers::callback::Timeout::new(
                    SAVE_DEBOUNCE_MS,
                    move || save_work(&sim.borrow().scenario),
                ));
            }
        });
    }

    let handle = SimHandle::new(sim.clone());
    let on_share = {
        let sim = sim.clone();
        let ui = ui.clone();
        Callback::from(move |()| {
            let s = sim.borrow();
            let (packet, request) = match ui.selection {
                Selection::Packet(p) => (Some(p.0), None),
                Selection::Request(r) => (None, Some(r.0)),
                Selection::None => (None, None),
            };
            let text = link::encode(
                &Shared {
                    scenario: s.scenario.clone(),
                    view: Some(View {
                        time_us: Some(s.world.now().as_micros()),
                        packet,
                        request,
                        lesson: ui.lesson.clone(),
                    }),
                },
                preset_of(&s.scenario).as_deref(),
            );
            let url = web_sys::window()
                .and_then(|w| w.location().href().ok())
                .map(|h| format!("{}#{text}", h.split('#').next().unwrap_or_default()))
                .unwrap_or_else(|| format!("#{text}"));
            if let Some(w) = web_sys::window() {
                let _ = w.navigator().clipboard().write_text(&url);
            }
            ui.dispatch(Action::Notice(Some(Notice {
                text: format!(
                    "Link copied: {} characters, with this time position and selection.",
                    url.len()
                ),
                can_restore: false,
            })));
        })
    };
    let on_dismiss = {
        let ui = ui.clone();
        Callback::from(move |()| ui.dispatch(Action::Notice(None)))
    };
    let on_restore = {
        let sim = sim.clone();
        let ui = ui.clone();
        let refresh = refresh.clone();
        Callback::from(move |()| {
            if let Some(s) = saved_work() {
                let mut sim = sim.borrow_mut();
                sim.restart(Some(s));
                sim.playing = true;
            }
            ui.dispatch(Action::Notice(None));
            refresh.emit(());
        })
    };
    let on_error = {
        let ui = ui.clone();
        Callback::from(move |text: String| {
            ui.dispatch(Action::Notice(Some(Notice {
                text,
                can_restore: false,
            })))
        })
    };
    let on_lesson = {
        let ui = ui.clone();
        Callback::from(move |l: Option<String>| ui.dispatch(Action::Lesson(l)))
    };
    let on_run = {
        let sim = sim.clone();
        let refresh = refresh.clone();
        let ui = ui.clone();
        Callback::from(move |s: Scenario| {
            {
                let mut sim = sim.borrow_mut();
                sim.restart(Some(s));
                sim.playing = true;
            }
            ui.dispatch(Action::Select(Selection::None));
            ui.dispatch(Action::Tab(SideTab::Lessons));
            refresh.emit(());
        })
    };
    let tab = |t: SideTab, label: &'static str| {
        let ui = ui.clone();
        let on = ui.tab == t;
        let onclick = Callback::from(move |_: MouseEvent| ui.dispatch(Action::Tab(t)));
        html! {
            <button role="tab" aria-selected={on.to_string()} class={classes!("tc-tab", on.then_some("on"))} {onclick}
                data-testid={format!("tab-{}", label.to_ascii_lowercase())}>{ label }</button>
        }
    };
    let help_close = {
        let ui = ui.clone();
        Callback::from(move |()| ui.dispatch(Action::Help(false)))
    };
    let help_open = {
        let ui = ui.clone();
        Callback::from(move |()| ui.dispatch(Action::Help(true)))
    };
    html! {
        <div class="tc-app" data-testid="app">
            <Header notice={ui.notice.clone()} {on_share} {on_dismiss} {on_restore}>
                <Downloads sim={handle.clone()} />
            </Header>
            <Controls sim={handle.clone()} refresh={refresh.clone()} on_help={help_open} />
            <main class="tc-main">
                <Topology sim={handle.clone()} ui={ui.clone()} canvas={canvas.clone()} twin_canvas={twin_canvas.clone()} />
                <aside class="tc-side" aria-label="Inspector and lessons" data-testid="side-panel">
                    <div role="tablist" class="tc-tabs">
                        { tab(SideTab::Inspect, "Inspect") }
                        { tab(SideTab::Lessons, "Lessons") }
                        { tab(SideTab::Edit, "Edit") }
                        { tab(SideTab::Send, "Send") }
                        { tab(SideTab::Charts, "Charts") }
                        { tab(SideTab::Compare, "Compare") }
                    </div>
                    {
                        match ui.tab {
                            SideTab::Inspect => html! { <Inspector sim={handle.clone()} ui={ui.clone()} /> },
                            SideTab::Lessons => html! { <Lessons open={ui.lesson.clone()} on_open={on_lesson} {on_run} /> },
                            SideTab::Edit => html! { <Editor sim={handle.clone()} refresh={refresh.clone()} /> },
                            SideTab::Send => html! { <Composer sim={handle.clone()} ui={ui.clone()} refresh={refresh.clone()} /> },
                            SideTab::Charts => html! { <Charts sim={handle.clone()} /> },
                            SideTab::Compare => html! { <Compare sim={handle.clone()} refresh={refresh.clone()} /> },
                        }
                    }
                </aside>
            </main>
            <section class="tc-bottom" aria-label="Events and backends" data-testid="bottom-panel">
                <EventList sim={handle.clone()} ui={ui.clone()} />
                <Backends sim={handle} refresh={refresh} {on_error} />
            </section>
            if ui.help {
                <Help on_close={help_close} />
            }
        </div>
    }
}

/// Draws the packets for the world's current time, if the canvas is mounted.
fn draw_frame(canvas: &NodeRef, s: &Simulation, selected: Option<PacketId>) {
    if let Some(c) = canvas.cast::<HtmlCanvasElement>() {
        render::draw_world(&c, &s.world, selected);
    }
}
