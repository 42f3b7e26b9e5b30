//! The generator against a real BIRD 2 as route server, in a network
//! namespace: the monitor must hold exactly what the speakers announced,
//! and BIRD's own route count (an independent count) must agree.

use std::time::Duration;

use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir, wait_for};

mod common;

const SPEAKERS: usize = 4;
const PER_SPEAKER: usize = 1500;

/// Distinct networks BIRD holds (`show route count`: "N of M routes for
/// K networks").
fn bird_networks(bird: &Bird) -> Option<usize> {
    let out = bird.birdc("show route count").ok()?;
    let total = out.lines().find(|l| l.starts_with("Total:"))?;
    let w: Vec<&str> = total.split_whitespace().collect();
    let i = w.iter().position(|x| *x == "networks")?;
    w.get(i - 1)?.parse().ok()
}

#[test]
fn monitor_through_bird_holds_every_announced_prefix() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP monitor_through_bird_holds_every_announced_prefix: {why}");
        return;
    }
    let dir = tempdir("loadgen-bird");
    let ns = Netns::new("lgbird").unwrap();
    let bird = Bird::start(&ns, &dir, &common::bird_rs(SPEAKERS, 1, "passive on;", "")).unwrap();
    // IPv4 and IPv6 prefixes, disjoint per speaker; sessions held 20 s so
    // that BIRD's table can be read while they are up.
    let table = format!("synth:{}+{}", PER_SPEAKER, PER_SPEAKER / 5);
    let (speakers, pid) = (SPEAKERS.to_string(), bird.pid().to_string());
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
            "--timeout",
            "60",
            "--hold-after",
            "20",
            "--target-pid",
            &pid,
        ],
    );
    let want = SPEAKERS * (PER_SPEAKER + PER_SPEAKER / 5);
    let seen = wait_for("BIRD to hold every prefix", Duration::from_secs(60), || {
        bird_networks(&bird).filter(|n| *n == want)
    });
    let rep = common::report(child);
    assert_eq!(seen, Ok(want), "BIRD's count; log: {}", bird.log());
    assert!(rep.ok, "report: {rep:?}");
    assert_eq!(rep.expected_prefixes, want);
    assert_eq!(rep.routes_sent, want);
    assert!(rep.missing.is_empty(), "{:?}", rep.missing);
    assert_eq!(
        rep.sessions_failed + rep.sessions_down,
        0,
        "{:?}",
        rep.errors
    );
    assert_eq!(rep.sessions_up_at_end, SPEAKERS + 1);
    let t = rep.target.expect("target usage sampled");
    assert!(t.peak_rss > 0);
    drop(bird);
    drop(ns);
}
