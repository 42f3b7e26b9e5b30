//! What the generator's tests against a BIRD 2 route server share: BIRD's
//! configuration (route server at 198.18.0.1, AS 64500; speakers at
//! 198.18.1.N, monitors at 198.18.2.N) and a run of the generator inside
//! the test's namespace, read back as its JSON report.

// Each test crate uses part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Stdio};

use rampart_loadgen::run::Report;
use rampart_tests::harness::Netns;

/// BIRD as route server with template `rsc` (rs client, IPv4 and IPv6
/// channels, `template_extra` added inside it, e.g. `passive on;`),
/// `speakers` neighbors `sp{i}` at 198.18.1.{i+1} (AS 65001 + i) and
/// `monitors` neighbors `mon{j}` at 198.18.2.{j+1} (AS 4200000001 + j),
/// then `tail`.
pub(crate) fn bird_rs(
    speakers: usize,
    monitors: usize,
    template_extra: &str,
    tail: &str,
) -> String {
    let asns: Vec<u32> = (0..speakers).map(|i| 65_001 + i as u32).collect();
    bird_rs_with(&asns, monitors, template_extra, tail)
}

/// [`bird_rs`] with speaker `sp{i}` in AS `speaker_asns[i]`.
pub(crate) fn bird_rs_with(
    speaker_asns: &[u32],
    monitors: usize,
    template_extra: &str,
    tail: &str,
) -> String {
    let mut s = format!(
        "router id 198.18.0.1;\nprotocol device {{}}\n\
         template bgp rsc {{\n  local 198.18.0.1 as 64500;\n  strict bind yes;\n  multihop;\n  \
         rs client;\n  {template_extra}\n  ipv4 {{ import all; export all; }};\n  \
         ipv6 {{ import all; export all; }};\n}}\n"
    );
    for (i, asn) in speaker_asns.iter().enumerate() {
        s.push_str(&format!(
            "protocol bgp sp{i} from rsc {{ neighbor 198.18.1.{} as {asn}; }}\n",
            i + 1
        ));
    }
    for j in 0..monitors {
        s.push_str(&format!(
            "protocol bgp mon{j} from rsc {{ neighbor 198.18.2.{} as {}; }}\n",
            j + 1,
            4_200_000_001u64 + j as u64
        ));
    }
    s.push_str(tail);
    s
}

/// `rampart-loadgen run --json --quiet --target 198.18.0.1:179
/// --target-as 64500 ARGS`, started inside `ns`.
pub(crate) fn spawn(ns: &Netns, target: &str, args: &[&str]) -> Child {
    let mut cmd = ns.command(env!("CARGO_BIN_EXE_rampart-loadgen"));
    cmd.args(["run", "--json", "--quiet", "--target", target])
        .args(["--target-as", "64500"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    cmd.spawn().unwrap()
}

/// The report of a run started by [`spawn`].
pub(crate) fn report(child: Child) -> Report {
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// A run against the route server at 198.18.0.1, to its end.
pub(crate) fn run(ns: &Netns, args: &[&str]) -> Report {
    report(spawn(ns, "198.18.0.1:179", args))
}

/// `rampart-loadgen run --json --quiet --target sink ARGS` (the in-process
/// sink: no daemon, no namespace), to its end.
pub(crate) fn run_sink(args: &[&str]) -> Report {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_rampart-loadgen"))
        .args(["run", "--json", "--quiet", "--target", "sink"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    report(child)
}

/// The rampartd binary: `RAMPARTD_BIN`, else the newer of `release/` and
/// `debug/` `rampartd` in the target directory (it is not built for this
/// crate's tests); `None` when there is none. `rampartctl` is built beside
/// it.
pub(crate) fn rampartd_bin() -> Option<PathBuf> {
    rampart_tests::harness::workspace_bin("RAMPARTD_BIN", "rampartd")
}
