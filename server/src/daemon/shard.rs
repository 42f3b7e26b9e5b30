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
use crate::config::Role;

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
            Some(attrs) => {
                if self
                    .adj_in
                    .insert(c.prefix, Path::new(attrs, peer, c.path_id))
                    .is_err()
                {
                    tracing::error!(shard = self.index, "Adj-RIB-In full; route dropped");
                    return;
                }
            }
            None => {
                if self.adj_in.withdraw(&c.prefix, peer, c.path_id).is_none() {
                    return;
                }
            }
        }
        self.reselect(c.prefix);
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
        self.peer_down(up.peer);
        self.peers.insert(up.peer, up.info);
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

    fn peer_down(&mut self, peer: PeerId) {
        if let Some(m) = self.members.remove(&peer)
            && let Some(g) = self.groups.get_mut(m.group)
        {
            g.out.remove_member(m.id);
            g.members -= 1;
        }
        for prefix in self.adj_in.withdraw_all(peer) {
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
        for (attrs, list) in &drain.announced {
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
