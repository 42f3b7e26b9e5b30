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
