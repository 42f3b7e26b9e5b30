//! Round trip on real data: for every UPDATE (BGP4MP and type 5) and every
//! RIB entry (TABLE_DUMP_V2 and TABLE_DUMP) of the same file set as the
//! differential test, decode → encode → decode gives the same value.
//!
//! Normalizations, each for a stated reason:
//! - Unknown optional transitive attributes come back with the Partial bit
//!   set: "If an optional transitive attribute is unrecognized, the Partial
//!   bit in the attribute flags octet is set to 1" (RFC 4271 §5), which the
//!   encoder applies on the way out.
//! - RIB entries are re-encoded with the abbreviated MP_REACH_NLRI of
//!   RFC 6396 §4.3.4, so only its next hop is compared (some writers put a
//!   full MP_REACH_NLRI in RIB entries; its NLRI duplicates the record's).
//! - Inputs that did not decode cleanly (they are counted and covered by
//!   the differential test) are not round-tripped.

use bytes::BytesMut;
use rampart_core::attr::{
    MpReachForm, PathAttributes, decode_path_attributes, encode_path_attributes,
};
use rampart_core::iana::{Afi, Safi, attr_flags};
use rampart_core::mrt::{Body, MrtReader, open_file};
use rampart_core::msg::update::{Decoded, Update};
use rampart_core::nlri::AfiSafi;
use rampart_core::{DecodeCtx, EncodeCtx};
use rampart_tests::{mrt_dir_or_skip, mrt_files, short};

#[derive(Debug, Default)]
struct Counts {
    updates: u64,
    rib_entries: u64,
    skipped_unclean: u64,
}

fn set_partial(a: &mut PathAttributes) {
    const OPT_TRANS: u8 = attr_flags::OPTIONAL | attr_flags::TRANSITIVE;
    for u in &mut a.rare.unknown {
        if u.flags & OPT_TRANS == OPT_TRANS {
            u.flags |= attr_flags::PARTIAL;
        }
        u.flags &= !attr_flags::EXTENDED_LENGTH;
    }
}

fn with_add_path(ctx: &DecodeCtx) -> DecodeCtx {
    let mut c = ctx.clone();
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        for safi in [Safi::Unicast, Safi::Multicast] {
            c.add_path.push(AfiSafi::new(afi, safi));
        }
    }
    c
}

/// Decodes cleanly under `ctx`, or under ADD-PATH for every family (the
/// guess the route decoder makes for BIRD dumps).
fn clean_decode(body: &[u8], ctx: &DecodeCtx) -> Option<(Decoded, DecodeCtx)> {
    let clean = |c: &DecodeCtx| Update::decode(body, c).ok().filter(|d| d.errors.is_empty());
    if let Some(d) = clean(ctx) {
        return Some((d, ctx.clone()));
    }
    let guess = with_add_path(ctx);
    clean(&guess).map(|d| (d, guess))
}

fn update_round_trip(body: &[u8], ctx: &DecodeCtx, c: &mut Counts, what: &str) {
    let Some((d1, ctx)) = clean_decode(body, ctx) else {
        c.skipped_unclean += 1;
        return;
    };
    let enc = EncodeCtx {
        four_octet_as: ctx.four_octet_as,
        add_path: ctx.add_path.clone(),
        extended_message: true,
    };
    let mut out = BytesMut::new();
    d1.update.encode(&enc, &mut out).unwrap();
    let d2 = Update::decode(&out[19..], &ctx).unwrap();
    assert!(d2.errors.is_empty(), "{what}: {:?}", d2.errors);
    let mut want = d1.update;
    set_partial(&mut want.attrs);
    let mut got = d2.update;
    got.attrs
        .rare
        .unknown
        .iter_mut()
        .for_each(|u| u.flags &= !attr_flags::EXTENDED_LENGTH);
    assert_eq!(got, want, "{what}");
    c.updates += 1;
}

fn attrs_round_trip(raw: &[u8], ctx: &DecodeCtx, c: &mut Counts, what: &str) {
    let Ok(a1) = decode_path_attributes(raw, ctx, MpReachForm::MrtAbbreviated) else {
        c.skipped_unclean += 1;
        return;
    };
    if !a1.errors.is_empty() {
        c.skipped_unclean += 1;
        return;
    }
    let enc = EncodeCtx {
        four_octet_as: ctx.four_octet_as,
        add_path: Default::default(),
        extended_message: true,
    };
    let mut out = BytesMut::new();
    let form = MpReachForm::MrtAbbreviated;
    encode_path_attributes(&a1.attrs, a1.mp_reach.as_ref(), None, &enc, form, &mut out).unwrap();
    let a2 = decode_path_attributes(&out, ctx, form).unwrap();
    assert!(a2.errors.is_empty(), "{what}: {:?}", a2.errors);
    let mut want = a1.attrs;
    set_partial(&mut want);
    let mut got = a2.attrs;
    set_partial(&mut got);
    assert_eq!(got, want, "{what}");
    let nh = |m: Option<&rampart_core::msg::update::MpReach>| m.map(|m| m.next_hop);
    assert_eq!(nh(a2.mp_reach.as_ref()), nh(a1.mp_reach.as_ref()), "{what}");
    c.rib_entries += 1;
}

fn file_round_trip(path: &std::path::Path) -> Counts {
    let name = short(path);
    let mut c = Counts::default();
    let mut r = MrtReader::new(open_file(path).unwrap());
    let (modern, legacy) = (DecodeCtx::modern(), DecodeCtx::legacy());
    while let Ok(Some(rec)) = r.next_record() {
        let what = format!("{name} @{}", rec.offset);
        match rec.decode() {
            Ok(Body::Bgp4mpMessage(m))
                if m.msg_type() == Some(rampart_core::iana::MsgType::Update) =>
            {
                if let Some(body) = m.body() {
                    update_round_trip(body, &m.decode_ctx(), &mut c, &what);
                }
            }
            Ok(Body::Legacy(rampart_core::mrt::legacy::LegacyBgp::Message {
                subtype: 1,
                body,
                ..
            })) => update_round_trip(body, &legacy, &mut c, &what),
            Ok(Body::Rib(rib)) => {
                for e in rib.entries().flatten() {
                    attrs_round_trip(e.attrs, &modern, &mut c, &what);
                }
            }
            Ok(Body::TableDump(td)) => {
                for e in td.entries().flatten() {
                    attrs_round_trip(e.attrs, &legacy, &mut c, &what);
                }
            }
            _ => {}
        }
    }
    c
}

#[test]
fn decode_encode_decode_is_identity_on_real_data() {
    let Some(dir) = mrt_dir_or_skip("decode_encode_decode_is_identity_on_real_data") else {
        return;
    };
    let (files, left_out) = mrt_files(&dir);
    eprintln!("{} files ({left_out} bulk files sampled out)", files.len());
    let mut total = Counts::default();
    for f in &files {
        let c = file_round_trip(f);
        if c.skipped_unclean > 0 {
            eprintln!(
                "{}: {} inputs not clean, not round-tripped",
                short(f),
                c.skipped_unclean
            );
        }
        total.updates += c.updates;
        total.rib_entries += c.rib_entries;
        total.skipped_unclean += c.skipped_unclean;
    }
    eprintln!("{total:?}");
    assert!(
        total.updates > 100_000 && total.rib_entries > 100_000,
        "{total:?}"
    );
}
