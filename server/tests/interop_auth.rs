//! TCP-MD5 (RFC 2385) and GTSM (RFC 5082) between rampartd and real BGP
//! speakers, each scenario in its own network namespace on 198.18.0.0/16:
//! - BIRD, GoBGP, FRR and os-ken establish with the right key, and never
//!   with a wrong or missing one (a bounded wait, then the session is
//!   asserted not Established on both sides);
//! - a dynamic-neighbor template with a key accepts a keyed speaker from
//!   its range and neither an unkeyed one from the range nor a keyed one
//!   from outside it;
//! - with `ttl-security = 0`, a speaker sending TTL 64 is never
//!   established and one sending TTL 255 (BIRD `ttl security on`) is.
//!
//! TCP-AO needs a kernel with CONFIG_TCP_AO: see ao_vm.rs.

use std::path::Path;
use std::time::Duration;

use rampart_tests::harness::bird::FAST_TIMERS;
use rampart_tests::harness::{
    Bird, Child, Frr, GoBgp, Netns, RampartdConfig, frr, gobgp, missing_prerequisite, tempdir,
    wait_for,
};

const RS: &str = "198.18.0.1";
/// How long a session with a bad key is given to (wrongly) come up: the
/// speakers retry every second, so several attempts fall in it.
const REFUSED_WAIT: Duration = Duration::from_secs(6);

fn start_rampartd(ns: &Netns, dir: &Path, config: &str) -> Child {
    rampart_tests::harness::start_rampartd(ns, env!("CARGO_BIN_EXE_rampartd"), dir, config).unwrap()
}

/// `rampartctl show peers --json`.
fn show_peers(dir: &Path) -> Vec<serde_json::Value> {
    rampart_tests::harness::show_peers(env!("CARGO_BIN_EXE_rampartctl"), dir)
}

fn state(dir: &Path, peer: &str) -> Option<String> {
    show_peers(dir)
        .into_iter()
        .find(|r| r["address"] == peer)
        .and_then(|r| r["state"].as_str().map(str::to_string))
}

fn wait_established(dir: &Path, peer: &str, log: impl Fn() -> String) {
    wait_for(
        &format!("{peer} Established"),
        Duration::from_secs(20),
        || (state(dir, peer).as_deref() == Some("Established")).then_some(()),
    )
    .unwrap_or_else(|e| panic!("{e}\n{:#?}\n{}", show_peers(dir), log()));
}

/// No peer in `peers` reaches Established during [`REFUSED_WAIT`].
fn never_established(dir: &Path, peers: &[&str], log: impl Fn() -> String) {
    let up = wait_for("a refused peer Established", REFUSED_WAIT, || {
        peers
            .iter()
            .find(|p| state(dir, p).as_deref() == Some("Established"))
    });
    if let Ok(p) = up {
        panic!(
            "{p} came up with a wrong or missing key\n{:#?}\n{}",
            show_peers(dir),
            log()
        );
    }
}

fn bird_conf(me: &str, asn: u32, extra: &str) -> String {
    format!(
        "router id {me};
protocol device {{}}
protocol bgp rs1 {{ local {me} as {asn}; neighbor {RS} as 64500; multihop; strict bind yes;
  {extra} {FAST_TIMERS} ipv4 {{ import all; export none; }}; }}"
    )
}

fn skip(bins: &[&str]) -> bool {
    match missing_prerequisite(bins) {
        Some(why) => {
            eprintln!("skipping: {why}");
            true
        }
        None => false,
    }
}

#[test]
fn md5_with_bird_and_gobgp_right_key_only() {
    if skip(&["bird", "birdc", "gobgpd", "gobgp", "ip"]) {
        return;
    }
    let dir = tempdir("interop-auth-md5");
    let ns = Netns::new("amd5").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        // BIRD connects to rampartd's keyed listener.
        .passive_peer("198.18.0.2", 64502, "rs-client", "password = \"bird-key\"")
        .passive_peer("198.18.0.3", 64503, "rs-client", "password = \"bird-key\"")
        .passive_peer("198.18.0.4", 64504, "rs-client", "password = \"bird-key\"")
        // rampartd connects to passive GoBGPs: the key is on its active socket.
        .active_peer("198.18.0.5", 64505, "rs-client", "password = \"gobgp-key\"")
        .active_peer("198.18.0.6", 64506, "rs-client", "password = \"gobgp-key\"")
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let bird = |ip: &str, asn, extra: &str| {
        Bird::start(&ns, &dir.join(ip), &bird_conf(ip, asn, extra)).unwrap()
    };
    let good = bird("198.18.0.2", 64502, "password \"bird-key\";");
    let wrong = bird("198.18.0.3", 64503, "password \"not-the-key\";");
    let missing = bird("198.18.0.4", 64504, "");
    let gconf = |ip: &str, asn, pw: Option<&str>| {
        let mut c = gobgp::passive(&gobgp::config(asn, ip, &[(RS, 64500)], false));
        if let Some(pw) = pw {
            c = c.replace(
                "[neighbors.config]\n",
                &format!("[neighbors.config]\n    auth-password = \"{pw}\"\n"),
            );
        }
        c
    };
    let ggood = GoBgp::start(
        &ns,
        &dir.join("g5"),
        &gconf("198.18.0.5", 64505, Some("gobgp-key")),
    )
    .unwrap();
    let gwrong = GoBgp::start(
        &ns,
        &dir.join("g6"),
        &gconf("198.18.0.6", 64506, Some("nope")),
    )
    .unwrap();
    let log = || {
        format!(
            "--- rampartd:\n{}\n--- bird wrong:\n{}\n--- gobgp wrong:\n{}",
            rampartd.log(),
            wrong.log(),
            gwrong.log()
        )
    };
    wait_established(&dir, "198.18.0.2", log);
    wait_established(&dir, "198.18.0.5", log);
    assert!(ggood.is_established(RS), "{}", ggood.log());
    never_established(&dir, &["198.18.0.3", "198.18.0.4", "198.18.0.6"], log);
    assert_ne!(wrong.protocol_info("rs1").as_deref(), Some("Established"));
    assert_ne!(missing.protocol_info("rs1").as_deref(), Some("Established"));
    assert!(!gwrong.is_established(RS));
    // The kernel counted the dropped segments, and show peers says so
    // without a key in sight.
    let rows = show_peers(&dir);
    let row = rows.iter().find(|r| r["address"] == "198.18.0.3").unwrap();
    assert_eq!(row["auth"], "md5", "{row:#?}");
    let c = &row["auth_failures_global"];
    let dropped = ["md5_failure", "md5_not_found", "md5_unexpected"]
        .iter()
        .map(|k| c[k].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert!(dropped > 0, "{row:#?}");
    let all = serde_json::to_string(&rows).unwrap();
    assert!(
        !all.contains("bird-key") && !all.contains("gobgp-key"),
        "{all}"
    );
    assert!(!rampartd.log().contains("bird-key"));
    drop((good, wrong, missing, ggood, gwrong, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn md5_with_frr_then_a_wrong_and_a_missing_key_bring_it_down() {
    if skip(&["zebra", "bgpd", "vtysh", "ip"]) {
        return;
    }
    const FRR: &str = "198.18.0.7";
    let dir = tempdir("interop-auth-frr");
    let ns = Netns::new("afrr").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .active_peer(FRR, 64507, "rs-client", "password = \"frr-key\"")
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let fdir = dir.join("frr");
    std::fs::create_dir_all(&fdir).unwrap();
    let fconf = format!(
        "frr defaults traditional\nhostname s\nlog file {}/bgpd.log informational\nrouter bgp 64507\n bgp router-id {FRR}\n{}{} neighbor {RS} password frr-key\n",
        fdir.display(),
        frr::GLOBAL_LINES,
        frr::neighbor_lines(RS, 64500, FRR),
    );
    let f = Frr::start(&ns, &fdir, &[FRR], &fconf).unwrap();
    let log = || format!("--- rampartd:\n{}\n--- frr:\n{}", rampartd.log(), f.log());
    wait_established(&dir, FRR, log);
    for change in [
        format!("neighbor {RS} password wrong-key"),
        format!("no neighbor {RS} password"),
    ] {
        f.configure(&["router bgp 64507", &change]).unwrap();
        f.vtysh(&format!("clear bgp {RS}")).unwrap();
        wait_for("FRR session down", Duration::from_secs(15), || {
            (state(&dir, FRR).as_deref() != Some("Established")).then_some(())
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", log()));
        never_established(&dir, &[FRR], log);
        assert_ne!(f.neighbor_state(RS).as_deref(), Some("Established"));
    }
    // The right key again: the session comes back.
    f.configure(&[
        "router bgp 64507",
        &format!("neighbor {RS} password frr-key"),
    ])
    .unwrap();
    wait_established(&dir, FRR, log);
    drop((f, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn template_key_accepts_keyed_speakers_from_its_range_only() {
    if skip(&["bird", "birdc", "ip"]) {
        return;
    }
    let dir = tempdir("interop-auth-tmpl");
    let ns = Netns::new("atpl").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .raw(
            "[[template]]\nname = \"keyed\"\nrange = \"198.18.1.0/24\"\nremote-as = \"64510-64520\"\n\
             role = \"rs-client\"\nhold-time = 9\npassword = \"range-key\"\n\
             [[template]]\nname = \"open\"\nrange = \"198.18.2.0/24\"\nremote-as = \"64510-64520\"\n\
             role = \"rs-client\"\nhold-time = 9\n",
        )
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let bird = |ip: &str, asn, extra: &str| {
        Bird::start(&ns, &dir.join(ip), &bird_conf(ip, asn, extra)).unwrap()
    };
    let keyed = bird("198.18.1.2", 64511, "password \"range-key\";");
    let unkeyed = bird("198.18.1.3", 64512, "");
    // Outside the keyed range the listener has no key for it: its signed
    // SYNs are dropped although the "open" template would take it unkeyed.
    let outside = bird("198.18.2.4", 64513, "password \"range-key\";");
    let log = || format!("--- rampartd:\n{}", rampartd.log());
    wait_established(&dir, "198.18.1.2", log);
    assert_eq!(keyed.protocol_info("rs1").as_deref(), Some("Established"));
    never_established(&dir, &["198.18.1.3", "198.18.2.4"], log);
    assert_ne!(unkeyed.protocol_info("rs1").as_deref(), Some("Established"));
    assert_ne!(outside.protocol_info("rs1").as_deref(), Some("Established"));
    drop((keyed, unkeyed, outside, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gtsm_refuses_a_speaker_sending_less_than_ttl_255() {
    if skip(&["bird", "birdc", "ip"]) {
        return;
    }
    let dir = tempdir("interop-auth-gtsm");
    let ns = Netns::new("agtsm").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer("198.18.0.8", 64508, "rs-client", "ttl-security = 0")
        .passive_peer("198.18.0.9", 64509, "rs-client", "ttl-security = 0")
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    // BIRD's multihop sessions send TTL 64 by default; with `ttl security`
    // it sends 255 and expects ≥ 254 (multihop 2) back.
    let bird = |ip: &str, asn, extra: &str| {
        Bird::start(
            &ns,
            &dir.join(ip),
            &bird_conf(ip, asn, extra).replace("multihop;", "multihop 2;"),
        )
        .unwrap()
    };
    let gtsm = bird("198.18.0.8", 64508, "ttl security on;");
    let plain = bird("198.18.0.9", 64509, "");
    let log = || {
        format!(
            "--- rampartd:\n{}\n--- plain:\n{}",
            rampartd.log(),
            plain.log()
        )
    };
    wait_established(&dir, "198.18.0.8", log);
    assert_eq!(gtsm.protocol_info("rs1").as_deref(), Some("Established"));
    never_established(&dir, &["198.18.0.9"], log);
    let row = show_peers(&dir)
        .into_iter()
        .find(|r| r["address"] == "198.18.0.9")
        .unwrap();
    assert_eq!(row["auth"], "none+gtsm(0)", "{row:#?}");
    drop((gtsm, plain, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

const OSKEN_SCRIPT: &str = r#"
import sys, logging
logging.basicConfig(level=logging.INFO)
from os_ken.lib import hub
from os_ken.services.protocols.bgp.bgpspeaker import BGPSpeaker
rs, me, asn, pw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = BGPSpeaker(as_number=asn, router_id=me, bgp_server_port=0,
               peer_up_handler=lambda ip, a: print("up", ip, flush=True),
               peer_down_handler=lambda ip, a: print("down", ip, flush=True))
# Without a local port os-ken does not bind, and its source would be the
# namespace's first address, rampartd's own.
s.neighbor_add(rs, 64500, local_address=me, local_port=40000 + int(me.split(".")[3]),
               enable_ipv6=False,
               password=(pw.encode() if pw else None), connect_mode="active")
s.prefix_add("203.0.113.0/24", next_hop=me)
while True:
    hub.sleep(1)
"#;

/// The Python with os-ken: `$OSKEN_PYTHON`, else `python3` if it imports
/// `os_ken`.
fn osken_python() -> Option<String> {
    let py = std::env::var("OSKEN_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = std::process::Command::new(&py)
        .args(["-c", "import os_ken.services.protocols.bgp.bgpspeaker"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

#[test]
fn md5_with_osken_right_key_only() {
    if skip(&["ip"]) {
        return;
    }
    let Some(py) = osken_python() else {
        eprintln!(
            "skipping: os-ken not importable (pip install os-ken==4.2.2 in a venv and set \
             OSKEN_PYTHON to its python)"
        );
        return;
    };
    let dir = tempdir("interop-auth-osken");
    let ns = Netns::new("aosk").unwrap();
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer(
            "198.18.0.10",
            64510,
            "rs-client",
            "password = \"osken-key\"",
        )
        .passive_peer(
            "198.18.0.11",
            64511,
            "rs-client",
            "password = \"osken-key\"",
        )
        .passive_peer(
            "198.18.0.12",
            64512,
            "rs-client",
            "password = \"osken-key\"",
        )
        .to_string();
    let rampartd = start_rampartd(&ns, &dir, &conf);
    let script = dir.join("speaker.py");
    std::fs::write(&script, OSKEN_SCRIPT).unwrap();
    let speaker = |ip: &str, asn: u32, pw: &str| {
        let mut cmd = ns.command(&py);
        cmd.arg(&script).args([RS, ip, &asn.to_string(), pw]);
        Child::spawn("os-ken", cmd, dir.join(format!("osken-{ip}.log"))).unwrap()
    };
    let good = speaker("198.18.0.10", 64510, "osken-key");
    let wrong = speaker("198.18.0.11", 64511, "wrong");
    let missing = speaker("198.18.0.12", 64512, "");
    let log = || {
        format!(
            "--- rampartd:\n{}\n--- good:\n{}\n--- wrong:\n{}",
            rampartd.log(),
            good.log(),
            wrong.log()
        )
    };
    wait_established(&dir, "198.18.0.10", log);
    never_established(&dir, &["198.18.0.11", "198.18.0.12"], log);
    wait_for("the os-ken prefix", Duration::from_secs(10), || {
        show_peers(&dir)
            .into_iter()
            .find(|r| r["address"] == "198.18.0.10")
            .filter(|r| r["prefixes_received"].as_u64().unwrap_or(0) >= 1)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", log()));
    drop((good, wrong, missing, rampartd));
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rampartd --check` refuses a TCP-AO peer on a kernel without TCP-AO,
/// naming the peer and the missing kernel option, and never prints the
/// secret (this host; the aolab VM has TCP-AO, see ao_vm.rs).
#[test]
fn check_refuses_tcp_ao_without_kernel_support() {
    let peer = "198.18.0.2/32".parse().unwrap();
    if rampart_server::auth::ao_supported(peer).is_ok() {
        eprintln!("skipping: this kernel has TCP-AO");
        return;
    }
    let dir = tempdir("interop-auth-check");
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer(
            "198.18.0.2",
            64502,
            "rs-client",
            "tcp-ao = { keys = [ { send-id = 1, recv-id = 1, algorithm = \"hmac-sha1\", \
             secret = \"ao-topsecret\" } ] }",
        )
        .to_string();
    let path = dir.join("rampartd.toml");
    std::fs::write(&path, conf).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampartd"))
        .arg("--config")
        .arg(&path)
        .arg("--check")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("198.18.0.2") && err.contains("kernel lacks TCP-AO (CONFIG_TCP_AO)"),
        "{err}"
    );
    assert!(!err.contains("ao-topsecret"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
