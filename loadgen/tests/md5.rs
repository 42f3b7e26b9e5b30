//! TCP-MD5 (RFC 2385) on the generator's sessions, against a real BIRD 2
//! route server with `password` set, in a network namespace: with the right
//! key every prefix reaches the monitor; with a wrong key no session comes
//! up and the run reports failure.

use rampart_loadgen::run::Report;

use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir};

mod common;

const KEY: &str = "loadgen-md5-key";

fn bird_config() -> String {
    common::bird_rs(2, 1, &format!("passive on;\n  password \"{KEY}\";"), "")
}

fn run(ns: &Netns, key: &str, timeout: &str) -> Report {
    common::run(
        ns,
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
            "synth:500",
            "--timeout",
            timeout,
            "--connect-timeout",
            timeout,
            "--md5",
            key,
        ],
    )
}

#[test]
fn md5_sessions_establish_only_with_the_right_key() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP md5_sessions_establish_only_with_the_right_key: {why}");
        return;
    }
    let dir = tempdir("loadgen-md5");
    let ns = Netns::new("lgmd5").unwrap();
    let bird = Bird::start(&ns, &dir, &bird_config()).unwrap();
    let good = run(&ns, KEY, "60");
    assert!(good.ok, "{good:#?}\n{}", bird.log());
    assert_eq!(good.expected_prefixes, 1000);
    let bad = run(&ns, "not-the-key", "5");
    assert!(!bad.ok, "a wrong MD5 key must not establish: {bad:#?}");
    drop((bird, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
