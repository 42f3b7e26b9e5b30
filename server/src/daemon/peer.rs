//! Per-peer state shared between a session task and the control thread.

use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rampart_core::fsm::{PeerAs, State};
use rampart_core::rib::PeerId;
use serde::Serialize;

use crate::auth::{AoInfo, TcpAuthCounters, ao_info};
use crate::config::{Role, SessionSettings};

/// What a session task needs to run one peer: identity and settings.
#[derive(Debug, Clone)]
pub(crate) struct PeerSpec {
    pub(crate) id: PeerId,
    pub(crate) address: IpAddr,
    pub(crate) remote_as: PeerAs,
    pub(crate) settings: SessionSettings,
    /// Index of the dynamic-neighbor template this peer came from.
    pub(crate) template: Option<usize>,
    /// Template name (dynamic neighbors) or empty: `peer-group` in filters.
    pub(crate) group: std::sync::Arc<str>,
}

impl PeerSpec {
    /// The spec of static peer `p` under id `id`.
    pub(crate) fn for_static(id: PeerId, p: &crate::config::PeerConfig) -> Self {
        Self {
            id,
            address: p.address,
            remote_as: PeerAs::Exact(p.remote_as),
            settings: p.session.clone(),
            template: None,
            group: "".into(),
        }
    }
}

/// Live counters and state of one peer, written by its session task and
/// read by the control thread.
#[derive(Debug)]
pub(crate) struct PeerStatus {
    pub(crate) address: IpAddr,
    pub(crate) role: Role,
    pub(crate) description: Option<String>,
    /// The `[[template]]` a dynamic neighbor came from (its name).
    template: Option<std::sync::Arc<str>>,
    /// `md5`, `tcp-ao`, `none`, `+gtsm(H)`: never the keys.
    auth: String,
    state: AtomicU8,
    /// Unix seconds when the session last reached Established; 0 if never.
    established_at: AtomicU64,
    pub(crate) remote_as: AtomicU64,
    /// Paths held from the peer after import policy, summed over the
    /// shards as they store them: what max-prefix counts.
    pub(crate) accepted: AtomicU64,
    /// UPDATE messages read from the peer, over all its sessions.
    pub(crate) updates_received: AtomicU64,
    pub(crate) sent: AtomicU64,
    /// Its stale paths under graceful restart, while there are any.
    graceful_restart: Mutex<Option<StalePaths>>,
    last_error: Mutex<Option<String>>,
    /// A duplicate of the connection's descriptor, kept only for TCP-AO
    /// peers to read their TCP_AO_INFO counters.
    conn: Mutex<Option<OwnedFd>>,
}

/// A peer's paths kept as stale under graceful restart (RFC 4724 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StalePaths {
    /// The peer is not back yet (else it is, and owes End-of-RIB).
    pub(crate) away: bool,
    /// The families whose paths are stale.
    pub(crate) families: Vec<rampart_core::nlri::AfiSafi>,
    /// When they go if nothing ends the wait first: the restart time
    /// while away, then `refresh-stale-time`.
    pub(crate) until: std::time::Instant,
}

/// `show peers`: [`StalePaths`] as shown.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StalePathsRow {
    pub(crate) away: bool,
    pub(crate) stale_families: Vec<String>,
    /// Seconds until the stale paths go.
    pub(crate) seconds_left: u64,
}

/// Paths held from one peer in the Adj-RIB-In: before import policy
/// (`received`) and after (`accepted`), stale ones included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PathCounts {
    pub(crate) received: u64,
    pub(crate) accepted: u64,
}

impl std::ops::AddAssign for PathCounts {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.accepted += o.accepted;
    }
}

/// `show peers` row.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PeerRow {
    pub(crate) address: IpAddr,
    pub(crate) remote_as: u64,
    pub(crate) role: String,
    pub(crate) state: String,
    pub(crate) uptime_secs: Option<u64>,
    pub(crate) prefixes_received: u64,
    pub(crate) prefixes_accepted: u64,
    /// UPDATE messages read from the peer, over all its sessions.
    pub(crate) updates_received: u64,
    pub(crate) prefixes_sent: u64,
    /// Graceful restart under way: stale paths kept (RFC 4724 §4.2).
    pub(crate) graceful_restart: Option<StalePathsRow>,
    pub(crate) last_error: Option<String>,
    pub(crate) description: Option<String>,
    /// The `[[template]]` (name) a dynamic neighbor came from; `null` for
    /// a static peer.
    pub(crate) template: Option<String>,
    /// Authentication in use (`md5`, `tcp-ao`, `none`, `+gtsm(H)`).
    pub(crate) auth: String,
    /// The kernel's MD5/AO drop counters, for the whole network namespace
    /// (the kernel keeps none per peer); only on peers with a key.
    pub(crate) auth_failures_global: Option<TcpAuthCounters>,
    /// This connection's TCP-AO state and counters (TCP_AO_INFO), for a
    /// TCP-AO peer with a connection.
    pub(crate) tcp_ao: Option<AoInfo>,
}

/// The namespace-wide auth counters, read at most once a second.
fn auth_counters() -> Option<TcpAuthCounters> {
    static CACHE: Mutex<Option<(Instant, TcpAuthCounters)>> = Mutex::new(None);
    let mut g = CACHE.lock().ok()?;
    match *g {
        Some((at, c)) if at.elapsed() < Duration::from_secs(1) => Some(c),
        _ => {
            let c = TcpAuthCounters::read().ok()?;
            *g = Some((Instant::now(), c));
            Some(c)
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

const STATES: [State; 6] = [
    State::Idle,
    State::Connect,
    State::Active,
    State::OpenSent,
    State::OpenConfirm,
    State::Established,
];

impl PeerStatus {
    pub(crate) fn new(spec: &PeerSpec) -> Self {
        let remote_as = match spec.remote_as {
            PeerAs::Exact(a) => u64::from(a),
            _ => 0,
        };
        Self {
            address: spec.address,
            role: spec.settings.role,
            description: spec.settings.description.clone(),
            template: spec.template.map(|_| std::sync::Arc::clone(&spec.group)),
            auth: spec.settings.auth.label(),
            state: AtomicU8::new(0),
            established_at: AtomicU64::new(0),
            remote_as: AtomicU64::new(remote_as),
            accepted: AtomicU64::new(0),
            updates_received: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            graceful_restart: Mutex::new(None),
            last_error: Mutex::new(None),
            conn: Mutex::new(None),
        }
    }

    pub(crate) fn set_state(&self, s: State) {
        let i = u8::try_from(STATES.iter().position(|x| *x == s).unwrap_or(0)).unwrap_or(0);
        let was = self.state.swap(i, Ordering::Relaxed);
        // The uptime starts when the session enters Established, not each
        // time the state is recorded.
        if s != State::Established {
            self.established_at.store(0, Ordering::Relaxed);
        } else if usize::from(was) != STATES.len() - 1 {
            self.established_at.store(now_secs(), Ordering::Relaxed);
        }
    }

    /// Records (or with `None`, forgets) the session's connection, for
    /// TCP-AO peers only.
    pub(crate) fn set_conn<S: AsFd>(&self, stream: Option<&S>) {
        if !self.auth.starts_with("tcp-ao") {
            return;
        }
        let fd = stream.and_then(|s| s.as_fd().try_clone_to_owned().ok());
        if let Ok(mut g) = self.conn.lock() {
            *g = fd;
        }
    }

    /// Brings the live connection's TCP-AO keys to `ao` without a reset
    /// (RFC 5925 §8.1 rollover; reload). Keys the kernel will not delete yet
    /// (still in use) are retried once a second for up to `patience`, on a
    /// thread of their own. Does nothing without a connection.
    ///
    /// # Errors
    /// The socket option error, naming the peer.
    pub(crate) fn rekey(
        &self,
        ao: &crate::auth::AoConfig,
        patience: std::time::Duration,
    ) -> Result<(), crate::auth::AuthError> {
        let Some(fd) = self
            .conn
            .lock()
            .ok()
            .and_then(|g| g.as_ref().and_then(|fd| fd.try_clone().ok()))
        else {
            return Ok(());
        };
        let net = crate::auth::host_net(self.address);
        let pending = crate::auth::ao_reconcile(&fd, net, ao, false, SystemTime::now())?;
        if pending.deletes.is_empty() {
            return Ok(());
        }
        let ao = ao.clone();
        let peer = self.address;
        std::thread::spawn(move || {
            let until = std::time::Instant::now() + patience;
            while std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_secs(1));
                match crate::auth::ao_reconcile(&fd, net, &ao, false, SystemTime::now()) {
                    Ok(p) if p.deletes.is_empty() => return,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(%peer, "TCP-AO rollover: {e}");
                        return;
                    }
                }
            }
            tracing::warn!(%peer, "TCP-AO rollover: old keys still in use by the peer");
        });
        Ok(())
    }

    pub(crate) fn set_graceful_restart(&self, s: Option<StalePaths>) {
        if let Ok(mut g) = self.graceful_restart.lock() {
            *g = s;
        }
    }

    pub(crate) fn set_error(&self, e: String) {
        if let Ok(mut g) = self.last_error.lock() {
            *g = Some(e);
        }
    }

    /// The `show peers` row, with the path counts the shards gave.
    pub(crate) fn row(&self, counts: PathCounts) -> PeerRow {
        let state = STATES
            .get(usize::from(self.state.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or(State::Idle);
        let since = self.established_at.load(Ordering::Relaxed);
        PeerRow {
            address: self.address,
            remote_as: self.remote_as.load(Ordering::Relaxed),
            role: self.role.name().to_string(),
            state: format!("{state:?}"),
            uptime_secs: (since != 0).then(|| now_secs().saturating_sub(since)),
            prefixes_received: counts.received,
            prefixes_accepted: counts.accepted,
            updates_received: self.updates_received.load(Ordering::Relaxed),
            prefixes_sent: self.sent.load(Ordering::Relaxed),
            graceful_restart: self.graceful_restart.lock().ok().and_then(|g| {
                g.as_ref().map(|s| StalePathsRow {
                    away: s.away,
                    stale_families: s.families.iter().map(ToString::to_string).collect(),
                    seconds_left: s
                        .until
                        .saturating_duration_since(std::time::Instant::now())
                        .as_secs(),
                })
            }),
            last_error: self.last_error.lock().ok().and_then(|g| g.clone()),
            description: self.description.clone(),
            template: self.template.as_deref().map(str::to_string),
            auth: self.auth.clone(),
            tcp_ao: self
                .conn
                .lock()
                .ok()
                .and_then(|g| g.as_ref().and_then(|fd| ao_info(fd).ok())),
            auth_failures_global: (!self.auth.starts_with("none"))
                .then(auth_counters)
                .flatten(),
        }
    }
}

/// Peer ids sessions can take. An advertisement's tag
/// (`group::source_tag`) names its source peer as id + 1 in 24 bits, so
/// two live peers whose ids differ by 2²⁴ would be taken for one another:
/// ids stay below 2²⁴ − 1.
pub(crate) const PEER_ID_END: u32 = (1 << 24) - 1;

/// Hands out the ids of peers that come after start-up (dynamic neighbors,
/// static peers a reload adds): each id from `first` in turn, then round
/// again from `first`, skipping the ids in use. A freed id comes back
/// only after the turn has passed every other id of the range (about 16.7
/// million), long after the shards finished with the session that had
/// it; a daemon whose dynamic neighbors reconnect for months never runs
/// out.
#[derive(Debug)]
pub(crate) struct PeerIds {
    first: u32,
    next: u32,
    end: u32,
}

impl PeerIds {
    /// Ids `first..end` (start-up static peers hold `0..first`).
    pub(crate) fn new(first: u32, end: u32) -> Self {
        Self {
            first,
            next: first,
            end,
        }
    }

    /// The next id that `in_use` says is free; `None` when every id of the
    /// range is in use.
    pub(crate) fn take(&mut self, in_use: impl Fn(PeerId) -> bool) -> Option<PeerId> {
        for _ in self.first..self.end {
            let id = PeerId::new(self.next)?;
            self.next = if self.next + 1 >= self.end {
                self.first
            } else {
                self.next + 1
            };
            if !in_use(id) {
                return Some(id);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn peer_ids_go_round_and_skip_the_live_ones() {
        let mut ids = PeerIds::new(2, 6);
        let mut live: HashSet<PeerId> = HashSet::new();
        let mut take = |live: &mut HashSet<PeerId>| {
            let id = ids.take(|id| live.contains(&id));
            if let Some(id) = id {
                assert!(live.insert(id), "{id:?} handed out twice");
            }
            id.map(PeerId::get)
        };
        assert_eq!(take(&mut live), Some(2));
        assert_eq!(take(&mut live), Some(3));
        live.remove(&PeerId::new(2).unwrap());
        // Not 2 again yet: every other id comes first.
        assert_eq!(take(&mut live), Some(4));
        assert_eq!(take(&mut live), Some(5));
        // Round again; 3 is still in use.
        assert_eq!(take(&mut live), Some(2));
        assert_eq!(take(&mut live), None, "all of 2..6 in use");
        live.remove(&PeerId::new(4).unwrap());
        assert_eq!(take(&mut live), Some(4));
        // At the end of the real range: no id reaches the tag limit, and
        // the next one starts over.
        let mut ids = PeerIds::new(10, PEER_ID_END);
        ids.next = PEER_ID_END - 2;
        let got: Vec<u32> = (0..3).map(|_| ids.take(|_| false).unwrap().get()).collect();
        assert_eq!(got, [PEER_ID_END - 2, PEER_ID_END - 1, 10]);
    }
}
