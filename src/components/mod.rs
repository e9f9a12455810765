//! The page's components, one per file.

pub mod backends;
pub mod controls;
pub mod events;
pub mod help;
pub mod inspector;
pub mod lessons;
pub mod shell;
pub mod topology;
