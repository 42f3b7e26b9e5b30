//! FRR as a real peer: `zebra` and `bgpd` started in a namespace as user
//! `frr` (FRR refuses to run as root) with their sockets and pid files in a
//! directory writable by `frr`, queried with `vtysh --vty_socket DIR`, and
//! `show bgp ipv4|ipv6 unicast json detail` parsed.
//!
//! FRR needs each listen address assigned exactly to an interface (it looks
//! up the interface of its local address, "nexthop_set failed" otherwise),
//! so [`Frr::start`] adds every listen address to `lo` as a host address.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::bird::BirdRoute;
use super::{Child, Netns, wait_for};

/// A running FRR (bgpd, then zebra; stopped in that order).
#[derive(Debug)]
pub struct Frr {
    dir: PathBuf,
    bgpd: Child,
    zebra: Child,
}

/// The lines a `router bgp` block needs to peer over `lo` in a namespace
/// with `neighbor` using `local` as source, fast timers and no policy
/// requirement (../shared/PEERS.md). Put them inside `router bgp ASN`.
#[must_use]
pub fn neighbor_lines(neighbor: &str, remote_as: u32, local: &str) -> String {
    format!(
        " neighbor {neighbor} remote-as {remote_as}
 neighbor {neighbor} disable-connected-check
 neighbor {neighbor} ebgp-multihop 255
 neighbor {neighbor} update-source {local}
 neighbor {neighbor} timers 3 9
 neighbor {neighbor} timers connect 1
 neighbor {neighbor} advertisement-interval 0
"
    )
}

/// The global lines every test config wants after `router bgp ASN`.
pub const GLOBAL_LINES: &str = " no bgp ebgp-requires-policy
 no bgp network import-check
 coalesce-time 0
";

impl Frr {
    /// Writes `bgpd_conf` to `dir/bgpd.conf`, adds each of `listen` to `lo`
    /// (a /32 or /128), and starts zebra and bgpd (bgpd listening on
    /// `listen`, port 179) in `ns`; returns once vtysh reaches bgpd.
    ///
    /// # Errors
    /// When a daemon cannot start or bgpd does not answer within 10 s (the
    /// error holds the logs).
    pub fn start(ns: &Netns, dir: &Path, listen: &[&str], bgpd_conf: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        for a in listen {
            let len = if a.contains(':') { "128" } else { "32" };
            // 198.18.0.1/16 is already on lo; an exact host address next to
            // it is fine (and may already exist: then `ip` fails, harmlessly).
            let addr = format!("{a}/{len}");
            let mut args = vec!["addr", "add", addr.as_str(), "dev", "lo"];
            if a.contains(':') {
                args.push("nodad");
            }
            let _ = ns.ip(&args);
        }
        std::fs::write(dir.join("bgpd.conf"), bgpd_conf)?;
        std::fs::write(dir.join("zebra.conf"), "")?;
        let st = Command::new("chown")
            .args(["-R", "frr:frr"])
            .arg(dir)
            .status()?;
        if !st.success() {
            return Err(io::Error::other("chown frr: failed (is there a user frr?)"));
        }
        let d = dir.to_string_lossy().into_owned();
        let p = |f: &str| format!("{d}/{f}");
        let zebra_bin =
            super::which("zebra").ok_or_else(|| io::Error::other("FRR zebra not installed"))?;
        let bgpd_bin =
            super::which("bgpd").ok_or_else(|| io::Error::other("FRR bgpd not installed"))?;
        let (zconf, zapi, zpid) = (p("zebra.conf"), p("zserv.api"), p("zebra.pid"));
        let zargs = [
            "-f",
            &zconf,
            "-z",
            &zapi,
            "-i",
            &zpid,
            "--vty_socket",
            &d,
            "-P",
            "0",
            "-u",
            "frr",
            "-g",
            "frr",
        ];
        let mut zebra = ns.spawn("zebra", zebra_bin, &zargs, &dir.join("zebra.out"))?;
        let zapi_path = dir.join("zserv.api");
        let zup = wait_for("zebra socket", Duration::from_secs(10), || {
            (zapi_path.exists() || !zebra.is_running()).then_some(())
        });
        if zup.is_err() || !zebra.is_running() {
            return Err(io::Error::other(format!(
                "zebra did not start: {}",
                zebra.log()
            )));
        }
        let (bconf, bpid) = (p("bgpd.conf"), p("bgpd.pid"));
        let mut bargs = vec![
            "-f",
            &bconf,
            "-z",
            &zapi,
            "-n",
            "-u",
            "frr",
            "-g",
            "frr",
            "-p",
            "179",
            "-i",
            &bpid,
            "--vty_socket",
            &d,
            "-P",
            "0",
        ];
        for a in listen {
            bargs.extend(["-l", a]);
        }
        let mut bgpd = ns.spawn("bgpd", bgpd_bin, &bargs, &dir.join("bgpd.out"))?;
        let up = wait_for("bgpd vty", Duration::from_secs(10), || {
            if !bgpd.is_running() {
                return Some(false);
            }
            Self::vtysh_at(dir, "show bgp summary json")
                .ok()
                .filter(|s| s.trim_start().starts_with('{'))
                .map(|_| true)
        });
        match up {
            Ok(true) => Ok(Self {
                dir: dir.to_path_buf(),
                bgpd,
                zebra,
            }),
            Ok(false) | Err(_) => Err(io::Error::other(format!(
                "bgpd did not start: {}\n{}",
                bgpd.log(),
                zebra.log()
            ))),
        }
    }

    fn vtysh_at(dir: &Path, cmd: &str) -> io::Result<String> {
        let out = Command::new("vtysh")
            .arg("--vty_socket")
            .arg(dir)
            .args(["-c", cmd])
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "vtysh -c '{cmd}': {}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs one `vtysh -c CMD` against this FRR and returns its output.
    ///
    /// # Errors
    /// When vtysh fails.
    pub fn vtysh(&self, cmd: &str) -> io::Result<String> {
        Self::vtysh_at(&self.dir, cmd)
    }

    /// Runs `configure terminal` then `lines` in one vtysh (one `-c` each),
    /// e.g. `["router bgp 64501", "address-family ipv4 unicast", "no network 192.0.2.0/24"]`.
    ///
    /// # Errors
    /// When vtysh fails.
    pub fn configure(&self, lines: &[&str]) -> io::Result<String> {
        let mut cmd = Command::new("vtysh");
        cmd.arg("--vty_socket")
            .arg(&self.dir)
            .args(["-c", "configure terminal"]);
        for l in lines {
            cmd.args(["-c", l]);
        }
        let out = cmd.output()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() || text.contains("% ") {
            return Err(io::Error::other(format!(
                "vtysh configure {lines:?}: {text}"
            )));
        }
        Ok(text)
    }

    /// bgpd's pid.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.bgpd.pid()
    }

    /// bgpd's own log (`log file DIR/bgpd.log` in the config, if set) or
    /// else its output, then zebra's output.
    #[must_use]
    pub fn log(&self) -> String {
        let file = std::fs::read_to_string(self.dir.join("bgpd.log")).unwrap_or_default();
        format!("{file}{}\n{}", self.bgpd.log(), self.zebra.log())
    }

    /// The BGP state of `neighbor` (`Established`, `Active`, …).
    #[must_use]
    pub fn neighbor_state(&self, neighbor: &str) -> Option<String> {
        let out = self
            .vtysh(&format!("show bgp neighbors {neighbor} json"))
            .ok()?;
        let v: Value = serde_json::from_str(&out).ok()?;
        v[neighbor]["bgpState"].as_str().map(str::to_string)
    }

    /// Every path of the IPv4 and IPv6 unicast tables (local `network`
    /// routes too, with `from == None`).
    ///
    /// # Errors
    /// When vtysh fails or prints something that is not JSON.
    pub fn routes(&self) -> io::Result<Vec<BirdRoute>> {
        let mut all = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            let out = self.vtysh(&format!("show bgp {fam} unicast json detail"))?;
            all.extend(parse_detail_json(&out)?);
        }
        Ok(all)
    }

    /// Number of paths in both unicast tables.
    #[must_use]
    pub fn route_count(&self) -> Option<usize> {
        self.routes().ok().map(|r| r.len())
    }

    /// Waits until FRR holds exactly `n` paths.
    ///
    /// # Errors
    /// A message with the last count seen on timeout.
    pub fn wait_route_count(&self, n: usize, timeout: Duration) -> Result<(), String> {
        wait_for(&format!("{n} routes in FRR"), timeout, || {
            (self.route_count() == Some(n)).then_some(())
        })
        .map_err(|e| format!("{e}; FRR has {:?} routes", self.route_count()))
    }
}

/// Parses `show bgp ipv4|ipv6 unicast json detail`: `routes` maps a prefix
/// to an array whose first element describes the prefix and the rest are
/// paths.
///
/// # Errors
/// When `out` is not JSON.
pub fn parse_detail_json(out: &str) -> io::Result<Vec<BirdRoute>> {
    let v: Value =
        serde_json::from_str(out).map_err(|e| io::Error::other(format!("{e}: {out}")))?;
    let mut routes = Vec::new();
    for (prefix, paths) in v["routes"].as_object().into_iter().flatten() {
        for p in paths.as_array().into_iter().flatten() {
            if p.get("aspath").is_none() && p.get("nexthops").is_none() {
                continue;
            }
            routes.push(parse_path(prefix, p));
        }
    }
    Ok(routes)
}

fn num(v: &Value) -> Option<u32> {
    v.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

fn parse_path(prefix: &str, p: &Value) -> BirdRoute {
    let peer = p["peer"]["peerId"].as_str().filter(|s| *s != "0.0.0.0");
    let mut r = BirdRoute {
        prefix: prefix.to_string(),
        proto: "frr".into(),
        from: peer.map(str::to_string),
        best: p["bestpath"]["overall"].as_bool().unwrap_or(false),
        med: num(&p["metric"]),
        local_pref: num(&p["locPrf"]).or_else(|| num(&p["localpref"])),
        originator_id: p["originatorId"].as_str().map(str::to_string),
        cluster_list: strings(&p["clusterList"]["list"]),
        ..BirdRoute::default()
    };
    for seg in p["aspath"]["segments"].as_array().into_iter().flatten() {
        r.as_path
            .extend(seg["list"].as_array().into_iter().flatten().filter_map(num));
    }
    let hops: Vec<String> = p["nexthops"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["ip"].as_str().map(str::to_string))
        .collect();
    if !hops.is_empty() {
        r.next_hop = Some(hops.join(" "));
    }
    let split = |s: &str| -> Vec<u32> { s.split(':').filter_map(|n| n.parse().ok()).collect() };
    r.communities = strings(&p["community"]["list"])
        .iter()
        .filter_map(|c| {
            well_known(c).or_else(|| {
                let v = split(c);
                Some((*v.first()?, *v.get(1)?))
            })
        })
        .collect();
    r.large_communities = strings(&p["largeCommunity"]["list"])
        .iter()
        .map(|c| split(c))
        .filter_map(|v| Some((*v.first()?, *v.get(1)?, *v.get(2)?)))
        .collect();
    r
}

/// FRR prints well-known communities (RFC 1997, RFC 7999, RFC 8326, …) by
/// name.
fn well_known(name: &str) -> Option<(u32, u32)> {
    let low = match name {
        "graceful-shutdown" => 0,
        "accept-own" => 1,
        "route-filter-translated-v4" => 2,
        "route-filter-v4" => 3,
        "route-filter-translated-v6" => 4,
        "route-filter-v6" => 5,
        "llgr-stale" => 6,
        "no-llgr" => 7,
        "accept-own-nexthop" => 8,
        "blackhole" => 666,
        "no-export" => 65281,
        "no-advertise" => 65282,
        "local-AS" => 65283,
        "no-peer" => 65284,
        _ => return None,
    };
    Some((65535, low))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frr_detail_json() {
        let out = r#"{"vrfId": 0, "routes": { "203.0.113.0/24": [{"prefix":"203.0.113.0/24","version":2,"advertisedTo":{"198.18.0.3":{}}},{"aspath":{"string":"64501 64510","segments":[{"type":"as-sequence","list":[64501,64510]}],"length":2},"origin":"IGP","metric":7,"valid":true,"bestpath":{"overall":true},"community":{"string":"64501:1 blackhole","list":["64501:1","blackhole"]},"largeCommunity":{"string":"64501:2:3","list":["64501:2:3"]},"originatorId":"198.18.0.2","clusterList":{"list":["198.18.0.1"]},"nexthops":[{"ip":"198.18.0.3","afi":"ipv4","used":true}],"peer":{"peerId":"198.18.0.3","routerId":"198.18.0.3","type":"external"}}] } }"#;
        let r = parse_detail_json(out).unwrap();
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(r.prefix, "203.0.113.0/24");
        assert!(r.best);
        assert_eq!(r.from.as_deref(), Some("198.18.0.3"));
        assert_eq!(r.as_path, vec![64501, 64510]);
        assert_eq!(r.med, Some(7));
        assert_eq!(r.communities, vec![(64501, 1), (65535, 666)]);
        assert_eq!(r.large_communities, vec![(64501, 2, 3)]);
        assert_eq!(r.originator_id.as_deref(), Some("198.18.0.2"));
        assert_eq!(r.cluster_list, vec!["198.18.0.1"]);
        assert_eq!(r.next_hop.as_deref(), Some("198.18.0.3"));
    }
}
