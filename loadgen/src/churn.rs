//! The `churn` phase: after convergence, each speaker withdraws and
//! re-announces its prefixes at a steady rate, and the monitors measure
//! how long each change takes to reach them.
//!
//! ```text
//! before the clock: per speaker, a list of changes, each one UPDATE:
//!   withdraw p[j]            (change 2j-ish)
//!   announce p[j - lag]      tagged LARGE_COMMUNITY TAG_ASN:speaker:seq
//!   ... then the last `lag` withdrawn prefixes re-announced
//! speaker: change k written at t_churn + k / rate; sent_at[id] stamped
//!          just before the write (id = the change's global number)
//! monitor: tagged announcement -> id from the tag -> latency
//!          withdrawal of p     -> id of the last withdrawal sent for p
//!          each id counted once per monitor
//! ```
//!
//! A withdrawn prefix is re-announced `lag` changes later (about a quarter
//! of a second), not at once, so that a target that batches its output
//! still has a withdrawal to send. Only prefixes announced by exactly one
//! speaker churn: the withdrawal of a prefix another speaker also
//! announces shows up at a monitor as a change of best path, which no tag
//! identifies (with a `:shared` or `per-peer` table nothing churns, and
//! the summary says so).
//!
//! A re-announcement carries attributes of its own (ORIGIN IGP, AS_PATH of
//! the speaker's AS, the speaker's address as next hop, the tag), not the
//! table's: every change is a new attribute set for the target.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rampart_core::EncodeCtx;
use rampart_core::attr::{AsPath, LargeCommunity, NextHop, Origin, PathAttributes, thin_vec};
use rampart_core::msg::update::UpdateBuilder;
use rampart_core::nlri::{AfiSafi, Nlri, Prefix};
use serde::{Deserialize, Serialize};

use crate::run::Percentiles;
use crate::table::{Expected, Feed, SpeakerIdentity, TableError};

/// Global Administrator of the churn tags: a 4-octet private-use AS
/// (RFC 6996 §5), so that no real table carries it.
pub const TAG_ASN: u32 = 4_294_967_000;
/// LARGE_COMMUNITY type code (RFC 8092 §3).
const ATTR_LARGE_COMMUNITY: u8 = 32;

/// One pre-encoded change.
#[derive(Debug, Clone)]
pub struct Change {
    /// The whole UPDATE message.
    pub msg: Bytes,
    /// Index of the prefix in [`Expected`].
    pub prefix: u32,
    /// A withdrawal (else a tagged announcement).
    pub withdraw: bool,
}

/// One speaker's changes.
#[derive(Debug, Clone, Default)]
pub struct SpeakerChurn {
    /// In sending order.
    pub changes: Vec<Change>,
    /// Global id of `changes[0]`.
    pub base: u32,
}

/// What one monitor has seen of the changes.
#[derive(Debug, Default)]
struct MonitorChurn {
    /// Bit per global change id: counted already.
    seen: Vec<u64>,
    /// (withdrawal, latency ns) per change counted.
    samples: Vec<(bool, u64)>,
    /// Tagged announcements whose tag names no change sent.
    unknown_tags: u64,
    /// Changes received again.
    duplicates: u64,
}

/// The churn plan and its shared counters.
#[derive(Debug)]
pub struct Churn {
    /// Changes per second per speaker.
    pub rate: f64,
    /// Configured duration.
    pub duration: Duration,
    /// One per speaker.
    pub speakers: Vec<SpeakerChurn>,
    /// Changes of all speakers.
    pub total: usize,
    /// Send time per global id: ns since the run's base, 0 = not sent.
    sent_at: Vec<AtomicU64>,
    /// Changes stamped so far.
    sent_count: AtomicUsize,
    /// Per expected prefix: 1 + global id of the last withdrawal sent.
    pending_withdraw: Vec<AtomicU32>,
    monitors: Vec<Mutex<MonitorChurn>>,
}

/// Churn figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChurnReport {
    /// Changes per second per speaker, as configured.
    pub rate_per_speaker: f64,
    /// Configured duration, seconds.
    pub duration_secs: f64,
    /// From the churn start to the last speaker's last change, seconds.
    pub send_secs: f64,
    /// Prefixes that churn (announced by one speaker only), all speakers.
    pub churning_prefixes: usize,
    /// Changes written, all speakers.
    pub changes_sent: usize,
    /// Of those, withdrawals.
    pub withdrawals_sent: usize,
    /// Changes the monitors must see: sent × monitors.
    pub changes_expected: usize,
    /// Changes the monitors saw (each counted once per monitor).
    pub changes_received: usize,
    /// `changes_expected - changes_received` at the end of the wait.
    pub missing: usize,
    /// Withdrawals missing (the rest of `missing` are announcements).
    pub missing_withdrawals: usize,
    /// Latency of every change received, milliseconds.
    pub latency_ms: Option<Percentiles>,
    /// Of withdrawals only, milliseconds.
    pub withdraw_latency_ms: Option<Percentiles>,
    /// Of tagged announcements only, milliseconds.
    pub announce_latency_ms: Option<Percentiles>,
    /// Tagged announcements decoded at the monitors (incl. duplicates).
    pub tags_decoded: u64,
    /// Tags naming no change sent (a target rewriting the tag).
    pub unknown_tags: u64,
    /// Changes seen again by the same monitor.
    pub duplicates: u64,
    /// The target's CPU seconds from the churn start to the end of the wait.
    pub cpu_secs: Option<f64>,
}

impl Churn {
    /// Plans `rate × duration` changes per speaker over the prefixes of
    /// its feed that no other speaker announces.
    ///
    /// # Errors
    /// When an UPDATE cannot be encoded.
    pub fn build(
        feeds: &[Feed],
        expected: &Expected,
        idents: &[SpeakerIdentity],
        rate: f64,
        duration: Duration,
        monitors: usize,
    ) -> Result<Self, TableError> {
        let mut owners = vec![0u8; expected.len()];
        for p in feeds.iter().flat_map(|f| &f.prefixes) {
            if let Some(o) = expected.index(p).and_then(|i| owners.get_mut(i as usize)) {
                *o = o.saturating_add(1);
            }
        }
        let per = ((rate * duration.as_secs_f64()).round() as usize).max(2);
        let mut speakers = Vec::with_capacity(feeds.len());
        let mut base = 0u32;
        for (i, (feed, id)) in feeds.iter().zip(idents).enumerate() {
            let own: Vec<(u32, Prefix)> = feed
                .prefixes
                .iter()
                .filter_map(|p| Some((expected.index(p)?, *p)))
                .filter(|(k, _)| owners.get(*k as usize) == Some(&1))
                .collect();
            let plan = plan(own.len(), per, ((rate / 8.0) as usize).max(1));
            let mut changes = Vec::with_capacity(plan.len());
            for (seq, (withdraw, k)) in plan.into_iter().enumerate() {
                let Some(&(index, prefix)) = own.get(k) else {
                    continue;
                };
                let tag = LargeCommunity {
                    global: TAG_ASN,
                    local1: u32::try_from(i).unwrap_or(u32::MAX),
                    local2: u32::try_from(seq).unwrap_or(u32::MAX),
                };
                let msg = encode_change(prefix, withdraw, id, tag)?;
                changes.push(Change {
                    msg,
                    prefix: index,
                    withdraw,
                });
            }
            let n = u32::try_from(changes.len()).unwrap_or(u32::MAX);
            speakers.push(SpeakerChurn { changes, base });
            base = base.saturating_add(n);
        }
        let total = base as usize;
        Ok(Self {
            rate,
            duration,
            speakers,
            total,
            sent_at: (0..total).map(|_| AtomicU64::new(0)).collect(),
            sent_count: AtomicUsize::new(0),
            pending_withdraw: (0..expected.len()).map(|_| AtomicU32::new(0)).collect(),
            monitors: (0..monitors)
                .map(|_| {
                    Mutex::new(MonitorChurn {
                        seen: vec![0; total.div_ceil(64)],
                        ..MonitorChurn::default()
                    })
                })
                .collect(),
        })
    }

    /// Stamps change `seq` of `speaker` as sent now (call just before the
    /// write: a monitor cannot see it earlier).
    pub fn mark_sent(&self, speaker: usize, seq: usize, base: Instant) {
        let Some(sc) = self.speakers.get(speaker) else {
            return;
        };
        let Some(ch) = sc.changes.get(seq) else {
            return;
        };
        let id = sc.base as usize + seq;
        if let Some(s) = self.sent_at.get(id)
            && s.swap(nanos_since(base), Ordering::AcqRel) == 0
        {
            self.sent_count.fetch_add(1, Ordering::Relaxed);
        }
        if ch.withdraw
            && let Some(p) = self.pending_withdraw.get(ch.prefix as usize)
        {
            p.store(u32::try_from(id + 1).unwrap_or(0), Ordering::Release);
        }
    }

    /// A monitor received the withdrawal of expected prefix `prefix`.
    pub fn on_withdraw(&self, monitor: usize, prefix: u32, base: Instant) {
        let Some(c) = self.pending_withdraw.get(prefix as usize) else {
            return;
        };
        let c = c.load(Ordering::Acquire);
        if c > 0 {
            self.record(monitor, c as usize - 1, true, base);
        }
    }

    /// A monitor received an announcement carrying `tag`.
    pub fn on_tag(&self, monitor: usize, tag: LargeCommunity, base: Instant) {
        let id = self
            .speakers
            .get(tag.local1 as usize)
            .filter(|s| (tag.local2 as usize) < s.changes.len())
            .map(|s| s.base as usize + tag.local2 as usize);
        match id {
            Some(id) => self.record(monitor, id, false, base),
            None => {
                if let Some(Ok(mut m)) = self.monitors.get(monitor).map(Mutex::lock) {
                    m.unknown_tags += 1;
                }
            }
        }
    }

    fn record(&self, monitor: usize, id: usize, withdraw: bool, base: Instant) {
        let now = nanos_since(base);
        let sent = self
            .sent_at
            .get(id)
            .map_or(0, |s| s.load(Ordering::Acquire));
        let Some(Ok(mut m)) = self.monitors.get(monitor).map(Mutex::lock) else {
            return;
        };
        if sent == 0 {
            m.unknown_tags += u64::from(!withdraw);
            return;
        }
        let Some(w) = m.seen.get_mut(id / 64) else {
            return;
        };
        let bit = 1u64 << (id % 64);
        if *w & bit != 0 {
            m.duplicates += 1;
            return;
        }
        *w |= bit;
        m.samples.push((withdraw, now.saturating_sub(sent)));
    }

    /// Changes stamped as sent.
    #[must_use]
    pub fn sent(&self) -> usize {
        self.sent_count.load(Ordering::Relaxed)
    }

    /// Changes counted at the monitors, all monitors.
    #[must_use]
    pub fn received(&self) -> usize {
        self.monitors
            .iter()
            .filter_map(|m| m.lock().ok().map(|m| m.samples.len()))
            .sum()
    }

    /// The figures (`cpu_secs` and `send_secs` filled by the caller).
    #[must_use]
    pub fn report(&self) -> ChurnReport {
        let mut all = Vec::new();
        let (mut wd, mut ann) = (Vec::new(), Vec::new());
        let (mut unknown, mut dups, mut tags) = (0, 0, 0);
        let mut wd_seen = 0usize;
        for m in self.monitors.iter().filter_map(|m| m.lock().ok()) {
            unknown += m.unknown_tags;
            dups += m.duplicates;
            for &(w, ns) in &m.samples {
                let ms = ns as f64 / 1e6;
                all.push(ms);
                if w {
                    wd.push(ms);
                    wd_seen += 1;
                } else {
                    ann.push(ms);
                    tags += 1;
                }
            }
        }
        let sent = self.sent();
        let withdrawals_sent = self
            .speakers
            .iter()
            .flat_map(|s| {
                s.changes
                    .iter()
                    .enumerate()
                    .map(move |(k, c)| (s.base as usize + k, c))
            })
            .filter(|(id, c)| {
                c.withdraw
                    && self
                        .sent_at
                        .get(*id)
                        .is_some_and(|s| s.load(Ordering::Relaxed) > 0)
            })
            .count();
        let monitors = self.monitors.len();
        let expected = sent * monitors;
        ChurnReport {
            rate_per_speaker: self.rate,
            duration_secs: self.duration.as_secs_f64(),
            churning_prefixes: self
                .speakers
                .iter()
                .flat_map(|s| s.changes.iter().filter(|c| c.withdraw).map(|c| c.prefix))
                .collect::<hashbrown::HashSet<u32>>()
                .len(),
            changes_sent: sent,
            withdrawals_sent,
            changes_expected: expected,
            changes_received: all.len(),
            missing: expected.saturating_sub(all.len()),
            missing_withdrawals: (withdrawals_sent * monitors).saturating_sub(wd_seen),
            latency_ms: Percentiles::of(&mut all),
            withdraw_latency_ms: Percentiles::of(&mut wd),
            announce_latency_ms: Percentiles::of(&mut ann),
            tags_decoded: tags + dups,
            unknown_tags: unknown,
            duplicates: dups,
            ..ChurnReport::default()
        }
    }
}

/// The churn tag in an UPDATE's raw LARGE_COMMUNITY attribute value.
#[must_use]
pub fn find_tag(value: &[u8]) -> Option<LargeCommunity> {
    value.chunks_exact(12).find_map(|c| {
        let w = |k: usize| {
            c.get(k..k + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
        };
        let lc = LargeCommunity {
            global: w(0)?,
            local1: w(4)?,
            local2: w(8)?,
        };
        (lc.global == TAG_ASN).then_some(lc)
    })
}

/// True for the LARGE_COMMUNITY type code.
#[must_use]
pub const fn is_large_community(type_code: u8) -> bool {
    type_code == ATTR_LARGE_COMMUNITY
}

/// The order of changes over `n` prefixes: `(withdraw, prefix index)`;
/// `count` changes in all (rounded to pairs), each withdrawn prefix
/// re-announced `lag` pairs later, every prefix announced at the end.
fn plan(n: usize, count: usize, lag: usize) -> Vec<(bool, usize)> {
    if n == 0 {
        return Vec::new();
    }
    let lag = lag.min(n - 1);
    let pairs = count / 2;
    let mut v = Vec::with_capacity(pairs * 2);
    for j in 0..pairs {
        v.push((true, j % n));
        if j >= lag {
            v.push((false, (j - lag) % n));
        }
    }
    for j in pairs.saturating_sub(lag)..pairs {
        v.push((false, j % n));
    }
    v
}

fn encode_change(
    prefix: Prefix,
    withdraw: bool,
    id: &SpeakerIdentity,
    tag: LargeCommunity,
) -> Result<Bytes, TableError> {
    let family = match prefix {
        Prefix::V4(_) => AfiSafi::IPV4_UNICAST,
        Prefix::V6(_) => AfiSafi::IPV6_UNICAST,
    };
    let mut b = UpdateBuilder::new(EncodeCtx::modern());
    if withdraw {
        b.withdraw(family, [Nlri::new(prefix)]);
    } else {
        let next_hop = match (id.source, family == AfiSafi::IPV4_UNICAST) {
            (std::net::IpAddr::V4(a), true) => NextHop::V4(a),
            (std::net::IpAddr::V4(a), false) => NextHop::V6 {
                global: a.to_ipv6_mapped(),
                link_local: None,
            },
            (std::net::IpAddr::V6(a), _) => NextHop::V6 {
                global: a,
                link_local: None,
            },
        };
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence([id.asn]),
            next_hop: Some(next_hop),
            large_communities: thin_vec![tag],
            ..PathAttributes::default()
        };
        b.announce(&attrs, family, [Nlri::new(prefix)])
            .map_err(|e| TableError::Encode(e.to_string()))?;
    }
    b.into_pdu_iter()
        .next()
        .ok_or_else(|| TableError::Encode("empty churn UPDATE".into()))
}

fn nanos_since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_reannounces_every_withdrawn_prefix_once() {
        for (n, count, lag) in [(10, 40, 3), (1, 6, 5), (4, 100, 2), (50, 7, 1)] {
            let p = plan(n, count, lag);
            assert_eq!(p.len(), count / 2 * 2, "{n} {count} {lag}");
            let mut down = vec![false; n];
            for (w, k) in p {
                assert_ne!(
                    down[k],
                    w,
                    "prefix {k} {} twice",
                    if w { "withdrawn" } else { "announced" }
                );
                down[k] = w;
            }
            assert!(down.iter().all(|d| !d), "all announced at the end");
        }
    }

    #[test]
    fn tag_round_trips_through_the_attribute_value() {
        let mut v = Vec::new();
        for (g, a, b) in [(65_000u32, 1u32, 2u32), (TAG_ASN, 7, 99)] {
            v.extend(g.to_be_bytes());
            v.extend(a.to_be_bytes());
            v.extend(b.to_be_bytes());
        }
        let t = find_tag(&v).unwrap();
        assert_eq!((t.local1, t.local2), (7, 99));
        assert!(find_tag(&v[..12]).is_none());
    }
}
