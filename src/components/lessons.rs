//! The list of lessons: the engine's presets with their question. Choosing one opens its
//! lesson layout (see `story`).

use lbsim::presets;
use yew::prelude::*;

/// Props of [`Lessons`].
#[derive(Properties, PartialEq)]
pub struct LessonsProps {
    /// Opens a lesson.
    pub on_open: Callback<String>,
}

/// The lessons list.
#[function_component(Lessons)]
pub fn lessons(props: &LessonsProps) -> Html {
    let all = use_memo((), |_| presets::all());
    html! {
        <ul class="tc-lesson-list" data-testid="lesson-list">
            { for all.iter().map(|p| {
                let name = p.name.clone();
                let onclick = props.on_open.reform(move |_: MouseEvent| name.clone());
                html! {
                    <li><button onclick={onclick} data-testid={format!("lesson-{}", p.name)}>
                        <strong>{ &p.title }</strong>
                        <span class="tc-muted">{ &p.question }</span>
                        if p.quiz.is_some() { <span class="tc-tag">{ "quiz" }</span> }
                    </button></li>
                }
            }) }
        </ul>
    }
}
