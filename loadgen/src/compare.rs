//! Side-by-side runs: the same load against rampartd, BIRD 2, GoBGP and
//! FRR as route servers, one after the other, each alone in a fresh
//! network namespace, with equivalent rs-client configurations.
//!
//! ```text
//! for each daemon:
//!   netns rlg-<daemon>-<pid>: lo up, 198.18.0.1/16 (every 198.18.x.y is
//!     local), default routes via lo (so FRR resolves any next hop)
//!   write the config: one passive rs-client neighbor per speaker
//!     (198.18.16.1, ...) and per monitor (198.18.2.1, ...), no policy
//!   start the daemon (pids kept), wait until it listens on 198.18.0.1:179
//!   `ip netns exec NS rampart-loadgen run ... --json --target-pid PIDS`
//!     --at-convergence: the daemon's own memory report (rampartd, BIRD,
//!     FRR)
//!   stop the daemon by pid (TERM, then KILL), delete the namespace
//! print: daemon, scenario, convergence, peak RSS, table bytes per path,
//!   CPU, ratios to rampartd
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;

use crate::run::Report;
use crate::target_memory::{self, TableMemory};

/// The route server's address inside each namespace.
pub const RS_ADDR: &str = "198.18.0.1";
/// The route server's AS.
pub const RS_AS: u32 = 64_500;
/// First speaker address (then consecutive; room for 4,000).
pub const SPEAKER_BASE: [u8; 4] = [198, 18, 16, 1];
/// First monitor address.
pub const MONITOR_BASE: [u8; 4] = [198, 18, 2, 1];
/// First monitor AS.
pub const MONITOR_AS: u32 = 4_200_000_001;
/// First idle session address (then consecutive; room for 16,000).
pub const IDLE_BASE: [u8; 4] = [198, 18, 64, 1];
/// First idle session AS.
pub const IDLE_AS: u32 = 4_100_000_001;

/// A daemon the runner knows how to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Daemon {
    /// rampartd.
    Rampartd,
    /// BIRD 2.
    Bird,
    /// GoBGP (gobgpd).
    Gobgp,
    /// FRR (zebra + bgpd).
    Frr,
}

impl std::str::FromStr for Daemon {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "rampartd" | "rampart" => Self::Rampartd,
            "bird" | "bird2" => Self::Bird,
            "gobgp" | "gobgpd" => Self::Gobgp,
            "frr" | "bgpd" => Self::Frr,
            _ => bail!("unknown daemon {s:?} (rampartd, bird, gobgp, frr)"),
        })
    }
}

impl Daemon {
    /// Its name in the table.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rampartd => "rampartd",
            Self::Bird => "bird",
            Self::Gobgp => "gobgp",
            Self::Frr => "frr",
        }
    }

    /// The Debian package that provides it.
    const fn package(self) -> Option<&'static str> {
        match self {
            Self::Rampartd => None,
            Self::Bird => Some("bird2"),
            Self::Gobgp => Some("gobgpd"),
            Self::Frr => Some("frr"),
        }
    }

    /// The binary that must exist.
    const fn binary(self) -> &'static str {
        match self {
            Self::Rampartd => "rampartd",
            Self::Bird => "bird",
            Self::Gobgp => "gobgpd",
            Self::Frr => "bgpd",
        }
    }
}

/// The sessions of a scenario, as the daemons' configs need them.
#[derive(Debug, Clone)]
pub struct Peers {
    /// AS of each speaker.
    pub speaker_as: Vec<u32>,
    /// Number of monitors.
    pub monitors: usize,
    /// Number of idle sessions.
    pub idle: usize,
}

impl Peers {
    fn all(&self) -> Vec<(String, u32)> {
        let addr = |base: [u8; 4], i: usize| {
            let a = u32::from_be_bytes(base) + u32::try_from(i).unwrap_or(0);
            std::net::Ipv4Addr::from(a).to_string()
        };
        let mut v: Vec<(String, u32)> = self
            .speaker_as
            .iter()
            .enumerate()
            .map(|(i, asn)| (addr(SPEAKER_BASE, i), *asn))
            .collect();
        for j in 0..self.monitors {
            v.push((
                addr(MONITOR_BASE, j),
                MONITOR_AS + u32::try_from(j).unwrap_or(0),
            ));
        }
        for k in 0..self.idle {
            v.push((addr(IDLE_BASE, k), IDLE_AS + u32::try_from(k).unwrap_or(0)));
        }
        v
    }
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Daemon.
    pub daemon: Daemon,
    /// Its version string, if known.
    pub version: String,
    /// The loadgen's report (None when the daemon could not be run).
    pub report: Option<Report>,
    /// Why it could not be run.
    pub error: Option<String>,
    /// Its routing tables and attributes at convergence, as it counts
    /// them (rampartd, BIRD and FRR; see [`crate::target_memory`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<TableMemory>,
    /// With `--repeat`: every run's figures, in run order (the row's
    /// report is the run of median convergence among them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<RunFigures>,
}

/// One run's headline figures (a row of `--repeat`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunFigures {
    /// Convergence, seconds (`None`: did not converge or failed).
    pub convergence_secs: Option<f64>,
    /// The daemon's CPU seconds (`None`: not measured or failed).
    pub cpu_secs: Option<f64>,
}

impl RunFigures {
    fn of(row: &Row) -> Self {
        let rep = row.report.as_ref();
        Self {
            convergence_secs: rep.and_then(|r| r.convergence_secs),
            cpu_secs: rep.and_then(|r| r.target.as_ref().map(|t| t.cpu_secs)),
        }
    }
}

/// One daemon's runs as one row: the run of median convergence among
/// those that converged (the lower middle of an even count), with every
/// run's figures in [`Row::runs`]; the first run when none converged.
/// A median, not a mean: on a shared machine a run now and then is much
/// slower than the rest. `None` for no runs.
#[must_use]
pub fn median_row(rows: Vec<Row>) -> Option<Row> {
    let runs: Vec<RunFigures> = rows.iter().map(RunFigures::of).collect();
    let mut converged: Vec<(f64, usize)> = runs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r.convergence_secs?, i)))
        .collect();
    converged.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pick = converged
        .get(converged.len().saturating_sub(1) / 2)
        .map_or(0, |&(_, i)| i);
    let mut row = rows.into_iter().nth(pick)?;
    if runs.len() > 1 {
        row.runs = runs;
    }
    Some(row)
}

/// A process started in a namespace, stopped by pid on drop.
struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Self> {
        let out = std::fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self {
            name: name.into(),
            child,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.running() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && self.running() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.running() {
            eprintln!("{} ignored SIGTERM; killing pid {}", self.name, self.pid());
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A network namespace, deleted (after killing what runs in it, by pid)
/// on drop.
struct Netns {
    name: String,
}

fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Netns {
    fn new(tag: &str) -> Result<Self> {
        let name = format!("rlg-{tag}-{}", std::process::id());
        let _ = ip(&["netns", "del", &name]);
        ip(&["netns", "add", &name])?;
        let ns = Self { name };
        let n = ns.name.as_str();
        ip(&["-n", n, "link", "set", "lo", "up"])?;
        ip(&["-n", n, "addr", "add", "198.18.0.1/16", "dev", "lo"])?;
        // A default route, so that next hops outside 198.18/16 (MRT tables)
        // resolve for daemons that check (FRR's nexthop tracking).
        ip(&["-n", n, "route", "add", "default", "dev", "lo"])?;
        ip(&["-n", n, "-6", "route", "add", "default", "dev", "lo"])?;
        Ok(ns)
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Full path of `bin` on PATH or in the usual sbin and FRR directories.
#[must_use]
pub fn which(bin: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/lib/frr"])
        .map(|d| Path::new(d).join(bin))
        .find(|p| p.is_file())
}

/// Installs the daemon's package with apt-get when its binary is missing,
/// keeping services from starting (policy-rc.d answering 101).
fn ensure_installed(d: Daemon) -> Result<()> {
    let Some(pkg) = d.package() else {
        return Ok(());
    };
    if which(d.binary()).is_some() {
        return Ok(());
    }
    eprintln!("{} missing: apt-get install {pkg}", d.binary());
    let rc = Path::new("/usr/sbin/policy-rc.d");
    if !rc.exists() {
        std::fs::write(rc, "#!/bin/sh\nexit 101\n")?;
        let _ = Command::new("chmod").args(["+x"]).arg(rc).status();
    }
    let st = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", pkg])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()?;
    if !st.success() || which(d.binary()).is_none() {
        bail!("could not install {pkg}");
    }
    Ok(())
}

/// How to run one comparison.
#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// Daemons, in order (rampartd first for the ratios).
    pub daemons: Vec<Daemon>,
    /// The rampartd binary.
    pub rampartd: PathBuf,
    /// The loadgen binary to run inside the namespaces.
    pub loadgen: PathBuf,
    /// Scenario name (for the table).
    pub scenario: String,
    /// The sessions.
    pub peers: Peers,
    /// `run` arguments besides target, sources, pids and output.
    pub run_args: Vec<String>,
    /// Working directory for configs and logs.
    pub dir: PathBuf,
    /// Rounds: every daemon runs once per round, in turn, so that a
    /// slow spell of the machine falls on all of them (at least 1).
    pub repeat: usize,
}

/// Runs every daemon in turn, `cfg.repeat` rounds; one row per daemon
/// (with several rounds, its [`median_row`]).
///
/// # Errors
/// Only when the working directory cannot be created; a daemon that
/// fails gets a row with its error.
pub fn compare(cfg: &CompareConfig) -> Result<Vec<Row>> {
    std::fs::create_dir_all(&cfg.dir)?;
    let rounds = cfg.repeat.max(1);
    let mut runs: Vec<Vec<Row>> = vec![Vec::new(); cfg.daemons.len()];
    for round in 1..=rounds {
        for (&d, runs) in cfg.daemons.iter().zip(&mut runs) {
            // One directory per run: each keeps its logs and report.
            let name = if rounds > 1 {
                eprintln!("== {} ({}) run {round}/{rounds}", d.name(), cfg.scenario);
                format!("{}-{round}", d.name())
            } else {
                eprintln!("== {} ({})", d.name(), cfg.scenario);
                d.name().to_string()
            };
            let row = match run_one(cfg, d, &cfg.dir.join(name)) {
                Ok((version, report)) => Row {
                    daemon: d,
                    version,
                    memory: table_memory(d, &report),
                    report: Some(report),
                    error: None,
                    runs: Vec::new(),
                },
                Err(e) => Row {
                    daemon: d,
                    version: String::new(),
                    report: None,
                    error: Some(format!("{e:#}")),
                    memory: None,
                    runs: Vec::new(),
                },
            };
            if let Some(e) = &row.error {
                eprintln!("   {} failed: {e}", d.name());
            }
            runs.push(row);
        }
    }
    Ok(runs.into_iter().filter_map(median_row).collect())
}

fn run_one(cfg: &CompareConfig, d: Daemon, dir: &Path) -> Result<(String, Report)> {
    ensure_installed(d)?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let ns = Netns::new(d.name())?;
    let (procs, version) = start(cfg, d, &ns, dir)?;
    wait_listening(&ns, &procs)?;
    let pids: Vec<String> = procs.iter().map(|p| p.pid().to_string()).collect();
    let speaker_src = std::net::Ipv4Addr::from(SPEAKER_BASE).to_string();
    let monitor_src = std::net::Ipv4Addr::from(MONITOR_BASE).to_string();
    let idle_src = std::net::Ipv4Addr::from(IDLE_BASE).to_string();
    let mut cmd = ns.command(&cfg.loadgen);
    cmd.args(["run", "--json", "--quiet"])
        .args(["--target", &format!("{RS_ADDR}:179")])
        .args(["--target-as", &RS_AS.to_string()])
        .args(["--source", &speaker_src, "--monitor-source", &monitor_src])
        .args(["--monitor-as", &MONITOR_AS.to_string()])
        .args([
            "--idle-source",
            &idle_src,
            "--idle-as",
            &IDLE_AS.to_string(),
        ])
        .args(["--target-pid", &pids.join(",")])
        .args(&cfg.run_args);
    if let Some(c) = memory_command(cfg, d, dir) {
        cmd.args(["--at-convergence", &c]);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .context("running the load generator")?;
    std::fs::write(dir.join("report.json"), &out.stdout)?;
    let report: Report = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "no report from the load generator (exit {:?})",
            out.status.code()
        )
    })?;
    drop(procs);
    drop(ns);
    Ok((version, report))
}

/// The shell command that prints `d`'s memory report, for daemons that
/// give one ([`crate::target_memory`]); run inside the namespace (the
/// control sockets are files under `dir`).
fn memory_command(cfg: &CompareConfig, d: Daemon, dir: &Path) -> Option<String> {
    let q = |p: &Path| format!("'{}'", p.display());
    match d {
        Daemon::Rampartd => {
            let ctl = cfg.rampartd.with_file_name("rampartctl");
            ctl.is_file().then(|| {
                format!(
                    "{} --socket {} show memory --json",
                    q(&ctl),
                    q(&dir.join("ctl.sock"))
                )
            })
        }
        Daemon::Bird => {
            let birdc = format!("birdc -s {}", q(&dir.join("bird.ctl")));
            Some(format!("{birdc} show memory && {birdc} show route count"))
        }
        Daemon::Frr => Some(format!(
            "vtysh --vty_socket {} -c 'show bgp memory'",
            q(dir)
        )),
        Daemon::Gobgp => None,
    }
}

/// The daemon's CPU microseconds from the first UPDATE to convergence
/// per route the speakers sent (the unit of the issue's CPU target).
fn cpu_per_route(rep: &Report) -> Option<f64> {
    let t = rep.target.as_ref()?;
    #[allow(clippy::cast_precision_loss)] // a ratio for display
    (rep.routes_sent > 0 && rep.convergence_secs.is_some())
        .then(|| t.cpu_secs_converge * 1e6 / rep.routes_sent as f64)
}

/// `d`'s memory report in `rep`, read.
fn table_memory(d: Daemon, rep: &Report) -> Option<TableMemory> {
    let out = rep.at_convergence.as_ref()?.as_ref().ok()?;
    match d {
        Daemon::Rampartd => target_memory::parse_rampartd(out),
        Daemon::Bird => target_memory::parse_bird(out),
        Daemon::Frr => target_memory::parse_frr(out),
        Daemon::Gobgp => None,
    }
}

fn wait_listening(ns: &Netns, procs: &[Proc]) -> Result<()> {
    let end = Instant::now() + Duration::from_secs(30);
    // Bounded by the deadline.
    while Instant::now() < end {
        let out = ns
            .command("ss")
            .args(["-Hltn", "sport = :179"])
            .output()
            .context("ss")?;
        if String::from_utf8_lossy(&out.stdout).contains(RS_ADDR) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let names: Vec<&str> = procs.iter().map(|p| p.name.as_str()).collect();
    bail!(
        "{} not listening on {RS_ADDR}:179 after 30 s",
        names.join("+")
    )
}

fn version_of(bin: &str, arg: &str) -> String {
    Command::new(bin)
        .arg(arg)
        .output()
        .ok()
        .map(|o| {
            let mut s = String::from_utf8_lossy(&o.stdout).into_owned();
            s.push_str(&String::from_utf8_lossy(&o.stderr));
            s.lines().next().unwrap_or_default().trim().to_string()
        })
        .unwrap_or_default()
}

fn start(cfg: &CompareConfig, d: Daemon, ns: &Netns, dir: &Path) -> Result<(Vec<Proc>, String)> {
    let peers = cfg.peers.all();
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    match d {
        Daemon::Rampartd => {
            std::fs::write(dir.join("rampartd.toml"), rampartd_config(&peers, dir))?;
            let mut c = ns.command(&cfg.rampartd);
            c.args(["--config", &p("rampartd.toml")])
                .env("RAMPART_LOG", "warn");
            let v = version_of(&cfg.rampartd.to_string_lossy(), "--version");
            Ok((
                vec![Proc::spawn("rampartd", c, &dir.join("rampartd.log"))?],
                v,
            ))
        }
        Daemon::Bird => {
            std::fs::write(dir.join("bird.conf"), bird_config(&peers))?;
            let mut c = ns.command("bird");
            c.args(["-f", "-c", &p("bird.conf"), "-s", &p("bird.ctl")])
                .args(["-P", &p("bird.pid")]);
            let v = version_of("bird", "--version");
            Ok((vec![Proc::spawn("bird", c, &dir.join("bird.log"))?], v))
        }
        Daemon::Gobgp => {
            std::fs::write(dir.join("gobgpd.toml"), gobgp_config(&peers))?;
            let mut c = ns.command("gobgpd");
            c.args(["-f", &p("gobgpd.toml"), "--api-hosts", "127.0.0.1:50051"])
                .args(["-p", "--pprof-disable", "-l", "warn"]);
            let v = version_of("gobgpd", "--version");
            Ok((vec![Proc::spawn("gobgpd", c, &dir.join("gobgpd.log"))?], v))
        }
        Daemon::Frr => start_frr(ns, dir, &peers),
    }
}

fn start_frr(ns: &Netns, dir: &Path, peers: &[(String, u32)]) -> Result<(Vec<Proc>, String)> {
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    std::fs::write(dir.join("bgpd.conf"), frr_config(peers))?;
    std::fs::write(
        dir.join("zebra.conf"),
        "ip nht resolve-via-default\nipv6 nht resolve-via-default\n",
    )?;
    let st = Command::new("chown")
        .args(["-R", "frr:frr"])
        .arg(dir)
        .status()?;
    if !st.success() {
        bail!("chown frr:frr failed (no user frr?)");
    }
    let zebra = which("zebra").context("zebra not found")?;
    let bgpd = which("bgpd").context("bgpd not found")?;
    let d = dir.to_string_lossy().into_owned();
    let mut z = ns.command(&zebra);
    z.args([
        "-f",
        &p("zebra.conf"),
        "-z",
        &p("zserv.api"),
        "-i",
        &p("zebra.pid"),
    ])
    .args(["--vty_socket", &d, "-P", "0", "-u", "frr", "-g", "frr"]);
    let mut zp = Proc::spawn("zebra", z, &dir.join("zebra.log"))?;
    let end = Instant::now() + Duration::from_secs(10);
    while !dir.join("zserv.api").exists() && Instant::now() < end && zp.running() {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut b = ns.command(&bgpd);
    b.args(["-f", &p("bgpd.conf"), "-z", &p("zserv.api"), "-n"])
        .args(["-u", "frr", "-g", "frr", "-l", RS_ADDR, "-p", "179"])
        .args(["-i", &p("bgpd.pid"), "--vty_socket", &d, "-P", "0"]);
    let bp = Proc::spawn("bgpd", b, &dir.join("bgpd.log"))?;
    let v = version_of(&bgpd.to_string_lossy(), "--version");
    // bgpd first in the list: dropped (stopped) first.
    Ok((vec![bp, zp], v))
}

/// rampartd: one passive rs-client `[[peer]]` per session.
#[must_use]
pub fn rampartd_config(peers: &[(String, u32)], dir: &Path) -> String {
    let mut s = format!(
        "[global]\nrouter-id = \"{RS_ADDR}\"\nlocal-as = {RS_AS}\nlisten = [\"{RS_ADDR}\"]\n\
         control-socket = \"{}\"\n",
        dir.join("ctl.sock").display()
    );
    for (a, asn) in peers {
        let _ = write!(
            s,
            "\n[[peer]]\naddress = \"{a}\"\nremote-as = {asn}\nrole = \"rs-client\"\npassive = true\n\
             families = [\"ipv4-unicast\", \"ipv6-unicast\"]\n"
        );
    }
    s
}

/// BIRD 2: a template with `rs client`, one protocol per session.
#[must_use]
pub fn bird_config(peers: &[(String, u32)]) -> String {
    let mut s = format!(
        "router id {RS_ADDR};\nprotocol device {{}}\n\
         template bgp rsc {{\n  local {RS_ADDR} as {RS_AS};\n  strict bind yes;\n  multihop;\n  \
         rs client;\n  passive on;\n  ipv4 {{ import all; export all; }};\n  \
         ipv6 {{ import all; export all; }};\n}}\n"
    );
    for (i, (a, asn)) in peers.iter().enumerate() {
        let _ = writeln!(s, "protocol bgp p{i} from rsc {{ neighbor {a} as {asn}; }}");
    }
    s
}

/// GoBGP: passive route-server-client neighbors.
#[must_use]
pub fn gobgp_config(peers: &[(String, u32)]) -> String {
    let mut s = format!(
        "[global.config]\n  as = {RS_AS}\n  router-id = \"{RS_ADDR}\"\n  \
         local-address-list = [\"{RS_ADDR}\"]\n  port = 179\n"
    );
    for (a, asn) in peers {
        let _ = write!(
            s,
            "\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{a}\"\n    peer-as = {asn}\n  \
             [neighbors.transport.config]\n    passive-mode = true\n    local-address = \"{RS_ADDR}\"\n  \
             [neighbors.ebgp-multihop.config]\n    enabled = true\n    multihop-ttl = 255\n  \
             [neighbors.route-server.config]\n    route-server-client = true\n"
        );
        for fam in ["ipv4-unicast", "ipv6-unicast"] {
            let _ = write!(
                s,
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{fam}\"\n"
            );
        }
    }
    s
}

/// FRR: a peer group of passive rs-clients, no policy requirement, no
/// update coalescing delay.
#[must_use]
pub fn frr_config(peers: &[(String, u32)]) -> String {
    let mut s = format!(
        "frr defaults traditional\nhostname rs\nlog stdout warnings\n!\nrouter bgp {RS_AS}\n \
         bgp router-id {RS_ADDR}\n no bgp ebgp-requires-policy\n no bgp network import-check\n \
         coalesce-time 0\n neighbor C peer-group\n neighbor C passive\n \
         neighbor C disable-connected-check\n neighbor C ebgp-multihop 255\n \
         neighbor C update-source {RS_ADDR}\n neighbor C advertisement-interval 0\n"
    );
    for (a, asn) in peers {
        let _ = write!(
            s,
            " neighbor {a} remote-as {asn}\n neighbor {a} peer-group C\n"
        );
    }
    for af in ["ipv4", "ipv6"] {
        let _ = write!(
            s,
            " address-family {af} unicast\n  neighbor C activate\n  neighbor C route-server-client\n \
             exit-address-family\n"
        );
    }
    s.push_str("!\n");
    s
}

/// The churn columns of one row: latency p50/p99/max (ms), changes
/// missed of expected, CPU seconds during churn, p99 ratio to rampartd.
fn churn_columns(rep: &Report, base: Option<&Report>) -> String {
    let Some(c) = &rep.churn else {
        return format!(
            " {:>9} {:>9} {:>9} {:>11} {:>8} {:>9}",
            "-", "-", "-", "-", "-", "-"
        );
    };
    let l = c.latency_ms.as_ref();
    let f = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.2}"));
    let bp99 = base
        .and_then(|b| b.churn.as_ref())
        .and_then(|b| b.latency_ms.as_ref())
        .map(|p| p.p99);
    let ratio = match (l.map(|p| p.p99), bp99) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".into(),
    };
    format!(
        " {:>9} {:>9} {:>9} {:>11} {:>8} {:>9}",
        f(l.map(|p| p.p50)),
        f(l.map(|p| p.p99)),
        f(l.map(|p| p.max)),
        format!("{}/{}", c.missing, c.changes_expected),
        f(c.cpu_secs),
        ratio
    )
}

/// "median of N (converge MIN-MAX s, K failed)" for a `--repeat` row.
fn runs_note(runs: &[RunFigures]) -> String {
    let conv: Vec<f64> = runs.iter().filter_map(|r| r.convergence_secs).collect();
    let lo = conv.iter().copied().reduce(f64::min);
    let hi = conv.iter().copied().reduce(f64::max);
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return format!("none of {} runs converged; ", runs.len());
    };
    let failed = match runs.len() - conv.len() {
        0 => String::new(),
        n => format!(", {n} failed"),
    };
    format!(
        "median of {} (converge {lo:.3}-{hi:.3} s{failed}); ",
        conv.len()
    )
}

/// The table: daemon, scenario, convergence, peak RSS, CPU, ratios, and
/// for churn runs the propagation latency of the changes.
#[must_use]
pub fn table(rows: &[Row], scenario: &str) -> String {
    let base = rows
        .iter()
        .find(|r| r.daemon == Daemon::Rampartd)
        .and_then(|r| r.report.as_ref());
    let churn = rows
        .iter()
        .any(|r| r.report.as_ref().is_some_and(|r| r.churn.is_some()));
    let mut s = String::new();
    let _ = write!(
        s,
        "{:<9} {:<9} {:>12} {:>10} {:>7} {:>8} {:>8} {:>9} {:>9} {:>7}",
        "daemon",
        "scenario",
        "converge s",
        "peak RSS",
        "B/path",
        "CPU s",
        "µs/route",
        "conv/rpd",
        "CPU/rpd",
        "ok",
    );
    if churn {
        let _ = write!(
            s,
            " {:>9} {:>9} {:>9} {:>11} {:>8} {:>9}",
            "p50 ms", "p99 ms", "max ms", "missed", "churn CPU", "p99/rpd"
        );
    }
    s.push_str("  note\n");
    for r in rows {
        let Some(rep) = &r.report else {
            let _ = writeln!(
                s,
                "{:<9} {:<9} {:>12} {:>10} {:>7} {:>8} {:>8} {:>9} {:>9} {:>7}  {}",
                r.daemon.name(),
                scenario,
                "-",
                "-",
                "-",
                "-",
                "-",
                "-",
                "-",
                "error",
                r.error.as_deref().unwrap_or_default()
            );
            continue;
        };
        let conv = rep.convergence_secs;
        let (rss, cpu) = rep
            .target
            .as_ref()
            .map_or((None, None), |t| (Some(t.peak_rss), Some(t.cpu_secs)));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        let bconv = base.and_then(|b| b.convergence_secs);
        let bcpu = base.and_then(|b| b.target.as_ref().map(|t| t.cpu_secs));
        let mut note = String::new();
        if rep.settled {
            note.push_str("settled; ");
        }
        if !r.runs.is_empty() {
            note.push_str(&runs_note(&r.runs));
        }
        for m in rep.missing.iter().take(1) {
            let _ = write!(note, "monitor holds {}/{}; ", m.held, m.expected);
        }
        if rep.idle > 0 {
            let up = rep
                .idle_establish_secs
                .map_or_else(|| "not all".into(), |t| format!("in {t:.2} s"));
            let _ = write!(note, "{} idle up {up}; ", rep.idle);
        }
        if rep.sessions_failed + rep.sessions_down > 0 {
            let _ = write!(
                note,
                "{} sessions failed, {} down; ",
                rep.sessions_failed, rep.sessions_down
            );
        }
        let _ = write!(
            s,
            "{:<9} {:<9} {:>12} {:>10} {:>7} {:>8} {:>8} {:>9} {:>9} {:>7}",
            r.daemon.name(),
            scenario,
            conv.map_or_else(|| "-".into(), |c| format!("{c:.3}")),
            rss.map_or_else(
                || "-".into(),
                |b| format!("{:.1} MiB", b as f64 / 1048576.0)
            ),
            r.memory
                .and_then(|m| m.bytes_per_path())
                .map_or_else(|| "-".into(), |b| format!("{b:.1}")),
            cpu.map_or_else(|| "-".into(), |c| format!("{c:.2}")),
            cpu_per_route(rep).map_or_else(|| "-".into(), |u| format!("{u:.3}")),
            ratio(conv, bconv),
            ratio(cpu, bcpu),
            if rep.ok { "yes" } else { "no" },
        );
        if churn {
            s.push_str(&churn_columns(rep, base));
        }
        let _ = writeln!(s, "  {note}{}", r.version);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::churn::ChurnReport;
    use crate::run::Percentiles;

    fn row(d: Daemon, p99: Option<f64>) -> Row {
        Row {
            daemon: d,
            version: String::new(),
            report: Some(Report {
                ok: true,
                convergence_secs: Some(1.0),
                churn: p99.map(|p99| ChurnReport {
                    changes_expected: 200,
                    missing: 3,
                    latency_ms: Some(Percentiles {
                        p50: 0.5,
                        p99,
                        max: p99 * 2.0,
                    }),
                    ..ChurnReport::default()
                }),
                ..Report::default()
            }),
            error: None,
            memory: None,
            runs: Vec::new(),
        }
    }

    /// A rampartd run that converged in `conv` seconds (`None`: failed).
    fn run(conv: Option<f64>) -> Row {
        let mut r = row(Daemon::Rampartd, None);
        match conv {
            Some(c) => {
                if let Some(rep) = r.report.as_mut() {
                    rep.convergence_secs = Some(c);
                }
            }
            None => {
                r.report = None;
                r.error = Some("no session".into());
            }
        }
        r
    }

    #[test]
    fn repeated_runs_give_the_median_run_with_every_runs_figures() {
        let rows = [Some(0.9), None, Some(0.5), Some(0.7), Some(2.0)].map(run);
        let r = median_row(rows.to_vec()).unwrap();
        // Converged: 0.5, 0.7, 0.9, 2.0; the lower middle is 0.7.
        assert_eq!(r.report.unwrap().convergence_secs, Some(0.7));
        let conv: Vec<_> = r.runs.iter().map(|f| f.convergence_secs).collect();
        assert_eq!(conv, [Some(0.9), None, Some(0.5), Some(0.7), Some(2.0)]);
        assert_eq!(
            runs_note(&r.runs),
            "median of 4 (converge 0.500-2.000 s, 1 failed); "
        );
        // Odd count: the middle.
        let r = median_row([0.3, 0.1, 0.2].map(|c| run(Some(c))).to_vec()).unwrap();
        assert_eq!(r.report.unwrap().convergence_secs, Some(0.2));
        // One run: the row as it was, no per-run figures.
        let r = median_row(vec![run(Some(0.4))]).unwrap();
        assert!(r.runs.is_empty());
        // None converged: the first run, and the note says so.
        let r = median_row(vec![run(None), run(None)]).unwrap();
        assert!(r.error.is_some());
        assert_eq!(runs_note(&r.runs), "none of 2 runs converged; ");
        assert!(median_row(Vec::new()).is_none());
    }

    #[test]
    fn the_table_notes_the_spread_of_repeated_runs() {
        let r = median_row([0.9, 0.5, 0.7].map(|c| run(Some(c))).to_vec()).unwrap();
        let t = table(&[r], "bgperf");
        assert!(t.contains("0.700"), "{t}");
        assert!(t.contains("median of 3 (converge 0.500-0.900 s)"), "{t}");
    }

    #[test]
    fn cpu_per_route_counts_the_convergence_window() {
        let mut r = row(Daemon::Rampartd, None);
        if let Some(rep) = r.report.as_mut() {
            rep.routes_sent = 1_000_000;
            rep.target = Some(crate::report::TargetUsage {
                peak_rss: 1 << 20,
                cpu_secs: 0.9,
                cpu_secs_converge: 0.47,
                ..Default::default()
            });
        }
        let t = table(&[r.clone()], "bgperf");
        let line = t.lines().find(|l| l.starts_with("rampartd")).unwrap();
        // daemon scenario converge RSS(2) B/path CPU µs/route.
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[6..8], ["0.90", "0.470"], "{t}");
        // Not converged: no figure.
        if let Some(rep) = r.report.as_mut() {
            rep.convergence_secs = None;
        }
        assert_eq!(cpu_per_route(r.report.as_ref().unwrap()), None);
    }

    #[test]
    fn bytes_per_path_from_each_daemons_own_report() {
        let with = |d: Daemon, out: Result<&str, &str>| {
            let mut r = row(d, None);
            if let Some(rep) = r.report.as_mut() {
                rep.at_convergence = Some(out.map(str::to_string).map_err(str::to_string));
                r.memory = table_memory(d, rep);
            }
            r
        };
        let bird = "Routing tables:   1.0 MB  1.0 kB\nRoute attributes: 512.0 kB  0 B\n\
                    Total: 1.0 MB 1.0 kB\nTotal: 8192 of 8192 routes for 10 networks in 2 tables\n";
        let rows = [
            with(
                Daemon::Rampartd,
                Ok(r#"{"tables":{"paths":1000},"counted_bytes":58700}"#),
            ),
            with(Daemon::Bird, Ok(bird)),
            // The same text from a daemon without a parser, and a failed
            // command: no figure.
            with(Daemon::Gobgp, Ok(bird)),
            with(Daemon::Frr, Ok(bird)),
            with(Daemon::Frr, Err("exited with 1")),
        ];
        assert_eq!(
            rows[1].memory,
            Some(TableMemory {
                bytes: 1536 * 1024,
                paths: 8192
            })
        );
        let t = table(&rows, "compete");
        let col = |name: &str| {
            let line = t.lines().find(|l| l.starts_with(name)).unwrap();
            // daemon, scenario, converge, peak RSS (none here), B/path.
            line.split_whitespace().nth(4).unwrap().to_string()
        };
        // rampartd 58.7; BIRD 1.5 MiB / 8192 routes = 192.0.
        assert_eq!(col("rampartd"), "58.7", "{t}");
        assert_eq!(col("bird"), "192.0", "{t}");
        assert_eq!(col("gobgp"), "-", "{t}");
        assert_eq!(col("frr"), "-", "{t}");
        // Both FRR rows (BIRD's text, the failed command), not only the
        // first the table shows.
        assert!(rows[2..].iter().all(|r| r.memory.is_none()));
    }

    #[test]
    fn churn_columns_only_for_churn_runs() {
        let plain = table(&[row(Daemon::Rampartd, None)], "bgperf");
        assert!(!plain.contains("p99 ms"), "{plain}");
        let t = table(
            &[
                row(Daemon::Rampartd, Some(2.0)),
                row(Daemon::Bird, Some(5.0)),
            ],
            "churn",
        );
        assert!(t.contains("p99 ms") && t.contains("missed"), "{t}");
        let bird = t.lines().find(|l| l.starts_with("bird")).unwrap();
        // p99 5.00, max 10.00, 3 of 200 missed, p99 2.5 × rampartd's.
        for want in ["5.00", "10.00", "3/200", "2.50"] {
            assert!(bird.contains(want), "{want} in {bird}");
        }
    }
}
