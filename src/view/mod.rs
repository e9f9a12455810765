//! View models: what the components show, in words and marks, read from the engine's
//! [`lbsim::view::Frame`] (computed once per frame) and, for the inspector and the event list,
//! the trace. Nothing here decides a simulation fact; it selects and formats what the engine
//! recorded. One view model per file.

pub mod cards;
pub mod events;
pub mod inspector;
pub mod packets;
pub mod topology;

pub use cards::{backend_cards, BackendCard};
pub use events::{describe, event_rows, EventLog, EventRow, Names};
pub use inspector::{packet_detail, PacketDetail, Rewrite};
pub use packets::{packet_dots, short_label, PacketDot, LABEL_UP_TO};
pub use topology::balancer_label;
