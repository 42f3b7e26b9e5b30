//! StayRTR as a real RPKI cache (RFC 8210 RPKI-to-Router): started in a
//! namespace on an address of its own, serving VRPs from a JSON file in
//! rpki-client's format that the test rewrites; StayRTR rereads the file
//! every second and sends its clients a Serial Notify when it changed.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Child, Netns, wait_for};

/// One Validated ROA Payload: `(prefix, max length, origin AS)`, e.g.
/// `("203.0.113.0/24", 24, 64501)`.
pub type Vrp<'a> = (&'a str, u8, u32);

/// The cache file StayRTR reads (`-cache`): rpki-client's JSON,
/// `{"roas":[{"prefix":"203.0.113.0/24","maxLength":24,"asn":64501}]}`.
#[must_use]
pub fn vrps_json(vrps: &[Vrp<'_>]) -> String {
    let roas: Vec<serde_json::Value> = vrps
        .iter()
        .map(|(prefix, max_length, asn)| {
            serde_json::json!({ "prefix": prefix, "maxLength": max_length, "asn": asn })
        })
        .collect();
    serde_json::json!({ "roas": roas }).to_string()
}

/// A running `stayrtr`.
#[derive(Debug)]
pub struct StayRtr {
    cache: PathBuf,
    child: Child,
}

impl StayRtr {
    /// Writes `vrps` to `dir/vrps.json` and starts StayRTR in `ns`, bound
    /// to `bind` (`198.18.0.9:8282`), rereading the file every second and
    /// telling clients to refresh and retry every second; metrics off,
    /// the default expire interval (7200 s). Returns once it has loaded the
    /// file (serial 0) and accepts connections.
    ///
    /// # Errors
    /// When StayRTR cannot start or is not serving within 10 s (the error
    /// holds its log).
    pub fn start(ns: &Netns, dir: &Path, bind: SocketAddr, vrps: &[Vrp<'_>]) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let cache = dir.join("vrps.json");
        std::fs::write(&cache, vrps_json(vrps))?;
        let bin =
            super::which("stayrtr").ok_or_else(|| io::Error::other("stayrtr not installed"))?;
        let mut cmd = ns.command(bin);
        cmd.current_dir(dir)
            .arg("-bind")
            .arg(bind.to_string())
            .arg("-cache")
            .arg(&cache)
            .args([
                "-checktime=false",
                "-refresh",
                "1",
                "-rtr.refresh",
                "1",
                "-rtr.retry",
                "1",
                "-metrics.addr",
                "",
            ]);
        let mut child = Child::spawn("stayrtr", cmd, dir.join("stayrtr.log"))?;
        let up = wait_for("stayrtr serving", Duration::from_secs(10), || {
            if !child.is_running() {
                return Some(false);
            }
            if !child.log().contains("new serial 0") {
                return None;
            }
            let connects = ns
                .run(move || TcpStream::connect_timeout(&bind, Duration::from_millis(200)).is_ok())
                .unwrap_or(false);
            connects.then_some(true)
        });
        match up {
            Ok(true) => Ok(Self { cache, child }),
            Ok(false) | Err(_) => Err(io::Error::other(format!(
                "stayrtr did not start: {}",
                child.log()
            ))),
        }
    }

    /// Replaces the VRP set (written aside and renamed, so StayRTR never
    /// reads half a file); StayRTR picks it up within about a second.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn set_vrps(&self, vrps: &[Vrp<'_>]) -> io::Result<()> {
        let tmp = self.cache.with_extension("json.tmp");
        std::fs::write(&tmp, vrps_json(vrps))?;
        std::fs::rename(&tmp, &self.cache)
    }

    /// Waits until StayRTR has loaded a VRP set as serial `serial` (its
    /// first load is 0, each changed file one more).
    ///
    /// # Errors
    /// A message with StayRTR's log on timeout.
    pub fn wait_serial(&self, serial: u32, timeout: Duration) -> Result<(), String> {
        let needle = format!("new serial {serial}\"");
        wait_for(&format!("stayrtr serial {serial}"), timeout, || {
            self.child.log().contains(&needle).then_some(())
        })
        .map_err(|e| format!("{e}\n--- stayrtr log:\n{}", self.log()))
    }

    /// StayRTR's pid.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// StayRTR's log so far, without the line it writes every second when
    /// the file has not changed.
    #[must_use]
    pub fn log(&self) -> String {
        self.child
            .log()
            .lines()
            .filter(|l| !l.contains("is identical to the previous version"))
            .fold(String::new(), |mut s, l| {
                s.push_str(l);
                s.push('\n');
                s
            })
    }

    /// Stops StayRTR (SIGTERM, then SIGKILL after `grace`); true when it
    /// exited within `grace`.
    pub fn stop(&mut self, grace: Duration) -> bool {
        self.child.stop(grace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_rpki_client_json() {
        let j = vrps_json(&[("203.0.113.0/24", 24, 64501), ("2001:db8::/32", 48, 65999)]);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["roas"][0]["prefix"], "203.0.113.0/24");
        assert_eq!(v["roas"][0]["maxLength"], 24);
        assert_eq!(v["roas"][1]["asn"], 65999);
        assert_eq!(v["roas"].as_array().map(Vec::len), Some(2));
    }
}
