//! rampartd with IPv6 unicast (RFC 4760 MP_REACH_NLRI / MP_UNREACH_NLRI,
//! RFC 2545 IPv6 next hops) between BIRD route server clients:
//! (a) over IPv6 sessions, (b) IPv6 routes over IPv4 sessions that also
//! carry IPv4. The core gets the speaker's prefixes with its AS path and its
//! global IPv6 next hop (no 64500 prepended, RFC 7947 §2.2); withdrawals
//! propagate.

use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::RampartdConfig;
use rampart_tests::harness::bird::{BirdRoute, FAST_TIMERS};
use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, Child, Netns, missing_prerequisite};

const RS4: &str = "198.18.0.1";
const SPEAKER4: &str = "198.18.0.2";
const CORE4: &str = "198.18.0.3";
const RS6: &str = "fd00:198:18::1";
const SPEAKER6: &str = "fd00:198:18::2";
const CORE6: &str = "fd00:198:18::3";
const V6_ROUTES: [&str; 3] = ["2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:3:4::/64"];

fn start_rampartd(ns: &Netns, dir: &Path, config: &str) -> Child {
    rampart_tests::harness::start_rampartd(ns, env!("CARGO_BIN_EXE_rampartd"), dir, config).unwrap()
}

/// rampartd listening on `rs`, speaker passive, core active, both
/// rs-clients with `families`.
fn rampartd_conf(dir: &Path, rs: &str, speaker: &str, core: &str, families: &str) -> String {
    let families = format!("families = {families}");
    RampartdConfig::new(RS4, rs, dir)
        .passive_peer(speaker, 64501, "rs-client", &families)
        .active_peer(core, 64502, "rs-client", &families)
        .to_string()
}

/// A BIRD speaker (AS 64501) sending `V6_ROUTES` (and, with `v4`, one IPv4
/// route) over a session from `me` to `rs`.
fn speaker_conf(me: &str, rs: &str, v4: bool) -> String {
    let statics: String = V6_ROUTES
        .iter()
        .map(|r| format!("route {r} unreachable; "))
        .collect();
    let (s4, c4) = if v4 {
        (
            "protocol static s4 { ipv4; route 203.0.113.0/24 unreachable; }",
            "ipv4 { import none; export all; };",
        )
    } else {
        ("", "")
    };
    format!(
        "router id {SPEAKER4};
protocol device {{}}
protocol static s6 {{ ipv6; {statics} }}
{s4}
protocol bgp routeserver {{ local {me} as 64501; neighbor {rs} as 64500; multihop; strict bind yes;
  {FAST_TIMERS} {c4} ipv6 {{ import none; export all; next hop address {SPEAKER6}; }}; }}"
    )
}

fn core_conf(me: &str, rs: &str, v4: bool) -> String {
    let c4 = if v4 {
        "ipv4 { import all; export none; };"
    } else {
        ""
    };
    format!(
        "router id {CORE4};
protocol device {{}}
protocol bgp routeserver {{ local {me} as 64502; neighbor {rs} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} {c4} ipv6 {{ import all; export none; }}; }}"
    )
}

fn check_v6_routes(got: &[BirdRoute]) {
    for prefix in V6_ROUTES {
        let r = got
            .iter()
            .find(|r| r.prefix == prefix)
            .unwrap_or_else(|| panic!("{prefix} missing from {got:#?}"));
        assert_eq!(r.as_path, vec![64501], "{r:?}");
        // RFC 2545 §3: the global address first; BIRD prints a link-local
        // one after it when there is one.
        let nh = r.next_hop.as_deref().unwrap_or_default();
        assert_eq!(nh.split_whitespace().next(), Some(SPEAKER6), "{r:?}");
        assert!(r.communities.is_empty(), "{r:?}");
    }
}

/// Runs one scenario: rampartd, core and speaker on the given addresses.
fn run(tag: &str, rs: &str, speaker: &str, core: &str, v4: bool) {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir(tag);
    let ns = Netns::new("i6").unwrap();
    ns.add_v6(SPEAKER6).unwrap();
    ns.add_v6(CORE6).unwrap();
    let families = if v4 {
        r#"["ipv4-unicast", "ipv6-unicast"]"#
    } else {
        r#"["ipv6-unicast"]"#
    };
    let rampartd = start_rampartd(&ns, &dir, &rampartd_conf(&dir, rs, speaker, core, families));
    let core_bird = Bird::start(&ns, &dir.join("core"), &core_conf(core, rs, v4)).unwrap();
    let spk = Bird::start(&ns, &dir.join("speaker"), &speaker_conf(speaker, rs, v4)).unwrap();
    let diag = |e: String| {
        format!(
            "{e}\n--- rampartd log:\n{}\n--- speaker:\n{}\n{:?}\n--- core:\n{}\n{:?}\n{:?}",
            rampartd.log(),
            spk.log(),
            spk.birdc("show protocols all routeserver"),
            core_bird.log(),
            core_bird.birdc("show protocols all routeserver"),
            core_bird.birdc("show route all"),
        )
    };
    let want = V6_ROUTES.len() + usize::from(v4);
    core_bird
        .wait_route_count(want, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{}", diag(e)));
    let got = core_bird.routes().unwrap();
    check_v6_routes(&got);
    if v4 {
        let r = got.iter().find(|r| r.prefix == "203.0.113.0/24").unwrap();
        assert_eq!(r.as_path, vec![64501], "{r:?}");
        assert_eq!(r.next_hop.as_deref(), Some(SPEAKER4), "{r:?}");
    }

    // IPv6 withdrawal (MP_UNREACH_NLRI) propagates; IPv4 stays.
    spk.birdc("disable s6").unwrap();
    core_bird
        .wait_route_count(usize::from(v4), Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{}", diag(e)));
    spk.birdc("enable s6").unwrap();
    core_bird
        .wait_route_count(want, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{}", diag(e)));
    // The speaker's session goes down: everything is withdrawn.
    spk.birdc("disable routeserver").unwrap();
    core_bird
        .wait_route_count(0, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{}", diag(e)));
    drop((spk, core_bird, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ipv6_routes_over_ipv6_sessions() {
    run("interop-v6-v6", RS6, SPEAKER6, CORE6, false);
}

#[test]
fn ipv6_routes_over_ipv4_sessions_next_to_ipv4() {
    run("interop-v6-v4", RS4, SPEAKER4, CORE4, true);
}

/// RFC 4456 over IPv6 sessions: a route reflector client's IPv6 routes
/// reach an iBGP core with ORIGINATOR_ID and CLUSTER_LIST, the AS path
/// empty and LOCAL_PREF set; a max-prefix limit on the client trips with
/// Cease/1 once it announces more.
#[test]
fn ipv6_reflection_to_an_ibgp_core_and_max_prefix() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-v6-rr");
    let ns = Netns::new("r6").unwrap();
    ns.add_v6(SPEAKER6).unwrap();
    ns.add_v6(CORE6).unwrap();
    let v6 = r#"families = ["ipv6-unicast"]"#;
    let conf = RampartdConfig::new(RS4, RS6, &dir)
        .passive_peer(
            SPEAKER6,
            64500,
            "rr-client",
            &format!("{v6}\nmax-prefix = {{ limit = 3, action = \"shutdown\" }}"),
        )
        .active_peer(CORE6, 64500, "ibgp", v6)
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let ibgp = |me: &str, id: &str, body: &str, extra: &str| {
        format!(
            "router id {id};
protocol device {{}}
{body}
protocol bgp routeserver {{ local {me} as 64500; neighbor {RS6} as 64500; multihop; strict bind yes; {extra}
  {FAST_TIMERS} ipv6 {{ import all; export all; next hop self; }}; }}"
        )
    };
    let statics: String = V6_ROUTES
        .iter()
        .map(|r| format!("route {r} unreachable; "))
        .collect();
    let core = Bird::start(
        &ns,
        &dir.join("core"),
        &ibgp(CORE6, CORE4, "", "passive on;"),
    )
    .unwrap();
    let spk = Bird::start(
        &ns,
        &dir.join("speaker"),
        &ibgp(
            SPEAKER6,
            SPEAKER4,
            &format!("protocol static s6 {{ ipv6; {statics} }}"),
            "",
        ),
    )
    .unwrap();
    core.wait_route_count(V6_ROUTES.len(), Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", rampartd.log(), core.log()));
    for r in core.routes().unwrap() {
        // RFC 4456 §8: the client's BGP Identifier and our cluster ID.
        assert_eq!(r.originator_id.as_deref(), Some(SPEAKER4), "{r:?}");
        assert_eq!(r.cluster_list, vec![RS4.to_string()], "{r:?}");
        assert!(r.as_path.is_empty(), "{r:?}");
        assert_eq!(r.local_pref, Some(100), "{r:?}");
    }
    // A fourth prefix crosses the limit of 3: Cease/1, routes withdrawn.
    let more =
        format!("protocol static s6 {{ ipv6; {statics} route 2001:db8:9::/48 unreachable; }}");
    std::fs::write(
        dir.join("speaker").join("bird.conf"),
        ibgp(SPEAKER6, SPEAKER4, &more, ""),
    )
    .unwrap();
    spk.birdc("configure").unwrap();
    core.wait_route_count(0, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    let info = spk
        .birdc("show protocols all routeserver")
        .unwrap_or_default();
    assert!(
        info.contains("Maximum number of prefixes reached"),
        "{info}\n{}",
        rampartd.log()
    );
    drop((spk, core, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
