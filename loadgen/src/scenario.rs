//! Named scenarios (issue #5) and the `compare` subcommand.
//!
//! | scenario | speakers | table | monitors | shape |
//! |---|---|---|---|---|
//! | `bgperf` | 10 | `synth:10000` (disjoint) | 1 | N × M distinct prefixes → 1 monitor |
//! | `fanout` | 1 | route-views2 slice (first peer), else `synth:50000+10000` | 10 | one full table to K rs-clients |
//! | `compete` | 20 | route-views2 slice, `per-peer`, else `synth:20000:shared` | 4 | overlapping tables, best path per client |
//! | `churn` | 10 | `synth:1000` (disjoint) | 2 | converge, then 100 withdrawals/re-announcements per second per speaker for 15 s; per-change latency at the monitors |
//! | `sessions` | 500 | `synth:10` (disjoint) | 1 | many sessions held 30 s with a 9 s hold time |
//! | `sessions-load` | 1 | `synth:1000000` | 1 | a full-size table flows while 2,000 idle sessions connect (9 s hold time, held 30 s) |
//!
//! Sizes are the defaults for a 2-core machine; every flag scales them.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::compare::{self, CompareConfig, Daemon, Peers};
use crate::run::{self, RunConfig};
use crate::table::TableSpec;

/// The route-views2 TABLE_DUMP_V2 slice in the shared data (20 peers,
/// 41k IPv4 prefixes).
pub const RV2_SLICE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/mrt/sighops-asinfo/rib.20260730.1400.first41102pfx.trimmed.bz2"
);

/// A scenario's defaults.
#[derive(Debug, Clone)]
pub struct Preset {
    /// Speakers.
    pub speakers: usize,
    /// `--table`.
    pub table: String,
    /// Monitors.
    pub monitors: usize,
    /// Hold time we propose, seconds.
    pub hold_time: u16,
    /// Seconds to keep sessions up after convergence.
    pub hold_after: u64,
    /// Settle time, seconds (see [`RunConfig::settle`]).
    pub settle: Option<f64>,
    /// Speakers take the MRT peers' ASes.
    pub local_as_from_mrt: bool,
    /// Idle sessions, connecting as the feed starts.
    pub idle: usize,
    /// Churn changes per second per speaker after convergence (0: none).
    pub churn_rate: f64,
    /// Seconds of churn.
    pub churn_duration: f64,
}

/// The defaults of scenario `name` (`custom` = plain defaults).
///
/// # Errors
/// For an unknown name.
pub fn preset(name: &str) -> Result<Preset> {
    let rv2 = std::path::Path::new(RV2_SLICE)
        .exists()
        .then(|| RV2_SLICE.to_string());
    let base = Preset {
        speakers: 1,
        table: "synth:10000".into(),
        monitors: 1,
        hold_time: 90,
        hold_after: 0,
        settle: None,
        local_as_from_mrt: false,
        idle: 0,
        churn_rate: 0.0,
        churn_duration: 0.0,
    };
    Ok(match name {
        "custom" => base,
        "bgperf" => Preset {
            speakers: 10,
            ..base
        },
        "fanout" => Preset {
            speakers: 1,
            table: rv2.map_or_else(|| "synth:50000+10000".into(), |p| format!("mrt:{p}")),
            monitors: 10,
            settle: Some(5.0),
            local_as_from_mrt: true,
            ..base
        },
        "compete" => Preset {
            speakers: 20,
            table: rv2.map_or_else(
                || "synth:20000:shared".into(),
                |p| format!("mrt:{p}:per-peer"),
            ),
            monitors: 4,
            settle: Some(5.0),
            local_as_from_mrt: true,
            ..base
        },
        "sessions" => Preset {
            speakers: 500,
            table: "synth:10".into(),
            monitors: 1,
            hold_time: 9,
            hold_after: 30,
            ..base
        },
        "sessions-load" => Preset {
            speakers: 1,
            table: "synth:1000000".into(),
            monitors: 1,
            idle: 2000,
            hold_time: 9,
            hold_after: 30,
            ..base
        },
        "churn" => Preset {
            speakers: 10,
            table: "synth:1000".into(),
            monitors: 2,
            churn_rate: 100.0,
            churn_duration: 15.0,
            ..base
        },
        _ => bail!(
            "unknown scenario {name:?} (bgperf, fanout, compete, churn, sessions, sessions-load)"
        ),
    })
}

/// `rampart-loadgen compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Scenarios, comma separated.
    #[arg(long, default_value = "bgperf", value_delimiter = ',')]
    scenario: Vec<String>,
    /// Daemons, comma separated (rampartd, bird, gobgp, frr).
    #[arg(long, default_value = "rampartd,bird,gobgp,frr", value_delimiter = ',')]
    daemons: Vec<String>,
    /// The rampartd binary (default: next to this binary).
    #[arg(long)]
    rampartd: Option<PathBuf>,
    /// Override the scenario's speakers.
    #[arg(long)]
    speakers: Option<usize>,
    /// Override the scenario's monitors.
    #[arg(long)]
    monitors: Option<usize>,
    /// Override the scenario's idle sessions.
    #[arg(long)]
    idle: Option<usize>,
    /// Override the scenario's table.
    #[arg(long)]
    table: Option<String>,
    /// Override the seconds sessions are held after convergence.
    #[arg(long)]
    hold_after: Option<u64>,
    /// Override the churn rate (changes per second per speaker).
    #[arg(long)]
    churn_rate: Option<f64>,
    /// Override the churn duration, seconds.
    #[arg(long)]
    churn_duration: Option<f64>,
    /// Convergence timeout per daemon, seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Generator worker threads, the same for every daemon. One keeps a
    /// core for a single-threaded daemon on a 2-core machine; with many
    /// monitors the generator's own decoding can become the bottleneck,
    /// which a second thread relieves.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Settle time for every daemon, seconds (default: the scenario's).
    #[arg(long)]
    settle: Option<f64>,
    /// Working directory (configs, logs, each run's report.json).
    #[arg(long, default_value = "/tmp/rampart-compare")]
    dir: PathBuf,
    /// Print the rows as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Rounds: each daemon runs this many times, the daemons taking turns,
    /// and its row is the run of median convergence, with the spread in
    /// the note (JSON: every run's figures). On a noisy machine, compare
    /// daemons (or two rampartd builds, one `compare` each) this way.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeat: u32,
}

/// Runs `compare`.
///
/// # Errors
/// Bad arguments, or no working directory.
pub fn run_compare(args: &CompareArgs) -> Result<()> {
    let exe = std::env::current_exe()?;
    let rampartd = args.rampartd.clone().unwrap_or_else(|| {
        exe.parent()
            .map_or_else(|| PathBuf::from("rampartd"), |d| d.join("rampartd"))
    });
    let daemons: Vec<Daemon> = args
        .daemons
        .iter()
        .map(|d| d.parse())
        .collect::<Result<_>>()?;
    if daemons.contains(&Daemon::Rampartd) && !rampartd.is_file() {
        bail!(
            "{} not found: build it (cargo build --release -p rampartd) or pass --rampartd",
            rampartd.display()
        );
    }
    let mut all = Vec::new();
    let mut text = String::new();
    for name in &args.scenario {
        let p = preset(name)?;
        let speakers = args.speakers.unwrap_or(p.speakers);
        let monitors = args.monitors.unwrap_or(p.monitors);
        let idle = args.idle.unwrap_or(p.idle);
        let table = args.table.clone().unwrap_or(p.table);
        let spec: TableSpec = table.parse()?;
        let from_mrt = p.local_as_from_mrt
            && matches!(spec, TableSpec::Mrt { .. } | TableSpec::Updates { .. });
        let idents = run::speaker_identities(&RunConfig {
            speakers,
            table: spec,
            local_as_from_mrt: from_mrt,
            ..RunConfig::default()
        })?;
        let mut run_args: Vec<String> = vec![
            "--scenario".into(),
            name.clone(),
            "--speakers".into(),
            speakers.to_string(),
            "--monitors".into(),
            monitors.to_string(),
            "--idle".into(),
            idle.to_string(),
            "--table".into(),
            table,
            "--timeout".into(),
            args.timeout.to_string(),
            "--hold-after".into(),
            args.hold_after.unwrap_or(p.hold_after).to_string(),
            "--threads".into(),
            args.threads.max(1).to_string(),
        ];
        if let Some(s) = args.settle.or(p.settle) {
            run_args.extend(["--settle".into(), s.to_string()]);
        }
        if from_mrt {
            run_args.push("--local-as-from-mrt".into());
        }
        if let Some(r) = args.churn_rate {
            run_args.extend(["--churn-rate".into(), r.to_string()]);
        }
        if let Some(d) = args.churn_duration {
            run_args.extend(["--churn-duration".into(), d.to_string()]);
        }
        let cfg = CompareConfig {
            daemons: daemons.clone(),
            rampartd: rampartd.clone(),
            loadgen: exe.clone(),
            scenario: name.clone(),
            peers: Peers {
                speaker_as: idents.iter().map(|i| i.asn).collect(),
                monitors,
                idle,
            },
            run_args,
            dir: args.dir.join(name),
            repeat: args.repeat as usize,
        };
        let rows = compare::compare(&cfg)?;
        text.push_str(&compare::table(&rows, name));
        all.push((name.clone(), rows));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print!("{text}");
    }
    Ok(())
}
