//! Runs the in-language `test` blocks of tests/scripts/*.policy.

use std::path::PathBuf;

#[test]
fn policy_scripts_pass() {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scripts"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scripts exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "policy"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut total = 0;
    for f in &files {
        let report = match rampart_policy::check(std::slice::from_ref(f)) {
            Ok(r) => r,
            Err(d) => panic!("{} does not load:\n{}", f.display(), d.render()),
        };
        if let Some(d) = &report.failures {
            panic!(
                "{}: {} test(s) failed:\n{}",
                f.display(),
                d.items.len(),
                d.render()
            );
        }
        total += report.tests;
    }
    assert!(
        total >= 9,
        "expected the scripts to hold at least 9 tests, found {total}"
    );
}

#[test]
fn failing_test_block_is_reported_with_its_location() {
    let src = r#"filter f { accept; }
test "wrong" {
    filter f;
    route { prefix 192.0.2.0/24; from-peer 192.0.2.1 as 1; }
    expect reject "nope";
}
"#;
    let p = rampart_policy::load_str(&[("t.policy", src)]).expect("loads");
    let r = p.run_tests();
    assert_eq!((r.tests, r.passed), (1, 0));
    let d = r.failures.expect("one failure");
    let f = &d.items[0];
    assert_eq!((f.line, f.column), (2, 1));
    assert!(f.message.contains("expected reject"), "{}", f.message);
    assert!(d.render().contains("t.policy:2:1"), "{}", d.render());
}

#[test]
fn stdlib_ixp_route_server_tests_pass() {
    let f = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/stdlib/ixp-route-server.policy"
    );
    let report =
        rampart_policy::check(&[f]).unwrap_or_else(|d| panic!("does not load:\n{}", d.render()));
    if let Some(d) = &report.failures {
        panic!("{} test(s) failed:\n{}", d.items.len(), d.render());
    }
    assert!(report.tests >= 17, "{} tests", report.tests);
}

#[test]
fn stdlib_cloud_edge_tests_pass() {
    let f = concat!(env!("CARGO_MANIFEST_DIR"), "/stdlib/cloud-edge.policy");
    let report =
        rampart_policy::check(&[f]).unwrap_or_else(|d| panic!("does not load:\n{}", d.render()));
    if let Some(d) = &report.failures {
        panic!("{} test(s) failed:\n{}", d.items.len(), d.render());
    }
    assert!(report.tests >= 20, "{} tests", report.tests);
}

/// `expect reject "r" { ... }` checks the attributes the filter left, and
/// `peer-prefixes` in a test route fills `RouteContext::peer_prefixes`.
#[test]
fn reject_attributes_and_peer_prefixes_in_tests() {
    let src = r#"filter f {
    if prefix in peer-prefixes then accept;
    add large-community 65000:1101:9;
    reject "not registered";
}
test "tag checked" {
    filter f;
    route { prefix 192.0.2.0/25; peer-prefixes 192.0.2.0/24; from-peer 192.0.2.1 as 1; }
    expect reject "not registered" { large-communities 65000:1101:9; }
}
test "wrong tag" {
    filter f;
    route { prefix 192.0.2.0/25; from-peer 192.0.2.1 as 1; }
    expect reject "not registered" { large-communities 65000:1101:1; }
}
test "or-longer" {
    filter f;
    route { prefix 192.0.2.0/25; peer-prefixes 192.0.2.0/24 or-longer; from-peer 192.0.2.1 as 1; }
    expect accept;
}
"#;
    let p =
        rampart_policy::load_str(&[("t.policy", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let r = p.run_tests();
    assert_eq!((r.tests, r.passed), (3, 2));
    let d = r.failures.expect("failures");
    let lines: Vec<u32> = d.items.iter().map(|i| i.line).collect();
    assert_eq!(lines, [11], "{}", d.render());
    assert!(
        d.items[0].message.contains("large-communities"),
        "{}",
        d.items[0].message
    );
}

/// `reject-tag "reason" G:L1:L2;` maps a reject reason to its tag; the
/// evaluator leaves the route alone and tests see the route as kept.
#[test]
fn reject_tags() {
    let src = r#"reject-tag "long" 65000:1101:1;
filter f { if prefix-length > 24 then reject "long"; reject "other"; }
test "kept with its tag" {
    filter f;
    route { prefix 192.0.2.0/25; large-communities 1:2:3; from-peer 192.0.2.1 as 1; }
    expect reject "long" { large-communities 1:2:3 65000:1101:1; }
}
test "no tag for an untagged reason" {
    filter f;
    route { prefix 192.0.2.0/24; from-peer 192.0.2.1 as 1; }
    expect reject "other" { large-communities; }
}
"#;
    let p =
        rampart_policy::load_str(&[("t.policy", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let r = p.run_tests();
    assert!(
        r.ok(),
        "{}",
        r.failures.map(|d| d.render()).unwrap_or_default()
    );
    assert_eq!(r.tests, 2);
    let tag = p.reject_tag("long").expect("tagged");
    assert_eq!((tag.global, tag.local1, tag.local2), (65000, 1101, 1));
    assert_eq!(p.reject_tag("other"), None);
    // The evaluator does not add the tag.
    let f = p.filter_id("f").unwrap();
    let prefix: rampart_core::nlri::Prefix = "192.0.2.0/25".parse().unwrap();
    let ctx = rampart_policy::RouteContext::new(prefix, "192.0.2.1".parse().unwrap(), 1);
    let mut attrs = rampart_core::attr::PathAttributes::default();
    assert!(matches!(
        p.evaluate(f, &ctx, &mut attrs),
        rampart_policy::Verdict::Reject(_)
    ));
    assert!(attrs.large_communities.is_empty());
    assert!(!p.modifies(f));

    let twice = "reject-tag \"a\" 1:2:3;\nreject-tag \"a\" 1:2:4;\nfilter f { accept; }";
    let e = rampart_policy::load_str(&[("t.policy", twice)]).unwrap_err();
    assert_eq!(
        (e.items[0].line, e.items[0].column),
        (2, 12),
        "{}",
        e.render()
    );
    let wild = "reject-tag \"a\" 1:*:3;\nfilter f { accept; }";
    let e = rampart_policy::load_str(&[("t.policy", wild)]).unwrap_err();
    assert!(e.items[0].message.contains("wildcards"), "{}", e.render());
}

#[test]
fn docs_first_example_loads_and_its_tests_pass() {
    let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/POLICY.md"));
    let start = doc.find("## A first example").expect("section");
    let block = doc[start..].split("```").nth(1).expect("code block");
    // The include names a file that exists only in the example.
    let src: String = block
        .lines()
        .filter(|l| !l.starts_with("include"))
        .collect::<Vec<_>>()
        .join("\n");
    let policy = rampart_policy::load_str(&[("POLICY.md", &src)])
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let report = policy.run_tests();
    assert_eq!(report.tests, 2);
    assert!(
        report.ok(),
        "{}",
        report.failures.map(|d| d.render()).unwrap_or_default()
    );
}
