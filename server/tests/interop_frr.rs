//! rampartd with FRR, each scenario in a network namespace made for it.
//!
//! An FRR speaker (rs-client) → rampartd → a BIRD core (rs-client): the
//! speaker's AS path, NEXT_HOP, MED, communities and large communities
//! arrive unchanged (RFC 7947 §2.2), a `no network` and the speaker
//! stopping propagate.
//!
//! rampartd as a route reflector:
//! a GoBGP speaker (rr-client, AS 64500) and an FRR iBGP core (role "ibgp").
//! (The speaker is not an FRR: FRR needs its own address assigned exactly,
//! and an FRR core in the same namespace then denies that address as a
//! "martian or self next-hop".) RFC 4456 §8: the reflected routes carry
//! ORIGINATOR_ID = the client's BGP Identifier and CLUSTER_LIST = the
//! reflector's cluster ID (its router ID by default); the AS path stays
//! empty, NEXT_HOP, LOCAL_PREF and communities unchanged; a withdrawal and
//! the client going down propagate.

use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::RampartdConfig;
use rampart_tests::harness::bird::{BirdRoute, FAST_TIMERS};
use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, Child, Frr, GoBgp, Netns, frr, gobgp, missing_prerequisite};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.4";

fn start_rampartd(ns: &Netns, dir: &Path, config: &str) -> Child {
    rampart_tests::harness::start_rampartd(ns, env!("CARGO_BIN_EXE_rampartd"), dir, config).unwrap()
}

fn rampartd_conf(dir: &Path) -> String {
    RampartdConfig::new(RS, RS, dir)
        .active_peer(SPEAKER, 64500, "rr-client", "")
        .active_peer(CORE, 64500, "ibgp", "")
        .to_string()
}

/// An FRR in AS `asn` at `me` peering with rampartd; `networks` go in its
/// IPv4 address family (`route-map TAG` tags with communities and MED 9).
fn frr_conf(dir: &Path, me: &str, asn: u32, extra: &str, networks: &str) -> String {
    format!(
        "frr defaults traditional
hostname {me}
log file {}/bgpd.log debugging
debug bgp updates in
route-map TAG permit 10
 set community {asn}:1
 set large-community {asn}:2:3
 set metric 9
router bgp {asn}
 bgp router-id {me}
{}{}{extra} address-family ipv4 unicast
{networks} exit-address-family
",
        dir.display(),
        frr::GLOBAL_LINES,
        frr::neighbor_lines(RS, 64500, me),
    )
}

fn find<'a>(routes: &'a [BirdRoute], prefix: &str) -> &'a BirdRoute {
    routes
        .iter()
        .find(|r| r.prefix == prefix)
        .unwrap_or_else(|| panic!("{prefix} missing from {routes:#?}"))
}

#[test]
fn gobgp_rr_client_is_reflected_to_an_frr_ibgp_core() {
    if let Some(why) = missing_prerequisite(&["gobgpd", "gobgp", "zebra", "bgpd", "vtysh", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-frr-rr");
    let ns = Netns::new("ifr").unwrap();
    let rampartd = start_rampartd(&ns, &dir, &rampartd_conf(&dir));
    let core_dir = dir.join("core");
    let core = Frr::start(
        &ns,
        &core_dir,
        &[CORE],
        &frr_conf(
            &core_dir,
            CORE,
            64500,
            &format!(" neighbor {RS} passive\n"),
            "",
        ),
    )
    .unwrap();
    let mut speaker = GoBgp::start(
        &ns,
        &dir.join("speaker"),
        &gobgp::passive(&gobgp::config(64500, SPEAKER, &[(RS, 64500)], false)),
    )
    .unwrap();
    let attrs = [
        "community",
        "64500:1",
        "large-community",
        "64500:2:3",
        "med",
        "9",
        "nexthop",
        SPEAKER,
    ];
    speaker.add_route("203.0.113.0/24", &attrs).unwrap();
    speaker
        .add_route("198.51.100.0/24", &["nexthop", SPEAKER])
        .unwrap();
    let diag = |e: String, speaker: &GoBgp| {
        format!(
            "{e}\n--- rampartd log:\n{}\n--- speaker log:\n{}\n--- core log:\n{}\n{:?}",
            rampartd.log(),
            speaker.log(),
            core.log(),
            core.vtysh("show bgp ipv4 unicast summary"),
        )
    };
    core.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{}", diag(e, &speaker)));
    let got = core.routes().unwrap();
    for r in &got {
        // RFC 4456 §8: ORIGINATOR_ID is the client's BGP Identifier, and the
        // reflector prepends its CLUSTER_ID to the CLUSTER_LIST.
        assert_eq!(r.originator_id.as_deref(), Some(SPEAKER), "{r:?}");
        assert_eq!(r.cluster_list, vec![RS.to_string()], "{r:?}");
        assert!(r.as_path.is_empty(), "iBGP keeps the AS path empty: {r:?}");
        assert_eq!(r.next_hop.as_deref(), Some(SPEAKER), "{r:?}");
        assert_eq!(r.from.as_deref(), Some(RS), "{r:?}");
    }
    let tagged = find(&got, "203.0.113.0/24");
    assert_eq!(tagged.communities, vec![(64500, 1)], "{tagged:?}");
    assert_eq!(tagged.large_communities, vec![(64500, 2, 3)], "{tagged:?}");
    assert_eq!(tagged.med, Some(9), "{tagged:?}");
    // Nothing is reflected back to the client that sent it.
    assert_eq!(
        speaker
            .routes()
            .unwrap()
            .iter()
            .filter(|r| r.from.is_some())
            .count(),
        0
    );

    speaker.del_route("198.51.100.0/24").unwrap();
    core.wait_route_count(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{}", diag(e, &speaker)));
    assert_eq!(core.routes().unwrap()[0].prefix, "203.0.113.0/24");

    // The client goes down: its routes are withdrawn at the core.
    assert!(speaker.stop(Duration::from_secs(5)));
    core.wait_route_count(0, Duration::from_secs(15))
        .unwrap_or_else(|e| {
            panic!(
                "{e}\n--- rampartd log:\n{}\n--- core log:\n{}",
                rampartd.log(),
                core.log()
            )
        });
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn frr_speaker_to_bird_core_through_rampartd() {
    if let Some(why) = missing_prerequisite(&["zebra", "bgpd", "vtysh", "bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    const BIRD_CORE: &str = "198.18.0.3";
    let dir = tempdir("interop-frr-rs");
    let ns = Netns::new("ifs").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer(SPEAKER, 64501, "rs-client", "")
        .active_peer(BIRD_CORE, 64502, "rs-client", "")
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Bird::start(
        &ns,
        &dir.join("core"),
        &format!(
            "router id {BIRD_CORE};
protocol device {{}}
protocol bgp routeserver {{ local {BIRD_CORE} as 64502; neighbor {RS} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} ipv4 {{ import all; export none; }}; }}"
        ),
    )
    .unwrap();
    let speaker_dir = dir.join("speaker");
    let speaker_conf = frr_conf(
        &speaker_dir,
        SPEAKER,
        64501,
        "",
        "  network 203.0.113.0/24 route-map TAG\n  network 198.51.100.0/24\n",
    );
    let speaker = Frr::start(&ns, &speaker_dir, &[SPEAKER], &speaker_conf).unwrap();
    let diag = |e: String, speaker: &Frr| {
        format!(
            "{e}\n--- rampartd log:\n{}\n--- speaker log:\n{}\n--- core log:\n{}\n{:?}",
            rampartd.log(),
            speaker.log(),
            core.log(),
            core.birdc("show protocols all routeserver"),
        )
    };
    core.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{}", diag(e, &speaker)));
    let got = core.routes().unwrap();
    let r = find(&got, "203.0.113.0/24");
    assert_eq!(r.as_path, vec![64501], "{r:?}");
    assert_eq!(r.next_hop.as_deref(), Some(SPEAKER), "{r:?}");
    assert_eq!(r.from.as_deref(), Some(RS), "{r:?}");
    assert_eq!(r.med, Some(9), "{r:?}");
    assert_eq!(r.communities, vec![(64501, 1)], "{r:?}");
    assert_eq!(r.large_communities, vec![(64501, 2, 3)], "{r:?}");
    let plain = find(&got, "198.51.100.0/24");
    assert!(plain.communities.is_empty(), "{plain:?}");

    speaker
        .configure(&[
            "router bgp 64501",
            "address-family ipv4 unicast",
            "no network 198.51.100.0/24",
        ])
        .unwrap();
    core.wait_route_count(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{}", diag(e, &speaker)));
    assert_eq!(core.routes().unwrap()[0].prefix, "203.0.113.0/24");

    drop(speaker);
    core.wait_route_count(0, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("{e}\n--- rampartd log:\n{}", rampartd.log()));
    drop((core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
