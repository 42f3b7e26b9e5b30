//! MRT table dumps (RFC 6396 §4.3 TABLE_DUMP_V2) of rampartd's Adj-RIB-In
//! after import policy, read back by an independent reader (bgpdump),
//! with real BIRD speakers in a network namespace made for the test: on
//! demand (`rampartctl dump mrt`) and every `interval` seconds
//! (`mrt-dump`). Every path `show routes --table in-post` lists is in the
//! dump with its peer, AS path, next hop and communities, the selected
//! path of each prefix first, and nothing else is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rampart_tests::harness::bird;
use rampart_tests::harness::{
    Bird, Netns, RampartdConfig, missing_prerequisite, tempdir, wait_for,
};

const RS: &str = "198.18.0.1";
const SPEAKER1: &str = "198.18.0.2";
const SPEAKER2: &str = "198.18.0.3";

const POLICY: &str = r#"
filter no-long { if prefix-length > 24 then reject "too specific"; accept; }
"#;

fn ctl(dir: &Path, args: &[&str]) -> String {
    rampart_tests::harness::rampartctl(env!("CARGO_BIN_EXE_rampartctl"), dir, args)
        .unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}"))
}

/// One path as both sides describe it: prefix, peer address, peer AS, AS
/// path, next hop, communities (sorted).
type Row = (String, String, String, String, String, String);

/// The paths of an MRT file as `bgpdump -m` prints them, in file order.
fn bgpdump(file: &Path) -> Vec<Row> {
    let out = Command::new("bgpdump")
        .arg("-m")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("bgpdump: {e}"));
    assert!(
        out.status.success(),
        "bgpdump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            // TABLE_DUMP2|time|B|peer|peer AS|prefix|AS path|origin|next hop|
            // local pref|MED|communities|...
            let f: Vec<&str> = l.split('|').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or("").to_string();
            // bgpdump names the well-known communities (RFC 1997) and
            // prints no large ones (those are checked with bgpkit-parser).
            let mut comms: Vec<String> = field(11)
                .split_whitespace()
                .map(|c| match c {
                    "no-export" => "65535:65281".to_string(),
                    "no-advertise" => "65535:65282".to_string(),
                    "no-export-subconfed" => "65535:65283".to_string(),
                    c => c.to_string(),
                })
                .collect();
            comms.sort_unstable();
            (
                field(5),
                field(3),
                field(4),
                field(6),
                field(8),
                comms.join(" "),
            )
        })
        .collect()
}

/// The same from `show routes --table in-post --json`, with which path is
/// each prefix's best.
fn shown(dir: &Path) -> Vec<(Row, bool)> {
    let v: serde_json::Value = serde_json::from_str(&ctl(
        dir,
        &["show", "routes", "--table", "in-post", "--json"],
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let s = |r: &serde_json::Value, k: &str| match &r[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    let mut comms: Vec<String> = r["communities"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.as_str().map(str::to_string))
                        .collect();
                    comms.sort_unstable();
                    let from = s(r, "from");
                    let asn = match from.as_str() {
                        SPEAKER1 => "64501",
                        SPEAKER2 => "64502",
                        _ => "?",
                    };
                    let row = (
                        s(r, "prefix"),
                        from,
                        asn.to_string(),
                        s(r, "as_path"),
                        s(r, "next_hop"),
                        comms.join(" "),
                    );
                    (row, r["best"] == true)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn table_dumps_hold_the_adj_rib_in_after_policy() {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip", "bgpdump"]) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir("mrt-dump");
    let ns = Netns::new("mrtdump").unwrap();
    let policy = dir.join("d.policy");
    std::fs::write(&policy, POLICY).unwrap();
    let periodic = dir.join("periodic");
    std::fs::create_dir_all(&periodic).unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .global(&format!(
            "policy-files = [\"{}\"]\nmrt-dump = {{ file = \"{}/rib.%Y%m%d.%H%M%S.mrt\", interval = 1 }}",
            policy.display(),
            periodic.display()
        ))
        .passive_peer(SPEAKER1, 64501, "rs-client", "import = [\"no-long\"]")
        .passive_peer(SPEAKER2, 64502, "rs-client", "");
    let mut rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        &dir,
        &conf.to_string(),
    )
    .unwrap();
    // Both announce 203.0.113.0/24 (SPEAKER1's path is shorter: the best);
    // SPEAKER1's /25 is rejected by its import filter.
    let _s1 = Bird::start(
        &ns,
        &dir.join("s1"),
        &bird::ipv4_speaker(
            SPEAKER1,
            64501,
            RS,
            &[
                ("203.0.113.0/24", "bgp_community.add((64501,7));"),
                ("198.51.100.0/24", "bgp_large_community.add((64501,1,2));"),
                ("198.51.100.0/25", ""),
            ],
        ),
    )
    .unwrap();
    let _s2 = Bird::start(
        &ns,
        &dir.join("s2"),
        &bird::ipv4_speaker(
            SPEAKER2,
            64502,
            RS,
            &[
                ("203.0.113.0/24", "bgp_path.prepend(64502); bgp_community.add((64502,9)); bgp_community.add((65535,65281));"),
                ("192.0.2.0/24", ""),
            ],
        ),
    )
    .unwrap();
    let want = wait_for("4 paths after policy", Duration::from_secs(30), || {
        let rows = shown(&dir);
        (rows.len() == 4).then_some(rows)
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", shown(&dir), rampartd.log()));

    let file = dir.join("now.mrt");
    let summary = ctl(
        &dir,
        &["dump", "mrt", &file.display().to_string(), "--json"],
    );
    let s: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(
        (
            s["prefixes"].as_u64(),
            s["paths"].as_u64(),
            s["peers"].as_u64()
        ),
        // Peers: the two speakers and rampartd itself (its own routes).
        (Some(3), Some(4), Some(3)),
        "{s}"
    );
    let got = bgpdump(&file);
    let mut want_rows: Vec<Row> = want.iter().map(|(r, _)| r.clone()).collect();
    let mut got_sorted = got.clone();
    want_rows.sort();
    got_sorted.sort();
    assert_eq!(
        got_sorted, want_rows,
        "bgpdump:\n{got:#?}\nshow routes:\n{want:#?}"
    );
    // The selected path of each prefix comes first in its record.
    for (row, best) in &want {
        let first = got.iter().find(|g| g.0 == row.0);
        assert_eq!(first == Some(row), *best, "{row:?} best={best}: {got:#?}");
    }
    assert!(!dir.join("now.tmp").exists());

    // Large communities (RFC 8092), read with bgpkit-parser.
    let large: Vec<(String, String, Vec<[u32; 3]>)> =
        bgpkit_parser::BgpkitParser::from_reader(std::fs::File::open(&file).unwrap())
            .disable_warnings()
            .into_iter()
            .map(|e| {
                let e = rampart_tests::elem::from_bgpkit(&e);
                (e.prefix, e.peer.to_string(), e.large)
            })
            .filter(|(_, _, l)| !l.is_empty())
            .collect();
    assert_eq!(
        large,
        [(
            "198.51.100.0/24".to_string(),
            SPEAKER1.to_string(),
            vec![[64501, 1, 2]]
        )]
    );

    // The periodic dumps hold the same: one begun after the table was
    // complete (one made while the speakers were still sending holds
    // less). Dumps go one after another, so of two names not there yet
    // the later was begun after the first was renamed, hence after now.
    let dumps = || -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&periodic)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                name.starts_with("rib.") && name.ends_with(".mrt")
            })
            .collect();
        v.sort();
        v
    };
    let before = dumps();
    let dumped = wait_for("two periodic dumps", Duration::from_secs(10), || {
        let new: Vec<PathBuf> = dumps()
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        (new.len() >= 2).then(|| new.last().cloned()).flatten()
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    let mut got = bgpdump(&dumped);
    got.sort();
    assert_eq!(got, want_rows, "{}", dumped.display());

    // A file the daemon cannot write is an error that names it.
    let bad = ctl_err(&dir, &["dump", "mrt", "/nonexistent-dir/x.mrt"]);
    assert!(bad.contains("/nonexistent-dir/x.tmp"), "{bad}");

    assert!(rampartd.stop(Duration::from_secs(5)));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ctl_err(dir: &Path, args: &[&str]) -> String {
    match rampart_tests::harness::rampartctl(env!("CARGO_BIN_EXE_rampartctl"), dir, args) {
        Ok(out) => panic!("rampartctl {args:?} succeeded: {out}"),
        Err(e) => e,
    }
}
