use rampart_core::attr::{AsPath, Community, PathAttributes, SegmentType};

use super::*;

#[test]
fn peer_selector_parses_addresses_and_asns() {
    assert_eq!(
        "192.0.2.1".parse::<PeerSelector>(),
        Ok(PeerSelector::Address("192.0.2.1".parse().unwrap()))
    );
    assert_eq!(
        "2001:db8::1".parse::<PeerSelector>(),
        Ok(PeerSelector::Address("2001:db8::1".parse().unwrap()))
    );
    assert_eq!(
        "64501".parse::<PeerSelector>(),
        Ok(PeerSelector::Asn(64501))
    );
    assert_eq!(
        "AS3333".parse::<PeerSelector>(),
        Ok(PeerSelector::Asn(3333))
    );
    assert!("AS".parse::<PeerSelector>().is_err());
    assert!("4294967296".parse::<PeerSelector>().is_err());
}

#[test]
fn as_path_text_marks_sets() {
    let mut p = AsPath::from_sequence([64501, 3333]);
    p.push_segment(SegmentType::AsSet, &[1, 2]);
    assert_eq!(as_path_text(&p), "64501 3333 {1 2}");
    assert_eq!(as_path_text(&AsPath::default()), "");
}

#[test]
fn changed_kinds_names_each_difference() {
    let a = PathAttributes::default();
    let mut b = a.clone();
    assert_eq!(changed_kinds(&a, &b), 0);
    b.local_pref = Some(0);
    b.communities.push(Community::new(65535, 0));
    let names: Vec<&str> = kind_names(changed_kinds(&a, &b)).collect();
    assert_eq!(names, ["local-pref", "communities"]);
}

#[test]
fn check_reports_load_errors_and_test_counts() {
    let dir = std::env::temp_dir().join(format!("rampart-policy-tool-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.policy");
    std::fs::write(
        &good,
        "filter f { if prefix-length > 24 then reject \"long\"; accept; }\n\
         test \"t\" { filter f; route { prefix 192.0.2.0/25; from-peer 192.0.2.1 as 1; } expect reject \"long\"; }\n",
    )
    .unwrap();
    let out = check(std::slice::from_ref(&good));
    assert!(out.ok, "{}", out.diagnostics);
    assert_eq!((out.tests, out.passed), (1, 1));
    assert_eq!(out.summary, "1 test passed");
    let bad = dir.join("bad.policy");
    std::fs::write(&bad, "filter f {\n  if prefix == 1 then accept;\n}\n").unwrap();
    let out = check(&[bad]);
    assert!(!out.ok);
    assert!(
        out.diagnostics.contains("bad.policy:2:"),
        "{}",
        out.diagnostics
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
