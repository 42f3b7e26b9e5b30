//! Semantic checks and the typed runtime configuration.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use rampart_policy::{Policy, PrefixSet};
use toml::Spanned;

use super::ConfigError;
use super::model::{
    AddPathMode, Family, IoBackend, MaxPrefixAction, MaxPrefixConfig, NextHopSetting, RawAs,
    RawConfig, RawGlobal, RawMrtDump, RawRoute, RawRpkiCache, RawSession, RawTemplate, Role,
};
use crate::auth::AuthConfig;

mod auth;

/// Default hold time offered in OPEN (RFC 4271 §10 suggests 90 s), seconds.
pub(crate) const DEFAULT_HOLD_TIME: u16 = 90;
/// Default ConnectRetryTime (RFC 4271 §10 suggests 120 s; 5 s as BIRD), seconds.
pub(crate) const DEFAULT_CONNECT_RETRY: u16 = 5;
/// Default bound on an enhanced route refresh from a peer (RFC 7313 §4):
/// seconds from its BoRR to its EoRR before the paths it did not send
/// again are removed anyway (FRR's stalepath-time default), seconds.
pub(crate) const DEFAULT_REFRESH_STALE_TIME: u16 = 360;

/// The validated configuration rampartd runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this came from.
    pub source: PathBuf,
    /// `[global]`.
    pub global: GlobalConfig,
    /// Static neighbors, in file order.
    pub peers: Vec<PeerConfig>,
    /// Dynamic-neighbor templates, in file order; the first whose range
    /// matches an incoming address wins.
    pub templates: Vec<TemplateConfig>,
    /// Routes the server originates.
    pub routes: Vec<OriginateConfig>,
    /// The policy files, loaded, type-checked and with their `test`
    /// blocks passed; `None` when `policy-files` is empty.
    pub policy: Option<PolicyConfig>,
    /// RPKI caches (`[[rpki-cache]]`), in file order.
    pub rpki_caches: Vec<RpkiCacheConfig>,
}

/// Default RTR port (RFC 8210 §7: "323").
pub(crate) const DEFAULT_RTR_PORT: u16 = 323;
/// Default wait between connection attempts to an RPKI cache, seconds
/// (GoBGP's; RFC 8210 §6 suggests 600 once a cache has answered).
pub(crate) const DEFAULT_RTR_RETRY: u32 = 30;
/// Default expire interval (RFC 8210 §6: 7200 s), seconds.
pub(crate) const DEFAULT_RTR_EXPIRE: u32 = 7200;

/// One RPKI-to-Router cache (RFC 8210) to take validated ROA payloads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpkiCacheConfig {
    /// Address and TCP port of the cache.
    pub address: std::net::SocketAddr,
    /// Seconds between connection attempts (≥ 1).
    pub retry: u32,
    /// Seconds the cache's payloads stay in use after its last good
    /// exchange while it cannot be reached (RFC 8210 §6 expire interval,
    /// 600..=172800).
    pub expire: u32,
}

/// Loaded policy files (`[global] policy-files`).
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// The files as configured, resolved against the config file's folder.
    pub files: Vec<PathBuf>,
    /// The compiled policy.
    pub policy: Arc<Policy>,
    /// Hash of every loaded source text (includes too): two loads with the
    /// same digest run the same filters.
    pub digest: u64,
}

impl PartialEq for PolicyConfig {
    fn eq(&self, other: &Self) -> bool {
        self.files == other.files && self.digest == other.digest
    }
}

/// Server-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalConfig {
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// Local AS (4-octet).
    pub local_as: u32,
    /// Route reflector cluster ID (RFC 4456 §7); defaults to the router ID.
    pub cluster_id: Ipv4Addr,
    /// Addresses to listen on; empty means none (active sessions only).
    pub listen: Vec<IpAddr>,
    /// TCP port to listen on (default 179).
    pub port: u16,
    /// Worker threads (default: the number of cores).
    pub workers: usize,
    /// I/O backend.
    pub io_backend: IoBackend,
    /// Unix socket of the control API.
    pub control_socket: PathBuf,
    /// Where to serve OpenMetrics (`GET /metrics`, HTTP); none by default.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Periodic MRT table dumps; none by default.
    pub mrt_dump: Option<MrtDumpConfig>,
}

/// `mrt-dump`: an MRT TABLE_DUMP_V2 file of the Adj-RIB-In every
/// `interval` seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MrtDumpConfig {
    /// File name pattern, strftime in UTC (`rib.%Y%m%d.%H%M.mrt`),
    /// resolved against the config file's folder when relative.
    pub file: String,
    /// Seconds between dumps (≥ 1).
    pub interval: u32,
}

/// Timers of a session, seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimersConfig {
    /// Hold time offered in OPEN (0, or 3..=65535), seconds.
    pub hold_time: u16,
    /// Keepalive interval; default hold/3, seconds.
    pub keepalive: u16,
    /// ConnectRetryTime, seconds.
    pub connect_retry: u16,
    /// `refresh-stale-time`: how long after a peer's BoRR (RFC 7313 §4)
    /// its EoRR may take, and after a graceful restart's return (RFC 4724
    /// §4.2) its End-of-RIB; past it, the paths of the family it did not
    /// send again are removed as the marker would have, seconds (≥ 1).
    pub refresh_stale: u16,
}

/// A session's settings, shared by static peers and templates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSettings {
    /// Role toward the server.
    pub role: Role,
    /// Families negotiated (default: the family of the peer's address).
    pub families: Vec<Family>,
    /// Timers.
    pub timers: TimersConfig,
    /// Never connect; wait for the peer.
    pub passive: bool,
    /// Source address for the TCP connection.
    pub local_address: Option<IpAddr>,
    /// Import filter names, applied in order.
    pub import: Vec<String>,
    /// Export filter names, applied in order.
    pub export: Vec<String>,
    /// Prefixes this peer may announce: what `prefix in peer-prefixes`
    /// matches in its filters; `None` when not configured.
    pub allowed_prefixes: Option<Arc<AllowedPrefixes>>,
    /// Max-prefix limit.
    pub max_prefix: Option<MaxPrefixConfig>,
    /// Free text.
    pub description: Option<String>,
    /// ADD-PATH mode.
    pub add_path: AddPathMode,
    /// Graceful restart (RFC 4724) helper mode.
    pub graceful_restart: bool,
    /// Well-known communities honoured on export (RFC 1997 §"Well-known
    /// Communities"): NO_ADVERTISE goes to no peer, NO_EXPORT and
    /// NO_EXPORT_SUBCONFED to no external peer. Default: on, except for
    /// route server clients, to whom a route server passes communities
    /// for them to act on (RFC 7947 §2.2; RFC 7999 blackholes carry
    /// NO_EXPORT).
    pub interpret_communities: bool,
    /// TCP-MD5 / TCP-AO keys and GTSM (`password`, `tcp-ao`,
    /// `ttl-security`); a template's apply to its whole range.
    pub auth: AuthConfig,
}

/// `allowed-prefixes`: as written, and compiled.
#[derive(Debug, Clone)]
pub struct AllowedPrefixes {
    /// The entries as written (`203.0.113.0/24`, `203.0.113.0/24{24,32}`,
    /// `203.0.113.0/24 or-longer`).
    pub entries: Vec<String>,
    /// The compiled set.
    pub set: PrefixSet,
}

impl PartialEq for AllowedPrefixes {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}
impl Eq for AllowedPrefixes {}

/// A static neighbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Peer address.
    pub address: IpAddr,
    /// Peer AS.
    pub remote_as: u32,
    /// Session settings.
    pub session: SessionSettings,
}

/// An inclusive range of AS numbers.
pub type AsRange = RangeInclusive<u32>;

/// A dynamic-neighbor template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateConfig {
    /// Name, unique.
    pub name: String,
    /// Addresses sessions are accepted from.
    pub range: IpNet,
    /// Allowed peer AS numbers.
    pub remote_as: AsRange,
    /// Cap on concurrent sessions from this template.
    pub max_sessions: Option<u32>,
    /// Session settings (always passive).
    pub session: SessionSettings,
}

/// A route the server originates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginateConfig {
    /// The prefix.
    pub prefix: IpNet,
    /// Next hop.
    pub next_hop: NextHopSetting,
    /// Aggregate of received more-specifics (announced only while one exists).
    pub aggregate: bool,
    /// Suppress the more-specifics of an aggregate.
    pub summary_only: bool,
    /// Standard communities `ASN:VALUE` to attach.
    pub communities: Vec<(u16, u16)>,
}

impl TimersConfig {
    /// How long a session may go without a KEEPALIVE/UPDATE, as a duration.
    #[must_use]
    pub fn hold(&self) -> Duration {
        Duration::from_secs(self.hold_time.into())
    }
}

struct Ctx<'a> {
    file: &'a Path,
    src: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, ConfigError> {
        Err(ConfigError::at(
            self.file,
            self.src,
            Some(pos),
            message.into(),
        ))
    }
}

pub(crate) fn validate(raw: RawConfig, file: &Path, src: &str) -> Result<Config, ConfigError> {
    let cx = Ctx { file, src };
    let policy = match &raw.global.policy_files {
        Some(files) if !files.get_ref().is_empty() => Some(load_policy(&cx, files)?),
        _ => None,
    };
    let global = global(&cx, raw.global)?;
    let mut seen = HashSet::new();
    let mut peers = Vec::with_capacity(raw.peers.len());
    for p in raw.peers {
        let pos = p.span().start;
        let mut p = p.into_inner();
        let raw_session = p.session();
        let address = *p.address.get_ref();
        if !seen.insert(address) {
            return cx.err(
                p.address.span().start,
                format!("peer {address} is configured twice"),
            );
        }
        if *p.remote_as.get_ref() == 0 {
            return cx.err(p.remote_as.span().start, "AS 0 is reserved (RFC 7607)");
        }
        let session = session(&cx, pos, raw_session, address_family(address))?;
        auth::kernel_check(&cx, pos, address.into(), &session.auth)?;
        peers.push(PeerConfig {
            address,
            remote_as: *p.remote_as.get_ref(),
            session,
        });
    }
    let templates = templates(&cx, raw.templates)?;
    let sessions = peers
        .iter()
        .map(|p| (format!("peer {}", p.address), &p.session))
        .chain(
            templates
                .iter()
                .map(|t| (format!("template {:?}", t.name), &t.session)),
        );
    for (what, s) in sessions {
        check_filters(file, policy.as_ref(), &what, s)?;
    }
    let routes = raw
        .routes
        .into_iter()
        .map(|r| route(&cx, r))
        .collect::<Result<_, _>>()?;
    let rpki_caches = rpki_caches(&cx, raw.rpki_caches)?;
    Ok(Config {
        source: file.to_path_buf(),
        global,
        peers,
        templates,
        routes,
        policy,
        rpki_caches,
    })
}

fn mrt_dump(cx: &Ctx<'_>, d: Spanned<RawMrtDump>) -> Result<MrtDumpConfig, ConfigError> {
    use chrono::format::{Item, StrftimeItems};
    let pos = d.span().start;
    let d = d.into_inner();
    if d.interval == 0 {
        return cx.err(pos, "mrt-dump interval must be at least 1 second");
    }
    if d.file.is_empty() || StrftimeItems::new(&d.file).any(|i| matches!(i, Item::Error)) {
        return cx.err(
            pos,
            format!("mrt-dump file {:?} is not a file name with strftime fields (%Y, %m, %d, %H, %M, %S)", d.file),
        );
    }
    let base = cx.file.parent().unwrap_or_else(|| Path::new("."));
    Ok(MrtDumpConfig {
        file: base.join(&d.file).to_string_lossy().into_owned(),
        interval: d.interval,
    })
}

fn rpki_caches(
    cx: &Ctx<'_>,
    raw: Vec<Spanned<RawRpkiCache>>,
) -> Result<Vec<RpkiCacheConfig>, ConfigError> {
    let mut out: Vec<RpkiCacheConfig> = Vec::with_capacity(raw.len());
    for c in raw {
        let pos = c.span().start;
        let c = c.into_inner();
        let address = std::net::SocketAddr::new(c.address, c.port.unwrap_or(DEFAULT_RTR_PORT));
        if out.iter().any(|o| o.address == address) {
            return cx.err(pos, format!("rpki-cache {address} is configured twice"));
        }
        let retry = c.retry.as_ref().map_or(DEFAULT_RTR_RETRY, |r| *r.get_ref());
        if let Some(r) = &c.retry
            && *r.get_ref() == 0
        {
            return cx.err(r.span().start, "retry must be at least 1 second");
        }
        let expire = c
            .expire
            .as_ref()
            .map_or(DEFAULT_RTR_EXPIRE, |e| *e.get_ref());
        if let Some(e) = &c.expire
            && !(600..=172_800).contains(e.get_ref())
        {
            return cx.err(
                e.span().start,
                "expire must be 600..=172800 seconds (RFC 8210 §6)",
            );
        }
        out.push(RpkiCacheConfig {
            address,
            retry,
            expire,
        });
    }
    Ok(out)
}

/// Loads, checks and test-runs the policy files; an error carries the
/// rendered diagnostics (file, line, column, source line).
fn load_policy(cx: &Ctx<'_>, files: &Spanned<Vec<PathBuf>>) -> Result<PolicyConfig, ConfigError> {
    let base = cx.file.parent().unwrap_or_else(|| Path::new("."));
    let paths: Vec<PathBuf> = files.get_ref().iter().map(|f| base.join(f)).collect();
    let pos = files.span().start;
    let policy = match rampart_policy::load_files(&paths) {
        Ok(p) => p,
        Err(d) => return cx.err(pos, format!("policy does not load:\n{}", d.render())),
    };
    let report = policy.run_tests();
    if let Some(f) = &report.failures {
        return cx.err(
            pos,
            format!(
                "policy tests failed ({} of {}):\n{}",
                report.tests - report.passed,
                report.tests,
                f.render()
            ),
        );
    }
    let mut h = std::hash::DefaultHasher::new();
    let sources = policy.sources();
    for id in 0.. {
        let Some((name, text)) = sources.file(id) else {
            break;
        };
        std::hash::Hash::hash(&(name, text), &mut h);
    }
    Ok(PolicyConfig {
        files: paths,
        digest: std::hash::Hasher::finish(&h),
        policy: Arc::new(policy),
    })
}

/// Every filter a session names exists in the policy.
fn check_filters(
    file: &Path,
    policy: Option<&PolicyConfig>,
    what: &str,
    s: &SessionSettings,
) -> Result<(), ConfigError> {
    let names = s
        .import
        .iter()
        .map(|n| ("import", n))
        .chain(s.export.iter().map(|n| ("export", n)));
    for (key, name) in names {
        if policy.is_none_or(|p| p.policy.filter_id(name).is_none()) {
            return Err(ConfigError {
                file: file.to_path_buf(),
                line: None,
                column: None,
                key: Some(key.to_string()),
                message: format!(
                    "{what}: {key} filter {name:?} is not defined in any of [global] policy-files"
                ),
            });
        }
    }
    Ok(())
}

/// Parses one `allowed-prefixes` entry: `P/L`, `P/L{MIN,MAX}` or
/// `P/L or-longer`.
fn allowed_entry(text: &str) -> Option<(rampart_core::nlri::Prefix, u8, u8)> {
    let text = text.trim();
    let (net, range) = match text.split_once(['{', ' ']) {
        Some((n, r)) => (n, Some(r.trim())),
        None => (text, None),
    };
    let net: IpNet = net.parse().ok()?;
    let net = net.trunc();
    let prefix = rampart_core::nlri::Prefix::from(net);
    let max_len = net.max_prefix_len();
    let (min, max) = match range {
        None => (net.prefix_len(), net.prefix_len()),
        Some("or-longer") => (net.prefix_len(), max_len),
        Some(r) => {
            let (a, b) = r.strip_suffix('}')?.split_once(',')?;
            (a.trim().parse().ok()?, b.trim().parse().ok()?)
        }
    };
    Some((prefix, min, max))
}

fn allowed_prefixes(
    cx: &Ctx<'_>,
    raw: &[Spanned<String>],
) -> Result<Option<Arc<AllowedPrefixes>>, ConfigError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let mut set = PrefixSet::new();
    for e in raw {
        let Some((p, min, max)) = allowed_entry(e.get_ref()) else {
            return cx.err(
                e.span().start,
                format!(
                    "expected PREFIX/LEN, PREFIX/LEN{{MIN,MAX}} or \"PREFIX/LEN or-longer\", got {:?}",
                    e.get_ref()
                ),
            );
        };
        if let Err(err) = set.add(&p, min, max) {
            return cx.err(e.span().start, err.to_string());
        }
    }
    Ok(Some(Arc::new(AllowedPrefixes {
        entries: raw.iter().map(|e| e.get_ref().clone()).collect(),
        set,
    })))
}

fn global(cx: &Ctx<'_>, g: RawGlobal) -> Result<GlobalConfig, ConfigError> {
    let router_id = *g.router_id.get_ref();
    if router_id.is_unspecified() {
        return cx.err(g.router_id.span().start, "router-id must not be 0.0.0.0");
    }
    if *g.local_as.get_ref() == 0 {
        return cx.err(g.local_as.span().start, "AS 0 is reserved (RFC 7607)");
    }
    let workers = match g.workers {
        Some(w) if *w.get_ref() == 0 => return cx.err(w.span().start, "workers must be ≥ 1"),
        Some(w) => *w.get_ref(),
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mrt_dump = match g.mrt_dump {
        Some(d) => Some(mrt_dump(cx, d)?),
        None => None,
    };
    Ok(GlobalConfig {
        router_id,
        local_as: *g.local_as.get_ref(),
        cluster_id: g.cluster_id.unwrap_or(router_id),
        listen: g.listen,
        port: g.port.unwrap_or(179),
        workers,
        io_backend: g.io_backend,
        control_socket: g
            .control_socket
            .unwrap_or_else(|| PathBuf::from("/run/rampart/rampartd.sock")),
        metrics_listen: g.metrics_listen,
        mrt_dump,
    })
}

fn address_family(a: IpAddr) -> Family {
    if a.is_ipv4() {
        Family::Ipv4Unicast
    } else {
        Family::Ipv6Unicast
    }
}

fn session(
    cx: &Ctx<'_>,
    pos: usize,
    s: RawSession,
    default_family: Family,
) -> Result<SessionSettings, ConfigError> {
    let hold_time = s
        .hold_time
        .as_ref()
        .map_or(DEFAULT_HOLD_TIME, |h| *h.get_ref());
    if let Some(h) = &s.hold_time
        && matches!(*h.get_ref(), 1 | 2)
    {
        return cx.err(
            h.span().start,
            "hold-time must be 0 or at least 3 seconds (RFC 4271 §4.2)",
        );
    }
    let keepalive = match &s.keepalive {
        Some(k) if hold_time != 0 && *k.get_ref() >= hold_time => {
            return cx.err(k.span().start, "keepalive must be shorter than hold-time");
        }
        Some(k) => *k.get_ref(),
        None => hold_time / 3,
    };
    if let Some(t) = &s.refresh_stale_time
        && *t.get_ref() == 0
    {
        return cx.err(
            t.span().start,
            "refresh-stale-time must be at least 1 second",
        );
    }
    if let Some(m) = s.max_prefix {
        if m.action == MaxPrefixAction::Restart && m.restart_after.is_none() {
            return cx.err(
                pos,
                "max-prefix action \"restart\" needs restart-after (seconds)",
            );
        }
        if m.action != MaxPrefixAction::Restart && m.restart_after.is_some() {
            return cx.err(
                pos,
                "max-prefix restart-after is only valid with action \"restart\"",
            );
        }
    }
    // RFC 8212: "the BGP speaker MUST NOT ... advertise/accept routes
    // without explicit policy" for eBGP sessions; we refuse the config
    // rather than run a session that can never carry a route.
    if s.role == Role::Ebgp && (s.import.is_empty() || s.export.is_empty()) {
        return cx.err(
            pos,
            "an ebgp peer needs import and export policies (RFC 8212); \
             name them with import = [...] and export = [...]",
        );
    }
    let auth = auth::settings(cx, pos, s.auth)?;
    let mut families = s.families;
    if families.is_empty() {
        families.push(default_family);
    }
    Ok(SessionSettings {
        role: s.role,
        families,
        timers: TimersConfig {
            hold_time,
            keepalive,
            connect_retry: s.connect_retry.unwrap_or(DEFAULT_CONNECT_RETRY),
            refresh_stale: s
                .refresh_stale_time
                .map_or(DEFAULT_REFRESH_STALE_TIME, Spanned::into_inner),
        },
        passive: s.passive,
        local_address: s.local_address,
        import: s.import,
        export: s.export,
        allowed_prefixes: allowed_prefixes(cx, &s.allowed_prefixes)?,
        max_prefix: s.max_prefix,
        description: s.description,
        add_path: s.add_path,
        graceful_restart: s.graceful_restart,
        interpret_communities: s.interpret_communities.unwrap_or(s.role != Role::RsClient),
        auth,
    })
}

fn as_range(cx: &Ctx<'_>, v: &Spanned<RawAs>) -> Result<AsRange, ConfigError> {
    let pos = v.span().start;
    let (lo, hi) = match v.get_ref() {
        RawAs::One(a) => (*a, *a),
        RawAs::Range(s) => {
            let parsed = s
                .split_once('-')
                .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
            match parsed {
                Some(r) => r,
                None => return cx.err(pos, format!("expected an AS or \"LOW-HIGH\", got {s:?}")),
            }
        }
    };
    if lo == 0 || lo > hi {
        return cx.err(pos, format!("empty or reserved AS range {lo}-{hi}"));
    }
    Ok(lo..=hi)
}

fn templates(
    cx: &Ctx<'_>,
    raw: Vec<Spanned<RawTemplate>>,
) -> Result<Vec<TemplateConfig>, ConfigError> {
    let mut names = HashSet::new();
    let mut out = Vec::with_capacity(raw.len());
    for t in raw {
        let pos = t.span().start;
        let mut t = t.into_inner();
        let raw_session = t.session();
        if !names.insert(t.name.get_ref().clone()) {
            return cx.err(
                t.name.span().start,
                format!("template {:?} defined twice", t.name.get_ref()),
            );
        }
        let range = t.range.get_ref().trunc();
        let mut session = session(cx, pos, raw_session, address_family(range.addr()))?;
        session.passive = true;
        auth::kernel_check(cx, pos, range, &session.auth)?;
        out.push(TemplateConfig {
            name: t.name.into_inner(),
            range,
            remote_as: as_range(cx, &t.remote_as)?,
            max_sessions: t.max_sessions,
            session,
        });
    }
    Ok(out)
}

fn route(cx: &Ctx<'_>, r: Spanned<RawRoute>) -> Result<OriginateConfig, ConfigError> {
    let pos = r.span().start;
    let r = r.into_inner();
    let next_hop = match &r.next_hop {
        None => NextHopSetting::SelfAddress,
        Some(s) if s.get_ref() == "self" => NextHopSetting::SelfAddress,
        Some(s) => match s.get_ref().parse() {
            Ok(a) => NextHopSetting::Address(a),
            Err(_) => {
                return cx.err(
                    s.span().start,
                    format!("expected \"self\" or an address, got {:?}", s.get_ref()),
                );
            }
        },
    };
    let mut communities = Vec::with_capacity(r.communities.len());
    for c in &r.communities {
        match c
            .split_once(':')
            .and_then(|(a, v)| Some((a.parse().ok()?, v.parse().ok()?)))
        {
            Some(pair) => communities.push(pair),
            None => {
                return cx.err(
                    pos,
                    format!("community {c:?} is not ASN:VALUE (16 bits each)"),
                );
            }
        }
    }
    if r.summary_only && !r.aggregate {
        return cx.err(pos, "summary-only needs aggregate = true");
    }
    Ok(OriginateConfig {
        prefix: r.prefix.trunc(),
        next_hop,
        aggregate: r.aggregate,
        summary_only: r.summary_only,
        communities,
    })
}
