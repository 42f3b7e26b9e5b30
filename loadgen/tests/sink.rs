//! The generator against its own sink: every UPDATE it encodes arrives,
//! and the NLRI in the feeds are exactly the table (counted by decoding
//! the encoded bytes again, independently of the generator's own counts).

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::Ordering;
use std::time::Duration;

use rampart_core::DecodeCtx;
use rampart_core::msg::update::UpdateView;
use rampart_loadgen::run::{self, RunConfig};
use rampart_loadgen::sink::Sink;
use rampart_loadgen::table::{self, Expected, NextHopMode, SpeakerIdentity, TableSpec};

/// Decodes every message of every chunk; returns (messages, announced NLRI).
fn decode_feed(feed: &table::Feed) -> (usize, usize) {
    let (mut msgs, mut nlri) = (0, 0);
    for chunk in &feed.chunks {
        let mut b = &chunk[..];
        while !b.is_empty() {
            let len = usize::from(u16::from_be_bytes([b[16], b[17]]));
            assert_eq!(b[..16], [0xff; 16], "marker");
            assert_eq!(b[18], 2, "only UPDATEs in a feed");
            let v = UpdateView::parse(&b[19..len], &DecodeCtx::modern()).unwrap();
            nlri += v.nlri().count();
            if let Some(mp) = v.mp_reach().unwrap() {
                nlri += mp.nlri().count();
            }
            msgs += 1;
            b = &b[len..];
        }
    }
    (msgs, nlri)
}

#[test]
fn every_update_reaches_the_sink() {
    let sink = Sink::start("127.0.0.1:0".parse().unwrap(), 64_500).unwrap();
    let speakers = 3;
    let spec: TableSpec = "synth:2000+500".parse().unwrap();
    let cfg = RunConfig {
        scenario: "sink-test".into(),
        target: sink.addr(),
        speakers,
        source: IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1)),
        table: spec.clone(),
        monitors: 0,
        timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(20),
        progress: false,
        sink: Some(sink.stats_shared()),
        ..RunConfig::default()
    };
    let rep = run::run(&cfg).unwrap();
    assert!(rep.ok, "{}", rep.summary());

    // Rebuild the same feeds and decode them independently.
    let idents: Vec<SpeakerIdentity> = run::speaker_identities(&cfg).unwrap();
    let feeds = table::build_feeds(&spec, &idents, NextHopMode::Keep).unwrap();
    let (msgs, nlri): (usize, usize) = feeds
        .iter()
        .map(decode_feed)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert_eq!(nlri, speakers * 2500, "table size");
    assert_eq!(rep.routes_sent, nlri);
    assert_eq!(rep.messages_sent, msgs);
    assert_eq!(
        Expected::from_feeds(&feeds).len(),
        speakers * 2500,
        "disjoint"
    );

    let st = sink.stats();
    assert_eq!(st.sessions.load(Ordering::Relaxed), speakers as u64);
    assert_eq!(st.updates.load(Ordering::Relaxed), msgs as u64);
    // Every feed byte arrived (plus OPEN, KEEPALIVEs and the Cease).
    assert!(st.bytes.load(Ordering::Relaxed) >= rep.bytes_sent as u64);
    assert!(rep.convergence_secs.is_some() && rep.send_routes_per_sec.is_some());
}
