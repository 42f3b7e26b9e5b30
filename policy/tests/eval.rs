//! Evaluator: one test per match and per action, through the public API.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rampart_core::attr::{
    AsPath, Community, LargeCommunity, NextHop, Origin, PathAttributes, SegmentType,
};
use rampart_core::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};
use rampart_policy::{Policy, RouteContext, RpkiState, Verdict, load_str};

const SETS: &str = "
prefix-set bogons { 10.0.0.0/8 or-longer; 192.168.0.0/16{20,24}; 2001:db8::/32 le 48; }
as-set tf { 174 3356 }
community-set bh { 65535:666 65000:* }
large-community-set lc { 65000:1:* }
";

fn v4(s: &str) -> Prefix {
    let (a, l) = s.split_once('/').unwrap();
    Prefix::V4(Ipv4Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap())
}

fn v6(s: &str) -> Prefix {
    let (a, l) = s.split_once('/').unwrap();
    Prefix::V6(Ipv6Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap())
}

fn attrs() -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence([64501, 64510]),
        next_hop: Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))),
        med: Some(10),
        local_pref: Some(100),
        communities: vec![Community::new(65535, 0), Community::new(64501, 7)].into(),
        large_communities: vec![LargeCommunity {
            global: 65000,
            local1: 1,
            local2: 64502,
        }]
        .into(),
        ..PathAttributes::default()
    }
}

fn ctx(prefix: Prefix) -> RouteContext<'static> {
    let mut c = RouteContext::new(prefix, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 64501);
    c.peer_role = "rs-client";
    c.peer_group = "tenants";
    c
}

fn policy(body: &str) -> Policy {
    let src = format!("{SETS}\nfilter f {{ {body} }}");
    load_str(&[("t.policy", &src)]).unwrap_or_else(|d| panic!("{}", d.render()))
}

/// Does `cond` hold for the route?
fn holds(cond: &str, prefix: Prefix, a: &PathAttributes) -> bool {
    let p = policy(&format!("if {cond} then accept; reject \"no\";"));
    let mut a = a.clone();
    match p.evaluate(p.filter_id("f").unwrap(), &ctx(prefix), &mut a) {
        Verdict::Accept => true,
        Verdict::Reject(r) => {
            assert_eq!(&*r, "no");
            false
        }
    }
}

/// Runs `body` and returns the verdict and the attributes after it.
fn run(body: &str, a: &PathAttributes) -> (Verdict, PathAttributes) {
    let p = policy(body);
    let mut a = a.clone();
    let v = p.evaluate(
        p.filter_id("f").unwrap(),
        &ctx(v4("203.0.113.0/24")),
        &mut a,
    );
    (v, a)
}

#[test]
fn prefix_matches() {
    let a = attrs();
    assert!(holds("prefix in bogons", v4("10.1.0.0/16"), &a));
    assert!(!holds("prefix in bogons", v4("11.0.0.0/8"), &a));
    assert!(holds("prefix in bogons", v4("192.168.16.0/20"), &a));
    assert!(!holds("prefix in bogons", v4("192.168.0.0/16"), &a));
    assert!(!holds("prefix in bogons", v4("192.168.1.0/25"), &a));
    assert!(holds("prefix in bogons", v6("2001:db8:1::/48"), &a));
    assert!(!holds("prefix in bogons", v6("2001:db8:1::/49"), &a));
    assert!(holds("prefix == 10.0.0.0/8", v4("10.0.0.0/8"), &a));
    assert!(!holds("prefix == 10.0.0.0/8", v4("10.0.0.0/9"), &a));
    assert!(holds("prefix-length >= 24", v4("10.0.0.0/24"), &a));
    assert!(!holds("prefix-length >= 24", v4("10.0.0.0/23"), &a));
    assert!(holds("family == ipv6", v6("2001:db8::/32"), &a));
    assert!(!holds("family == ipv6", v4("10.0.0.0/8"), &a));
    assert!(holds("host-route", v4("192.0.2.1/32"), &a));
    assert!(holds("host-route", v6("2001:db8::1/128"), &a));
    assert!(!holds("host-route", v4("192.0.2.0/31"), &a));
    assert!(holds("not host-route", v4("192.0.2.0/31"), &a));
}

#[test]
fn as_path_matches() {
    let a = attrs();
    let p = v4("203.0.113.0/24");
    assert!(holds("first-as == 64501", p, &a));
    assert!(holds("first-as == peer-as", p, &a));
    assert!(!holds("first-as == 64510", p, &a));
    assert!(holds("origin-as == 64510", p, &a));
    assert!(holds("as-path-length == 2", p, &a));
    assert!(!holds("as-path-length > 2", p, &a));
    assert!(holds("as-path has 64510", p, &a));
    assert!(!holds("as-path has 174", p, &a));
    assert!(!holds("as-path has any tf", p, &a));
    assert!(holds("origin-as >= 64500 and origin-as <= 64511", p, &a));
    let mut t = a.clone();
    t.as_path = AsPath::from_sequence([64501, 3356, 64510]);
    assert!(holds("as-path has any tf", p, &t));
    assert!(!holds("first-as in tf", p, &t));
    t.as_path = AsPath::from_sequence([174]);
    assert!(holds("first-as in tf", p, &t));
    // An AS_SET at the end: no origin AS, so comparisons on it are false.
    t.as_path.push_segment(SegmentType::AsSet, &[1, 2]);
    assert!(!holds("origin-as == 174", p, &t));
    assert!(!holds("origin-as != 174", p, &t));
}

#[test]
fn attribute_matches() {
    let a = attrs();
    let p = v4("203.0.113.0/24");
    assert!(holds("next-hop == peer-address", p, &a));
    assert!(holds("next-hop == 192.0.2.1", p, &a));
    assert!(holds("next-hop != 192.0.2.2", p, &a));
    let mut b = a.clone();
    b.next_hop = Some(NextHop::V6 {
        global: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        link_local: None,
    });
    assert!(!holds("next-hop == peer-address", p, &b));
    assert!(holds("next-hop == 2001:db8::1", p, &b));
    assert!(holds("med == 10", p, &a));
    assert!(holds("local-pref < 200", p, &a));
    assert!(holds("origin == igp", p, &a));
    assert!(!holds("origin == incomplete", p, &a));
    b.med = None;
    assert!(!holds("med == 0", p, &b));
    assert!(!holds("med != 0", p, &b));
    assert!(holds("not med == 0", p, &b));
    assert!(holds(
        "peer-as == 64501 and peer-address == 192.0.2.1",
        p,
        &a
    ));
    assert!(holds("peer-role == \"rs-client\"", p, &a));
    assert!(!holds("peer-role != \"rs-client\"", p, &a));
}

#[test]
fn community_matches() {
    let a = attrs();
    let p = v4("203.0.113.0/24");
    assert!(holds("communities has 65535:0", p, &a));
    assert!(holds("communities has 64501:*", p, &a));
    assert!(!holds("communities has 65535:666", p, &a));
    assert!(!holds("communities has any bh", p, &a));
    assert!(holds("community-count == 2", p, &a));
    let mut b = a.clone();
    b.communities.push(Community::new(65000, 12));
    assert!(holds("communities has any bh", p, &b));
    assert!(holds("large-communities has 65000:1:64502", p, &a));
    assert!(holds("large-communities has *:*:64502", p, &a));
    assert!(!holds("large-communities has 65000:2:*", p, &a));
    assert!(holds("large-communities has any lc", p, &a));
    assert!(holds("large-community-count == 1", p, &a));
}

#[test]
fn rpki_and_group_matches() {
    let p = policy(
        "if rpki == invalid then reject \"rpki\"; if peer-group == \"tenants\" then accept; reject;",
    );
    let f = p.filter_id("f").unwrap();
    let mut c = ctx(v4("203.0.113.0/24"));
    assert_eq!(
        p.evaluate(f, &c, &mut attrs()),
        Verdict::Accept,
        "unknown state is not invalid"
    );
    c.rpki = RpkiState::Invalid;
    assert_eq!(
        p.evaluate(f, &c, &mut attrs()),
        Verdict::Reject("rpki".into())
    );
    c.rpki = RpkiState::Valid;
    assert_eq!(p.evaluate(f, &c, &mut attrs()), Verdict::Accept);
    c.peer_group = "core";
    assert_eq!(
        p.evaluate(f, &c, &mut attrs()),
        Verdict::Reject("rejected by filter f".into())
    );
    let q = policy("if rpki != valid then reject; accept;");
    c.rpki = RpkiState::Unknown;
    let f = q.filter_id("f").unwrap();
    assert_eq!(
        q.evaluate(f, &c, &mut attrs()),
        Verdict::Accept,
        "unknown: every rpki test is false"
    );
    c.rpki = RpkiState::NotFound;
    assert!(matches!(
        q.evaluate(f, &c, &mut attrs()),
        Verdict::Reject(_)
    ));
}

#[test]
fn next_hop_self() {
    let p = policy("set next-hop self; accept;");
    let f = p.filter_id("f").unwrap();
    let mut c = ctx(v4("203.0.113.0/24"));
    let mut a = attrs();
    p.evaluate(f, &c, &mut a);
    assert_eq!(a.next_hop, attrs().next_hop, "no local address: unchanged");
    c.local_address = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254)));
    p.evaluate(f, &c, &mut a);
    assert_eq!(a.next_hop, Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 254))));
}

#[test]
fn boolean_structure() {
    let a = attrs();
    let p = v4("203.0.113.0/24");
    assert!(holds("med == 1 or med == 10", p, &a));
    assert!(!holds("med == 1 and med == 10", p, &a));
    assert!(
        holds("med == 1 and med == 2 or med == 10", p, &a),
        "and binds tighter"
    );
    assert!(!holds("med == 1 and (med == 2 or med == 10)", p, &a));
}

#[test]
fn accept_reject_and_default() {
    let a = attrs();
    assert_eq!(run("accept;", &a).0, Verdict::Accept);
    assert_eq!(run("reject \"r\";", &a).0, Verdict::Reject("r".into()));
    assert_eq!(
        run("reject;", &a).0,
        Verdict::Reject("rejected by filter f".into())
    );
    assert_eq!(
        run("set med 1;", &a).0,
        Verdict::Reject("end of filter f".into())
    );
    assert_eq!(run("accept; reject;", &a).0, Verdict::Accept);
}

#[test]
fn set_actions() {
    let (v, b) = run(
        "set local-pref 0; set med 7; set origin incomplete; set next-hop 198.51.100.1; accept;",
        &attrs(),
    );
    assert_eq!(v, Verdict::Accept);
    assert_eq!(b.local_pref, Some(0));
    assert_eq!(b.med, Some(7));
    assert_eq!(b.origin, Some(Origin::Incomplete));
    assert_eq!(
        b.next_hop,
        Some(NextHop::V4(Ipv4Addr::new(198, 51, 100, 1)))
    );
    let mut a = attrs();
    a.next_hop = None;
    let (_, b) = run("set next-hop peer-address; accept;", &a);
    assert_eq!(b.next_hop, Some(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1))));
    let (_, b) = run("set next-hop 2001:db8::9; accept;", &a);
    assert!(matches!(
        b.next_hop,
        Some(NextHop::V6 {
            link_local: None,
            ..
        })
    ));
}

#[test]
fn community_actions() {
    let (_, b) = run(
        "add community 65535:666; add community 65535:0; remove community 64501:*; accept;",
        &attrs(),
    );
    assert_eq!(
        b.communities,
        vec![Community::new(65535, 0), Community::new(65535, 666)]
    );
    let (_, b) = run(
        "add community bh; remove community 65535:0; accept;",
        &attrs(),
    );
    // Sets add their exact members only (wildcards cannot be added).
    assert_eq!(
        b.communities,
        vec![Community::new(64501, 7), Community::new(65535, 666)]
    );
    let mut a = attrs();
    a.communities.push(Community::new(65000, 5));
    let (_, b) = run("remove community bh; accept;", &a);
    assert_eq!(
        b.communities,
        vec![Community::new(65535, 0), Community::new(64501, 7)]
    );
    let (_, b) = run(
        "add large-community 64501:2:3; remove large-community lc; accept;",
        &attrs(),
    );
    assert_eq!(
        b.large_communities,
        vec![LargeCommunity {
            global: 64501,
            local1: 2,
            local2: 3
        }]
    );
    let (_, b) = run("remove large-community *:*:*; accept;", &attrs());
    assert!(b.large_communities.is_empty());
}

#[test]
fn prepend_actions() {
    let (_, b) = run("prepend peer-as; accept;", &attrs());
    assert_eq!(
        b.as_path.iter().collect::<Vec<_>>(),
        vec![64501, 64501, 64510]
    );
    let (_, b) = run("prepend 65000 times 3; accept;", &attrs());
    assert_eq!(
        b.as_path.iter().collect::<Vec<_>>(),
        vec![65000, 65000, 65000, 64501, 64510]
    );
    let (_, b) = run("prepend first-as times 2; accept;", &attrs());
    assert_eq!(b.as_path.path_len(), 4);
}

#[test]
fn call_semantics() {
    let src = format!(
        "{SETS}
filter sub-accept {{ set med 99; accept; }}
filter sub-reject {{ if med == 99 then reject \"sub says no\"; accept; }}
filter sub-fall {{ set local-pref 5; }}
filter f {{ call sub-accept; set local-pref 1; accept; }}
filter g {{ call sub-accept; call sub-reject; accept; }}
filter h {{ call sub-fall; accept; }}"
    );
    let p = load_str(&[("t.policy", &src)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let c = ctx(v4("203.0.113.0/24"));
    let mut a = attrs();
    assert_eq!(
        p.evaluate(p.filter_id("f").unwrap(), &c, &mut a),
        Verdict::Accept
    );
    assert_eq!((a.med, a.local_pref), (Some(99), Some(1)));
    let mut a = attrs();
    assert_eq!(
        p.evaluate(p.filter_id("g").unwrap(), &c, &mut a),
        Verdict::Reject("sub says no".into())
    );
    let mut a = attrs();
    assert_eq!(
        p.evaluate(p.filter_id("h").unwrap(), &c, &mut a),
        Verdict::Reject("end of filter sub-fall".into())
    );
    assert!(p.filter_id("bogons").is_none(), "a set is not a filter");
    assert_eq!(p.filter_names().count(), 6);
}

#[test]
fn if_else_blocks_and_rules() {
    let body = "rule \"a\" { if med == 10 { set local-pref 7; } else { set local-pref 8; } }
                rule \"b\" { if local-pref == 7 then add community 1:1, accept; }
                reject \"fell\";";
    let (v, b) = run(body, &attrs());
    assert_eq!(v, Verdict::Accept);
    assert_eq!(b.local_pref, Some(7));
    assert!(b.communities.contains(&Community::new(1, 1)));
    let mut a = attrs();
    a.med = Some(11);
    let (v, b) = run(body, &a);
    assert_eq!(v, Verdict::Reject("fell".into()));
    assert_eq!(b.local_pref, Some(8));
}

#[test]
fn external_sets_and_peer_prefixes() {
    let src = "prefix-set irr external;\nas-set cone external;\nprefix-set fixed { 10.0.0.0/8; }\n\
               filter f { if prefix in peer-prefixes then accept; if prefix in irr and origin-as in cone then accept; reject; }";
    let mut p = load_str(&[("t.policy", src)]).unwrap_or_else(|d| panic!("{}", d.render()));
    let f = p.filter_id("f").unwrap();
    let c = ctx(v4("203.0.113.0/24"));
    assert!(
        matches!(p.evaluate(f, &c, &mut attrs()), Verdict::Reject(_)),
        "empty until supplied"
    );
    let mut irr = rampart_policy::PrefixSet::new();
    irr.add(&v4("203.0.112.0/23"), 23, 24).unwrap();
    assert!(irr.add(&v4("203.0.112.0/23"), 22, 24).is_err());
    p.replace_prefix_set("irr", irr).unwrap();
    assert!(
        matches!(p.evaluate(f, &c, &mut attrs()), Verdict::Reject(_)),
        "origin not in cone"
    );
    p.replace_as_set("cone", vec![64510]).unwrap();
    assert_eq!(p.evaluate(f, &c, &mut attrs()), Verdict::Accept);
    assert!(
        p.replace_prefix_set("fixed", rampart_policy::PrefixSet::new())
            .is_err(),
        "not external"
    );
    assert!(p.replace_as_set("irr", vec![]).is_err(), "wrong kind");
    // Per-peer prefixes come with the route context.
    let mut allowed = rampart_policy::PrefixSet::new();
    allowed.add(&v4("198.51.100.0/24"), 24, 32).unwrap();
    let mut c = ctx(v4("198.51.100.7/32"));
    c.peer_prefixes = Some(&allowed);
    assert_eq!(p.evaluate(f, &c, &mut attrs()), Verdict::Accept);
    c.peer_prefixes = None;
    assert!(matches!(
        p.evaluate(f, &c, &mut attrs()),
        Verdict::Reject(_)
    ));
}

#[test]
fn as_path_patterns() {
    let a = attrs(); // as-path 64501 64510
    let p = v4("203.0.113.0/24");
    assert!(holds("as-path matches \"^64501 .*$\"", p, &a));
    assert!(holds("as-path matches \"64510$\"", p, &a));
    assert!(!holds("as-path matches \"^64510\"", p, &a));
    assert!(holds("as-path matches \"^[64500-64511]+$\"", p, &a));
    assert!(!holds("as-path matches \"[^64501 64510]\"", p, &a));
}

#[test]
fn communities_with_peer_as() {
    // ctx(): peer AS 64501.
    let mut a = attrs();
    a.communities = vec![Community::new(0, 64501)].into();
    let p = v4("203.0.113.0/24");
    assert!(holds("communities has 0:peer-as", p, &a));
    assert!(holds("communities has *:peer-as", p, &a));
    assert!(!holds("communities has 1:peer-as", p, &a));
    assert!(holds("large-communities has 65000:1:peer-as", p, &{
        let mut b = attrs();
        b.large_communities[0].local2 = 64501;
        b
    }));
    let (_, b) = run(
        "add community 65000:peer-as; remove community 0:peer-as; add large-community peer-as:7:peer-as; accept;",
        &a,
    );
    assert_eq!(b.communities, vec![Community::new(65000, 64501)]);
    assert!(b.large_communities.contains(&LargeCommunity {
        global: 64501,
        local1: 7,
        local2: 64501
    }));
    // A 4-octet peer AS does not fit a standard community: no match, nothing added.
    let pol =
        policy("if communities has 0:peer-as then reject \"x\"; add community 1:peer-as; accept;");
    let mut c = ctx(p);
    c.peer_as = 4_200_000_001;
    let mut b = a.clone();
    assert_eq!(
        pol.evaluate(pol.filter_id("f").unwrap(), &c, &mut b),
        Verdict::Accept
    );
    assert_eq!(b.communities, a.communities);
}
