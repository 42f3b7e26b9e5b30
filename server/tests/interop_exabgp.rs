//! rampartd with an ExaBGP speaker (rs-client) whose routes carry
//! communities, large communities and MED, and a BIRD core (rs-client):
//! the core gets them unchanged (RFC 7947 §2.2: no AS prepended, NEXT_HOP,
//! MED and communities passed on); a withdrawal sent through ExaBGP's API
//! and the speaker stopping propagate.

use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::RampartdConfig;
use rampart_tests::harness::bird::{BirdRoute, FAST_TIMERS};
use rampart_tests::harness::tempdir;
use rampart_tests::harness::{Bird, Child, ExaBgp, Netns, exabgp, missing_prerequisite};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";

fn start_rampartd(ns: &Netns, dir: &Path, config: &str) -> Child {
    rampart_tests::harness::start_rampartd(ns, env!("CARGO_BIN_EXE_rampartd"), dir, config).unwrap()
}

fn rampartd_conf(dir: &Path) -> String {
    RampartdConfig::new(RS, RS, dir)
        .passive_peer(SPEAKER, 64501, "rs-client", "")
        .active_peer(CORE, 64502, "rs-client", "")
        .to_string()
}

fn find<'a>(routes: &'a [BirdRoute], prefix: &str) -> &'a BirdRoute {
    routes
        .iter()
        .find(|r| r.prefix == prefix)
        .unwrap_or_else(|| panic!("{prefix} missing from {routes:#?}"))
}

#[test]
fn exabgp_speaker_to_bird_core_through_rampartd() {
    if let Some(why) = missing_prerequisite(&["exabgp", "bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-exabgp");
    let ns = Netns::new("ix").unwrap();
    let rampartd = start_rampartd(&ns, &dir, &rampartd_conf(&dir));
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
    let conf = format!(
        "neighbor {RS} {{
  router-id {SPEAKER};
  local-address {SPEAKER};
  local-as 64501;
  peer-as 64500;
  hold-time 9;
  family {{ ipv4 unicast; }}
  {}
  static {{
    route 203.0.113.0/24 next-hop {SPEAKER} as-path [ 64501 64510 64511 ] med 7 community [ 64501:1 64502:100 ] large-community [ 64501:2:3 4200000000:4:5 ];
    route 198.51.100.0/24 next-hop {SPEAKER} med 0 community [ 65535:666 ];
    route 192.0.2.0/25 next-hop {SPEAKER};
  }}
}}
",
        exabgp::API_BLOCK
    );
    let mut speaker = ExaBgp::start(&ns, &dir.join("speaker"), &conf).unwrap();
    let diag = |e: String, speaker: &ExaBgp| -> String {
        format!(
            "{e}\n--- rampartd log:\n{}\n--- speaker log:\n{}\n--- core log:\n{}\n{:?}",
            rampartd.log(),
            speaker.log(),
            core.log(),
            core.birdc("show protocols all routeserver")
        )
    };
    core.wait_route_count(3, Duration::from_secs(20))
        .unwrap_or_else(|e| panic!("{}", diag(e, &speaker)));
    let got = core.routes().unwrap();
    let r = find(&got, "203.0.113.0/24");
    assert_eq!(r.as_path, vec![64501, 64510, 64511], "{r:?}");
    assert_eq!(r.next_hop.as_deref(), Some(SPEAKER), "{r:?}");
    assert_eq!(r.from.as_deref(), Some(RS), "{r:?}");
    assert_eq!(r.med, Some(7), "{r:?}");
    assert_eq!(r.communities, vec![(64501, 1), (64502, 100)], "{r:?}");
    assert_eq!(
        r.large_communities,
        vec![(64501, 2, 3), (4_200_000_000, 4, 5)],
        "{r:?}"
    );
    let r = find(&got, "198.51.100.0/24");
    assert_eq!(r.med, Some(0), "{r:?}");
    assert_eq!(r.communities, vec![(65535, 666)], "{r:?}");
    let r = find(&got, "192.0.2.0/25");
    assert_eq!(r.as_path, vec![64501], "{r:?}");
    assert!(r.communities.is_empty() && r.med.is_none(), "{r:?}");

    // A withdrawal through the API, and a new route with a community.
    speaker
        .command(&format!("withdraw route 203.0.113.0/24 next-hop {SPEAKER}"))
        .unwrap();
    speaker
        .command(&format!(
            "announce route 203.0.113.128/25 next-hop {SPEAKER} community [ 64501:42 ]"
        ))
        .unwrap();
    let ok =
        rampart_tests::harness::wait_for("withdraw and announce", Duration::from_secs(10), || {
            let got = core.routes().ok()?;
            (got.len() == 3 && got.iter().all(|r| r.prefix != "203.0.113.0/24")).then_some(got)
        })
        .unwrap_or_else(|e| panic!("{}", diag(e, &speaker)));
    assert_eq!(find(&ok, "203.0.113.128/25").communities, vec![(64501, 42)]);

    // The speaker stops: all its routes are withdrawn at the core.
    assert!(speaker.stop(Duration::from_secs(5)));
    core.wait_route_count(0, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("{}", diag(e, &speaker)));
    drop((speaker, core, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
