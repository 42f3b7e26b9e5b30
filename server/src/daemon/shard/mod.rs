//! One RIB shard: the prefixes that hash to it, their Adj-RIB-In, Loc-RIB
//! and the Adj-RIB-Out of every update group.
//!
//! A shard runs as a task on its worker and is the only owner of its tables.
//! Sessions send it batches of route changes; it recomputes best paths,
//! marks each update group's Adj-RIB-Out, and hands members packed UPDATEs
//! as their writers ask for more (credits), so a slow peer leaves a set of
//! dirty prefixes behind, not a queue of messages.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use futures_util::{FutureExt as _, select_biased};
use rampart_core::EncodeCtx;
use rampart_core::nlri::{AfiSafi, Prefix};
use rampart_core::rib::{
    AdjRibIn, AttrSet, BestPathOptions, Interner, LocChange, LocRib, MemberId, Path, PeerId,
    PeerInfo, PeerTable, Reselected,
};

use super::Shared;
use super::export::{EbgpRewrite, Exporter};
use super::group::{Group, Out, Tables, family, source_tag};
use super::memory::ShardMemory;
use super::originate::{LOCAL, Originated, local_info};
use super::peer::PeerStatus;
use super::policy::{Chain, Import};
use super::query::RouteQuery;
use super::session::SessionCmd;
use crate::config::{MaxPrefixAction, MaxPrefixConfig, Role};
use crate::rpki::Changed;

mod flush;
mod originate;
mod query;

pub(crate) use flush::Blocks;

/// Prefixes drained for one member per batch.
const BATCH_PREFIXES: usize = 4096;
/// Batches a member may have in flight from one shard.
const CREDITS: u32 = 2;

/// Inbox messages one round of [`Shard::run`] handles at most before it
/// flushes and lets the worker's other tasks run (batches of route
/// changes, each from the UPDATEs one session took in one turn).
const ROUND_MESSAGES: usize = 64;

/// How many items ahead of the one it applies [`Shard::ahead`] prefetches
/// the tables' index lines: enough misses in flight to overlap, a few
/// cache lines each, well within the first-level cache.
const LINES_AHEAD: usize = 32;

/// How many items ahead [`Shard::ahead`] prefetches the tables' entries,
/// whose index lines it prefetched [`LINES_AHEAD`] items ahead.
const ENTRIES_AHEAD: usize = 16;

/// Work after which a round ends early (a peer's whole table removed, a
/// policy re-run): the worker's timers wait at most about this plus one
/// message.
const ROUND_TIME: std::time::Duration = std::time::Duration::from_millis(20);

/// Which shard owns `prefix` (of `shards`): a hash of its block, the first
/// 16 bits of an IPv4 prefix and the first 32 of an IPv6 one (a /16, an
/// LIR's usual /32), scaled to the range by a multiply and a shift, not a
/// modulo (a 64-bit division takes tens of cycles, paid once per received
/// prefix). The prefixes of one block share a shard: an AS's neighbouring
/// prefixes mostly share their attributes and arrive in one UPDATE, and
/// kept together they leave in one UPDATE per update group, where a hash of
/// each prefix split them into a piece per shard.
pub(crate) fn shard_of(prefix: &Prefix, shards: usize) -> usize {
    use std::hash::BuildHasher;
    let block = match prefix {
        Prefix::V4(p) => u64::from(p.bits() >> 16),
        Prefix::V6(p) => (1 << 32) | (p.bits() >> 96) as u64,
    };
    let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(block);
    let scaled = (u128::from(h) * shards as u128) >> 64;
    usize::try_from(scaled).unwrap_or(0)
}

/// A map keyed by peer, looked up for every route a shard applies: hashed
/// with foldhash, not std's SipHash (1.7 % of rampartd's samples in
/// bgperf 2 × 500k). The keys are the daemon's own ids.
type PeerMap<V> = HashMap<PeerId, V, foldhash::fast::RandomState>;

/// A route change from a session: an announcement (`attrs` set) or a
/// withdrawal.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) prefix: Prefix,
    pub(crate) path_id: u32,
    pub(crate) attrs: Option<AttrSet>,
}

impl Change {
    /// A change to overwrite in place (see `pend` in the session): a
    /// withdrawal of 0.0.0.0/0.
    pub(crate) const PLACEHOLDER: Self = Self {
        prefix: match rampart_core::nlri::Ipv4Prefix::new(std::net::Ipv4Addr::UNSPECIFIED, 0) {
            Some(p) => Prefix::V4(p),
            None => unreachable!(),
        },
        path_id: 0,
        attrs: None,
    };
}

/// Peers sharing these share one Adj-RIB-Out and export evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub(crate) role: Role,
    pub(crate) export: Vec<String>,
    pub(crate) four_octet_as: bool,
    pub(crate) extended_message: bool,
    pub(crate) families: Vec<AfiSafi>,
    /// Families sent with ADD-PATH (RFC 7911): every path, not only the
    /// best.
    pub(crate) add_path: Vec<AfiSafi>,
    /// Well-known communities honoured on export (RFC 1997).
    pub(crate) interpret_communities: bool,
    /// Digest of the policy files the export filters come from (0 without
    /// export filters), so a reload that edits them makes a new group.
    pub(crate) policy: u64,
    /// The one member of a group whose export depends on who receives it
    /// (filters that read the peer, eBGP next-hop-self).
    pub(crate) dest: Option<PeerId>,
}

/// How a peer's routes are filtered in and out: sent at Established and
/// again on reload.
#[derive(Debug, Clone)]
pub(crate) struct PeerPolicy {
    pub(crate) import: Import,
    pub(crate) export: Option<Arc<Chain>>,
    pub(crate) ebgp: Option<EbgpRewrite>,
}

/// A session's registration with a shard when it reaches Established.
#[derive(Debug)]
pub(crate) struct PeerUp {
    pub(crate) peer: PeerId,
    pub(crate) info: PeerInfo,
    pub(crate) key: GroupKey,
    pub(crate) encode: EncodeCtx,
    pub(crate) out: Sender<OutMsg>,
    /// Counters; `accepted` is kept exact by the shards (paths held).
    pub(crate) status: Arc<PeerStatus>,
    pub(crate) max_prefix: Option<MaxPrefixConfig>,
    /// Where to report a max-prefix crossing.
    pub(crate) cmds: Sender<SessionCmd>,
    pub(crate) policy: PeerPolicy,
}

/// Messages to a shard.
#[derive(Debug)]
pub(crate) enum ShardMsg {
    /// A session reached Established: add it to its update group.
    PeerUp(Box<PeerUp>),
    /// Route changes from a peer's UPDATEs (before import policy), in
    /// the order received: all those of this shard from the UPDATEs the
    /// session took in one turn.
    Routes { peer: PeerId, changes: Vec<Change> },
    /// A reload changed the peer's filters (or the policy files): run the
    /// new import over its stored Adj-RIB-In and move it to the update
    /// group of its new export, without touching the session.
    Reconfigure {
        peer: PeerId,
        key: GroupKey,
        policy: Box<PeerPolicy>,
    },
    /// A reload changed the peer's max-prefix limit (sent behind its
    /// pending route changes).
    MaxPrefix {
        peer: PeerId,
        max_prefix: Option<MaxPrefixConfig>,
    },
    /// A session went down: drop its paths and its membership.
    PeerDown { peer: PeerId },
    /// A session that negotiated graceful restart went down without a
    /// NOTIFICATION: keep its paths as stale (RFC 4724 §4.2).
    PeerStale { peer: PeerId },
    /// Graceful restart is over for `family` (the restarted peer's
    /// End-of-RIB, a new session that does not preserve the family, or
    /// the wait for End-of-RIB ran out): drop the paths of the family it
    /// did not send again (RFC 4724 §4.2).
    SweepStale { peer: PeerId, family: AfiSafi },
    /// The peer began an enhanced route refresh of `family` (BoRR, RFC
    /// 7313 §4): its paths of the family become stale.
    RefreshBegin { peer: PeerId, family: AfiSafi },
    /// The peer ended its enhanced route refresh of `family` (EoRR): drop
    /// its paths of the family it did not send again.
    RefreshEnd { peer: PeerId, family: AfiSafi },
    /// The peer sent a malformed MP_REACH/MP_UNREACH_NLRI (RFC 7606 §2
    /// "AFI/SAFI disable", RFC 4760 §7): drop its paths of `family`.
    DisableFamily { peer: PeerId, family: AfiSafi },
    /// The peer asked for its routes again (ROUTE-REFRESH, RFC 2918 §4):
    /// walk its whole Adj-RIB-Out once more; [`OutMsg::InitialDone`] then
    /// names `walk`, the session's count of refreshes.
    Refresh { peer: PeerId, walk: u64 },
    /// The peer's writer gave back a credit when it had none: the shard
    /// may have batches for it (a wake-up; the count is in the shared
    /// credit).
    Ready,
    /// `show routes`: answer on the query's reply channel.
    Query(Box<RouteQuery>),
    /// `show memory`: this shard's table sizes.
    Memory(std::sync::mpsc::Sender<ShardMemory>),
    /// `show peers`: per peer, the paths this shard holds from it before
    /// and after import policy ([`Shard::peer_counts`]).
    PeerCounts(std::sync::mpsc::Sender<Vec<(PeerId, crate::daemon::peer::PathCounts)>>),
    /// Shard `shard` now has (`present`) or no longer has more-specifics
    /// of the aggregate at index `aggregate` of the originated routes.
    Contributors {
        aggregate: usize,
        shard: usize,
        present: bool,
    },
    /// A reload changed the server's own routes (`[[route]]`): withdraw
    /// this shard's, take `routes`, stop counting aggregates; then answer
    /// on `done`. Every shard gets this before any gets
    /// [`ShardMsg::Recount`].
    Originate {
        routes: Arc<[Originated]>,
        done: std::sync::mpsc::Sender<()>,
    },
    /// Announce the new routes and count aggregates again; then answer on
    /// `done`. Every shard gets this before any gets
    /// [`ShardMsg::Settle`].
    Recount { done: std::sync::mpsc::Sender<()> },
    /// Last step of a `[[route]]` reload, sent on the link after every
    /// shard has recounted (so after every contributor report): withdraw
    /// the aggregates kept through the reload that no shard contributes
    /// to any more.
    Settle,
    /// The validated ROA payloads in force changed (RFC 6811, RFC 8210):
    /// run the filters that read the RPKI state again over the stored
    /// routes the change covers.
    Revalidate(Arc<Changed>),
    /// `dump mrt`: this shard's paths after import policy of prefixes in
    /// `slice` ([`crate::daemon::mrt_dump::slice_of`]), the selected path
    /// of each prefix first.
    Dump {
        slice: u8,
        reply: std::sync::mpsc::Sender<Vec<(Prefix, Path)>>,
    },
    /// `dump mrt`: the peers this shard knows (BGP identifiers).
    DumpPeers(std::sync::mpsc::Sender<Vec<(PeerId, PeerInfo)>>),
    /// Stop the shard task.
    Stop,
}

/// Messages from shards to a session's writer.
#[derive(Debug)]
pub(crate) enum OutMsg {
    /// Packed UPDATEs from shard `shard`, covering `prefixes` prefixes:
    /// buffers of whole messages back to back, shared by every member
    /// that gets the same part of a batch. Once written, the writer adds
    /// one to `credit` and sends [`ShardMsg::Ready`] if it was 0.
    Updates {
        shard: usize,
        pdus: Vec<Bytes>,
        prefixes: u64,
        credit: Arc<AtomicU32>,
    },
    /// Shard `shard` has sent its whole initial table (`walk` 0) or, after
    /// route refresh number `walk`, the whole walk again.
    InitialDone { shard: usize, walk: u64 },
}

/// What a shard keeps about a peer whose paths it holds.
#[derive(Debug)]
struct PeerState {
    status: Arc<PeerStatus>,
    max_prefix: Option<MaxPrefixConfig>,
    cmds: Sender<SessionCmd>,
    import: Import,
}

#[derive(Debug)]
struct Member {
    group: usize,
    id: MemberId,
    encode: EncodeCtx,
    out: Sender<OutMsg>,
    /// Batches the member's writer can take now: taken by the shard when
    /// it sends one, given back by the writer when written, which wakes
    /// the shard ([`ShardMsg::Ready`]) only when it gives back the first
    /// (until then the shard had nothing to send it, or no credit).
    credits: Arc<AtomicU32>,
    initial_done: bool,
    /// The walk in progress: 0 the initial one, then the session's count
    /// of route refreshes.
    walk: u64,
    /// Withdrawals owed from a group the member left (reload).
    withdraw_first: Vec<(Prefix, u32)>,
}

/// The shard's tables and members.
#[derive(Debug)]
pub(crate) struct Shard {
    index: usize,
    cluster_id: Ipv4Addr,
    /// Adj-RIB-In before import policy, for peers whose import can change
    /// a route (RFC 4271 §3.2 "unprocessed routing information"); a peer
    /// without import filter has its routes only post-policy.
    adj_pre: AdjRibIn,
    /// The Adj-RIB-In after import policy (the decision process's input)
    /// with the Loc-RIB: each prefix's selected path first.
    loc: LocRib,
    peers: PeerTable,
    groups: Vec<Group>,
    members: PeerMap<Member>,
    limits: PeerMap<PeerState>,
    /// While the changes of a peer without a max-prefix limit are applied
    /// ([`Shard::routes`]): the peer and its net change in accepted paths,
    /// added to its `accepted` counter once at the end. Every shard counts
    /// on that counter, so an atomic add per path kept its cache line
    /// moving between cores.
    batch_count: Option<(PeerId, i64)>,
    /// Attribute sets the import filters rewrote.
    interner: Interner,
    local_as: u32,
    /// The server's own routes (every shard has the whole list).
    originated: Arc<[Originated]>,
    /// Per route: this shard's Loc-RIB prefixes it aggregates.
    covered: Vec<usize>,
    /// Per route whose prefix this shard owns: the shards that have
    /// more-specifics (bit per shard).
    contributors: Vec<u128>,
    /// The routes a reload replaced, until [`ShardMsg::Recount`]; while
    /// set, aggregates are not counted (the shards' lists may differ).
    replaced: Option<Arc<[Originated]>>,
    /// Every shard's link (this one's included): what shards tell each
    /// other goes there, unbounded, as a shard cannot wait for room and
    /// must not lose such a message to a full inbox.
    links: Vec<Sender<ShardMsg>>,
    /// The VRPs in force, for `show routes` (filters hold their own).
    rpki: Option<Arc<crate::rpki::Rpki>>,
}

impl Shard {
    /// Shard `index` of the daemon `shared` describes, with the server's
    /// own routes that hash to it already in place.
    pub(crate) fn new(index: usize, shared: &Shared) -> Self {
        let mut s = Self::empty(
            index,
            (shared.router_id, shared.cluster_id, shared.local_as),
            Arc::clone(&shared.originated),
            shared.shard_links.clone(),
        );
        let statics: Vec<Originated> = s
            .originated
            .iter()
            .filter(|o| !o.aggregate && s.owns(&o.prefix))
            .cloned()
            .collect();
        for o in statics {
            s.set_local(o.prefix, Some(o.attrs));
        }
        s.rpki = Some(Arc::clone(&shared.rpki));
        s
    }

    /// Shard `index` with empty tables and no members: `ids` are the
    /// router ID, cluster ID and local AS, `originated` the server's own
    /// routes (not yet in the tables), `links` every shard's link.
    fn empty(
        index: usize,
        (router_id, cluster_id, local_as): (Ipv4Addr, Ipv4Addr, u32),
        originated: Arc<[Originated]>,
        links: Vec<Sender<ShardMsg>>,
    ) -> Self {
        let mut peers = PeerTable::new(router_id);
        peers.insert(LOCAL, local_info(router_id, local_as));
        Self {
            index,
            cluster_id,
            local_as,
            adj_pre: AdjRibIn::new(),
            loc: {
                // Dense Adj-RIB-Outs follow the Loc-RIB's slots.
                let mut loc = LocRib::new(BestPathOptions::default());
                loc.record_removals();
                loc
            },
            peers,
            groups: Vec::new(),
            members: PeerMap::default(),
            limits: PeerMap::default(),
            batch_count: None,
            interner: Interner::new(),
            covered: vec![0; originated.len()],
            contributors: vec![0; originated.len()],
            originated,
            replaced: None,
            links,
            rpki: None,
        }
    }

    fn owns(&self, prefix: &Prefix) -> bool {
        shard_of(prefix, self.links.len()) == self.index
    }

    /// Runs until [`ShardMsg::Stop`] or every sender of `inbox` is gone;
    /// messages from other shards (`links`) go first.
    pub(crate) async fn run(mut self, inbox: Receiver<ShardMsg>, links: Receiver<ShardMsg>) {
        let next = || links.try_recv().or_else(|_| inbox.try_recv());
        loop {
            let msg = match next() {
                Ok(msg) => msg,
                Err(_) => {
                    let mut link = std::pin::pin!(links.recv().fuse());
                    let mut routes = std::pin::pin!(inbox.recv().fuse());
                    let got = select_biased! {
                        m = link => m,
                        m = routes => m,
                    };
                    let Ok(msg) = got else {
                        break;
                    };
                    msg
                }
            };
            let start = std::time::Instant::now();
            let mut stop = self.handle(msg);
            // Take what else is queued before flushing, so one flush packs
            // many changes: at most ROUND_MESSAGES or ROUND_TIME, as
            // sessions on other workers may keep the inbox full, and a
            // session of this worker waiting for room waits a round.
            for _ in 1..ROUND_MESSAGES {
                if start.elapsed() >= ROUND_TIME {
                    break;
                }
                let Ok(msg) = next() else {
                    break;
                };
                stop |= self.handle(msg);
            }
            self.flush();
            if stop {
                break;
            }
            // Other workers may keep the inbox from running dry (routes,
            // writers returning credits): the sessions and timers of this
            // worker run between rounds.
            super::yield_now().await;
        }
    }

    /// Applies a session's route changes in order (see [`Shard::ahead`]).
    fn routes(&mut self, peer: PeerId, changes: Vec<Change>) {
        if self
            .limits
            .get(&peer)
            .is_some_and(|l| l.max_prefix.is_none())
        {
            self.batch_count = Some((peer, 0));
        }
        self.ahead(changes, |c| &c.prefix, |s, c| s.apply(peer, c));
        if let Some((peer, n)) = self.batch_count.take()
            && let Some(l) = self.limits.get(&peer)
        {
            // Wrapping: a negative count subtracts.
            l.status
                .accepted
                .fetch_add(n.cast_unsigned(), Ordering::Relaxed);
        }
    }

    /// Adds `n` to the batch count when `peer`'s changes are being
    /// applied in a batch ([`Shard::batch_count`]); false otherwise.
    fn count_in_batch(&mut self, peer: PeerId, n: i64) -> bool {
        match &mut self.batch_count {
            Some((p, count)) if *p == peer => {
                *count += n;
                true
            }
            _ => false,
        }
    }

    /// Calls `apply` on each of `items` in order while the memory of the
    /// prefixes after it is brought into the cache: the Loc-RIB's and
    /// every group's Adj-RIB-Out's index line of the prefix
    /// [`LINES_AHEAD`] items on, and their entries of the prefix
    /// [`ENTRIES_AHEAD`] items on (by then its index lines have arrived).
    /// The prefetches do not wait, so the cache misses of many prefixes
    /// overlap, and each item finds its entries in the cache.
    fn ahead<T>(
        &mut self,
        items: Vec<T>,
        prefix: impl Fn(&T) -> &Prefix,
        mut apply: impl FnMut(&mut Self, T),
    ) {
        let mut rest = items.into_iter();
        for t in rest.as_slice().iter().take(LINES_AHEAD) {
            self.prefetch_lines(prefix(t));
        }
        for t in rest.as_slice().iter().take(ENTRIES_AHEAD) {
            self.prefetch_entries(prefix(t));
        }
        while let Some(t) = rest.next() {
            // `rest` now starts with the item after `t`.
            if let Some(next) = rest.as_slice().get(LINES_AHEAD - 1) {
                self.prefetch_lines(prefix(next));
            }
            if let Some(next) = rest.as_slice().get(ENTRIES_AHEAD - 1) {
                self.prefetch_entries(prefix(next));
            }
            apply(self, t);
        }
    }

    /// Starts loading the index lines of `prefix` in the Loc-RIB and in
    /// every group's Adj-RIB-Out, without waiting for them.
    fn prefetch_lines(&self, prefix: &Prefix) {
        self.loc.prefetch(prefix);
        for g in &self.groups {
            g.out.prefetch(prefix);
        }
    }

    /// Starts loading the Loc-RIB's and every group's Adj-RIB-Out's entry
    /// for `prefix`, reading their index lines.
    fn prefetch_entries(&self, prefix: &Prefix) {
        let slot = self.loc.prefetch_entry(prefix);
        for g in &self.groups {
            g.out.prefetch_entry(prefix, slot);
        }
    }

    /// Hands the Loc-RIB's removals to the dense Adj-RIB-Outs, whose
    /// columns follow its slots: due after every change of the Loc-RIB,
    /// before a group is marked, read or drained again.
    fn follow_removals(&mut self) {
        // Called for every change: most remove nothing.
        if !self.loc.has_removals() {
            return;
        }
        for r in self.loc.removals() {
            for g in &mut self.groups {
                if let Out::Dense(o) = &mut g.out {
                    o.removed(&r);
                }
            }
        }
    }

    fn handle(&mut self, msg: ShardMsg) -> bool {
        match msg {
            ShardMsg::PeerUp(up) => self.peer_up(*up),
            ShardMsg::Routes { peer, changes } => {
                self.routes(peer, changes);
            }
            ShardMsg::PeerDown { peer } => self.peer_down(peer),
            ShardMsg::Reconfigure { peer, key, policy } => self.reconfigure(peer, key, *policy),
            ShardMsg::MaxPrefix { peer, max_prefix } => self.set_limit(peer, max_prefix),
            ShardMsg::Refresh { peer, walk } => {
                if let Some(m) = self.members.get_mut(&peer)
                    && let Some(g) = self.groups.get_mut(m.group)
                {
                    // Its place in the log stays: changes it had not
                    // drained come after the walk.
                    g.out.rewalk(m.id);
                    m.initial_done = false;
                    m.walk = walk;
                }
            }
            ShardMsg::PeerStale { peer } => {
                self.leave_group(peer);
                self.adj_pre.mark_stale(peer);
                let n = self.loc.mark_stale(peer);
                tracing::debug!(shard = self.index, %peer, paths = n, "paths kept as stale");
            }
            ShardMsg::SweepStale { peer, family } => {
                self.adj_pre.sweep_stale_family(peer, family);
                let paths = self.drop_paths(peer, |loc, peers| {
                    loc.sweep_stale_family(peer, family, peers)
                });
                tracing::debug!(shard = self.index, %peer, %family, paths, "graceful restart: stale paths removed");
            }
            ShardMsg::RefreshBegin { peer, family } => {
                self.adj_pre.mark_stale_family(peer, family);
                let n = self.loc.mark_stale_family(peer, family);
                tracing::debug!(shard = self.index, %peer, %family, paths = n, "enhanced route refresh: paths stale until EoRR");
            }
            ShardMsg::RefreshEnd { peer, family } => {
                self.adj_pre.sweep_stale_family(peer, family);
                let paths = self.drop_paths(peer, |loc, peers| {
                    loc.sweep_stale_family(peer, family, peers)
                });
                tracing::debug!(shard = self.index, %peer, %family, paths, "enhanced route refresh: paths not refreshed removed");
            }
            ShardMsg::DisableFamily { peer, family } => {
                self.adj_pre.withdraw_family(peer, family);
                self.drop_paths(peer, |loc, peers| loc.withdraw_family(peer, family, peers));
            }
            // The credit is back already (`Member::credits`); the flush
            // after this batch of messages uses it.
            ShardMsg::Ready => {}
            ShardMsg::Query(q) => self.query(&q),
            ShardMsg::Memory(reply) => {
                let _ = reply.send(self.memory());
            }
            ShardMsg::Dump { slice, reply } => {
                let _ = reply.send(self.dump(slice));
            }
            ShardMsg::DumpPeers(reply) => {
                let known = self.limits.keys();
                let _ = reply.send(
                    known
                        .filter_map(|id| Some((*id, *self.peers.get(*id)?)))
                        .collect(),
                );
            }
            ShardMsg::PeerCounts(reply) => {
                let _ = reply.send(self.peer_counts());
            }
            ShardMsg::Contributors {
                aggregate,
                shard,
                present,
            } => self.contributors(aggregate, shard, present),
            ShardMsg::Originate { routes, done } => {
                self.replace_originated(routes);
                let _ = done.send(());
            }
            ShardMsg::Recount { done } => {
                self.recount();
                let _ = done.send(());
            }
            ShardMsg::Settle => self.settle(),
            ShardMsg::Revalidate(changed) => self.revalidate(&changed),
            ShardMsg::Stop => return true,
        }
        false
    }

    /// Stores one received change and runs the peer's import on it.
    fn apply(&mut self, peer: PeerId, c: Change) {
        let Some(state) = self.limits.get(&peer) else {
            self.set_post(peer, c);
            return;
        };
        if state.import.keeps_pre_policy() {
            let stored = match &c.attrs {
                Some(a) => self
                    .adj_pre
                    .insert(c.prefix, Path::new(a.clone(), peer, c.path_id))
                    .is_ok(),
                None => self.adj_pre.withdraw(&c.prefix, peer, c.path_id).is_some(),
            };
            if !stored && c.attrs.is_none() {
                return;
            }
        }
        let attrs = c
            .attrs
            .and_then(|a| state.import.run(c.prefix, a, &mut self.interner).ok());
        self.set_post(
            peer,
            Change {
                prefix: c.prefix,
                path_id: c.path_id,
                attrs,
            },
        );
    }

    /// Puts the import's outcome for one path into the Adj-RIB-In
    /// post-policy (`attrs: None` removes it) and reruns the decision.
    fn set_post(&mut self, peer: PeerId, c: Change) {
        let r = match c.attrs {
            Some(attrs) => {
                // With drop-excess, a new path takes its place in the count
                // before it is stored (other shards count at the same time).
                let counted =
                    self.drops_excess(peer) && !self.loc.adj_in().has(&c.prefix, peer, c.path_id);
                if counted && !self.reserve(peer) {
                    return;
                }
                let path = Path::new(attrs, peer, c.path_id);
                match self.loc.announce(c.prefix, path, &self.peers) {
                    Ok((None, r)) if !counted => {
                        self.count_new(peer, &c.prefix);
                        r
                    }
                    Ok((_, r)) => r,
                    Err(_) => {
                        tracing::error!(shard = self.index, "Adj-RIB-In full; route dropped");
                        return;
                    }
                }
            }
            None => {
                let Some((_, r)) = self.loc.withdraw(&c.prefix, peer, c.path_id, &self.peers)
                else {
                    return;
                };
                if !self.count_in_batch(peer, -1)
                    && let Some(l) = self.limits.get(&peer)
                {
                    l.status.accepted.fetch_sub(1, Ordering::Relaxed);
                }
                r
            }
        };
        self.selected(c.prefix, r);
    }

    /// True when `peer` has a max-prefix limit with `drop-excess`.
    fn drops_excess(&self, peer: PeerId) -> bool {
        self.limits.get(&peer).is_some_and(|l| {
            l.max_prefix
                .is_some_and(|max| max.action == MaxPrefixAction::DropExcess)
        })
    }

    /// Counts a new path of a `drop-excess` peer; false (and not counted)
    /// when that would pass its limit: the path is dropped.
    fn reserve(&self, peer: PeerId) -> bool {
        let Some(l) = self.limits.get(&peer) else {
            return true;
        };
        let limit = l.max_prefix.map_or(u64::MAX, |m| u64::from(m.limit));
        let held = l.status.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        if held > limit {
            l.status.accepted.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Counts a new path of `peer`. The first crossing of a max-prefix
    /// limit whose action is not `drop-excess` is reported to the session,
    /// which ends it with Cease/1 (RFC 4486 §4).
    fn count_new(&mut self, peer: PeerId, prefix: &Prefix) {
        if self.count_in_batch(peer, 1) {
            return;
        }
        let Some(l) = self.limits.get(&peer) else {
            return;
        };
        let held = l.status.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(max) = l.max_prefix
            && max.action != MaxPrefixAction::DropExcess
            && held == u64::from(max.limit) + 1
        {
            let _ = l.cmds.try_send(SessionCmd::MaxPrefix {
                family: Some(family(prefix)),
            });
        }
    }

    /// Takes `peer`'s new max-prefix limit. One below what the peer holds
    /// now acts at once unless its action is `drop-excess` (no new path
    /// until the count is below it): every shard checks once it counts
    /// against the new limit, so a crossing by another shard's changes
    /// still in flight is seen by that shard (the session acts once).
    fn set_limit(&mut self, peer: PeerId, max_prefix: Option<MaxPrefixConfig>) {
        let Some(l) = self.limits.get_mut(&peer) else {
            return;
        };
        l.max_prefix = max_prefix;
        if let Some(max) = max_prefix
            && max.action != MaxPrefixAction::DropExcess
            && l.status.accepted.load(Ordering::Relaxed) > u64::from(max.limit)
        {
            let _ = l.cmds.try_send(SessionCmd::MaxPrefix { family: None });
        }
    }

    /// Follows up a change of `prefix` in the Loc-RIB: aggregate counts and
    /// the update groups.
    fn selected(&mut self, prefix: Prefix, r: Reselected) {
        self.follow_removals();
        // Aggregates count the received prefixes in the Loc-RIB.
        if !self.originated.is_empty() {
            let was = r.was.is_some_and(|p| p != LOCAL);
            let is = self.loc.get(&prefix).is_some_and(|p| p.peer() != LOCAL);
            self.count_contributors(prefix, was, is);
        }
        let change = r.change;
        if matches!(change, LocChange::Unchanged) {
            self.touch_own(prefix);
        }
        let t = Tables {
            loc: &self.loc,
            peers: &self.peers,
            originated: &self.originated,
        };
        // Read once for every group (a lookup per group saved).
        let (slot, paths) = t.loc.paths_at(&prefix);
        let best_tag = paths.first().map(source_tag);
        for (i, g) in self.groups.iter_mut().enumerate() {
            if matches!(change, LocChange::Unchanged)
                && !g.follows_other_paths(&prefix, slot, best_tag)
            {
                continue;
            }
            refresh_group((i, g), &t, (slot, paths), &self.members, prefix, self.index);
        }
    }

    /// The best path of `prefix` did not change, but the paths behind it
    /// did: when the best is a route server client's own path, that client
    /// is sent the best of the others, which may now differ.
    fn touch_own(&mut self, prefix: Prefix) {
        let (slot, paths) = self.loc.paths_at(&prefix);
        let Some(m) = paths.first().and_then(|b| self.members.get(&b.peer())) else {
            return;
        };
        if let Some(g) = self.groups.get_mut(m.group)
            && g.key.role == Role::RsClient
            && !g.all_paths(&prefix)
        {
            g.touch(prefix, slot, paths.len() == 1);
        }
    }

    fn peer_up(&mut self, up: PeerUp) {
        // The peer's paths stay: they are gone after a plain PeerDown, or
        // stale after a graceful restart and refreshed from now on.
        self.leave_group(up.peer);
        self.peers.insert(up.peer, up.info);
        let PeerPolicy {
            import,
            export,
            ebgp,
        } = up.policy;
        self.limits.insert(
            up.peer,
            PeerState {
                status: up.status,
                max_prefix: up.max_prefix,
                cmds: up.cmds,
                import,
            },
        );
        self.join_group(
            up.peer,
            up.key,
            (export, ebgp),
            (up.encode, up.out, Arc::new(AtomicU32::new(CREDITS))),
        );
    }

    /// Adds `member` to the group of `key`, made (from the whole Loc-RIB)
    /// when none exists.
    fn join_group(
        &mut self,
        peer: PeerId,
        key: GroupKey,
        (export, ebgp): (Option<Arc<Chain>>, Option<EbgpRewrite>),
        (encode, out, credits): (EncodeCtx, Sender<OutMsg>, Arc<AtomicU32>),
    ) {
        // A new group's table is made from the Loc-RIB as it stands.
        self.follow_removals();
        let group = match self.groups.iter().position(|g| g.key == key) {
            Some(i) => i,
            None => {
                let mut exporter = Exporter::new(key.role, self.cluster_id, self.local_as)
                    .with_filters(export)
                    .with_communities(key.interpret_communities);
                if let Some(e) = ebgp {
                    exporter = exporter.with_ebgp(e);
                }
                let mut g = Group::new(key, exporter);
                let t = Tables {
                    loc: &self.loc,
                    peers: &self.peers,
                    originated: &self.originated,
                };
                for (prefix, _) in self.loc.iter() {
                    let _ = g.update(&t, prefix);
                }
                self.groups.push(g);
                self.groups.len() - 1
            }
        };
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        g.members += 1;
        let id = g.out.add_member();
        self.members.insert(
            peer,
            Member {
                group,
                id,
                encode,
                out,
                credits,
                initial_done: false,
                walk: 0,
                withdraw_first: Vec::new(),
            },
        );
    }

    /// Takes `peer` out of its group; an empty group is dropped.
    fn leave_group(&mut self, peer: PeerId) -> Option<Member> {
        let m = self.members.remove(&peer)?;
        let g = self.groups.get_mut(m.group)?;
        g.members -= 1;
        if g.members > 0 {
            g.out.remove_member(m.id);
        } else {
            // The last member: the group goes whole. Removing the member
            // first would prune the Adj-RIB-Out of everything it alone had
            // not drained (after a full table's withdrawal, a random
            // removal per prefix) just before dropping it.
            self.groups.swap_remove(m.group);
            let moved = self.groups.len();
            for other in self.members.values_mut() {
                if other.group == moved {
                    other.group = m.group;
                }
            }
        }
        Some(m)
    }

    /// A reload changed `peer`'s filters: rerun its import over the stored
    /// routes, then move it to the group of its new export. Its session and
    /// its other routes are untouched; the Adj-RIB-Out walk that joining a
    /// group starts resends its table.
    fn reconfigure(&mut self, peer: PeerId, key: GroupKey, policy: PeerPolicy) {
        let PeerPolicy {
            import,
            export,
            ebgp,
        } = policy;
        if let Some(state) = self.limits.get_mut(&peer) {
            let old = std::mem::replace(&mut state.import, import);
            self.reimport(peer, &old);
        }
        let old = self
            .members
            .get(&peer)
            .and_then(|m| self.groups.get(m.group))
            .filter(|g| g.key != key)
            .map(|g| g.out.entries(&self.loc));
        let Some(old) = old else { return };
        if let Some(m) = self.leave_group(peer) {
            self.join_group(peer, key, (export, ebgp), (m.encode, m.out, m.credits));
        }
        // What the peer may hold from its old group and its new group does
        // not advertise: withdrawn before anything else.
        let Some(m) = self.members.get_mut(&peer) else {
            return;
        };
        let Some(g) = self.groups.get(m.group) else {
            return;
        };
        m.withdraw_first = old
            .into_iter()
            .filter(|(prefix, id)| {
                let now = g.out.get(prefix, self.loc.paths_at(prefix).0);
                if g.all_paths(prefix) {
                    !now.iter().any(|a| a.path_id == *id)
                } else {
                    now.is_empty()
                }
            })
            .collect();
    }

    /// Runs the peer's (new) import over its Adj-RIB-In pre-policy; `old`
    /// tells where the pre-policy routes are (without import filters they
    /// were only kept post-policy).
    fn reimport(&mut self, peer: PeerId, old: &Import) {
        let Some(state) = self.limits.get(&peer) else {
            return;
        };
        let keep_pre = state.import.keeps_pre_policy();
        if !old.keeps_pre_policy() && !keep_pre {
            return;
        }
        let source = if old.keeps_pre_policy() {
            &self.adj_pre
        } else {
            self.loc.adj_in()
        };
        let received: Vec<(Prefix, Path)> = source
            .iter()
            .flat_map(|(prefix, paths)| {
                paths
                    .iter()
                    .filter(|p| p.peer() == peer)
                    .map(move |p| (prefix, p.clone()))
            })
            .collect();
        if keep_pre && !old.keeps_pre_policy() {
            for (prefix, path) in &received {
                let _ = self.adj_pre.insert(*prefix, path.clone());
            }
        }
        if !keep_pre {
            self.adj_pre.withdraw_all(peer);
        }
        self.import_again(received);
    }

    /// Runs the import of each path's peer on `received` (paths as
    /// received, before policy) and stores the outcomes.
    fn import_again(&mut self, received: Vec<(Prefix, Path)>) {
        for (prefix, path) in received {
            let peer = path.peer();
            let Some(state) = self.limits.get(&peer) else {
                continue;
            };
            let attrs = state
                .import
                .run(prefix, path.attrs().clone(), &mut self.interner)
                .ok();
            self.set_post(
                peer,
                Change {
                    prefix,
                    path_id: path.path_id(),
                    attrs,
                },
            );
        }
    }

    /// The VRPs in force changed: the import filters that read the RPKI
    /// state run again over the stored routes whose state may differ (the
    /// Adj-RIB-In pre-policy, so no route refresh is needed), and the
    /// update groups whose export filters read it look at those prefixes
    /// again. O(stored prefixes) per change: caches send changes every
    /// few minutes at most.
    fn revalidate(&mut self, changed: &Changed) {
        let t = std::time::Instant::now();
        let peers: Vec<PeerId> = self
            .limits
            .iter()
            .filter(|(_, s)| s.import.reads_rpki())
            .map(|(p, _)| *p)
            .collect();
        let received: Vec<(Prefix, Path)> = if peers.is_empty() {
            Vec::new()
        } else {
            self.adj_pre
                .iter()
                .filter(|(prefix, _)| changed.covers(prefix))
                .flat_map(|(prefix, paths)| {
                    paths
                        .iter()
                        .filter(|p| peers.contains(&p.peer()))
                        .map(move |p| (prefix, p.clone()))
                })
                .collect()
        };
        let paths = received.len();
        self.import_again(received);
        let mut exported = 0;
        if self.groups.iter().any(|g| g.exporter.reads_rpki()) {
            let prefixes: Vec<Prefix> = self
                .loc
                .iter()
                .map(|(p, _)| p)
                .filter(|p| changed.covers(p))
                .collect();
            let t = Tables {
                loc: &self.loc,
                peers: &self.peers,
                originated: &self.originated,
            };
            let groups = self.groups.iter_mut().enumerate();
            for (i, g) in groups.filter(|(_, g)| g.exporter.reads_rpki()) {
                for prefix in &prefixes {
                    let at = t.loc.paths_at(prefix);
                    refresh_group((i, g), &t, at, &self.members, *prefix, self.index);
                }
            }
            exported = prefixes.len();
        }
        tracing::debug!(
            shard = self.index,
            paths,
            exported,
            ms = t.elapsed().as_millis(),
            "routes validated again"
        );
    }

    /// Removes paths of `peer` from the Loc-RIB with `remove` (which
    /// answers one entry per prefix that lost a path), counts them off the
    /// peer's count and follows up each prefix. Returns the number of
    /// paths removed: with ADD-PATH a prefix may lose two or more.
    fn drop_paths(
        &mut self,
        peer: PeerId,
        remove: impl FnOnce(&mut LocRib, &PeerTable) -> Vec<(Prefix, Reselected)>,
    ) -> usize {
        let held = self.loc.adj_in().count(peer);
        let gone = remove(&mut self.loc, &self.peers);
        let paths = held.saturating_sub(self.loc.adj_in().count(peer));
        if let Some(l) = self.limits.get(&peer) {
            l.status.accepted.fetch_sub(paths as u64, Ordering::Relaxed);
        }
        self.ahead(gone, |(p, _)| p, |s, (p, r)| s.selected(p, r));
        paths
    }

    fn peer_down(&mut self, peer: PeerId) {
        let t = std::time::Instant::now();
        self.leave_group(peer);
        self.adj_pre.withdraw_all(peer);
        let paths = self.drop_paths(peer, |loc, peers| loc.withdraw_all(peer, peers));
        self.limits.remove(&peer);
        self.peers.remove(peer);
        tracing::debug!(shard = self.index, %peer, paths, ms = t.elapsed().as_millis(), "peer's paths removed");
    }
}

/// Brings group `i` up to date for `prefix`, whose Loc-RIB slot and paths
/// (best first) are `slot` and `paths`. When it sends the same path as
/// before but the paths behind it changed, and that path is a member's
/// own, the member's answer (the best of the others, RFC 7947 §2.3.2.1)
/// may differ now: every member sees the prefix again.
fn refresh_group(
    (i, g): (usize, &mut Group),
    t: &Tables<'_>,
    (slot, paths): (Option<u32>, &[Path]),
    members: &PeerMap<Member>,
    prefix: Prefix,
    shard: usize,
) {
    match g.update_from(t, prefix, slot, paths) {
        Err(_) => tracing::error!(shard, "Adj-RIB-Out full"),
        Ok(false)
            if g.key.role == Role::RsClient
                && !g.all_paths(&prefix)
                && g.sent_owner(&prefix, slot)
                    .and_then(|p| members.get(&p))
                    .is_some_and(|m| m.group == i) =>
        {
            g.touch(prefix, slot, paths.len() == 1);
        }
        Ok(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::shard_of;
    use rampart_core::nlri::Prefix;

    fn v4(a: u32, len: u8) -> Prefix {
        let net = ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(a), len).unwrap();
        Prefix::from(ipnet::IpNet::from(net.trunc()))
    }

    fn v6(a: u128, len: u8) -> Prefix {
        let net = ipnet::Ipv6Net::new(std::net::Ipv6Addr::from(a), len).unwrap();
        Prefix::from(ipnet::IpNet::from(net.trunc()))
    }

    /// The prefixes of one /16 (IPv4) or /32 (IPv6), which an AS's
    /// neighbouring announcements mostly fall in, share a shard.
    #[test]
    fn a_block_stays_in_one_shard() {
        let v4_block = (0..256u32).map(|i| v4(0xCB00_0000 | i << 8, 24)).chain([
            v4(0xCB00_0000, 16),
            v4(0xCB00_1000, 20),
            v4(0xCB00_FF80, 25),
        ]);
        let v6_block = (0..256u128).map(|i| v6(0x2a00_1450_u128 << 96 | i << 80, 48));
        for block in [v4_block.collect::<Vec<_>>(), v6_block.collect()] {
            for shards in [2, 3, 4, 8] {
                let first = shard_of(&block[0], shards);
                assert!(
                    block.iter().all(|p| shard_of(p, shards) == first),
                    "{shards} shards: a block spans shards"
                );
            }
        }
    }

    /// Blocks spread evenly: a table's prefixes fall in tens of thousands
    /// of them.
    #[test]
    fn blocks_spread_evenly_over_shards() {
        let v4s = (0..20_000u32).map(|i| v4(0x0100_0000 + (i << 16), 24));
        let v6s = (0..20_000u128).map(|i| v6(0x2400_0000_u128 << 96 | i << 96, 48));
        let all: Vec<Prefix> = v4s.chain(v6s).collect();
        for shards in [2, 3, 4, 8] {
            let mut n = vec![0usize; shards];
            for p in &all {
                n[shard_of(p, shards)] += 1;
            }
            let even = all.len() / shards;
            assert!(
                n.iter().all(|&k| k.abs_diff(even) < even / 10),
                "{shards} shards: {n:?}"
            );
        }
    }
}
