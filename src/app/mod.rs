//! The page: lays out the views and wires them to the simulation. Each other job has its own
//! file: the animation clock (`clock`), the keyboard shortcuts (`shortcuts`), keeping and
//! sharing the work (`persistence`) and what happens on a bug (`crash`).

mod clock;
mod crash;
mod persistence;
mod shortcuts;

use std::cell::Cell;
use std::rc::Rc;

use lbsim::ids::{PacketId, RequestId};
use lbsim::presets;
use lbsim::scenario::link::View;
use lbsim::scenario::Scenario;
use lbsim::time::Instant;
use yew::prelude::*;

pub use crash::install_panic_hook;
pub use persistence::{saved_work, WORK_KEY};

use crate::components::backends::Backends;
use crate::components::charts::Charts;
use crate::components::compare::Compare;
use crate::components::composer::Composer;
use crate::components::controls::Controls;
use crate::components::downloads::Downloads;
use crate::components::editor::Editor;
use crate::components::events::EventList;
use crate::components::help::Help;
use crate::components::inspector::Inspector;
use crate::components::lessons::Lessons;
use crate::components::scrubber::Scrubber;
use crate::components::shell::Header;
use crate::components::topology::Topology;
use crate::hooks::use_simulation::{SimHandle, Simulation};
use crate::state::{Action, Notice, Selection, SideTab, UiState};
use clock::{use_clock, ClockTargets};
use persistence::{save_work, share_url, Start, SAVE_DEBOUNCE_MS};
use shortcuts::use_shortcuts;

/// The simulation the page opens with: the start's scenario, or (should it not open) the
/// default preset with a notice saying why.
fn boot(start: &mut Start) -> Simulation {
    match Simulation::new(&start.scenario) {
        Ok(sim) => sim,
        Err(why) => {
            start.view = None;
            start.notice = Some(Notice {
                text: format!(
                    "The saved work could not be opened ({why}); the \"{}\" preset opened instead.",
                    presets::DEFAULT
                ),
                can_restore: false,
            });
            let fallback = presets::get(presets::DEFAULT)
                .expect("the default preset exists")
                .scenario;
            Simulation::new(&fallback).expect("the default preset is valid")
        }
    }
}

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let boot_state = use_mut_ref(|| Some(persistence::start()));
    let ui = use_reducer(UiState::default);
    let sim = {
        let boot_state = boot_state.clone();
        use_mut_ref(move || {
            let mut s = boot_state.borrow_mut();
            let start = s
                .as_mut()
                .expect("boot state is taken after the first render");
            let mut sim = boot(start);
            sim.playing = start.view.is_none() && start.notice.is_none();
            sim
        })
    };
    let version = use_state(|| 0u64);
    let canvas = use_node_ref();
    let twin_canvas = use_node_ref();
    let selected = use_memo((), |_| Rc::new(Cell::new(None::<PacketId>)));
    let selected: Rc<Cell<Option<PacketId>>> = (*selected).clone();
    selected.set(match ui.selection {
        Selection::Packet(p) => Some(p),
        _ => None,
    });

    let refresh = {
        let version = version.clone();
        let sim = sim.clone();
        Callback::from(move |()| version.set(sim.borrow().version))
    };
    let notify = {
        let ui = ui.clone();
        Callback::from(move |text: String| {
            ui.dispatch(Action::Notice(Some(Notice {
                text,
                can_restore: false,
            })))
        })
    };

    // First render: apply the link's view, show the notice.
    {
        let sim = sim.clone();
        let ui = ui.clone();
        let refresh = refresh.clone();
        let notify = notify.clone();
        use_effect_with((), move |_| {
            if let Some(start) = boot_state.borrow_mut().take() {
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
                } else if let Err(e) = save_work(sim.borrow().scenario()) {
                    notify.emit(e);
                }
                refresh.emit(());
            }
        });
    }

    use_clock(
        sim.clone(),
        ClockTargets {
            canvas: canvas.clone(),
            twin_canvas: twin_canvas.clone(),
            version: version.clone(),
            selected,
        },
    );
    use_shortcuts(sim.clone(), ui.clone(), refresh.clone());

    // The scenario changed (a restart, a lesson, an edit): save it and follow it in the URL,
    // debounced so that a burst of edits writes once.
    let scenario_rev = sim.borrow().scenario_rev;
    let pending_save = use_mut_ref(|| None::<gloo_timers::callback::Timeout>);
    {
        let sim = sim.clone();
        let ui = ui.clone();
        let notify = notify.clone();
        use_effect_with(scenario_rev, move |rev| {
            // The first revision is saved by the start effect unless a bad link is on show.
            if *rev > 0 {
                if ui.notice.as_ref().is_some_and(|n| n.can_restore) {
                    ui.dispatch(Action::Notice(None));
                }
                // Replacing the timer cancels the one before it.
                *pending_save.borrow_mut() = Some(gloo_timers::callback::Timeout::new(
                    SAVE_DEBOUNCE_MS,
                    move || {
                        if let Err(e) = save_work(sim.borrow().scenario()) {
                            notify.emit(e);
                        }
                    },
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
            let url = share_url(
                s.scenario(),
                View {
                    time_us: Some(s.world.now().as_micros()),
                    packet,
                    request,
                    lesson: ui.lesson.clone(),
                },
            );
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
            ui.dispatch(Action::Notice(None));
            if let Some(s) = saved_work() {
                let mut sim = sim.borrow_mut();
                if sim.open(&s).is_ok() {
                    sim.playing = true;
                }
            }
            refresh.emit(());
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
        let notify = notify.clone();
        Callback::from(move |s: Scenario| {
            let opened = {
                let mut sim = sim.borrow_mut();
                let opened = sim.open(&s);
                if opened.is_ok() {
                    sim.playing = true;
                }
                opened
            };
            match opened {
                Ok(()) => {
                    ui.dispatch(Action::Select(Selection::None));
                    ui.dispatch(Action::Tab(SideTab::Lessons));
                }
                Err(e) => notify.emit(e),
            }
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
                <div class="tc-stage">
                    <Topology sim={handle.clone()} ui={ui.clone()} canvas={canvas.clone()} twin_canvas={twin_canvas.clone()} />
                    <Scrubber sim={handle.clone()} refresh={refresh.clone()} />
                </div>
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
                            SideTab::Compare => html! { <Compare sim={handle.clone()} refresh={refresh.clone()} on_error={notify.clone()} /> },
                        }
                    }
                </aside>
            </main>
            <section class="tc-bottom" aria-label="Events and backends" data-testid="bottom-panel">
                <EventList sim={handle.clone()} ui={ui.clone()} />
                <Backends sim={handle} refresh={refresh} on_error={notify} />
            </section>
            if ui.help {
                <Help on_close={help_close} />
            }
        </div>
    }
}
