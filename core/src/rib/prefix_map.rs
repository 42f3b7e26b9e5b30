//! A compact map from [`Prefix`] to a value, shared by the RIB tables.
//!
//! ```text
//! index: HashTable<u32>   4 bytes + 1 control byte per bucket
//! slots: Vec<(Prefix, V)> dense, iteration order = slot order
//! ```
//!
//! A plain `HashMap<Prefix, V>` pays `size_of::<(Prefix, V)>()` for every
//! bucket, and a hashbrown table sits between 44 % and 87 % full, so up to
//! half of that memory is empty buckets. Here an empty bucket costs 5 bytes.
//! Removal swaps the last slot into the hole and fixes its index entry, so
//! slots stay dense and iteration never visits holes. The price is one more
//! memory access per lookup (index, then slot).

use std::hash::BuildHasher;

use hashbrown::{HashTable, hash_table};

use super::RibError;
use crate::nlri::Prefix;

type Hasher = foldhash::fast::RandomState;

/// What [`PrefixMap::entry`] found.
pub(crate) enum Slot<'a, V, K> {
    /// The prefix's value.
    Occupied(&'a mut V),
    /// The prefix is absent; [`Vacant::insert`] adds it.
    Vacant(Vacant<'a, V, K>),
}

/// An absent prefix's place in a [`PrefixMap`].
pub(crate) struct Vacant<'a, V, K> {
    entry: hash_table::VacantEntry<'a, u32>,
    slots: &'a mut Vec<(K, V)>,
    prefix: K,
}

impl<'a, V, K> Vacant<'a, V, K> {
    /// Inserts `value` for the prefix.
    ///
    /// # Errors
    /// [`RibError::Full`] when the map holds `u32::MAX` entries already.
    pub(crate) fn insert(self, value: V) -> Result<&'a mut V, RibError> {
        let n = self.slots.len();
        let i = u32::try_from(n).map_err(|_| RibError::Full(n))?;
        self.entry.insert(i);
        self.slots.push((self.prefix, value));
        self.slots
            .last_mut()
            .map(|(_, v)| v)
            .ok_or(RibError::Full(n))
    }
}

/// Keyed by `K`: a [`Prefix`], or a prefix with a path id (ADD-PATH).
pub(crate) struct PrefixMap<V, K = Prefix> {
    index: HashTable<u32>,
    slots: Vec<(K, V)>,
    hasher: Hasher,
}

impl<V, K: Copy + Eq + std::hash::Hash> Default for PrefixMap<V, K> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<V: std::fmt::Debug, K: std::fmt::Debug> std::fmt::Debug for PrefixMap<V, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.slots.iter().map(|(p, v)| (p, v)))
            .finish()
    }
}

fn slot_is<V, K: Eq>(slots: &[(K, V)], i: u32, prefix: &K) -> bool {
    slots.get(i as usize).is_some_and(|(p, _)| p == prefix)
}

impl<V, K: Copy + Eq + std::hash::Hash> PrefixMap<V, K> {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            index: HashTable::with_capacity(n),
            slots: Vec::with_capacity(n),
            hasher: Hasher::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    fn hash(&self, prefix: &K) -> u64 {
        self.hasher.hash_one(prefix)
    }

    fn position(&self, prefix: &K) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(self.hash(prefix), |&i| slot_is(slots, i, prefix))
            .map(|&i| i as usize)
    }

    pub(crate) fn get(&self, prefix: &K) -> Option<&V> {
        let i = self.position(prefix)?;
        self.slots.get(i).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, prefix: &K) -> Option<&mut V> {
        let i = self.position(prefix)?;
        self.slots.get_mut(i).map(|(_, v)| v)
    }

    /// The value for `prefix`, inserting `make()` first when absent.
    pub(crate) fn get_or_insert_with(
        &mut self,
        prefix: K,
        make: impl FnOnce() -> V,
    ) -> Result<&mut V, RibError> {
        match self.entry(prefix)? {
            Slot::Occupied(v) => Ok(v),
            Slot::Vacant(e) => e.insert(make()),
        }
    }

    /// The slot of `prefix`, found or ready to fill: one hash and one probe
    /// for a lookup that may insert.
    ///
    /// # Errors
    /// Not in practice: [`RibError::Full`] if the index named a slot that
    /// does not exist.
    pub(crate) fn entry(&mut self, prefix: K) -> Result<Slot<'_, V, K>, RibError> {
        let hash = self.hash(&prefix);
        let Self {
            index,
            slots,
            hasher,
        } = self;
        let found = index.entry(
            hash,
            |&i| slot_is(slots, i, &prefix),
            |&j| slots.get(j as usize).map_or(0, |(p, _)| hasher.hash_one(p)),
        );
        match found {
            hash_table::Entry::Occupied(e) => {
                let n = slots.len();
                let slot = slots.get_mut(*e.get() as usize);
                slot.map(|(_, v)| Slot::Occupied(v))
                    .ok_or(RibError::Full(n))
            }
            hash_table::Entry::Vacant(entry) => Ok(Slot::Vacant(Vacant {
                entry,
                slots,
                prefix,
            })),
        }
    }

    /// Removes `prefix`; the last slot moves into its place.
    pub(crate) fn remove(&mut self, prefix: &K) -> Option<V> {
        let hash = self.hash(prefix);
        let Self {
            index,
            slots,
            hasher,
        } = self;
        let entry = index
            .find_entry(hash, |&i| slot_is(slots, i, prefix))
            .ok()?;
        let (i, _) = entry.remove();
        let i = i as usize;
        if i >= slots.len() {
            return None;
        }
        let (_, value) = slots.swap_remove(i);
        if let Some((moved, _)) = slots.get(i) {
            let old = slots.len() as u32;
            if let Some(slot) = index.find_mut(hasher.hash_one(moved), |&j| j == old) {
                *slot = i as u32;
            }
        }
        Some(value)
    }

    /// Keeps the entries for which `keep` returns true, visiting every entry
    /// once in slot order. A few removals fix the index per entry; many
    /// rebuild it in one pass.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut doomed: Vec<usize> = Vec::new();
        for (i, (p, v)) in self.slots.iter_mut().enumerate() {
            if !keep(p, v) {
                doomed.push(i);
            }
        }
        if doomed.len() <= self.slots.len() / 8 {
            // Back to front: the slot moved into a hole always comes from
            // past every hole still to fill, so it is one being kept.
            for &i in doomed.iter().rev() {
                if let Some(p) = self.slots.get(i).map(|(p, _)| *p) {
                    self.remove(&p);
                }
            }
            return;
        }
        let mut i = 0;
        let mut next = doomed.iter().peekable();
        self.slots.retain(|_| {
            let drop_it = next.next_if_eq(&&i).is_some();
            i += 1;
            !drop_it
        });
        let Self {
            index,
            slots,
            hasher,
        } = self;
        index.clear();
        for (i, (p, _)) in slots.iter().enumerate() {
            let h = hasher.hash_one(p);
            index.insert_unique(h, i as u32, |&j| {
                slots.get(j as usize).map_or(0, |(q, _)| hasher.hash_one(q))
            });
        }
    }

    /// The entry in slot `i` (slot order is iteration order).
    pub(crate) fn get_index(&self, i: usize) -> Option<(&K, &V)> {
        self.slots.get(i).map(|(p, v)| (p, v))
    }

    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = (&K, &V)> {
        self.slots.iter().map(|(p, v)| (p, v))
    }

    pub(crate) fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&K, &mut V)> {
        self.slots.iter_mut().map(|(p, v)| (&*p, v))
    }

    /// Bytes allocated by the index and the slot vector (not by the values'
    /// own heap allocations).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.index.allocation_size() + self.slots.capacity() * size_of::<(K, V)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(i: u32) -> Prefix {
        Prefix::V4(crate::nlri::Ipv4Prefix::new(std::net::Ipv4Addr::from_bits(i << 8), 24).unwrap())
    }

    #[test]
    fn insert_get_remove_keeps_index_consistent() {
        let mut m = PrefixMap::default();
        for i in 0..1000 {
            *m.get_or_insert_with(p(i), || 0).unwrap() = i;
        }
        for i in (0..1000).step_by(3) {
            assert_eq!(m.remove(&p(i)), Some(i));
        }
        assert_eq!(m.remove(&p(0)), None);
        for i in 0..1000 {
            let want = (i % 3 != 0).then_some(i);
            assert_eq!(m.get(&p(i)).copied(), want, "prefix {i}");
        }
        m.retain(|_, v| *v % 2 == 0);
        for i in 0..1000 {
            let want = (i % 3 != 0 && i % 2 == 0).then_some(i);
            assert_eq!(m.get(&p(i)).copied(), want, "prefix {i}");
        }
        // Few removals: the per-entry path.
        m.retain(|_, v| *v != 2 && *v != 998);
        for i in 0..1000 {
            let want = (i % 3 != 0 && i % 2 == 0 && i != 2 && i != 998).then_some(i);
            assert_eq!(m.get(&p(i)).copied(), want, "prefix {i}");
        }
        assert_eq!(m.len(), m.iter().count());
    }

    proptest::proptest! {
        /// Any mix of inserts, removals and retains matches a BTreeMap.
        #[test]
        fn matches_btreemap(ops in proptest::collection::vec((0u8..4, 0u32..64, 0u32..8), 0..300)) {
            let mut m = PrefixMap::default();
            let mut r = std::collections::BTreeMap::new();
            for (op, k, v) in ops {
                match op {
                    0 | 1 => {
                        *m.get_or_insert_with(p(k), || 0).unwrap() = v;
                        r.insert(p(k), v);
                    }
                    2 => proptest::prop_assert_eq!(m.remove(&p(k)), r.remove(&p(k))),
                    _ => {
                        m.retain(|_, x| *x != v);
                        r.retain(|_, x| *x != v);
                    }
                }
                proptest::prop_assert_eq!(m.len(), r.len());
            }
            for k in 0..64 {
                proptest::prop_assert_eq!(m.get(&p(k)), r.get(&p(k)));
            }
            let mut all: Vec<_> = m.iter().map(|(p, v)| (*p, *v)).collect();
            all.sort();
            proptest::prop_assert_eq!(all, r.into_iter().collect::<Vec<_>>());
        }
    }
}
