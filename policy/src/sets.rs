//! Compiled sets: prefix tries with length masks, sorted AS and community sets.

use rampart_core::attr::{Community, LargeCommunity};
use rampart_core::nlri::Prefix;

use crate::ast::{CommPat, LargePat};

const NONE: u32 = u32::MAX;

/// One trie node: children by next bit, and the prefix lengths (0..=128, as
/// a 192-bit mask) accepted for routes under this node's prefix.
#[derive(Debug, Clone)]
struct Node {
    child: [u32; 2],
    lens: [u64; 3],
}

impl Node {
    const EMPTY: Self = Self {
        child: [NONE, NONE],
        lens: [0; 3],
    };
}

/// A binary trie over left-aligned 128-bit keys. An entry `(p, min, max)`
/// matches a route prefix `r` when `p` contains `r` and `min <= len(r) <= max`.
#[derive(Debug, Clone)]
pub(crate) struct PrefixTrie {
    nodes: Vec<Node>,
}

impl Default for PrefixTrie {
    fn default() -> Self {
        Self {
            nodes: vec![Node::EMPTY],
        }
    }
}

fn bit(bits: u128, depth: u8) -> usize {
    usize::from((bits >> (127 - u32::from(depth.min(127)))) & 1 == 1)
}

impl PrefixTrie {
    /// Adds an entry; `bits` is the left-aligned network, `max <= 128`.
    pub(crate) fn insert(&mut self, bits: u128, len: u8, min: u8, max: u8) {
        let mut n = 0usize;
        for d in 0..len {
            let b = bit(bits, d);
            let next = self.nodes.get(n).map_or(NONE, |x| x.child[b]);
            n = if next == NONE {
                let idx = self.nodes.len();
                self.nodes.push(Node::EMPTY);
                if let Some(x) = self.nodes.get_mut(n) {
                    x.child[b] = u32::try_from(idx).unwrap_or(NONE);
                }
                idx
            } else {
                next as usize
            };
        }
        if let Some(x) = self.nodes.get_mut(n) {
            for l in min..=max.min(128) {
                if let Some(w) = x.lens.get_mut(usize::from(l / 64)) {
                    *w |= 1 << (l % 64);
                }
            }
        }
    }

    /// True when some entry matches the route prefix (`bits`, `len`).
    pub(crate) fn contains(&self, bits: u128, len: u8) -> bool {
        let word = usize::from(len / 64);
        let mask = 1u64 << (len % 64);
        let mut n = 0usize;
        let mut d = 0u8;
        loop {
            let Some(node) = self.nodes.get(n) else {
                return false;
            };
            if node.lens.get(word).is_some_and(|w| w & mask != 0) {
                return true;
            }
            if d >= len {
                return false;
            }
            let next = node.child[bit(bits, d)];
            if next == NONE {
                return false;
            }
            n = next as usize;
            d += 1;
        }
    }
}

/// Left-aligned key of a prefix.
pub(crate) fn key(p: &Prefix) -> u128 {
    match p {
        Prefix::V4(p) => u128::from(p.bits()) << 96,
        Prefix::V6(p) => p.bits(),
    }
}

/// A compiled prefix set: one binary trie per family whose nodes carry the
/// accepted route lengths. Used for `prefix-set`s, and built by the daemon
/// for sets it supplies at run time (`external` sets, `peer-prefixes`).
#[derive(Debug, Clone, Default)]
pub struct PrefixSet {
    v4: PrefixTrie,
    v6: PrefixTrie,
}

impl PrefixSet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `p` with accepted route lengths `min..=max`, which must satisfy
    /// `p.len() <= min <= max <= 32` (IPv4) or `128` (IPv6).
    ///
    /// # Errors
    /// [`LengthRangeError`] when the bounds are outside that range.
    pub fn add(&mut self, p: &Prefix, min: u8, max: u8) -> Result<(), LengthRangeError> {
        let maxlen = if matches!(p, Prefix::V4(_)) { 32 } else { 128 };
        if min < p.len() || min > max || max > maxlen {
            return Err(LengthRangeError {
                len: p.len(),
                min,
                max,
            });
        }
        self.insert(p, min, max);
        Ok(())
    }

    /// True when some entry contains `p` and accepts its length.
    #[must_use]
    pub fn contains(&self, p: &Prefix) -> bool {
        match p {
            Prefix::V4(_) => self.v4.contains(key(p), p.len()),
            Prefix::V6(_) => self.v6.contains(key(p), p.len()),
        }
    }

    pub(crate) fn insert(&mut self, p: &Prefix, min: u8, max: u8) {
        let t = match p {
            Prefix::V4(_) => &mut self.v4,
            Prefix::V6(_) => &mut self.v6,
        };
        t.insert(key(p), p.len(), min, max);
    }
}

/// A prefix-set entry's length bounds do not fit its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("length range {min}..={max} does not fit a /{len} prefix")]
pub struct LengthRangeError {
    /// The prefix length.
    pub len: u8,
    /// The requested minimum route length.
    pub min: u8,
    /// The requested maximum route length.
    pub max: u8,
}

/// AS numbers, sorted for binary search.
#[derive(Debug, Clone, Default)]
pub(crate) struct AsSet(Vec<u32>);

impl AsSet {
    pub(crate) fn new(mut v: Vec<u32>) -> Self {
        v.sort_unstable();
        v.dedup();
        Self(v)
    }

    pub(crate) fn contains(&self, asn: u32) -> bool {
        self.0.binary_search(&asn).is_ok()
    }
}

impl CommPat {
    pub(crate) fn matches(self, c: Community) -> bool {
        self.0.is_none_or(|a| a == c.asn()) && self.1.is_none_or(|v| v == c.value())
    }

    pub(crate) fn exact(self) -> Option<Community> {
        Some(Community::new(self.0?, self.1?))
    }
}

impl LargePat {
    pub(crate) fn matches(self, c: LargeCommunity) -> bool {
        self.0.is_none_or(|a| a == c.global)
            && self.1.is_none_or(|v| v == c.local1)
            && self.2.is_none_or(|v| v == c.local2)
    }

    pub(crate) fn exact(self) -> Option<LargeCommunity> {
        Some(LargeCommunity {
            global: self.0?,
            local1: self.1?,
            local2: self.2?,
        })
    }
}

/// A community pattern: an exact value or one with wildcard parts.
pub(crate) trait Pattern: Copy {
    /// The community type matched.
    type Value: Copy + Ord;
    /// The value, when the pattern has no wildcard.
    fn exact(self) -> Option<Self::Value>;
    /// True when `v` matches.
    fn matches(self, v: Self::Value) -> bool;
}

impl Pattern for CommPat {
    type Value = Community;
    fn exact(self) -> Option<Community> {
        Self::exact(self)
    }
    fn matches(self, v: Community) -> bool {
        Self::matches(self, v)
    }
}

impl Pattern for LargePat {
    type Value = LargeCommunity;
    fn exact(self) -> Option<LargeCommunity> {
        Self::exact(self)
    }
    fn matches(self, v: LargeCommunity) -> bool {
        Self::matches(self, v)
    }
}

/// A community set: exact values sorted (binary search), plus the
/// wildcard patterns tried in order.
#[derive(Debug, Clone)]
pub(crate) struct PatSet<P: Pattern> {
    pub(crate) exact: Vec<P::Value>,
    wild: Vec<P>,
}

/// Standard communities (RFC 1997).
pub(crate) type CommSet = PatSet<CommPat>;
/// Large communities (RFC 8092).
pub(crate) type LargeSet = PatSet<LargePat>;

impl<P: Pattern> PatSet<P> {
    pub(crate) fn new(pats: impl IntoIterator<Item = P>) -> Self {
        let (mut exact, mut wild) = (Vec::new(), Vec::new());
        for p in pats {
            match p.exact() {
                Some(c) => exact.push(c),
                None => wild.push(p),
            }
        }
        exact.sort_unstable();
        exact.dedup();
        Self { exact, wild }
    }

    pub(crate) fn matches(&self, c: P::Value) -> bool {
        self.exact.binary_search(&c).is_ok() || self.wild.iter().any(|p| p.matches(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rampart_core::nlri::{Ipv4Prefix, Ipv6Prefix};
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: u32, l: u8) -> Prefix {
        Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(a), l).unwrap())
    }

    fn naive(entries: &[(Prefix, u8, u8)], r: &Prefix) -> bool {
        entries
            .iter()
            .any(|(p, min, max)| p.contains(r) && (*min..=*max).contains(&r.len()))
    }

    #[test]
    fn or_longer_and_ranges() {
        let mut s = PrefixSet::default();
        s.insert(&v4(0x0A00_0000, 8), 8, 32);
        s.insert(&v4(0xC0A8_0000, 16), 20, 24);
        assert!(s.contains(&v4(0x0A01_0000, 16)));
        assert!(s.contains(&v4(0x0A00_0000, 8)));
        assert!(!s.contains(&v4(0x0B00_0000, 8)));
        assert!(!s.contains(&v4(0xC0A8_0000, 16)));
        assert!(s.contains(&v4(0xC0A8_1000, 20)));
        assert!(!s.contains(&v4(0xC0A8_1000, 25)));
        assert!(!s.contains(&v4(0, 0)));
    }

    #[test]
    fn v6_full_length() {
        let mut s = PrefixSet::default();
        let p = Prefix::V6(
            Ipv6Prefix::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32).unwrap(),
        );
        s.insert(&p, 32, 128);
        let host = Prefix::V6(
            Ipv6Prefix::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1), 128).unwrap(),
        );
        assert!(s.contains(&host));
        assert!(!s.contains(&v4(0x2001_0db8, 32)));
    }

    #[test]
    fn community_wildcards() {
        let s = CommSet::new([CommPat(Some(65535), Some(666)), CommPat(Some(0), None)]);
        assert!(s.matches(Community::new(65535, 666)));
        assert!(s.matches(Community::new(0, 64501)));
        assert!(!s.matches(Community::new(65535, 0)));
        let l = LargeSet::new([LargePat(Some(65000), None, Some(7))]);
        assert!(l.matches(LargeCommunity {
            global: 65000,
            local1: 1,
            local2: 7
        }));
        assert!(!l.matches(LargeCommunity {
            global: 65000,
            local1: 1,
            local2: 8
        }));
    }

    fn v6(a: u128, l: u8) -> Prefix {
        Prefix::V6(Ipv6Prefix::new(Ipv6Addr::from_bits(a), l).unwrap())
    }

    proptest! {
        #[test]
        fn trie_matches_naive_v6(
            raw in prop::collection::vec((any::<u128>(), 0u8..=128, 0u8..=128, 0u8..=128), 0..30),
            probes in prop::collection::vec((any::<u128>(), 0u8..=128), 1..60),
        ) {
            // Keep the top 16 and bottom 8 bits random so containment is common.
            let squash = |a: u128| a & (0xFFFF << 112 | 0xFF);
            let mut set = PrefixSet::default();
            let mut entries = Vec::new();
            for (a, l, x, y) in raw {
                let p = v6(squash(a), l);
                let (lo, hi) = (x.max(l), y.max(l));
                let (min, max) = (lo.min(hi), lo.max(hi));
                set.insert(&p, min, max);
                entries.push((p, min, max));
            }
            for (a, l) in probes {
                let r = v6(squash(a), l);
                prop_assert_eq!(set.contains(&r), naive(&entries, &r), "{:?}", r);
            }
        }

        #[test]
        fn trie_matches_naive(
            raw in prop::collection::vec((any::<u32>(), 0u8..=32, 0u8..=32, 0u8..=32), 0..40),
            probes in prop::collection::vec((any::<u32>(), 0u8..=32), 1..60),
        ) {
            let mut set = PrefixSet::default();
            let mut entries = Vec::new();
            for (a, l, x, y) in raw {
                // Cluster addresses so that containment happens often.
                let p = v4(a & 0xFF00_0000 | (a & 0xFF), l);
                let (lo, hi) = (x.max(l), y.max(l));
                let (min, max) = (lo.min(hi), lo.max(hi));
                set.insert(&p, min, max);
                entries.push((p, min, max));
            }
            for (a, l) in probes {
                let r = v4(a & 0xFF00_0000 | (a & 0xFF), l);
                prop_assert_eq!(set.contains(&r), naive(&entries, &r), "{:?}", r);
            }
        }
    }
}
