//! `rampart-loadgen`: generate synthetic tables (and, later, drive load).
//!
//! ```text
//! rampart-loadgen synth --ipv4 1000000 --ipv6 200000 --peers 2 --seed 1 --out table.mrt
//! ```

use std::io::BufWriter;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use rampart_loadgen::dump;
use rampart_loadgen::synth::{self, SynthConfig};

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
    }
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
