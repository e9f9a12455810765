//! The event list: the newest records, filterable by kind; a row selects its packet or request.

use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;
use crate::state::{Action, EventKind, Selection, UiState};
use crate::view;

/// Rows shown at most.
const ROWS: usize = 200;

/// Props of [`EventList`].
#[derive(Properties, PartialEq)]
pub struct EventListProps {
    /// The simulation.
    pub sim: SimHandle,
    /// The UI state.
    pub ui: UseReducerHandle<UiState>,
}

/// The event list.
#[function_component(EventList)]
pub fn event_list(props: &EventListProps) -> Html {
    let ui = props.ui.clone();
    let rows = {
        let s = props.sim.borrow();
        view::event_rows(&s.world, &s.frame, &s.log, |k| ui.shows(k), ROWS)
    };
    let selected = ui.selection;
    html! {
        <section class="tc-events" aria-label="Event list" data-testid="events">
            <div class="tc-filters" role="group" aria-label="Show events of kind">
                { for EventKind::ALL.iter().map(|&k| {
                    let ui = ui.clone();
                    let on = ui.shows(k);
                    let onchange = Callback::from(move |_: Event| ui.dispatch(Action::ToggleFilter(k)));
                    html! {
                        <label class={classes!("tc-filter", format!("tc-kind-{}", k.label().to_ascii_lowercase()))}>
                            <input type="checkbox" checked={on} {onchange}
                                data-testid={format!("filter-{}", k.label().to_ascii_lowercase())} />
                            { k.label() }
                        </label>
                    }
                }) }
            </div>
            <ol class="tc-event-rows" data-testid="event-rows">
                { for rows.into_iter().map(|row| {
                    let target = match (row.packet, row.request) {
                        (Some(p), _) => Selection::Packet(p),
                        (None, Some(r)) => Selection::Request(r),
                        _ => Selection::None,
                    };
                    let on = target != Selection::None && target == selected;
                    let ui = ui.clone();
                    let onclick = Callback::from(move |_: MouseEvent| ui.dispatch(Action::Select(target)));
                    html! {
                        <li key={row.seq} class={classes!("tc-event", format!("tc-kind-{}", row.kind.label().to_ascii_lowercase()), on.then_some("on"))}
                            data-kind={row.kind.label().to_ascii_lowercase()}>
                            <button onclick={onclick} disabled={target == Selection::None}
                                aria-pressed={on.to_string()}>
                                <span class="tc-event-time">{ format!("{}", row.at) }</span>
                                <span class="tc-event-text">{ row.text }</span>
                            </button>
                        </li>
                    }
                }) }
            </ol>
        </section>
    }
}
