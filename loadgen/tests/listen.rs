//! Passive sessions: BIRD 2 is configured with active neighbors only
//! (it connects, never listens for them), and the generator's speakers
//! and monitor listen on their own addresses; every prefix must still
//! reach the monitor.

use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir};

mod common;

/// BIRD with active neighbors only: it connects, never listens for them.
fn bird_config() -> String {
    common::bird_rs(
        2,
        1,
        "connect delay time 1;\n  connect retry time 1;\n  error wait time 1,2;",
        "",
    )
}

#[test]
fn passive_sessions_accept_an_active_target() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP passive_sessions_accept_an_active_target: {why}");
        return;
    }
    let dir = tempdir("loadgen-listen");
    let ns = Netns::new("lglisten").unwrap();
    let bird = Bird::start(&ns, &dir, &bird_config()).unwrap();
    let rep = common::run(
        &ns,
        &[
            "--source",
            "198.18.1.1",
            "--monitor-source",
            "198.18.2.1",
            "--monitors",
            "1",
            "--speakers",
            "2",
            "--table",
            "synth:800",
            "--listen",
            "all",
            "--listen-port",
            "179",
            "--timeout",
            "20",
            "--connect-timeout",
            "20",
            "--hold-after",
            "1",
        ],
    );
    assert!(rep.ok, "{rep:#?}\n{}", bird.log());
    assert_eq!(rep.expected_prefixes, 1600);
    assert!(rep.missing.is_empty());
    assert_eq!(rep.sessions_failed, 0, "{:?}", rep.errors);
    // Every session was BIRD's connection (the generator opened none)
    // and stayed up through the hold.
    assert_eq!(rep.sessions_up_at_end, 3, "{:?}", rep.errors);
    drop((bird, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
