//! MP_REACH_NLRI and MP_UNREACH_NLRI ([RFC 4760 §3]–4), for IPv4 and IPv6
//! unicast and multicast, with IPv6 next hops of 16 or 32 octets
//! ([RFC 2545 §3]) and IPv6 next hops for IPv4 NLRI ([RFC 8950 §3]).
//!
//! [RFC 4760 §3]: https://www.rfc-editor.org/rfc/rfc4760#section-3
//! [RFC 2545 §3]: https://www.rfc-editor.org/rfc/rfc2545#section-3
//! [RFC 8950 §3]: https://www.rfc-editor.org/rfc/rfc8950#section-3
//!
//! ```text
//! MP_REACH_NLRI:  AFI (2) | SAFI (1) | NH len (1) | Next Hop | Reserved (1) | NLRI ...
//! MP_UNREACH_NLRI: AFI (2) | SAFI (1) | Withdrawn Routes ...
//! MRT abbreviated MP_REACH_NLRI (RFC 6396 §4.3.4): NH len (1) | Next Hop
//! ```

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BufMut;

use super::NextHop;
use super::section::AttrView;
use crate::ctx::DecodeCtx;
use crate::iana::{Afi, Safi};
use crate::msg::update::nlri_field::{self, NlriIter};
use crate::msg::update::{Treatment, UpdateError};
use crate::nlri::{AfiSafi, Nlri};

/// True for the families whose NLRI are plain prefixes this codec reads.
pub(crate) const fn family_supported(f: AfiSafi) -> bool {
    matches!(f.afi, Afi::Ipv4 | Afi::Ipv6) && matches!(f.safi, Safi::Unicast | Safi::Multicast)
}

/// Decodes a next hop of `bytes.len()` octets for `family`.
///
/// "The value of the Length of Next Hop Network Address field on a
/// MP_REACH_NLRI attribute shall be set to 16, when only a global address
/// is present, or 32 if a link-local address is also included" (RFC 2545
/// §3). IPv4 NLRI take 4 octets, or 16/32 for an IPv6 next hop (RFC 8950
/// §3). An IPv4 next hop for IPv6 NLRI is not accepted.
pub(crate) fn decode_next_hop(family: AfiSafi, bytes: &[u8]) -> Option<NextHop> {
    match (family.afi, bytes.len()) {
        (Afi::Ipv4, 4) => {
            let a: [u8; 4] = bytes.try_into().ok()?;
            Some(NextHop::V4(Ipv4Addr::from(a)))
        }
        (Afi::Ipv4 | Afi::Ipv6, 16) => {
            let a: [u8; 16] = bytes.try_into().ok()?;
            Some(NextHop::V6 {
                global: Ipv6Addr::from(a),
                link_local: None,
            })
        }
        (Afi::Ipv4 | Afi::Ipv6, 32) => {
            let (g, l) = bytes.split_first_chunk::<16>()?;
            let l: [u8; 16] = l.try_into().ok()?;
            Some(NextHop::V6 {
                global: Ipv6Addr::from(*g),
                link_local: Some(Ipv6Addr::from(l)),
            })
        }
        _ => None,
    }
}

/// Octets the next hop takes on the wire.
pub(crate) const fn next_hop_len(nh: &NextHop) -> usize {
    match nh {
        NextHop::V4(_) => 4,
        NextHop::V6 {
            link_local: None, ..
        } => 16,
        NextHop::V6 {
            link_local: Some(_),
            ..
        } => 32,
    }
}

/// Writes the next hop octets.
pub(crate) fn put_next_hop(nh: &NextHop, out: &mut impl BufMut) {
    match nh {
        NextHop::V4(a) => out.put_slice(&a.octets()),
        NextHop::V6 { global, link_local } => {
            out.put_slice(&global.octets());
            if let Some(l) = link_local {
                out.put_slice(&l.octets());
            }
        }
    }
}

/// Where an MP attribute went wrong, relative to its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MpFault {
    /// Too short to name its family: the NLRI cannot be located
    /// (RFC 7606 §5.2, session reset).
    Short,
    /// A family this codec does not read.
    Unsupported {
        /// AFI received.
        afi: u16,
        /// SAFI received.
        safi: u8,
    },
    /// Next hop length inconsistent with the family (RFC 7606 §7.11).
    NextHop(AfiSafi),
    /// A malformed prefix at this offset in the value (RFC 7606 §5.3).
    Nlri(AfiSafi, usize),
}

impl MpFault {
    /// The error and its RFC 7606 treatment, for attribute `a`.
    pub(crate) fn into_error(self, a: &AttrView<'_>) -> (Treatment, UpdateError) {
        match self {
            // RFC 7606 §5.2: without the family the NLRI cannot be located.
            Self::Short => (
                Treatment::SessionReset,
                UpdateError::OptionalAttribute {
                    offset: a.offset,
                    type_code: a.type_code,
                    family: None,
                    data: a.raw.to_vec(),
                },
            ),
            Self::Unsupported { afi, safi } => (
                Treatment::AfiSafiDisable,
                UpdateError::UnsupportedFamily {
                    offset: a.offset,
                    afi,
                    safi,
                },
            ),
            // "If the Length of Next Hop Network Address field of the
            // MP_REACH attribute is inconsistent with that which was
            // expected, the attribute is considered malformed. [...] the
            // "session reset" or "AFI/SAFI disable" approach MUST be used."
            // (RFC 7606 §7.11) We take the milder, AFI/SAFI disable.
            Self::NextHop(family) => (
                Treatment::AfiSafiDisable,
                UpdateError::OptionalAttribute {
                    offset: a.offset,
                    type_code: a.type_code,
                    family: Some(family),
                    data: a.raw.to_vec(),
                },
            ),
            // RFC 7606 §5.3: a syntax error in the NLRI of an MP attribute
            // is handled by AFI/SAFI disable or session reset; again the
            // milder one.
            Self::Nlri(family, at) => (
                Treatment::AfiSafiDisable,
                UpdateError::InvalidNetworkField {
                    offset: a.offset + (a.raw.len() - a.value.len()) + at,
                    family,
                },
            ),
        }
    }
}

/// A parsed MP_REACH_NLRI whose NLRI field has been validated.
#[derive(Debug, Clone)]
pub(crate) struct ReachParts<'a> {
    pub(crate) family: AfiSafi,
    pub(crate) next_hop: NextHop,
    pub(crate) nlri: NlriIter<'a>,
    pub(crate) count: usize,
}

fn family_of(value: &[u8]) -> Result<(AfiSafi, &[u8]), MpFault> {
    let (hdr, rest) = value.split_first_chunk::<3>().ok_or(MpFault::Short)?;
    let afi = u16::from_be_bytes([hdr[0], hdr[1]]);
    let family = AfiSafi::new(afi.into(), hdr[2].into());
    if family_supported(family) {
        Ok((family, rest))
    } else {
        Err(MpFault::Unsupported { afi, safi: hdr[2] })
    }
}

fn nlri_of<'a>(
    family: AfiSafi,
    field: &'a [u8],
    field_offset: usize,
    ctx: &DecodeCtx,
) -> Result<(NlriIter<'a>, usize), MpFault> {
    let add_path = ctx.add_path(family);
    let count = nlri_field::validate(field, family.afi, add_path)
        .map_err(|at| MpFault::Nlri(family, field_offset + at))?;
    Ok((NlriIter::new(field, family.afi, add_path), count))
}

/// Parses a full MP_REACH_NLRI value (RFC 4760 §3).
pub(crate) fn parse_reach<'a>(value: &'a [u8], ctx: &DecodeCtx) -> Result<ReachParts<'a>, MpFault> {
    let (family, rest) = family_of(value)?;
    let (&nh_len, rest) = rest.split_first().ok_or(MpFault::NextHop(family))?;
    let (nh, rest) = rest
        .split_at_checked(nh_len as usize)
        .ok_or(MpFault::NextHop(family))?;
    let next_hop = decode_next_hop(family, nh).ok_or(MpFault::NextHop(family))?;
    // "Reserved: A 1 octet field that MUST be set to 0, and SHOULD be
    // ignored upon receipt." (RFC 4760 §3)
    let (_, field) = rest.split_first().ok_or(MpFault::NextHop(family))?;
    let (nlri, count) = nlri_of(family, field, 5 + nh_len as usize, ctx)?;
    Ok(ReachParts {
        family,
        next_hop,
        nlri,
        count,
    })
}

/// Parses the MRT abbreviated form (RFC 6396 §4.3.4): next hop length and
/// next hop only. The family is inferred from the next hop length (4:
/// IPv4 unicast, 16/32: IPv6 unicast); the MRT reader overrides it with
/// the RIB entry's family. A value that is not in the abbreviated shape is
/// read as a full MP_REACH_NLRI, as some MRT writers emit that.
pub(crate) fn parse_reach_abbreviated<'a>(
    value: &'a [u8],
    ctx: &DecodeCtx,
) -> Result<ReachParts<'a>, MpFault> {
    let Some((&nh_len, nh)) = value.split_first() else {
        return Err(MpFault::Short);
    };
    if nh.len() != nh_len as usize {
        return parse_reach(value, ctx);
    }
    let family = if nh_len == 4 {
        AfiSafi::IPV4_UNICAST
    } else {
        AfiSafi::IPV6_UNICAST
    };
    let next_hop = decode_next_hop(family, nh).ok_or(MpFault::NextHop(family))?;
    Ok(ReachParts {
        family,
        next_hop,
        nlri: NlriIter::new(&[], family.afi, false),
        count: 0,
    })
}

/// Parses an MP_UNREACH_NLRI value (RFC 4760 §4); returns the family, the
/// validated withdrawn routes and their count.
pub(crate) fn parse_unreach<'a>(
    value: &'a [u8],
    ctx: &DecodeCtx,
) -> Result<(AfiSafi, NlriIter<'a>, usize), MpFault> {
    let (family, field) = family_of(value)?;
    let (nlri, count) = nlri_of(family, field, 3, ctx)?;
    Ok((family, nlri, count))
}

/// Collects a validated NLRI field.
pub(crate) fn collect(nlri: NlriIter<'_>, count: usize) -> Vec<Nlri> {
    let mut v = Vec::with_capacity(count);
    v.extend(nlri);
    v
}

/// Writes the NLRI of `family`, with path identifiers (0 when absent) when
/// `add_path`, without them otherwise.
pub(crate) fn put_nlri<'n>(
    nlri: impl IntoIterator<Item = &'n Nlri>,
    add_path: bool,
    out: &mut impl BufMut,
) {
    for n in nlri {
        if add_path {
            out.put_u32(n.path_id.unwrap_or(0));
        }
        n.prefix.encode(out);
    }
}

/// Octets the NLRI take on the wire.
pub(crate) fn nlri_len<'n>(nlri: impl IntoIterator<Item = &'n Nlri>, add_path: bool) -> usize {
    let extra = if add_path { 4 } else { 0 };
    nlri.into_iter().map(|n| n.prefix.wire_len() + extra).sum()
}
