//! `rampartctl`: Rampart's control and offline tool.
//!
//! ```text
//! rampartctl mrt summary FILE [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rampart_server::mrt_summary;

/// Rampart control and offline tool.
#[derive(Debug, Parser)]
#[command(name = "rampartctl", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// MRT file tools (RFC 6396).
    Mrt {
        #[command(subcommand)]
        command: MrtCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MrtCommand {
    /// Record types, peers, prefixes and routes per family, attribute
    /// sets, decode errors and parse rate of an MRT file (plain, .gz or
    /// .bz2).
    Summary {
        /// The MRT file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Mrt {
            command: MrtCommand::Summary { file, json },
        } => {
            let summary = mrt_summary::summarize(&file, true)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", mrt_summary::render_text(&summary));
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rampartctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
