//! Adj-RIB-Out of one update group (RFC 4271 §3.2, §9.2): the latest state
//! per prefix and, per member, what changed since it last drained.
//!
//! There are no message queues: a slow member's backlog is a set of
//! prefixes, so memory is bounded by the table, not by churn.
//!
//! ```text
//! table: prefix -> { attrs: Option<AttrSet>, path_id, seq, age | hint }
//!        latest state
//! log:   [(seq, family, slot, announce | withdraw | dead)]   in seq order:
//!        one live entry per prefix changed after the slowest member's
//!        cursor; `slot` is where the prefix's table entry is (a removal
//!        that moves an entry moves its slot here too), so a drain reads
//!        the entry without an index probe and the log holds no keys
//! member: cursor (last seq drained) + walk position while joining
//! ```
//!
//! Memory per group: a table entry is 32 bytes for an IPv4 prefix and 48
//! for an IPv6 one, plus 5 bytes per index bucket (about 39–44 and 55–60
//! bytes per prefix), and each dirty prefix costs an 8-byte log entry
//! while some member has not drained it, plus at most as many dead
//! entries before a compaction. The log is kept in chunks that go back as
//! the slowest member passes them, so a burst costs its log entries only
//! while they are pending.
//!
//! [`AdjRibOut::mark`] stamps a prefix with a new sequence number, appends
//! a log entry and marks its previous one dead (found by binary search):
//! the log stays one live entry per prefix without a tree.
//! [`AdjRibOut::drain`] hands a member the log past its cursor, grouped
//! by attribute set so the encoder can pack many NLRI per UPDATE; the
//! withdrawal of an entry made after the member's last drain is left out
//! (the member was never sent it). A prefix that flaps while a slower
//! member keeps its entry can be withdrawn twice: harmless, and the entry
//! would need the member's view to know better. A member that joins walks
//! the whole table first (initial advertisement, RFC 4271 §9.2
//! "Update-Send Process"), then follows the log; [`AdjRibOut::rewalk`]
//! walks a member's table again for a route refresh, keeping its place in
//! the log. Withdrawn prefixes leave
//! the table once every member has drained them. [`AdjRibOut::advance`]
//! moves a member over a stretch of the log that another member drained
//! from the same position, for a caller that kept what that drain was
//! encoded into.
//!
//! [`DenseAdjRibOut`] is the same table for a group that advertises
//! nearly every Loc-RIB prefix (no export filters): its entries sit in a
//! column by Loc-RIB slot, without key or index, 24 bytes per prefix where
//! the keyed table takes about 40 (the 2 × 500k bgperf table: 73.0 to
//! 56.6 counted bytes per stored path). The Loc-RIB's removals move its
//! slots; the column follows them ([`DenseAdjRibOut::removed`]) and keeps
//! the withdrawals of prefixes that left the Loc-RIB in a small keyed side
//! table until every member has drained them. Walks, drains and the log
//! are shared with [`AdjRibOut`] (`Cursors`, the `Store` trait).

use std::collections::VecDeque;

use hashbrown::HashMap;

use super::adj_in::{AdjRibIn, Removal};
use super::loc::LocRib;
use super::prefix_map::{MapKey, PrefixMap, Slot, V6_BASE};
use super::slots::Slots;
use super::{AttrSet, RibError};
use crate::attr::PathAttributes;
use crate::nlri::Prefix;

/// What the group advertises for a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advertised {
    /// The attribute set sent (after export policy).
    pub attrs: AttrSet,
    /// The ADD-PATH path identifier sent (RFC 7911 §3); 0 without ADD-PATH.
    pub path_id: u32,
}

/// The key of an Adj-RIB-Out entry: a [`Prefix`] (one path per prefix), or
/// with ADD-PATH a prefix and the path identifier sent (RFC 7911 §3), so a
/// group can advertise several paths of one prefix.
pub trait OutKey: MapKey + std::fmt::Debug {
    /// The prefix this entry is about.
    fn prefix(&self) -> Prefix;
}

impl OutKey for Prefix {
    fn prefix(&self) -> Prefix {
        *self
    }
}

impl OutKey for (Prefix, u32) {
    fn prefix(&self) -> Prefix {
        self.0
    }
}

/// A member (peer session) of the update group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(u32);

/// One batch of changes for one member, laid out for packing: every
/// announced prefix sharing an attribute set is contiguous in one vector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drain {
    /// Prefixes to withdraw, with the path id last advertised.
    pub withdrawn: Vec<(Prefix, u32)>,
    /// Attribute sets in order of first appearance, each with the range of
    /// [`nlri`](Self::nlri) it applies to.
    pub groups: Vec<(AttrSet, std::ops::Range<usize>)>,
    /// Announced prefixes with their path ids, grouped as `groups` says.
    pub nlri: Vec<(Prefix, u32)>,
    /// Parallel to [`nlri`](Self::nlri): true where the member cannot hold
    /// any earlier path of this group for the prefix (the entry appeared
    /// after the member's last drain). A member that is not to get the
    /// group's path (its own, RFC 7947 §2.3.2) needs no withdrawal there.
    pub fresh: Vec<bool>,
    /// Parallel to [`nlri`](Self::nlri): the hint stored with the entry
    /// when it was drained (see [`AdjRibOut::mark_hinted`]).
    pub hints: Vec<bool>,
}

impl Drain {
    /// Number of prefixes in the batch.
    #[must_use]
    pub fn len(&self) -> usize {
        self.withdrawn.len() + self.nlri.len()
    }

    /// True when the batch is empty (the member is up to date).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each attribute set with the prefixes to announce with it.
    pub fn announced(&self) -> impl Iterator<Item = (&AttrSet, &[(Prefix, u32)])> {
        self.groups
            .iter()
            .map(|(a, r)| (a, self.nlri.get(r.clone()).unwrap_or_default()))
    }

    /// [`Drain::announced`] with each prefix's [`fresh`](Self::fresh) flag
    /// and [hint](Self::hints).
    pub fn announced_fresh(
        &self,
    ) -> impl Iterator<Item = (&AttrSet, impl Iterator<Item = (&(Prefix, u32), bool, bool)>)> {
        self.groups.iter().map(|(a, r)| {
            let nlri = self.nlri.get(r.clone()).unwrap_or_default();
            let fresh = self.fresh.get(r.clone()).unwrap_or_default();
            let hints = self.hints.get(r.clone()).unwrap_or_default();
            // A drain built by `AdjRibOut` has flags per prefix; a shorter
            // list reads as "not fresh" and "no hint" (the safe answers).
            let fresh = fresh.iter().copied().chain(std::iter::repeat(false));
            let hints = hints.iter().copied().chain(std::iter::repeat(false));
            let flags = fresh.zip(hints);
            (
                a,
                // By reference: a copied prefix is split into pieces on the
                // stack, and wider loads of it stall (store forwarding).
                nlri.iter().zip(flags).map(|(n, (f, h))| (n, f, h)),
            )
        })
    }
}

/// Collects one drain: withdrawals directly, announcements tagged with a
/// group number, then laid out group by group.
struct DrainBuilder {
    out: Drain,
    sets: HashMap<usize, u32>,
    /// The last set pushed (its address) and its group.
    last: Option<(usize, u32)>,
    counts: Vec<usize>,
    tagged: Vec<(u32, Prefix, u32, bool, bool)>,
}

impl DrainBuilder {
    /// A builder with room for `n` announcements and their sets: one per
    /// prefix in a small drain (a caught-up member's few changes often
    /// have a set each), half as many in a large one (a full table has a
    /// set per three prefixes, but a stretch of small origins has nearly
    /// one each), so that a drain does not grow its lists and map step by
    /// step.
    fn with_capacity(n: usize) -> Self {
        let sets = n.min(1024).max(n / 2);
        Self {
            out: Drain {
                groups: Vec::with_capacity(sets),
                ..Drain::default()
            },
            sets: HashMap::with_capacity(sets),
            last: None,
            counts: Vec::with_capacity(sets),
            tagged: Vec::with_capacity(n),
        }
    }

    /// Adds `e`'s state for `prefix`; false when the member needs none: a
    /// withdrawal of an entry `fresh` for it (made after its last drain,
    /// so it was never sent anything there).
    fn push(&mut self, prefix: Prefix, e: &Entry, fresh: bool) -> bool {
        let Some(attrs) = &e.attrs else {
            if !fresh {
                self.out.withdrawn.push((prefix, e.path_id));
            }
            return !fresh;
        };
        let next = u32::try_from(self.counts.len()).unwrap_or(u32::MAX);
        // Keyed by address: interned sets are equal iff the same pointer,
        // and no reference count is touched for the lookup.
        let key = std::ptr::from_ref::<PathAttributes>(attrs) as usize;
        // A set's prefixes mostly follow one another (one UPDATE's).
        let g = match self.last {
            Some((k, g)) if k == key => g,
            _ => match self.sets.get(&key) {
                Some(&g) => g,
                None => {
                    self.sets.insert(key, next);
                    self.out.groups.push((attrs.clone(), 0..0));
                    self.counts.push(0);
                    next
                }
            },
        };
        self.last = Some((key, g));
        if let Some(c) = self.counts.get_mut(g as usize) {
            *c += 1;
        }
        self.tagged.push((g, prefix, e.path_id, fresh, e.hint()));
        true
    }

    fn finish(mut self) -> Drain {
        let mut start = 0;
        for ((_, range), &n) in self.out.groups.iter_mut().zip(&self.counts) {
            *range = start..start + n;
            start += n;
        }
        // Stable: prefixes keep their change order inside a group.
        self.tagged.sort_by_key(|t| t.0);
        self.out.fresh = self.tagged.iter().map(|t| t.3).collect();
        self.out.hints = self.tagged.iter().map(|t| t.4).collect();
        self.out.nlri = self
            .tagged
            .into_iter()
            .map(|(_, p, id, _, _)| (p, id))
            .collect();
        self.out
    }
}

#[derive(Debug, Clone)]
struct Entry {
    attrs: Option<AttrSet>,
    path_id: u32,
    seq: u64,
    /// Low 31 bits: how many sequence numbers before `seq` the entry was
    /// created (its birth is `seq - age`): a member whose cursor was below
    /// the birth was never sent anything for the key. [`AGE_OLD`] stands
    /// for any older birth and reads as birth 0, so a very old entry is
    /// never taken for fresh (the safe answer: at worst a needless
    /// withdrawal). Top bit ([`HINT`]): the caller's hint
    /// ([`AdjRibOut::mark_hinted`]). Kept in 32 bits so that with
    /// `path_id` it fills one word, and an IPv4 table slot with its prefix
    /// is 32 bytes.
    age_hint: u32,
}

/// The hint bit of [`Entry::age_hint`].
const HINT: u32 = 1 << 31;
/// The largest age, read as "older than that".
const AGE_OLD: u32 = HINT - 1;

impl Entry {
    /// A column slot the group has nothing for.
    const VACANT: Self = Self {
        attrs: None,
        path_id: 0,
        seq: 0,
        age_hint: 0,
    };

    /// An entry born at `seq`.
    fn new(attrs: Option<AttrSet>, path_id: u32, seq: u64, hint: bool) -> Self {
        Self {
            attrs,
            path_id,
            seq,
            age_hint: if hint { HINT } else { 0 },
        }
    }

    /// The entry with its birth set to `born` (at most its `seq`).
    fn born_at(mut self, born: u64) -> Self {
        let age = self.seq.saturating_sub(born);
        let age = u32::try_from(age).map_or(AGE_OLD, |a| a.min(AGE_OLD));
        self.age_hint = (self.age_hint & HINT) | age;
        self
    }

    /// True when nothing is advertised and every member has drained that
    /// (`floor`: see [`Cursors::floor`]): as good as no entry.
    const fn is_vacant(&self, floor: u64) -> bool {
        self.attrs.is_none() && self.seq <= floor
    }

    /// A new state stamped `seq`, keeping the entry's birth; a withdrawal
    /// keeps the path id that was advertised.
    fn change(&mut self, attrs: Option<AttrSet>, path_id: u32, seq: u64, hint: bool) {
        if attrs.is_some() {
            self.path_id = path_id;
        }
        self.attrs = attrs;
        self.restamp(seq);
        self.set_hint(hint);
    }

    /// What the entry advertises, if anything.
    fn advertised(&self) -> Option<Advertised> {
        Some(Advertised {
            attrs: self.attrs.clone()?,
            path_id: self.path_id,
        })
    }

    /// The sequence number at which the entry was created, or 0 when that
    /// is more than [`AGE_OLD`] - 1 changes ago.
    const fn born(&self) -> u64 {
        let age = self.age_hint & AGE_OLD;
        if age == AGE_OLD {
            0
        } else {
            self.seq.saturating_sub(age as u64)
        }
    }

    /// Stamps the entry with `seq`, keeping its birth (saturating).
    fn restamp(&mut self, seq: u64) {
        let born = self.born();
        self.seq = seq;
        let age = u32::try_from(seq.saturating_sub(born)).map_or(AGE_OLD, |a| a.min(AGE_OLD));
        self.age_hint = (self.age_hint & HINT) | age;
    }

    /// The caller's hint.
    const fn hint(&self) -> bool {
        self.age_hint & HINT != 0
    }

    fn set_hint(&mut self, hint: bool) {
        self.age_hint = if hint {
            self.age_hint | HINT
        } else {
            self.age_hint & AGE_OLD
        };
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Member {
    cursor: u64,
    /// Next walk position of the initial walk ([`Store::entry_at`]),
    /// `None` once done.
    walk: Option<usize>,
}

/// Where a member of an [`AdjRibOut`] or a [`DenseAdjRibOut`] stands
/// (opaque; compare for equality).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemberPosition(Member);

impl MemberPosition {
    /// The sequence number of the last change the member has seen, when it
    /// follows the change log (its initial walk is done); `None` while it
    /// walks the table.
    #[must_use]
    pub const fn log_seq(&self) -> Option<u64> {
        match self.0.walk {
            None => Some(self.0.cursor),
            Some(_) => None,
        }
    }
}

/// Where an entry is: its family, its table and its slot there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    v6: bool,
    /// In a [`DenseAdjRibOut`]'s table of withdrawals of prefixes that
    /// left the Loc-RIB; otherwise in the main table (the keyed table, or
    /// the dense one's column).
    side: bool,
    slot: u32,
}

/// The entries of an Adj-RIB-Out as walks and drains read them.
trait Store {
    /// The first entry at walk position `pos` or after it, with its
    /// position and prefix; `None` past the last. Positions: IPv4 slots
    /// from 0, IPv6 slots from [`V6_BASE`] (see [`PrefixMap::entry_at`]).
    fn entry_at(&self, pos: usize) -> Option<(usize, Prefix, &Entry)>;

    /// The entry at `place`, with its prefix.
    fn at(&self, place: Place) -> Option<(Prefix, &Entry)>;
}

impl<K: OutKey> Store for PrefixMap<Entry, K> {
    fn entry_at(&self, pos: usize) -> Option<(usize, Prefix, &Entry)> {
        Self::entry_at(self, pos).map(|(at, k, e)| (at, k.prefix(), e))
    }

    fn at(&self, place: Place) -> Option<(Prefix, &Entry)> {
        self.at_slot(place.v6, place.slot)
            .map(|(k, e)| (k.prefix(), e))
    }
}

/// The members of an Adj-RIB-Out and its change log: what a keyed
/// ([`AdjRibOut`]) and a dense ([`DenseAdjRibOut`]) one share.
#[derive(Debug, Default)]
struct Cursors {
    log: Log,
    last_seq: u64,
    members: Vec<Option<Member>>,
    /// Every change up to this sequence number has been drained by every
    /// member: the lowest cursor at the last prune, or the last change
    /// made without members. Never past the lowest cursor, and every
    /// entry stamped after it has a live log entry.
    floor: u64,
}

impl Cursors {
    /// Adds a member that walks the table first when `walk`.
    fn add_member(&mut self, walk: bool) -> MemberId {
        let m = Member {
            cursor: self.last_seq,
            walk: walk.then_some(0),
        };
        let slot = self.members.iter().position(Option::is_none);
        let i = match slot {
            Some(i) => i,
            None => {
                self.members.push(None);
                self.members.len() - 1
            }
        };
        if let Some(s) = self.members.get_mut(i) {
            *s = Some(m);
        }
        MemberId(u32::try_from(i).unwrap_or(u32::MAX))
    }

    fn rewalk(&mut self, member: MemberId, walk: bool) -> bool {
        match self.members.get_mut(member.0 as usize) {
            Some(Some(m)) => {
                m.walk = walk.then_some(0);
                true
            }
            _ => false,
        }
    }

    fn remove_member(&mut self, id: MemberId) -> bool {
        self.members
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .is_some()
    }

    /// True when some member will read the log.
    fn live(&self) -> bool {
        self.members.iter().any(Option::is_some)
    }

    /// True when some member walks the table.
    fn walking(&self) -> bool {
        self.members.iter().flatten().any(|m| m.walk.is_some())
    }

    /// The lowest cursor of any member; `last_seq` without members.
    fn min_cursor(&self) -> u64 {
        self.members
            .iter()
            .flatten()
            .map(|m| m.cursor)
            .min()
            .unwrap_or(self.last_seq)
    }

    /// Takes the next sequence number for a change of the entry at
    /// `place` (`withdrawn` or announced) and logs it when some member
    /// will read it.
    fn stamp(&mut self, place: Place, withdrawn: bool) -> u64 {
        self.last_seq += 1;
        let seq = self.last_seq;
        if self.live() {
            self.log.push(seq, place, withdrawn);
        } else {
            self.floor = seq;
        }
        seq
    }

    fn position(&self, member: MemberId) -> Option<MemberPosition> {
        let m = self.members.get(member.0 as usize).copied().flatten()?;
        Some(MemberPosition(m))
    }

    /// Up to `max` changes `member` has not seen (see [`AdjRibOut::drain`]),
    /// none past sequence number `upto` (see
    /// [`AdjRibOut::drain_shared_upto`]); the caller prunes.
    fn drain_upto(&mut self, store: &impl Store, member: MemberId, max: usize, upto: u64) -> Drain {
        let Some(Some(mut m)) = self.members.get(member.0 as usize).copied() else {
            return Drain::default();
        };
        // At most `max`, and no more than the log holds past the cursor
        // (a member following the log usually has a few changes to take).
        let pending = match m.walk {
            Some(_) => max,
            None => self.log.len_after(m.cursor),
        };
        let mut out = DrainBuilder::with_capacity(pending.min(max));
        let mut n = 0;
        while let Some(pos) = m.walk {
            if n >= max {
                break;
            }
            match store.entry_at(pos) {
                Some((at, prefix, e)) => {
                    // Later changes come from the log: skip them here.
                    // The walk is a joining member's first view; it may
                    // hold paths from a group it left, so nothing is fresh.
                    if e.attrs.is_some() && e.seq <= m.cursor && out.push(prefix, e, false) {
                        n += 1;
                    }
                    m.walk = Some(at + 1);
                }
                None => m.walk = None,
            }
        }
        if m.walk.is_none() {
            let seen = m.cursor;
            // A bound below the cursor is no bound.
            let end = if upto < seen {
                self.last_seq
            } else {
                upto.min(self.last_seq)
            };
            let mut range = self.log.after(m.cursor).peekable();
            while n < max {
                let Some((seq, place)) = range.next_if(|(seq, _)| *seq <= end) else {
                    break;
                };
                if let Some((prefix, e)) = store.at(place) {
                    debug_assert_eq!(e.seq, seq, "a log entry names its key's slot");
                    // A withdrawal the member does not need is not counted
                    // toward `max`: an empty drain still means up to date.
                    if out.push(prefix, e, e.born() > seen) {
                        n += 1;
                    }
                }
                m.cursor = seq;
            }
            if range.peek().is_none_or(|(seq, _)| *seq > end) {
                // Up to date, or up to the bound: every member that is has
                // the same position, so they can share drains (see
                // `drain_shared`).
                m.cursor = end;
            }
        }
        if let Some(slot) = self.members.get_mut(member.0 as usize) {
            *slot = Some(m);
        }
        out.finish()
    }

    /// See [`AdjRibOut::drain_shared_upto`]; the caller prunes.
    fn drain_shared_upto(
        &mut self,
        store: &impl Store,
        members: &[MemberId],
        max: usize,
        upto: u64,
    ) -> Drain {
        let Some((&first, rest)) = members.split_first() else {
            return Drain::default();
        };
        let Some(at) = self.position(first) else {
            return Drain::default();
        };
        let out = self.drain_upto(store, first, max, upto);
        let after = self.members.get(first.0 as usize).copied().flatten();
        for id in rest {
            if self.position(*id) == Some(at)
                && let Some(slot) = self.members.get_mut(id.0 as usize)
            {
                *slot = after;
            }
        }
        out
    }

    /// See [`AdjRibOut::advance`]; the caller prunes.
    fn advance(&mut self, members: &[MemberId], from: MemberPosition, to: MemberPosition) -> usize {
        let (Some(a), Some(b)) = (from.log_seq(), to.log_seq()) else {
            return 0;
        };
        if b < a || b > self.last_seq {
            return 0;
        }
        let mut moved = 0;
        for id in members {
            if let Some(slot) = self.members.get_mut(id.0 as usize)
                && *slot == Some(from.0)
            {
                *slot = Some(to.0);
                moved += 1;
            }
        }
        moved
    }

    /// See [`AdjRibOut::pending`].
    fn pending(&self, store: &impl Store, member: MemberId) -> usize {
        let Some(Some(m)) = self.members.get(member.0 as usize) else {
            return 0;
        };
        let mut walk = 0;
        let mut pos = m.walk;
        while let Some((at, _, e)) = pos.and_then(|p| store.entry_at(p)) {
            walk += usize::from(e.attrs.is_some() && e.seq <= m.cursor);
            pos = Some(at + 1);
        }
        walk + self.log.after(m.cursor).count()
    }

    /// Drops the log entries every member has drained, calling
    /// `withdrawn(place)` for each live withdrawal among them, and moves
    /// the floor up to the lowest cursor.
    fn pop_drained(&mut self, withdrawn: impl FnMut(Place)) -> u64 {
        let min = self.min_cursor();
        self.log.pop_upto(min, withdrawn);
        self.floor = min;
        min
    }

    fn heap_bytes(&self) -> usize {
        self.log.heap_bytes() + self.members.capacity() * size_of::<Option<Member>>()
    }
}

/// Adj-RIB-Out of one update group, keyed by prefix (`K` = [`Prefix`]) or
/// by prefix and path id (`K` = `(Prefix, u32)`, ADD-PATH send).
#[derive(Debug)]
pub struct AdjRibOut<K: OutKey = Prefix> {
    table: PrefixMap<Entry, K>,
    cursors: Cursors,
    /// Withdrawn keys whose removal waits for joining members' walks.
    deferred: Vec<K>,
}

impl<K: OutKey> Default for AdjRibOut<K> {
    fn default() -> Self {
        Self {
            table: PrefixMap::default(),
            cursors: Cursors::default(),
            deferred: Vec::new(),
        }
    }
}

impl<K: OutKey> AdjRibOut<K> {
    /// An empty Adj-RIB-Out without members.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a member; its first drains walk every advertised prefix, later
    /// ones follow changes.
    pub fn add_member(&mut self) -> MemberId {
        self.cursors.add_member(self.table.len() > 0)
    }

    /// Makes `member` walk the whole table again, as a joining member does,
    /// but keeping its place in the log: a route refresh (RFC 2918 §4; RFC
    /// 7313 §4 between BoRR and EoRR). What changed since its last drain
    /// still comes after the walk, so a withdrawal it had not drained when
    /// the refresh began is not lost (a member added anew would start past
    /// it, while its peer may hold the path from a drain sent before).
    /// Returns false for an unknown member.
    pub fn rewalk(&mut self, member: MemberId) -> bool {
        self.cursors.rewalk(member, self.table.len() > 0)
    }

    /// Removes a member (session down); returns false when unknown.
    pub fn remove_member(&mut self, id: MemberId) -> bool {
        let removed = self.cursors.remove_member(id);
        self.prune();
        removed
    }

    /// Sets the state of `prefix`: `Some` to advertise, `None` to withdraw.
    /// Returns whether the state changed (and every member will see it).
    /// Same as [`mark_hinted`](Self::mark_hinted) with no hint.
    ///
    /// # Errors
    /// [`RibError::Full`] when a new prefix does not fit.
    pub fn mark(&mut self, prefix: K, state: Option<Advertised>) -> Result<bool, RibError> {
        self.mark_hinted(prefix, state, false)
    }

    /// [`mark`](Self::mark), storing `hint` with the entry: one bit the
    /// table keeps for the caller and hands back in drains
    /// ([`Drain::hints`]), as it stands when drained. A changed hint alone
    /// is not a change: it is stored, and no member is told again.
    ///
    /// # Errors
    /// [`RibError::Full`] when a new prefix does not fit.
    pub fn mark_hinted(
        &mut self,
        prefix: K,
        state: Option<Advertised>,
        hint: bool,
    ) -> Result<bool, RibError> {
        let (attrs, path_id) = match state {
            Some(a) => (Some(a.attrs), a.path_id),
            None => (None, 0),
        };
        let seq = self.cursors.last_seq + 1;
        let withdrawn = attrs.is_none();
        let slot = match self.table.entry(prefix)? {
            Slot::Occupied(_, e)
                if e.attrs == attrs && (attrs.is_none() || e.path_id == path_id) =>
            {
                e.set_hint(hint);
                return Ok(false);
            }
            Slot::Occupied(i, e) => {
                self.cursors.log.kill(e.seq);
                e.change(attrs, path_id, seq, hint);
                i
            }
            Slot::Vacant(_) if attrs.is_none() => return Ok(false),
            Slot::Vacant(v) => {
                let i = u32::try_from(v.index()).unwrap_or(u32::MAX);
                v.insert(Entry::new(attrs, path_id, seq, hint))?;
                i
            }
        };
        let v6 = is_v6(&prefix);
        let place = Place {
            v6,
            side: false,
            slot,
        };
        self.cursors.stamp(place, withdrawn);
        if withdrawn && !self.cursors.live() {
            // Nobody to tell: a withdrawal needs no record.
            self.remove(&prefix);
        }
        Ok(true)
    }

    /// Makes every member see `prefix` again although its state did not
    /// change: a member whose own path is the group's choice gets a
    /// per-member answer (RFC 7947 §2.3.2.1 path hiding mitigation) that
    /// depends on the other paths, which may have changed. Stores `hint`
    /// as [`mark_hinted`](Self::mark_hinted) does. Returns false when the
    /// prefix is not in the table.
    pub fn touch(&mut self, prefix: K, hint: bool) -> bool {
        let seq = self.cursors.last_seq + 1;
        let Some((slot, e)) = self.table.get_mut_indexed(&prefix) else {
            return false;
        };
        self.cursors.log.kill(e.seq);
        e.restamp(seq);
        e.set_hint(hint);
        let withdrawn = e.attrs.is_none();
        let place = Place {
            v6: is_v6(&prefix),
            side: false,
            slot,
        };
        self.cursors.stamp(place, withdrawn);
        true
    }

    /// Up to `max` prefixes whose state `member` has not seen, oldest
    /// change first, grouped by attribute set; a withdrawal of an entry
    /// made after the member's last drain is left out (and not counted).
    /// Empty when the member is up to date or unknown. Call when the
    /// member's socket can take more.
    pub fn drain(&mut self, member: MemberId, max: usize) -> Drain {
        let out = self.cursors.drain_upto(&self.table, member, max, u64::MAX);
        self.prune();
        out
    }

    /// Where `member` stands: members at the same position get the same
    /// drains, which [`AdjRibOut::drain_shared`] computes once. `None` for
    /// an unknown member.
    #[must_use]
    pub fn position(&self, member: MemberId) -> Option<MemberPosition> {
        self.cursors.position(member)
    }

    /// [`AdjRibOut::drain`] for several members at the same
    /// [`position`](AdjRibOut::position): drained once, every member
    /// advanced alike, so one encoding serves them all. Members at another
    /// position are left alone (and get nothing of this drain).
    pub fn drain_shared(&mut self, members: &[MemberId], max: usize) -> Drain {
        self.drain_shared_upto(members, max, u64::MAX)
    }

    /// [`AdjRibOut::drain_shared`], taking no log entry past sequence
    /// number `upto` (ignored when the members stand past it, or walk the
    /// table): members that take everything up to it stand at `upto`
    /// afterwards. For a caller that keeps what members drained from some
    /// position: a member behind stops there, and can
    /// [`advance`](AdjRibOut::advance) over what was drained from it.
    pub fn drain_shared_upto(&mut self, members: &[MemberId], max: usize, upto: u64) -> Drain {
        let out = self
            .cursors
            .drain_shared_upto(&self.table, members, max, upto);
        self.prune();
        out
    }

    /// Moves the members of `members` that stand at `from` to `to`, as if
    /// each had drained what lies between: for a caller that already holds
    /// the UPDATEs another member got for that stretch of the log (made
    /// when that member drained from `from` and ended at `to`). Returns
    /// how many moved; none when either position is not a log position
    /// ([`MemberPosition::log_seq`]) or `to` is before `from` or past the
    /// last change.
    ///
    /// What the stretch held then may since have been superseded: every
    /// later change has a later sequence number, so a moved member still
    /// gets it after `to`.
    pub fn advance(
        &mut self,
        members: &[MemberId],
        from: MemberPosition,
        to: MemberPosition,
    ) -> usize {
        let moved = self.cursors.advance(members, from, to);
        self.prune();
        moved
    }

    /// The lowest log position of any member: no member can stand at a
    /// position below it again. `last_seq` without members.
    #[must_use]
    pub fn slowest_seq(&self) -> u64 {
        self.cursors.min_cursor()
    }

    /// Drops log entries every member has drained, and the table entries
    /// of withdrawals every member has seen.
    fn prune(&mut self) {
        let (table, deferred) = (&self.table, &mut self.deferred);
        let min = self.cursors.pop_drained(|place| {
            deferred.extend(table.at_slot(place.v6, place.slot).map(|(key, _)| key));
        });
        if self.cursors.walking() {
            // Removal moves table slots, which would make a walk skip one.
            return;
        }
        for prefix in std::mem::take(&mut self.deferred) {
            let done = self
                .table
                .get(&prefix)
                .is_some_and(|e| e.attrs.is_none() && e.seq <= min);
            if done {
                self.remove(&prefix);
            }
        }
    }

    /// Removes `prefix` from the table. The last slot of its family moves
    /// into its place: the log entry of the key there follows it.
    fn remove(&mut self, prefix: &K) {
        let Some((slot, _)) = self.table.remove_indexed(prefix) else {
            return;
        };
        let v6 = is_v6(prefix);
        if let Some((_, moved)) = self.table.at_slot(v6, slot) {
            let place = Place {
                v6,
                side: false,
                slot,
            };
            self.cursors.log.reslot(moved.seq, place);
        }
    }

    /// Starts loading the index line of `prefix` into the cache without
    /// waiting for it (see [`AdjRibIn::prefetch`](super::AdjRibIn::prefetch)).
    pub fn prefetch(&self, prefix: &K) {
        self.table.prefetch(prefix);
    }

    /// Starts loading the entry of `prefix` into the cache, reading its
    /// index line (best [`prefetch`](Self::prefetch)ed some time before).
    pub fn prefetch_entry(&self, prefix: &K) {
        self.table.prefetch_slot(prefix);
    }

    /// What the group currently advertises for `prefix`.
    #[must_use]
    pub fn get(&self, prefix: &K) -> Option<Advertised> {
        self.table.get(prefix)?.advertised()
    }

    /// Every entry: its prefix and the path id advertised (or last
    /// advertised, for a withdrawal not yet drained by every member). A
    /// member moving to another group must be sent withdrawals for those
    /// its new group does not advertise.
    pub fn entries(&self) -> impl Iterator<Item = (Prefix, u32)> + '_ {
        self.table.iter().map(|(k, e)| (k.prefix(), e.path_id))
    }

    /// Number of prefixes `member` has yet to receive. O(table) while the
    /// member is still walking, O(dirty) after.
    #[must_use]
    pub fn pending(&self, member: MemberId) -> usize {
        self.cursors.pending(&self.table, member)
    }

    /// Number of dirty prefixes: changed after the slowest member's cursor.
    #[must_use]
    pub fn dirty_len(&self) -> usize {
        self.cursors.log.live()
    }

    /// Number of table entries (advertised prefixes plus withdrawals not yet
    /// drained by every member).
    #[must_use]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Bytes allocated: table, log, members, deferred removals.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.cursors.heap_bytes()
            + self.deferred.capacity() * size_of::<K>()
    }
}

/// Adj-RIB-Out of an update group that advertises nearly every prefix of
/// the shard's Loc-RIB (route server and route reflector clients without
/// export filters): entries kept by Loc-RIB slot, so an entry has no key
/// and no index of its own (RFC 4271 §3.2; the same drains, walks and log
/// as [`AdjRibOut`]).
///
/// ```text
/// columns: [IPv4, IPv6]: Loc-RIB slot -> entry   24 bytes, no key, no index;
///                        a column ends at its last slot ever marked
/// side:    prefix -> entry   withdrawals of prefixes that left the
///                            Loc-RIB, until every member has drained them
/// ```
///
/// The Loc-RIB must record its removals ([`LocRib::record_removals`]) and
/// hand each to [`DenseAdjRibOut::removed`] before this table is marked,
/// read or drained again: a removal moves the Loc-RIB's last slot of the
/// family into the hole, or (many at once) compacts the family's slots in
/// order, and the column follows. A drain reads prefixes from the Loc-RIB
/// it is given, which must be the one whose slots the columns follow.
#[derive(Debug, Default)]
pub struct DenseAdjRibOut {
    columns: [Slots<Entry>; 2],
    side: PrefixMap<Entry>,
    /// Column entries with attributes.
    advertised: usize,
    cursors: Cursors,
    /// Side entries whose withdrawal every member may have drained.
    deferred: Vec<Prefix>,
}

/// A [`DenseAdjRibOut`]'s entries with the Loc-RIB table that names their
/// prefixes.
struct DenseView<'a> {
    columns: &'a [Slots<Entry>; 2],
    side: &'a PrefixMap<Entry>,
    keys: &'a AdjRibIn,
}

impl Store for DenseView<'_> {
    fn entry_at(&self, pos: usize) -> Option<(usize, Prefix, &Entry)> {
        let (mut v6, mut i) = match pos.checked_sub(V6_BASE) {
            Some(i) => (true, i),
            None => (false, pos),
        };
        loop {
            let base = if v6 { V6_BASE } else { 0 };
            let col = column(self.columns, v6);
            if let Some(e) = col.get(i) {
                let key = u32::try_from(i).ok().and_then(|s| self.keys.key_at(v6, s));
                if let Some(prefix) = key {
                    return Some((base + i, prefix, e));
                }
                // Not reached: a column is never longer than its table.
                i += 1;
            } else if v6 {
                return None;
            } else {
                (v6, i) = (true, 0);
            }
        }
    }

    fn at(&self, place: Place) -> Option<(Prefix, &Entry)> {
        if place.side {
            return self.side.at_slot(place.v6, place.slot);
        }
        let e = column(self.columns, place.v6).get(place.slot as usize)?;
        Some((self.keys.key_at(place.v6, place.slot)?, e))
    }
}

/// The column of a family.
fn column(columns: &[Slots<Entry>; 2], v6: bool) -> &Slots<Entry> {
    let [v4, v6s] = columns;
    if v6 { v6s } else { v4 }
}

/// The column of a family, mutable.
fn column_mut(columns: &mut [Slots<Entry>; 2], v6: bool) -> &mut Slots<Entry> {
    let [v4, v6s] = columns;
    if v6 { v6s } else { v4 }
}

impl DenseAdjRibOut {
    /// An empty Adj-RIB-Out without members.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn view<'a>(&'a self, loc: &'a LocRib) -> DenseView<'a> {
        DenseView {
            columns: &self.columns,
            side: &self.side,
            keys: loc.adj_in(),
        }
    }

    /// [`AdjRibOut::add_member`].
    pub fn add_member(&mut self) -> MemberId {
        self.cursors.add_member(self.advertised > 0)
    }

    /// [`AdjRibOut::rewalk`].
    pub fn rewalk(&mut self, member: MemberId) -> bool {
        self.cursors.rewalk(member, self.advertised > 0)
    }

    /// [`AdjRibOut::remove_member`].
    pub fn remove_member(&mut self, id: MemberId) -> bool {
        let removed = self.cursors.remove_member(id);
        self.prune();
        removed
    }

    /// [`AdjRibOut::mark_hinted`] for `prefix`, which has `slot` in the
    /// Loc-RIB ([`LocRib::paths_at`]; `None` when it is not there, and then
    /// nothing is advertised: [`DenseAdjRibOut::removed`] withdrew it).
    ///
    /// # Errors
    /// [`RibError::Full`] when a withdrawal pending for the prefix could
    /// not be kept (not in practice).
    pub fn mark_at(
        &mut self,
        prefix: Prefix,
        slot: Option<u32>,
        state: Option<Advertised>,
        hint: bool,
    ) -> Result<bool, RibError> {
        let Some(slot) = slot else {
            return Ok(false);
        };
        let (attrs, path_id) = match state {
            Some(a) => (Some(a.attrs), a.path_id),
            None => (None, 0),
        };
        let (v6, i) = (is_v6(&prefix), slot as usize);
        let floor = self.cursors.floor;
        let col = column(&self.columns, v6);
        let vacant = col.get(i).is_none_or(|e| e.is_vacant(floor));
        if vacant && attrs.is_none() {
            return Ok(false);
        }
        // A withdrawal still pending from when the prefix left the Loc-RIB
        // gives way to the new entry, which keeps its birth.
        let inherited = if vacant && self.side.len() > 0 {
            self.take_side(&prefix)
        } else {
            None
        };
        let col = column_mut(&mut self.columns, v6);
        while col.len() <= i {
            col.push(Entry::VACANT);
        }
        let Some(e) = col.get_mut(i) else {
            return Ok(false);
        };
        if e.attrs == attrs && (attrs.is_none() || e.path_id == path_id) {
            e.set_hint(hint);
            return Ok(false);
        }
        let withdrawn = attrs.is_none();
        if e.attrs.is_some() != attrs.is_some() {
            if withdrawn {
                self.advertised -= 1;
            } else {
                self.advertised += 1;
            }
        }
        let seq = self.cursors.last_seq + 1;
        if vacant {
            let born = inherited.as_ref().map_or(seq, Entry::born);
            *e = Entry::new(attrs, path_id, seq, hint).born_at(born);
        } else {
            self.cursors.log.kill(e.seq);
            e.change(attrs, path_id, seq, hint);
        }
        let place = Place {
            v6,
            side: false,
            slot,
        };
        self.cursors.stamp(place, withdrawn);
        Ok(true)
    }

    /// [`AdjRibOut::touch`] for `prefix` at `slot` of the Loc-RIB (see
    /// [`DenseAdjRibOut::mark_at`]).
    pub fn touch_at(&mut self, prefix: &Prefix, slot: Option<u32>, hint: bool) -> bool {
        let Some(slot) = slot else {
            return false;
        };
        let v6 = is_v6(prefix);
        let floor = self.cursors.floor;
        let seq = self.cursors.last_seq + 1;
        let col = column_mut(&mut self.columns, v6);
        let Some(e) = col.get_mut(slot as usize).filter(|e| !e.is_vacant(floor)) else {
            return false;
        };
        self.cursors.log.kill(e.seq);
        e.restamp(seq);
        e.set_hint(hint);
        let withdrawn = e.attrs.is_none();
        let place = Place {
            v6,
            side: false,
            slot,
        };
        self.cursors.stamp(place, withdrawn);
        true
    }

    /// Follows a Loc-RIB removal: each removed prefix's entry is withdrawn
    /// (kept in the side table until every member has drained that), and
    /// the column's slots move as the Loc-RIB's did.
    pub fn removed(&mut self, r: &Removal) {
        match r {
            Removal::Moved {
                prefix,
                slot,
                moved_from,
            } => self.removed_one(*prefix, *slot, *moved_from),
            Removal::Compacted { v6, removed } => self.compacted(*v6, removed),
        }
    }

    /// One prefix left `slot`; the Loc-RIB's last slot of the family,
    /// `moved_from`, took its place. A member whose walk is past the hole
    /// and short of the moved slot would miss the moved entry: it is
    /// logged again (members past both get it twice).
    fn removed_one(&mut self, prefix: Prefix, slot: u32, moved_from: Option<u32>) {
        let v6 = is_v6(&prefix);
        let s = slot as usize;
        let col = column_mut(&mut self.columns, v6);
        let gone = col.get_mut(s).map(|e| std::mem::replace(e, Entry::VACANT));
        let from = moved_from.map(|f| f as usize);
        let moved = match from {
            // A column is never longer than its Loc-RIB table: the moved
            // slot is the column's last.
            Some(from) if from < col.len() => {
                debug_assert_eq!(from + 1, col.len(), "a column outgrew its table");
                let last = col.pop();
                match (last, col.get_mut(s)) {
                    (Some(last), Some(hole)) => {
                        *hole = last;
                        Some(from)
                    }
                    _ => None,
                }
            }
            _ => {
                if from.is_none() && s + 1 == col.len() {
                    col.pop();
                }
                None
            }
        };
        if let Some(e) = gone {
            self.keep_withdrawal(prefix, e);
        }
        if let Some(from) = moved {
            self.moved(v6, from, slot);
        }
    }

    /// Many prefixes of one family left at once (`removed`, by ascending
    /// slot) and the Loc-RIB's kept slots moved down in order over them:
    /// the column drops the same slots, and log entries and walks move
    /// down with their slots. Nothing is skipped: the order stays.
    fn compacted(&mut self, v6: bool, removed: &[(u32, Prefix)]) {
        for &(slot, prefix) in removed {
            let col = column_mut(&mut self.columns, v6);
            let Some(e) = col.get_mut(slot as usize) else {
                // Past the column's end: so is every slot after.
                break;
            };
            let e = std::mem::replace(e, Entry::VACANT);
            self.keep_withdrawal(prefix, e);
        }
        // The withdrawals just kept are in the side table: the column's
        // log entries left are those of kept slots.
        let col = column_mut(&mut self.columns, v6);
        if col.len() > 0 {
            let mut i = 0;
            let mut next = removed.iter().map(|(slot, _)| *slot).peekable();
            col.retain(|_| {
                let drop_it = next.next_if_eq(&i).is_some();
                i += 1;
                !drop_it
            });
        }
        // Removed slots below `slot`.
        let below = |slot: u32| {
            let n = removed.partition_point(|(r, _)| *r < slot);
            u32::try_from(n).unwrap_or(u32::MAX)
        };
        self.cursors.log.remap(|place| {
            if place.v6 == v6 && !place.side {
                place.slot -= below(place.slot);
            }
        });
        let base = if v6 { V6_BASE } else { 0 };
        let family = if v6 { V6_BASE..usize::MAX } else { 0..V6_BASE };
        for m in self.cursors.members.iter_mut().flatten() {
            if let Some(w) = m.walk.as_mut().filter(|w| family.contains(*w)) {
                let at = u32::try_from(*w - base).unwrap_or(u32::MAX);
                *w -= below(at) as usize;
            }
        }
    }

    /// The entry at `from` moved to `slot` (lower) of its column.
    fn moved(&mut self, v6: bool, from: usize, slot: u32) {
        let floor = self.cursors.floor;
        let base = if v6 { V6_BASE } else { 0 };
        let (hole, was) = (base + slot as usize, base + from);
        let col = column_mut(&mut self.columns, v6);
        let Some(e) = col.get_mut(slot as usize) else {
            return;
        };
        let place = Place {
            v6,
            side: false,
            slot,
        };
        let skipped = e.attrs.is_some()
            && self.cursors.members.iter().flatten().any(|m| {
                m.walk
                    .is_some_and(|w| hole < w && w <= was && e.seq <= m.cursor)
            });
        if skipped {
            let seq = self.cursors.last_seq + 1;
            self.cursors.log.kill(e.seq);
            e.restamp(seq);
            self.cursors.stamp(place, false);
        } else if e.seq > floor {
            self.cursors.log.reslot(e.seq, place);
        }
    }

    /// Keeps the withdrawal of `prefix`, which left the Loc-RIB with entry
    /// `e`, in the side table while some member has not drained it.
    fn keep_withdrawal(&mut self, prefix: Prefix, mut e: Entry) {
        let v6 = is_v6(&prefix);
        let announced = e.attrs.is_some();
        if announced {
            self.advertised -= 1;
        }
        if !self.cursors.live() || e.is_vacant(self.cursors.floor) {
            // Nobody to tell, or everybody told.
            return;
        }
        let seq = self.cursors.last_seq + 1;
        if announced {
            self.cursors.log.kill(e.seq);
            let (path_id, hint) = (e.path_id, e.hint());
            e.change(None, path_id, seq, hint);
        }
        let old_seq = e.seq;
        let slot = match self.side.entry(prefix) {
            Ok(Slot::Occupied(i, old)) => {
                self.cursors.log.kill(old.seq);
                *old = e;
                i
            }
            Ok(Slot::Vacant(v)) => {
                let i = u32::try_from(v.index()).unwrap_or(u32::MAX);
                if v.insert(e).is_err() {
                    return;
                }
                i
            }
            Err(_) => return,
        };
        let place = Place {
            v6,
            side: true,
            slot,
        };
        if announced {
            self.cursors.stamp(place, true);
        } else {
            self.cursors.log.reslot(old_seq, place);
        }
    }

    /// Takes `prefix`'s entry out of the side table, its log entry dead;
    /// the side table's last slot of the family moves into its place.
    fn take_side(&mut self, prefix: &Prefix) -> Option<Entry> {
        let (slot, e) = self.side.remove_indexed(prefix)?;
        self.cursors.log.kill(e.seq);
        let v6 = is_v6(prefix);
        if let Some((_, moved)) = self.side.at_slot(v6, slot) {
            let place = Place {
                v6,
                side: true,
                slot,
            };
            self.cursors.log.reslot(moved.seq, place);
        }
        Some(e)
    }

    /// [`AdjRibOut::drain`], the prefixes read from `loc`.
    pub fn drain(&mut self, loc: &LocRib, member: MemberId, max: usize) -> Drain {
        self.drain_shared_upto(loc, &[member], max, u64::MAX)
    }

    /// [`AdjRibOut::drain_shared_upto`], the prefixes read from `loc`.
    pub fn drain_shared_upto(
        &mut self,
        loc: &LocRib,
        members: &[MemberId],
        max: usize,
        upto: u64,
    ) -> Drain {
        let view = DenseView {
            columns: &self.columns,
            side: &self.side,
            keys: loc.adj_in(),
        };
        let out = self.cursors.drain_shared_upto(&view, members, max, upto);
        self.prune();
        out
    }

    /// [`AdjRibOut::position`].
    #[must_use]
    pub fn position(&self, member: MemberId) -> Option<MemberPosition> {
        self.cursors.position(member)
    }

    /// [`AdjRibOut::advance`].
    pub fn advance(
        &mut self,
        members: &[MemberId],
        from: MemberPosition,
        to: MemberPosition,
    ) -> usize {
        let moved = self.cursors.advance(members, from, to);
        self.prune();
        moved
    }

    /// [`AdjRibOut::slowest_seq`].
    #[must_use]
    pub fn slowest_seq(&self) -> u64 {
        self.cursors.min_cursor()
    }

    /// Drops log entries every member has drained, and the side entries
    /// of withdrawals every member has seen (the side table is not
    /// walked: no wait for walks).
    fn prune(&mut self) {
        let (side, deferred) = (&self.side, &mut self.deferred);
        let min = self.cursors.pop_drained(|place| {
            if place.side {
                deferred.extend(side.at_slot(place.v6, place.slot).map(|(key, _)| key));
            }
        });
        for prefix in std::mem::take(&mut self.deferred) {
            let done = self
                .side
                .get(&prefix)
                .is_some_and(|e| e.attrs.is_none() && e.seq <= min);
            if done {
                self.take_side(&prefix);
            }
        }
    }

    /// Starts loading the entry at `slot` of the Loc-RIB's table of
    /// `prefix`'s family into the cache.
    pub fn prefetch_entry(&self, prefix: &Prefix, slot: u32) {
        if let Some(e) = column(&self.columns, is_v6(prefix)).get(slot as usize) {
            super::prefetch::prefetch(e);
        }
    }

    /// What the group currently advertises for `prefix`, at `slot` of the
    /// Loc-RIB (see [`DenseAdjRibOut::mark_at`]).
    #[must_use]
    pub fn get_at(&self, prefix: &Prefix, slot: Option<u32>) -> Option<Advertised> {
        column(&self.columns, is_v6(prefix))
            .get(slot? as usize)?
            .advertised()
    }

    /// [`AdjRibOut::entries`], the prefixes read from `loc`.
    pub fn entries<'a>(&'a self, loc: &'a LocRib) -> impl Iterator<Item = (Prefix, u32)> + 'a {
        let floor = self.cursors.floor;
        let keys = loc.adj_in();
        let columns = [false, true].into_iter().flat_map(move |v6| {
            column(&self.columns, v6)
                .iter()
                .zip(0u32..)
                .filter(move |(e, _)| !e.is_vacant(floor))
                .filter_map(move |(e, slot)| Some((keys.key_at(v6, slot)?, e.path_id)))
        });
        columns.chain(self.side.iter().map(|(k, e)| (k, e.path_id)))
    }

    /// [`AdjRibOut::pending`], the prefixes read from `loc`.
    #[must_use]
    pub fn pending(&self, loc: &LocRib, member: MemberId) -> usize {
        self.cursors.pending(&self.view(loc), member)
    }

    /// [`AdjRibOut::dirty_len`].
    #[must_use]
    pub fn dirty_len(&self) -> usize {
        self.cursors.log.live()
    }

    /// Number of prefixes advertised plus withdrawals kept for prefixes
    /// that left the Loc-RIB.
    #[must_use]
    pub fn len(&self) -> usize {
        self.advertised + self.side.len()
    }

    /// True when nothing is advertised or kept.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes allocated: columns, side table, log, members, deferred
    /// removals.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.columns.iter().map(Slots::heap_bytes).sum::<usize>()
            + self.side.heap_bytes()
            + self.cursors.heap_bytes()
            + self.deferred.capacity() * size_of::<Prefix>()
    }
}

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Announce = 0,
    Withdraw = 1,
    /// The key changed again later: a newer entry stands for it.
    Dead = 2,
}

/// A log entry, 8 bytes: where its key is (the slot of the key's table
/// entry in its family's table; no key, whatever the key, where a
/// [`Prefix`] alone is 20 bytes), and the change's sequence number as an
/// offset from its chunk's [`base`](Chunk::base), with what it records,
/// the table (a dense Adj-RIB-Out's side table or the main one) and the
/// key's family in the top bits. The slot is kept exact: a
/// removal that moves a table entry moves the slot of its live log entry
/// too ([`Log::reslot`]).
#[derive(Debug, Clone, Copy)]
struct Logged {
    /// Low [`OFFSET_BITS`]: sequence number − the chunk's base; then two
    /// bits of [`Kind`]; then [`SIDE_BIT`]; top bit: the key is an IPv6
    /// prefix.
    tag: u32,
    slot: u32,
}

/// Bits of a [`Logged`] sequence number offset.
const OFFSET_BITS: u32 = 28;
/// The largest offset from its chunk's base a [`Logged`] can have.
const OFFSET_MAX: u64 = (1 << OFFSET_BITS) - 1;
/// The IPv6 bit of [`Logged::tag`].
const V6_BIT: u32 = 1 << 31;
/// The bit of [`Logged::tag`] for an entry of a [`DenseAdjRibOut`]'s side
/// table.
const SIDE_BIT: u32 = 1 << 30;

impl Logged {
    /// The entry of `seq` in a chunk based at `base` (`seq - base` at
    /// most [`OFFSET_MAX`], which [`Chunk::fits`] checks).
    #[allow(clippy::cast_possible_truncation)] // masked to OFFSET_BITS
    const fn new(base: u64, seq: u64, kind: Kind, place: Place) -> Self {
        debug_assert!(seq >= base && seq - base <= OFFSET_MAX);
        let offset = (seq.saturating_sub(base) & OFFSET_MAX) as u32;
        let v6 = if place.v6 { V6_BIT } else { 0 };
        let side = if place.side { SIDE_BIT } else { 0 };
        Self {
            tag: offset | (kind as u32) << OFFSET_BITS | side | v6,
            slot: place.slot,
        }
    }

    /// The sequence number, in a chunk based at `base`.
    const fn seq(self, base: u64) -> u64 {
        base + (self.tag as u64 & OFFSET_MAX)
    }

    const fn kind(self) -> Kind {
        match (self.tag >> OFFSET_BITS) & 3 {
            0 => Kind::Announce,
            1 => Kind::Withdraw,
            _ => Kind::Dead,
        }
    }

    const fn place(self) -> Place {
        Place {
            v6: self.tag & V6_BIT != 0,
            side: self.tag & SIDE_BIT != 0,
            slot: self.slot,
        }
    }

    /// The entry's key moved to `place`.
    const fn set_place(&mut self, place: Place) {
        let side = if place.side { SIDE_BIT } else { 0 };
        self.tag = (self.tag & !SIDE_BIT) | side;
        debug_assert!(place.v6 == (self.tag & V6_BIT != 0));
        self.slot = place.slot;
    }

    const fn kill(&mut self) {
        self.tag = (self.tag & !(3 << OFFSET_BITS)) | (Kind::Dead as u32) << OFFSET_BITS;
    }

    /// The same entry in a chunk based at `to`, from one based at `from`.
    const fn rebase(self, from: u64, to: u64) -> Self {
        Self::new(to, self.seq(from), self.kind(), self.place())
    }
}

/// True for a key of the IPv6 family.
fn is_v6<K: OutKey>(key: &K) -> bool {
    matches!(key.prefix(), Prefix::V6(_))
}

/// A stretch of the log: entries in sequence order, numbered from `base`.
#[derive(Debug)]
struct Chunk {
    /// The sequence number the entries' offsets count from: at most the
    /// first's.
    base: u64,
    entries: VecDeque<Logged>,
}

impl Chunk {
    /// True when an entry of `seq` (not below the base) can go in.
    const fn fits(&self, seq: u64) -> bool {
        seq.saturating_sub(self.base) <= OFFSET_MAX
    }

    fn first_seq(&self) -> Option<u64> {
        self.entries.front().map(|e| e.seq(self.base))
    }

    fn last_seq(&self) -> Option<u64> {
        self.entries.back().map(|e| e.seq(self.base))
    }

    /// Entries with a sequence number up to `seq`.
    fn upto(&self, seq: u64) -> usize {
        self.entries.partition_point(|e| e.seq(self.base) <= seq)
    }
}

/// The change log of an [`AdjRibOut`]: entries in increasing sequence
/// order, at most one live entry per key. A re-marked key's old entry is
/// marked dead in place; dead entries are skipped, dropped at the front
/// and compacted away once they outnumber the live ones, so the log never
/// holds more than about twice the dirty keys.
///
/// ```text
/// chunks: [chunk][chunk]...[chunk]   each a base sequence number and a
///                                     ring of at most CHUNK 8-byte entries
///                                     (offsets from the base), none empty,
///                                     sequence order throughout
/// ```
///
/// In chunks rather than one ring buffer: a burst (a full table behind a
/// member that reads slowly) grows the log by whole chunks, not by copying
/// it into a buffer twice the size, and chunks the slowest member has
/// passed go back as it drains. One ring held up to twice the backlog at
/// its peak (16 MiB for 262,144 pending prefixes in bgperf 2 × 500k, with
/// the 32-byte entries of then). An entry was 16 bytes with its sequence
/// number whole.
#[derive(Debug, Default)]
struct Log {
    chunks: VecDeque<Chunk>,
    /// Entries in all chunks, dead ones included.
    len: usize,
    dead: usize,
    /// A drained chunk's buffer kept for the next one: a steady flow of
    /// changes reuses one buffer.
    spare: Option<VecDeque<Logged>>,
}

impl Log {
    /// Entries per chunk at most (16 KiB). Tiny in tests, so that they
    /// cross chunk boundaries.
    const CHUNK: usize = if cfg!(test) { 8 } else { 2048 };

    /// Entries a new chunk holds at least. A chunk is made with room for
    /// as many entries as the log holds (within these bounds): a log of a
    /// few changes costs a few entries.
    const MIN_CHUNK: usize = if cfg!(test) { 2 } else { 16 };

    /// Dead entries beyond the live ones that trigger a compaction. Tiny
    /// in tests, so that they compact often.
    const DEAD_SLACK: usize = if cfg!(test) { 2 } else { 64 };

    /// Entries a log keeps room for however far it drains (2 KiB).
    const KEEP: usize = 256;

    /// Logs a change of the key at `place`; `seq` is above every logged
    /// one.
    fn push(&mut self, seq: u64, place: Place, withdrawn: bool) {
        let kind = if withdrawn {
            Kind::Withdraw
        } else {
            Kind::Announce
        };
        match self.chunks.back_mut() {
            Some(c)
                if c.entries.len() < c.entries.capacity()
                    && c.entries.len() < Self::CHUNK
                    && c.fits(seq) =>
            {
                c.entries.push_back(Logged::new(c.base, seq, kind, place));
            }
            _ => {
                let mut entries = self.spare.take().unwrap_or_else(|| {
                    VecDeque::with_capacity(self.len.clamp(Self::MIN_CHUNK, Self::CHUNK))
                });
                entries.push_back(Logged::new(seq, seq, kind, place));
                self.chunks.push_back(Chunk { base: seq, entries });
            }
        }
        self.len += 1;
    }

    /// Where the entries above `cursor` start: a chunk and a position in
    /// it (the chunk count when there are none).
    fn start(&self, cursor: u64) -> (usize, usize) {
        let c = self
            .chunks
            .partition_point(|c| c.last_seq().is_some_and(|s| s <= cursor));
        let i = self.chunks.get(c).map_or(0, |c| c.upto(cursor));
        (c, i)
    }

    /// The entry of `seq`, if the log holds it.
    fn find_mut(&mut self, seq: u64) -> Option<&mut Logged> {
        // An entry older than the log was dropped already: the common case
        // once members are up to date, answered without a search.
        let first = self.chunks.front().and_then(Chunk::first_seq);
        if first.is_none_or(|f| seq < f) {
            return None;
        }
        // The first entry at `seq` or above (`seq` is at least the first's).
        let (c, i) = self.start(seq.saturating_sub(1));
        let chunk = self.chunks.get_mut(c)?;
        let base = chunk.base;
        chunk.entries.get_mut(i).filter(|e| e.seq(base) == seq)
    }

    /// The key of the entry of `seq` (if live) moved to `place` (in its
    /// family).
    fn reslot(&mut self, seq: u64, place: Place) {
        if let Some(e) = self.find_mut(seq) {
            e.set_place(place);
        }
    }

    /// Moves every entry's key to the place `f` gives (in the same
    /// family): a table compacted under the log.
    fn remap(&mut self, mut f: impl FnMut(&mut Place)) {
        for e in self.chunks.iter_mut().flat_map(|c| c.entries.iter_mut()) {
            let mut place = e.place();
            f(&mut place);
            e.set_place(place);
        }
    }

    /// Marks the entry of `seq` dead (no-op when it was dropped already).
    fn kill(&mut self, seq: u64) {
        if let Some(e) = self.find_mut(seq)
            && e.kind() != Kind::Dead
        {
            e.kill();
            self.dead += 1;
        }
        if self.dead > self.live() + Self::DEAD_SLACK {
            self.compact();
        }
    }

    /// Drops the dead entries and packs the live ones into as few chunks
    /// as they fill (and their offsets allow), reusing the chunks' own
    /// buffers.
    fn compact(&mut self) {
        let mut packed: VecDeque<Chunk> = VecDeque::with_capacity(self.chunks.len());
        while let Some(mut c) = self.chunks.pop_front() {
            c.entries.retain(|e| e.kind() != Kind::Dead);
            // Fill the previous chunk up first; what is left stays here.
            if let Some(b) = packed.back_mut() {
                let room = b.entries.capacity().min(Self::CHUNK);
                let room = room.saturating_sub(b.entries.len());
                let (from, to) = (c.base, b.base);
                let n = c
                    .entries
                    .iter()
                    .take(room)
                    .take_while(|e| b.fits(e.seq(from)))
                    .count();
                b.entries
                    .extend(c.entries.drain(..n).map(|e| e.rebase(from, to)));
            }
            if !c.entries.is_empty() {
                packed.push_back(c);
            }
        }
        self.chunks = packed;
        self.len = self.chunks.iter().map(|c| c.entries.len()).sum();
        self.dead = 0;
    }

    /// The live entries with a sequence number above `cursor`, in order:
    /// sequence number and place.
    fn after(&self, cursor: u64) -> impl Iterator<Item = (u64, Place)> {
        let (c, i) = self.start(cursor);
        let mut chunks = self.chunks.range(c.min(self.chunks.len())..);
        let first = chunks
            .next()
            .map(|c| (c.base, c.entries.range(i.min(c.entries.len())..)));
        first
            .into_iter()
            .flat_map(|(base, r)| r.map(move |e| (base, e)))
            .chain(chunks.flat_map(|c| c.entries.iter().map(move |e| (c.base, e))))
            .filter(|(_, e)| e.kind() != Kind::Dead)
            .map(|(base, e)| (e.seq(base), e.place()))
    }

    /// How many entries, dead ones included, have a sequence number above
    /// `cursor`: at least as many as [`Log::after`] yields.
    fn len_after(&self, cursor: u64) -> usize {
        let (c, i) = self.start(cursor);
        let tail: usize = self
            .chunks
            .range(c.min(self.chunks.len())..)
            .map(|c| c.entries.len())
            .sum();
        tail.saturating_sub(i)
    }

    /// Drops the entries up to `seq`, calling `withdrawn(place)` for each
    /// live withdrawal among them.
    fn pop_upto(&mut self, seq: u64, mut withdrawn: impl FnMut(Place)) {
        while let Some(c) = self.chunks.front_mut() {
            while let Some(&e) = c.entries.front() {
                if e.seq(c.base) > seq {
                    return;
                }
                c.entries.pop_front();
                self.len -= 1;
                match e.kind() {
                    Kind::Dead => self.dead -= 1,
                    Kind::Withdraw => withdrawn(e.place()),
                    Kind::Announce => {}
                }
            }
            // Drained: the next chunk may reuse its buffer.
            if let Some(c) = self.chunks.pop_front()
                && self.spare.is_none()
            {
                self.spare = Some(c.entries);
            }
        }
        // All drained (a return above leaves entries): a burst's large
        // chunk and long chunk list would otherwise stay for good.
        if self
            .spare
            .as_ref()
            .is_some_and(|c| c.capacity() > Self::KEEP)
        {
            self.spare = None;
        }
        self.chunks.shrink_to(4);
    }

    fn live(&self) -> usize {
        self.len - self.dead
    }

    fn heap_bytes(&self) -> usize {
        let entries: usize = self
            .chunks
            .iter()
            .map(|c| &c.entries)
            .chain(&self.spare)
            .map(VecDeque::capacity)
            .sum();
        entries * size_of::<Logged>() + self.chunks.capacity() * size_of::<Chunk>()
    }
}

#[cfg(test)]
mod tests;
