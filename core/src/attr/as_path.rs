//! AS_PATH ([RFC 4271 §5.1.2]) and AS4_PATH ([RFC 6793 §3]–4) wire forms.
//!
//! [RFC 4271 §5.1.2]: https://www.rfc-editor.org/rfc/rfc4271#section-5.1.2
//! [RFC 6793 §3]: https://www.rfc-editor.org/rfc/rfc6793#section-3
//!
//! ```text
//! segment: +------------+-------------+--------------------------+
//!          | type (1)   | count (1)   | count × AS (2 or 4 each) |
//!          +------------+-------------+--------------------------+
//! ```
//!
//! On a session without the 4-octet AS capability AS_PATH carries 2-octet
//! AS numbers (AS_TRANS standing in for larger ones) and AS4_PATH carries
//! the real path; [`merge_as4`] rebuilds it (RFC 6793 §4.2.3).

use bytes::BufMut;

use super::{AsPath, SegmentType};
use crate::iana::AS_TRANS;

impl SegmentType {
    /// The segment type for a wire value, `None` when undefined.
    #[must_use]
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            1 => Some(Self::AsSet),
            2 => Some(Self::AsSequence),
            3 => Some(Self::ConfedSequence),
            4 => Some(Self::ConfedSet),
            _ => None,
        }
    }

    const fn is_confed(self) -> bool {
        matches!(self, Self::ConfedSequence | Self::ConfedSet)
    }
}

/// Decodes an AS_PATH or AS4_PATH value with `four`-octet AS numbers.
///
/// `None` when malformed (RFC 7606 §7.2): a segment header or its AS
/// numbers overrun the value, a segment has zero length, or its type is
/// undefined.
pub(crate) fn decode(value: &[u8], four: bool) -> Option<AsPath> {
    let width = if four { 4 } else { 2 };
    // First pass: check the framing and count the words, so the path is
    // built in one exactly sized allocation.
    let mut words = 0;
    let mut rest = value;
    while let Some((hdr, body)) = rest.split_first_chunk::<2>() {
        SegmentType::from_u8(hdr[0])?;
        let count = hdr[1] as usize;
        if count == 0 {
            return None;
        }
        rest = body.get(count * width..)?;
        words += 1 + count;
    }
    // A single octet left over cannot hold a segment header.
    if !rest.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(words);
    let mut rest = value;
    while let Some((hdr, body)) = rest.split_first_chunk::<2>() {
        let count = hdr[1] as usize;
        let (asns, after) = body.split_at_checked(count * width)?;
        out.push((u32::from(hdr[0]) << 24) | count as u32);
        if four {
            out.extend(
                asns.as_chunks::<4>()
                    .0
                    .iter()
                    .map(|c| u32::from_be_bytes(*c)),
            );
        } else {
            out.extend(
                asns.as_chunks::<2>()
                    .0
                    .iter()
                    .map(|c| u32::from(u16::from_be_bytes(*c))),
            );
        }
        rest = after;
    }
    Some(AsPath::from_words(out.into_boxed_slice()))
}

/// Segments as written: each owned segment split into runs of at most 255
/// AS numbers (the count is one octet).
fn wire_chunks(path: &AsPath, skip_confed: bool) -> impl Iterator<Item = (SegmentType, &[u32])> {
    path.segments()
        .filter(move |s| !(skip_confed && s.kind.is_confed()))
        .flat_map(|s| s.asns.chunks(255).map(move |c| (s.kind, c)))
}

/// Encoded length of `path` in bytes (`four`-octet AS numbers; confed
/// segments left out when `skip_confed`, as AS4_PATH requires).
pub(crate) fn encoded_len(path: &AsPath, four: bool, skip_confed: bool) -> usize {
    let width = if four { 4 } else { 2 };
    wire_chunks(path, skip_confed)
        .map(|(_, c)| 2 + c.len() * width)
        .sum()
}

/// Writes `path` with `four`-octet AS numbers; in the 2-octet form numbers
/// above 65535 become AS_TRANS (RFC 6793 §4.2.2).
pub(crate) fn encode(path: &AsPath, four: bool, skip_confed: bool, out: &mut impl BufMut) {
    for (kind, asns) in wire_chunks(path, skip_confed) {
        out.put_u8(kind as u8);
        #[allow(clippy::cast_possible_truncation)] // chunks of at most 255
        out.put_u8(asns.len() as u8);
        for &asn in asns {
            if four {
                out.put_u32(asn);
            } else {
                out.put_u16(u16::try_from(asn).unwrap_or(AS_TRANS));
            }
        }
    }
}

/// True when some AS number does not fit two octets, so a 2-octet session
/// needs AS4_PATH (RFC 6793 §4.2.2). Confederation segments do not count:
/// they are not carried in AS4_PATH.
pub(crate) fn needs_as4(path: &AsPath) -> bool {
    path.segments()
        .filter(|s| !s.kind.is_confed())
        .any(|s| s.asns.iter().any(|&a| a > 0xFFFF))
}

/// Rebuilds the path of an UPDATE from a 2-octet speaker (RFC 6793 §4.2.3).
///
/// "If the number of AS numbers in the AS_PATH attribute is less than the
/// number of AS numbers in the AS4_PATH attribute, then the AS4_PATH
/// attribute SHALL be ignored, and the AS_PATH attribute SHALL be taken as
/// the AS path information." Otherwise the leading AS numbers of AS_PATH
/// that AS4_PATH lacks are prepended to AS4_PATH. AS numbers are counted
/// as for path length: an AS_SET counts one, confederation segments none.
/// Confederation segments in AS4_PATH are dropped ("AS_CONFED_SEQUENCE and
/// AS_CONFED_SET ... MUST NOT be carried in the AS4_PATH", RFC 6793 §3);
/// leading confederation segments of AS_PATH are kept.
#[must_use]
pub fn merge_as4(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
    let as4 = AsPath::build(
        as4_path
            .segments()
            .filter(|s| !s.kind.is_confed())
            .map(|s| (s.kind, s.asns)),
    );
    let (n2, n4) = (as_path.path_len(), as4.path_len());
    if n2 < n4 {
        return as_path.clone();
    }
    let mut need = n2 - n4;
    let mut out: Vec<(SegmentType, &[u32])> = Vec::new();
    for s in as_path.segments() {
        if need == 0 && !s.kind.is_confed() {
            break;
        }
        match s.kind {
            SegmentType::ConfedSequence | SegmentType::ConfedSet => out.push((s.kind, s.asns)),
            SegmentType::AsSet => {
                out.push((s.kind, s.asns));
                need -= 1;
            }
            SegmentType::AsSequence => {
                let take = need.min(s.asns.len());
                out.push((s.kind, s.asns.get(..take).unwrap_or_default()));
                need -= take;
            }
        }
    }
    let mut rest = as4.segments().peekable();
    // A trailing AS_SEQUENCE from AS_PATH and a leading one from AS4_PATH
    // join when the result still fits one wire segment.
    let mut joined = Vec::new();
    if let (Some(last), Some(first)) = (out.last(), rest.peek())
        && last.0 == SegmentType::AsSequence
        && first.kind == SegmentType::AsSequence
        && last.1.len() + first.asns.len() <= 255
    {
        joined.extend_from_slice(last.1);
        joined.extend_from_slice(first.asns);
        out.pop();
        rest.next();
    }
    let joined = (!joined.is_empty()).then_some((SegmentType::AsSequence, joined.as_slice()));
    AsPath::build(
        out.into_iter()
            .chain(joined)
            .chain(rest.map(|s| (s.kind, s.asns)))
            .collect::<Vec<_>>(),
    )
}
