//! A compact map from [`Prefix`] to a value, shared by the RIB tables.
//!
//! ```text
//! PrefixMap:  v4: Table<Ipv4Prefix key>   v6: Table<Ipv6Prefix key>
//! Table:      index: SlotIndex            64-byte lines of 12 tags and 12 u32
//!                                         slot numbers (5.3 bytes per entry room)
//!             slots: Slots<(key, V)>      dense, in chunks; iteration order =
//!                                         slot order
//! ```
//!
//! A plain `HashMap<Prefix, V>` pays `size_of::<(Prefix, V)>()` for every
//! bucket, and a hash table sits between 40 % and 85 % full, so up to
//! half of that memory is empty buckets. Here an empty bucket costs 5.3
//! bytes. Removal swaps the last slot into the hole and fixes its index
//! entry, so slots stay dense and iteration never visits holes. The price
//! is one more memory access per lookup (index line, then slot).
//!
//! Each address family has its own table, so an IPv4 slot holds an 8-byte
//! [`Ipv4Prefix`] rather than a 20-byte [`Prefix`] (which is sized for
//! IPv6): beside an 8-aligned value that is 16 bytes less per slot. Slot
//! positions ([`PrefixMap::entry_at`]) number the IPv4 slots from 0 and
//! the IPv6 slots from [`V6_BASE`], so growth of one family never moves
//! the positions of the other.

use std::hash::BuildHasher;

use super::RibError;
use super::slot_index::SlotIndex;
use super::slots::Slots;
use crate::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};

type Hasher = foldhash::fast::RandomState;

/// What [`Table::entry`] found.
enum TableSlot<'a, V, K> {
    /// The key's slot index and value.
    Occupied(u32, &'a mut V),
    /// The key is absent; [`TableVacant::insert`] adds it.
    Vacant(TableVacant<'a, V, K>),
}

/// An absent key's place in a [`Table`].
struct TableVacant<'a, V, K> {
    index: &'a mut SlotIndex,
    hash: u64,
    hasher: &'a Hasher,
    slots: &'a mut Slots<(K, V)>,
    prefix: K,
}

impl<'a, V, K: std::hash::Hash> TableVacant<'a, V, K> {
    /// Inserts `value` for the prefix.
    ///
    /// # Errors
    /// [`RibError::Full`] when the map holds `u32::MAX` entries already.
    fn insert(self, value: V) -> Result<&'a mut V, RibError> {
        let n = self.slots.len();
        let i = u32::try_from(n).map_err(|_| RibError::Full(n))?;
        if self.index.len() == self.index.capacity() {
            // A full index grows by a rebuild in slot order, which reads
            // the slots (for their keys) in sequence, not at random.
            let want = (self.index.capacity() * 2).max(4);
            *self.index = index_of(self.slots, self.hasher, want);
        }
        if !self.index.insert_unique(self.hash, i) {
            return Err(RibError::Full(n));
        }
        self.slots.push((self.prefix, value));
        self.slots
            .get_mut(n)
            .map(|(_, v)| v)
            .ok_or(RibError::Full(n))
    }
}

/// Index entries a table keeps room for however far it shrinks.
const SHRINK_MIN: usize = 64;

/// One family's map, keyed by `K`: an [`Ipv4Prefix`] or an
/// [`Ipv6Prefix`], alone or with a path id (ADD-PATH).
struct Table<V, K> {
    index: SlotIndex,
    slots: Slots<(K, V)>,
    hasher: Hasher,
}

impl<V, K: Copy + Eq + std::hash::Hash> Default for Table<V, K> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<V: std::fmt::Debug, K: std::fmt::Debug> std::fmt::Debug for Table<V, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.slots.iter().map(|(p, v)| (p, v)))
            .finish()
    }
}

/// An index of `slots` (entry `i` for slot `i`) with room for `capacity`
/// entries, built in slot order. The slots are read in sequence but their
/// keys go to lines at random: each key's line is prefetched
/// [`REBUILD_AHEAD`] keys before it is written, so the misses overlap.
fn index_of<V, K: std::hash::Hash>(
    slots: &Slots<(K, V)>,
    hasher: &Hasher,
    capacity: usize,
) -> SlotIndex {
    let mut index = SlotIndex::with_capacity(capacity.max(slots.len()));
    let mut hashes = slots.iter().map(|(p, _)| hasher.hash_one(p));
    // The hashes of the next keys, by slot number modulo the ring's size.
    let mut ring = [0u64; REBUILD_AHEAD];
    // The ring first: `zip` asks it first, so no hash is taken and lost.
    for (at, h) in ring.iter_mut().zip(hashes.by_ref()) {
        index.prefetch(h);
        *at = h;
    }
    for i in 0..slots.len() {
        let Some(at) = ring.get_mut(i % REBUILD_AHEAD) else {
            break;
        };
        let h = *at;
        if let Some(next) = hashes.next() {
            index.prefetch(next);
            *at = next;
        }
        index.insert_unique(h, u32::try_from(i).unwrap_or(u32::MAX));
    }
    index
}

/// How many keys ahead [`index_of`] prefetches the index lines.
const REBUILD_AHEAD: usize = 16;

fn slot_is<V, K: Eq>(slots: &Slots<(K, V)>, i: u32, prefix: &K) -> bool {
    slots.get(i as usize).is_some_and(|(p, _)| p == prefix)
}

impl<V, K: Copy + Eq + std::hash::Hash> Table<V, K> {
    fn with_capacity(n: usize) -> Self {
        Self {
            index: SlotIndex::with_capacity(n),
            slots: Slots::with_capacity(n),
            hasher: Hasher::default(),
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    fn hash(&self, prefix: &K) -> u64 {
        self.hasher.hash_one(prefix)
    }

    fn position(&self, prefix: &K) -> Option<usize> {
        let slots = &self.slots;
        self.index
            .find(self.hash(prefix), |i| slot_is(slots, i, prefix))
            .map(|i| i as usize)
    }

    fn prefetch(&self, prefix: &K) {
        self.index.prefetch(self.hash(prefix));
    }

    fn prefetch_slot(&self, prefix: &K) -> Option<u32> {
        let i = self.index.candidate(self.hash(prefix))?;
        if let Some(slot) = self.slots.get(i as usize) {
            super::prefetch::prefetch(slot);
        }
        Some(i)
    }

    fn get(&self, prefix: &K) -> Option<&V> {
        self.get_indexed(prefix).map(|(_, v)| v)
    }

    /// [`get`](Self::get) with the key's slot index.
    fn get_indexed(&self, prefix: &K) -> Option<(u32, &V)> {
        let i = self.position(prefix)?;
        let (_, v) = self.slots.get(i)?;
        Some((u32::try_from(i).ok()?, v))
    }

    fn get_mut(&mut self, prefix: &K) -> Option<&mut V> {
        self.get_mut_indexed(prefix).map(|(_, v)| v)
    }

    /// [`get_mut`](Self::get_mut) with the key's slot index.
    fn get_mut_indexed(&mut self, prefix: &K) -> Option<(u32, &mut V)> {
        let i = self.position(prefix)?;
        let (_, v) = self.slots.get_mut(i)?;
        Some((u32::try_from(i).ok()?, v))
    }

    /// The value for `prefix`, inserting `make()` first when absent.
    fn get_or_insert_with(
        &mut self,
        prefix: K,
        make: impl FnOnce() -> V,
    ) -> Result<&mut V, RibError> {
        match self.entry(prefix)? {
            TableSlot::Occupied(_, v) => Ok(v),
            TableSlot::Vacant(e) => e.insert(make()),
        }
    }

    /// The slot of `prefix`, found or ready to fill: one hash and one probe
    /// for a lookup that may insert.
    ///
    /// # Errors
    /// Not in practice: [`RibError::Full`] if the index named a slot that
    /// does not exist.
    fn entry(&mut self, prefix: K) -> Result<TableSlot<'_, V, K>, RibError> {
        let hash = self.hash(&prefix);
        let Self {
            index,
            slots,
            hasher,
        } = self;
        match index.find(hash, |i| slot_is(slots, i, &prefix)) {
            Some(i) => {
                let n = slots.len();
                let slot = slots.get_mut(i as usize);
                slot.map(|(_, v)| TableSlot::Occupied(i, v))
                    .ok_or(RibError::Full(n))
            }
            None => Ok(TableSlot::Vacant(TableVacant {
                index,
                hash,
                hasher,
                slots,
                prefix,
            })),
        }
    }

    /// [`remove_indexed`](Self::remove_indexed), saying which slot moved
    /// where.
    fn remove_reporting(&mut self, prefix: &K) -> Option<(Removed<K>, V)> {
        let (slot, value) = self.remove_indexed(prefix)?;
        let last = self.slots.len();
        let moved_from = ((slot as usize) < last)
            .then(|| u32::try_from(last).ok())
            .flatten();
        let r = Removed::Moved {
            key: *prefix,
            slot,
            moved_from,
        };
        Some((r, value))
    }

    /// Removes `prefix` and returns the slot index it had: the last slot
    /// moves into its place.
    fn remove_indexed(&mut self, prefix: &K) -> Option<(u32, V)> {
        let hash = self.hash(prefix);
        let Self {
            index,
            slots,
            hasher,
        } = self;
        let i = index.remove(hash, |i| slot_is(slots, i, prefix))? as usize;
        if i >= slots.len() {
            return None;
        }
        let (_, value) = slots.swap_remove(i)?;
        if let Some((moved, _)) = slots.get(i) {
            let old = slots.len() as u32;
            if let Some(slot) = index.find_mut(hasher.hash_one(moved), |j| j == old) {
                *slot = i as u32;
            }
        }
        self.shrink_if_sparse();
        Some((i as u32, value))
    }

    /// Gives room back once the table is down to a quarter of its index
    /// (a peer with a full table went away): the index, and the slots when
    /// they fit one chunk, are cut to twice the entries (emptied chunks
    /// are freed as they empty). Slot positions do not change. Shrinking
    /// at a quarter, to a half, keeps a table that shrinks and grows by
    /// turns from reallocating on every change.
    fn shrink_if_sparse(&mut self) {
        let (len, cap) = (self.slots.len(), self.index.capacity());
        if cap <= SHRINK_MIN || len > cap / 4 {
            return;
        }
        let Self {
            index,
            slots,
            hasher,
        } = self;
        slots.shrink_to(2 * len);
        *index = index_of(slots, hasher, 2 * len);
    }

    /// Keeps the entries for which `keep` returns true, visiting every entry
    /// once in slot order, and tells `report` how the others went. A few
    /// removals fix the index per entry (each moves the last slot into its
    /// hole); many compact the slots in order and rebuild the index in one
    /// pass.
    fn retain(
        &mut self,
        mut keep: impl FnMut(&K, &mut V) -> bool,
        mut report: impl FnMut(Removed<K>),
    ) {
        let mut doomed: Vec<(u32, K)> = Vec::new();
        for (i, (p, v)) in self.slots.iter_mut().enumerate() {
            if !keep(p, v) {
                doomed.push((u32::try_from(i).unwrap_or(u32::MAX), *p));
            }
        }
        if doomed.len() <= self.slots.len() / 8 {
            // Back to front: the slot moved into a hole always comes from
            // past every hole still to fill, so it is one being kept.
            for &(_, key) in doomed.iter().rev() {
                if let Some((r, _)) = self.remove_reporting(&key) {
                    report(r);
                }
            }
            return;
        }
        let mut i = 0;
        let mut next = doomed.iter().map(|(slot, _)| *slot).peekable();
        self.slots.retain(|_| {
            let drop_it = next.next_if_eq(&i).is_some();
            i += 1;
            !drop_it
        });
        self.index = index_of(&self.slots, &self.hasher, self.index.capacity());
        self.shrink_if_sparse();
        if !doomed.is_empty() {
            report(Removed::Compacted(doomed));
        }
    }

    /// Bytes allocated by the index and the slots (not by the values' own
    /// heap allocations).
    fn heap_bytes(&self) -> usize {
        self.index.allocation_size() + self.slots.heap_bytes()
    }
}

/// How entries left a family's table in a [`PrefixMap::retain_reporting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Removed<K> {
    /// `key` left `slot`; the family's last slot (`moved_from`) moved into
    /// it, unless `slot` was the last.
    Moved {
        key: K,
        slot: u32,
        moved_from: Option<u32>,
    },
    /// Many left at once, listed by ascending slot: the kept slots moved
    /// down in order over them.
    Compacted(Vec<(u32, K)>),
}

impl<K> Removed<K> {
    /// The same removal with its keys mapped by `f`.
    fn map<L>(self, f: impl Fn(K) -> L) -> Removed<L> {
        match self {
            Self::Moved {
                key,
                slot,
                moved_from,
            } => Removed::Moved {
                key: f(key),
                slot,
                moved_from,
            },
            Self::Compacted(list) => {
                Removed::Compacted(list.into_iter().map(|(s, k)| (s, f(k))).collect())
            }
        }
    }
}

/// Where the IPv6 slots start in the positions of [`PrefixMap::entry_at`]
/// (the IPv4 slots are numbered from 0; a table holds fewer than 2³²).
pub(crate) const V6_BASE: usize = 1 << (usize::BITS - 1);

/// A key of one address family, as [`MapKey::split`] gives it.
pub enum Split<A, B> {
    /// IPv4.
    V4(A),
    /// IPv6.
    V6(B),
}

/// A key a [`PrefixMap`] splits by address family: a [`Prefix`], or a
/// prefix with a path id (ADD-PATH). Sealed: this module is private.
pub trait MapKey: Copy + Eq + std::hash::Hash {
    /// The IPv4 form.
    type V4: Copy + Eq + std::hash::Hash;
    /// The IPv6 form.
    type V6: Copy + Eq + std::hash::Hash;
    /// The key in its family's form.
    fn split(self) -> Split<Self::V4, Self::V6>;
    /// The key from its IPv4 form.
    fn from_v4(k: Self::V4) -> Self;
    /// The key from its IPv6 form.
    fn from_v6(k: Self::V6) -> Self;
}

impl MapKey for Prefix {
    type V4 = Ipv4Prefix;
    type V6 = Ipv6Prefix;
    fn split(self) -> Split<Ipv4Prefix, Ipv6Prefix> {
        match self {
            Self::V4(p) => Split::V4(p),
            Self::V6(p) => Split::V6(p),
        }
    }
    fn from_v4(k: Ipv4Prefix) -> Self {
        Self::V4(k)
    }
    fn from_v6(k: Ipv6Prefix) -> Self {
        Self::V6(k)
    }
}

impl MapKey for (Prefix, u32) {
    type V4 = (Ipv4Prefix, u32);
    type V6 = (Ipv6Prefix, u32);
    fn split(self) -> Split<Self::V4, Self::V6> {
        match self.0 {
            Prefix::V4(p) => Split::V4((p, self.1)),
            Prefix::V6(p) => Split::V6((p, self.1)),
        }
    }
    fn from_v4(k: (Ipv4Prefix, u32)) -> Self {
        (Prefix::V4(k.0), k.1)
    }
    fn from_v6(k: (Ipv6Prefix, u32)) -> Self {
        (Prefix::V6(k.0), k.1)
    }
}

/// What [`PrefixMap::entry`] found.
pub(crate) enum Slot<'a, V, K: MapKey> {
    /// The prefix's slot index in its family's table, and its value.
    Occupied(u32, &'a mut V),
    /// The prefix is absent; [`Vacant::insert`] adds it.
    Vacant(Vacant<'a, V, K>),
}

/// An absent prefix's place in a [`PrefixMap`].
pub(crate) struct Vacant<'a, V, K: MapKey>(
    Split<TableVacant<'a, V, K::V4>, TableVacant<'a, V, K::V6>>,
);

impl<'a, V, K: MapKey> Vacant<'a, V, K> {
    /// The slot index the prefix takes in its family's table.
    pub(crate) fn index(&self) -> usize {
        match &self.0 {
            Split::V4(v) => v.slots.len(),
            Split::V6(v) => v.slots.len(),
        }
    }

    /// Inserts `value` for the prefix.
    ///
    /// # Errors
    /// [`RibError::Full`] when the family's table holds `u32::MAX`
    /// entries already.
    pub(crate) fn insert(self, value: V) -> Result<&'a mut V, RibError> {
        match self.0 {
            Split::V4(v) => v.insert(value),
            Split::V6(v) => v.insert(value),
        }
    }
}

/// Keyed by `K`: a [`Prefix`], or a prefix with a path id (ADD-PATH); one
/// [`Table`] per address family.
pub(crate) struct PrefixMap<V, K: MapKey = Prefix> {
    v4: Table<V, K::V4>,
    v6: Table<V, K::V6>,
}

impl<V, K: MapKey> Default for PrefixMap<V, K> {
    fn default() -> Self {
        Self {
            v4: Table::default(),
            v6: Table::default(),
        }
    }
}

impl<V: std::fmt::Debug, K: MapKey + std::fmt::Debug> std::fmt::Debug for PrefixMap<V, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V, K: MapKey> PrefixMap<V, K> {
    /// Room for `n` IPv4 prefixes (the common family) before growing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            v4: Table::with_capacity(n),
            v6: Table::default(),
        }
    }

    /// Number of entries, both families.
    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Starts loading the index line where `prefix` would be found into
    /// the cache, without waiting for it: a batch of keys prefetched some
    /// way ahead of their lookups has its cache misses overlap.
    pub(crate) fn prefetch(&self, prefix: &K) {
        match prefix.split() {
            Split::V4(k) => self.v4.prefetch(&k),
            Split::V6(k) => self.v6.prefetch(&k),
        }
    }

    /// Starts loading the slot where `prefix` most likely is into the
    /// cache, reading its index line (best [`prefetch`](Self::prefetch)ed
    /// some time before) but comparing no key. Returns that slot's index
    /// (the prefix's own when it is there: tables kept by slot alongside
    /// can prefetch theirs).
    pub(crate) fn prefetch_slot(&self, prefix: &K) -> Option<u32> {
        match prefix.split() {
            Split::V4(k) => self.v4.prefetch_slot(&k),
            Split::V6(k) => self.v6.prefetch_slot(&k),
        }
    }

    pub(crate) fn get(&self, prefix: &K) -> Option<&V> {
        match prefix.split() {
            Split::V4(k) => self.v4.get(&k),
            Split::V6(k) => self.v6.get(&k),
        }
    }

    /// [`get`](Self::get) with the slot index in its family's table.
    pub(crate) fn get_indexed(&self, prefix: &K) -> Option<(u32, &V)> {
        match prefix.split() {
            Split::V4(k) => self.v4.get_indexed(&k),
            Split::V6(k) => self.v6.get_indexed(&k),
        }
    }

    pub(crate) fn get_mut(&mut self, prefix: &K) -> Option<&mut V> {
        match prefix.split() {
            Split::V4(k) => self.v4.get_mut(&k),
            Split::V6(k) => self.v6.get_mut(&k),
        }
    }

    /// The entry at slot `index` of the IPv6 table (`v6`) or the IPv4
    /// one, with its key; `None` past the last.
    pub(crate) fn at_slot(&self, v6: bool, index: u32) -> Option<(K, &V)> {
        let i = index as usize;
        if v6 {
            self.v6.slots.get(i).map(|(k, v)| (K::from_v6(*k), v))
        } else {
            self.v4.slots.get(i).map(|(k, v)| (K::from_v4(*k), v))
        }
    }

    /// [`get_mut`](Self::get_mut) with the slot index in its family's
    /// table.
    pub(crate) fn get_mut_indexed(&mut self, prefix: &K) -> Option<(u32, &mut V)> {
        match prefix.split() {
            Split::V4(k) => self.v4.get_mut_indexed(&k),
            Split::V6(k) => self.v6.get_mut_indexed(&k),
        }
    }

    /// The value for `prefix`, inserting `make()` first when absent.
    pub(crate) fn get_or_insert_with(
        &mut self,
        prefix: K,
        make: impl FnOnce() -> V,
    ) -> Result<&mut V, RibError> {
        match prefix.split() {
            Split::V4(k) => self.v4.get_or_insert_with(k, make),
            Split::V6(k) => self.v6.get_or_insert_with(k, make),
        }
    }

    /// The slot of `prefix`, found or ready to fill: one hash and one probe
    /// for a lookup that may insert.
    ///
    /// # Errors
    /// Not in practice: [`RibError::Full`] if the index named a slot that
    /// does not exist.
    pub(crate) fn entry(&mut self, prefix: K) -> Result<Slot<'_, V, K>, RibError> {
        Ok(match prefix.split() {
            Split::V4(k) => match self.v4.entry(k)? {
                TableSlot::Occupied(i, v) => Slot::Occupied(i, v),
                TableSlot::Vacant(v) => Slot::Vacant(Vacant(Split::V4(v))),
            },
            Split::V6(k) => match self.v6.entry(k)? {
                TableSlot::Occupied(i, v) => Slot::Occupied(i, v),
                TableSlot::Vacant(v) => Slot::Vacant(Vacant(Split::V6(v))),
            },
        })
    }

    /// Removes `prefix`; the last slot of its family moves into its place.
    #[cfg(test)]
    pub(crate) fn remove(&mut self, prefix: &K) -> Option<V> {
        self.remove_indexed(prefix).map(|(_, v)| v)
    }

    /// [`remove_indexed`](Self::remove_indexed), saying which slot moved
    /// where ([`Removed::Moved`]).
    pub(crate) fn remove_reporting(&mut self, prefix: &K) -> Option<(Removed<K>, V)> {
        match prefix.split() {
            Split::V4(k) => self
                .v4
                .remove_reporting(&k)
                .map(|(r, v)| (r.map(K::from_v4), v)),
            Split::V6(k) => self
                .v6
                .remove_reporting(&k)
                .map(|(r, v)| (r.map(K::from_v6), v)),
        }
    }

    /// [`remove`](Self::remove), with the slot index the prefix had in its
    /// family's table: the last slot of the family is there now.
    pub(crate) fn remove_indexed(&mut self, prefix: &K) -> Option<(u32, V)> {
        match prefix.split() {
            Split::V4(k) => self.v4.remove_indexed(&k),
            Split::V6(k) => self.v6.remove_indexed(&k),
        }
    }

    /// Keeps the entries for which `keep` returns true, visiting every entry
    /// once in slot order (IPv4, then IPv6).
    pub(crate) fn retain(&mut self, keep: impl FnMut(&K, &mut V) -> bool) {
        self.retain_reporting(keep, |_| {});
    }

    /// [`retain`](Self::retain), telling `report` how the entries left
    /// each family's table, in order (for tables kept by slot alongside).
    pub(crate) fn retain_reporting(
        &mut self,
        mut keep: impl FnMut(&K, &mut V) -> bool,
        mut report: impl FnMut(Removed<K>),
    ) {
        self.v4.retain(
            |k, v| keep(&K::from_v4(*k), v),
            |r| report(r.map(K::from_v4)),
        );
        self.v6.retain(
            |k, v| keep(&K::from_v6(*k), v),
            |r| report(r.map(K::from_v6)),
        );
    }

    /// The first entry at position `pos` or after it, with its position;
    /// `None` past the last. Positions: IPv4 slots from 0, IPv6 slots from
    /// [`V6_BASE`]. A walk asks for `pos + 1` next: entries appended
    /// meanwhile are still reached, and no position moves unless an entry
    /// is removed.
    pub(crate) fn entry_at(&self, pos: usize) -> Option<(usize, K, &V)> {
        if pos < V6_BASE
            && let Some((k, v)) = self.v4.slots.get(pos)
        {
            return Some((pos, K::from_v4(*k), v));
        }
        let i = pos.saturating_sub(V6_BASE);
        let (k, v) = self.v6.slots.get(i)?;
        Some((V6_BASE + i, K::from_v6(*k), v))
    }

    /// The entries from position `pos` on (see [`entry_at`](Self::entry_at)).
    pub(crate) fn iter_from(&self, pos: usize) -> impl Iterator<Item = (K, &V)> {
        let v4 = self.v4.slots.iter_from(pos.min(V6_BASE));
        let v6 = self.v6.slots.iter_from(pos.saturating_sub(V6_BASE));
        let v4 = v4.map(|(k, v)| (K::from_v4(*k), v));
        v4.chain(v6.map(|(k, v)| (K::from_v6(*k), v)))
    }

    /// Every entry: IPv4 in slot order, then IPv6.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (K, &V)> {
        self.iter_from(0)
    }

    /// [`iter`](Self::iter) with the values mutable.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (K, &mut V)> {
        let v4 = self.v4.slots.iter_mut().map(|(k, v)| (K::from_v4(*k), v));
        v4.chain(self.v6.slots.iter_mut().map(|(k, v)| (K::from_v6(*k), v)))
    }

    /// Bytes allocated by both families' indexes and slots (not by
    /// the values' own heap allocations).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes() + self.v6.heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNK: usize = Slots::<()>::CHUNK;

    fn p(i: u32) -> Prefix {
        Prefix::V4(crate::nlri::Ipv4Prefix::new(std::net::Ipv4Addr::from_bits(i << 8), 24).unwrap())
    }

    fn p6(i: u32) -> Prefix {
        let a = std::net::Ipv6Addr::from_bits(0x2001_0db8 << 96 | u128::from(i) << 80);
        Prefix::V6(crate::nlri::Ipv6Prefix::new(a, 48).unwrap())
    }

    /// Even keys IPv4, odd keys IPv6.
    fn mixed(k: u32) -> Prefix {
        if k.is_multiple_of(2) { p(k) } else { p6(k) }
    }

    /// Every entry from `pos` on, walked as the Adj-RIB-Out walks.
    fn walk(m: &PrefixMap<u32>, mut pos: usize, steps: usize) -> (Vec<Prefix>, Option<usize>) {
        let mut seen = Vec::new();
        for _ in 0..steps {
            let Some((at, k, _)) = m.entry_at(pos) else {
                return (seen, None);
            };
            seen.push(k);
            pos = at + 1;
        }
        (seen, Some(pos))
    }

    #[test]
    fn families_have_their_own_slots_and_positions() {
        let mut m = PrefixMap::default();
        for i in 0..10 {
            *m.get_or_insert_with(p(i), || 0).unwrap() = i;
            *m.get_or_insert_with(p6(i), || 0).unwrap() = 100 + i;
        }
        assert_eq!(m.len(), 20);
        assert_eq!(m.get(&p6(3)), Some(&103));
        assert_eq!(m.get(&p(3)), Some(&3));
        // IPv4 first, then IPv6; `iter_from` agrees with the walk.
        let (all, end) = walk(&m, 0, 100);
        assert_eq!(end, None);
        assert_eq!(all, m.iter().map(|(k, _)| k).collect::<Vec<_>>());
        assert_eq!(all[..10], (0..10).map(p).collect::<Vec<_>>()[..]);
        // Half way into the IPv6 slots, IPv4 grows: the walk goes on
        // where it was, neither repeating nor skipping an IPv6 entry.
        let (first, pos) = walk(&m, 0, 15);
        let pos = pos.unwrap();
        assert!(pos > V6_BASE);
        for i in 10..1000 {
            m.get_or_insert_with(p(i), || 0).unwrap();
        }
        let (rest, _) = walk(&m, pos, 100);
        assert_eq!(rest, (5..10).map(p6).collect::<Vec<_>>());
        assert_eq!(m.iter_from(pos).count(), 5);
        assert_eq!(first.len() + rest.len(), 20);
        // Removal of an IPv6 prefix moves only IPv6 slots.
        assert_eq!(m.remove(&p6(0)), Some(100));
        assert_eq!(m.get(&p(999)), Some(&0));
        assert_eq!(m.entry_at(0).map(|(at, k, _)| (at, k)), Some((0, p(0))));
    }

    #[test]
    fn an_ipv4_slot_is_smaller_than_a_prefix_slot() {
        // The reason for one table per family: beside an 8-aligned value an
        // IPv4 key takes 8 bytes where a `Prefix` takes 24.
        type V = (u64, u64);
        assert_eq!(size_of::<(crate::nlri::Ipv4Prefix, V)>(), 24);
        assert_eq!(size_of::<(Prefix, V)>(), 40);
        let mut m: PrefixMap<V> = PrefixMap::with_capacity(0);
        for i in 0..1024 {
            m.get_or_insert_with(p(i), V::default).unwrap();
        }
        assert!(
            m.heap_bytes() <= 1024 * 24 * 3 / 2 + 2048 * 5 + 64,
            "{}",
            m.heap_bytes()
        );
    }

    #[test]
    fn an_emptied_table_gives_its_room_back() {
        let mut m: PrefixMap<u64> = PrefixMap::with_capacity(0);
        for i in 0..10_000 {
            m.get_or_insert_with(p(i), || u64::from(i)).unwrap();
        }
        let full = m.heap_bytes();
        // One by one (a withdrawal stream), then in bulk (a peer's paths).
        for i in 0..8_000 {
            assert_eq!(m.remove(&p(i)), Some(u64::from(i)));
        }
        assert!(
            m.heap_bytes() * 2 < full,
            "{} of {full} bytes",
            m.heap_bytes()
        );
        m.retain(|_, v| *v % 100 == 0);
        assert!(
            m.heap_bytes() <= 3000,
            "{} bytes for {} entries",
            m.heap_bytes(),
            m.len()
        );
        // What is left is still found where it was.
        assert_eq!(m.len(), 20);
        for i in (8_000..10_000).step_by(100) {
            assert_eq!(m.get(&p(i)), Some(&u64::from(i)));
        }
    }

    #[test]
    fn slots_spare_at_most_a_chunk() {
        // A vector grown by doubling would leave up to half its room empty
        // (a table of 1025 slots in room for 2048).
        let mut m: PrefixMap<u64> = PrefixMap::with_capacity(0);
        let slot = size_of::<(crate::nlri::Ipv4Prefix, u64)>();
        for i in 0..5000 {
            m.get_or_insert_with(p(i), || 0).unwrap();
            let len = m.v4.slots.len();
            let spare = m.v4.slots.heap_bytes() - len * slot;
            assert!(
                spare <= CHUNK * slot + len / CHUNK * 48 + 96,
                "{len} slots, {spare} bytes spare"
            );
        }
    }

    #[test]
    fn insert_get_remove_keeps_index_consistent() {
        // Past two chunks of slots.
        let n = 2 * CHUNK as u32 + 100;
        let mut m = PrefixMap::default();
        for i in 0..n {
            *m.get_or_insert_with(p(i), || 0).unwrap() = i;
        }
        for i in (0..n).step_by(3) {
            assert_eq!(m.remove(&p(i)), Some(i));
        }
        assert_eq!(m.remove(&p(0)), None);
        for i in 0..n {
            let want = (i % 3 != 0).then_some(i);
            assert_eq!(m.get(&p(i)).copied(), want, "prefix {i}");
        }
        m.retain(|_, v| *v % 2 == 0);
        for i in 0..n {
            let want = (i % 3 != 0 && i % 2 == 0).then_some(i);
            assert_eq!(m.get(&p(i)).copied(), want, "prefix {i}");
        }
        // Few removals: the per-entry path.
        m.retain(|_, v| *v != 2 && *v != n - 2);
        for i in 0..n {
            let want = (i % 3 != 0 && i % 2 == 0 && i != 2 && i != n - 2).then_some(i);
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
                        *m.get_or_insert_with(mixed(k), || 0).unwrap() = v;
                        r.insert(mixed(k), v);
                    }
                    2 => proptest::prop_assert_eq!(m.remove(&mixed(k)), r.remove(&mixed(k))),
                    _ => {
                        m.retain(|_, x| *x != v);
                        r.retain(|_, x| *x != v);
                    }
                }
                proptest::prop_assert_eq!(m.len(), r.len());
            }
            for k in 0..64 {
                proptest::prop_assert_eq!(m.get(&mixed(k)), r.get(&mixed(k)));
            }
            let (walked, end) = walk(&m, 0, 100);
            proptest::prop_assert_eq!(end, None);
            proptest::prop_assert_eq!(walked.len(), r.len());
            let mut all: Vec<_> = m.iter().map(|(p, v)| (p, *v)).collect();
            all.sort();
            proptest::prop_assert_eq!(all, r.into_iter().collect::<Vec<_>>());
        }
    }
}
