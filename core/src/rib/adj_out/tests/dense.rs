//! [`DenseAdjRibOut`] against a real Loc-RIB whose removals move slots.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use proptest::prelude::*;

use super::*;
use crate::rib::{BestPathOptions, Path, PeerId, PeerInfo, PeerTable, SessionKind};

fn peer() -> PeerId {
    PeerId::new(1).unwrap()
}

/// A second peer, whose paths keep some prefixes in the Loc-RIB.
fn second() -> PeerId {
    PeerId::new(2).unwrap()
}

fn peers() -> PeerTable {
    let mut t = PeerTable::new(Ipv4Addr::new(10, 255, 0, 1));
    for n in 1..=2u8 {
        t.insert(
            PeerId::new(u32::from(n)).unwrap(),
            PeerInfo {
                bgp_id: Ipv4Addr::new(10, 0, 0, n),
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, n)),
                asn: 64_500 + u32::from(n),
                kind: SessionKind::Ebgp,
                rr_client: false,
                igp_cost: 0,
            },
        );
    }
    t
}

/// A Loc-RIB recording its removals, and the dense table following it.
struct Rig {
    loc: LocRib,
    peers: PeerTable,
    out: DenseAdjRibOut,
}

impl Rig {
    fn new() -> Self {
        let mut loc = LocRib::new(BestPathOptions::default());
        loc.record_removals();
        Self {
            loc,
            peers: peers(),
            out: DenseAdjRibOut::new(),
        }
    }

    /// Hands the Loc-RIB's removals to the table, as the shard does.
    fn follow(&mut self) {
        for r in self.loc.removals() {
            self.out.removed(&r);
        }
    }

    /// `prefix` gets a path in the Loc-RIB (attribute set `set`).
    fn receive(&mut self, prefix: Prefix, set: &AttrSet) -> Option<u32> {
        let path = Path::new(set.clone(), peer(), 0);
        let _ = self.loc.announce(prefix, path, &self.peers).unwrap();
        self.loc.paths_at(&prefix).0
    }

    /// `prefix` leaves the Loc-RIB; the group withdraws it.
    fn lose(&mut self, prefix: Prefix) {
        let _ = self.loc.withdraw(&prefix, peer(), 0, &self.peers);
        self.follow();
        assert!(!self.out.mark_at(prefix, None, None, false).unwrap());
    }

    /// Announces `prefix` with `set` and path id `id`.
    fn announce(&mut self, prefix: Prefix, set: &AttrSet, id: u32) -> bool {
        let slot = self.receive(prefix, set);
        let state = Some(Advertised {
            attrs: set.clone(),
            path_id: id,
        });
        self.out.mark_at(prefix, slot, state, false).unwrap()
    }

    /// What the group advertises for `key(0..prefixes)`.
    fn state(&self, prefixes: u32, key: fn(u32) -> Prefix) -> View {
        (0..prefixes)
            .filter_map(|i| {
                let p = key(i);
                let a = self.out.get_at(&p, self.loc.paths_at(&p).0)?;
                Some((p, (a.attrs, a.path_id)))
            })
            .collect()
    }
}

#[test]
fn a_prefix_that_leaves_the_loc_rib_is_withdrawn_and_the_moved_one_kept() {
    let s = sets(2);
    let mut r = Rig::new();
    let m = r.out.add_member();
    for i in 0..4 {
        assert!(r.announce(pfx(i), &s[0], 0));
    }
    let d = r.out.drain(&r.loc, m, 10);
    assert_eq!(d.nlri.len(), 4);
    // Prefix 0 goes: prefix 3 moves from the last slot into its place.
    r.lose(pfx(0));
    assert_eq!(r.loc.paths_at(&pfx(3)).0, Some(0));
    assert_eq!(r.out.len(), 4, "three advertised, one withdrawal kept");
    r.announce(pfx(3), &s[1], 0);
    let d = r.out.drain(&r.loc, m, 10);
    assert_eq!(d.withdrawn, vec![(pfx(0), 0)]);
    assert_eq!(d.nlri, vec![(pfx(3), 0)]);
    assert_eq!(d.groups[0].0, s[1]);
    assert_eq!(r.out.len(), 3, "the withdrawal, drained, is dropped");
    assert_eq!(r.out.dirty_len(), 0);
}

#[test]
fn a_member_walking_past_a_hole_still_gets_the_entry_moved_into_it() {
    let s = sets(1);
    let mut r = Rig::new();
    for i in 0..6 {
        r.announce(pfx(i), &s[0], 0);
    }
    let m = r.out.add_member();
    let first = r.out.drain(&r.loc, m, 3);
    assert_eq!(first.nlri.len(), 3);
    // The walk stands at slot 3; prefix 1 (slot 1) goes and prefix 5
    // moves from slot 5, which the walk has not reached, to slot 1,
    // which it has passed.
    r.lose(pfx(1));
    let mut view = View::new();
    apply(&mut view, &first);
    for _ in 0..4 {
        let d = r.out.drain(&r.loc, m, 3);
        apply(&mut view, &d);
    }
    assert_eq!(view, r.state(6, pfx));
    assert!(view.contains_key(&pfx(5)));
}

#[test]
fn a_prefix_back_before_its_withdrawal_was_drained_keeps_its_birth() {
    let s = sets(2);
    let mut r = Rig::new();
    let (a, b) = (r.out.add_member(), r.out.add_member());
    r.announce(pfx(1), &s[0], 0);
    r.out.drain(&r.loc, a, 10);
    r.out.drain(&r.loc, b, 10);
    r.lose(pfx(1));
    r.out.drain(&r.loc, a, 10);
    // `b` has not seen the withdrawal when the prefix comes back: it holds
    // the old path, so the new one is not fresh to it.
    r.announce(pfx(1), &s[1], 0);
    let d = r.out.drain(&r.loc, b, 10);
    assert!(d.withdrawn.is_empty(), "the withdrawal gave way: {d:?}");
    assert_eq!(d.nlri, vec![(pfx(1), 0)]);
    assert_eq!(d.fresh, vec![false]);
    assert_eq!(r.out.dirty_len(), 1, "`a` has yet to take it");
}

#[test]
fn a_dense_table_costs_its_entry_per_prefix() {
    let s = sets(1);
    let mut r = Rig::new();
    let n = 100_000;
    for i in 0..n {
        r.announce(pfx(i), &s[0], 0);
    }
    let per = r.out.heap_bytes() as f64 / f64::from(n);
    // 24-byte entries in chunks of 4,096: no key, no index.
    assert_eq!(size_of::<Entry>(), 24);
    assert!(per < 25.5, "{per} bytes per prefix");
}

#[derive(Debug, Clone)]
enum Op {
    /// The group advertises `set` for the prefix (`None`: nothing; it
    /// leaves the Loc-RIB when `leave`, or stays unexported).
    Mark {
        prefix: u32,
        set: Option<usize>,
        path_id: u32,
        leave: bool,
    },
    /// Every prefix leaves the Loc-RIB (the peer went down).
    DropAll,
    /// The second peer sends a path for the prefix (the group's entry
    /// stays as it is).
    Second {
        prefix: u32,
    },
    /// The second peer goes down: the prefixes only it had leave the
    /// Loc-RIB, a few one by one or many in one compaction.
    DropSecond,
    Touch {
        prefix: u32,
    },
    Drain {
        member: usize,
        max: usize,
        upto: bool,
    },
    Join,
    Replay {
        member: usize,
    },
    Rewalk {
        member: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u32..12, prop::option::of(0usize..3), 0u32..2, any::<bool>())
            .prop_map(|(prefix, set, path_id, leave)| Op::Mark { prefix, set, path_id, leave }),
        1 => Just(Op::DropAll),
        2 => (0u32..12).prop_map(|prefix| Op::Second { prefix }),
        1 => Just(Op::DropSecond),
        1 => (0u32..12).prop_map(|prefix| Op::Touch { prefix }),
        4 => (0usize..3, 1usize..5, any::<bool>())
            .prop_map(|(member, max, upto)| Op::Drain { member, max, upto }),
        1 => Just(Op::Join),
        2 => (0usize..3).prop_map(|member| Op::Replay { member }),
        1 => (0usize..3).prop_map(|member| Op::Rewalk { member }),
    ]
}

proptest! {
    // A walk cut by a slot move past it needs a join, a short drain and a
    // removal in that order: more cases than the default find it.
    #![proptest_config(ProptestConfig::with_cases(8192))]

    /// The keyed table's convergence property
    /// (`members_converge_to_group_state`) with the Loc-RIB moving slots
    /// under the dense one: whatever the interleaving of changes, slot
    /// moves, walks and drains, every member that drains to the end holds
    /// exactly what the group advertises, a prefix flagged fresh is one
    /// the member holds nothing for, and nothing stays in the log or the
    /// side table once every member is up to date.
    #[test]
    fn dense_members_converge_to_the_group_state(ops in prop::collection::vec(op(), 0..150)) {
        let s = sets(3);
        let mut r = Rig::new();
        let mut members = vec![(r.out.add_member(), View::new())];
        let mut made = Made::new();
        for op in ops {
            match op {
                Op::Mark { prefix, set: Some(k), path_id, .. } => {
                    r.announce(mixed(prefix), &s[k], path_id);
                }
                Op::Mark { prefix, set: None, leave: true, .. } => r.lose(mixed(prefix)),
                Op::Mark { prefix, set: None, leave: false, .. } => {
                    let p = mixed(prefix);
                    let slot = match r.loc.paths_at(&p).0 {
                        Some(slot) => Some(slot),
                        None => r.receive(p, &s[0]),
                    };
                    r.out.mark_at(p, slot, None, false).unwrap();
                }
                Op::DropAll | Op::DropSecond => {
                    let from = if matches!(op, Op::DropAll) { peer() } else { second() };
                    let gone = r.loc.withdraw_all(from, &r.peers);
                    r.follow();
                    for (p, _) in gone {
                        if r.loc.paths_at(&p).0.is_none() {
                            prop_assert!(!r.out.mark_at(p, None, None, false).unwrap());
                        }
                    }
                }
                Op::Second { prefix } => {
                    let path = Path::new(s[1].clone(), second(), 0);
                    let _ = r.loc.announce(mixed(prefix), path, &r.peers).unwrap();
                }
                Op::Touch { prefix } => {
                    let p = mixed(prefix);
                    let slot = r.loc.paths_at(&p).0;
                    r.out.touch_at(&p, slot, false);
                }
                Op::Drain { member, max, upto } => {
                    if let Some((m, view)) = members.get_mut(member) {
                        let from = r.out.position(*m).unwrap();
                        let next = next_made(&made, from, upto);
                        let bound = next.and_then(|p| p.log_seq()).unwrap_or(u64::MAX);
                        let d = r.out.drain_shared_upto(&r.loc, &[*m], max, bound);
                        if from.log_seq().is_some() && !d.is_empty() {
                            made.push((from, r.out.position(*m).unwrap(), d.clone()));
                        }
                        prop_assert!(d.len() <= max);
                        prop_assert!(fresh_holds(view, &d));
                        apply(view, &d);
                    }
                }
                Op::Join => members.push((r.out.add_member(), View::new())),
                Op::Rewalk { member } => {
                    if let Some((m, _)) = members.get(member) {
                        prop_assert!(r.out.rewalk(*m));
                    }
                }
                Op::Replay { member } => {
                    let Some((m, view)) = members.get_mut(member) else { continue };
                    let at = r.out.position(*m).unwrap();
                    let Some((from, to, d)) = made.iter().find(|b| b.0 == at) else { continue };
                    prop_assert_eq!(r.out.advance(&[*m], *from, *to), 1);
                    prop_assert!(fresh_holds(view, d));
                    apply(view, d);
                }
            }
            prop_assert!(r.out.dirty_len() <= 12);
        }
        let want = r.state(12, mixed);
        for (m, view) in &mut members {
            for _ in 0..100 {
                let d = r.out.drain(&r.loc, *m, 5);
                if d.is_empty() { break; }
                apply(view, &d);
            }
            prop_assert_eq!(&*view, &want);
        }
        prop_assert_eq!(r.out.dirty_len(), 0);
        prop_assert_eq!(r.out.len(), want.len());
        let entries: BTreeMap<Prefix, u32> = r.out.entries(&r.loc).collect();
        let sent: BTreeMap<Prefix, u32> = want.iter().map(|(p, (_, id))| (*p, *id)).collect();
        prop_assert_eq!(entries, sent);
    }
}
