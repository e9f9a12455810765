//! Hooks: the simulation and its one animation clock.

pub mod use_simulation;
