//! The ExaBGP driver works: ExaBGP and a BIRD in a fresh namespace peer;
//! ExaBGP's static route with communities, large communities and MED
//! reaches BIRD, routes announced and withdrawn through the API process
//! follow, and the routes BIRD sends are recorded from ExaBGP's JSON.

use std::time::Duration;

use rampart_tests::harness::tempdir;
use rampart_tests::harness::{
    Bird, ExaBgp, Netns, bird::FAST_TIMERS, exabgp, missing_prerequisite,
};

#[test]
fn exabgp_and_bird_exchange_routes() {
    if let Some(why) = missing_prerequisite(&["exabgp", "bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("harness-exabgp");
    let ns = Netns::new("hx").unwrap();
    let bird = Bird::start(
        &ns,
        &dir.join("bird"),
        &format!(
            "router id 198.18.0.3;
protocol device {{}}
protocol static s4 {{ ipv4; route 192.0.2.0/24 via 198.18.0.3 {{ bgp_community.add((64502,7)); }}; }}
protocol bgp exa {{ local 198.18.0.3 as 64502; neighbor 198.18.0.2 as 64501; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import all; export all; }}; }}"
        ),
    )
    .unwrap();
    let conf = format!(
        "neighbor 198.18.0.3 {{
  router-id 198.18.0.2;
  local-address 198.18.0.2;
  local-as 64501;
  peer-as 64502;
  hold-time 9;
  family {{ ipv4 unicast; }}
  {}
  static {{
    route 203.0.113.0/24 next-hop 198.18.0.2 as-path [ 64501 64510 ] med 7 community [ 64501:1 65535:666 ] large-community [ 64501:2:3 ];
  }}
}}
",
        exabgp::API_BLOCK
    );
    let mut exa = ExaBgp::start(&ns, &dir.join("exabgp"), &conf).unwrap();
    let diag = |exa: &ExaBgp| format!("exabgp log:\n{}\nbird log:\n{}", exa.log(), bird.log());
    bird.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&exa)));
    let got = bird.routes().unwrap();
    let r = got.iter().find(|r| r.prefix == "203.0.113.0/24").unwrap();
    assert_eq!(r.as_path, vec![64501, 64510]);
    assert_eq!(r.next_hop.as_deref(), Some("198.18.0.2"));
    assert_eq!(r.med, Some(7));
    assert_eq!(r.communities, vec![(64501, 1), (65535, 666)]);
    assert_eq!(r.large_communities, vec![(64501, 2, 3)]);

    // Run-time announce and withdraw through the API process.
    exa.command("announce route 198.51.100.0/24 next-hop 198.18.0.2 community [64501:9]")
        .unwrap();
    bird.wait_route_count(3, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&exa)));
    exa.command("withdraw route 203.0.113.0/24 next-hop 198.18.0.2")
        .unwrap();
    bird.wait_route_count(2, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&exa)));
    assert!(
        bird.routes()
            .unwrap()
            .iter()
            .all(|r| r.prefix != "203.0.113.0/24")
    );

    // What BIRD sent, as ExaBGP reported it.
    exa.wait_route_count(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&exa)));
    let got = exa.routes().unwrap();
    assert_eq!(got[0].prefix, "192.0.2.0/24");
    assert_eq!(got[0].from.as_deref(), Some("198.18.0.3"));
    assert_eq!(got[0].as_path, vec![64502]);
    assert_eq!(got[0].next_hop.as_deref(), Some("198.18.0.3"));
    assert_eq!(got[0].communities, vec![(64502, 7)]);
    bird.birdc("disable s4").unwrap();
    exa.wait_route_count(0, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&exa)));

    let pids = [exa.pid(), bird.pid()];
    drop((exa, bird));
    drop(ns);
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
