//! Path attributes (RFC 4271 §4.3, §5): the owned representation used by the
//! RIB, best path and policy.
//!
//! [`PathAttributes`] is one route's full attribute set with every AS number
//! widened to four octets (AS4_PATH / AS4_AGGREGATOR are merged on decode, as
//! RFC 6793 §4.2.3 describes). Sets are interned by the RIB, so this type is
//! built once per distinct set, not once per prefix.
//!
//! Wire codec of the attribute section: [`decode_path_attributes`] (with the
//! revised error handling of [RFC 7606]) and [`encode_path_attributes`],
//! both also used by MRT for TABLE_DUMP_V2 RIB entries ([`MpReachForm`]).
//! [`drop_non_transitive_unknown`] removes the optional non-transitive
//! attributes this crate does not know from a received set, so that they
//! are never passed on (RFC 4271 §5).
//!
//! [RFC 7606]: https://www.rfc-editor.org/rfc/rfc7606

use std::net::{Ipv4Addr, Ipv6Addr};

pub use thin_vec::{ThinVec, thin_vec};

mod as_path;
mod encode;
mod external;
pub(crate) mod mp;
pub(crate) mod section;
#[cfg(test)]
mod tests;

pub use as_path::merge_as4;
pub use encode::{drop_non_transitive_unknown, encode_path_attributes};
pub use external::apply_external_peer_rules;
pub use section::{
    AttrIter, AttrView, AttrsDecoded, MpReachForm, decode_path_attributes, missing_well_known,
};

/// ORIGIN values (RFC 4271 §5.1.1). Lower is preferred by best path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Origin {
    /// IGP (0).
    #[default]
    Igp = 0,
    /// EGP (1).
    Egp = 1,
    /// INCOMPLETE (2).
    Incomplete = 2,
}

/// AS_PATH segment types (RFC 4271 §4.3; confederation types RFC 5065 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentType {
    /// AS_SET (1): unordered.
    AsSet = 1,
    /// AS_SEQUENCE (2): ordered, nearest AS first.
    AsSequence = 2,
    /// AS_CONFED_SEQUENCE (3).
    ConfedSequence = 3,
    /// AS_CONFED_SET (4).
    ConfedSet = 4,
}

/// One AS_PATH segment, owned: a type and its AS numbers (4-octet form).
/// The form [`AsPath::from_segments`] builds from and
/// [`AsPath::to_segments`] gives back; [`AsPath::segments`] lends
/// [`SegmentRef`]s without copying.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Segment {
    /// Segment type.
    pub kind: SegmentType,
    /// AS numbers in wire order.
    pub asns: Vec<u32>,
}

/// One segment of an [`AsPath`], borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentRef<'a> {
    /// Segment type.
    pub kind: SegmentType,
    /// AS numbers in wire order.
    pub asns: &'a [u32],
}

/// Largest number of AS numbers one stored segment holds (the count has 24
/// bits); longer segments are split. A wire segment holds at most 255.
const MAX_STORED_SEGMENT: usize = 0x00ff_ffff;

/// AS_PATH (RFC 4271 §5.1.2) with 4-octet AS numbers, in one allocation
/// (none when empty): the path is stored once per interned attribute set.
///
/// ```text
/// words: [ header | asn ... | header | asn ... ]
/// header = segment type << 24 | number of AS numbers that follow
/// ```
///
/// Equality, hashing and order are those of the words: two paths are
/// equal when they have the same segments.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AsPath {
    words: Box<[u32]>,
}

impl std::fmt::Debug for AsPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.segments()).finish()
    }
}

/// The segments of an [`AsPath`], in wire order.
#[derive(Debug, Clone)]
pub struct Segments<'a> {
    rest: &'a [u32],
}

impl<'a> Iterator for Segments<'a> {
    type Item = SegmentRef<'a>;

    fn next(&mut self) -> Option<SegmentRef<'a>> {
        let (&header, tail) = self.rest.split_first()?;
        let (asns, rest) = tail.split_at_checked((header & 0x00ff_ffff) as usize)?;
        self.rest = rest;
        #[allow(clippy::cast_possible_truncation)] // the top 8 bits
        let kind = SegmentType::from_u8((header >> 24) as u8)?;
        Some(SegmentRef { kind, asns })
    }
}

impl AsPath {
    /// A path of one AS_SEQUENCE, nearest AS first.
    #[must_use]
    pub fn from_sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        let asns: Vec<u32> = asns.into_iter().collect();
        Self::build([(SegmentType::AsSequence, asns.as_slice())])
    }

    /// A path of these segments, in wire order. Empty segments are left
    /// out; a segment of more than 2²⁴ − 1 AS numbers is split.
    #[must_use]
    pub fn from_segments(segments: impl IntoIterator<Item = Segment>) -> Self {
        let segments: Vec<Segment> = segments.into_iter().collect();
        Self::build(segments.iter().map(|s| (s.kind, s.asns.as_slice())))
    }

    /// Builds the stored form from borrowed segments, sized exactly.
    pub(crate) fn build<'a, I>(segments: I) -> Self
    where
        I: IntoIterator<Item = (SegmentType, &'a [u32])>,
        I::IntoIter: Clone,
    {
        let segments = segments.into_iter();
        let chunks = segments
            .clone()
            .flat_map(|(kind, asns)| asns.chunks(MAX_STORED_SEGMENT).map(move |c| (kind, c)));
        let len = chunks.clone().map(|(_, c)| 1 + c.len()).sum();
        let mut words = Vec::with_capacity(len);
        for (kind, asns) in chunks {
            #[allow(clippy::cast_possible_truncation)] // chunks fit 24 bits
            words.push(((kind as u32) << 24) | asns.len() as u32);
            words.extend_from_slice(asns);
        }
        Self {
            words: words.into_boxed_slice(),
        }
    }

    /// A path from its stored words (the decoder builds them directly;
    /// every header must count the AS numbers that follow it).
    pub(crate) fn from_words(words: Box<[u32]>) -> Self {
        Self { words }
    }

    /// The segments, borrowed, in wire order.
    #[must_use]
    pub fn segments(&self) -> Segments<'_> {
        Segments { rest: &self.words }
    }

    /// The segments, copied out (for building a changed path).
    #[must_use]
    pub fn to_segments(&self) -> Vec<Segment> {
        self.segments()
            .map(|s| Segment {
                kind: s.kind,
                asns: s.asns.to_vec(),
            })
            .collect()
    }

    /// True when the path has no segment.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Number of segments.
    #[must_use]
    pub fn segment_count(&self) -> usize {
        self.segments().count()
    }

    /// Appends a segment (rebuilds the path: for construction, not for
    /// hot paths). An empty `asns` adds nothing.
    pub fn push_segment(&mut self, kind: SegmentType, asns: &[u32]) {
        let old = std::mem::take(self);
        *self = Self::build(
            old.segments()
                .map(|s| (s.kind, s.asns))
                .chain(std::iter::once((kind, asns))),
        );
    }

    /// Heap bytes the path allocates.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.words.len() * size_of::<u32>()
    }

    /// Path length for the decision process (RFC 4271 §9.1.2.2 a): each
    /// AS_SEQUENCE member counts 1, an AS_SET counts 1 in total, and
    /// confederation segments count 0 (RFC 5065 §5.3).
    #[must_use]
    pub fn path_len(&self) -> usize {
        self.segments()
            .map(|s| match s.kind {
                SegmentType::AsSequence => s.asns.len(),
                SegmentType::AsSet => 1,
                SegmentType::ConfedSequence | SegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// The neighbouring AS: first AS of the leading AS_SEQUENCE, if any.
    #[must_use]
    pub fn first_as(&self) -> Option<u32> {
        self.segments()
            .find(|s| !matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet))
            .filter(|s| s.kind == SegmentType::AsSequence)
            .and_then(|s| s.asns.first().copied())
    }

    /// The originating AS: last AS of a trailing AS_SEQUENCE. `None` when the
    /// path is empty or ends in an AS_SET (origin ambiguous, RFC 6907 §2).
    #[must_use]
    pub fn origin_as(&self) -> Option<u32> {
        self.segments()
            .last()
            .filter(|s| s.kind == SegmentType::AsSequence)
            .and_then(|s| s.asns.last().copied())
    }

    /// True when `asn` appears anywhere in the path.
    #[must_use]
    pub fn contains(&self, asn: u32) -> bool {
        self.segments().any(|s| s.asns.contains(&asn))
    }

    /// Every AS number in wire order, across all segments.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments().flat_map(|s| s.asns.iter().copied())
    }

    /// Prepends `asn` `times` times to the leading AS_SEQUENCE, opening a new
    /// one when the path is empty or starts with another segment type
    /// (RFC 4271 §5.1.2). Segments are split at 255 ASNs.
    pub fn prepend(&mut self, asn: u32, times: usize) {
        if times == 0 {
            return;
        }
        let mut segments = self.to_segments();
        for _ in 0..times {
            match segments.first_mut() {
                Some(s) if s.kind == SegmentType::AsSequence && s.asns.len() < 255 => {
                    s.asns.insert(0, asn);
                }
                _ => segments.insert(
                    0,
                    Segment {
                        kind: SegmentType::AsSequence,
                        asns: vec![asn],
                    },
                ),
            }
        }
        *self = Self::from_segments(segments);
    }
}

/// A route's next hop: NEXT_HOP (IPv4) or the MP_REACH_NLRI next hop
/// (RFC 4760 §3; IPv6 global plus optional link-local, RFC 2545 §3; an IPv6
/// next hop for IPv4 NLRI per RFC 8950).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NextHop {
    /// An IPv4 next hop (4 octets).
    V4(Ipv4Addr),
    /// An IPv6 next hop (16 octets, or 32 with a link-local address).
    V6 {
        /// Global address.
        global: Ipv6Addr,
        /// Link-local address, when the 32-octet form was sent.
        link_local: Option<Ipv6Addr>,
    },
}

/// AGGREGATOR (RFC 4271 §5.1.7) with a 4-octet AS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aggregator {
    /// The AS that formed the aggregate.
    pub asn: u32,
    /// The BGP identifier of the speaker that formed it.
    pub addr: Ipv4Addr,
}

/// A standard community (RFC 1997): `asn:value` packed in 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Community(pub u32);

impl Community {
    /// GRACEFUL_SHUTDOWN 65535:0 (RFC 8326).
    pub const GRACEFUL_SHUTDOWN: Self = Self(0xFFFF_0000);
    /// BLACKHOLE 65535:666 (RFC 7999).
    pub const BLACKHOLE: Self = Self(0xFFFF_029A);
    /// NO_EXPORT (RFC 1997).
    pub const NO_EXPORT: Self = Self(0xFFFF_FF01);
    /// NO_ADVERTISE (RFC 1997).
    pub const NO_ADVERTISE: Self = Self(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED (RFC 1997).
    pub const NO_EXPORT_SUBCONFED: Self = Self(0xFFFF_FF03);
    /// NOPEER (RFC 3765).
    pub const NOPEER: Self = Self(0xFFFF_FF04);

    /// A community from its two 16-bit halves.
    #[must_use]
    pub const fn new(asn: u16, value: u16) -> Self {
        Self(((asn as u32) << 16) | value as u32)
    }

    /// The high 16 bits (conventionally an AS number).
    #[must_use]
    pub const fn asn(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The low 16 bits.
    #[must_use]
    pub const fn value(self) -> u16 {
        self.0 as u16
    }
}

impl std::fmt::Display for Community {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.asn(), self.value())
    }
}

/// A large community (RFC 8092): `global:local1:local2`, 3 × 32 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LargeCommunity {
    /// Global Administrator (an AS number).
    pub global: u32,
    /// Local Data Part 1.
    pub local1: u32,
    /// Local Data Part 2.
    pub local2: u32,
}

impl std::fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// An extended community (RFC 4360 §2): 8 octets, type first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExtCommunity(pub [u8; 8]);

/// An IPv6 address specific extended community (RFC 5701 §2): 20 octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ipv6ExtCommunity(pub [u8; 20]);

/// An attribute this crate does not interpret, kept as received.
///
/// Optional transitive ones are passed on with the Partial bit set
/// (RFC 4271 §5); optional non-transitive ones are dropped on receipt by
/// [`drop_non_transitive_unknown`], which rampartd calls on every UPDATE
/// before interning its set (the encoder itself writes whatever is here).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawAttribute {
    /// Flags octet as received, except the Extended Length bit, which is a
    /// framing detail: it is cleared on decode and recomputed on encode.
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value octets.
    pub value: Box<[u8]>,
}

/// One route's path attributes, owned, with 4-octet AS numbers throughout.
///
/// MP_REACH_NLRI / MP_UNREACH_NLRI are not part of the set: they carry NLRI.
/// For routes learned from MP_REACH_NLRI, [`next_hop`](Self::next_hop) holds
/// the MP next hop. Attributes most routes lack are in [`rare`](Self::rare),
/// out of line: a set is stored once per distinct set, and most sets have
/// none of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PathAttributes {
    /// ORIGIN; `None` only while the set is incomplete (a mandatory attribute
    /// missing makes the UPDATE treat-as-withdraw, RFC 7606 §3 d).
    pub origin: Option<Origin>,
    /// AS_PATH (merged with AS4_PATH when the session is 2-octet).
    pub as_path: AsPath,
    /// NEXT_HOP or MP_REACH_NLRI next hop.
    pub next_hop: Option<NextHop>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// COMMUNITIES, in received order.
    pub communities: ThinVec<Community>,
    /// LARGE_COMMUNITY, in received order.
    pub large_communities: ThinVec<LargeCommunity>,
    /// The attributes few routes carry: read them through it
    /// (`attrs.rare.originator_id`); writing one allocates the group.
    pub rare: Rare,
}

/// Path attributes that most routes do not carry, kept out of line by
/// [`Rare`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct RareAttributes {
    /// ATOMIC_AGGREGATE present (RFC 4271 §5.1.6).
    pub atomic_aggregate: bool,
    /// AGGREGATOR (RFC 4271 §5.1.7), merged with AS4_AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// EXTENDED COMMUNITIES (RFC 4360), in received order.
    pub ext_communities: ThinVec<ExtCommunity>,
    /// IPv6 address specific extended communities (RFC 5701), in received
    /// order.
    pub ipv6_ext_communities: ThinVec<Ipv6ExtCommunity>,
    /// ORIGINATOR_ID (RFC 4456 §8).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456 §8), nearest cluster first.
    pub cluster_list: ThinVec<Ipv4Addr>,
    /// Only to Customer (RFC 9234 §5): an AS number.
    pub otc: Option<u32>,
    /// Attributes not interpreted here, in received order.
    pub unknown: ThinVec<RawAttribute>,
}

/// What an absent [`Rare`] reads as.
static NO_RARE: RareAttributes = RareAttributes {
    atomic_aggregate: false,
    aggregator: None,
    ext_communities: ThinVec::new(),
    ipv6_ext_communities: ThinVec::new(),
    originator_id: None,
    cluster_list: ThinVec::new(),
    otc: None,
    unknown: ThinVec::new(),
};

/// [`RareAttributes`] behind a pointer that is null while every one of them
/// is absent: 8 bytes in [`PathAttributes`] instead of 64.
///
/// Reads (`Deref`) see the defaults when nothing is stored; a write
/// (`DerefMut`) allocates the group first. Equality, hashing and order are
/// those of the contents, so a group written back to its defaults equals
/// an absent one; [`Rare::compact`] frees such a group.
#[derive(Clone, Default)]
pub struct Rare(Option<Box<RareAttributes>>);

impl Rare {
    /// Frees the group when every attribute in it is absent.
    pub fn compact(&mut self) {
        if self.0.as_deref().is_some_and(|r| *r == NO_RARE) {
            self.0 = None;
        }
    }

    /// The stored group, `None` while nothing is stored (no allocation).
    pub fn stored_mut(&mut self) -> Option<&mut RareAttributes> {
        self.0.as_deref_mut()
    }

    /// Removes ORIGINATOR_ID and CLUSTER_LIST, which are internal to an AS
    /// (RFC 4456 §8); true when either was present. Allocates nothing when
    /// no group is stored.
    pub fn take_reflection(&mut self) -> bool {
        self.stored_mut().is_some_and(|r| {
            r.originator_id.take().is_some() | !std::mem::take(&mut r.cluster_list).is_empty()
        })
    }

    /// True when a group is allocated.
    #[must_use]
    pub const fn is_stored(&self) -> bool {
        self.0.is_some()
    }
}

impl From<RareAttributes> for Rare {
    /// Stores `r`, or nothing when every attribute in it is absent.
    fn from(r: RareAttributes) -> Self {
        let mut rare = Self(Some(Box::new(r)));
        rare.compact();
        rare
    }
}

impl std::ops::Deref for Rare {
    type Target = RareAttributes;
    fn deref(&self) -> &RareAttributes {
        self.0.as_deref().unwrap_or(&NO_RARE)
    }
}

impl std::ops::DerefMut for Rare {
    fn deref_mut(&mut self) -> &mut RareAttributes {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for Rare {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Rare {}

impl std::hash::Hash for Rare {
    /// An absent group (and a stored one left at its defaults, which is
    /// equal to it) hashes as one byte: most sets have none, and hashing
    /// the defaults field by field was a dozen writes per set.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self.0.as_deref() {
            Some(r) if *r != NO_RARE => {
                state.write_u8(1);
                r.hash(state);
            }
            _ => state.write_u8(0),
        }
    }
}

impl PartialOrd for Rare {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rare {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (**self).cmp(&**other)
    }
}

impl std::fmt::Debug for Rare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}
