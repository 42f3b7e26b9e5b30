use std::path::Path;

use super::*;

fn parse(src: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("rampart.toml"), src)
}

const GOOD: &str = r#"
[global]
router-id = "192.0.2.1"
local-as = 64500
listen = ["127.0.0.1", "::1"]
port = 1179
workers = 2

[[peer]]
address = "198.18.0.2"
remote-as = 64501
role = "rs-client"
max-prefix = { limit = 100, action = "restart", restart-after = 30 }

[[peer]]
address = "2001:db8::2"
remote-as = 64502
role = "rr-client"
families = ["ipv4-unicast", "ipv6-unicast"]
hold-time = 9
add-path = "send"
refresh-stale-time = 60

[[template]]
name = "tenants"
range = "10.20.0.0/16"
remote-as = "64512-65534"
role = "rs-client"
max-sessions = 50

[[route]]
prefix = "203.0.113.0/24"
aggregate = true
communities = ["64500:1"]
"#;

#[test]
fn good_file_gives_typed_config_with_defaults() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.global.local_as, 64500);
    assert_eq!(c.global.cluster_id, c.global.router_id);
    assert_eq!(c.global.port, 1179);
    assert_eq!(c.peers.len(), 2);
    let p0 = &c.peers[0].session;
    assert_eq!(p0.families, vec![Family::Ipv4Unicast]);
    assert_eq!((p0.timers.hold_time, p0.timers.keepalive), (90, 30));
    assert_eq!(p0.max_prefix.unwrap().restart_after, Some(30));
    let p1 = &c.peers[1].session;
    assert_eq!((p1.timers.hold_time, p1.timers.keepalive), (9, 3));
    assert_eq!(p1.add_path, AddPathMode::Send);
    assert_eq!(
        (p0.timers.refresh_stale, p1.timers.refresh_stale),
        (360, 60)
    );
    // RFC 1997 communities: honoured except toward route server clients.
    assert!(!p0.interpret_communities && p1.interpret_communities);
    let strict = GOOD.replace(
        "max-sessions = 50",
        "max-sessions = 50\ninterpret-communities = true",
    );
    assert!(
        parse(&strict).unwrap().templates[0]
            .session
            .interpret_communities
    );
    assert_eq!(c.templates[0].remote_as, 64512..=65534);
    assert!(c.templates[0].session.passive);
    assert_eq!(c.routes[0].communities, vec![(64500, 1)]);
    assert_eq!(c.routes[0].next_hop, NextHopSetting::SelfAddress);
}

#[test]
fn unknown_key_is_an_error_with_line_and_key() {
    let src = GOOD.replace(
        "role = \"rr-client\"",
        "role = \"rr-client\"\nremote-asn = 1",
    );
    let e = parse(&src).unwrap_err();
    assert!(e.message.contains("unknown field `remote-asn`"), "{e}");
    assert_eq!(e.line, Some(19), "{e}");
    assert_eq!(e.key.as_deref(), Some("peer.remote-asn"), "{e}");
    assert!(e.to_string().starts_with("rampart.toml:19:"), "{e}");
}

#[test]
fn wrong_type_names_the_key() {
    let e = parse(&GOOD.replace("remote-as = 64501", "remote-as = \"x\"")).unwrap_err();
    assert_eq!(e.line, Some(11), "{e}");
    assert_eq!(e.key.as_deref(), Some("peer.remote-as"), "{e}");
}

#[test]
fn semantic_errors_point_at_the_value() {
    let cases = [
        (
            "hold-time = 9",
            "hold-time = 2",
            "hold-time must be 0 or at least 3",
        ),
        (
            "address = \"2001:db8::2\"",
            "address = \"198.18.0.2\"",
            "configured twice",
        ),
        (
            "\"64512-65534\"",
            "\"65534-64512\"",
            "empty or reserved AS range",
        ),
        (
            "role = \"rs-client\"\nmax-sessions",
            "role = \"ebgp\"\nmax-sessions",
            "RFC 8212",
        ),
        ("workers = 2", "workers = 0", "workers must be"),
        (
            "refresh-stale-time = 60",
            "refresh-stale-time = 0",
            "refresh-stale-time must be",
        ),
    ];
    for (from, to, want) in cases {
        let src = GOOD.replace(from, to);
        assert_ne!(src, GOOD, "case {from} did not apply");
        let e = parse(&src).unwrap_err();
        assert!(e.message.contains(want), "{from} -> {to}: {e}");
        assert!(e.line.is_some(), "{e}");
    }
}

#[test]
fn bad_toml_is_reported_with_position() {
    let e = parse("[global\nrouter-id = 1").unwrap_err();
    assert_eq!(e.line, Some(1), "{e}");
}

fn with_policy(dir: &Path, policy: &str, peer_extra: &str) -> Result<Config, ConfigError> {
    std::fs::write(dir.join("p.policy"), policy).unwrap();
    let src = format!(
        "[global]\nrouter-id = \"192.0.2.1\"\nlocal-as = 64500\npolicy-files = [\"p.policy\"]\n\
         [[peer]]\naddress = \"198.18.0.2\"\nremote-as = 64501\nrole = \"rs-client\"\n{peer_extra}\n"
    );
    let conf = dir.join("rampart.toml");
    std::fs::write(&conf, src).unwrap();
    Config::load(&conf)
}

fn scratch(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rampart-config-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn policy_files_load_relative_to_the_config_and_filters_must_exist() {
    let dir = scratch("policy");
    let ok = with_policy(&dir, "filter f { accept; }", "import = [\"f\"]").unwrap();
    let p = ok.policy.as_ref().unwrap();
    assert!(p.policy.filter_id("f").is_some());
    assert_eq!(p.files, vec![dir.join("p.policy")]);

    let e = with_policy(&dir, "filter f { accept; }", "export = [\"g\"]").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("export"));
    assert!(e.message.contains("\"g\" is not defined"), "{e}");

    // A type error names the policy file, line and column.
    let e = with_policy(&dir, "filter f {\n  if prefix == 1 then accept;\n}", "").unwrap_err();
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(4), Some("global.policy-files"))
    );
    assert!(e.message.contains("p.policy:2:"), "{e}");

    // A failing test block refuses the file.
    let failing = "filter f { reject \"no\"; }\ntest \"t\" { filter f;\n route { prefix 192.0.2.0/24; as-path 1; next-hop 192.0.2.1; from-peer 192.0.2.1 as 1; }\n expect accept; }";
    let e = with_policy(&dir, failing, "").unwrap_err();
    assert!(e.message.contains("policy tests failed (1 of 1)"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn allowed_prefixes_take_the_policy_set_forms() {
    let dir = scratch("allowed");
    let c = with_policy(
        &dir,
        "filter f { accept; }",
        "allowed-prefixes = [\"203.0.113.0/24\", \"198.51.100.0/24{25,32}\", \"2001:db8::/32 or-longer\"]",
    )
    .unwrap();
    let set = &c.peers[0].session.allowed_prefixes.as_ref().unwrap().set;
    let p = |s: &str| rampart_core::nlri::Prefix::from(s.parse::<ipnet::IpNet>().unwrap());
    assert!(set.contains(&p("203.0.113.0/24")));
    assert!(!set.contains(&p("203.0.113.0/25")));
    assert!(set.contains(&p("198.51.100.7/32")));
    assert!(!set.contains(&p("198.51.100.0/24")));
    assert!(set.contains(&p("2001:db8:1::/48")));
    let e = with_policy(
        &dir,
        "filter f { accept; }",
        "allowed-prefixes = [\"10.0.0.0/8{4,9}\"]",
    )
    .unwrap_err();
    assert_eq!(e.line, Some(9));
    assert!(e.message.contains("does not fit"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rpki_caches_take_defaults_and_bad_values_point_at_the_key() {
    let cache = "\n[[rpki-cache]]\naddress = \"192.0.2.10\"\n";
    let c = parse(&format!("{GOOD}{cache}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.rpki_caches,
        [RpkiCacheConfig {
            address: "192.0.2.10:323".parse().unwrap_or_else(|_| unreachable!()),
            retry: 30,
            expire: 7200,
        }]
    );
    let full = format!("{cache}port = 3323\nretry = 5\nexpire = 600\n");
    let c = parse(&format!("{GOOD}{full}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.rpki_caches
            .first()
            .map(|r| (r.address.port(), r.retry, r.expire)),
        Some((3323, 5, 600))
    );
    let cases = [
        (
            format!("{cache}expire = 60\n"),
            "expire must be",
            "rpki-cache.expire",
        ),
        (
            format!("{cache}retry = 0\n"),
            "retry must be",
            "rpki-cache.retry",
        ),
        (format!("{cache}{cache}"), "configured twice", "rpki-cache"),
        (
            format!("{cache}refresh = 5\n"),
            "unknown field",
            "rpki-cache.refresh",
        ),
    ];
    for (extra, want, key) in cases {
        let e = parse(&format!("{GOOD}{extra}")).unwrap_err();
        assert!(e.message.contains(want), "{extra}: {e}");
        assert!(e.line.is_some(), "{e}");
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
    }
}

#[test]
fn metrics_and_mrt_dump_settings() {
    let extra = "metrics-listen = \"127.0.0.1:9179\"\nmrt-dump = { file = \"dumps/rib.%Y%m%d.%H%M.mrt\", interval = 900 }\n";
    let src = GOOD.replace("workers = 2\n", &format!("workers = 2\n{extra}"));
    assert_ne!(src, GOOD);
    let c = Config::parse(Path::new("/etc/rampart/rampart.toml"), &src)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.global.metrics_listen, "127.0.0.1:9179".parse().ok());
    assert_eq!(
        c.global.mrt_dump,
        Some(MrtDumpConfig {
            file: "/etc/rampart/dumps/rib.%Y%m%d.%H%M.mrt".to_string(),
            interval: 900,
        })
    );
    for (bad, want) in [
        ("interval = 900", "interval = 0"),
        ("rib.%Y%m%d", "rib.%Q%m%d"),
    ] {
        let e = parse(&src.replace(bad, want)).unwrap_err();
        assert!(e.message.contains("mrt-dump"), "{want}: {e}");
        assert_eq!(e.key.as_deref(), Some("global.mrt-dump"), "{e}");
    }
    let e = parse(&src.replace("127.0.0.1:9179", "localhost")).unwrap_err();
    assert_eq!(e.key.as_deref(), Some("global.metrics-listen"), "{e}");
}
