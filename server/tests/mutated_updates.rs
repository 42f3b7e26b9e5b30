//! Mutated UPDATEs over real TCP: two clients played by the test send
//! thousands of UPDATEs built from random path attributes for the same
//! prefixes, some of them malformed on purpose (wrong flags, wrong
//! lengths, bad values, repeats, missing mandatory attributes, unknown
//! types, now and then a broken message). rampartd must stay up, answer
//! every error as RFC 7606 and RFC 4271 §6 say (a treat-as-withdraw keeps
//! the session, a reset comes with a NOTIFICATION), and pass on only what
//! is well formed: every client checks every byte it gets with the strict
//! decoder (and that it is never told to withdraw what it was not sent),
//! and a real core peer must never complain nor lose its session: BIRD as
//! a route server client, FRR as an iBGP peer of the reflector, GoBGP as
//! an eBGP peer. At the end the views agree: rampartd's Loc-RIB, what a
//! third client was told (with ADD-PATH: every path of the Adj-RIB-In)
//! and what the core holds; each sender was told
//! the other's path (route server, RFC 7947 §2.3.2) or the best path when
//! it is not its own (reflector, RFC 4456 §8); and where the test can tell
//! (prefixes last touched by well-formed UPDATEs), rampartd holds what
//! each sender said.
//!
//! Each sender comes from a dynamic neighbor range, a new address after
//! each reset, so no restart wait (RFC 4271 §8.1.1 damping) slows the run.

mod views;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use rampart_core::cap::AddPathMode;
use rampart_core::cap::Capability;
use rampart_core::nlri::AfiSafi;
use rampart_tests::harness::raw_peer::{B, RS, RawPeer};
use rampart_tests::harness::{
    Netns, RampartdConfig, missing_prerequisite, start_rampartd, tempdir, wait_for,
};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use views::{
    CORE, Core, CoreKind, Held, paths, rampartd_log, rampartd_routes, rampartd_rows, read,
};

const WAIT: Duration = Duration::from_secs(10);
/// UPDATEs the two senders write together (then the last sessions run on
/// to 300 UPDATEs each, without broken framing, to leave routes to
/// compare).
const MESSAGES: usize = 3000;
/// UPDATEs per write; then each sender looks for a NOTIFICATION.
const BURST: usize = 20;
/// Most sessions a sender may go through (addresses in its range).
const MAX_SESSIONS: u8 = 200;

/// Sender `i`'s address for its `n`th session: 198.18.(1 + i).n, in the
/// dynamic neighbor range of its template.
fn sender(i: u8, n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 1 + i, n)
}

/// Who sends, and as what.
#[derive(Debug, Clone, Copy)]
struct Sender {
    /// Its AS; the strict client's is 64502, or the same for iBGP.
    asn: u32,
    /// Role of the sender and the strict client in rampartd's config.
    role: &'static str,
    /// An iBGP client of the route reflector: its paths start with another
    /// AS, and ORIGINATOR_ID and CLUSTER_LIST are its to send.
    internal: bool,
}

impl Sender {
    /// The first AS of the paths it sends.
    fn first_as(self) -> u32 {
        if self.internal { 65_010 } else { self.asn }
    }

    /// The AS of the strict client.
    fn client_as(self) -> u32 {
        if self.internal { self.asn } else { 64_502 }
    }
}

/// One path attribute: flags, type code, value. The length is written
/// from the value (extended when it needs two octets or `ext` asks).
fn attr(out: &mut Vec<u8>, flags: u8, code: u8, value: &[u8], ext: bool) {
    let ext = ext || value.len() > 255;
    out.push(if ext { flags | 0x10 } else { flags & !0x10 });
    out.push(code);
    if ext {
        out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    } else {
        out.push(u8::try_from(value.len()).unwrap_or(u8::MAX));
    }
    out.extend_from_slice(value);
}

/// The prefixes the senders use: few enough that announcements,
/// withdrawals and replacements meet.
fn v4_prefix(rng: &mut Pcg64Mcg) -> (Ipv4Addr, u8) {
    v4_pool(rng.random_range(0..48))
}

fn v4_pool(n: u8) -> (Ipv4Addr, u8) {
    match n % 4 {
        0 => (Ipv4Addr::new(100, 64, n, 0), 24),
        1 => (Ipv4Addr::new(100, 65, 0, n.wrapping_mul(4)), 30),
        2 => (Ipv4Addr::new(100, 66 + n, 0, 0), 16),
        _ => (Ipv4Addr::new(100, 127, n, 128), 25),
    }
}

fn v6_prefix(rng: &mut Pcg64Mcg) -> (Ipv6Addr, u8) {
    v6_pool(rng.random_range(0..32))
}

fn v6_pool(n: u16) -> (Ipv6Addr, u8) {
    if n.is_multiple_of(2) {
        (Ipv6Addr::new(0x2001, 0xdb8, n, 0, 0, 0, 0, 0), 48)
    } else {
        (Ipv6Addr::new(0x2001, 0xdb8, 0x100, n, 0, 0, 0, 0), 64)
    }
}

/// Every prefix a sender may use, as rampartd prints it.
fn pool() -> Vec<String> {
    let v4 = (0..48).map(v4_pool).map(|(a, l)| format!("{a}/{l}"));
    let v6 = (0..32).map(v6_pool).map(|(a, l)| format!("{a}/{l}"));
    v4.chain(v6).collect()
}

/// A prefix in NLRI encoding (RFC 4271 §4.3): length, then the octets
/// that hold it.
fn nlri(out: &mut Vec<u8>, addr: &[u8], len: u8) {
    out.push(len);
    out.extend_from_slice(&addr[..usize::from(len).div_ceil(8)]);
}

/// Random octets, up to `max`.
fn noise(rng: &mut Pcg64Mcg, max: usize) -> Vec<u8> {
    let n = rng.random_range(0..=max);
    (0..n).map(|_| rng.random()).collect()
}

/// A community whose high half is neither 0 nor 0xFFFF: no well-known
/// community (RFC 1997, RFC 7999, RFC 8326) that would change whether
/// the route is passed on.
fn community(rng: &mut Pcg64Mcg) -> [u8; 4] {
    let high: u16 = rng.random_range(1..0xFFFF);
    let low: u16 = rng.random();
    let mut c = [0; 4];
    c[..2].copy_from_slice(&high.to_be_bytes());
    c[2..].copy_from_slice(&low.to_be_bytes());
    c
}

/// The value of attribute `code` as a well-behaved speaker would send
/// it, with some variety.
fn good_value(rng: &mut Pcg64Mcg, code: u8, me: Ipv4Addr, who: Sender) -> Vec<u8> {
    match code {
        1 => vec![rng.random_range(0..3)],
        2 => {
            // AS_SEQUENCE from the first AS, sometimes an AS_SET after.
            let mut v = Vec::new();
            let n: u8 = rng.random_range(1..6);
            v.extend_from_slice(&[2, n]);
            v.extend_from_slice(&who.first_as().to_be_bytes());
            for _ in 1..n {
                v.extend_from_slice(&rng.random_range(1u32..4_000_000_000).to_be_bytes());
            }
            if rng.random_bool(0.1) {
                v.extend_from_slice(&[1, 2]);
                v.extend_from_slice(&64_999u32.to_be_bytes());
                v.extend_from_slice(&65_001u32.to_be_bytes());
            }
            v
        }
        3 | 9 => me.octets().to_vec(),
        4 | 5 | 35 => rng.random::<u32>().to_be_bytes().to_vec(),
        7 | 18 => {
            let mut v = rng.random_range(1u32..65_000).to_be_bytes().to_vec();
            v.extend_from_slice(&me.octets());
            v
        }
        8 => (0..rng.random_range(1..6))
            .flat_map(|_| community(rng))
            .collect(),
        10 => (0..rng.random_range(1..3))
            .flat_map(|i| [10, 0, 0, 1 + i])
            .collect(),
        16 => (0..rng.random_range(1..4))
            .flat_map(|_| {
                let mut c = [0u8; 8];
                c[0] = 0x00;
                c[1] = 0x02;
                c[2..].copy_from_slice(&rng.random::<[u8; 6]>());
                c
            })
            .collect(),
        17 => {
            let mut v = vec![2, 1];
            v.extend_from_slice(&who.first_as().to_be_bytes());
            v
        }
        32 => (0..rng.random_range(1..4))
            .flat_map(|_| {
                let mut c = [0u8; 12];
                c[..4].copy_from_slice(&who.asn.to_be_bytes());
                c[4..].copy_from_slice(&rng.random::<[u8; 8]>());
                c
            })
            .collect(),
        _ => noise(rng, 16),
    }
}

/// The flags attribute `code` is sent with (RFC 4271 §4.3, RFC 7606 §3).
fn good_flags(code: u8) -> u8 {
    match code {
        1 | 2 | 3 | 5 | 6 => 0x40,
        4 | 9 | 10 | 14 | 15 | 26 => 0x80,
        _ => 0xC0,
    }
}

/// What an UPDATE the test made does to its sender's routes, as far as
/// the test can tell without deciding RFC 7606 cases itself.
#[derive(Debug, Default)]
struct Effect {
    /// Prefixes withdrawn (IPv4 field and MP_UNREACH_NLRI).
    withdrawn: Vec<String>,
    /// Prefixes announced (IPv4 NLRI and MP_REACH_NLRI).
    announced: Vec<String>,
    /// The AS path they are announced with.
    path: String,
    /// Every attribute well formed, each once, none whose handling from
    /// a route server client is a matter of choice: the announcements
    /// stand as sent.
    clean: bool,
    /// The MP_REACH_NLRI is malformed: what becomes of IPv6 on this
    /// session (AFI/SAFI disable, RFC 7606 §7.3) is not predicted.
    v6_broken: bool,
    /// An octet of the framing was changed: nothing is predicted.
    framing: bool,
}

/// The text of an AS_PATH value of 4-octet segments (see `as_path_text`).
fn path_of(mut v: &[u8]) -> String {
    let mut out = Vec::new();
    while let [kind, n, rest @ ..] = v {
        let len = usize::from(*n) * 4;
        let asns: Vec<String> = rest[..len.min(rest.len())]
            .chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap_or([0; 4])).to_string())
            .collect();
        out.push(if *kind == 1 {
            format!("{{{}}}", asns.join(" "))
        } else {
            asns.join(" ")
        });
        v = rest.get(len..).unwrap_or_default();
    }
    out.join(" ")
}

/// One UPDATE of random make, sent from `me`: valid most of the time,
/// broken in one of many ways otherwise; and what it should do. Unless
/// `harsh`, neither its framing nor its MP_REACH_NLRI is broken.
fn update(rng: &mut Pcg64Mcg, me: Ipv4Addr, who: Sender, harsh: bool) -> (Vec<u8>, Effect) {
    let mut e = Effect {
        clean: true,
        ..Effect::default()
    };
    let mut withdrawn = Vec::new();
    for _ in 0..rng.random_range(0..3) {
        let (a, l) = v4_prefix(rng);
        nlri(&mut withdrawn, &a.octets(), l);
        e.withdrawn.push(format!("{a}/{l}"));
    }
    let mut reach = Vec::new();
    for _ in 0..rng.random_range(0..4) {
        let (a, l) = v4_prefix(rng);
        nlri(&mut reach, &a.octets(), l);
        e.announced.push(format!("{a}/{l}"));
    }
    let mut attrs = Vec::new();
    let mut codes: Vec<u8> = vec![1, 2, 3];
    for (code, p) in [
        (4, 0.3),
        (5, 0.1),
        (6, 0.1),
        (7, 0.1),
        (8, 0.5),
        (9, 0.05),
        (10, 0.05),
        (16, 0.2),
        (17, 0.05),
        (18, 0.05),
        (32, 0.3),
        (35, 0.05),
        (26, 0.03),
        (128, 0.03),
    ] {
        if rng.random_bool(p) {
            codes.push(code);
            // Reflection attributes from an external peer, AS4_* between
            // 4-octet speakers, OTC, AIGP and ATTR_SET: discard or withdraw.
            e.clean &= !matches!(code, 17 | 18 | 26 | 35 | 128)
                && (who.internal || !matches!(code, 9 | 10));
        }
    }
    if rng.random_bool(0.1) {
        // An unassigned optional type: transitive ones are passed on with
        // the Partial bit set (RFC 4271 §5), others dropped. Not 254:
        // BIRD 2 reads that code as its own mpls_label_stack attribute
        // and withdraws a route that carries it with other flags.
        codes.push(rng.random_range(200..=253));
    }
    if rng.random_bool(0.05) {
        let i = rng.random_range(0..codes.len());
        codes.remove(i);
        e.clean = false;
    }
    if rng.random_bool(0.05) {
        let i = rng.random_range(0..codes.len());
        codes.push(codes[i]);
        e.clean = false;
    }
    for &code in &codes {
        let mut flags = good_flags(code);
        let mut value = good_value(rng, code, me, who);
        if code >= 200 {
            flags = 0x80 | (rng.random::<u8>() & 0x60);
        }
        if rng.random_bool(0.04) {
            value = noise(rng, 12);
            e.clean = false;
        } else if rng.random_bool(0.02) && !value.is_empty() {
            let i = rng.random_range(0..value.len());
            value[i] ^= 1 << rng.random_range(0..8);
            e.clean = false;
        } else if rng.random_bool(0.02) {
            value.truncate(rng.random_range(0..value.len().max(1)));
            e.clean = false;
        }
        if rng.random_bool(0.02) {
            flags ^= 1 << rng.random_range(4..8);
            e.clean = false;
        }
        if code == 2 && e.path.is_empty() {
            e.path = path_of(&value);
        }
        attr(&mut attrs, flags, code, &value, rng.random_bool(0.05));
    }
    // IPv6 in MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760).
    if rng.random_bool(0.15) {
        let mut v = vec![0, 2, 1];
        for _ in 0..rng.random_range(1..3) {
            let (a, l) = v6_prefix(rng);
            nlri(&mut v, &a.octets(), l);
            e.withdrawn.push(format!("{a}/{l}"));
        }
        attr(&mut attrs, 0x80, 15, &v, false);
    }
    if rng.random_bool(0.3) {
        let mut v = vec![0, 2, 1];
        let global = Ipv6Addr::new(0xfd00, 0x198, 0x18, 0, 0, 0, 0, u16::from(me.octets()[3]));
        let mut hop = global.octets().to_vec();
        if rng.random_bool(0.2) {
            hop.extend_from_slice(&Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1).octets());
        }
        if harsh && rng.random_bool(0.03) {
            hop.truncate(rng.random_range(0..hop.len()));
            e.v6_broken = true;
        }
        v.push(u8::try_from(hop.len()).unwrap_or(0));
        v.extend_from_slice(&hop);
        v.push(0);
        for _ in 0..rng.random_range(1..4) {
            let (a, l) = v6_prefix(rng);
            nlri(&mut v, &a.octets(), l);
            e.announced.push(format!("{a}/{l}"));
        }
        attr(&mut attrs, 0x80, 14, &v, false);
    }
    let mut body = update_body(&withdrawn, &attrs, &reach);
    if harsh && rng.random_bool(0.005) {
        // Broken framing: a changed octet anywhere in the body.
        let i = rng.random_range(0..body.len());
        body[i] ^= rng.random_range(1..=255u8);
        e.framing = true;
    }
    (message(2, &body), e)
}

/// An UPDATE body (RFC 4271 §4.3): withdrawn routes, path attributes and
/// NLRI, each field as given.
fn update_body(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&u16::try_from(attrs.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    body
}

/// A message of type `kind` around `body` (RFC 4271 §4.1 header).
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xFF; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap_or(0).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// What a sender's routes should be, where the test can tell: prefix
/// -> `Some(AS path)` announced, `None` absent. A prefix not in the map
/// is unknown (last announced by an UPDATE whose outcome is a matter of
/// RFC 7606 judgement).
#[derive(Debug, Default)]
struct Expected(BTreeMap<String, Option<String>>);

impl Expected {
    /// A new session: the last one's routes are gone, all of them.
    fn reset(&mut self, pool: &[String]) {
        self.0 = pool.iter().map(|p| (p.clone(), None)).collect();
    }

    /// Withdrawals first, then announcements, as rampartd orders them;
    /// `import` gives what the import policy makes of an announcement
    /// (prefix, AS path): the AS path stored, or `None` when rejected.
    /// An UPDATE with broken framing or MP_REACH_NLRI ends the session
    /// (the caller's part): its effect is not predicted.
    fn apply(&mut self, e: Effect, import: &dyn Fn(&str, &str) -> Option<String>) {
        for w in e.withdrawn {
            self.0.insert(w, None);
        }
        for a in e.announced {
            if e.clean {
                let stored = import(&a, &e.path);
                self.0.insert(a, stored);
            } else {
                self.0.remove(&a);
            }
        }
    }
}

/// One sender: who it is, its current session and what it should hold.
struct Speaker {
    who: Sender,
    /// Its index: the third octet of its range is `1 + i`.
    i: u8,
    /// Its session number: the last octet of its address.
    session: u8,
    peer: RawPeer,
    /// Its routes as rampartd should hold them.
    expected: Expected,
    /// What rampartd sent it (the other sender's routes).
    held: Held,
    /// UPDATEs sent in this session.
    sent: usize,
}

impl Speaker {
    fn connect(ns: &Netns, who: Sender, i: u8, session: u8, pool: &[String]) -> Self {
        let me = sender(i, session);
        let mut peer = RawPeer::connect(ns, me, RS).unwrap();
        peer.establish_with(
            who.asn,
            me,
            &[Capability::Multiprotocol(AfiSafi::IPV6_UNICAST)],
        )
        .unwrap_or_else(|e| panic!("sender {me}: {e}"));
        let mut expected = Expected::default();
        expected.reset(pool);
        Self {
            who,
            i,
            session,
            peer,
            expected,
            held: Held {
                late_joiner: true,
                ..Held::default()
            },
            sent: 0,
        }
    }

    fn addr(&self) -> Ipv4Addr {
        sender(self.i, self.session)
    }

    /// [`read`] on its session, the error naming the sender.
    fn read(
        &mut self,
        wait: Duration,
        notifications: &mut BTreeMap<(u8, u8), usize>,
    ) -> Result<bool, String> {
        let me = self.addr();
        read(&mut self.peer, &mut self.held, wait, notifications)
            .map_err(|e| format!("sender {me}: {e}"))
    }

    /// A new session from the next address (the last one's routes go).
    fn reconnect(&mut self, ns: &Netns, pool: &[String]) {
        assert!(
            self.session < MAX_SESSIONS,
            "sender {} went through {} sessions: the mix is too harsh",
            self.i,
            self.session
        );
        *self = Self::connect(ns, self.who, self.i, self.session + 1, pool);
    }
}

/// The whole run for two senders of one kind and one core: see the
/// module docs.
fn run(tag: &str, who: [Sender; 2], kind: CoreKind, add_path: bool, policy: bool) {
    if let Some(why) = missing_prerequisite(kind.needs()) {
        eprintln!("skipping: {why}");
        return;
    }
    let dir = tempdir(tag);
    let ns = Netns::new(tag).unwrap();
    let fams = "families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n";
    let (core_as, core_role) = kind.peer();
    // An eBGP peer needs import and export policies (RFC 8212).
    let policy_file = dir.join("accept.policy");
    std::fs::write(&policy_file, IMPORT_POLICY).unwrap();
    let core_extra = if kind == CoreKind::GobgpEbgp {
        format!("{fams}import = [\"all\"]\nexport = [\"all\"]\n")
    } else {
        fams.to_string()
    };
    let mut conf = RampartdConfig::new(&RS.to_string(), &RS.to_string(), &dir)
        .global(&format!("policy-files = [\"{}\"]", policy_file.display()))
        .passive_peer(
            &B.to_string(),
            who[0].client_as(),
            who[0].role,
            &if add_path {
                format!("{fams}add-path = \"send\"\n")
            } else {
                fams.to_string()
            },
        )
        .active_peer(CORE, core_as, core_role, &core_extra);
    for (i, w) in (1u8..).zip(who) {
        conf = conf.raw(&format!(
            "[[template]]\nname = \"sender{i}\"\nrange = \"198.18.{i}.0/24\"\nremote-as = {}\n\
             role = \"{}\"\nhold-time = 90\n{fams}{}",
            w.asn,
            w.role,
            if policy {
                "import = [\"tenant-in\"]\n"
            } else {
                ""
            },
        ));
    }
    let conf = conf
        .to_string()
        .replace("hold-time = 9\n", "hold-time = 90\n");
    let mut rampartd = start_rampartd(&ns, env!("CARGO_BIN_EXE_rampartd"), &dir, &conf).unwrap();
    let core = Core::start(&ns, &dir, kind);
    let mut b = RawPeer::connect(&ns, B, RS).unwrap();
    let both = [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST];
    let mut caps = vec![Capability::Multiprotocol(AfiSafi::IPV6_UNICAST)];
    if add_path {
        caps.push(Capability::AddPath(
            both.iter().map(|f| (*f, AddPathMode::Receive)).collect(),
        ));
    }
    b.establish_with(who[0].client_as(), B, &caps).unwrap();
    if add_path {
        b.receive_path_ids(&both);
    }
    let log = || format!("rampartd:\n{}\ncore:\n{}", rampartd_log(&dir), core.log());
    let up = wait_for("core Established", Duration::from_secs(30), || {
        core.established().then_some(())
    });
    assert!(up.is_ok(), "{up:?}\n{}", log());

    let mut rng = Pcg64Mcg::seed_from_u64(0x7606);
    let pool = pool();
    let mut held = Held::default();
    let mut senders = [
        Speaker::connect(&ns, who[0], 0, 1, &pool),
        Speaker::connect(&ns, who[1], 1, 1, &pool),
    ];
    let mut notifications: BTreeMap<(u8, u8), usize> = BTreeMap::new();
    let mut none = BTreeMap::new();
    let started = Instant::now();
    let mut sent = 0;
    // The last sessions run long enough for their routes to be compared.
    while sent < MESSAGES || (senders.iter().any(|s| s.sent < 300) && sent < 2 * MESSAGES) {
        for s in &mut senders {
            let mut burst = Vec::new();
            let mut unpredictable = false;
            for _ in 0..BURST {
                let (m, effect) = update(&mut rng, s.addr(), s.who, sent < MESSAGES);
                burst.extend_from_slice(&m);
                unpredictable |= effect.framing || effect.v6_broken;
                let asn = s.who.asn;
                s.expected.apply(effect, &|prefix, path| {
                    if !policy {
                        return Some(path.to_string());
                    }
                    // IMPORT_POLICY: IPv4 longer than /28 rejected, the
                    // sender's AS prepended.
                    let (addr, len) = prefix.split_once('/').unwrap_or_default();
                    let len: u8 = len.parse().unwrap_or(0);
                    (addr.contains(':') || len <= 28)
                        .then(|| format!("{asn} {path}").trim_end().to_string())
                });
            }
            sent += BURST;
            s.sent += BURST;
            let _ = s.peer.send_bytes(&burst);
            if unpredictable {
                // Ours to end: a Cease (RFC 4486 subcode 2, Administrative
                // Shutdown), and the routes of this session all go.
                let _ = s.peer.send_bytes(&message(3, &[6, 2]));
                s.reconnect(&ns, &pool);
            }
        }
        for s in &mut senders {
            let ended = s
                .read(Duration::from_millis(2), &mut notifications)
                .unwrap_or_else(|e| panic!("{e}\n{}", log()));
            if ended {
                s.reconnect(&ns, &pool);
            }
        }
        let ended = read(&mut b, &mut held, Duration::from_millis(1), &mut none)
            .unwrap_or_else(|e| panic!("the strict client: {e}\n{}", log()));
        assert!(
            !ended,
            "the strict client was sent a NOTIFICATION: {none:?}"
        );
    }
    eprintln!(
        "{sent} UPDATEs in {:?}; sessions {} and {}; NOTIFICATIONs (code, subcode): {notifications:?}",
        started.elapsed(),
        senders[0].session,
        senders[1].session,
    );
    // Every reset was an UPDATE Message Error (RFC 4271 §6.3) or, for a
    // broken length, a Message Header Error (§6.1).
    assert!(
        notifications
            .keys()
            .all(|(code, _)| *code == 3 || *code == 1),
        "{notifications:?}"
    );
    // A NOTIFICATION for the last burst may come late.
    for s in &mut senders {
        if s.read(Duration::from_millis(300), &mut notifications)
            .unwrap_or_else(|e| panic!("{e}\n{}", log()))
        {
            s.reconnect(&ns, &pool);
        }
    }

    // A last well-formed route from each, then the views must agree.
    let markers = [
        ([192, 0, 2, 0], "192.0.2.0/24"),
        ([198, 51, 100, 0], "198.51.100.0/24"),
    ];
    for (s, (octets, _)) in senders.iter_mut().zip(markers) {
        let mut last = Vec::new();
        attr(&mut last, 0x40, 1, &[0], false);
        let mut path = vec![2, 2];
        path.extend_from_slice(&s.who.first_as().to_be_bytes());
        path.extend_from_slice(&64_999u32.to_be_bytes());
        attr(&mut last, 0x40, 2, &path, false);
        attr(&mut last, 0x40, 3, &s.addr().octets(), false);
        let mut reach = Vec::new();
        nlri(&mut reach, &octets, 24);
        let m = message(2, &update_body(&[], &last, &reach));
        s.peer.send_bytes(&m).unwrap();
    }
    let got = wait_for("the markers at the strict client", WAIT, || {
        read(&mut b, &mut held, Duration::from_millis(50), &mut none)
            .unwrap_or_else(|e| panic!("the strict client: {e}\n{}", log()));
        markers
            .iter()
            .all(|(_, m)| held.by_prefix().contains_key(*m))
            .then_some(())
    });
    assert!(got.is_ok(), "{got:?}\n{}", log());
    let settle = Instant::now() + Duration::from_millis(500);
    while let Some(left) = settle.checked_duration_since(Instant::now()) {
        for s in &mut senders {
            let ended = s
                .read(Duration::from_millis(10), &mut notifications)
                .unwrap_or_else(|e| panic!("{e}\n{}", log()));
            assert!(
                !ended,
                "sender {} reset by a well-formed UPDATE\n{}",
                s.addr(),
                log()
            );
        }
        read(
            &mut b,
            &mut held,
            left.min(Duration::from_millis(10)),
            &mut none,
        )
        .unwrap_or_else(|e| panic!("the strict client: {e}\n{}", log()));
    }
    assert!(rampartd.is_running(), "rampartd exited\n{}", log());

    // The strict client holds rampartd's Loc-RIB, or with ADD-PATH every
    // path of the Adj-RIB-In.
    let loc = rampartd_routes(&dir, &[]).unwrap_or_else(|e| panic!("rampartctl: {e}\n{}", log()));
    assert!(loc.len() > 10, "too few routes stand to compare: {loc:?}");
    let rows = if add_path {
        rampartd_rows(&dir, &["--table", "in-post"])
    } else {
        rampartd_rows(&dir, &[])
    }
    .unwrap_or_else(|e| panic!("rampartctl: {e}\n{}", log()));
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (prefix, path, _) in rows {
        want.entry(prefix).or_default().push(path);
    }
    want.values_mut().for_each(|p| p.sort());
    assert_eq!(
        held.by_prefix(),
        want,
        "the strict client was not told what rampartd holds"
    );
    if add_path {
        assert!(
            want.values().any(|p| p.len() == 2),
            "no prefix with two paths: ADD-PATH untried"
        );
    }
    let mut checked = 0;
    for (k, s) in senders.iter().enumerate() {
        let me = s.addr().to_string();
        let adj_in = rampartd_routes(&dir, &["--table", "in-post", "--peer", &me])
            .unwrap_or_else(|e| panic!("rampartctl: {e}\n{}", log()));
        // Where the test can tell, rampartd holds what the sender sent.
        for (prefix, want) in &s.expected.0 {
            assert_eq!(
                adj_in.get(prefix).map(|(path, _)| path),
                want.as_ref(),
                "{prefix}: rampartd does not hold what sender {me}'s last word on it says\n{}",
                log()
            );
            checked += 1;
        }
        // What the sender was told: never its own path. A route server
        // client gets the other's path where there is one (RFC 7947
        // §2.3.2); a reflector's client gets the best path unless it is
        // its own (RFC 4456 §8).
        let other = senders[1 - k].addr().to_string();
        let want: BTreeMap<String, String> = if s.who.internal {
            loc.iter()
                .filter(|(_, (_, from))| *from != me)
                .map(|(p, (path, _))| (p.clone(), path.clone()))
                .collect()
        } else {
            paths(
                &rampartd_routes(&dir, &["--table", "in-post", "--peer", &other])
                    .unwrap_or_else(|e| panic!("rampartctl: {e}\n{}", log())),
            )
        };
        assert_eq!(
            s.held.routes,
            want,
            "sender {me} was not told the right paths\n{}",
            log()
        );
    }
    eprintln!(
        "{checked} of {} prefixes predicted; {} routes held",
        2 * pool.len(),
        loc.len()
    );
    assert!(
        checked > pool.len(),
        "too few prefixes predicted: {checked}"
    );

    // The core: the same routes, its session never reset, nothing it
    // found fault with.
    let v6 = core.takes_v6();
    let flat: BTreeMap<String, String> = loc
        .iter()
        .filter(|(p, _)| v6 || !p.contains(':'))
        .map(|(p, (path, _))| {
            let flat = path.replace(['{', '}'], "");
            // Toward an eBGP peer rampartd prepends its AS (RFC 4271 §5.1.2).
            let flat = if kind == CoreKind::GobgpEbgp {
                format!("64500 {flat}").trim_end().to_string()
            } else {
                flat
            };
            (p.clone(), flat)
        })
        .collect();
    let wanted = wait_for("the core to hold the same routes", WAIT, || {
        (core.routes() == flat).then_some(())
    });
    assert!(
        wanted.is_ok(),
        "the core holds other routes than the Loc-RIB: {:?} against {flat:?}\n{}",
        core.routes(),
        log()
    );
    assert!(core.established(), "{}", log());
    let complaints = core.complaints();
    assert!(
        complaints.is_empty(),
        "the core complained: {complaints:#?}"
    );
    assert!(!rampartd_log(&dir).contains("panicked"), "{}", log());
    drop((senders, b, core));
    rampartd.stop(Duration::from_secs(5));
    drop((rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two route server clients in AS 64501 and 64503 (the strict client is
/// in 64502).
/// The policies of the run: `all` for the eBGP core (RFC 8212), and
/// `tenant-in` for the senders where the test asks for it (its effect on
/// the AS path and on what is rejected is predicted in `run`).
const IMPORT_POLICY: &str = r#"
filter all { accept; }

filter tenant-in {
    rule "length" {
        if family == ipv4 and prefix-length > 28 then reject "too long";
    }
    if as-path has 65001 then set med 77;
    if communities has 1:* then remove community 1:*;
    add community 64500:1;
    add large-community 64500:2:peer-as;
    remove ext-community rt:*:*;
    prepend peer-as;
    accept;
}
"#;

const RS_CLIENTS: [Sender; 2] = [
    Sender {
        asn: 64501,
        role: "rs-client",
        internal: false,
    },
    Sender {
        asn: 64503,
        role: "rs-client",
        internal: false,
    },
];

/// Route server clients (RFC 7947), a BIRD client as the core.
#[test]
fn mutated_updates_from_route_server_clients() {
    run("mutated-rs", RS_CLIENTS, CoreKind::BirdClient, false, false);
}

/// Route server clients, a GoBGP eBGP peer as the core: its routes are
/// rewritten on the way (own AS prepended, next hop self).
#[test]
fn mutated_updates_from_route_server_clients_to_an_ebgp_core() {
    run(
        "mutated-ebgp",
        RS_CLIENTS,
        CoreKind::GobgpEbgp,
        false,
        false,
    );
}

/// Route reflector clients (RFC 4456), an FRR iBGP peer as the core: the
/// reflected routes gain ORIGINATOR_ID and CLUSTER_LIST on the way.
#[test]
fn mutated_updates_from_route_reflector_clients() {
    let client = Sender {
        asn: 64500,
        role: "rr-client",
        internal: true,
    };
    run("mutated-rr", [client; 2], CoreKind::FrrIbgp, false, false);
}

/// Route server clients, the strict client with ADD-PATH (RFC 7911):
/// it is sent every path of each prefix, each under its own identifier.
#[test]
fn mutated_updates_from_route_server_clients_to_an_add_path_client() {
    run("mutated-ap", RS_CLIENTS, CoreKind::BirdClient, true, false);
}

/// Route server clients under an import policy that rewrites what they
/// send (communities added and removed, MED set on a match, their AS
/// prepended) and rejects long IPv4 prefixes: the rewritten sets reach
/// the clients and the core well formed.
#[test]
fn mutated_updates_through_an_import_policy() {
    run("mutated-pol", RS_CLIENTS, CoreKind::BirdClient, false, true);
}
