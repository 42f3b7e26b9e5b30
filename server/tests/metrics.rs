//! OpenMetrics on `[global] metrics-listen`, scraped over real TCP inside
//! a network namespace made for the test while real BIRD peers exchange
//! routes through rampartd: the per-peer series (session up, paths held
//! before and after import policy, UPDATEs read, prefixes sent), the RIB
//! sizes and the RPKI series follow what happens, and the text parses as
//! the exposition format (`# TYPE` before each family's samples, `# EOF`
//! last).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::bird::{self};
use rampart_tests::harness::{
    Bird, Netns, RampartdConfig, missing_prerequisite, tempdir, wait_for,
};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";
const METRICS: &str = "198.18.0.1:9179";

const ROUTES: [(&str, &str); 3] = [
    ("203.0.113.0/24", ""),
    ("198.51.100.0/24", ""),
    ("192.0.2.0/25", ""),
];

const POLICY: &str = r#"
filter no-long { if prefix-length > 24 then reject "too specific"; accept; }
"#;

/// One scrape: the HTTP head and the body.
fn scrape(ns: &Netns) -> (String, String) {
    let raw = ns
        .run(|| {
            let mut s = TcpStream::connect(METRICS).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: rampartd\r\n\r\n")
                .ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            Some(out)
        })
        .ok()
        .flatten()
        .unwrap_or_default();
    match raw.split_once("\r\n\r\n") {
        Some((head, body)) => (head.to_string(), body.to_string()),
        None => (raw, String::new()),
    }
}

/// The value of the sample `series` (name with its labels, as printed).
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Every sample line's family is declared by a `# TYPE` line before it,
/// and `# EOF` ends the text.
fn check_format(body: &str) {
    let mut declared: Vec<String> = Vec::new();
    for l in body.lines() {
        if let Some(t) = l.strip_prefix("# TYPE ") {
            let name = t.split_whitespace().next().unwrap_or("");
            declared.push(name.to_string());
        } else if !l.starts_with('#') {
            let name = l.split(['{', ' ']).next().unwrap_or("");
            assert!(
                declared
                    .iter()
                    .any(|d| name == d || name.strip_suffix("_total") == Some(d)),
                "sample {l:?} before its # TYPE\n{body}"
            );
            let v = l.rsplit(' ').next().unwrap_or("");
            assert!(v.parse::<f64>().is_ok(), "sample {l:?} has no value");
        }
    }
    assert_eq!(body.lines().last(), Some("# EOF"), "{body}");
}

fn ctl(dir: &Path, args: &[&str]) -> String {
    rampart_tests::harness::rampartctl(env!("CARGO_BIN_EXE_rampartctl"), dir, args)
        .unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}"))
}

#[test]
fn metrics_follow_peers_and_tables() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("metrics");
    let ns = Netns::new("metrics").unwrap();
    let policy = dir.join("m.policy");
    std::fs::write(&policy, POLICY).unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .global(&format!(
            "policy-files = [\"{}\"]\nmetrics-listen = \"{METRICS}\"",
            policy.display()
        ))
        .passive_peer(SPEAKER, 64501, "rs-client", "import = [\"no-long\"]")
        .active_peer(CORE, 64502, "rs-client", "");
    let mut rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &conf.to_string(),
    )
    .unwrap();
    let core = Bird::start(
        &ns,
        &dir.join("core"),
        &bird::rs_client_core(CORE, 64502, RS),
    )
    .unwrap();
    let _speaker = Bird::start(
        &ns,
        &dir.join("speaker"),
        &bird::ipv4_speaker(SPEAKER, 64501, RS, &ROUTES),
    )
    .unwrap();

    let up = |peer: &str, asn: u32| {
        format!(
            "rampart_peer_up{{peer=\"{peer}\",remote_as=\"{asn}\",role=\"rs-client\",template=\"\"}}"
        )
    };
    let of = |name: &str, peer: &str| format!("rampart_{name}{{peer=\"{peer}\"}}");
    // The /25 is rejected by the import filter: 3 received, 2 accepted,
    // 2 in the RIB, 2 sent to the core.
    let body = wait_for("metrics with the routes", Duration::from_secs(30), || {
        let (_, body) = scrape(&ns);
        let want = [
            (up(SPEAKER, 64501), 1.0),
            (up(CORE, 64502), 1.0),
            (of("peer_prefixes_received", SPEAKER), 3.0),
            (of("peer_prefixes_accepted", SPEAKER), 2.0),
            (of("peer_prefixes_sent_total", CORE), 2.0),
            ("rampart_rib_paths".to_string(), 2.0),
            ("rampart_rib_prefixes".to_string(), 2.0),
        ];
        want.iter()
            .all(|(s, v)| value(&body, s) == Some(*v))
            .then_some(body)
    })
    .unwrap_or_else(|e| {
        panic!(
            "{e}\n{}\n--- core: {:?}\n--- rampartd log:\n{}",
            scrape(&ns).1,
            core.routes(),
            rampartd.log()
        )
    });
    check_format(&body);
    assert!(
        value(&body, &of("peer_updates_received_total", SPEAKER)) >= Some(1.0),
        "{body}"
    );
    assert!(
        value(&body, &of("peer_uptime_seconds", SPEAKER)).is_some(),
        "{body}"
    );
    assert!(
        value(&body, "rampart_rib_bytes{table=\"loc-rib\"}") > Some(0.0),
        "{body}"
    );
    assert!(
        value(&body, "rampart_rib_bytes{table=\"adj-rib-in-pre\"}") > Some(0.0),
        "{body}"
    );
    assert!(
        value(&body, "rampart_memory_resident_bytes") > Some(0.0),
        "{body}"
    );
    assert_eq!(
        value(&body, "rampart_rpki_vrps{family=\"ipv4\"}"),
        Some(0.0),
        "{body}"
    );
    let (head, _) = scrape(&ns);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(
        head.contains("Content-Type: application/openmetrics-text"),
        "{head}"
    );

    // The speaker goes down: its session and its paths leave the series.
    ctl(&dir, &["peer", "disable", SPEAKER]);
    let body = wait_for(
        "metrics after the speaker left",
        Duration::from_secs(30),
        || {
            let (_, body) = scrape(&ns);
            (value(&body, &up(SPEAKER, 64501)) == Some(0.0)
                && value(&body, "rampart_rib_paths") == Some(0.0))
            .then_some(body)
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}\n{}", scrape(&ns).1, rampartd.log()));
    assert_eq!(
        value(&body, &of("peer_prefixes_accepted", SPEAKER)),
        Some(0.0),
        "{body}"
    );
    assert_eq!(value(&body, &up(CORE, 64502)), Some(1.0), "{body}");
    check_format(&body);

    assert!(rampartd.stop(Duration::from_secs(5)));
    drop((core, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
