//! `rampart-loadgen`: generate synthetic tables, drive load against a BGP
//! daemon and measure convergence, run a sink target.
//!
//! ```text
//! rampart-loadgen synth --ipv4 1000000 --ipv6 200000 --peers 2 --seed 1 --out table.mrt
//! rampart-loadgen run --target 127.0.0.1:1179 --speakers 10 --table synth:10000 --monitors 1
//! rampart-loadgen run --target 127.0.0.1:1179 --speakers 4 --table updates:updates.gz:per-peer --replay-speed 10
//! rampart-loadgen sink --listen 127.0.0.1:1179
//! ```

use std::io::BufWriter;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use rampart_loadgen::run::{self as load, RunConfig};
use rampart_loadgen::sink::Sink;
use rampart_loadgen::synth::{self, SynthConfig};
use rampart_loadgen::table::{NextHopMode, TableSpec};
use rampart_loadgen::{dump, scenario};

/// Timestamp stamped on every synthetic MRT record: 2026-07-30 14:00 UTC,
/// the date of the RouteViews tables the distributions come from.
const SYNTH_TIMESTAMP: u32 = 1_785_420_000;

/// Rampart load generator.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a realistic synthetic table and write it as an MRT
    /// TABLE_DUMP_V2 RIB file.
    Synth(SynthArgs),
    /// Open speaker and monitor sessions to a target, announce a table,
    /// measure convergence.
    Run(Box<RunArgs>),
    /// Run a scenario against rampartd, BIRD, GoBGP and FRR in turn (each
    /// in its own network namespace) and print one table.
    Compare(Box<scenario::CompareArgs>),
    /// Accept sessions and discard what arrives (a target that is never
    /// the bottleneck).
    Sink(SinkArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Target address:port; `sink` runs an in-process sink instead.
    #[arg(long)]
    target: String,
    /// AS the target must announce in its OPEN (not checked when absent).
    #[arg(long)]
    target_as: Option<u32>,
    /// Preset: bgperf, fanout, compete, churn, sessions (flags given
    /// override it).
    #[arg(long)]
    scenario: Option<String>,
    /// Speaker sessions.
    #[arg(long)]
    speakers: Option<usize>,
    /// Source address of the first speaker; the others use the next ones.
    #[arg(long, default_value = "127.0.1.1")]
    source: std::net::IpAddr,
    /// AS of the first speaker; the others use the next ones.
    #[arg(long, default_value_t = 65_001)]
    local_as: u32,
    /// synth:V4[+V6][:shared][:one-set] (one-set: one attribute set per
    /// speaker, as bgperf's BIRD speakers), mrt:FILE[:per-peer] (TABLE_DUMP_V2 RIB
    /// dump) or updates:FILE[:per-peer] (BGP4MP update file replayed;
    /// per-peer: speaker i replays the i-th peer, else all the first).
    #[arg(long)]
    table: Option<String>,
    /// With an MRT table, speaker i takes the AS of the MRT peer it replays.
    #[arg(long)]
    local_as_from_mrt: bool,
    /// With an updates: table: 1 replays at the recorded inter-arrival
    /// times, 10 ten times faster, 0 as fast as the target reads. The
    /// convergence timeout counts from the end of the scaled recording.
    #[arg(long, default_value_t = 0.0)]
    replay_speed: f64,
    /// TCP-MD5 key for every session (RFC 2385).
    #[arg(long, conflicts_with = "tcp_ao")]
    md5: Option<String>,
    /// TCP-AO key for every session (RFC 5925):
    /// SEND-ID:RECV-ID:hmac-sha1|cmac-aes128|hmac-sha256:SECRET.
    #[arg(long, value_parser = parse_ao)]
    tcp_ao: Option<rampart_server::auth::AoKey>,
    /// Next hop = the speaker's own source address (default: the table's).
    #[arg(long)]
    next_hop_self: bool,
    /// Monitor sessions.
    #[arg(long)]
    monitors: Option<usize>,
    /// Source address of the first monitor.
    #[arg(long, default_value = "127.0.2.1")]
    monitor_source: std::net::IpAddr,
    /// AS of the first monitor.
    #[arg(long, default_value_t = 4_200_000_001)]
    monitor_as: u32,
    /// Idle sessions: they connect when the feed starts, announce nothing
    /// and offer IPv6 unicast only (with an IPv4 table they take no
    /// routes); reported: how fast they all came up, and any that went
    /// down while the table flowed.
    #[arg(long)]
    idle: Option<usize>,
    /// Source address of the first idle session.
    #[arg(long, default_value = "127.0.3.1")]
    idle_source: std::net::IpAddr,
    /// AS of the first idle session.
    #[arg(long, default_value_t = 4_100_000_001)]
    idle_as: u32,
    /// Hold time to propose, seconds.
    #[arg(long)]
    hold_time: Option<u16>,
    /// Convergence timeout, seconds (from the first UPDATE).
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Timeout for establishing each group of sessions, seconds.
    #[arg(long, default_value_t = 60)]
    connect_timeout: u64,
    /// Keep sessions up this many seconds after convergence.
    #[arg(long)]
    hold_after: Option<u64>,
    /// Also end once monitors received nothing for this many seconds
    /// (after every speaker wrote its feed); convergence is then the last
    /// UPDATE received. For targets that do not pass every route on.
    #[arg(long)]
    settle: Option<f64>,
    /// After convergence, withdrawals and re-announcements per second per
    /// speaker (0: no churn; default: the scenario's).
    #[arg(long)]
    churn_rate: Option<f64>,
    /// Seconds of churn.
    #[arg(long)]
    churn_duration: Option<f64>,
    /// Seconds to wait after the last change for the monitors to see
    /// every change; the rest count as missing.
    #[arg(long, default_value_t = 5.0)]
    churn_wait: f64,
    /// Passive sessions: `monitors`, `speakers` or `all` listen on their
    /// source address and `--listen-port` for the target to connect
    /// (a target configured with active neighbors).
    #[arg(long, value_parser = ["monitors", "speakers", "all"])]
    listen: Option<String>,
    /// Port the passive sessions listen on.
    #[arg(long, default_value_t = 179)]
    listen_port: u16,
    /// Monitors offer ADD-PATH receive (RFC 7911) for IPv4/IPv6 unicast
    /// and count paths per prefix.
    #[arg(long)]
    add_path: bool,
    /// With --add-path: a monitor holds a prefix once it has this many paths.
    #[arg(long, default_value_t = 1)]
    expect_paths: usize,
    /// Speakers offer ADD-PATH send (RFC 7911) and announce every prefix
    /// with this many path ids (synth tables; not with churn).
    #[arg(long, default_value_t = 0)]
    path_ids: u32,
    /// Shell command run once at convergence (sessions still up, before
    /// churn and hold); its stdout goes into the report (JSON:
    /// `at_convergence`). E.g. `rampartctl --socket S show memory --json`.
    #[arg(long)]
    at_convergence: Option<String>,
    /// Target process ids to sample (comma separated).
    #[arg(long, value_delimiter = ',')]
    target_pid: Vec<u32>,
    /// Generator worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Concurrent connection attempts per worker thread.
    #[arg(long, default_value_t = 64)]
    connect_parallel: usize,
    /// Synthetic table seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the figures as JSON on stdout (no summary).
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct SinkArgs {
    /// Address:port to listen on.
    #[arg(long, default_value = "127.0.0.1:1179")]
    listen: std::net::SocketAddr,
    /// Our AS.
    #[arg(long, default_value_t = 64_500)]
    asn: u32,
    /// Stop after this many seconds (0: run until killed).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Distinct IPv4 prefixes.
    #[arg(long, default_value_t = 1_000_000)]
    ipv4: usize,
    /// Distinct IPv6 prefixes.
    #[arg(long, default_value_t = 200_000)]
    ipv6: usize,
    /// Speakers (MRT peers) announcing every prefix.
    #[arg(long, default_value_t = 2)]
    peers: usize,
    /// RNG seed; equal arguments give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Distinct attribute sets per speaker as a share of prefixes (0..=1).
    #[arg(long, default_value_t = 0.3)]
    distinct_attr_share: f64,
    /// Share of attribute sets with COMMUNITIES (default: measured 0.695).
    #[arg(long)]
    community_share: Option<f64>,
    /// Share of attribute sets with LARGE_COMMUNITY (default: measured 0.069).
    #[arg(long)]
    large_community_share: Option<f64>,
    /// Share of attribute sets with MULTI_EXIT_DISC (default: measured 0.298).
    #[arg(long)]
    med_share: Option<f64>,
    /// Output MRT file (TABLE_DUMP_V2). Without it only statistics are printed.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Synth(args) => run_synth(&args),
        Command::Run(args) => run_load(&args),
        Command::Sink(args) => run_sink(&args),
        Command::Compare(args) => scenario::run_compare(&args),
    }
}

fn run_load(args: &RunArgs) -> Result<()> {
    let p = scenario::preset(args.scenario.as_deref().unwrap_or("custom"))?;
    let table_arg = args.table.clone().unwrap_or_else(|| p.table.clone());
    let mut table: TableSpec = table_arg.parse()?;
    if let TableSpec::Synth { seed, .. } = &mut table {
        *seed = args.seed;
    }
    let sink = if args.target == "sink" {
        Some(Sink::start("127.0.0.1:0".parse()?, 64_500)?)
    } else {
        None
    };
    let target = match &sink {
        Some(s) => s.addr(),
        None => args
            .target
            .parse()
            .with_context(|| format!("--target {}: expected ADDR:PORT or sink", args.target))?,
    };
    if args.listen.is_some() && (args.md5.is_some() || args.tcp_ao.is_some()) {
        anyhow::bail!(
            "--listen with --md5/--tcp-ao is not supported (keys are set on connecting sockets only)"
        );
    }
    if args.replay_speed != 0.0 && !matches!(table, TableSpec::Updates { .. }) {
        anyhow::bail!("--replay-speed needs an updates:FILE table");
    }
    let churn = churn_config(args, &p);
    if args.path_ids > 0 && churn.is_some() {
        anyhow::bail!("--path-ids with churn is not supported (churn changes carry no path ids)");
    }
    let cfg = RunConfig {
        scenario: args.scenario.clone().unwrap_or_else(|| "custom".into()),
        target,
        target_as: args.target_as,
        speakers: args.speakers.unwrap_or(p.speakers),
        local_as_from_mrt: args.local_as_from_mrt || p.local_as_from_mrt,
        source: args.source,
        local_as: args.local_as,
        table,
        next_hop: if args.next_hop_self {
            NextHopMode::OwnAddress
        } else {
            NextHopMode::Keep
        },
        monitors: if sink.is_some() {
            0
        } else {
            args.monitors.unwrap_or(p.monitors)
        },
        monitor_source: args.monitor_source,
        monitor_as: args.monitor_as,
        idle: args.idle.unwrap_or(p.idle),
        idle_source: args.idle_source,
        idle_as: args.idle_as,
        hold_time: args.hold_time.unwrap_or(p.hold_time),
        timeout: std::time::Duration::from_secs(args.timeout),
        connect_timeout: std::time::Duration::from_secs(args.connect_timeout),
        hold_after: std::time::Duration::from_secs(args.hold_after.unwrap_or(p.hold_after)),
        target_pids: args.target_pid.clone(),
        threads: args.threads,
        connect_parallel: args.connect_parallel,
        progress: !args.quiet && !args.json,
        sink: sink.as_ref().map(Sink::stats_shared),
        settle: args
            .settle
            .or(p.settle)
            .map(std::time::Duration::from_secs_f64),
        auth: auth(args.md5.as_deref(), args.tcp_ao.as_ref()),
        churn,
        listen_monitors: matches!(args.listen.as_deref(), Some("monitors" | "all")),
        listen_speakers: matches!(args.listen.as_deref(), Some("speakers" | "all")),
        listen_port: args.listen_port,
        add_path: args.add_path,
        expect_paths: args.expect_paths,
        path_ids: args.path_ids,
        replay_speed: args.replay_speed,
        at_convergence: args.at_convergence.clone(),
    };
    let report = load::run(&cfg)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.summary());
        if let Some(s) = &sink {
            let st = s.stats();
            println!(
                "  sink: {} sessions, {} UPDATEs, {:.1} MB received",
                st.sessions.load(std::sync::atomic::Ordering::Relaxed),
                st.updates.load(std::sync::atomic::Ordering::Relaxed),
                st.bytes.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6
            );
        }
    }
    if report.ok {
        Ok(())
    } else {
        std::process::exit(2)
    }
}

fn churn_config(args: &RunArgs, p: &scenario::Preset) -> Option<load::ChurnConfig> {
    let rate = args.churn_rate.unwrap_or(p.churn_rate);
    (rate > 0.0).then(|| load::ChurnConfig {
        rate,
        duration: std::time::Duration::from_secs_f64(
            args.churn_duration.unwrap_or(p.churn_duration).max(0.0),
        ),
        wait: std::time::Duration::from_secs_f64(args.churn_wait.max(0.0)),
    })
}

fn run_sink(args: &SinkArgs) -> Result<()> {
    let sink = Sink::start(args.listen, args.asn)?;
    println!("sink listening on {} as AS {}", sink.addr(), args.asn);
    let start = Instant::now();
    // Bounded by --seconds when given; otherwise until killed.
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        if args.seconds > 0 && start.elapsed().as_secs() >= args.seconds {
            break;
        }
    }
    let st = sink.stats();
    println!(
        "{} sessions, {} UPDATEs, {} bytes",
        st.sessions.load(std::sync::atomic::Ordering::Relaxed),
        st.updates.load(std::sync::atomic::Ordering::Relaxed),
        st.bytes.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}

fn run_synth(args: &SynthArgs) -> Result<()> {
    let defaults = SynthConfig::default();
    let cfg = SynthConfig {
        ipv4: args.ipv4,
        ipv6: args.ipv6,
        speakers: args.peers,
        seed: args.seed,
        distinct_attr_share: args.distinct_attr_share,
        community_share: args.community_share.unwrap_or(defaults.community_share),
        large_community_share: args
            .large_community_share
            .unwrap_or(defaults.large_community_share),
        med_share: args.med_share.unwrap_or(defaults.med_share),
    };
    let start = Instant::now();
    let table = synth::generate(&cfg).context("generating the synthetic table")?;
    let generated = start.elapsed();
    println!(
        "generated {} prefixes ({} IPv4, {} IPv6), {} attribute sets per speaker, {} speakers in {:.3} s",
        table.prefixes().len(),
        args.ipv4,
        args.ipv6,
        table.attr_set_count(),
        table.speakers().len(),
        generated.as_secs_f64()
    );
    match &args.out {
        Some(out) => write_mrt(&table, out)?,
        None => {
            let start = Instant::now();
            let routes: usize = (0..table.speakers().len())
                .filter_map(|s| table.speaker_routes(s))
                .map(|r| r.len())
                .sum();
            println!(
                "built {routes} routes for all speakers in {:.3} s (no --out: nothing written)",
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn write_mrt(table: &synth::SynthTable, path: &std::path::Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let start = Instant::now();
    // A fixed timestamp keeps the output byte-identical for equal arguments.
    let stats = dump::write_table_dump_v2(table, SYNTH_TIMESTAMP, BufWriter::new(file))
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "wrote {} (TABLE_DUMP_V2: {} records, {} RIB entries, {:.1} MB) in {:.3} s",
        path.display(),
        stats.records,
        stats.entries,
        stats.bytes as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `--tcp-ao SEND:RECV:ALGORITHM:SECRET`.
fn parse_ao(s: &str) -> Result<rampart_server::auth::AoKey, String> {
    let mut it = s.splitn(4, ':');
    let (Some(send), Some(recv), Some(alg), Some(secret)) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err("expected SEND-ID:RECV-ID:ALGORITHM:SECRET".into());
    };
    Ok(rampart_server::auth::AoKey {
        send_id: send.parse().map_err(|_| format!("bad send id {send:?}"))?,
        recv_id: recv
            .parse()
            .map_err(|_| format!("bad receive id {recv:?}"))?,
        algorithm: rampart_server::auth::AoAlgorithm::from_config_name(alg).ok_or_else(|| {
            format!("unknown algorithm {alg:?}: hmac-sha1, cmac-aes128 or hmac-sha256")
        })?,
        secret: rampart_server::auth::Secret::new(secret),
        valid_from: None,
        valid_until: None,
    })
}

/// The sessions' keys from the command line.
fn auth(
    md5: Option<&str>,
    ao: Option<&rampart_server::auth::AoKey>,
) -> Option<std::sync::Arc<rampart_server::auth::AuthConfig>> {
    use rampart_server::auth::{AoConfig, AuthConfig, Secret};
    let a = AuthConfig {
        md5: md5.map(Secret::new),
        ao: ao.map(|k| AoConfig {
            keys: vec![k.clone()],
            current: None,
            rnext: None,
        }),
        ttl_security: None,
    };
    (a.md5.is_some() || a.ao.is_some()).then(|| std::sync::Arc::new(a))
}
