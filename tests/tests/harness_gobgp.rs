//! The GoBGP driver works: a gobgpd and a BIRD in a fresh namespace peer,
//! a route added through the GoBGP CLI reaches BIRD with its attributes, a
//! BIRD route is parsed from GoBGP's JSON RIB, and a deletion propagates.

use std::time::Duration;

use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, GoBgp, Netns, bird::FAST_TIMERS, gobgp, missing_prerequisite};

#[test]
fn gobgp_and_bird_exchange_routes() {
    if let Some(why) = missing_prerequisite(&["gobgpd", "gobgp", "bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("harness-gobgp");
    let ns = Netns::new("hg").unwrap();
    let gobgp = GoBgp::start(
        &ns,
        &dir.join("gobgp"),
        &gobgp::config(64501, "198.18.0.2", &[("198.18.0.3", 64502)], false),
    )
    .unwrap();
    let bird = Bird::start(
        &ns,
        &dir.join("bird"),
        &format!(
            "router id 198.18.0.3;
protocol device {{}}
protocol static s4 {{ ipv4; route 192.0.2.0/24 via 198.18.0.3; }}
protocol bgp gobgp {{ local 198.18.0.3 as 64502; neighbor 198.18.0.2 as 64501; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import all; export all; }}; }}"
        ),
    )
    .unwrap();
    let attrs = [
        "aspath",
        "64510",
        "med",
        "7",
        "community",
        "64501:1",
        "large-community",
        "64501:2:3",
        "nexthop",
        "198.18.0.2",
    ];
    gobgp.add_route("203.0.113.0/24", &attrs).unwrap();
    // BIRD: its static plus GoBGP's route.
    let diag = || format!("gobgp log:\n{}\nbird log:\n{}", gobgp.log(), bird.log());
    bird.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    assert!(gobgp.is_established("198.18.0.3"));
    let got = bird.routes().unwrap();
    let r = got.iter().find(|r| r.prefix == "203.0.113.0/24").unwrap();
    assert_eq!(r.as_path, vec![64501, 64510]);
    assert_eq!(r.next_hop.as_deref(), Some("198.18.0.2"));
    assert_eq!(r.med, Some(7));
    assert_eq!(r.communities, vec![(64501, 1)]);
    assert_eq!(r.large_communities, vec![(64501, 2, 3)]);

    // GoBGP: its own route plus BIRD's, parsed from `gobgp -j global rib`.
    gobgp
        .wait_route_count(2, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    let got = gobgp.routes().unwrap();
    let own = got.iter().find(|r| r.prefix == "203.0.113.0/24").unwrap();
    assert_eq!(own.from, None);
    assert_eq!(own.as_path, vec![64510]);
    let learned = got.iter().find(|r| r.prefix == "192.0.2.0/24").unwrap();
    assert_eq!(learned.from.as_deref(), Some("198.18.0.3"));
    assert_eq!(learned.as_path, vec![64502]);
    assert_eq!(learned.next_hop.as_deref(), Some("198.18.0.3"));

    gobgp.del_route("203.0.113.0/24").unwrap();
    bird.wait_route_count(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag()));
    let pids = [gobgp.pid(), bird.pid()];
    drop((gobgp, bird));
    drop(ns);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
