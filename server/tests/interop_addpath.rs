//! ADD-PATH send (RFC 7911) toward a core peer that negotiates it: two
//! speakers (real BIRD route server clients) announce the same IPv4 and
//! IPv6 prefixes, and the core BIRD, with `add paths rx`, receives both
//! paths of each, each with its own path identifier; when one speaker goes,
//! only its path is withdrawn.

use std::time::Duration;

use rampart_tests::harness::bird::{BirdRoute, FAST_TIMERS};
use rampart_tests::harness::{
    Bird, Netns, RampartdConfig, missing_prerequisite, tempdir, wait_for,
};

const RS: &str = "198.18.0.1";
const SPEAKER_A: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";
const SPEAKER_B: &str = "198.18.0.4";
const V4: &str = "203.0.113.0/24";
const V6: &str = "2001:db8:1::/48";

fn speaker_conf(me: &str, asn: u32, nh6: &str) -> String {
    format!(
        "router id {me};
protocol device {{}}
protocol static s4 {{ ipv4; route {V4} via {me}; }}
protocol static s6 {{ ipv6; route {V6} unreachable; }}
protocol bgp routeserver {{ local {me} as {asn}; neighbor {RS} as 64500; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import none; export all; }}; ipv6 {{ import none; export all; next hop address {nh6}; }}; }}"
    )
}

fn core_conf() -> String {
    format!(
        "router id {CORE};
protocol device {{}}
protocol bgp routeserver {{ local {CORE} as 64502; neighbor {RS} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} ipv4 {{ import all; export none; add paths rx; }}; ipv6 {{ import all; export none; add paths rx; }}; }}"
    )
}

/// The AS paths the core holds for `prefix`, sorted.
fn paths_of(routes: &[BirdRoute], prefix: &str) -> Vec<Vec<u32>> {
    let mut p: Vec<Vec<u32>> = routes
        .iter()
        .filter(|r| r.prefix == prefix)
        .map(|r| r.as_path.clone())
        .collect();
    p.sort();
    p
}

#[test]
fn add_path_send_delivers_every_path_to_the_core() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-addpath");
    let ns = Netns::new("ap").unwrap();
    let families = "families = [\"ipv4-unicast\", \"ipv6-unicast\"]";
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer(SPEAKER_A, 64501, "rs-client", families)
        .passive_peer(SPEAKER_B, 64503, "rs-client", families)
        .active_peer(
            CORE,
            64502,
            "rs-client",
            &format!("{families}\nadd-path = \"send\""),
        );
    let rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &conf.to_string(),
    )
    .unwrap();
    let core = Bird::start(&ns, &dir.join("core"), &core_conf()).unwrap();
    let a = Bird::start(
        &ns,
        &dir.join("a"),
        &speaker_conf(SPEAKER_A, 64501, "fd00:198:18::2"),
    )
    .unwrap();
    let b = Bird::start(
        &ns,
        &dir.join("b"),
        &speaker_conf(SPEAKER_B, 64503, "fd00:198:18::4"),
    )
    .unwrap();

    let both = vec![vec![64501], vec![64503]];
    let got = wait_for("both paths at the core", Duration::from_secs(30), || {
        let r = core.routes().ok()?;
        (paths_of(&r, V4) == both && paths_of(&r, V6) == both).then_some(r)
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}: core has {:?}\n--- rampartd log:\n{}",
            core.routes(),
            rampartd.log()
        )
    });
    // Transparent: each path with its own speaker's next hop.
    for r in got.iter().filter(|r| r.prefix == V4) {
        let want = if r.as_path == [64501] {
            SPEAKER_A
        } else {
            SPEAKER_B
        };
        assert_eq!(r.next_hop.as_deref(), Some(want), "{r:?}");
    }

    // One speaker goes: only its paths are withdrawn.
    a.birdc("disable routeserver").unwrap();
    wait_for("one path left", Duration::from_secs(30), || {
        let r = core.routes().ok()?;
        (paths_of(&r, V4) == [vec![64503]] && paths_of(&r, V6) == [vec![64503]]).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}: core has {:?}\n{}", core.routes(), rampartd.log()));
    drop((a, b, core, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
