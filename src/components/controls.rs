//! Play, pause, step, speed, restart and seed.

use lbsim::trace::Event as Record;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::hooks::use_simulation::{Level, SimHandle, SPEED_RANGE};

/// Props of [`Controls`].
#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    /// The simulation.
    pub sim: SimHandle,
    /// Re-renders the page after a change.
    pub refresh: Callback<()>,
    /// Opens the keyboard help.
    pub on_help: Callback<()>,
    /// The few controls of an embed: play, step, speed and the clock.
    #[prop_or_default]
    pub compact: bool,
}

/// The speed slider works on the logarithm of the speed: 0.001× to 100× in even steps.
pub fn speed_to_slider(speed: f64) -> f64 {
    speed.log10()
}

/// Inverse of [`speed_to_slider`], clamped to the allowed range.
pub fn slider_to_speed(v: f64) -> f64 {
    10f64.powf(v).clamp(SPEED_RANGE.0, SPEED_RANGE.1)
}

/// A speed as people say it: `0.001×`, `0.5×`, `20×`.
pub fn speed_text(speed: f64) -> String {
    let s = if speed >= 10.0 {
        format!("{speed:.0}")
    } else if speed >= 1.0 {
        format!("{speed:.1}")
    } else {
        let digits = (-speed.log10()).ceil().max(1.0) as usize + 1;
        format!("{speed:.digits$}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}×")
}

/// Steps to the next packet put on a link.
pub fn is_packet(e: &Record) -> bool {
    matches!(e, Record::PacketSent { .. })
}

/// Steps to the next request started.
pub fn is_request(e: &Record) -> bool {
    matches!(e, Record::RequestStarted { .. })
}

/// The control bar.
#[function_component(Controls)]
pub fn controls(props: &ControlsProps) -> Html {
    let sim = props.sim.clone();
    let (playing, speed, now, end, seed, behind, events, level) = {
        let s = sim.borrow();
        (
            s.playing,
            s.speed,
            s.world.now(),
            s.end(),
            s.scenario().seed,
            s.behind,
            s.world.events_processed(),
            s.level,
        )
    };
    let act = |f: fn(&mut crate::hooks::use_simulation::Simulation)| {
        let sim = sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |_: MouseEvent| {
            f(&mut sim.borrow_mut());
            refresh.emit(());
        })
    };
    let play = act(|s| {
        if s.world.now() >= s.end() {
            s.restart();
        }
        s.playing = !s.playing;
        s.version += 1;
    });
    let step = act(|s| s.step_event());
    let next_packet = act(|s| s.step_until(is_packet, 1_000_000));
    let next_request = act(|s| s.step_until(is_request, 10_000_000));
    let restart = act(|s| s.restart());
    let on_speed = {
        let sim = sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let v = input.value_as_number();
            if v.is_finite() {
                let mut s = sim.borrow_mut();
                s.speed = slider_to_speed(v);
                s.version += 1;
            }
            refresh.emit(());
        })
    };
    let seed_error = use_state(|| None::<String>);
    let on_seed = {
        let sim = sim.clone();
        let refresh = props.refresh.clone();
        let seed_error = seed_error.clone();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            match input.value().trim().parse::<u64>() {
                Ok(seed) => {
                    let mut s = sim.borrow_mut();
                    let mut scenario = s.scenario().clone();
                    scenario.seed = seed;
                    let opened = s.open(&scenario);
                    drop(s);
                    seed_error.set(opened.err());
                    refresh.emit(());
                }
                Err(_) => seed_error.set(Some(
                    "A seed is a whole number from 0 to 18446744073709551615".into(),
                )),
            }
        })
    };
    let on_level = {
        let sim = sim.clone();
        let refresh = props.refresh.clone();
        Callback::from(move |e: Event| {
            let v = e
                .target_unchecked_into::<web_sys::HtmlSelectElement>()
                .value();
            let mut s = sim.borrow_mut();
            s.level = match v.as_str() {
                "packets" => Level::Packets,
                "requests" => Level::Requests,
                _ => Level::Auto,
            };
            s.version += 1;
            drop(s);
            refresh.emit(());
        })
    };
    let help = props.on_help.reform(|_: MouseEvent| ());
    let (lo, hi) = (
        speed_to_slider(SPEED_RANGE.0),
        speed_to_slider(SPEED_RANGE.1),
    );
    html! {
        <div class="tc-controls" role="toolbar" aria-label="Simulation controls" data-testid="controls">
            <button onclick={play} data-testid="play" aria-keyshortcuts="Space"
                title={ if playing { "Pause (space)" } else { "Play (space)" } }>
                { if playing { "❚❚ Pause" } else { "▶ Play" } }
            </button>
            <button onclick={step} data-testid="step" aria-keyshortcuts="." title="Process exactly one event (.)">
                { "Step" }
            </button>
            if !props.compact {
                <button onclick={next_packet} data-testid="next-packet" aria-keyshortcuts="n" title="Run to the next packet sent (n)">
                    { "Next packet" }
                </button>
                <button onclick={next_request} data-testid="next-request" aria-keyshortcuts="r" title="Run to the next request (r)">
                    { "Next request" }
                </button>
            }
            <button onclick={restart} data-testid="restart" aria-keyshortcuts="0" title="Start again from time zero (0)">
                { "↺ Restart" }
            </button>
            <label class="tc-speed">
                { "Speed " }
                <input type="range" min={lo.to_string()} max={hi.to_string()} step="0.125"
                    value={speed_to_slider(speed).to_string()} oninput={on_speed}
                    aria-valuetext={speed_text(speed)} data-testid="speed" />
                <output data-testid="speed-text">{ speed_text(speed) }</output>
            </label>
            <label class="tc-level-choice" title="What the canvas draws (v)">
                { "Show " }
                <select onchange={on_level} data-testid="level" aria-keyshortcuts="v">
                    <option value="auto" selected={level == Level::Auto}>{ "auto" }</option>
                    <option value="packets" selected={level == Level::Packets}>{ "packets" }</option>
                    <option value="requests" selected={level == Level::Requests}>{ "requests" }</option>
                </select>
            </label>
            if !props.compact {
                <label class="tc-seed">
                    { "Seed " }
                    <input type="text" inputmode="numeric" size="6" value={seed.to_string()}
                        onchange={on_seed} aria-invalid={seed_error.is_some().to_string()} data-testid="seed" />
                </label>
            }
            if let Some(e) = &*seed_error {
                <span class="tc-field-error" role="alert">{ e }</span>
            }
            <span class="tc-clock" data-testid="clock" title={ format!("{events} events processed") }>
                { format!("t = {now}") }
                <span class="tc-muted">{ format!(" / {end}") }</span>
                if behind {
                    <span class="tc-behind" title="The browser cannot keep up at this speed; the simulation runs slower than asked">{ " (catching up)" }</span>
                }
            </span>
            if !props.compact {
                <button class="tc-help-button" onclick={help} aria-keyshortcuts="?" title="Keyboard shortcuts (?)">{ "?" }</button>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_round_trip_through_the_slider_and_read_well() {
        for s in [0.001, 0.05, 1.0, 100.0] {
            assert!((slider_to_speed(speed_to_slider(s)) - s).abs() < 1e-9);
        }
        assert_eq!(slider_to_speed(10.0), 100.0);
        assert_eq!(speed_text(0.001), "0.001×");
        assert_eq!(speed_text(0.05), "0.05×");
        assert_eq!(speed_text(1.0), "1×");
        assert_eq!(speed_text(100.0), "100×");
    }
}
