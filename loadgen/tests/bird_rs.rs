//! The generator against a real BIRD 2 as route server, in a network
//! namespace: the monitor must hold exactly what the speakers announced,
//! and BIRD's own route count (an independent count) must agree.

use std::process::Stdio;
use std::time::Duration;

use rampart_loadgen::run::Report;
use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir, wait_for};

const SPEAKERS: usize = 4;
const PER_SPEAKER: usize = 1500;

fn bird_config(speakers: usize) -> String {
    let mut s = String::from(
        "router id 198.18.0.1;\nprotocol device {}\n\
         template bgp rsc {\n  local 198.18.0.1 as 64500;\n  strict bind yes;\n  multihop;\n  \
         rs client;\n  passive on;\n  ipv4 { import all; export all; };\n  \
         ipv6 { import all; export all; };\n}\n",
    );
    for i in 0..speakers {
        s.push_str(&format!(
            "protocol bgp sp{i} from rsc {{ neighbor 198.18.1.{} as {}; }}\n",
            i + 1,
            65_001 + i
        ));
    }
    s.push_str("protocol bgp mon from rsc { neighbor 198.18.2.1 as 4200000001; }\n");
    s
}

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
    let bird = Bird::start(&ns, &dir, &bird_config(SPEAKERS)).unwrap();
    // IPv4 and IPv6 prefixes, disjoint per speaker; sessions held 20 s so
    // that BIRD's table can be read while they are up.
    let table = format!("synth:{}+{}", PER_SPEAKER, PER_SPEAKER / 5);
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart-loadgen"));
    cmd.args(["run", "--json", "--quiet", "--target", "198.18.0.1:179"])
        .args(["--target-as", "64500", "--source", "198.18.1.1"])
        .args(["--monitor-source", "198.18.2.1", "--monitors", "1"])
        .args(["--speakers", &SPEAKERS.to_string(), "--table", &table])
        .args(["--timeout", "60", "--hold-after", "20"])
        .args(["--target-pid", &bird.pid().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let child = cmd.spawn().unwrap();
    let want = SPEAKERS * (PER_SPEAKER + PER_SPEAKER / 5);
    let seen = wait_for("BIRD to hold every prefix", Duration::from_secs(60), || {
        bird_networks(&bird).filter(|n| *n == want)
    });
    let out = child.wait_with_output().unwrap();
    let rep: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)));
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
