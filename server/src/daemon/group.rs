//! Update groups (DESIGN.md): peers that share role, export filters and the
//! negotiated capabilities share one export evaluation and one
//! Adj-RIB-Out. A group advertises one path per prefix, or with ADD-PATH
//! send (RFC 7911) every path its export takes.

use std::collections::HashMap;

use rampart_core::nlri::{AfiSafi, Prefix};
use rampart_core::rib::{
    AdjRibOut, Advertised, DenseAdjRibOut, Drain, LocRib, MemberId, MemberPosition, Path, PeerId,
    PeerTable, RibError,
};
use smallvec::SmallVec;

use super::export::Exporter;
use super::originate::Originated;
use super::shard::{Blocks, GroupKey};
use crate::config::Role;

/// The shard's decision tables, borrowed together by the export code.
pub(crate) struct Tables<'a> {
    pub(crate) loc: &'a LocRib,
    pub(crate) peers: &'a PeerTable,
    /// The server's own routes: summary-only aggregates hide their
    /// more-specifics.
    pub(crate) originated: &'a [Originated],
}

/// The tag an advertisement carries of the path it came from: the source
/// peer id + 1 (0 stays "none"), and the received path id above bit 24 for
/// peers that send several paths. It is the path identifier sent under
/// ADD-PATH (RFC 7911 §3: unique per prefix on the session); without
/// ADD-PATH it is never sent and lets a member recognise its own path.
pub(crate) fn source_tag(p: &Path) -> u32 {
    (p.peer().get() + 1) ^ (p.path_id() << 24)
}

/// True when `tag` names a path learned from `peer`.
pub(crate) fn tag_is_from(tag: u32, peer: PeerId) -> bool {
    tag & 0x00ff_ffff == (peer.get() + 1) & 0x00ff_ffff
}

/// The peer whose path `tag` names (peer ids below 2²⁴), `None` for 0.
pub(crate) fn tag_peer(tag: u32) -> Option<PeerId> {
    (tag & 0x00ff_ffff).checked_sub(1).and_then(PeerId::new)
}

/// The family of `prefix` (unicast).
pub(crate) fn family(prefix: &Prefix) -> AfiSafi {
    match prefix {
        Prefix::V4(_) => AfiSafi::IPV4_UNICAST,
        Prefix::V6(_) => AfiSafi::IPV6_UNICAST,
    }
}

/// A group's Adj-RIB-Out.
#[derive(Debug)]
pub(crate) enum Out {
    /// One path per prefix.
    Best(AdjRibOut),
    /// One path per prefix, kept by Loc-RIB slot: for a group without
    /// export filters, which advertises nearly the whole Loc-RIB (a column
    /// entry per Loc-RIB prefix, no key and no index of its own; see
    /// [`DenseAdjRibOut`]).
    Dense(DenseAdjRibOut),
    /// ADD-PATH send: in the families of [`GroupKey::add_path`] every path
    /// the export takes, keyed by its tag; in the others the one chosen
    /// path under key 0. `ids` lists the keys each prefix has.
    AddPath {
        out: AdjRibOut<(Prefix, u32)>,
        ids: HashMap<Prefix, SmallVec<[u32; 4]>>,
    },
}

impl Out {
    pub(crate) fn add_member(&mut self) -> MemberId {
        match self {
            Self::Best(o) => o.add_member(),
            Self::Dense(o) => o.add_member(),
            Self::AddPath { out, .. } => out.add_member(),
        }
    }

    pub(crate) fn remove_member(&mut self, id: MemberId) {
        match self {
            Self::Best(o) => o.remove_member(id),
            Self::Dense(o) => o.remove_member(id),
            Self::AddPath { out, .. } => out.remove_member(id),
        };
    }

    /// A route refresh: the member walks the table again, keeping its
    /// place in the log (see [`AdjRibOut::rewalk`]).
    pub(crate) fn rewalk(&mut self, id: MemberId) {
        match self {
            Self::Best(o) => o.rewalk(id),
            Self::Dense(o) => o.rewalk(id),
            Self::AddPath { out, .. } => out.rewalk(id),
        };
    }

    pub(crate) fn position(&self, id: MemberId) -> Option<MemberPosition> {
        match self {
            Self::Best(o) => o.position(id),
            Self::Dense(o) => o.position(id),
            Self::AddPath { out, .. } => out.position(id),
        }
    }

    /// One drain for members at the same position, taking no change past
    /// log position `upto` (see [`AdjRibOut::drain_shared_upto`]); `loc`
    /// is the shard's Loc-RIB.
    pub(crate) fn drain_shared_upto(
        &mut self,
        loc: &LocRib,
        ids: &[MemberId],
        max: usize,
        upto: u64,
    ) -> Drain {
        match self {
            Self::Best(o) => o.drain_shared_upto(ids, max, upto),
            Self::Dense(o) => o.drain_shared_upto(loc, ids, max, upto),
            Self::AddPath { out, .. } => out.drain_shared_upto(ids, max, upto),
        }
    }

    /// Moves members standing at `from` to `to` (see
    /// [`AdjRibOut::advance`]); returns how many moved.
    pub(crate) fn advance(
        &mut self,
        ids: &[MemberId],
        from: MemberPosition,
        to: MemberPosition,
    ) -> usize {
        match self {
            Self::Best(o) => o.advance(ids, from, to),
            Self::Dense(o) => o.advance(ids, from, to),
            Self::AddPath { out, .. } => out.advance(ids, from, to),
        }
    }

    /// The lowest log position of any member (see
    /// [`AdjRibOut::slowest_seq`]).
    pub(crate) fn slowest_seq(&self) -> u64 {
        match self {
            Self::Best(o) => o.slowest_seq(),
            Self::Dense(o) => o.slowest_seq(),
            Self::AddPath { out, .. } => out.slowest_seq(),
        }
    }

    /// Every prefix and path id advertised, or withdrawn and not yet
    /// drained by every member; `loc` is the shard's Loc-RIB.
    pub(crate) fn entries(&self, loc: &LocRib) -> Vec<(Prefix, u32)> {
        match self {
            Self::Best(o) => o.entries().collect(),
            Self::Dense(o) => o.entries(loc).collect(),
            Self::AddPath { out, .. } => out.entries().collect(),
        }
    }

    /// Entries held (advertised, or withdrawn and not yet drained) and the
    /// bytes the Adj-RIB-Out allocates, the ADD-PATH id lists included.
    pub(crate) fn memory(&self) -> (usize, usize) {
        match self {
            Self::Best(o) => (o.len(), o.heap_bytes()),
            Self::Dense(o) => (o.len(), o.heap_bytes()),
            Self::AddPath { out, ids } => {
                let spilled: usize = ids
                    .values()
                    .filter(|v| v.spilled())
                    .map(|v| v.capacity() * size_of::<u32>())
                    .sum();
                let table = ids.capacity() * (size_of::<(Prefix, SmallVec<[u32; 4]>)>() + 1);
                (out.len(), out.heap_bytes() + table + spilled)
            }
        }
    }

    /// Starts loading the index line of `prefix` into the cache (see
    /// [`AdjRibOut::prefetch`]); nothing under ADD-PATH, nor for a dense
    /// table (no index).
    pub(crate) fn prefetch(&self, prefix: &Prefix) {
        if let Self::Best(o) = self {
            o.prefetch(prefix);
        }
    }

    /// [`AdjRibOut::prefetch_entry`]; for a dense table, of the entry at
    /// `slot`, the Loc-RIB slot `prefix` likely has; under ADD-PATH, a
    /// read of the prefix's path ids (a map without a prefetch of its
    /// own).
    pub(crate) fn prefetch_entry(&self, prefix: &Prefix, slot: Option<u32>) {
        match self {
            Self::Best(o) => o.prefetch_entry(prefix),
            Self::Dense(o) => {
                if let Some(slot) = slot {
                    o.prefetch_entry(prefix, slot);
                }
            }
            Self::AddPath { ids, .. } => {
                std::hint::black_box(ids.contains_key(prefix));
            }
        }
    }

    /// What is advertised for `prefix` (under ADD-PATH, every path), which
    /// has `slot` in the Loc-RIB ([`LocRib::paths_at`]).
    pub(crate) fn get(&self, prefix: &Prefix, slot: Option<u32>) -> SmallVec<[Advertised; 1]> {
        match self {
            Self::Best(o) => o.get(prefix).into_iter().collect(),
            Self::Dense(o) => o.get_at(prefix, slot).into_iter().collect(),
            Self::AddPath { out, ids } => ids
                .get(prefix)
                .into_iter()
                .flatten()
                .filter_map(|id| out.get(&(*prefix, *id)))
                .collect(),
        }
    }
}

/// One update group.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) key: GroupKey,
    pub(crate) out: Out,
    pub(crate) exporter: Exporter,
    pub(crate) members: usize,
    /// UPDATEs made for stretches of `out`'s log, for members that reach
    /// them later.
    pub(crate) blocks: Blocks,
}

impl Group {
    /// A group of `key`; its Adj-RIB-Out is kept by Loc-RIB slot
    /// ([`Out::Dense`]) when it has no export filters and sends one path
    /// per prefix: every Loc-RIB prefix but a client's own then goes out
    /// (eBGP groups always have filters, RFC 8212).
    pub(crate) fn new(key: GroupKey, exporter: Exporter) -> Self {
        let out = if !key.add_path.is_empty() {
            Out::AddPath {
                out: AdjRibOut::new(),
                ids: HashMap::new(),
            }
        } else if key.export.is_empty() && key.role != Role::Ebgp {
            Out::Dense(DenseAdjRibOut::new())
        } else {
            Out::Best(AdjRibOut::new())
        };
        Self {
            key,
            out,
            exporter,
            members: 0,
            blocks: Blocks::default(),
        }
    }

    /// True when `prefix` is sent with every path (ADD-PATH) in this group.
    pub(crate) fn all_paths(&self, prefix: &Prefix) -> bool {
        self.key.add_path.contains(&family(prefix))
    }

    /// What this group advertises for `prefix`, never a path of `exclude`:
    /// the Loc-RIB best when the group's export takes it; for route server
    /// clients otherwise the most preferred path the export takes (RFC 7947
    /// §2.3.2 path hiding mitigation). Other roles advertise only the best
    /// path (RFC 4456 §9 and RFC 4271 §9.1.3).
    pub(crate) fn advertise(
        &mut self,
        t: &Tables<'_>,
        prefix: &Prefix,
        exclude: Option<PeerId>,
    ) -> Option<Advertised> {
        self.advertise_from(t, prefix, t.loc.paths(prefix), exclude)
    }

    /// [`Group::advertise`] with the Loc-RIB's `paths` of `prefix` (best
    /// first) at hand: a caller that read them saves the lookup.
    fn advertise_from(
        &mut self,
        t: &Tables<'_>,
        prefix: &Prefix,
        paths: &[Path],
        exclude: Option<PeerId>,
    ) -> Option<Advertised> {
        if !self.key.families.contains(&family(prefix)) {
            return None;
        }
        let best = paths.first()?;
        if Some(best.peer()) != exclude
            && let Some(info) = t.peers.get(best.peer())
            && let Some(attrs) = self.exporter.export(prefix, best, info)
        {
            return Some(Advertised {
                attrs,
                path_id: source_tag(best),
            });
        }
        if self.key.role != Role::RsClient {
            return None;
        }
        let exporter = &mut self.exporter;
        let mut found = None;
        t.loc.best_for(prefix, t.peers, |p| {
            if Some(p.peer()) == exclude || p == best {
                return false;
            }
            let Some(info) = t.peers.get(p.peer()) else {
                return false;
            };
            found = exporter.export(prefix, p, info).map(|attrs| Advertised {
                attrs,
                path_id: source_tag(p),
            });
            found.is_some()
        });
        found
    }

    /// Every path of `prefix` this group's export takes, most preferred
    /// first (ADD-PATH send).
    pub(crate) fn advertise_all(&mut self, t: &Tables<'_>, prefix: &Prefix) -> Vec<Advertised> {
        if !self.key.families.contains(&family(prefix)) {
            return Vec::new();
        }
        t.loc
            .ranked(prefix, t.peers)
            .iter()
            .filter_map(|p| {
                let info = t.peers.get(p.peer())?;
                let attrs = self.exporter.export(prefix, p, info)?;
                Some(Advertised {
                    attrs,
                    path_id: source_tag(p),
                })
            })
            .collect()
    }

    /// Brings the group's Adj-RIB-Out for `prefix` up to date with the
    /// tables; returns whether anything changed. Without ADD-PATH the
    /// entry is hinted when the Loc-RIB holds no path of `prefix` but the
    /// one advertised: its owner's own version is then "nothing", known
    /// when encoding without a Loc-RIB lookup (every change of the paths
    /// behind it comes back here or to [`Group::touch`]).
    ///
    /// # Errors
    /// [`RibError::Full`] when the Adj-RIB-Out cannot take the prefix.
    pub(crate) fn update(&mut self, t: &Tables<'_>, prefix: Prefix) -> Result<bool, RibError> {
        let (slot, paths) = t.loc.paths_at(&prefix);
        self.update_from(t, prefix, slot, paths)
    }

    /// [`Group::update`] with the Loc-RIB's slot of `prefix` and its
    /// `paths` (best first) at hand ([`LocRib::paths_at`]): the shard reads
    /// them once for every group.
    ///
    /// # Errors
    /// [`RibError::Full`] when the Adj-RIB-Out cannot take the prefix.
    pub(crate) fn update_from(
        &mut self,
        t: &Tables<'_>,
        prefix: Prefix,
        slot: Option<u32>,
        paths: &[Path],
    ) -> Result<bool, RibError> {
        let all = self.all_paths(&prefix);
        let suppressed = t
            .originated
            .iter()
            .any(|o| o.summary_only && o.covers(&prefix));
        if let Out::Best(_) | Out::Dense(_) = self.out {
            // One path, no list: the common case costs no allocation.
            let best = (!suppressed)
                .then(|| self.advertise_from(t, &prefix, paths, None))
                .flatten();
            let alone = best.is_some() && paths.len() == 1;
            match &mut self.out {
                Out::Best(o) => return o.mark_hinted(prefix, best, alone),
                Out::Dense(o) => return o.mark_at(prefix, slot, best, alone),
                Out::AddPath { .. } => {}
            }
        }
        let wanted: Vec<Advertised> = if suppressed {
            Vec::new()
        } else if all {
            self.advertise_all(t, &prefix)
        } else {
            self.advertise_from(t, &prefix, paths, None)
                .into_iter()
                .collect()
        };
        match &mut self.out {
            Out::Best(o) => o.mark(prefix, wanted.into_iter().next()),
            Out::Dense(o) => o.mark_at(prefix, slot, wanted.into_iter().next(), false),
            Out::AddPath { out, ids } => {
                let key = |a: &Advertised| if all { a.path_id } else { 0 };
                let old = ids.remove(&prefix).unwrap_or_default();
                let new: SmallVec<[u32; 4]> = wanted.iter().map(key).collect();
                let mut changed = false;
                // Withdrawals first, so a path id never reaches a member
                // announced and then withdrawn out of order.
                for id in old.iter().filter(|id| !new.contains(id)) {
                    changed |= out.mark((prefix, *id), None)?;
                }
                for a in wanted {
                    changed |= out.mark((prefix, key(&a)), Some(a))?;
                }
                if !new.is_empty() {
                    ids.insert(prefix, new);
                }
                Ok(changed)
            }
        }
    }

    /// True when a change behind an unchanged best path of `prefix` may
    /// change what this group advertises: under ADD-PATH always; for a
    /// route server client group sent another path than the best (path
    /// hiding mitigation), too. `slot`: the Loc-RIB's of `prefix`.
    pub(crate) fn follows_other_paths(
        &self,
        prefix: &Prefix,
        slot: Option<u32>,
        best_tag: Option<u32>,
    ) -> bool {
        if self.all_paths(prefix) {
            return true;
        }
        if self.key.role != Role::RsClient {
            return false;
        }
        let sent = self.out.get(prefix, slot);
        sent.first().map(|a| a.path_id) != best_tag
    }

    /// The peer whose path the group sends for `prefix` (without ADD-PATH:
    /// the one path), if any. `slot`: the Loc-RIB's of `prefix`.
    pub(crate) fn sent_owner(&self, prefix: &Prefix, slot: Option<u32>) -> Option<PeerId> {
        self.out
            .get(prefix, slot)
            .first()
            .and_then(|a| tag_peer(a.path_id))
    }

    /// Makes every member see `prefix` again (the best is a member's own
    /// path, and the member gets an answer of its own). `alone`: the
    /// Loc-RIB holds no other path of `prefix` (see [`Group::update`]);
    /// `slot`: the Loc-RIB's of `prefix`.
    pub(crate) fn touch(&mut self, prefix: Prefix, slot: Option<u32>, alone: bool) {
        match &mut self.out {
            Out::Best(o) => {
                o.touch(prefix, alone);
            }
            Out::Dense(o) => {
                o.touch_at(&prefix, slot, alone);
            }
            Out::AddPath { out, .. } => {
                out.touch((prefix, 0), false);
            }
        }
    }
}
