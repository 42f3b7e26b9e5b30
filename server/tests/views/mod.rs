//! What each party of an end-to-end test holds, and how the test reads
//! it: a client played by the test ([`Held`], filled by [`read`] with the
//! strict decoder), rampartd (`rampartctl show routes`) and a real core
//! daemon ([`Core`]). Shared by the tests that drive rampartd with
//! sessions of their own (`mutated_updates`, `session_churn`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rampart_core::attr::{AsPath, SegmentType};
use rampart_core::msg::Update;
use rampart_core::msg::update::Treatment;
use rampart_core::msg::{Message, RouteRefresh, RouteRefreshSubtype};
use rampart_core::nlri::{AfiSafi, Nlri};
use rampart_tests::harness::bird::FAST_TIMERS;
use rampart_tests::harness::raw_peer::{RS, RawPeer};
use rampart_tests::harness::{Bird, Frr, GoBgp, Netns, frr, gobgp, rampartctl};

/// The core daemon's address.
pub(crate) const CORE: &str = "198.18.0.4";

/// What a client holds: prefix -> AS path, from the UPDATEs it was sent.
#[derive(Debug, Default)]
pub(crate) struct Held {
    pub(crate) routes: BTreeMap<String, String>,
    /// Prefixes whose last word was a withdrawal. A repeat is needless but
    /// harmless: a prefix announced and withdrawn again between two of the
    /// client's drains, while a slower member keeps its Adj-RIB-Out entry,
    /// is withdrawn again (the entry does not know that the client saw the
    /// first withdrawal).
    pub(crate) withdrawn: BTreeSet<String>,
    /// A client that joined while routes changed (a sender's new session)
    /// may be told to withdraw a prefix that changed during its initial
    /// advertisement and that it was never sent (the safe answer, see
    /// `AdjRibOut::drain`); the strict client joins before any route.
    pub(crate) late_joiner: bool,
    /// Routes held from before an enhanced route refresh began (BoRR) and
    /// not sent again since: they go at its end (EoRR, RFC 7313 §4).
    pub(crate) stale: BTreeSet<String>,
    /// Enhanced route refreshes that ended (EoRR received), per family.
    pub(crate) refreshed: BTreeMap<AfiSafi, usize>,
    /// Route refresh requests received (RFC 2918), not yet answered.
    pub(crate) requests: Vec<AfiSafi>,
}

impl Held {
    /// Applies one frame rampartd sent; an error names what was wrong
    /// with it.
    pub(crate) fn apply(
        &mut self,
        frame: &[u8],
        ctx: &rampart_core::DecodeCtx,
    ) -> Result<(), String> {
        match frame.get(18) {
            Some(2) => {}
            Some(4) => return Ok(()),
            Some(5) => return self.refresh(frame),
            _ => {
                return Err(format!(
                    "not an UPDATE, KEEPALIVE or ROUTE-REFRESH: {frame:02x?}"
                ));
            }
        }
        let body = frame.get(19..).unwrap_or_default();
        let (d, nlri) = Update::decode_split(body, ctx)
            .map_err(|e| format!("undecodable UPDATE {e}: {frame:02x?}"))?;
        if d.treatment != Treatment::Normal {
            return Err(format!(
                "malformed UPDATE ({:?}: {:?}): {frame:02x?}",
                d.treatment, d.errors
            ));
        }
        let u = d.update;
        // RFC 4271 §5: an unrecognized optional non-transitive attribute is
        // not passed along; a transitive one is, with the Partial bit set.
        for a in &u.attrs.rare.unknown {
            if a.flags & 0xE0 != 0xE0 {
                return Err(format!(
                    "unrecognized attribute {} passed on with flags {:#04x}: {frame:02x?}",
                    a.type_code, a.flags
                ));
            }
        }
        let gone = u
            .withdrawn
            .iter()
            .chain(u.mp_unreach.iter().flat_map(|m| &m.withdrawn));
        for n in gone {
            // rampartd withdraws only what it announced (a prefix announced
            // and withdrawn since the client's last drain is neither).
            let p = key(n);
            if self.routes.remove(&p).is_none() && !self.withdrawn.contains(&p) && !self.late_joiner
            {
                return Err(format!(
                    "told to withdraw {p}, which it was never sent: {frame:02x?}"
                ));
            }
            self.withdrawn.insert(p);
        }
        let path = as_path_text(&u.attrs.as_path);
        let added = nlri.chain(u.mp_reach.iter().flat_map(|m| m.nlri.iter().copied()));
        for n in added {
            self.stale.remove(&key(&n));
            self.withdrawn.remove(&key(&n));
            self.routes.insert(key(&n), path.clone());
        }
        Ok(())
    }

    /// A ROUTE-REFRESH: a request is kept for the caller to answer; BoRR
    /// marks the family's routes stale, EoRR drops those still stale.
    fn refresh(&mut self, frame: &[u8]) -> Result<(), String> {
        let m = RouteRefresh::decode(frame)
            .map_err(|e| format!("undecodable ROUTE-REFRESH {e}: {frame:02x?}"))?;
        let v6 = m.family == AfiSafi::IPV6_UNICAST;
        let of_family = |k: &String| k.contains(':') == v6;
        match m.subtype {
            RouteRefreshSubtype::Normal => self.requests.push(m.family),
            RouteRefreshSubtype::BoRR => {
                self.stale = self
                    .routes
                    .keys()
                    .filter(|k| of_family(k))
                    .cloned()
                    .collect();
            }
            RouteRefreshSubtype::EoRR => {
                let (gone, kept) = std::mem::take(&mut self.stale)
                    .into_iter()
                    .partition::<BTreeSet<_>, _>(|k| of_family(k));
                self.stale = kept;
                for k in gone {
                    self.routes.remove(&k);
                    self.withdrawn.insert(k);
                }
                *self.refreshed.entry(m.family).or_default() += 1;
            }
            RouteRefreshSubtype::Unknown(s) => {
                return Err(format!("ROUTE-REFRESH subtype {s}: {frame:02x?}"));
            }
        }
        Ok(())
    }

    /// The AS paths held for each prefix, in order (one per prefix, or
    /// every path with ADD-PATH).
    pub(crate) fn by_prefix(&self) -> BTreeMap<String, Vec<String>> {
        grouped(self.routes.iter().map(|(k, path)| {
            let prefix = k.split(' ').next().unwrap_or_default();
            (prefix.to_string(), path.clone())
        }))
    }
}

/// (prefix, AS path) pairs as prefix -> its AS paths, sorted.
pub(crate) fn grouped(
    rows: impl Iterator<Item = (String, String)>,
) -> BTreeMap<String, Vec<String>> {
    let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (p, path) in rows {
        all.entry(p).or_default().push(path);
    }
    all.values_mut().for_each(|v| v.sort());
    all
}

/// How a client keys what it holds: the prefix, and the path identifier
/// after it under ADD-PATH (RFC 7911).
pub(crate) fn key(n: &Nlri) -> String {
    match n.path_id {
        Some(id) => format!("{} #{id}", n.prefix),
        None => n.prefix.to_string(),
    }
}

/// An AS path as `rampartctl show routes` prints it: sets in braces.
pub(crate) fn as_path_text(p: &AsPath) -> String {
    let mut out = Vec::new();
    for s in p.segments() {
        let asns: Vec<String> = s.asns.iter().map(u32::to_string).collect();
        match s.kind {
            SegmentType::AsSet | SegmentType::ConfedSet => {
                out.push(format!("{{{}}}", asns.join(" ")));
            }
            _ => out.push(asns.join(" ")),
        }
    }
    out.join(" ")
}

/// Reads what rampartd sent a client until `wait` passes with nothing,
/// applying it to `held` (strictly, see [`Held::apply`]): `Ok(true)` when
/// the session ended with a NOTIFICATION (counted by code and subcode).
///
/// # Errors
/// A malformed or needless UPDATE, or a session that ended without a
/// NOTIFICATION (RFC 4271 §6: every error is answered with one).
pub(crate) fn read(
    p: &mut RawPeer,
    held: &mut Held,
    wait: Duration,
    notifications: &mut BTreeMap<(u8, u8), usize>,
) -> Result<bool, String> {
    let ctx = p.decode_ctx().clone();
    loop {
        match p.recv_frame(wait) {
            Ok(None) => return Ok(false),
            Ok(Some(f)) if f.get(18) == Some(&3) => {
                let code = (
                    f.get(19).copied().unwrap_or(0),
                    f.get(20).copied().unwrap_or(0),
                );
                *notifications.entry(code).or_default() += 1;
                return Ok(true);
            }
            Ok(Some(f)) => {
                held.apply(&f, &ctx)?;
                if f.get(18) == Some(&4) {
                    let _ = p.send(&Message::Keepalive);
                }
            }
            Err(e) => return Err(format!("ended without a NOTIFICATION ({e})")),
        }
    }
}
/// The rows of `rampartctl show routes ARGS --json`: (prefix, AS path,
/// from).
pub(crate) fn rampartd_rows(
    dir: &std::path::Path,
    args: &[&str],
) -> Result<Vec<(String, String, String)>, String> {
    let mut all = vec!["show", "routes"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = rampartctl(env!("CARGO_BIN_EXE_rampartctl"), dir, &all)?;
    let rows: serde_json::Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
    Ok(rows
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            (text("prefix"), text("as_path"), text("from"))
        })
        .collect())
}

/// [`rampartd_rows`] with one path per prefix: prefix -> (AS path, from).
pub(crate) fn rampartd_routes(
    dir: &std::path::Path,
    args: &[&str],
) -> Result<BTreeMap<String, (String, String)>, String> {
    Ok(rampartd_rows(dir, args)?
        .into_iter()
        .map(|(prefix, path, from)| (prefix, (path, from)))
        .collect())
}

/// The AS paths of `routes`.
pub(crate) fn paths(routes: &BTreeMap<String, (String, String)>) -> BTreeMap<String, String> {
    routes
        .iter()
        .map(|(p, (path, _))| (p.clone(), path.clone()))
        .collect()
}

/// Which real daemon gets what rampartd passes on, as what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoreKind {
    /// BIRD 2, a route server client (AS 64510, IPv4 and IPv6).
    BirdClient,
    /// FRR, an iBGP peer of the route reflector (IPv4).
    FrrIbgp,
    /// GoBGP, an eBGP peer (AS 64520, IPv4 and IPv6) under an accept-all
    /// policy: rampartd prepends its AS and sets itself as next hop.
    GobgpEbgp,
}

impl CoreKind {
    /// The core's AS and its role in rampartd's config.
    pub(crate) fn peer(self) -> (u32, &'static str) {
        match self {
            Self::BirdClient => (64510, "rs-client"),
            Self::FrrIbgp => (64500, "ibgp"),
            Self::GobgpEbgp => (64520, "ebgp"),
        }
    }

    pub(crate) fn needs(self) -> &'static [&'static str] {
        match self {
            Self::BirdClient => &["ip", "bird", "birdc"],
            Self::FrrIbgp => &["ip", "zebra", "bgpd", "vtysh"],
            Self::GobgpEbgp => &["ip", "gobgpd", "gobgp"],
        }
    }
}

/// The real daemon that gets what rampartd passes on.
pub(crate) enum Core {
    Bird(Bird),
    Frr(Frr),
    GoBgp(GoBgp),
}

impl Core {
    pub(crate) fn start(ns: &Netns, dir: &std::path::Path, kind: CoreKind) -> Self {
        let dir = dir.join("core");
        match kind {
            CoreKind::FrrIbgp => {
                let conf = format!(
                    "frr defaults traditional
hostname core
log file {}/bgpd.log debugging
debug bgp updates in
router bgp 64500
 bgp router-id {CORE}
{}{} neighbor {RS} passive
 address-family ipv4 unicast
 exit-address-family
",
                    dir.display(),
                    frr::GLOBAL_LINES,
                    frr::neighbor_lines(&RS.to_string(), 64500, CORE),
                );
                Self::Frr(Frr::start(ns, &dir, &[CORE], &conf).unwrap())
            }
            CoreKind::BirdClient => {
                let conf = format!(
                    "log stderr all;
router id {CORE};
protocol device {{}}
protocol bgp routeserver {{ local {CORE} as 64510; neighbor {RS} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} ipv4 {{ import all; export none; }}; ipv6 {{ import all; export none; }}; }}"
                );
                Self::Bird(Bird::start(ns, &dir, &conf).unwrap())
            }
            CoreKind::GobgpEbgp => {
                let rs = RS.to_string();
                let conf = gobgp::passive(&gobgp::config(64520, CORE, &[(&rs, 64500)], true));
                Self::GoBgp(GoBgp::start(ns, &dir, &conf).unwrap())
            }
        }
    }

    pub(crate) fn established(&self) -> bool {
        match self {
            Self::Bird(b) => b.protocol_info("routeserver").as_deref() == Some("Established"),
            Self::Frr(f) => f.neighbor_state(&RS.to_string()).as_deref() == Some("Established"),
            Self::GoBgp(g) => g.is_established(&RS.to_string()),
        }
    }

    /// Prefix -> AS path (sets flattened), for the families it takes.
    pub(crate) fn routes(&self) -> BTreeMap<String, String> {
        let routes = match self {
            Self::Bird(b) => b.routes(),
            Self::Frr(f) => f.routes(),
            Self::GoBgp(g) => g.routes(),
        };
        routes
            .unwrap()
            .into_iter()
            .map(|r| {
                let path: Vec<String> = r.as_path.iter().map(u32::to_string).collect();
                (r.prefix, path.join(" "))
            })
            .collect()
    }

    /// The families compared (the FRR core takes IPv4 only).
    pub(crate) fn takes_v6(&self) -> bool {
        !matches!(self, Self::Frr(_))
    }

    pub(crate) fn log(&self) -> String {
        match self {
            Self::Bird(b) => b.log(),
            Self::Frr(f) => f.log(),
            Self::GoBgp(g) => g.log(),
        }
    }

    /// The log lines where the daemon found fault with what it was sent
    /// (a malformed attribute, a route it withdrew or denied). Fails when
    /// the log holds no sign that it logs at all.
    pub(crate) fn complaints(&self) -> Vec<String> {
        let log = self.log();
        let (alive, words): (&str, &[&str]) = match self {
            Self::Bird(_) => ("Started", &["error", "malformed", "invalid"]),
            Self::Frr(_) => (
                "rcvd UPDATE",
                &["error", "malformed", "invalid", "denied", "can't find"],
            ),
            Self::GoBgp(_) => ("Peer Up", &["error", "malformed", "invalid", "warn"]),
        };
        assert!(log.contains(alive), "the core does not log: {log}");
        log.lines()
            .filter(|l| {
                let l = l.to_lowercase();
                words.iter().any(|w| l.contains(w))
            })
            .map(str::to_string)
            .collect()
    }
}

pub(crate) fn rampartd_log(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(dir.join("rampartd.log")).unwrap_or_default();
    // The end is what explains a failure; the log is long.
    let start = text.len().saturating_sub(20_000);
    text.get(start..).unwrap_or(&text).to_string()
}
