use super::*;
use crate::cap::{AddPathMode, GracefulRestart};
use crate::iana::AS_TRANS;
use crate::nlri::AfiSafi;
use proptest::prelude::*;

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    v.push(1);
    v.extend_from_slice(body);
    v
}

fn check_both_ways(body: &[u8], open: &Open) {
    assert_eq!(Open::decode(body).as_ref(), Ok(open));
    let mut out = BytesMut::new();
    open.encode(&mut out).unwrap();
    assert_eq!(&out[..], &frame(body)[..]);
}

#[test]
fn vector_no_parameters() {
    // version 4, AS 65001, hold 180, id 192.0.2.1, no parameters.
    let body = [4, 0xfd, 0xe9, 0, 180, 192, 0, 2, 1, 0];
    let open = Open {
        version: 4,
        my_as: 65001,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![],
    };
    check_both_ways(&body, &open);
}

#[test]
fn vector_typical_capabilities() {
    #[rustfmt::skip]
    let body = [
        4, 0x5b, 0xa0, 0, 90, 10, 0, 0, 1,
        22, // opt parm len
        2, 20, // one Capabilities parameter
        1, 4, 0, 1, 0, 1, // MP ipv4 unicast
        2, 0, // route refresh
        65, 4, 0, 0x03, 0x0d, 0x40, // 4-octet AS 200000
        69, 4, 0, 1, 1, 1, // ADD-PATH ipv4 unicast receive
    ];
    let open = Open {
        version: 4,
        my_as: AS_TRANS,
        hold_time: 90,
        bgp_id: Ipv4Addr::new(10, 0, 0, 1),
        capabilities: vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(200_000),
            Capability::AddPath(vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Receive)]),
        ],
    };
    check_both_ways(&body, &open);
    assert_eq!(open.asn(), 200_000);
}

#[test]
fn one_capability_per_parameter_is_accepted() {
    // As older speakers send: each capability in its own parameter.
    #[rustfmt::skip]
    let body = [
        4, 0, 1, 0, 3, 1, 1, 1, 1,
        12,
        2, 6, 1, 4, 0, 2, 0, 1,
        2, 2, 2, 0,
    ];
    let open = Open::decode(&body).unwrap();
    assert_eq!(
        open.capabilities,
        vec![
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::RouteRefresh
        ]
    );
}

#[test]
fn extended_optional_parameters_decode() {
    // RFC 9072 form, even though short enough for the old one.
    #[rustfmt::skip]
    let body = [
        4, 0, 1, 0, 3, 1, 1, 1, 1,
        255, 255, 0, 5,
        2, 0, 2, 6, 0,
    ];
    let open = Open::decode(&body).unwrap();
    assert_eq!(open.capabilities, vec![Capability::ExtendedMessage]);
}

#[test]
fn long_capability_lists_use_the_extended_form() {
    let families: Vec<_> = (0..60u16)
        .map(|i| (AfiSafi::new(i.into(), 1.into()), AddPathMode::Both))
        .collect();
    let capabilities = vec![
        Capability::AddPath(families),
        Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 1,
            families: (0..20u16)
                .map(|i| (AfiSafi::new(i.into(), 1.into()), true))
                .collect(),
        }),
    ];
    let open = Open {
        version: 4,
        my_as: 1,
        hold_time: 3,
        bgp_id: Ipv4Addr::new(1, 1, 1, 1),
        capabilities,
    };
    let mut out = BytesMut::new();
    open.encode(&mut out).unwrap();
    assert_eq!(out[28..30], [255, 255]);
    let ext_len = usize::from(u16::from_be_bytes([out[30], out[31]]));
    assert_eq!(ext_len, out.len() - 32);
    assert_eq!(header::peek_len(&out, 4096), Ok(Some(out.len())));
    assert_eq!(Open::decode(&out[19..]), Ok(open));
}

#[test]
fn unsupported_parameter_type() {
    let body = [4, 0, 1, 0, 3, 1, 1, 1, 1, 3, 1, 1, 0];
    let e = Open::decode(&body).unwrap_err();
    assert_eq!(e, OpenError::UnsupportedOptionalParameter { param_type: 1 });
    let n = Notification::from(&e);
    assert_eq!((n.code, n.subcode), (ErrorCode::Open, 4));
}

#[test]
fn inconsistent_lengths_are_malformed() {
    let cases: &[&[u8]] = &[
        &[4, 0, 1, 0, 3, 1, 1, 1, 1, 3, 2, 0], // opt len past the end
        &[4, 0, 1, 0, 3, 1, 1, 1, 1, 0, 9],    // trailing byte
        &[4, 0, 1, 0, 3, 1, 1, 1, 1, 2, 2, 5], // param len past opt len
        &[4, 0, 1, 0, 3, 1, 1, 1, 1, 255, 255, 0, 9], // extended len past the end
        &[4, 0, 1, 0, 3, 1, 1, 1],             // fixed part truncated
    ];
    for body in cases {
        let e = Open::decode(body).unwrap_err();
        assert!(matches!(e, OpenError::Malformed { .. }), "{body:?}: {e:?}");
        let n = Notification::from(&e);
        assert_eq!((n.code, n.subcode), (ErrorCode::Open, 0));
    }
}

#[test]
fn unparseable_open_with_other_version_is_unsupported_version() {
    let e = Open::decode(&[3, 0, 1, 0, 3, 1, 1, 1, 1, 40]).unwrap_err();
    assert_eq!(e, OpenError::UnsupportedVersion { version: 3 });
    let n = Notification::from(&e);
    assert_eq!((n.subcode, n.data), (1, vec![0, 4]));
}

#[test]
fn oversized_open_is_refused() {
    let capabilities = (0..20)
        .map(|i| Capability::Unknown {
            code: 200,
            value: vec![i; 250],
        })
        .collect();
    let open = Open {
        version: 4,
        my_as: 1,
        hold_time: 3,
        bgp_id: Ipv4Addr::new(1, 1, 1, 1),
        capabilities,
    };
    let mut out = BytesMut::new();
    assert!(matches!(
        open.encode(&mut out),
        Err(EncodeError::TooLong { .. })
    ));
    assert!(out.is_empty());
}

fn family() -> impl Strategy<Value = AfiSafi> {
    (any::<u16>(), any::<u8>()).prop_map(|(a, s)| AfiSafi::new(a.into(), s.into()))
}

fn capability() -> impl Strategy<Value = Capability> {
    let mode = prop_oneof![
        Just(AddPathMode::Receive),
        Just(AddPathMode::Send),
        Just(AddPathMode::Both)
    ];
    let known = [1u8, 2, 6, 9, 64, 65, 69, 70];
    prop_oneof![
        family().prop_map(Capability::Multiprotocol),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        Just(Capability::ExtendedMessage),
        any::<u32>().prop_map(Capability::FourOctetAs),
        any::<u8>().prop_map(|r| Capability::Role(r.into())),
        proptest::collection::vec((family(), mode), 0..8).prop_map(Capability::AddPath),
        (
            any::<bool>(),
            any::<bool>(),
            0..4096u16,
            proptest::collection::vec((family(), any::<bool>()), 0..8)
        )
            .prop_map(|(restart_state, notification, restart_time, families)| {
                Capability::GracefulRestart(GracefulRestart {
                    restart_state,
                    notification,
                    restart_time,
                    families,
                })
            }),
        (
            any::<u8>().prop_filter("known code", move |c| !known.contains(c)),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

proptest! {
    #[test]
    fn round_trip(
        version: u8,
        my_as: u16,
        hold_time: u16,
        id: u32,
        capabilities in proptest::collection::vec(capability(), 0..30),
    ) {
        let open = Open { version, my_as, hold_time, bgp_id: Ipv4Addr::from(id), capabilities };
        let mut out = BytesMut::new();
        match open.encode(&mut out) {
            Ok(()) => {
                prop_assert_eq!(header::peek_len(&out, 4096), Ok(Some(out.len())));
                prop_assert_eq!(Open::decode(&out[19..]), Ok(open));
            }
            Err(EncodeError::TooLong { len, .. }) => prop_assert!(len > 4096),
            Err(e) => prop_assert!(false, "unexpected {e:?}"),
        }
    }
}

/// What an independent implementation (bgpkit-parser) reads from our OPEN:
/// fixed fields, the RFC 9072 flag and the capability codes in order.
fn oracle_view(wire: &[u8]) -> (u8, u32, u16, Ipv4Addr, bool, Vec<u8>, Option<u32>) {
    use bgpkit_parser::models::{AsnLength, BgpMessage, CapabilityValue, ParamValue};
    let mut bytes = bytes::Bytes::copy_from_slice(wire);
    let msg = bgpkit_parser::parser::bgp::parse_bgp_message(&mut bytes, false, &AsnLength::Bits32)
        .unwrap();
    let BgpMessage::Open(o) = msg else {
        panic!("oracle did not see an OPEN: {msg:?}")
    };
    let caps: Vec<_> = o
        .opt_params
        .iter()
        .flat_map(|p| match &p.param_value {
            ParamValue::Capacities(c) => c.clone(),
            ParamValue::Raw(_) => panic!("raw parameter"),
        })
        .collect();
    let four = caps.iter().find_map(|c| match &c.value {
        CapabilityValue::FourOctetAs(f) => Some(f.asn),
        _ => None,
    });
    (
        o.version,
        o.asn.to_u32(),
        o.hold_time,
        o.bgp_identifier,
        o.extended_length,
        caps.iter().map(|c| u8::from(c.ty)).collect(),
        four,
    )
}

proptest! {
    #[test]
    fn independent_decoder_agrees(
        my_as: u16,
        hold_time: u16,
        id: u32,
        capabilities in proptest::collection::vec(capability(), 0..40),
    ) {
        let open = Open { version: 4, my_as, hold_time, bgp_id: Ipv4Addr::from(id), capabilities };
        let mut out = BytesMut::new();
        if open.encode(&mut out).is_err() {
            return Ok(());
        }
        let params_len = out.len() - 29;
        let (version, asn, hold, bgp_id, extended, codes, four) = oracle_view(&out);
        prop_assert_eq!(version, 4);
        prop_assert_eq!(asn, u32::from(my_as));
        prop_assert_eq!(hold, hold_time);
        prop_assert_eq!(bgp_id, open.bgp_id);
        prop_assert_eq!(extended, params_len > 255);
        let ours: Vec<u8> = open.capabilities.iter().map(|c| u8::from(c.code())).collect();
        prop_assert_eq!(codes, ours);
        prop_assert_eq!(four, open.four_octet_as());
    }
}
