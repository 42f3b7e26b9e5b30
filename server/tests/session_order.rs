//! A session hands its route changes to the shards in batches (one
//! message per shard for all the UPDATEs it took in one turn). Whatever
//! else it tells the shards must come after the changes it holds: here a
//! route server client sends a few hundred UPDATEs and a Cease in one
//! write, so the Cease is taken in the same turn as the last UPDATEs. Its
//! session going down must leave none of its routes behind. And what a
//! client sends after a message that ends its session, in the same read,
//! is never applied. The tests play both clients over real TCP in a
//! network namespace.

use std::net::Ipv4Addr;
use std::time::Duration;

use rampart_core::iana::ErrorCode;
use rampart_core::msg::{Message, Notification};
use rampart_tests::harness::raw_peer::{A, TwoClients, announcement, ipv4, two_clients};
use rampart_tests::harness::{missing_prerequisite, rampartctl, tempdir, wait_for};

/// `rampartctl ARGS` against the daemon of `dir`, its JSON answer.
fn ctl(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = rampartctl(env!("CARGO_BIN_EXE_rampartctl"), dir, args)
        .unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}"));
    serde_json::from_str(&out).unwrap()
}

/// Waits (10 s at most) for the Loc-RIB to hold no route: the client that
/// went down left none behind.
fn assert_loc_rib_empties(dir: &std::path::Path, log: &str) {
    let routes = || ctl(dir, &["show", "routes", "--json"]);
    let empty = wait_for("the Loc-RIB to empty", Duration::from_secs(10), || {
        routes().as_array().is_some_and(Vec::is_empty).then_some(())
    });
    assert!(
        empty.is_ok(),
        "routes of the client that went down stayed: {}\n{log}",
        routes()
    );
}

/// UPDATEs sent before the Cease, in the same write: the session most
/// likely takes them and the Cease from one socket read, in one turn.
const UPDATES: u32 = 300;

#[test]
fn routes_sent_just_before_a_cease_are_all_withdrawn_with_the_session() {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("session-order");
    let TwoClients {
        mut a,
        b,
        rampartd,
        ns,
    } = two_clients("sorder", env!("CARGO_BIN_EXE_rampartd"), &dir).unwrap();
    let log = || rampartd.log();

    let mut burst = Vec::new();
    for i in 0..UPDATES {
        let prefix =
            rampart_core::nlri::Ipv4Prefix::new(Ipv4Addr::from_bits(0x0a00_0000 | (i << 8)), 24)
                .unwrap();
        burst.extend_from_slice(&a.encode(&announcement(prefix, &[64501], A)).unwrap());
    }
    let cease = Notification::cease_shutdown(2, "maintenance");
    burst.extend_from_slice(&a.encode(&Message::Notification(cease)).unwrap());
    a.send_bytes(&burst).unwrap();
    // The Cease ends the session; the peer then closes its end.
    let _ = a.recv(Duration::from_secs(2));
    drop(a);

    assert_loc_rib_empties(&dir, &log());
    drop((b, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A session takes every message of one socket read in one turn. A
/// message that ends the session (here an UPDATE with an unrecognized
/// well-known attribute, RFC 4271 §6.3) makes the rest of that read
/// belong to a connection that is gone: the UPDATE after it, in the same
/// write, must not be applied, and the one before it is withdrawn with
/// the session.
#[test]
fn messages_after_a_session_ending_one_in_the_same_read_are_ignored() {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("session-stale");
    let TwoClients {
        mut a,
        b,
        rampartd,
        ns,
    } = two_clients("sstale", env!("CARGO_BIN_EXE_rampartd"), &dir).unwrap();
    let log = || rampartd.log();
    let ctl = |args: &[&str]| ctl(&dir, args);

    // An UPDATE whose one attribute is well-known (flags 0x40) of an
    // unassigned type, 200: a session reset, not treat-as-withdraw.
    let mut bad = vec![0xFF; 16];
    bad.extend_from_slice(&[0, 19 + 2 + 2 + 3, 2, 0, 0, 0, 3, 0x40, 200, 0]);
    let mut burst = Vec::new();
    burst.extend_from_slice(
        &a.encode(&announcement(ipv4("203.0.113.0/24"), &[64501], A))
            .unwrap(),
    );
    burst.extend_from_slice(&bad);
    burst.extend_from_slice(
        &a.encode(&announcement(ipv4("198.51.100.0/24"), &[64501], A))
            .unwrap(),
    );
    a.send_bytes(&burst).unwrap();
    // End-of-RIB and KEEPALIVEs may come first; the NOTIFICATION ends it.
    let end = std::time::Instant::now() + Duration::from_secs(5);
    let mut answer = None;
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        answer = a.recv(left);
        if !matches!(answer, Some(Message::Update(_) | Message::Keepalive)) {
            break;
        }
    }
    assert!(
        matches!(&answer, Some(Message::Notification(n)) if n.code == ErrorCode::Update && n.subcode == 2),
        "expected UPDATE Message Error / Unrecognized Well-known Attribute, got {answer:?}\n{}",
        log()
    );
    drop(a);

    assert_loc_rib_empties(&dir, &log());
    // The count of UPDATEs read is never reset: the good one and the bad
    // one, not the one after.
    let peers = ctl(&["show", "peers", "--json"]);
    let received = peers.as_array().and_then(|rows| {
        rows.iter()
            .find(|r| r["address"] == A.to_string())
            .map(|r| r["updates_received"].clone())
    });
    assert_eq!(received, Some(serde_json::json!(2)), "{peers}\n{}", log());
    drop((b, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
