//! A route server client's own paths (RFC 7947 §2.3.2): rampartd never
//! sends a client its own path, and sends it no withdrawal for a prefix it
//! never had (the client's first announcement of a prefix), while a
//! client that had another client's path for the prefix is told when that
//! path goes (a withdrawal, the client's own path being the only one
//! left). The test plays both clients over real TCP in a network
//! namespace, so it sees every UPDATE rampartd sends.

use std::time::Duration;

use rampart_tests::harness::raw_peer::{A, B, TwoClients, announces, ipv4, two_clients, withdraws};
use rampart_tests::harness::{missing_prerequisite, tempdir};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn own_paths_bring_withdrawals_only_to_clients_that_had_another_path() {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("own-paths");
    let TwoClients {
        mut a,
        mut b,
        rampartd,
        ns,
    } = two_clients("own-paths", env!("CARGO_BIN_EXE_rampartd"), &dir).unwrap();
    let log = || rampartd.log();

    // A's first announcement of P1: B gets it, A gets nothing about it.
    let p1 = ipv4("203.0.113.0/24");
    a.announce(p1, &[64501], A).unwrap();
    let (_, got) = b.updates_until(WAIT, |u| announces(u, p1));
    assert!(got, "B never got A's {p1}\n{}", log());
    // A barrier on A's connection: B's P2 comes after anything rampartd
    // wrote to A for P1 (A's writer takes its batches in order).
    let p2 = ipv4("198.51.100.0/24");
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
    let p3 = ipv4("192.0.2.0/24");
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
