//! RPKI route origin validation (RFC 6811) on validated ROA payloads
//! (VRPs) taken from RPKI-to-Router caches (RFC 8210).
//!
//! ```text
//! thread "rpki" (tokio, current thread): one task per [[rpki-cache]]
//!     connect ─> rpki::rtr::Client (reset / serial queries) ─> Target::apply
//!         ─> Rpki::apply: the cache's set, the union of every cache's set
//!            ─> new Vrps snapshot (ArcSwap) ─> Changed ─> notify (the shards)
//! shards: Chain::run ─> Rpki::validate(prefix, AS_PATH) ─> RouteContext::rpki
//!         Changed ─> import/export filters that read `rpki` run again over
//!                    the stored routes the changed VRPs cover
//! ```
//!
//! Until some cache has sent its payloads, and again once every cache's
//! have expired, the state is [`RpkiState::Unknown`] (`rpki == ...` false
//! for every state, as with no cache configured); the change to and from
//! that has every route validated again.

use std::collections::{HashMap as StdHashMap, HashSet as StdHashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use rampart_core::attr::PathAttributes;
use rampart_core::nlri::{Ipv4Prefix, Ipv6Prefix, Prefix};
use rampart_policy::RpkiState;
use rpki::rtr::client::{Client, PayloadError, PayloadTarget, PayloadUpdate};
use rpki::rtr::payload::{Action, Payload, Timing};
use rpki::rtr::state::State;
use serde::Serialize;
use smallvec::SmallVec;

use crate::config::RpkiCacheConfig;

/// Maps and sets with foldhash: a validation probes the index once per
/// VRP prefix length in use, SipHash made that a microsecond per route.
type HashMap<K, V> = StdHashMap<K, V, foldhash::fast::RandomState>;
type HashSet<K> = StdHashSet<K, foldhash::fast::RandomState>;

/// One validated ROA payload (RFC 6811 §2): a prefix, the longest prefix
/// length it authorizes and the origin AS it authorizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vrp {
    /// The ROA prefix.
    pub prefix: Prefix,
    /// Maximum length, bits (at least the prefix's length).
    pub max_len: u8,
    /// The authorized origin AS (0 authorizes none, RFC 6483 §4).
    pub asn: u32,
}

/// `prefix` cut to its first `len` bits (`len` at most its length).
fn truncate(prefix: &Prefix, len: u8) -> Option<Prefix> {
    match prefix {
        Prefix::V4(p) => Ipv4Prefix::new(p.addr(), len).map(Prefix::V4),
        Prefix::V6(p) => Ipv6Prefix::new(p.addr(), len).map(Prefix::V6),
    }
}

const fn family_index(prefix: &Prefix) -> usize {
    match prefix {
        Prefix::V4(_) => 0,
        Prefix::V6(_) => 1,
    }
}

/// Values keyed by prefix, found by the prefixes they cover: a lookup
/// probes one key per prefix length in use (a few dozen at most).
#[derive(Debug, Clone)]
struct Covering<V> {
    map: HashMap<Prefix, V>,
    /// Per family (IPv4, IPv6), the key lengths in use, ascending.
    lens: [Vec<u8>; 2],
}

impl<V> Default for Covering<V> {
    fn default() -> Self {
        Self {
            map: HashMap::default(),
            lens: [Vec::new(), Vec::new()],
        }
    }
}

impl<V: Default> Covering<V> {
    fn entry(&mut self, prefix: Prefix) -> &mut V {
        if let Some(lens) = self.lens.get_mut(family_index(&prefix))
            && let Err(at) = lens.binary_search(&prefix.len())
        {
            lens.insert(at, prefix.len());
        }
        self.map.entry(prefix).or_default()
    }

    /// The values of every key that covers `prefix` (itself included),
    /// shortest key first.
    fn covering<'a>(&'a self, prefix: &'a Prefix) -> impl Iterator<Item = &'a V> + 'a {
        let lens = self
            .lens
            .get(family_index(prefix))
            .map_or(&[][..], Vec::as_slice);
        lens.iter()
            .take_while(move |l| **l <= prefix.len())
            .filter_map(move |l| self.map.get(&truncate(prefix, *l)?))
    }
}

/// The VRPs of a JSON file in rpki-client's format, which StayRTR reads
/// and Routinator and rpki-client write:
/// `{"roas": [{"prefix": "192.0.2.0/24", "maxLength": 24, "asn": 64496}]}`
/// (`asn` a number or `"AS64496"`; `maxLength` the prefix length when
/// absent).
///
/// # Errors
/// A message naming the entry (its index in `roas`) and what is wrong.
pub fn vrps_from_json(text: &str) -> Result<Vec<Vrp>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let roas = v["roas"]
        .as_array()
        .ok_or("no \"roas\" array at the top level")?;
    roas.iter()
        .enumerate()
        .map(|(i, r)| {
            let at = |what: &str| format!("roas[{i}]: {what}: {r}");
            let prefix: Prefix = r["prefix"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| at("no prefix"))?;
            let longest = match prefix {
                Prefix::V4(_) => 32,
                Prefix::V6(_) => 128,
            };
            let max_len = match &r["maxLength"] {
                serde_json::Value::Null => prefix.len(),
                m => m
                    .as_u64()
                    .and_then(|m| u8::try_from(m).ok())
                    .filter(|m| (prefix.len()..=longest).contains(m))
                    .ok_or_else(|| at("bad maxLength"))?,
            };
            let asn = match &r["asn"] {
                serde_json::Value::String(s) => s.trim_start_matches("AS").parse().ok(),
                n => n.as_u64().and_then(|n| u32::try_from(n).ok()),
            }
            .ok_or_else(|| at("bad asn"))?;
            Ok(Vrp {
                prefix,
                max_len,
                asn,
            })
        })
        .collect()
}

/// A snapshot of the VRPs in force, indexed for RFC 6811 §2 lookups.
#[derive(Debug, Default)]
pub struct Vrps {
    index: Covering<SmallVec<[(u8, u32); 2]>>,
    /// VRPs per family (IPv4, IPv6).
    counts: [usize; 2],
}

impl Vrps {
    /// The index of `vrps` (duplicates counted once).
    pub fn new<'a>(vrps: impl IntoIterator<Item = &'a Vrp>) -> Self {
        let mut out = Self::default();
        for v in vrps {
            let e = out.index.entry(v.prefix);
            if !e.contains(&(v.max_len, v.asn)) {
                e.push((v.max_len, v.asn));
                if let Some(c) = out.counts.get_mut(family_index(&v.prefix)) {
                    *c += 1;
                }
            }
        }
        out
    }

    /// RFC 6811 §2: `NotFound` when no VRP covers `prefix`; `Valid` when a
    /// covering VRP has the route's `origin` AS and a maximum length at
    /// least the prefix's; `Invalid` otherwise. `origin` is `None` when it
    /// cannot be told (an AS_PATH ending in an AS_SET): no VRP matches it.
    #[must_use]
    pub fn validate(&self, prefix: &Prefix, origin: Option<u32>) -> RpkiState {
        let mut covered = false;
        for entries in self.index.covering(prefix) {
            covered = true;
            // AS 0 authorizes no origin (RFC 6483 §4, RFC 7607).
            if entries
                .iter()
                .any(|&(max, asn)| asn != 0 && Some(asn) == origin && prefix.len() <= max)
            {
                return RpkiState::Valid;
            }
        }
        if covered {
            RpkiState::Invalid
        } else {
            RpkiState::NotFound
        }
    }

    /// VRPs for IPv4 prefixes.
    #[must_use]
    pub fn ipv4(&self) -> usize {
        self.counts[0]
    }

    /// VRPs for IPv6 prefixes.
    #[must_use]
    pub fn ipv6(&self) -> usize {
        self.counts[1]
    }
}

/// What a change of the VRPs in force may change: the validation state of
/// the routes the changed VRPs' prefixes cover, or (`all`) of every route.
#[derive(Debug, Default)]
pub struct Changed {
    all: bool,
    prefixes: Covering<()>,
}

impl Changed {
    /// True when the validation state of a route for `prefix` may differ.
    #[must_use]
    pub fn covers(&self, prefix: &Prefix) -> bool {
        self.all || self.prefixes.covering(prefix).next().is_some()
    }

    /// True when nothing changed.
    fn is_empty(&self) -> bool {
        !self.all && self.prefixes.map.is_empty()
    }
}

/// The origin AS of a route as RFC 6811 §2 defines it: the last AS of a
/// trailing AS_SEQUENCE; `None` for a trailing AS_SET; `local_as` for an
/// empty AS_PATH (a route from the local AS).
fn origin_as(attrs: &PathAttributes, local_as: u32) -> Option<u32> {
    if attrs.as_path.is_empty() {
        Some(local_as)
    } else {
        attrs.as_path.origin_as()
    }
}

/// Where a cache's session stands, for `rampartctl show rpki`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheState {
    /// Connecting (first attempt, or again after `retry` seconds).
    Connecting,
    /// Connected; its payloads are in use once it has sent them.
    Up,
    /// The last attempt failed or the session ended; waiting to retry.
    Down,
}

/// One cache as `rampartctl show rpki` reports it.
#[derive(Debug, Clone, Serialize)]
pub struct CacheStatus {
    /// Address and port of the cache.
    pub address: SocketAddr,
    /// Session state.
    pub state: CacheState,
    /// VRPs this cache holds now.
    pub vrps: usize,
    /// Serial number of its last update (RFC 8210 §5.1), if any.
    pub serial: Option<u32>,
    /// Seconds since its last update was applied.
    pub updated_secs_ago: Option<f64>,
    /// The last connection or protocol error.
    pub last_error: Option<String>,
}

/// What `rampartctl show rpki` prints.
#[derive(Debug, Clone, Serialize)]
pub struct RpkiStatus {
    /// VRPs in force for IPv4 prefixes (union of every cache's).
    pub ipv4: usize,
    /// VRPs in force for IPv6 prefixes.
    pub ipv6: usize,
    /// Each configured cache.
    pub caches: Vec<CacheStatus>,
}

#[derive(Debug)]
struct Cache {
    config: RpkiCacheConfig,
    set: HashSet<Vrp>,
    /// Its payloads are in use: it sent a full set, which has not expired.
    synced: bool,
    state: CacheState,
    serial: Option<u32>,
    updated: Option<Instant>,
    last_error: Option<String>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Default)]
struct Caches {
    caches: Vec<Cache>,
    /// Each VRP of the union with the number of caches holding it.
    union: HashMap<Vrp, u32>,
}

impl Caches {
    fn synced(&self) -> bool {
        self.caches.iter().any(|c| c.synced)
    }

    fn find(&mut self, address: SocketAddr) -> Option<&mut Cache> {
        self.caches.iter_mut().find(|c| c.config.address == address)
    }

    /// Counts `v` in (`add`) or out of the union; true when that changed
    /// the union.
    fn count(&mut self, v: Vrp, add: bool) -> bool {
        if add {
            let n = self.union.entry(v).or_insert(0);
            *n += 1;
            *n == 1
        } else {
            match self.union.get_mut(&v) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    self.union.remove(&v);
                    true
                }
                None => false,
            }
        }
    }
}

/// Called with what changed whenever the VRPs in force change.
pub type Notify = Box<dyn Fn(Arc<Changed>) + Send + Sync>;

/// The daemon's RPKI state: the VRPs in force (read by every shard) and
/// the caches they come from.
pub struct Rpki {
    vrps: ArcSwapOption<Vrps>,
    local_as: u32,
    caches: Mutex<Caches>,
    notify: Notify,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Rpki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rpki")
            .field("local_as", &self.local_as)
            .finish_non_exhaustive()
    }
}

impl Rpki {
    /// Starts the RTR client thread with a session to each of `caches`.
    /// `notify` is called (on that thread) with each change of the VRPs in
    /// force; `local_as` is the origin of routes with an empty AS_PATH.
    ///
    /// # Errors
    /// When the thread or its runtime cannot be made.
    pub fn start(
        caches: &[RpkiCacheConfig],
        local_as: u32,
        notify: Notify,
    ) -> std::io::Result<Arc<Self>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("rpki".into())
            // The runtime runs the cache tasks until the process ends.
            .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
        let rpki = Arc::new(Self {
            vrps: ArcSwapOption::empty(),
            local_as,
            caches: Mutex::new(Caches::default()),
            notify,
            runtime: handle,
        });
        rpki.set_caches(caches);
        Ok(rpki)
    }

    fn lock(&self) -> MutexGuard<'_, Caches> {
        self.caches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The validation state of a route for `prefix` with `attrs` (RFC 6811
    /// §2); [`RpkiState::Unknown`] while no cache's payloads are in use.
    #[must_use]
    pub fn validate(&self, prefix: &Prefix, attrs: &PathAttributes) -> RpkiState {
        match &*self.vrps.load() {
            Some(v) => v.validate(prefix, origin_as(attrs, self.local_as)),
            None => RpkiState::Unknown,
        }
    }

    /// [`Rpki::validate`] as `show routes` names it: `valid`, `invalid`,
    /// `not-found`, or `None` while no cache's payloads are in use.
    #[must_use]
    pub fn state_name(&self, prefix: &Prefix, attrs: &PathAttributes) -> Option<&'static str> {
        match self.validate(prefix, attrs) {
            RpkiState::Valid => Some("valid"),
            RpkiState::Invalid => Some("invalid"),
            RpkiState::NotFound => Some("not-found"),
            RpkiState::Unknown => None,
        }
    }

    /// Takes the caches of a (re)loaded configuration: those kept keep
    /// their session and payloads, removed ones are closed and their
    /// payloads dropped, new ones are connected.
    pub fn set_caches(self: &Arc<Self>, caches: &[RpkiCacheConfig]) {
        let mut changed = Vec::new();
        let mut st = self.lock();
        let was = st.synced();
        let gone: Vec<Cache> = {
            let (keep, gone) = std::mem::take(&mut st.caches)
                .into_iter()
                .partition(|c| caches.iter().any(|n| n.address == c.config.address));
            st.caches = keep;
            gone
        };
        for c in gone {
            c.task.abort();
            for v in c.set {
                if st.count(v, false) {
                    changed.push(v.prefix);
                }
            }
        }
        for config in caches {
            if let Some(c) = st.find(config.address) {
                c.config = *config;
                continue;
            }
            let task = self.runtime.spawn(Arc::clone(self).session(config.address));
            st.caches.push(Cache {
                config: *config,
                set: HashSet::default(),
                synced: false,
                state: CacheState::Connecting,
                serial: None,
                updated: None,
                last_error: None,
                task,
            });
        }
        self.publish(&mut st, was, changed);
    }

    /// Installs the union as the VRPs in force and tells the shards what
    /// changed.
    fn publish(&self, st: &mut MutexGuard<'_, Caches>, was: bool, changed: Vec<Prefix>) {
        let now = st.synced();
        let mut c = Changed {
            all: was != now,
            prefixes: Covering::default(),
        };
        for p in changed {
            c.prefixes.entry(p);
        }
        if c.is_empty() {
            return;
        }
        let vrps = now.then(|| Arc::new(Vrps::new(st.union.keys())));
        self.vrps.store(vrps);
        tracing::info!(
            ipv4 = self.vrps.load().as_ref().map_or(0, |v| v.ipv4()),
            ipv6 = self.vrps.load().as_ref().map_or(0, |v| v.ipv6()),
            all = c.all,
            prefixes = c.prefixes.map.len(),
            "RPKI payloads changed"
        );
        (self.notify)(Arc::new(c));
    }

    /// Applies one update of the cache at `address` (a full set when
    /// `reset`).
    fn apply(&self, address: SocketAddr, reset: bool, update: Vec<(Action, Payload)>) {
        let mut st = self.lock();
        let was = st.synced();
        let mut changed = Vec::new();
        let Some(cache) = st.find(address) else {
            return;
        };
        // What left (false) and what joined (true) the cache's set, in
        // order: in place for a serial update (no copy of a set of half a
        // million VRPs per refresh).
        let events: Vec<(Vrp, bool)> = if reset {
            let new: HashSet<Vrp> = update.iter().filter_map(|(_, p)| vrp(p)).collect();
            let old = std::mem::replace(&mut cache.set, new);
            let gone = old.difference(&cache.set).map(|v| (*v, false));
            gone.chain(cache.set.difference(&old).map(|v| (*v, true)))
                .collect()
        } else {
            update
                .iter()
                .filter_map(|(action, payload)| {
                    let v = vrp(payload)?;
                    match action {
                        Action::Announce => cache.set.insert(v).then_some((v, true)),
                        Action::Withdraw => cache.set.remove(&v).then_some((v, false)),
                    }
                })
                .collect()
        };
        cache.synced = true;
        cache.updated = Some(Instant::now());
        for (v, add) in events {
            if st.count(v, add) {
                changed.push(v.prefix);
            }
        }
        self.publish(&mut st, was, changed);
    }

    /// Drops the payloads of the cache at `address` (expired).
    fn expire(&self, address: SocketAddr) {
        let mut st = self.lock();
        let was = st.synced();
        let Some(cache) = st.find(address) else {
            return;
        };
        let old = std::mem::take(&mut cache.set);
        cache.synced = false;
        let mut changed = Vec::new();
        for v in old {
            if st.count(v, false) {
                changed.push(v.prefix);
            }
        }
        tracing::warn!(cache = %address, "RPKI cache unreachable past its expire interval: its payloads are dropped");
        self.publish(&mut st, was, changed);
    }

    fn set_state(&self, address: SocketAddr, state: CacheState, error: Option<String>) {
        let mut st = self.lock();
        if let Some(c) = st.find(address) {
            c.state = state;
            if error.is_some() {
                c.last_error = error;
            }
        }
    }

    /// The session with one cache, for the life of the process (or until
    /// a reload removes the cache): connect, follow its updates, and after
    /// a failure wait `retry` seconds and connect again, keeping the
    /// payloads until `expire` seconds after the last good exchange.
    async fn session(self: Arc<Self>, address: SocketAddr) {
        let mut state: Option<State> = None;
        loop {
            let Some(config) = self.lock().find(address).map(|c| c.config) else {
                return;
            };
            self.set_state(address, CacheState::Connecting, None);
            let connect = tokio::net::TcpStream::connect(address);
            let error = match tokio::time::timeout(Duration::from_secs(10), connect).await {
                Ok(Ok(sock)) => {
                    tracing::info!(cache = %address, "RPKI cache connected");
                    self.set_state(address, CacheState::Up, None);
                    let target = Target {
                        rpki: Arc::clone(&self),
                        address,
                    };
                    let mut client = Client::new(sock, target, state);
                    // Step by step rather than `run`, to read the serial
                    // number after each update.
                    let end = loop {
                        if let Err(e) = client.step().await {
                            break e;
                        }
                        state = client.state();
                        if let Some(s) = state {
                            self.set_serial(address, s.serial().into());
                        }
                    };
                    state = client.state();
                    if end.kind() == std::io::ErrorKind::UnexpectedEof {
                        "the cache closed the session".to_string()
                    } else {
                        end.to_string()
                    }
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => "connection timed out (10 s)".to_string(),
            };
            let again =
                self.lock().find(address).and_then(|c| c.last_error.clone()) == Some(error.clone());
            if again {
                tracing::debug!(cache = %address, %error, retry_s = config.retry, "RPKI cache still down");
            } else {
                tracing::warn!(cache = %address, %error, retry_s = config.retry, "RPKI cache session down");
            }
            self.set_state(address, CacheState::Down, Some(error));
            let expired = {
                let st = self.lock();
                st.caches.iter().any(|c| {
                    c.config.address == address
                        && c.synced
                        && c.updated.is_some_and(|t| {
                            t.elapsed() >= Duration::from_secs(config.expire.into())
                        })
                })
            };
            if expired {
                self.expire(address);
                state = None;
            }
            tokio::time::sleep(Duration::from_secs(config.retry.into())).await;
        }
    }

    /// What `rampartctl show rpki` prints.
    #[must_use]
    pub fn status(&self) -> RpkiStatus {
        let st = self.lock();
        let (ipv4, ipv6) = self
            .vrps
            .load()
            .as_ref()
            .map_or((0, 0), |v| (v.ipv4(), v.ipv6()));
        RpkiStatus {
            ipv4,
            ipv6,
            caches: st
                .caches
                .iter()
                .map(|c| CacheStatus {
                    address: c.config.address,
                    state: c.state,
                    vrps: c.set.len(),
                    serial: c.serial,
                    updated_secs_ago: c.updated.map(|t| t.elapsed().as_secs_f64()),
                    last_error: c.last_error.clone(),
                })
                .collect(),
        }
    }

    fn set_serial(&self, address: SocketAddr, serial: u32) {
        if let Some(c) = self.lock().find(address) {
            c.serial = Some(serial);
        }
    }
}

/// A route origin payload as a [`Vrp`]; `None` for other payloads (router
/// keys, ASPA).
fn vrp(payload: &Payload) -> Option<Vrp> {
    let o = payload.to_origin()?;
    let p = o.prefix.prefix();
    let (addr, len) = p.addr_and_len();
    let prefix = match addr {
        IpAddr::V4(a) => Prefix::V4(Ipv4Prefix::new(a, len)?),
        IpAddr::V6(a) => Prefix::V6(Ipv6Prefix::new(a, len)?),
    };
    Some(Vrp {
        prefix,
        max_len: o.prefix.resolved_max_len(),
        asn: o.asn.into_u32(),
    })
}

/// One update from a cache as the RTR client collects it: a full set
/// (`reset`, after a Reset Query) or changes (after a Serial Query).
#[derive(Debug, Default)]
struct Update {
    reset: bool,
    changes: Vec<(Action, Payload)>,
}

impl PayloadUpdate for Update {
    fn push_update(&mut self, action: Action, payload: Payload) -> Result<(), PayloadError> {
        self.changes.push((action, payload));
        Ok(())
    }
}

/// Where the RTR client of one cache puts what it receives.
struct Target {
    rpki: Arc<Rpki>,
    address: SocketAddr,
}

impl PayloadTarget for Target {
    type Update = Update;

    fn start(&mut self, reset: bool) -> Update {
        Update {
            reset,
            changes: Vec::new(),
        }
    }

    fn apply(&mut self, update: Update, _timing: Timing) -> Result<(), PayloadError> {
        self.rpki.apply(self.address, update.reset, update.changes);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
