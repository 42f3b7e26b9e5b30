//! Real UPDATE streams from shared/data: every message decodes without a
//! session reset, and decode(encode(decode(x))) == decode(x) on the
//! session type the collector recorded (2-octet for BGP4MP_MESSAGE,
//! 4-octet for MESSAGE_AS4, ADD-PATH for the RFC 8050 subtypes).

use std::io::Read;
use std::path::{Path, PathBuf};

use super::super::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/mrt");

const FILES: [&str; 6] = [
    "ripe-ncc-bgpdump/updates.et-header.2015.gz",
    "ripe-ncc-bgpdump/updates.20160811.1600.gz",
    "ripe-ncc-bgpdump/updates.20070211.0141.gz",
    "ripe-ncc-bgpdump/updates.20020722.2238.gz",
    "routeviews2-2008-02-23_24/updates.20080224.1839.bz2",
    "caida-bgpstream/routeviews.route-views.jinx.updates.1427846400.bz2",
];

fn read(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    let mut raw = Vec::new();
    if path.extension().is_some_and(|e| e == "bz2") {
        bzip2::read::MultiBzDecoder::new(f)
            .read_to_end(&mut raw)
            .unwrap();
    } else {
        flate2::read::MultiGzDecoder::new(f)
            .read_to_end(&mut raw)
            .unwrap();
    }
    raw
}

/// (UPDATE body, decode context) for each BGP4MP(_ET) UPDATE message.
fn updates(raw: &[u8]) -> Vec<(Vec<u8>, DecodeCtx)> {
    let mut out = Vec::new();
    let mut rest = raw;
    while rest.len() >= 12 {
        let kind = u16::from_be_bytes([rest[4], rest[5]]);
        let sub = u16::from_be_bytes([rest[6], rest[7]]);
        let len = u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]) as usize;
        let Some(rec) = rest.get(12..12 + len) else {
            break;
        };
        rest = &rest[12 + len..];
        let rec = match kind {
            16 => rec,
            17 => &rec[4..],
            _ => continue,
        };
        // RFC 6396 §4.4 / RFC 8050 §3 subtypes with a BGP message.
        let (four, add_path) = match sub {
            1 | 6 => (false, false),
            4 | 7 => (true, false),
            8 | 10 => (false, true),
            9 | 11 => (true, true),
            _ => continue,
        };
        let as_len = if four { 8 } else { 4 };
        let afi = u16::from_be_bytes([rec[as_len + 2], rec[as_len + 3]]);
        let ip = if afi == 2 { 16 } else { 4 };
        let msg = &rec[as_len + 4 + 2 * ip..];
        if msg.get(18) != Some(&2) {
            continue;
        }
        let families: smallvec::SmallVec<[AfiSafi; 2]> = if add_path {
            [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]
                .into_iter()
                .collect()
        } else {
            smallvec::SmallVec::new()
        };
        let ctx = DecodeCtx {
            four_octet_as: four,
            add_path: families,
            extended_message: true,
        };
        out.push((msg[19..].to_vec(), ctx));
    }
    out
}

fn encode_ctx(d: &DecodeCtx) -> EncodeCtx {
    EncodeCtx {
        four_octet_as: d.four_octet_as,
        add_path: d.add_path.clone(),
        extended_message: true,
    }
}

#[test]
fn real_update_streams_decode_and_round_trip() {
    let dir = PathBuf::from(DATA);
    if !dir.is_dir() {
        println!(
            "skipped: real data not found at {} (see shared/data/README.md)",
            dir.display()
        );
        return;
    }
    let mut total = 0usize;
    for file in FILES {
        let path = dir.join(file);
        if !path.exists() {
            println!("skipped {file}: absent");
            continue;
        }
        let (mut n, mut prefixes, mut flagged, mut as4) = (0, 0, 0, 0);
        for (body, ctx) in updates(&read(&path)) {
            let d = Update::decode(&body, &ctx)
                .unwrap_or_else(|e| panic!("{file}: session reset {e} on {body:02x?}"));
            n += 1;
            prefixes += d.update.nlri.len() + d.update.withdrawn.len();
            if d.treatment != Treatment::Normal {
                flagged += 1;
                continue;
            }
            let v = UpdateView::parse(&body, &ctx).unwrap();
            assert_eq!(v.nlri().collect::<Vec<_>>(), d.update.nlri);
            if !ctx.four_octet_as && d.update.attrs.as_path.iter().any(|a| a > 0xFFFF) {
                as4 += 1;
            }
            let mut out = BytesMut::new();
            d.update.encode(&encode_ctx(&ctx), &mut out).unwrap();
            let again = Update::decode(&out[HEADER_LEN..], &ctx).unwrap();
            assert_eq!(
                again.treatment,
                Treatment::Normal,
                "{file}: {:?}",
                again.errors
            );
            assert_eq!(again.update, d.update, "{file}: round trip differs");
        }
        println!(
            "{file}: {n} UPDATEs, {prefixes} prefixes, {flagged} with RFC 7606 errors, {as4} AS4-merged paths"
        );
        // Real streams are overwhelmingly well-formed.
        assert!(flagged * 100 <= n, "{file}: {flagged} of {n} flagged");
        total += n;
    }
    assert!(total > 0 || !dir.join(FILES[0]).exists());
}

/// Cross-check against an independent decoder (bgpkit-parser): prefixes,
/// ORIGIN, NEXT_HOP, MED, LOCAL_PREF and the AS path of every UPDATE.
#[test]
fn real_updates_agree_with_bgpkit_parser() {
    use bgpkit_parser::models::AsnLength;
    use bgpkit_parser::parser::bgp::messages::parse_bgp_update_message;

    let dir = PathBuf::from(DATA);
    let mut compared = 0usize;
    for file in [FILES[0], FILES[4]] {
        let path = dir.join(file);
        if !path.exists() {
            println!("skipped {file}: real data absent");
            continue;
        }
        for (body, ctx) in updates(&read(&path)) {
            let ours = Update::decode(&body, &ctx).unwrap().update;
            let asn_len = if ctx.four_octet_as {
                AsnLength::Bits32
            } else {
                AsnLength::Bits16
            };
            let theirs =
                parse_bgp_update_message(bytes::Bytes::copy_from_slice(&body), false, &asn_len)
                    .unwrap();
            let nets = |v: &[Nlri]| {
                v.iter()
                    .map(|n| ipnet::IpNet::from(n.prefix))
                    .collect::<Vec<_>>()
            };
            let tnets = |v: &[bgpkit_parser::models::NetworkPrefix]| {
                v.iter().map(|p| p.prefix).collect::<Vec<_>>()
            };
            assert_eq!(nets(&ours.nlri), tnets(&theirs.announced_prefixes));
            assert_eq!(nets(&ours.withdrawn), tnets(&theirs.withdrawn_prefixes));
            let a = &theirs.attributes;
            if a.as_path().is_none() {
                continue;
            }
            assert_eq!(ours.attrs.origin.map(|o| o as u8), Some(a.origin() as u8));
            assert_eq!(ours.attrs.med, a.multi_exit_discriminator());
            assert_eq!(ours.attrs.local_pref, a.local_preference());
            let nh = ours.attrs.next_hop.and_then(|n| match n {
                NextHop::V4(v4) => Some(std::net::IpAddr::V4(v4)),
                NextHop::V6 { .. } => None,
            });
            assert_eq!(nh, a.next_hop());
            if let Some(p) = a.effective_as_path().and_then(|p| p.to_u32_vec_opt(false))
                && ours
                    .attrs
                    .as_path
                    .segments()
                    .all(|s| s.kind == crate::attr::SegmentType::AsSequence)
            {
                assert_eq!(ours.attrs.as_path.iter().collect::<Vec<_>>(), p);
            }
            compared += 1;
        }
    }
    println!("{compared} UPDATEs agree with bgpkit-parser");
}
