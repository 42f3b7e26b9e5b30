//! `rampartctl`: Rampart's control and offline tool.
//!
//! ```text
//! rampartctl mrt summary FILE [--json]
//! rampartctl [--socket PATH] show peers [--json]
//! rampartctl [--socket PATH] peer disable ADDRESS
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rampart_server::control::{self, Request};
use rampart_server::mrt_summary;

/// Rampart control and offline tool.
#[derive(Debug, Parser)]
#[command(name = "rampartctl", version, about)]
struct Cli {
    /// The daemon's control socket (`control-socket` in its config).
    #[arg(long, global = true, default_value = "/run/rampart/rampartd.sock")]
    socket: PathBuf,
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
    /// Ask the running daemon.
    Show {
        #[command(subcommand)]
        what: ShowCommand,
    },
    /// Act on one peer of the running daemon.
    Peer {
        #[command(subcommand)]
        action: PeerCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ShowCommand {
    /// Every peer: state, uptime, prefixes received/accepted/sent, last error.
    Peers {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PeerCommand {
    /// Stop the peer's session (Cease/Administrative Shutdown).
    Disable {
        /// The peer's address.
        address: std::net::IpAddr,
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
        Command::Show {
            what: ShowCommand::Peers { json },
        } => {
            let data = ask(&cli.socket, &Request::ShowPeers)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                print!("{}", peers_table(&data));
            }
        }
        Command::Peer {
            action: PeerCommand::Disable { address },
        } => {
            ask(&cli.socket, &Request::PeerDisable { peer: address })?;
            println!("{address}: disabled");
        }
    }
    Ok(())
}

/// Sends `request` and returns the answer's data, or the daemon's error.
fn ask(socket: &std::path::Path, request: &Request) -> anyhow::Result<serde_json::Value> {
    let r = control::request(socket, request)?;
    if r.ok {
        Ok(r.data)
    } else {
        anyhow::bail!("{}", r.error.unwrap_or_else(|| "request failed".into()))
    }
}

/// `show peers` as an aligned text table.
fn peers_table(rows: &serde_json::Value) -> String {
    let mut out = format!(
        "{:<40} {:>10} {:<10} {:<12} {:>9} {:>9} {:>9} {:>9} {:<14} {}\n",
        "peer",
        "as",
        "role",
        "state",
        "uptime",
        "received",
        "accepted",
        "sent",
        "auth",
        "last error"
    );
    for r in rows.as_array().into_iter().flatten() {
        let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("-").to_string();
        let n = |k: &str| {
            r.get(k)
                .and_then(serde_json::Value::as_u64)
                .map_or("-".into(), |v| v.to_string())
        };
        out.push_str(&format!(
            "{:<40} {:>10} {:<10} {:<12} {:>9} {:>9} {:>9} {:>9} {:<14} {}\n",
            s("address"),
            n("remote_as"),
            s("role"),
            s("state"),
            n("uptime_secs"),
            n("prefixes_received"),
            n("prefixes_accepted"),
            n("prefixes_sent"),
            s("auth"),
            s("last_error"),
        ));
    }
    out
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
