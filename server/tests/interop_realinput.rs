//! Real routing data through rampartd (issue #3, "Real input").
//!
//! rampart-loadgen replays real MRT tables as BGP speakers (route server
//! clients of rampartd) and a BIRD 2 core peer (also a route server client)
//! receives what rampartd reflects. The test then reads BIRD's table back
//! from its own MRT dump and checks it per prefix against the input:
//!
//! * the prefix set is the input's (minus routes the speaker cannot send:
//!   no next hop of the prefix's family);
//! * AS_PATH, NEXT_HOP, ORIGIN, MED, COMMUNITIES and LARGE_COMMUNITY equal
//!   those of the path the input's speaker sent (RFC 7947 §2.2: a route
//!   server passes them on unchanged);
//! * where several speakers announce a prefix, the path the core got is
//!   the one RFC 4271 §9.1.2.2 picks, computed here by an independent
//!   reference (`harness::realinput::rfc4271_best`) over the MRT entries.
//!
//! Inputs: the 2015 PCH full IPv4 table (577,737 announcements from one
//! peer, a BGP4MP_ET UPDATE stream, converted to a RIB dump first; only
//! its first N prefixes with `RAMPART_REALINPUT_PREFIXES=N`), and the
//! 2026-07-30 route-views2 and route-views6 RIB slices (every peer of each
//! file becomes one speaker, so 17 full feeds per family compete).
//!
//! Skips with a message when the data directory, BIRD, root or the
//! rampart-loadgen binary is missing (build it with
//! `cargo build --release -p rampart-loadgen`, or point `RAMPART_LOADGEN`
//! at one).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_core::attr::{NextHop, PathAttributes};
use rampart_core::nlri::Prefix;
use rampart_tests::harness::realinput::{
    self, Candidate, InputPeer, bird_mrt_table, diff_route, read_final_tables, rfc4271_best,
};
use rampart_tests::harness::{
    Bird, Child, Netns, RampartdConfig, bird::FAST_TIMERS, missing_prerequisite, tempdir, wait_for,
};

const RS: &str = "198.18.0.1";
const CORE: &str = "198.18.0.3";
/// The core's AS; no input path may contain it (BIRD would drop the path
/// as a loop), which the test checks.
const CORE_AS: u32 = 4_200_000_002;

/// The real-daemon tests of this file run one at a time (2 cores).
static SERIAL: Mutex<()> = Mutex::new(());

/// One MRT input replayed by one rampart-loadgen process.
struct Feed {
    /// TABLE_DUMP_V2 file the speakers read.
    file: PathBuf,
    /// Its peers in PEER_INDEX_TABLE order: speaker `i` sends peer `i`'s
    /// table.
    peers: Vec<InputPeer>,
    /// Source address (and BGP identifier) of speaker 0; speaker `i` uses
    /// the `i`-th next address and the AS of peer `i`
    /// (`--local-as-from-mrt`).
    source: Ipv4Addr,
}

impl Feed {
    fn speaker(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.source.to_bits() + u32::try_from(i).unwrap())
    }

    fn speaker_as(&self, i: usize) -> u32 {
        self.peers[i].peer.asn
    }
}

/// Data, binaries and privileges, or why the test cannot run.
fn prerequisites(test: &str) -> Option<(PathBuf, PathBuf)> {
    if let Some(why) = missing_prerequisite(&["bird", "birdc", "ip"]) {
        eprintln!("SKIP {test}: {why}");
        return None;
    }
    let mrt = rampart_tests::mrt_dir_or_skip(test)?;
    let Some(loadgen) = realinput::loadgen_bin() else {
        eprintln!(
            "SKIP {test}: no rampart-loadgen binary (build it with `cargo build --release -p \
             rampart-loadgen` into this target directory, or set RAMPART_LOADGEN)"
        );
        return None;
    };
    Some((mrt, loadgen))
}

/// The path sent for a prefix: the speaker's address and its attributes.
type Sent = (IpAddr, Arc<PathAttributes>);

/// What the core must hold: the RFC 4271 winner per prefix, and counts.
struct Expected {
    best: HashMap<Prefix, Sent>,
    /// Routes a speaker cannot send (no next hop of the prefix's family).
    unsendable: usize,
    /// Prefixes with more than one candidate path.
    contested: usize,
    /// Contested prefixes whose winner differs in AS_PATH or NEXT_HOP from
    /// some loser: where a wrong choice would show.
    decisive: usize,
}

/// The speaker can send the route: loadgen needs a NEXT_HOP attribute for
/// IPv4 and an IPv6 MP_REACH next hop for IPv6.
fn sendable(prefix: &Prefix, a: &PathAttributes) -> bool {
    matches!(
        (prefix, a.next_hop),
        (Prefix::V4(_), Some(NextHop::V4(_))) | (Prefix::V6(_), Some(NextHop::V6 { .. }))
    )
}

fn expected(feeds: &[Feed]) -> Expected {
    let mut cands: HashMap<Prefix, Vec<(Ipv4Addr, &Arc<PathAttributes>)>> = HashMap::new();
    let mut unsendable = 0;
    for f in feeds {
        for (i, p) in f.peers.iter().enumerate() {
            for (prefix, a) in &p.routes {
                if sendable(prefix, a) {
                    cands.entry(*prefix).or_default().push((f.speaker(i), a));
                } else {
                    unsendable += 1;
                }
            }
        }
    }
    let mut e = Expected {
        best: HashMap::with_capacity(cands.len()),
        unsendable,
        contested: 0,
        decisive: 0,
    };
    for (prefix, v) in cands {
        let c: Vec<Candidate<'_>> = v
            .iter()
            .map(|(addr, a)| Candidate {
                attrs: a,
                ebgp: true,
                bgp_id: *addr,
                peer_addr: IpAddr::V4(*addr),
                igp_cost: 0,
            })
            .collect();
        let Some(w) = rfc4271_best(&c) else { continue };
        let (addr, attrs) = v[w];
        if v.len() > 1 {
            e.contested += 1;
            let differs =
                |a: &PathAttributes| a.as_path != attrs.as_path || a.next_hop != attrs.next_hop;
            if v.iter().any(|(_, a)| differs(a)) {
                e.decisive += 1;
            }
        }
        e.best.insert(prefix, (IpAddr::V4(addr), Arc::clone(attrs)));
    }
    e
}

fn core_conf() -> String {
    format!(
        "router id {CORE};
protocol device {{}}
protocol bgp rserver {{ local {CORE} as {CORE_AS}; neighbor {RS} as 64500; multihop; strict bind yes;
  passive on; {FAST_TIMERS}
  ipv4 {{ import all; export none; }};
  ipv6 {{ import all; export none; }}; }}"
    )
}

fn rampartd_conf(dir: &Path, feeds: &[Feed]) -> String {
    let both = "families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n";
    let mut c = RampartdConfig::new(RS, RS, dir).active_peer(CORE, CORE_AS, "rs-client", both);
    for f in feeds {
        for i in 0..f.peers.len() {
            c = c.passive_peer(
                &f.speaker(i).to_string(),
                f.speaker_as(i),
                "rs-client",
                both,
            );
        }
    }
    // BGP's usual 90 s hold time rather than the harness's 9 s: this test
    // checks what reaches the core from a debug build on two shared cores;
    // keepalives under load have their own test with 3 s hold timers
    // (rampart-loadgen's sessions_keep_their_keepalives_while_a_large_table_flows).
    c.to_string().replace("hold-time = 9", "hold-time = 90")
}

fn start_loadgen(ns: &Netns, bin: &Path, dir: &Path, k: usize, f: &Feed) -> Child {
    let args: Vec<String> = [
        "run",
        "--target",
        &format!("{RS}:179"),
        "--target-as",
        "64500",
        "--speakers",
        &f.peers.len().max(1).to_string(),
        "--source",
        &f.source.to_string(),
        "--local-as-from-mrt",
        "--table",
        &format!("mrt:{}:per-peer", f.file.display()),
        "--monitors",
        "0",
        "--hold-after",
        "3600",
        "--timeout",
        "3600",
        "--quiet",
    ]
    .map(String::from)
    .to_vec();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let log = dir.join(format!("loadgen{k}.log"));
    ns.spawn("rampart-loadgen", bin, &args, &log).unwrap()
}

/// `rampartctl show peers --json` rows, by peer address.
fn show_peers(dir: &Path) -> HashMap<String, serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampartctl"))
        .arg("--socket")
        .arg(dir.join("ctl.sock"))
        .args(["show", "peers", "--json"])
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        return HashMap::new();
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["address"].as_str()?.to_string(), p.clone())))
        .collect()
}

/// `rampartctl show memory`: the tables hold every received path of every
/// prefix, the attribute sets are fewer than the paths, and the tables'
/// own byte counts fit inside what the allocator says it handed out.
fn check_memory(dir: &Path, per_speaker: &[(String, usize)], prefixes: usize) {
    let m = show_memory(dir);
    let paths: usize = per_speaker.iter().map(|(_, n)| n).sum();
    let t = &m["tables"];
    assert_eq!(t["paths"], paths, "{m}");
    assert_eq!(t["prefixes"], prefixes, "{m}");
    let sets = m["received_sets"]["sets"].as_u64().unwrap_or(0);
    assert!(sets > 0 && sets as usize <= paths, "{m}");
    let counted = m["counted_bytes"].as_u64().unwrap_or(0);
    let allocated = m["allocator"]["allocated"].as_u64().unwrap_or(0);
    // Each path costs at least its 16-byte handle.
    assert!(counted as usize >= 16 * paths, "{m}");
    assert!(counted <= allocated, "{m}");
    // Freed pages go back to the system while the daemon is idle.
    assert_eq!(m["allocator"]["background_thread"], true, "{m}");
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_rampartctl"))
        .arg("--socket")
        .arg(dir.join("ctl.sock"))
        .args(["show", "memory"])
        .output()
        .expect("run rampartctl");
    let text = String::from_utf8_lossy(&text.stdout);
    eprintln!("{text}");
    assert!(text.contains(&format!("{paths} paths")), "{text}");
}

/// `rampartctl show memory --json`.
fn show_memory(dir: &Path) -> serde_json::Value {
    try_show_memory(dir).unwrap_or_else(|e| panic!("{e}"))
}

/// `rampartctl show memory --json`, or why it failed (a query times out
/// while a debug-built shard withdraws a full table).
fn try_show_memory(dir: &Path) -> Result<serde_json::Value, String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampartctl"))
        .arg("--socket")
        .arg(dir.join("ctl.sock"))
        .args(["show", "memory", "--json"])
        .output()
        .map_err(|e| format!("run rampartctl: {e}"))?;
    if !out.status.success() {
        return Err(format!("show memory: {out:?}"));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("show memory JSON: {e}"))
}

/// The end of a log, for failure messages.
fn tail(s: &str) -> &str {
    let mut i = s.len().saturating_sub(4000);
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// Replays `feeds` through rampartd into a BIRD core and checks the core's
/// table per prefix. `tag` names the netns and temp dir.
fn replay_and_check(tag: &str, loadgen: &Path, dir: &Path, feeds: &[Feed]) {
    let t0 = Instant::now();
    for f in feeds {
        assert!(
            !realinput::contains_as(&f.peers, CORE_AS),
            "an input path contains the core's AS {CORE_AS}: pick another"
        );
    }
    let want = expected(feeds);
    let paths: usize = feeds
        .iter()
        .flat_map(|f| &f.peers)
        .map(|p| p.routes.len())
        .sum();
    eprintln!(
        "{tag}: {} prefixes, {paths} paths from {} speakers; {} contested ({} decisive); \
         {} routes without a usable next hop; reference computed in {:.1} s",
        want.best.len(),
        feeds.iter().map(|f| f.peers.len()).sum::<usize>(),
        want.contested,
        want.decisive,
        want.unsendable,
        t0.elapsed().as_secs_f64()
    );
    let ns = Netns::new(tag).unwrap();
    let rampartd = rampart_tests::harness::start_rampartd(
        &ns,
        env!("CARGO_BIN_EXE_rampartd"),
        dir,
        &rampartd_conf(dir, feeds),
    )
    .unwrap();
    let core = Bird::start(&ns, &dir.join("core"), &core_conf()).unwrap();
    let t_send = Instant::now();
    let gens: Vec<Child> = feeds
        .iter()
        .enumerate()
        .map(|(k, f)| start_loadgen(&ns, loadgen, dir, k, f))
        .collect();
    let logs = |e: String| -> String {
        let lg: String = gens.iter().map(|g| tail(&g.log()).to_string()).collect();
        format!(
            "{e}\n--- rampartd:\n{}\n--- loadgen:\n{lg}\n--- core:\n{}",
            tail(&rampartd.log()),
            tail(&core.log())
        )
    };
    // Generous: debug-built rampartd, 2 shared cores.
    let timeout = Duration::from_secs(120 + (paths / 1000) as u64);
    // Fails at once when a speaker session is lost (the load generator
    // prints "down" and holds on).
    let reached = wait_for(
        &format!("{} routes in BIRD", want.best.len()),
        timeout,
        || {
            if core.route_count() == Some(want.best.len()) {
                return Some(Ok(()));
            }
            let lost = gens.iter().any(|g| g.log().contains(" down: "));
            lost.then(|| {
                Err(format!(
                    "a speaker session was lost; BIRD has {:?} routes",
                    core.route_count()
                ))
            })
        },
    );
    if let Err(e) = reached.and_then(|r| r) {
        panic!("{}", logs(e));
    }
    let converged = t_send.elapsed();
    // Every speaker's routes are in, and the core has stopped changing.
    let per_speaker: Vec<(String, usize)> = feeds
        .iter()
        .flat_map(|f| {
            f.peers.iter().enumerate().map(|(i, p)| {
                let n = p.routes.iter().filter(|(k, a)| sendable(k, a)).count();
                (f.speaker(i).to_string(), n)
            })
        })
        .collect();
    let received = wait_for("every speaker's routes at rampartd", timeout, || {
        let peers = show_peers(dir);
        per_speaker
            .iter()
            .all(|(a, n)| peers.get(a).is_some_and(|p| p["prefixes_received"] == *n))
            .then_some(())
    });
    if let Err(e) = received {
        panic!("{}", logs(format!("{e}: {:?}", show_peers(dir))));
    }
    check_memory(dir, &per_speaker, want.best.len());
    let mut last = (core.received("rserver", "Import updates"), Instant::now());
    wait_for("the core to settle", timeout, || {
        let now = core.received("rserver", "Import updates");
        if now != last.0 {
            last = (now, Instant::now());
        }
        (last.1.elapsed() >= Duration::from_secs(2)).then_some(())
    })
    .unwrap_or_else(|e| panic!("{}", logs(e)));
    eprintln!(
        "{tag}: the core holds {} prefixes {:.1} s after the speakers started",
        want.best.len(),
        converged.as_secs_f64()
    );

    let dump = Duration::from_secs(60);
    let mut got = bird_mrt_table(&core, "master4", &dir.join("core4.mrt"), dump)
        .unwrap_or_else(|e| panic!("{}", logs(e)));
    if want.best.keys().any(|p| matches!(p, Prefix::V6(_))) {
        got.extend(
            bird_mrt_table(&core, "master6", &dir.join("core6.mrt"), dump)
                .unwrap_or_else(|e| panic!("{}", logs(e))),
        );
    }
    let report = compare(&want, &got);
    drop(gens);
    // The speakers are gone: their paths leave at once, the emptied tables
    // give their room back, and the attribute sets go within one
    // collection period (10 s), although no new set arrives to make the
    // interner collect by itself.
    let mut last = serde_json::Value::Null;
    wait_for(
        "rampartd to give the speakers' memory back",
        Duration::from_secs(60),
        || {
            last = try_show_memory(dir).unwrap_or_else(serde_json::Value::String);
            let empty = last["tables"]["paths"] == 0 && last["received_sets"]["sets"] == 0;
            let counted = last["counted_bytes"].as_u64().unwrap_or(u64::MAX);
            (empty && counted < 1 << 20).then_some(())
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {last}\n--- rampartd:\n{}", tail(&rampartd.log())));
    drop((core, rampartd));
    drop(ns);
    assert!(report.is_empty(), "{tag}: {report}");
    eprintln!(
        "{tag}: {} prefixes checked: prefix set, attributes and RFC 4271 best path all agree \
         ({:.1} s in all)",
        want.best.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// Every difference between the core's table and the expected one, as a
/// message naming counts and up to 10 examples; empty when they agree.
fn compare(want: &Expected, got: &HashMap<Prefix, Vec<Arc<PathAttributes>>>) -> String {
    let mut missing = 0usize;
    let mut wrong = 0usize;
    let mut examples = Vec::new();
    let mut note = |s: String| {
        if examples.len() < 10 {
            examples.push(s);
        }
    };
    for (prefix, (speaker, attrs)) in &want.best {
        match got.get(prefix).map(Vec::as_slice) {
            None | Some([]) => {
                missing += 1;
                note(format!(
                    "{prefix} missing at the core (expected from {speaker})"
                ));
            }
            Some([one]) => {
                if let Some(d) = diff_route(attrs, one) {
                    wrong += 1;
                    note(format!("{prefix}: expected the path of {speaker}: {d}"));
                }
            }
            Some(many) => {
                wrong += 1;
                note(format!("{prefix}: the core holds {} paths", many.len()));
            }
        }
    }
    let extra: Vec<&Prefix> = got.keys().filter(|p| !want.best.contains_key(p)).collect();
    if let Some(p) = extra.first() {
        note(format!("{p} at the core but in no input"));
    }
    if missing + wrong + extra.len() == 0 {
        return String::new();
    }
    format!(
        "{missing} prefixes missing, {} extra, {wrong} with other attributes than the \
         RFC 4271 best input path; e.g.\n  {}",
        extra.len(),
        examples.join("\n  ")
    )
}

#[test]
fn full_ipv4_table_from_one_peer_reaches_the_core_attribute_identical() {
    let test = "full_ipv4_table_from_one_peer";
    let Some((mrt, loadgen)) = prerequisites(test) else {
        return;
    };
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let src = mrt.join("ripe-ncc-bgpdump/updates.et-header.2015.gz");
    let (peers, errors) = read_final_tables(&src).unwrap();
    assert_eq!(errors, 0, "decode errors in {}", src.display());
    let peers: Vec<InputPeer> = peers.into_iter().filter(|p| !p.routes.is_empty()).collect();
    assert_eq!(peers.len(), 1, "one peer sends the table");
    let dir = tempdir("realinput-full");
    let rib = dir.join("pch-2015.mrt");
    let limit = realinput::prefix_limit();
    let n = realinput::write_rib_dump(&peers, &rib, limit).unwrap();
    if limit.is_some() {
        eprintln!(
            "{test}: the first {n} of {} prefixes (RAMPART_REALINPUT_PREFIXES is set)",
            peers[0].routes.len()
        );
    }
    // Read back what the speaker will send, so both sides see one table.
    let (peers, _) = read_final_tables(&rib).unwrap();
    assert_eq!(peers[0].routes.len(), n);
    let feeds = [Feed {
        file: rib,
        peers,
        source: Ipv4Addr::new(198, 18, 1, 1),
    }];
    replay_and_check("rifull", &loadgen, &dir, &feeds);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn route_views_peers_compete_and_the_core_gets_the_rfc4271_best_path() {
    let test = "route_views_peers_compete";
    let Some((mrt, loadgen)) = prerequisites(test) else {
        return;
    };
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempdir("realinput-rv");
    let files = [
        (
            "rib.20260730.1400.first41102pfx.trimmed.bz2",
            [198, 18, 1, 1],
        ),
        (
            "rib6.20260730.1400.first11030pfx.trimmed.bz2",
            [198, 18, 2, 1],
        ),
    ];
    let feeds: Vec<Feed> = files
        .iter()
        .enumerate()
        .map(|(k, (name, source))| {
            let src = mrt.join("sighops-asinfo").join(name);
            let (peers, errors) = read_final_tables(&src).unwrap();
            assert_eq!(errors, 0, "decode errors in {}", src.display());
            // Speakers stand for the peers that have routes.
            let keep: Vec<u16> = (0..peers.len())
                .filter(|&i| !peers[i].routes.is_empty())
                .map(|i| u16::try_from(i).unwrap())
                .collect();
            let file = dir.join(format!("rv{k}.mrt"));
            realinput::filter_rib_dump(&src, &file, &keep).unwrap();
            let (peers, _) = read_final_tables(&file).unwrap();
            assert_eq!(peers.len(), keep.len());
            Feed {
                file,
                peers,
                source: Ipv4Addr::from(*source),
            }
        })
        .collect();
    for f in &feeds {
        let full = f.peers.iter().filter(|p| p.routes.len() > 8_000).count();
        assert!(full >= 17, "{}: {full} full-feed peers", f.file.display());
    }
    replay_and_check("rirv", &loadgen, &dir, &feeds);
    let _ = std::fs::remove_dir_all(&dir);
}
