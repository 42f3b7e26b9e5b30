//! A session hands its route changes to the shards in batches (one
//! message per shard for all the UPDATEs it took in one turn). Whatever
//! else it tells the shards must come after the changes it holds: here a
//! route server client sends a few hundred UPDATEs and a Cease in one
//! write, so the Cease is taken in the same turn as the last UPDATEs. Its
//! session going down must leave none of its routes behind. The test plays
//! both clients over real TCP in a network namespace.

use std::net::Ipv4Addr;
use std::time::Duration;

use rampart_core::msg::{Message, Notification};
use rampart_tests::harness::raw_peer::{A, TwoClients, announcement, two_clients};
use rampart_tests::harness::{missing_prerequisite, rampartctl, tempdir, wait_for};

/// UPDATEs sent before the Cease: several turns of a session (64 inputs
/// each), the last one shared with the Cease.
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
    let ctl = |args: &[&str]| {
        let out = rampartctl(env!("CARGO_BIN_EXE_rampartctl"), &dir, args)
            .unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}"));
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };

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

    let empty = wait_for("the Loc-RIB to empty", Duration::from_secs(10), || {
        let routes = ctl(&["show", "routes", "--json"]);
        routes.as_array().is_some_and(Vec::is_empty).then_some(())
    });
    assert!(
        empty.is_ok(),
        "routes of the client that went down stayed: {}\n{}",
        ctl(&["show", "routes", "--json"]),
        log()
    );
    drop((b, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
