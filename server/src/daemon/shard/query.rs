//! `show routes` and `show memory` answered from one shard's tables.

use rampart_core::nlri::Prefix;
use rampart_core::rib::{Path, PeerId};

use super::Shard;
use crate::control::Table;
use crate::daemon::group::{Tables, source_tag, tag_is_from, tag_peer};
use crate::daemon::memory::ShardMemory;
use crate::daemon::mrt_dump::slice_of;
use crate::daemon::peer::PathCounts;
use crate::daemon::query::{RouteQuery, RouteRow, Which, covering};

impl Shard {
    /// `dump mrt`: the paths after import policy of the prefixes in
    /// `slice`, the selected path of each prefix first.
    pub(super) fn dump(&self, slice: u8) -> Vec<(Prefix, Path)> {
        self.loc
            .adj_in()
            .iter()
            .filter(|(prefix, _)| slice_of(prefix) == slice)
            .flat_map(|(prefix, paths)| paths.iter().map(move |p| (prefix, p.clone())))
            .collect()
    }

    /// `show peers`: per peer with a session (or stale paths) here, the
    /// paths this shard holds from it in the Adj-RIB-In before import
    /// policy (the same as after when its import accepts everything
    /// unchanged) and after.
    pub(super) fn peer_counts(&self) -> Vec<(PeerId, PathCounts)> {
        let post = self.loc.adj_in();
        self.limits
            .iter()
            .map(|(&peer, state)| {
                let accepted = post.count(peer) as u64;
                let received = if state.import.keeps_pre_policy() {
                    self.adj_pre.count(peer) as u64
                } else {
                    accepted
                };
                (peer, PathCounts { received, accepted })
            })
            .collect()
    }

    /// Answers a `show routes` query from this shard's tables.
    /// `show memory`: what this shard's tables hold and allocate.
    pub(super) fn memory(&self) -> ShardMemory {
        let post = self.loc.adj_in();
        let (import_sets, import_bytes) = (self.interner.len(), self.interner.heap_bytes());
        let mut m = ShardMemory {
            prefixes: post.len(),
            paths: post.path_count(),
            loc_rib_bytes: post.heap_bytes(),
            pre_policy_paths: self.adj_pre.path_count(),
            pre_policy_bytes: self.adj_pre.heap_bytes(),
            groups: self.groups.len(),
            rewritten_sets: import_sets,
            rewritten_set_bytes: import_bytes,
            ..ShardMemory::default()
        };
        for g in &self.groups {
            let (entries, bytes) = g.out.memory();
            let (sets, set_bytes) = g.exporter.memory();
            m.adj_out_entries += entries;
            // The encoded stretches kept for late members count here.
            m.adj_out_bytes += bytes + g.blocks.heap_bytes();
            m.rewritten_sets += sets;
            m.rewritten_set_bytes += set_bytes;
        }
        m
    }

    pub(super) fn query(&mut self, q: &RouteQuery) {
        let mut rows = Vec::new();
        match q.which {
            Which::Exact(p) => self.rows_for(&p, q, &mut rows),
            Which::Longest(p) => {
                for c in covering(p) {
                    self.rows_for(&c, q, &mut rows);
                    if !rows.is_empty() {
                        break;
                    }
                }
            }
            Which::All => {
                let mut prefixes: Vec<Prefix> = match q.table {
                    Table::Loc | Table::Out => self.loc.iter().map(|(p, _)| p).collect(),
                    Table::InPost => self.loc.adj_in().iter().map(|(p, _)| p).collect(),
                    Table::InPre => self
                        .loc
                        .adj_in()
                        .iter()
                        .chain(self.adj_pre.iter())
                        .map(|(p, _)| p)
                        .collect(),
                };
                prefixes.sort_unstable();
                prefixes.dedup();
                for p in prefixes {
                    if rows.len() >= q.limit {
                        break;
                    }
                    self.rows_for(&p, q, &mut rows);
                }
            }
        }
        let _ = q.reply.send(rows);
    }

    fn row(&self, prefix: &Prefix, path: &Path) -> RouteRow {
        let mut r = RouteRow::new(
            prefix,
            self.peers.get(path.peer()).map(|i| i.addr),
            path.attrs(),
        );
        r.best = self.loc.get(prefix).is_some_and(|b| b.same_route(path));
        r.rpki = self
            .rpki
            .as_ref()
            .and_then(|v| v.state_name(prefix, path.attrs()));
        r
    }

    fn rows_for(&mut self, prefix: &Prefix, q: &RouteQuery, rows: &mut Vec<RouteRow>) {
        let from = |p: &&Path| q.peer.is_none_or(|peer| p.peer() == peer);
        match q.table {
            Table::Loc => rows.extend(
                self.loc
                    .get(prefix)
                    .filter(from)
                    .map(|p| self.row(prefix, p)),
            ),
            Table::InPost => rows.extend(
                self.loc
                    .adj_in()
                    .get(prefix)
                    .iter()
                    .filter(from)
                    .map(|p| self.row(prefix, p)),
            ),
            Table::InPre => {
                let pre_kept = |p: &Path| {
                    self.limits
                        .get(&p.peer())
                        .is_some_and(|s| s.import.keeps_pre_policy())
                };
                for p in self.loc.adj_in().get(prefix).iter().filter(from) {
                    if !pre_kept(p) {
                        rows.push(self.row(prefix, p));
                    }
                }
                let pre: Vec<Path> = self
                    .adj_pre
                    .get(prefix)
                    .iter()
                    .filter(from)
                    .cloned()
                    .collect();
                for p in pre {
                    let mut r = self.row(prefix, &p);
                    r.filtered = !self
                        .loc
                        .adj_in()
                        .get(prefix)
                        .iter()
                        .any(|a| a.is_key(p.peer(), p.path_id()));
                    if r.filtered
                        && let Some(state) = self.limits.get(&p.peer())
                    {
                        // Why: the import run again on the stored route.
                        r.reason = state
                            .import
                            .run(*prefix, p.attrs().clone(), &mut self.interner)
                            .err()
                            .map(|why| why.to_string());
                    }
                    rows.push(r);
                }
            }
            Table::Out => {
                let Some(peer) = q.peer else { return };
                let Some(m) = self.members.get(&peer) else {
                    return;
                };
                let t = Tables {
                    loc: &self.loc,
                    peers: &self.peers,
                    originated: &self.originated,
                };
                let Some(g) = self.groups.get_mut(m.group) else {
                    return;
                };
                let sent: Vec<_> = if g.all_paths(prefix) {
                    g.advertise_all(&t, prefix)
                        .into_iter()
                        .filter(|a| !tag_is_from(a.path_id, peer))
                        .collect()
                } else {
                    g.advertise(&t, prefix, Some(peer)).into_iter().collect()
                };
                for a in sent {
                    let source = tag_peer(a.path_id)
                        .and_then(|id| self.peers.get(id))
                        .map(|i| i.addr);
                    let mut r = RouteRow::new(prefix, source, &a.attrs);
                    r.best = self
                        .loc
                        .get(prefix)
                        .is_some_and(|b| source_tag(b) == a.path_id);
                    rows.push(r);
                }
            }
        }
    }
}
