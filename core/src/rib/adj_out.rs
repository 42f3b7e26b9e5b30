//! Adj-RIB-Out of one update group (RFC 4271 §3.2, §9.2): the latest state
//! per prefix and, per member, what changed since it last drained.
//!
//! There are no message queues: a slow member's backlog is a set of
//! prefixes, so memory is bounded by the table, not by churn.
//!
//! ```text
//! table: prefix -> { attrs: Option<AttrSet>, path_id, seq }   latest state
//! log:   seq -> prefix     one entry per prefix changed after the slowest
//!                          member's cursor; re-marking moves the entry
//! member: cursor (last seq drained) + walk position while joining
//! ```
//!
//! [`AdjRibOut::mark`] stamps a prefix with a new sequence number and moves
//! its single log entry to the end. [`AdjRibOut::drain`] hands a member the
//! log past its cursor, grouped by attribute set so the encoder can pack
//! many NLRI per UPDATE. A member that joins walks the whole table first
//! (initial advertisement, RFC 4271 §9.2 "Update-Send Process"), then
//! follows the log. Withdrawn prefixes leave the table once every member
//! has drained them.

use std::collections::BTreeMap;

use hashbrown::HashMap;

use super::prefix_map::PrefixMap;
use super::{AttrSet, RibError};
use crate::nlri::Prefix;

/// What the group advertises for a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Advertised {
    /// The attribute set sent (after export policy).
    pub attrs: AttrSet,
    /// The ADD-PATH path identifier sent (RFC 7911 §3); 0 without ADD-PATH.
    pub path_id: u32,
}

/// A member (peer session) of the update group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(u32);

/// One batch of changes for one member.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drain {
    /// Prefixes to withdraw, with the path id last advertised.
    pub withdrawn: Vec<(Prefix, u32)>,
    /// Prefixes to announce, grouped by attribute set in order of first
    /// appearance; each prefix with its path id.
    pub announced: Vec<(AttrSet, Vec<(Prefix, u32)>)>,
}

impl Drain {
    /// Number of prefixes in the batch.
    #[must_use]
    pub fn len(&self) -> usize {
        self.withdrawn.len() + self.announced.iter().map(|(_, v)| v.len()).sum::<usize>()
    }

    /// True when the batch is empty (the member is up to date).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn push(&mut self, groups: &mut HashMap<AttrSet, usize>, prefix: Prefix, e: &Entry) {
        let Some(attrs) = &e.attrs else {
            self.withdrawn.push((prefix, e.path_id));
            return;
        };
        let i = *groups.entry(attrs.clone()).or_insert_with(|| {
            self.announced.push((attrs.clone(), Vec::new()));
            self.announced.len() - 1
        });
        if let Some((_, v)) = self.announced.get_mut(i) {
            v.push((prefix, e.path_id));
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    attrs: Option<AttrSet>,
    path_id: u32,
    seq: u64,
}

#[derive(Debug, Clone, Copy)]
struct Member {
    cursor: u64,
    /// Next table slot of the initial walk, `None` once done.
    walk: Option<usize>,
}

/// Adj-RIB-Out of one update group.
#[derive(Debug, Default)]
pub struct AdjRibOut {
    table: PrefixMap<Entry>,
    log: BTreeMap<u64, Prefix>,
    last_seq: u64,
    members: Vec<Option<Member>>,
    /// Withdrawn prefixes whose removal waits for joining members' walks.
    deferred: Vec<Prefix>,
}

impl AdjRibOut {
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
    ///
    /// # Errors
    /// [`RibError::Full`] when a new prefix does not fit.
    pub fn mark(&mut self, prefix: Prefix, state: Option<Advertised>) -> Result<bool, RibError> {
        let (attrs, path_id) = match state {
            Some(a) => (Some(a.attrs), a.path_id),
            None => (None, 0),
        };
        let live = self.members.iter().any(Option::is_some);
        let seq = self.last_seq + 1;
        match self.table.get_mut(&prefix) {
            Some(e) if e.attrs == attrs && (attrs.is_none() || e.path_id == path_id) => {
                return Ok(false);
            }
            Some(e) => {
                self.log.remove(&e.seq);
                // A withdrawal keeps the path id that was advertised.
                e.path_id = if attrs.is_some() { path_id } else { e.path_id };
                e.attrs = attrs;
                e.seq = seq;
            }
            None if attrs.is_none() => return Ok(false),
            None => {
                let e = Entry {
                    attrs,
                    path_id,
                    seq,
                };
                self.table.get_or_insert_with(prefix, || e)?;
            }
        }
        self.last_seq = seq;
        if live {
            self.log.insert(seq, prefix);
        } else if self.table.get(&prefix).is_some_and(|e| e.attrs.is_none()) {
            // Nobody to tell: a withdrawal needs no record.
            self.table.remove(&prefix);
        }
        Ok(true)
    }

    /// Up to `max` prefixes whose state `member` has not seen, oldest
    /// change first, grouped by attribute set. Empty when the member is
    /// up to date or unknown. Call when the member's socket can take more.
    pub fn drain(&mut self, member: MemberId, max: usize) -> Drain {
        let mut out = Drain::default();
        let Some(Some(mut m)) = self.members.get(member.0 as usize).copied() else {
            return out;
        };
        let mut groups: HashMap<AttrSet, usize> = HashMap::new();
        let mut n = 0;
        while let Some(pos) = m.walk {
            if n >= max {
                break;
            }
            match self.table.get_index(pos) {
                Some((prefix, e)) => {
                    // Later changes come from the log: skip them here.
                    if e.attrs.is_some() && e.seq <= m.cursor {
                        out.push(&mut groups, *prefix, e);
                        n += 1;
                    }
                    m.walk = Some(pos + 1);
                }
                None => m.walk = None,
            }
        }
        if m.walk.is_none() {
            let range = self.log.range(m.cursor + 1..).take(max - n);
            for (&seq, prefix) in range {
                if let Some(e) = self.table.get(prefix) {
                    out.push(&mut groups, *prefix, e);
                }
                m.cursor = seq;
            }
        }
        if let Some(slot) = self.members.get_mut(member.0 as usize) {
            *slot = Some(m);
        }
        self.prune();
        out
    }

    /// Drops log entries every member has drained, and the table entries
    /// of withdrawals every member has seen.
    fn prune(&mut self) {
        let members = self.members.iter().flatten();
        let min = members.map(|m| m.cursor).min().unwrap_or(self.last_seq);
        let walking = self.members.iter().flatten().any(|m| m.walk.is_some());
        while let Some(entry) = self.log.first_entry() {
            if *entry.key() > min {
                break;
            }
            self.deferred.push(entry.remove());
        }
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
                self.table.remove(&prefix);
            }
        }
    }

    /// What the group currently advertises for `prefix`.
    #[must_use]
    pub fn get(&self, prefix: &Prefix) -> Option<Advertised> {
        let e = self.table.get(prefix)?;
        let attrs = e.attrs.clone()?;
        Some(Advertised {
            attrs,
            path_id: e.path_id,
        })
    }

    /// Number of prefixes `member` has yet to receive. O(table) while the
    /// member is still walking, O(dirty) after.
    #[must_use]
    pub fn pending(&self, member: MemberId) -> usize {
        let Some(Some(m)) = self.members.get(member.0 as usize) else {
            return 0;
        };
        let walk = m.walk.map_or(0, |pos| {
            (pos..self.table.len())
                .filter_map(|i| self.table.get_index(i))
                .filter(|(_, e)| e.attrs.is_some() && e.seq <= m.cursor)
                .count()
        });
        walk + self.log.range(m.cursor + 1..).count()
    }

    /// Number of dirty prefixes: changed after the slowest member's cursor.
    #[must_use]
    pub fn dirty_len(&self) -> usize {
        self.log.len()
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

    /// Estimated bytes allocated: table, plus ~48 bytes per log entry
    /// (B-tree node share).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.table.heap_bytes()
            + self.log.len() * 48
            + self.members.capacity() * size_of::<Option<Member>>()
            + self.deferred.capacity() * size_of::<Prefix>()
    }
}

#[cfg(test)]
mod tests;
