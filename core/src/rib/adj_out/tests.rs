use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::*;
use crate::attr::{AsPath, PathAttributes};
use crate::nlri::Ipv4Prefix;
use crate::rib::Interner;

fn pfx(i: u32) -> Prefix {
    Prefix::V4(Ipv4Prefix::new(Ipv4Addr::from_bits(i << 8), 24).unwrap())
}

/// Prefix `i` of a table of both families: odd ones are IPv6.
fn mixed(i: u32) -> Prefix {
    if i % 2 == 1 {
        let addr = std::net::Ipv6Addr::from_bits(u128::from(i) << 80);
        Prefix::V6(crate::nlri::Ipv6Prefix::new(addr, 48).unwrap())
    } else {
        pfx(i)
    }
}

fn sets(n: u32) -> Vec<AttrSet> {
    let mut i = Interner::new();
    (0..n)
        .map(|k| {
            i.intern(PathAttributes {
                as_path: AsPath::from_sequence([64_500 + k]),
                ..PathAttributes::default()
            })
        })
        .collect()
}

fn adv(attrs: &AttrSet, path_id: u32) -> Option<Advertised> {
    Some(Advertised {
        attrs: attrs.clone(),
        path_id,
    })
}

/// A member's view: what it was told last, per prefix.
type View = BTreeMap<Prefix, (AttrSet, u32)>;

fn apply(view: &mut View, d: &Drain) {
    for (p, _) in &d.withdrawn {
        view.remove(p);
    }
    for (a, ps) in d.announced() {
        for (p, id) in ps {
            view.insert(*p, (a.clone(), *id));
        }
    }
}

fn announced(d: &Drain) -> Vec<(AttrSet, Vec<(Prefix, u32)>)> {
    d.announced()
        .map(|(a, ps)| (a.clone(), ps.to_vec()))
        .collect()
}

fn state(out: &AdjRibOut, prefixes: u32) -> View {
    state_of(out, prefixes, pfx)
}

/// The group's state for `key(0..prefixes)`.
fn state_of(out: &AdjRibOut, prefixes: u32, key: fn(u32) -> Prefix) -> View {
    (0..prefixes)
        .filter_map(|i| out.get(&key(i)).map(|a| (key(i), (a.attrs, a.path_id))))
        .collect()
}

#[test]
fn unchanged_state_is_not_dirty() {
    let s = sets(1);
    let mut out = AdjRibOut::new();
    let m = out.add_member();
    assert_eq!(out.mark(pfx(1), None), Ok(false), "withdrawing the unknown");
    assert_eq!(out.mark(pfx(1), adv(&s[0], 0)), Ok(true));
    assert_eq!(out.mark(pfx(1), adv(&s[0], 0)), Ok(false));
    assert_eq!(out.mark(pfx(1), adv(&s[0], 1)), Ok(true), "path id change");
    assert_eq!(out.pending(m), 1);
}

#[test]
fn repeated_flaps_keep_dirty_set_at_one_entry() {
    let s = sets(2);
    let mut out = AdjRibOut::new();
    let m = out.add_member();
    for k in 0..1000 {
        let state = match k % 3 {
            0 => adv(&s[0], 0),
            1 => None,
            _ => adv(&s[1], 0),
        };
        out.mark(pfx(7), state).unwrap();
        assert_eq!(out.dirty_len(), 1);
        assert_eq!(out.pending(m), 1);
        // The log's dead entries are compacted: memory follows the dirty
        // set, not the number of changes.
        assert!(
            out.cursors.log.len <= 66,
            "{} log entries",
            out.cursors.log.len
        );
    }
    let d = out.drain(m, 100);
    // k = 999 left the prefix advertised with s[0].
    assert_eq!(announced(&d), vec![(s[0].clone(), vec![(pfx(7), 0)])]);
    assert!(d.withdrawn.is_empty());
    assert_eq!(out.dirty_len(), 0);
    assert!(out.drain(m, 100).is_empty());
}

#[test]
fn a_drained_burst_gives_its_log_buffer_back() {
    let s = sets(1);
    let mut out = AdjRibOut::new();
    let m = out.add_member();
    let entry = size_of::<Logged>();
    // Room for the entries and one chunk more, and the chunk list.
    let most =
        |log: &Log| (log.len + Log::CHUNK) * entry + log.chunks.capacity() * size_of::<Chunk>();
    for i in 0..20_000 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
        // Grown chunk by chunk, not by doubling one buffer.
        assert!(
            out.cursors.log.heap_bytes() <= most(&out.cursors.log),
            "at {i}"
        );
    }
    assert!(out.cursors.log.heap_bytes() >= 20_000 * entry);
    // Drained in steps: the chunks follow the backlog down (one is kept
    // for reuse).
    while !out.drain(m, 1000).is_empty() {
        let spare = Log::CHUNK * entry;
        assert!(out.cursors.log.heap_bytes() <= most(&out.cursors.log) + spare);
    }
    assert_eq!(out.pending(m), 0);
    assert!(
        out.cursors.log.heap_bytes() <= Log::KEEP * entry + 4 * size_of::<Chunk>(),
        "{} bytes left",
        out.cursors.log.heap_bytes()
    );
    // The table keeps every prefix: only the change log shrank.
    assert_eq!(out.len(), 20_000);
}

#[test]
fn drain_groups_prefixes_by_attribute_set() {
    let s = sets(2);
    let mut out = AdjRibOut::new();
    let m = out.add_member();
    let set = |i: u32| adv(&s[usize::from(i.is_multiple_of(3))], 9);
    // The member had 1, 2 and 3 before, so their withdrawals are sent.
    for i in [1, 2, 3] {
        out.mark(pfx(i), set(i)).unwrap();
    }
    assert_eq!(out.drain(m, 100).len(), 3);
    for i in 0..15 {
        out.mark(pfx(i), set(i)).unwrap();
    }
    for i in [1, 2, 3] {
        out.mark(pfx(i), None).unwrap();
    }
    let d = out.drain(m, 100);
    assert_eq!(d.len(), 15);
    assert_eq!(d.groups.len(), 2);
    assert_eq!(d.nlri.len(), 12);
    for (a, ps) in d.announced() {
        for (p, id) in ps {
            assert_eq!(out.get(p).unwrap().attrs, *a);
            assert_eq!(*id, 9);
        }
    }
    let mut w = d.withdrawn.clone();
    w.sort();
    assert_eq!(w, vec![(pfx(1), 9), (pfx(2), 9), (pfx(3), 9)]);
    // Everyone saw the withdrawals: they leave the table.
    assert_eq!(out.len(), 12);
}

#[test]
fn a_member_is_not_told_to_withdraw_what_it_never_had() {
    let s = sets(1);
    let mut out = AdjRibOut::new();
    let (fast, slow) = (out.add_member(), out.add_member());
    // Announced and withdrawn between two drains: nothing to send.
    out.mark(pfx(1), adv(&s[0], 0)).unwrap();
    out.mark(pfx(1), None).unwrap();
    assert!(out.drain(fast, 10).is_empty());
    assert_eq!(out.pending(fast), 0);
    // Such withdrawals do not count toward a drain's size: ten of them
    // come before the announcement a drain of one takes.
    for i in 10..20 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
        out.mark(pfx(i), None).unwrap();
    }
    out.mark(pfx(2), adv(&s[0], 0)).unwrap();
    let d = out.drain(fast, 1);
    assert_eq!(announced(&d), vec![(s[0].clone(), vec![(pfx(2), 0)])]);
    assert!(d.withdrawn.is_empty());
    // The member that drained the announcement gets the withdrawal; the
    // one that never did, nothing.
    out.mark(pfx(2), None).unwrap();
    assert_eq!(out.drain(fast, 10).withdrawn, vec![(pfx(2), 0)]);
    assert!(out.drain(slow, 100).is_empty());
    assert_eq!(out.len(), 0, "every withdrawn prefix left the table");
}

#[test]
fn drain_respects_max_and_resumes() {
    let s = sets(1);
    let mut out = AdjRibOut::new();
    let m = out.add_member();
    for i in 0..10 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
    }
    let mut view = View::new();
    let d = out.drain(m, 4);
    assert_eq!(d.len(), 4);
    apply(&mut view, &d);
    assert_eq!(out.pending(m), 6);
    while !out.drain(m, 4).is_empty() {}
    assert_eq!(out.pending(m), 0);
}

#[test]
fn slow_member_gets_only_latest_state() {
    let s = sets(3);
    let mut out = AdjRibOut::new();
    let fast = out.add_member();
    let slow = out.add_member();
    let mut fast_seen = 0;
    for set in &s {
        out.mark(pfx(1), adv(set, 0)).unwrap();
        fast_seen += out.drain(fast, 10).len();
    }
    assert_eq!(fast_seen, 3);
    assert_eq!(out.dirty_len(), 1, "kept for the slow member only");
    let d = out.drain(slow, 10);
    assert_eq!(announced(&d), vec![(s[2].clone(), vec![(pfx(1), 0)])]);
    assert_eq!(out.dirty_len(), 0);
}

#[test]
fn joining_member_walks_the_table_then_follows_changes() {
    let s = sets(2);
    let mut out = AdjRibOut::new();
    for i in 0..100 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
    }
    for i in 0..10 {
        out.mark(pfx(i), None).unwrap();
    }
    assert_eq!(out.len(), 90, "no member: withdrawals are forgotten");
    let m = out.add_member();
    let mut view = View::new();
    apply(&mut view, &out.drain(m, 30));
    // Changes during the walk: withdraw some, re-announce others.
    for i in 10..20 {
        out.mark(pfx(i), None).unwrap();
    }
    for i in 95..105 {
        out.mark(pfx(i), adv(&s[1], 0)).unwrap();
    }
    assert_eq!(out.len(), 95, "withdrawals kept while the member walks");
    loop {
        let d = out.drain(m, 30);
        if d.is_empty() {
            break;
        }
        apply(&mut view, &d);
    }
    assert_eq!(view, state(&out, 200));
    assert_eq!(out.len(), 85);
    assert!(out.remove_member(m));
    assert!(!out.remove_member(m));
}

#[test]
fn a_refresh_walks_the_table_and_keeps_what_the_member_had_not_drained() {
    let s = sets(2);
    let mut out = AdjRibOut::new();
    let m = out.add_member();
    for i in 0..5 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
    }
    let mut view = View::new();
    apply(&mut view, &out.drain(m, 100));
    // Changes the member has not drained when its peer asks for a refresh.
    out.mark(pfx(1), None).unwrap();
    out.mark(pfx(2), adv(&s[1], 0)).unwrap();
    assert!(out.rewalk(m));
    let mut sent = Vec::new();
    loop {
        let d = out.drain(m, 2);
        if d.is_empty() {
            break;
        }
        sent.extend(d.withdrawn.iter().map(|(p, _)| (*p, false)));
        sent.extend(d.nlri.iter().map(|(p, _)| (*p, true)));
        apply(&mut view, &d);
    }
    // Every advertised prefix again, and the withdrawal still owed.
    assert_eq!(view, state(&out, 10));
    for i in [0, 2, 3, 4] {
        assert!(
            sent.contains(&(pfx(i), true)),
            "{i} not sent again: {sent:?}"
        );
    }
    assert!(sent.contains(&(pfx(1), false)), "{sent:?}");
    assert!(!out.rewalk(MemberId(7)));
}

/// Drains kept for replay: where each was made from, where it ended, and
/// what it held.
type Made = Vec<(MemberPosition, MemberPosition, Drain)>;

/// With `upto`, the first position past `from` that a kept drain was made
/// from: a member drains up to it, and may replay that drain after
/// ([`AdjRibOut::drain_shared_upto`]). `None` without `upto`, or while the
/// member walks.
fn next_made(made: &Made, from: MemberPosition, upto: bool) -> Option<MemberPosition> {
    made.iter()
        .map(|b| b.0)
        .filter(|p| from.log_seq().is_some() && p.log_seq() > from.log_seq())
        .min_by_key(MemberPosition::log_seq)
        .filter(|_| upto)
}

/// True when every prefix `d` flags fresh is one `view` holds nothing for.
fn fresh_holds(view: &View, d: &Drain) -> bool {
    d.nlri
        .iter()
        .zip(&d.fresh)
        .all(|((prefix, _), fresh)| !fresh || !view.contains_key(prefix))
}

#[derive(Debug, Clone)]
enum Op {
    Mark {
        prefix: u32,
        set: Option<usize>,
        path_id: u32,
    },
    Drain {
        member: usize,
        max: usize,
        /// Stop at the first position past the member's that some drain
        /// was made from ([`AdjRibOut::drain_shared_upto`]).
        upto: bool,
    },
    Join,
    /// The member takes a drain another member made from its position
    /// earlier, if there is one, instead of draining ([`AdjRibOut::advance`]).
    Replay {
        member: usize,
    },
    /// The member's peer asks for a route refresh ([`AdjRibOut::rewalk`]).
    Rewalk {
        member: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u32..12, prop::option::of(0usize..3), 0u32..2)
            .prop_map(|(prefix, set, path_id)| Op::Mark { prefix, set, path_id }),
        3 => (0usize..3, 1usize..5, any::<bool>())
            .prop_map(|(member, max, upto)| Op::Drain { member, max, upto }),
        1 => Just(Op::Join),
        2 => (0usize..3).prop_map(|member| Op::Replay { member }),
        1 => (0usize..3).prop_map(|member| Op::Rewalk { member }),
    ]
}

proptest! {
    /// Whatever the interleaving, every member that drains to the end holds
    /// exactly the group's advertised state, the dirty set never holds
    /// more entries than there are prefixes, and a prefix flagged fresh is
    /// one the member holds nothing for. Replaying a drain another member
    /// made from the same position, however stale, changes none of that;
    /// nor does a route refresh's walk at any point.
    #[test]
    fn members_converge_to_group_state(ops in prop::collection::vec(op(), 0..120)) {
        let s = sets(3);
        let mut out = AdjRibOut::new();
        let mut members = vec![(out.add_member(), View::new())];
        let mut made = Made::new();
        for op in ops {
            match op {
                Op::Mark { prefix, set, path_id } => {
                    out.mark(mixed(prefix), set.and_then(|k| adv(&s[k], path_id))).unwrap();
                }
                Op::Drain { member, max, upto } => {
                    if let Some((m, view)) = members.get_mut(member) {
                        let from = out.position(*m).unwrap();
                        let next = next_made(&made, from, upto);
                        let bound = next.and_then(|p| p.log_seq()).unwrap_or(u64::MAX);
                        let d = out.drain_shared_upto(&[*m], max, bound);
                        if let Some(next) = next && d.len() < max {
                            // Short of `max`: it took everything up to the
                            // bound, and stands where that drain was made.
                            prop_assert_eq!(out.position(*m), Some(next));
                        }
                        if let Some(p) = next {
                            prop_assert!(out.position(*m).unwrap().log_seq() <= p.log_seq());
                        }
                        if from.log_seq().is_some() && !d.is_empty() {
                            made.push((from, out.position(*m).unwrap(), d.clone()));
                        }
                        prop_assert!(d.len() <= max);
                        prop_assert_eq!(d.fresh.len(), d.nlri.len());
                        // Fresh: the member holds nothing for the prefix.
                        prop_assert!(fresh_holds(view, &d));
                        apply(view, &d);
                    }
                }
                Op::Join => members.push((out.add_member(), View::new())),
                Op::Rewalk { member } => {
                    if let Some((m, _)) = members.get(member) {
                        prop_assert!(out.rewalk(*m));
                    }
                }
                Op::Replay { member } => {
                    let Some((m, view)) = members.get_mut(member) else { continue };
                    let at = out.position(*m).unwrap();
                    let Some((from, to, d)) = made.iter().find(|b| b.0 == at) else { continue };
                    prop_assert_eq!(out.advance(&[*m], *from, *to), 1);
                    prop_assert_eq!(out.position(*m), Some(*to));
                    prop_assert!(fresh_holds(view, d));
                    apply(view, d);
                }
            }
            prop_assert!(out.dirty_len() <= 12);
        }
        let want = state_of(&out, 12, mixed);
        for (m, view) in &mut members {
            loop {
                let d = out.drain(*m, 5);
                if d.is_empty() { break; }
                apply(view, &d);
            }
            prop_assert_eq!(&*view, &want);
        }
        prop_assert_eq!(out.dirty_len(), 0);
        prop_assert_eq!(out.len(), want.len());
    }
}

#[test]
fn touch_makes_members_see_an_unchanged_prefix_again() {
    let s = sets(1);
    let mut out = AdjRibOut::new();
    let m = out.add_member();
    assert!(
        !out.touch(pfx(1), false),
        "touching an unknown prefix does nothing"
    );
    out.mark(pfx(1), adv(&s[0], 0)).unwrap();
    assert_eq!(out.drain(m, 10).len(), 1);
    assert!(out.drain(m, 10).is_empty());
    assert!(out.touch(pfx(1), false));
    assert!(
        out.touch(pfx(1), false),
        "a second touch keeps one log entry"
    );
    let d = out.drain(m, 10);
    assert_eq!(announced(&d), vec![(s[0].clone(), vec![(pfx(1), 0)])]);
    assert!(out.drain(m, 10).is_empty());
}

#[test]
fn members_at_one_position_share_a_drain_and_stay_together() {
    let s = sets(2);
    let mut out = AdjRibOut::new();
    let (a, b) = (out.add_member(), out.add_member());
    out.mark(pfx(1), adv(&s[0], 0)).unwrap();
    out.mark(pfx(2), adv(&s[1], 0)).unwrap();
    // c joins later: it walks the table, a and b follow the log.
    let c = out.add_member();
    assert_eq!(out.position(a), out.position(b));
    assert_ne!(out.position(a), out.position(c));
    let shared = out.drain_shared(&[a, b, c], 10);
    assert_eq!(announced(&shared).len(), 2);
    assert_eq!(out.position(a), out.position(b));
    // b was advanced with a; c was not.
    assert!(out.drain(b, 10).is_empty());
    let mut view = View::new();
    apply(&mut view, &out.drain(c, 10));
    assert_eq!(view, state(&out, 3));
    // Up to date, the late joiner stands where the others do.
    assert_eq!(out.position(a), out.position(c));
    out.mark(pfx(1), None).unwrap();
    let d = out.drain_shared(&[a, b, c], 10);
    assert_eq!(d.withdrawn, vec![(pfx(1), 0)]);
    assert!(out.drain(c, 10).is_empty() && out.drain(b, 10).is_empty());
}

#[test]
fn new_entries_are_fresh_to_members_that_follow_the_log_only() {
    let s = sets(1);
    let mut out = AdjRibOut::new();
    let a = out.add_member();
    out.mark(pfx(1), adv(&s[0], 0)).unwrap();
    // A joining member walks: it may hold paths of a group it left.
    let b = out.add_member();
    let d = out.drain(a, 10);
    assert_eq!(d.fresh, vec![true]);
    assert_eq!(out.drain(b, 10).fresh, vec![false]);
    // Changed after the member has it: not fresh.
    out.mark(pfx(1), adv(&s[0], 7)).unwrap();
    assert_eq!(out.drain(a, 10).fresh, vec![false]);
    // Withdrawn and drained by all (entry gone), then back: fresh again.
    out.mark(pfx(1), None).unwrap();
    out.drain(a, 10);
    out.drain(b, 10);
    out.mark(pfx(1), adv(&s[0], 0)).unwrap();
    assert_eq!(out.drain(a, 10).fresh, vec![true]);
    // Withdrawn and back before b drained the withdrawal: b still holds
    // the old path.
    assert_eq!(out.drain(b, 10).fresh, vec![true]);
    out.mark(pfx(1), None).unwrap();
    out.drain(a, 10);
    out.mark(pfx(1), adv(&s[0], 0)).unwrap();
    assert_eq!(out.drain(b, 10).fresh, vec![false]);
}

#[test]
fn table_entry_is_32_bytes_for_ipv4_and_48_for_ipv6() {
    // The module documentation's memory figures depend on it.
    // Slots are kept per family (`PrefixMap`): the key is an IPv4 or
    // IPv6 prefix, alone or with a path id.
    use crate::nlri::Ipv6Prefix;
    assert_eq!(std::mem::size_of::<(Ipv4Prefix, Entry)>(), 32);
    assert_eq!(std::mem::size_of::<(Ipv6Prefix, Entry)>(), 48);
    assert_eq!(std::mem::size_of::<((Ipv4Prefix, u32), Entry)>(), 40);
    assert_eq!(std::mem::size_of::<((Ipv6Prefix, u32), Entry)>(), 48);
    // A log entry names its key by slot, whatever the key.
    assert_eq!(std::mem::size_of::<Logged>(), 8);
}

#[test]
fn a_change_logged_before_its_slot_moved_follows_it() {
    let s = sets(3);
    let mut out = AdjRibOut::new();
    let (a, b) = (out.add_member(), out.add_member());
    for i in 1..=3 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
    }
    out.drain(a, 10);
    out.drain(b, 10);
    // Logged at slot 2, then moved to slot 0 (prefix 1 leaves the table
    // once both members have its withdrawal); prefix 5 takes slot 2.
    out.mark(pfx(1), None).unwrap();
    out.mark(pfx(3), adv(&s[1], 0)).unwrap();
    out.drain(a, 10);
    assert_eq!(out.drain(b, 1).withdrawn, vec![(pfx(1), 0)]);
    assert_eq!(out.len(), 2);
    out.mark(pfx(5), adv(&s[2], 0)).unwrap();
    let d = out.drain(b, 10);
    assert_eq!(
        announced(&d),
        vec![
            (s[1].clone(), vec![(pfx(3), 0)]),
            (s[2].clone(), vec![(pfx(5), 0)])
        ]
    );
}

#[test]
fn an_entry_keeps_its_birth_across_changes_and_saturates_old() {
    let mut e = Entry {
        attrs: None,
        path_id: 0,
        seq: 10,
        age_hint: HINT,
    };
    e.restamp(25);
    assert_eq!((e.seq, e.born()), (25, 10));
    e.restamp(40);
    assert_eq!((e.seq, e.born()), (40, 10));
    // Past 2^31 changes the birth reads older than it was, never younger:
    // a member is then never told a prefix is fresh when it is not.
    let far = 10 + u64::from(AGE_OLD) + 5;
    e.restamp(far);
    assert_eq!(e.seq, far);
    assert_eq!(e.born(), 0);
    e.restamp(far + 1);
    assert_eq!(e.born(), 0);
    // The age never spills into the hint, nor the hint into the age.
    assert!(e.hint());
    e.set_hint(false);
    assert!(!e.hint());
    assert_eq!(e.born(), 0);
}

#[test]
fn a_hint_is_kept_with_the_entry_and_read_when_drained() {
    let s = sets(2);
    let mut out = AdjRibOut::new();
    let (a, b) = (out.add_member(), out.add_member());
    out.mark_hinted(pfx(1), adv(&s[0], 0), true).unwrap();
    out.mark(pfx(2), adv(&s[1], 0)).unwrap();
    let d = out.drain(a, 10);
    let hints: Vec<_> = d.nlri.iter().map(|n| n.0).zip(d.hints.clone()).collect();
    assert_eq!(hints, vec![(pfx(1), true), (pfx(2), false)]);
    // A changed hint alone tells nobody again, but a member that drains
    // later reads it as it stands then.
    assert!(!out.mark_hinted(pfx(1), adv(&s[0], 0), false).unwrap());
    assert!(out.drain(a, 10).is_empty());
    let d = out.drain(b, 10);
    let hints: Vec<_> = d.nlri.iter().map(|n| n.0).zip(d.hints.clone()).collect();
    assert_eq!(hints, vec![(pfx(1), false), (pfx(2), false)]);
    // A touch stores its hint and tells everyone again.
    assert!(out.touch(pfx(2), true));
    assert_eq!(out.drain(a, 10).hints, vec![true]);
    // `announced_fresh` hands out each prefix's flags.
    let d = out.drain(b, 10);
    let flags: Vec<_> = d.announced_fresh().flat_map(|(_, l)| l).collect();
    assert_eq!(flags, vec![(&(pfx(2), 0), false, true)]);
}

#[test]
fn a_late_member_takes_an_earlier_drain_of_its_position() {
    let s = sets(2);
    let mut out = AdjRibOut::new();
    let (a, b) = (out.add_member(), out.add_member());
    for i in 0..6 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
    }
    let from = out.position(a).unwrap();
    let first = out.drain(a, 4);
    let to = out.position(a).unwrap();
    // Changes after the drain: one supersedes a prefix of it.
    out.mark(pfx(1), adv(&s[1], 0)).unwrap();
    out.mark(pfx(9), adv(&s[1], 0)).unwrap();
    // b stands where a stood: it takes a's drain and a's end.
    assert_eq!(out.position(b), Some(from));
    assert_eq!(out.advance(&[a, b], from, to), 1, "only b stood at `from`");
    assert_eq!(out.position(b), Some(to));
    let mut view = View::new();
    apply(&mut view, &first);
    loop {
        let d = out.drain(b, 3);
        if d.is_empty() {
            break;
        }
        apply(&mut view, &d);
    }
    assert_eq!(
        view,
        state(&out, 10),
        "the later change reaches b after the stale drain"
    );
    // Not a log position (a joiner walking the table), or backwards: refused.
    let c = out.add_member();
    let walking = out.position(c).unwrap();
    assert_eq!(walking.log_seq(), None);
    assert_eq!(out.advance(&[c], walking, to), 0);
    assert_eq!(out.advance(&[b], to, from), 0);
    // a still stands at `to`; b and c are past it.
    assert_eq!(out.slowest_seq(), to.log_seq().unwrap());
}

#[test]
fn a_member_drains_up_to_a_bound_and_stands_there() {
    let s = sets(1);
    let mut out = AdjRibOut::new();
    let (a, b) = (out.add_member(), out.add_member());
    for i in 0..10 {
        out.mark(pfx(i), adv(&s[0], 0)).unwrap();
    }
    // a drains 6 of the 10 changes (seq 1..=6) and stands at 6.
    assert_eq!(out.drain(a, 6).len(), 6);
    let at = out.position(a).unwrap();
    assert_eq!(at.log_seq(), Some(6));
    // Prefix 2 changes again (seq 11): seq 3 is dead, so only 5 changes
    // lie up to 6. b takes them and stands where a stands, short of max.
    out.mark(pfx(2), adv(&s[0], 7)).unwrap();
    let d = out.drain_shared_upto(&[b], 100, 6);
    let got: Vec<Prefix> = d.nlri.iter().map(|(p, _)| *p).collect();
    assert_eq!(got, [0, 1, 3, 4, 5].map(pfx));
    assert_eq!(out.position(b), Some(at));
    // max comes first: b stands at the last change taken.
    let d = out.drain_shared_upto(&[b], 2, 10);
    assert_eq!(d.len(), 2);
    assert_eq!(out.position(b).unwrap().log_seq(), Some(8));
    // A bound behind the member is none: b takes the rest, to the end.
    let d = out.drain_shared_upto(&[b], 100, 1);
    let got: Vec<Prefix> = d.nlri.iter().map(|(p, _)| *p).collect();
    assert_eq!(got, [8, 9, 2].map(pfx));
    assert_eq!(out.position(b).unwrap().log_seq(), Some(11));
}

#[test]
fn log_entries_keep_whole_sequence_numbers_across_chunk_bases() {
    // Offsets from a chunk's base are 28 bits: a sequence number further
    // on starts a chunk of its own, and a compaction does not move it
    // into a chunk whose base is too far back.
    let at = |v6, slot| Place {
        v6,
        side: false,
        slot,
    };
    let far = OFFSET_MAX + 1;
    let mut log = Log::default();
    log.push(1, at(false, 10), false);
    log.push(2, at(true, 11), true);
    log.push(1 + far, at(false, 12), false);
    log.push(2 + far, at(false, 13), true);
    assert_eq!(log.chunks.len(), 2);
    let all = vec![
        (1, at(false, 10)),
        (2, at(true, 11)),
        (1 + far, at(false, 12)),
        (2 + far, at(false, 13)),
    ];
    assert_eq!(log.after(0).collect::<Vec<_>>(), all);
    log.kill(1);
    log.compact();
    assert_eq!(log.chunks.len(), 2, "packed within offset range only");
    assert_eq!(log.after(0).collect::<Vec<_>>(), all[1..].to_vec());
    assert_eq!(log.len_after(2), 2);
    // Found by the whole sequence number, in either chunk; a move to a
    // dense table's side table keeps the family.
    let side = Place {
        v6: true,
        side: true,
        slot: 98,
    };
    log.reslot(2 + far, at(false, 99));
    log.reslot(2, side);
    assert_eq!(
        log.after(1).collect::<Vec<_>>(),
        vec![
            (2, side),
            (1 + far, at(false, 12)),
            (2 + far, at(false, 99))
        ]
    );
    log.kill(1 + far);
    assert_eq!(log.live(), 2);
    let mut withdrawn = Vec::new();
    log.pop_upto(far, |place| withdrawn.push(place));
    assert_eq!(withdrawn, vec![side]);
    log.pop_upto(u64::MAX, |place| withdrawn.push(place));
    assert_eq!(withdrawn, vec![side, at(false, 99)]);
    assert_eq!((log.len, log.dead), (0, 0));
}

mod dense;
