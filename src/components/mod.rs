//! The page's components, one per file.

pub mod announcer;
pub mod backends;
pub mod charts;
pub mod compare;
pub mod composer;
pub mod controls;
pub mod downloads;
pub mod editor;
pub mod events;
pub mod figures;
pub mod help;
pub mod inspector;
pub mod lessons;
pub mod scrubber;
pub mod shell;
pub mod story;
pub mod table;
pub mod topology;
