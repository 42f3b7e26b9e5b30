//! Connection collisions (RFC 4271 §6.8): rampartd has connected to a peer
//! and sent its OPEN (OpenSent) when the peer connects to it too. The test
//! plays the peer over real TCP in a network namespace: the connection
//! opened by the speaker with the higher BGP Identifier survives, and the
//! other gets a NOTIFICATION Cease/Connection Collision Resolution (RFC
//! 4486 subcode 7).

use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

use rampart_core::msg::Message;
use rampart_tests::harness::{Netns, RampartdConfig, RawPeer, missing_prerequisite, tempdir};

const RS: &str = "198.18.0.1";
const PEER: &str = "198.18.0.2";
const WAIT: Duration = Duration::from_secs(10);

fn open(id: Ipv4Addr) -> Message {
    RawPeer::open(64501, id)
}

fn is_collision_cease(m: Option<&Message>) -> bool {
    matches!(m, Some(Message::Notification(n)) if u8::from(n.code) == 6 && n.subcode == 7)
}

/// rampartd's connection to us in OpenSent, then ours to it with an OPEN
/// carrying `our_id`; returns (rampartd's connection, ours).
fn collide(ns: &Netns, our_id: Ipv4Addr) -> (RawPeer, RawPeer) {
    let (theirs, ours) = ns
        .run(move || {
            let listener = TcpListener::bind((PEER, 179)).unwrap();
            let (stream, _) = listener.accept().unwrap();
            let mut theirs = RawPeer::new(stream);
            assert!(matches!(theirs.recv(WAIT), Some(Message::Open(_))));
            // rampartd may connect out before its listener is up.
            let mut ours =
                RawPeer::connect_here(PEER.parse().unwrap(), RS.parse().unwrap()).unwrap();
            ours.send(&open(our_id)).unwrap();
            (theirs, ours)
        })
        .unwrap();
    (theirs, ours)
}

fn start(tag: &str) -> Option<(Netns, std::path::PathBuf, rampart_tests::harness::Child)> {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return None;
    }
    let dir = tempdir(tag);
    let ns = Netns::new(tag).unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir).active_peer(PEER, 64501, "rs-client", "");
    let rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &conf.to_string(),
    )
    .unwrap();
    Some((ns, dir, rampartd))
}

#[test]
fn the_connection_from_the_higher_identifier_survives() {
    let Some((ns, dir, rampartd)) = start("coll-hi") else {
        return;
    };
    // 198.18.0.254 > rampartd's 198.18.0.1: our connection wins.
    let (mut theirs, mut ours) = collide(&ns, Ipv4Addr::new(198, 18, 0, 254));
    assert!(
        is_collision_cease(theirs.recv(WAIT).as_ref()),
        "rampartd's own connection must get Cease/7\n{}",
        rampartd.log()
    );
    assert!(
        matches!(ours.recv(WAIT), Some(Message::Open(_))),
        "{}",
        rampartd.log()
    );
    assert!(
        matches!(ours.recv(WAIT), Some(Message::Keepalive)),
        "{}",
        rampartd.log()
    );
    ours.send(&Message::Keepalive).unwrap();
    // Established: End-of-RIB (an empty UPDATE) follows.
    assert!(
        matches!(ours.recv(WAIT), Some(Message::Update(_))),
        "{}",
        rampartd.log()
    );
    drop((theirs, ours, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_connection_from_the_lower_identifier_is_closed() {
    let Some((ns, dir, rampartd)) = start("coll-lo") else {
        return;
    };
    // 1.1.1.1 < 198.18.0.1: rampartd's connection wins, ours is closed.
    let (mut theirs, mut ours) = collide(&ns, Ipv4Addr::new(1, 1, 1, 1));
    assert!(
        is_collision_cease(ours.recv(WAIT).as_ref()),
        "the new connection must get Cease/7\n{}",
        rampartd.log()
    );
    // The existing one goes on: answer its OPEN and reach Established.
    theirs.send(&open(Ipv4Addr::new(1, 1, 1, 1))).unwrap();
    assert!(
        matches!(theirs.recv(WAIT), Some(Message::Keepalive)),
        "{}",
        rampartd.log()
    );
    drop((theirs, ours, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
