//! Policies in rampartd with real BIRD peers, in a network namespace made
//! for the test: import filters per peer (with `allowed-prefixes`), export
//! filters per client with path hiding mitigation, the Adj-RIB-In before
//! and after policy over the control socket, and reloads that change a
//! policy, add a peer or are refused, without resetting other sessions.

use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::bird::{self, BirdRoute};
use rampart_tests::harness::{
    Bird, Child, Netns, RampartdConfig, missing_prerequisite, tempdir, wait_for,
};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";
const SPEAKER2: &str = "198.18.0.4";

fn speaker_conf(addr: &str, routes: &[(&str, &str)], asn: u32) -> String {
    bird::ipv4_speaker(addr, asn, RS, routes)
}

fn core_conf(asn: u32) -> String {
    bird::rs_client_core(CORE, asn, RS)
}

fn ctl(dir: &Path, args: &[&str]) -> Result<String, String> {
    rampart_tests::harness::rampartctl(env!("CARGO_BIN_EXE_rampartctl"), dir, args)
}

fn ctl_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = ctl(dir, args).unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}"));
    serde_json::from_str(&out).unwrap()
}

fn peer_row(dir: &Path, addr: &str) -> serde_json::Value {
    rampart_tests::harness::peer_row(env!("CARGO_BIN_EXE_rampartctl"), dir, addr)
}

fn wait_prefixes(core: &Bird, want: &[&str], rampartd: &Child) -> Vec<BirdRoute> {
    core.wait_prefixes(want, Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}\n--- rampartd log:\n{}", rampartd.log()))
}

const POLICY_V1: &str = r#"
filter from-tenant {
    if not prefix in peer-prefixes then reject "not the tenant's prefix";
    if prefix-length > 28 then reject "too specific";
    add community 64500:1;
    accept;
}
filter to-core {
    if communities has 64500:666 then reject "held back";
    accept;
}
test "routes held back from the core" {
    filter to-core;
    route { prefix 203.0.113.0/25; as-path 64501; next-hop 198.18.0.2; communities 64500:666; from-peer 198.18.0.2 as 64501; }
    expect reject "held back";
}
"#;

#[test]
fn import_and_export_filters_and_reloads_without_session_resets() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-policy");
    let ns = Netns::new("ip").unwrap();
    let policy = dir.join("edge.policy");
    std::fs::write(&policy, POLICY_V1).unwrap();
    let base = RampartdConfig::new(RS, RS, &dir)
        .global(&format!("policy-files = [\"{}\"]", policy.display()))
        .passive_peer(
            SPEAKER,
            64501,
            "rs-client",
            "import = [\"from-tenant\"]\nallowed-prefixes = [\"203.0.113.0/24 or-longer\"]",
        )
        .active_peer(CORE, 64502, "rs-client", "export = [\"to-core\"]");
    let mut rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &base.to_string(),
    )
    .unwrap();
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    let routes = [
        ("203.0.113.0/25", ""),
        ("203.0.113.16/29", ""),
        ("198.51.100.0/24", ""),
        ("203.0.113.128/25", "bgp_community.add((64500,666));"),
    ];
    let speaker = Bird::start(
        &ns,
        &dir.join("speaker"),
        &speaker_conf(SPEAKER, &routes, 64501),
    )
    .unwrap();

    // Import: only the tenant's prefixes up to /28 pass, tagged 64500:1;
    // export to the core holds back 64500:666.
    let got = wait_prefixes(&core, &["203.0.113.0/25"], &rampartd);
    assert_eq!(got[0].communities, vec![(64500, 1)]);
    assert_eq!(got[0].as_path, vec![64501]);
    // The speaker's UPDATEs may still be on their way: wait for all four.
    let counts = wait_for("4 prefixes received", Duration::from_secs(10), || {
        let s = peer_row(&dir, SPEAKER);
        let c = (
            s["prefixes_received"].as_u64(),
            s["prefixes_accepted"].as_u64(),
        );
        (c.0 == Some(4)).then_some(c)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    assert_eq!(counts, (Some(4), Some(2)));

    // The Adj-RIB-In before policy has all four, two marked filtered; after
    // policy, the two accepted with the community added.
    let pre = ctl_json(
        &dir,
        &[
            "show", "routes", "--table", "in-pre", "--peer", SPEAKER, "--json",
        ],
    );
    let pre = pre.as_array().unwrap();
    assert_eq!(pre.len(), 4, "{pre:?}");
    let filtered: Vec<&str> = pre
        .iter()
        .filter(|r| r["filtered"] == true)
        .map(|r| r["prefix"].as_str().unwrap())
        .collect();
    assert_eq!(filtered, vec!["198.51.100.0/24", "203.0.113.16/29"]);
    let post = ctl_json(&dir, &["show", "routes", "--table", "in-post", "--json"]);
    let post = post.as_array().unwrap();
    assert_eq!(post.len(), 2, "{post:?}");
    assert!(post.iter().all(|r| {
        r["communities"]
            .as_array()
            .unwrap()
            .contains(&"64500:1".into())
    }));
    // What the core is sent: its per-client view.
    let out = ctl_json(
        &dir,
        &["show", "routes", "--table", "out", "--peer", CORE, "--json"],
    );
    assert_eq!(out.as_array().unwrap().len(), 1, "{out:?}");
    // Longest match of an address.
    let lm = ctl_json(
        &dir,
        &["show", "routes", "203.0.113.7", "--longest-match", "--json"],
    );
    assert_eq!(lm[0]["prefix"], "203.0.113.0/25", "{lm:?}");

    // Sessions established so far, per peer, from rampartd's log.
    let established = |rampartd: &Child, addr: &str| {
        let needle = format!("peer={addr} ");
        rampartd
            .log()
            .lines()
            .filter(|l| l.contains("session established") && l.contains(&needle))
            .count()
    };
    let before = (
        established(&rampartd, SPEAKER),
        established(&rampartd, CORE),
    );
    assert_eq!(before, (1, 1), "{}", rampartd.log());

    // Reload with the /28 limit gone: the stored Adj-RIB-In is filtered
    // again; the /29 reaches the core without a session reset.
    std::fs::write(
        &policy,
        POLICY_V1.replace("if prefix-length > 28 then reject \"too specific\";", ""),
    )
    .unwrap();
    let report = ctl_json(&dir, &["reload"]);
    assert_eq!(
        report["refiltered"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    wait_prefixes(&core, &["203.0.113.0/25", "203.0.113.16/29"], &rampartd);

    // A bad policy is refused whole; the running one stays.
    std::fs::write(
        &policy,
        "filter from-tenant { if prefix == 1 then accept; }",
    )
    .unwrap();
    let err = ctl(&dir, &["reload"]).unwrap_err();
    assert!(
        err.contains("edge.policy") && err.contains("reload refused"),
        "{err}"
    );
    std::fs::write(&policy, POLICY_V1).unwrap();

    // Reload adding a second speaker: it comes up, the others stay up.
    let with_second = base.clone().passive_peer(SPEAKER2, 64503, "rs-client", "");
    std::fs::write(dir.join("rampartd.toml"), with_second.to_string()).unwrap();
    let report = ctl_json(&dir, &["reload"]);
    assert_eq!(report["added"], serde_json::json!([SPEAKER2]), "{report}");
    let speaker2 = Bird::start(
        &ns,
        &dir.join("speaker2"),
        &speaker_conf(SPEAKER2, &[("192.0.2.0/24", "")], 64503),
    )
    .unwrap();
    // Policy V1 is back (the /29 filtered again), plus the new speaker's route.
    wait_prefixes(&core, &["192.0.2.0/24", "203.0.113.0/25"], &rampartd);
    let after = (
        established(&rampartd, SPEAKER),
        established(&rampartd, CORE),
    );
    assert_eq!(after, before, "a session was reset:\n{}", rampartd.log());
    assert_eq!(established(&rampartd, SPEAKER2), 1);

    // Removing the second speaker: Cease/Peer De-configured, routes gone.
    std::fs::write(dir.join("rampartd.toml"), base.to_string()).unwrap();
    let report = ctl_json(&dir, &["reload"]);
    assert_eq!(report["removed"], serde_json::json!([SPEAKER2]), "{report}");
    wait_prefixes(&core, &["203.0.113.0/25"], &rampartd);
    let log = speaker2.log();
    assert!(rampartd.stop(Duration::from_secs(5)));
    drop((speaker, speaker2, core, ns));
    let _ = (log, std::fs::remove_dir_all(&dir));
}

#[test]
fn a_client_whose_export_rejects_the_best_path_gets_the_second_best() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("interop-hiding");
    let ns = Netns::new("ph").unwrap();
    let policy = dir.join("hide.policy");
    std::fs::write(
        &policy,
        "filter no-64501 { if first-as == 64501 then reject \"from 64501\"; accept; }",
    )
    .unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .global(&format!("policy-files = [\"{}\"]", policy.display()))
        .passive_peer(SPEAKER, 64501, "rs-client", "")
        .passive_peer(SPEAKER2, 64503, "rs-client", "")
        .active_peer(CORE, 64502, "rs-client", "export = [\"no-64501\"]");
    let rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &conf.to_string(),
    )
    .unwrap();
    let core = Bird::start(&ns, &dir.join("core"), &core_conf(64502)).unwrap();
    // 64501 has the shorter AS path, so its path is the best overall.
    let a = Bird::start(
        &ns,
        &dir.join("a"),
        &speaker_conf(SPEAKER, &[("203.0.113.0/24", "")], 64501),
    )
    .unwrap();
    let b = Bird::start(
        &ns,
        &dir.join("b"),
        &speaker_conf(
            SPEAKER2,
            &[("203.0.113.0/24", "bgp_path.prepend(64503);")],
            64503,
        ),
    )
    .unwrap();
    wait_for("both paths at rampartd", Duration::from_secs(30), || {
        let v = ctl_json(
            &dir,
            &[
                "show",
                "routes",
                "203.0.113.0/24",
                "--table",
                "in-post",
                "--json",
            ],
        );
        (v.as_array()?.len() == 2).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    let best = ctl_json(&dir, &["show", "routes", "203.0.113.0/24", "--json"]);
    assert_eq!(best[0]["from"], SPEAKER, "{best}");
    let got = wait_prefixes(&core, &["203.0.113.0/24"], &rampartd);
    assert_eq!(
        got[0].as_path,
        vec![64503, 64503],
        "the core must get the second-best path"
    );
    // When the hidden speaker goes away, the core keeps the same path; when
    // the second one goes, the core loses the prefix.
    a.birdc("disable routeserver").unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let got = wait_prefixes(&core, &["203.0.113.0/24"], &rampartd);
    assert_eq!(got[0].as_path, vec![64503, 64503]);
    b.birdc("disable routeserver").unwrap();
    wait_prefixes(&core, &[], &rampartd);
    drop((a, b, core, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
