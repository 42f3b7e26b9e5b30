//! What a monitor session counts: the expected prefixes it holds (a bit
//! each), ADD-PATH path ids per prefix (RFC 7911), churn changes.

use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use rampart_core::DecodeCtx;
use rampart_core::msg::update::UpdateView;
use rampart_core::nlri::{Nlri, Prefix};

use crate::session::{Event, Shared};
use crate::table::{Expected, Near};

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

thread_local! {
    /// This thread's recent prefix indices ([`Expected::index_near`]): the
    /// UPDATEs a generator thread reads, of all its monitors, continue
    /// each other's runs.
    static NEAR: std::cell::RefCell<Near> = std::cell::RefCell::default();
}

/// One UPDATE's effect on a monitor, in the order it applies: the
/// withdrawn routes, the announced ones, then MP_UNREACH and MP_REACH.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    announced: u64,
    withdrawn: u64,
    unexpected: u64,
    /// Each NLRI that names an expected or must-be-absent prefix.
    hits: Vec<Hit>,
}

#[derive(Debug, Clone, Copy)]
struct Hit {
    /// The prefix's bit: its [`Expected`] index, or `expected.len()` plus
    /// its must-be-absent index.
    bit: u32,
    /// ADD-PATH path identifier (RFC 7911).
    path_id: Option<u32>,
    announce: bool,
}

impl Decoded {
    fn new(view: &UpdateView<'_>, expected: &Expected) -> Self {
        let mut d = Self::default();
        NEAR.with_borrow_mut(|near| d.add_all(view, expected, near));
        d
    }

    /// Counts and looks up every NLRI of `view`, in order.
    fn add_all(&mut self, view: &UpdateView<'_>, expected: &Expected, near: &mut Near) {
        let d = self;
        let base = u32::try_from(expected.len()).unwrap_or(u32::MAX);
        let mut add = |n: Nlri, announce: bool| {
            if announce {
                d.announced += 1;
            } else {
                d.withdrawn += 1;
            }
            let bit = match expected.index_near(&n.prefix, near) {
                Some(i) => i,
                None => {
                    if announce {
                        d.unexpected += 1;
                    }
                    match expected.absent_index(&n.prefix) {
                        Some(j) => base.saturating_add(j),
                        None => return,
                    }
                }
            };
            d.hits.push(Hit {
                bit,
                path_id: n.path_id,
                announce,
            });
        };
        for n in view.withdrawn() {
            add(n, false);
        }
        for n in view.nlri() {
            add(n, true);
        }
        if let Ok(Some(mp)) = view.mp_unreach() {
            for n in mp.withdrawn() {
                add(n, false);
            }
        }
        if let Ok(Some(mp)) = view.mp_reach() {
            for n in mp.nlri() {
                add(n, true);
            }
        }
    }

    /// Bytes this entry keeps (for [`SeenUpdates`]'s bound).
    fn heap_bytes(&self) -> usize {
        size_of::<Self>() + self.hits.capacity() * size_of::<Hit>()
    }
}

/// UPDATEs already decoded, by their bytes. The monitors of one update
/// group get the same UPDATEs: with a full table fanned out to 100
/// monitors, decoding each of them 100 times kept the generator's thread
/// busy while rampartd's workers idled, so the generator, not the
/// daemon, set the convergence time. Each generator thread parses and
/// looks up each distinct UPDATE once (its own cache: a shared one cost
/// more in lock traffic than it saved); every monitor still sets its own
/// bits. Used only where the bytes alone decide the outcome: more than
/// one monitor, no ADD-PATH (a session's own decode context), no churn
/// (a tag per change, counted per monitor).
#[derive(Debug)]
pub struct SeenUpdates {
    /// Tells this run's entries from an earlier run's in a thread's cache.
    run: u64,
    /// UPDATEs parsed for the cache, over all threads.
    decoded: std::sync::atomic::AtomicUsize,
}

impl Default for SeenUpdates {
    fn default() -> Self {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        Self {
            run: RUNS.fetch_add(1, Ordering::Relaxed),
            decoded: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

/// One thread's cache: the run it belongs to, the decodes, their bytes.
#[derive(Default)]
struct Seen {
    run: u64,
    map: hashbrown::HashMap<Box<[u8]>, Rc<Decoded>, foldhash::fast::FixedState>,
    bytes: usize,
}

thread_local! {
    static SEEN: std::cell::RefCell<Seen> = std::cell::RefCell::default();
}

impl SeenUpdates {
    /// Bytes of UPDATEs and their decodes a thread keeps before starting
    /// over.
    const MAX_BYTES: usize = 256 << 20;

    fn get_or_decode(
        &self,
        body: &[u8],
        ctx: &DecodeCtx,
        expected: &Expected,
    ) -> Result<Rc<Decoded>, String> {
        SEEN.with_borrow_mut(|seen| {
            if seen.run != self.run || seen.bytes > Self::MAX_BYTES {
                *seen = Seen {
                    run: self.run,
                    ..Seen::default()
                };
            }
            if let Some(d) = seen.map.get(body) {
                return Ok(Rc::clone(d));
            }
            let view = UpdateView::parse(body, ctx).map_err(|e| format!("bad UPDATE: {e}"))?;
            let d = Rc::new(Decoded::new(&view, expected));
            self.decoded.fetch_add(1, Ordering::Relaxed);
            seen.bytes += body.len() + d.heap_bytes();
            seen.map.insert(body.into(), Rc::clone(&d));
            Ok(d)
        })
    }

    /// UPDATEs parsed for the cache so far (each distinct one once per
    /// generator thread).
    #[must_use]
    pub fn decoded(&self) -> usize {
        self.decoded.load(Ordering::Relaxed)
    }
}

/// Applies one UPDATE, received at `now`, to a monitor's held set.
pub(crate) fn count_update(
    frame: &[u8],
    ctx: &DecodeCtx,
    shared: &Shared,
    m: &MonitorState,
    index: usize,
    now: Instant,
) -> Result<(), String> {
    let body = frame.get(19..).unwrap_or_default();
    let churn = shared.churn.as_ref();
    let shareable =
        churn.is_none() && shared.monitors.len() > 1 && !m.add_path.load(Ordering::Relaxed);
    let owned;
    let cached;
    let d: &Decoded = if shareable {
        cached = shared.seen.get_or_decode(body, ctx, &shared.expected)?;
        &cached
    } else {
        let view = UpdateView::parse(body, ctx).map_err(|e| format!("bad UPDATE: {e}"))?;
        if let Some(c) = churn {
            for a in view.attributes() {
                if crate::churn::is_large_community(a.type_code)
                    && let Some(tag) = crate::churn::find_tag(a.value)
                {
                    c.on_tag(index, tag, shared.base);
                }
            }
        }
        owned = Decoded::new(&view, &shared.expected);
        &owned
    };
    m.updates.fetch_add(1, Ordering::Relaxed);
    let since = now.saturating_duration_since(shared.base).as_nanos();
    m.last_update.store(
        u64::try_from(since).unwrap_or(u64::MAX).max(1),
        Ordering::Relaxed,
    );
    let mut bits = m.bits.lock().map_err(|_| "poisoned".to_string())?;
    let mut paths = m.paths.lock().map_err(|_| "poisoned".to_string())?;
    let (mut held_delta, mut unwanted_delta) = (0i64, 0i64);
    let base = u32::try_from(shared.expected.len()).unwrap_or(u32::MAX);
    for h in &d.hits {
        let absent = h.bit >= base;
        if !h.announce
            && !absent
            && let Some(c) = churn
        {
            c.on_withdraw(index, h.bit, shared.base);
        }
        // Held: announced (without ADD-PATH), or with at least
        // `need_paths` path ids (RFC 7911 §3: a withdrawal names one).
        let now_held = match h.path_id {
            None => h.announce,
            Some(id) => {
                let set = paths.entry(h.bit).or_default();
                if !h.announce {
                    set.retain(|x| *x != id);
                } else if !set.contains(&id) {
                    set.push(id);
                }
                set.len() >= m.need_paths
            }
        };
        let i = h.bit as usize;
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
    }
    drop(paths);
    drop(bits);
    m.announced.fetch_add(d.announced, Ordering::Relaxed);
    m.withdrawn.fetch_add(d.withdrawn, Ordering::Relaxed);
    m.unexpected.fetch_add(d.unexpected, Ordering::Relaxed);
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

    /// A run's shared state for `monitors` monitors of `feed`, and its
    /// event receiver.
    fn shared(feed: Feed, monitors: usize) -> (Shared, mpsc::Receiver<Event>) {
        let expected = Expected::from_feeds(&[feed]);
        let gate = || async_channel::bounded::<()>(1).1;
        let (tx, rx) = mpsc::channel();
        let shared = Shared {
            monitors: (0..monitors)
                .map(|_| MonitorState::new(expected.bit_len()))
                .collect(),
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
            seen: SeenUpdates::default(),
        };
        (shared, rx)
    }

    /// Monitors of one group get the same UPDATEs: each distinct one is
    /// decoded once, and every monitor still keeps its own held set.
    #[test]
    fn monitors_share_decodes_but_not_held_sets() {
        let feed = Feed {
            prefixes: vec![p("10.0.0.0/8"), p("10.2.0.0/16")],
            withdrawn: vec![p("10.1.0.0/16")],
            ..Feed::default()
        };
        let (shared, _rx) = shared(feed, 2);
        let ctx = DecodeCtx::modern();
        let feed = |m: usize, u: &Bytes| {
            count_update(u, &ctx, &shared, &shared.monitors[m], m, Instant::now()).unwrap();
        };
        let a = update(&["10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24"], &[]);
        let b = update(&[], &["10.1.0.0/16"]);
        let c = update(&["10.2.0.0/16"], &[]);
        feed(0, &a);
        feed(1, &a);
        feed(0, &b);
        feed(0, &c);
        assert_eq!(shared.seen.decoded(), 3, "one decode per distinct UPDATE");
        let counts = |m: &MonitorState| [&m.held, &m.unwanted].map(|c| c.load(Ordering::Relaxed));
        assert_eq!(counts(&shared.monitors[0]), [2, 0]);
        // Monitor 1 has not had `b` yet: the withdrawn prefix is still held.
        assert_eq!(counts(&shared.monitors[1]), [1, 1]);
        // Not expected: 192.0.2.0/24, and 10.1.0.0/16 (must be absent).
        assert_eq!(shared.monitors[1].unexpected.load(Ordering::Relaxed), 2);
        feed(1, &b);
        feed(1, &c);
        assert_eq!(shared.seen.decoded(), 3);
        assert_eq!(counts(&shared.monitors[1]), [2, 0]);
        for m in &shared.monitors {
            assert_eq!(m.announced.load(Ordering::Relaxed), 4);
            assert_eq!(m.withdrawn.load(Ordering::Relaxed), 1);
            assert!(m.missing(&shared.expected, 5).is_empty());
        }
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
        let (shared, rx) = shared(feed, 1);
        let m = &shared.monitors[0];
        let ctx = DecodeCtx::modern();
        let feed = |u: Bytes| count_update(&u, &ctx, &shared, m, 0, Instant::now()).unwrap();
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
