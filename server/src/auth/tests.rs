//! Socket-level tests on loopback: TCP-MD5 works on this kernel; TCP-AO is
//! checked for its error here and for real in the aolab VM (tests/ao_vm.rs).

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::time::{Duration, SystemTime};

use socket2::{Domain, Socket, Type};

use super::*;

fn listener(addr: &str, set: impl FnOnce(&Socket)) -> (TcpListener, SocketAddr) {
    let sa: SocketAddr = addr.parse().unwrap();
    let s = Socket::new(Domain::for_address(sa), Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&sa.into()).unwrap();
    set(&s);
    s.listen(8).unwrap();
    let l: TcpListener = s.into();
    let local = l.local_addr().unwrap();
    (l, local)
}

/// Connects from `from` to `to` with `set` applied first; true when the
/// handshake completes within 1.5 s.
fn connects(from: &str, to: SocketAddr, set: impl FnOnce(&Socket)) -> bool {
    let from: SocketAddr = from.parse().unwrap();
    let s = Socket::new(Domain::for_address(to), Type::STREAM, None).unwrap();
    s.bind(&from.into()).unwrap();
    set(&s);
    s.connect_timeout(&to.into(), Duration::from_millis(1500))
        .is_ok()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn md5_matching_keys_connect_and_wrong_or_missing_keys_do_not() {
    let key = Secret::new(*b"rampart-md5");
    let (_l, to) = listener("127.0.0.1:0", |s| {
        md5_set(s, net("127.0.0.2/32"), &key).unwrap();
    });
    assert!(connects("127.0.0.2:0", to, |s| {
        md5_set(s, net("127.0.0.1/32"), &key).unwrap();
    }));
    assert!(!connects("127.0.0.2:0", to, |s| {
        md5_set(s, net("127.0.0.1/32"), &Secret::new(*b"wrong")).unwrap();
    }));
    assert!(!connects("127.0.0.2:0", to, |_| {}));
}

#[test]
fn md5_prefix_key_covers_a_range_and_nothing_outside_it() {
    let key = Secret::new(*b"range-key");
    let (_l, to) = listener("127.0.0.1:0", |s| {
        md5_set(s, net("127.0.1.0/24"), &key).unwrap();
    });
    let keyed = |s: &Socket| md5_set(s, net("127.0.0.1/32"), &key).unwrap();
    assert!(connects("127.0.1.9:0", to, keyed));
    assert!(connects("127.0.1.200:0", to, keyed));
    assert!(!connects("127.0.1.9:0", to, |_| {}));
    // Outside the range the listener has no key: a keyed SYN is dropped.
    assert!(!connects("127.0.2.9:0", to, keyed));
}

#[test]
fn md5_works_over_ipv6() {
    let key = Secret::new(*b"v6-key");
    let (_l, to) = listener("[::1]:0", |s| md5_set(s, net("::1/128"), &key).unwrap());
    assert!(connects("[::1]:0", to, |s| md5_set(
        s,
        net("::1/128"),
        &key
    )
    .unwrap()));
    assert!(!connects("[::1]:0", to, |_| {}));
}

#[test]
fn gtsm_sets_ttl_255_and_the_minimum_both_families() {
    for (addr, v6) in [("127.0.0.1:0", false), ("[::1]:0", true)] {
        let sa: SocketAddr = addr.parse().unwrap();
        let s = Socket::new(Domain::for_address(sa), Type::STREAM, None).unwrap();
        gtsm_set(&s, host_net(sa.ip()), v6, 1).unwrap();
        assert_eq!(gtsm_get(&s, v6).unwrap(), (255, 254), "{addr}");
        gtsm_set(&s, host_net(sa.ip()), v6, 0).unwrap();
        assert_eq!(gtsm_get(&s, v6).unwrap(), (255, 255), "{addr}");
    }
}

fn ao_cfg(alg: AoAlgorithm) -> AoConfig {
    AoConfig {
        keys: vec![AoKey {
            send_id: 7,
            recv_id: 8,
            algorithm: alg,
            secret: Secret::new(*b"ao-key"),
            valid_from: None,
            valid_until: None,
        }],
        current: None,
        rnext: None,
    }
}

#[test]
fn ao_is_refused_naming_the_peer_when_the_kernel_lacks_it() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let peer = net("192.0.2.9/32");
    let r = ao_set(
        &s,
        peer,
        &ao_cfg(AoAlgorithm::HmacSha1),
        false,
        SystemTime::now(),
    );
    match ao_supported(peer) {
        Ok(()) => r.unwrap(),
        Err(probe) => {
            let e = r.unwrap_err().to_string();
            assert!(
                e.contains("192.0.2.9") && e.contains("CONFIG_TCP_AO"),
                "{e}"
            );
            assert_eq!(probe.to_string(), e);
        }
    }
}

#[test]
fn ao_keys_outside_their_validity_are_not_installed() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let mut cfg = ao_cfg(AoAlgorithm::CmacAes128);
    let now = SystemTime::now();
    cfg.keys[0].valid_until = Some(now);
    let e = ao_set(&s, net("192.0.2.9/32"), &cfg, false, now).unwrap_err();
    assert!(e.to_string().contains("no TCP-AO key is valid"), "{e}");
    assert!(cfg.keys[0].valid_at(now - Duration::from_secs(1)));
}

#[test]
fn debug_output_never_shows_a_secret() {
    let auth = AuthConfig {
        md5: Some(Secret::new(*b"md5-sekrit")),
        ao: Some(ao_cfg(AoAlgorithm::HmacSha256)),
        ttl_security: Some(1),
    };
    let d = format!("{auth:?} {auth:#?}");
    assert!(!d.contains("sekrit") && !d.contains("ao-key"), "{d}");
    assert!(d.contains("redacted"), "{d}");
    assert_eq!(auth.label(), "md5+gtsm(1)");
}

#[test]
fn algorithm_names_map_to_the_kernel_crypto_names() {
    for (cfg, k) in [
        ("hmac-sha1", "hmac(sha1)"),
        ("cmac-aes128", "cmac(aes128)"),
        ("hmac-sha256", "hmac(sha256)"),
    ] {
        assert_eq!(
            AoAlgorithm::from_config_name(cfg).map(AoAlgorithm::kernel_name),
            Some(k)
        );
    }
    assert_eq!(AoAlgorithm::from_config_name("md5"), None);
    let _ = IpAddr::from([0, 0, 0, 0]);
}

#[test]
fn dual_stack_listener_keys_ipv4_peers_as_mapped_addresses() {
    let key = Secret::new(*b"mapped-key");
    let auth = AuthConfig {
        md5: Some(key.clone()),
        ao: None,
        ttl_security: Some(0),
    };
    let (l, to) = listener("[::]:0", |s| {
        let fam = ListenFamily::of("::".parse().unwrap());
        apply_listener(s, fam, [(net("127.0.3.0/24"), &auth)], SystemTime::now()).unwrap();
    });
    let to = SocketAddr::new("127.0.0.1".parse().unwrap(), to.port());
    assert!(connects("127.0.3.7:0", to, |s| md5_set(
        s,
        net("127.0.0.1/32"),
        &key
    )
    .unwrap()));
    assert!(!connects("127.0.3.8:0", to, |_| {}));
    // GTSM on the accepted mapped connection uses the IPv4 options.
    let (conn, from) = l.accept().unwrap();
    assert!(from.ip().to_canonical().is_ipv4(), "{from}");
    apply_accepted(&conn, from.ip(), &auth).unwrap();
    assert_eq!(gtsm_get(&conn, false).unwrap(), (255, 255));
}
