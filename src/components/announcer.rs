//! What a screen reader hears as the run goes: faults, health changes and the lesson's
//! moments, in an `aria-live` region (the same words as the scrubber's marks and the caption).

use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;

/// Props of [`Announcer`].
#[derive(Properties, PartialEq)]
pub struct AnnouncerProps {
    /// The simulation.
    pub sim: SimHandle,
}

/// The live region.
#[function_component(Announcer)]
pub fn announcer(props: &AnnouncerProps) -> Html {
    let text = {
        let s = props.sim.borrow();
        let now = s.world.now();
        let marker = s
            .markers
            .iter()
            .rev()
            .find(|m| m.at <= now)
            .map(|m| (m.at, format!("At {}: {}.", m.at, m.label)));
        let moment = s
            .caption()
            .map(|m| (lbsim::time::Instant::ZERO + m.at, m.caption.clone()));
        // The newer of the two.
        match (marker, moment) {
            (Some(a), Some(b)) => {
                if a.0 > b.0 {
                    a.1
                } else {
                    b.1
                }
            }
            (Some(a), None) => a.1,
            (None, Some(b)) => b.1,
            (None, None) => String::new(),
        }
    };
    html! {
        <div class="tc-sr" aria-live="polite" aria-atomic="true" data-testid="announcer">{ text }</div>
    }
}
