//! The real-daemon harness works here: two BIRDs in a fresh namespace peer
//! and exchange routes, and the namespace and processes are gone afterwards.
//! Later interop tests put rampartd between such daemons.

use std::time::Duration;

use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, Netns, bird::FAST_TIMERS, missing_prerequisite};

#[test]
fn two_birds_exchange_routes_in_a_namespace() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("harness-bird");
    let ns = Netns::new("hb").unwrap();
    let ns_name = ns.name().to_string();
    let speaker = Bird::start(
        &ns,
        &dir.join("speaker"),
        &format!(
            "router id 198.18.0.2;
protocol device {{}}
protocol static s4 {{ ipv4; route 203.0.113.0/24 via 198.18.0.2; route 198.51.100.0/24 via 198.18.0.2; }}
protocol bgp core {{ local 198.18.0.2 as 64501; neighbor 198.18.0.3 as 64502; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import none; export all; }}; }}"
        ),
    )
    .unwrap();
    let monitor = Bird::start(
        &ns,
        &dir.join("monitor"),
        &format!(
            "router id 198.18.0.3;
protocol device {{}}
protocol bgp speaker {{ local 198.18.0.3 as 64502; neighbor 198.18.0.2 as 64501; multihop; strict bind yes;
  passive on; {FAST_TIMERS} ipv4 {{ import all; export none; }}; }}"
        ),
    )
    .unwrap();
    monitor
        .wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\nspeaker log:\n{}", speaker.log()));
    assert_eq!(
        monitor.protocol_info("speaker").as_deref(),
        Some("Established")
    );
    let routes = monitor.routes().unwrap();
    let r = routes
        .iter()
        .find(|r| r.prefix == "203.0.113.0/24")
        .unwrap();
    assert_eq!(r.as_path, vec![64501]);
    assert_eq!(r.from.as_deref(), Some("198.18.0.2"));
    assert_eq!(r.next_hop.as_deref(), Some("198.18.0.2"));

    let pids = [speaker.pid(), monitor.pid()];
    drop((speaker, monitor));
    drop(ns);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
    let list = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&ns_name));
    let _ = std::fs::remove_dir_all(&dir);
}
