//! Encoding the path attribute section ([RFC 4271 §4.3]).
//!
//! [RFC 4271 §4.3]: https://www.rfc-editor.org/rfc/rfc4271#section-4.3
//!
//! MP_REACH_NLRI and MP_UNREACH_NLRI come first, as RFC 7606 §5.1 asks;
//! every other attribute follows in ascending type code order. The
//! Extended Length bit is set only when a value is longer than 255 octets.
//! On a 2-octet session AS numbers above 65535 are written as AS_TRANS and
//! AS4_PATH / AS4_AGGREGATOR carry the real ones (RFC 6793 §4.2.2).

use bytes::{BufMut, BytesMut};
use smallvec::SmallVec;

use super::{NextHop, PathAttributes, RawAttribute, as_path, mp};
use crate::ctx::EncodeCtx;
use crate::iana::{AS_TRANS, AttrType, attr_flags};
use crate::msg::update::{EncodeError, MpReach, MpUnreach};

use super::section::MpReachForm;

const WELL_KNOWN: u8 = attr_flags::TRANSITIVE;
const OPT_NON_TRANS: u8 = attr_flags::OPTIONAL;
const OPT_TRANS: u8 = attr_flags::OPTIONAL | attr_flags::TRANSITIVE;

/// Known attributes written from [`PathAttributes`], in type code order.
const KNOWN: [AttrType; 15] = [
    AttrType::Origin,
    AttrType::AsPath,
    AttrType::NextHop,
    AttrType::Med,
    AttrType::LocalPref,
    AttrType::AtomicAggregate,
    AttrType::Aggregator,
    AttrType::Communities,
    AttrType::OriginatorId,
    AttrType::ClusterList,
    AttrType::ExtCommunities,
    AttrType::As4Path,
    AttrType::As4Aggregator,
    AttrType::Ipv6ExtCommunities,
    AttrType::LargeCommunities,
];

/// Drops optional non-transitive attributes this crate does not know from
/// `attrs.rare.unknown`; true when there was one.
///
/// "If a path with an unrecognized non-transitive optional attribute is
/// accepted and passed to other BGP peers, then the unrecognized
/// non-transitive optional attribute MUST be quietly ignored and not
/// passed along to other BGP peers." (RFC 4271 §5) rampartd calls this on
/// every UPDATE it receives, before the set is interned: what no peer may
/// be sent is not stored either. The decoder and encoder keep them, so
/// that MRT readers and writers and round trips see what was on the wire.
/// Allocates nothing when `attrs` holds no rare attribute.
pub fn drop_non_transitive_unknown(attrs: &mut PathAttributes) -> bool {
    attrs.rare.stored_mut().is_some_and(|r| {
        let before = r.unknown.len();
        r.unknown.retain(|a| a.flags & attr_flags::TRANSITIVE != 0);
        r.unknown.len() != before
    })
}

/// Writes an attribute header for a value of `len` octets.
fn put_header(out: &mut BytesMut, flags: u8, type_code: u8, len: usize) -> Result<(), EncodeError> {
    let flags = flags & !attr_flags::EXTENDED_LENGTH;
    if let Ok(l) = u8::try_from(len) {
        out.put_slice(&[flags, type_code, l]);
    } else if let Ok(l) = u16::try_from(len) {
        out.put_slice(&[flags | attr_flags::EXTENDED_LENGTH, type_code]);
        out.put_u16(l);
    } else {
        return Err(EncodeError::AttributeTooLong { type_code, len });
    }
    Ok(())
}

/// Writes a whole MP_REACH_NLRI attribute.
pub(crate) fn put_mp_reach(
    m: &MpReach,
    ctx: &EncodeCtx,
    form: MpReachForm,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let code = AttrType::MpReachNlri.into();
    let nh_len = mp::next_hop_len(&m.next_hop);
    if form == MpReachForm::MrtAbbreviated {
        put_header(out, OPT_NON_TRANS, code, 1 + nh_len)?;
        #[allow(clippy::cast_possible_truncation)] // 4, 16 or 32
        out.put_u8(nh_len as u8);
        mp::put_next_hop(&m.next_hop, out);
        return Ok(());
    }
    let add_path = ctx.add_path(m.family);
    let len = 5 + nh_len + mp::nlri_len(&m.nlri, add_path);
    put_header(out, OPT_NON_TRANS, code, len)?;
    out.put_u16(m.family.afi.into());
    out.put_u8(m.family.safi.into());
    #[allow(clippy::cast_possible_truncation)] // 4, 16 or 32
    out.put_u8(nh_len as u8);
    mp::put_next_hop(&m.next_hop, out);
    out.put_u8(0);
    mp::put_nlri(&m.nlri, add_path, out);
    Ok(())
}

/// Writes a whole MP_UNREACH_NLRI attribute.
pub(crate) fn put_mp_unreach(
    m: &MpUnreach,
    ctx: &EncodeCtx,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let add_path = ctx.add_path(m.family);
    let len = 3 + mp::nlri_len(&m.withdrawn, add_path);
    put_header(out, OPT_NON_TRANS, AttrType::MpUnreachNlri.into(), len)?;
    out.put_u16(m.family.afi.into());
    out.put_u8(m.family.safi.into());
    mp::put_nlri(&m.withdrawn, add_path, out);
    Ok(())
}

/// Encodes a path attribute section: `mp_unreach` and `mp_reach` first
/// (RFC 7606 §5.1), then `attrs` in ascending type code order.
///
/// `attrs.next_hop` is written as NEXT_HOP only when it is IPv4: an IPv6
/// next hop travels in MP_REACH_NLRI. Unknown attributes are written as
/// held, with the Partial bit set on optional transitive ones ("If an
/// optional transitive attribute is unrecognized, the Partial bit in the
/// attribute flags octet is set to 1", RFC 4271 §5); a speaker drops the
/// non-transitive ones on receipt ([`drop_non_transitive_unknown`]).
///
/// # Errors
/// [`EncodeError::AttributeTooLong`] when a value exceeds 65535 octets.
pub fn encode_path_attributes(
    attrs: &PathAttributes,
    mp_reach: Option<&MpReach>,
    mp_unreach: Option<&MpUnreach>,
    ctx: &EncodeCtx,
    form: MpReachForm,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    if let Some(m) = mp_reach {
        put_mp_reach(m, ctx, form, out)?;
    }
    if let Some(m) = mp_unreach {
        put_mp_unreach(m, ctx, out)?;
    }
    if attrs.rare.unknown.is_empty() {
        // The common case, nothing to interleave: each known attribute in
        // turn by a call of its own, which the compiler specializes, where
        // the loop below dispatches on the type (an indirect jump that
        // mispredicts, about a tenth of an UPDATE's encoding).
        return put_all_known(attrs, ctx, out);
    }
    put_interleaved(attrs, ctx, out)
}

/// Writes the known attributes of `attrs` and its unknown ones between
/// them, all in ascending type code order.
pub(super) fn put_interleaved(
    attrs: &PathAttributes,
    ctx: &EncodeCtx,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let mut unknown: SmallVec<[&RawAttribute; 4]> = attrs.rare.unknown.iter().collect();
    unknown.sort_by_key(|a| a.type_code);
    let mut unknown = unknown.into_iter().peekable();
    for t in KNOWN.iter().copied().chain([AttrType::Otc]) {
        let code = u8::from(t);
        while let Some(u) = unknown.next_if(|u| u.type_code < code) {
            put_unknown(u, out)?;
        }
        put_known(t, attrs, ctx, out)?;
    }
    for u in unknown {
        put_unknown(u, out)?;
    }
    Ok(())
}

fn put_unknown(a: &RawAttribute, out: &mut BytesMut) -> Result<(), EncodeError> {
    let mut flags = a.flags;
    if flags & OPT_TRANS == OPT_TRANS {
        flags |= attr_flags::PARTIAL;
    }
    put_header(out, flags, a.type_code, a.value.len())?;
    out.put_slice(&a.value);
    Ok(())
}

fn put_u32(out: &mut BytesMut, flags: u8, t: AttrType, v: u32) -> Result<(), EncodeError> {
    put_header(out, flags, t.into(), 4)?;
    out.put_u32(v);
    Ok(())
}

fn put_list<T>(
    out: &mut BytesMut,
    t: AttrType,
    items: &[T],
    size: usize,
    mut put: impl FnMut(&T, &mut BytesMut),
) -> Result<(), EncodeError> {
    if items.is_empty() {
        return Ok(());
    }
    let flags = if t == AttrType::ClusterList {
        OPT_NON_TRANS
    } else {
        OPT_TRANS
    };
    put_header(out, flags, t.into(), items.len() * size)?;
    for i in items {
        put(i, out);
    }
    Ok(())
}

/// Writes every known attribute of `a` that is present, in type code
/// order ([`KNOWN`], then OTC), skipping the rare ones when `a` stores
/// none. Writes what [`put_interleaved`] writes when `a` has no unknown
/// attributes.
pub(super) fn put_all_known(
    a: &PathAttributes,
    ctx: &EncodeCtx,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let rare = a.rare.is_stored();
    put_known(AttrType::Origin, a, ctx, out)?;
    put_known(AttrType::AsPath, a, ctx, out)?;
    put_known(AttrType::NextHop, a, ctx, out)?;
    put_known(AttrType::Med, a, ctx, out)?;
    put_known(AttrType::LocalPref, a, ctx, out)?;
    if rare {
        put_known(AttrType::AtomicAggregate, a, ctx, out)?;
        put_known(AttrType::Aggregator, a, ctx, out)?;
    }
    put_known(AttrType::Communities, a, ctx, out)?;
    if rare {
        put_known(AttrType::OriginatorId, a, ctx, out)?;
        put_known(AttrType::ClusterList, a, ctx, out)?;
        put_known(AttrType::ExtCommunities, a, ctx, out)?;
    }
    put_known(AttrType::As4Path, a, ctx, out)?;
    if rare {
        put_known(AttrType::As4Aggregator, a, ctx, out)?;
        put_known(AttrType::Ipv6ExtCommunities, a, ctx, out)?;
    }
    put_known(AttrType::LargeCommunities, a, ctx, out)?;
    if rare {
        put_known(AttrType::Otc, a, ctx, out)?;
    }
    Ok(())
}

/// Writes known attribute `t` from `a`, if present.
#[inline(always)]
fn put_known(
    t: AttrType,
    a: &PathAttributes,
    ctx: &EncodeCtx,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let four = ctx.four_octet_as;
    match t {
        AttrType::Origin => {
            if let Some(o) = a.origin {
                put_header(out, WELL_KNOWN, t.into(), 1)?;
                out.put_u8(o as u8);
            }
        }
        // An empty AS_PATH is written for a real attribute set (iBGP
        // originated routes) but not for withdraw-only or End-of-RIB
        // updates, which have no ORIGIN either.
        AttrType::AsPath if a.origin.is_none() && a.as_path.is_empty() => {}
        AttrType::AsPath => {
            put_header(
                out,
                WELL_KNOWN,
                t.into(),
                as_path::encoded_len(&a.as_path, four, false),
            )?;
            as_path::encode(&a.as_path, four, false, out);
        }
        AttrType::NextHop => {
            if let Some(NextHop::V4(nh)) = a.next_hop {
                put_header(out, WELL_KNOWN, t.into(), 4)?;
                out.put_slice(&nh.octets());
            }
        }
        AttrType::Med => {
            if let Some(v) = a.med {
                put_u32(out, OPT_NON_TRANS, t, v)?;
            }
        }
        AttrType::LocalPref => {
            if let Some(v) = a.local_pref {
                put_u32(out, WELL_KNOWN, t, v)?;
            }
        }
        AttrType::AtomicAggregate if a.rare.atomic_aggregate => {
            put_header(out, WELL_KNOWN, t.into(), 0)?;
        }
        _ => put_optional(t, a, four, out)?,
    }
    Ok(())
}

/// The optional attributes of [`put_known`].
#[inline(always)]
fn put_optional(
    t: AttrType,
    a: &PathAttributes,
    four: bool,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    match t {
        AttrType::Aggregator => {
            if let Some(agg) = a.rare.aggregator {
                if four {
                    put_header(out, OPT_TRANS, t.into(), 8)?;
                    out.put_u32(agg.asn);
                } else {
                    put_header(out, OPT_TRANS, t.into(), 6)?;
                    out.put_u16(u16::try_from(agg.asn).unwrap_or(AS_TRANS));
                }
                out.put_slice(&agg.addr.octets());
            }
        }
        AttrType::Communities => {
            put_list(out, t, &a.communities, 4, |c, o| o.put_u32(c.0))?;
        }
        AttrType::OriginatorId => {
            if let Some(id) = a.rare.originator_id {
                put_u32(out, OPT_NON_TRANS, t, id.to_bits())?;
            }
        }
        AttrType::ClusterList => {
            put_list(out, t, &a.rare.cluster_list, 4, |c, o| {
                o.put_slice(&c.octets())
            })?;
        }
        AttrType::ExtCommunities => {
            put_list(out, t, &a.rare.ext_communities, 8, |c, o| o.put_slice(&c.0))?;
        }
        AttrType::As4Path if !four && as_path::needs_as4(&a.as_path) => {
            let len = as_path::encoded_len(&a.as_path, true, true);
            put_header(out, OPT_TRANS, t.into(), len)?;
            as_path::encode(&a.as_path, true, true, out);
        }
        AttrType::As4Aggregator => {
            if let Some(agg) = a.rare.aggregator.filter(|g| !four && g.asn > 0xFFFF) {
                put_header(out, OPT_TRANS, t.into(), 8)?;
                out.put_u32(agg.asn);
                out.put_slice(&agg.addr.octets());
            }
        }
        AttrType::Ipv6ExtCommunities => {
            put_list(out, t, &a.rare.ipv6_ext_communities, 20, |c, o| {
                o.put_slice(&c.0)
            })?;
        }
        AttrType::LargeCommunities => {
            put_list(out, t, &a.large_communities, 12, |c, o| {
                o.put_u32(c.global);
                o.put_u32(c.local1);
                o.put_u32(c.local2);
            })?;
        }
        AttrType::Otc => {
            if let Some(v) = a.rare.otc {
                put_u32(out, OPT_TRANS, t, v)?;
            }
        }
        _ => {}
    }
    Ok(())
}
