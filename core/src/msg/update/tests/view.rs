//! The zero-copy view agrees with the owned decoder.

use super::super::*;
use super::{AS_PATH_65000, NEXT_HOP, NLRI, ORIGIN_IGP, body, pfx};
use crate::nlri::Nlri;

#[test]
fn view_iterates_fields_and_attributes() {
    let mp_unreach = [0x80, 15, 8, 0, 2, 1, 32, 0x20, 0x01, 0x0d, 0xb8];
    let b = body(
        &[12, 172, 16],
        &[&mp_unreach, ORIGIN_IGP, AS_PATH_65000, NEXT_HOP],
        NLRI,
    );
    let ctx = DecodeCtx::modern();
    let v = UpdateView::parse(&b, &ctx).unwrap();
    assert_eq!(v.withdrawn().collect::<Vec<_>>(), [pfx("172.16.0.0/12")]);
    assert_eq!(v.nlri().count(), v.nlri_count());
    assert_eq!(v.nlri_count(), 2);
    let codes: Vec<u8> = v.attributes().map(|a| a.type_code).collect();
    assert_eq!(codes, [15, 1, 2, 3]);
    assert_eq!(v.attr_bytes().len(), 11 + 4 + 9 + 7);
    assert_eq!(v.attr_offset(), 5 + 2);
    assert!(v.mp_reach().unwrap().is_none());
    let u = v.mp_unreach().unwrap().unwrap();
    assert_eq!(u.family, AfiSafi::IPV6_UNICAST);
    assert_eq!(u.withdrawn().collect::<Vec<_>>(), [pfx("2001:db8::/32")]);
    assert_eq!(v.overrun(), None);
    let d = v.decode_attributes(&ctx).unwrap();
    let owned = Update::decode(&b, &ctx).unwrap().update;
    assert_eq!(d.attrs, owned.attrs);
    assert_eq!(d.mp_unreach, owned.mp_unreach);
}

#[test]
fn view_mp_reach_with_add_path() {
    let family = AfiSafi::IPV6_UNICAST;
    let ctx = DecodeCtx {
        add_path: [family].into_iter().collect(),
        ..DecodeCtx::modern()
    };
    let mut mp = vec![0x80, 14, 0, 0, 2, 1, 16];
    mp.extend_from_slice(&[0x20; 16]);
    mp.push(0);
    mp.extend_from_slice(&[0, 0, 0, 9, 32, 0x20, 0x01, 0x0d, 0xb8]);
    mp[2] = u8::try_from(mp.len() - 3).unwrap();
    let b = body(&[], &[&mp, ORIGIN_IGP, AS_PATH_65000], &[]);
    let v = UpdateView::parse(&b, &ctx).unwrap();
    let r = v.mp_reach().unwrap().unwrap();
    assert_eq!(r.family, family);
    let n: Vec<Nlri> = r.nlri().collect();
    assert_eq!(n.len(), r.nlri_count());
    assert_eq!(n[0].path_id, Some(9));
    assert_eq!(n[0].prefix, pfx("2001:db8::/32").prefix);
    // Without ADD-PATH the same bytes are a malformed field.
    let v = UpdateView::parse(&b, &DecodeCtx::modern()).unwrap();
    assert!(v.mp_reach().is_err());
}

#[test]
fn view_reports_overrun_but_keeps_earlier_attributes() {
    let b = body(&[], &[ORIGIN_IGP, &[0x40, 3, 9, 1, 2]], &[]);
    let v = UpdateView::parse(&b, &DecodeCtx::modern()).unwrap();
    assert_eq!(v.attributes().count(), 1);
    assert_eq!(
        v.overrun(),
        Some(UpdateError::AttributeOverrun { offset: 8 })
    );
}
