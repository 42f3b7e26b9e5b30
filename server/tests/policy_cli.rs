//! `rampartctl policy check | test | diff` end to end: the binary on the
//! standard library, on broken files, and on a real MRT table, with counts
//! checked against figures computed independently (bgpkit-parser's elems
//! for the table, a text scan for the number of test blocks).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bgpkit_parser::BgpkitParser;
use bgpkit_parser::models::ElemType;

fn rampartctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampartctl"))
        .args(args)
        .output()
        .expect("rampartctl runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn stdlib(name: &str) -> String {
    format!("{}/../policy/stdlib/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A scratch directory for this test process and `tag`.
fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rampart-policy-cli-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The 2002 RIS rrc05 table (115 521 TABLE_DUMP entries from 36 peers).
fn table() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/mrt/ripe-ncc-bgpdump/bview.20020722.2337.gz"
    ));
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("SKIP: real MRT data not found at {}", p.display());
        None
    }
}

/// (prefix length, peer AS, peer address) of every announced route, from
/// bgpkit-parser.
fn elems(path: &Path) -> Vec<(u8, u32, std::net::IpAddr)> {
    let reader = rampart_core::mrt::open_file(path).unwrap();
    BgpkitParser::from_reader(reader)
        .disable_warnings()
        .into_iter()
        .filter(|e| e.elem_type == ElemType::ANNOUNCE)
        .map(|e| {
            (
                e.prefix.prefix.prefix_len(),
                u32::from(e.peer_asn),
                e.peer_ip,
            )
        })
        .collect()
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "rampartctl failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// `rampartctl policy test --policy POL --filter f --mrt MRT ARGS...`.
fn policy_test(pol: &Path, mrt: &Path, args: &[&str]) -> Output {
    let (pol, mrt) = (pol.to_str().unwrap(), mrt.to_str().unwrap());
    let mut all = vec![
        "policy", "test", "--policy", pol, "--filter", "f", "--mrt", mrt,
    ];
    all.extend(args);
    rampartctl(&all)
}

fn u(v: &serde_json::Value, k: &str) -> u64 {
    v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}"))
}

#[test]
fn check_passes_the_standard_library_and_counts_its_tests() {
    for name in ["ixp-route-server.policy", "cloud-edge.policy"] {
        let file = stdlib(name);
        let tests = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("test \""))
            .count();
        assert!(tests > 10, "{name}: {tests}");
        let out = rampartctl(&["policy", "check", &file]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), format!("{tests} tests passed"));
    }
}

#[test]
fn check_fails_on_a_type_error_naming_line_and_column() {
    let dir = scratch("type");
    let file = dir.join("bad.policy");
    let src = "prefix-set s { 10.0.0.0/8; }\nfilter f {\n    if prefix == 64501 then reject;\n    accept;\n}\n";
    std::fs::write(&file, src).unwrap();
    let column = src.lines().nth(2).unwrap().find("64501").unwrap() + 1;
    let out = rampartctl(&["policy", "check", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains(&format!("bad.policy:3:{column}")), "{err}");
    assert!(err.contains("if prefix == 64501"), "the source line: {err}");
    assert!(
        text(&out.stdout).contains("1 error"),
        "{}",
        text(&out.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_fails_on_a_failing_test_block() {
    let dir = scratch("failing");
    let file = dir.join("t.policy");
    let src = "filter f { if prefix-length > 24 then reject \"long\"; accept; }\n\
test \"ok\" { filter f; route { prefix 192.0.2.0/25; from-peer 192.0.2.1 as 1; } expect reject \"long\"; }\n\
test \"wrong\" { filter f; route { prefix 192.0.2.0/24; from-peer 192.0.2.1 as 1; } expect reject; }\n";
    std::fs::write(&file, src).unwrap();
    let out = rampartctl(&["policy", "check", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert_eq!(text(&out.stdout).trim(), "1 of 2 tests failed, 1 passed");
    let err = text(&out.stderr);
    assert!(err.contains("test \"wrong\" failed"), "{err}");
    assert!(err.contains("t.policy:3:1"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_fails_on_a_missing_file() {
    let out = rampartctl(&["policy", "check", "/nonexistent/x.policy"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
}

/// A policy whose outcome per route is known from the prefix length alone.
const LENGTHS: &str = "filter f {\n\
    if prefix-length > 24 then reject \"longer than /24\";\n\
    if prefix-length < 16 then reject \"shorter than /16\";\n\
    if prefix-length == 24 then set local-pref 50, add community 65000:24;\n\
    accept;\n}\n";

#[test]
fn dry_run_counts_match_the_table() {
    let Some(mrt) = table() else { return };
    let elems = elems(&mrt);
    let dir = scratch("dryrun");
    let pol = dir.join("len.policy");
    std::fs::write(&pol, LENGTHS).unwrap();
    let rejected = dir.join("rejected.jsonl");
    let out = policy_test(
        &pol,
        &mrt,
        &["--rejected", rejected.to_str().unwrap(), "--json"],
    );
    let s = json(&out);
    let long = elems.iter().filter(|e| e.0 > 24).count() as u64;
    let short = elems.iter().filter(|e| e.0 < 16).count() as u64;
    let slash24 = elems.iter().filter(|e| e.0 == 24).count() as u64;
    assert_eq!(u(&s, "routes"), elems.len() as u64);
    assert_eq!(u(&s, "accepted") + u(&s, "rejected"), elems.len() as u64);
    assert_eq!(u(&s, "rejected"), long + short);
    let reasons = s["rejected_by_reason"].as_array().unwrap();
    let count_of = |name: &str| {
        reasons
            .iter()
            .find(|r| r["name"] == name)
            .map_or(0, |r| u(r, "count"))
    };
    assert_eq!(count_of("longer than /24"), long);
    assert_eq!(count_of("shorter than /16"), short);
    // Sorted by count, most frequent first.
    let counts: Vec<u64> = reasons.iter().map(|r| u(r, "count")).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    // /24 routes get both changes (unless the table already had them).
    assert!(slash24 > 1000);
    let kinds = s["changed_by_attribute"].as_array().unwrap();
    let kind = |name: &str| {
        kinds
            .iter()
            .find(|r| r["name"] == name)
            .map_or(0, |r| u(r, "count"))
    };
    assert_eq!(kind("local-pref"), slash24);
    assert_eq!(kind("communities"), slash24);
    assert_eq!(u(&s, "accepted_changed"), slash24);
    assert_eq!(kind("next-hop"), 0);
    // One JSON line per rejected route, with its reason.
    let lines = std::fs::read_to_string(&rejected).unwrap();
    let mut long_lines = 0u64;
    let mut n = 0u64;
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        n += 1;
        let len: u8 = v["prefix"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        if v["reason"] == "longer than /24" {
            assert!(len > 24, "{l}");
            long_lines += 1;
        } else {
            assert_eq!(v["reason"], "shorter than /16", "{l}");
            assert!(len < 16, "{l}");
        }
        assert!(v["peer"].is_string() && v["peer_as"].is_u64() && v["as_path"].is_string());
    }
    assert_eq!(n, long + short);
    assert_eq!(long_lines, long);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dry_run_of_one_peer() {
    let Some(mrt) = table() else { return };
    let elems = elems(&mrt);
    let dir = scratch("peer");
    let pol = dir.join("len.policy");
    std::fs::write(&pol, LENGTHS).unwrap();
    let (_, asn, addr) = elems[elems.len() / 2];
    for sel in [format!("AS{asn}"), addr.to_string()] {
        let out = policy_test(&pol, &mrt, &["--peer", &sel, "--json"]);
        let s = json(&out);
        let mine: Vec<_> = elems
            .iter()
            .filter(|e| {
                if sel.starts_with("AS") {
                    e.1 == asn
                } else {
                    e.2 == addr
                }
            })
            .collect();
        assert!(!mine.is_empty());
        assert_eq!(u(&s, "routes"), mine.len() as u64, "{sel}");
        assert_eq!(
            u(&s["read"], "other_peers"),
            (elems.len() - mine.len()) as u64,
            "{sel}"
        );
        let long = mine.iter().filter(|e| e.0 > 24 || e.0 < 16).count() as u64;
        assert_eq!(u(&s, "rejected"), long, "{sel}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dry_run_text_report_of_the_ixp_policy() {
    let Some(mrt) = table() else { return };
    let out = rampartctl(&[
        "policy",
        "test",
        "--policy",
        &stdlib("ixp-route-server.policy"),
        "--filter",
        "ixp-rs-import",
        "--mrt",
        mrt.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    let routes = elems(&mrt).len();
    assert!(t.contains(&format!("routes     {routes:>10}")), "{t}");
    assert!(t.contains("transit-free AS behind the peer"), "{t}");
    // An unknown filter is an error naming the filters there are.
    let out = rampartctl(&[
        "policy",
        "test",
        "--policy",
        &stdlib("ixp-route-server.policy"),
        "--filter",
        "nope",
        "--mrt",
        mrt.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("ixp-rs-import"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn diff_of_a_policy_with_itself_is_empty() {
    let Some(mrt) = table() else { return };
    let ixp = stdlib("ixp-route-server.policy");
    let out = rampartctl(&[
        "policy",
        "diff",
        "--old",
        &ixp,
        "--new",
        &ixp,
        "--filter",
        "ixp-rs-import",
        "--mrt",
        mrt.to_str().unwrap(),
        "--json",
    ]);
    let s = json(&out);
    assert_eq!(u(&s, "routes"), elems(&mrt).len() as u64);
    assert_eq!(u(&s, "changed"), 0);
    assert_eq!(s["transitions"].as_array().unwrap().len(), 0);
    assert_eq!(u(&s, "old_accepted"), u(&s, "new_accepted"));
}

#[test]
fn diff_reports_exactly_the_routes_a_new_rule_rejects() {
    let Some(mrt) = table() else { return };
    let elems = elems(&mrt);
    let dir = scratch("diff");
    let ixp = std::fs::read_to_string(stdlib("ixp-route-server.policy")).unwrap();
    let anchor = "filter ixp-rs-import {\n";
    assert!(ixp.contains(anchor));
    let new = ixp.replacen(
        anchor,
        &format!("{anchor}    if prefix-length == 23 then reject \"no /23\";\n"),
        1,
    );
    let new_file = dir.join("new.policy");
    std::fs::write(&new_file, new).unwrap();
    let out = rampartctl(&[
        "policy",
        "diff",
        "--old",
        &stdlib("ixp-route-server.policy"),
        "--new",
        new_file.to_str().unwrap(),
        "--filter",
        "ixp-rs-import",
        "--mrt",
        mrt.to_str().unwrap(),
        "--json",
        "--examples",
        "2",
    ]);
    let s = json(&out);
    let slash23 = elems.iter().filter(|e| e.0 == 23).count() as u64;
    assert!(slash23 > 1000);
    assert_eq!(u(&s, "changed"), slash23);
    let ts = s["transitions"].as_array().unwrap();
    assert!(
        ts.len() > 1,
        "routes came from several old outcomes: {ts:?}"
    );
    let mut sum = 0;
    for t in ts {
        assert_eq!(t["to"], "reject: no /23", "{t}");
        assert_ne!(t["from"], t["to"]);
        let ex = t["examples"].as_array().unwrap();
        assert!(!ex.is_empty() && ex.len() <= 2);
        for e in ex {
            assert!(e["prefix"].as_str().unwrap().ends_with("/23"), "{e}");
        }
        sum += u(t, "count");
    }
    assert_eq!(sum, slash23);
    // The old accepted count drops by the /23 routes it accepted.
    let accepted_23 = ts
        .iter()
        .filter(|t| t["from"].as_str().unwrap().starts_with("accept"))
        .map(|t| u(t, "count"))
        .sum::<u64>();
    assert_eq!(u(&s, "old_accepted") - u(&s, "new_accepted"), accepted_23);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// RFC 6811 §2 by its definition, over every VRP (prefix, max length, AS).
fn rov(
    vrps: &[(rampart_core::nlri::Prefix, u8, u32)],
    prefix: &rampart_core::nlri::Prefix,
    origin: Option<u32>,
) -> &'static str {
    let covering: Vec<_> = vrps.iter().filter(|v| v.0.contains(prefix)).collect();
    if covering.is_empty() {
        "not-found"
    } else if covering
        .iter()
        .any(|v| Some(v.2) == origin && prefix.len() <= v.1)
    {
        "valid"
    } else {
        "invalid"
    }
}

#[test]
fn dry_run_validates_against_a_vrp_file() {
    let Some(mrt) = table() else { return };
    // Every announced route with its origin AS (last AS of a trailing
    // AS_SEQUENCE), from bgpkit-parser.
    let reader = rampart_core::mrt::open_file(&mrt).unwrap();
    let routes: Vec<(rampart_core::nlri::Prefix, Option<u32>)> = BgpkitParser::from_reader(reader)
        .disable_warnings()
        .into_iter()
        .filter(|e| e.elem_type == ElemType::ANNOUNCE)
        .map(|e| {
            let e = rampart_tests::elem::from_bgpkit(&e);
            let origin = e
                .as_path
                .last()
                .filter(|s| s.0 == 2)
                .and_then(|s| s.1.last().copied());
            (e.prefix.parse().unwrap(), origin)
        })
        .collect();
    // VRPs for every 300th prefix: alternately for its origin AS (valid)
    // and for AS 64496, nobody's origin (invalid); each also covers the
    // table's more-specifics of it.
    let mut prefixes: Vec<_> = routes.iter().map(|r| r.0).collect();
    prefixes.sort_unstable();
    prefixes.dedup();
    let vrps: Vec<(rampart_core::nlri::Prefix, u8, u32)> = prefixes
        .iter()
        .step_by(300)
        .enumerate()
        .filter_map(|(i, p)| {
            let asn = if i % 2 == 0 {
                routes.iter().find(|r| r.0 == *p)?.1?
            } else {
                64496
            };
            Some((*p, p.len(), asn))
        })
        .collect();
    let mut want = std::collections::HashMap::new();
    for (p, origin) in &routes {
        *want.entry(rov(&vrps, p, *origin)).or_insert(0u64) += 1;
    }
    assert!(
        want.get("valid") > Some(&100) && want.get("invalid") > Some(&100),
        "{want:?}"
    );

    let dir = scratch("vrps");
    let json_vrps: Vec<serde_json::Value> = vrps
        .iter()
        .map(|(p, m, a)| serde_json::json!({"prefix": p.to_string(), "maxLength": m, "asn": format!("AS{a}")}))
        .collect();
    let vrp_file = dir.join("vrps.json");
    std::fs::write(
        &vrp_file,
        serde_json::json!({ "roas": json_vrps }).to_string(),
    )
    .unwrap();
    let pol = dir.join("rov.policy");
    std::fs::write(
        &pol,
        "filter f { if rpki == invalid then reject \"invalid\"; if rpki == not-found then reject \"not-found\"; accept; }\n",
    )
    .unwrap();
    let run = |vrps: Option<&Path>| {
        let mut args = vec!["--json"];
        if let Some(v) = vrps {
            args.extend(["--vrps", v.to_str().unwrap()]);
        }
        json(&policy_test(&pol, &mrt, &args))
    };
    let s = run(Some(&vrp_file));
    let reason = |s: &serde_json::Value, name: &str| {
        s["rejected_by_reason"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["name"] == name))
            .map_or(0, |r| u(r, "count"))
    };
    assert_eq!(u(&s, "accepted"), want["valid"], "{s}");
    assert_eq!(reason(&s, "invalid"), want["invalid"], "{s}");
    assert_eq!(reason(&s, "not-found"), want["not-found"], "{s}");
    // Without VRPs the state is unknown: no `rpki ==` condition holds.
    let s = run(None);
    assert_eq!(u(&s, "accepted"), routes.len() as u64, "{s}");
    // A broken VRP file is an error naming it.
    std::fs::write(
        &vrp_file,
        r#"{"roas": [{"prefix": "10.0.0.0/8", "asn": "x"}]}"#,
    )
    .unwrap();
    let out = policy_test(&pol, &mrt, &["--vrps", vrp_file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("vrps.json") && err.contains("roas[0]: bad asn"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
