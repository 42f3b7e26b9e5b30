//! The generator against rampartd as route server: churn (every tagged
//! change reaches the monitor) with the monitor passive (`--listen
//! monitors`), rampartd connecting to it as an active rs-client peer.
//!
//! rampartd's binary is not built for this crate's tests: the test takes
//! `RAMPARTD_BIN`, else the newer `rampartd` of the target directory's
//! debug and release builds, and skips when there is none.

use std::path::PathBuf;
use std::process::Stdio;

use rampart_loadgen::run::Report;
use rampart_tests::harness::{
    Netns, RampartdConfig, missing_prerequisite, start_rampartd, tempdir,
};

mod common;

const FAMILIES: &str = "families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n";

/// The rampartd binary when test `name` can run, else `None` after a
/// SKIP line saying why.
fn prerequisites(name: &str) -> Option<PathBuf> {
    if let Some(why) = missing_prerequisite(&["ip"]) {
        eprintln!("SKIP {name}: {why}");
        return None;
    }
    let bin = common::rampartd_bin();
    if bin.is_none() {
        eprintln!("SKIP {name}: no rampartd binary (cargo build -p rampartd, or set RAMPARTD_BIN)");
    }
    bin
}

#[test]
fn churn_through_rampartd_to_a_passive_monitor() {
    let Some(bin) = prerequisites("churn_through_rampartd_to_a_passive_monitor") else {
        return;
    };
    let dir = tempdir("loadgen-rampartd");
    let ns = Netns::new("lgrpd").unwrap();
    let conf = RampartdConfig::new("198.18.0.1", "198.18.0.1", &dir)
        .passive_peer("198.18.1.1", 65_001, "rs-client", FAMILIES)
        .passive_peer("198.18.1.2", 65_002, "rs-client", FAMILIES)
        .active_peer("198.18.2.1", 4_200_000_001, "rs-client", FAMILIES);
    let mut rpd = start_rampartd(&ns, &bin.to_string_lossy(), &dir, &conf.to_string()).unwrap();
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart-loadgen"));
    cmd.args(["run", "--json", "--quiet", "--target", "198.18.0.1:179"])
        .args(["--scenario", "churn", "--target-as", "64500"])
        .args(["--source", "198.18.1.1", "--monitor-source", "198.18.2.1"])
        .args(["--speakers", "2", "--monitors", "1", "--listen", "monitors"])
        .args(["--table", "synth:300+60", "--timeout", "30"])
        .args(["--connect-timeout", "20"])
        .args([
            "--churn-rate",
            "50",
            "--churn-duration",
            "2",
            "--churn-wait",
            "5",
        ])
        .args(["--target-pid", &rpd.pid().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let out = cmd.output().unwrap();
    let rep: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert!(rep.ok, "{rep:#?}\n{}", rpd.log());
    assert_eq!(rep.expected_prefixes, 720);
    let c = rep.churn.as_ref().expect("churn figures");
    assert_eq!(c.changes_sent, 200, "{c:#?}");
    assert_eq!(c.changes_received, c.changes_expected, "{c:#?}");
    // rampartd passes the large-community tag unchanged (rs-client).
    assert_eq!(c.tags_decoded, 100, "{c:#?}");
    assert_eq!(c.unknown_tags, 0);
    assert!(c.latency_ms.as_ref().is_some_and(|l| l.p50 <= l.max));
    assert!(rpd.is_running(), "rampartd exited: {}", rpd.log());
    drop((rpd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every session keeps its KEEPALIVEs going while a large table flows
/// through rampartd, on 3 s hold timers (rampartd proposes 3, the
/// generator too), and 200 idle sessions from a dynamic-neighbor range
/// connect meanwhile. The monitor is peer 0 (worker 0) and the speaker
/// peer 1 (worker 1): shard 1 exports the speaker's routes to a writer on
/// the other worker, which returns credits as fast as it writes. A shard
/// that kept its worker while its inbox never ran dry would starve the
/// sessions there: no KEEPALIVE, and the generator's hold timers expire.
#[test]
fn sessions_keep_their_keepalives_while_a_large_table_flows() {
    let Some(bin) = prerequisites("sessions_keep_their_keepalives_while_a_large_table_flows")
    else {
        return;
    };
    let dir = tempdir("loadgen-rampartd-ka");
    let ns = Netns::new("lgrka").unwrap();
    let conf = RampartdConfig::new("198.18.0.1", "198.18.0.1", &dir)
        .passive_peer("198.18.2.1", 4_200_000_001, "rs-client", FAMILIES)
        .passive_peer("198.18.1.1", 65_001, "rs-client", FAMILIES)
        .raw(
            "[[template]]\nname = \"idle\"\nrange = \"198.18.64.0/24\"\n\
             remote-as = \"4100000001-4100000200\"\nrole = \"rs-client\"\nhold-time = 9\n",
        )
        .to_string()
        .replace("hold-time = 9", "hold-time = 3");
    let rpd = start_rampartd(&ns, &bin.to_string_lossy(), &dir, &conf).unwrap();
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart-loadgen"));
    cmd.args(["run", "--json", "--quiet", "--target", "198.18.0.1:179"])
        .args([
            "--target-as",
            "64500",
            "--hold-time",
            "3",
            "--hold-after",
            "4",
        ])
        .args(["--source", "198.18.1.1", "--monitor-source", "198.18.2.1"])
        .args(["--speakers", "1", "--monitors", "1", "--idle", "200"])
        .args(["--idle-source", "198.18.64.1", "--idle-as", "4100000001"])
        .args(["--table", "synth:600000", "--timeout", "600"])
        .args(["--target-pid", &rpd.pid().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let out = cmd.output().unwrap();
    let rep: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let log = rpd.log();
    assert_eq!(rep.expected_prefixes, 600_000, "{rep:#?}");
    assert_eq!(
        (rep.sessions_down, rep.hold_timer_expired),
        (0, 0),
        "{:?}\n{log}",
        rep.errors
    );
    assert!(rep.ok, "{rep:#?}\n{log}");
    assert!(rep.idle_establish_secs.is_some(), "{rep:#?}");
    assert_eq!(rep.sessions_up_at_end, 202, "{rep:#?}");
    // rampartd's own hold timers: the generator's sessions kept talking.
    assert!(!log.contains("HoldTimerExpired"), "{log}");
    drop((rpd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
