//! Helpers shared by the fuzz targets.
//!
//! Targets that take a codec context read it from the first input byte, so
//! one corpus entry is `selector ‖ payload` and libFuzzer explores every
//! negotiated-capability combination:
//!
//! ```text
//! bit 0  four_octet_as         (RFC 6793)
//! bit 1  ADD-PATH IPv4 unicast (RFC 7911)
//! bit 2  ADD-PATH IPv6 unicast
//! bit 3  extended_message      (RFC 8654)
//! ```

use rampart_core::ctx::{DecodeCtx, EncodeCtx};
use rampart_core::nlri::AfiSafi;

/// Splits `selector ‖ payload` and builds the decode context it names.
pub fn split_ctx(data: &[u8]) -> Option<(DecodeCtx, &[u8])> {
    let (&sel, rest) = data.split_first()?;
    let mut ctx = DecodeCtx::modern();
    ctx.four_octet_as = sel & 1 != 0;
    if sel & 2 != 0 {
        ctx.add_path.push(AfiSafi::IPV4_UNICAST);
    }
    if sel & 4 != 0 {
        ctx.add_path.push(AfiSafi::IPV6_UNICAST);
    }
    ctx.extended_message = sel & 8 != 0;
    Some((ctx, rest))
}

/// The encode context that mirrors `d` (the same capabilities, our side).
pub fn mirror(d: &DecodeCtx) -> EncodeCtx {
    let mut e = EncodeCtx::modern();
    e.four_octet_as = d.four_octet_as;
    e.add_path = d.add_path.clone();
    e.extended_message = d.extended_message;
    e
}

/// True when confederation segments appear only at the start of `path`,
/// where RFC 5065 §5.3 puts them. A path with one after an ordinary segment
/// cannot round-trip on a 2-octet session: AS4_PATH carries no
/// confederation segments (RFC 6793 §3) and the merge of RFC 6793 §4.2.3
/// only keeps AS_PATH's leading part. Round-trip targets skip such paths.
pub fn confed_only_leading(path: &rampart_core::attr::AsPath) -> bool {
    use rampart_core::attr::SegmentType::{ConfedSequence, ConfedSet};
    path.segments()
        .skip_while(|s| matches!(s.kind, ConfedSequence | ConfedSet))
        .all(|s| !matches!(s.kind, ConfedSequence | ConfedSet))
}
