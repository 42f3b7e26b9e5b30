//! Interned path attribute sets: one `Arc` per distinct [`PathAttributes`].
//!
//! A full table has about a million prefixes but only a few hundred thousand
//! distinct attribute sets, and a full-table UPDATE stream repeats the same
//! attribute section for many UPDATEs in a row. [`Interner::intern_raw`]
//! looks the received attribute bytes up first and parses only on a miss.
//!
//! ```text
//! sets: HashTable<AttrSet>                            owns one Arc per set
//! raw:  HashTable<(hash, ctx, bytes, Weak<set>)>      bytes -> set cache
//! ```
//!
//! The raw cache holds `Weak` handles so that `Arc::strong_count == 1` still
//! means "only the interner holds it", which is what [`Interner::gc`] checks.

use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, Weak};

use hashbrown::HashTable;

use crate::attr::{PathAttributes, RawAttribute, ThinVec};

/// A cheap clonable handle to an immutable, interned [`PathAttributes`].
///
/// Equality and hashing use the pointer: two handles from one [`Interner`]
/// are equal exactly when their sets are equal. Handles made with
/// [`AttrSet::new`] bypass the interner and are equal only to their clones.
#[derive(Debug, Clone)]
pub struct AttrSet(Arc<PathAttributes>);

impl AttrSet {
    /// A handle that is not interned (tests, locally originated routes).
    #[must_use]
    pub fn new(attrs: PathAttributes) -> Self {
        Self(Arc::new(attrs))
    }

    /// The attributes.
    #[must_use]
    pub fn attrs(&self) -> &PathAttributes {
        &self.0
    }

    /// True when both handles point at the same set.
    #[must_use]
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The set's address: what equality compares.
    pub(crate) fn addr(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// Bytes this set allocates: its `Arc` allocation (two counters and
    /// the [`PathAttributes`]) and its vectors, allocator overhead excluded.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        2 * size_of::<usize>() + size_of::<PathAttributes>() + attrs_heap_bytes(&self.0)
    }

    /// Number of live handles to this set, the interner's own included.
    #[must_use]
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.0)
    }
}

impl Deref for AttrSet {
    type Target = PathAttributes;
    fn deref(&self) -> &PathAttributes {
        &self.0
    }
}

impl PartialEq for AttrSet {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for AttrSet {}

impl Hash for AttrSet {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.0), state);
    }
}

struct RawEntry {
    hash: u64,
    ctx: u32,
    bytes: Box<[u8]>,
    set: Weak<PathAttributes>,
}

/// Counters of [`Interner`] lookups since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InternStats {
    /// `intern_raw` calls answered from the raw-bytes cache.
    pub raw_hits: u64,
    /// `intern_raw` calls that had to parse.
    pub raw_misses: u64,
    /// Calls that created a new set.
    pub new_sets: u64,
}

/// Interns [`PathAttributes`]: stores one `Arc` per distinct set.
#[derive(Default)]
pub struct Interner {
    /// One handle per set. The content hash is not stored (it would cost 8
    /// bytes per bucket for good): growth hashes each set again, in the
    /// order of the sets' addresses ([`Interner::grown`]).
    sets: HashTable<AttrSet>,
    raw: HashTable<RawEntry>,
    hasher: foldhash::fast::RandomState,
    stats: InternStats,
    /// [`Interner::gc`] runs before a new set would make `sets` this long.
    gc_at: usize,
}

/// Sets an [`Interner`] holds before its first collection.
const GC_MIN: usize = 256;

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("sets", &self.sets.len())
            .field("raw", &self.raw.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Interner {
    /// An empty interner.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle for `attrs`: the existing one when an equal set is
    /// interned, else a new one.
    pub fn intern(&mut self, attrs: PathAttributes) -> AttrSet {
        let hash = self.hasher.hash_one(&attrs);
        if let Some(set) = self.sets.find(hash, |s| *s.0 == attrs) {
            return set.clone();
        }
        self.stats.new_sets += 1;
        if self.sets.len() >= self.gc_at {
            // Sets whose last path went away would otherwise stay for the
            // life of the process: churn with changing attributes (a new
            // MED, a tagged community per change) makes a new set each
            // time. Collecting once the table has doubled since the last
            // collection keeps it under twice the live sets (plus
            // `GC_MIN`) at amortized O(1) per new set.
            self.gc();
            self.gc_at = (2 * self.sets.len()).max(GC_MIN);
        }
        let mut attrs = attrs;
        shrink(&mut attrs);
        let set = AttrSet(Arc::new(attrs));
        if self.sets.len() == self.sets.capacity() {
            self.sets = self.grown();
        }
        let hasher = &self.hasher;
        self.sets
            .insert_unique(hash, set.clone(), |s| hasher.hash_one(&*s.0));
        set
    }

    /// The sets in a table of twice the room, built in the order of the
    /// sets' addresses. hashbrown's own growth hashes them in bucket
    /// order, which reads each set and its AS path at random: two cache
    /// misses per set, 5.8 % of rampartd's CPU time in bgperf 2 × 500k
    /// (300,000 sets). Sets allocated one after another lie side by side,
    /// so address order reads memory nearly in sequence.
    fn grown(&mut self) -> HashTable<AttrSet> {
        let mut all: Vec<AttrSet> = std::mem::take(&mut self.sets).into_iter().collect();
        all.sort_unstable_by_key(AttrSet::addr);
        let hasher = &self.hasher;
        let mut sets = HashTable::with_capacity((2 * all.len()).max(4));
        for s in all {
            sets.insert_unique(hasher.hash_one(&*s.0), s, |s| hasher.hash_one(&*s.0));
        }
        sets
    }

    /// [`intern_raw_ctx`](Self::intern_raw_ctx) with context 0.
    pub fn intern_raw(
        &mut self,
        raw: &[u8],
        parse: impl FnOnce(&[u8]) -> Option<PathAttributes>,
    ) -> Option<AttrSet> {
        self.intern_raw_ctx(0, raw, parse)
    }

    /// The set for a received attribute section: looks `raw` up by its bytes
    /// and calls `parse` only on a miss. Returns `None` when `parse` does.
    ///
    /// `raw` must be every byte that determines the parsed set (for IPv4
    /// UPDATEs the path attribute section; for MP_REACH the attributes
    /// without the NLRI, plus the next hop). `ctx` separates byte strings
    /// that parse differently, e.g. sessions with and without 4-octet AS
    /// (RFC 6793): give each decode context class its own number.
    pub fn intern_raw_ctx(
        &mut self,
        ctx: u32,
        raw: &[u8],
        parse: impl FnOnce(&[u8]) -> Option<PathAttributes>,
    ) -> Option<AttrSet> {
        let hash = self.hasher.hash_one((ctx, raw));
        let eq = |e: &RawEntry| e.hash == hash && e.ctx == ctx && *e.bytes == *raw;
        if let Some(arc) = self.raw.find(hash, eq).and_then(|e| e.set.upgrade()) {
            self.stats.raw_hits += 1;
            return Some(AttrSet(arc));
        }
        self.stats.raw_misses += 1;
        let set = self.intern(parse(raw)?);
        let weak = Arc::downgrade(&set.0);
        match self.raw.find_mut(hash, eq) {
            Some(entry) => entry.set = weak,
            None => {
                let entry = RawEntry {
                    hash,
                    ctx,
                    bytes: raw.into(),
                    set: weak,
                };
                self.raw.insert_unique(hash, entry, |e| e.hash);
            }
        }
        Some(set)
    }

    /// Drops every set that no handle outside the interner refers to, and
    /// the raw-bytes entries that led to them. Returns the number of sets
    /// dropped. [`intern`](Self::intern) calls it whenever the table has
    /// doubled since the last collection; call it as well to give memory
    /// back sooner (after a session with a full table went down).
    pub fn gc(&mut self) -> usize {
        let before = self.sets.len();
        self.sets.retain(|s| Arc::strong_count(&s.0) > 1);
        self.raw.retain(|e| e.set.strong_count() > 0);
        // Give most of an emptied table back (at a quarter full, to half).
        let hasher = &self.hasher;
        if self.sets.len() <= self.sets.capacity() / 4 {
            let len = self.sets.len();
            self.sets.shrink_to(2 * len, |s| hasher.hash_one(&*s.0));
        }
        if self.raw.len() <= self.raw.capacity() / 4 {
            let len = self.raw.len();
            self.raw.shrink_to(2 * len, |e| e.hash);
        }
        before - self.sets.len()
    }

    /// Empties the raw-bytes cache (sets stay); bounds its memory when many
    /// encodings lead to the same sets.
    pub fn purge_raw(&mut self) {
        self.raw.clear();
        self.raw.shrink_to(0, |e| e.hash);
    }

    /// Number of distinct interned sets.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// True when no set is interned.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Number of raw-bytes cache entries.
    #[must_use]
    pub fn raw_len(&self) -> usize {
        self.raw.len()
    }

    /// Lookup counters.
    #[must_use]
    pub const fn stats(&self) -> InternStats {
        self.stats
    }

    /// Estimated heap bytes: both tables, every set's `Arc` allocation and
    /// its vectors, and the cached raw bytes (allocator overhead excluded).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        let sets: usize = self.sets.iter().map(AttrSet::heap_bytes).sum();
        let raw: usize = self.raw.iter().map(|e| e.bytes.len()).sum();
        self.sets.allocation_size() + self.raw.allocation_size() + sets + raw
    }
}

/// Drops spare vector capacity: a stored set lives long, parse-time slack
/// would be paid once per set for its whole life.
/// A rare-attribute group left at its defaults (by a rewrite that cleared
/// what it held) is freed.
fn shrink(a: &mut PathAttributes) {
    a.communities.shrink_to_fit();
    a.large_communities.shrink_to_fit();
    a.rare.compact();
    if let Some(r) = a.rare.stored_mut() {
        r.ext_communities.shrink_to_fit();
        r.ipv6_ext_communities.shrink_to_fit();
        r.cluster_list.shrink_to_fit();
        r.unknown.shrink_to_fit();
    }
}

/// Heap bytes owned by one attribute set: its AS_PATH, its vectors and
/// its rare-attribute group when stored.
#[must_use]
pub fn attrs_heap_bytes(a: &PathAttributes) -> usize {
    // An empty `ThinVec` shares one static header; a filled one allocates
    // its length and capacity (two `usize`) before the elements.
    fn thin<T>(v: &ThinVec<T>) -> usize {
        if v.capacity() == 0 {
            0
        } else {
            2 * size_of::<usize>() + v.capacity() * size_of::<T>()
        }
    }
    let unknown: usize = a
        .rare
        .unknown
        .iter()
        .map(|u: &RawAttribute| u.value.len())
        .sum();
    let rare = if a.rare.is_stored() {
        size_of::<crate::attr::RareAttributes>()
    } else {
        0
    };
    a.as_path.heap_bytes()
        + rare
        + thin(&a.communities)
        + thin(&a.rare.ext_communities)
        + thin(&a.rare.ipv6_ext_communities)
        + thin(&a.large_communities)
        + thin(&a.rare.cluster_list)
        + thin(&a.rare.unknown)
        + unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::{AsPath, Community, Origin};

    fn attrs(asn: u32, med: u32) -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence([asn, 3356, 15169]),
            med: Some(med),
            communities: vec![Community::new(65000, 1)].into(),
            ..PathAttributes::default()
        }
    }

    /// A toy "wire" form for tests: 8 bytes (asn, med).
    fn raw(asn: u32, med: u32) -> Vec<u8> {
        [asn.to_be_bytes(), med.to_be_bytes()].concat()
    }

    fn parse(b: &[u8]) -> Option<PathAttributes> {
        let asn = u32::from_be_bytes(b.get(0..4)?.try_into().ok()?);
        let med = u32::from_be_bytes(b.get(4..8)?.try_into().ok()?);
        Some(attrs(asn, med))
    }

    #[test]
    fn equal_sets_share_one_handle() {
        let mut i = Interner::new();
        let a = i.intern(attrs(1, 10));
        let b = i.intern(attrs(1, 10));
        let c = i.intern(attrs(1, 11));
        assert!(a.ptr_eq(&b));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(i.len(), 2);
        assert_eq!(a.handle_count(), 3);
    }

    #[test]
    fn uninterned_handles_compare_by_pointer() {
        let a = AttrSet::new(attrs(1, 10));
        let b = AttrSet::new(attrs(1, 10));
        assert_ne!(a, b);
        assert_eq!(a, a.clone());
    }

    #[test]
    fn raw_hit_skips_parse() {
        let mut i = Interner::new();
        let r = raw(7, 1);
        let a = i.intern_raw(&r, parse).unwrap();
        let b = i
            .intern_raw(&r, |_| panic!("parse called on a raw hit"))
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(i.stats().raw_hits, 1);
        assert_eq!(i.stats().raw_misses, 1);
        // A different encoding of an equal set still lands on the same handle.
        let c = i.intern(attrs(7, 1));
        assert_eq!(a, c);
    }

    #[test]
    fn raw_ctx_separates_byte_strings() {
        let mut i = Interner::new();
        let r = raw(7, 1);
        let a = i.intern_raw_ctx(0, &r, parse).unwrap();
        let b = i.intern_raw_ctx(1, &r, |_| Some(attrs(8, 8))).unwrap();
        assert_ne!(a, b);
        assert_eq!(i.raw_len(), 2);
    }

    #[test]
    fn raw_parse_failure_is_not_cached() {
        let mut i = Interner::new();
        assert!(i.intern_raw(&[1, 2], parse).is_none());
        assert_eq!(i.raw_len(), 0);
        assert!(i.is_empty());
    }

    #[test]
    fn gc_drops_only_unreferenced_sets_and_their_raw_entries() {
        let mut i = Interner::new();
        let keep = i.intern_raw(&raw(1, 1), parse).unwrap();
        let drop_me = i.intern_raw(&raw(2, 2), parse).unwrap();
        // Two encodings of the kept set.
        i.intern_raw_ctx(9, &raw(1, 1), parse).unwrap();
        drop(drop_me);
        let before = i.heap_bytes();
        assert_eq!(i.gc(), 1);
        assert_eq!(i.len(), 1);
        assert_eq!(i.raw_len(), 2);
        assert!(i.heap_bytes() < before);
        // Re-interning the dropped set parses again and gives a new handle.
        let again = i.intern_raw(&raw(2, 2), parse).unwrap();
        assert_eq!(i.stats().raw_misses, 4);
        assert_ne!(again, keep);
        drop((keep, again));
        assert_eq!(i.gc(), 2);
        assert!(i.is_empty());
        assert_eq!(i.raw_len(), 0);
    }

    #[test]
    fn sets_nobody_holds_are_collected_as_new_ones_come() {
        // Churn with a new MED each time: without collection every set
        // ever received would stay.
        let mut i = Interner::new();
        let mut held = Vec::new();
        for k in 0..20_000 {
            let s = i.intern(attrs(64_500, k));
            if k % 1000 == 0 {
                held.push(s);
            }
            assert!(
                i.len() <= GC_MIN + 2 * held.len() + 1,
                "{} sets after {k}",
                i.len()
            );
        }
        assert!(i.stats().new_sets == 20_000);
        for h in &held {
            assert_eq!(&i.intern((**h).clone()), h, "a held set was collected");
        }
        assert!(i.heap_bytes() < 200 * 1024, "{} bytes", i.heap_bytes());
        drop(held);
        i.gc();
        assert!(i.is_empty());
        // The emptied table went back to the allocator.
        assert!(i.heap_bytes() < 1024, "{} bytes", i.heap_bytes());
    }

    proptest::proptest! {
        /// Handles are equal exactly when contents are, whichever path
        /// (by value or by raw bytes) interned them; gc keeps held sets.
        #[test]
        fn handles_equal_iff_contents_equal(
            items in proptest::collection::vec((0u32..6, 0u32..3, proptest::bool::ANY), 1..60),
            keep_every in 1usize..4,
        ) {
            let mut i = Interner::new();
            let handles: Vec<AttrSet> = items
                .iter()
                .map(|&(asn, med, by_raw)| {
                    if by_raw {
                        i.intern_raw(&raw(asn, med), parse).unwrap()
                    } else {
                        i.intern(attrs(asn, med))
                    }
                })
                .collect();
            for (a, x) in items.iter().zip(&handles) {
                for (b, y) in items.iter().zip(&handles) {
                    proptest::prop_assert_eq!((a.0, a.1) == (b.0, b.1), x == y);
                }
            }
            let distinct: std::collections::HashSet<_> = items.iter().map(|t| (t.0, t.1)).collect();
            proptest::prop_assert_eq!(i.len(), distinct.len());
            let kept: Vec<AttrSet> = handles.into_iter().step_by(keep_every).collect();
            i.gc();
            let live: std::collections::HashSet<_> = kept.iter().map(|h| (*h).clone()).collect();
            proptest::prop_assert_eq!(i.len(), live.len());
            for h in &kept {
                proptest::prop_assert_eq!(&i.intern((**h).clone()), h);
            }
        }
    }
}
