//! A lesson's story, beside its canvas: the question, the quiz (a wrong answer says why), then
//! what happens and what to watch, the lesson's moments on the timeline (click one to go
//! there), the variant to compare with, and the way out to the playground.

use lbsim::presets::Preset;
use lbsim::time::Instant;
use web_sys::KeyboardEvent;
use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;

/// Props of [`Story`].
#[derive(Properties, PartialEq)]
pub struct StoryProps {
    /// The lesson.
    pub preset: Preset,
    /// The simulation.
    pub sim: SimHandle,
    /// Re-renders after a change.
    pub refresh: Callback<()>,
    /// Plays the lesson's run (after a quiz is answered, or on "Run").
    pub on_run: Callback<()>,
    /// Starts compare mode with the lesson's variant.
    pub on_compare: Callback<()>,
    /// Leaves the lesson for the playground, keeping the scenario.
    pub on_playground: Callback<()>,
    /// Back to the list of lessons.
    pub on_list: Callback<()>,
}

/// The story panel.
#[function_component(Story)]
pub fn story(props: &StoryProps) -> Html {
    let p = &props.preset;
    let choice = use_state(|| None::<usize>);
    let answered = use_state(|| false);
    let (now, playing) = {
        let s = props.sim.borrow();
        (s.world.now(), s.playing)
    };
    let quiz = p.quiz.as_ref().map(|q| {
        let submit = {
            let answered = answered.clone();
            let on_run = props.on_run.clone();
            let has_choice = choice.is_some();
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                if has_choice {
                    answered.set(true);
                    on_run.emit(());
                }
            })
        };
        // Keys 1 to 9 choose (as well as the arrows the radio group has anyway); Enter answers.
        let keys = {
            let choice = choice.clone();
            let answered = answered.clone();
            let on_run = props.on_run.clone();
            let n = q.choices.len();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Enter" {
                    if choice.is_some() && !*answered {
                        answered.set(true);
                        on_run.emit(());
                    }
                    e.prevent_default();
                    return;
                }
                if let Some(d) = e.key().chars().next().and_then(|c| c.to_digit(10)) {
                    let i = d as usize;
                    if (1..=n).contains(&i) && e.key().len() == 1 {
                        choice.set(Some(i - 1));
                        e.prevent_default();
                        e.stop_propagation();
                    }
                }
            })
        };
        let right = *choice == Some(q.answer as usize);
        html! {
            <form class="tc-quiz" onsubmit={submit} onkeydown={keys} data-testid="quiz">
                <fieldset disabled={*answered}>
                    <legend>{ &q.question }</legend>
                    { for q.choices.iter().enumerate().map(|(i, c)| {
                        let checked = *choice == Some(i);
                        let choice = choice.clone();
                        let onchange = Callback::from(move |_: Event| choice.set(Some(i)));
                        html! {
                            <label class="tc-choice">
                                <input type="radio" name="quiz" {checked} {onchange}
                                    data-testid={format!("choice-{i}")} />
                                <span><kbd>{ i + 1 }</kbd>{ " " }{ c }</span>
                            </label>
                        }
                    }) }
                </fieldset>
                if !*answered {
                    <button type="submit" disabled={choice.is_none()} data-testid="answer">{ "Answer, then watch it" }</button>
                } else {
                    <div class={classes!("tc-verdict", if right { "right" } else { "wrong" })}
                        role="status" data-testid="verdict">
                        <strong>{ if right { "Right. " } else { "Not quite. " } }</strong>
                        { format!("The answer: {}. ", q.choices[q.answer as usize]) }
                        { &q.explanation }
                        <p class="tc-muted">{ "The run shows why: watch the moments below." }</p>
                    </div>
                }
            </form>
        }
    });
    let reveal = p.quiz.is_none() || *answered;
    let moments = p.moments.iter().map(|m| {
        let at = Instant::ZERO + m.at;
        let sim = props.sim.clone();
        let refresh = props.refresh.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            sim.borrow_mut().seek(at);
            refresh.emit(());
        });
        let state = if now >= at { "past" } else { "ahead" };
        html! {
            <li class={classes!("tc-moment", state)}>
                <button class="tc-moment-at" {onclick} title="Go to this moment">{ format!("{}", m.at) }</button>
                <span>{ &m.caption }</span>
            </li>
        }
    });
    let run = props.on_run.reform(|_: MouseEvent| ());
    let compare = props.on_compare.reform(|_: MouseEvent| ());
    let playground = props.on_playground.reform(|_: MouseEvent| ());
    let list = props.on_list.reform(|_: MouseEvent| ());
    html! {
        <article class="tc-story" data-testid="lesson" aria-label={format!("Lesson: {}", p.title)}>
            <h2 class="tc-h2">{ &p.title }</h2>
            <p class="tc-question" data-testid="lesson-question"><strong>{ "Question: " }</strong>{ &p.question }</p>
            { quiz.unwrap_or_default() }
            if reveal {
                <p>{ &p.explanation }</p>
                <p><strong>{ "Watch: " }</strong>{ &p.watch }</p>
            }
            <h3 class="tc-h3">{ "Moments" }</h3>
            <ol class="tc-moments" data-testid="moments">{ for moments }</ol>
            <div class="tc-lesson-actions">
                if reveal && !playing {
                    <button onclick={run} data-testid="run-lesson">{ "▶ Run this lesson" }</button>
                }
                if let Some(c) = &p.compare {
                    <button onclick={compare} data-testid="run-variant">{ format!("Compare with: {}", c.label) }</button>
                }
                <button onclick={playground} data-testid="open-playground">{ "Open in the playground" }</button>
                <button class="tc-link" onclick={list} data-testid="all-lessons">{ "All lessons" }</button>
            </div>
        </article>
    }
}
