//! Test harness for running real BGP daemons next to Rampart.
//!
//! Every test gets its own network namespace ([`Netns`]) with `lo` up and
//! 198.18.0.1/16 on it, so every 198.18.x.y is a local address inside that
//! namespace (RFC 2544 benchmarking range; see ../shared/PEERS.md): each
//! daemon binds its own address on port 179. Processes started in it are
//! [`Child`] guards that are stopped by pid when dropped, and the namespace
//! is deleted when its guard drops, also when a test fails.

pub mod bird;
pub mod exabgp;
pub mod frr;
pub mod gobgp;
pub mod netns;
pub mod process;
pub mod rampartd_config;
pub mod raw_peer;
pub mod realinput;
pub mod stayrtr;

pub use bird::Bird;
pub use exabgp::ExaBgp;
pub use frr::Frr;
pub use gobgp::GoBgp;
pub use netns::Netns;
pub use process::Child;
pub use rampartd_config::RampartdConfig;
pub use raw_peer::RawPeer;

use std::time::{Duration, Instant};

/// A fresh, empty directory `$TMPDIR/rampart-<tag>-<pid>` for one test's
/// configs, sockets and logs.
///
/// # Panics
/// When the directory cannot be created (a test setup failure).
#[must_use]
pub fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rampart-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    if let Err(e) = std::fs::create_dir_all(&d) {
        panic!("cannot create {}: {e}", d.display());
    }
    d
}

/// Starts the rampartd binary `bin` (a test passes
/// `env!("CARGO_BIN_EXE_rampartd")`) in `ns` with `config` written to
/// `dir/rampartd.toml`, debug logs to `dir/rampartd.log`.
///
/// # Errors
/// When the config cannot be written or the process not started.
pub fn start_rampartd(
    ns: &Netns,
    bin: &str,
    dir: &std::path::Path,
    config: &str,
) -> std::io::Result<Child> {
    let conf = dir.join("rampartd.toml");
    std::fs::write(&conf, config)?;
    let mut cmd = ns.command(bin);
    cmd.arg("--config").arg(&conf).env("RAMPART_LOG", "debug");
    Child::spawn("rampartd", cmd, dir.join("rampartd.log"))
}

/// Runs the rampartctl binary `bin` against the control socket
/// `dir/ctl.sock`: its stdout, or its stderr as the error.
///
/// # Errors
/// rampartctl's stderr when it fails, or why it could not run.
pub fn rampartctl(bin: &str, dir: &std::path::Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new(bin)
        .arg("--socket")
        .arg(dir.join("ctl.sock"))
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `rampartctl show peers --json` as rows; empty while the daemon does not
/// answer (tests poll it).
#[must_use]
pub fn show_peers(bin: &str, dir: &std::path::Path) -> Vec<serde_json::Value> {
    rampartctl(bin, dir, &["show", "peers", "--json"])
        .ok()
        .and_then(|out| serde_json::from_str::<serde_json::Value>(&out).ok())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
}

/// The `show peers --json` row of the peer at `addr`; `Null` when there is
/// none or the daemon does not answer.
#[must_use]
pub fn peer_row(bin: &str, dir: &std::path::Path, addr: &str) -> serde_json::Value {
    show_peers(bin, dir)
        .into_iter()
        .find(|p| p["address"] == addr)
        .unwrap_or(serde_json::Value::Null)
}

/// Polls `check` every 50 ms until it returns `Some`, or `timeout` passes.
///
/// # Errors
/// A message naming `what` and the timeout when it never succeeded.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Why a real-daemon test cannot run here; the caller prints it and skips.
pub fn missing_prerequisite(binaries: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("needs root to create network namespaces".into());
    }
    let missing: Vec<&str> = binaries
        .iter()
        .copied()
        .filter(|b| which(b).is_none())
        .collect();
    (!missing.is_empty()).then(|| format!("missing binaries: {}", missing.join(", ")))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// A binary of this workspace for a test to run: the path in environment
/// variable `env` when set (and a file), else the newer of `release/` and
/// `debug/` `name` in the target directory the test binary was built into
/// (a test crate's build does not build other packages' binaries). `None`
/// when there is none.
#[must_use]
pub fn workspace_bin(env: &str, name: &str) -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(std::path::PathBuf::from(p)).filter(|p| p.is_file());
    }
    // target/<profile>/deps/<test binary>
    let exe = std::env::current_exe().ok()?;
    let target = exe.parent()?.parent()?.parent()?;
    ["release", "debug"]
        .iter()
        .map(|p| target.join(p).join(name))
        .filter(|p| p.is_file())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

/// The full path of `bin` on PATH (or under /usr/sbin, /usr/lib/frr), if any.
#[must_use]
pub fn which(bin: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/lib/frr"])
        .map(|d| std::path::Path::new(d).join(bin))
        .find(|p| p.is_file())
}
