//! A route server client's own paths (RFC 7947 §2.3.2): rampartd never
//! sends a client its own path, and sends it no withdrawal for a prefix it
//! never had (the client's first announcement of a prefix), while a
//! client that had another client's path for the prefix is told when that
//! path goes (a withdrawal, the client's own path being the only one
//! left). The test plays both clients over real TCP in a network
//! namespace, so it sees every UPDATE rampartd sends.

use std::net::Ipv4Addr;
use std::time::Duration;

use rampart_core::nlri::Ipv4Prefix;
use rampart_tests::harness::raw_peer::{announces, withdraws};
use rampart_tests::harness::{
    Netns, RampartdConfig, RawPeer, missing_prerequisite, start_rampartd, tempdir,
};

const RS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const A: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const B: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
const WAIT: Duration = Duration::from_secs(10);

fn p(s: &str) -> Ipv4Prefix {
    let (addr, len) = s.split_once('/').unwrap();
    Ipv4Prefix::new(addr.parse().unwrap(), len.parse().unwrap()).unwrap()
}

#[test]
fn own_paths_bring_withdrawals_only_to_clients_that_had_another_path() {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("own-paths");
    let ns = Netns::new("own-paths").unwrap();
    let fam = "families = [\"ipv4-unicast\"]\n";
    let conf = RampartdConfig::new(&RS.to_string(), &RS.to_string(), &dir)
        .passive_peer(&A.to_string(), 64501, "rs-client", fam)
        .passive_peer(&B.to_string(), 64502, "rs-client", fam);
    // The test's peers answer KEEPALIVEs only while it reads from them:
    // a 90 s hold time outlasts the test.
    let conf = conf
        .to_string()
        .replace("hold-time = 9\n", "hold-time = 90\n");
    let rampartd = start_rampartd(&ns, env!("CARGO_BIN_EXE_rampartd"), &dir, &conf).unwrap();
    let mut a = RawPeer::connect(&ns, A, RS).unwrap();
    a.establish(64501, A).unwrap();
    let mut b = RawPeer::connect(&ns, B, RS).unwrap();
    b.establish(64502, B).unwrap();
    let log = || rampartd.log();

    // A's first announcement of P1: B gets it, A gets nothing about it.
    let p1 = p("203.0.113.0/24");
    a.announce(p1, &[64501], A).unwrap();
    let (_, got) = b.updates_until(WAIT, |u| announces(u, p1));
    assert!(got, "B never got A's {p1}\n{}", log());
    // A barrier on A's connection: B's P2 comes after anything rampartd
    // wrote to A for P1 (A's writer takes its batches in order).
    let p2 = p("198.51.100.0/24");
    b.announce(p2, &[64502], B).unwrap();
    let (seen, got) = a.updates_until(WAIT, |u| announces(u, p2));
    assert!(got, "A never got B's {p2}\n{}", log());
    assert!(
        !seen.iter().any(|u| withdraws(u, p1) || announces(u, p1)),
        "A was sent its own fresh prefix {p1} back: {seen:?}"
    );

    // P3: B first, so A holds B's path; then A announces P3 too and B
    // withdraws: A's own path is all that is left, and A must hear that
    // B's is gone.
    let p3 = p("192.0.2.0/24");
    b.announce(p3, &[64502, 64999], B).unwrap();
    let (_, got) = a.updates_until(WAIT, |u| announces(u, p3));
    assert!(got, "A never got B's {p3}\n{}", log());
    a.announce(p3, &[64501], A).unwrap();
    let (_, got) = b.updates_until(WAIT, |u| announces(u, p3));
    assert!(got, "B never got A's {p3}\n{}", log());
    b.withdraw(p3).unwrap();
    let (seen, got) = a.updates_until(WAIT, |u| withdraws(u, p3));
    assert!(
        got,
        "A kept B's withdrawn path for {p3}; A got {seen:?}\n{}",
        log()
    );
    drop((a, b, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
