//! rampartd between real BIRD 2 daemons, in a network namespace made for the
//! test: a speaker announces to rampartd as a route server client, and a
//! core BIRD (also a route server client) receives the reflected routes
//! unchanged (RFC 7947: no AS prepended, NEXT_HOP passed on); withdrawals
//! and a speaker going down propagate.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rampart_tests::harness::{Bird, Child, Netns, bird::FAST_TIMERS, missing_prerequisite};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rampart-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn start_rampartd(ns: &Netns, dir: &Path, config: &str) -> Child {
    let conf = dir.join("rampartd.toml");
    std::fs::write(&conf, config).unwrap();
    let bin = env!("CARGO_BIN_EXE_rampartd");
    ns.spawn(
        "rampartd",
        bin,
        &["--config", &conf.to_string_lossy()],
        &dir.join("rampartd.log"),
    )
    .unwrap()
}

fn speaker_conf(routes: &[&str], asn: u32) -> String {
    let statics: String = routes
        .iter()
        .map(|r| format!("route {r} via {SPEAKER}; "))
        .collect();
    format!(
        "router id {SPEAKER};
protocol device {{}}
protocol static s4 {{ ipv4; {statics} }}
protocol bgp routeserver {{ local {SPEAKER} as {asn}; neighbor {RS} as 64500; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import none; export all; }}; }}"
    )
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
    format!(
        r#"[global]
router-id = "{RS}"
local-as = 64500
listen = ["{RS}"]
workers = 2
control-socket = "{}"

[[peer]]
address = "{SPEAKER}"
remote-as = {}
role = "{}"
passive = true
hold-time = 9

[[peer]]
address = "{CORE}"
remote-as = {}
role = "{}"
local-address = "{RS}"
hold-time = 9
"#,
        dir.join("ctl.sock").display(),
        speaker.0,
        speaker.1,
        core.0,
        core.1,
    )
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

    // A withdrawal propagates.
    speaker.birdc("disable s4").unwrap();
    if let Err(e) = core.wait_route_count(0, Duration::from_secs(20)) {
        fail(e, &rampartd);
    }
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
