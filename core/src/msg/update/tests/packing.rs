//! UpdateBuilder: PDUs within the size limit, every prefix exactly once.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use super::super::*;
use crate::attr::{AsPath, Community, Origin};
use crate::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};

fn attrs(next_hop: NextHop) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence([64500, 64501, 64502]),
        next_hop: Some(next_hop),
        communities: (0..10).map(Community).collect(),
        ..PathAttributes::default()
    }
}

fn v4(i: u32, len: u8) -> Prefix {
    Prefix::V4(Ipv4Prefix::new((0x0A00_0000 + (i << 8)).into(), len).unwrap())
}

/// Decodes every PDU and counts each (path id, prefix) seen.
fn collect(pdus: &[bytes::Bytes], ctx: &DecodeCtx) -> BTreeMap<Nlri, usize> {
    let mut seen = BTreeMap::new();
    for p in pdus {
        assert!(p.len() <= ctx.max_message_len(), "PDU of {} bytes", p.len());
        assert_eq!(usize::from(u16::from_be_bytes([p[16], p[17]])), p.len());
        let d = Update::decode(&p[HEADER_LEN..], ctx).unwrap();
        assert_eq!(d.treatment, Treatment::Normal, "{:?}", d.errors);
        let u = d.update;
        let mp = u.mp_reach.into_iter().flat_map(|m| m.nlri);
        let mpw = u.mp_unreach.into_iter().flat_map(|m| m.withdrawn);
        for n in u.nlri.into_iter().chain(u.withdrawn).chain(mp).chain(mpw) {
            *seen.entry(n).or_default() += 1;
        }
    }
    seen
}

fn pack(
    ctx: &EncodeCtx,
    attrs: &PathAttributes,
    family: AfiSafi,
    nlri: &[Nlri],
) -> Vec<bytes::Bytes> {
    let mut b = UpdateBuilder::new(ctx.clone());
    b.announce(attrs, family, nlri.iter().copied()).unwrap();
    b.into_pdu_iter().collect()
}

fn dctx(e: &EncodeCtx) -> DecodeCtx {
    DecodeCtx {
        four_octet_as: e.four_octet_as,
        add_path: e.add_path.clone(),
        extended_message: e.extended_message,
    }
}

#[test]
fn ten_thousand_ipv4_prefixes_pack_within_limits() {
    let nlri: Vec<Nlri> = (0..10_000).map(|i| Nlri::new(v4(i, 24))).collect();
    let a = attrs(NextHop::V4("192.0.2.1".parse().unwrap()));
    let ctx = EncodeCtx::modern();
    let pdus = pack(&ctx, &a, AfiSafi::IPV4_UNICAST, &nlri);
    let seen = collect(&pdus, &dctx(&ctx));
    assert_eq!(seen.len(), 10_000);
    assert!(seen.values().all(|&c| c == 1));
    // 4-octet prefixes, ~4000 bytes of room: about 1000 per PDU.
    assert!(pdus.len() >= 10 && pdus.len() <= 11, "{} PDUs", pdus.len());
    let ext = EncodeCtx {
        extended_message: true,
        ..EncodeCtx::modern()
    };
    let big = pack(&ext, &a, AfiSafi::IPV4_UNICAST, &nlri);
    assert!(big.len() < pdus.len());
    assert_eq!(collect(&big, &dctx(&ext)).len(), 10_000);
}

#[test]
fn ipv6_and_rfc8950_pack_into_mp_reach_with_add_path() {
    let nh = NextHop::V6 {
        global: "2001:db8::1".parse().unwrap(),
        link_local: Some("fe80::1".parse().unwrap()),
    };
    let fam6 = AfiSafi::IPV6_UNICAST;
    let ctx = EncodeCtx {
        add_path: [fam6, AfiSafi::IPV4_UNICAST].into_iter().collect(),
        ..EncodeCtx::modern()
    };
    let v6: Vec<Nlri> = (0..3000u32)
        .map(|i| Nlri {
            path_id: Some(i % 7),
            prefix: Prefix::V6(
                Ipv6Prefix::new(
                    Ipv6Addr::from((0x2001_0db8u128 << 96) | (u128::from(i) << 64)),
                    64,
                )
                .unwrap(),
            ),
        })
        .collect();
    let v4: Vec<Nlri> = (0..500)
        .map(|i| Nlri {
            path_id: Some(i),
            prefix: v4(i, 24),
        })
        .collect();
    let mut b = UpdateBuilder::new(ctx.clone());
    b.announce(&attrs(nh), fam6, v6.iter().copied()).unwrap();
    b.announce(&attrs(nh), AfiSafi::IPV4_UNICAST, v4.iter().copied())
        .unwrap();
    b.withdraw(
        fam6,
        v6.iter().take(100).map(|n| Nlri {
            path_id: Some(99),
            ..*n
        }),
    );
    let pdus: Vec<_> = b.into_pdu_iter().collect();
    let seen = collect(&pdus, &dctx(&ctx));
    assert_eq!(seen.len(), 3000 + 500 + 100);
    for n in v6.iter().chain(&v4) {
        assert_eq!(seen.get(n), Some(&1), "{n:?}");
    }
    // Withdrawals come first, in MP_UNREACH_NLRI.
    let first = Update::decode(&pdus[0][HEADER_LEN..], &dctx(&ctx))
        .unwrap()
        .update;
    assert_eq!(first.mp_unreach.map(|u| u.family), Some(fam6));
    assert_eq!(first.attrs, PathAttributes::default());
}

#[test]
fn ipv4_withdrawals_pack_and_path_ids_round_trip() {
    let ctx = EncodeCtx {
        add_path: [AfiSafi::IPV4_UNICAST].into_iter().collect(),
        ..EncodeCtx::modern()
    };
    let w: Vec<Nlri> = (0..2000)
        .map(|i| Nlri {
            path_id: Some(1000 + i),
            prefix: v4(i, 32),
        })
        .collect();
    let mut b = UpdateBuilder::new(ctx.clone());
    b.withdraw(AfiSafi::IPV4_UNICAST, w.iter().copied());
    let pdus: Vec<_> = b.into_pdu_iter().collect();
    assert!(pdus.len() >= 5);
    let seen = collect(&pdus, &dctx(&ctx));
    assert!(w.iter().all(|n| seen.get(n) == Some(&1)));
}

#[test]
fn announce_rejects_unusable_next_hops() {
    let mut b = UpdateBuilder::new(EncodeCtx::modern());
    let v4nh = attrs(NextHop::V4("192.0.2.1".parse().unwrap()));
    assert_eq!(
        b.announce(&v4nh, AfiSafi::IPV6_UNICAST, []),
        Err(EncodeError::NextHopFamily(AfiSafi::IPV6_UNICAST))
    );
    let none = PathAttributes::default();
    assert!(matches!(
        b.announce(&none, AfiSafi::IPV4_UNICAST, []),
        Err(EncodeError::MissingNextHop(_))
    ));
}

#[test]
fn ipv4_multicast_with_ipv4_next_hop_uses_mp_reach() {
    use crate::iana::{Afi, Safi};
    let family = AfiSafi::new(Afi::Ipv4, Safi::Multicast);
    let a = attrs(NextHop::V4("192.0.2.1".parse().unwrap()));
    let nlri: Vec<Nlri> = (0..10).map(|i| Nlri::new(v4(i, 24))).collect();
    let pdus = pack(&EncodeCtx::modern(), &a, family, &nlri);
    assert_eq!(pdus.len(), 1);
    let u = Update::decode(&pdus[0][HEADER_LEN..], &DecodeCtx::modern())
        .unwrap()
        .update;
    assert!(u.nlri.is_empty());
    let m = u.mp_reach.unwrap();
    assert_eq!(
        (m.family, m.next_hop, m.nlri),
        (family, a.next_hop.unwrap(), nlri)
    );
}

#[test]
fn repeated_calls_share_pdus() {
    let a = attrs(NextHop::V4("192.0.2.1".parse().unwrap()));
    let mut b = UpdateBuilder::new(EncodeCtx::modern());
    for i in 0..100 {
        b.withdraw(AfiSafi::IPV4_UNICAST, [Nlri::new(v4(i, 24))]);
        b.announce(&a, AfiSafi::IPV4_UNICAST, [Nlri::new(v4(1000 + i, 24))])
            .unwrap();
    }
    let pdus: Vec<_> = b.into_pdu_iter().collect();
    assert_eq!(pdus.len(), 2, "one withdrawal PDU and one announcement PDU");
    assert_eq!(collect(&pdus, &DecodeCtx::modern()).len(), 200);
}

#[test]
fn stream_is_the_pdus_back_to_back() {
    let build_with = |mut b: UpdateBuilder| {
        let v4s: Vec<Nlri> = (0..3000).map(|i| Nlri::new(v4(i, 24))).collect();
        b.announce(
            &attrs(NextHop::V4("192.0.2.1".parse().unwrap())),
            AfiSafi::IPV4_UNICAST,
            v4s.iter().copied(),
        )
        .unwrap();
        let v6: Vec<Nlri> = (0..500u128)
            .map(|i| {
                let a = Ipv6Addr::from(0x2001_0db8_u128 << 96 | i << 64);
                Nlri::new(Prefix::V6(Ipv6Prefix::new(a, 64).unwrap()))
            })
            .collect();
        b.announce(
            &attrs(NextHop::V6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: None,
            }),
            AfiSafi::IPV6_UNICAST,
            v6.iter().copied(),
        )
        .unwrap();
        b.withdraw(AfiSafi::IPV4_UNICAST, v4s.iter().copied().take(1500));
        b.withdraw(AfiSafi::IPV6_UNICAST, v6.iter().copied().take(300));
        b
    };
    let build = || build_with(UpdateBuilder::new(EncodeCtx::modern()));
    let pdus: Vec<bytes::Bytes> = build().into_pdu_iter().collect();
    assert!(pdus.len() > 4, "{} PDUs", pdus.len());
    let stream = build().into_stream();
    assert_eq!(stream, pdus.concat());
    // Room reserved up front, too little or enough, changes nothing.
    for (sets, prefixes) in [(1, 10), (2, 3500)] {
        let b = UpdateBuilder::with_capacity(EncodeCtx::modern(), sets, prefixes);
        assert_eq!(build_with(b).into_stream(), stream);
    }
    // And it splits back into the same messages at their length fields.
    let mut rest = &stream[..];
    let mut n = 0;
    while !rest.is_empty() {
        let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
        assert_eq!(&rest[..len], &pdus[n][..]);
        rest = &rest[len..];
        n += 1;
    }
    assert_eq!(n, pdus.len());
}
