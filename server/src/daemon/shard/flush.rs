//! Handing members their UPDATEs: members of one update group that stand
//! at the same place in its Adj-RIB-Out (a cohort) drain it once and share
//! one encoding (`Bytes` are reference counted: one copy of each PDU for
//! the whole cohort). A member whose own paths are in the batch, or that
//! owes withdrawals from a group it left, gets an encoding of its own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use rampart_core::EncodeCtx;
use rampart_core::msg::update::UpdateBuilder;
use rampart_core::nlri::{AfiSafi, Nlri, Prefix};
use rampart_core::rib::{AttrSet, Drain, MemberId, MemberPosition, PeerId};

use super::{BATCH_PREFIXES, OutMsg, Shard};
use crate::daemon::group::{Tables, family, tag_is_from, tag_peer};

impl Shard {
    /// Sends every member with credits its next batches.
    pub(super) fn flush(&mut self) {
        let mut cohorts: HashMap<(usize, MemberPosition), Vec<PeerId>> = HashMap::new();
        for (peer, m) in &self.members {
            if m.credits.load(Ordering::Acquire) == 0 {
                continue;
            }
            let pos = self.groups.get(m.group).and_then(|g| g.out.position(m.id));
            if let Some(pos) = pos {
                cohorts.entry((m.group, pos)).or_default().push(*peer);
            }
        }
        for ((group, _), mut peers) in cohorts {
            while !peers.is_empty() && self.flush_cohort(group, &peers) {
                peers.retain(|p| {
                    self.members
                        .get(p)
                        .is_some_and(|m| m.credits.load(Ordering::Acquire) > 0)
                });
            }
        }
    }

    /// Drains one batch for `peers` (one group, one position) and sends
    /// it; false when there was nothing left.
    fn flush_cohort(&mut self, group: usize, peers: &[PeerId]) -> bool {
        let ids: Vec<MemberId> = peers
            .iter()
            .filter_map(|p| self.members.get(p).map(|m| m.id))
            .collect();
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        let drain = g.out.drain_shared(&ids, BATCH_PREFIXES);
        let owes = |s: &Self, p: &PeerId| {
            s.members
                .get(p)
                .is_some_and(|m| !m.withdraw_first.is_empty())
        };
        if drain.is_empty() && !peers.iter().any(|p| owes(self, p)) {
            for p in peers {
                if let Some(m) = self.members.get_mut(p)
                    && !m.initial_done
                {
                    m.initial_done = true;
                    let _ = m.out.try_send(OutMsg::InitialDone {
                        shard: self.index,
                        walk: m.walk,
                    });
                }
            }
            return false;
        }
        // The batch in parts by the cohort member whose paths they are: a
        // part is encoded once for every member but its owner, who gets a
        // version of its own (its own paths replaced or left out).
        let cohort: HashSet<PeerId> = peers.iter().copied().collect();
        let parts = split(&drain, |tag| tag_peer(tag).filter(|p| cohort.contains(p)));
        // Members of a group negotiated the same encoding (the group key).
        let Some(ctx) = peers
            .first()
            .and_then(|p| self.members.get(p))
            .map(|m| m.encode.clone())
        else {
            return false;
        };
        let common: Vec<(Bytes, u64)> = parts
            .iter()
            .map(|(_, d)| self.encode(group, &ctx, d, None))
            .collect();
        for &peer in peers {
            let mut batch = (Vec::with_capacity(parts.len() + 1), 0);
            if owes(self, &peer) {
                let (b, n) = self.encode(group, &ctx, &Drain::default(), Some(peer));
                batch.0.push(b);
                batch.1 += n;
            }
            for ((owner, d), shared) in parts.iter().zip(&common) {
                let (b, n) = if *owner == Some(peer) {
                    self.encode(group, &ctx, d, Some(peer))
                } else {
                    shared.clone()
                };
                if !b.is_empty() {
                    batch.0.push(b);
                }
                batch.1 += n;
            }
            self.send(peer, batch);
        }
        true
    }

    fn send(&mut self, peer: PeerId, (pdus, prefixes): (Vec<Bytes>, u64)) {
        let index = self.index;
        if let Some(m) = self.members.get_mut(&peer) {
            // Only this shard takes credits: no underflow between the load
            // in `flush` and here.
            let _ = m
                .credits
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1));
            let _ = m.out.try_send(OutMsg::Updates {
                shard: index,
                pdus,
                prefixes,
                credit: Arc::clone(&m.credits),
            });
        }
    }

    /// Encodes `drain` for `member` (its own paths replaced or left out,
    /// its owed withdrawals first), or with `None` as it is, for every
    /// member that owns nothing in it. Returns the PDUs back to back in
    /// one buffer and the number of prefixes they carry.
    fn encode(
        &mut self,
        group: usize,
        ctx: &EncodeCtx,
        drain: &Drain,
        member: Option<PeerId>,
    ) -> (Bytes, u64) {
        let owed = member
            .and_then(|p| self.members.get_mut(&p))
            .map(|m| std::mem::take(&mut m.withdraw_first))
            .unwrap_or_default();
        let t = Tables {
            loc: &self.loc,
            peers: &self.peers,
            originated: &self.originated,
        };
        let Some(g) = self.groups.get_mut(group) else {
            return (Bytes::new(), 0);
        };
        // Under ADD-PATH the NLRI carries the path's tag as its identifier
        // (RFC 7911 §3).
        let nlri_of = |prefix: Prefix, tag: u32| {
            if ctx.add_path(family(&prefix)) {
                Nlri {
                    path_id: Some(tag),
                    prefix,
                }
            } else {
                Nlri::new(prefix)
            }
        };
        let own = |tag: u32| member.is_some_and(|p| tag_is_from(tag, p));
        let mut b = UpdateBuilder::new(ctx.clone());
        let mut prefixes = 0u64;
        for (prefix, tag) in owed.iter().chain(&drain.withdrawn) {
            // A member's own paths under ADD-PATH were never sent.
            if g.all_paths(prefix) && own(*tag) {
                continue;
            }
            b.withdraw(family(prefix), [nlri_of(*prefix, *tag)]);
            prefixes += 1;
        }
        for (attrs, list) in drain.announced_fresh() {
            let mut mine = Vec::new();
            // Per address family (at most a few): a list, not a map.
            let mut nlri: Vec<(AfiSafi, Vec<Nlri>)> = Vec::new();
            for ((prefix, tag), fresh) in list {
                // Never hand a peer its own path (RFC 4456 §6, RFC 7947).
                if own(tag) {
                    if !g.all_paths(&prefix) {
                        mine.push((prefix, fresh));
                    }
                    continue;
                }
                let fam = family(&prefix);
                let n = nlri_of(prefix, tag);
                match nlri.iter_mut().find(|(f, _)| *f == fam) {
                    Some((_, v)) => v.push(n),
                    None => nlri.push((fam, vec![n])),
                }
            }
            for (fam, n) in nlri {
                prefixes += n.len() as u64;
                if let Err(e) = b.announce(attrs.attrs(), fam, n) {
                    tracing::warn!(?member, "cannot encode a route: {e}");
                }
            }
            for (prefix, fresh) in mine {
                // RFC 7947 §2.3.2 path hiding mitigation: a route server
                // client gets the best path from someone else instead. A
                // reflector advertises only its best path, so other roles
                // get a withdrawal, unless the member never had a path
                // of this group for the prefix (fresh).
                match g.advertise(&t, &prefix, member) {
                    Some(a) => {
                        let n = nlri_of(prefix, a.path_id);
                        if let Err(e) = b.announce(a.attrs.attrs(), family(&prefix), [n]) {
                            tracing::warn!(?member, "cannot encode a route: {e}");
                        }
                    }
                    None if fresh => continue,
                    None => b.withdraw(family(&prefix), [nlri_of(prefix, 0)]),
                }
                prefixes += 1;
            }
        }
        (b.into_stream(), prefixes)
    }
}

/// Announced prefixes with their tags and fresh flags.
type Nlris = Vec<((Prefix, u32), bool)>;

/// `drain` in parts by `owner` of each entry's tag (`None`: no member's),
/// each part laid out like a drain (attribute sets in first-seen order).
fn split(drain: &Drain, owner: impl Fn(u32) -> Option<PeerId>) -> Vec<(Option<PeerId>, Drain)> {
    let mut parts: Vec<(Option<PeerId>, Drain)> = Vec::new();
    let mut part = |o: Option<PeerId>| -> usize {
        match parts.iter().position(|(k, _)| *k == o) {
            Some(i) => i,
            None => {
                parts.push((o, Drain::default()));
                parts.len() - 1
            }
        }
    };
    let withdrawn_parts: Vec<usize> = drain
        .withdrawn
        .iter()
        .map(|(_, tag)| part(owner(*tag)))
        .collect();
    let mut announced: Vec<(usize, &AttrSet, Nlris)> = Vec::new();
    for (attrs, list) in drain.announced_fresh() {
        let mut by: Vec<(usize, Nlris)> = Vec::new();
        for entry in list {
            let i = part(owner(entry.0.1));
            match by.iter_mut().find(|(k, _)| *k == i) {
                Some((_, v)) => v.push(entry),
                None => by.push((i, vec![entry])),
            }
        }
        announced.extend(by.into_iter().map(|(i, v)| (i, attrs, v)));
    }
    for (w, i) in drain.withdrawn.iter().zip(withdrawn_parts) {
        if let Some((_, d)) = parts.get_mut(i) {
            d.withdrawn.push(*w);
        }
    }
    for (i, attrs, list) in announced {
        if let Some((_, d)) = parts.get_mut(i) {
            let start = d.nlri.len();
            for (n, fresh) in list {
                d.nlri.push(n);
                d.fresh.push(fresh);
            }
            d.groups.push((attrs.clone(), start..d.nlri.len()));
        }
    }
    parts
}
