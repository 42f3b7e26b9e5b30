//! TCP-AO (RFC 5925/5926) end to end, inside the aolab VM (a Linux 6.12
//! guest with CONFIG_TCP_AO; this host's kernel has none). On the host,
//! `tcp_ao_in_the_aolab_vm` boots the VM (../shared/tools/aolab) and runs
//! `vm_scenarios` of this same test binary in it; it skips with a message
//! when /dev/kvm or aolab is absent. Inside the VM (`AOLAB_IN_VM=1`) one
//! rampartd runs against small Rust BGP speakers whose sockets carry TCP-AO
//! keys through `rampart_server::auth`:
//! - a session per algorithm (hmac-sha1, cmac-aes128, hmac-sha256) with
//!   matching keys establishes, rampartd connecting to one of them;
//! - a wrong secret and an unknown key id never establish;
//! - key rollover on a live session: the speaker adds the new key, asks
//!   for it (RNextKeyID), switches to it and deletes the old one; rampartd
//!   follows (Linux switches the current key on the peer's RNextKeyID) and
//!   the session stays Established throughout.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use ipnet::IpNet;
use rampart_server::auth::{self, AoAlgorithm, AoConfig, AoKey, AuthConfig, Secret};
use rampart_tests::harness::{Child, RampartdConfig, wait_for};
use socket2::{Domain, Socket, Type};

const RS: &str = "127.0.0.1";
const SHA1_KEY: &str = "sha1-secret-0001";
const CMAC_KEY: &str = "0123456789abcdef";
const SHA256_KEY: &str = "sha256-secret-00";

#[test]
fn tcp_ao_in_the_aolab_vm() {
    if std::env::var_os("AOLAB_IN_VM").is_some() {
        return; // vm_scenarios is what runs in the VM
    }
    let aolab = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/tools/aolab/run-in-vm.sh"
    ));
    if !Path::new("/dev/kvm").exists() {
        eprintln!("skipping: /dev/kvm absent, the TCP-AO VM test needs the aolab VM");
        return;
    }
    if !aolab.exists() {
        eprintln!("skipping: {} not found", aolab.display());
        return;
    }
    let exe = std::env::current_exe().unwrap();
    // …/target/debug/deps/ao_vm-HASH → …/target
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let out = std::process::Command::new(aolab)
        .args(["-t", "600", "--share"])
        .arg(&target)
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg(&exe)
        .args(["vm_scenarios", "--exact", "--nocapture", "--test-threads=1"])
        .output()
        .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "VM run failed: {:?}", out.status);
    assert!(text.contains("vm_scenarios: all passed"), "{text}");
}

fn ao(keys: Vec<AoKey>) -> AuthConfig {
    AuthConfig {
        md5: None,
        ao: Some(AoConfig {
            keys,
            current: None,
            rnext: None,
        }),
        ttl_security: None,
    }
}

fn key(id: u8, alg: AoAlgorithm, secret: &str) -> AoKey {
    AoKey {
        send_id: id,
        recv_id: id,
        algorithm: alg,
        secret: Secret::new(secret.as_bytes()),
        valid_from: None,
        valid_until: None,
    }
}

/// A BGP OPEN from AS 64501 with hold time 9 and the IPv4-unicast and
/// 4-octet-AS capabilities.
fn open_msg(id: [u8; 4]) -> Vec<u8> {
    let caps = [1, 4, 0, 1, 0, 1, 65, 4, 0, 0, 0xfb, 0xf5];
    let mut body = vec![4, 0xfb, 0xf5, 0, 9];
    body.extend_from_slice(&id);
    body.push(2 + caps.len() as u8);
    body.extend_from_slice(&[2, caps.len() as u8]);
    body.extend_from_slice(&caps);
    msg(1, &body)
}

fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// A minimal BGP speaker on one TCP-AO connection: sends OPEN, then a
/// KEEPALIVE every second, and reads (discarding) what rampartd sends;
/// `alive` goes false when the connection fails.
struct Speaker {
    stream: TcpStream,
    alive: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Speaker {
    fn run(stream: TcpStream, id: [u8; 4]) -> Self {
        let alive = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let mut w = stream.try_clone().unwrap();
        let mut r = stream.try_clone().unwrap();
        let (a, s) = (Arc::clone(&alive), Arc::clone(&stop));
        std::thread::spawn(move || {
            let _ = w.write_all(&open_msg(id));
            while !s.load(Ordering::Relaxed) {
                if w.write_all(&msg(4, &[])).is_err() {
                    a.store(false, Ordering::Relaxed);
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        let a = Arc::clone(&alive);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        a.store(false, Ordering::Relaxed);
                        return;
                    }
                    Ok(_) => {}
                }
            }
        });
        Self {
            stream,
            alive,
            stop,
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Connects from `me` to rampartd with `auth`; None when the handshake
/// does not complete in 3 s.
fn dial(me: &str, auth: &AuthConfig) -> Option<Speaker> {
    let me: IpAddr = me.parse().unwrap();
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.bind(&SocketAddr::new(me, 0).into()).unwrap();
    auth::apply_connect(&s, RS.parse().unwrap(), auth, SystemTime::now()).unwrap();
    let to: SocketAddr = format!("{RS}:179").parse().unwrap();
    s.connect_timeout(&to.into(), Duration::from_secs(3)).ok()?;
    let ip = match me {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(_) => unreachable!(),
    };
    Some(Speaker::run(s.into(), ip))
}

fn show_peers(dir: &Path) -> Vec<serde_json::Value> {
    rampart_tests::harness::show_peers(env!("CARGO_BIN_EXE_rampartctl"), dir)
}

fn established(dir: &Path, peer: &str) -> bool {
    show_peers(dir)
        .iter()
        .any(|r| r["address"] == peer && r["state"] == "Established")
}

fn start_rampartd(dir: &Path, conf: &str) -> Child {
    let path = dir.join("rampartd.toml");
    std::fs::write(&path, conf).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rampartd"));
    cmd.arg("--config").arg(&path).env("RAMPART_LOG", "debug");
    Child::spawn("rampartd", cmd, dir.join("rampartd.log")).unwrap()
}

fn ao_toml(keys: &[(u8, &str, &str)]) -> String {
    let k: Vec<String> = keys
        .iter()
        .map(|(id, alg, s)| {
            format!("{{ send-id = {id}, recv-id = {id}, algorithm = \"{alg}\", secret = \"{s}\" }}")
        })
        .collect();
    format!("tcp-ao = {{ keys = [ {} ] }}", k.join(", "))
}

#[test]
fn vm_scenarios() {
    if std::env::var_os("AOLAB_IN_VM").is_none() {
        eprintln!("vm_scenarios runs only inside the aolab VM (see tcp_ao_in_the_aolab_vm)");
        return;
    }
    let dir = PathBuf::from("/tmp/ao-vm");
    std::fs::create_dir_all(&dir).unwrap();
    let sha1 = ao_toml(&[(1, "hmac-sha1", SHA1_KEY)]);
    let conf = RampartdConfig::new(RS, RS, &dir)
        .passive_peer("127.0.0.11", 64501, "rs-client", &sha1)
        .passive_peer(
            "127.0.0.12",
            64501,
            "rs-client",
            &ao_toml(&[(1, "cmac-aes128", CMAC_KEY)]),
        )
        .passive_peer(
            "127.0.0.13",
            64501,
            "rs-client",
            &ao_toml(&[(1, "hmac-sha256", SHA256_KEY)]),
        )
        .passive_peer("127.0.0.14", 64501, "rs-client", &sha1)
        .passive_peer("127.0.0.15", 64501, "rs-client", &sha1)
        .passive_peer(
            "127.0.0.16",
            64501,
            "rs-client",
            &ao_toml(&[(1, "hmac-sha1", SHA1_KEY), (2, "cmac-aes128", CMAC_KEY)]),
        )
        .active_peer(
            "127.0.0.17",
            64501,
            "rs-client",
            &ao_toml(&[(3, "hmac-sha256", SHA256_KEY)]),
        )
        .raw(&format!(
            "[[template]]\nname = \"ao-range\"\nrange = \"127.0.1.0/24\"\n\
             remote-as = \"64501-64510\"\nrole = \"rs-client\"\nhold-time = 9\n{}\n",
            ao_toml(&[(4, "cmac-aes128", CMAC_KEY)])
        ))
        .to_string();
    let rampartd = start_rampartd(&dir, &conf);
    let log = || rampartd.log();
    // rampartd's listener must be up before the speakers dial.
    wait_for("rampartd control socket", Duration::from_secs(30), || {
        (!show_peers(&dir).is_empty()).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", log()));

    let active = active_speaker();
    let mut speakers = Vec::new();
    for (me, k) in [
        ("127.0.0.11", key(1, AoAlgorithm::HmacSha1, SHA1_KEY)),
        ("127.0.0.12", key(1, AoAlgorithm::CmacAes128, CMAC_KEY)),
        ("127.0.0.13", key(1, AoAlgorithm::HmacSha256, SHA256_KEY)),
    ] {
        let s =
            dial(me, &ao(vec![k])).unwrap_or_else(|| panic!("{me}: no TCP handshake\n{}", log()));
        speakers.push(s);
    }
    for me in ["127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.17"] {
        wait_for(
            &format!("{me} Established"),
            Duration::from_secs(60),
            || established(&dir, me).then_some(()),
        )
        .unwrap_or_else(|e| panic!("{e}\n{:#?}\n{}", show_peers(&dir), log()));
        eprintln!("vm_scenarios: {me} Established");
    }
    drop(active);

    // A template's key covers its whole range (the prefix form of
    // TCP_AO_ADD_KEY on the listener): a keyed speaker from the range is
    // accepted as a dynamic neighbor, an unkeyed one is not.
    let dynamic = dial(
        "127.0.1.5",
        &ao(vec![key(4, AoAlgorithm::CmacAes128, CMAC_KEY)]),
    )
    .unwrap_or_else(|| panic!("dynamic: no TCP handshake\n{}", log()));
    wait_for(
        "dynamic neighbor Established",
        Duration::from_secs(60),
        || established(&dir, "127.0.1.5").then_some(()),
    )
    .unwrap_or_else(|e| panic!("{e}\n{:#?}\n{}", show_peers(&dir), log()));
    assert!(dial("127.0.1.6", &AuthConfig::default()).is_none());
    assert!(!established(&dir, "127.0.1.6"));
    eprintln!("vm_scenarios: template range key accepts 127.0.1.5, refuses unkeyed 127.0.1.6");
    drop(dynamic);

    // Wrong secret, and a key id rampartd does not know: no handshake.
    assert!(
        dial(
            "127.0.0.14",
            &ao(vec![key(1, AoAlgorithm::HmacSha1, "wrong-secret")])
        )
        .is_none()
    );
    assert!(
        dial(
            "127.0.0.15",
            &ao(vec![key(9, AoAlgorithm::HmacSha1, SHA1_KEY)])
        )
        .is_none()
    );
    assert!(!established(&dir, "127.0.0.14") && !established(&dir, "127.0.0.15"));
    eprintln!("vm_scenarios: mismatched keys refused");

    rollover(&dir, &log);
    raw_rollover();
    drop(speakers);
    drop(rampartd);
    eprintln!("vm_scenarios: all passed");
}

/// rampartd connects to this speaker (127.0.0.17:179, key id 3).
fn active_speaker() -> std::thread::JoinHandle<Option<Speaker>> {
    let me: IpAddr = "127.0.0.17".parse().unwrap();
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&SocketAddr::new(me, 179).into()).unwrap();
    let auth = ao(vec![key(3, AoAlgorithm::HmacSha256, SHA256_KEY)]);
    auth::apply_listener(
        &s,
        auth::ListenFamily::V4,
        [(IpNet::from(IpAddr::from([127, 0, 0, 1])), &auth)],
        SystemTime::now(),
    )
    .unwrap();
    s.listen(4).unwrap();
    let l: TcpListener = s.into();
    std::thread::spawn(move || {
        let (c, _) = l.accept().ok()?;
        let sp = Speaker::run(c, [127, 0, 0, 17]);
        // Keep the session until the test has seen it Established.
        std::thread::sleep(Duration::from_secs(90));
        Some(sp)
    })
}

/// rampartd follows a speaker that moves to a new key: with both keys in
/// its config, it switches its sending key when the speaker's RNextKeyID
/// asks for the new one, and the session stays Established. (Deleting the
/// old key needs rampartd to move its own RNextKeyID too: reload's job,
/// through `auth::ao_reconcile`; the full rollover is `raw_rollover`.)
fn rollover(dir: &Path, log: &dyn Fn() -> String) {
    let me = "127.0.0.16";
    let rs = IpNet::from(RS.parse::<IpAddr>().unwrap());
    let old = key(1, AoAlgorithm::HmacSha1, SHA1_KEY);
    let new = key(2, AoAlgorithm::CmacAes128, CMAC_KEY);
    let sp =
        dial(me, &ao(vec![old])).unwrap_or_else(|| panic!("rollover: no handshake\n{}", log()));
    wait_for("rollover peer Established", Duration::from_secs(60), || {
        established(dir, me).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", log()));
    let s = &sp.stream;
    auth::ao_add_key(s, rs, &new, false, false).unwrap();
    auth::ao_set_current_rnext(s, rs, None, Some(2)).unwrap();
    auth::ao_set_current_rnext(s, rs, Some(2), None).unwrap();
    wait_for(
        "rampartd sending with key 2",
        Duration::from_secs(30),
        || {
            auth::ao_keys(s)
                .ok()?
                .iter()
                .any(|k| k.recv_id == 2 && k.pkt_good > 0)
                .then_some(())
        },
    )
    .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", auth::ao_keys(s), log()));
    let before = auth::ao_keys(s).unwrap();
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        sp.alive.load(Ordering::Relaxed),
        "connection died\n{}",
        log()
    );
    assert!(established(dir, me), "{:#?}\n{}", show_peers(dir), log());
    let after = auth::ao_keys(s).unwrap();
    let good = |v: &[auth::AoKeyState]| v.iter().find(|k| k.recv_id == 2).map(|k| k.pkt_good);
    assert!(good(&after) > good(&before), "{before:?} {after:?}");
    // show peers reads rampartd's side of it from TCP_AO_INFO.
    let row = show_peers(dir)
        .into_iter()
        .find(|r| r["address"] == me)
        .unwrap();
    assert_eq!(row["auth"], "tcp-ao", "{row:#?}");
    assert_eq!(row["tcp_ao"]["current_key"], 2, "{row:#?}");
    assert!(
        row["tcp_ao"]["pkt_good"].as_u64().unwrap_or(0) > 0,
        "{row:#?}"
    );
    eprintln!("vm_scenarios: rampartd followed the speaker to key 2, session kept");

    // The rollover completes by reload: key 1 leaves rampartd's config,
    // rampartd moves its RNextKeyID to 2 and deletes key 1 on the live
    // connection (auth::ao_reconcile); the speaker then deletes its key 1.
    let path = dir.join("rampartd.toml");
    let conf = std::fs::read_to_string(&path).unwrap();
    let both = ao_toml(&[(1, "hmac-sha1", SHA1_KEY), (2, "cmac-aes128", CMAC_KEY)]);
    let only_new = format!(
        "{}, current = 2, rnext = 2 }}",
        ao_toml(&[(2, "cmac-aes128", CMAC_KEY)]).trim_end_matches(" }")
    );
    assert!(conf.contains(&both));
    std::fs::write(&path, conf.replace(&both, &only_new)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rampartctl"))
        .arg("--socket")
        .arg(dir.join("ctl.sock"))
        .arg("reload")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.contains(me),
        "{report}\n{}",
        log()
    );
    wait_for("rampartd dropped key 1", Duration::from_secs(30), || {
        let row = show_peers(dir).into_iter().find(|r| r["address"] == me)?;
        (row["tcp_ao"]["rnext"] == 2).then_some(())
    })
    .unwrap_or_else(|e| panic!("{e}: {:#?}\n{}", show_peers(dir), log()));
    wait_for("speaker deletes key 1", Duration::from_secs(30), || {
        auth::ao_del_key(s, rs, 1, 1).ok()
    })
    .unwrap_or_else(|e| panic!("{e}: {:?}\n{}", auth::ao_keys(s), log()));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        sp.alive.load(Ordering::Relaxed),
        "connection died\n{}",
        log()
    );
    assert!(established(dir, me), "{:#?}\n{}", show_peers(dir), log());
    assert_eq!(
        auth::ao_keys(s)
            .unwrap()
            .iter()
            .map(|k| k.send_id)
            .collect::<Vec<_>>(),
        vec![2]
    );
    eprintln!("vm_scenarios: reload completed the rollover to key 2 only, session kept");
}

fn chain(keys: &[&AoKey], current: u8) -> AoConfig {
    AoConfig {
        keys: keys.iter().map(|k| (*k).clone()).collect(),
        current: Some(current),
        rnext: Some(current),
    }
}

/// Both ends run `auth::ao_reconcile` through a full rollover (add the new
/// key, switch current and RNext, delete the old one) on a live TCP
/// connection, which carries data before, during and after.
fn raw_rollover() {
    let (a_ip, b_ip): (IpAddr, IpAddr) =
        ("127.0.0.21".parse().unwrap(), "127.0.0.22".parse().unwrap());
    let old = key(1, AoAlgorithm::HmacSha1, SHA1_KEY);
    let new = key(2, AoAlgorithm::HmacSha256, SHA256_KEY);
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&SocketAddr::new(b_ip, 0).into()).unwrap();
    auth::apply_listener(
        &l,
        auth::ListenFamily::V4,
        [(IpNet::from(a_ip), &ao(vec![old.clone()]))],
        SystemTime::now(),
    )
    .unwrap();
    l.listen(1).unwrap();
    let to = l.local_addr().unwrap().as_socket().unwrap();
    let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    c.bind(&SocketAddr::new(a_ip, 0).into()).unwrap();
    auth::apply_connect(&c, b_ip, &ao(vec![old.clone()]), SystemTime::now()).unwrap();
    c.connect_timeout(&to.into(), Duration::from_secs(3))
        .unwrap();
    let (srv, _) = l.accept().unwrap();
    let (mut a, mut b): (TcpStream, TcpStream) = (c.into(), srv.into());
    a.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ping = |a: &mut TcpStream, b: &mut TcpStream, n: u8| {
        let mut buf = [0u8; 1];
        a.write_all(&[n]).unwrap();
        b.read_exact(&mut buf).unwrap();
        assert_eq!(buf[0], n);
        b.write_all(&[n]).unwrap();
        a.read_exact(&mut buf).unwrap();
        assert_eq!(buf[0], n);
    };
    let now = SystemTime::now();
    let (na, nb) = (IpNet::from(b_ip), IpNet::from(a_ip));
    ping(&mut a, &mut b, 1);
    for (step, want) in [(1u8, chain(&[&old, &new], 1)), (2, chain(&[&old, &new], 2))] {
        auth::ao_reconcile(&a, na, &want, false, now).unwrap();
        auth::ao_reconcile(&b, nb, &want, false, now).unwrap();
        ping(&mut a, &mut b, 10 + step);
    }
    ping(&mut a, &mut b, 20);
    let last = chain(&[&new], 2);
    wait_for("old keys deleted", Duration::from_secs(20), || {
        let pa = auth::ao_reconcile(&a, na, &last, false, now).unwrap();
        let pb = auth::ao_reconcile(&b, nb, &last, false, now).unwrap();
        ping(&mut a, &mut b, 30);
        (pa.deletes.is_empty() && pb.deletes.is_empty()).then_some(())
    })
    .unwrap();
    ping(&mut a, &mut b, 40);
    for s in [&a, &b] {
        let keys = auth::ao_keys(s).unwrap();
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert_eq!((keys[0].send_id, keys[0].recv_id), (2, 2), "{keys:?}");
        assert!(
            keys[0].pkt_good > 0 && keys[0].algorithm == "hmac(sha256)",
            "{keys:?}"
        );
        let info = auth::ao_info(s).unwrap();
        assert_eq!(
            (info.current_key, info.rnext, info.pkt_bad),
            (2, 2, 0),
            "{info:?}"
        );
    }
    eprintln!("vm_scenarios: raw rollover 1 -> 2 with ao_reconcile, connection kept");
}
