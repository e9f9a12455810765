//! `lbsim`: the whole Traffic Cop simulation, with no web dependencies.
//!
//! A deterministic world of virtual hosts exchanging real IPv4/TCP/UDP packets through smoltcp
//! stacks, with a load balancer between clients and backends. See `DESIGN.md` for the map.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod apps;
pub mod balance;
pub mod health;
pub mod http;
pub mod ids;
pub mod lb;
pub mod metrics;
pub mod net;
pub mod presets;
pub mod records;
pub mod report;
pub mod rng;
pub mod scenario;
pub mod sim;
pub mod stack;
pub mod time;
pub mod tls;
pub mod trace;
pub mod view;
pub mod wire;
