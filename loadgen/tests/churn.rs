//! The churn phase against a real BIRD 2 route server in a network
//! namespace: after convergence, every change a speaker sends (tagged
//! re-announcement or withdrawal) must reach the monitor once, with a
//! latency sample each; BIRD passes the large-community tag unchanged.

use std::process::Stdio;

use rampart_loadgen::run::Report;
use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir};

const SPEAKERS: usize = 3;

fn bird_config() -> String {
    let mut s = String::from(
        "router id 198.18.0.1;\nprotocol device {}\n\
         template bgp rsc {\n  local 198.18.0.1 as 64500;\n  strict bind yes;\n  multihop;\n  \
         rs client;\n  passive on;\n  ipv4 { import all; export all; };\n  \
         ipv6 { import all; export all; };\n}\n",
    );
    for i in 0..SPEAKERS {
        s.push_str(&format!(
            "protocol bgp sp{i} from rsc {{ neighbor 198.18.1.{} as {}; }}\n",
            i + 1,
            65_001 + i
        ));
    }
    for j in 0..2 {
        s.push_str(&format!(
            "protocol bgp mon{j} from rsc {{ neighbor 198.18.2.{} as {}; }}\n",
            j + 1,
            4_200_000_001u32 + j
        ));
    }
    s
}

#[test]
fn churn_through_bird_delivers_every_tagged_change() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP churn_through_bird_delivers_every_tagged_change: {why}");
        return;
    }
    let dir = tempdir("loadgen-churn");
    let ns = Netns::new("lgchurn").unwrap();
    let bird = Bird::start(&ns, &dir, &bird_config()).unwrap();
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart-loadgen"));
    cmd.args(["run", "--json", "--quiet", "--target", "198.18.0.1:179"])
        .args(["--scenario", "churn", "--target-as", "64500"])
        .args(["--source", "198.18.1.1", "--monitor-source", "198.18.2.1"])
        .args(["--speakers", &SPEAKERS.to_string(), "--monitors", "2"])
        .args(["--table", "synth:200+40", "--timeout", "30"])
        .args(["--churn-rate", "40", "--churn-duration", "3"])
        .args(["--churn-wait", "5"])
        .args(["--target-pid", &bird.pid().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let out = cmd.output().unwrap();
    let rep: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)));
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
