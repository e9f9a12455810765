//! Hooks: the simulation, its one animation clock, and going back in time.

pub mod rewind;
pub mod use_simulation;
