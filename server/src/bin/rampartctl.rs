//! `rampartctl`: Rampart's control and offline tool.
//!
//! ```text
//! rampartctl mrt summary FILE [--json]
//! rampartctl policy check FILE...
//! rampartctl policy test --policy FILE... --filter NAME --mrt TABLE [--peer ADDR|AS] [--rejected OUT.jsonl] [--json]
//! rampartctl policy diff --old FILE... --new FILE... --filter NAME --mrt TABLE [--peer ADDR|AS] [--json]
//! rampartctl [--socket PATH] show peers [--json]
//! rampartctl [--socket PATH] show routes [PREFIX] [--longest-match] [--peer ADDR]
//!            [--table loc|in-pre|in-post|out] [--limit N] [--json]
//! rampartctl [--socket PATH] show memory [--json]
//! rampartctl [--socket PATH] reload
//! rampartctl [--socket PATH] peer disable|enable|reset|refresh ADDRESS
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rampart_server::control::{self, Request};
use rampart_server::mrt_summary;
use rampart_server::policy_tool;

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
    /// Policy files: check them, dry-run a filter over an MRT table, or
    /// compare two versions.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Ask the running daemon.
    Show {
        #[command(subcommand)]
        what: ShowCommand,
    },
    /// Have the running daemon write a file.
    Dump {
        #[command(subcommand)]
        what: DumpCommand,
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
enum DumpCommand {
    /// Every path of the Adj-RIB-In after import policy (the selected path
    /// of each prefix first) as an MRT TABLE_DUMP_V2 file (RFC 6396 §4.3),
    /// written by the daemon.
    Mrt {
        /// The file (made absolute here: the daemon writes it).
        file: std::path::PathBuf,
        /// Print JSON instead of a summary line.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ShowCommand {
    /// Every peer: state, uptime, paths held before and after import policy,
    /// prefixes sent, last error.
    Peers {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Bytes per RIB structure (Loc-RIB and Adj-RIB-In, attribute sets,
    /// Adj-RIB-Out), per stored path, and the allocator's totals.
    Memory {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// RPKI (RFC 8210 caches, RFC 6811 validation): each cache's session
    /// state, payloads and serial, and the VRPs in force.
    Rpki {
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

/// Options of `policy test` and `policy diff` about the table.
#[derive(Debug, clap::Args)]
struct TableArgs {
    /// The filter to run.
    #[arg(long)]
    filter: String,
    /// The MRT table (plain, .gz or .bz2); each route is judged as if the
    /// peer that recorded it announced it.
    #[arg(long)]
    mrt: PathBuf,
    /// Only the routes of this peer (an address, or an AS number such as
    /// 64501 or AS64501).
    #[arg(long)]
    peer: Option<policy_tool::PeerSelector>,
    /// The `peer-role` every route is judged with.
    #[arg(long, default_value = "")]
    peer_role: String,
    /// The `peer-group` every route is judged with.
    #[arg(long, default_value = "")]
    peer_group: String,
    /// VRPs to validate every route against for `rpki == ...` (RFC 6811):
    /// a JSON file in rpki-client's format (`{"roas": [{"prefix",
    /// "maxLength", "asn"}]}`, what Routinator and rpki-client export and
    /// StayRTR serves). Without it `rpki == ...` is false for every route.
    #[arg(long)]
    vrps: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl TableArgs {
    fn options(&self) -> anyhow::Result<policy_tool::TableOptions> {
        let vrps = match &self.vrps {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                let vrps = rampart_server::rpki::vrps_from_json(&text)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                Some(std::sync::Arc::new(rampart_server::rpki::Vrps::new(&vrps)))
            }
            None => None,
        };
        Ok(policy_tool::TableOptions {
            peer: self.peer,
            peer_role: self.peer_role.clone(),
            peer_group: self.peer_group.clone(),
            progress: true,
            vrps,
        })
    }
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Load the files as one policy, type-check it and run its test blocks;
    /// exit non-zero on any error or failing test.
    Check {
        /// Policy files (names are shared across them).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Dry run: a filter over every route of an MRT table; prints routes,
    /// accepted, rejected per reason and attributes changed.
    Test {
        /// Policy files.
        #[arg(long = "policy", required = true, num_args = 1..)]
        policy: Vec<PathBuf>,
        #[command(flatten)]
        table: TableArgs,
        /// Write each rejected route as a JSON line (prefix, peer, peer_as,
        /// as_path, next_hop, reason) to this file.
        #[arg(long)]
        rejected: Option<PathBuf>,
    },
    /// The routes of an MRT table whose outcome differs between two versions
    /// of a policy, counted per transition, with examples.
    Diff {
        /// The old version's files.
        #[arg(long, required = true, num_args = 1..)]
        old: Vec<PathBuf>,
        /// The new version's files.
        #[arg(long, required = true, num_args = 1..)]
        new: Vec<PathBuf>,
        #[command(flatten)]
        table: TableArgs,
        /// Examples printed per transition.
        #[arg(long, default_value_t = 3)]
        examples: usize,
    },
}

/// `rampartctl policy ...`; `Ok(false)` when the check or a test failed.
fn run_policy(command: PolicyCommand) -> anyhow::Result<bool> {
    match command {
        PolicyCommand::Check { files } => {
            let out = policy_tool::check(&files);
            eprint!("{}", out.diagnostics);
            println!("{}", out.summary);
            Ok(out.ok)
        }
        PolicyCommand::Test {
            policy,
            table,
            rejected,
        } => {
            let (p, f) = policy_tool::load_filter(&policy, &table.filter)?;
            let mut file = match &rejected {
                Some(path) => Some(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?,
                )),
                None => None,
            };
            let summary = policy_tool::dry_run(
                &p,
                f,
                &table.filter,
                &table.mrt,
                &table.options()?,
                file.as_mut().map(|w| w as &mut dyn std::io::Write),
            )?;
            if let Some(mut w) = file {
                std::io::Write::flush(&mut w)?;
            }
            if table.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", policy_tool::render_dry_run(&summary));
            }
            Ok(true)
        }
        PolicyCommand::Diff {
            old,
            new,
            table,
            examples,
        } => {
            let (po, fo) = policy_tool::load_filter(&old, &table.filter)?;
            let (pn, fnew) = policy_tool::load_filter(&new, &table.filter)?;
            let summary = policy_tool::diff(
                policy_tool::Side {
                    policy: &po,
                    filter: fo,
                },
                policy_tool::Side {
                    policy: &pn,
                    filter: fnew,
                },
                &table.filter,
                &table.mrt,
                &table.options()?,
                examples,
            )?;
            if table.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print!("{}", policy_tool::render_diff(&summary));
            }
            Ok(true)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Policy { command } => return run_policy(command),
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
            what: ShowCommand::Memory { json },
        } => {
            let data = ask(&cli.socket, &Request::ShowMemory)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                print!("{}", memory_table(&data));
            }
        }
        Command::Dump {
            what: DumpCommand::Mrt { file, json },
        } => {
            let file = std::path::absolute(&file)?;
            let data = ask(&cli.socket, &Request::DumpMrt { file })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                let n = |k: &str| data.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
                println!(
                    "{}: {} prefixes, {} paths from {} peers, {} bytes",
                    data["file"].as_str().unwrap_or("?"),
                    n("prefixes"),
                    n("paths"),
                    n("peers"),
                    n("bytes")
                );
            }
        }
        Command::Show {
            what: ShowCommand::Rpki { json },
        } => {
            let data = ask(&cli.socket, &Request::ShowRpki)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                print!("{}", rpki_table(&data));
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
    Ok(true)
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

/// `show memory` as text: one line per structure with its count, bytes
/// and bytes per path, then the allocator's totals.
fn rpki_table(r: &serde_json::Value) -> String {
    let n = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_u64);
    let mut out = format!(
        "VRPs in force: {} IPv4, {} IPv6\n",
        n(r, "ipv4").unwrap_or(0),
        n(r, "ipv6").unwrap_or(0)
    );
    let caches = r["caches"].as_array().map_or(&[][..], Vec::as_slice);
    if caches.is_empty() {
        out.push_str("no rpki-cache configured: `rpki == ...` is false for every route\n");
        return out;
    }
    out.push_str(&format!(
        "{:<40} {:<11} {:>9} {:>11} {:>10}  {}\n",
        "cache", "state", "VRPs", "serial", "updated", "last error"
    ));
    for c in caches {
        let updated = c["updated_secs_ago"]
            .as_f64()
            .map_or_else(|| "never".to_string(), |s| format!("{s:.0} s ago"));
        let serial = n(c, "serial").map_or_else(|| "-".to_string(), |s| s.to_string());
        out.push_str(&format!(
            "{:<40} {:<11} {:>9} {:>11} {:>10}  {}\n",
            c["address"].as_str().unwrap_or("?"),
            c["state"].as_str().unwrap_or("?"),
            n(c, "vrps").unwrap_or(0),
            serial,
            updated,
            c["last_error"].as_str().unwrap_or("")
        ));
    }
    out
}

fn memory_table(m: &serde_json::Value) -> String {
    let n = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_u64);
    let t = &m["tables"];
    let s = &m["received_sets"];
    let paths = n(t, "paths").unwrap_or(0);
    #[allow(clippy::cast_precision_loss)] // ratios for display
    let per_path = |bytes: u64| {
        if paths == 0 {
            String::new()
        } else {
            format!("{:>8.1} B/path", bytes as f64 / paths as f64)
        }
    };
    let mut out = String::new();
    let mut row = |name: &str, count: String, bytes: Option<u64>| {
        let b = bytes.unwrap_or(0);
        out.push_str(&format!(
            "{name:<34} {count:>28} {:>12} {}\n",
            mib(b),
            per_path(b)
        ));
    };
    row(
        "Loc-RIB and Adj-RIB-In",
        format!(
            "{} prefixes, {} paths",
            n(t, "prefixes").unwrap_or(0),
            paths
        ),
        n(t, "loc_rib_bytes"),
    );
    row(
        "Adj-RIB-In before import policy",
        format!("{} paths", n(t, "pre_policy_paths").unwrap_or(0)),
        n(t, "pre_policy_bytes"),
    );
    row(
        "Attribute sets, received",
        format!("{} sets", n(s, "sets").unwrap_or(0)),
        n(s, "bytes"),
    );
    row(
        "Attribute sets, rewritten",
        format!("{} sets", n(t, "rewritten_sets").unwrap_or(0)),
        n(t, "rewritten_set_bytes"),
    );
    row(
        "Adj-RIB-Out",
        format!(
            "{} groups, {} entries",
            n(t, "groups").unwrap_or(0),
            n(t, "adj_out_entries").unwrap_or(0)
        ),
        n(t, "adj_out_bytes"),
    );
    row("Total counted", String::new(), n(m, "counted_bytes"));
    let a = &m["allocator"];
    if a.is_object() {
        out.push_str(&format!(
            "allocator: {} allocated, {} active, {} resident, {} mapped{}\n",
            mib(n(a, "allocated").unwrap_or(0)),
            mib(n(a, "active").unwrap_or(0)),
            mib(n(a, "resident").unwrap_or(0)),
            mib(n(a, "mapped").unwrap_or(0)),
            if a["background_thread"] == true {
                ""
            } else {
                " (freed pages are returned only as it allocates)"
            },
        ));
    }
    if let Some(rss) = n(m, "rss_bytes") {
        out.push_str(&format!("process RSS: {}\n", mib(rss)));
    }
    out
}

/// Bytes as MiB with one decimal.
fn mib(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // display
    let m = bytes as f64 / (1024.0 * 1024.0);
    format!("{m:.1} MiB")
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
            template_note(r) + &graceful_restart_note(r) + &s("last_error"),
        ));
    }
    out
}

/// A dynamic neighbor's template, for the last column: `dynamic
/// (tenants); ` or nothing.
fn template_note(row: &serde_json::Value) -> String {
    row.get("template")
        .and_then(|t| t.as_str())
        .map_or_else(String::new, |t| format!("dynamic ({t}); "))
}

/// A peer's stale paths under graceful restart, for the last column:
/// `stale (away, 27 s): ipv4-unicast ipv6-unicast; ` or nothing.
fn graceful_restart_note(row: &serde_json::Value) -> String {
    let Some(g) = row.get("graceful_restart").filter(|g| !g.is_null()) else {
        return String::new();
    };
    let families: Vec<&str> = g["stale_families"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .collect();
    let why = if g["away"].as_bool() == Some(true) {
        "away"
    } else {
        "End-of-RIB owed"
    };
    format!(
        "stale ({why}, {} s): {}; ",
        g["seconds_left"].as_u64().unwrap_or(0),
        families.join(" ")
    )
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
            "{}{:<43} from {:<39} via {:<39} [{}]{}{}{}{}\n",
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
            r.get("rpki")
                .and_then(|v| v.as_str())
                .map_or(String::new(), |v| format!(" rpki {v}")),
            match (filtered, r.get("reason").and_then(|v| v.as_str())) {
                (true, Some(why)) => format!(" (filtered: {why})"),
                (true, None) => " (filtered)".to_string(),
                _ => String::new(),
            },
        ));
    }
    out
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rampartctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
