//! TCP-MD5 (RFC 2385) on the generator's sessions, against a real BIRD 2
//! route server with `password` set, in a network namespace: with the right
//! key every prefix reaches the monitor; with a wrong key no session comes
//! up and the run reports failure.

use std::process::Stdio;

use rampart_loadgen::run::Report;
use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir};

const KEY: &str = "loadgen-md5-key";

fn bird_config() -> String {
    format!(
        "router id 198.18.0.1;\nprotocol device {{}}\n\
         template bgp rsc {{\n  local 198.18.0.1 as 64500;\n  strict bind yes;\n  multihop;\n  \
         rs client;\n  passive on;\n  password \"{KEY}\";\n  ipv4 {{ import all; export all; }};\n}}\n\
         protocol bgp sp0 from rsc {{ neighbor 198.18.1.1 as 65001; }}\n\
         protocol bgp sp1 from rsc {{ neighbor 198.18.1.2 as 65002; }}\n\
         protocol bgp mon from rsc {{ neighbor 198.18.2.1 as 4200000001; }}\n"
    )
}

fn run(ns: &Netns, key: &str, timeout: &str) -> Report {
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart-loadgen"));
    cmd.args(["run", "--json", "--quiet", "--target", "198.18.0.1:179"])
        .args(["--target-as", "64500", "--source", "198.18.1.1"])
        .args(["--monitor-source", "198.18.2.1", "--monitors", "1"])
        .args(["--speakers", "2", "--table", "synth:500"])
        .args(["--timeout", timeout, "--connect-timeout", timeout])
        .args(["--md5", key])
        .stderr(Stdio::inherit());
    let out = cmd.output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)))
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
