//! The page frame: header, topology area, side panel and bottom panel.

use yew::prelude::*;

use crate::components::shell::{BottomPanel, Header, SidePanel, TopologyArea};

/// The whole page.
#[function_component(App)]
pub fn app() -> Html {
    html! {
        <div class="tc-app" data-testid="app">
            <Header />
            <main class="tc-main">
                <TopologyArea />
                <SidePanel />
            </main>
            <BottomPanel />
        </div>
    }
}
