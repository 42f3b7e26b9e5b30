//! The FRR driver works: zebra + bgpd (as user frr) and a BIRD in a fresh
//! namespace peer, BIRD's route with communities and large communities
//! is parsed from `show bgp ipv4 unicast json detail`, FRR's `network`
//! reaches BIRD, and a withdrawal propagates.

use std::time::Duration;

use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, Frr, Netns, bird::FAST_TIMERS, frr, missing_prerequisite};

#[test]
fn frr_and_bird_exchange_routes() {
    if let Some(why) = missing_prerequisite(&["zebra", "bgpd", "vtysh", "bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("harness-frr");
    let ns = Netns::new("hf").unwrap();
    let conf = format!(
        "frr defaults traditional
hostname core
log file {}/bgpd.log informational
router bgp 64502
 bgp router-id 198.18.0.4
{}{} address-family ipv4 unicast
  network 192.0.2.0/24
 exit-address-family
",
        dir.join("frr").display(),
        frr::GLOBAL_LINES,
        frr::neighbor_lines("198.18.0.3", 64501, "198.18.0.4"),
    );
    let frr = Frr::start(&ns, &dir.join("frr"), &["198.18.0.4"], &conf).unwrap();
    let bird = Bird::start(
        &ns,
        &dir.join("bird"),
        &format!(
            "router id 198.18.0.3;
protocol device {{}}
protocol static s4 {{ ipv4; route 203.0.113.0/24 via 198.18.0.3 {{
  bgp_community.add((64501,1)); bgp_large_community.add((64501,2,3)); bgp_path.prepend(64510); }}; }}
protocol bgp frr {{ local 198.18.0.3 as 64501; neighbor 198.18.0.4 as 64502; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import all; export all; }}; }}"
        ),
    )
    .unwrap();
    let diag = || format!("frr log:\n{}\nbird log:\n{}", frr.log(), bird.log());
    frr.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    assert_eq!(
        frr.neighbor_state("198.18.0.3").as_deref(),
        Some("Established")
    );
    let got = frr.routes().unwrap();
    let r = got.iter().find(|r| r.prefix == "203.0.113.0/24").unwrap();
    assert_eq!(r.from.as_deref(), Some("198.18.0.3"));
    assert_eq!(r.as_path, vec![64501, 64510]);
    assert_eq!(r.next_hop.as_deref(), Some("198.18.0.3"));
    assert_eq!(r.communities, vec![(64501, 1)]);
    assert_eq!(r.large_communities, vec![(64501, 2, 3)]);
    let own = got.iter().find(|r| r.prefix == "192.0.2.0/24").unwrap();
    assert_eq!(own.from, None);

    // BIRD: its static plus FRR's network.
    bird.wait_route_count(2, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    let got = bird.routes().unwrap();
    let r = got.iter().find(|r| r.prefix == "192.0.2.0/24").unwrap();
    assert_eq!(r.as_path, vec![64502]);

    bird.birdc("disable s4").unwrap();
    frr.wait_route_count(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    let pids = [frr.pid(), bird.pid()];
    drop((frr, bird));
    drop(ns);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
