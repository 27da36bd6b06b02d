//! A map whose expired entries are let go in sweeps that cost O(1) amortized per insert.

use std::collections::HashMap;
use std::hash::Hash;
use std::ops::{Deref, DerefMut};

/// Entries a map holds before its first sweep.
const FIRST_SWEEP: usize = 1_024;

/// A `HashMap` swept only once it has doubled since its last sweep: sweeping on every insert
/// would make a long run (a benchmark's thousands of interactions) quadratic.
#[derive(Debug)]
pub(crate) struct Swept<K, V> {
    map: HashMap<K, V>,
    next_sweep: usize,
}

impl<K, V> Default for Swept<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            next_sweep: FIRST_SWEEP,
        }
    }
}

impl<K: Eq + Hash, V> Swept<K, V> {
    /// Keeps only the entries `keep` accepts, when the map has grown enough to be worth a
    /// sweep. Entries it would drop may stay a while longer: readers that care check
    /// expiry themselves.
    pub fn sweep(&mut self, keep: impl FnMut(&K, &mut V) -> bool) {
        if self.map.len() < self.next_sweep {
            return;
        }
        self.map.retain(keep);
        self.next_sweep = FIRST_SWEEP.max(self.map.len() * 2);
    }
}

impl<K, V> Deref for Swept<K, V> {
    type Target = HashMap<K, V>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<K, V> DerefMut for Swept<K, V> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.map
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_once_the_map_has_doubled() {
        let mut map: Swept<usize, bool> = Swept::default();
        for i in 0..FIRST_SWEEP - 1 {
            map.insert(i, i % 2 == 0);
        }
        map.sweep(|_, live| *live);
        assert_eq!(map.len(), FIRST_SWEEP - 1, "not yet worth a sweep");
        map.insert(FIRST_SWEEP, false);
        map.sweep(|_, live| *live);
        assert_eq!(map.len(), FIRST_SWEEP / 2, "the expired half is gone");
        // Kept half, 512: the next sweep waits for 1,024 again (the floor).
        map.insert(FIRST_SWEEP + 1, false);
        map.sweep(|_, live| *live);
        assert_eq!(map.len(), FIRST_SWEEP / 2 + 1);
    }
}
