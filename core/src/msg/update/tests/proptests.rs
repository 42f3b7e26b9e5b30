//! decode(encode(x)) == x over generated updates, for 4-octet and 2-octet
//! sessions, with and without ADD-PATH.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::super::*;
use crate::attr::{
    Aggregator, AsPath, Community, ExtCommunity, Ipv6ExtCommunity, LargeCommunity, Origin,
    RareAttributes, RawAttribute, Segment, SegmentType,
};
use crate::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};

fn v4_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u32>(), 0u8..=32)
        .prop_map(|(a, l)| Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from(a), l).unwrap()))
}

fn v6_prefix() -> impl Strategy<Value = Prefix> {
    (any::<u128>(), 0u8..=128)
        .prop_map(|(a, l)| Prefix::V6(Ipv6Prefix::new(Ipv6Addr::from(a), l).unwrap()))
}

fn nlri_list(
    p: BoxedStrategy<Prefix>,
    add_path: bool,
    max: usize,
) -> impl Strategy<Value = Vec<Nlri>> {
    vec((p, any::<u32>()), 0..max).prop_map(move |v| {
        v.into_iter()
            .map(|(prefix, id)| Nlri {
                path_id: add_path.then_some(id),
                prefix,
            })
            .collect()
    })
}

/// AS numbers: on a 2-octet session confederation segments hold 2-octet
/// numbers and come first (they are not carried in AS4_PATH).
fn as_path(four: bool) -> impl Strategy<Value = AsPath> {
    let asn = prop_oneof![1u32..65536, any::<u32>()];
    let plain = vec(
        (
            prop_oneof![Just(SegmentType::AsSequence), Just(SegmentType::AsSet)],
            vec(asn.clone(), 1..8),
        ),
        0..4,
    );
    let confed_kind = prop_oneof![
        Just(SegmentType::ConfedSequence),
        Just(SegmentType::ConfedSet)
    ];
    let confed_asn = if four {
        any::<u32>().boxed()
    } else {
        (1u32..65536).boxed()
    };
    let confed = vec((confed_kind, vec(confed_asn, 1..4)), 0..2);
    (confed, plain).prop_map(|(c, p)| {
        AsPath::from_segments(
            c.into_iter()
                .chain(p)
                .map(|(kind, asns)| Segment { kind, asns }),
        )
    })
}

/// Unknown attributes: distinct type codes unused by known ones, sorted
/// (the encoder writes them in type order), optional, Partial set on
/// transitive ones (the encoder sets it).
fn unknown() -> impl Strategy<Value = Vec<RawAttribute>> {
    let codes =
        proptest::sample::subsequence(vec![20u8, 21, 22, 26, 27, 40, 99, 128, 200, 255], 0..3);
    (codes, vec((any::<bool>(), vec(any::<u8>(), 0..300)), 3)).prop_map(|(codes, vals)| {
        codes
            .into_iter()
            .zip(vals)
            .map(|(type_code, (transitive, value))| RawAttribute {
                flags: if transitive { 0xE0 } else { 0x80 },
                type_code,
                value: value.into(),
            })
            .collect()
    })
}

prop_compose! {
    fn path_attributes(four: bool)(
        origin in prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)],
        as_path in as_path(four),
        next_hop in any::<u32>(),
        med in option::of(any::<u32>()),
        local_pref in option::of(any::<u32>()),
        atomic_aggregate in any::<bool>(),
        aggregator in option::of((any::<u32>(), any::<u32>())),
        communities in vec(any::<u32>(), 0..80),
        ext in vec(any::<[u8; 8]>(), 0..4),
        v6ext in vec(any::<[u8; 20]>(), 0..3),
        large in vec((any::<u32>(), any::<u32>(), any::<u32>()), 0..4),
        originator_id in option::of(any::<u32>()),
        cluster_list in vec(any::<u32>(), 0..4),
        otc in option::of(any::<u32>()),
        unknown in unknown(),
    ) -> PathAttributes {
        PathAttributes {
            origin: Some(origin),
            as_path,
            next_hop: Some(NextHop::V4(Ipv4Addr::from(next_hop))),
            med,
            local_pref,
            communities: communities.into_iter().map(Community).collect(),
            large_communities: large
                .into_iter()
                .map(|(global, local1, local2)| LargeCommunity { global, local1, local2 })
                .collect(),
            rare: RareAttributes {
                atomic_aggregate,
                aggregator: aggregator.map(|(asn, a)| Aggregator { asn, addr: Ipv4Addr::from(a) }),
                ext_communities: ext.into_iter().map(ExtCommunity).collect(),
                ipv6_ext_communities: v6ext.into_iter().map(Ipv6ExtCommunity).collect(),
                originator_id: originator_id.map(Ipv4Addr::from),
                cluster_list: cluster_list.into_iter().map(Ipv4Addr::from).collect(),
                otc,
                unknown: unknown.into(),
            }
            .into(),
        }
    }
}

fn next_hop_v6() -> impl Strategy<Value = NextHop> {
    (any::<u128>(), option::of(any::<u128>())).prop_map(|(g, l)| NextHop::V6 {
        global: Ipv6Addr::from(g),
        link_local: l.map(Ipv6Addr::from),
    })
}

fn update(four: bool, add_path: bool) -> impl Strategy<Value = Update> {
    let v4 = v4_prefix().boxed();
    let v6 = v6_prefix().boxed();
    (
        nlri_list(v4.clone(), add_path, 30),
        nlri_list(v4.clone(), add_path, 30),
        path_attributes(four),
        option::of((
            next_hop_v6(),
            prop_oneof![Just(true), Just(false)],
            nlri_list(v6.clone(), add_path, 20),
            nlri_list(v4, add_path, 20),
        )),
        option::of(nlri_list(v6, add_path, 20)),
    )
        .prop_map(|(withdrawn, nlri, attrs, reach, unreach)| {
            let mp_reach = reach.map(|(next_hop, six, n6, n4)| {
                // RFC 8950: IPv4 NLRI with an IPv6 next hop.
                let (family, nlri) = if six {
                    (AfiSafi::IPV6_UNICAST, n6)
                } else {
                    (AfiSafi::IPV4_UNICAST, n4)
                };
                MpReach {
                    family,
                    next_hop,
                    nlri,
                }
            });
            let mp_unreach = unreach.map(|withdrawn| MpUnreach {
                family: AfiSafi::IPV6_UNICAST,
                withdrawn,
            });
            Update {
                withdrawn,
                attrs,
                nlri,
                mp_reach,
                mp_unreach,
            }
        })
}

fn ctxs(four: bool, add_path: bool) -> (DecodeCtx, EncodeCtx) {
    let families: smallvec::SmallVec<[AfiSafi; 2]> = if add_path {
        [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]
            .into_iter()
            .collect()
    } else {
        smallvec::SmallVec::new()
    };
    let d = DecodeCtx {
        four_octet_as: four,
        add_path: families.clone(),
        extended_message: true,
    };
    let e = EncodeCtx {
        four_octet_as: four,
        add_path: families,
        extended_message: true,
    };
    (d, e)
}

fn round_trip(u: &Update, four: bool, add_path: bool) -> Result<(), TestCaseError> {
    let (d, e) = ctxs(four, add_path);
    let mut out = BytesMut::new();
    u.encode(&e, &mut out)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let body = &out[HEADER_LEN..];
    let got = Update::decode(body, &d).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(got.treatment, Treatment::Normal, "{:?}", got.errors);
    prop_assert_eq!(&got.update, u);
    // The view sees the same prefixes.
    let v = UpdateView::parse(body, &d).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(v.nlri().collect::<Vec<_>>(), u.nlri.clone());
    prop_assert_eq!(v.withdrawn().collect::<Vec<_>>(), u.withdrawn.clone());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn round_trip_four_octet(u in update(true, false)) {
        round_trip(&u, true, false)?;
    }

    #[test]
    fn round_trip_two_octet(u in update(false, false)) {
        round_trip(&u, false, false)?;
    }

    #[test]
    fn round_trip_four_octet_add_path(u in update(true, true)) {
        round_trip(&u, true, true)?;
    }

    #[test]
    fn round_trip_two_octet_add_path(u in update(false, true)) {
        round_trip(&u, false, true)?;
    }

    #[test]
    fn decode_never_panics(body in vec(any::<u8>(), 0..200)) {
        let _ = Update::decode(&body, &DecodeCtx::modern());
        let _ = Update::decode(&body, &DecodeCtx::legacy());
    }
}

/// An independent decoder (bgpkit-parser) rebuilds the 4-octet path and
/// aggregator from what we send to a 2-octet session (AS_TRANS, AS4_PATH,
/// AS4_AGGREGATOR; RFC 6793 §4.2.2).
fn as4_agrees_with_bgpkit(asns: &[u32], agg: Option<u32>) -> Result<(), TestCaseError> {
    use bgpkit_parser::models::AsnLength;
    use bgpkit_parser::parser::bgp::messages::parse_bgp_update_message;
    let u = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(asns.iter().copied()),
            next_hop: Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))),
            rare: RareAttributes {
                aggregator: agg.map(|asn| Aggregator {
                    asn,
                    addr: Ipv4Addr::new(10, 0, 0, 1),
                }),
                ..RareAttributes::default()
            }
            .into(),
            ..PathAttributes::default()
        },
        nlri: vec![Nlri::new("10.0.0.0/8".parse().unwrap())],
        ..Update::default()
    };
    let mut out = BytesMut::new();
    u.encode(&EncodeCtx::legacy(), &mut out)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let body = bytes::Bytes::copy_from_slice(&out[HEADER_LEN..]);
    let theirs = parse_bgp_update_message(body, false, &AsnLength::Bits16)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let path = theirs
        .attributes
        .effective_as_path()
        .and_then(|p| p.to_u32_vec_opt(false))
        .unwrap_or_default();
    prop_assert_eq!(path, asns.to_vec());
    // bgpkit prefers AS4_AGGREGATOR when both are present.
    let theirs_agg = theirs.attributes.aggregator().map(|(a, _)| a.to_u32());
    prop_assert_eq!(theirs_agg, agg);
    Ok(())
}

proptest! {
    #[test]
    fn two_octet_encoding_agrees_with_bgpkit(
        asns in vec(prop_oneof![1u32..65536, 65536u32..], 1..12),
        agg in option::of(prop_oneof![1u32..65536, 65536u32..]),
    ) {
        as4_agrees_with_bgpkit(&asns, agg)?;
    }
}
