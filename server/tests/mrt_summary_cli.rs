//! `rampartctl mrt summary --json` end to end on small real files, checked
//! against counts computed independently with bgpkit-parser's elems (and
//! the figures the data README states).

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use bgpkit_parser::BgpkitParser;
use bgpkit_parser::models::ElemType;

fn mrt_dir() -> Option<PathBuf> {
    let d = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/mrt"
    ));
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!("SKIP: real MRT data not found at {}", d.display());
        None
    }
}

/// Counts from bgpkit's per-prefix elems.
#[derive(Debug, Default)]
struct Independent {
    peers: usize,
    v4_prefixes: usize,
    v6_prefixes: usize,
    v4_announce: u64,
    v6_announce: u64,
    v4_withdraw: u64,
    v6_withdraw: u64,
}

fn independent(path: &Path) -> Independent {
    // bgpkit-parser's default features (with its own decompression) are
    // off; decompression is shared, the counting is bgpkit's.
    let reader = rampart_core::mrt::open_file(path).unwrap();
    let mut peers = HashSet::new();
    let (mut v4, mut v6) = (HashSet::new(), HashSet::new());
    let mut c = Independent::default();
    for e in BgpkitParser::from_reader(reader).disable_warnings() {
        peers.insert((e.peer_ip, u32::from(e.peer_asn)));
        let announce = e.elem_type == ElemType::ANNOUNCE;
        match e.prefix.prefix.addr() {
            IpAddr::V4(_) => {
                v4.insert(e.prefix.prefix);
                *if announce {
                    &mut c.v4_announce
                } else {
                    &mut c.v4_withdraw
                } += 1;
            }
            IpAddr::V6(_) => {
                v6.insert(e.prefix.prefix);
                *if announce {
                    &mut c.v6_announce
                } else {
                    &mut c.v6_withdraw
                } += 1;
            }
        }
    }
    c.peers = peers.len();
    c.v4_prefixes = v4.len();
    c.v6_prefixes = v6.len();
    c
}

fn summary_json(path: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_rampartctl"))
        .args(["mrt", "summary", "--json"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(path: &Path, rib: bool) -> serde_json::Value {
    let s = summary_json(path);
    let i = independent(path);
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    assert_eq!(n(&s["peers_with_routes"]), i.peers as u64, "peers");
    assert_eq!(
        n(&s["ipv4"]["prefixes"]),
        i.v4_prefixes as u64,
        "v4 prefixes"
    );
    assert_eq!(
        n(&s["ipv6"]["prefixes"]),
        i.v6_prefixes as u64,
        "v6 prefixes"
    );
    let (a4, a6) = if rib {
        (&s["ipv4"]["rib_entries"], &s["ipv6"]["rib_entries"])
    } else {
        (&s["ipv4"]["announcements"], &s["ipv6"]["announcements"])
    };
    assert_eq!(n(a4), i.v4_announce, "v4 routes");
    assert_eq!(n(a6), i.v6_announce, "v6 routes");
    assert_eq!(
        n(&s["ipv4"]["withdrawals"]),
        i.v4_withdraw,
        "v4 withdrawals"
    );
    assert_eq!(
        n(&s["ipv6"]["withdrawals"]),
        i.v6_withdraw,
        "v6 withdrawals"
    );
    assert_eq!(n(&s["decode_errors"]), 0);
    assert!(n(&s["distinct_attribute_sets"]) > 0);
    assert!(s["records_per_s"].as_f64().unwrap() > 0.0);
    s
}

#[test]
fn summary_of_update_file_matches_bgpkit_and_readme() {
    let Some(dir) = mrt_dir() else { return };
    let s = check(
        &dir.join("ripe-ncc-bgpdump/updates.20160811.1600.gz"),
        false,
    );
    // README: "35 IXP peers: 32,710 v4 and 6,546 v6 announcements, 1,616 v4
    // and 340 v6 withdrawals, 22 state changes".
    assert_eq!(s["peers_with_routes"], 35);
    assert_eq!(s["ipv4"]["announcements"], 32_710);
    assert_eq!(s["ipv6"]["withdrawals"], 340);
    let states: u64 = s["record_types"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["subtype_name"] == "STATE_CHANGE_AS4")
        .map(|t| t["count"].as_u64().unwrap())
        .sum();
    assert_eq!(states, 22);
}

#[test]
fn summary_of_addpath_rib_matches_bgpkit_and_readme() {
    let Some(dir) = mrt_dir() else { return };
    let s = check(
        &dir.join("ripe-ncc-bgpdump/bview.ipv4_unicast_add_path.gz"),
        true,
    );
    // README: "31 prefixes".
    assert_eq!(s["ipv4"]["prefixes"], 31);
}
