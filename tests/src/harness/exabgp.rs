//! ExaBGP as a real peer: routes given statically in its config, more
//! announced and withdrawn at run time through an API process, and the
//! routes it receives recorded from the API's JSON messages.
//!
//! [`ExaBgp::start`] adds a process named [`API`] to the config: a shell
//! script that copies the commands written to a FIFO (by
//! [`ExaBgp::command`]) to ExaBGP, and ExaBGP's JSON messages to
//! `DIR/received.jsonl`. A neighbor uses it with
//! `api { processes [ api ]; receive { parsed; update; } }` (see
//! [`API_BLOCK`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::bird::BirdRoute;
use super::{Child, Netns, wait_for};

/// The name of the API process [`ExaBgp::start`] defines.
pub const API: &str = "api";

/// The block to put in a `neighbor { }` so that it takes commands from, and
/// reports received UPDATEs and state changes to, the API process.
pub const API_BLOCK: &str =
    "api { processes [ api ]; neighbor-changes; receive { parsed; update; } }";

/// A running ExaBGP.
#[derive(Debug)]
pub struct ExaBgp {
    dir: PathBuf,
    fifo: File,
    child: Child,
}

impl ExaBgp {
    /// Writes the API process definition followed by `conf` to
    /// `dir/exabgp.conf` and starts ExaBGP in `ns` (logging at CRIT to
    /// `dir/log`); returns once its API process runs.
    ///
    /// # Errors
    /// When ExaBGP cannot start or exits within the first seconds (the error
    /// holds its output).
    pub fn start(ns: &Netns, dir: &Path, conf: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let d = dir.to_string_lossy().into_owned();
        let fifo_path = dir.join("api.fifo");
        let _ = std::fs::remove_file(&fifo_path);
        let st = std::process::Command::new("mkfifo")
            .arg(&fifo_path)
            .status()?;
        if !st.success() {
            return Err(io::Error::other("mkfifo failed"));
        }
        // Read-write: opening does not block, and the reader never sees EOF
        // while this handle lives.
        let fifo = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo_path)?;
        let script = dir.join("api.sh");
        // A background job's stdin is /dev/null in sh, hence fd 3.
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nexec 3<&0\ncat <&3 >> '{d}/received.jsonl' &\nexec cat '{d}/api.fifo'\n"
            ),
        )?;
        let st = std::process::Command::new("chmod")
            .args(["+x"])
            .arg(&script)
            .status()?;
        if !st.success() {
            return Err(io::Error::other("chmod failed"));
        }
        std::fs::write(
            dir.join("exabgp.conf"),
            format!("process {API} {{\n  run {d}/api.sh;\n  encoder json;\n}}\n\n{conf}"),
        )?;
        let bin = super::which("exabgp").ok_or_else(|| io::Error::other("exabgp not installed"))?;
        let env = |k: &str, v: &str| format!("{k}={v}");
        let args = [
            env("exabgp.daemon.user", "root"),
            env("exabgp.tcp.bind", ""),
            env("exabgp.api.cli", "false"),
            env("exabgp.log.level", "CRIT"),
            env("exabgp.log.destination", &format!("{d}/log")),
            env("exabgp.daemon.pid", &format!("{d}/exabgp.pid")),
            // No "done" acknowledgements in the received record.
            env("exabgp.api.ack", "false"),
            bin.to_string_lossy().into_owned(),
            format!("{d}/exabgp.conf"),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = ns.spawn("exabgp", "env", &args, &dir.join("exabgp.out"))?;
        // ExaBGP has no readiness signal; it has started when its pid file
        // is written, and a config error makes it exit at once.
        let pid_file = dir.join("exabgp.pid");
        let up = wait_for("exabgp pid file", Duration::from_secs(10), || {
            if !child.is_running() {
                return Some(false);
            }
            pid_file.exists().then_some(true)
        });
        match up {
            Ok(true) => Ok(Self {
                dir: dir.to_path_buf(),
                fifo,
                child,
            }),
            Ok(false) | Err(_) => Err(io::Error::other(format!(
                "exabgp did not start: {}",
                child.log()
            ))),
        }
    }

    /// Sends one API command (`announce route 203.0.113.0/24 next-hop
    /// 198.18.0.2 community [64501:1]`, `withdraw route …`, …).
    ///
    /// # Errors
    /// When the FIFO cannot be written.
    pub fn command(&mut self, cmd: &str) -> io::Result<()> {
        writeln!(self.fifo, "{}", cmd.trim_end())?;
        self.fifo.flush()
    }

    /// ExaBGP's pid.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// ExaBGP's output and log so far.
    #[must_use]
    pub fn log(&self) -> String {
        let file = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        format!("{}{file}", self.child.log())
    }

    /// Stops ExaBGP (SIGTERM, then SIGKILL after `grace`); true when it
    /// exited within the grace period.
    pub fn stop(&mut self, grace: Duration) -> bool {
        self.child.stop(grace)
    }

    /// The routes ExaBGP holds from its neighbors now, rebuilt from the
    /// UPDATEs and session changes its API reported (neighbors need
    /// [`API_BLOCK`]).
    ///
    /// # Errors
    /// When the record cannot be read.
    pub fn routes(&self) -> io::Result<Vec<BirdRoute>> {
        let text = match std::fs::read_to_string(self.dir.join("received.jsonl")) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        Ok(replay(&text))
    }

    /// Number of routes received, as [`ExaBgp::routes`] sees them.
    #[must_use]
    pub fn route_count(&self) -> Option<usize> {
        self.routes().ok().map(|r| r.len())
    }

    /// Waits until ExaBGP holds exactly `n` received routes.
    ///
    /// # Errors
    /// A message with the last count seen on timeout.
    pub fn wait_route_count(&self, n: usize, timeout: Duration) -> Result<(), String> {
        wait_for(&format!("{n} routes in ExaBGP"), timeout, || {
            (self.route_count() == Some(n)).then_some(())
        })
        .map_err(|e| format!("{e}; ExaBGP has {:?} routes", self.route_count()))
    }
}

/// Replays ExaBGP 4 JSON API messages (one per line) into the routes held
/// at the end: `update` messages announce and withdraw, a `state` message
/// other than `up` drops the neighbor's routes.
#[must_use]
pub fn replay(text: &str) -> Vec<BirdRoute> {
    let mut held: BTreeMap<(String, String), BirdRoute> = BTreeMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let peer = v["neighbor"]["address"]["peer"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match v["type"].as_str() {
            Some("state") if v["neighbor"]["state"].as_str() != Some("up") => {
                held.retain(|(p, _), _| *p != peer);
            }
            Some("update") => {
                let update = &v["neighbor"]["message"]["update"];
                for (_, fam) in update["withdraw"].as_object().into_iter().flatten() {
                    for n in fam.as_array().into_iter().flatten() {
                        if let Some(prefix) = nlri(n) {
                            held.remove(&(peer.clone(), prefix));
                        }
                    }
                }
                let template = attributes(&update["attribute"], &peer);
                for (_, fam) in update["announce"].as_object().into_iter().flatten() {
                    for (nh, nlris) in fam.as_object().into_iter().flatten() {
                        for n in nlris.as_array().into_iter().flatten() {
                            let Some(prefix) = nlri(n) else { continue };
                            let mut r = template.clone();
                            r.prefix.clone_from(&prefix);
                            r.next_hop = Some(nh.clone());
                            held.insert((peer.clone(), prefix), r);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    held.into_values().collect()
}

fn nlri(n: &Value) -> Option<String> {
    n["nlri"]
        .as_str()
        .or_else(|| n.as_str())
        .map(str::to_string)
}

fn attributes(a: &Value, peer: &str) -> BirdRoute {
    let num = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let tuple =
        |v: &Value| -> Vec<u32> { v.as_array().into_iter().flatten().filter_map(num).collect() };
    BirdRoute {
        proto: "exabgp".into(),
        from: Some(peer.to_string()),
        best: true,
        as_path: tuple(&a["as-path"]),
        med: num(&a["med"]),
        local_pref: num(&a["local-preference"]),
        communities: a["community"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((num(&c[0])?, num(&c[1])?)))
            .collect(),
        large_communities: a["large-community"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((num(&c[0])?, num(&c[1])?, num(&c[2])?)))
            .collect(),
        originator_id: a["originator-id"].as_str().map(str::to_string),
        cluster_list: a["cluster-list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        ..BirdRoute::default()
    }
}
