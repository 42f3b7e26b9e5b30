//! Connection collisions (RFC 4271 §6.8): rampartd has connected to a peer
//! and sent its OPEN (OpenSent) when the peer connects to it too. The test
//! plays the peer over real TCP in a network namespace: the connection
//! opened by the speaker with the higher BGP Identifier survives, and the
//! other gets a NOTIFICATION Cease/Connection Collision Resolution (RFC
//! 4486 subcode 7).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bytes::BytesMut;
use rampart_core::cap::Capability;
use rampart_core::msg::{Message, Open, header};
use rampart_core::nlri::AfiSafi;
use rampart_core::{DecodeCtx, EncodeCtx};
use rampart_tests::harness::{Netns, RampartdConfig, missing_prerequisite, tempdir};

const RS: &str = "198.18.0.1";
const PEER: &str = "198.18.0.2";

fn send(s: &mut TcpStream, m: &Message) {
    let mut out = BytesMut::new();
    m.encode(&EncodeCtx::legacy(), &mut out).unwrap();
    s.write_all(&out).unwrap();
}

/// The next message on `s`, or `None` when the connection closes or stays
/// silent for 10 s.
fn recv(s: &mut TcpStream) -> Option<Message> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Ok(Some(n)) = header::peek_len(&buf, 4096)
            && buf.len() >= n
        {
            return Message::decode(&buf[..n], &DecodeCtx::legacy()).ok();
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn open(id: Ipv4Addr) -> Message {
    Message::Open(Open {
        version: 4,
        my_as: 64501,
        hold_time: 90,
        bgp_id: id,
        capabilities: vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::FourOctetAs(64501),
        ],
    })
}

fn is_collision_cease(m: Option<&Message>) -> bool {
    matches!(m, Some(Message::Notification(n)) if u8::from(n.code) == 6 && n.subcode == 7)
}

/// rampartd's connection to us in OpenSent, then ours to it with an OPEN
/// carrying `our_id`; returns (rampartd's connection, ours).
fn collide(ns: &Netns, our_id: Ipv4Addr) -> (TcpStream, TcpStream) {
    let (a, b) = ns
        .run(move || {
            let listener = TcpListener::bind((PEER, 179)).unwrap();
            let (mut theirs, _) = listener.accept().unwrap();
            assert!(matches!(recv(&mut theirs), Some(Message::Open(_))));
            let local: SocketAddr = format!("{PEER}:0").parse().unwrap();
            let sock =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            sock.bind(&local.into()).unwrap();
            let remote: SocketAddr = format!("{RS}:179").parse().unwrap();
            sock.connect(&remote.into()).unwrap();
            let mut ours: TcpStream = sock.into();
            send(&mut ours, &open(our_id));
            (theirs, ours)
        })
        .unwrap();
    (a, b)
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
        is_collision_cease(recv(&mut theirs).as_ref()),
        "rampartd's own connection must get Cease/7\n{}",
        rampartd.log()
    );
    assert!(
        matches!(recv(&mut ours), Some(Message::Open(_))),
        "{}",
        rampartd.log()
    );
    assert!(
        matches!(recv(&mut ours), Some(Message::Keepalive)),
        "{}",
        rampartd.log()
    );
    send(&mut ours, &Message::Keepalive);
    // Established: End-of-RIB (an empty UPDATE) follows.
    assert!(
        matches!(recv(&mut ours), Some(Message::Update(_))),
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
        is_collision_cease(recv(&mut ours).as_ref()),
        "the new connection must get Cease/7\n{}",
        rampartd.log()
    );
    // The existing one goes on: answer its OPEN and reach Established.
    send(&mut theirs, &open(Ipv4Addr::new(1, 1, 1, 1)));
    assert!(
        matches!(recv(&mut theirs), Some(Message::Keepalive)),
        "{}",
        rampartd.log()
    );
    drop((theirs, ours, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
