//! The canvas as a table, for screen readers and for anyone who prefers to read: the balancer,
//! each backend (health, fault, load), each client group (its share of each backend) and the
//! requests in flight, from the same frame the canvas draws.

use yew::prelude::*;

use crate::hooks::use_simulation::SimHandle;
use crate::render::nodes::{algorithm_name, backend_state, fault_words, mode_name};

/// A client group's row: name, size, (backend, clients mapped to it).
type Group = (String, usize, Vec<(String, usize)>);

/// Props of [`TableView`].
#[derive(Properties, PartialEq)]
pub struct TableViewProps {
    /// The simulation.
    pub sim: SimHandle,
}

/// The table view.
#[function_component(TableView)]
pub fn table_view(props: &TableViewProps) -> Html {
    let s = props.sim.borrow();
    let f = &s.frame;
    // Each group: its name, its size, and how many of it map to each backend.
    let mut groups: Vec<Group> = Vec::new();
    for c in &f.clients {
        let i = match groups.iter().position(|g| g.0 == c.group) {
            Some(i) => i,
            None => {
                groups.push((c.group.clone(), 0, Vec::new()));
                groups.len() - 1
            }
        };
        let g = &mut groups[i];
        g.1 += 1;
        let name = c
            .backend
            .and_then(|b| f.backend(b))
            .map_or("none yet".to_string(), |b| b.name.clone());
        match g.2.iter_mut().find(|(n, _)| *n == name) {
            Some(e) => e.1 += 1,
            None => g.2.push((name, 1)),
        }
    }
    html! {
        <div class="tc-table-view" data-testid="table-view">
            <table>
                <caption>{ format!("At {}: {} requests in flight", f.now, f.requests_in_flight) }</caption>
                <thead><tr>
                    <th scope="col">{ "Host" }</th><th scope="col">{ "State" }</th>
                    <th scope="col">{ "Connections" }</th><th scope="col">{ "Queued" }</th>
                    <th scope="col">{ "In service" }</th><th scope="col">{ "Requests/s" }</th>
                </tr></thead>
                <tbody>
                    <tr>
                        <th scope="row">{ mode_name(f.balancer.mode) }</th>
                        <td>{ format!("{}; {} flows", algorithm_name(f.balancer.algorithm), f.balancer.flows) }</td>
                        <td>{ "" }</td><td>{ "" }</td><td>{ "" }</td><td>{ "" }</td>
                    </tr>
                    { for f.backends.iter().map(|b| {
                        let (state, _) = backend_state(b);
                        let mut words = vec![if state.is_empty() { "no checks".to_string() } else { state }];
                        words.extend(fault_words(b.fault));
                        if b.drained { words.push("drained".into()); }
                        html! {
                            <tr data-testid={format!("row-{}", b.name)}>
                                <th scope="row">{ format!("Backend {}", b.name) }</th>
                                <td>{ words.join(", ") }</td>
                                <td>{ b.connections }</td><td>{ b.queued }</td>
                                <td>{ b.in_service }</td><td>{ b.per_second }</td>
                            </tr>
                        }
                    }) }
                    { for groups.iter().map(|(name, n, shares)| html! {
                        <tr>
                            <th scope="row">{ format!("Clients {name} ({n})") }</th>
                            <td colspan="5">{ shares.iter().map(|(b, k)| format!("{k} → {b}")).collect::<Vec<_>>().join(", ") }</td>
                        </tr>
                    }) }
                </tbody>
            </table>
        </div>
    }
}
