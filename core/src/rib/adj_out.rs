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

use std::collections::VecDeque;

use hashbrown::HashMap;

use super::prefix_map::{MapKey, PrefixMap, Slot};
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
    /// Next table position of the initial walk ([`PrefixMap::entry_at`]),
    /// `None` once done.
    walk: Option<usize>,
}

/// Where a member of an [`AdjRibOut`] stands (opaque; compare for
/// equality).
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

/// Adj-RIB-Out of one update group, keyed by prefix (`K` = [`Prefix`]) or
/// by prefix and path id (`K` = `(Prefix, u32)`, ADD-PATH send).
#[derive(Debug)]
pub struct AdjRibOut<K: OutKey = Prefix> {
    table: PrefixMap<Entry, K>,
    log: Log,
    last_seq: u64,
    members: Vec<Option<Member>>,
    /// Withdrawn keys whose removal waits for joining members' walks.
    deferred: Vec<K>,
}

impl<K: OutKey> Default for AdjRibOut<K> {
    fn default() -> Self {
        Self {
            table: PrefixMap::default(),
            log: Log::default(),
            last_seq: 0,
            members: Vec::new(),
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
        let m = Member {
            cursor: self.last_seq,
            walk: (self.table.len() > 0).then_some(0),
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

    /// Makes `member` walk the whole table again, as a joining member does,
    /// but keeping its place in the log: a route refresh (RFC 2918 §4; RFC
    /// 7313 §4 between BoRR and EoRR). What changed since its last drain
    /// still comes after the walk, so a withdrawal it had not drained when
    /// the refresh began is not lost (a member added anew would start past
    /// it, while its peer may hold the path from a drain sent before).
    /// Returns false for an unknown member.
    pub fn rewalk(&mut self, member: MemberId) -> bool {
        let walk = (self.table.len() > 0).then_some(0);
        match self.members.get_mut(member.0 as usize) {
            Some(Some(m)) => {
                m.walk = walk;
                true
            }
            _ => false,
        }
    }

    /// Removes a member (session down); returns false when unknown.
    pub fn remove_member(&mut self, id: MemberId) -> bool {
        let removed = self
            .members
            .get_mut(id.0 as usize)
            .and_then(Option::take)
            .is_some();
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
        let live = self.members.iter().any(Option::is_some);
        let seq = self.last_seq + 1;
        let withdrawn = attrs.is_none();
        let slot = match self.table.entry(prefix)? {
            Slot::Occupied(_, e)
                if e.attrs == attrs && (attrs.is_none() || e.path_id == path_id) =>
            {
                e.set_hint(hint);
                return Ok(false);
            }
            Slot::Occupied(i, e) => {
                self.log.kill(e.seq);
                // A withdrawal keeps the path id that was advertised.
                e.path_id = if attrs.is_some() { path_id } else { e.path_id };
                e.attrs = attrs;
                e.restamp(seq);
                e.set_hint(hint);
                i
            }
            Slot::Vacant(_) if attrs.is_none() => return Ok(false),
            Slot::Vacant(v) => {
                let i = u32::try_from(v.index()).unwrap_or(u32::MAX);
                v.insert(Entry {
                    attrs,
                    path_id,
                    seq,
                    age_hint: if hint { HINT } else { 0 },
                })?;
                i
            }
        };
        self.last_seq = seq;
        if live {
            self.log.push(seq, is_v6(&prefix), withdrawn, slot);
        } else if withdrawn {
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
        let seq = self.last_seq + 1;
        let Some((slot, e)) = self.table.get_mut_indexed(&prefix) else {
            return false;
        };
        self.log.kill(e.seq);
        e.restamp(seq);
        e.set_hint(hint);
        let withdrawn = e.attrs.is_none();
        self.last_seq = seq;
        if self.members.iter().any(Option::is_some) {
            self.log.push(seq, is_v6(&prefix), withdrawn, slot);
        }
        true
    }

    /// Up to `max` prefixes whose state `member` has not seen, oldest
    /// change first, grouped by attribute set; a withdrawal of an entry
    /// made after the member's last drain is left out (and not counted).
    /// Empty when the member is up to date or unknown. Call when the
    /// member's socket can take more.
    pub fn drain(&mut self, member: MemberId, max: usize) -> Drain {
        self.drain_upto(member, max, u64::MAX)
    }

    /// [`AdjRibOut::drain`], taking no log entry past sequence number
    /// `upto`: a member that takes everything up to it stands at `upto`
    /// afterwards (where a member drained from before, see
    /// [`AdjRibOut::drain_shared_upto`]).
    fn drain_upto(&mut self, member: MemberId, max: usize, upto: u64) -> Drain {
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
            match self.table.entry_at(pos) {
                Some((at, prefix, e)) => {
                    // Later changes come from the log: skip them here.
                    // The walk is a joining member's first view; it may
                    // hold paths from a group it left, so nothing is fresh.
                    if e.attrs.is_some() && e.seq <= m.cursor && out.push(prefix.prefix(), e, false)
                    {
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
                let Some((seq, v6, slot)) = range.next_if(|(seq, _, _)| *seq <= end) else {
                    break;
                };
                if let Some((key, e)) = self.table.at_slot(v6, slot) {
                    debug_assert_eq!(e.seq, seq, "a log entry names its key's slot");
                    // A withdrawal the member does not need is not counted
                    // toward `max`: an empty drain still means up to date.
                    if out.push(key.prefix(), e, e.born() > seen) {
                        n += 1;
                    }
                }
                m.cursor = seq;
            }
            if range.peek().is_none_or(|(seq, _, _)| *seq > end) {
                // Up to date, or up to the bound: every member that is has
                // the same position, so they can share drains (see
                // `drain_shared`).
                m.cursor = end;
            }
        }
        if let Some(slot) = self.members.get_mut(member.0 as usize) {
            *slot = Some(m);
        }
        self.prune();
        out.finish()
    }

    /// Where `member` stands: members at the same position get the same
    /// drains, which [`AdjRibOut::drain_shared`] computes once. `None` for
    /// an unknown member.
    #[must_use]
    pub fn position(&self, member: MemberId) -> Option<MemberPosition> {
        let m = self.members.get(member.0 as usize).copied().flatten()?;
        Some(MemberPosition(m))
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
        let Some((&first, rest)) = members.split_first() else {
            return Drain::default();
        };
        let Some(at) = self.position(first) else {
            return Drain::default();
        };
        let out = self.drain_upto(first, max, upto);
        let after = self.members.get(first.0 as usize).copied().flatten();
        for id in rest {
            if self.position(*id) == Some(at)
                && let Some(slot) = self.members.get_mut(id.0 as usize)
            {
                *slot = after;
            }
        }
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
        self.prune();
        moved
    }

    /// The lowest log position of any member: no member can stand at a
    /// position below it again. `last_seq` without members.
    #[must_use]
    pub fn slowest_seq(&self) -> u64 {
        self.members
            .iter()
            .flatten()
            .map(|m| m.cursor)
            .min()
            .unwrap_or(self.last_seq)
    }

    /// Drops log entries every member has drained, and the table entries
    /// of withdrawals every member has seen.
    fn prune(&mut self) {
        let members = self.members.iter().flatten();
        let min = members.map(|m| m.cursor).min().unwrap_or(self.last_seq);
        let walking = self.members.iter().flatten().any(|m| m.walk.is_some());
        let (table, deferred) = (&self.table, &mut self.deferred);
        self.log.pop_upto(min, |v6, slot| {
            deferred.extend(table.at_slot(v6, slot).map(|(key, _)| key));
        });
        if walking {
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
        if let Some((_, moved)) = self.table.at_slot(is_v6(prefix), slot) {
            self.log.reslot(moved.seq, slot);
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
        let e = self.table.get(prefix)?;
        let attrs = e.attrs.clone()?;
        Some(Advertised {
            attrs,
            path_id: e.path_id,
        })
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
        let Some(Some(m)) = self.members.get(member.0 as usize) else {
            return 0;
        };
        let walk = m.walk.map_or(0, |pos| {
            self.table
                .iter_from(pos)
                .filter(|(_, e)| e.attrs.is_some() && e.seq <= m.cursor)
                .count()
        });
        walk + self.log.after(m.cursor).count()
    }

    /// Number of dirty prefixes: changed after the slowest member's cursor.
    #[must_use]
    pub fn dirty_len(&self) -> usize {
        self.log.live()
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
            + self.log.heap_bytes()
            + self.members.capacity() * size_of::<Option<Member>>()
            + self.deferred.capacity() * size_of::<K>()
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
/// offset from its chunk's [`base`](Chunk::base), with what it records
/// and the key's family in the top bits. The slot is kept exact: a
/// removal that moves a table entry moves the slot of its live log entry
/// too ([`Log::reslot`]).
#[derive(Debug, Clone, Copy)]
struct Logged {
    /// Low [`OFFSET_BITS`]: sequence number − the chunk's base; then two
    /// bits of [`Kind`]; top bit: the key is an IPv6 prefix.
    tag: u32,
    slot: u32,
}

/// Bits of a [`Logged`] sequence number offset.
const OFFSET_BITS: u32 = 29;
/// The largest offset from its chunk's base a [`Logged`] can have.
const OFFSET_MAX: u64 = (1 << OFFSET_BITS) - 1;
/// The IPv6 bit of [`Logged::tag`].
const V6_BIT: u32 = 1 << 31;

impl Logged {
    /// The entry of `seq` in a chunk based at `base` (`seq - base` at
    /// most [`OFFSET_MAX`], which [`Chunk::fits`] checks).
    #[allow(clippy::cast_possible_truncation)] // masked to OFFSET_BITS
    const fn new(base: u64, seq: u64, kind: Kind, v6: bool, slot: u32) -> Self {
        debug_assert!(seq >= base && seq - base <= OFFSET_MAX);
        let offset = (seq.saturating_sub(base) & OFFSET_MAX) as u32;
        let v6 = if v6 { V6_BIT } else { 0 };
        Self {
            tag: offset | (kind as u32) << OFFSET_BITS | v6,
            slot,
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

    const fn v6(self) -> bool {
        self.tag & V6_BIT != 0
    }

    const fn kill(&mut self) {
        self.tag = (self.tag & !(3 << OFFSET_BITS)) | (Kind::Dead as u32) << OFFSET_BITS;
    }

    /// The same entry in a chunk based at `to`, from one based at `from`.
    const fn rebase(self, from: u64, to: u64) -> Self {
        Self::new(to, self.seq(from), self.kind(), self.v6(), self.slot)
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

    /// Logs a change of the key at `slot` of its family's table; `seq`
    /// is above every logged one.
    fn push(&mut self, seq: u64, v6: bool, withdrawn: bool, slot: u32) {
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
                c.entries
                    .push_back(Logged::new(c.base, seq, kind, v6, slot));
            }
            _ => {
                let mut entries = self.spare.take().unwrap_or_else(|| {
                    VecDeque::with_capacity(self.len.clamp(Self::MIN_CHUNK, Self::CHUNK))
                });
                entries.push_back(Logged::new(seq, seq, kind, v6, slot));
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

    /// The key of the entry of `seq` (if live) moved to `slot` of its
    /// family's table.
    fn reslot(&mut self, seq: u64, slot: u32) {
        if let Some(e) = self.find_mut(seq) {
            e.slot = slot;
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
    /// sequence number, IPv6 or not, slot.
    fn after(&self, cursor: u64) -> impl Iterator<Item = (u64, bool, u32)> {
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
            .map(|(base, e)| (e.seq(base), e.v6(), e.slot))
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

    /// Drops the entries up to `seq`, calling `withdrawn(v6, slot)` for
    /// each live withdrawal among them.
    fn pop_upto(&mut self, seq: u64, mut withdrawn: impl FnMut(bool, u32)) {
        while let Some(c) = self.chunks.front_mut() {
            while let Some(&e) = c.entries.front() {
                if e.seq(c.base) > seq {
                    return;
                }
                c.entries.pop_front();
                self.len -= 1;
                match e.kind() {
                    Kind::Dead => self.dead -= 1,
                    Kind::Withdraw => withdrawn(e.v6(), e.slot),
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
