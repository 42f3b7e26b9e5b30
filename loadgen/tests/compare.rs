//! `rampart-loadgen compare` against real rampartd, BIRD 2 and FRR, each
//! in the namespace compare makes: all converge, and each row carries the
//! daemon's own account of its table memory, read at convergence
//! (`rampartctl show memory`, `birdc show memory`, `vtysh -c 'show bgp
//! memory'`), over every path it stores.

use std::process::Command;

use rampart_tests::harness::{missing_prerequisite, tempdir};

mod common;

const SPEAKERS: u64 = 2;
const V4: u64 = 3000;
const V6: u64 = 500;

#[test]
fn compare_reads_each_daemons_table_memory_at_convergence() {
    let name = "compare_reads_each_daemons_table_memory_at_convergence";
    if let Some(why) = missing_prerequisite(&["ip", "ss", "bird", "birdc", "vtysh"]) {
        eprintln!("SKIP {name}: {why}");
        return;
    }
    let Some(bin) = common::rampartd_bin() else {
        eprintln!("SKIP {name}: no rampartd binary (cargo build -p rampartd, or set RAMPARTD_BIN)");
        return;
    };
    assert!(
        bin.with_file_name("rampartctl").is_file(),
        "rampartctl is built beside {}",
        bin.display()
    );
    let dir = tempdir("loadgen-compare");
    let out = Command::new(env!("CARGO_BIN_EXE_rampart-loadgen"))
        .args(["compare", "--json", "--daemons", "rampartd,bird,frr"])
        .args(["--scenario", "bgperf", "--speakers", &SPEAKERS.to_string()])
        .args(["--table", &format!("synth:{V4}+{V6}"), "--timeout", "60"])
        .arg("--rampartd")
        .arg(&bin)
        .arg("--dir")
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // [[scenario, [row, ...]]]
    let all: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows = all[0][1].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{text}");
    for row in rows {
        let daemon = row["daemon"].as_str().unwrap();
        assert_eq!(row["report"]["ok"], true, "{daemon}: {row:#}");
        // Disjoint tables: one stored path per prefix sent.
        assert_eq!(
            row["memory"]["paths"].as_u64(),
            Some(SPEAKERS * (V4 + V6)),
            "{daemon}: {row:#}"
        );
        let bytes = row["memory"]["bytes"].as_u64().unwrap();
        // Any real table costs something per path, and not kilobytes.
        let per_path = bytes / (SPEAKERS * (V4 + V6));
        assert!(
            (10..2000).contains(&per_path),
            "{daemon}: {per_path} B/path"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
