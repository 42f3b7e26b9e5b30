use super::*;
use crate::iana::{Afi, Safi};

/// (TLV bytes, capability) pairs from the RFC formats.
fn vectors() -> Vec<(Vec<u8>, Capability)> {
    vec![
        (
            vec![1, 4, 0, 2, 0, 1],
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
        ),
        (vec![2, 0], Capability::RouteRefresh),
        (vec![70, 0], Capability::EnhancedRouteRefresh),
        (vec![6, 0], Capability::ExtendedMessage),
        (
            vec![65, 4, 0x00, 0x03, 0x0d, 0x40],
            Capability::FourOctetAs(200_000),
        ),
        (vec![9, 1, 1], Capability::Role(Role::RouteServer)),
        (vec![9, 1, 7], Capability::Role(Role::Unknown(7))),
        (
            vec![69, 8, 0, 1, 1, 3, 0, 2, 1, 1],
            Capability::AddPath(vec![
                (AfiSafi::IPV4_UNICAST, AddPathMode::Both),
                (AfiSafi::IPV6_UNICAST, AddPathMode::Receive),
            ]),
        ),
        (
            vec![64, 10, 0xc0, 0x78, 0, 1, 1, 0x80, 0, 2, 1, 0],
            Capability::GracefulRestart(GracefulRestart {
                restart_state: true,
                notification: true,
                restart_time: 120,
                families: vec![
                    (AfiSafi::IPV4_UNICAST, true),
                    (AfiSafi::IPV6_UNICAST, false),
                ],
            }),
        ),
        (
            vec![64, 2, 0x00, 0x5a],
            Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 90,
                families: vec![],
            }),
        ),
        (
            vec![73, 3, 1, 2, 3],
            Capability::Unknown {
                code: 73,
                value: vec![1, 2, 3],
            },
        ),
        (
            vec![128, 0],
            Capability::Unknown {
                code: 128,
                value: vec![],
            },
        ),
    ]
}

#[test]
fn vectors_both_ways_and_fully_consumed() {
    for (wire, cap) in vectors() {
        let mut caps = Vec::new();
        Capability::decode_all(&wire, &mut caps).unwrap();
        assert_eq!(caps, vec![cap.clone()], "decode {wire:?}");
        let mut out = BytesMut::new();
        cap.encode(&mut out).unwrap();
        assert_eq!(&out[..], &wire[..], "encode {cap:?}");
    }
}

#[test]
fn several_capabilities_in_one_parameter() {
    let all = vectors();
    let wire: Vec<u8> = all.iter().flat_map(|(w, _)| w.clone()).collect();
    let mut caps = Vec::new();
    Capability::decode_all(&wire, &mut caps).unwrap();
    let expected: Vec<Capability> = all.into_iter().map(|(_, c)| c).collect();
    assert_eq!(caps, expected);
}

#[test]
fn add_path_with_bad_mode_is_kept_as_unknown() {
    let wire = [69, 4, 0, 1, 1, 0];
    let mut caps = Vec::new();
    Capability::decode_all(&wire, &mut caps).unwrap();
    assert_eq!(
        caps,
        vec![Capability::Unknown {
            code: 69,
            value: vec![0, 1, 1, 0]
        }]
    );
}

#[test]
fn malformed_known_capabilities_are_errors() {
    let cases: &[&[u8]] = &[
        &[1, 3, 0, 1, 0],
        &[65, 2, 0, 1],
        &[2, 1, 0],
        &[9, 0],
        &[64, 1, 0],
        &[64, 4, 0, 0, 0, 1],
    ];
    for wire in cases {
        let mut caps = Vec::new();
        let e = Capability::decode_all(wire, &mut caps).unwrap_err();
        assert!(
            matches!(e, CapabilityError::Malformed { .. }),
            "{wire:?}: {e:?}"
        );
    }
}

#[test]
fn truncated_tlv_is_an_error() {
    for wire in [&[1u8][..], &[1, 4, 0, 1], &[2, 0, 65, 4, 0]] {
        let mut caps = Vec::new();
        let e = Capability::decode_all(wire, &mut caps).unwrap_err();
        assert!(matches!(e, CapabilityError::Truncated { .. }), "{wire:?}");
    }
}

#[test]
fn oversized_value_refused_on_encode() {
    let cap = Capability::Unknown {
        code: 99,
        value: vec![0; 256],
    };
    let mut out = BytesMut::from(&b"x"[..]);
    assert_eq!(
        cap.encode(&mut out),
        Err(CapabilityError::TooLong { code: 99, len: 256 })
    );
    assert_eq!(&out[..], b"x");
}

fn open(my_as: u16, hold_time: u16, capabilities: Vec<Capability>) -> crate::msg::Open {
    crate::msg::Open {
        version: 4,
        my_as,
        hold_time,
        bgp_id: "10.0.0.1".parse().unwrap(),
        capabilities,
    }
}

#[test]
fn negotiation_without_mp_caps_is_ipv4_unicast() {
    let n = Negotiated::new(&open(65001, 90, vec![]), &open(65002, 30, vec![]));
    assert_eq!(n.families, vec![AfiSafi::IPV4_UNICAST]);
    assert_eq!((n.hold_time, n.keepalive), (30, 10));
    assert_eq!(n.peer_as, 65002);
    assert!(!n.four_octet_as && !n.route_refresh && !n.extended_message);
    assert_eq!(n.decode_ctx(), crate::DecodeCtx::legacy());
}

#[test]
fn negotiation_one_side_mp_only() {
    let v6 = Capability::Multiprotocol(AfiSafi::IPV6_UNICAST);
    let v4 = Capability::Multiprotocol(AfiSafi::IPV4_UNICAST);
    let n = Negotiated::new(&open(1, 90, vec![v6.clone()]), &open(2, 90, vec![]));
    assert!(n.families.is_empty());
    let n = Negotiated::new(&open(1, 90, vec![v6, v4]), &open(2, 90, vec![]));
    assert_eq!(n.families, vec![AfiSafi::IPV4_UNICAST]);
}

#[test]
fn negotiation_full() {
    let multicast = AfiSafi::new(Afi::Ipv4, Safi::Multicast);
    let local = open(
        23456,
        90,
        vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::Multiprotocol(multicast),
            Capability::FourOctetAs(4_200_000_000),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::ExtendedMessage,
            Capability::AddPath(vec![
                (AfiSafi::IPV4_UNICAST, AddPathMode::Send),
                (AfiSafi::IPV6_UNICAST, AddPathMode::Both),
            ]),
            Capability::Role(Role::RouteServer),
        ],
    );
    let gr = GracefulRestart {
        restart_state: false,
        notification: true,
        restart_time: 120,
        families: vec![(AfiSafi::IPV6_UNICAST, true)],
    };
    let remote = open(
        23456,
        0,
        vec![
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::FourOctetAs(4_200_000_001),
            Capability::Unknown {
                code: 128,
                value: vec![],
            },
            Capability::ExtendedMessage,
            Capability::AddPath(vec![
                (AfiSafi::IPV4_UNICAST, AddPathMode::Both),
                (AfiSafi::IPV6_UNICAST, AddPathMode::Send),
            ]),
            Capability::GracefulRestart(gr.clone()),
            Capability::Role(Role::RouteServerClient),
        ],
    );
    let n = Negotiated::new(&local, &remote);
    assert_eq!(
        n.families,
        vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST]
    );
    assert!(n.four_octet_as && n.extended_message && n.route_refresh);
    assert!(!n.enhanced_route_refresh);
    assert_eq!(n.peer_as, 4_200_000_001);
    assert_eq!(n.add_path_send.as_slice(), &[AfiSafi::IPV4_UNICAST]);
    assert_eq!(n.add_path_receive.as_slice(), &[AfiSafi::IPV6_UNICAST]);
    assert_eq!(n.remote_graceful_restart, Some(gr));
    assert_eq!(n.remote_role, Some(Role::RouteServerClient));
    assert_eq!((n.hold_time, n.keepalive), (0, 0));
    let d = n.decode_ctx();
    assert!(d.add_path(AfiSafi::IPV6_UNICAST) && !d.add_path(AfiSafi::IPV4_UNICAST));
    assert_eq!(d.max_message_len(), 65535);
    let e = n.encode_ctx();
    assert!(e.add_path(AfiSafi::IPV4_UNICAST) && !e.add_path(AfiSafi::IPV6_UNICAST));
    assert!(e.four_octet_as);
}
