//! The lessons: the engine's presets with their explanation, question and quiz. A quiz is
//! answered first; then the scenario runs and shows why.

use lbsim::presets::{self, Preset};
use lbsim::scenario::Scenario;
use yew::prelude::*;

/// Props of [`Lessons`].
#[derive(Properties, PartialEq)]
pub struct LessonsProps {
    /// The open lesson.
    pub open: Option<String>,
    /// Opens a lesson (or goes back to the list).
    pub on_open: Callback<Option<String>>,
    /// Loads a scenario and plays it.
    pub on_run: Callback<Scenario>,
}

/// The lessons panel.
#[function_component(Lessons)]
pub fn lessons(props: &LessonsProps) -> Html {
    let all = use_memo((), |_| presets::all());
    match props
        .open
        .as_ref()
        .and_then(|n| all.iter().find(|p| &p.name == n))
    {
        Some(p) => {
            html! { <Lesson key={p.name.clone()} preset={p.clone()} on_back={props.on_open.reform(|_| None)} on_run={props.on_run.clone()} /> }
        }
        None => html! {
            <ul class="tc-lesson-list" data-testid="lesson-list">
                { for all.iter().map(|p| {
                    let name = p.name.clone();
                    let onclick = props.on_open.reform(move |_: MouseEvent| Some(name.clone()));
                    html! {
                        <li><button onclick={onclick} data-testid={format!("lesson-{}", p.name)}>
                            <strong>{ &p.title }</strong>
                            <span class="tc-muted">{ &p.question }</span>
                            if p.quiz.is_some() { <span class="tc-tag">{ "quiz" }</span> }
                        </button></li>
                    }
                }) }
            </ul>
        },
    }
}

#[derive(Properties, PartialEq)]
struct LessonProps {
    preset: Preset,
    on_back: Callback<()>,
    on_run: Callback<Scenario>,
}

#[function_component(Lesson)]
fn lesson(props: &LessonProps) -> Html {
    let p = &props.preset;
    let choice = use_state(|| None::<usize>);
    let answered = use_state(|| false);
    let back = props.on_back.reform(|_: MouseEvent| ());
    let run = {
        let s = p.scenario.clone();
        props.on_run.reform(move |_: MouseEvent| s.clone())
    };
    let variant = p.compare.as_ref().and_then(|c| {
        let s = p.compare_scenario()?.ok()?;
        Some((
            c.label.clone(),
            props.on_run.reform(move |_: MouseEvent| s.clone()),
        ))
    });
    let quiz = p.quiz.as_ref().map(|q| {
        let submit = {
            let answered = answered.clone();
            let on_run = props.on_run.clone();
            let s = p.scenario.clone();
            let has_choice = choice.is_some();
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                if has_choice {
                    answered.set(true);
                    on_run.emit(s.clone());
                }
            })
        };
        html! {
            <form class="tc-quiz" onsubmit={submit} data-testid="quiz">
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
                                { c }
                            </label>
                        }
                    }) }
                </fieldset>
                if !*answered {
                    <button type="submit" disabled={choice.is_none()} data-testid="answer">{ "Answer, then run it" }</button>
                } else {
                    <div class={classes!("tc-verdict", if *choice == Some(q.answer as usize) { "right" } else { "wrong" })}
                        role="status" data-testid="verdict">
                        <strong>{ if *choice == Some(q.answer as usize) { "Right. " } else { "Not quite. " } }</strong>
                        { format!("The answer: {}. ", q.choices[q.answer as usize]) }
                        { &q.explanation }
                        <p class="tc-muted">{ "The scenario is running: watch it show why." }</p>
                    </div>
                }
            </form>
        }
    });
    let reveal = p.quiz.is_none() || *answered;
    html! {
        <article class="tc-lesson tc-pad" data-testid="lesson">
            <button class="tc-link" onclick={back}>{ "← All lessons" }</button>
            <h2 class="tc-h2">{ &p.title }</h2>
            <p><strong>{ "Question: " }</strong>{ &p.question }</p>
            { quiz.unwrap_or_default() }
            if reveal {
                <p>{ &p.explanation }</p>
                <p><strong>{ "Watch: " }</strong>{ &p.watch }</p>
                <div class="tc-lesson-actions">
                    <button onclick={run} data-testid="run-lesson">{ "Run this lesson" }</button>
                    if let Some((label, on)) = variant {
                        <button onclick={on} data-testid="run-variant">{ format!("Run the variant: {label}") }</button>
                    }
                </div>
            }
        </article>
    }
}
