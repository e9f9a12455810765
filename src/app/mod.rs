//! The page: lays out the views and wires them to the simulation. Three layouts: the
//! playground (every tool), a lesson (its story beside a large canvas, the figures that prove
//! its point, tools folded away), and embed mode (read-only, for other pages). Each other job
//! has its own file: the animation clock (`clock`), the keyboard shortcuts (`shortcuts`),
//! keeping and sharing the work (`persistence`), themes (`theme`), embed mode (`embed`) and
//! what happens on a bug (`crash`).

mod clock;
mod crash;
mod embed;
mod persistence;
mod shortcuts;
mod theme;

use std::cell::Cell;
use std::rc::Rc;

use lbsim::ids::{PacketId, RequestId};
use lbsim::presets;
use lbsim::scenario::link::View;
use lbsim::time::Instant;
use yew::prelude::*;

pub use crash::install_panic_hook;
pub use embed::HEIGHT_MESSAGE;
pub use persistence::{saved_work, WORK_KEY};
pub use theme::{is_dark as theme_is_dark, THEME_KEY};

use crate::components::announcer::Announcer;
use crate::components::backends::Backends;
use crate::components::charts::Charts;
use crate::components::compare::Compare;
use crate::components::composer::Composer;
use crate::components::controls::Controls;
use crate::components::downloads::Downloads;
use crate::components::editor::Editor;
use crate::components::events::EventList;
use crate::components::figures::Figures;
use crate::components::help::Help;
use crate::components::inspector::Inspector;
use crate::components::lessons::Lessons;
use crate::components::scrubber::Scrubber;
use crate::components::shell::Header;
use crate::components::story::Story;
use crate::components::table::TableView;
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

/// The lesson a start opens: the link's, or the preset the scenario is (but the playground's,
/// which is the page's own start).
fn lesson_of(start: &Start) -> Option<String> {
    if let Some(l) = start.view.as_ref().and_then(|v| v.lesson.clone()) {
        return Some(l);
    }
    presets::all()
        .into_iter()
        .find(|p| p.scenario == start.scenario && p.name != presets::DEFAULT)
        .map(|p| p.name)
}

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    let boot_state = use_mut_ref(|| Some(persistence::start()));
    let embed = use_memo((), {
        let boot_state = boot_state.clone();
        move |_| boot_state.borrow().as_ref().and_then(|s| s.embed.clone())
    });
    let ui = use_reducer(UiState::default);
    let sim = {
        let boot_state = boot_state.clone();
        let embed = embed.is_some();
        use_mut_ref(move || {
            let mut s = boot_state.borrow_mut();
            let start = s
                .as_mut()
                .expect("boot state is taken after the first render");
            let mut sim = boot(start);
            // An embed starts when it is on screen.
            sim.playing = !embed && start.view.is_none() && start.notice.is_none();
            sim
        })
    };
    let version = use_state(|| 0u64);
    let canvas = use_node_ref();
    let twin_canvas = use_node_ref();
    let page = use_node_ref();
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

    // First render: the theme, the link's view and lesson, the notice.
    {
        let sim = sim.clone();
        let ui = ui.clone();
        let refresh = refresh.clone();
        let notify = notify.clone();
        let embed = (*embed).clone();
        use_effect_with((), move |_| {
            match embed.as_ref().and_then(|e| e.theme.as_deref()) {
                Some(t) => theme::show(Some(t)),
                None => theme::restore(),
            }
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
                }
                if start.notice.is_none() {
                    ui.dispatch(Action::Lesson(lesson_of(&start)));
                }
                if start.notice.is_some() {
                    ui.dispatch(Action::Notice(start.notice));
                } else if embed.is_none() {
                    if let Err(e) = save_work(sim.borrow().scenario()) {
                        notify.emit(e);
                    }
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
    embed::use_start_when_visible(embed.is_some(), page.clone(), sim.clone());
    embed::use_post_height(embed.is_some(), *version);

    // The scenario changed (a restart, a lesson, an edit): save it and follow it in the URL,
    // debounced so that a burst of edits writes once. An embed keeps nothing.
    let scenario_rev = sim.borrow().scenario_rev;
    let pending_save = use_mut_ref(|| None::<gloo_timers::callback::Timeout>);
    {
        let sim = sim.clone();
        let ui = ui.clone();
        let notify = notify.clone();
        let embedded = embed.is_some();
        use_effect_with(scenario_rev, move |rev| {
            // The first revision is saved by the start effect unless a bad link is on show.
            if *rev > 0 && !embedded {
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
    // Choosing a lesson opens its layout with its scenario; a quiz is answered before it runs.
    let on_open_lesson = {
        let sim = sim.clone();
        let ui = ui.clone();
        let refresh = refresh.clone();
        let notify = notify.clone();
        Callback::from(move |name: String| {
            let Some(p) = presets::get(&name) else { return };
            let opened = {
                let mut sim = sim.borrow_mut();
                sim.twin = None;
                let opened = sim.open(&p.scenario);
                sim.playing = opened.is_ok() && p.quiz.is_none();
                opened
            };
            match opened {
                Ok(()) => {
                    ui.dispatch(Action::Select(Selection::None));
                    ui.dispatch(Action::Lesson(Some(name)));
                }
                Err(e) => notify.emit(e),
            }
            refresh.emit(());
        })
    };
    let on_run = {
        let sim = sim.clone();
        let refresh = refresh.clone();
        Callback::from(move |()| {
            let mut s = sim.borrow_mut();
            if s.world.now() >= s.end() {
                s.restart();
            }
            s.playing = true;
            s.version += 1;
            drop(s);
            refresh.emit(());
        })
    };
    let lesson = ui.lesson.as_ref().and_then(|n| presets::get(n));
    let on_compare = {
        let sim = sim.clone();
        let refresh = refresh.clone();
        let notify = notify.clone();
        let lesson = lesson.clone();
        Callback::from(move |()| {
            let Some(p) = &lesson else { return };
            let (Some(c), Some(Ok(variant))) = (&p.compare, p.compare_scenario()) else {
                return;
            };
            let started = {
                let mut s = sim.borrow_mut();
                let started = s.compare(c.label.clone(), &variant);
                s.playing = started.is_ok();
                started
            };
            if let Err(e) = started {
                notify.emit(format!("The variant could not start: {e}"));
            }
            refresh.emit(());
        })
    };
    let leave = |tab: SideTab| {
        let ui = ui.clone();
        Callback::from(move |()| {
            ui.dispatch(Action::Lesson(None));
            ui.dispatch(Action::Tab(tab));
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
    let on_theme = {
        let refresh = refresh.clone();
        Callback::from(move |()| {
            theme::toggle();
            refresh.emit(());
        })
    };
    let table_toggle = {
        let ui = ui.clone();
        let on = ui.table;
        Callback::from(move |_: MouseEvent| ui.dispatch(Action::Table(!on)))
    };
    let stage = |figures: Html| {
        html! {
            <div class="tc-stage">
                <Topology sim={handle.clone()} ui={ui.clone()} canvas={canvas.clone()} twin_canvas={twin_canvas.clone()} />
                { figures }
                <Scrubber sim={handle.clone()} refresh={refresh.clone()} />
                if embed.is_none() {
                    <div class="tc-table-toggle">
                        <button onclick={table_toggle.clone()} aria-expanded={ui.table.to_string()} data-testid="table-toggle">
                            { if ui.table { "Hide the table" } else { "Show as a table" } }
                        </button>
                    </div>
                }
                if ui.table {
                    <TableView sim={handle.clone()} />
                }
            </div>
        }
    };
    if let Some(e) = &*embed {
        let title = lesson
            .as_ref()
            .map(|p| (p.title.clone(), p.question.clone()));
        let open_full = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .map(|h| format!("./{h}"))
            .unwrap_or_else(|| "./".into());
        return html! {
            <div class={classes!("tc-app", "tc-embed")} data-testid="app" data-embed="true"
                data-theme-asked={e.theme.clone().unwrap_or_default()} ref={page}>
                <div class="tc-shell">
                    <header class="tc-embed-head">
                        if let Some((t, q)) = &title {
                            <div><strong>{ t }</strong><p class="tc-question" data-testid="lesson-question">{ q }</p></div>
                        } else {
                            <strong>{ "Traffic Cop" }</strong>
                        }
                        <a href={open_full} target="_blank" rel="noopener" data-testid="open-full">{ "Open in Traffic Cop ↗" }</a>
                    </header>
                    <Controls sim={handle.clone()} refresh={refresh.clone()} on_help={help_open} compact=true />
                    { stage(html! {}) }
                    <Announcer sim={handle.clone()} />
                </div>
            </div>
        };
    }
    let header = html! {
        <Header notice={ui.notice.clone()} {on_share} {on_dismiss} {on_restore} {on_theme}>
            <Downloads sim={handle.clone()} />
        </Header>
    };
    if let Some(p) = lesson {
        return html! {
            <div class={classes!("tc-app", "tc-lesson-layout")} data-testid="app" data-layout="lesson" ref={page}>
                <div class="tc-shell">
                    { header }
                    <Controls sim={handle.clone()} refresh={refresh.clone()} on_help={help_open} />
                    <main class="tc-lesson-main">
                        <Story key={p.name.clone()} preset={p.clone()} sim={handle.clone()} refresh={refresh.clone()}
                            on_run={on_run} on_compare={on_compare}
                            on_playground={leave(SideTab::Inspect)} on_list={leave(SideTab::Lessons)} />
                        { stage(html! { <Figures sim={handle.clone()} figures={p.figures.clone()} /> }) }
                    </main>
                    <Announcer sim={handle.clone()} />
                    if ui.help {
                        <Help on_close={help_close} />
                    }
                </div>
            </div>
        };
    }
    html! {
        <div class="tc-app" data-testid="app" data-layout="playground" ref={page}>
            <div class="tc-shell">
                { header }
                <Controls sim={handle.clone()} refresh={refresh.clone()} on_help={help_open} />
                <main class="tc-main">
                    { stage(html! {}) }
                    <aside class="tc-side" aria-label="Inspector and tools" data-testid="side-panel">
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
                                SideTab::Lessons => html! { <Lessons on_open={on_open_lesson} /> },
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
                <Announcer sim={SimHandle::new(sim.clone())} />
                if ui.help {
                    <Help on_close={help_close} />
                }
            </div>
        </div>
    }
}
