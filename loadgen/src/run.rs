//! A load run: encode feeds, connect monitors, connect speakers, open the
//! start gate, wait until every monitor holds the expected set, report.
//!
//! ```text
//! main thread                         worker threads (compio runtimes)
//!   build feeds (clock not running)
//!   spawn workers ───────────────────> monitor sessions connect
//!   wait: monitors Established  <───── events (mpsc)
//!   close connect gate ──────────────> speaker sessions connect
//!   wait: speakers Established  <─────
//!   close start gate (t0) ───────────> speakers write their feeds
//!   poll counters, progress bar  <──── monitors count prefixes
//!   all monitors complete (or timeout)
//!   [hold: keep sessions up, watch for drops]
//!   close stop gate ─────────────────> Cease, close
//! ```

use std::io::Read as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::churn::{Churn, ChurnReport};
use crate::procstat;
use crate::replay::{self, ReplayReport};
pub use crate::report::{AddPathReport, Missing, Percentiles, Report, TargetUsage};
use crate::session::{
    self, Event, Gates, MonitorState, Permits, Role, SessionSpec, Shared, SpeakerState,
};
use crate::table::{self, Expected, NextHopMode, SpeakerIdentity, TableSpec};
use anyhow::{Context as _, Result};

/// What to run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Scenario name for the report.
    pub scenario: String,
    /// The target's address.
    pub target: SocketAddr,
    /// The AS the target must announce, if checked.
    pub target_as: Option<u32>,
    /// Number of speaker sessions.
    pub speakers: usize,
    /// Source address of speaker 0 (then consecutive).
    pub source: IpAddr,
    /// AS of speaker 0 (then consecutive).
    pub local_as: u32,
    /// The routes.
    pub table: TableSpec,
    /// With an MRT table: speaker *i* uses the AS of the MRT peer it
    /// replays (instead of `local_as + i`).
    pub local_as_from_mrt: bool,
    /// Next-hop handling.
    pub next_hop: NextHopMode,
    /// Number of monitor sessions.
    pub monitors: usize,
    /// Source address of monitor 0 (then consecutive).
    pub monitor_source: IpAddr,
    /// AS of monitor 0 (then consecutive).
    pub monitor_as: u32,
    /// Idle sessions ([`Role::Idle`]): they connect when the feed starts
    /// and must come up and stay up while it flows.
    pub idle: usize,
    /// Source address of idle session 0 (then consecutive).
    pub idle_source: IpAddr,
    /// AS of idle session 0 (then consecutive).
    pub idle_as: u32,
    /// Hold time we propose, seconds.
    pub hold_time: u16,
    /// Bound on convergence (from t0).
    pub timeout: Duration,
    /// Bound on establishing the sessions of each phase.
    pub connect_timeout: Duration,
    /// Keep the sessions up this long after convergence.
    pub hold_after: Duration,
    /// Processes of the target to sample.
    pub target_pids: Vec<u32>,
    /// Worker threads of the generator.
    pub threads: usize,
    /// Concurrent connection attempts per worker.
    pub connect_parallel: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// When set, a run also ends once every speaker has written its feed
    /// and no monitor has received an UPDATE for this long; convergence is
    /// then the last UPDATE a monitor received (for targets that by design
    /// do not pass every route on, e.g. OTC or best-path-only export).
    pub settle: Option<Duration>,
    /// An in-process sink as the target: with no monitors, convergence is
    /// when it has received every UPDATE.
    pub sink: Option<Arc<crate::sink::SinkStats>>,
    /// TCP-MD5 or TCP-AO for every session (RFC 2385, RFC 5925).
    pub auth: Option<Arc<rampart_server::auth::AuthConfig>>,
    /// After convergence, churn (see [`crate::churn`]).
    pub churn: Option<ChurnConfig>,
    /// Monitors listen on `monitor_source:listen_port` for the target.
    pub listen_monitors: bool,
    /// Speakers listen on `source:listen_port` for the target.
    pub listen_speakers: bool,
    /// Port of the passive sessions.
    pub listen_port: u16,
    /// Monitors offer ADD-PATH receive (RFC 7911) for IPv4/IPv6 unicast.
    pub add_path: bool,
    /// Under ADD-PATH, a monitor holds a prefix once it has this many
    /// paths (1: any).
    pub expect_paths: usize,
    /// Speakers announce every prefix with this many path ids (ADD-PATH
    /// send, RFC 7911; synthetic tables only; 0: no path ids).
    pub path_ids: u32,
    /// `updates:` tables: 1 replays at the recorded inter-arrival times,
    /// 10 ten times faster, 0 as fast as the target reads.
    pub replay_speed: f64,
    /// A shell command run once at convergence, before churn and hold
    /// (sessions up, tables complete); its stdout goes into
    /// [`Report::at_convergence`]. Used to read the target's own memory
    /// accounting ([`crate::target_memory`]).
    pub at_convergence: Option<String>,
}

/// The churn phase's parameters.
#[derive(Debug, Clone, Copy)]
pub struct ChurnConfig {
    /// Changes (a withdrawal or a re-announcement) per second per speaker.
    pub rate: f64,
    /// How long the speakers churn.
    pub duration: Duration,
    /// After the last change sent, how long to wait for the monitors to
    /// see every change before counting the rest as missing.
    pub wait: Duration,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            scenario: "custom".into(),
            target: SocketAddr::from(([127, 0, 0, 1], 179)),
            target_as: None,
            speakers: 1,
            source: IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1)),
            local_as: 65_001,
            table: TableSpec::Synth {
                v4: 10_000,
                v6: 0,
                shared: false,
                one_set: false,
                seed: 1,
            },
            next_hop: NextHopMode::Keep,
            local_as_from_mrt: false,
            monitors: 1,
            monitor_source: IpAddr::V4(Ipv4Addr::new(127, 0, 2, 1)),
            monitor_as: 4_200_000_001,
            idle: 0,
            idle_source: IpAddr::V4(Ipv4Addr::new(127, 0, 3, 1)),
            idle_as: 4_100_000_001,
            hold_time: 90,
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(60),
            hold_after: Duration::ZERO,
            target_pids: Vec::new(),
            threads: 1,
            connect_parallel: 64,
            progress: true,
            sink: None,
            settle: None,
            auth: None,
            churn: None,
            listen_monitors: false,
            listen_speakers: false,
            listen_port: 179,
            add_path: false,
            expect_paths: 1,
            path_ids: 0,
            replay_speed: 0.0,
            at_convergence: None,
        }
    }
}

/// Bound on the `--at-convergence` command.
const AT_CONVERGENCE_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest output kept from the command, bytes.
const OUTPUT_CAP: u64 = 1 << 20;

/// Runs `cmd` with `sh -c`, for at most `timeout`, and returns what it
/// wrote to stdout (at most 1 MiB, lossily UTF-8). A command still
/// running at the deadline is killed with every process it started (its
/// own process group, by id).
///
/// # Errors
/// When the shell cannot start, the command times out or exits non-zero.
fn run_command(cmd: &str, timeout: Duration) -> Result<String> {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new("sh")
        .args(["-c", cmd])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    // Read on a thread: a command writing more than a pipe holds would
    // otherwise never exit while we wait for it.
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(OUTPUT_CAP).read_to_end(&mut buf);
        buf
    });
    let end = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() >= end {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.wait();
            anyhow::bail!("`{cmd}` still running after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    anyhow::ensure!(status.success(), "`{cmd}` exited with {status}");
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Runs `cfg` to the end.
///
/// # Errors
/// When the table cannot be built or a thread cannot start; session
/// failures are reported in the [`Report`], not as errors.
pub fn run(cfg: &RunConfig) -> Result<Report> {
    let enc_start = Instant::now();
    let idents = speaker_identities(cfg)?;
    let (feeds, replay) = build_feeds(cfg, &idents)?;
    let expected = Expected::from_feeds(&feeds);
    // A timed replay lasts its scaled recorded span; the timeout bounds
    // convergence after that.
    let schedule = replay
        .as_ref()
        .filter(|_| cfg.replay_speed > 0.0)
        .map_or(Duration::ZERO, |r| {
            Duration::from_secs_f64(r.recorded_span_secs / cfg.replay_speed)
        });
    let churn = match &cfg.churn {
        Some(c) => Some(
            Churn::build(&feeds, &expected, &idents, c.rate, c.duration, cfg.monitors)
                .context("encoding churn")?,
        ),
        None => None,
    };
    let mut rep = Report {
        scenario: cfg.scenario.clone(),
        speakers: cfg.speakers,
        monitors: cfg.monitors,
        idle: cfg.idle,
        // A replay sends its recorded announcements (the feeds' prefixes
        // are what is held at the end).
        routes_sent: replay.as_ref().map_or_else(
            || feeds.iter().map(|f| f.prefixes.len()).sum(),
            |r| r.announcements,
        ),
        expected_prefixes: expected.len(),
        messages_sent: feeds.iter().map(|f| f.messages).sum(),
        bytes_sent: feeds.iter().map(|f| f.bytes).sum(),
        routes_skipped: feeds.iter().map(|f| f.skipped).sum(),
        encode_secs: enc_start.elapsed().as_secs_f64(),
        ..Report::default()
    };
    let (connect_tx, connect_rx) = async_channel::bounded::<()>(1);
    let (start_tx, start_rx) = async_channel::bounded::<()>(1);
    let (churn_tx, churn_rx) = async_channel::bounded::<()>(1);
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let (ev_tx, ev_rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        monitors: (0..cfg.monitors)
            .map(|_| MonitorState::new(expected.bit_len()).with_paths(cfg.expect_paths))
            .collect(),
        speakers: (0..cfg.speakers).map(|_| SpeakerState::default()).collect(),
        expected,
        feeds,
        gates: Gates {
            connect_speakers: connect_rx,
            start: start_rx,
            churn: churn_rx,
            stop: stop_rx,
        },
        events: ev_tx,
        established: std::sync::atomic::AtomicUsize::new(0),
        base: Instant::now(),
        churn,
        seen: crate::monitor::SeenUpdates::default(),
    });
    let specs = session_specs(cfg, &idents);
    let cpu0 = procstat::sample(&cfg.target_pids);
    let workers = spawn_workers(cfg, specs, &shared)?;
    let mut ph = Phases::new(cfg, &shared, ev_rx);
    // Phase A: monitors.
    let t = Instant::now();
    let mon_ok = ph.wait(Instant::now() + cfg.connect_timeout, |p| {
        p.est[1] + p.failed[1] >= cfg.monitors
    });
    rep.monitors_establish_secs = (mon_ok && ph.failed[1] == 0).then(|| t.elapsed().as_secs_f64());
    // Phase B: speakers.
    connect_tx.close();
    let t = Instant::now();
    let sp_ok = ph.wait(Instant::now() + cfg.connect_timeout, |p| {
        p.est[0] + p.failed[0] >= cfg.speakers
    });
    rep.speakers_establish_secs = (sp_ok && ph.failed[0] == 0).then(|| t.elapsed().as_secs_f64());
    // Phase C: announce and converge.
    let cpu_t0 = procstat::sample(&cfg.target_pids);
    ph.bar_converge();
    start_tx.close();
    let t0 = Instant::now();
    let live_speakers = ph.est[0];
    let live_monitors = ph.est[1];
    let want_msgs = rep.messages_sent as u64;
    let reached = ph.wait(t0 + schedule + cfg.timeout, |p| {
        let sunk = cfg
            .sink
            .as_ref()
            .is_none_or(|s| s.updates.load(Ordering::Relaxed) >= want_msgs);
        let sent = p.send_done.len() >= live_speakers;
        sent && ((p.complete_now() >= live_monitors && sunk) || p.settled())
    });
    let converged_at = Instant::now();
    // Completion times as of convergence (later events: churn, hold).
    ph.complete = ph.completed_at.iter().flatten().copied().collect();
    let cpu_conv = procstat::sample(&cfg.target_pids);
    ph.finish_bar();
    if let (Some(cmd), true) = (&cfg.at_convergence, reached) {
        rep.at_convergence =
            Some(run_command(cmd, AT_CONVERGENCE_TIMEOUT).map_err(|e| format!("{e:#}")));
    }
    // Phase C': churn.
    if let (Some(c), true) = (&cfg.churn, reached) {
        rep.churn = Some(churn_phase(
            &mut ph,
            c,
            &churn_tx,
            live_speakers,
            live_monitors,
        ));
    }
    churn_tx.close();
    // Phase C'': the idle sessions, connecting since t0 (bounded).
    if cfg.idle > 0 {
        ph.wait(t0 + cfg.connect_timeout, |p| {
            p.est[2] + p.failed[2] >= cfg.idle
        });
        rep.idle_establish_secs = ph
            .idle_up
            .filter(|_| ph.est[2] == cfg.idle)
            .map(|t| t.saturating_duration_since(t0).as_secs_f64());
    }
    // Phase D: hold the sessions up.
    if !cfg.hold_after.is_zero() {
        ph.bar_hold(cfg.hold_after);
        let end = Instant::now() + cfg.hold_after;
        ph.wait(end, |_| false);
        ph.finish_bar();
    }
    rep.sessions_up_at_end = shared.established.load(Ordering::Relaxed);
    let cpu_end = procstat::sample(&cfg.target_pids);
    // What the monitors hold, taken before the sessions close: a
    // speaker's Cease makes the target withdraw its routes, which a
    // monitor still reading would count.
    rep.missing = missing_at_monitors(&shared);
    if cfg.add_path {
        rep.add_path = Some(add_path_report(&shared, cfg.expect_paths));
    }
    let held: usize = shared
        .monitors
        .iter()
        .map(|m| m.held.load(Ordering::Relaxed))
        .sum();
    stop_tx.close();
    for w in workers {
        let _ = w.join();
    }
    fill_figures(&mut rep, &ph, t0);
    rep.replay = replay.map(|mut r| {
        r.speed = cfg.replay_speed;
        r.send_span_secs = rep.send_secs;
        r
    });
    if rep.convergence_secs.is_none() && cfg.settle.is_some() && reached {
        rep.settled = true;
        rep.convergence_secs = ph.last_update().map(|t| (t - t0).as_secs_f64());
        rep.prefixes_per_sec = rep
            .convergence_secs
            .filter(|c| *c > 0.0)
            .map(|c| held as f64 / c);
    }
    if cfg.monitors == 0 && cfg.sink.is_some() {
        rep.convergence_secs = reached.then(|| (converged_at - t0).as_secs_f64());
        rep.prefixes_per_sec = rep
            .convergence_secs
            .filter(|c| *c > 0.0)
            .map(|c| rep.routes_sent as f64 / c);
        rep.ok = reached && rep.sessions_failed == 0;
    }
    if !cfg.target_pids.is_empty() {
        rep.target = Some(TargetUsage {
            peak_rss: cpu_end.hwm.max(ph.max_rss),
            end_rss: cpu_end.rss,
            cpu_secs: cpu_end.cpu_secs - cpu0.cpu_secs,
            cpu_secs_converge: cpu_conv.cpu_secs - cpu_t0.cpu_secs,
        });
    }
    Ok(rep)
}

fn add_path_report(shared: &Shared, expect_paths: usize) -> AddPathReport {
    let mut r = AddPathReport {
        expect_paths,
        ..AddPathReport::default()
    };
    for m in &shared.monitors {
        r.negotiated += usize::from(m.add_path.load(Ordering::Relaxed));
        let h = m.path_histogram();
        r.paths.push(h.iter().enumerate().map(|(k, n)| k * n).sum());
        if r.prefixes_by_paths.len() < h.len() {
            r.prefixes_by_paths.resize(h.len(), 0);
        }
        for (k, n) in h.iter().enumerate() {
            if let Some(c) = r.prefixes_by_paths.get_mut(k) {
                *c += n;
            }
        }
    }
    r
}

/// Opens the churn gate, waits for every speaker to finish its changes
/// and for the monitors to see them (bounded), and measures.
fn churn_phase(
    ph: &mut Phases<'_>,
    c: &ChurnConfig,
    gate: &async_channel::Sender<()>,
    speakers: usize,
    monitors: usize,
) -> ChurnReport {
    let Some(churn) = ph.shared.churn.as_ref() else {
        return ChurnReport::default();
    };
    let cpu0 = procstat::sample(&ph.cfg.target_pids);
    ph.bar_churn(c.duration);
    let t = Instant::now();
    gate.close();
    // Writing may fall behind the rate when the target reads slowly.
    let bound = t + c.duration.mul_f64(2.0) + Duration::from_secs(10);
    ph.wait(bound, |p| p.churn_done.len() >= speakers);
    let send_secs = ph
        .churn_done
        .iter()
        .max()
        .map_or(0.0, |l| l.saturating_duration_since(t).as_secs_f64());
    let sent = churn.sent();
    ph.wait(Instant::now() + c.wait, |_| {
        churn.received() >= sent * monitors
    });
    ph.finish_bar();
    let cpu1 = procstat::sample(&ph.cfg.target_pids);
    let mut r = churn.report();
    r.send_secs = send_secs;
    r.cpu_secs = (!ph.cfg.target_pids.is_empty()).then_some(cpu1.cpu_secs - cpu0.cpu_secs);
    r
}

/// The monitors that do not hold exactly the expected prefixes.
fn missing_at_monitors(shared: &Shared) -> Vec<Missing> {
    let names = |v: Vec<rampart_core::nlri::Prefix>| v.iter().map(|p| p.to_string()).collect();
    let mut out = Vec::new();
    for (i, m) in shared.monitors.iter().enumerate() {
        let held = m.held.load(Ordering::Relaxed);
        let unwanted = m.unwanted.load(Ordering::Relaxed);
        if held != shared.expected.len() || unwanted > 0 {
            out.push(Missing {
                monitor: i,
                held,
                expected: shared.expected.len(),
                examples: names(m.missing(&shared.expected, 5)),
                unwanted,
                unwanted_examples: names(m.unwanted_held(&shared.expected, 5)),
            });
        }
    }
    out
}

fn fill_figures(rep: &mut Report, ph: &Phases<'_>, t0: Instant) {
    let since = |t: Instant| t.saturating_duration_since(t0).as_secs_f64();
    rep.sessions_failed = ph.failed.iter().sum();
    rep.sessions_down = ph.down;
    rep.hold_timer_expired = ph.hold_expired;
    rep.errors.clone_from(&ph.errors);
    let last_send = ph.send_done.iter().map(|(_, l)| *l).max();
    let first_send = ph.send_done.iter().map(|(f, _)| *f).min();
    if let (Some(f), Some(l)) = (first_send, last_send) {
        let secs = l.saturating_duration_since(f).as_secs_f64();
        rep.send_secs = Some(secs);
        rep.send_routes_per_sec = (secs > 0.0).then(|| rep.routes_sent as f64 / secs);
    }
    let all_sent = ph.send_done.len() == rep.speakers;
    let mut done: Vec<f64> = ph.complete.iter().map(|t| since(*t)).collect();
    rep.monitor_completion = Percentiles::of(&mut done);
    let all_complete = ph.complete.len() == rep.monitors;
    rep.convergence_secs = if rep.monitors == 0 {
        last_send.filter(|_| all_sent).map(since)
    } else {
        done.last().copied().filter(|_| all_complete)
    };
    if let Some(c) = rep.convergence_secs.filter(|c| *c > 0.0) {
        let delivered = if rep.monitors == 0 {
            rep.routes_sent
        } else {
            rep.expected_prefixes * rep.monitors
        };
        rep.prefixes_per_sec = Some(delivered as f64 / c);
    }
    rep.ok = rep.convergence_secs.is_some()
        && rep.sessions_failed == 0
        && rep.missing.is_empty()
        && (rep.idle == 0 || rep.idle_establish_secs.is_some());
}

/// The feeds, and the replay's figures for an `updates:` table.
fn build_feeds(
    cfg: &RunConfig,
    idents: &[SpeakerIdentity],
) -> Result<(Vec<table::Feed>, Option<ReplayReport>)> {
    if let TableSpec::Updates { path, per_peer } = &cfg.table {
        anyhow::ensure!(
            cfg.path_ids == 0,
            "path ids (ADD-PATH send) need a synth: table"
        );
        anyhow::ensure!(
            cfg.replay_speed.is_finite() && cfg.replay_speed >= 0.0,
            "--replay-speed must be 0 or more"
        );
        let timed = cfg.replay_speed > 0.0;
        let mut r = replay::build_feeds(path, *per_peer, idents, cfg.next_hop, timed)
            .context("building replay feeds")?;
        for f in &mut r.feeds {
            for o in &mut f.offsets {
                *o = o.div_f64(cfg.replay_speed);
            }
        }
        return Ok((r.feeds, Some(r.report)));
    }
    let feeds = table::build_feeds_with_paths(&cfg.table, idents, cfg.next_hop, cfg.path_ids)
        .context("building feeds")?;
    Ok((feeds, None))
}

/// Each speaker's AS and source address.
///
/// # Errors
/// When `local_as_from_mrt` is set and the MRT peer table cannot be read.
pub fn speaker_identities(cfg: &RunConfig) -> Result<Vec<SpeakerIdentity>> {
    // AS of the MRT peer each speaker replays (0 = unknown: keep ours).
    let mrt_as: Option<Vec<u32>> = match (&cfg.table, cfg.local_as_from_mrt) {
        (TableSpec::Updates { path, per_peer }, true) => {
            Some(replay::peer_asns(path, *per_peer, cfg.speakers)?)
        }
        (TableSpec::Mrt { path, per_peer }, true) => {
            let all = table::mrt_peer_asns(path)?;
            Some(if *per_peer {
                (0..cfg.speakers)
                    .map(|i| all.get(i % all.len().max(1)).copied().unwrap_or(0))
                    .collect()
            } else {
                let p = usize::from(table::mrt_default_peer(path)?);
                vec![all.get(p).copied().unwrap_or(0); cfg.speakers]
            })
        }
        _ => None,
    };
    Ok((0..cfg.speakers)
        .map(|i| SpeakerIdentity {
            asn: mrt_as
                .as_ref()
                .and_then(|v| v.get(i).copied())
                .filter(|a| *a != 0)
                .unwrap_or_else(|| cfg.local_as.wrapping_add(u32::try_from(i).unwrap_or(0))),
            source: table::nth_address(cfg.source, i),
        })
        .collect())
}

fn session_specs(cfg: &RunConfig, idents: &[SpeakerIdentity]) -> Vec<SessionSpec> {
    let bgp_id = |a: IpAddr, i: usize| match a {
        IpAddr::V4(v) => v,
        IpAddr::V6(_) => Ipv4Addr::from(0x0a00_0000 + u32::try_from(i).unwrap_or(0)),
    };
    // What every session shares; the roles set listening and ADD-PATH.
    let spec = |role, index, source, local_as, id| SessionSpec {
        index,
        role,
        source,
        target: cfg.target,
        local_as,
        target_as: cfg.target_as,
        hold_time: cfg.hold_time,
        bgp_id: bgp_id(source, id),
        attempts: 5,
        auth: cfg.auth.clone(),
        listen: None,
        add_path: false,
        send_paths: false,
    };
    let nth_as = |first: u32, i: usize| first.wrapping_add(u32::try_from(i).unwrap_or(0));
    let mut specs = Vec::with_capacity(cfg.speakers + cfg.monitors + cfg.idle);
    for j in 0..cfg.monitors {
        let source = table::nth_address(cfg.monitor_source, j);
        specs.push(SessionSpec {
            listen: cfg.listen_monitors.then_some(cfg.listen_port),
            add_path: cfg.add_path,
            ..spec(
                Role::Monitor,
                j,
                source,
                nth_as(cfg.monitor_as, j),
                1_000_000 + j,
            )
        });
    }
    for (i, id) in idents.iter().enumerate() {
        specs.push(SessionSpec {
            listen: cfg.listen_speakers.then_some(cfg.listen_port),
            send_paths: cfg.path_ids > 0,
            ..spec(Role::Speaker, i, id.source, id.asn, i)
        });
    }
    for k in 0..cfg.idle {
        let source = table::nth_address(cfg.idle_source, k);
        specs.push(spec(
            Role::Idle,
            k,
            source,
            nth_as(cfg.idle_as, k),
            2_000_000 + k,
        ));
    }
    specs
}

fn spawn_workers(
    cfg: &RunConfig,
    specs: Vec<SessionSpec>,
    shared: &Arc<Shared>,
) -> Result<Vec<std::thread::JoinHandle<()>>> {
    let n = cfg.threads.max(1);
    let mut per: Vec<Vec<SessionSpec>> = (0..n).map(|_| Vec::new()).collect();
    for (k, s) in specs.into_iter().enumerate() {
        if let Some(v) = per.get_mut(k % n) {
            v.push(s);
        }
    }
    let mut handles = Vec::with_capacity(n);
    for (w, mine) in per.into_iter().enumerate() {
        let shared = Arc::clone(shared);
        let parallel = cfg.connect_parallel;
        let h = std::thread::Builder::new()
            .name(format!("loadgen-{w}"))
            .spawn(move || worker(mine, shared, parallel))
            .context("spawning a worker thread")?;
        handles.push(h);
    }
    Ok(handles)
}

fn worker(specs: Vec<SessionSpec>, shared: Arc<Shared>, parallel: usize) {
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            for s in specs {
                let _ = shared.events.send(Event::Failed {
                    role: s.role,
                    index: s.index,
                    error: format!("no runtime: {e}"),
                });
            }
            return;
        }
    };
    rt.block_on(async move {
        let permits = Permits::new(parallel);
        let gates = shared.gates.clone();
        let mut tasks = Vec::with_capacity(specs.len());
        for s in specs {
            tasks.push(compio::runtime::spawn(session::run(
                s,
                Arc::clone(&shared),
                gates.clone(),
                permits.clone(),
            )));
        }
        let _ = gates.stop.recv().await;
        // Let every session send its Cease; bounded.
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        let _ = compio::time::timeout(Duration::from_secs(3), all).await;
    });
}

/// The index of `role` in [`Phases`]' per-role counts.
fn role_slot(role: Role) -> usize {
    match role {
        Role::Speaker => 0,
        Role::Monitor => 1,
        Role::Idle => 2,
    }
}

/// The main thread's view of the sessions.
struct Phases<'a> {
    cfg: &'a RunConfig,
    shared: &'a Shared,
    rx: mpsc::Receiver<Event>,
    /// Established per role (speaker, monitor, idle: [`role_slot`]).
    est: [usize; 3],
    failed: [usize; 3],
    /// When the last idle session was established.
    idle_up: Option<Instant>,
    down: usize,
    hold_expired: usize,
    errors: Vec<String>,
    send_done: Vec<(Instant, Instant)>,
    churn_done: Vec<Instant>,
    /// Per monitor: when it last became complete, `None` while not.
    completed_at: Vec<Option<Instant>>,
    /// Start of a timed bar (hold, churn): its position is seconds.
    timed: Option<Instant>,
    complete: Vec<Instant>,
    max_rss: u64,
    last_sample: Instant,
    bar: Option<indicatif::ProgressBar>,
}

impl<'a> Phases<'a> {
    fn new(cfg: &'a RunConfig, shared: &'a Shared, rx: mpsc::Receiver<Event>) -> Self {
        let bar = cfg.progress.then(|| {
            let b = indicatif::ProgressBar::new((cfg.speakers + cfg.monitors) as u64);
            b.set_style(style("{spinner} {msg} {pos}/{len} sessions [{elapsed}]"));
            b.set_message("establishing");
            b
        });
        Self {
            cfg,
            shared,
            rx,
            est: [0; 3],
            failed: [0; 3],
            idle_up: None,
            down: 0,
            hold_expired: 0,
            errors: Vec::new(),
            send_done: Vec::new(),
            churn_done: Vec::new(),
            completed_at: vec![None; cfg.monitors],
            timed: None,
            complete: Vec::new(),
            max_rss: 0,
            last_sample: Instant::now(),
            bar,
        }
    }

    fn bar_converge(&mut self) {
        if let Some(b) = &self.bar {
            let total = if self.cfg.monitors == 0 {
                self.shared.feeds.iter().map(|f| f.bytes).sum::<usize>()
            } else {
                self.shared.expected.len() * self.est[1]
            };
            b.set_length(total as u64);
            b.set_position(0);
            self.timed = None;
            let unit = if self.cfg.monitors == 0 {
                "bytes sent"
            } else {
                "prefixes at monitors"
            };
            b.set_style(style(&format!(
                "{{spinner}} converging [{{bar:40}}] {{pos}}/{{len}} {unit} ({{per_sec}}) [{{elapsed}}]"
            )));
        }
    }

    fn bar_hold(&mut self, d: Duration) {
        if let Some(b) = &self.bar {
            b.reset();
            b.set_length(d.as_secs().max(1));
            b.set_style(style(
                "{spinner} holding sessions up [{bar:40}] {pos}/{len} s, {msg}",
            ));
        }
        self.timed = Some(Instant::now());
    }

    fn bar_churn(&mut self, d: Duration) {
        if let Some(b) = &self.bar {
            b.reset();
            b.set_length(d.as_secs().max(1));
            b.set_style(style("{spinner} churning [{bar:40}] {pos}/{len} s, {msg}"));
        }
        self.timed = Some(Instant::now());
    }

    fn finish_bar(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }

    /// Keeps the first ten errors for the report and prints them on
    /// stderr as they happen (also with `--quiet`), so a run that hangs on
    /// a lost session says why while it waits.
    fn error(&mut self, e: String) {
        if self.errors.len() >= 10 {
            return;
        }
        let line = format!("rampart-loadgen: {e}");
        match &self.bar {
            Some(b) => b.println(&line),
            None => eprintln!("{line}"),
        }
        self.errors.push(e);
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Established { role, at, .. } => {
                self.est[role_slot(role)] += 1;
                if role == Role::Idle {
                    self.idle_up = Some(at);
                }
            }
            Event::Failed { role, index, error } => {
                self.failed[role_slot(role)] += 1;
                self.error(format!("{role:?} {index}: {error}"));
            }
            Event::Down {
                role,
                index,
                reason,
                hold_expired,
            } => {
                self.down += 1;
                self.hold_expired += usize::from(hold_expired);
                self.error(format!("{role:?} {index} down: {reason}"));
            }
            Event::SendDone { first, last, .. } => self.send_done.push((first, last)),
            Event::MonitorComplete { index, at } => {
                if let Some(c) = self.completed_at.get_mut(index) {
                    *c = Some(at);
                }
            }
            Event::MonitorIncomplete { index, .. } => {
                if let Some(c) = self.completed_at.get_mut(index) {
                    *c = None;
                }
            }
            Event::ChurnDone { at, .. } => self.churn_done.push(at),
        }
    }

    fn tick(&mut self) {
        if self.last_sample.elapsed() >= Duration::from_millis(100) {
            self.last_sample = Instant::now();
            if !self.cfg.target_pids.is_empty() {
                let s = procstat::sample(&self.cfg.target_pids);
                self.max_rss = self.max_rss.max(s.rss);
            }
            if let Some(b) = &self.bar {
                let pos = if self.cfg.monitors == 0 {
                    self.shared
                        .speakers
                        .iter()
                        .map(|s| s.sent.load(Ordering::Relaxed))
                        .sum::<u64>()
                } else {
                    self.shared
                        .monitors
                        .iter()
                        .map(|m| m.held.load(Ordering::Relaxed) as u64)
                        .sum()
                };
                if let Some(t) = self.timed {
                    b.set_position(t.elapsed().as_secs());
                } else if b.length() == Some((self.cfg.speakers + self.cfg.monitors) as u64) {
                    b.set_position((self.est[0] + self.est[1]) as u64);
                } else {
                    b.set_position(pos);
                }
                let churn = match (&self.shared.churn, self.timed) {
                    (Some(c), Some(_)) => {
                        format!(", {} changes sent, {} received", c.sent(), c.received())
                    }
                    _ => String::new(),
                };
                b.set_message(format!(
                    "{} up, {} down{churn}",
                    self.shared.established.load(Ordering::Relaxed),
                    self.down
                ));
            }
        }
    }

    /// Monitors complete now.
    fn complete_now(&self) -> usize {
        self.completed_at.iter().flatten().count()
    }

    /// The last UPDATE any monitor received.
    fn last_update(&self) -> Option<Instant> {
        let n = self
            .shared
            .monitors
            .iter()
            .map(|m| m.last_update.load(Ordering::Relaxed))
            .max()
            .filter(|n| *n > 0)?;
        Some(self.shared.base + Duration::from_nanos(n))
    }

    /// True when `settle` is set and no monitor has received an UPDATE
    /// for that long (and at least one arrived).
    fn settled(&self) -> bool {
        let Some(q) = self.cfg.settle else {
            return false;
        };
        self.last_update().is_some_and(|t| t.elapsed() >= q)
    }

    /// Handles events until `done` holds or `deadline`; true when `done`.
    fn wait(&mut self, deadline: Instant, done: impl Fn(&Self) -> bool) -> bool {
        // Bounded by the deadline.
        loop {
            if done(self) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            let step = (deadline - now).min(Duration::from_millis(2));
            match self.rx.recv_timeout(step) {
                Ok(ev) => self.handle(ev),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return done(self),
            }
            self.tick();
        }
    }
}

fn style(t: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(t)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_give_their_output_and_are_bounded() {
        let out = run_command("echo one; echo two", Duration::from_secs(10)).unwrap();
        assert_eq!(out, "one\ntwo\n");
        assert!(run_command("exit 3", Duration::from_secs(10)).is_err());
        let t = Instant::now();
        assert!(run_command("sleep 30", Duration::from_millis(300)).is_err());
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}
