//! UPDATE codec tests: RFC 7606 rules, round trips (vectors and
//! proptest), End-of-RIB, packing, the zero-copy view.

mod packing;
mod proptests;
mod real_data;
mod rfc7606;
mod view;

use super::*;
use crate::attr::{AsPath, Origin};
use crate::nlri::Prefix;

/// An UPDATE body from its three parts.
pub(super) fn body(withdrawn: &[u8], attrs: &[&[u8]], nlri: &[u8]) -> Vec<u8> {
    let attrs: Vec<u8> = attrs.concat();
    let mut b = Vec::new();
    b.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    b.extend_from_slice(&attrs);
    b.extend_from_slice(nlri);
    b
}

pub(super) const ORIGIN_IGP: &[u8] = &[0x40, 1, 1, 0];
/// AS_PATH: AS_SEQUENCE 65000 (4-octet).
pub(super) const AS_PATH_65000: &[u8] = &[0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe8];
pub(super) const NEXT_HOP: &[u8] = &[0x40, 3, 4, 192, 0, 2, 1];
/// NLRI 10.0.0.0/8 and 192.168.1.0/24.
pub(super) const NLRI: &[u8] = &[8, 10, 24, 192, 168, 1];

pub(super) fn pfx(s: &str) -> Nlri {
    Nlri::new(s.parse::<Prefix>().unwrap())
}

#[test]
fn decode_encode_vector_full_update() {
    // Withdraws 172.16.0.0/12, announces two prefixes.
    let b = body(&[12, 172, 16], &[ORIGIN_IGP, AS_PATH_65000, NEXT_HOP], NLRI);
    let ctx = DecodeCtx::modern();
    let d = Update::decode(&b, &ctx).unwrap();
    assert_eq!(d.treatment, Treatment::Normal);
    let u = &d.update;
    assert_eq!(u.withdrawn, [pfx("172.16.0.0/12")]);
    assert_eq!(u.nlri, [pfx("10.0.0.0/8"), pfx("192.168.1.0/24")]);
    assert_eq!(u.attrs.origin, Some(Origin::Igp));
    assert_eq!(u.attrs.as_path, AsPath::from_sequence([65000]));
    let mut out = BytesMut::new();
    u.encode(&EncodeCtx::modern(), &mut out).unwrap();
    assert_eq!(&out[..16], &[0xFF; 16]);
    assert_eq!(
        usize::from(u16::from_be_bytes([out[16], out[17]])),
        out.len()
    );
    assert_eq!(out[18], 2);
    assert_eq!(&out[HEADER_LEN..], &b[..]);
}

#[test]
fn encode_rejects_too_long_and_leaves_nothing() {
    let u = Update {
        withdrawn: (0..2000u32)
            .map(|i| pfx(&format!("10.{}.{}.0/24", i / 256, i % 256)))
            .collect(),
        ..Update::default()
    };
    let mut out = BytesMut::new();
    let e = u.encode(&EncodeCtx::modern(), &mut out).unwrap_err();
    assert!(matches!(e, EncodeError::TooLong { max: 4096, .. }));
    assert!(out.is_empty());
    let ext = EncodeCtx {
        extended_message: true,
        ..EncodeCtx::modern()
    };
    u.encode(&ext, &mut out).unwrap();
    assert_eq!(out.len(), HEADER_LEN + 4 + 2000 * 4);
}

#[test]
fn end_of_rib_markers() {
    for family in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
        let eor = Update::end_of_rib(family);
        assert_eq!(eor.end_of_rib_family(), Some(family));
        assert!(eor.is_end_of_rib());
        let wire = UpdateBuilder::end_of_rib(family, &EncodeCtx::modern()).unwrap();
        let body = &wire[HEADER_LEN..];
        let view = UpdateView::parse(body, &DecodeCtx::modern()).unwrap();
        assert_eq!(view.end_of_rib(), Some(family));
        let d = Update::decode(body, &DecodeCtx::modern()).unwrap();
        assert_eq!(d.update, eor);
        assert_eq!(d.treatment, Treatment::Normal);
    }
    // RFC 4724 §2: the IPv4 marker is the 23-byte empty UPDATE.
    let v4 = UpdateBuilder::end_of_rib(AfiSafi::IPV4_UNICAST, &EncodeCtx::modern()).unwrap();
    assert_eq!(v4.len(), 23);
    let b = body(&[], &[ORIGIN_IGP, AS_PATH_65000, NEXT_HOP], NLRI);
    assert!(
        !Update::decode(&b, &DecodeCtx::modern())
            .unwrap()
            .update
            .is_end_of_rib()
    );
    assert_eq!(
        UpdateView::parse(&b, &DecodeCtx::modern())
            .unwrap()
            .end_of_rib(),
        None
    );
}
