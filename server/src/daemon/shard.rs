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
use std::sync::atomic::Ordering;

use async_channel::{Receiver, Sender};
use bytes::Bytes;
use rampart_core::EncodeCtx;
use rampart_core::msg::update::UpdateBuilder;
use rampart_core::nlri::{AfiSafi, Nlri, Prefix};
use rampart_core::rib::{
    AdjRibIn, AdjRibOut, Advertised, AttrSet, BestPathOptions, LocChange, LocRib, MemberId, Path,
    PeerId, PeerInfo, PeerTable,
};

use super::export::Exporter;
use super::peer::PeerStatus;
use super::session::SessionCmd;
use crate::config::{MaxPrefixAction, MaxPrefixConfig, Role};

/// Prefixes drained for one member per batch.
const BATCH_PREFIXES: usize = 4096;
/// Batches a member may have in flight from one shard.
const CREDITS: u32 = 2;

/// Which shard owns `prefix` (of `shards`).
pub(crate) fn shard_of(prefix: &Prefix, shards: usize) -> usize {
    use std::hash::BuildHasher;
    let h = foldhash::fast::FixedState::with_seed(0x5eed).hash_one(prefix);
    usize::try_from(h % shards.max(1) as u64).unwrap_or(0)
}

/// A route change from a session: an announcement (`attrs` set) or a
/// withdrawal.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) prefix: Prefix,
    pub(crate) path_id: u32,
    pub(crate) attrs: Option<AttrSet>,
}

/// Peers sharing these share one Adj-RIB-Out and export evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    pub(crate) role: Role,
    pub(crate) export: Vec<String>,
    pub(crate) four_octet_as: bool,
    pub(crate) extended_message: bool,
    pub(crate) families: Vec<AfiSafi>,
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
}

/// Messages to a shard.
#[derive(Debug)]
pub(crate) enum ShardMsg {
    /// A session reached Established: add it to its update group.
    PeerUp(Box<PeerUp>),
    /// Route changes from a peer's UPDATEs (after import policy).
    Routes { peer: PeerId, changes: Vec<Change> },
    /// A session went down: drop its paths and its membership.
    PeerDown { peer: PeerId },
    /// A session that negotiated graceful restart went down without a
    /// NOTIFICATION: keep its paths as stale (RFC 4724 §4.2).
    PeerStale { peer: PeerId },
    /// The restarted peer sent End-of-RIB for every family: drop the paths
    /// it did not refresh (RFC 4724 §4.2).
    SweepStale { peer: PeerId },
    /// The peer's writer finished a batch from this shard: one more credit.
    Ready { peer: PeerId },
    /// Stop the shard task.
    Stop,
}

/// Messages from shards to a session's writer.
#[derive(Debug)]
pub(crate) enum OutMsg {
    /// Packed UPDATEs from shard `shard`, covering `prefixes` prefixes.
    Updates {
        shard: usize,
        pdus: Vec<Bytes>,
        prefixes: u64,
    },
    /// One shard has sent its whole initial table.
    InitialDone,
}

#[derive(Debug)]
struct Group {
    key: GroupKey,
    out: AdjRibOut,
    exporter: Exporter,
    members: usize,
}

impl Group {
    /// What this group advertises for `path` as the best of `prefix`.
    fn advertise(&mut self, peers: &PeerTable, prefix: &Prefix, path: &Path) -> Option<Advertised> {
        if !self.key.families.contains(&family(prefix)) {
            return None;
        }
        let info = peers.get(path.peer())?;
        let attrs = self.exporter.export(path, info)?;
        Some(Advertised { attrs, path_id: 0 })
    }
}

/// What a shard keeps about a peer whose paths it holds.
#[derive(Debug)]
struct PeerLimits {
    status: Arc<PeerStatus>,
    max_prefix: Option<MaxPrefixConfig>,
    cmds: Sender<SessionCmd>,
}

#[derive(Debug)]
struct Member {
    group: usize,
    id: MemberId,
    encode: EncodeCtx,
    out: Sender<OutMsg>,
    credits: u32,
    initial_done: bool,
}

/// The shard's tables and members.
#[derive(Debug)]
pub(crate) struct Shard {
    index: usize,
    cluster_id: Ipv4Addr,
    adj_in: AdjRibIn,
    loc: LocRib,
    peers: PeerTable,
    groups: Vec<Group>,
    members: HashMap<PeerId, Member>,
    limits: HashMap<PeerId, PeerLimits>,
}

impl Shard {
    pub(crate) fn new(index: usize, router_id: Ipv4Addr, cluster_id: Ipv4Addr) -> Self {
        Self {
            index,
            cluster_id,
            adj_in: AdjRibIn::new(),
            loc: LocRib::new(BestPathOptions::default()),
            peers: PeerTable::new(router_id),
            groups: Vec::new(),
            members: HashMap::new(),
            limits: HashMap::new(),
        }
    }

    /// Runs until [`ShardMsg::Stop`] or every sender is gone.
    pub(crate) async fn run(mut self, inbox: Receiver<ShardMsg>) {
        while let Ok(msg) = inbox.recv().await {
            let mut stop = self.handle(msg);
            // Take whatever else is queued before flushing, so one flush
            // packs many changes.
            while let Ok(msg) = inbox.try_recv() {
                stop |= self.handle(msg);
            }
            self.flush();
            if stop {
                break;
            }
        }
    }

    fn handle(&mut self, msg: ShardMsg) -> bool {
        match msg {
            ShardMsg::PeerUp(up) => self.peer_up(*up),
            ShardMsg::Routes { peer, changes } => {
                for c in changes {
                    self.apply(peer, c);
                }
            }
            ShardMsg::PeerDown { peer } => self.peer_down(peer),
            ShardMsg::PeerStale { peer } => {
                self.leave_group(peer);
                let n = self.adj_in.mark_stale(peer);
                tracing::debug!(shard = self.index, %peer, paths = n, "paths kept as stale");
            }
            ShardMsg::SweepStale { peer } => {
                let gone = self.adj_in.sweep_stale(peer);
                if let Some(l) = self.limits.get(&peer) {
                    l.status
                        .accepted
                        .fetch_sub(gone.len() as u64, Ordering::Relaxed);
                }
                for prefix in gone {
                    self.reselect(prefix);
                }
            }
            ShardMsg::Ready { peer } => {
                if let Some(m) = self.members.get_mut(&peer) {
                    m.credits = (m.credits + 1).min(CREDITS);
                }
            }
            ShardMsg::Stop => return true,
        }
        false
    }

    fn apply(&mut self, peer: PeerId, c: Change) {
        match c.attrs {
            Some(attrs) => match self
                .adj_in
                .insert(c.prefix, Path::new(attrs, peer, c.path_id))
            {
                Ok(Some(_)) => {}
                Ok(None) => {
                    if !self.count_new(peer, &c.prefix) {
                        let _ = self.adj_in.withdraw(&c.prefix, peer, c.path_id);
                        return;
                    }
                }
                Err(_) => {
                    tracing::error!(shard = self.index, "Adj-RIB-In full; route dropped");
                    return;
                }
            },
            None => {
                if self.adj_in.withdraw(&c.prefix, peer, c.path_id).is_none() {
                    return;
                }
                if let Some(l) = self.limits.get(&peer) {
                    l.status.accepted.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
        self.reselect(c.prefix);
    }

    /// Counts a new path of `peer`; false when max-prefix says to drop it
    /// (`drop-excess`). A crossing with another action is reported to the
    /// session once, which ends it with Cease/1 (RFC 4486 §4).
    fn count_new(&mut self, peer: PeerId, prefix: &Prefix) -> bool {
        let Some(l) = self.limits.get(&peer) else {
            return true;
        };
        let held = l.status.accepted.fetch_add(1, Ordering::Relaxed) + 1;
        let Some(max) = l.max_prefix else { return true };
        if held <= u64::from(max.limit) {
            return true;
        }
        if max.action == MaxPrefixAction::DropExcess {
            l.status.accepted.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        if held == u64::from(max.limit) + 1 {
            let _ = l.cmds.try_send(SessionCmd::MaxPrefix {
                family: family(prefix),
            });
        }
        true
    }

    fn reselect(&mut self, prefix: Prefix) {
        match self.loc.update(prefix, &self.adj_in, &self.peers) {
            LocChange::Unchanged => {}
            LocChange::NewBest(best) => self.export(prefix, Some(&best)),
            LocChange::Withdrawn => self.export(prefix, None),
        }
    }

    /// Marks `prefix` in every group's Adj-RIB-Out with what the group
    /// advertises for the new best path.
    fn export(&mut self, prefix: Prefix, best: Option<&Path>) {
        for g in &mut self.groups {
            let state = best.and_then(|b| g.advertise(&self.peers, &prefix, b));
            if g.out.mark(prefix, state).is_err() {
                tracing::error!(shard = self.index, "Adj-RIB-Out full");
            }
        }
    }

    fn peer_up(&mut self, up: PeerUp) {
        // The peer's paths stay: they are gone after a plain PeerDown, or
        // stale after a graceful restart and refreshed from now on.
        self.leave_group(up.peer);
        self.peers.insert(up.peer, up.info);
        self.limits.insert(
            up.peer,
            PeerLimits {
                status: up.status,
                max_prefix: up.max_prefix,
                cmds: up.cmds,
            },
        );
        let group = match self.groups.iter().position(|g| g.key == up.key) {
            Some(i) => i,
            None => {
                let mut g = Group {
                    exporter: Exporter::new(up.key.role, self.cluster_id),
                    key: up.key,
                    out: AdjRibOut::new(),
                    members: 0,
                };
                // A new group starts from the whole Loc-RIB.
                for (prefix, best) in self.loc.iter() {
                    if let Some(state) = g.advertise(&self.peers, prefix, best) {
                        let _ = g.out.mark(*prefix, Some(state));
                    }
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
            up.peer,
            Member {
                group,
                id,
                encode: up.encode,
                out: up.out,
                credits: CREDITS,
                initial_done: false,
            },
        );
    }

    fn leave_group(&mut self, peer: PeerId) {
        if let Some(m) = self.members.remove(&peer)
            && let Some(g) = self.groups.get_mut(m.group)
        {
            g.out.remove_member(m.id);
            g.members -= 1;
        }
    }

    fn peer_down(&mut self, peer: PeerId) {
        self.leave_group(peer);
        let gone = self.adj_in.withdraw_all(peer);
        if let Some(l) = self.limits.remove(&peer) {
            l.status
                .accepted
                .fetch_sub(gone.len() as u64, Ordering::Relaxed);
        }
        for prefix in gone {
            self.reselect(prefix);
        }
        self.peers.remove(peer);
    }

    /// Sends every member with credits its next batches.
    fn flush(&mut self) {
        let peers: Vec<PeerId> = self.members.keys().copied().collect();
        for peer in peers {
            while self.flush_one(peer) {}
        }
    }

    /// Sends one batch to `peer`; false when it has no credit or nothing
    /// left.
    fn flush_one(&mut self, peer: PeerId) -> bool {
        let Some(m) = self.members.get(&peer) else {
            return false;
        };
        if m.credits == 0 {
            return false;
        }
        let Some(g) = self.groups.get_mut(m.group) else {
            return false;
        };
        let drain = g.out.drain(m.id, BATCH_PREFIXES);
        if drain.is_empty() {
            if !m.initial_done {
                let _ = m.out.try_send(OutMsg::InitialDone);
                if let Some(m) = self.members.get_mut(&peer) {
                    m.initial_done = true;
                }
            }
            return false;
        }
        let role = g.key.role;
        let mut b = UpdateBuilder::new(m.encode.clone());
        let mut prefixes = 0u64;
        for (prefix, _) in &drain.withdrawn {
            b.withdraw(family(prefix), [Nlri::new(*prefix)]);
            prefixes += 1;
        }
        for (attrs, list) in drain.announced() {
            let mut own = Vec::new();
            let mut nlri: HashMap<AfiSafi, Vec<Nlri>> = HashMap::new();
            for (prefix, _) in list {
                // Never hand a peer its own path (RFC 4456 §6, RFC 7947).
                if self.loc.get(prefix).is_some_and(|p| p.peer() == peer) {
                    own.push(*prefix);
                } else {
                    nlri.entry(family(prefix))
                        .or_default()
                        .push(Nlri::new(*prefix));
                }
            }
            for (fam, n) in nlri {
                prefixes += n.len() as u64;
                if let Err(e) = b.announce(attrs.attrs(), fam, n) {
                    tracing::warn!(%peer, "cannot encode a route: {e}");
                }
            }
            for prefix in own {
                prefixes += 1;
                // RFC 7947 §2.3.2 path hiding mitigation: a route server
                // client gets the best path from someone else instead. A
                // reflector advertises only its best path, so other roles
                // get a withdrawal.
                let alt = (role == Role::RsClient)
                    .then(|| {
                        self.loc
                            .best_for(&prefix, &self.adj_in, &self.peers, |p| p.peer() != peer)
                    })
                    .flatten()
                    .and_then(|p| g.advertise(&self.peers, &prefix, &p));
                match alt {
                    Some(a) => {
                        if let Err(e) =
                            b.announce(a.attrs.attrs(), family(&prefix), [Nlri::new(prefix)])
                        {
                            tracing::warn!(%peer, "cannot encode a route: {e}");
                        }
                    }
                    None => b.withdraw(family(&prefix), [Nlri::new(prefix)]),
                }
            }
        }
        let pdus: Vec<Bytes> = b.into_pdu_iter().collect();
        let Some(m) = self.members.get_mut(&peer) else {
            return false;
        };
        m.credits -= 1;
        m.out
            .try_send(OutMsg::Updates {
                shard: self.index,
                pdus,
                prefixes,
            })
            .is_ok()
    }
}

fn family(prefix: &Prefix) -> AfiSafi {
    match prefix {
        Prefix::V4(_) => AfiSafi::IPV4_UNICAST,
        Prefix::V6(_) => AfiSafi::IPV6_UNICAST,
    }
}
