//! Unit tests for the MRT codec: hand-built vectors per record type checked
//! both ways, and framing errors with offsets.

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::bgp4mp::{Peering, subtype as bs};
use super::table_dump::TableDumpEntry;
use super::table_dump_v2::{PeerEntry, PeerIndexTable, RibEntry, subtype as ts};
use super::*;
use crate::iana::{Afi, MsgType, Safi};
use crate::nlri::{AfiSafi, Prefix};

fn hdr(ts_: u32, t: u16, s: u16, len: u32) -> Vec<u8> {
    let mut v = ts_.to_be_bytes().to_vec();
    v.extend_from_slice(&t.to_be_bytes());
    v.extend_from_slice(&s.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v
}

fn one(bytes: &[u8]) -> (CommonHeader, Vec<u8>, u64) {
    let mut r = MrtReader::new(Cursor::new(bytes));
    let rec = r.next_record().unwrap().unwrap();
    let out = (rec.header, rec.body.to_vec(), rec.body_offset());
    assert!(r.next_record().unwrap().is_none());
    out
}

fn peer_table() -> PeerIndexTable {
    PeerIndexTable {
        collector_id: Ipv4Addr::new(192, 0, 2, 1),
        view_name: "v".into(),
        peers: vec![
            PeerEntry {
                bgp_id: Ipv4Addr::new(10, 0, 0, 1),
                addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
                asn: 64500,
                as4: false,
            },
            PeerEntry {
                bgp_id: Ipv4Addr::new(10, 0, 0, 2),
                addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
                asn: 4_200_000_000,
                as4: true,
            },
        ],
    }
}

#[rustfmt::skip]
fn peer_table_bytes() -> Vec<u8> {
    let mut b = vec![192, 0, 2, 1, 0, 1, b'v', 0, 2];
    // peer 0: type 0 (IPv4, 2-octet AS)
    b.extend_from_slice(&[0, 10, 0, 0, 1, 198, 51, 100, 1, 0xfb, 0xf4]);
    // peer 1: type 3 (IPv6, 4-octet AS)
    b.extend_from_slice(&[3, 10, 0, 0, 2]);
    b.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2).octets());
    b.extend_from_slice(&4_200_000_000u32.to_be_bytes());
    b
}

#[test]
fn peer_index_table_both_ways() {
    let body = peer_table_bytes();
    let mut file = hdr(1000, 13, 1, body.len() as u32);
    file.extend_from_slice(&body);
    let (h, b, off) = one(&file);
    assert_eq!((h.mrt_type, h.subtype, h.timestamp), (13, 1, 1000));
    assert_eq!(off, 12);
    let rec = Record {
        offset: 0,
        header: h,
        body: &b,
        length_corrected: false,
    };
    assert_eq!(rec.decode().unwrap(), Body::PeerIndexTable(peer_table()));
    let mut w = MrtWriter::new(Vec::new());
    w.write_peer_index_table(1000, &peer_table()).unwrap();
    assert_eq!(w.into_inner().unwrap(), file);
}

#[rustfmt::skip]
fn rib_v6_addpath_bytes() -> Vec<u8> {
    let mut b = 7u32.to_be_bytes().to_vec();
    b.extend_from_slice(&[32, 0x20, 0x01, 0x0d, 0xb8]); // 2001:db8::/32
    b.extend_from_slice(&[0, 2]); // entry count
    b.extend_from_slice(&[0, 1, 0, 0, 0, 5, 0, 0, 0, 9, 0, 3, 0x40, 1, 0]);
    b.extend_from_slice(&[0, 0, 0, 0, 0, 6, 0, 0, 0, 10, 0, 0]);
    b
}

#[test]
fn rib_ipv6_addpath_both_ways() {
    let body = rib_v6_addpath_bytes();
    let prefix: Prefix = "2001:db8::/32".parse().unwrap();
    let origin = [0x40u8, 1, 0];
    let entries = [
        RibEntry {
            peer_index: 1,
            originated: 5,
            path_id: Some(9),
            attrs: &origin,
            offset: 0,
        },
        RibEntry {
            peer_index: 0,
            originated: 6,
            path_id: Some(10),
            attrs: &[],
            offset: 0,
        },
    ];
    let mut w = MrtWriter::new(Vec::new());
    w.write_rib(77, 7, &prefix, &entries).unwrap();
    let file = w.into_inner().unwrap();
    let mut expect = hdr(77, 13, ts::RIB_IPV6_UNICAST_ADDPATH, body.len() as u32);
    expect.extend_from_slice(&body);
    assert_eq!(file, expect);

    let Body::Rib(rib) = super::table_dump_v2::decode(10, &body, 12).unwrap() else {
        panic!("not a RIB");
    };
    assert_eq!(rib.family, AfiSafi::IPV6_UNICAST);
    assert!(rib.add_path);
    assert_eq!((rib.sequence, rib.prefix, rib.entry_count), (7, prefix, 2));
    let got: Vec<_> = rib.entries().map(Result::unwrap).collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].path_id, Some(9));
    assert_eq!(got[0].attrs, &origin);
    assert_eq!(got[0].offset, 12 + 11);
    assert_eq!((got[1].peer_index, got[1].path_id), (0, Some(10)));
}

#[test]
fn rib_ipv4_unicast_and_errors() {
    let prefix: Prefix = "10.0.0.0/8".parse().unwrap();
    let e = RibEntry {
        peer_index: 0,
        originated: 1,
        path_id: None,
        attrs: &[0x40, 1, 0],
        offset: 0,
    };
    let mut w = MrtWriter::new(Vec::new());
    w.write_rib(5, 1, &prefix, &[e]).unwrap();
    let file = w.into_inner().unwrap();
    let (h, body, _) = one(&file);
    assert_eq!(h.subtype, ts::RIB_IPV4_UNICAST);
    assert_eq!(&body[..6], &[0, 0, 0, 1, 8, 10]);
    // Mixed path identifiers cannot be one record.
    let mut e2 = e;
    e2.path_id = Some(1);
    let mut w = MrtWriter::new(Vec::new());
    assert!(matches!(
        w.write_rib(5, 1, &prefix, &[e, e2]),
        Err(MrtError::Unencodable { .. })
    ));
    // Entry count larger than the entries present: truncated with offset.
    let mut bad = body.clone();
    bad[7] = 2;
    let Body::Rib(rib) = super::table_dump_v2::decode(2, &bad, 100).unwrap() else {
        panic!();
    };
    let res: Vec<_> = rib.entries().collect();
    assert_eq!(res.len(), 2);
    assert!(matches!(
        res[1],
        Err(MrtError::Truncated { what: "peer index", offset, .. }) if offset == 100 + bad.len() as u64
    ));
}

#[test]
fn table_dump_v1_both_ways_and_length_correction() {
    let entry = TableDumpEntry {
        view: 0,
        sequence: 3,
        prefix: "192.0.2.0/24".parse().unwrap(),
        status: 1,
        originated: 99,
        peer_addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
        peer_as: 65001,
        attrs: &[0x40, 1, 0, 0x40, 2, 0],
        offset: 16,
    };
    let mut w = MrtWriter::new(Vec::new());
    w.write_table_dump(42, &entry).unwrap();
    let file = w.into_inner().unwrap();
    #[rustfmt::skip]
    let body = [0, 0, 0, 3, 192, 0, 2, 0, 24, 1, 0, 0, 0, 99,
                198, 51, 100, 7, 0xfd, 0xe9, 0, 6, 0x40, 1, 0, 0x40, 2, 0];
    assert_eq!(&file[12..], &body);
    let (h, b, base) = one(&file);
    let td = super::table_dump::TableDump::decode(h.subtype, &b, base).unwrap();
    let got: Vec<_> = td.entries().map(Result::unwrap).collect();
    assert_eq!(got, vec![entry]);

    // The 2000-era framing: Length 4 short, followed by another record.
    let mut short = hdr(42, 12, 1, body.len() as u32 - 4);
    short.extend_from_slice(&body);
    short.extend_from_slice(&file);
    let mut r = MrtReader::new(Cursor::new(&short));
    let rec = r.next_record().unwrap().unwrap();
    assert!(rec.length_corrected);
    assert_eq!(rec.body, &body);
    let rec = r.next_record().unwrap().unwrap();
    assert!(!rec.length_corrected);
    assert_eq!(rec.offset, 12 + body.len() as u64);
    assert!(r.next_record().unwrap().is_none());
    assert_eq!(r.stats().length_corrections, 1);
}

fn peering_v6() -> Peering {
    Peering {
        peer_as: 4_200_000_001,
        local_as: 65000,
        interface: 0,
        afi: Afi::Ipv6,
        peer_addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
        local_addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2)),
    }
}

fn keepalive() -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&[0, 19, 4]);
    m
}

#[test]
fn bgp4mp_et_message_as4_both_ways() {
    let mut w = MrtWriter::new(Vec::new());
    w.write_bgp4mp_message(
        1_700_000_000,
        Some(123_456),
        &peering_v6(),
        &keepalive(),
        false,
    )
    .unwrap();
    let file = w.into_inner().unwrap();
    let mut expect = hdr(1_700_000_000, 17, bs::MESSAGE_AS4, 4 + 44 + 19);
    expect.extend_from_slice(&123_456u32.to_be_bytes());
    expect.extend_from_slice(&4_200_000_001u32.to_be_bytes());
    expect.extend_from_slice(&65000u32.to_be_bytes());
    expect.extend_from_slice(&[0, 0, 0, 2]);
    expect.extend_from_slice(&file[28..60]); // the two addresses, checked below
    expect.extend_from_slice(&keepalive());
    assert_eq!(file, expect);

    let mut r = MrtReader::new(Cursor::new(&file));
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(rec.header.microseconds, Some(123_456));
    assert_eq!(rec.body_offset(), 16);
    let Body::Bgp4mpMessage(m) = rec.decode().unwrap() else {
        panic!();
    };
    assert_eq!(m.peering, peering_v6());
    assert!(m.four_octet_as && !m.add_path && !m.local);
    assert_eq!(m.msg_type(), Some(MsgType::Keepalive));
    assert_eq!(m.body(), Some(&[][..]));
    assert_eq!(m.message_offset, 16 + 44);
    assert!(m.decode_ctx().four_octet_as);
}

#[test]
fn bgp4mp_message_2octet_addpath_and_state_change() {
    #[rustfmt::skip]
    let mut body = vec![0xfd, 0xe8, 0xfd, 0xe9, 0, 7, 0, 1,
                        192, 0, 2, 1, 192, 0, 2, 2];
    body.extend_from_slice(&keepalive());
    let Body::Bgp4mpMessage(m) = super::bgp4mp::decode(bs::MESSAGE_ADDPATH, &body, 0).unwrap()
    else {
        panic!();
    };
    assert_eq!((m.peering.peer_as, m.peering.local_as), (65000, 65001));
    assert_eq!(m.peering.interface, 7);
    assert!(!m.four_octet_as && m.add_path);
    let ctx = m.decode_ctx();
    assert!(!ctx.four_octet_as);
    assert!(ctx.add_path(AfiSafi::IPV4_UNICAST) && ctx.add_path(AfiSafi::IPV6_UNICAST));
    assert!(ctx.add_path(AfiSafi::new(Afi::Ipv4, Safi::Multicast)));

    let mut w = MrtWriter::new(Vec::new());
    let p = Peering {
        afi: Afi::Ipv4,
        peer_addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        local_addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        ..peering_v6()
    };
    w.write_bgp4mp_state_change(9, None, &p, 1, 6).unwrap();
    let file = w.into_inner().unwrap();
    let (h, b, base) = one(&file);
    assert_eq!((h.mrt_type, h.subtype, h.length), (16, 5, 24));
    let Body::Bgp4mpStateChange(sc) = super::bgp4mp::decode(h.subtype, &b, base).unwrap() else {
        panic!();
    };
    assert_eq!((sc.peering, sc.old_state, sc.new_state), (p, 1, 6));
    // 2-octet state change with a trailing byte.
    let mut sc2 = vec![
        0xfd, 0xe8, 0xfd, 0xe9, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 0, 1, 0, 6,
    ];
    assert!(super::bgp4mp::decode(0, &sc2, 0).is_ok());
    sc2.push(0);
    assert_eq!(
        super::bgp4mp::decode(0, &sc2, 50),
        Err(MrtError::Trailing {
            what: "BGP4MP state change",
            offset: 70,
            count: 1
        })
    );
}

#[test]
fn legacy_type5_update() {
    #[rustfmt::skip]
    let body = [0xfd, 0xe8, 192, 0, 2, 1, 0x30, 0x39, 192, 0, 2, 2, 0, 0, 0, 0];
    match super::legacy::LegacyBgp::decode(1, &body, 0).unwrap() {
        super::legacy::LegacyBgp::Message {
            subtype,
            peer_as,
            local_as,
            body: b,
            ..
        } => {
            assert_eq!((subtype, peer_as, local_as), (1, 65000, 12345));
            assert_eq!(b, &[0, 0, 0, 0]);
        }
        other => panic!("{other:?}"),
    }
    assert!(super::legacy::LegacyBgp::decode(3, &body[..9], 0).is_err());
}

#[test]
fn truncated_header_and_body_give_offsets_then_end() {
    let mut file = hdr(1, 16, 4, 4);
    file.extend_from_slice(&[1, 2, 3, 4]);
    let good = file.len() as u64;
    // A second record cut inside its header.
    let mut cut_header = file.clone();
    cut_header.extend_from_slice(&[0, 0, 0]);
    let mut r = MrtReader::new(Cursor::new(&cut_header));
    assert!(r.next_record().unwrap().is_some());
    assert_eq!(
        r.next_record(),
        Err(MrtError::TruncatedRecord {
            offset: good,
            needed: 12,
            available: 3
        })
    );
    assert_eq!(r.next_record(), Ok(None));
    // A second record cut inside its body.
    let mut cut_body = file.clone();
    cut_body.extend_from_slice(&hdr(2, 13, 2, 100));
    cut_body.extend_from_slice(&[0; 10]);
    let mut r = MrtReader::new(Cursor::new(&cut_body)).with_recovery(Recovery::Resync);
    assert!(r.next_record().unwrap().is_some());
    assert_eq!(
        r.next_record(),
        Err(MrtError::TruncatedRecord {
            offset: good,
            needed: 112,
            available: 22
        })
    );
    assert_eq!(r.next_record(), Ok(None));
    // An _ET record whose length cannot hold the microsecond field.
    let et = hdr(1, 17, 4, 2);
    let mut r = MrtReader::new(Cursor::new(&et));
    assert!(matches!(
        r.next_record(),
        Err(MrtError::Invalid { offset: 8, .. })
    ));
}

#[test]
fn oversized_is_rejected_without_allocating_and_resync_recovers() {
    let mut file = hdr(1000, 16, 4, u32::MAX);
    file.extend_from_slice(&[0xAB; 5]);
    let mut good = hdr(1001, 16, 0, 4);
    good.extend_from_slice(&[9, 9, 9, 9]);
    file.extend_from_slice(&good);
    let mut r = MrtReader::new(Cursor::new(&file));
    assert_eq!(
        r.next_record(),
        Err(MrtError::Oversized {
            offset: 0,
            length: u32::MAX,
            max: MAX_RECORD_LEN
        })
    );
    assert_eq!(r.next_record(), Ok(None));

    let mut r = MrtReader::new(Cursor::new(&file)).with_recovery(Recovery::Resync);
    assert!(matches!(r.next_record(), Err(MrtError::Oversized { .. })));
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(
        (rec.offset, rec.header.timestamp, rec.body),
        (17, 1001, &[9u8; 4][..])
    );
    assert_eq!(r.next_record(), Ok(None));
    assert_eq!(r.stats().resyncs, 1);
    assert_eq!(r.stats().skipped_bytes, 17);
}

#[test]
fn every_truncation_of_every_vector_errs_without_panic() {
    let mut w = MrtWriter::new(Vec::new());
    w.write_peer_index_table(1, &peer_table()).unwrap();
    w.write_rib(1, 7, &"2001:db8::/32".parse().unwrap(), &[])
        .unwrap();
    w.write_bgp4mp_message(1, Some(1), &peering_v6(), &keepalive(), true)
        .unwrap();
    let file = w.into_inner().unwrap();
    let mut r = MrtReader::new(Cursor::new(&file));
    let mut records = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        records.push((rec.header, rec.body.to_vec()));
    }
    assert_eq!(records.len(), 3);
    for (h, body) in &records {
        for cut in 0..body.len() {
            let rec = Record {
                offset: 0,
                header: *h,
                body: &body[..cut],
                length_corrected: false,
            };
            let res = rec.decode();
            let is_msg = matches!(res, Ok(Body::Bgp4mpMessage(_)));
            assert!(res.is_err() || is_msg || cut >= 7, "{h:?} cut {cut}");
            if let Ok(Body::Rib(rib)) = res {
                rib.entries().for_each(drop);
            }
        }
    }
    for cut in 0..file.len() {
        let mut r = MrtReader::new(Cursor::new(&file[..cut]));
        let mut n = 0;
        loop {
            match r.next_record() {
                Ok(Some(_)) => n += 1,
                Ok(None) => break,
                Err(e) => {
                    assert!(e.offset() < cut as u64 || cut == 0, "{e}");
                    assert_eq!(r.next_record(), Ok(None));
                    break;
                }
            }
        }
        assert!(n <= 3);
    }
}

mod routes {
    use std::io::Cursor;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    use bytes::BytesMut;

    use super::{keepalive, peer_table, peering_v6};
    use crate::attr::{
        AsPath, Community, MpReachForm, NextHop, Origin, PathAttributes, encode_path_attributes,
    };
    use crate::ctx::EncodeCtx;
    use crate::mrt::table_dump_v2::RibEntry;
    use crate::mrt::{MrtError, MrtReader, MrtRoutes, MrtWriter, RibRoute, RouteKind};
    use crate::msg::update::{MpReach, Update};
    use crate::nlri::{AfiSafi, Nlri, Prefix};

    fn attrs(nh: Option<NextHop>) -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence([65001, 4_200_000_000]),
            next_hop: nh,
            communities: vec![Community::new(65001, 7)].into(),
            ..PathAttributes::default()
        }
    }

    #[test]
    fn rib_entries_and_update_prefixes_become_routes() {
        let v6_nh = NextHop::V6 {
            global: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9),
            link_local: None,
        };
        let prefix: Prefix = "2001:db8:1::/48".parse().unwrap();
        let mp = MpReach {
            family: AfiSafi::IPV6_UNICAST,
            next_hop: v6_nh,
            nlri: vec![],
        };
        let mut raw = BytesMut::new();
        let enc = EncodeCtx::modern();
        encode_path_attributes(
            &attrs(None),
            Some(&mp),
            None,
            &enc,
            MpReachForm::MrtAbbreviated,
            &mut raw,
        )
        .unwrap();
        let entry = |peer_index, path_id| RibEntry {
            peer_index,
            originated: 3,
            path_id: Some(path_id),
            attrs: &raw,
            offset: 0,
        };
        let v4_nh = NextHop::V4(Ipv4Addr::new(192, 0, 2, 1));
        let update = Update {
            withdrawn: vec![Nlri::new("192.0.2.0/24".parse().unwrap())],
            attrs: attrs(Some(v4_nh)),
            nlri: vec![Nlri::new("10.0.0.0/8".parse().unwrap())],
            ..Update::default()
        };
        let mut msg = BytesMut::new();
        update.encode(&enc, &mut msg).unwrap();

        let mut w = MrtWriter::new(Vec::new());
        w.write_peer_index_table(1, &peer_table()).unwrap();
        w.write_rib(1, 0, &prefix, &[entry(1, 77), entry(5, 78)])
            .unwrap();
        w.write_bgp4mp_message(2, Some(5), &peering_v6(), &keepalive(), false)
            .unwrap();
        w.write_bgp4mp_message(2, Some(6), &peering_v6(), &msg, false)
            .unwrap();
        let file = w.into_inner().unwrap();

        // The convenience writers give the same bytes as encoding by hand.
        let with_nh = PathAttributes {
            next_hop: Some(v6_nh),
            ..attrs(None)
        };
        let (mut a, mut b) = (MrtWriter::new(Vec::new()), MrtWriter::new(Vec::new()));
        let route = RibRoute {
            peer_index: 1,
            originated: 3,
            path_id: Some(77),
            attrs: &with_nh,
        };
        a.write_rib_attrs(1, 0, &prefix, &[route]).unwrap();
        b.write_rib(1, 0, &prefix, &[entry(1, 77)]).unwrap();
        a.write_update(2, Some(6), &peering_v6(), &update).unwrap();
        b.write_bgp4mp_message(2, Some(6), &peering_v6(), &msg, false)
            .unwrap();
        assert_eq!(a.into_inner().unwrap(), b.into_inner().unwrap());

        let items: Vec<_> = MrtRoutes::new(MrtReader::new(Cursor::new(&file))).collect();
        assert_eq!(items.len(), 4, "{items:#?}");
        let rib = items[0].as_ref().unwrap();
        assert_eq!(rib.kind, RouteKind::Rib);
        assert_eq!((rib.prefix, rib.path_id), (prefix, Some(77)));
        assert_eq!(rib.peer.index, Some(1));
        assert_eq!(rib.originated, Some(3));
        assert_eq!(rib.peer.asn, 4_200_000_000);
        assert_eq!(rib.attrs.next_hop, Some(v6_nh));
        assert_eq!(
            *rib.attrs,
            PathAttributes {
                next_hop: Some(v6_nh),
                ..attrs(None)
            }
        );
        assert!(matches!(
            items[1],
            Err(MrtError::UnknownPeer {
                index: 5,
                count: 2,
                ..
            })
        ));
        let wd = items[2].as_ref().unwrap();
        assert_eq!(
            (wd.kind, wd.prefix.to_string()),
            (RouteKind::Withdraw, "192.0.2.0/24".into())
        );
        assert_eq!(wd.microseconds, Some(6));
        let ann = items[3].as_ref().unwrap();
        assert_eq!((ann.kind, ann.originated), (RouteKind::Announce, None));
        assert_eq!(
            ann.peer.addr,
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))
        );
        assert_eq!(*ann.attrs, attrs(Some(v4_nh)));
    }
}

#[cfg(feature = "compression")]
#[test]
fn open_file_detects_gzip_bzip2_and_plain_by_magic() {
    use std::io::{Read, Write};
    let mut w = MrtWriter::new(Vec::new());
    w.write_peer_index_table(1, &peer_table()).unwrap();
    let plain = w.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&plain).unwrap();
    // Two gzip members back to back, as concatenated collector files are.
    let mut gz2 = flate2::write::GzEncoder::new(gz.finish().unwrap(), flate2::Compression::fast());
    gz2.write_all(&plain).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(&plain).unwrap();
    let cases = [
        ("plain", plain.clone(), plain.clone()),
        (
            "gz",
            gz2.finish().unwrap(),
            [plain.clone(), plain.clone()].concat(),
        ),
        ("bz2", bz.finish().unwrap(), plain.clone()),
    ];
    for (tag, bytes, want) in cases {
        // A misleading extension: the magic bytes decide.
        let p = std::env::temp_dir().join(format!("rampart-open-{}-{tag}.mrt", std::process::id()));
        std::fs::write(&p, &bytes).unwrap();
        let mut got = Vec::new();
        open_file(&p).unwrap().read_to_end(&mut got).unwrap();
        std::fs::remove_file(&p).unwrap();
        assert_eq!(got, want, "{tag}");
    }
}
