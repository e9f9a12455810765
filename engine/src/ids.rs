//! Newtype identifiers. Fixed-width integers (never `usize`) so that what is serialised or
//! hashed is the same on every platform, wasm32 included.

use core::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident($inner:ty), $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id!(
    /// A host of the world: a client, a backend, or the balancer.
    HostId(u32),
    "h"
);
id!(
    /// One transmission of a packet over one link. A packet that a router or balancer forwards
    /// gets a new id on its next link, linked to the one it came from.
    PacketId(u64),
    "p"
);
id!(
    /// One HTTP request issued by a client, from first byte to outcome.
    RequestId(u64),
    "r"
);
id!(
    /// One shopping session of a client (add to cart k times, then checkout).
    SessionId(u64),
    "s"
);

id!(
    /// One flow in a balancer's connection table.
    FlowId(u64),
    "f"
);

impl HostId {
    /// Index into the world's host table.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
