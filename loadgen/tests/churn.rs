//! The churn phase against a real BIRD 2 route server in a network
//! namespace: after convergence, every change a speaker sends (tagged
//! re-announcement or withdrawal) must reach the monitor once, with a
//! latency sample each; BIRD passes the large-community tag unchanged.

use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir};

mod common;

const SPEAKERS: usize = 3;

#[test]
fn churn_through_bird_delivers_every_tagged_change() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP churn_through_bird_delivers_every_tagged_change: {why}");
        return;
    }
    let dir = tempdir("loadgen-churn");
    let ns = Netns::new("lgchurn").unwrap();
    let bird = Bird::start(&ns, &dir, &common::bird_rs(SPEAKERS, 2, "passive on;", "")).unwrap();
    let pid = bird.pid().to_string();
    let speakers = SPEAKERS.to_string();
    let rep = common::run(
        &ns,
        &[
            "--scenario",
            "churn",
            "--source",
            "198.18.1.1",
            "--monitor-source",
            "198.18.2.1",
            "--speakers",
            &speakers,
            "--monitors",
            "2",
            "--table",
            "synth:200+40",
            "--timeout",
            "30",
            "--churn-rate",
            "40",
            "--churn-duration",
            "3",
            "--churn-wait",
            "5",
            "--target-pid",
            &pid,
        ],
    );
    assert!(rep.ok, "{rep:#?}\n{}", bird.log());
    let c = rep.churn.as_ref().expect("churn figures");
    // 40/s for 3 s = 120 changes per speaker, half of them withdrawals.
    assert_eq!(c.changes_sent, SPEAKERS * 120, "{c:#?}");
    assert_eq!(c.withdrawals_sent, SPEAKERS * 60, "{c:#?}");
    assert_eq!(c.changes_expected, 2 * c.changes_sent);
    assert_eq!(c.changes_received, c.changes_expected, "{c:#?}");
    assert_eq!(c.missing, 0);
    // Every re-announcement was recognised by its tag, once per monitor.
    assert_eq!(c.tags_decoded, 2 * (SPEAKERS * 60) as u64, "{c:#?}");
    assert_eq!(c.unknown_tags, 0);
    let l = c.latency_ms.as_ref().expect("latency samples");
    assert!(l.p50 > 0.0 && l.p50 <= l.p99 && l.p99 <= l.max, "{l:?}");
    assert!(l.max < 5_000.0, "{l:?}");
    assert!(c.withdraw_latency_ms.is_some() && c.announce_latency_ms.is_some());
    assert!(c.send_secs >= 2.5, "paced over the duration: {c:#?}");
    assert!(c.cpu_secs.is_some());
    // Every prefix is announced again at the end.
    assert!(rep.missing.is_empty(), "{:?}", rep.missing);
    drop((bird, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
