//! `rampartctl policy`: offline tools for policy files.
//!
//! - [`check`]: load, type-check and run the `test` blocks.
//! - [`dry_run`]: run one filter over every route of an MRT table and count
//!   accepted routes, rejected routes per reason and changed attributes.
//! - [`diff`]: run two versions of a policy over a table and count the routes
//!   whose outcome differs, per transition.
//!
//! Each route of the table is judged as if the peer that recorded it (the
//! MRT entry's peer address and AS) had announced it; withdrawals are
//! skipped. `external` sets are empty and `peer-prefixes` is absent.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::Context as _;
use rampart_core::attr::{AsPath, NextHop, PathAttributes, SegmentType};
use rampart_core::mrt::{MrtReader, Recovery, Route, RouteDecoder, RouteKind, open_file};
use rampart_policy::{FilterId, Policy, RouteContext, Verdict};
use serde::Serialize;

mod diff;
pub use diff::{DiffExample, DiffSummary, Side, Transition, diff, render_diff};

/// Records between two progress bar refreshes.
const PROGRESS_EVERY: u64 = 4096;

/// Result of `policy check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOutcome {
    /// True when the files loaded and every test passed.
    pub ok: bool,
    /// Tests run (0 when loading failed).
    pub tests: usize,
    /// Tests that passed.
    pub passed: usize,
    /// Rendered diagnostics (load errors or failed tests); empty when none.
    pub diagnostics: String,
    /// The one-line summary ("12 tests passed", "1 of 12 tests failed",
    /// "3 errors").
    pub summary: String,
}

/// Loads `files` as one policy (names are global across them), type-checks
/// it and runs its `test` blocks.
#[must_use]
pub fn check(files: &[PathBuf]) -> CheckOutcome {
    match rampart_policy::load_files(files) {
        Err(d) => {
            let n = d.items.len();
            CheckOutcome {
                ok: false,
                tests: 0,
                passed: 0,
                diagnostics: d.render(),
                summary: format!("{n} error{}, no test run", plural(n)),
            }
        }
        Ok(p) => {
            let r = p.run_tests();
            let summary = if r.ok() {
                format!("{} test{} passed", r.passed, plural(r.passed))
            } else {
                format!(
                    "{} of {} tests failed, {} passed",
                    r.tests - r.passed,
                    r.tests,
                    r.passed
                )
            };
            CheckOutcome {
                ok: r.ok(),
                tests: r.tests,
                passed: r.passed,
                diagnostics: r.failures.map(|f| f.render()).unwrap_or_default(),
                summary,
            }
        }
    }
}

const fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Loads `files` and finds `filter`.
///
/// # Errors
/// The rendered diagnostics when loading fails, or when no such filter is
/// declared (the message lists those that are).
pub fn load_filter(files: &[PathBuf], filter: &str) -> anyhow::Result<(Policy, FilterId)> {
    let policy = rampart_policy::load_files(files)
        .map_err(|d| anyhow::anyhow!("policy does not load:\n{}", d.render()))?;
    let id = policy.filter_id(filter).with_context(|| {
        let names: Vec<&str> = policy.filter_names().collect();
        format!(
            "no filter '{filter}' in the policy (filters: {})",
            names.join(", ")
        )
    })?;
    Ok((policy, id))
}

/// Which routes of the table to judge: those of one peer, chosen by address
/// or by AS (`192.0.2.1`, `64501`, `AS64501`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerSelector {
    /// The peer with this address.
    Address(IpAddr),
    /// Every peer with this AS.
    Asn(u32),
}

impl FromStr for PeerSelector {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(a) = s.parse::<IpAddr>() {
            return Ok(Self::Address(a));
        }
        let digits = s
            .strip_prefix("AS")
            .or_else(|| s.strip_prefix("as"))
            .unwrap_or(s);
        digits
            .parse::<u32>()
            .map(Self::Asn)
            .map_err(|_| format!("'{s}' is neither an address nor an AS number"))
    }
}

impl PeerSelector {
    /// True when `r` comes from the selected peer.
    #[must_use]
    pub fn matches(&self, r: &Route) -> bool {
        match self {
            Self::Address(a) => r.peer.addr == *a,
            Self::Asn(n) => r.peer.asn == *n,
        }
    }
}

/// Options shared by `policy test` and `policy diff`.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Only routes from this peer.
    pub peer: Option<PeerSelector>,
    /// `peer-role` of every route's context.
    pub peer_role: String,
    /// `peer-group` of every route's context.
    pub peer_group: String,
    /// Show a spinner on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// VRPs to validate routes against (RFC 6811) for `rpki == ...`;
    /// without them the state is unknown (`rpki == ...` false).
    pub vrps: Option<std::sync::Arc<crate::rpki::Vrps>>,
}

/// What reading the table met besides routes.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ReadCounts {
    /// Records read.
    pub records: u64,
    /// Withdrawals (not judged).
    pub withdrawals: u64,
    /// Routes of other peers, left out by `--peer`.
    pub other_peers: u64,
    /// Records or entries that could not be decoded (the reader resyncs).
    pub decode_errors: u64,
}

/// Calls `f` on every RIB entry and announcement of the MRT file `path`
/// (plain, `.gz` or `.bz2`) from the selected peer. `f` returns a short
/// status for the spinner. Decode and framing errors are counted, never
/// fatal.
///
/// # Errors
/// When the file cannot be opened.
pub fn for_each_route(
    path: &Path,
    opts: &TableOptions,
    mut f: impl FnMut(&Route) -> Option<String>,
) -> anyhow::Result<ReadCounts> {
    let input = open_file(path).with_context(|| format!("opening {}", path.display()))?;
    let mut reader = MrtReader::new(input).with_recovery(Recovery::Resync);
    let mut decoder = RouteDecoder::new();
    let mut queue = std::collections::VecDeque::new();
    let mut counts = ReadCounts::default();
    let pb = spinner(opts.progress);
    let mut status = None;
    loop {
        match reader.next_record() {
            Ok(Some(rec)) => {
                counts.records += 1;
                decoder.decode(&rec, &mut queue);
            }
            Ok(None) => break,
            Err(_) => counts.decode_errors += 1,
        }
        for item in queue.drain(..) {
            match item {
                Ok(r) if r.kind == RouteKind::Withdraw => counts.withdrawals += 1,
                Ok(r) if opts.peer.is_some_and(|p| !p.matches(&r)) => counts.other_peers += 1,
                Ok(r) => status = f(&r),
                Err(_) => counts.decode_errors += 1,
            }
        }
        if let Some(pb) = pb
            .as_ref()
            .filter(|_| counts.records.is_multiple_of(PROGRESS_EVERY))
        {
            if let Some(s) = status.take() {
                pb.set_message(s);
            }
            pb.tick();
        }
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    Ok(counts)
}

/// A spinner with elapsed time, a message and the rate, on stderr, only
/// when stderr is a terminal.
fn spinner(enabled: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal as _;
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    let style = indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    pb.set_style(style);
    Some(pb)
}

/// The evaluation context for a route of the table.
#[must_use]
pub fn context<'a>(r: &Route, opts: &'a TableOptions) -> RouteContext<'a> {
    let mut ctx = RouteContext::new(r.prefix, r.peer.addr, r.peer.asn);
    ctx.peer_role = &opts.peer_role;
    ctx.peer_group = &opts.peer_group;
    if let Some(v) = &opts.vrps {
        // A recorded route always has an AS path; an empty one (the
        // recording peer's own route, iBGP) has no origin to match.
        ctx.rpki = v.validate(&r.prefix, r.attrs.as_path.origin_as());
    }
    ctx
}

/// The attributes a policy can change, as named in the language.
pub const ATTRIBUTE_KINDS: [&str; 8] = [
    "origin",
    "as-path",
    "next-hop",
    "med",
    "local-pref",
    "communities",
    "large-communities",
    "ext-communities",
];

/// Bit `i` set when [`ATTRIBUTE_KINDS`]`[i]` differs between `a` and `b`.
#[must_use]
pub fn changed_kinds(a: &PathAttributes, b: &PathAttributes) -> u8 {
    let diffs = [
        a.origin != b.origin,
        a.as_path != b.as_path,
        a.next_hop != b.next_hop,
        a.med != b.med,
        a.local_pref != b.local_pref,
        a.communities != b.communities,
        a.large_communities != b.large_communities,
        a.rare.ext_communities != b.rare.ext_communities,
    ];
    diffs
        .iter()
        .enumerate()
        .fold(0, |m, (i, d)| if *d { m | (1 << i) } else { m })
}

/// The names of the kinds set in `mask`, in [`ATTRIBUTE_KINDS`] order.
pub fn kind_names(mask: u8) -> impl Iterator<Item = &'static str> {
    ATTRIBUTE_KINDS
        .iter()
        .enumerate()
        .filter(move |(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| *n)
}

/// An AS path as text: sequences space-separated, sets in braces,
/// confederation segments in parentheses.
#[must_use]
pub fn as_path_text(p: &AsPath) -> String {
    let mut out = String::new();
    for s in p.segments() {
        let (open, close) = match s.kind {
            SegmentType::AsSequence => ("", ""),
            SegmentType::AsSet => ("{", "}"),
            SegmentType::ConfedSequence => ("(", ")"),
            SegmentType::ConfedSet => ("[", "]"),
        };
        let asns: Vec<String> = s.asns.iter().map(u32::to_string).collect();
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{open}{}{close}", asns.join(" "));
    }
    out
}

/// A next hop as text (the global address for IPv6).
#[must_use]
pub fn next_hop_text(nh: Option<&NextHop>) -> Option<String> {
    nh.map(|n| match n {
        NextHop::V4(a) => a.to_string(),
        NextHop::V6 { global, .. } => global.to_string(),
    })
}

/// A route identified for a report: one JSON line of `--rejected`, or an
/// example of a diff.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RouteRef {
    /// The prefix.
    pub prefix: String,
    /// The peer address the table recorded.
    pub peer: IpAddr,
    /// That peer's AS.
    pub peer_as: u32,
    /// The AS path as received ([`as_path_text`]).
    pub as_path: String,
    /// The next hop as received.
    pub next_hop: Option<String>,
}

impl RouteRef {
    /// The reference for `r`, with its attributes as received.
    #[must_use]
    pub fn of(r: &Route) -> Self {
        Self {
            prefix: r.prefix.to_string(),
            peer: r.peer.addr,
            peer_as: r.peer.asn,
            as_path: as_path_text(&r.attrs.as_path),
            next_hop: next_hop_text(r.attrs.next_hop.as_ref()),
        }
    }
}

/// One line of `--rejected`.
#[derive(Debug, Clone, Serialize)]
struct RejectedLine<'a> {
    #[serde(flatten)]
    route: RouteRef,
    reason: &'a str,
}

/// A count under a name.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Count {
    /// The reject reason or attribute name.
    pub name: String,
    /// Routes.
    pub count: u64,
}

/// Result of `policy test`, as printed or serialized with `--json`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DryRunSummary {
    /// The MRT file.
    pub file: String,
    /// The filter run.
    pub filter: String,
    /// Routes judged (RIB entries and announcements of the selected peers).
    pub routes: u64,
    /// Routes accepted.
    pub accepted: u64,
    /// Routes rejected.
    pub rejected: u64,
    /// Rejected routes per reason, most frequent first (then by reason).
    pub rejected_by_reason: Vec<Count>,
    /// Accepted routes with at least one attribute changed.
    pub accepted_changed: u64,
    /// Accepted routes per changed attribute kind, most frequent first; a
    /// route with two kinds changed counts under both.
    pub changed_by_attribute: Vec<Count>,
    /// What reading met besides routes.
    pub read: ReadCounts,
    /// Wall time (seconds).
    pub elapsed_s: f64,
}

fn sorted_counts(m: HashMap<String, u64>) -> Vec<Count> {
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(name, count)| Count { name, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    v
}

/// Runs `filter` over every route of `mrt`; writes each rejected route as a
/// JSON line to `rejected` when given.
///
/// # Errors
/// When the table cannot be opened or `rejected` cannot be written.
pub fn dry_run(
    policy: &Policy,
    filter: FilterId,
    filter_name: &str,
    mrt: &Path,
    opts: &TableOptions,
    mut rejected: Option<&mut dyn Write>,
) -> anyhow::Result<DryRunSummary> {
    let start = Instant::now();
    let (mut routes, mut accepted, mut changed) = (0u64, 0u64, 0u64);
    let mut reasons: HashMap<String, u64> = HashMap::new();
    let mut kinds = [0u64; ATTRIBUTE_KINDS.len()];
    let mut write_err = None;
    let read = for_each_route(mrt, opts, |r| {
        routes += 1;
        let mut attrs = PathAttributes::clone(&r.attrs);
        match policy.evaluate(filter, &context(r, opts), &mut attrs) {
            Verdict::Accept => {
                accepted += 1;
                let mask = changed_kinds(&r.attrs, &attrs);
                if mask != 0 {
                    changed += 1;
                    for (i, k) in kinds.iter_mut().enumerate() {
                        *k += u64::from(mask & (1 << i) != 0);
                    }
                }
            }
            Verdict::Reject(reason) => {
                *reasons.entry(reason.to_string()).or_default() += 1;
                if let Some(out) = rejected.as_deref_mut().filter(|_| write_err.is_none()) {
                    let line = RejectedLine {
                        route: RouteRef::of(r),
                        reason: &reason,
                    };
                    if let Err(e) = serde_json::to_writer(&mut *out, &line)
                        .map_err(anyhow::Error::from)
                        .and_then(|()| out.write_all(b"\n").map_err(anyhow::Error::from))
                    {
                        write_err = Some(e);
                    }
                }
            }
        }
        Some(format!(
            "{routes} routes, {accepted} accepted, {} rejected",
            routes - accepted
        ))
    })?;
    if let Some(e) = write_err {
        return Err(e.context("writing the rejected routes"));
    }
    let changed_by_attribute = sorted_counts(
        kind_names(u8::MAX)
            .zip(kinds)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| (k.to_owned(), n))
            .collect(),
    );
    Ok(DryRunSummary {
        file: mrt.display().to_string(),
        filter: filter_name.to_owned(),
        routes,
        accepted,
        rejected: routes - accepted,
        rejected_by_reason: sorted_counts(reasons),
        accepted_changed: changed,
        changed_by_attribute,
        read,
        elapsed_s: start.elapsed().as_secs_f64(),
    })
}

fn percent(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        n as f64 * 100.0 / of as f64
    }
}

/// The human-readable `policy test` report.
#[must_use]
pub fn render_dry_run(s: &DryRunSummary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "filter {} over {}", s.filter, s.file);
    let _ = writeln!(o, "routes     {:>10}", s.routes);
    let _ = writeln!(
        o,
        "accepted   {:>10}  {:5.1}%",
        s.accepted,
        percent(s.accepted, s.routes)
    );
    let _ = writeln!(
        o,
        "rejected   {:>10}  {:5.1}%",
        s.rejected,
        percent(s.rejected, s.routes)
    );
    for c in &s.rejected_by_reason {
        let _ = writeln!(o, "  {:>10}  {}", c.count, c.name);
    }
    let _ = writeln!(
        o,
        "changed    {:>10}  accepted with attributes changed",
        s.accepted_changed
    );
    for c in &s.changed_by_attribute {
        let _ = writeln!(o, "  {:>10}  {}", c.count, c.name);
    }
    let r = &s.read;
    let _ = writeln!(
        o,
        "read       {} records; skipped {} withdrawals, {} routes of other peers; {} decode errors; {:.2} s",
        r.records, r.withdrawals, r.other_peers, r.decode_errors, s.elapsed_s
    );
    o
}

#[cfg(test)]
mod tests;
