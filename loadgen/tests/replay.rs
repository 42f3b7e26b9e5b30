//! MRT update-file replay (`--table updates:FILE:per-peer`) through a real
//! BIRD 2 route server in a network namespace: BIRD's final table and the
//! monitor must equal the set computed here independently (bgpkit-parser):
//! per peer, withdrawals then announcements of each UPDATE in order, the
//! union of what each replayed peer holds at the end; prefixes withdrawn
//! and held by no peer must be absent. A second test checks the scheduler:
//! at a finite speed the send span covers the scaled recorded span.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use bgpkit_parser::models::{Bgp4MpEnum, Bgp4MpType, BgpMessage, ElemType, MrtMessage};
use bgpkit_parser::{BgpkitParser, Elementor};
use ipnet::IpNet;
use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir, wait_for};

mod common;

const UPDATES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/mrt/ripe-ncc-bgpdump/updates.20100722.2015.gz"
);
/// The first 10 peers of the file: IPv4 and IPv6 peers, MESSAGE (2-octet
/// AS) and MESSAGE_AS4 records.
const SPEAKERS: usize = 10;

/// One MRT peer as computed here: its AS and final state.
struct Peer {
    asn: u32,
    /// Some of its UPDATEs are in MESSAGE (2-octet AS) records.
    as2: bool,
    /// Prefix -> held at the end.
    state: BTreeMap<IpNet, bool>,
}

/// Peers in order of their first UPDATE (MESSAGE / MESSAGE_AS4 from the
/// peer), each with its final state.
fn peers_from_bgpkit(path: &str) -> Vec<Peer> {
    let mut order: Vec<IpAddr> = Vec::new();
    let mut peers: BTreeMap<IpAddr, Peer> = BTreeMap::new();
    // bgpkit-parser is built without its file features: gunzip with
    // rampart-core (decompression only; the MRT parsing is bgpkit's).
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut rampart_core::mrt::open_file(Path::new(path)).unwrap(),
        &mut raw,
    )
    .unwrap();
    let parser = BgpkitParser::from_reader(std::io::Cursor::new(raw));
    for rec in parser.into_record_iter() {
        let MrtMessage::Bgp4Mp(Bgp4MpEnum::Message(m)) = rec.message else {
            continue;
        };
        if !matches!(m.msg_type, Bgp4MpType::Message | Bgp4MpType::MessageAs4) {
            continue;
        }
        let BgpMessage::Update(u) = m.bgp_message else {
            continue;
        };
        let peer = peers.entry(m.peer_ip).or_insert_with(|| {
            order.push(m.peer_ip);
            Peer {
                asn: u32::from(m.peer_asn),
                as2: false,
                state: BTreeMap::new(),
            }
        });
        peer.as2 |= m.msg_type == Bgp4MpType::Message;
        let elems = Elementor::bgp_update_to_elems(u, 0.0, &m.peer_ip, &m.peer_asn);
        // Within one UPDATE: withdrawals first, then announcements.
        for e in elems.iter().filter(|e| e.elem_type == ElemType::WITHDRAW) {
            peer.state.insert(e.prefix.prefix, false);
        }
        for e in elems.iter().filter(|e| e.elem_type == ElemType::ANNOUNCE) {
            peer.state.insert(e.prefix.prefix, true);
        }
    }
    order.into_iter().filter_map(|a| peers.remove(&a)).collect()
}

/// (expected: held by some peer at the end, absent: seen, held by none).
fn expected_sets(peers: &[Peer]) -> (BTreeSet<IpNet>, BTreeSet<IpNet>) {
    let held: BTreeSet<IpNet> = peers
        .iter()
        .flat_map(|p| p.state.iter().filter(|(_, h)| **h).map(|(n, _)| *n))
        .collect();
    let absent = peers
        .iter()
        .flat_map(|p| p.state.keys().copied())
        .filter(|n| !held.contains(n))
        .collect();
    (held, absent)
}

/// BIRD as route server; `interpret communities off`: the recorded routes
/// carry NO_EXPORT (RFC 1997), which BIRD would otherwise honour toward
/// the monitor, and the test is about the replay, not that filter.
fn bird_config(asns: &[u32]) -> String {
    common::bird_rs_with(asns, 1, "passive on;\n  interpret communities off;", "")
}

fn bird_prefixes(bird: &Bird) -> Option<BTreeSet<IpNet>> {
    let routes = bird.routes().ok()?;
    routes.iter().map(|r| r.prefix.parse().ok()).collect()
}

#[test]
fn replay_through_bird_ends_with_the_recorded_final_state() {
    if !Path::new(UPDATES).exists() {
        eprintln!("SKIP replay_through_bird_ends_with_the_recorded_final_state: no {UPDATES}");
        return;
    }
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP replay_through_bird_ends_with_the_recorded_final_state: {why}");
        return;
    }
    let all = peers_from_bgpkit(UPDATES);
    assert!(all.len() >= SPEAKERS, "{} peers", all.len());
    let peers = &all[..SPEAKERS];
    let (want, absent) = expected_sets(peers);
    assert!(
        want.len() > 100 && !absent.is_empty(),
        "{want:?} {absent:?}"
    );
    let asns: Vec<u32> = peers.iter().map(|p| p.asn).collect();

    let dir = tempdir("loadgen-replay");
    let ns = Netns::new("lgreplay").unwrap();
    let bird = Bird::start(&ns, &dir, &bird_config(&asns)).unwrap();
    let table = format!("updates:{UPDATES}:per-peer");
    let speakers = SPEAKERS.to_string();
    let child = common::spawn(
        &ns,
        "198.18.0.1:179",
        &[
            "--source",
            "198.18.1.1",
            "--monitor-source",
            "198.18.2.1",
            "--monitors",
            "1",
            "--speakers",
            &speakers,
            "--table",
            &table,
            "--local-as-from-mrt",
            "--replay-speed",
            "0",
            "--timeout",
            "20",
            "--hold-after",
            "6",
        ],
    );
    let seen = wait_for(
        "BIRD to hold the final set",
        Duration::from_secs(25),
        || bird_prefixes(&bird).filter(|s| *s == want),
    );
    let rep = common::report(child);
    let got = bird_prefixes(&bird).unwrap_or_default();
    assert!(
        seen.is_ok(),
        "BIRD's table: {} extra {:?}, {} missing {:?}; log: {}",
        got.difference(&want).count(),
        got.difference(&want).take(5).collect::<Vec<_>>(),
        want.difference(&got).count(),
        want.difference(&got).take(5).collect::<Vec<_>>(),
        bird.log()
    );
    assert!(got.is_disjoint(&absent), "withdrawn prefixes held by BIRD");
    // The monitor: every expected prefix and no withdrawn one.
    assert!(rep.ok, "report: {rep:?}");
    assert_eq!(rep.expected_prefixes, want.len());
    assert!(rep.missing.is_empty(), "{:?}", rep.missing);
    let r = rep.replay.as_ref().expect("replay figures");
    assert!(r.withdrawals > 0 && r.announcements > 0, "{r:?}");
    assert!(r.recorded_span_secs > 0.0);
    assert_eq!(
        rep.sessions_failed + rep.sessions_down,
        0,
        "{:?}",
        rep.errors
    );
    drop(bird);
    drop(ns);
}

/// At speed 100 the ~300 s recording takes ~3 s: the send span is at least
/// the scaled recorded span (less a small tolerance); no upper bound (the
/// machine is shared). Against the in-process sink.
#[test]
fn timed_replay_keeps_the_scaled_recorded_span() {
    if !Path::new(UPDATES).exists() {
        eprintln!("SKIP timed_replay_keeps_the_scaled_recorded_span: no {UPDATES}");
        return;
    }
    let table = format!("updates:{UPDATES}:per-peer");
    let rep = common::run_sink(&[
        "--speakers",
        "3",
        "--table",
        &table,
        "--replay-speed",
        "100",
        "--timeout",
        "20",
    ]);
    assert!(rep.ok, "{rep:?}");
    let r = rep.replay.expect("replay figures");
    assert_eq!(r.speed, 100.0);
    let scaled = r.recorded_span_secs / 100.0;
    assert!(scaled > 1.0, "recorded span {}", r.recorded_span_secs);
    let sent = r.send_span_secs.expect("send span");
    assert!(
        sent >= scaled - 0.05,
        "sent in {sent} s, scaled span {scaled} s"
    );
}

/// Writes a tiny BGP4MP_ET update file: one peer, one IPv4 prefix per
/// UPDATE, at `offsets_ms` from the first; the last UPDATE withdraws the first prefix.
fn write_tiny_recording(path: &Path, offsets_ms: &[u32]) {
    use rampart_core::attr::{AsPath, NextHop, Origin, PathAttributes};
    use rampart_core::iana::Afi;
    use rampart_core::mrt::MrtWriter;
    use rampart_core::mrt::bgp4mp::Peering;
    use rampart_core::msg::update::Update;
    use rampart_core::nlri::Nlri;
    let peering = Peering {
        peer_as: 65_010,
        local_as: 12_654,
        interface: 0,
        afi: Afi::Ipv4,
        peer_addr: "192.0.2.10".parse().unwrap(),
        local_addr: "192.0.2.1".parse().unwrap(),
    };
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence([65_010, 65_020]),
        next_hop: Some(NextHop::V4("192.0.2.10".parse().unwrap())),
        ..PathAttributes::default()
    };
    let mut w = MrtWriter::new(std::fs::File::create(path).unwrap());
    let t0 = 1_700_000_000u32;
    let n = offsets_ms.len();
    for (k, ms) in offsets_ms.iter().enumerate() {
        let prefix = format!("10.{k}.0.0/16").parse().unwrap();
        let mut u = Update::default();
        if k + 1 == n {
            u.withdrawn = vec![Nlri::new("10.0.0.0/16".parse().unwrap())];
        } else {
            u.attrs = attrs.clone();
            u.nlri = vec![Nlri::new(prefix)];
        }
        w.write_update(t0 + ms / 1000, Some((ms % 1000) * 1000), &peering, &u)
            .unwrap();
    }
    w.into_inner().unwrap();
}

/// Speed 1 over a tiny recording with sub-second (BGP4MP_ET) gaps: the
/// send span is at least the recorded span less a tolerance, and the final
/// state (first prefix withdrawn) is what the sink run expects.
#[test]
fn speed_one_keeps_recorded_gaps() {
    let dir = tempdir("loadgen-replay-tiny");
    let path = dir.join("tiny.mrt");
    write_tiny_recording(&path, &[0, 300, 1250, 1500]);
    let table = format!("updates:{}", path.display());
    let rep = common::run_sink(&[
        "--speakers",
        "2",
        "--table",
        &table,
        "--replay-speed",
        "1",
        "--timeout",
        "20",
    ]);
    assert!(rep.ok, "{rep:?}");
    let r = rep.replay.expect("replay figures");
    assert!((r.recorded_span_secs - 1.5).abs() < 1e-6, "{r:?}");
    assert_eq!((r.messages, r.announcements, r.withdrawals), (8, 6, 2));
    // Held at the end: 10.1/16 and 10.2/16.
    assert_eq!(rep.expected_prefixes, 2);
    let sent = r.send_span_secs.expect("send span");
    assert!(sent >= 1.5 - 0.05, "sent in {sent} s, recorded span 1.5 s");
    let _ = std::fs::remove_dir_all(&dir);
}
