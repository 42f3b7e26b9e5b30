//! `decode_path_attributes` over arbitrary attribute sections, in both
//! MP_REACH_NLRI forms: the UPDATE form (RFC 4760 §3) and the abbreviated
//! TABLE_DUMP_V2 form (RFC 6396 §4.3.4).
//!
//! Input: selector byte (see `rampart_fuzz::split_ctx`; bit 4 selects the
//! abbreviated form) ‖ attribute section. Decode must not panic; a section
//! that decodes without error must re-encode and decode to the same value
//! (skipped for unknown attributes, whose order and flags the encoder
//! normalises, and for confederation segments after ordinary ones, see
//! `rampart_fuzz::confed_only_leading`).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rampart_core::attr::{MpReachForm, decode_path_attributes, encode_path_attributes};
use rampart_core::msg::update::Treatment;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, section)) = rampart_fuzz::split_ctx(data) else {
        return;
    };
    let form = if data[0] & 0x10 != 0 {
        MpReachForm::MrtAbbreviated
    } else {
        MpReachForm::Full
    };
    let Ok(d) = decode_path_attributes(section, &ctx, form) else {
        return;
    };
    assert!(
        d.treatment != Treatment::SessionReset,
        "reset returned as Ok"
    );
    assert!((d.treatment == Treatment::Normal) == d.errors.is_empty());
    if d.treatment != Treatment::Normal
        || !d.attrs.rare.unknown.is_empty()
        || !rampart_fuzz::confed_only_leading(&d.attrs.as_path)
    {
        return;
    }
    let mut out = BytesMut::new();
    let enc = rampart_fuzz::mirror(&ctx);
    if encode_path_attributes(
        &d.attrs,
        d.mp_reach.as_ref(),
        d.mp_unreach.as_ref(),
        &enc,
        form,
        &mut out,
    )
    .is_err()
    {
        return;
    }
    let mut again =
        decode_path_attributes(&out, &ctx, form).expect("re-decode of encoded attributes");
    let mut first = d;
    if form == MpReachForm::MrtAbbreviated {
        // The abbreviated form carries neither family nor NLRI (RFC 6396
        // §4.3.4: both come from the RIB record); the decoder also accepts
        // the full form there, whose family and NLRI the abbreviated
        // encoding drops. Only the next hop must survive.
        for m in [&mut first.mp_reach, &mut again.mp_reach]
            .into_iter()
            .flatten()
        {
            m.nlri.clear();
            m.family = rampart_core::nlri::AfiSafi::IPV4_UNICAST;
        }
    }
    let d = first;
    assert_eq!(
        again.treatment,
        Treatment::Normal,
        "re-decode errors: {:?}",
        again.errors
    );
    assert_eq!(again.attrs, d.attrs, "attribute round trip");
    assert_eq!(again.mp_reach, d.mp_reach, "MP_REACH round trip");
    assert_eq!(again.mp_unreach, d.mp_unreach, "MP_UNREACH round trip");
});
