//! The figures of a run ([`Report`]) and its human summary.

use serde::{Deserialize, Serialize};

use crate::churn::ChurnReport;

/// Completion-time percentiles, seconds from t0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// A monitor that did not complete.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Missing {
    /// Monitor index.
    pub monitor: usize,
    /// Expected prefixes it holds.
    pub held: usize,
    /// Expected prefixes.
    pub expected: usize,
    /// Some prefixes it lacks.
    pub examples: Vec<String>,
    /// Prefixes it holds that must be absent (replay: withdrawn).
    #[serde(default)]
    pub unwanted: usize,
    /// Some of those.
    #[serde(default)]
    pub unwanted_examples: Vec<String>,
}

/// The target's resources over the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TargetUsage {
    /// Peak RSS (VmHWM, or the highest sample if larger), bytes.
    pub peak_rss: u64,
    /// RSS at the end, bytes.
    pub end_rss: u64,
    /// CPU seconds used from the first connect to the end of the run.
    pub cpu_secs: f64,
    /// CPU seconds used from t0 to convergence.
    pub cpu_secs_converge: f64,
}

/// The figures of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// True when every monitor held the expected set and no session failed.
    pub ok: bool,
    /// Speakers and monitors asked for.
    pub speakers: usize,
    /// Monitors asked for.
    pub monitors: usize,
    /// Routes announced, all speakers.
    pub routes_sent: usize,
    /// Distinct prefixes each monitor must hold.
    pub expected_prefixes: usize,
    /// UPDATE messages and bytes sent, all speakers.
    pub messages_sent: usize,
    /// Bytes of the feeds.
    pub bytes_sent: usize,
    /// Time to build and encode the feeds (before the clock), seconds.
    pub encode_secs: f64,
    /// Time to establish all monitors, seconds.
    pub monitors_establish_secs: Option<f64>,
    /// Time from the first speaker connect to the last Established, seconds.
    pub speakers_establish_secs: Option<f64>,
    /// Idle sessions asked for (they connect as the feed starts).
    #[serde(default)]
    pub idle: usize,
    /// Time from the feed's start to the last idle session Established,
    /// seconds; `None` unless every idle session came up.
    #[serde(default)]
    pub idle_establish_secs: Option<f64>,
    /// Sessions that never reached Established.
    pub sessions_failed: usize,
    /// Sessions that went down during the run.
    pub sessions_down: usize,
    /// Of those, how many by our hold timer.
    pub hold_timer_expired: usize,
    /// Established sessions at the end (before the stop).
    pub sessions_up_at_end: usize,
    /// First UPDATE sent → last speaker finished writing, seconds.
    pub send_secs: Option<f64>,
    /// Routes written per second over `send_secs`.
    pub send_routes_per_sec: Option<f64>,
    /// First UPDATE sent → last monitor complete (or last write when
    /// there are no monitors), seconds.
    pub convergence_secs: Option<f64>,
    /// Per-monitor completion times.
    pub monitor_completion: Option<Percentiles>,
    /// Expected prefixes delivered to monitors per second of convergence.
    pub prefixes_per_sec: Option<f64>,
    /// The target's resources (when pids were given).
    pub target: Option<TargetUsage>,
    /// Monitors that did not complete.
    pub missing: Vec<Missing>,
    /// The run ended by `settle` (quiet monitors) rather than complete
    /// monitors; convergence is then the last UPDATE received.
    pub settled: bool,
    /// Some session failure messages.
    pub errors: Vec<String>,
    /// Routes left out of the feeds (unusable next hop, other families).
    pub routes_skipped: usize,
    /// The churn phase's figures, when there was one.
    pub churn: Option<ChurnReport>,
    /// ADD-PATH figures, when monitors offered it.
    pub add_path: Option<AddPathReport>,
    /// Replay figures, for an `updates:` table.
    #[serde(default)]
    pub replay: Option<crate::replay::ReplayReport>,
    /// What the `--at-convergence` command wrote to stdout, or why it
    /// failed (`Err`); `None` without one.
    #[serde(default)]
    pub at_convergence: Option<Result<String, String>>,
}

/// What the monitors received under ADD-PATH (RFC 7911).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AddPathReport {
    /// Monitors whose target agreed to send path ids.
    pub negotiated: usize,
    /// Paths a prefix needed to count as held.
    pub expect_paths: usize,
    /// Paths held at the end, per monitor.
    pub paths: Vec<usize>,
    /// `prefixes_by_paths[k]`: (monitor, prefix) pairs holding k paths.
    pub prefixes_by_paths: Vec<usize>,
}

impl Percentiles {
    /// p50, p99 and max of `v` (sorted in place); `None` when empty.
    #[must_use]
    pub fn of(v: &mut [f64]) -> Option<Self> {
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            let i = ((v.len() as f64 * q).ceil() as usize).saturating_sub(1);
            v.get(i.min(v.len() - 1)).copied().unwrap_or(0.0)
        };
        Some(Self {
            p50: pick(0.5),
            p99: pick(0.99),
            max: pick(1.0),
        })
    }
}

impl Report {
    /// The human summary.
    #[must_use]
    pub fn summary(&self) -> String {
        use std::fmt::Write as _;
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.3} s"));
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scenario {}: {} ({} speakers, {} monitors)",
            self.scenario,
            if self.ok { "OK" } else { "FAILED" },
            self.speakers,
            self.monitors
        );
        let _ = writeln!(
            s,
            "  table: {} routes sent in {} UPDATEs ({:.1} MB), {} distinct prefixes expected per monitor; encoded in {:.3} s{}",
            self.routes_sent,
            self.messages_sent,
            self.bytes_sent as f64 / 1e6,
            self.expected_prefixes,
            self.encode_secs,
            if self.routes_skipped > 0 {
                format!(", {} routes skipped", self.routes_skipped)
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "  sessions: monitors up in {}, speakers up in {}; {} failed, {} went down ({} hold timer), {} up at the end",
            f(self.monitors_establish_secs),
            f(self.speakers_establish_secs),
            self.sessions_failed,
            self.sessions_down,
            self.hold_timer_expired,
            self.sessions_up_at_end
        );
        if self.idle > 0 {
            let _ = writeln!(
                s,
                "  idle sessions: {} up in {} after the feed started",
                self.idle,
                f(self.idle_establish_secs)
            );
        }
        let _ = writeln!(
            s,
            "  send: {} ({} routes/s)",
            f(self.send_secs),
            self.send_routes_per_sec
                .map_or_else(|| "-".into(), |r| format!("{r:.0}"))
        );
        let _ = writeln!(
            s,
            "  convergence: {}{} ({} prefixes/s)",
            f(self.convergence_secs),
            if self.settled {
                " (settled: last UPDATE received)"
            } else {
                ""
            },
            self.prefixes_per_sec
                .map_or_else(|| "-".into(), |r| format!("{r:.0}"))
        );
        if let Some(p) = &self.monitor_completion {
            let _ = writeln!(
                s,
                "  monitor completion: p50 {:.3} s, p99 {:.3} s, max {:.3} s",
                p.p50, p.p99, p.max
            );
        }
        if let Some(t) = &self.target {
            let _ = writeln!(
                s,
                "  target: peak RSS {:.1} MiB, CPU {:.2} s (run), {:.2} s (t0 to convergence)",
                t.peak_rss as f64 / 1048576.0,
                t.cpu_secs,
                t.cpu_secs_converge
            );
        }
        if let Some(c) = &self.churn {
            churn_summary(&mut s, c);
        }
        if let Some(a) = &self.add_path {
            let by: Vec<String> = a
                .prefixes_by_paths
                .iter()
                .enumerate()
                .skip(1)
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{n} with {k}"))
                .collect();
            let _ = writeln!(
                s,
                "  add-path: negotiated with {}/{} monitors; paths held {:?}; prefixes: {}",
                a.negotiated,
                self.monitors,
                a.paths,
                by.join(", ")
            );
        }
        if let Some(r) = &self.replay {
            let _ = writeln!(
                s,
                "  replay: {} UPDATEs ({} announcements, {} withdrawals) from {} peers in the file; recorded span {:.1} s, sent in {} at speed {}{}",
                r.messages,
                r.announcements,
                r.withdrawals,
                r.peers_in_file,
                r.recorded_span_secs,
                f(r.send_span_secs),
                if r.speed > 0.0 {
                    format!("{}", r.speed)
                } else {
                    "0 (as fast as possible)".into()
                },
                if r.skipped > 0 {
                    format!(", {} skipped", r.skipped)
                } else {
                    String::new()
                }
            );
        }
        for m in &self.missing {
            let _ = writeln!(
                s,
                "  monitor {} holds {}/{}; missing e.g. {}",
                m.monitor,
                m.held,
                m.expected,
                m.examples.join(", ")
            );
            if m.unwanted > 0 {
                let _ = writeln!(
                    s,
                    "  monitor {} holds {} withdrawn prefixes, e.g. {}",
                    m.monitor,
                    m.unwanted,
                    m.unwanted_examples.join(", ")
                );
            }
        }
        for e in &self.errors {
            let _ = writeln!(s, "  error: {e}");
        }
        match &self.at_convergence {
            Some(Ok(out)) => {
                let _ = writeln!(s, "  at convergence:");
                for l in out.lines() {
                    let _ = writeln!(s, "    {l}");
                }
            }
            Some(Err(e)) => {
                let _ = writeln!(s, "  at convergence: {e}");
            }
            None => {}
        }
        s
    }
}

fn churn_summary(s: &mut String, c: &ChurnReport) {
    use std::fmt::Write as _;
    let ms = |p: &Option<Percentiles>| {
        p.as_ref().map_or_else(
            || "-".to_string(),
            |p| {
                format!(
                    "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                    p.p50, p.p99, p.max
                )
            },
        )
    };
    let _ = writeln!(
        s,
        "  churn: {:.0} changes/s per speaker for {:.1} s over {} prefixes: {} changes sent ({} withdrawals) in {:.3} s",
        c.rate_per_speaker,
        c.duration_secs,
        c.churning_prefixes,
        c.changes_sent,
        c.withdrawals_sent,
        c.send_secs
    );
    let _ = writeln!(
        s,
        "  churn at monitors: {}/{} received, {} missing ({} withdrawals); {} tags decoded, {} unknown, {} duplicates",
        c.changes_received,
        c.changes_expected,
        c.missing,
        c.missing_withdrawals,
        c.tags_decoded,
        c.unknown_tags,
        c.duplicates
    );
    if c.churning_prefixes == 0 {
        let _ = writeln!(
            s,
            "  churn: no prefix is announced by one speaker only: nothing churned (use a disjoint synth: table)"
        );
    }
    let _ = writeln!(s, "  churn latency: {}", ms(&c.latency_ms));
    let _ = writeln!(s, "    withdrawals: {}", ms(&c.withdraw_latency_ms));
    let _ = writeln!(s, "    announcements: {}", ms(&c.announce_latency_ms));
    if let Some(cpu) = c.cpu_secs {
        let _ = writeln!(s, "  target CPU during churn: {cpu:.2} s");
    }
}
