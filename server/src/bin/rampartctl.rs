//! `rampartctl`: Rampart's control and offline tool.
//!
//! ```text
//! rampartctl mrt summary FILE [--json]
//! rampartctl [--socket PATH] show peers [--json]
//! rampartctl [--socket PATH] show routes [PREFIX] [--longest-match] [--peer ADDR]
//!            [--table loc|in-pre|in-post|out] [--limit N] [--json]
//! rampartctl [--socket PATH] reload
//! rampartctl [--socket PATH] peer disable|enable|reset|refresh ADDRESS
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
    /// Re-read the daemon's configuration file and apply what changed; a
    /// bad file is refused and the running configuration stays.
    Reload,
}

#[derive(Debug, Subcommand)]
enum ShowCommand {
    /// Every peer: state, uptime, prefixes received/accepted/sent, last error.
    Peers {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Routes: the Loc-RIB (default), an Adj-RIB-In before or after import
    /// policy, or what one peer is sent.
    Routes {
        /// A prefix (exact match), or with --longest-match a prefix or an
        /// address to look up.
        prefix: Option<String>,
        /// Longest-prefix match instead of exact.
        #[arg(long)]
        longest_match: bool,
        /// Only paths from this peer (for --table out: the peer routes go to).
        #[arg(long)]
        peer: Option<std::net::IpAddr>,
        /// loc, in-pre, in-post or out.
        #[arg(long, default_value = "loc", value_parser = parse_table)]
        table: control::Table,
        /// At most this many routes.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn parse_table(s: &str) -> Result<control::Table, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string()))
        .map_err(|_| format!("unknown table {s:?}: loc, in-pre, in-post or out"))
}

#[derive(Debug, Subcommand)]
enum PeerCommand {
    /// Stop the peer's session (Cease/Administrative Shutdown) and keep it
    /// down.
    Disable {
        /// The peer's address.
        address: std::net::IpAddr,
    },
    /// Let a disabled peer come up again.
    Enable {
        /// The peer's address.
        address: std::net::IpAddr,
    },
    /// Restart the peer's session (Cease/Administrative Reset).
    Reset {
        /// The peer's address.
        address: std::net::IpAddr,
    },
    /// Ask the peer to send its routes again (ROUTE-REFRESH).
    Refresh {
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
        Command::Show {
            what:
                ShowCommand::Routes {
                    prefix,
                    longest_match,
                    peer,
                    table,
                    limit,
                    json,
                },
        } => {
            let request = Request::ShowRoutes {
                prefix,
                longest_match,
                peer,
                table,
                limit: Some(limit),
            };
            let data = ask(&cli.socket, &request)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                print!("{}", routes_table(&data));
            }
        }
        Command::Peer { action } => {
            let (address, request) = match action {
                PeerCommand::Disable { address } => {
                    (address, Request::PeerDisable { peer: address })
                }
                PeerCommand::Enable { address } => (address, Request::PeerEnable { peer: address }),
                PeerCommand::Reset { address } => (address, Request::PeerReset { peer: address }),
                PeerCommand::Refresh { address } => {
                    (address, Request::RouteRefresh { peer: address })
                }
            };
            let data = ask(&cli.socket, &request)?;
            println!("{address}: {}", data.as_str().unwrap_or("done"));
        }
        Command::Reload => {
            let data = ask(&cli.socket, &Request::Reload)?;
            println!("{}", serde_json::to_string_pretty(&data)?);
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

/// `show routes` as text: one line per path, `*` marking the best.
fn routes_table(rows: &serde_json::Value) -> String {
    let mut out = String::new();
    for r in rows.as_array().into_iter().flatten() {
        let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("-").to_string();
        let list = |k: &str| {
            r.get(k)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        };
        let best = r.get("best").and_then(serde_json::Value::as_bool) == Some(true);
        let filtered = r.get("filtered").and_then(serde_json::Value::as_bool) == Some(true);
        out.push_str(&format!(
            "{}{:<43} from {:<39} via {:<39} [{}]{}{}{}\n",
            if best { "*" } else { " " },
            s("prefix"),
            s("from"),
            s("next_hop"),
            s("as_path"),
            r.get("local_pref")
                .and_then(serde_json::Value::as_u64)
                .map_or(String::new(), |v| format!(" lp {v}")),
            match (list("communities"), list("large_communities")) {
                (c, l) if c.is_empty() && l.is_empty() => String::new(),
                (c, l) => format!(" comm {c} {l}"),
            },
            if filtered { " (filtered)" } else { "" },
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
