//! The topology's words: what the balancer position is.

use lbsim::scenario::Mode;

/// The balancer's label on the topology: its layer and mode.
pub fn balancer_label(mode: Mode) -> (&'static str, &'static str) {
    match mode {
        Mode::Router => ("Router", "no balancing: clients address servers"),
        Mode::L4Nat => ("L4 balancer · NAT", "rewrites addresses, never reads HTTP"),
        Mode::L4Dsr => ("L4 balancer · DSR", "tunnels in, servers answer directly"),
        Mode::L7 => ("L7 proxy", "reads each request, routes it"),
    }
}
