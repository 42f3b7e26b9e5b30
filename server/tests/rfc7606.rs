//! A malformed UPDATE that calls for "AFI/SAFI disable" (RFC 7606 §2,
//! RFC 4760 §7): an MP_UNREACH_NLRI whose IPv4 prefix is 64 bits long.
//! rampartd keeps the session, withdraws everything the peer announced in
//! that family (the other client sees the withdrawals) and ignores the
//! peer's later routes of that family, including those it sent just
//! before in the same read. And one that calls for
//! treat-as-withdraw after decoding: confederation segments from a peer
//! outside the confederation. The tests play both route server clients
//! over real TCP in a network namespace.

use std::time::Duration;

use rampart_core::attr::{AsPath, NextHop, Origin, PathAttributes, Segment, SegmentType};
use rampart_core::msg::{Message, Update};
use rampart_core::nlri::{Nlri, Prefix};
use rampart_tests::harness::raw_peer::{
    A, TwoClients, announcement, announces, ipv4, two_clients, withdraws,
};
use rampart_tests::harness::{missing_prerequisite, rampartctl, tempdir, wait_for};

const WAIT: Duration = Duration::from_secs(10);

/// An UPDATE with only an MP_UNREACH_NLRI for IPv4 unicast whose one
/// prefix claims 64 bits (RFC 7606 §7.4: AFI/SAFI disable).
fn malformed_mp_unreach() -> Vec<u8> {
    let attr = [0x80, 15, 5, 0, 1, 1, 64, 0x20];
    let len = 19 + 2 + 2 + attr.len();
    let mut m = vec![0xFF; 16];
    m.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
    m.push(2);
    m.extend_from_slice(&[0, 0]);
    m.extend_from_slice(&u16::try_from(attr.len()).unwrap().to_be_bytes());
    m.extend_from_slice(&attr);
    m
}

#[test]
fn afi_safi_disable_withdraws_the_family_and_keeps_the_session() {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("rfc7606-disable");
    let TwoClients {
        mut a,
        mut b,
        rampartd,
        ns,
    } = two_clients("r7606", env!("CARGO_BIN_EXE_rampartd"), &dir).unwrap();
    let log = || rampartd.log();
    let (p1, p2, p3, p4) = (
        ipv4("203.0.113.0/24"),
        ipv4("198.51.100.0/24"),
        ipv4("192.0.2.0/24"),
        ipv4("100.64.0.0/24"),
    );

    a.announce(p1, &[64501], A).unwrap();
    a.announce(p2, &[64501], A).unwrap();
    let (_, got) = b.updates_until(WAIT, |u| announces(u, p2));
    assert!(got, "B never got A's routes\n{}", log());

    // The malformed UPDATE, in one write right after an announcement of
    // p4 (so both arrive in one read, and p4 is still queued when the
    // family is disabled): B is told both of A's IPv4 routes are gone,
    // and p4 must not stay.
    let mut both_msgs = a.encode(&announcement(p4, &[64501], A)).unwrap();
    both_msgs.extend_from_slice(&malformed_mp_unreach());
    a.send_bytes(&both_msgs).unwrap();
    let mut seen = Vec::new();
    let both = |seen: &[rampart_core::msg::Update]| {
        seen.iter().any(|u| withdraws(u, p1)) && seen.iter().any(|u| withdraws(u, p2))
    };
    for _ in 0..2 {
        if both(&seen) {
            break;
        }
        let (more, _) = b.updates_until(WAIT, |u| withdraws(u, p1) || withdraws(u, p2));
        seen.extend(more);
    }
    assert!(both(&seen), "B still has A's routes: {seen:?}\n{}", log());

    // A's later IPv4 routes are ignored; its session is still up.
    a.announce(p3, &[64501], A).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let ctl = |args: &[&str]| {
        let out = rampartctl(env!("CARGO_BIN_EXE_rampartctl"), &dir, args)
            .unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}"));
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let held = ctl(&[
        "show",
        "routes",
        "--peer",
        &A.to_string(),
        "--table",
        "in-post",
        "--json",
    ]);
    assert_eq!(held.as_array().map(Vec::len), Some(0), "{held}");
    // Whatever B heard of p4 ended in a withdrawal.
    let (late, _) = b.updates_until(Duration::from_millis(500), |_| false);
    let last_p4 = seen
        .iter()
        .chain(&late)
        .rev()
        .find(|u| announces(u, p4) || withdraws(u, p4));
    assert!(
        last_p4.is_none_or(|u| withdraws(u, p4)),
        "B kept p4, announced before the family was disabled: {last_p4:?}\n{}",
        log()
    );
    let state = wait_for("A still Established", WAIT, || {
        let peers = ctl(&["show", "peers", "--json"]);
        let row = peers
            .as_array()?
            .iter()
            .find(|r| r["address"] == A.to_string())?
            .clone();
        (row["state"] == "Established").then_some(row)
    });
    assert!(state.is_ok(), "{state:?}\n{}", log());
    // No NOTIFICATION came to A.
    assert!(!matches!(
        a.recv(Duration::from_millis(300)),
        Some(Message::Notification(_))
    ));
    drop((a, b, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}

/// RFC 5065 §5.3 with RFC 7606 §7.2: an AS_PATH with an AS_CONFED_SEQUENCE
/// from a route server client (an external peer) is malformed, and the
/// UPDATE is handled as a withdrawal of its prefixes: the route it
/// replaces is withdrawn from the other client, and the session stays up.
#[test]
fn confederation_segments_from_an_external_peer_withdraw_the_route() {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("rfc7606-confed");
    let TwoClients {
        mut a,
        mut b,
        rampartd,
        ns,
    } = two_clients("r7606c", env!("CARGO_BIN_EXE_rampartd"), &dir).unwrap();
    let log = || rampartd.log();
    let p = ipv4("203.0.113.0/24");
    a.announce(p, &[64501], A).unwrap();
    let (_, got) = b.updates_until(WAIT, |u| announces(u, p));
    assert!(got, "B never got A's route\n{}", log());

    let confed = Message::Update(Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_segments([
                Segment {
                    kind: SegmentType::ConfedSequence,
                    asns: vec![64512],
                },
                Segment {
                    kind: SegmentType::AsSequence,
                    asns: vec![64501],
                },
            ]),
            next_hop: Some(NextHop::V4(A)),
            ..PathAttributes::default()
        },
        nlri: vec![Nlri::new(Prefix::V4(p))],
        ..Update::default()
    });
    a.send(&confed).unwrap();
    let (seen, gone) = b.updates_until(WAIT, |u| withdraws(u, p) || announces(u, p));
    assert!(
        gone && seen.last().is_some_and(|u| withdraws(u, p)),
        "B was not told the route is gone: {seen:?}\n{}",
        log()
    );
    // No NOTIFICATION came to A: treat-as-withdraw keeps the session.
    assert!(!matches!(
        a.recv(Duration::from_millis(300)),
        Some(Message::Notification(_))
    ));
    drop((a, b, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
