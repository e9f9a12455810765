//! The regions of the page frame that later views fill.

use yew::prelude::*;

/// The top bar with the product name.
#[function_component(Header)]
pub fn header() -> Html {
    html! {
        <header class="tc-header" role="banner">
            <h1 class="tc-title">{ "Traffic Cop" }</h1>
            <p class="tc-tagline">{ "A load-balancer playground on real packets" }</p>
        </header>
    }
}

/// Where the clients, the balancer and the backends are drawn.
#[function_component(TopologyArea)]
pub fn topology_area() -> Html {
    html! {
        <section class="tc-topology" aria-label="Topology" data-testid="topology">
        </section>
    }
}

/// Inspector and editors.
#[function_component(SidePanel)]
pub fn side_panel() -> Html {
    html! {
        <aside class="tc-side" aria-label="Inspector" data-testid="side-panel">
        </aside>
    }
}

/// Event list and charts.
#[function_component(BottomPanel)]
pub fn bottom_panel() -> Html {
    html! {
        <section class="tc-bottom" aria-label="Events" data-testid="bottom-panel">
        </section>
    }
}
