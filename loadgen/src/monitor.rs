//! What a monitor session counts: the expected prefixes it holds (a bit
//! each), ADD-PATH path ids per prefix (RFC 7911), churn changes.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use rampart_core::DecodeCtx;
use rampart_core::msg::update::UpdateView;
use rampart_core::nlri::{Nlri, Prefix};

use crate::session::{Event, Shared};
use crate::table::Expected;

/// A monitor's counters, shared with the main thread.
#[derive(Debug)]
pub struct MonitorState {
    /// Expected prefixes currently held.
    pub held: AtomicUsize,
    /// Prefixes that must be absent (replay: withdrawn) currently held.
    pub unwanted: AtomicUsize,
    /// UPDATE messages received.
    pub updates: AtomicU64,
    /// Announced NLRI received (all, including repeats).
    pub announced: AtomicU64,
    /// Withdrawn NLRI received.
    pub withdrawn: AtomicU64,
    /// Announced prefixes that are not expected.
    pub unexpected: AtomicU64,
    /// Which expected prefixes are held (bit per [`Expected`] index),
    /// then which must-be-absent ones (bit `expected.len()` + absent index).
    pub bits: Mutex<Vec<u64>>,
    complete: AtomicBool,
    /// When the last UPDATE arrived: nanoseconds since [`Shared::base`]
    /// (0: none yet).
    pub last_update: AtomicU64,
    /// ADD-PATH: path ids held per expected prefix index.
    pub paths: Mutex<hashbrown::HashMap<u32, Vec<u32>>>,
    /// ADD-PATH: paths a prefix needs to count as held (default 1).
    pub need_paths: usize,
    /// The target agreed to send us path ids (RFC 7911).
    pub add_path: AtomicBool,
}

impl MonitorState {
    /// Empty counters for `expected` prefixes (bits: expected plus
    /// must-be-absent ones, [`Expected::bit_len`]).
    #[must_use]
    pub fn new(expected: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            unwanted: AtomicUsize::new(0),
            updates: AtomicU64::new(0),
            announced: AtomicU64::new(0),
            withdrawn: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            bits: Mutex::new(vec![0; expected.div_ceil(64)]),
            complete: AtomicBool::new(false),
            last_update: AtomicU64::new(0),
            paths: Mutex::new(hashbrown::HashMap::new()),
            need_paths: 1,
            add_path: AtomicBool::new(false),
        }
    }

    /// Under ADD-PATH, a prefix counts as held once it has `n` paths.
    #[must_use]
    pub fn with_paths(mut self, n: usize) -> Self {
        self.need_paths = n.max(1);
        self
    }

    /// Number of prefixes with k paths, per k (ADD-PATH; index 0 unused).
    #[must_use]
    pub fn path_histogram(&self) -> Vec<usize> {
        let mut h = Vec::new();
        if let Ok(p) = self.paths.lock() {
            for set in p.values().filter(|s| !s.is_empty()) {
                if h.len() <= set.len() {
                    h.resize(set.len() + 1, 0);
                }
                if let Some(c) = h.get_mut(set.len()) {
                    *c += 1;
                }
            }
        }
        h
    }

    /// Indices of the expected prefixes not held (at most `limit`).
    #[must_use]
    pub fn missing(&self, expected: &Expected, limit: usize) -> Vec<Prefix> {
        let bits = self.bits.lock().map(|b| b.clone()).unwrap_or_default();
        (0..expected.len())
            .filter(|i| bits.get(i / 64).is_none_or(|w| w & (1 << (i % 64)) == 0))
            .take(limit)
            .filter_map(|i| expected.prefix(i))
            .collect()
    }

    /// Must-be-absent prefixes held (at most `limit`).
    #[must_use]
    pub fn unwanted_held(&self, expected: &Expected, limit: usize) -> Vec<Prefix> {
        let bits = self.bits.lock().map(|b| b.clone()).unwrap_or_default();
        let base = expected.len();
        (0..expected.absent_len())
            .filter(|i| {
                let b = base + i;
                bits.get(b / 64).is_some_and(|w| w & (1 << (b % 64)) != 0)
            })
            .take(limit)
            .filter_map(|i| expected.absent_prefix(i))
            .collect()
    }
}

/// Applies one UPDATE to a monitor's held set.
pub(crate) fn count_update(
    frame: &[u8],
    ctx: &DecodeCtx,
    shared: &Shared,
    m: &MonitorState,
    index: usize,
) -> Result<(), String> {
    let body = frame.get(19..).unwrap_or_default();
    let view = UpdateView::parse(body, ctx).map_err(|e| format!("bad UPDATE: {e}"))?;
    m.updates.fetch_add(1, Ordering::Relaxed);
    let since = u64::try_from(shared.base.elapsed().as_nanos()).unwrap_or(u64::MAX);
    m.last_update.store(since.max(1), Ordering::Relaxed);
    let churn = shared.churn.as_ref();
    if let Some(c) = churn {
        for a in view.attributes() {
            if crate::churn::is_large_community(a.type_code)
                && let Some(tag) = crate::churn::find_tag(a.value)
            {
                c.on_tag(index, tag, shared.base);
            }
        }
    }
    let mut bits = m.bits.lock().map_err(|_| "poisoned".to_string())?;
    let mut paths = m.paths.lock().map_err(|_| "poisoned".to_string())?;
    let (mut held_delta, mut ann, mut wd, mut unexp) = (0i64, 0u64, 0u64, 0u64);
    let mut unwanted_delta = 0i64;
    let base = u32::try_from(shared.expected.len()).unwrap_or(u32::MAX);
    let mut apply = |n: Nlri, announce: bool| {
        let (i, absent) = match shared.expected.index(&n.prefix) {
            Some(i) => (i, false),
            None => {
                if announce {
                    unexp += 1;
                }
                match shared.expected.absent_index(&n.prefix) {
                    Some(j) => (base.saturating_add(j), true),
                    None => return,
                }
            }
        };
        if !announce
            && !absent
            && let Some(c) = churn
        {
            c.on_withdraw(index, i, shared.base);
        }
        // Held: announced (without ADD-PATH), or with at least
        // `need_paths` path ids (RFC 7911 §3: a withdrawal names one).
        let now_held = match n.path_id {
            None => announce,
            Some(id) => {
                let set = paths.entry(i).or_default();
                if !announce {
                    set.retain(|x| *x != id);
                } else if !set.contains(&id) {
                    set.push(id);
                }
                set.len() >= m.need_paths
            }
        };
        let i = i as usize;
        if let Some(w) = bits.get_mut(i / 64) {
            let bit = 1u64 << (i % 64);
            let was = *w & bit != 0;
            let delta = if absent {
                &mut unwanted_delta
            } else {
                &mut held_delta
            };
            if now_held && !was {
                *w |= bit;
                *delta += 1;
            } else if !now_held && was {
                *w &= !bit;
                *delta -= 1;
            }
        }
    };
    for n in view.withdrawn() {
        wd += 1;
        apply(n, false);
    }
    for n in view.nlri() {
        ann += 1;
        apply(n, true);
    }
    if let Ok(Some(mp)) = view.mp_unreach() {
        for n in mp.withdrawn() {
            wd += 1;
            apply(n, false);
        }
    }
    if let Ok(Some(mp)) = view.mp_reach() {
        for n in mp.nlri() {
            ann += 1;
            apply(n, true);
        }
    }
    drop(paths);
    drop(bits);
    m.announced.fetch_add(ann, Ordering::Relaxed);
    m.withdrawn.fetch_add(wd, Ordering::Relaxed);
    m.unexpected.fetch_add(unexp, Ordering::Relaxed);
    let held = add(&m.held, held_delta);
    let unwanted = add(&m.unwanted, unwanted_delta);
    // Complete: every expected prefix held and none of those that must be
    // absent; a replay can leave and re-enter that state.
    let now = held == shared.expected.len() && unwanted == 0;
    if now != m.complete.swap(now, Ordering::Relaxed) {
        let at = Instant::now();
        let _ = shared.events.send(if now {
            Event::MonitorComplete { index, at }
        } else {
            Event::MonitorIncomplete { index, at }
        });
    }
    Ok(())
}

/// Adds `delta` to `c`; the new value.
fn add(c: &AtomicUsize, delta: i64) -> usize {
    let d = delta.unsigned_abs() as usize;
    if delta >= 0 {
        c.fetch_add(d, Ordering::Relaxed) + d
    } else {
        c.fetch_sub(d, Ordering::Relaxed).saturating_sub(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Gates, Shared};
    use crate::table::Feed;
    use bytes::Bytes;
    use rampart_core::EncodeCtx;
    use rampart_core::attr::{AsPath, NextHop, Origin, PathAttributes};
    use rampart_core::msg::update::UpdateBuilder;
    use rampart_core::nlri::AfiSafi;
    use std::sync::mpsc;

    fn p(s: &str) -> Prefix {
        s.parse().unwrap()
    }

    fn update(announce: &[&str], withdraw: &[&str]) -> Bytes {
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence([65001]),
            next_hop: Some(NextHop::V4("192.0.2.1".parse().unwrap())),
            ..PathAttributes::default()
        };
        let mut b = UpdateBuilder::new(EncodeCtx::modern());
        b.withdraw(
            AfiSafi::IPV4_UNICAST,
            withdraw.iter().map(|s| Nlri::new(p(s))),
        );
        b.announce(
            &attrs,
            AfiSafi::IPV4_UNICAST,
            announce.iter().map(|s| Nlri::new(p(s))),
        )
        .unwrap();
        b.into_stream()
    }

    /// A replay's monitor: complete only with every expected prefix and no
    /// withdrawn one; it leaves and re-enters that state.
    #[test]
    fn complete_needs_expected_held_and_withdrawn_absent() {
        let feed = Feed {
            prefixes: vec![p("10.0.0.0/8")],
            withdrawn: vec![p("10.1.0.0/16")],
            ..Feed::default()
        };
        let expected = Expected::from_feeds(&[feed]);
        let gate = || async_channel::bounded::<()>(1).1;
        let (tx, rx) = mpsc::channel();
        let shared = Shared {
            monitors: vec![MonitorState::new(expected.bit_len())],
            speakers: Vec::new(),
            expected,
            feeds: Vec::new(),
            gates: Gates {
                connect_speakers: gate(),
                start: gate(),
                churn: gate(),
                stop: gate(),
            },
            events: tx,
            established: AtomicUsize::new(0),
            base: Instant::now(),
            churn: None,
        };
        let m = &shared.monitors[0];
        let ctx = DecodeCtx::modern();
        let feed = |u: Bytes| count_update(&u, &ctx, &shared, m, 0).unwrap();
        let events = || -> Vec<bool> {
            rx.try_iter()
                .map(|e| matches!(e, Event::MonitorComplete { .. }))
                .collect()
        };
        feed(update(&["10.1.0.0/16"], &[]));
        feed(update(&["10.0.0.0/8"], &[]));
        assert_eq!(m.unwanted.load(Ordering::Relaxed), 1);
        assert_eq!(events(), Vec::<bool>::new(), "a withdrawn prefix is held");
        assert_eq!(m.unwanted_held(&shared.expected, 5), vec![p("10.1.0.0/16")]);
        feed(update(&[], &["10.1.0.0/16"]));
        assert_eq!(events(), vec![true]);
        feed(update(&[], &["10.0.0.0/8"]));
        feed(update(&["10.0.0.0/8"], &[]));
        assert_eq!(events(), vec![false, true]);
        assert_eq!(m.held.load(Ordering::Relaxed), 1);
        assert_eq!(m.unwanted.load(Ordering::Relaxed), 0);
    }
}
