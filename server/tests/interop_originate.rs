//! Routes rampartd originates (`[[route]]`), seen by a real BIRD core peer:
//! a static route with its communities and the server's AS; an aggregate
//! announced only while a more-specific from a speaker exists, with
//! ATOMIC_AGGREGATE and AGGREGATOR (RFC 4271 §5.1.6, §5.1.7); and a
//! summary-only aggregate that hides its more-specifics.

use std::time::Duration;

use rampart_tests::harness::bird::{self, BirdRoute};
use rampart_tests::harness::{
    Bird, Netns, RampartdConfig, missing_prerequisite, tempdir, wait_for,
};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";

fn speaker_conf(routes: &[&str]) -> String {
    let routes: Vec<(&str, &str)> = routes.iter().map(|r| (*r, "")).collect();
    bird::ipv4_speaker(SPEAKER, 64501, RS, &routes)
}

fn core_conf() -> String {
    bird::rs_client_core(CORE, 64502, RS)
}

fn sorted(routes: &[BirdRoute]) -> Vec<String> {
    let mut p: Vec<String> = routes.iter().map(|r| r.prefix.clone()).collect();
    p.sort();
    p
}

const ROUTES: &str = r#"
[[route]]
prefix = "192.0.2.0/24"
next-hop = "198.18.0.1"
communities = ["64500:7"]

[[route]]
prefix = "203.0.112.0/23"
aggregate = true

[[route]]
prefix = "198.51.100.0/23"
aggregate = true
summary-only = true
"#;

#[test]
fn static_routes_and_aggregates_reach_the_core() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-originate");
    let ns = Netns::new("og").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer(SPEAKER, 64501, "rs-client", "")
        .active_peer(CORE, 64502, "rs-client", "")
        .raw(ROUTES);
    let rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &conf.to_string(),
    )
    .unwrap();
    let core = Bird::start(&ns, &dir.join("core"), &core_conf()).unwrap();
    let wait = |want: &[&str]| {
        let want: Vec<String> = want.iter().map(|s| (*s).to_string()).collect();
        wait_for("core table", Duration::from_secs(30), || {
            let r = core.routes().ok()?;
            (sorted(&r) == want).then_some(r)
        })
        .unwrap_or_else(|e| {
            panic!(
                "{e}: want {want:?}, core has {:?}\n{}",
                core.routes().map(|r| sorted(&r)),
                rampartd.log()
            )
        })
    };

    // Without a speaker: only the static route; no aggregate without a
    // more-specific.
    let got = wait(&["192.0.2.0/24"]);
    assert_eq!(
        got[0].as_path,
        vec![64500],
        "own routes carry the server's AS"
    );
    assert_eq!(got[0].next_hop.as_deref(), Some(RS));
    assert_eq!(got[0].communities, vec![(64500, 7)]);

    let speaker = Bird::start(
        &ns,
        &dir.join("speaker"),
        &speaker_conf(&["203.0.113.0/24", "198.51.100.0/24", "198.51.101.0/25"]),
    )
    .unwrap();
    // Both aggregates appear; the summary-only one's more-specifics do not.
    wait(&[
        "192.0.2.0/24",
        "198.51.100.0/23",
        "203.0.112.0/23",
        "203.0.113.0/24",
    ]);
    let detail = core.birdc("show route 203.0.112.0/23 all").unwrap();
    assert!(detail.contains("BGP.atomic_aggr"), "{detail}");
    assert!(
        detail.contains("BGP.aggregator: 198.18.0.1 AS64500"),
        "{detail}"
    );

    // The more-specifics go: so do the aggregates.
    speaker.birdc("disable s4").unwrap();
    wait(&["192.0.2.0/24"]);
    speaker.birdc("enable s4").unwrap();
    wait(&[
        "192.0.2.0/24",
        "198.51.100.0/23",
        "203.0.112.0/23",
        "203.0.113.0/24",
    ]);

    // Reload with a new static route and without the summary-only
    // aggregate: the new route appears, the aggregate goes and its
    // more-specifics are advertised; the others stay.
    let routes = ROUTES.replace(
        "[[route]]\nprefix = \"198.51.100.0/23\"\naggregate = true\nsummary-only = true\n",
        "[[route]]\nprefix = \"100.64.0.0/24\"\nnext-hop = \"198.18.0.1\"\ncommunities = [\"64500:8\"]\n",
    );
    assert_ne!(routes, ROUTES);
    let withdraws = || core.received("routeserver", "Import withdraws");
    let withdrawn_before = withdraws().expect("BIRD's import withdraws counter");
    std::fs::write(
        dir.join("rampartd.toml"),
        conf.to_string().replace(ROUTES, &routes),
    )
    .unwrap();
    let report =
        rampart_tests::harness::rampartctl(env!("CARGO_BIN_EXE_rampartctl"), &dir, &["reload"])
            .unwrap_or_else(|e| panic!("reload: {e}"));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["routes_replaced"], true, "{report}");
    assert_eq!(
        report["restarted"].as_array().map(Vec::len),
        Some(0),
        "{report}"
    );
    let got = wait(&[
        "100.64.0.0/24",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "198.51.101.0/25",
        "203.0.112.0/23",
        "203.0.113.0/24",
    ]);
    let new = got.iter().find(|r| r.prefix == "100.64.0.0/24").unwrap();
    assert_eq!(new.communities, vec![(64500, 8)]);
    // The removed aggregate is the one withdrawal: the routes the reload
    // kept (the static route, the other aggregate) were never withdrawn
    // and announced again.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        withdraws().map(|n| n - withdrawn_before),
        Some(1),
        "{}",
        core.birdc("show protocols all routeserver")
            .unwrap_or_default()
    );
    drop((speaker, core, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
