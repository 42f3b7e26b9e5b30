//! ADD-PATH (RFC 7911) at the monitor: two speakers announce the same
//! prefixes through BIRD 2 with `add paths tx` towards the monitor; the
//! monitor negotiates receive, decodes path ids and must hold two paths
//! for every prefix.

use rampart_loadgen::run::Report;

use rampart_tests::harness::{Bird, Netns, missing_prerequisite, tempdir};

mod common;

const PREFIXES: usize = 300;

fn bird_config() -> String {
    "router id 198.18.0.1;\nprotocol device {}\n\
     template bgp rsc {\n  local 198.18.0.1 as 64500;\n  strict bind yes;\n  multihop;\n  \
     rs client;\n  passive on;\n  ipv4 { import all; export all; };\n  \
     ipv6 { import all; export all; };\n}\n\
     protocol bgp sp0 from rsc { neighbor 198.18.1.1 as 65001; }\n\
     protocol bgp sp1 from rsc { neighbor 198.18.1.2 as 65002; }\n\
     protocol bgp mon from rsc {\n  neighbor 198.18.2.1 as 4200000001;\n  \
     ipv4 { import all; export all; add paths tx; };\n  \
     ipv6 { import all; export all; add paths tx; };\n}\n"
        .to_string()
}

fn run(ns: &Netns, extra: &[&str]) -> Report {
    let table = format!("synth:{PREFIXES}+{}:shared", PREFIXES / 5);
    let mut args = vec![
        "--source",
        "198.18.1.1",
        "--monitor-source",
        "198.18.2.1",
        "--monitors",
        "1",
        "--speakers",
        "2",
        "--table",
        &table,
        "--timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    common::run(ns, &args)
}

#[test]
fn add_path_monitor_holds_both_speakers_paths() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP add_path_monitor_holds_both_speakers_paths: {why}");
        return;
    }
    let dir = tempdir("loadgen-addpath");
    let ns = Netns::new("lgaddpath").unwrap();
    let bird = Bird::start(&ns, &dir, &bird_config()).unwrap();
    let want = PREFIXES + PREFIXES / 5;
    let rep = run(&ns, &["--add-path", "--expect-paths", "2"]);
    assert!(rep.ok, "{rep:#?}\n{}", bird.log());
    assert_eq!(rep.expected_prefixes, want);
    let a = rep.add_path.as_ref().expect("add-path figures");
    assert_eq!(a.negotiated, 1, "{a:?}");
    assert_eq!(a.paths, vec![2 * want], "{a:?}");
    assert_eq!(a.prefixes_by_paths.get(2), Some(&want), "{a:?}");
    assert_eq!(a.prefixes_by_paths.get(1).copied().unwrap_or(0), 0, "{a:?}");
    // Without ADD-PATH the same monitor sees one path per prefix and no
    // path ids at all.
    let plain = run(&ns, &[]);
    assert!(plain.ok, "{plain:#?}");
    assert!(plain.add_path.is_none());
    drop((bird, ns));
    let _ = std::fs::remove_dir_all(&dir);
}

/// BIRD accepting path ids from speaker 0 only (`add paths rx`).
fn bird_rx_config() -> String {
    "router id 198.18.0.1;\nprotocol device {}\n\
     template bgp rsc {\n  local 198.18.0.1 as 64500;\n  strict bind yes;\n  multihop;\n  \
     rs client;\n  passive on;\n  ipv4 { import all; export all; };\n}\n\
     protocol bgp sp0 from rsc {\n  neighbor 198.18.1.1 as 65001;\n  \
     ipv4 { import all; export all; add paths rx; };\n}\n\
     protocol bgp sp1 from rsc { neighbor 198.18.1.2 as 65002; }\n\
     protocol bgp mon from rsc {\n  neighbor 198.18.2.1 as 4200000001;\n  \
     ipv4 { import all; export all; add paths tx; };\n}\n"
        .to_string()
}

fn run_sender(ns: &Netns, speakers: &str, source: &str) -> Report {
    let table = format!("synth:{PREFIXES}");
    common::run(
        ns,
        &[
            "--source",
            source,
            "--monitor-source",
            "198.18.2.1",
            "--monitors",
            "1",
            "--speakers",
            speakers,
            "--table",
            &table,
            "--path-ids",
            "3",
            "--add-path",
            "--expect-paths",
            "3",
            "--timeout",
            "10",
            "--connect-timeout",
            "10",
        ],
    )
}

#[test]
fn speaker_path_ids_reach_an_add_path_monitor() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc"]) {
        eprintln!("SKIP speaker_path_ids_reach_an_add_path_monitor: {why}");
        return;
    }
    let dir = tempdir("loadgen-addpath-tx");
    let ns = Netns::new("lgaptx").unwrap();
    let bird = Bird::start(&ns, &dir, &bird_rx_config()).unwrap();
    // Speaker 0 (198.18.1.1): BIRD takes its three paths per prefix and
    // passes all three to the monitor.
    let rep = run_sender(&ns, "1", "198.18.1.1");
    assert!(rep.ok, "{rep:#?}\n{}", bird.log());
    let a = rep.add_path.as_ref().expect("add-path figures");
    assert_eq!(a.paths, vec![3 * PREFIXES], "{a:?}");
    assert_eq!(a.prefixes_by_paths.get(3), Some(&PREFIXES), "{a:?}");
    // Speaker 1 (198.18.1.2): BIRD does not accept path ids from it, so
    // the speaker refuses to send its feed.
    let bad = run_sender(&ns, "1", "198.18.1.2");
    assert!(!bad.ok);
    assert_eq!(bad.sessions_failed, 1, "{bad:#?}");
    assert!(
        bad.errors.iter().any(|e| e.contains("ADD-PATH")),
        "{:?}",
        bad.errors
    );
    drop((bird, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
