//! Decoding the path attribute section of an UPDATE ([RFC 4271 §4.3]) with
//! the revised error handling of [RFC 7606 §3] and §7.
//!
//! [RFC 4271 §4.3]: https://www.rfc-editor.org/rfc/rfc4271#section-4.3
//! [RFC 7606 §3]: https://www.rfc-editor.org/rfc/rfc7606#section-3
//!
//! ```text
//! +-----------------+-----------------+------------------------+---------+
//! | Attr. Flags (1) | Attr. Type (1)  | Length (1, or 2 if the | Value   |
//! |  O T P E 0000   |                 | Extended Length bit E) |         |
//! +-----------------+-----------------+------------------------+---------+
//! ```

use std::net::Ipv4Addr;

use super::{
    Aggregator, AsPath, Community, ExtCommunity, Ipv6ExtCommunity, LargeCommunity, NextHop, Origin,
    PathAttributes, RawAttribute, ThinVec, as_path, mp,
};
use crate::ctx::DecodeCtx;
use crate::iana::{AS_TRANS, AttrType, attr_flags};
use crate::msg::update::error::Report;
use crate::msg::update::{MpReach, MpUnreach, Treatment, UpdateError};

/// Which shape MP_REACH_NLRI has in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MpReachForm {
    /// The UPDATE form (RFC 4760 §3): AFI, SAFI, next hop, reserved, NLRI.
    #[default]
    Full,
    /// The TABLE_DUMP_V2 RIB entry form (RFC 6396 §4.3.4): next hop length
    /// and next hop only; the NLRI is in the RIB record. On decode the
    /// family is guessed from the next hop length (4 octets: IPv4 unicast,
    /// else IPv6 unicast): the MRT reader sets it from the RIB subtype.
    MrtAbbreviated,
}

/// The result of decoding an attribute section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttrsDecoded {
    /// Every attribute except MP_REACH_NLRI / MP_UNREACH_NLRI, AS4 merged.
    /// Attributes dropped by attribute-discard (or malformed ones under
    /// treat-as-withdraw) are absent; the rest is as decoded. Unlike
    /// [`Update::decode`](crate::msg::update::Update::decode), no treatment
    /// is applied here: the caller withdraws when `withdraw` is set.
    pub attrs: PathAttributes,
    /// MP_REACH_NLRI, unless absent or malformed (its family is then in an
    /// error, see [`UpdateError::family`]).
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI, unless absent or malformed.
    pub mp_unreach: Option<MpUnreach>,
    /// The strongest treatment any error called for; never
    /// [`Treatment::SessionReset`] (that is returned as `Err`).
    pub treatment: Treatment,
    /// Every error found, in order.
    pub errors: Vec<UpdateError>,
    /// True when some error calls for treat-as-withdraw (the treatment may
    /// still read AFI/SAFI disable, which ranks higher but concerns one
    /// family).
    pub withdraw: bool,
}

/// One attribute as framed in the buffer, not yet interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrView<'a> {
    /// Flags octet.
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value octets.
    pub value: &'a [u8],
    /// The whole attribute: flags, type, length and value.
    pub raw: &'a [u8],
    /// Offset of the flags octet from the start of the decoder's buffer.
    pub offset: usize,
}

/// Walks the attributes of a section, checking each one's bounds.
///
/// Yields `Err(AttributeOverrun)` once when an attribute header or value
/// overruns the section (RFC 7606 §4), then stops.
#[derive(Debug, Clone)]
pub struct AttrIter<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> AttrIter<'a> {
    /// Walks `buf`; offsets in errors and views are `base` + position.
    #[must_use]
    pub const fn new(buf: &'a [u8], base: usize) -> Self {
        Self { buf, pos: 0, base }
    }

    fn step(&mut self) -> Option<Result<AttrView<'a>, UpdateError>> {
        let rest = self.buf.get(self.pos..).filter(|r| !r.is_empty())?;
        let offset = self.base + self.pos;
        let overrun = UpdateError::AttributeOverrun { offset };
        let view = match *rest {
            [flags, type_code, ref tail @ ..] => {
                let (len, hdr) = if flags & attr_flags::EXTENDED_LENGTH != 0 {
                    match tail {
                        [a, b, ..] => (usize::from(u16::from_be_bytes([*a, *b])), 4),
                        _ => return Some(Err(overrun)),
                    }
                } else {
                    match tail {
                        [a, ..] => (usize::from(*a), 3),
                        _ => return Some(Err(overrun)),
                    }
                };
                let (Some(value), Some(raw)) = (rest.get(hdr..hdr + len), rest.get(..hdr + len))
                else {
                    return Some(Err(overrun));
                };
                AttrView {
                    flags,
                    type_code,
                    value,
                    raw,
                    offset,
                }
            }
            _ => return Some(Err(overrun)),
        };
        self.pos += view.raw.len();
        Some(Ok(view))
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<AttrView<'a>, UpdateError>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = self.step();
        if matches!(r, Some(Err(_))) {
            self.pos = self.buf.len();
        }
        r
    }
}

/// Expected Optional and Transitive bits per type (RFC 4271 §5, RFC 4760,
/// RFC 1997, RFC 4360, RFC 4456, RFC 5701, RFC 6793, RFC 8092, RFC 9234).
const fn expected_flags(t: AttrType) -> Option<u8> {
    const WELL_KNOWN: u8 = attr_flags::TRANSITIVE;
    const OPT_NON_TRANS: u8 = attr_flags::OPTIONAL;
    const OPT_TRANS: u8 = attr_flags::OPTIONAL | attr_flags::TRANSITIVE;
    match t {
        AttrType::Origin
        | AttrType::AsPath
        | AttrType::NextHop
        | AttrType::LocalPref
        | AttrType::AtomicAggregate => Some(WELL_KNOWN),
        AttrType::Med
        | AttrType::OriginatorId
        | AttrType::ClusterList
        | AttrType::MpReachNlri
        | AttrType::MpUnreachNlri => Some(OPT_NON_TRANS),
        AttrType::Aggregator
        | AttrType::Communities
        | AttrType::ExtCommunities
        | AttrType::As4Path
        | AttrType::As4Aggregator
        | AttrType::Ipv6ExtCommunities
        | AttrType::LargeCommunities
        | AttrType::Otc => Some(OPT_TRANS),
        _ => None,
    }
}

/// Treatment of a malformed (bad length or flags) attribute of type `t`.
const fn malformed_treatment(t: AttrType) -> Treatment {
    match t {
        // "An UPDATE message with a malformed ATOMIC_AGGREGATE attribute
        // SHALL be handled using the approach of "attribute discard"."
        // (RFC 7606 §7.6); the same for AGGREGATOR (§7.7).
        AttrType::AtomicAggregate | AttrType::Aggregator => Treatment::AttributeDiscard,
        // RFC 6793 §6: a malformed AS4_PATH / AS4_AGGREGATOR is discarded.
        AttrType::As4Path | AttrType::As4Aggregator => Treatment::AttributeDiscard,
        _ => Treatment::TreatAsWithdraw,
    }
}

/// Decodes a path attribute section (the bytes after Total Path Attribute
/// Length), for UPDATE messages and for MRT RIB entries.
///
/// Errors that RFC 7606 handles by treat-as-withdraw, attribute-discard or
/// AFI/SAFI disable are reported in [`AttrsDecoded`]; the missing
/// well-known attribute check is not done here (it depends on the NLRI,
/// see [`missing_well_known`]).
///
/// # Errors
/// The first error that requires a session reset: a duplicate
/// MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 7606 §3 g), an unrecognized
/// well-known attribute (RFC 4271 §6.3), or an MP attribute too short to
/// name its family (RFC 7606 §5.2).
pub fn decode_path_attributes(
    buf: &[u8],
    ctx: &DecodeCtx,
    form: MpReachForm,
) -> Result<AttrsDecoded, UpdateError> {
    let mut report = Report::default();
    let d = decode_section(buf, 0, ctx, form, &mut report);
    if let Some(e) = report.fatal {
        return Err(e);
    }
    Ok(AttrsDecoded {
        attrs: d.attrs,
        mp_reach: d.mp_reach,
        mp_unreach: d.mp_unreach,
        treatment: report.treatment,
        errors: report.errors,
        withdraw: report.withdraw,
    })
}

/// Checks for well-known mandatory attributes (RFC 4271 §5: ORIGIN,
/// AS_PATH, and NEXT_HOP when the NLRI field is not empty; RFC 4760 §3
/// makes NEXT_HOP unneeded for MP_REACH_NLRI-only updates).
///
/// "If any of the well-known mandatory attributes are not present in an
/// UPDATE message, then "treat-as-withdraw" MUST be used." (RFC 7606 §3 d)
/// Only UPDATEs that announce something are checked: call with
/// `nlri_field` true when the NLRI field is not empty and `mp_nlri` true
/// when MP_REACH_NLRI carries NLRI. `as_path_seen` is false when no AS_PATH
/// attribute was received (an empty AS_PATH is valid).
#[must_use]
pub fn missing_well_known(
    attrs: &PathAttributes,
    as_path_seen: bool,
    nlri_field: bool,
    mp_nlri: bool,
) -> Option<UpdateError> {
    if !nlri_field && !mp_nlri {
        return None;
    }
    let missing = if attrs.origin.is_none() {
        AttrType::Origin
    } else if !as_path_seen {
        AttrType::AsPath
    } else if nlri_field && !matches!(attrs.next_hop, Some(NextHop::V4(_))) {
        AttrType::NextHop
    } else {
        return None;
    };
    Some(UpdateError::MissingWellKnown {
        type_code: missing.into(),
    })
}

/// Everything the section held.
#[derive(Debug, Default)]
pub(crate) struct Section {
    pub(crate) attrs: PathAttributes,
    pub(crate) mp_reach: Option<MpReach>,
    pub(crate) mp_unreach: Option<MpUnreach>,
    /// AS_PATH was present (and well-formed).
    pub(crate) as_path_seen: bool,
}

/// Walks and decodes `buf`; `base` is its offset in the caller's buffer.
pub(crate) fn decode_section(
    buf: &[u8],
    base: usize,
    ctx: &DecodeCtx,
    form: MpReachForm,
    report: &mut Report,
) -> Section {
    let mut d = Decoder {
        ctx,
        form,
        report,
        seen: [0; 4],
        out: Section::default(),
        as4_path: None,
        as4_aggregator: None,
    };
    for a in AttrIter::new(buf, base) {
        match a {
            Ok(a) => d.attribute(&a),
            Err(e) => {
                // "In either of these cases, an error condition exists and
                // the "treat-as-withdraw" approach MUST be used" (RFC 7606 §4)
                d.report.push(Treatment::TreatAsWithdraw, e);
            }
        }
    }
    d.finish()
}

struct Decoder<'c, 'r> {
    ctx: &'c DecodeCtx,
    form: MpReachForm,
    report: &'r mut Report,
    /// Type codes seen, a 256-bit set.
    seen: [u64; 4],
    out: Section,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
}

impl Decoder<'_, '_> {
    fn fail(&mut self, t: Treatment, e: UpdateError) {
        self.report.push(t, e);
    }

    fn length_error(&mut self, a: &AttrView<'_>) {
        let e = UpdateError::AttributeLength {
            offset: a.offset,
            type_code: a.type_code,
            data: a.raw.to_vec(),
        };
        self.fail(malformed_treatment(a.type_code.into()), e);
    }

    /// Marks `type_code` seen; false when it already was.
    fn first_time(&mut self, type_code: u8) -> bool {
        let (word, bit) = (usize::from(type_code / 64), 1u64 << (type_code % 64));
        match self.seen.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }

    fn attribute(&mut self, a: &AttrView<'_>) {
        let t = AttrType::from(a.type_code);
        if !self.first_time(a.type_code) {
            let e = UpdateError::DuplicateAttribute {
                offset: a.offset,
                type_code: a.type_code,
            };
            // "If the MP_REACH_NLRI attribute or the MP_UNREACH_NLRI
            // attribute appears more than once in the UPDATE message, then
            // a NOTIFICATION message MUST be sent with the Error Subcode
            // "Malformed Attribute List". If any other attribute (whether
            // recognized or unrecognized) appears more than once in an
            // UPDATE message, then all the occurrences of the attribute
            // other than the first one SHALL be discarded and the UPDATE
            // message will continue to be processed." (RFC 7606 §3 g)
            let treatment = if matches!(t, AttrType::MpReachNlri | AttrType::MpUnreachNlri) {
                Treatment::SessionReset
            } else {
                Treatment::AttributeDiscard
            };
            self.fail(treatment, e);
            return;
        }
        if let Some(expected) = expected_flags(t) {
            let bits = a.flags & (attr_flags::OPTIONAL | attr_flags::TRANSITIVE);
            if bits != expected {
                // "If the value of either the Optional or Transitive bits in
                // the Attribute Flags is in conflict with their specified
                // values, then the attribute MUST be treated as malformed and
                // the "treat-as-withdraw" approach used, unless the
                // specification for the attribute mandates different handling
                // for incorrect Attribute Flags." (RFC 7606 §3 c)
                let e = UpdateError::AttributeFlags {
                    offset: a.offset,
                    type_code: a.type_code,
                    flags: a.flags,
                    data: a.raw.to_vec(),
                };
                self.fail(malformed_treatment(t), e);
                // MP attributes are still read so their NLRI can be
                // withdrawn; the others are dropped.
                if !matches!(t, AttrType::MpReachNlri | AttrType::MpUnreachNlri) {
                    return;
                }
            }
        }
        self.dispatch(t, a);
    }

    fn dispatch(&mut self, t: AttrType, a: &AttrView<'_>) {
        let v = a.value;
        let attrs = &mut self.out.attrs;
        match t {
            AttrType::Origin => self.origin(a),
            AttrType::AsPath => self.as_path(a),
            AttrType::NextHop => match <[u8; 4]>::try_from(v) {
                // RFC 7606 §7.3: a NEXT_HOP of the wrong length is handled
                // by treat-as-withdraw. Semantic checks (own address,
                // martians) need the session and belong to import.
                Ok(b) => attrs.next_hop = Some(NextHop::V4(Ipv4Addr::from(b))),
                Err(_) => self.length_error(a),
            },
            // RFC 7606 §7.4 (MED), §7.5 (LOCAL_PREF), §7.9 (ORIGINATOR_ID),
            // RFC 9234 §5 (OTC): a length other than 4 is treat-as-withdraw.
            AttrType::Med => self.u32_attr(a, |s, x| s.med = Some(x)),
            AttrType::LocalPref => self.u32_attr(a, |s, x| s.local_pref = Some(x)),
            AttrType::OriginatorId => {
                self.u32_attr(a, |s, x| s.rare.originator_id = Some(Ipv4Addr::from(x)));
            }
            AttrType::Otc => self.u32_attr(a, |s, x| s.rare.otc = Some(x)),
            // "The ATOMIC_AGGREGATE attribute SHALL be considered malformed
            // if its length is not 0" (RFC 7606 §7.6): attribute discard.
            AttrType::AtomicAggregate if v.is_empty() => attrs.rare.atomic_aggregate = true,
            AttrType::AtomicAggregate => self.length_error(a),
            AttrType::Aggregator => self.aggregator(a),
            AttrType::As4Aggregator => self.as4_aggregator(a),
            AttrType::As4Path => self.as4_path(a),
            AttrType::Communities => self.list(
                a,
                |s| &mut s.communities,
                |c: &[u8; 4]| Community(u32::from_be_bytes(*c)),
            ),
            AttrType::ExtCommunities => {
                self.list(a, |s| &mut s.rare.ext_communities, |c| ExtCommunity(*c));
            }
            AttrType::Ipv6ExtCommunities => self.list(
                a,
                |s| &mut s.rare.ipv6_ext_communities,
                |c| Ipv6ExtCommunity(*c),
            ),
            AttrType::LargeCommunities => self.list(
                a,
                |s| &mut s.large_communities,
                |c: &[u8; 12]| {
                    let w = |i: usize| {
                        let mut b = [0u8; 4];
                        b.copy_from_slice(c.get(i..i + 4).unwrap_or(&[0; 4]));
                        u32::from_be_bytes(b)
                    };
                    LargeCommunity {
                        global: w(0),
                        local1: w(4),
                        local2: w(8),
                    }
                },
            ),
            AttrType::ClusterList => {
                self.list(a, |s| &mut s.rare.cluster_list, |c| Ipv4Addr::from(*c));
            }
            AttrType::MpReachNlri => self.mp_reach(a),
            AttrType::MpUnreachNlri => self.mp_unreach(a),
            _ => self.unknown(a),
        }
    }

    fn origin(&mut self, a: &AttrView<'_>) {
        // "If the ORIGIN attribute has an undefined value, then it MUST be
        // treated as malformed and the "treat-as-withdraw" approach used."
        // (RFC 7606 §7.1) A bad length is likewise treat-as-withdraw.
        match a.value {
            [0] => self.out.attrs.origin = Some(Origin::Igp),
            [1] => self.out.attrs.origin = Some(Origin::Egp),
            [2] => self.out.attrs.origin = Some(Origin::Incomplete),
            [_] => {
                let e = UpdateError::InvalidOrigin {
                    offset: a.offset,
                    data: a.raw.to_vec(),
                };
                self.fail(Treatment::TreatAsWithdraw, e);
            }
            _ => self.length_error(a),
        }
    }

    fn as_path(&mut self, a: &AttrView<'_>) {
        // "An AS_PATH is considered malformed if an unrecognized segment
        // type is encountered or if it contains a malformed segment. [...]
        // An UPDATE message with a malformed AS_PATH attribute SHALL be
        // handled using the approach of "treat-as-withdraw"."
        // (RFC 7606 §7.2)
        match as_path::decode(a.value, self.ctx.four_octet_as) {
            Some(p) => {
                self.out.attrs.as_path = p;
                self.out.as_path_seen = true;
            }
            None => {
                let e = UpdateError::MalformedAsPath {
                    offset: a.offset,
                    type_code: a.type_code,
                };
                self.fail(Treatment::TreatAsWithdraw, e);
            }
        }
    }

    fn as4_path(&mut self, a: &AttrView<'_>) {
        if self.ctx.four_octet_as {
            // A NEW speaker ignores AS4_PATH from another NEW speaker
            // (RFC 6793 §4.1: it "MUST NOT" be sent between them).
            return;
        }
        match as_path::decode(a.value, true) {
            Some(p) => self.as4_path = Some(p),
            None => {
                // RFC 6793 §6: a malformed AS4_PATH is discarded.
                let e = UpdateError::MalformedAsPath {
                    offset: a.offset,
                    type_code: a.type_code,
                };
                self.fail(Treatment::AttributeDiscard, e);
            }
        }
    }

    fn u32_attr(&mut self, a: &AttrView<'_>, set: impl FnOnce(&mut PathAttributes, u32)) {
        match <[u8; 4]>::try_from(a.value) {
            Ok(b) => set(&mut self.out.attrs, u32::from_be_bytes(b)),
            Err(_) => self.length_error(a),
        }
    }

    fn aggregator(&mut self, a: &AttrView<'_>) {
        // "The error handling of [RFC4271] is revised as follows: The
        // AGGREGATOR attribute SHALL be considered malformed if any of the
        // following applies: Its length is not 6 (when the 4-octet AS number
        // capability is not advertised to or not received from the peer).
        // Its length is not 8 (when the 4-octet AS number capability is both
        // advertised to and received from the peer). An UPDATE message with
        // a malformed AGGREGATOR attribute SHALL be handled using the
        // approach of "attribute discard"." (RFC 7606 §7.7)
        let agg = match (self.ctx.four_octet_as, a.value) {
            (true, &[a0, a1, a2, a3, b0, b1, b2, b3]) => Some(Aggregator {
                asn: u32::from_be_bytes([a0, a1, a2, a3]),
                addr: Ipv4Addr::new(b0, b1, b2, b3),
            }),
            (false, &[a0, a1, b0, b1, b2, b3]) => Some(Aggregator {
                asn: u32::from(u16::from_be_bytes([a0, a1])),
                addr: Ipv4Addr::new(b0, b1, b2, b3),
            }),
            _ => None,
        };
        match agg {
            Some(agg) => self.out.attrs.rare.aggregator = Some(agg),
            None => self.length_error(a),
        }
    }

    fn as4_aggregator(&mut self, a: &AttrView<'_>) {
        if self.ctx.four_octet_as {
            return;
        }
        match a.value {
            &[a0, a1, a2, a3, b0, b1, b2, b3] => {
                self.as4_aggregator = Some(Aggregator {
                    asn: u32::from_be_bytes([a0, a1, a2, a3]),
                    addr: Ipv4Addr::new(b0, b1, b2, b3),
                });
            }
            _ => self.length_error(a),
        }
    }

    /// A list of fixed-size items. "SHALL be considered malformed if its
    /// length is not a non-zero multiple of N" and then handled with
    /// treat-as-withdraw: COMMUNITIES (RFC 7606 §7.8), CLUSTER_LIST
    /// (§7.10), EXTENDED COMMUNITIES (§7.14), IPv6 address specific
    /// extended communities (§7.15), LARGE_COMMUNITY (RFC 8092 §6).
    /// Appends the `N`-octet items of a list attribute to the vector
    /// `field` picks, reserved to the exact count first: a stored set keeps
    /// its vectors without slack ([`Interner::intern`] shrinks them), and
    /// growing one item at a time would copy a long list several times.
    ///
    /// [`Interner::intern`]: crate::rib::Interner::intern
    fn list<const N: usize, T>(
        &mut self,
        a: &AttrView<'_>,
        field: impl FnOnce(&mut PathAttributes) -> &mut ThinVec<T>,
        item: impl Fn(&[u8; N]) -> T,
    ) {
        let (items, rest) = a.value.as_chunks::<N>();
        if items.is_empty() || !rest.is_empty() {
            self.length_error(a);
            return;
        }
        let v = field(&mut self.out.attrs);
        v.reserve_exact(items.len());
        v.extend(items.iter().map(item));
    }

    fn unknown(&mut self, a: &AttrView<'_>) {
        if a.flags & attr_flags::OPTIONAL == 0 {
            // "If any of the well-known mandatory attributes are not
            // recognized, then the Error Subcode MUST be set to
            // Unrecognized Well-known Attribute." (RFC 4271 §6.3; not
            // revised by RFC 7606, so the session is reset.)
            let e = UpdateError::UnrecognizedWellKnown {
                offset: a.offset,
                type_code: a.type_code,
                data: a.raw.to_vec(),
            };
            self.fail(Treatment::SessionReset, e);
            return;
        }
        self.out.attrs.rare.unknown.push(RawAttribute {
            flags: a.flags & !attr_flags::EXTENDED_LENGTH,
            type_code: a.type_code,
            value: a.value.into(),
        });
    }

    fn mp_error(&mut self, a: &AttrView<'_>, f: mp::MpFault) {
        let (t, e) = f.into_error(a);
        self.fail(t, e);
    }

    fn mp_reach(&mut self, a: &AttrView<'_>) {
        let parsed = match self.form {
            MpReachForm::Full => mp::parse_reach(a.value, self.ctx),
            MpReachForm::MrtAbbreviated => mp::parse_reach_abbreviated(a.value, self.ctx),
        };
        match parsed {
            Ok(p) => {
                self.out.mp_reach = Some(MpReach {
                    family: p.family,
                    next_hop: p.next_hop,
                    nlri: mp::collect(p.nlri, p.count),
                });
            }
            Err(f) => self.mp_error(a, f),
        }
    }

    fn mp_unreach(&mut self, a: &AttrView<'_>) {
        match mp::parse_unreach(a.value, self.ctx) {
            Ok((family, nlri, count)) => {
                self.out.mp_unreach = Some(MpUnreach {
                    family,
                    withdrawn: mp::collect(nlri, count),
                });
            }
            Err(f) => self.mp_error(a, f),
        }
    }

    fn finish(mut self) -> Section {
        if !self.ctx.four_octet_as {
            self.merge_as4();
        }
        self.out
    }

    /// RFC 6793 §4.2.3 on a 2-octet session.
    fn merge_as4(&mut self) {
        let attrs = &mut self.out.attrs;
        let mut use_as4_path = true;
        if let Some(a4) = self.as4_aggregator {
            match attrs.rare.aggregator {
                // "If the AGGREGATOR attribute contains an AS number other
                // than AS_TRANS, then: [...] the AS4_AGGREGATOR attribute and
                // the AS4_PATH attribute SHALL be ignored"
                Some(agg) if agg.asn != u32::from(AS_TRANS) => use_as4_path = false,
                // "If the AGGREGATOR attribute contains AS_TRANS, then [...]
                // the AS4_AGGREGATOR attribute SHALL be used"
                Some(_) => attrs.rare.aggregator = Some(a4),
                None => {}
            }
        }
        if use_as4_path && let Some(p4) = &self.as4_path {
            attrs.as_path = as_path::merge_as4(&attrs.as_path, p4);
        }
    }
}
