//! `rampart-loadgen`: generate synthetic tables (and, later, drive load).
//!
//! ```text
//! rampart-loadgen synth --ipv4 1000000 --ipv6 200000 --peers 2 --seed 1 --out table.mrt
//! ```

use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use rampart_loadgen::synth::{self, SynthConfig};

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
    let cfg = SynthConfig {
        ipv4: args.ipv4,
        ipv6: args.ipv6,
        speakers: args.peers,
        seed: args.seed,
        distinct_attr_share: args.distinct_attr_share,
        ..SynthConfig::default()
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
    let start = Instant::now();
    let routes: usize = (0..table.speakers().len())
        .filter_map(|s| table.speaker_routes(s))
        .map(|r| r.len())
        .sum();
    println!(
        "built {} routes ({} attribute sets) for all speakers in {:.3} s",
        routes,
        table.attr_set_count() * table.speakers().len(),
        start.elapsed().as_secs_f64()
    );
    if let Some(out) = &args.out {
        anyhow::bail!(
            "writing {} needs the MRT writer (rampart_core::mrt), not available in this build",
            out.display()
        );
    }
    Ok(())
}
