//! The hash index of a [`PrefixMap`](super::prefix_map) table: from a
//! key's hash to its slot number, one cache line per probe.
//!
//! ```text
//! SlotIndex: lines: [Line; 2^k]     a key's home line = hash mod 2^k
//! Line (64 bytes, one cache line):
//!   tags:     [u8; 12]   0 = empty, else 0x80 | the hash's top 7 bits
//!   overflow: u8         keys that went past this line to a later one
//!   slots:    [u32; 12]  slot numbers, beside their tags
//! ```
//!
//! A swiss table (hashbrown) keeps its control bytes and its entries in two
//! arrays, so a lookup in a large table misses the cache twice before it
//! reaches the slot: once for the control bytes, once for the entry. Here
//! the tags and the slot numbers of a line share one cache line, so a
//! lookup misses once, and a caller can read a line ahead of time
//! ([`SlotIndex::find`] on a batch of keys) and then insert into it
//! without another miss. At 5.3 bytes per entry room, this costs about
//! what hashbrown's 5 (4-byte entry and a control byte) costs.
//!
//! A key that finds its home line full goes to the next line (and the next,
//! wrapping), and every line it passes counts it in `overflow`: a lookup
//! stops at the first line that holds the key or counts no overflow, so a
//! missing key costs one line unless its home line overflowed. Removal
//! clears the tag and takes the key off the counts of the lines it passed,
//! so no tombstones build up. A count that reaches 255 stays there (lookups
//! past that line then always go on to the next): correct, a little slower.
//!
//! A line's tags are read as one word and compared all at once
//! ([`Line::matching`], [`Line::empty`]): where the free or matching tag
//! sits is random, so a branch per tag mispredicts on most probes.

/// Entries per line.
const WIDTH: usize = 12;

/// Entries a table of `lines` lines takes before it must grow: 10 of 12
/// per line (83 %). Fuller lines overflow more often, and every overflow
/// makes a lookup of a missing key read one more line.
const fn room(lines: usize) -> usize {
    lines * 10
}

/// One cache line of the index.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line {
    tags: [u8; WIDTH],
    overflow: u8,
    slots: [u32; WIDTH],
}

impl Line {
    const EMPTY: Self = Self {
        tags: [0; WIDTH],
        overflow: 0,
        slots: [0; WIDTH],
    };

    /// The tags as one word, tag `k` in byte `k` (the top 4 bytes 0).
    fn tag_word(&self) -> u128 {
        let mut bytes = [0u8; 16];
        for (b, t) in bytes.iter_mut().zip(&self.tags) {
            *b = *t;
        }
        u128::from_le_bytes(bytes)
    }

    /// The empty positions, as the top bit of each empty tag's byte: a
    /// tag is 0 or has its top bit set.
    fn empty(&self) -> u128 {
        !self.tag_word() & TOP_BITS
    }

    /// The positions whose tag is `tag`, as the top bit of their bytes.
    /// The tags are compared all at once, without a branch per tag: the
    /// bytes of `x` that are 0 are the matches, and a byte is 0 exactly
    /// when neither adding 0x7f to its low 7 bits nor its own top bit
    /// sets its top bit (no carry crosses bytes).
    fn matching(&self, tag: u8) -> u128 {
        let x = self.tag_word() ^ (LOW_BITS * u128::from(tag));
        !(((x & !TOP_BITS) + (TOP_BITS - LOW_BITS)) | x) & TOP_BITS
    }
}

/// The low bit of each of a line's [`WIDTH`] tag bytes, in a
/// [`Line::tag_word`].
const LOW_BITS: u128 = 0x0101_0101_0101_0101_0101_0101;
/// The top bit of each tag byte.
const TOP_BITS: u128 = LOW_BITS << 7;

/// The first position of a [`Line::empty`] or [`Line::matching`] mask
/// (`None` when it is 0), and the mask without it.
const fn first(mask: u128) -> Option<(usize, u128)> {
    if mask == 0 {
        None
    } else {
        Some((mask.trailing_zeros() as usize / 8, mask & (mask - 1)))
    }
}

/// The tag stored for `hash`: its top 7 bits, with the high bit set so
/// that no tag is 0 (empty).
#[allow(clippy::cast_possible_truncation)] // the shift leaves 7 bits
const fn tag_of(hash: u64) -> u8 {
    0x80 | (hash >> 57) as u8
}

/// Maps a 64-bit hash to a `u32` slot number; several slots may share a
/// hash, and the caller's `eq` tells them apart (by the key in the slot).
/// The caller keeps `len() < capacity()` before each insert (it rebuilds a
/// full index at twice the room, reading its slots in order).
pub(crate) struct SlotIndex {
    /// A power of 2 lines, or none.
    lines: Box<[Line]>,
    len: usize,
}

impl SlotIndex {
    /// An index with room for at least `n` entries (none allocated for 0).
    pub(crate) fn with_capacity(n: usize) -> Self {
        let lines = if n == 0 {
            0
        } else {
            n.div_ceil(room(1)).next_power_of_two()
        };
        Self {
            lines: vec![Line::EMPTY; lines].into_boxed_slice(),
            len: 0,
        }
    }

    /// Number of entries.
    pub(crate) const fn len(&self) -> usize {
        self.len
    }

    /// Entries the index takes before [`insert_unique`](Self::insert_unique)
    /// would find it full.
    pub(crate) const fn capacity(&self) -> usize {
        room(self.lines.len())
    }

    /// Bytes allocated.
    pub(crate) const fn allocation_size(&self) -> usize {
        self.lines.len() * size_of::<Line>()
    }

    /// The home line of `hash` and the index mask.
    #[allow(clippy::cast_possible_truncation)] // the mask keeps the low bits
    fn home(&self, hash: u64) -> (usize, usize) {
        let mask = self.lines.len().wrapping_sub(1);
        (hash as usize & mask, mask)
    }

    /// Where the entry for `hash` that `eq` accepts is: (line, position).
    /// Reads the home line and, while lines overflowed, the next ones.
    fn locate(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<(usize, usize)> {
        let (mut i, mask) = self.home(hash);
        let tag = tag_of(hash);
        for _ in 0..self.lines.len() {
            let line = self.lines.get(i)?;
            let mut matches = line.matching(tag);
            while let Some((k, rest)) = first(matches) {
                if line.slots.get(k).is_some_and(|&slot| eq(slot)) {
                    return Some((i, k));
                }
                matches = rest;
            }
            if line.overflow == 0 {
                return None;
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Starts loading the home line of `hash` into the cache (see
    /// [`prefetch`](super::prefetch::prefetch)); a later lookup or insert
    /// of `hash` then finds it there.
    pub(crate) fn prefetch(&self, hash: u64) {
        if let Some(line) = self.lines.get(self.home(hash).0) {
            super::prefetch::prefetch(line);
        }
    }

    /// The first slot number in the home line of `hash` whose tag matches:
    /// where the key most likely is, before any key is compared (`None`
    /// when no tag in the home line matches).
    pub(crate) fn candidate(&self, hash: u64) -> Option<u32> {
        let line = self.lines.get(self.home(hash).0)?;
        let (k, _) = first(line.matching(tag_of(hash)))?;
        line.slots.get(k).copied()
    }

    /// The slot number for `hash` that `eq` accepts.
    pub(crate) fn find(&self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let (i, k) = self.locate(hash, eq)?;
        self.lines.get(i)?.slots.get(k).copied()
    }

    /// [`find`](Self::find), to change the slot number.
    pub(crate) fn find_mut(&mut self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<&mut u32> {
        let (i, k) = self.locate(hash, eq)?;
        self.lines.get_mut(i)?.slots.get_mut(k)
    }

    /// Adds `slot` under `hash`, which `eq` of no entry must accept (the
    /// caller looked first). Returns false, adding nothing, when the index
    /// is full (`len() == capacity()`).
    pub(crate) fn insert_unique(&mut self, hash: u64, slot: u32) -> bool {
        if self.len >= self.capacity() {
            return false;
        }
        let (mut i, mask) = self.home(hash);
        for _ in 0..self.lines.len() {
            let Some(line) = self.lines.get_mut(i) else {
                return false;
            };
            if let Some((k, _)) = first(line.empty()) {
                if let (Some(t), Some(s)) = (line.tags.get_mut(k), line.slots.get_mut(k)) {
                    *t = tag_of(hash);
                    *s = slot;
                }
                self.len += 1;
                return true;
            }
            line.overflow = line.overflow.saturating_add(1);
            i = (i + 1) & mask;
        }
        false
    }

    /// Removes the entry for `hash` that `eq` accepts; returns its slot
    /// number.
    pub(crate) fn remove(&mut self, hash: u64, eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let (at, k) = self.locate(hash, eq)?;
        let line = self.lines.get_mut(at)?;
        let slot = *line.slots.get(k)?;
        *line.tags.get_mut(k)? = 0;
        self.len -= 1;
        // Take the key off the counts of the lines it went past.
        let (mut i, mask) = self.home(hash);
        while i != at {
            if let Some(l) = self.lines.get_mut(i)
                && l.overflow != u8::MAX
            {
                l.overflow -= 1;
            }
            i = (i + 1) & mask;
        }
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// A hash with few home lines and few tags, so that keys share lines,
    /// overflow and share tags: `eq` has to tell them apart.
    fn crowded(key: u32) -> u64 {
        u64::from(key % 5) | (u64::from(key % 3) << 57)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32),
        Remove(u32),
        Renumber(u32, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u32..200).prop_map(Op::Insert),
            2 => (0u32..200).prop_map(Op::Remove),
            1 => (0u32..200, any::<u32>()).prop_map(|(k, v)| Op::Renumber(k, v)),
        ]
    }

    proptest! {
        /// The word-wide tag scans find what a scan tag by tag finds.
        #[test]
        fn tag_masks_agree_with_a_scan(
            tags in prop::array::uniform12(prop_oneof![Just(0u8), 0x80u8..=0xff]),
            pick in 0usize..12,
            other in 0x80u8..=0xff,
        ) {
            let line = Line { tags, ..Line::EMPTY };
            let positions = |mut m: u128| {
                let mut at = Vec::new();
                while let Some((k, rest)) = first(m) {
                    at.push(k);
                    m = rest;
                }
                at
            };
            let scan = |want: u8| {
                let at = tags.iter().enumerate().filter(|(_, t)| **t == want);
                at.map(|(k, _)| k).collect::<Vec<_>>()
            };
            prop_assert_eq!(positions(line.empty()), scan(0));
            for tag in [tags[pick], other, 0x80, 0xff] {
                if tag != 0 {
                    prop_assert_eq!(positions(line.matching(tag)), scan(tag));
                }
            }
        }

        /// The index agrees with a `HashMap` through inserts, removals and
        /// renumbering, with crowded hashes and with real ones. Entries
        /// stand for slots holding key `k` (slot number `v`): `eq` reads
        /// the key of a slot number from the model.
        #[test]
        fn agrees_with_a_hash_map(ops in prop::collection::vec(op(), 0..400), spread in any::<bool>()) {
            let hash = |k: u32| if spread { u64::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15) } else { crowded(k) };
            let mut index = SlotIndex::with_capacity(0);
            // slot number -> key, and key -> slot number
            let mut key_of: HashMap<u32, u32> = HashMap::new();
            let mut model: HashMap<u32, u32> = HashMap::new();
            let mut next = 0u32;
            for op in ops {
                match op {
                    Op::Insert(k) => {
                        if model.contains_key(&k) {
                            continue;
                        }
                        if index.len() == index.capacity() {
                            let mut grown = SlotIndex::with_capacity(2 * index.capacity().max(4));
                            for (&kk, &v) in &model {
                                prop_assert!(grown.insert_unique(hash(kk), v));
                            }
                            index = grown;
                        }
                        next += 1;
                        prop_assert!(index.insert_unique(hash(k), next));
                        model.insert(k, next);
                        key_of.insert(next, k);
                    }
                    Op::Remove(k) => {
                        let got = index.remove(hash(k), |v| key_of.get(&v) == Some(&k));
                        prop_assert_eq!(got, model.remove(&k));
                        if let Some(v) = got {
                            key_of.remove(&v);
                        }
                    }
                    Op::Renumber(k, v) => {
                        if key_of.contains_key(&v) {
                            continue;
                        }
                        let Some(old) = model.get(&k).copied() else {
                            continue;
                        };
                        let slot = index.find_mut(hash(k), |s| s == old);
                        prop_assert!(slot.is_some());
                        if let Some(s) = slot {
                            *s = v;
                        }
                        model.insert(k, v);
                        key_of.remove(&old);
                        key_of.insert(v, k);
                    }
                }
                prop_assert_eq!(index.len(), model.len());
                for k in 0u32..200 {
                    let got = index.find(hash(k), |v| key_of.get(&v) == Some(&k));
                    prop_assert_eq!(got, model.get(&k).copied(), "key {}", k);
                }
            }
        }
    }

    #[test]
    fn a_line_is_one_cache_line() {
        assert_eq!(size_of::<Line>(), 64);
        assert_eq!(align_of::<Line>(), 64);
    }

    #[test]
    fn a_full_index_refuses_and_overflow_wraps_around() {
        // One line: the home of every key, full at 10.
        let mut index = SlotIndex::with_capacity(10);
        assert_eq!(index.capacity(), 10);
        for v in 0..10 {
            assert!(index.insert_unique(u64::from(v), v));
        }
        assert!(!index.insert_unique(99, 99));
        // Two lines: keys homed on the last line overflow into the first.
        let mut index = SlotIndex::with_capacity(20);
        for v in 0..14 {
            assert!(index.insert_unique(1, v));
        }
        assert_eq!(index.find(1, |s| s == 13), Some(13));
        assert_eq!(index.remove(1, |s| s == 13), Some(13));
        assert_eq!(index.find(1, |s| s == 13), None);
        assert!(index.lines.iter().all(|l| l.overflow <= 1));
    }

    #[test]
    fn the_candidate_is_the_first_slot_of_the_home_line_with_the_tag() {
        // Two lines. Hash 0 and 2 share line 0 and tag 0x80; hash 1 << 57
        // is on line 0 with another tag; hash 1 is on line 1.
        let mut index = SlotIndex::with_capacity(20);
        assert_eq!(index.candidate(0), None);
        index.prefetch(0);
        assert!(index.insert_unique(1 << 57, 7));
        assert!(index.insert_unique(0, 5));
        assert!(index.insert_unique(2, 6));
        assert!(index.insert_unique(1, 8));
        assert_eq!(index.candidate(0), Some(5));
        assert_eq!(index.candidate(2), Some(5));
        assert_eq!(index.candidate(1 << 57), Some(7));
        assert_eq!(index.candidate(1), Some(8));
        assert_eq!(index.candidate(3 | 1 << 57), None);
        // Only the home line is read: with line 0 full, a key of its own
        // tag homed there goes on to line 1, where `find` reaches it and
        // `candidate` does not look.
        for v in 9..18 {
            assert!(index.insert_unique(0, v));
        }
        assert_eq!(index.candidate(0), Some(5));
        assert!(index.insert_unique(2 << 57, 30));
        assert_eq!(index.find(2 << 57, |s| s == 30), Some(30));
        assert_eq!(index.candidate(2 << 57), None);
        // An empty index has no line to read.
        SlotIndex::with_capacity(0).prefetch(3);
        assert_eq!(SlotIndex::with_capacity(0).candidate(3), None);
    }
}
