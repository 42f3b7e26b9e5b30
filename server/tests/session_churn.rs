//! Sessions that come and go while routes change, over real TCP: two
//! clients played by the test announce and withdraw routes (IPv4 and
//! IPv6; one a dynamic neighbor from a `[[template]]` range, the other
//! with ADD-PATH, RFC 7911, one or two paths of a prefix) while, by a
//! seeded draw, one of them restarts gracefully (RFC 4724: back with the
//! Forwarding State bit for both families, for IPv4 only, without the
//! capability, without End-of-RIB, on a new connection while the old one
//! stands, or disabled or removed while away), resets its session (or is
//! reset by `rampartctl peer reset`), is asked for its routes again
//! (rampartd's ROUTE-REFRESH, answered between BoRR and EoRR, RFC 7313),
//! gets a new import policy by a reload, has a session setting changed by
//! a reload (Cease/6), gets a max-prefix limit by a reload (RFC 4486:
//! crossed by one prefix, lowered below what it holds, or `drop-excess`),
//! or is disabled and enabled over the control socket; the two receiving
//! clients (one with ADD-PATH) reset their sessions, ask for an enhanced
//! route refresh or get an export policy that hides some paths; now and
//! then every more-specific of an aggregate rampartd originates goes, then
//! one comes back.
//! Routes change during many of these steps. After each step the test
//! waits until every view agrees with its model of what rampartd must
//! hold: each sender's Adj-RIB-In after policy and its `show peers`
//! counts, the Loc-RIB (the best path of each prefix), what each client
//! was sent (the ADD-PATH client: every path its export takes; the other:
//! the best path it takes, with path hiding for route server clients),
//! what each sender was sent (never its own path), what an eBGP peer was
//! sent (the best path, rampartd's AS prepended), and what the core
//! holds, with the aggregate while a more-specific stands (summary-only
//! in one shape). Every UPDATE a client gets is read by the strict
//! decoder, and no client is told to withdraw what it was never sent. Two shapes: route
//! server clients with a BIRD client as the core, route reflector clients
//! with an FRR iBGP core.

mod views;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use rampart_core::attr::{AsPath, NextHop, Origin, PathAttributes};
use rampart_core::cap::{AddPathMode, Capability, GracefulRestart};
use rampart_core::msg::update::{MpReach, MpUnreach};
use rampart_core::msg::{Message, Notification, RouteRefresh, RouteRefreshSubtype, Update};
use rampart_core::nlri::{AfiSafi, Nlri, Prefix};
use rampart_tests::harness::raw_peer::{B, RS, RawPeer};
use rampart_tests::harness::{
    Netns, RampartdConfig, missing_prerequisite, rampartctl, show_peers, start_rampartd, tempdir,
};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use views::{
    CORE, Core, CoreKind, Held, grouped, paths, rampartd_log, rampartd_routes, rampartd_rows, read,
};

/// The plain client (no ADD-PATH); [`B`] is the ADD-PATH one.
const C: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 5);
/// An external (eBGP) peer that only receives, in AS [`E_AS`].
const E: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 6);
const E_AS: u32 = 64_530;
/// The senders' addresses.
const SENDERS: [Ipv4Addr; 2] = [Ipv4Addr::new(198, 18, 0, 11), Ipv4Addr::new(198, 18, 0, 12)];
/// The sender that sends path identifiers (ADD-PATH receive at rampartd).
const ADD_PATH_SENDER: usize = 1;
/// The sender that is a dynamic neighbor (a `[[template]]` of its address
/// alone); the other is a static `[[peer]]`.
const DYNAMIC_SENDER: usize = 0;

/// Who the peers are to rampartd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Route server clients (RFC 7947) in ASes of their own; the core a
    /// BIRD client.
    RouteServer,
    /// Route reflector clients (RFC 4456) in rampartd's AS 64500, their
    /// paths starting with 65011 and 65012; the core an FRR iBGP peer
    /// (IPv4).
    Reflector,
}

impl Shape {
    fn role(self) -> &'static str {
        match self {
            Self::RouteServer => "rs-client",
            Self::Reflector => "rr-client",
        }
    }

    /// Sender `i`'s AS and the first AS of its paths.
    fn sender_as(self, i: usize) -> (u32, u32) {
        let n = u32::try_from(i).unwrap_or(0) + 1;
        match self {
            Self::RouteServer => (64_510 + n, 64_510 + n),
            Self::Reflector => (64_500, 65_010 + n),
        }
    }

    /// The ADD-PATH client's AS and the plain client's.
    fn client_as(self) -> [u32; 2] {
        match self {
            Self::RouteServer => [64_502, 64_503],
            Self::Reflector => [64_500; 2],
        }
    }

    /// The aggregate hides its more-specifics (`summary-only`).
    fn summary_only(self) -> bool {
        self == Self::RouteServer
    }

    /// The aggregate's AS path as its peers get it: rampartd's AS toward
    /// route server clients (RFC 4271 §5.1.2), none toward internal peers.
    fn aggregate_path(self) -> &'static str {
        match self {
            Self::RouteServer => "64500",
            Self::Reflector => "",
        }
    }

    /// The senders' import filter when they have one: iBGP paths get no
    /// AS prepended.
    fn import(self) -> &'static str {
        match self {
            Self::RouteServer => "tenant-in",
            Self::Reflector => "tenant-in-ibgp",
        }
    }
}
/// Steps of the run.
const STEPS: usize = 54;
/// Sessions a peer may end: each one doubles rampartd's idle hold before
/// the next (1, 2, 4 s).
const MAX_ENDS: u32 = 3;
/// How long the views may take to agree after a step.
const SETTLE: Duration = Duration::from_secs(15);
const BOTH: [AfiSafi; 2] = [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST];

const POLICY: &str = r#"
filter tenant-in {
    rule "length" {
        if family == ipv4 and prefix-length > 28 then reject "too long";
    }
    prepend peer-as;
    accept;
}

filter tenant-in-ibgp {
    if family == ipv4 and prefix-length > 28 then reject "too long";
    accept;
}

filter client-out {
    if family == ipv4 and as-path has 64511 then reject "hidden";
    if family == ipv4 and as-path has 65011 then reject "hidden";
    accept;
}

filter accept-all {
    accept;
}
"#;

/// The prefixes the senders use: 24 IPv4 (a third of them /29, which
/// `tenant-in` rejects) and 12 IPv6.
fn pool() -> Vec<Prefix> {
    let v4 = (0u8..24).map(|n| match n % 3 {
        0 => format!("10.{n}.0.0/16"),
        1 => format!("10.200.{n}.0/24"),
        _ => format!("10.201.{n}.8/29"),
    });
    let v6 = (0u16..12).map(|n| format!("2001:db8:{n:x}::/48"));
    v4.chain(v6)
        .map(|p| p.parse().expect("pool prefix"))
        .collect()
}

/// The aggregate rampartd originates (`[[route]]`, RFC 4271 §9.2.2.2)
/// while one of its more-specifics is in the Loc-RIB: it covers the
/// pool's `10.200.n.0/24`s.
const AGGREGATE: &str = "10.200.0.0/16";

/// A more-specific of [`AGGREGATE`].
fn under_aggregate(prefix: &str) -> bool {
    prefix.starts_with("10.200.") && prefix != AGGREGATE
}

/// `m` (prefix -> what a peer holds of it) as a peer is sent it while
/// rampartd originates [`AGGREGATE`]: with summary-only (`hide`) none of
/// its more-specifics, and `aggregate` while it stands.
fn with_aggregate<V>(
    mut m: BTreeMap<String, V>,
    hide: bool,
    aggregate: Option<V>,
) -> BTreeMap<String, V> {
    if hide {
        m.retain(|p, _| !under_aggregate(p));
    }
    if let Some(v) = aggregate {
        m.insert(AGGREGATE.into(), v);
    }
    m
}

/// A prefix as the model keys it (rampartctl's text) is IPv6.
fn is_v6(prefix: &str) -> bool {
    prefix.contains(':')
}

/// Connects from `me` and brings the session up, again and again while
/// rampartd holds the peer idle after its last session (at most 30 s).
fn connect(ns: &Netns, me: Ipv4Addr, asn: u32, caps: &[Capability]) -> RawPeer {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let tried = RawPeer::connect(ns, me, RS).and_then(|mut p| {
            p.establish_with(asn, me, caps)?;
            Ok(p)
        });
        match tried {
            Ok(p) => return p,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => panic!("{me} could not establish: {e}"),
        }
    }
}

/// How a sender comes back from a graceful restart (RFC 4724 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Return {
    /// Forwarding State bit for both families: the stale paths of each
    /// stay until its End-of-RIB.
    Preserved,
    /// The bit for IPv4 only: the stale IPv6 paths go at once.
    V4Only,
    /// No Graceful Restart capability: every stale path goes at once.
    NoCapability,
    /// Both bits, but no End-of-RIB: the stale paths go after
    /// `refresh-stale-time`.
    Silent,
    /// Both bits, from a new connection while the old one still stands
    /// (rampartd never saw it end): the old session ends as if its TCP
    /// connection had failed.
    Unseen,
    /// Disabled while away, enabled again: the stale paths go at the
    /// disable.
    Disabled,
    /// Removed from the config by a reload while away, then added back:
    /// the stale paths go at the removal.
    Removed,
}

/// How a sender meets a max-prefix limit set by a reload (the session
/// stays up through the reload; the count is its paths after import
/// policy, both families).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// A limit of what it holds and up to two more, which it then
    /// announces (with a replaced path and a rejected prefix, neither
    /// counted); one more ends the session with Cease/1.
    Crossed,
    /// A limit below what it holds: Cease/1 at the reload.
    Lowered,
    /// `drop-excess`: the prefix past the limit is dropped, the session
    /// stays; after a withdrawal frees a place, it is taken.
    DropExcess,
}

/// The ASes `client-out` rejects IPv4 paths through: sender 0's first AS
/// in each shape (the others' paths may have them too, further on).
const HIDDEN: [u32; 2] = [64_511, 65_011];
/// The senders' `refresh-stale-time`, seconds.
const STALE_TIME: u64 = 3;

/// A route server client that announces routes.
struct Sender {
    addr: Ipv4Addr,
    asn: u32,
    /// The first AS of its paths.
    first_as: u32,
    /// Its import policy prepends its AS (`tenant-in`).
    prepended: bool,
    /// `None` while its session is down.
    peer: Option<RawPeer>,
    /// Sends path identifiers (ADD-PATH, RFC 7911): one or two paths per
    /// prefix, ids 1 and 2; without, id 0 stands for none.
    add_path: bool,
    /// A dynamic neighbor (from a `[[template]]` range): a session that
    /// ends for good (not kept for graceful restart) is forgotten, and the
    /// next is a new neighbor; there is nothing to enable.
    dynamic: bool,
    /// What rampartd should hold from it before import policy: (prefix,
    /// path id) -> AS path.
    table: BTreeMap<Key, String>,
    /// What rampartd sent it.
    held: Held,
    /// Graceful restart negotiated in the current session.
    gr: bool,
    /// Under the `tenant-in` import policy.
    policy: bool,
    /// Left out of the config.
    removed: bool,
    /// Its max-prefix limit in the config, and how it acts.
    limit: Option<(usize, Cut)>,
    /// A keepalive time in the config (a session setting).
    keepalive: bool,
    /// Announced but dropped by `drop-excess`.
    dropped: std::collections::BTreeSet<Key>,
    /// What `show peers` should say of its stale paths: away (or back and
    /// owing End-of-RIB), and the families.
    stale: Option<(bool, Vec<&'static str>)>,
    /// Sessions ended so far.
    ends: u32,
}

/// A route as the model keys it: the prefix (rampartctl's text) and the
/// path identifier (0 without ADD-PATH).
type Key = (String, u32);

/// A route to send: the prefix, its path identifier, and its AS path or
/// `None` to withdraw it.
type Route = (Prefix, u32, Option<Vec<u32>>);

impl Sender {
    fn caps(&self, back: Return, restarting: bool) -> Vec<Capability> {
        let mut caps = vec![
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
        ];
        if self.add_path {
            caps.push(Capability::AddPath(
                BOTH.iter().map(|f| (*f, AddPathMode::Send)).collect(),
            ));
        }
        let families = match back {
            Return::V4Only => vec![(BOTH[0], true), (BOTH[1], false)],
            _ => vec![(BOTH[0], true), (BOTH[1], true)],
        };
        if back != Return::NoCapability {
            caps.push(Capability::GracefulRestart(GracefulRestart {
                restart_state: restarting,
                notification: false,
                restart_time: 30,
                families,
            }));
        }
        caps
    }

    /// Brings a session up offering the Graceful Restart capability of
    /// `back` (`Preserved`: the usual one, both families preserved).
    fn up(&mut self, ns: &Netns, back: Return, restarting: bool) {
        let caps = self.caps(back, restarting);
        let mut peer = connect(ns, self.addr, self.asn, &caps);
        if self.add_path {
            peer.send_path_ids(&BOTH);
        }
        self.peer = Some(peer);
        self.gr = back != Return::NoCapability;
        self.held = Held {
            late_joiner: true,
            ..Held::default()
        };
    }

    /// Sends `routes`, one UPDATE each, and applies them to the model.
    fn send(&mut self, routes: &[Route]) {
        let Some(peer) = self.peer.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        for (p, id, path) in routes {
            let nlri = Nlri {
                path_id: self.add_path.then_some(*id),
                prefix: *p,
            };
            let m = match path {
                Some(path) => announcement(nlri, path, self.addr),
                None => withdrawal(nlri),
            };
            out.extend_from_slice(&peer.encode(&m).expect("encodes"));
            let key = (p.to_string(), *id);
            match path {
                Some(path) => {
                    let text: Vec<String> = path.iter().map(u32::to_string).collect();
                    self.table.insert(key, text.join(" "));
                }
                None => {
                    self.table.remove(&key);
                }
            }
        }
        peer.send_bytes(&out).expect("sender writes");
    }

    /// The path identifier of a prefix it announces once (1 with
    /// ADD-PATH, else 0).
    fn first_id(&self) -> u32 {
        u32::from(self.add_path)
    }

    /// A new path for `id` (see [`random_path`]).
    fn path(&self, rng: &mut Pcg64Mcg, id: u32) -> Vec<u32> {
        random_path(rng, self.first_as, id)
    }

    fn send_msg(&mut self, m: &Message) {
        if let Some(peer) = self.peer.as_mut() {
            peer.send(m).expect("sender writes");
        }
    }

    /// Random changes: announcements (new paths) and withdrawals; with
    /// ADD-PATH, of either path of a prefix.
    fn random_routes(&self, rng: &mut Pcg64Mcg, pool: &[Prefix], n: usize) -> Vec<Route> {
        (0..n)
            .map(|_| {
                let p = pool[rng.random_range(0..pool.len())];
                let id = if self.add_path {
                    rng.random_range(1..=2)
                } else {
                    0
                };
                let held = self.table.contains_key(&(p.to_string(), id));
                let withdraw = held && rng.random_bool(0.3);
                (p, id, (!withdraw).then(|| self.path(rng, id)))
            })
            .collect()
    }

    /// True when its import takes `prefix`.
    fn takes(&self, prefix: &str) -> bool {
        let len: Option<u8> = prefix.rsplit('/').next().and_then(|l| l.parse().ok());
        !self.policy || is_v6(prefix) || len.is_some_and(|l| l <= 28)
    }

    /// What rampartd should hold from it after import policy.
    fn post_policy(&self) -> BTreeMap<Key, String> {
        self.table
            .iter()
            .filter(|(k, _)| self.takes(&k.0) && !self.dropped.contains(*k))
            .map(|(k, path)| {
                let path = if self.policy && self.prepended {
                    format!("{} {path}", self.asn)
                } else {
                    path.clone()
                };
                (k.clone(), path)
            })
            .collect()
    }

    /// True when it is a dynamic neighbor rampartd has forgotten: no
    /// session, and no paths kept for a graceful restart.
    fn forgotten(&self) -> bool {
        self.dynamic && self.peer.is_none() && self.stale.is_none()
    }

    /// True when it announces some path of `prefix`.
    fn announces(&self, prefix: &str) -> bool {
        self.table.keys().any(|(p, _)| p == prefix)
    }

    /// What `show peers` should count as received from it: its routes
    /// before import policy, which is its paths after when it has none.
    fn received(&self) -> usize {
        if self.policy {
            self.table.len()
        } else {
            self.post_policy().len()
        }
    }
}

/// An AS path starting with `asn` for path identifier `id`: one to three
/// more ASes after it (id 0, no ADD-PATH), one or two (id 1), three or four
/// (id 2), so that a sender's two paths of a prefix never tie (what breaks
/// a tie between paths of one peer is not in RFC 4271 §9.1.2.2).
fn random_path(rng: &mut Pcg64Mcg, asn: u32, id: u32) -> Vec<u32> {
    let more = match id {
        0 => rng.random_range(1..=3),
        1 => rng.random_range(1..=2),
        _ => rng.random_range(3..=4),
    };
    let mut path = vec![asn];
    for _ in 0..more {
        path.push(rng.random_range(65_000..65_100));
    }
    path
}

/// The best path of each prefix among those `shown` lets through: the
/// shortest AS path, then the lowest BGP Identifier (RFC 4271 §9.1.2.2;
/// the senders' are their addresses, sender 0's the lower; their ORIGIN
/// is the same, their MEDs not compared as their ASes differ; one
/// sender's paths of a prefix differ in length).
fn best_paths(
    all: &BTreeMap<&str, Vec<(&str, usize)>>,
    shown: impl Fn(&str, &str) -> bool,
) -> BTreeMap<String, String> {
    all.iter()
        .filter_map(|(p, v)| {
            let best = v
                .iter()
                .filter(|(path, _)| shown(p, path))
                .min_by_key(|(path, i)| (asns(path).len(), *i))?;
            Some(((*p).to_string(), best.0.to_string()))
        })
        .collect()
}

/// A prefix of the pool, from the model's text.
fn own(p: &str) -> Prefix {
    p.parse().expect("a prefix of the pool")
}

/// The ASes of an AS path as the model writes it.
fn asns(path: &str) -> Vec<u32> {
    path.split(' ').filter_map(|a| a.parse().ok()).collect()
}

fn announcement(nlri: Nlri, path: &[u32], me: Ipv4Addr) -> Message {
    let mut attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence(path.iter().copied()),
        ..PathAttributes::default()
    };
    Message::Update(match nlri.prefix {
        Prefix::V4(_) => {
            let nlri = vec![nlri];
            attrs.next_hop = Some(NextHop::V4(me));
            Update {
                attrs,
                nlri,
                ..Update::default()
            }
        }
        Prefix::V6(_) => {
            let [.., last] = me.octets();
            Update {
                attrs,
                mp_reach: Some(MpReach {
                    family: AfiSafi::IPV6_UNICAST,
                    next_hop: NextHop::V6 {
                        global: Ipv6Addr::new(0x2001, 0xdb8, 0xffff, 0, 0, 0, 0, last.into()),
                        link_local: None,
                    },
                    nlri: vec![nlri],
                }),
                ..Update::default()
            }
        }
    })
}

fn withdrawal(nlri: Nlri) -> Message {
    Message::Update(match nlri.prefix {
        Prefix::V4(_) => Update {
            withdrawn: vec![nlri],
            ..Update::default()
        },
        Prefix::V6(_) => Update {
            mp_unreach: Some(MpUnreach {
                family: AfiSafi::IPV6_UNICAST,
                withdrawn: vec![nlri],
            }),
            ..Update::default()
        },
    })
}

/// A client that only receives.
struct Receiver {
    addr: Ipv4Addr,
    asn: u32,
    add_path: bool,
    peer: RawPeer,
    held: Held,
    /// Under the `client-out` export policy.
    export: bool,
    ends: u32,
}

impl Receiver {
    fn up(ns: &Netns, addr: Ipv4Addr, asn: u32, add_path: bool) -> RawPeer {
        let mut caps = vec![
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
        ];
        if add_path {
            caps.push(Capability::AddPath(
                BOTH.iter().map(|f| (*f, AddPathMode::Receive)).collect(),
            ));
        }
        let mut p = connect(ns, addr, asn, &caps);
        if add_path {
            p.receive_path_ids(&BOTH);
        }
        p
    }
}

/// Everything the run drives.
struct World {
    shape: Shape,
    ns: Netns,
    dir: std::path::PathBuf,
    conf: String,
    senders: [Sender; 2],
    clients: [Receiver; 2],
    /// An eBGP peer (RFC 8212: under `accept-all` both ways): the best
    /// path of each prefix with rampartd's AS prepended (RFC 4271 §5.1.2).
    external: Receiver,
    core: Core,
    rampartd: rampart_tests::harness::process::Child,
}

impl World {
    fn log(&self) -> String {
        format!(
            "rampartd:\n{}\ncore:\n{}",
            rampartd_log(&self.dir),
            self.core.log()
        )
    }

    fn ctl(&self, args: &[&str]) -> String {
        rampartctl(env!("CARGO_BIN_EXE_rampartctl"), &self.dir, args)
            .unwrap_or_else(|e| panic!("rampartctl {args:?}: {e}\n{}", self.log()))
    }

    /// Reads every session once (a short wait each): applies what each
    /// was sent, answers rampartd's route refresh requests (between BoRR
    /// and EoRR, the sender's table as it stands). A NOTIFICATION fails
    /// the run unless `ending` names that sender and its (code, subcode).
    fn pump(&mut self, ending: Option<(usize, (u8, u8))>) {
        let mut notes = BTreeMap::new();
        for (i, s) in self.senders.iter_mut().enumerate() {
            let Some(peer) = s.peer.as_mut() else {
                continue;
            };
            let ended = read(peer, &mut s.held, Duration::from_millis(2), &mut notes)
                .unwrap_or_else(|e| panic!("sender {}: {e}\n{}", s.addr, rampartd_log(&self.dir)));
            if ended {
                let sent: Vec<(u8, u8)> = notes.keys().copied().collect();
                assert!(
                    ending.is_some_and(|(k, code)| k == i && sent == [code]),
                    "sender {} was sent a NOTIFICATION {sent:?}, expected {ending:?}\n{}",
                    s.addr,
                    rampartd_log(&self.dir)
                );
                s.peer = None;
                continue;
            }
            for f in std::mem::take(&mut s.held.requests) {
                let routes: Vec<Route> = s
                    .table
                    .iter()
                    .filter(|((p, _), _)| is_v6(p) == (f == AfiSafi::IPV6_UNICAST))
                    .map(|((p, id), path)| (own(p), *id, Some(asns(path))))
                    .collect();
                let demarcate =
                    |subtype| Message::RouteRefresh(RouteRefresh { family: f, subtype });
                s.send_msg(&demarcate(RouteRefreshSubtype::BoRR));
                s.send(&routes);
                s.send_msg(&demarcate(RouteRefreshSubtype::EoRR));
            }
        }
        for c in self.clients.iter_mut().chain([&mut self.external]) {
            let ended = read(
                &mut c.peer,
                &mut c.held,
                Duration::from_millis(2),
                &mut notes,
            )
            .unwrap_or_else(|e| panic!("client {}: {e}\n{}", c.addr, rampartd_log(&self.dir)));
            assert!(
                !ended,
                "client {} was sent a NOTIFICATION: {notes:?}",
                c.addr
            );
        }
    }

    /// What is wrong with the views now, if anything (see the module
    /// docs); `Ok` when they all agree with the model.
    fn disagreement(&self) -> Result<(), String> {
        let want: [BTreeMap<Key, String>; 2] =
            [self.senders[0].post_policy(), self.senders[1].post_policy()];
        // A removed sender is no peer to ask about, nor a dynamic neighbor
        // whose session ended for good (their paths must be gone from
        // every other view).
        let present = || {
            self.senders
                .iter()
                .zip(&want)
                .filter(|(s, _)| !s.removed && !s.forgotten())
        };
        for (s, want) in present() {
            let rows = rampartd_rows(
                &self.dir,
                &["--table", "in-post", "--peer", &s.addr.to_string()],
            )?;
            let adj_in = grouped(rows.into_iter().map(|(p, path, _)| (p, path)));
            let want = grouped(want.iter().map(|((p, _), path)| (p.clone(), path.clone())));
            if adj_in != want {
                return Err(format!(
                    "rampartd's Adj-RIB-In of {}: {adj_in:?}, the model: {want:?}",
                    s.addr,
                ));
            }
        }
        // `show peers`: the counts of what rampartd holds from each sender.
        let rows = show_peers(env!("CARGO_BIN_EXE_rampartctl"), &self.dir);
        for (s, want) in present() {
            let row = rows
                .iter()
                .find(|r| r["address"] == s.addr.to_string())
                .ok_or_else(|| format!("no row for {} in show peers: {rows:?}", s.addr))?;
            let template = row["template"].as_str();
            if template != s.dynamic.then_some("tenant") {
                return Err(format!(
                    "show peers says {} came from template {template:?}",
                    s.addr
                ));
            }
            let stale = &row["graceful_restart"];
            let shown = (!stale.is_null()).then(|| {
                let families: Vec<&str> = stale["stale_families"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str())
                    .collect();
                (stale["away"].as_bool().unwrap_or(false), families)
            });
            if shown != s.stale {
                return Err(format!(
                    "show peers says {stale} of {}'s stale paths, the model {:?}",
                    s.addr, s.stale
                ));
            }
            let counts = (&row["prefixes_received"], &row["prefixes_accepted"]);
            if counts.0 != s.received() || counts.1 != want.len() {
                return Err(format!(
                    "show peers counts {counts:?} received/accepted from {}, the model {} and {}",
                    s.addr,
                    s.received(),
                    want.len()
                ));
            }
        }
        // Every path of each prefix, with its sender's index.
        let mut all: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
        for (i, want) in want.iter().enumerate() {
            for ((p, _), path) in want {
                all.entry(p).or_default().push((path, i));
            }
        }
        // The aggregate is there while a more-specific is (in any shard).
        let aggregate = all.keys().any(|p| under_aggregate(p));
        let mut best = best_paths(&all, |_, _| true);
        if aggregate {
            best.insert(AGGREGATE.into(), String::new());
        }
        let loc = paths(&rampartd_routes(&self.dir, &[])?);
        if loc != best {
            return Err(format!(
                "Loc-RIB {loc:?}, every path {all:?}: not the best of each \
                 (aggregate {AGGREGATE}: {aggregate})"
            ));
        }
        // What every peer is sent of the aggregate (see `with_aggregate`),
        // with rampartd's AS toward route server clients.
        let hide = self.shape.summary_only();
        let to_clients = self.shape.aggregate_path();
        let exported = |m: BTreeMap<String, String>| {
            with_aggregate(m, hide, aggregate.then(|| to_clients.to_string()))
        };
        for (k, s) in self.senders.iter().enumerate() {
            // Never its own path: a route server client gets the best of
            // the other's (RFC 7947 §2.3.2), a reflector's client the best
            // path when it is the other's (RFC 4456 §8).
            let want = match self.shape {
                Shape::RouteServer => {
                    let others: BTreeMap<&str, Vec<(&str, usize)>> = all
                        .iter()
                        .map(|(p, v)| (*p, v.iter().copied().filter(|(_, i)| *i != k).collect()))
                        .collect();
                    best_paths(&others, |_, _| true)
                }
                Shape::Reflector => best_paths(&all, |_, _| true)
                    .into_iter()
                    .filter(|(p, path)| {
                        all.get(p.as_str())
                            .and_then(|v| v.iter().find(|(q, _)| q == path))
                            .is_some_and(|(_, i)| *i != k)
                    })
                    .collect(),
            };
            let want = exported(want);
            if s.peer.is_some() && s.held.routes != want {
                return Err(format!(
                    "sender {} holds {:?}, the model {want:?}",
                    s.addr, s.held.routes
                ));
            }
        }
        for c in &self.clients {
            // `client-out` hides IPv4 paths through sender 0's first AS
            // (in either shape); a route server client gets the other path
            // instead (RFC 7947 §2.3.2.1), a reflector's client nothing.
            let shown = |p: &str, path: &str| {
                !(c.export && !is_v6(p) && asns(path).iter().any(|a| HIDDEN.contains(a)))
            };
            let (held, want) = if c.add_path {
                let every = grouped(all.iter().flat_map(|(p, v)| {
                    v.iter()
                        .filter(|(path, _)| shown(p, path))
                        .map(|(path, _)| ((*p).to_string(), (*path).to_string()))
                }));
                let every = with_aggregate(every, hide, aggregate.then(|| vec![to_clients.into()]));
                (format!("{:?}", c.held.by_prefix()), format!("{every:?}"))
            } else {
                let best = match self.shape {
                    Shape::RouteServer => best_paths(&all, shown),
                    Shape::Reflector => best_paths(&all, |_, _| true)
                        .into_iter()
                        .filter(|(p, path)| shown(p, path))
                        .collect(),
                };
                (
                    format!("{:?}", c.held.routes),
                    format!("{:?}", exported(best)),
                )
            };
            if held != want {
                return Err(format!("client {} holds {held}, the model {want}", c.addr));
            }
        }
        // The eBGP peer: the best path with rampartd's AS first, the
        // aggregate with that AS alone (and summary-only as for the others).
        let want = best_paths(&all, |_, _| true)
            .into_iter()
            .map(|(p, path)| (p, format!("64500 {path}")))
            .collect();
        let want = with_aggregate(want, hide, aggregate.then(|| "64500".to_string()));
        if self.external.held.routes != want {
            return Err(format!(
                "the eBGP peer holds {:?}, the model {want:?}",
                self.external.held.routes
            ));
        }
        let core = self.core.routes();
        let v6 = self.core.takes_v6();
        let want: BTreeMap<String, String> = exported(best_paths(&all, |_, _| true))
            .into_iter()
            .filter(|(p, _)| v6 || !is_v6(p))
            .collect();
        if core != want {
            return Err(format!(
                "the core holds {core:?}, the model {want:?} (Loc-RIB {loc:?})"
            ));
        }
        Ok(())
    }

    /// Reads every session until the views agree (at most [`SETTLE`]).
    fn settle(&mut self, step: usize, what: &str) {
        let deadline = Instant::now() + SETTLE;
        let mut next_check = Instant::now();
        loop {
            self.pump(None);
            if Instant::now() >= next_check {
                match self.disagreement() {
                    Ok(()) => return,
                    Err(e) if Instant::now() >= deadline => {
                        panic!("step {step} ({what}): {e}\n{}", self.log());
                    }
                    Err(_) => next_check = Instant::now() + Duration::from_millis(150),
                }
            }
        }
    }

    /// Rewrites the config with the senders' policies and reloads it.
    fn reload(&mut self) {
        let mut conf = self.conf.clone();
        let list = |on: bool, name: &str| {
            if on {
                format!("[\"{name}\"]")
            } else {
                "[]".into()
            }
        };
        for s in &self.senders {
            conf = conf.replace(
                &format!("# import of {}", s.addr),
                &format!("import = {}", list(s.policy, self.shape.import())),
            );
            let limit = match s.limit {
                None => String::new(),
                Some((n, Cut::DropExcess)) => {
                    format!("max-prefix = {{ limit = {n}, action = \"drop-excess\" }}")
                }
                Some((n, _)) => format!(
                    "max-prefix = {{ limit = {n}, action = \"restart\", restart-after = 1 }}"
                ),
            };
            conf = conf.replace(&format!("# limit of {}", s.addr), &limit);
            let keepalive = if s.keepalive { "keepalive = 20" } else { "" };
            conf = conf.replace(&format!("# settings of {}", s.addr), keepalive);
        }
        for c in &self.clients {
            conf = conf.replace(
                &format!("# export of {}", c.addr),
                &format!("export = {}", list(c.export, "client-out")),
            );
        }
        // A removed sender's [[peer]] or [[template]] table is left out.
        let mut tables = conf.split("\n[[");
        let mut conf = tables.next().unwrap_or_default().to_string();
        for table in tables {
            let gone = self.senders.iter().any(|s| {
                s.removed
                    && (table.contains(&format!("address = \"{}\"", s.addr))
                        || table.contains(&format!("range = \"{}/32\"", s.addr)))
            });
            if !gone {
                conf.push_str("\n[[");
                conf.push_str(table);
            }
        }
        std::fs::write(self.dir.join("rampartd.toml"), conf).unwrap();
        self.ctl(&["reload"]);
    }

    /// [`Step::Limit`]: gives sender `i` a max-prefix limit by a reload,
    /// brings it to the limit and past it as `cut` says, then takes the
    /// limit away by another reload (the session, if cut, comes back).
    fn limit(&mut self, step: usize, i: usize, cut: Cut, rng: &mut Pcg64Mcg, pool: &[Prefix]) {
        let fresh = |s: &Sender| -> Vec<Prefix> {
            pool.iter()
                .copied()
                .filter(|p| {
                    let p = p.to_string();
                    !s.announces(&p) && s.takes(&p)
                })
                .collect()
        };
        // Room to cross: two prefixes it may still announce, and for a
        // lowered limit a path it holds.
        let s = &mut self.senders[i];
        let id = s.first_id();
        if fresh(s).len() < 2 {
            // Every path of two prefixes it holds.
            let two: Vec<String> = s
                .post_policy()
                .keys()
                .map(|(p, _)| p.clone())
                .take(2)
                .collect();
            let gone: Vec<Route> = s
                .table
                .keys()
                .filter(|(p, _)| two.contains(p))
                .map(|(p, id)| (own(p), *id, None))
                .collect();
            s.send(&gone);
        }
        if cut == Cut::Lowered && s.post_policy().is_empty() {
            let path = s.path(rng, id);
            s.send(&[(fresh(s)[0], id, Some(path))]);
        }
        self.settle(step, "room for a limit");
        let s = &self.senders[i];
        let held = s.post_policy().len();
        let mut fresh = fresh(s);
        let room = match cut {
            Cut::Lowered => 0,
            _ => rng.random_range(0..=2usize).min(fresh.len() - 1),
        };
        let limit = match cut {
            Cut::Lowered => held - 1,
            _ => held + room,
        };
        eprintln!("  sender {i}: {held} paths, a limit of {limit}");
        self.senders[i].limit = Some((limit, cut));
        self.reload();
        if cut == Cut::Lowered {
            self.ended(step, i, 1, "cut at a lowered limit");
        } else {
            // The session stays through the reload.
            self.settle(step, "a limit set");
            // Up to the limit, with a path replaced and a prefix the
            // import rejects (neither counts).
            let s = &mut self.senders[i];
            let mut routes = Vec::new();
            for _ in 0..room {
                let p = fresh.remove(rng.random_range(0..fresh.len()));
                routes.push((p, id, Some(s.path(rng, id))));
            }
            if let Some((p, held_id)) = s.table.keys().next() {
                routes.push((own(p), *held_id, Some(s.path(rng, *held_id))));
            }
            let rejected = pool.iter().find(|p| {
                let p = p.to_string();
                !s.takes(&p) && !s.announces(&p)
            });
            if let Some(p) = rejected {
                routes.push((*p, id, Some(s.path(rng, id))));
            }
            s.send(&routes);
            self.settle(step, "at the limit");
            let s = &mut self.senders[i];
            let over = fresh.remove(rng.random_range(0..fresh.len()));
            let path = s.path(rng, id);
            if cut == Cut::Crossed {
                s.send(&[(over, id, Some(path))]);
                self.ended(step, i, 1, "cut past the limit");
            } else {
                s.dropped.insert((over.to_string(), id));
                s.send(&[(over, id, Some(path.clone()))]);
                self.settle(step, "past a drop-excess limit");
                // A withdrawal frees a place: the dropped prefix sent again
                // takes it (without one, a limit of 0, it is withdrawn).
                let s = &mut self.senders[i];
                let freed = s.post_policy().keys().next().cloned();
                if let Some((p, freed_id)) = freed {
                    s.send(&[(own(&p), freed_id, None)]);
                    self.settle(step, "a place freed under drop-excess");
                    let s = &mut self.senders[i];
                    s.dropped.clear();
                    s.send(&[(over, id, Some(path))]);
                } else {
                    s.dropped.clear();
                    s.send(&[(over, id, None)]);
                }
                self.settle(step, "the dropped prefix again");
            }
        }
        self.senders[i].limit = None;
        self.reload();
        if self.senders[i].peer.is_none() {
            self.senders[i].up(&self.ns, Return::Preserved, false);
            let routes = self.senders[i].random_routes(rng, pool, 20);
            self.senders[i].send(&routes);
        }
    }

    /// Waits for sender `i`'s session to end with Cease `subcode` (RFC
    /// 4486 §4); its paths go with it (no graceful restart after a
    /// NOTIFICATION).
    fn ended(&mut self, step: usize, i: usize, subcode: u8, what: &str) {
        let deadline = Instant::now() + SETTLE;
        while self.senders[i].peer.is_some() {
            assert!(
                Instant::now() < deadline,
                "step {step}: no Cease/{subcode} ({what})\n{}",
                self.log()
            );
            self.pump(Some((i, (6, subcode))));
        }
        self.senders[i].ends += 1;
        self.senders[i].table.clear();
        self.settle(step, what);
    }
}

/// One step of the run, drawn at random.
#[derive(Debug, Clone, Copy)]
enum Step {
    Routes(usize),
    GracefulRestart(usize, Return),
    /// The sender's session reset with Cease/Administrative Reset: sent by
    /// the sender, or (true) by rampartd at the operator's `peer reset`.
    Reset(usize, bool),
    AskSender(usize),
    Policy(usize),
    Limit(usize, Cut),
    /// Every more-specific of [`AGGREGATE`] withdrawn, then one back.
    Aggregate,
    /// A reload changes a session setting of the sender (its keepalive).
    Settings(usize),
    DisableEnable(usize),
    ClientReset(usize),
    ClientRefresh(usize),
    ClientPolicy(usize),
}

/// The first steps: graceful restarts, each way back once, then every
/// other kind of step once.
const SCRIPT: [Step; 23] = [
    Step::GracefulRestart(1, Return::Preserved),
    Step::GracefulRestart(0, Return::V4Only),
    Step::GracefulRestart(1, Return::NoCapability),
    Step::GracefulRestart(0, Return::Silent),
    Step::GracefulRestart(0, Return::Unseen),
    Step::DisableEnable(1),
    Step::ClientPolicy(1),
    Step::Reset(1, false),
    Step::Reset(0, true),
    Step::Reset(1, true),
    Step::AskSender(1),
    Step::ClientReset(0),
    Step::ClientRefresh(1),
    Step::Policy(0),
    Step::Routes(1),
    Step::GracefulRestart(1, Return::Disabled),
    Step::GracefulRestart(0, Return::Removed),
    Step::Limit(1, Cut::Crossed),
    Step::Limit(0, Cut::DropExcess),
    Step::Limit(0, Cut::Lowered),
    Step::Aggregate,
    Step::Settings(0),
    Step::Settings(1),
];

/// Step `step`: [`SCRIPT`], then a random draw among the steps the idle
/// hold budget allows.
fn draw(rng: &mut Pcg64Mcg, w: &World, step: usize) -> Step {
    if let Some(s) = SCRIPT.get(step - 1) {
        return *s;
    }
    loop {
        let i = rng.random_range(0..2usize);
        let step = match rng.random_range(0..100) {
            0..25 => Step::Routes(i),
            25..27 => Step::Settings(i),
            27..30 => Step::Aggregate,
            30..35 => Step::Limit(
                i,
                [Cut::Crossed, Cut::Lowered, Cut::DropExcess][rng.random_range(0..3)],
            ),
            35..47 => Step::GracefulRestart(
                i,
                [
                    Return::Preserved,
                    Return::V4Only,
                    Return::NoCapability,
                    Return::Silent,
                    Return::Unseen,
                    Return::Disabled,
                    Return::Removed,
                ][rng.random_range(0..7)],
            ),
            47..53 => Step::Reset(i, rng.random_bool(0.5)),
            53..62 => Step::AskSender(i),
            62..72 => Step::Policy(i),
            72..78 => Step::DisableEnable(i),
            78..86 => Step::ClientReset(i),
            86..93 => Step::ClientRefresh(i),
            _ => Step::ClientPolicy(i),
        };
        let ends_ok = |n: u32| n < MAX_ENDS;
        let fits = match step {
            Step::GracefulRestart(i, _) => ends_ok(w.senders[i].ends) && w.senders[i].gr,
            Step::Reset(i, _) | Step::DisableEnable(i) | Step::Settings(i) => {
                ends_ok(w.senders[i].ends)
            }
            Step::Limit(i, cut) => cut == Cut::DropExcess || ends_ok(w.senders[i].ends),
            Step::ClientReset(i) => ends_ok(w.clients[i].ends),
            _ => true,
        };
        if fits {
            return step;
        }
    }
}

/// Route server clients, a BIRD client as the core.
#[test]
fn route_server_clients_come_and_go_while_routes_change() {
    run("churn-rs", Shape::RouteServer);
}

/// Route reflector clients, an FRR iBGP peer as the core.
#[test]
fn route_reflector_clients_come_and_go_while_routes_change() {
    run("churn-rr", Shape::Reflector);
}

/// The whole run for one shape: see the module docs.
fn run(tag: &str, shape: Shape) {
    let kind = match shape {
        Shape::RouteServer => CoreKind::BirdClient,
        Shape::Reflector => CoreKind::FrrIbgp,
    };
    if let Some(why) = missing_prerequisite(kind.needs()) {
        eprintln!("skipping: {why}");
        return;
    }
    let role = shape.role();
    let [b_as, c_as] = shape.client_as();
    let (core_as, core_role) = kind.peer();
    let dir = tempdir(tag);
    let ns = Netns::new(tag).unwrap();
    let policy_file = dir.join("tenant.policy");
    std::fs::write(&policy_file, POLICY).unwrap();
    let fams = "families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n";
    // The aggregate's next hop is no address of the namespace: FRR takes
    // rampartd's (the namespace's one configured address) for its own
    // ("martian or self next-hop"), as every daemon here shares it.
    let summary_only = if shape.summary_only() {
        "summary-only = true\n"
    } else {
        ""
    };
    let mut conf = RampartdConfig::new(&RS.to_string(), &RS.to_string(), &dir)
        .global(&format!("policy-files = [\"{}\"]", policy_file.display()))
        .raw(&format!(
            "[[route]]\nprefix = \"{AGGREGATE}\"\naggregate = true\n{summary_only}\
             next-hop = \"198.18.0.9\"\n"
        ))
        .passive_peer(
            &B.to_string(),
            b_as,
            role,
            &format!("{fams}add-path = \"send\"\n# export of {B}\n"),
        )
        .passive_peer(
            &C.to_string(),
            c_as,
            role,
            &format!("{fams}# export of {C}\n"),
        )
        .passive_peer(
            &E.to_string(),
            E_AS,
            "ebgp",
            &format!("{fams}import = [\"accept-all\"]\nexport = [\"accept-all\"]\n"),
        )
        .active_peer(CORE, core_as, core_role, fams);
    for (i, addr) in SENDERS.into_iter().enumerate() {
        let add_path = if i == ADD_PATH_SENDER {
            "add-path = \"receive\"\n"
        } else {
            ""
        };
        let keys = format!(
            "{fams}graceful-restart = true\nrefresh-stale-time = {STALE_TIME}\n\
             {add_path}# import of {addr}\n# limit of {addr}\n# settings of {addr}\n"
        );
        let asn = shape.sender_as(i).0;
        conf = if i == DYNAMIC_SENDER {
            conf.raw(&format!(
                "[[template]]\nname = \"tenant\"\nrange = \"{addr}/32\"\nremote-as = {asn}\n\
                 role = \"{role}\"\nhold-time = 90\n{keys}"
            ))
        } else {
            conf.passive_peer(&addr.to_string(), asn, role, &keys)
        };
    }
    // Long enough that the test's reads keep every session alive.
    let conf = conf
        .to_string()
        .replace("hold-time = 9\n", "hold-time = 90\n");
    let rampartd = start_rampartd(&ns, env!("CARGO_BIN_EXE_rampartd"), &dir, &conf).unwrap();
    let core = Core::start(&ns, &dir, kind);
    let clients = [(B, b_as, true), (C, c_as, false)].map(|(addr, asn, add_path)| Receiver {
        addr,
        asn,
        add_path,
        peer: Receiver::up(&ns, addr, asn, add_path),
        held: Held::default(),
        export: false,
        ends: 0,
    });
    let external = Receiver {
        addr: E,
        asn: E_AS,
        add_path: false,
        peer: Receiver::up(&ns, E, E_AS, false),
        held: Held::default(),
        export: false,
        ends: 0,
    };
    let senders = [0, 1].map(|i| Sender {
        addr: SENDERS[i],
        asn: shape.sender_as(i).0,
        first_as: shape.sender_as(i).1,
        prepended: shape == Shape::RouteServer,
        peer: None,
        add_path: i == ADD_PATH_SENDER,
        dynamic: i == DYNAMIC_SENDER,
        table: BTreeMap::new(),
        held: Held::default(),
        gr: false,
        policy: false,
        removed: false,
        limit: None,
        keepalive: false,
        dropped: std::collections::BTreeSet::new(),
        stale: None,
        ends: 0,
    });
    let mut w = World {
        shape,
        ns,
        dir,
        conf,
        senders,
        clients,
        external,
        core,
        rampartd,
    };
    let up = rampart_tests::harness::wait_for("core Established", Duration::from_secs(30), || {
        w.core.established().then_some(())
    });
    assert!(up.is_ok(), "{up:?}\n{}", w.log());
    for s in &mut w.senders {
        s.up(&w.ns, Return::Preserved, false);
    }
    // Another seed explores other runs: RAMPART_CHURN_SEED=n.
    let seed = std::env::var("RAMPART_CHURN_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x4724);
    eprintln!("seed {seed}");
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let pool = pool();
    for i in 0..2 {
        let routes = w.senders[i].random_routes(&mut rng, &pool, 30);
        w.senders[i].send(&routes);
    }
    w.settle(0, "first routes");
    let started = Instant::now();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for step in 1..=STEPS {
        let s = draw(&mut rng, &w, step);
        let name = format!("{s:?}");
        *counts
            .entry(name.split('(').next().unwrap_or_default().to_string())
            .or_default() += 1;
        eprintln!("step {step}: {name}");
        match s {
            Step::Routes(i) => {
                let n = rng.random_range(1..=25);
                let routes = w.senders[i].random_routes(&mut rng, &pool, n);
                w.senders[i].send(&routes);
            }
            Step::GracefulRestart(i, back) => {
                // The TCP connection ends without a NOTIFICATION: rampartd
                // keeps the paths as stale (or drops them all when graceful
                // restart was not negotiated) and every view stays.
                assert!(
                    w.senders[i].gr,
                    "step {step}: {name} without graceful restart"
                );
                let old_conn = w.senders[i].peer.take();
                w.senders[i].ends += 1;
                let families = vec!["ipv4-unicast", "ipv6-unicast"];
                if back == Return::Unseen {
                    // Up again before the old connection ends.
                    w.senders[i].up(&w.ns, back, true);
                    drop(old_conn);
                } else {
                    drop(old_conn);
                    w.senders[i].stale = Some((true, families.clone()));
                    w.settle(step, "sender down");
                    let addr = w.senders[i].addr.to_string();
                    if back == Return::Disabled {
                        w.ctl(&["peer", "disable", &addr]);
                        w.senders[i].table.clear();
                        w.senders[i].stale = None;
                        w.settle(step, "disabled while away");
                        if !w.senders[i].dynamic {
                            w.ctl(&["peer", "enable", &addr]);
                        }
                    } else if back == Return::Removed {
                        w.senders[i].removed = true;
                        w.reload();
                        w.senders[i].table.clear();
                        w.senders[i].stale = None;
                        w.settle(step, "removed while away");
                        w.senders[i].removed = false;
                        w.reload();
                    }
                    w.senders[i].up(&w.ns, back, true);
                }
                w.senders[i].stale = match back {
                    Return::Preserved | Return::Silent | Return::Unseen => Some((false, families)),
                    Return::V4Only => Some((false, vec!["ipv4-unicast"])),
                    Return::NoCapability | Return::Disabled | Return::Removed => None,
                };
                // What it sends again: most of its routes, some changed,
                // some new; a few not at all.
                let old = w.senders[i].table.clone();
                let mut again: Vec<Route> = Vec::new();
                for ((p, id), path) in &old {
                    if rng.random_bool(0.2) {
                        continue;
                    }
                    let path = if rng.random_bool(0.3) {
                        w.senders[i].path(&mut rng, *id)
                    } else {
                        asns(path)
                    };
                    again.push((own(p), *id, Some(path)));
                }
                again.extend(
                    w.senders[i]
                        .random_routes(&mut rng, &pool, 5)
                        .into_iter()
                        .filter(|(_, _, path)| path.is_some()),
                );
                // The model: paths of a family not preserved went at the
                // new Established; the rest stay until End-of-RIB.
                let keep = |(p, _): &Key| match back {
                    Return::Preserved | Return::Silent | Return::Unseen => true,
                    Return::V4Only => !is_v6(p),
                    Return::NoCapability | Return::Disabled | Return::Removed => false,
                };
                w.senders[i].table.retain(|p, _| keep(p));
                w.senders[i].send(&again);
                let resent: std::collections::BTreeSet<Key> = again
                    .iter()
                    .map(|(p, id, _)| (p.to_string(), *id))
                    .collect();
                if back == Return::Silent {
                    // The stale paths wait for an End-of-RIB that does not
                    // come, then go.
                    let gone = Instant::now() + Duration::from_secs(STALE_TIME);
                    w.settle(step, "back, before refresh-stale-time");
                    assert!(Instant::now() < gone, "too slow to see the stale paths");
                } else {
                    // End-of-RIB for IPv4 first: its stale paths go, the
                    // IPv6 ones still stand (RFC 4724 §4.2: per family).
                    w.senders[i].send_msg(&Message::Update(Update::end_of_rib(BOTH[0])));
                    w.senders[i]
                        .table
                        .retain(|k, _| is_v6(&k.0) || resent.contains(k));
                    let v6_owed = w.senders[i]
                        .stale
                        .as_ref()
                        .is_some_and(|(_, f)| f.contains(&"ipv6-unicast"));
                    w.senders[i].stale = v6_owed.then(|| (false, vec!["ipv6-unicast"]));
                    w.settle(step, "IPv4 End-of-RIB after a graceful restart");
                    w.senders[i].send_msg(&Message::Update(Update::end_of_rib(BOTH[1])));
                }
                w.senders[i].table.retain(|k, _| resent.contains(k));
                w.senders[i].stale = None;
            }
            Step::Reset(i, operator) => {
                if operator {
                    let addr = w.senders[i].addr.to_string();
                    w.ctl(&["peer", "reset", &addr]);
                    w.ended(step, i, 4, "reset by the operator");
                } else {
                    let cease = Message::Notification(Notification::new(
                        rampart_core::iana::ErrorCode::Cease,
                        4,
                        Vec::new(),
                    ));
                    w.senders[i].send_msg(&cease);
                    w.senders[i].peer = None;
                    w.senders[i].ends += 1;
                    w.senders[i].table.clear();
                    w.settle(step, "sender reset");
                }
                w.senders[i].up(&w.ns, Return::Preserved, false);
                let routes = w.senders[i].random_routes(&mut rng, &pool, 20);
                w.senders[i].send(&routes);
                w.senders[i].send_msg(&Message::Update(Update::end_of_rib(BOTH[0])));
                w.senders[i].send_msg(&Message::Update(Update::end_of_rib(BOTH[1])));
            }
            Step::AskSender(i) => {
                if w.senders[i].peer.is_some() {
                    // The sender answers from `pump`; to see that the
                    // answer counts, it first drops a route from its
                    // table without a withdrawal, so only the EoRR's sweep
                    // removes it from rampartd.
                    if let Some(p) = w.senders[i].table.keys().next().cloned() {
                        w.senders[i].table.remove(&p);
                    }
                    let addr = w.senders[i].addr.to_string();
                    w.ctl(&["peer", "refresh", &addr]);
                }
            }
            Step::Policy(i) => {
                w.senders[i].policy = !w.senders[i].policy;
                w.reload();
            }
            Step::Limit(i, cut) => {
                if w.senders[i].peer.is_some() {
                    w.limit(step, i, cut, &mut rng, &pool);
                }
            }
            Step::Settings(i) => {
                // The session restarts with Cease/Other Configuration
                // Change (a dynamic neighbor's template changed: it comes
                // back as a new neighbor).
                if w.senders[i].peer.is_some() {
                    w.senders[i].keepalive = !w.senders[i].keepalive;
                    w.reload();
                    w.ended(step, i, 6, "session settings changed");
                    w.senders[i].up(&w.ns, Return::Preserved, false);
                    let routes = w.senders[i].random_routes(&mut rng, &pool, 20);
                    w.senders[i].send(&routes);
                }
            }
            Step::Aggregate => {
                // The aggregate goes with its last more-specific (every
                // shard counts to zero) and comes back with one.
                for s in &mut w.senders {
                    let gone: Vec<Route> = s
                        .table
                        .keys()
                        .filter(|(p, _)| under_aggregate(p))
                        .map(|(p, id)| (own(p), *id, None))
                        .collect();
                    s.send(&gone);
                }
                w.settle(step, "no more-specific of the aggregate");
                let under: Vec<Prefix> = pool
                    .iter()
                    .copied()
                    .filter(|p| under_aggregate(&p.to_string()))
                    .collect();
                let p = under[rng.random_range(0..under.len())];
                let s = &mut w.senders[rng.random_range(0..2)];
                let id = s.first_id();
                let path = s.path(&mut rng, id);
                s.send(&[(p, id, Some(path))]);
            }
            Step::ClientPolicy(k) => {
                w.clients[k].export = !w.clients[k].export;
                w.reload();
            }
            Step::DisableEnable(i) => {
                let addr = w.senders[i].addr.to_string();
                w.ctl(&["peer", "disable", &addr]);
                w.ended(step, i, 2, "sender disabled");
                if !w.senders[i].dynamic {
                    w.ctl(&["peer", "enable", &addr]);
                }
                w.senders[i].up(&w.ns, Return::Preserved, false);
                let routes = w.senders[i].random_routes(&mut rng, &pool, 20);
                w.senders[i].send(&routes);
            }
            Step::ClientReset(k) => {
                let c = &mut w.clients[k];
                let cease = Message::Notification(Notification::new(
                    rampart_core::iana::ErrorCode::Cease,
                    4,
                    Vec::new(),
                ));
                let _ = c.peer.send(&cease);
                c.ends += 1;
                c.peer = Receiver::up(&w.ns, c.addr, c.asn, c.add_path);
                c.held = Held {
                    late_joiner: true,
                    ..Held::default()
                };
                // Routes change while it is sent the table.
                let i = rng.random_range(0..2);
                let routes = w.senders[i].random_routes(&mut rng, &pool, 10);
                w.senders[i].send(&routes);
            }
            Step::ClientRefresh(k) => {
                let c = &mut w.clients[k];
                let before = c.held.refreshed.clone();
                for family in BOTH {
                    c.peer
                        .send(&Message::RouteRefresh(RouteRefresh {
                            family,
                            subtype: RouteRefreshSubtype::Normal,
                        }))
                        .unwrap();
                }
                // Routes change while it is sent the table again.
                let i = rng.random_range(0..2);
                let routes = w.senders[i].random_routes(&mut rng, &pool, 10);
                w.senders[i].send(&routes);
                let deadline = Instant::now() + SETTLE;
                loop {
                    w.pump(None);
                    let now = &w.clients[k].held.refreshed;
                    if BOTH.iter().all(|f| now.get(f) > before.get(f)) {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "client {} asked for a refresh: no EoRR for both families\n{}",
                        w.clients[k].addr,
                        w.log()
                    );
                }
            }
        }
        // Half the time routes change while rampartd is still at the step
        // (a reload's new import, a refresh's walk, a session coming up).
        if rng.random_bool(0.5) {
            let i = rng.random_range(0..2);
            let routes = w.senders[i].random_routes(&mut rng, &pool, 5);
            w.senders[i].send(&routes);
        }
        w.settle(step, &name);
    }
    eprintln!("{STEPS} steps in {:?}: {counts:?}", started.elapsed());
    assert_eq!(counts.len(), 12, "a kind of step never came: {counts:?}");
    assert!(w.rampartd.is_running(), "rampartd exited\n{}", w.log());
    let complaints = w.core.complaints();
    assert!(
        complaints.is_empty(),
        "the core complained: {complaints:#?}"
    );
    assert!(!rampartd_log(&w.dir).contains("panicked"), "{}", w.log());
    let World {
        ns,
        dir,
        senders,
        clients,
        external,
        core,
        mut rampartd,
        ..
    } = w;
    drop((senders, clients, external, core));
    rampartd.stop(Duration::from_secs(5));
    drop((rampartd, ns));
    let _ = std::fs::remove_dir_all(&dir);
}
