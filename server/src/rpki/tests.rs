use rampart_core::attr::{AsPath, Segment, SegmentType};

use super::*;

fn p(s: &str) -> Prefix {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

fn vrp(prefix: &str, max_len: u8, asn: u32) -> Vrp {
    Vrp {
        prefix: p(prefix),
        max_len,
        asn,
    }
}

/// RFC 6811 §2 by its definition: every VRP looked at, no index.
fn by_definition(vrps: &[Vrp], prefix: &Prefix, origin: Option<u32>) -> RpkiState {
    let covering: Vec<&Vrp> = vrps.iter().filter(|v| v.prefix.contains(prefix)).collect();
    if covering.is_empty() {
        RpkiState::NotFound
    } else if covering
        .iter()
        .any(|v| v.asn != 0 && Some(v.asn) == origin && prefix.len() <= v.max_len)
    {
        RpkiState::Valid
    } else {
        RpkiState::Invalid
    }
}

#[test]
fn rfc6811_states() {
    let vrps = [
        vrp("203.0.113.0/24", 24, 64501),
        vrp("198.51.100.0/22", 24, 64502),
        vrp("198.51.100.0/24", 24, 0),
        vrp("2001:db8::/32", 48, 64503),
    ];
    let v = Vrps::new(&vrps);
    assert_eq!((v.ipv4(), v.ipv6()), (3, 1));
    let cases = [
        ("203.0.113.0/24", Some(64501), RpkiState::Valid),
        ("203.0.113.0/24", Some(64999), RpkiState::Invalid),
        // Longer than the maximum length: invalid even from the right AS.
        ("203.0.113.128/25", Some(64501), RpkiState::Invalid),
        ("192.0.2.0/24", Some(64501), RpkiState::NotFound),
        // Covered by a shorter VRP, within its maximum length.
        ("198.51.101.0/24", Some(64502), RpkiState::Valid),
        // Two VRPs cover it; one matches (AS 0 matches nothing).
        ("198.51.100.0/24", Some(64502), RpkiState::Valid),
        ("198.51.100.0/24", Some(64999), RpkiState::Invalid),
        ("198.51.100.0/24", Some(0), RpkiState::Invalid),
        // An AS_SET origin matches no VRP.
        ("203.0.113.0/24", None, RpkiState::Invalid),
        ("2001:db8:1::/48", Some(64503), RpkiState::Valid),
        ("2001:db8:1::/49", Some(64503), RpkiState::Invalid),
        ("2001:db9::/32", Some(64503), RpkiState::NotFound),
        // A shorter prefix than the VRP's is not covered by it.
        ("203.0.112.0/23", Some(64501), RpkiState::NotFound),
    ];
    for (prefix, origin, want) in cases {
        let prefix = p(prefix);
        assert_eq!(
            v.validate(&prefix, origin),
            want,
            "{prefix} from {origin:?}"
        );
        assert_eq!(by_definition(&vrps, &prefix, origin), want, "{prefix}");
    }
}

#[test]
fn vrp_files_in_rpki_client_format() {
    let text = r#"{"metadata": {"buildtime": "x"}, "roas": [
        {"prefix": "203.0.113.0/24", "maxLength": 25, "asn": 64501, "ta": "t"},
        {"prefix": "2001:db8::/32", "asn": "AS64502"}
    ]}"#;
    assert_eq!(
        vrps_from_json(text),
        Ok(vec![
            vrp("203.0.113.0/24", 25, 64501),
            vrp("2001:db8::/32", 32, 64502)
        ])
    );
    for (bad, want) in [
        (
            r#"{"roas": [{"prefix": "203.0.113.0/24", "maxLength": 23, "asn": 1}]}"#,
            "roas[0]: bad maxLength",
        ),
        (
            r#"{"roas": [{"prefix": "10.0.0.0/8", "asn": 1}, {"prefix": "x", "asn": 1}]}"#,
            "roas[1]: no prefix",
        ),
        (
            r#"{"roas": [{"prefix": "10.0.0.0/8", "asn": "ASx"}]}"#,
            "roas[0]: bad asn",
        ),
        (r#"{"vrps": []}"#, "no \"roas\""),
    ] {
        let e = vrps_from_json(bad).unwrap_err();
        assert!(e.contains(want), "{bad}: {e}");
    }
}

#[test]
fn origin_as_follows_rfc6811() {
    let seg = |kind, asns: &[u32]| Segment {
        kind,
        asns: asns.to_vec(),
    };
    let mut a = PathAttributes::default();
    assert_eq!(
        origin_as(&a, 64500),
        Some(64500),
        "empty path: the local AS"
    );
    a.as_path = AsPath::from_segments([seg(SegmentType::AsSequence, &[64501, 64502])]);
    assert_eq!(origin_as(&a, 64500), Some(64502));
    a.as_path = AsPath::from_segments([
        seg(SegmentType::AsSequence, &[64501]),
        seg(SegmentType::AsSet, &[64502, 64503]),
    ]);
    assert_eq!(origin_as(&a, 64500), None);
}

#[test]
fn changed_covers_the_prefixes_under_a_changed_vrp() {
    let mut c = Changed::default();
    assert!(c.is_empty());
    c.prefixes.entry(p("10.0.0.0/8"));
    c.prefixes.entry(p("2001:db8::/32"));
    assert!(!c.is_empty());
    assert!(c.covers(&p("10.1.0.0/16")));
    assert!(c.covers(&p("10.0.0.0/8")));
    assert!(!c.covers(&p("11.0.0.0/8")));
    assert!(!c.covers(&p("0.0.0.0/0")));
    assert!(c.covers(&p("2001:db8:5::/48")));
    assert!(!c.covers(&p("2001:db9::/32")));
    let all = Changed {
        all: true,
        prefixes: Covering::default(),
    };
    assert!(all.covers(&p("192.0.2.0/24")));
}

mod prop {
    use proptest::prelude::*;

    use super::*;

    fn arb_v4() -> impl Strategy<Value = Prefix> {
        // A small address space, so that VRPs and routes overlap often.
        (0u32..16, 8u8..=28).prop_map(|(n, len)| {
            let addr = std::net::Ipv4Addr::from_bits(0x0a00_0000 | (n << 20));
            Prefix::V4(Ipv4Prefix::new(addr, len).unwrap_or_else(|| unreachable!()))
        })
    }

    proptest! {
        /// The index answers as the definition over every VRP does.
        #[test]
        fn index_matches_definition(
            vrps in proptest::collection::vec((arb_v4(), 0u8..8, 1u32..4), 0..24),
            routes in proptest::collection::vec((arb_v4(), proptest::option::of(1u32..4)), 1..24),
        ) {
            let vrps: Vec<Vrp> = vrps
                .into_iter()
                .map(|(prefix, extra, asn)| Vrp { prefix, max_len: (prefix.len() + extra).min(32), asn })
                .collect();
            let v = Vrps::new(&vrps);
            for (prefix, origin) in routes {
                prop_assert_eq!(v.validate(&prefix, origin), by_definition(&vrps, &prefix, origin));
            }
        }
    }
}

/// Caches whose addresses nobody listens on: their sessions fail and
/// retry, and the test feeds their updates by hand.
fn unreachable_caches(ports: &[u16]) -> Vec<RpkiCacheConfig> {
    ports
        .iter()
        .map(|port| RpkiCacheConfig {
            address: SocketAddr::from(([127, 0, 0, 1], *port)),
            retry: 3600,
            expire: 7200,
        })
        .collect()
}

fn announce(vrps: &[Vrp]) -> Vec<(Action, Payload)> {
    vrps.iter()
        .map(|v| {
            let (addr, len) = match v.prefix {
                Prefix::V4(p) => (IpAddr::V4(p.addr()), p.len()),
                Prefix::V6(p) => (IpAddr::V6(p.addr()), p.len()),
            };
            let prefix =
                rpki::resources::addr::Prefix::new(addr, len).unwrap_or_else(|e| panic!("{e}"));
            let prefix = rpki::resources::addr::MaxLenPrefix::new(prefix, Some(v.max_len))
                .unwrap_or_else(|e| panic!("{e}"));
            (
                Action::Announce,
                Payload::origin(prefix, rpki::resources::Asn::from_u32(v.asn)),
            )
        })
        .collect()
}

#[test]
fn the_union_of_the_caches_is_in_force_and_changes_name_their_prefixes() {
    let seen: Arc<Mutex<Vec<Arc<Changed>>>> = Arc::default();
    let log = Arc::clone(&seen);
    let caches = unreachable_caches(&[9, 11]);
    let (a, b) = (caches[0].address, caches[1].address);
    let rpki = Rpki::start(
        &caches,
        64500,
        Box::new(move |c| log.lock().unwrap_or_else(|e| e.into_inner()).push(c)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let take = || std::mem::take(&mut *seen.lock().unwrap_or_else(|e| e.into_inner()));
    let route = PathAttributes {
        as_path: AsPath::from_sequence([64501]),
        ..PathAttributes::default()
    };
    let r = p("203.0.113.0/24");
    assert_eq!(rpki.validate(&r, &route), RpkiState::Unknown);

    // Cache A's first payloads: from unknown to known, every route.
    rpki.apply(
        a,
        true,
        announce(&[vrp("203.0.113.0/24", 24, 64501), vrp("10.0.0.0/8", 8, 1)]),
    );
    let c = take();
    assert!(c.len() == 1 && c[0].covers(&p("192.0.2.0/24")), "{c:?}");
    assert_eq!(rpki.validate(&r, &route), RpkiState::Valid);
    assert_eq!(
        rpki.validate(&p("192.0.2.0/24"), &route),
        RpkiState::NotFound
    );

    // Cache B adds one VRP the union lacks and repeats one it has: only the
    // new one's prefix changed.
    rpki.apply(
        b,
        true,
        announce(&[vrp("10.0.0.0/8", 8, 1), vrp("198.51.100.0/24", 24, 65999)]),
    );
    let c = take();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].covers(&p("198.51.100.0/25")));
    assert!(!c[0].covers(&p("10.1.0.0/16")) && !c[0].covers(&r), "{c:?}");
    assert_eq!(
        rpki.validate(&p("198.51.100.0/24"), &route),
        RpkiState::Invalid
    );
    let s = rpki.status();
    assert_eq!((s.ipv4, s.caches.len()), (3, 2), "{s:?}");

    // A withdraws 10.0.0.0/8: B still holds it, nothing changes. An
    // update with no change tells nobody.
    rpki.apply(
        a,
        false,
        vec![(
            Action::Withdraw,
            announce(&[vrp("10.0.0.0/8", 8, 1)])[0].1.clone(),
        )],
    );
    assert!(take().is_empty());
    rpki.apply(a, false, Vec::new());
    assert!(take().is_empty());
    // One update that announces a VRP nobody holds and withdraws it again
    // leaves it out (changes are counted in order).
    let x = announce(&[vrp("192.0.2.0/24", 24, 7)]).remove(0).1;
    rpki.apply(
        a,
        false,
        vec![(Action::Announce, x.clone()), (Action::Withdraw, x)],
    );
    take();
    assert_eq!(
        rpki.validate(&p("192.0.2.0/24"), &route),
        RpkiState::NotFound
    );
    assert_eq!(rpki.status().ipv4, 3);

    // A reload drops B: its VRPs go unless A holds them.
    rpki.set_caches(&caches[..1]);
    let c = take();
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].covers(&p("10.0.0.0/8")) && c[0].covers(&p("198.51.100.0/24")));
    assert!(!c[0].covers(&r));
    assert_eq!(
        rpki.validate(&p("198.51.100.0/24"), &route),
        RpkiState::NotFound
    );
    assert_eq!(rpki.status().caches.len(), 1);

    // A expires: no payloads in force, every route back to unknown.
    rpki.expire(a);
    let c = take();
    assert!(c.len() == 1 && c[0].covers(&p("192.0.2.0/24")), "{c:?}");
    assert_eq!(rpki.validate(&r, &route), RpkiState::Unknown);
    assert_eq!(rpki.status().ipv4, 0);
}
