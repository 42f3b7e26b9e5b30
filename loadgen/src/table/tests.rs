//! Tests of [`super`]: spec parsing, synthetic and MRT feeds.
use super::*;
use rampart_core::DecodeCtx;
use rampart_core::msg::update::UpdateView;

fn announced(feed: &Feed) -> Vec<Prefix> {
    let mut out = Vec::new();
    for c in &feed.chunks {
        let mut b = &c[..];
        while b.len() >= 19 {
            let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
            let v = UpdateView::parse(&b[19..len], &DecodeCtx::modern()).unwrap();
            out.extend(v.nlri().map(|n| n.prefix));
            if let Some(mp) = v.mp_reach().unwrap() {
                out.extend(mp.nlri().map(|n| n.prefix));
            }
            b = &b[len..];
        }
    }
    out
}

/// The distinct path attribute sets (decoded, MP_REACH_NLRI left out)
/// that `feed`'s announcements carry.
fn attribute_sets(feed: &Feed) -> hashbrown::HashSet<PathAttributes> {
    let ctx = DecodeCtx::modern();
    let mut out = hashbrown::HashSet::new();
    for c in &feed.chunks {
        let mut b = &c[..];
        while b.len() >= 19 {
            let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
            let v = UpdateView::parse(&b[19..len], &ctx).unwrap();
            // End-of-RIB markers carry no attributes.
            if v.end_of_rib().is_none() {
                out.insert(v.decode_attributes(&ctx).unwrap().attrs);
            }
            b = &b[len..];
        }
    }
    out
}

/// `n` speakers: AS 65001 on 127.0.1.1, AS 65002 on 127.0.1.2, ...
fn speakers(n: u32) -> Vec<SpeakerIdentity> {
    (0..n)
        .map(|i| SpeakerIdentity {
            asn: 65001 + i,
            source: IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + i as u8)),
        })
        .collect()
}

#[test]
fn parses_specs() {
    assert_eq!(
        "synth:100+20:shared".parse::<TableSpec>().unwrap(),
        TableSpec::Synth {
            v4: 100,
            v6: 20,
            shared: true,
            one_set: false,
            seed: 1
        }
    );
    assert_eq!(
        "synth:100:shared:one-set".parse::<TableSpec>().unwrap(),
        TableSpec::Synth {
            v4: 100,
            v6: 0,
            shared: true,
            one_set: true,
            seed: 1
        }
    );
    assert!("synth:100:one-set:shared".parse::<TableSpec>().is_err());
    assert_eq!(
        "mrt:/a/b.bz2:per-peer".parse::<TableSpec>().unwrap(),
        TableSpec::Mrt {
            path: "/a/b.bz2".into(),
            per_peer: true
        }
    );
    assert_eq!(
        "updates:/u.gz:per-peer".parse::<TableSpec>().unwrap(),
        TableSpec::Updates {
            path: "/u.gz".into(),
            per_peer: true
        }
    );
    assert_eq!(
        "updates:/u.gz".parse::<TableSpec>().unwrap(),
        TableSpec::Updates {
            path: "/u.gz".into(),
            per_peer: false
        }
    );
    assert!("updates:".parse::<TableSpec>().is_err());
    assert!("updates::per-peer".parse::<TableSpec>().is_err());
    assert!("synth:x".parse::<TableSpec>().is_err());
    assert!("foo".parse::<TableSpec>().is_err());
}

#[test]
fn synth_disjoint_feeds_announce_their_own_prefixes() {
    let sp = speakers(3);
    let spec: TableSpec = "synth:500+100".parse().unwrap();
    let feeds = build_feeds(&spec, &sp, NextHopMode::Keep).unwrap();
    let mut all = hashbrown::HashSet::new();
    for f in &feeds {
        let got = announced(f);
        assert_eq!(got.len(), 600);
        let mut sorted = got.clone();
        sorted.sort();
        let mut want = f.prefixes.clone();
        want.sort();
        assert_eq!(sorted, want);
        all.extend(got);
    }
    assert_eq!(all.len(), 1800, "speakers' prefixes are disjoint");
    assert_eq!(Expected::from_feeds(&feeds).len(), 1800);
}

#[test]
fn synth_one_set_feeds_carry_one_attribute_set_each() {
    let sp = speakers(2);
    // IPv4 only: an IPv6 UPDATE's next hop is in MP_REACH_NLRI, so its
    // other attributes would count as a second set.
    for spec in ["synth:3000:one-set", "synth:3000:shared:one-set"] {
        let feeds = build_feeds(&spec.parse().unwrap(), &sp, NextHopMode::Keep).unwrap();
        let sets: Vec<_> = feeds.iter().map(attribute_sets).collect();
        for (f, s) in feeds.iter().zip(&sets) {
            assert_eq!(s.len(), 1, "{spec}: one set per speaker");
            assert_eq!(announced(f).len(), 3000);
        }
        assert_ne!(sets[0], sets[1], "{spec}: each speaker's own path");
    }
    // The realistic default: about a set per three prefixes.
    let feeds = build_feeds(&"synth:3000".parse().unwrap(), &sp, NextHopMode::Keep).unwrap();
    for f in &feeds {
        let n = attribute_sets(f).len();
        assert!((600..=1400).contains(&n), "{n} sets for 3000 prefixes");
    }
}

#[test]
fn synth_shared_feeds_overlap() {
    let sp = speakers(2);
    let spec: TableSpec = "synth:300:shared".parse().unwrap();
    let feeds = build_feeds(&spec, &sp, NextHopMode::OwnAddress).unwrap();
    assert_eq!(Expected::from_feeds(&feeds).len(), 300);
    assert_eq!(announced(&feeds[1]).len(), 300);
}

/// Per-peer MRT feeds carry each route's recorded attributes byte for
/// byte (IPv4: the whole attribute section equals the RIB entry's).
#[test]
fn mrt_per_peer_attributes_are_byte_faithful() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/mrt/sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2"
    ));
    if !path.exists() {
        eprintln!(
            "SKIP mrt_per_peer_attributes_are_byte_faithful: no {}",
            path.display()
        );
        return;
    }
    let sp = speakers(3);
    let spec = TableSpec::Mrt {
        path: path.into(),
        per_peer: true,
    };
    let feeds = build_feeds(&spec, &sp, NextHopMode::Keep).unwrap();
    // Speaker 2 replays peer 2: read that peer's entries independently.
    let mut want: HashMap<Prefix, Vec<u8>> = HashMap::new();
    let mut r = MrtReader::new(rampart_core::mrt::open_file(path).unwrap());
    while let Some(rec) = r.next_record().unwrap() {
        if let Ok(Body::Rib(rib)) = rec.decode() {
            for e in rib.entries().flatten().filter(|e| e.peer_index == 2) {
                want.insert(rib.prefix, e.attrs.to_vec());
            }
        }
    }
    assert!(want.len() > 1000, "peer 2 has a table");
    let mut checked = 0;
    for c in &feeds[2].chunks {
        let mut b = &c[..];
        while !b.is_empty() {
            let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
            let body = &b[19..len];
            let wd = usize::from(u16::from_be_bytes([body[0], body[1]]));
            let al = usize::from(u16::from_be_bytes([body[2 + wd], body[3 + wd]]));
            let attrs = &body[4 + wd..4 + wd + al];
            let v = UpdateView::parse(body, &DecodeCtx::modern()).unwrap();
            for n in v.nlri() {
                assert_eq!(attrs, &want[&n.prefix][..], "{}", n.prefix);
                checked += 1;
            }
            b = &b[len..];
        }
    }
    assert_eq!(checked, want.len(), "every route of the peer sent once");
}

/// `index_near` answers as `index` does, whatever the order of the
/// questions: in runs (as a monitor gets a table back), every other
/// prefix, backwards, scattered, and for prefixes not expected.
#[test]
fn index_near_answers_as_index_does_in_any_order() {
    let sp = speakers(3);
    let spec: TableSpec = "synth:400+50".parse().unwrap();
    let feeds = build_feeds(&spec, &sp, NextHopMode::Keep).unwrap();
    let e = Expected::from_feeds(&feeds);
    let all: Vec<Prefix> = e.prefixes.clone();
    let n = all.len();
    // Runs of 7 from each speaker's part in turn.
    let part = n / 3;
    let runs = (0..part.div_ceil(7)).flat_map(|r| {
        (0..3).flat_map(move |s| (r * 7..(r * 7 + 7).min(part)).map(move |i| s * part + i))
    });
    let every_other = (0..n).step_by(2).chain((1..n).step_by(2));
    let backwards = (0..n).rev();
    let scattered = (0..n).map(|i| (i * 7919 + 13) % n);
    let orders: Vec<Vec<usize>> = vec![
        runs.collect(),
        every_other.collect(),
        backwards.collect(),
        scattered.collect(),
    ];
    let unknown: Prefix = "192.0.2.0/24".parse().unwrap();
    assert_eq!(e.index(&unknown), None);
    let mut near = Near::default();
    for order in orders {
        assert!(order.len() >= n - 2);
        for i in order {
            let p = all[i];
            assert_eq!(e.index_near(&p, &mut near), e.index(&p), "prefix {p}");
            assert_eq!(e.index_near(&p, &mut near), Some(i as u32));
        }
        assert_eq!(e.index_near(&unknown, &mut near), None);
    }
}
