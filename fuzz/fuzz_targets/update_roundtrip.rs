//! Round trip: decode an UPDATE; when it decodes with no error, encode it
//! under the mirrored context and decode again: the two must be equal.
//!
//! Input: selector byte (see `rampart_fuzz::split_ctx`) ‖ UPDATE body.
//! Unknown attributes are compared normalised: the encoder writes them in
//! ascending type code order ("The sender of an UPDATE message SHOULD order
//! path attributes within the UPDATE message in ascending order of attribute
//! type", RFC 4271 §5), recomputes Extended Length, and sets Partial on
//! optional transitive ones (RFC 4271 §5), so order and those bits
//! legitimately change.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rampart_core::msg::update::{Treatment, Update};

/// RFC 4271 §4.3 attribute flag bits.
const OPTIONAL: u8 = 0x80;
const TRANSITIVE: u8 = 0x40;
const PARTIAL: u8 = 0x20;
const EXTENDED_LENGTH: u8 = 0x10;
const HEADER_LEN: usize = 19;

fn normalise(u: &mut Update) {
    u.attrs.rare.unknown.sort_by_key(|a| a.type_code);
    for a in &mut u.attrs.rare.unknown {
        a.flags &= !EXTENDED_LENGTH;
        if a.flags & (OPTIONAL | TRANSITIVE) == OPTIONAL | TRANSITIVE {
            a.flags |= PARTIAL;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = rampart_fuzz::split_ctx(data) else {
        return;
    };
    let Ok(first) = Update::decode(body, &ctx) else {
        return;
    };
    if first.treatment != Treatment::Normal
        || !rampart_fuzz::confed_only_leading(&first.update.attrs.as_path)
    {
        return;
    }
    let mut out = BytesMut::new();
    if first
        .update
        .encode(&rampart_fuzz::mirror(&ctx), &mut out)
        .is_err()
    {
        // Legitimate: e.g. AS4_PATH growth past the message size limit.
        return;
    }
    assert!(
        out.len() >= HEADER_LEN,
        "encoded message shorter than a header"
    );
    let second = match Update::decode(&out[HEADER_LEN..], &ctx) {
        Ok(d) => d,
        Err(e) => panic!(
            "re-decode failed: {e:?}\nfirst: {:?}\nbytes: {:02x?}",
            first.update,
            &out[..]
        ),
    };
    assert_eq!(
        second.treatment,
        Treatment::Normal,
        "re-decode errors: {:?}",
        second.errors
    );
    let (mut a, mut b) = (first.update, second.update);
    normalise(&mut a);
    normalise(&mut b);
    assert_eq!(a, b, "UPDATE round trip changed the message");
});
