//! The proxy's connections of one side, in the order it serves them, found by id and by
//! socket, with the ones changed since they were last served.
//!
//! The proxy used to walk every connection after every poll of the balancer's stack, asking
//! each whether it had anything to do. A connection can only have something to do when the
//! last poll took its socket (data, room to send, a FIN, a close) or when the proxy changed
//! it from elsewhere (a timer, a response relayed from the other side), so a reaction serves
//! just those, in the same order a walk would: the same work, without the walk's cost over
//! thousands of idle connections.
//!
//! The positions due in a pass are a short sorted list kept from reaction to reaction ([`Due`]):
//! they were `BTreeSet`s, built and freed at every reaction and at every connection served
//! (with the reaction's other lists, about 6 % of an L7 packet's instructions).

use rustc_hash::FxHashMap;

use crate::stack::SocketHandle;

/// A connection the table holds.
pub(super) trait Conn {
    /// Its id, unique over the proxy's life.
    fn id(&self) -> u64;
    /// Its socket.
    fn handle(&self) -> SocketHandle;
}

/// Connections in serving order (a removed one's place goes to the last, as `swap_remove`
/// does), indexed by id and by socket.
pub(super) struct Conns<T> {
    items: Vec<T>,
    by_id: FxHashMap<u64, usize>,
    by_handle: FxHashMap<SocketHandle, usize>,
    /// Ids changed since they were last served (perhaps repeated, perhaps gone).
    dirty: Vec<u64>,
    /// The list of the last pass, kept for the next one's positions.
    spare: Vec<usize>,
    /// Ids served by the last pass that stayed ([`Conns::serve_each`]).
    pub(super) served: Vec<u64>,
}

/// Positions of connections due in a pass, each once: sorted from the highest, so that the
/// lowest is the last element (a pass takes them lowest first). A pass holds a handful.
pub(super) struct Due(Vec<usize>);

impl Due {
    /// Where `i` is or would go.
    fn find(&self, i: usize) -> Result<usize, usize> {
        self.0.binary_search_by(|p| i.cmp(p))
    }

    /// Adds `i` (once).
    fn insert(&mut self, i: usize) {
        if let Err(at) = self.find(i) {
            self.0.insert(at, i);
        }
    }

    /// Takes `i` out; whether it was there.
    fn remove(&mut self, i: usize) -> bool {
        self.find(i).map(|at| self.0.remove(at)).is_ok()
    }

    /// Takes the lowest out.
    fn pop_first(&mut self) -> Option<usize> {
        self.0.pop()
    }
}

impl<T> Default for Conns<T> {
    fn default() -> Self {
        Conns {
            items: Vec::new(),
            by_id: FxHashMap::default(),
            by_handle: FxHashMap::default(),
            dirty: Vec::new(),
            spare: Vec::new(),
            served: Vec::new(),
        }
    }
}

impl<T: Conn> Conns<T> {
    /// Adds a connection at the end; it is served at the next reaction.
    pub(super) fn push(&mut self, conn: T) {
        let i = self.items.len();
        self.by_id.insert(conn.id(), i);
        self.by_handle.insert(conn.handle(), i);
        self.dirty.push(conn.id());
        self.items.push(conn);
    }

    /// Removes the connection at `i`; the last one takes its place.
    pub(super) fn swap_remove(&mut self, i: usize) -> T {
        let gone = self.items.swap_remove(i);
        self.by_id.remove(&gone.id());
        self.by_handle.remove(&gone.handle());
        if let Some(moved) = self.items.get(i) {
            self.by_id.insert(moved.id(), i);
            self.by_handle.insert(moved.handle(), i);
        }
        gone
    }

    /// Where the connection `id` is.
    pub(super) fn index(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The connection `id`, to read.
    pub(super) fn get(&self, id: u64) -> Option<&T> {
        self.index(id).map(|i| &self.items[i])
    }

    /// The connection `id`, to change from outside its serving: it is served next.
    pub(super) fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        let i = self.index(id)?;
        self.dirty.push(id);
        Some(&mut self.items[i])
    }

    /// Marks the connection at `i` changed: it is served next.
    pub(super) fn mark(&mut self, i: usize) {
        self.dirty.push(self.items[i].id());
    }

    /// Puts in `at` where the connections changed since `from` (a [`Conns::marks`]) and
    /// those the last pass served are, ascending, each once.
    pub(super) fn marked_or_served(&self, from: usize, at: &mut Vec<usize>) {
        at.clear();
        at.extend(
            self.dirty[from..]
                .iter()
                .chain(&self.served)
                .filter_map(|id| self.index(*id)),
        );
        at.sort_unstable();
        at.dedup();
    }

    /// How many marks there are (a position for [`Conns::marked_or_served`]).
    pub(super) fn marks(&self) -> usize {
        self.dirty.len()
    }

    /// Where the connections to serve now are, ascending: those whose socket the last poll
    /// took, and those changed since they were last served (the marks are taken).
    pub(super) fn ready(&mut self, polled: &[SocketHandle]) -> Due {
        let mut ready = std::mem::take(&mut self.spare);
        ready.clear();
        ready.extend(polled.iter().filter_map(|h| self.by_handle.get(h).copied()));
        for id in self.dirty.drain(..) {
            if let Some(&i) = self.by_id.get(&id) {
                ready.push(i);
            }
        }
        ready.sort_unstable_by(|a, b| b.cmp(a));
        ready.dedup();
        Due(ready)
    }

    /// Serves the connections in `ready` in ascending order as a walk over all of them would
    /// (the others have nothing to do): `serve` says whether a connection stays; when one
    /// leaves, the last takes its place and is served there if it was due. Connections
    /// changed by a `serve` that a walk has yet to reach join the pass; those it has passed
    /// stay marked for the next one. Returns whether any `serve` acted; the ids served that
    /// stayed are left in [`Conns::served`].
    pub(super) fn serve_each<C>(
        ctx: &mut C,
        table: impl Fn(&mut C) -> &mut Self,
        mut ready: Due,
        mut serve: impl FnMut(&mut C, usize) -> (bool, bool),
    ) -> bool {
        let mut acted = false;
        let mut served = std::mem::take(&mut table(ctx).served);
        served.clear();
        while let Some(i) = ready.pop_first() {
            let before = table(ctx).marks();
            let (keep, wrote) = serve(ctx, i);
            acted |= wrote;
            let t = table(ctx);
            if keep {
                served.push(t.items[i].id());
            } else {
                let last = t.items.len() - 1;
                t.swap_remove(i);
                if i != last && ready.remove(last) {
                    ready.insert(i);
                }
            }
            // A mark on a connection the pass has yet to reach joins it (a walk would find
            // it busy there). A connection that was just removed has no index any more; the
            // last connection, moved to `i` and changed by this serve, is served there.
            let moved = !keep && i < t.items.len();
            for id in &t.dirty[before..] {
                if let Some(j) = t.index(*id) {
                    if j > i || (moved && j == i) {
                        ready.insert(j);
                    }
                }
            }
        }
        let t = table(ctx);
        t.spare = ready.0;
        t.served = served;
        acted
    }
}

impl<T> core::ops::Deref for Conns<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.items
    }
}

impl<T> core::ops::Index<usize> for Conns<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.items[i]
    }
}

impl<T> core::ops::IndexMut<usize> for Conns<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.items[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_positions_come_lowest_first_and_once() {
        let mut due = Due(vec![9, 4, 1]);
        due.insert(4);
        due.insert(6);
        due.insert(0);
        assert!(due.remove(9));
        assert!(!due.remove(8));
        due.insert(2);
        let mut order = Vec::new();
        while let Some(i) = due.pop_first() {
            order.push(i);
            if i == 2 {
                // A position the pass has yet to reach joins it; one it has passed does not
                // come back unless inserted again.
                due.insert(5);
            }
        }
        assert_eq!(order, [0, 1, 2, 4, 5, 6]);
    }
}
