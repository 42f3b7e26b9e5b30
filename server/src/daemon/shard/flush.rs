//! Handing members their UPDATEs: members of one update group that stand
//! at the same place in its Adj-RIB-Out (a cohort) drain it once and share
//! one encoding (`Bytes` are reference counted: one copy of each PDU for
//! the whole cohort). A member whose own paths are in the batch, or that
//! owes withdrawals from a group it left, gets an encoding of its own.
//! Members that reach a position later get the batch made there
//! ([`Blocks`]), so every member of a group gets the same UPDATEs.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

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
        self.follow_removals();
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
        if cohorts.is_empty() {
            return;
        }
        // Once per round: it visits every group.
        let budget = self.block_budget();
        let mut flushed = Vec::new();
        for ((group, _), mut peers) in cohorts {
            while !peers.is_empty() && self.flush_cohort(group, &peers, budget) {
                peers.retain(|p| {
                    self.members
                        .get(p)
                        .is_some_and(|m| m.credits.load(Ordering::Acquire) > 0)
                });
            }
            flushed.push(group);
        }
        // Members moved on: stretches behind the slowest are no use now.
        // Once per group (many cohorts may share one), and only where
        // something is kept: finding the slowest visits every member.
        flushed.sort_unstable();
        flushed.dedup();
        for group in flushed {
            if let Some(g) = self.groups.get_mut(group)
                && !g.blocks.is_empty()
            {
                g.blocks.forget_below(g.out.slowest_seq());
            }
        }
    }

    /// Drains one batch for `peers` (one group, one position) and sends
    /// it; false when there was nothing left. When a member of the group
    /// drained from this position before, the cohort gets the UPDATEs made
    /// then instead ([`Blocks`]); a batch drained anew is kept within
    /// `budget` bytes of blocks.
    fn flush_cohort(&mut self, group: usize, peers: &[PeerId], budget: usize) -> bool {
        let ids: Vec<MemberId> = peers
            .iter()
            .filter_map(|p| self.members.get(p).map(|m| m.id))
            .collect();
        // Members of a group negotiated the same encoding (the group key).
        let Some(ctx) = peers
            .first()
            .and_then(|p| self.members.get(p))
            .map(|m| m.encode.clone())
        else {
            return false;
        };
        let Some(g) = self.groups.get_mut(group) else {
            return false;
        };
        let from = ids.first().and_then(|id| g.out.position(*id));
        let made = from.and_then(|at| Some((at, g.blocks.find(at)?)));
        let parts = match made {
            Some((at, block)) if g.out.advance(&ids, at, block.to) > 0 => block.parts,
            _ => match self.drain_and_encode(group, (peers, &ids), from, (&ctx, budget)) {
                Some(parts) => parts,
                None => return false,
            },
        };
        for &peer in peers {
            let mut batch = (Vec::with_capacity(parts.len() + 1), 0);
            let owed = self
                .members
                .get_mut(&peer)
                .map(|m| std::mem::take(&mut m.withdraw_first))
                .unwrap_or_default();
            if !owed.is_empty() {
                let (b, n) = self.encode(group, &ctx, (&owed, &Drain::default()), Some(peer));
                batch.0.push(b);
                batch.1 += n;
            }
            for part in parts.iter() {
                let (b, n) = if part.owner == Some(peer) {
                    part.own.clone()
                } else {
                    part.shared
                        .get_or_init(|| self.encode(group, &ctx, (&[], &part.drain), None))
                        .clone()
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

    /// Drains one batch for the cohort `peers` (member ids `ids`, standing
    /// at `from`) and encodes it with `ctx` in parts by the group member
    /// whose paths they are: a part is encoded once for every member but
    /// its owner, and once for its owner (its own paths replaced or left
    /// out). Keeps the parts for members that reach `from` later, within
    /// `budget` bytes of blocks ([`Shard::block_budget`]).
    /// `None` when there is nothing to send; members that finished their
    /// initial advertisement are told so.
    fn drain_and_encode(
        &mut self,
        group: usize,
        (peers, ids): (&[PeerId], &[MemberId]),
        from: Option<MemberPosition>,
        (ctx, budget): (&EncodeCtx, usize),
    ) -> Option<Arc<[Part]>> {
        let g = self.groups.get_mut(group)?;
        // Behind a kept block, stop where it starts and take it from there.
        let upto = from.and_then(|at| g.blocks.next_after(at));
        let drain =
            g.out
                .drain_shared_upto(&self.loc, ids, BATCH_PREFIXES, upto.unwrap_or(u64::MAX));
        if drain.is_empty() {
            if !peers.iter().any(|p| self.owes(p)) {
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
                return None;
            }
            return Some(Arc::from([]));
        }
        let to = ids.first().and_then(|id| g.out.position(*id));
        let members = &self.members;
        let split = split(drain, |tag| {
            tag_peer(tag).filter(|p| members.get(p).is_some_and(|m| m.group == group))
        });
        let parts: Arc<[Part]> = split
            .into_iter()
            .map(|(owner, drain)| {
                // The owner's version is made now, whether it is here or
                // comes later: a kept part then needs its prefixes only
                // for a version not made yet.
                let own = owner.map_or_else(Default::default, |o| {
                    self.encode(group, ctx, (&[], &drain), Some(o))
                });
                // A part whose owner is the whole cohort is encoded for
                // the others only when one of them reaches it: members
                // apart in the log would otherwise each pay for a version
                // nobody takes.
                let shared = OnceLock::new();
                if peers.iter().any(|p| Some(*p) != owner) {
                    let _ = shared.set(self.encode(group, ctx, (&[], &drain), None));
                }
                let drain = if shared.get().is_some() {
                    Drain::default()
                } else {
                    drain
                };
                Part {
                    owner,
                    own,
                    drain,
                    shared,
                }
            })
            .collect();
        let g = self.groups.get_mut(group)?;
        if let (Some(from), Some(to)) = (from, to)
            && g.members > peers.len()
        {
            g.blocks.keep(from, to, Arc::clone(&parts), budget);
        }
        Some(parts)
    }

    /// Bytes of [`Blocks`] each group of this shard may keep: its share of
    /// [`Blocks::BUDGET`] among the shards and the groups of several
    /// members (those that keep blocks).
    fn block_budget(&self) -> usize {
        let sharing = self.groups.iter().filter(|g| g.members > 1).count();
        Blocks::BUDGET / self.links.len().max(1) / sharing.max(1)
    }

    /// True when `peer` owes withdrawals from a group it left.
    fn owes(&self, peer: &PeerId) -> bool {
        self.members
            .get(peer)
            .is_some_and(|m| !m.withdraw_first.is_empty())
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

    /// Encodes the withdrawals `owed` (from a group `member` left), then
    /// `drain` for `member` (its own paths replaced or left out), or with
    /// `None` as it is, for every member that owns nothing in it. A hinted
    /// prefix of the member's (no other path; see [`Group::update`]) is
    /// left out without a Loc-RIB lookup. A kept batch's hint may be out
    /// of date, but only where a path arrived since, and that change was
    /// logged again after the batch: the member gets its answer from
    /// there. Returns the PDUs back to back in one buffer and the number
    /// of prefixes they carry.
    ///
    /// [`Group::update`]: crate::daemon::group::Group::update
    fn encode(
        &mut self,
        group: usize,
        ctx: &EncodeCtx,
        (owed, drain): (&[(Prefix, u32)], &Drain),
        member: Option<PeerId>,
    ) -> (Bytes, u64) {
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
        let mut b = UpdateBuilder::with_capacity(ctx.clone(), drain.groups.len(), drain.nlri.len());
        let mut prefixes = 0u64;
        for (prefix, tag) in owed.iter().chain(&drain.withdrawn) {
            // A member's own paths under ADD-PATH were never sent.
            if g.all_paths(prefix) && own(*tag) {
                continue;
            }
            b.withdraw(family(prefix), [nlri_of(*prefix, *tag)]);
            prefixes += 1;
        }
        // The families a set's prefixes go out in, in order of first
        // appearance (nearly always one), reused from set to set. Each
        // family's NLRI go straight from the drain into the builder: a
        // list of them in between cost a copy of every NLRI.
        let mut fams: Vec<AfiSafi> = Vec::new();
        for ((attrs, list), (_, flagged)) in drain.announced().zip(drain.announced_fresh()) {
            fams.clear();
            for (prefix, tag) in list {
                let fam = family(prefix);
                // Never hand a peer its own path (RFC 4456 §6, RFC 7947).
                if !own(*tag) && !fams.contains(&fam) {
                    fams.push(fam);
                }
            }
            for &fam in &fams {
                let add_path = ctx.add_path(fam);
                let out = || {
                    list.iter()
                        .filter(move |(p, t)| family(p) == fam && !own(*t))
                        .map(move |&(prefix, tag)| Nlri {
                            path_id: add_path.then_some(tag),
                            prefix,
                        })
                };
                // Only what was queued counts as sent.
                match b.announce(attrs.attrs(), fam, out()) {
                    Ok(()) => prefixes += out().count() as u64,
                    Err(e) => tracing::warn!(?member, "cannot encode a route: {e}"),
                }
            }
            if member.is_none() {
                continue;
            }
            for (&(prefix, tag), fresh, alone) in flagged {
                if !own(tag) || g.all_paths(&prefix) {
                    continue;
                }
                // RFC 7947 §2.3.2 path hiding mitigation: a route server
                // client gets the best path from someone else instead. A
                // reflector advertises only its best path, so other roles
                // get a withdrawal, unless the member never had a path
                // of this group for the prefix (fresh).
                let other = if alone {
                    None
                } else {
                    g.advertise(&t, &prefix, member)
                };
                match other {
                    Some(a) => {
                        let n = nlri_of(prefix, a.path_id);
                        if let Err(e) = b.announce(a.attrs.attrs(), family(&prefix), [n]) {
                            tracing::warn!(?member, "cannot encode a route: {e}");
                            continue;
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

/// A part of a drain: the announcements and withdrawals of one owner
/// (the group member whose paths they are; `None`: no member's), encoded
/// for every member but the owner, and for the owner.
#[derive(Debug)]
pub(crate) struct Part {
    owner: Option<PeerId>,
    /// The owner's version (UPDATEs back to back, and the prefixes they
    /// carry); empty without an owner.
    own: (Bytes, u64),
    /// The part's prefixes while [`Part::shared`] is not made; then empty.
    drain: Drain,
    /// The UPDATEs (back to back) and the prefixes they carry; made when
    /// the part is drained, or, for a part only its owner took then, when
    /// another member first takes it.
    shared: OnceLock<(Bytes, u64)>,
}

/// Stretches of an update group's Adj-RIB-Out log already drained and
/// encoded, kept for members that reach them later, so that every member
/// gets the same UPDATEs, made once, however far apart in time members
/// drain. Without it a group's members, each draining when its socket
/// takes more, stand at different positions and each get a drain and an
/// encoding of their own.
///
/// A block made from position `from` to `to` serves a member at `from`
/// however long after (see [`AdjRibOut::advance`]: what the stretch held
/// then may have been superseded, and the newer state follows from `to`).
/// A member behind the kept blocks drains only up to the next one
/// ([`Blocks::next_after`]), so it joins their chain instead of cutting
/// batches of its own beside it. Blocks are kept up to a budget of bytes
/// (a share of [`Blocks::BUDGET`]), those furthest ahead in the log
/// dropped first (the members behind reach the nearest ones first), and
/// none that no member can stand at again.
///
/// [`AdjRibOut::advance`]: rampart_core::rib::AdjRibOut::advance
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    /// By the log position each starts at.
    kept: BTreeMap<u64, Block>,
    /// What `kept` holds, as [`Blocks::heap_bytes`] counts it when kept
    /// (a part's version for the others made later, from the prefixes
    /// counted here, is not counted).
    bytes: usize,
}

#[derive(Debug, Clone)]
struct Block {
    from: MemberPosition,
    to: MemberPosition,
    parts: Arc<[Part]>,
    bytes: usize,
}

impl Blocks {
    /// Bytes of blocks the daemon keeps, shared out evenly among shards
    /// and, in a shard, among the groups of several members. While two
    /// speakers send 500,000 prefixes each, the three members of their
    /// group drain up to 160,000 changes apart in a shard. With 2 shards,
    /// budgets of 8, 16 and 32 MiB cost rampartd 0.78, 0.79 and 0.86 s of
    /// CPU in bgperf 2 x 500k (5 runs each) and 1.04, 0.94 and 0.90 s in
    /// 10 x 100k (4 runs), at peak RSS 175, 181 and 190 MiB, and 196, 207
    /// and 221 MiB.
    const BUDGET: usize = 16 << 20;

    /// The block made from `at`, if one is kept.
    fn find(&self, at: MemberPosition) -> Option<Block> {
        let b = self.kept.get(&at.log_seq()?)?;
        (b.from == at).then(|| b.clone())
    }

    /// Where the first kept block past `at` starts (a log sequence
    /// number), if any.
    fn next_after(&self, at: MemberPosition) -> Option<u64> {
        let seq = at.log_seq()?;
        let (&next, _) = self.kept.range(seq + 1..).next()?;
        Some(next)
    }

    /// Keeps the block `from`..`to`, then drops the blocks furthest ahead
    /// (possibly this one) until at most `budget` bytes are kept.
    fn keep(
        &mut self,
        from: MemberPosition,
        to: MemberPosition,
        parts: Arc<[Part]>,
        budget: usize,
    ) {
        let (Some(seq), Some(_)) = (from.log_seq(), to.log_seq()) else {
            // A walk of the table: its position is the joiner's own.
            return;
        };
        let bytes = size_of::<Block>() + parts.iter().map(Part::heap_bytes).sum::<usize>();
        let block = Block {
            from,
            to,
            parts,
            bytes,
        };
        self.bytes += bytes;
        if let Some(old) = self.kept.insert(seq, block) {
            self.bytes -= old.bytes;
        }
        while self.bytes > budget
            && let Some((_, b)) = self.kept.pop_last()
        {
            self.bytes -= b.bytes;
        }
    }

    fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Drops the blocks that start below `floor`, the slowest member's log
    /// position: no member can stand there again.
    fn forget_below(&mut self, floor: u64) {
        let keep = self.kept.split_off(&floor);
        for b in std::mem::replace(&mut self.kept, keep).into_values() {
            self.bytes -= b.bytes;
        }
    }

    /// Bytes the kept blocks hold (encoded UPDATEs, and the prefixes of
    /// parts not yet encoded for every member).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.kept
            .values()
            .flat_map(|b| b.parts.iter())
            .map(Part::heap_bytes)
            .sum()
    }
}

impl Part {
    /// Bytes the part holds: its encoded UPDATEs and, until the others'
    /// version is made, its prefixes.
    fn heap_bytes(&self) -> usize {
        let d = &self.drain;
        self.own.0.len()
            + self.shared.get().map_or(0, |s| s.0.len())
            + (d.nlri.capacity() + d.withdrawn.capacity()) * size_of::<(Prefix, u32)>()
            + d.fresh.capacity()
            + d.hints.capacity()
            + d.groups.capacity() * size_of::<(AttrSet, std::ops::Range<usize>)>()
    }
}

/// Announced prefixes with their tags, fresh flags and hints.
/// `drain` in parts by `owner` of each entry's tag (`None`: no member's),
/// each part laid out like a drain (attribute sets in first-seen order).
/// A drain of one owner throughout (every drain of a group whose members
/// announce nothing) comes back whole, without a copy.
fn split(drain: Drain, owner: impl Fn(u32) -> Option<PeerId>) -> Vec<(Option<PeerId>, Drain)> {
    // Neighbouring entries mostly share a tag (one UPDATE's prefixes):
    // one owner lookup per run of a tag.
    let mut last: Option<(u32, Option<PeerId>)> = None;
    let mut owner_of = |&(_, tag): &(Prefix, u32)| match last {
        Some((t, o)) if t == tag => o,
        _ => {
            let o = owner(tag);
            last = Some((tag, o));
            o
        }
    };
    let withdrawn: Vec<Option<PeerId>> = drain.withdrawn.iter().map(&mut owner_of).collect();
    let announced: Vec<Option<PeerId>> = drain.nlri.iter().map(&mut owner_of).collect();
    let first = withdrawn.first().or(announced.first()).copied().flatten();
    if withdrawn.iter().chain(&announced).all(|o| *o == first) {
        return vec![(first, drain)];
    }
    // Each part, and the index in `drain.groups` of its last group.
    let mut parts: Vec<(Option<PeerId>, Drain, usize)> = Vec::new();
    let mut part = |o: Option<PeerId>| -> usize {
        match parts.iter().position(|(k, _, _)| *k == o) {
            Some(i) => i,
            None => {
                parts.push((o, Drain::default(), usize::MAX));
                parts.len() - 1
            }
        }
    };
    let at: Vec<usize> = withdrawn.iter().map(|o| part(*o)).collect();
    let flag = |v: &[bool], i: usize| v.get(i).copied().unwrap_or(false);
    // The sets move into the parts (cloned only for a set split between
    // owners): a clone is an atomic add on a line that is often cold.
    let (mut sets, ranges): (Vec<Option<AttrSet>>, Vec<_>) =
        drain.groups.into_iter().map(|(a, r)| (Some(a), r)).unzip();
    // At least one run per set.
    let mut runs: Vec<(usize, usize, std::ops::Range<usize>)> = Vec::with_capacity(ranges.len());
    for (g, range) in ranges.into_iter().enumerate() {
        // Runs of one owner move together.
        let mut start = range.start;
        while start < range.end {
            let o = announced.get(start).copied().flatten();
            let len = announced.get(start..range.end).map_or(1, |rest| {
                rest.iter().take_while(|x| **x == o).count().max(1)
            });
            runs.push((part(o), g, start..start + len));
            start += len;
        }
    }
    for (w, i) in drain.withdrawn.iter().zip(at) {
        if let Some((_, d, _)) = parts.get_mut(i) {
            d.withdrawn.push(*w);
        }
    }
    let mut runs = runs.into_iter().peekable();
    while let Some((i, g, run)) = runs.next() {
        // Runs of one set are consecutive: the last one takes the set.
        let last_of_set = runs.peek().is_none_or(|next| next.1 != g);
        let (Some((_, d, last)), Some(set), Some(nlri)) = (
            parts.get_mut(i),
            sets.get_mut(g),
            drain.nlri.get(run.clone()),
        ) else {
            continue;
        };
        let begin = d.nlri.len();
        d.nlri.extend_from_slice(nlri);
        d.fresh.extend(run.clone().map(|k| flag(&drain.fresh, k)));
        d.hints.extend(run.map(|k| flag(&drain.hints, k)));
        match d.groups.last_mut() {
            // The same set's earlier run in this part: one group.
            Some((_, r)) if *last == g => r.end = d.nlri.len(),
            _ => {
                let attrs = if last_of_set { set.take() } else { set.clone() };
                if let Some(attrs) = attrs {
                    d.groups.push((attrs, begin..d.nlri.len()));
                }
            }
        }
        *last = g;
    }
    parts.into_iter().map(|(o, d, _)| (o, d)).collect()
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use async_channel::Receiver;
    use rampart_core::attr::{AsPath, Community, NextHop, Origin, PathAttributes};
    use rampart_core::nlri::Ipv4Prefix;
    use rampart_core::rib::{Interner, PeerInfo, SessionKind};

    use super::super::{CREDITS, Change, GroupKey, OutMsg, PeerPolicy, PeerUp, ShardMsg};
    use super::*;
    use crate::config::{Config, Role};
    use crate::daemon::peer::{PeerSpec, PeerStatus};
    use crate::daemon::policy::Import;

    const CONFIG: &str = r#"
[global]
router-id = "192.0.2.1"
local-as = 64500

[[peer]]
address = "127.0.1.1"
remote-as = 64501
role = "rs-client"

[[peer]]
address = "127.0.1.2"
remote-as = 64502
role = "rs-client"

[[peer]]
address = "127.0.1.3"
remote-as = 64503
role = "rs-client"
"#;

    /// A lone shard (it owns every prefix) with the three peers of
    /// `CONFIG` up in one update group; their writers' receivers.
    fn shard() -> (Shard, Vec<Receiver<OutMsg>>) {
        shard_grouped([0, 0, 0])
    }

    /// [`shard`], peer `i` in the update group of export policy number
    /// `groups[i]`.
    fn shard_grouped(groups: [u64; 3]) -> (Shard, Vec<Receiver<OutMsg>>) {
        let config = Config::parse(std::path::Path::new("test.toml"), CONFIG).unwrap();
        let router_id = Ipv4Addr::new(192, 0, 2, 1);
        let (link, _) = async_channel::unbounded();
        let mut s = Shard::empty(0, (router_id, router_id, 64_500), Arc::from([]), vec![link]);
        let mut outs = Vec::new();
        for (i, p) in config.peers.iter().enumerate() {
            let id = PeerId::new(u32::try_from(i).unwrap()).unwrap();
            let spec = PeerSpec::for_static(id, p);
            let (out, rx) = async_channel::unbounded();
            let (cmds, _) = async_channel::unbounded();
            let IpAddr::V4(addr) = p.address else {
                unreachable!()
            };
            let families = vec![AfiSafi::IPV4_UNICAST];
            s.handle(ShardMsg::PeerUp(Box::new(PeerUp {
                peer: id,
                info: PeerInfo {
                    bgp_id: addr,
                    addr: p.address,
                    asn: 64_501 + u32::try_from(i).unwrap(),
                    kind: SessionKind::Ebgp,
                    rr_client: false,
                    igp_cost: 0,
                },
                key: GroupKey {
                    role: Role::RsClient,
                    export: Vec::new(),
                    four_octet_as: true,
                    extended_message: false,
                    families,
                    add_path: Vec::new(),
                    interpret_communities: true,
                    policy: groups[i],
                    dest: None,
                },
                encode: EncodeCtx::default(),
                out,
                status: Arc::new(PeerStatus::new(&spec)),
                max_prefix: None,
                cmds,
                policy: PeerPolicy {
                    import: Import::AcceptAll,
                    export: None,
                    ebgp: None,
                },
            })));
            outs.push(rx);
        }
        (s, outs)
    }

    fn announce_path(
        s: &mut Shard,
        interner: &mut Interner,
        peer: u32,
        prefixes: std::ops::Range<u32>,
        path: &[u32],
    ) {
        announce_with(s, interner, peer, prefixes, path, &[]);
    }

    /// `peer` announces 10.0.`i`.0/24 for each `i` in `prefixes` with AS
    /// path `path` and `communities`.
    fn announce_with(
        s: &mut Shard,
        interner: &mut Interner,
        peer: u32,
        prefixes: std::ops::Range<u32>,
        path: &[u32],
        communities: &[Community],
    ) {
        let attrs = interner.intern(PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(path.iter().copied()),
            communities: communities.iter().copied().collect(),
            next_hop: Some(NextHop::V4(Ipv4Addr::new(127, 0, 1, 1))),
            ..PathAttributes::default()
        });
        let changes = prefixes
            .map(|i| Change {
                prefix: Prefix::V4(
                    Ipv4Prefix::new(Ipv4Addr::from_bits(0x0a00_0000 | (i << 8)), 24).unwrap(),
                ),
                path_id: 0,
                attrs: Some(attrs.clone()),
            })
            .collect();
        s.handle(ShardMsg::Routes {
            peer: PeerId::new(peer).unwrap(),
            changes,
        });
    }

    fn credits(s: &Shard, member: u32, n: u32) {
        if let Some(m) = s.members.get(&PeerId::new(member).unwrap()) {
            m.credits.store(n, Ordering::Release);
        }
    }

    /// Gives `member` its credits back and flushes until it is sent
    /// nothing more; returns every buffer it was sent.
    fn take_all(s: &mut Shard, member: u32, rx: &Receiver<OutMsg>) -> Vec<Bytes> {
        let mut all = Vec::new();
        for _ in 0..100 {
            credits(s, member, CREDITS);
            s.flush();
            let mut batches = 0;
            while let Ok(msg) = rx.try_recv() {
                if let OutMsg::Updates { pdus, .. } = msg {
                    all.extend(pdus);
                    batches += 1;
                }
            }
            if batches == 0 {
                return all;
            }
        }
        panic!("member {member} never caught up");
    }

    /// True when a buffer of whole UPDATE messages announces any route
    /// (some message has path attributes).
    fn announces(mut buf: &[u8]) -> bool {
        while buf.len() >= 23 {
            let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
            let withdrawn = usize::from(u16::from_be_bytes([buf[19], buf[20]]));
            let at = 21 + withdrawn;
            if u16::from_be_bytes([buf[at], buf[at + 1]]) > 0 {
                return true;
            }
            buf = &buf[len..];
        }
        false
    }

    /// [`shard`] after peer 0 announced 10,000 prefixes (three batches of
    /// the log), no member holding credits; the interner of its set.
    fn announced_stretch() -> (Shard, Vec<Receiver<OutMsg>>, Interner) {
        let (mut s, outs) = shard();
        let mut interner = Interner::new();
        announce_path(&mut s, &mut interner, 0, 0..10_000, &[64_501]);
        for m in [0, 1, 2] {
            credits(&s, m, 0);
        }
        (s, outs, interner)
    }

    #[test]
    fn a_member_that_drains_later_gets_the_same_updates_made_once() {
        let (mut s, outs, mut interner) = announced_stretch();
        // Peer 2 drains everything. Each kept part has both versions made
        // (the others', and the announcer's own), and no prefixes left.
        let first = take_all(&mut s, 2, &outs[2]);
        let parts = || {
            s.groups[0]
                .blocks
                .kept
                .values()
                .flat_map(|b| b.parts.iter())
        };
        assert_eq!(parts().count(), 3);
        assert!(parts().all(|p| p.shared.get().is_some() && p.drain.nlri.capacity() == 0));
        // A later change supersedes a prefix of the first batch.
        announce_path(&mut s, &mut interner, 0, 5..6, &[64_999]);
        let change = take_all(&mut s, 2, &outs[2]);
        assert!(!first.is_empty() && !change.is_empty());
        // Peer 1 comes later: the very same buffers (not copies, not a
        // drain of its own), the change last.
        let late = take_all(&mut s, 1, &outs[1]);
        let made: Vec<*const u8> = first.iter().chain(&change).map(|b| b.as_ptr()).collect();
        let got: Vec<*const u8> = late.iter().map(|b| b.as_ptr()).collect();
        assert_eq!(got, made);
        assert!(late.iter().any(|b| announces(b)));
        // The announcer gets none of its own routes back (its own version
        // of each stretch; at most a withdrawal of the changed prefix, the
        // safe answer for a prefix it may have been sent), and once it has
        // drained them too, no stretch is kept any more.
        let own = take_all(&mut s, 0, &outs[0]);
        assert!(!own.iter().any(|b| announces(b)), "{own:?}");
        assert_eq!(s.groups[0].blocks.kept.len(), 0);
    }

    #[test]
    fn an_announcers_stretch_is_encoded_for_the_others_when_one_takes_it() {
        let (mut s, outs, _) = announced_stretch();
        // The announcer drains alone: its own routes are not sent back, and
        // the others' version of the stretch is not made yet.
        let own = take_all(&mut s, 0, &outs[0]);
        assert!(!own.iter().any(|b| announces(b)), "{own:?}");
        // Per kept part: whether the others' version is made.
        let made = |s: &Shard| -> Vec<bool> {
            let blocks = s.groups[0].blocks.kept.values();
            blocks
                .flat_map(|b| b.parts.iter().map(|p| p.shared.get().is_some()))
                .collect()
        };
        assert!(!made(&s).is_empty());
        assert!(made(&s).iter().all(|m| !m));
        // The next member to reach it gets every route, and the one after
        // it the very same buffers.
        let second = take_all(&mut s, 1, &outs[1]);
        let got: Vec<Prefix> = second
            .iter()
            .flat_map(|b| announced_by_family(b).0)
            .collect();
        assert_eq!(got.len(), 10_000);
        assert!(made(&s).iter().all(|m| *m));
        let third = take_all(&mut s, 2, &outs[2]);
        let ptrs = |v: &[Bytes]| v.iter().map(|b| b.as_ptr()).collect::<Vec<_>>();
        assert_eq!(ptrs(&third), ptrs(&second));
    }

    #[test]
    fn a_member_behind_a_kept_block_stops_where_it_starts_and_takes_it() {
        let (mut s, outs, mut interner) = announced_stretch();
        // Peer 2 drains the 10,000 changes in three blocks. The first one
        // goes (as over a budget), and 10 of its prefixes change again.
        let first = take_all(&mut s, 2, &outs[2]);
        assert_eq!(first.len(), 3);
        let blocks = &mut s.groups[0].blocks;
        assert_eq!(blocks.kept.len(), 3);
        let (_, gone) = blocks.kept.pop_first().unwrap();
        blocks.bytes -= gone.bytes;
        announce_path(&mut s, &mut interner, 0, 0..10, &[64_999]);
        // Peer 1 drains the 4086 changes left before the second block (a
        // full batch would have run past it), then takes the second and
        // third blocks: the very buffers peer 2 got.
        let late = take_all(&mut s, 1, &outs[1]);
        let ptrs = |v: &[Bytes]| v.iter().map(|b| b.as_ptr()).collect::<Vec<_>>();
        assert_eq!(late.len(), 4, "{late:?}");
        assert_eq!(ptrs(&late[1..3]), ptrs(&first[1..]));
        let count = |b: &Bytes| announced_by_family(b).0.len();
        assert_eq!(count(&late[0]), 4086);
        assert_eq!(count(&late[3]), 10);
    }

    #[test]
    fn over_its_budget_a_group_drops_the_blocks_furthest_ahead() {
        let (mut s, outs, _) = announced_stretch();
        take_all(&mut s, 2, &outs[2]);
        let kept = &s.groups[0].blocks.kept;
        let starts: Vec<u64> = kept.keys().copied().collect();
        let blocks: Vec<Block> = kept.values().cloned().collect();
        assert_eq!(blocks.len(), 3);
        // Kept again in another order, with room for the first two.
        let budget = blocks[0].bytes + blocks[1].bytes;
        let mut b = Blocks::default();
        for i in [1, 2, 0] {
            let k = &blocks[i];
            b.keep(k.from, k.to, Arc::clone(&k.parts), budget);
        }
        assert_eq!(b.kept.keys().copied().collect::<Vec<_>>(), starts[..2]);
        assert_eq!(b.bytes, budget);
        assert_eq!(b.next_after(blocks[0].from), Some(starts[1]));
        b.forget_below(starts[1]);
        assert_eq!(b.kept.keys().copied().collect::<Vec<_>>(), starts[1..2]);
        assert_eq!(b.bytes, blocks[1].bytes);
    }

    #[test]
    fn an_announcer_gets_the_best_other_path_of_its_prefix() {
        // The announcer drains first (a fresh drain), or last (it takes
        // the batches the others drained, with the hints of then).
        for order in [[0, 1, 2], [2, 1, 0]] {
            let (mut s, outs) = shard();
            let mut interner = Interner::new();
            for m in [0, 1, 2] {
                credits(&s, m, 0);
            }
            let drain_all = |s: &mut Shard| -> Vec<Vec<Bytes>> {
                let mut got = vec![Vec::new(); 3];
                for m in order {
                    got[m] = take_all(s, m as u32, &outs[m]);
                }
                got
            };
            // Peer 0's prefix, its only path: nothing for peer 0.
            announce_path(&mut s, &mut interner, 0, 0..1, &[64_501]);
            let got = drain_all(&mut s);
            assert!(!got[0].iter().any(|b| announces(b)));
            assert!(got[1].iter().any(|b| announces(b)));
            // A worse path behind it (the best unchanged): peer 0 gets it.
            announce_path(&mut s, &mut interner, 1, 0..1, &[64_502, 64_502]);
            let got = drain_all(&mut s);
            assert!(
                got[0].iter().any(|b| announces(b)),
                "{order:?}: {:?}",
                got[0]
            );
            // Peer 1's prefix, then a better path of peer 0's (the best
            // changes to it): peer 0 gets peer 1's path still.
            announce_path(&mut s, &mut interner, 1, 1..2, &[64_502, 64_502]);
            drain_all(&mut s);
            announce_path(&mut s, &mut interner, 0, 1..2, &[64_501]);
            let got = drain_all(&mut s);
            assert!(
                got[0].iter().any(|b| announces(b)),
                "{order:?}: {:?}",
                got[0]
            );
            assert!(got[2].iter().any(|b| announces(b)));
        }
    }

    #[test]
    fn an_announcer_sent_its_own_path_in_place_of_a_rejected_best_follows_the_others() {
        // Peers 0 and 1 in one group, peer 2 in another.
        let (mut s, outs) = shard_grouped([0, 0, 1]);
        let mut interner = Interner::new();
        for m in [0, 1, 2] {
            credits(&s, m, 0);
        }
        let drain_all = |s: &mut Shard| -> Vec<Vec<Bytes>> {
            (0..3).map(|m| take_all(s, m, &outs[m as usize])).collect()
        };
        // The best is peer 2's, which no one may be sent (NO_ADVERTISE):
        // the group of peers 0 and 1 sends peer 0's path instead (RFC 7947
        // §2.3.2), and peer 0 has no other.
        announce_path(&mut s, &mut interner, 0, 0..1, &[64_501, 64_501]);
        let no_advertise = [Community::NO_ADVERTISE];
        announce_with(&mut s, &mut interner, 2, 0..1, &[64_503], &no_advertise);
        let got = drain_all(&mut s);
        assert!(!got[0].iter().any(|b| announces(b)));
        assert!(got[1].iter().any(|b| announces(b)));
        // Peer 1's worse path arrives: the best and what the group sends
        // stay, but peer 0 now has another path to get.
        announce_path(&mut s, &mut interner, 1, 0..1, &[64_502, 64_502, 64_502]);
        let got = drain_all(&mut s);
        assert!(got[0].iter().any(|b| announces(b)), "{:?}", got[0]);
    }

    /// `split` lays each owner's entries out like a drain of their own:
    /// withdrawals in order, each attribute set once in first-seen order
    /// with every one of the owner's prefixes of that set (runs of one
    /// owner split by another's merge), and the flags beside them.
    #[test]
    fn a_drain_splits_by_owner_keeping_sets_and_flags_together() {
        let mut interner = Interner::new();
        let mut set = |asn: u32| {
            interner.intern(PathAttributes {
                origin: Some(Origin::Igp),
                as_path: AsPath::from_sequence([asn]),
                ..PathAttributes::default()
            })
        };
        let (s1, s2) = (set(64_501), set(64_502));
        let p = |i: u32| Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(i << 8), 24).unwrap());
        let (a, b) = (PeerId::new(1).unwrap(), PeerId::new(2).unwrap());
        // Tags 1 and 2 are a's and b's; 9 is no member's.
        let owner = |tag: u32| match tag {
            1 => Some(a),
            2 => Some(b),
            _ => None,
        };
        let drain = Drain {
            withdrawn: vec![(p(10), 2), (p(11), 1)],
            groups: vec![(s1.clone(), 0..4), (s2.clone(), 4..6)],
            nlri: vec![
                (p(1), 1),
                (p(2), 2),
                (p(3), 1),
                (p(4), 1),
                (p(5), 2),
                (p(6), 9),
            ],
            fresh: vec![true, false, true, false, true, false],
            hints: vec![false, true, false, true, false, true],
        };
        let got = split(drain, owner);
        let want = vec![
            (
                Some(b),
                Drain {
                    withdrawn: vec![(p(10), 2)],
                    groups: vec![(s1.clone(), 0..1), (s2.clone(), 1..2)],
                    nlri: vec![(p(2), 2), (p(5), 2)],
                    fresh: vec![false, true],
                    hints: vec![true, false],
                },
            ),
            (
                Some(a),
                Drain {
                    withdrawn: vec![(p(11), 1)],
                    groups: vec![(s1.clone(), 0..3)],
                    nlri: vec![(p(1), 1), (p(3), 1), (p(4), 1)],
                    fresh: vec![true, true, false],
                    hints: vec![false, false, true],
                },
            ),
            (
                None,
                Drain {
                    withdrawn: vec![],
                    groups: vec![(s2.clone(), 0..1)],
                    nlri: vec![(p(6), 9)],
                    fresh: vec![false],
                    hints: vec![true],
                },
            ),
        ];
        assert_eq!(got, want);
        // One owner throughout: the drain comes back as it was.
        let one = Drain {
            withdrawn: vec![(p(10), 9)],
            groups: vec![(s1.clone(), 0..1), (s2, 1..2)],
            nlri: vec![(p(1), 9), (p(2), 9)],
            fresh: vec![true, false],
            hints: vec![false, true],
        };
        assert_eq!(split(one.clone(), owner), vec![(None, one)]);
        // A member's entries and no member's: two owners.
        let mixed = Drain {
            groups: vec![(s1, 0..2)],
            nlri: vec![(p(1), 1), (p(2), 9)],
            ..Drain::default()
        };
        let owners: Vec<_> = split(mixed, owner).into_iter().map(|(o, _)| o).collect();
        assert_eq!(owners, [Some(a), None]);
    }

    /// The prefixes of each family that the UPDATEs in `buf` announce.
    fn announced_by_family(mut buf: &[u8]) -> (Vec<Prefix>, Vec<Prefix>) {
        use rampart_core::DecodeCtx;
        use rampart_core::msg::update::UpdateView;
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        while buf.len() >= 19 {
            let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
            let view = UpdateView::parse(&buf[19..len], &DecodeCtx::modern()).unwrap();
            let mp = view.mp_reach().unwrap();
            for p in view
                .nlri()
                .chain(mp.iter().flat_map(|m| m.nlri()))
                .map(|n| n.prefix)
            {
                match p {
                    Prefix::V4(_) => v4.push(p),
                    Prefix::V6(_) => v6.push(p),
                }
            }
            buf = &buf[len..];
        }
        (v4, v6)
    }

    /// One attribute set's prefixes of two families are all encoded, each
    /// family in its own UPDATEs, and a family the next hop cannot serve
    /// is left out without losing the other, whichever comes first.
    #[test]
    fn a_set_with_prefixes_of_two_families_announces_each() {
        let (mut s, _outs) = shard();
        let mut interner = Interner::new();
        let v4: Vec<Prefix> = ["10.0.1.0/24", "10.0.2.0/24"]
            .map(|p| p.parse().unwrap())
            .into();
        let v6: Vec<Prefix> = ["2001:db8:1::/48"].map(|p| p.parse().unwrap()).into();
        let mut with = |next_hop| {
            interner.intern(PathAttributes {
                origin: Some(Origin::Igp),
                as_path: AsPath::from_sequence([64_501]),
                next_hop: Some(next_hop),
                ..PathAttributes::default()
            })
        };
        let six = with(NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        });
        let four = with(NextHop::V4(Ipv4Addr::new(127, 0, 1, 1)));
        let ctx = EncodeCtx::default();
        let drain = |set: &AttrSet, prefixes: Vec<Prefix>| Drain {
            groups: vec![(set.clone(), 0..prefixes.len())],
            nlri: prefixes.into_iter().map(|p| (p, 0)).collect(),
            ..Drain::default()
        };
        // IPv4 first, then IPv6, interleaved: an IPv6 next hop serves both
        // (RFC 8950 for the IPv4 prefixes).
        let mixed = vec![v4[0], v6[0], v4[1]];
        let (buf, n) = s.encode(0, &ctx, (&[], &drain(&six, mixed)), None);
        assert_eq!(n, 3);
        assert_eq!(announced_by_family(&buf), (v4.clone(), v6.clone()));
        // An IPv4 next hop cannot serve IPv6: with the IPv6 prefix first,
        // the IPv4 ones are still announced; and with it last.
        for order in [vec![v6[0], v4[0], v4[1]], vec![v4[0], v4[1], v6[0]]] {
            let (buf, n) = s.encode(0, &ctx, (&[], &drain(&four, order)), None);
            assert_eq!(n, 2);
            assert_eq!(announced_by_family(&buf), (v4.clone(), Vec::new()));
        }
    }

    /// The prefixes a buffer of UPDATEs withdraws and announces (IPv4, in
    /// the UPDATE fields), in order, applied to `view`.
    fn apply_updates(view: &mut std::collections::BTreeSet<Prefix>, mut buf: &[u8]) {
        use rampart_core::DecodeCtx;
        use rampart_core::msg::update::UpdateView;
        while buf.len() >= 19 {
            let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
            let view_of = UpdateView::parse(&buf[19..len], &DecodeCtx::modern()).unwrap();
            for n in view_of.withdrawn() {
                view.remove(&n.prefix);
            }
            for n in view_of.nlri() {
                view.insert(n.prefix);
            }
            buf = &buf[len..];
        }
    }

    /// A route refresh's walk of a dense Adj-RIB-Out (6,000 prefixes) cut
    /// short by peer 0 going down with its `first` prefixes, and the member
    /// still ends with exactly the table left.
    fn refresh_cut_by_a_peer_down(first: u32) {
        let (mut s, outs) = shard();
        let mut interner = Interner::new();
        announce_path(&mut s, &mut interner, 0, 0..first, &[64_501]);
        announce_path(&mut s, &mut interner, 1, first..6_000, &[64_502]);
        assert!(matches!(
            s.groups[0].out,
            crate::daemon::group::Out::Dense(_)
        ));
        take_all(&mut s, 2, &outs[2]);
        s.handle(ShardMsg::Refresh {
            peer: PeerId::new(2).unwrap(),
            walk: 1,
        });
        // One batch of the walk (4,096 prefixes), then peer 0 goes.
        credits(&s, 2, 1);
        s.flush();
        let mut view = std::collections::BTreeSet::new();
        while let Ok(msg) = outs[2].try_recv() {
            if let OutMsg::Updates { pdus, .. } = msg {
                pdus.iter().for_each(|b| apply_updates(&mut view, b));
            }
        }
        assert!(view.len() >= 4_000, "{}", view.len());
        s.handle(ShardMsg::PeerDown {
            peer: PeerId::new(0).unwrap(),
        });
        for b in take_all(&mut s, 2, &outs[2]) {
            apply_updates(&mut view, &b);
        }
        let want: std::collections::BTreeSet<Prefix> = (first..6_000u32)
            .map(|i| {
                Prefix::V4(
                    Ipv4Prefix::new(Ipv4Addr::from_bits(0x0a00_0000 | (i << 8)), 24).unwrap(),
                )
            })
            .collect();
        assert_eq!(view.len(), want.len());
        assert_eq!(view, want);
    }

    /// A few prefixes go one by one: the Loc-RIB moves the other peer's
    /// prefixes from past the walk into holes it has passed, and the dense
    /// table logs them again (without that the member ends 500 prefixes
    /// short).
    #[test]
    fn a_refresh_cut_by_a_few_removals_resends_the_whole_table_left() {
        refresh_cut_by_a_peer_down(500);
    }

    /// Many go at once: the Loc-RIB compacts its slots in order under the
    /// walk, which moves down with them (a walk left where it stood ends
    /// with 1,096 of 3,000 prefixes).
    #[test]
    fn a_refresh_cut_by_a_peer_down_resends_the_whole_table_left() {
        refresh_cut_by_a_peer_down(3_000);
    }
}
