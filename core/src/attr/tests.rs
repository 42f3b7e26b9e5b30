//! Attribute codec tests: one hand-made wire vector per attribute, checked
//! in both directions with every byte consumed, plus the RFC 6793 §4.2.3
//! AS4 merge cases.

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;

use super::*;
use crate::ctx::{DecodeCtx, EncodeCtx};
use crate::msg::update::{MpReach, MpUnreach, Treatment, UpdateError};
use crate::nlri::{AfiSafi, Nlri, Prefix};

fn ctx(four: bool) -> (DecodeCtx, EncodeCtx) {
    if four {
        (DecodeCtx::modern(), EncodeCtx::modern())
    } else {
        (DecodeCtx::legacy(), EncodeCtx::legacy())
    }
}

fn decode(wire: &[u8], four: bool) -> AttrsDecoded {
    decode_path_attributes(wire, &ctx(four).0, MpReachForm::Full).unwrap()
}

fn encode(d: &AttrsDecoded, four: bool) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_path_attributes(
        &d.attrs,
        d.mp_reach.as_ref(),
        d.mp_unreach.as_ref(),
        &ctx(four).1,
        MpReachForm::Full,
        &mut out,
    )
    .unwrap();
    out.to_vec()
}

/// Decodes `wire` cleanly, checks `expect`, and encodes back to `wire`.
fn vector(wire: &[u8], four: bool, expect: impl Fn(&AttrsDecoded) -> bool) {
    let d = decode(wire, four);
    assert_eq!(d.treatment, Treatment::Normal, "{:?}", d.errors);
    assert!(d.errors.is_empty());
    assert!(expect(&d), "unexpected decode {d:?}");
    assert_eq!(encode(&d, four), wire, "re-encoding differs");
}

fn pfx(s: &str) -> Nlri {
    Nlri::new(s.parse::<Prefix>().unwrap())
}

#[test]
fn origin() {
    // An attribute set with ORIGIN always gets an AS_PATH, empty here.
    vector(&[0x40, 1, 1, 2, 0x40, 2, 0], true, |d| {
        d.attrs.origin == Some(Origin::Incomplete) && d.attrs.as_path.is_empty()
    });
}

#[test]
fn as_path_four_octet() {
    #[rustfmt::skip]
    let wire = [0x40, 2, 20,
        2, 2, 0, 0, 0xfd, 0xe8, 0, 1, 0, 0,      // AS_SEQUENCE 65000 65536
        1, 2, 0, 0, 0, 1, 0, 0, 0, 2]; // AS_SET {1 2}
    vector(&wire, true, |d| {
        d.attrs.as_path.to_segments()
            == vec![
                Segment {
                    kind: SegmentType::AsSequence,
                    asns: vec![65000, 65536],
                },
                Segment {
                    kind: SegmentType::AsSet,
                    asns: vec![1, 2],
                },
            ]
    });
}

#[test]
fn as_path_two_octet_and_confed() {
    #[rustfmt::skip]
    let wire = [0x40, 2, 12,
        3, 1, 0xfd, 0xe9,                          // AS_CONFED_SEQUENCE 65001
        4, 1, 0xfd, 0xea,                          // AS_CONFED_SET {65002}
        2, 1, 0xfd, 0xe8]; // AS_SEQUENCE 65000
    vector(&wire, false, |d| {
        d.attrs
            .as_path
            .segments()
            .map(|s| s.kind)
            .collect::<Vec<_>>()
            == [
                SegmentType::ConfedSequence,
                SegmentType::ConfedSet,
                SegmentType::AsSequence,
            ]
            && d.attrs.as_path.iter().collect::<Vec<_>>() == [65001, 65002, 65000]
    });
}

#[test]
fn next_hop_med_local_pref_atomic() {
    #[rustfmt::skip]
    let wire = [
        0x40, 3, 4, 192, 0, 2, 1,
        0x80, 4, 4, 0, 0, 0, 100,
        0x40, 5, 4, 0, 0, 0, 200,
        0x40, 6, 0];
    vector(&wire, true, |d| {
        d.attrs.next_hop == Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)))
            && d.attrs.med == Some(100)
            && d.attrs.local_pref == Some(200)
            && d.attrs.rare.atomic_aggregate
    });
}

#[test]
fn aggregator_both_widths() {
    vector(&[0xC0, 7, 8, 0, 0, 0xfd, 0xe8, 10, 0, 0, 1], true, |d| {
        d.attrs.rare.aggregator
            == Some(Aggregator {
                asn: 65000,
                addr: Ipv4Addr::new(10, 0, 0, 1),
            })
    });
    vector(&[0xC0, 7, 6, 0xfd, 0xe8, 10, 0, 0, 1], false, |d| {
        d.attrs.rare.aggregator.map(|a| a.asn) == Some(65000)
    });
}

#[test]
fn communities_originator_cluster() {
    #[rustfmt::skip]
    let wire = [
        0xC0, 8, 8, 0xff, 0xff, 0xff, 0x01, 0xfd, 0xe8, 0, 100,
        0x80, 9, 4, 10, 0, 0, 9,
        0x80, 10, 8, 10, 0, 0, 1, 10, 0, 0, 2];
    vector(&wire, true, |d| {
        d.attrs.communities == [Community::NO_EXPORT, Community::new(65000, 100)]
            && d.attrs.rare.originator_id == Some(Ipv4Addr::new(10, 0, 0, 9))
            && d.attrs.rare.cluster_list == [Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2)]
    });
}

#[test]
fn ext_ipv6ext_large_otc() {
    let mut v6ext = [0u8; 20];
    v6ext[..2].copy_from_slice(&[0x00, 0x02]);
    v6ext[2..18].copy_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
    v6ext[18..].copy_from_slice(&[0, 7]);
    let mut wire = vec![0xC0, 16, 8, 0, 2, 0xfd, 0xe8, 0, 0, 0, 1];
    wire.extend_from_slice(&[0xC0, 25, 20]);
    wire.extend_from_slice(&v6ext);
    #[rustfmt::skip]
    wire.extend_from_slice(&[
        0xC0, 32, 12, 0, 0, 0xfd, 0xe8, 0, 0, 0, 1, 0, 0, 0, 2,
        0xC0, 35, 4, 0, 0, 0xfd, 0xe8]);
    vector(&wire, true, |d| {
        d.attrs.rare.ext_communities == [ExtCommunity([0, 2, 0xfd, 0xe8, 0, 0, 0, 1])]
            && d.attrs.rare.ipv6_ext_communities == [Ipv6ExtCommunity(v6ext)]
            && d.attrs.large_communities
                == [LargeCommunity {
                    global: 65000,
                    local1: 1,
                    local2: 2,
                }]
            && d.attrs.rare.otc == Some(65000)
    });
}

#[test]
fn mp_reach_ipv6_global_and_link_local() {
    let g: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let l: Ipv6Addr = "fe80::1".parse().unwrap();
    let mut wire = vec![0x80, 14, 5 + 32 + 5, 0, 2, 1, 32];
    wire.extend_from_slice(&g.octets());
    wire.extend_from_slice(&l.octets());
    wire.extend_from_slice(&[0, 32, 0x20, 0x01, 0x0d, 0xb8]);
    vector(&wire, true, |d| {
        d.mp_reach
            == Some(MpReach {
                family: AfiSafi::IPV6_UNICAST,
                next_hop: NextHop::V6 {
                    global: g,
                    link_local: Some(l),
                },
                nlri: vec![pfx("2001:db8::/32")],
            })
    });
}

#[test]
fn mp_reach_ipv4_with_ipv6_next_hop_rfc8950() {
    let g: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let mut wire = vec![0x80, 14, 5 + 16 + 4, 0, 1, 1, 16];
    wire.extend_from_slice(&g.octets());
    wire.extend_from_slice(&[0, 24, 10, 1, 2]);
    vector(&wire, true, |d| {
        d.mp_reach
            .as_ref()
            .map(|m| (m.family, m.next_hop, m.nlri.clone()))
            == Some((
                AfiSafi::IPV4_UNICAST,
                NextHop::V6 {
                    global: g,
                    link_local: None,
                },
                vec![pfx("10.1.2.0/24")],
            ))
    });
}

#[test]
fn mp_unreach_ipv6() {
    let wire = [0x80, 15, 8, 0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8];
    vector(&wire, true, |d| {
        d.mp_unreach
            == Some(MpUnreach {
                family: AfiSafi::IPV6_UNICAST,
                withdrawn: vec![pfx("2001:db8::/32")],
            })
    });
}

#[test]
fn mrt_abbreviated_mp_reach() {
    let g: Ipv6Addr = "2001:db8::1".parse().unwrap();
    let mut wire = vec![0x80, 14, 17, 16];
    wire.extend_from_slice(&g.octets());
    let (dctx, ectx) = ctx(true);
    let d = decode_path_attributes(&wire, &dctx, MpReachForm::MrtAbbreviated).unwrap();
    let m = d.mp_reach.clone().unwrap();
    assert_eq!(m.family, AfiSafi::IPV6_UNICAST);
    assert!(m.nlri.is_empty());
    let mut out = BytesMut::new();
    encode_path_attributes(
        &d.attrs,
        Some(&m),
        None,
        &ectx,
        MpReachForm::MrtAbbreviated,
        &mut out,
    )
    .unwrap();
    assert_eq!(&out[..], &wire[..]);
    // A writer that put the full form in a RIB entry is still understood.
    let mut full = vec![0x80, 14, 21, 0, 2, 1, 16];
    full.extend_from_slice(&g.octets());
    full.push(0);
    let d = decode_path_attributes(&full, &dctx, MpReachForm::MrtAbbreviated).unwrap();
    assert_eq!(d.mp_reach.map(|m| m.next_hop), Some(m.next_hop));
}

#[test]
fn unknown_attributes_partial_bit_and_export_drop() {
    let wire = [0xC0, 99, 2, 0xab, 0xcd, 0x80, 100, 1, 7];
    let d = decode(&wire, true);
    assert_eq!(d.attrs.rare.unknown.len(), 2);
    // Optional transitive unknown: passed on with Partial set.
    assert_eq!(encode(&d, true), [0xE0, 99, 2, 0xab, 0xcd, 0x80, 100, 1, 7]);
    let mut attrs = d.attrs.clone();
    assert!(drop_non_transitive_unknown(&mut attrs));
    assert_eq!(attrs.rare.unknown.len(), 1);
    assert_eq!(attrs.rare.unknown[0].type_code, 99);
    assert!(!drop_non_transitive_unknown(&mut attrs));
    // A set without rare attributes stays without their allocation.
    let mut plain = PathAttributes::default();
    assert!(!drop_non_transitive_unknown(&mut plain));
    assert!(!plain.rare.is_stored());
}

#[test]
fn extended_length_only_above_255() {
    let mut attrs = PathAttributes {
        communities: (0..63).map(Community).collect(),
        ..PathAttributes::default()
    };
    let d = AttrsDecoded {
        attrs: attrs.clone(),
        ..AttrsDecoded::default()
    };
    let short = encode(&d, true);
    assert_eq!(&short[..3], &[0xC0, 8, 252]);
    attrs.communities = (0..64).map(Community).collect();
    let d = AttrsDecoded {
        attrs,
        ..AttrsDecoded::default()
    };
    let long = encode(&d, true);
    assert_eq!(&long[..4], &[0xD0, 8, 1, 0]);
    assert_eq!(decode(&long, true).attrs, d.attrs);
    // Extended Length on a short value is accepted on receipt.
    assert_eq!(
        decode(&[0x50, 1, 0, 1, 0], true).attrs.origin,
        Some(Origin::Igp)
    );
}

#[test]
fn encode_order_mp_first_then_ascending() {
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence([65000]),
        med: Some(1),
        large_communities: vec![LargeCommunity {
            global: 1,
            local1: 2,
            local2: 3,
        }]
        .into(),
        communities: vec![Community(1)].into(),
        rare: RareAttributes {
            unknown: vec![RawAttribute {
                flags: 0xC0,
                type_code: 30,
                value: Box::new([1]),
            }]
            .into(),
            ..RareAttributes::default()
        }
        .into(),
        ..PathAttributes::default()
    };
    let d = AttrsDecoded {
        attrs,
        mp_unreach: Some(MpUnreach {
            family: AfiSafi::IPV6_UNICAST,
            withdrawn: vec![pfx("2001:db8::/32")],
        }),
        ..AttrsDecoded::default()
    };
    let wire = encode(&d, true);
    let codes: Vec<u8> = AttrIter::new(&wire, 0)
        .map(|a| a.unwrap().type_code)
        .collect();
    assert_eq!(codes, [15, 1, 2, 4, 8, 30, 32]);
}

fn as4_case(as_path: &[u8], rest: &[u8]) -> AttrsDecoded {
    let mut wire = vec![0x40, 2, u8::try_from(as_path.len()).unwrap()];
    wire.extend_from_slice(as_path);
    wire.extend_from_slice(rest);
    decode(&wire, false)
}

const AS4_PATH_196608_196609_100: [u8; 17] =
    [0xC0, 17, 14, 2, 3, 0, 3, 0, 0, 0, 3, 0, 1, 0, 0, 0, 100];

#[test]
fn as4_merge_prepends_leading_as_path() {
    // AS_PATH: 65000 AS_TRANS AS_TRANS 100; AS4_PATH: 196608 196609 100.
    let d = as4_case(
        &[2, 4, 0xfd, 0xe8, 0x5b, 0xa0, 0x5b, 0xa0, 0, 100],
        &AS4_PATH_196608_196609_100,
    );
    assert_eq!(
        d.attrs.as_path,
        AsPath::from_sequence([65000, 196_608, 196_609, 100])
    );
}

#[test]
fn as4_path_longer_than_as_path_is_ignored() {
    let d = as4_case(&[2, 2, 0x5b, 0xa0, 0, 100], &AS4_PATH_196608_196609_100);
    assert_eq!(d.attrs.as_path, AsPath::from_sequence([23456, 100]));
    assert!(d.errors.is_empty());
}

#[test]
fn as4_merge_counts_as_set_as_one() {
    // AS_PATH: seq(1 2) set(3 4) = 3; AS4_PATH: seq(70000) set(3 4) = 2.
    #[rustfmt::skip]
    let as4 = [0xC0, 17, 16, 2, 1, 0, 1, 0x11, 0x70, 1, 2, 0, 0, 0, 3, 0, 0, 0, 4];
    let d = as4_case(&[2, 2, 0, 1, 0x5b, 0xa0, 1, 2, 0, 3, 0, 4], &as4);
    assert_eq!(
        d.attrs.as_path.to_segments(),
        vec![
            Segment {
                kind: SegmentType::AsSequence,
                asns: vec![1, 70000]
            },
            Segment {
                kind: SegmentType::AsSet,
                asns: vec![3, 4]
            },
        ]
    );
}

#[test]
fn as4_aggregator_used_when_aggregator_is_as_trans() {
    #[rustfmt::skip]
    let mut rest = vec![0xC0, 7, 6, 0x5b, 0xa0, 10, 0, 0, 1,
        0xC0, 18, 8, 0, 3, 0, 0, 10, 0, 0, 1];
    rest.extend_from_slice(&AS4_PATH_196608_196609_100);
    let d = as4_case(&[2, 3, 0x5b, 0xa0, 0x5b, 0xa0, 0, 100], &rest);
    assert_eq!(d.attrs.rare.aggregator.map(|a| a.asn), Some(196_608));
    assert_eq!(
        d.attrs.as_path,
        AsPath::from_sequence([196_608, 196_609, 100])
    );
}

#[test]
fn as4_attributes_ignored_when_aggregator_is_not_as_trans() {
    #[rustfmt::skip]
    let mut rest = vec![0xC0, 7, 6, 0xfd, 0xe8, 10, 0, 0, 1,
        0xC0, 18, 8, 0, 3, 0, 0, 10, 0, 0, 1];
    rest.extend_from_slice(&AS4_PATH_196608_196609_100);
    let d = as4_case(&[2, 3, 0x5b, 0xa0, 0x5b, 0xa0, 0, 100], &rest);
    assert_eq!(d.attrs.rare.aggregator.map(|a| a.asn), Some(65000));
    assert_eq!(d.attrs.as_path, AsPath::from_sequence([23456, 23456, 100]));
}

#[test]
fn as4_path_ignored_on_four_octet_session() {
    let mut wire = vec![0x40, 2, 6, 2, 1, 0, 0, 0, 100];
    wire.extend_from_slice(&AS4_PATH_196608_196609_100);
    let d = decode(&wire, true);
    assert_eq!(d.attrs.as_path, AsPath::from_sequence([100]));
    assert!(d.errors.is_empty());
}

#[test]
fn malformed_as4_attributes_are_discarded() {
    // AS4_PATH with a zero-length segment, AS4_AGGREGATOR of 6 octets.
    let rest = [0xC0, 17, 2, 2, 0, 0xC0, 18, 6, 0, 3, 10, 0, 0, 1];
    let d = as4_case(&[2, 1, 0, 100], &rest);
    assert_eq!(d.treatment, Treatment::AttributeDiscard);
    assert!(matches!(
        d.errors.as_slice(),
        [
            UpdateError::MalformedAsPath { type_code: 17, .. },
            UpdateError::AttributeLength { type_code: 18, .. }
        ]
    ));
    assert_eq!(d.attrs.as_path, AsPath::from_sequence([100]));
}

#[test]
fn as4_merge_keeps_leading_confed_segments() {
    let two = AsPath::from_segments(vec![
        Segment {
            kind: SegmentType::ConfedSequence,
            asns: vec![65001],
        },
        Segment {
            kind: SegmentType::AsSequence,
            asns: vec![23456, 100],
        },
    ]);
    let four = AsPath::from_sequence([70000, 100]);
    let merged = merge_as4(&two, &four);
    assert_eq!(merged.segment_count(), 2);
    assert_eq!(merged.iter().collect::<Vec<_>>(), [65001, 70000, 100]);
}

#[test]
fn encode_to_two_octet_session_uses_as_trans_and_as4() {
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence([65000, 196_608]),
        rare: RareAttributes {
            aggregator: Some(Aggregator {
                asn: 196_608,
                addr: Ipv4Addr::new(10, 0, 0, 1),
            }),
            ..RareAttributes::default()
        }
        .into(),
        ..PathAttributes::default()
    };
    let d = AttrsDecoded {
        attrs,
        ..AttrsDecoded::default()
    };
    let wire = encode(&d, false);
    #[rustfmt::skip]
    let expect = [
        0x40, 1, 1, 0,
        0x40, 2, 6, 2, 2, 0xfd, 0xe8, 0x5b, 0xa0,
        0xC0, 7, 6, 0x5b, 0xa0, 10, 0, 0, 1,
        0xC0, 17, 10, 2, 2, 0, 0, 0xfd, 0xe8, 0, 3, 0, 0,
        0xC0, 18, 8, 0, 3, 0, 0, 10, 0, 0, 1,
    ];
    assert_eq!(wire, expect);
    assert_eq!(decode(&wire, false).attrs, d.attrs);
}

proptest::proptest! {
    #[test]
    fn section_decoder_never_panics(buf in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
        for four in [true, false] {
            for form in [MpReachForm::Full, MpReachForm::MrtAbbreviated] {
                let _ = decode_path_attributes(&buf, &ctx(four).0, form);
            }
        }
    }
}

#[test]
fn as_path_stores_segments_in_one_exact_allocation() {
    let segs = vec![
        Segment {
            kind: SegmentType::ConfedSet,
            asns: vec![65001, 65002],
        },
        Segment {
            kind: SegmentType::AsSequence,
            asns: vec![],
        },
        Segment {
            kind: SegmentType::AsSequence,
            asns: vec![1, 2, 3],
        },
        Segment {
            kind: SegmentType::AsSet,
            asns: vec![4],
        },
    ];
    let p = AsPath::from_segments(segs.clone());
    // The empty segment is left out; the rest come back as given.
    let kept: Vec<Segment> = segs.into_iter().filter(|s| !s.asns.is_empty()).collect();
    assert_eq!(p.to_segments(), kept);
    assert_eq!(p.segment_count(), 3);
    // One header word per segment plus the AS numbers, nothing spare.
    assert_eq!(p.heap_bytes(), (3 + 6) * 4);
    assert_eq!(
        (p.path_len(), p.first_as(), p.origin_as()),
        (4, Some(1), None)
    );
    assert_eq!(
        format!("{p:?}"),
        "[SegmentRef { kind: ConfedSet, asns: [65001, 65002] }, \
         SegmentRef { kind: AsSequence, asns: [1, 2, 3] }, \
         SegmentRef { kind: AsSet, asns: [4] }]"
    );
    let mut q = AsPath::from_sequence([1, 2, 3]);
    q.push_segment(SegmentType::AsSet, &[4]);
    let mut r = AsPath::from_segments(std::iter::once(Segment {
        kind: SegmentType::ConfedSet,
        asns: vec![65001, 65002],
    }));
    for s in q.segments() {
        r.push_segment(s.kind, s.asns);
    }
    assert_eq!(r, p);
    assert!(AsPath::from_sequence([]).is_empty());
    assert_eq!(AsPath::default().heap_bytes(), 0);
}

#[test]
fn decoded_as_path_is_exactly_sized_and_round_trips() {
    #[rustfmt::skip]
    let wire = [0x40, 2, 10,
        2, 2, 0, 0, 0xfd, 0xe8, 0, 1, 0, 0];
    vector(&wire, true, |d| {
        d.attrs.as_path.heap_bytes() == 3 * 4
            && d.attrs.as_path.iter().collect::<Vec<_>>() == [65000, 65536]
    });
}

#[test]
fn decoded_lists_are_exactly_sized() {
    // 5 COMMUNITIES, a CLUSTER_LIST of 3, 3 EXTENDED COMMUNITIES, 3
    // LARGE_COMMUNITY: a set is stored as decoded (the interner only
    // shrinks), so no vector may keep growth slack.
    let mut wire = vec![0xC0, 8, 20];
    for i in 1..=5u8 {
        wire.extend_from_slice(&[0xfd, 0xe8, 0, i]);
    }
    wire.extend_from_slice(&[0x80, 10, 12]);
    for i in 1..=3u8 {
        wire.extend_from_slice(&[10, 0, 0, i]);
    }
    wire.extend_from_slice(&[0xC0, 16, 24]);
    for i in 1..=3u8 {
        wire.extend_from_slice(&[0, 2, 0xfd, 0xe8, 0, 0, 0, i]);
    }
    wire.extend_from_slice(&[0xC0, 32, 36]);
    for i in 1..=3u8 {
        wire.extend_from_slice(&[0, 0, 0xfd, 0xe8, 0, 0, 0, i, 0, 0, 0, i]);
    }
    vector(&wire, true, |d| {
        let a = &d.attrs;
        a.communities.len() == 5
            && a.communities.capacity() == 5
            && a.communities.last() == Some(&Community::new(65000, 5))
            && a.rare.ext_communities.len() == 3
            && a.rare.ext_communities.capacity() == 3
            && a.large_communities.len() == 3
            && a.large_communities.capacity() == 3
            && a.rare.cluster_list.len() == 3
            && a.rare.cluster_list.capacity() == 3
    });
}

#[test]
fn prepend_fills_the_leading_sequence_up_to_255() {
    let mut p = AsPath::from_sequence(std::iter::repeat_n(7, 254));
    p.push_segment(SegmentType::AsSet, &[1, 2]);
    p.prepend(9, 3);
    let kinds: Vec<(SegmentType, usize)> = p.segments().map(|s| (s.kind, s.asns.len())).collect();
    assert_eq!(
        kinds,
        [
            (SegmentType::AsSequence, 2),
            (SegmentType::AsSequence, 255),
            (SegmentType::AsSet, 2)
        ]
    );
    assert_eq!(p.first_as(), Some(9));
    assert_eq!(p.path_len(), 2 + 255 + 1);
}

#[test]
fn rare_attributes_live_out_of_line_and_compare_by_content() {
    use std::hash::BuildHasher;
    // Most sets carry none of them: the attributes stay 96 bytes.
    assert_eq!(size_of::<PathAttributes>(), 96);
    let plain = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence([65000]),
        ..PathAttributes::default()
    };
    assert!(!plain.rare.is_stored());
    // Writing one allocates the group; taking it out again leaves a group
    // that still equals (and hashes as) an absent one, until compacted.
    let mut written = plain.clone();
    written.rare.otc = Some(65000);
    assert!(written.rare.is_stored());
    assert_ne!(written, plain);
    let h = foldhash::fast::FixedState::with_seed(1);
    let mut other = plain.clone();
    other.rare.otc = Some(65001);
    assert_ne!(h.hash_one(&written), h.hash_one(&plain));
    assert_ne!(h.hash_one(&written), h.hash_one(&other));
    written.rare.otc = None;
    assert_eq!(written, plain);
    assert_eq!(h.hash_one(&written), h.hash_one(&plain));
    assert!(written.rare.is_stored());
    written.rare.compact();
    assert!(!written.rare.is_stored());
    // `From` stores nothing for an all-default group.
    let none: Rare = RareAttributes::default().into();
    assert!(!none.is_stored());
    // External-peer rules read without allocating.
    let mut ext = plain.clone();
    assert_eq!(apply_external_peer_rules(&mut ext), Treatment::Normal);
    assert!(!ext.rare.is_stored());
}

#[test]
fn decoding_a_set_without_rare_attributes_allocates_no_group() {
    // ORIGIN, AS_PATH, NEXT_HOP, MED, COMMUNITIES.
    #[rustfmt::skip]
    let wire = [0x40, 1, 1, 0,
        0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe8,
        0x40, 3, 4, 192, 0, 2, 1,
        0x80, 4, 4, 0, 0, 0, 5,
        0xC0, 8, 4, 0xfd, 0xe8, 0, 1];
    vector(&wire, true, |d| {
        !d.attrs.rare.is_stored() && d.attrs.med == Some(5)
    });
    // ORIGINATOR_ID: the group is there.
    let mut with = wire.to_vec();
    with.extend_from_slice(&[0x80, 9, 4, 10, 0, 0, 1]);
    vector(&with, true, |d| {
        d.attrs.rare.is_stored() && d.attrs.rare.originator_id == Some(Ipv4Addr::new(10, 0, 0, 1))
    });
}

/// The straight-line writer of attribute sets without unknown attributes
/// writes what the general one (which interleaves unknown attributes)
/// writes: every known attribute, in type code order, on 4-octet and
/// 2-octet sessions, with and without the rare ones.
#[test]
fn known_attributes_alone_encode_as_the_interleaving_writer_does() {
    let full = PathAttributes {
        origin: Some(Origin::Egp),
        as_path: AsPath::from_sequence([65000, 4_200_000_000]),
        next_hop: Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))),
        med: Some(10),
        local_pref: Some(200),
        communities: vec![Community(1), Community(2)].into(),
        large_communities: vec![LargeCommunity {
            global: 1,
            local1: 2,
            local2: 3,
        }]
        .into(),
        rare: RareAttributes {
            atomic_aggregate: true,
            aggregator: Some(Aggregator {
                asn: 4_200_000_001,
                addr: Ipv4Addr::new(10, 0, 0, 1),
            }),
            originator_id: Some(Ipv4Addr::new(10, 0, 0, 2)),
            cluster_list: vec![Ipv4Addr::new(10, 0, 0, 3)].into(),
            ext_communities: vec![ExtCommunity([0, 2, 0, 1, 0, 0, 0, 1])].into(),
            ipv6_ext_communities: vec![Ipv6ExtCommunity([7; 20])].into(),
            otc: Some(64_500),
            ..RareAttributes::default()
        }
        .into(),
    };
    let common = PathAttributes {
        rare: Rare::default(),
        ..full.clone()
    };
    for attrs in [&full, &common, &PathAttributes::default()] {
        for four in [true, false] {
            let (_, e) = ctx(four);
            let (mut fast, mut general) = (BytesMut::new(), BytesMut::new());
            encode::put_all_known(attrs, &e, &mut fast).unwrap();
            encode::put_interleaved(attrs, &e, &mut general).unwrap();
            assert!(!general.is_empty() || attrs.origin.is_none());
            assert_eq!(fast, general, "four-octet {four}: {attrs:?}");
        }
    }
}
