//! The standard library's `ixp-rs-import` (policy/stdlib) in rampartd with
//! real peers: an ExaBGP speaker, then a GoBGP one, announces routes the
//! policy must accept and one route per reject reason it can send (GoBGP
//! always puts its own AS first, so it cannot send a wrong first AS); the
//! BIRD core (a route server client) gets exactly the accepted set with the
//! right attributes, and `show routes --table in-pre` names each rejected
//! route's reason.

use std::collections::BTreeMap;
use std::time::Duration;

use rampart_tests::harness::bird;
use rampart_tests::harness::{
    Bird, ExaBgp, GoBgp, Netns, RampartdConfig, exabgp, gobgp, missing_prerequisite, tempdir,
    wait_for,
};

const RS: &str = "198.18.0.1";
const SPEAKER: &str = "198.18.0.2";
const CORE: &str = "198.18.0.3";
/// The speaker's AS: a public one (the policy rejects private ASNs).
const PEER_AS: u32 = 3333;

/// (prefix, ExaBGP attributes, expected reject reason or `None` to accept).
fn routes() -> Vec<(&'static str, String, Option<&'static str>)> {
    let long: Vec<String> = std::iter::repeat_n(PEER_AS.to_string(), 33).collect();
    vec![
        (
            "193.0.0.0/21",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} 1103 ]"),
            None,
        ),
        (
            "193.0.8.0/24",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} ] community [ 65535:0 ]"),
            None,
        ),
        (
            "193.0.10.1/32",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} ] community [ 65535:666 ]"),
            None,
        ),
        (
            "193.0.16.0/24",
            format!("next-hop {SPEAKER} as-path [ 1103 {PEER_AS} ]"),
            Some("first AS is not the peer AS"),
        ),
        (
            "193.0.17.0/24",
            format!("next-hop 198.18.0.99 as-path [ {PEER_AS} ]"),
            Some("next hop is not the peer address"),
        ),
        (
            "193.0.18.0/24",
            format!("next-hop {SPEAKER} as-path [ {} ]", long.join(" ")),
            Some("AS path too long"),
        ),
        (
            "193.0.19.0/24",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} 64512 ]"),
            Some("private or reserved AS in path"),
        ),
        (
            "193.0.20.0/24",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} 1299 1103 ]"),
            Some("transit-free AS behind the peer"),
        ),
        (
            "10.1.0.0/16",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} ]"),
            Some("bogon prefix"),
        ),
        (
            "193.0.21.0/25",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} ]"),
            Some("prefix too long"),
        ),
        (
            "4.0.0.0/7",
            format!("next-hop {SPEAKER} as-path [ {PEER_AS} ]"),
            Some("prefix too short"),
        ),
    ]
}

/// The speaker a case runs with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    ExaBgp,
    GoBgp,
}

/// A route as GoBGP's `global rib add` arguments: ExaBGP's attribute text
/// translated, without the leading own AS (GoBGP prepends it).
fn gobgp_args(attrs: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut words = attrs.split_whitespace();
    while let Some(w) = words.next() {
        match w {
            "next-hop" => {
                out.push("nexthop".to_string());
                out.extend(words.next().map(str::to_string));
            }
            "as-path" | "community" => {
                let mut v: Vec<&str> = Vec::new();
                for x in words.by_ref() {
                    match x {
                        "[" => {}
                        "]" => break,
                        x => v.push(x),
                    }
                }
                if w == "as-path" {
                    v.remove(0);
                    if !v.is_empty() {
                        out.extend(["aspath".to_string(), v.join(",")]);
                    }
                } else {
                    out.extend(["community".to_string(), v.join(",")]);
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn ixp_route_server_policy_with_an_exabgp_speaker() {
    run(Kind::ExaBgp);
}

#[test]
fn ixp_route_server_policy_with_a_gobgp_speaker() {
    run(Kind::GoBgp);
}

fn run(kind: Kind) {
    let needs: &[&str] = match kind {
        Kind::ExaBgp => &["exabgp", "bird", "birdc", "ip"],
        Kind::GoBgp => &["gobgpd", "gobgp", "bird", "birdc", "ip"],
    };
    if let Some(why) = missing_prerequisite(needs) {
        eprintln!("skipping: {why}");
        return;
    }
    // GoBGP cannot send a path whose first AS is not its own.
    let routes: Vec<_> = routes()
        .into_iter()
        .filter(|r| kind == Kind::ExaBgp || r.2 != Some("first AS is not the peer AS"))
        .collect();
    let tag = match kind {
        Kind::ExaBgp => "sx",
        Kind::GoBgp => "sg",
    };
    let dir = tempdir(&format!("interop-stdlib-{tag}"));
    let ns = Netns::new(tag).unwrap();
    let stdlib = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policy/stdlib/ixp-route-server.policy"
    );
    let import = "import = [\"ixp-rs-import\"]";
    let conf = RampartdConfig::new(RS, RS, &dir).global(&format!("policy-files = [\"{stdlib}\"]"));
    // GoBGP waits to be connected to; ExaBGP connects.
    let conf = match kind {
        Kind::ExaBgp => conf.passive_peer(SPEAKER, PEER_AS, "rs-client", import),
        Kind::GoBgp => conf.active_peer(SPEAKER, PEER_AS, "rs-client", import),
    }
    .active_peer(CORE, 64502, "rs-client", "");
    let rampartd = rampart_tests::harness::start_rampartd(
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
    let statics: String = routes
        .iter()
        .map(|(p, attrs, _)| format!("    route {p} {attrs};\n"))
        .collect();
    let exabgp_conf = format!(
        "neighbor {RS} {{
  router-id {SPEAKER};
  local-address {SPEAKER};
  local-as {PEER_AS};
  peer-as 64500;
  hold-time 9;
  family {{ ipv4 unicast; }}
  {}
  static {{
{statics}  }}
}}
",
        exabgp::API_BLOCK
    );
    let mut exa = None;
    let mut gob = None;
    match kind {
        Kind::ExaBgp => exa = Some(ExaBgp::start(&ns, &dir.join("speaker"), &exabgp_conf).unwrap()),
        Kind::GoBgp => {
            let g = GoBgp::start(
                &ns,
                &dir.join("speaker"),
                &gobgp::passive(&gobgp::config(PEER_AS, SPEAKER, &[(RS, 64500)], false)),
            )
            .unwrap();
            for (p, attrs, _) in &routes {
                let args = gobgp_args(attrs);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                g.add_route(p, &args).unwrap();
            }
            gob = Some(g);
        }
    }

    let accepted: Vec<&str> = {
        let mut a: Vec<&str> = routes
            .iter()
            .filter(|r| r.2.is_none())
            .map(|r| r.0)
            .collect();
        a.sort_unstable();
        a
    };
    // The core gets exactly the accepted set; it has settled when every
    // announced route is in rampartd's Adj-RIB-In.
    let ctl = |args: &[&str]| -> serde_json::Value {
        let out = rampart_tests::harness::rampartctl(env!("CARGO_BIN_EXE_rampartctl"), &dir, args);
        serde_json::from_str(&out.unwrap_or_default()).unwrap_or(serde_json::Value::Null)
    };
    let pre = wait_for("all routes at rampartd", Duration::from_secs(30), || {
        let v = ctl(&["show", "routes", "--table", "in-pre", "--json"]);
        (v.as_array()?.len() == routes.len()).then_some(v)
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", rampartd.log()));
    let got = wait_for("the core's table", Duration::from_secs(30), || {
        let r = core.routes().ok()?;
        let mut p: Vec<String> = r.iter().map(|x| x.prefix.clone()).collect();
        p.sort();
        (p == accepted).then_some(r)
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", core.routes(), rampartd.log()));

    // Each rejected route with its reason, each accepted one unfiltered.
    let reasons: BTreeMap<String, Option<String>> = pre
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["prefix"].as_str().unwrap().to_string(),
                r["reason"].as_str().map(str::to_string),
            )
        })
        .collect();
    for (prefix, _, want) in &routes {
        assert_eq!(
            reasons.get(*prefix).cloned().flatten().as_deref(),
            *want,
            "{prefix}: {pre:#}"
        );
    }
    // RFC 7999 blackhole: the policy's next hop and NO_EXPORT added.
    let bh = got.iter().find(|r| r.prefix == "193.0.10.1/32").unwrap();
    assert_eq!(bh.next_hop.as_deref(), Some("192.0.2.66"), "{bh:?}");
    assert!(bh.communities.contains(&(65535, 65281)), "{bh:?}");
    // Otherwise transparent: AS path and next hop as announced.
    let plain = got.iter().find(|r| r.prefix == "193.0.0.0/21").unwrap();
    assert_eq!(plain.as_path, vec![PEER_AS, 1103]);
    assert_eq!(plain.next_hop.as_deref(), Some(SPEAKER));
    // RFC 8326 GRACEFUL_SHUTDOWN: local-pref 0 in rampartd's Adj-RIB-In
    // after policy (an eBGP core never sees LOCAL_PREF).
    let post = ctl(&[
        "show",
        "routes",
        "193.0.8.0/24",
        "--table",
        "in-post",
        "--json",
    ]);
    assert_eq!(post[0]["local_pref"], 0, "{post:#}");
    drop((exa, gob, core, rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
