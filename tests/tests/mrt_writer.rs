//! MRT writer on real data, read back by our reader, by bgpkit-parser and
//! (when installed) by `bgpdump -m`:
//! - TABLE_DUMP_V2: the PEER_INDEX_TABLE and the first RIB_IPV4_UNICAST
//!   records of the route-views2 2026 RIB slice, attributes decoded and
//!   re-encoded (abbreviated MP_REACH_NLRI, RFC 6396 §4.3.4).
//! - BGP4MP_ET MESSAGE_AS4: the first UPDATEs of RIS rrc21 2016, decoded and
//!   re-encoded.

use std::collections::VecDeque;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

use bgpkit_parser::{BgpkitParser, Elementor};
use bytes::BytesMut;
use rampart_core::attr::{MpReachForm, decode_path_attributes, encode_path_attributes};
use rampart_core::iana::MsgType;
use rampart_core::mrt::table_dump_v2::RibEntry;
use rampart_core::mrt::{Body, MrtReader, MrtWriter, Route, RouteDecoder, open_file};
use rampart_core::msg::update::Update;
use rampart_core::{DecodeCtx, EncodeCtx};
use rampart_tests::elem::{Elem, bgpkit_record_elems, from_route};
use rampart_tests::mrt_dir_or_skip;

/// RIB records copied from the slice.
const RIB_RECORDS: usize = 3000;
/// UPDATE records copied from the update file.
const UPDATE_RECORDS: usize = 3000;

fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("rampart-mrt-{tag}-{}.mrt", std::process::id()))
}

/// Our routes for a whole file, as sorted elems.
fn our_elems(path: &Path) -> (Vec<Elem>, Vec<Route>) {
    let mut r = MrtReader::new(open_file(path).unwrap());
    let mut dec = RouteDecoder::new();
    let mut q = VecDeque::new();
    while let Some(rec) = r.next_record().unwrap() {
        dec.decode(&rec, &mut q);
    }
    let routes: Vec<Route> = q.into_iter().map(Result::unwrap).collect();
    let mut elems: Vec<Elem> = routes.iter().map(from_route).collect();
    elems.sort();
    (elems, routes)
}

fn bgpkit_elems(path: &Path) -> Vec<Elem> {
    let mut el = Elementor::new();
    let p = BgpkitParser::from_reader(open_file(path).unwrap()).disable_warnings();
    let mut v: Vec<Elem> = p
        .into_record_iter()
        .flat_map(|rec| bgpkit_record_elems(&mut el, rec))
        .collect();
    v.sort();
    v
}

/// Writes the first `RIB_RECORDS` RIB records of `src` (after its peer
/// table) to `dst` through our decoder and encoder; returns the routes of
/// the source slice, as elems.
fn copy_rib(src: &Path, dst: &Path) -> Vec<Elem> {
    let mut r = MrtReader::new(open_file(src).unwrap());
    let mut w = MrtWriter::new(BufWriter::new(std::fs::File::create(dst).unwrap()));
    let mut dec = RouteDecoder::new();
    let mut q = VecDeque::new();
    let ctx = DecodeCtx::modern();
    let enc = EncodeCtx::modern();
    let mut ribs = 0;
    while let Some(rec) = r.next_record().unwrap() {
        dec.decode(&rec, &mut q);
        match rec.decode().unwrap() {
            Body::PeerIndexTable(t) => w.write_peer_index_table(rec.header.timestamp, &t).unwrap(),
            Body::Rib(rib) => {
                let mut bufs = Vec::new();
                let mut meta = Vec::new();
                for e in rib.entries() {
                    let e = e.unwrap();
                    let form = MpReachForm::MrtAbbreviated;
                    let a = decode_path_attributes(e.attrs, &ctx, form).unwrap();
                    let mut out = BytesMut::new();
                    encode_path_attributes(
                        &a.attrs,
                        a.mp_reach.as_ref(),
                        None,
                        &enc,
                        form,
                        &mut out,
                    )
                    .unwrap();
                    bufs.push(out);
                    meta.push((e.peer_index, e.originated, e.path_id));
                }
                let entries: Vec<RibEntry<'_>> = meta
                    .iter()
                    .zip(&bufs)
                    .map(|(&(peer_index, originated, path_id), b)| RibEntry {
                        peer_index,
                        originated,
                        path_id,
                        attrs: b,
                        offset: 0,
                    })
                    .collect();
                let ts = rec.header.timestamp;
                w.write_rib(ts, rib.sequence, &rib.prefix, &entries)
                    .unwrap();
                ribs += 1;
                if ribs == RIB_RECORDS {
                    break;
                }
            }
            other => panic!("unexpected record {other:?}"),
        }
    }
    w.into_inner().unwrap();
    let mut v: Vec<Elem> = q.into_iter().map(|r| from_route(&r.unwrap())).collect();
    v.sort();
    v
}

/// `bgpdump -m FILE` lines, or `None` (with a message) when bgpdump is
/// not installed.
fn bgpdump(path: &Path) -> Option<Vec<String>> {
    match Command::new("bgpdump").arg("-m").arg(path).output() {
        Ok(out) => {
            assert!(
                out.status.success(),
                "bgpdump: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(
                String::from_utf8(out.stdout)
                    .unwrap()
                    .lines()
                    .map(str::to_owned)
                    .collect(),
            )
        }
        Err(e) => {
            eprintln!("SKIP bgpdump check: bgpdump not runnable ({e}); apt-get install bgpdump");
            None
        }
    }
}

/// An AS path the way `bgpdump -m` prints it: sequences space-separated,
/// sets in braces with commas.
fn bgpdump_path(e: &Elem) -> String {
    e.as_path
        .iter()
        .map(|(t, asns)| {
            let s: Vec<String> = asns.iter().map(u32::to_string).collect();
            if *t == 1 {
                format!("{{{}}}", s.join(","))
            } else {
                s.join(" ")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// (kind, peer, prefix, AS path) per line of `bgpdump -m`, sorted.
fn bgpdump_keys(lines: &[String]) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = lines
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            let kind = match *f.get(2)? {
                "B" | "A" => "A",
                "W" => "W",
                _ => return None,
            };
            let path = if kind == "A" {
                f.get(6)?.to_string()
            } else {
                String::new()
            };
            Some((
                kind.to_string(),
                f.get(3)?.to_string(),
                f.get(5)?.to_string(),
                path,
            ))
        })
        .collect();
    v.sort();
    v
}

fn our_keys(elems: &[Elem]) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = elems
        .iter()
        .map(|e| {
            let path = if e.kind == 'A' {
                bgpdump_path(e)
            } else {
                String::new()
            };
            (
                e.kind.to_string(),
                e.peer.to_string(),
                e.prefix.clone(),
                path,
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn table_dump_v2_written_from_real_rib_reads_back_everywhere() {
    let Some(dir) = mrt_dir_or_skip("table_dump_v2_written_from_real_rib") else {
        return;
    };
    let src = dir.join("sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2");
    let dst = temp_path("rib");
    let original = copy_rib(&src, &dst);
    let (ours, routes) = our_elems(&dst);
    let theirs = bgpkit_elems(&dst);
    assert!(original.len() > 10_000, "{}", original.len());
    assert_eq!(ours, original, "our reader on the written file");
    assert_eq!(theirs, original, "bgpkit on the written file");
    let prefixes: std::collections::HashSet<_> = routes.iter().map(|r| r.prefix).collect();
    assert_eq!(prefixes.len(), RIB_RECORDS);
    if let Some(lines) = bgpdump(&dst) {
        assert_eq!(lines.len(), original.len(), "bgpdump line count");
        let bp: std::collections::HashSet<_> =
            lines.iter().filter_map(|l| l.split('|').nth(5)).collect();
        assert_eq!(bp.len(), RIB_RECORDS, "bgpdump distinct prefixes");
        assert_eq!(
            bgpdump_keys(&lines),
            our_keys(&original),
            "bgpdump peer/prefix/path"
        );
    }
    std::fs::remove_file(&dst).unwrap();
}

/// Copies the first `UPDATE_RECORDS` BGP4MP UPDATE records of `src` to
/// `dst` as BGP4MP_ET MESSAGE_AS4, re-encoded; returns the source routes.
fn copy_updates(src: &Path, dst: &Path) -> Vec<Elem> {
    let mut r = MrtReader::new(open_file(src).unwrap());
    let mut w = MrtWriter::new(BufWriter::new(std::fs::File::create(dst).unwrap()));
    let mut dec = RouteDecoder::new();
    let mut q = VecDeque::new();
    let mut n = 0;
    while let Some(rec) = r.next_record().unwrap() {
        let Body::Bgp4mpMessage(m) = rec.decode().unwrap() else {
            continue;
        };
        if m.msg_type() != Some(MsgType::Update) {
            continue;
        }
        dec.decode(&rec, &mut q);
        let d = Update::decode(m.body().unwrap(), &m.decode_ctx()).unwrap();
        let mut msg = BytesMut::new();
        let enc = EncodeCtx {
            extended_message: true,
            ..EncodeCtx::modern()
        };
        d.update.encode(&enc, &mut msg).unwrap();
        let us = Some((rec.offset % 1_000_000) as u32);
        w.write_bgp4mp_message(rec.header.timestamp, us, &m.peering, &msg, false)
            .unwrap();
        n += 1;
        if n == UPDATE_RECORDS {
            break;
        }
    }
    w.into_inner().unwrap();
    let mut v: Vec<Elem> = q.into_iter().map(|r| from_route(&r.unwrap())).collect();
    v.sort();
    v
}

#[test]
fn bgp4mp_et_written_from_real_updates_reads_back_everywhere() {
    let Some(dir) = mrt_dir_or_skip("bgp4mp_et_written_from_real_updates") else {
        return;
    };
    let src = dir.join("ripe-ncc-bgpdump/updates.20160811.1600.gz");
    let dst = temp_path("updates");
    let original = copy_updates(&src, &dst);
    let (ours, _) = our_elems(&dst);
    let theirs = bgpkit_elems(&dst);
    assert!(original.len() > 3000, "{}", original.len());
    assert!(
        original.iter().any(|e| e.prefix.contains(':')),
        "IPv6 covered"
    );
    assert!(
        original.iter().any(|e| e.kind == 'W'),
        "withdrawals covered"
    );
    assert_eq!(ours, original, "our reader on the written file");
    assert_eq!(theirs, original, "bgpkit on the written file");
    if let Some(lines) = bgpdump(&dst) {
        assert!(
            lines.iter().all(|l| l.starts_with("BGP4MP_ET|")),
            "{:?}",
            lines.first()
        );
        assert_eq!(
            bgpdump_keys(&lines),
            our_keys(&original),
            "bgpdump kind/peer/prefix/path"
        );
    }
    std::fs::remove_file(&dst).unwrap();
}
