//! Passive sessions: BIRD 2 is configured with active neighbors only
//! (it connects, never listens for them), and the generator's speakers
//! and monitor listen on their own addresses; every prefix must still
//! reach the monitor.

use std::process::Stdio;

use rampart_loadgen::run::Report;
use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir};

fn bird_config() -> String {
    let mut s = String::from(
        "router id 198.18.0.1;\nprotocol device {}\n\
         template bgp rsc {\n  local 198.18.0.1 as 64500;\n  strict bind yes;\n  multihop;\n  \
         rs client;\n  connect delay time 1;\n  connect retry time 1;\n  error wait time 1,2;\n  \
         ipv4 { import all; export all; };\n}\n",
    );
    for i in 0..2 {
        s.push_str(&format!(
            "protocol bgp sp{i} from rsc {{ neighbor 198.18.1.{} as {}; }}\n",
            i + 1,
            65_001 + i
        ));
    }
    s.push_str("protocol bgp mon from rsc { neighbor 198.18.2.1 as 4200000001; }\n");
    s
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
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart-loadgen"));
    cmd.args(["run", "--json", "--quiet", "--target", "198.18.0.1:179"])
        .args(["--target-as", "64500", "--source", "198.18.1.1"])
        .args(["--monitor-source", "198.18.2.1", "--monitors", "1"])
        .args(["--speakers", "2", "--table", "synth:800"])
        .args(["--listen", "all", "--listen-port", "179"])
        .args([
            "--timeout",
            "20",
            "--connect-timeout",
            "20",
            "--hold-after",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let out = cmd.output().unwrap();
    let rep: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)));
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
