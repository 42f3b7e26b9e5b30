//! GoBGP as a real peer: start `gobgpd` in a namespace with a generated TOML
//! config and its gRPC API on a per-instance port of the namespace's own
//! 127.0.0.1, drive it with the `gobgp` CLI (also run inside the namespace),
//! and parse its `-j` JSON output.
//!
//! GoBGP rejects a 127.0.0.0/8 NEXT_HOP (../shared/PEERS.md): use 198.18.x.y.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::bird::BirdRoute;
use super::{Child, Netns, wait_for};

/// A running `gobgpd`.
#[derive(Debug)]
pub struct GoBgp {
    ns: String,
    port: u16,
    child: Child,
}

/// Timers for a `[[neighbors]]` table short enough for tests.
pub const FAST_TIMERS: &str = "[neighbors.timers.config]
    connect-retry = 1
    hold-time = 9
    keepalive-interval = 3
    idle-hold-time-after-reset = 1
";

/// A GoBGP config: global AS and router ID (also its only local address),
/// and one eBGP-multihop neighbor per `(address, as)`, sending from
/// `router_id`. IPv4 unicast only unless `v6` is true (then both).
#[must_use]
pub fn config(asn: u32, router_id: &str, neighbors: &[(&str, u32)], v6: bool) -> String {
    let mut s = format!(
        "[global.config]
  as = {asn}
  router-id = \"{router_id}\"
  local-address-list = [\"{router_id}\"]
  port = 179
"
    );
    for (addr, peer_as) in neighbors {
        s.push_str(&format!(
            "
[[neighbors]]
  [neighbors.config]
    neighbor-address = \"{addr}\"
    peer-as = {peer_as}
  [neighbors.transport.config]
    local-address = \"{router_id}\"
  [neighbors.ebgp-multihop.config]
    enabled = true
    multihop-ttl = 255
  {FAST_TIMERS}"
        ));
        for fam in ["ipv4-unicast"]
            .into_iter()
            .chain(v6.then_some("ipv6-unicast"))
        {
            s.push_str(&format!(
                "  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = \"{fam}\"
"
            ));
        }
    }
    s
}

/// `config` with every neighbor in passive mode: GoBGP waits several
/// seconds before its first connect, so a peer that connects to it (with a
/// short connect-retry) brings the session up sooner.
#[must_use]
pub fn passive(config: &str) -> String {
    config.replace(
        "[neighbors.transport.config]\n",
        "[neighbors.transport.config]\n    passive-mode = true\n",
    )
}

impl GoBgp {
    /// Writes `config` to `dir/gobgpd.toml` and starts `gobgpd` in `ns`;
    /// returns once its API answers.
    ///
    /// # Errors
    /// When gobgpd cannot start or its API does not answer within 10 s (the
    /// error holds its log).
    pub fn start(ns: &Netns, dir: &Path, config: &str) -> io::Result<Self> {
        // Ports only need to differ between instances in one namespace.
        static PORT: AtomicU16 = AtomicU16::new(50_100);
        let port = PORT.fetch_add(1, Ordering::Relaxed);
        std::fs::create_dir_all(dir)?;
        let conf = dir.join("gobgpd.toml");
        std::fs::write(&conf, config)?;
        let bin = super::which("gobgpd").ok_or_else(|| io::Error::other("gobgpd not installed"))?;
        let api = format!("127.0.0.1:{port}");
        let conf = conf.to_string_lossy();
        let args = ["-f", &conf, "--api-hosts", &api, "-p", "--pprof-disable"];
        let mut child = ns.spawn("gobgpd", bin, &args, &dir.join("gobgpd.log"))?;
        let up = wait_for("gobgpd API", Duration::from_secs(10), || {
            if !child.is_running() {
                return Some(false);
            }
            let probe = Self::cli_at(ns.name(), port, &["global"]);
            probe.ok().map(|_| true)
        });
        match up {
            Ok(true) => Ok(Self {
                ns: ns.name().to_string(),
                port,
                child,
            }),
            Ok(false) | Err(_) => Err(io::Error::other(format!(
                "gobgpd did not start: {}",
                child.log()
            ))),
        }
    }

    fn cli_at(ns: &str, port: u16, args: &[&str]) -> io::Result<String> {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", ns, "gobgp", "-p", &port.to_string()])
            .args(args)
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "gobgp {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `gobgp -p PORT args...` inside the namespace.
    ///
    /// # Errors
    /// When the command fails (the error holds its output).
    pub fn cli(&self, args: &[&str]) -> io::Result<String> {
        Self::cli_at(&self.ns, self.port, args)
    }

    /// The API port on the namespace's 127.0.0.1.
    #[must_use]
    pub fn api_port(&self) -> u16 {
        self.port
    }

    /// gobgpd's pid.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// gobgpd's log so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// Stops gobgpd (SIGTERM, then SIGKILL after `grace`); true when it
    /// exited within the grace period.
    pub fn stop(&mut self, grace: Duration) -> bool {
        self.child.stop(grace)
    }

    /// True when the session with `neighbor` is Established.
    #[must_use]
    pub fn is_established(&self, neighbor: &str) -> bool {
        let Ok(out) = self.cli(&["-j", "neighbor", neighbor]) else {
            return false;
        };
        let v: Value = serde_json::from_str(&out).unwrap_or(Value::Null);
        // gobgp's apipb PeerState.SessionState: 6 = ESTABLISHED.
        let state = &v["state"]["session_state"];
        state.as_u64() == Some(6) || state.as_str() == Some("ESTABLISHED")
    }

    /// Adds a local route: `gobgp global rib add PREFIX attrs...`, e.g.
    /// `["aspath", "64510", "med", "7", "community", "64501:1", "nexthop", "198.18.0.2"]`.
    /// IPv6 prefixes go to the ipv6 RIB. (GoBGP prepends its own AS when it
    /// exports to an eBGP neighbor.)
    ///
    /// # Errors
    /// When the CLI refuses the route.
    pub fn add_route(&self, prefix: &str, attrs: &[&str]) -> io::Result<()> {
        let mut args = vec!["global", "rib", "add", prefix];
        args.extend_from_slice(attrs);
        args.extend(["-a", family_of(prefix)]);
        self.cli(&args).map(drop)
    }

    /// Withdraws a local route added with [`GoBgp::add_route`].
    ///
    /// # Errors
    /// When the CLI fails.
    pub fn del_route(&self, prefix: &str) -> io::Result<()> {
        self.cli(&["global", "rib", "del", prefix, "-a", family_of(prefix)])
            .map(drop)
    }

    /// Every path in the global RIB, IPv4 then IPv6 unicast (local routes
    /// have `from == None`).
    ///
    /// # Errors
    /// When the CLI fails or prints something that is not JSON.
    pub fn routes(&self) -> io::Result<Vec<BirdRoute>> {
        let mut all = Vec::new();
        for fam in ["ipv4", "ipv6"] {
            let out = self.cli(&["-j", "global", "rib", "-a", fam])?;
            all.extend(parse_rib_json(&out)?);
        }
        Ok(all)
    }

    /// Number of paths in the global RIB, both families (local ones too).
    #[must_use]
    pub fn route_count(&self) -> Option<usize> {
        self.routes().ok().map(|r| r.len())
    }

    /// Waits until the global RIB holds exactly `n` paths.
    ///
    /// # Errors
    /// A message with the last count seen on timeout.
    pub fn wait_route_count(&self, n: usize, timeout: Duration) -> Result<(), String> {
        wait_for(&format!("{n} routes in GoBGP"), timeout, || {
            (self.route_count() == Some(n)).then_some(())
        })
        .map_err(|e| format!("{e}; GoBGP has {:?} routes", self.route_count()))
    }
}

fn family_of(prefix: &str) -> &'static str {
    if prefix.contains(':') { "ipv6" } else { "ipv4" }
}

/// Parses `gobgp -j global rib` (an object: prefix → array of paths).
///
/// # Errors
/// When `out` is not JSON.
pub fn parse_rib_json(out: &str) -> io::Result<Vec<BirdRoute>> {
    let out = out.trim();
    if out.is_empty() || out == "null" {
        return Ok(Vec::new());
    }
    let v: Value =
        serde_json::from_str(out).map_err(|e| io::Error::other(format!("{e}: {out}")))?;
    let mut routes = Vec::new();
    let Some(map) = v.as_object() else {
        return Ok(routes);
    };
    for (prefix, paths) in map {
        for p in paths.as_array().into_iter().flatten() {
            routes.push(parse_path(prefix, p));
        }
    }
    Ok(routes)
}

fn parse_path(prefix: &str, p: &Value) -> BirdRoute {
    let mut r = BirdRoute {
        prefix: prefix.to_string(),
        proto: "gobgp".into(),
        from: p["neighbor-ip"].as_str().map(str::to_string),
        best: p["best"].as_bool().unwrap_or(false),
        ..BirdRoute::default()
    };
    for a in p["attrs"].as_array().into_iter().flatten() {
        let u32s = |v: &Value| -> Vec<u32> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_u64().and_then(|n| u32::try_from(n).ok()))
                .collect()
        };
        match a["type"].as_u64() {
            // AS_PATH
            Some(2) => {
                for seg in a["as_paths"].as_array().into_iter().flatten() {
                    r.as_path.extend(u32s(&seg["asns"]));
                }
            }
            // NEXT_HOP
            Some(3) => r.next_hop = a["nexthop"].as_str().map(str::to_string),
            Some(4) => r.med = a["metric"].as_u64().and_then(|n| u32::try_from(n).ok()),
            Some(5) => r.local_pref = a["value"].as_u64().and_then(|n| u32::try_from(n).ok()),
            Some(8) => {
                r.communities = u32s(&a["communities"])
                    .into_iter()
                    .map(|c| (c >> 16, c & 0xffff))
                    .collect();
            }
            Some(9) => r.originator_id = a["value"].as_str().map(str::to_string),
            Some(10) => {
                r.cluster_list = a["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
            }
            // MP_REACH_NLRI: the IPv6 next hop(s).
            Some(14) => {
                let hops: Vec<&str> = a["nexthop"]
                    .as_str()
                    .into_iter()
                    .chain(a["linklocal_nexthop"].as_str())
                    .collect();
                if !hops.is_empty() {
                    r.next_hop = Some(hops.join(" "));
                }
            }
            Some(32) => {
                r.large_communities = a["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        let f = |k: &str| l[k].as_u64().and_then(|n| u32::try_from(n).ok());
                        Some((f("ASN")?, f("LocalData1")?, f("LocalData2")?))
                    })
                    .collect();
            }
            _ => {}
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_gobgp_rib_json() {
        let out = r#"{"198.51.100.0/24":[{"nlri":{"prefix":"198.51.100.0/24"},"age":1,"best":true,"attrs":[{"type":1,"value":2},{"type":2,"as_paths":[{"segment_type":2,"num":2,"asns":[64501,64510]}]},{"type":4,"metric":7},{"type":8,"communities":[4227137537]},{"type":32,"value":[{"ASN":64501,"LocalData1":2,"LocalData2":3}]},{"type":3,"nexthop":"198.18.0.2"}],"stale":false,"source-id":"198.18.0.1","neighbor-ip":"198.18.0.1"}]}"#;
        let r = parse_rib_json(out).unwrap();
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(r.prefix, "198.51.100.0/24");
        assert!(r.best);
        assert_eq!(r.from.as_deref(), Some("198.18.0.1"));
        assert_eq!(r.as_path, vec![64501, 64510]);
        assert_eq!(r.med, Some(7));
        assert_eq!(r.communities, vec![(64501, 1)]);
        assert_eq!(r.large_communities, vec![(64501, 2, 3)]);
        assert_eq!(r.next_hop.as_deref(), Some("198.18.0.2"));
        assert!(parse_rib_json("null").unwrap().is_empty());
    }
}
