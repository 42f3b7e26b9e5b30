//! A network namespace that exists for the life of its guard.

use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use super::process::Child;

/// A network namespace with `lo` up and 198.18.0.1/16 on it. Deleted on drop
/// (after the processes started in it, which the caller must drop first or
/// hold in a guard declared after this one).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

impl Netns {
    /// Creates a namespace named `rampart-<tag>-<pid>-<n>`.
    ///
    /// # Errors
    /// When `ip netns add` or the address setup fails (not root, no iproute2).
    pub fn new(tag: &str) -> io::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("rampart-{tag}-{}-{n}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        ns.ip(&["addr", "add", "198.18.0.1/16", "dev", "lo"])?;
        ns.ip(&["-6", "addr", "add", "fd00:198:18::1/64", "dev", "lo"])?;
        Ok(ns)
    }

    /// The namespace's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME args...`.
    ///
    /// # Errors
    /// When the command fails.
    pub fn ip(&self, args: &[&str]) -> io::Result<()> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        ip(&full)
    }

    /// Adds an extra IPv6 address (`fd00:198:18::N/128`) to `lo`, since IPv6
    /// has no "whole subnet is local" shortcut; IPv4 198.18.x.y needs none.
    ///
    /// # Errors
    /// When the address cannot be added.
    pub fn add_v6(&self, addr: &str) -> io::Result<()> {
        self.ip(&[
            "-6",
            "addr",
            "add",
            &format!("{addr}/128"),
            "dev",
            "lo",
            "nodad",
        ])
    }

    /// Runs `f` on a thread inside the namespace and returns its result:
    /// sockets `f` creates belong to the namespace, and keep working from
    /// any thread afterwards.
    ///
    /// # Errors
    /// When the namespace cannot be entered.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
        let file = std::fs::File::open(format!("/var/run/netns/{}", self.name))?;
        std::thread::spawn(move || {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(io::Error::from)?;
            Ok(f())
        })
        .join()
        .map_err(|_| io::Error::other("the namespace thread panicked"))?
    }

    /// A command that runs `program` inside the namespace.
    #[must_use]
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program.as_ref());
        c
    }

    /// Starts `program args` inside the namespace, output to `log`.
    ///
    /// # Errors
    /// When it cannot be started.
    pub fn spawn(
        &self,
        name: &str,
        program: impl AsRef<Path>,
        args: &[&str],
        log: &Path,
    ) -> io::Result<Child> {
        let mut cmd = self.command(program);
        cmd.args(args);
        Child::spawn(name, cmd, log.to_path_buf())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Kill anything left in the namespace, by pid, then delete it.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        if let Err(e) = ip(&["netns", "del", &self.name]) {
            eprintln!("cannot delete netns {}: {e}", self.name);
        }
    }
}
