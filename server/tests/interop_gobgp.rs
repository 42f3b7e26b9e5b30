//! rampartd with GoBGP peers, each scenario in its own network namespace:
//! - a GoBGP speaker's routes reach an FRR core unchanged (RFC 7947 §2.2:
//!   no AS prepended, NEXT_HOP, MED, communities and large communities
//!   passed on), withdrawals and the speaker stopping propagate;
//! - two speakers (BIRD and GoBGP) with the same prefix: the core gets the
//!   RFC 4271 §9.1.2.2 winner (shorter AS path), then the other after the
//!   winner withdraws;
//! - path hiding (RFC 7947 §2.3.2.1): each of two rs-clients announcing the
//!   same prefix receives the other's path, never its own.

use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::RampartdConfig;
use rampart_tests::harness::bird::{BirdRoute, FAST_TIMERS};
use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, Child, Frr, GoBgp, Netns, frr, gobgp, missing_prerequisite};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.4";
const SPEAKER2: &str = "198.18.0.5";
const PREFIX: &str = "203.0.113.0/24";

fn start_rampartd(ns: &Netns, dir: &Path, config: &str) -> Child {
    rampart_tests::harness::start_rampartd(ns, env!("CARGO_BIN_EXE_rampartd"), dir, config).unwrap()
}

/// rampartd (AS 64500) with rs-client peers `(address, as, passive)`.
fn rampartd_conf(dir: &Path, peers: &[(&str, u32, bool)]) -> String {
    let mut c = RampartdConfig::new(RS, RS, dir);
    for &(addr, asn, passive) in peers {
        c = if passive {
            c.passive_peer(addr, asn, "rs-client", "")
        } else {
            c.active_peer(addr, asn, "rs-client", "")
        };
    }
    c.to_string()
}

fn bird_conf(me: &str, asn: u32, statics: &str) -> String {
    format!(
        "router id {me};
protocol device {{}}
protocol static s4 {{ ipv4; {statics} }}
protocol bgp routeserver {{ local {me} as {asn}; neighbor {RS} as 64500; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import all; export where proto = \"s4\"; }}; }}"
    )
}

fn frr_core_conf(dir: &Path) -> String {
    format!(
        "frr defaults traditional
hostname core
log file {}/bgpd.log informational
router bgp 64502
 bgp router-id {CORE}
{}{} no neighbor {RS} enforce-first-as
 neighbor {RS} passive
",
        dir.display(),
        frr::GLOBAL_LINES,
        frr::neighbor_lines(RS, 64500, CORE),
    )
}

fn find<'a>(routes: &'a [BirdRoute], prefix: &str) -> &'a BirdRoute {
    routes
        .iter()
        .find(|r| r.prefix == prefix)
        .unwrap_or_else(|| panic!("{prefix} missing from {routes:#?}"))
}

#[test]
fn gobgp_speaker_to_frr_core_through_rampartd() {
    if let Some(why) = missing_prerequisite(&["gobgpd", "gobgp", "zebra", "bgpd", "vtysh", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-gobgp-frr");
    let ns = Netns::new("igf").unwrap();
    let conf = rampartd_conf(&dir, &[(SPEAKER, 64501, false), (CORE, 64502, false)]);
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Frr::start(
        &ns,
        &dir.join("core"),
        &[CORE],
        &frr_core_conf(&dir.join("core")),
    )
    .unwrap();
    let gconf = gobgp::passive(&gobgp::config(64501, SPEAKER, &[(RS, 64500)], false));
    let mut speaker = GoBgp::start(&ns, &dir.join("speaker"), &gconf).unwrap();
    let attrs = [
        "aspath",
        "64510",
        "med",
        "7",
        "community",
        "64501:1,65535:666",
        "large-community",
        "64501:2:3",
        "nexthop",
        SPEAKER,
    ];
    speaker.add_route(PREFIX, &attrs).unwrap();
    speaker
        .add_route("198.51.100.0/24", &["nexthop", SPEAKER])
        .unwrap();

    let diag = |speaker: &GoBgp| {
        format!(
            "--- rampartd log:\n{}\n--- speaker log:\n{}\n--- core log:\n{}",
            rampartd.log(),
            speaker.log(),
            core.log()
        )
    };
    core.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&speaker)));
    let got = core.routes().unwrap();
    let r = find(&got, PREFIX);
    // RFC 7947 §2.2: the route server does not prepend its AS, and passes
    // NEXT_HOP, MED and communities on unchanged.
    assert_eq!(r.as_path, vec![64501, 64510], "{r:?}");
    assert_eq!(r.next_hop.as_deref(), Some(SPEAKER), "{r:?}");
    assert_eq!(r.from.as_deref(), Some(RS), "{r:?}");
    assert_eq!(r.med, Some(7), "{r:?}");
    assert_eq!(r.communities, vec![(64501, 1), (65535, 666)], "{r:?}");
    assert_eq!(r.large_communities, vec![(64501, 2, 3)], "{r:?}");
    let plain = find(&got, "198.51.100.0/24");
    assert_eq!(plain.as_path, vec![64501], "{plain:?}");
    assert!(
        plain.communities.is_empty() && plain.med.is_none(),
        "{plain:?}"
    );

    speaker.del_route(PREFIX).unwrap();
    core.wait_route_count(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&speaker)));
    assert_eq!(core.routes().unwrap()[0].prefix, "198.51.100.0/24");

    // The speaker goes away: its routes are withdrawn at the core.
    assert!(speaker.stop(Duration::from_secs(5)));
    core.wait_route_count(0, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(&speaker)));
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn core_gets_the_shorter_as_path_then_the_other_after_withdrawal() {
    if let Some(why) = missing_prerequisite(&["gobgpd", "gobgp", "bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-gobgp-best");
    let ns = Netns::new("igb").unwrap();
    let conf = rampartd_conf(
        &dir,
        &[
            (SPEAKER, 64501, true),
            (SPEAKER2, 64503, false),
            (CORE, 64502, false),
        ],
    );
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Bird::start(
        &ns,
        &dir.join("core"),
        &format!(
            "router id {CORE};
protocol device {{}}
protocol bgp routeserver {{ local {CORE} as 64502; neighbor {RS} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} ipv4 {{ import all; export none; }}; }}"
        ),
    )
    .unwrap();
    // BIRD's path is 3 ASes long and arrives first.
    let bird = Bird::start(
        &ns,
        &dir.join("bird"),
        &bird_conf(
            SPEAKER,
            64501,
            &format!("route {PREFIX} via {SPEAKER} {{ bgp_path.prepend(64511); bgp_path.prepend(64510); }};"),
        ),
    )
    .unwrap();
    let gb = GoBgp::start(
        &ns,
        &dir.join("gobgp"),
        &gobgp::passive(&gobgp::config(64503, SPEAKER2, &[(RS, 64500)], false)),
    )
    .unwrap();
    let diag = |what: String| {
        format!(
            "{what}\n--- rampartd log:\n{}\n--- bird log:\n{}\n--- gobgp log:\n{}\n--- core routes:\n{:#?}",
            rampartd.log(),
            bird.log(),
            gb.log(),
            core.routes()
        )
    };
    let path_at_core = |want: &[u32]| {
        rampart_tests::harness::wait_for("the core's path", Duration::from_secs(15), || {
            let routes = core.routes().ok()?;
            let r = routes.iter().find(|r| r.prefix == PREFIX)?;
            (r.as_path == want && routes.len() == 1).then(|| r.clone())
        })
        .unwrap_or_else(|e| panic!("{}", diag(format!("{e}: want {want:?}"))))
    };
    let long = path_at_core(&[64501, 64510, 64511]);
    assert_eq!(long.next_hop.as_deref(), Some(SPEAKER));

    // GoBGP's path is 1 AS long (GoBGP prepends 64503 to an empty path):
    // RFC 4271 §9.1.2.2 (a) prefers it.
    gb.add_route(PREFIX, &["nexthop", SPEAKER2]).unwrap();
    let short = path_at_core(&[64503]);
    assert_eq!(short.next_hop.as_deref(), Some(SPEAKER2));

    // The winner withdraws: the core gets the other path again.
    gb.del_route(PREFIX).unwrap();
    let back = path_at_core(&[64501, 64510, 64511]);
    assert_eq!(back.next_hop.as_deref(), Some(SPEAKER));
    drop((gb, bird, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A (BIRD) and B (GoBGP) announce the same prefix; `b_first`: B's path
/// reaches the route server before A's session is up; `withdraw`: B then
/// withdraws and A must be left without any path from the route server.
fn path_hiding(tag: &str, b_first: bool, withdraw: bool) {
    if let Some(why) = missing_prerequisite(&["gobgpd", "gobgp", "bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir(tag);
    let ns = Netns::new("igh").unwrap();
    let conf = rampartd_conf(&dir, &[(SPEAKER, 64501, true), (SPEAKER2, 64503, false)]);
    let rampartd = start_rampartd(&ns, &dir, &conf);
    // A (BIRD) has the shorter path, so it is the route server's overall
    // best; A must still get B's path (RFC 7947 §2.3.2.1: no path hiding)
    // and never its own back.
    let b = GoBgp::start(
        &ns,
        &dir.join("b"),
        &gobgp::passive(&gobgp::config(64503, SPEAKER2, &[(RS, 64500)], false)),
    )
    .unwrap();
    let start_a = || {
        Bird::start(
            &ns,
            &dir.join("a"),
            &bird_conf(SPEAKER, 64501, &format!("route {PREFIX} via {SPEAKER};")),
        )
        .unwrap()
    };
    let up = |what: &str, check: &dyn Fn() -> bool| {
        rampart_tests::harness::wait_for(what, Duration::from_secs(10), || check().then_some(()))
            .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
        // The UPDATE follows the session coming up.
        std::thread::sleep(Duration::from_millis(500));
    };
    let add_b = || {
        b.add_route(PREFIX, &["aspath", "64510", "nexthop", SPEAKER2])
            .unwrap();
    };
    let a = if b_first {
        add_b();
        up("B up", &|| b.is_established(RS));
        start_a()
    } else {
        let a = start_a();
        up("A up", &|| {
            a.protocol_info("routeserver").as_deref() == Some("Established")
        });
        add_b();
        a
    };
    let diag = |what: String| {
        format!(
            "{what}\n--- rampartd log:\n{}\n--- A log:\n{}\n{:?}\n--- B log:\n{}",
            rampartd.log(),
            a.log(),
            a.birdc("show protocols all routeserver"),
            b.log()
        )
    };
    // B: its own path plus A's from the route server.
    b.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{}", diag(e)));
    let got = b.routes().unwrap();
    let learned: Vec<&BirdRoute> = got
        .iter()
        .filter(|r| r.from.as_deref() == Some(RS))
        .collect();
    assert_eq!(learned.len(), 1, "{got:#?}");
    assert_eq!(learned[0].as_path, vec![64501], "{got:#?}");
    assert_eq!(learned[0].next_hop.as_deref(), Some(SPEAKER), "{got:#?}");

    // A: its static plus B's path from the route server.
    a.wait_route_count(2, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{}", diag(e)));
    let got = a.routes().unwrap();
    let from_rs: Vec<&BirdRoute> = got
        .iter()
        .filter(|r| r.from.as_deref() == Some(RS))
        .collect();
    assert_eq!(from_rs.len(), 1, "{got:#?}");
    assert_eq!(from_rs[0].prefix, PREFIX);
    assert_eq!(from_rs[0].as_path, vec![64503, 64510], "{got:#?}");
    assert_eq!(from_rs[0].next_hop.as_deref(), Some(SPEAKER2), "{got:#?}");

    if !withdraw {
        return;
    }
    // B withdraws: A is left with only its own static (nothing from the
    // route server, in particular not its own path).
    b.del_route(PREFIX).unwrap();
    a.wait_route_count(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{}", diag(e)));
    assert!(
        a.routes()
            .unwrap()
            .iter()
            .all(|r| r.from.as_deref() != Some(RS))
    );
    drop((a, b, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rs_client_gets_the_other_path_when_it_came_first() {
    path_hiding("interop-gobgp-hiding-b-first", true, false);
}

#[test]
fn rs_client_gets_the_other_path_when_it_comes_later() {
    path_hiding("interop-gobgp-hiding-b-later", false, true);
}

#[test]
fn rs_client_loses_the_other_path_when_it_is_withdrawn() {
    path_hiding("interop-gobgp-hiding-withdraw", true, true);
}
