//! rampartd between real BIRD 2 daemons, in a network namespace made for the
//! test: a speaker announces to rampartd as a route server client, and a
//! core BIRD (also a route server client) receives the reflected routes
//! unchanged (RFC 7947: no AS prepended, NEXT_HOP passed on); withdrawals
//! and a speaker going down propagate.

use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::RampartdConfig;
use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, Child, Netns, bird, bird::FAST_TIMERS, missing_prerequisite};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";

fn start_rampartd(ns: &Netns, dir: &Path, config: &str) -> Child {
    rampart_tests::harness::start_rampartd(ns, env!("CARGO_BIN_EXE_rampartd"), dir, config).unwrap()
}

fn speaker_conf(routes: &[&str], asn: u32) -> String {
    speaker_conf_at(SPEAKER, routes, asn)
}

fn speaker_conf_at(addr: &str, routes: &[&str], asn: u32) -> String {
    let routes: Vec<(&str, &str)> = routes.iter().map(|r| (*r, "")).collect();
    bird::ipv4_speaker(addr, asn, RS, &routes)
}

fn core_conf(asn: u32) -> String {
    format!(
        "router id {CORE};
protocol device {{}}
protocol bgp routeserver {{ local {CORE} as {asn}; neighbor {RS} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} ipv4 {{ import all; export none; }}; }}"
    )
}

/// rampartd with the speaker and the core peer in these ASes and roles.
fn rampartd_conf(dir: &Path, speaker: (u32, &str), core: (u32, &str)) -> String {
    RampartdConfig::new(RS, RS, dir)
        .passive_peer(SPEAKER, speaker.0, speaker.1, "")
        .active_peer(CORE, core.0, core.1, "")
        .to_string()
}

#[test]
fn bird_speaker_to_bird_core_through_rampartd() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-bird");
    let ns = Netns::new("ib").unwrap();
    let conf = rampartd_conf(&dir, (64501, "rs-client"), (64502, "rs-client"));
    let mut rampartd = start_rampartd(&ns, &dir, &conf);
    let routes = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.128/25"];
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    let speaker = Bird::start(&ns, &dir.join("speaker"), &speaker_conf(&routes, 64501)).unwrap();

    let fail = |e: String, rampartd: &Child| -> ! {
        panic!(
            "{e}\n--- rampartd log:\n{}\n--- speaker log:\n{}\n--- core log:\n{}",
            rampartd.log(),
            speaker.log(),
            core.log()
        )
    };
    if let Err(e) = core.wait_route_count(routes.len(), Duration::from_secs(30)) {
        fail(e, &rampartd);
    }
    let got = core.routes().unwrap();
    for r in routes {
        let route = got
            .iter()
            .find(|x| x.prefix == r)
            .unwrap_or_else(|| panic!("{r} missing"));
        // Transparent route server: the speaker's AS path and next hop, and
        // no 64500 prepended.
        assert_eq!(route.as_path, vec![64501], "{r}");
        assert_eq!(route.next_hop.as_deref(), Some(SPEAKER), "{r}");
        assert_eq!(route.from.as_deref(), Some(RS), "{r}");
    }

    // The control socket reports both sessions and their counters.
    let peers = show_peers(&dir);
    let peer = |addr: &str| {
        peers
            .iter()
            .find(|p| p["address"] == addr)
            .unwrap_or_else(|| panic!("{addr} missing in {peers:?}"))
            .clone()
    };
    let (s, c) = (peer(SPEAKER), peer(CORE));
    assert_eq!(
        (s["state"].as_str(), c["state"].as_str()),
        (Some("Established"), Some("Established"))
    );
    assert_eq!(s["prefixes_received"], routes.len());
    assert_eq!(s["prefixes_accepted"], routes.len());
    assert_eq!(c["prefixes_sent"], routes.len());
    assert_eq!(s["remote_as"], 64501);

    // A withdrawal propagates.
    speaker.birdc("disable s4").unwrap();
    if let Err(e) = core.wait_route_count(0, Duration::from_secs(20)) {
        fail(e, &rampartd);
    }
    // The shards have counted the withdrawn paths off (the core's view
    // follows their counting).
    let peers = show_peers(&dir);
    let s = peers.iter().find(|p| p["address"] == SPEAKER).unwrap();
    assert_eq!(s["prefixes_accepted"], 0, "{s}");
    // Routes come back, then the speaker's session goes down: its routes
    // are withdrawn from the core.
    speaker.birdc("enable s4").unwrap();
    if let Err(e) = core.wait_route_count(routes.len(), Duration::from_secs(20)) {
        fail(e, &rampartd);
    }
    speaker.birdc("disable routeserver").unwrap();
    if let Err(e) = core.wait_route_count(0, Duration::from_secs(20)) {
        fail(e, &rampartd);
    }

    // SIGTERM: rampartd sends Cease/Administrative Shutdown and exits.
    assert!(
        rampartd.stop(Duration::from_secs(5)),
        "rampartd did not exit on SIGTERM"
    );
    let log = core.log();
    drop((speaker, core));
    drop(ns);
    let _ = (log, std::fs::remove_dir_all(&dir));
}

#[test]
fn rr_client_speaker_is_reflected_to_an_ibgp_core() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-bird-rr");
    let ns = Netns::new("ir").unwrap();
    let conf = rampartd_conf(&dir, (64500, "rr-client"), (64500, "ibgp"));
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let routes = ["203.0.113.0/24", "198.51.100.0/24"];
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64500)).unwrap();
    let speaker = Bird::start(&ns, &dir.join("speaker"), &speaker_conf(&routes, 64500)).unwrap();
    if let Err(e) = core.wait_route_count(routes.len(), Duration::from_secs(30)) {
        panic!(
            "{e}\n--- rampartd log:\n{}\n--- core log:\n{}",
            rampartd.log(),
            core.log()
        );
    }
    for r in core.routes().unwrap() {
        // RFC 4456 §8: ORIGINATOR_ID is the client's BGP Identifier and the
        // reflector's cluster ID (its router ID by default) is prepended.
        assert_eq!(r.originator_id.as_deref(), Some(SPEAKER), "{r:?}");
        assert_eq!(r.cluster_list, vec![RS.to_string()], "{r:?}");
        assert!(r.as_path.is_empty(), "iBGP keeps the AS path empty: {r:?}");
        assert_eq!(r.local_pref, Some(100), "{r:?}");
        assert_eq!(r.next_hop.as_deref(), Some(SPEAKER), "{r:?}");
    }
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The rs-client config with `speaker_extra` TOML in the speaker's peer
/// table and `tail` at the end.
fn rs_conf_with(dir: &Path, speaker_extra: &str, tail: &str) -> String {
    RampartdConfig::new(RS, RS, dir)
        .passive_peer(SPEAKER, 64501, "rs-client", speaker_extra)
        .active_peer(CORE, 64502, "rs-client", "")
        .raw(tail)
        .to_string()
}

/// `rampartctl show peers --json` against the daemon whose control socket
/// is in `dir`.
fn show_peers(dir: &Path) -> Vec<serde_json::Value> {
    let out = rampart_tests::harness::rampartctl(
        env!("CARGO_BIN_EXE_rampartctl"),
        dir,
        &["show", "peers", "--json"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_array().cloned().unwrap_or_default()
}

fn skip() -> bool {
    match missing_prerequisite(&["bird", "birdc", "ip"]) {
        Some(why) => {
            eprintln!("skipping: {why}");
            true
        }
        None => false,
    }
}

const FIVE: [&str; 5] = [
    "203.0.113.0/24",
    "198.51.100.0/24",
    "192.0.2.0/25",
    "192.0.2.128/25",
    "100.64.1.0/24",
];

#[test]
fn max_prefix_shutdown_sends_cease_1_and_withdraws() {
    if skip() {
        return;
    }
    let dir = tempdir("max-prefix-shutdown");
    let ns = Netns::new("mps").unwrap();
    let conf = rs_conf_with(
        &dir,
        "max-prefix = { limit = 3, action = \"shutdown\" }",
        "",
    );
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    let speaker = Bird::start(&ns, &dir.join("speaker"), &speaker_conf(&FIVE, 64501)).unwrap();
    // RFC 4486 §4: the speaker is told Cease / Maximum Number of Prefixes
    // Reached, and its routes leave the core.
    let seen =
        rampart_tests::harness::wait_for("Cease/1 at the speaker", Duration::from_secs(20), || {
            let out = speaker.birdc("show protocols all routeserver").ok()?;
            out.contains("Maximum number of prefixes reached")
                .then_some(())
        });
    if let Err(e) = seen {
        panic!(
            "{e}\n--- rampartd:\n{}\n--- speaker:\n{}",
            rampartd.log(),
            speaker.log()
        );
    }
    core.wait_route_count(0, Duration::from_secs(10)).unwrap();
    // `shutdown` keeps it down: no session for the next 3 s.
    std::thread::sleep(Duration::from_secs(3));
    assert_ne!(
        speaker.protocol_info("routeserver").as_deref(),
        Some("Established")
    );
    assert_eq!(core.route_count(), Some(0));
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn max_prefix_drop_excess_keeps_the_session_and_the_first_routes() {
    if skip() {
        return;
    }
    let dir = tempdir("max-prefix-drop");
    let ns = Netns::new("mpd").unwrap();
    let conf = rs_conf_with(
        &dir,
        "max-prefix = { limit = 3, action = \"drop-excess\" }",
        "",
    );
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    let speaker = Bird::start(&ns, &dir.join("speaker"), &speaker_conf(&FIVE, 64501)).unwrap();
    if let Err(e) = core.wait_route_count(3, Duration::from_secs(20)) {
        panic!("{e}\n--- rampartd:\n{}", rampartd.log());
    }
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(core.route_count(), Some(3), "excess prefixes must not pass");
    assert_eq!(
        speaker.protocol_info("routeserver").as_deref(),
        Some("Established")
    );
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dynamic_neighbor_from_the_range_is_accepted_and_one_outside_is_refused() {
    if skip() {
        return;
    }
    let dir = tempdir("dynamic");
    let ns = Netns::new("dyn").unwrap();
    let template = r#"[[template]]
name = "tenants"
range = "198.18.1.0/24"
remote-as = "64510-64520"
role = "rs-client"
hold-time = 9
"#;
    let conf = rs_conf_with(&dir, "", template);
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    let inside = Bird::start(
        &ns,
        &dir.join("inside"),
        &speaker_conf_at("198.18.1.5", &["203.0.113.0/24"], 64511),
    )
    .unwrap();
    let outside = Bird::start(
        &ns,
        &dir.join("outside"),
        &speaker_conf_at("198.18.2.5", &["198.51.100.0/24"], 64512),
    )
    .unwrap();
    if let Err(e) = core.wait_route_count(1, Duration::from_secs(20)) {
        panic!("{e}\n--- rampartd:\n{}", rampartd.log());
    }
    let r = core.routes().unwrap();
    assert_eq!(r[0].prefix, "203.0.113.0/24");
    assert_eq!(r[0].as_path, vec![64511]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        core.route_count(),
        Some(1),
        "the refused speaker's route leaked"
    );
    assert_ne!(
        outside.protocol_info("routeserver").as_deref(),
        Some("Established")
    );
    assert!(
        rampartd.log().contains("connection refused"),
        "{}",
        rampartd.log()
    );
    let listed = |dir: &Path| {
        show_peers(dir)
            .iter()
            .filter(|p| p["address"] == "198.18.1.5")
            .count()
    };
    assert_eq!(listed(&dir), 1);
    // The dynamic neighbor leaves: its routes go and it is no longer
    // listed; it comes back as one new peer.
    inside.birdc("disable routeserver").unwrap();
    core.wait_route_count(0, Duration::from_secs(10)).unwrap();
    rampart_tests::harness::wait_for(
        "the neighbor to be forgotten",
        Duration::from_secs(10),
        || (listed(&dir) == 0).then_some(()),
    )
    .unwrap();
    inside.birdc("enable routeserver").unwrap();
    core.wait_route_count(1, Duration::from_secs(20)).unwrap();
    assert_eq!(listed(&dir), 1);
    drop((inside, outside, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn graceful_restart_keeps_routes_until_end_of_rib_or_restart_time() {
    graceful_restart("graceful-restart", "gr", None);
}

/// The same with the speaker a dynamic neighbor: its session waits for it
/// (one peer, not a second one from the same address); disabled while
/// away, its routes and the peer go at once.
#[test]
fn graceful_restart_of_a_dynamic_neighbor() {
    graceful_restart("graceful-restart-dyn", "grd", Some("198.18.1.5"));
}

/// A BIRD speaker (static, or a dynamic neighbor at `dynamic`) restarts
/// gracefully twice: back in time with one route fewer, then not back
/// (the dynamic one disabled meanwhile).
fn graceful_restart(tag: &str, ns_tag: &str, dynamic: Option<&str>) {
    if skip() {
        return;
    }
    let dir = tempdir(tag);
    let ns = Netns::new(ns_tag).unwrap();
    let conf = match dynamic {
        None => rampartd_conf(&dir, (64501, "rs-client"), (64502, "rs-client")),
        Some(_) => RampartdConfig::new(RS, RS, &dir)
            .active_peer(CORE, 64502, "rs-client", "")
            .raw(
                "[[template]]\nname = \"tenants\"\nrange = \"198.18.1.0/24\"\n\
                 remote-as = 64501\nrole = \"rs-client\"\nhold-time = 9\n",
            )
            .to_string(),
    };
    let speaker_at = dynamic.unwrap_or(SPEAKER);
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    let gr = |routes: &[&str]| {
        speaker_conf_at(speaker_at, routes, 64501).replace(
            "multihop;",
            "multihop; graceful restart on; graceful restart time 6;",
        )
    };
    let listed = || {
        show_peers(&dir)
            .iter()
            .filter(|p| p["address"] == speaker_at)
            .count()
    };
    let three = ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.128/25"];
    let speaker = Bird::start(&ns, &dir.join("speaker"), &gr(&three)).unwrap();
    let fail = |e: String| -> ! { panic!("{e}\n--- rampartd:\n{}", rampartd.log()) };
    core.wait_route_count(3, Duration::from_secs(30))
        .unwrap_or_else(|e| fail(e));

    // The speaker restarts: its TCP session ends without a NOTIFICATION.
    speaker.birdc("graceful restart").unwrap();
    drop(speaker);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        core.route_count(),
        Some(3),
        "stale routes must stay during the restart\n{}",
        rampartd.log()
    );
    assert_eq!(listed(), 1, "{:?}", show_peers(&dir));
    // `show peers` says it is away with its paths stale, and for how long.
    let text = rampart_tests::harness::rampartctl(
        env!("CARGO_BIN_EXE_rampartctl"),
        &dir,
        &["show", "peers"],
    )
    .unwrap();
    let line = text.lines().find(|l| l.starts_with(speaker_at));
    assert!(
        line.is_some_and(|l| l.contains("stale (away, ") && l.contains("ipv4-unicast")),
        "{text}"
    );

    // It comes back announcing two of the three: after its End-of-RIB the
    // one it did not refresh is gone.
    let speaker = Bird::start(&ns, &dir.join("speaker"), &gr(&three[..2])).unwrap();
    core.wait_route_count(2, Duration::from_secs(20))
        .unwrap_or_else(|e| fail(e));
    let left: Vec<String> = core
        .routes()
        .unwrap()
        .into_iter()
        .map(|r| r.prefix)
        .collect();
    assert!(!left.contains(&three[2].to_string()), "{left:?}");
    assert_eq!(listed(), 1, "{:?}", show_peers(&dir));

    // It goes away again and does not return within its restart time (6 s).
    speaker.birdc("graceful restart").unwrap();
    drop(speaker);
    if dynamic.is_some() {
        // Disabled while away: its stale routes go at once, and so does
        // the peer (a dynamic neighbor is not kept disabled).
        let ctl = rampart_tests::harness::rampartctl(
            env!("CARGO_BIN_EXE_rampartctl"),
            &dir,
            &["peer", "disable", speaker_at],
        );
        assert!(ctl.is_ok(), "{ctl:?}");
        core.wait_route_count(0, Duration::from_secs(2))
            .unwrap_or_else(|e| fail(e));
        let gone = rampart_tests::harness::wait_for(
            "the dynamic neighbor to be forgotten",
            Duration::from_secs(10),
            || (listed() == 0).then_some(()),
        );
        assert!(gone.is_ok(), "{gone:?}: {:?}", show_peers(&dir));
    } else {
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(core.route_count(), Some(2));
        core.wait_route_count(0, Duration::from_secs(15))
            .unwrap_or_else(|e| fail(e));
    }
    drop((core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn route_refresh_from_the_core_resends_its_routes() {
    if skip() {
        return;
    }
    let dir = tempdir("route-refresh");
    let ns = Netns::new("rr").unwrap();
    let conf = rampartd_conf(&dir, (64501, "rs-client"), (64502, "rs-client"));
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    let speaker = Bird::start(&ns, &dir.join("speaker"), &speaker_conf(&FIVE, 64501)).unwrap();
    core.wait_route_count(5, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    let before = core.received("routeserver", "Import updates").unwrap();
    // RFC 2918: BIRD sends ROUTE-REFRESH; rampartd re-advertises the table.
    core.birdc("reload in routeserver").unwrap();
    let after = rampart_tests::harness::wait_for("re-sent routes", Duration::from_secs(10), || {
        core.received("routeserver", "Import updates")
            .filter(|n| *n >= before + 5)
    });
    assert!(
        after.is_ok(),
        "before {before}, now {:?}\n{}",
        core.received("routeserver", "Import updates"),
        rampartd.log()
    );
    assert_eq!(core.route_count(), Some(5));
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Enhanced route refresh (RFC 7313) with BIRD on both sides: both
/// advertise the capability. Out: the core's refresh request is answered
/// between a BoRR and an EoRR, the routes inside. In: rampartd asks the
/// speaker again after its filter changed with `configure soft` (which
/// sends nothing); BIRD answers between BoRR and EoRR and withdraws the
/// route it no longer exports, and the other routes stay through the
/// sweep at the EoRR. The sweep of paths not sent again has its own test
/// (`enhanced_refresh.rs`), as BIRD always withdraws.
#[test]
fn enhanced_route_refresh_both_ways() {
    if skip() {
        return;
    }
    let dir = tempdir("enhanced-rr");
    let ns = Netns::new("err").unwrap();
    let conf = rampartd_conf(&dir, (64501, "rs-client"), (64502, "rs-client"));
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let core_conf = format!(
        "log stderr all;\n{}",
        core_conf(64502).replace("passive on;", "passive on; debug { packets };")
    );
    let core = Bird::start(&ns, &dir.join("core"), &core_conf).unwrap();
    let speaker_dir = dir.join("speaker");
    let speaker = Bird::start(&ns, &speaker_dir, &speaker_conf(&FIVE, 64501)).unwrap();
    let fail = |e: String| -> ! {
        panic!(
            "{e}\n--- rampartd:\n{}\n--- core:\n{}",
            rampartd.log(),
            core.log()
        )
    };
    core.wait_route_count(5, Duration::from_secs(30))
        .unwrap_or_else(|e| fail(e));
    let caps = core.birdc("show protocols all routeserver").unwrap();
    assert_eq!(caps.matches("Enhanced refresh").count(), 2, "{caps}");

    // Out: BIRD asks, rampartd answers BoRR, the routes, EoRR.
    core.birdc("reload in routeserver").unwrap();
    rampart_tests::harness::wait_for("EoRR at the core", Duration::from_secs(10), || {
        core.log().contains("Got END-OF-RR").then_some(())
    })
    .unwrap_or_else(|e| fail(e));
    let log = core.log();
    let begin = log
        .rfind("Got BEGIN-OF-RR")
        .unwrap_or_else(|| fail("no BoRR".into()));
    let end = log.rfind("Got END-OF-RR").unwrap_or(0);
    assert!(
        begin < end && log[begin..end].contains("Got UPDATE"),
        "the routes come between BoRR and EoRR:\n{log}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(core.route_count(), Some(5));

    // In: the speaker stops exporting one route without withdrawing it.
    let gone = "100.64.1.0/24";
    let filtered =
        speaker_conf(&FIVE, 64501).replace("export all;", &format!("export where net != {gone};"));
    std::fs::write(speaker_dir.join("bird.conf"), filtered).unwrap();
    speaker.birdc("configure soft").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(core.route_count(), Some(5), "configure soft sent nothing");
    rampart_tests::harness::rampartctl(
        env!("CARGO_BIN_EXE_rampartctl"),
        &dir,
        &["peer", "refresh", SPEAKER],
    )
    .unwrap_or_else(|e| fail(e.to_string()));
    core.wait_route_count(4, Duration::from_secs(10))
        .unwrap_or_else(|e| fail(e));
    assert!(!core.routes().unwrap().iter().any(|r| r.prefix == gone));
    let log = rampartd.log();
    assert!(log.contains("enhanced route refresh ends (EoRR)"), "{log}");
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// RFC 1997 well-known communities, by receiver: an iBGP core gets a
/// reflection client's NO_EXPORT route but not its NO_ADVERTISE route; a
/// route server client with `interpret-communities = true` gets neither;
/// one with the route-server default gets both, communities unchanged.
#[test]
fn well_known_communities_follow_the_receivers_role() {
    if skip() {
        return;
    }
    const IBGP: &str = "198.18.0.3";
    const STRICT: &str = "198.18.0.4";
    const PLAIN: &str = "198.18.0.5";
    let dir = tempdir("well-known");
    let ns = Netns::new("wkc").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer(SPEAKER, 64500, "rr-client", "")
        .active_peer(IBGP, 64500, "ibgp", "")
        .active_peer(STRICT, 64502, "rs-client", "interpret-communities = true")
        .active_peer(PLAIN, 64503, "rs-client", "")
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let plain = "203.0.113.0/24";
    let no_export = "198.51.100.0/24";
    let no_advertise = "192.0.2.0/24";
    let speaker = Bird::start(
        &ns,
        &dir.join("speaker"),
        &bird::ipv4_speaker(
            SPEAKER,
            64500,
            RS,
            &[
                (plain, ""),
                (no_export, "bgp_community.add((65535,65281));"),
                (no_advertise, "bgp_community.add((65535,65282));"),
            ],
        ),
    )
    .unwrap();
    let core = |addr: &str, asn: u32| {
        Bird::start(
            &ns,
            &dir.join(addr),
            &rampart_tests::harness::bird::rs_client_core(addr, asn, RS),
        )
        .unwrap()
    };
    let cores = [
        (core(IBGP, 64500), vec![plain, no_export]),
        (core(STRICT, 64502), vec![plain]),
        (core(PLAIN, 64503), vec![plain, no_export, no_advertise]),
    ];
    for (bird, want) in &cores {
        if let Err(e) = bird.wait_route_count(want.len(), Duration::from_secs(30)) {
            panic!("{e}\n--- rampartd:\n{}", rampartd.log());
        }
    }
    // Nothing more arrives later.
    std::thread::sleep(Duration::from_secs(2));
    for (bird, want) in &cores {
        let routes = bird.routes().unwrap();
        let mut got: Vec<&str> = routes.iter().map(|r| r.prefix.as_str()).collect();
        got.sort_unstable();
        let mut want = want.clone();
        want.sort_unstable();
        assert_eq!(got, want, "{routes:?}");
        for r in &routes {
            let wk = match r.prefix.as_str() {
                p if p == no_export => vec![(65535, 65281)],
                p if p == no_advertise => vec![(65535, 65282)],
                _ => vec![],
            };
            assert_eq!(r.communities, wk, "{r:?}");
        }
    }
    drop((speaker, cores, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
