//! RPKI route origin validation (RFC 6811) in rampartd with a real RPKI
//! cache, StayRTR, over RPKI-to-Router (RFC 8210), and real BIRD peers, in
//! a network namespace made for the test: a route server client's import
//! filter rejects `rpki == invalid` (wrong origin AS, longer than the VRP's
//! max length), and the core's export filter takes only `rpki == valid`,
//! for IPv4 and IPv6. Routes that arrive before the cache answers pass
//! both (the state is unknown) and are validated again when its first
//! payloads come. When the cache's VRPs change, the stored Adj-RIB-In is
//! filtered again and the export looks again, without a session reset or
//! route refresh: a route that became valid appears at the core, one that
//! became invalid is withdrawn. When the cache goes away, its data is kept
//! (RFC 8210 §6: until the expire interval) and the routes stay as they
//! are.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::bird::{BirdRoute, FAST_TIMERS, prefixes};
use rampart_tests::harness::stayrtr::{StayRtr, Vrp};
use rampart_tests::harness::{
    Bird, Child, Netns, RampartdConfig, missing_prerequisite, tempdir, wait_for,
};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";
const CACHE: &str = "198.18.0.9";
const CACHE_PORT: u16 = 8282;
const SPEAKER6: &str = "fd00:198:18::2";
const FAMILIES: &str = r#"families = ["ipv4-unicast", "ipv6-unicast"]"#;

/// What the speaker (AS 64501) announces. Against the first VRP set:
/// 203.0.113.0/24 valid, 198.51.100.0/24 invalid (another origin AS),
/// 192.0.2.0/24 not-found, 203.0.113.128/25 invalid (longer than the VRP's
/// max length 24); 2001:db8:1::/48 valid, 2001:db8:2::/48 invalid,
/// 2001:db8:3::/48 not-found.
const V4_ROUTES: [&str; 4] = [
    "203.0.113.0/24",
    "198.51.100.0/24",
    "192.0.2.0/24",
    "203.0.113.128/25",
];
const V6_ROUTES: [&str; 3] = ["2001:db8:1::/48", "2001:db8:2::/48", "2001:db8:3::/48"];

const VRPS_1: [Vrp<'static>; 4] = [
    ("203.0.113.0/24", 24, 64501),
    ("198.51.100.0/24", 24, 65999),
    ("2001:db8:1::/48", 48, 64501),
    ("2001:db8:2::/48", 48, 65999),
];
/// The core's export filter (`rpki-out`) takes valid routes only, so
/// not-found ones stop there.
const CORE_1: [&str; 2] = ["2001:db8:1::/48", "203.0.113.0/24"];

/// The second VRP set: 198.51.100.0/24 and 2001:db8:2::/48 gain a VRP for
/// AS 64501 (now valid: the import takes them), 203.0.113.0/24 and
/// 2001:db8:1::/48 move to AS 65999 (now invalid: the import drops them,
/// and 203.0.113.128/25 stays invalid), 192.0.2.0/24 gets one (valid: the
/// core's export takes it).
const VRPS_2: [Vrp<'static>; 7] = [
    ("192.0.2.0/24", 24, 64501),
    ("203.0.113.0/24", 24, 65999),
    ("198.51.100.0/24", 24, 65999),
    ("198.51.100.0/24", 24, 64501),
    ("2001:db8:1::/48", 48, 65999),
    ("2001:db8:2::/48", 48, 65999),
    ("2001:db8:2::/48", 48, 64501),
];
const CORE_2: [&str; 3] = ["192.0.2.0/24", "198.51.100.0/24", "2001:db8:2::/48"];

const POLICY: &str = r#"
filter rpki-in {
    if rpki == invalid then reject "RPKI invalid";
    accept;
}
filter rpki-out {
    if rpki != valid then reject "no valid ROA";
    accept;
}
"#;

/// The speaker: IPv4 and IPv6 routes over one IPv4 session, its global
/// IPv6 address as the IPv6 next hop.
fn speaker_conf() -> String {
    let s4: String = V4_ROUTES
        .iter()
        .map(|r| format!("route {r} via {SPEAKER}; "))
        .collect();
    let s6: String = V6_ROUTES
        .iter()
        .map(|r| format!("route {r} unreachable; "))
        .collect();
    format!(
        "router id {SPEAKER};
protocol device {{}}
protocol static s4 {{ ipv4; {s4} }}
protocol static s6 {{ ipv6; {s6} }}
protocol bgp routeserver {{ local {SPEAKER} as 64501; neighbor {RS} as 64500; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import none; export all; }}; ipv6 {{ import none; export all; next hop address {SPEAKER6}; }}; }}"
    )
}

/// The core (AS 64502): a passive route server client importing both
/// families.
fn core_conf() -> String {
    format!(
        "router id {CORE};
protocol device {{}}
protocol bgp routeserver {{ local {CORE} as 64502; neighbor {RS} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} ipv4 {{ import all; export none; }}; ipv6 {{ import all; export none; }}; }}"
    )
}

fn ctl(dir: &Path, args: &[&str]) -> Result<String, String> {
    rampart_tests::harness::rampartctl(env!("CARGO_BIN_EXE_rampartctl"), dir, args)
}

fn ctl_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = ctl(dir, args).unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}"));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}: {out}"))
}

/// `show rpki --json`, or `Null` while it does not answer.
fn show_rpki(dir: &Path) -> serde_json::Value {
    ctl(dir, &["show", "rpki", "--json"])
        .ok()
        .and_then(|out| serde_json::from_str(&out).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The `caches` row of our StayRTR in `show rpki --json`.
fn cache_row(rpki: &serde_json::Value) -> serde_json::Value {
    let want = format!("{CACHE}:{CACHE_PORT}");
    rpki["caches"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["address"] == want.as_str()).cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// A VRP set in `show rpki --json` (`ipv4`, `ipv6`): its size, whether it
/// is printed as a count or as the list.
fn vrp_count(v: &serde_json::Value) -> Option<usize> {
    v.as_array()
        .map(Vec::len)
        .or_else(|| v.as_u64().and_then(|n| usize::try_from(n).ok()))
}

fn peer_row(dir: &Path, addr: &str) -> serde_json::Value {
    rampart_tests::harness::peer_row(env!("CARGO_BIN_EXE_rampartctl"), dir, addr)
}

/// Sessions established so far with `addr`, from rampartd's log.
fn established(rampartd: &Child, addr: &str) -> usize {
    let needle = format!("peer={addr} ");
    rampartd
        .log()
        .lines()
        .filter(|l| l.contains("session established") && l.contains(&needle))
        .count()
}

/// What a failure message shows: `show rpki`, StayRTR's log and rampartd's.
fn diag(dir: &Path, rampartd: &Child, rtr: &StayRtr) -> String {
    format!(
        "--- show rpki --json:\n{:?}\n--- stayrtr log:\n{}\n--- rampartd log:\n{}",
        ctl(dir, &["show", "rpki", "--json"]),
        rtr.log(),
        rampartd.log()
    )
}

fn wait_prefixes(
    core: &Bird,
    want: &[&str],
    dir: &Path,
    rampartd: &Child,
    rtr: &StayRtr,
) -> Vec<BirdRoute> {
    core.wait_prefixes(want, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", diag(dir, rampartd, rtr)))
}

/// The prefixes of the speaker's Adj-RIB-In (before policy) that the import
/// filter rejected, sorted.
fn filtered_in(dir: &Path) -> Vec<String> {
    let pre = ctl_json(
        dir,
        &[
            "show", "routes", "--table", "in-pre", "--peer", SPEAKER, "--json",
        ],
    );
    let mut f: Vec<String> = pre
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["filtered"] == true)
                .filter_map(|r| r["prefix"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    f.sort();
    f
}

/// The RPKI state `show routes` gives each of the speaker's routes as
/// received (`None` when it gives none), by prefix.
fn rpki_states(dir: &Path) -> Vec<(String, Option<String>)> {
    let pre = ctl_json(
        dir,
        &[
            "show", "routes", "--table", "in-pre", "--peer", SPEAKER, "--json",
        ],
    );
    let mut v: Vec<(String, Option<String>)> = pre
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let p = r["prefix"].as_str()?.to_string();
            Some((p, r["rpki"].as_str().map(str::to_string)))
        })
        .collect();
    v.sort();
    v
}

/// `(prefix, state)` pairs in `rpki_states` form, sorted.
fn states(pairs: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = pairs
        .iter()
        .map(|(p, s)| ((*p).to_string(), Some((*s).to_string())))
        .collect();
    v.sort();
    v
}

#[test]
fn rpki_invalid_routes_are_rejected_and_refiltered_when_the_vrps_change() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip", "stayrtr"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-rpki");
    let ns = Netns::new("rpki").unwrap();
    ns.add_v6(SPEAKER6).unwrap();
    let cache_addr = SocketAddr::new(CACHE.parse().unwrap(), CACHE_PORT);

    let policy = dir.join("rpki.policy");
    std::fs::write(&policy, POLICY).unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .global(&format!("policy-files = [\"{}\"]", policy.display()))
        .passive_peer(
            SPEAKER,
            64501,
            "rs-client",
            &format!("{FAMILIES}\nimport = [\"rpki-in\"]"),
        )
        .active_peer(
            CORE,
            64502,
            "rs-client",
            &format!("{FAMILIES}\nexport = [\"rpki-out\"]"),
        )
        .raw(&format!(
            "[[rpki-cache]]\naddress = \"{CACHE}\"\nport = {CACHE_PORT}\nretry = 2\n"
        ));
    let mut rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &conf.to_string(),
    )
    .unwrap();
    let core = Bird::start(&ns, &dir.join("core"), &core_conf()).unwrap();
    let speaker = Bird::start(&ns, &dir.join("speaker"), &speaker_conf()).unwrap();

    // No cache answers yet: the state is unknown, `rpki == invalid` holds
    // for no route, and all 7 reach the core.
    let all: Vec<&str> = V4_ROUTES.iter().chain(&V6_ROUTES).copied().collect();
    core.wait_prefixes(&all, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    let rpki = show_rpki(&dir);
    assert_ne!(cache_row(&rpki)["state"], "up", "{rpki}");
    assert_eq!(vrp_count(&rpki["ipv4"]), Some(0), "{rpki}");
    assert!(cache_row(&rpki)["last_error"].is_string(), "{rpki}");
    assert!(
        rpki_states(&dir).iter().all(|(_, s)| s.is_none()),
        "{:?}",
        rpki_states(&dir)
    );

    // The cache starts: rampartd's next attempt (retry = 2 s) finds it, and
    // its first payloads have every stored route validated again.
    let mut rtr = StayRtr::start(&ns, &dir.join("stayrtr"), cache_addr, &VRPS_1).unwrap();

    // The cache is up with the 4 VRPs of serial 0.
    let rpki = wait_for(
        "the RPKI cache up with 4 VRPs",
        Duration::from_secs(30),
        || {
            let v = show_rpki(&dir);
            let c = cache_row(&v);
            (c["state"] == "up" && c["vrps"] == 4).then_some(v)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", diag(&dir, &rampartd, &rtr)));
    let row = cache_row(&rpki);
    assert_eq!(row["serial"], 0, "{rpki}");
    assert!(row["updated_secs_ago"].is_number(), "{rpki}");
    assert_eq!(vrp_count(&rpki["ipv4"]), Some(2), "{rpki}");
    assert_eq!(vrp_count(&rpki["ipv6"]), Some(2), "{rpki}");

    // Valid routes reach the core, with the speaker's AS path unchanged
    // (route server client); invalid ones stop at the import, not-found
    // ones at the core's export.
    let got = wait_prefixes(&core, &CORE_1, &dir, &rampartd, &rtr);
    for r in &got {
        assert_eq!(r.as_path, vec![64501], "{r:?}");
        if !r.prefix.contains(':') {
            assert_eq!(r.next_hop.as_deref(), Some(SPEAKER), "{r:?}");
        }
    }
    // All 7 are in the Adj-RIB-In; the import filter rejected the invalid 3.
    let counts = wait_for("7 prefixes received", Duration::from_secs(10), || {
        let s = peer_row(&dir, SPEAKER);
        let c = (
            s["prefixes_received"].as_u64(),
            s["prefixes_accepted"].as_u64(),
        );
        (c.0 == Some(7)).then_some(c)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", diag(&dir, &rampartd, &rtr)));
    assert_eq!(
        counts,
        (Some(7), Some(4)),
        "{}",
        diag(&dir, &rampartd, &rtr)
    );
    assert_eq!(
        filtered_in(&dir),
        ["198.51.100.0/24", "2001:db8:2::/48", "203.0.113.128/25"],
        "{}",
        diag(&dir, &rampartd, &rtr)
    );
    // `show routes` names each route's state.
    assert_eq!(
        rpki_states(&dir),
        states(&[
            ("192.0.2.0/24", "not-found"),
            ("198.51.100.0/24", "invalid"),
            ("2001:db8:1::/48", "valid"),
            ("2001:db8:2::/48", "invalid"),
            ("2001:db8:3::/48", "not-found"),
            ("203.0.113.0/24", "valid"),
            ("203.0.113.128/25", "invalid"),
        ])
    );

    // The baseline for "no session reset, no route refresh": one session
    // each, and the UPDATEs the speaker has sent (all of them: the count
    // holds still for a second).
    let sessions = (
        established(&rampartd, SPEAKER),
        established(&rampartd, CORE),
    );
    assert_eq!(sessions, (1, 1), "{}", rampartd.log());
    let updates = wait_for(
        "the speaker's UPDATEs all in",
        Duration::from_secs(10),
        || {
            let a = peer_row(&dir, SPEAKER)["updates_received"].as_u64()?;
            std::thread::sleep(Duration::from_secs(1));
            let b = peer_row(&dir, SPEAKER)["updates_received"].as_u64()?;
            (a == b).then_some(b)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    let uptime = peer_row(&dir, SPEAKER)["uptime_secs"].as_u64();
    assert!(uptime.is_some(), "{}", rampartd.log());

    // New VRPs: StayRTR loads them as serial 1 and notifies rampartd, which
    // filters the stored routes again.
    rtr.set_vrps(&VRPS_2).unwrap();
    rtr.wait_serial(1, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e}"));
    let rpki = wait_for(
        "the RPKI cache at serial 1",
        Duration::from_secs(30),
        || {
            let v = show_rpki(&dir);
            let c = cache_row(&v);
            (c["state"] == "up" && c["vrps"] == 7 && c["serial"] == 1).then_some(v)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", diag(&dir, &rampartd, &rtr)));
    assert_eq!(vrp_count(&rpki["ipv4"]), Some(4), "{rpki}");
    assert_eq!(vrp_count(&rpki["ipv6"]), Some(3), "{rpki}");
    let got = wait_prefixes(&core, &CORE_2, &dir, &rampartd, &rtr);
    assert!(got.iter().all(|r| r.as_path == [64501]), "{got:?}");
    assert_eq!(
        filtered_in(&dir),
        ["2001:db8:1::/48", "203.0.113.0/24", "203.0.113.128/25"],
        "{}",
        diag(&dir, &rampartd, &rtr)
    );

    // Without a session reset or a route refresh: the same sessions, no
    // UPDATE sent again by the speaker, its session still up in BIRD.
    let no_reset = |rampartd: &Child, when: &str| {
        let now = (established(rampartd, SPEAKER), established(rampartd, CORE));
        assert_eq!(
            now,
            sessions,
            "{when}: a session was reset:\n{}",
            rampartd.log()
        );
        let row = peer_row(&dir, SPEAKER);
        assert_eq!(row["state"], "Established", "{when}: {row}");
        assert_eq!(
            row["updates_received"].as_u64(),
            Some(updates),
            "{when}: the speaker sent its routes again (route refresh?): {row}\n{}",
            rampartd.log()
        );
        assert!(row["uptime_secs"].as_u64() >= uptime, "{when}: {row}");
        assert_eq!(
            speaker.protocol_info("routeserver").as_deref(),
            Some("Established"),
            "{when}"
        );
    };
    no_reset(&rampartd, "after the VRP change");

    // The cache goes away: rampartd notices, keeps its data, and the routes
    // stay as they are.
    assert!(rtr.stop(Duration::from_secs(3)), "stayrtr ignored SIGTERM");
    let rpki = wait_for("the RPKI cache not up", Duration::from_secs(30), || {
        let v = show_rpki(&dir);
        let s = cache_row(&v)["state"].as_str().map(str::to_string)?;
        (s != "up").then_some(v)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", diag(&dir, &rampartd, &rtr)));
    let state = cache_row(&rpki)["state"].clone();
    assert!(state == "connecting" || state == "down", "{rpki}");
    assert_eq!(vrp_count(&rpki["ipv4"]), Some(4), "VRPs dropped: {rpki}");
    assert_eq!(vrp_count(&rpki["ipv6"]), Some(3), "VRPs dropped: {rpki}");
    // A few failed reconnects later (retry = 2 s), nothing has changed.
    std::thread::sleep(Duration::from_secs(5));
    let routes = core.routes().unwrap();
    assert_eq!(
        prefixes(&routes),
        CORE_2,
        "routes changed with the cache gone\n{}",
        diag(&dir, &rampartd, &rtr)
    );
    let rpki = show_rpki(&dir);
    assert_ne!(cache_row(&rpki)["state"], "up", "{rpki}");
    assert_eq!(vrp_count(&rpki["ipv4"]), Some(4), "VRPs dropped: {rpki}");
    no_reset(&rampartd, "after the cache went away");

    assert!(rampartd.stop(Duration::from_secs(5)));
    drop((speaker, core, rtr, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
