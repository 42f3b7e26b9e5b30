//! BIRD 2 as a real peer: start it in a namespace with a generated config,
//! query it with `birdc`, and parse `show route all`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Child, Netns, wait_for};

/// BIRD timers short enough for tests (BIRD's defaults wait 5 s before the
/// first connect and 60–300 s after an error; ../shared/PEERS.md).
pub const FAST_TIMERS: &str = "connect delay time 1; connect retry time 1; error wait time 1,5; hold time 9; keepalive time 3;";

/// A running BIRD.
#[derive(Debug)]
pub struct Bird {
    ctl: PathBuf,
    child: Child,
}

/// One route from `birdc show route all`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BirdRoute {
    /// Prefix as BIRD prints it (`203.0.113.0/24`).
    pub prefix: String,
    /// Protocol name the route came from.
    pub proto: String,
    /// Address of the BGP neighbor it came from.
    pub from: Option<String>,
    /// True for the selected (best) route of the prefix.
    pub best: bool,
    /// BGP.as_path, flattened.
    pub as_path: Vec<u32>,
    /// BGP.next_hop, as printed (may hold two addresses for IPv6).
    pub next_hop: Option<String>,
    /// BGP.med.
    pub med: Option<u32>,
    /// BGP.local_pref.
    pub local_pref: Option<u32>,
    /// BGP.community as `(a,b)` pairs.
    pub communities: Vec<(u32, u32)>,
    /// BGP.large_community as `(a,b,c)` triples.
    pub large_communities: Vec<(u32, u32, u32)>,
    /// BGP.originator_id.
    pub originator_id: Option<String>,
    /// BGP.cluster_list.
    pub cluster_list: Vec<String>,
}

/// A BIRD speaker at `addr` (AS `asn`) announcing IPv4 static `routes` to
/// the route server at `rs` (AS 64500); each route is `(prefix, attribute
/// statements)`, e.g. `("192.0.2.0/24", "bgp_community.add((65535,65281));")`
/// or `("192.0.2.0/24", "")`; protocol `routeserver`, static protocol `s4`.
#[must_use]
pub fn ipv4_speaker(addr: &str, asn: u32, rs: &str, routes: &[(&str, &str)]) -> String {
    let statics: String = routes
        .iter()
        .map(|(r, set)| {
            if set.is_empty() {
                format!("route {r} via {addr}; ")
            } else {
                format!("route {r} via {addr} {{ {set} }}; ")
            }
        })
        .collect();
    format!(
        "router id {addr};
protocol device {{}}
protocol static s4 {{ ipv4; {statics} }}
protocol bgp routeserver {{ local {addr} as {asn}; neighbor {rs} as 64500; multihop; strict bind yes;
  {FAST_TIMERS} ipv4 {{ import none; export all; }}; }}"
    )
}

/// A BIRD core that is a route server client: AS `asn` at `core`, passive
/// toward the route server at `rs` (AS 64500), importing every IPv4 route
/// and exporting none; protocol `routeserver`.
#[must_use]
pub fn rs_client_core(core: &str, asn: u32, rs: &str) -> String {
    format!(
        "router id {core};
protocol device {{}}
protocol bgp routeserver {{ local {core} as {asn}; neighbor {rs} as 64500; multihop; strict bind yes; passive on;
  {FAST_TIMERS} ipv4 {{ import all; export none; }}; }}"
    )
}

impl Bird {
    /// Writes `config` to `dir/bird.conf` and starts BIRD in `ns`; returns
    /// once its control socket answers.
    ///
    /// # Errors
    /// When BIRD cannot start or does not answer within 10 s (the error
    /// holds its log).
    pub fn start(ns: &Netns, dir: &Path, config: &str) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let conf = dir.join("bird.conf");
        let ctl = dir.join("bird.ctl");
        std::fs::write(&conf, config)?;
        let bird = super::which("bird").ok_or_else(|| io::Error::other("bird not installed"))?;
        let args = [
            "-f",
            "-c",
            &conf.to_string_lossy(),
            "-s",
            &ctl.to_string_lossy(),
            "-P",
            &dir.join("bird.pid").to_string_lossy(),
        ]
        .map(String::from);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = ns.spawn("bird", bird, &args, &dir.join("bird.log"))?;
        let up = wait_for("bird control socket", Duration::from_secs(10), || {
            if !child.is_running() {
                return Some(false);
            }
            Self::birdc_at(&ctl, "show status")
                .ok()
                .filter(|s| s.contains("Daemon is up"))
                .map(|_| true)
        });
        match up {
            Ok(true) => Ok(Self { ctl, child }),
            Ok(false) | Err(_) => Err(io::Error::other(format!(
                "bird did not start: {}",
                child.log()
            ))),
        }
    }

    fn birdc_at(ctl: &Path, cmd: &str) -> io::Result<String> {
        let out = Command::new("birdc")
            .arg("-s")
            .arg(ctl)
            .args(cmd.split_whitespace())
            .output()?;
        if !out.status.success() {
            return Err(io::Error::other(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a `birdc` command and returns its output.
    ///
    /// # Errors
    /// When birdc fails.
    pub fn birdc(&self, cmd: &str) -> io::Result<String> {
        Self::birdc_at(&self.ctl, cmd)
    }

    /// BIRD's pid.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// BIRD's log so far.
    #[must_use]
    pub fn log(&self) -> String {
        self.child.log()
    }

    /// The state column of protocol `name` in `show protocols`
    /// (`Established`, `Active`, …), if it exists.
    #[must_use]
    pub fn protocol_info(&self, name: &str) -> Option<String> {
        let out = self.birdc(&format!("show protocols {name}")).ok()?;
        out.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .and_then(|l| l.split_whitespace().nth(5).map(str::to_string))
    }

    /// The "received" column of a row of protocol `name`'s route change
    /// statistics (`show protocols all`), for `row` such as
    /// `"Import updates"` or `"Import withdraws"`.
    #[must_use]
    pub fn received(&self, name: &str, row: &str) -> Option<u64> {
        let out = self.birdc(&format!("show protocols all {name}")).ok()?;
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{row}:")))?;
        line.split(':')
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    /// Number of routes BIRD holds, all tables (`show route count`).
    #[must_use]
    pub fn route_count(&self) -> Option<usize> {
        let out = self.birdc("show route count").ok()?;
        let total = out.lines().find(|l| l.starts_with("Total:"))?;
        total.split_whitespace().nth(1)?.parse().ok()
    }

    /// Waits until BIRD holds exactly `n` routes.
    ///
    /// # Errors
    /// A message with the last count seen on timeout.
    pub fn wait_route_count(&self, n: usize, timeout: Duration) -> Result<(), String> {
        wait_for(&format!("{n} routes in BIRD"), timeout, || {
            (self.route_count() == Some(n)).then_some(())
        })
        .map_err(|e| format!("{e}; BIRD has {:?} routes", self.route_count()))
    }

    /// Every route, parsed from `show route all`.
    ///
    /// # Errors
    /// When birdc fails.
    pub fn routes(&self) -> io::Result<Vec<BirdRoute>> {
        Ok(parse_show_route_all(&self.birdc("show route all")?))
    }

    /// Waits (at most `timeout`) until BIRD's table holds exactly the
    /// prefixes `want` (in any order); returns its routes then.
    ///
    /// # Errors
    /// On timeout: what was wanted and what the table held last.
    pub fn wait_prefixes(
        &self,
        want: &[&str],
        timeout: std::time::Duration,
    ) -> Result<Vec<BirdRoute>, String> {
        let mut want: Vec<String> = want.iter().map(|s| (*s).to_string()).collect();
        want.sort();
        super::wait_for("BIRD's table", timeout, || {
            let routes = self.routes().ok()?;
            (prefixes(&routes) == want).then_some(routes)
        })
        .map_err(|e| {
            format!(
                "{e}: want {want:?}, BIRD has {:?}",
                self.routes().map(|r| prefixes(&r))
            )
        })
    }
}

/// The prefixes of `routes`, sorted.
#[must_use]
pub fn prefixes(routes: &[BirdRoute]) -> Vec<String> {
    let mut p: Vec<String> = routes.iter().map(|r| r.prefix.clone()).collect();
    p.sort();
    p
}

/// Parses `birdc show route all` output.
#[must_use]
pub fn parse_show_route_all(out: &str) -> Vec<BirdRoute> {
    let mut routes: Vec<BirdRoute> = Vec::new();
    let mut last_prefix = String::new();
    for line in out.lines() {
        if line.starts_with("BIRD ") || line.starts_with("Table ") || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) || line.starts_with("                     ") {
            // A route line: "PREFIX  kind [proto time from ADDR] * (pref) [..]"
            // or a continuation route of the same prefix starting with spaces.
            let trimmed = line.trim_start();
            let (prefix, rest) = if line.starts_with(char::is_whitespace) {
                (last_prefix.clone(), trimmed)
            } else {
                let mut it = trimmed.splitn(2, char::is_whitespace);
                let p = it.next().unwrap_or_default().to_string();
                (p, it.next().unwrap_or_default())
            };
            last_prefix.clone_from(&prefix);
            let bracket = rest
                .find('[')
                .and_then(|s| rest[s..].find(']').map(|e| &rest[s + 1..s + e]));
            let mut r = BirdRoute {
                prefix,
                best: rest.contains("] *"),
                ..BirdRoute::default()
            };
            if let Some(b) = bracket {
                let words: Vec<&str> = b.split_whitespace().collect();
                r.proto = words.first().copied().unwrap_or_default().to_string();
                r.from = words
                    .iter()
                    .position(|w| *w == "from")
                    .and_then(|i| words.get(i + 1))
                    .map(|s| s.to_string());
            }
            routes.push(r);
            continue;
        }
        let Some(r) = routes.last_mut() else { continue };
        let Some((key, value)) = line.trim().split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "BGP.as_path" => {
                r.as_path = value
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|w| w.parse().ok())
                    .collect();
            }
            "BGP.next_hop" => r.next_hop = Some(value.to_string()),
            "BGP.med" => r.med = value.parse().ok(),
            "BGP.local_pref" => r.local_pref = value.parse().ok(),
            "BGP.originator_id" => r.originator_id = Some(value.to_string()),
            "BGP.cluster_list" => {
                r.cluster_list = value.split_whitespace().map(str::to_string).collect();
            }
            "BGP.community" => r.communities = tuples(value).map(|v| (v[0], v[1])).collect(),
            "BGP.large_community" => {
                r.large_communities = tuples(value).map(|v| (v[0], v[1], v[2])).collect();
            }
            _ => {}
        }
    }
    routes
}

/// `(1,2) (3,4)` → [[1,2],[3,4]] (and triples alike).
fn tuples(s: &str) -> impl Iterator<Item = Vec<u32>> + '_ {
    s.split(')').filter_map(|t| {
        let t = t.trim().trim_start_matches('(');
        let v: Vec<u32> = t.split(',').filter_map(|n| n.trim().parse().ok()).collect();
        (v.len() >= 2 && !t.is_empty()).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bird_route_output() {
        let out = "BIRD 2.0.12 ready.
Table master4:
203.0.113.0/24       unreachable [rs 20:41:20.470 from 198.18.0.2] * (100) [AS64501i]
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 64501 64510
\tBGP.next_hop: 198.18.0.2
\tBGP.med: 7
\tBGP.local_pref: 100
\tBGP.community: (64500,1) (65535,666)
\tBGP.large_community: (64500, 0, 64501)
                     unreachable [rs2 20:41:20.470 from 198.18.0.3] (100) [AS64502i]
\tBGP.as_path: 64502
\tBGP.originator_id: 198.18.0.9
\tBGP.cluster_list: 192.0.2.1 192.0.2.2
";
        let r = parse_show_route_all(out);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].prefix, "203.0.113.0/24");
        assert!(r[0].best && !r[1].best);
        assert_eq!(r[0].from.as_deref(), Some("198.18.0.2"));
        assert_eq!(r[0].as_path, vec![64501, 64510]);
        assert_eq!(r[0].med, Some(7));
        assert_eq!(r[0].communities, vec![(64500, 1), (65535, 666)]);
        assert_eq!(r[0].large_communities, vec![(64500, 0, 64501)]);
        assert_eq!(r[1].prefix, "203.0.113.0/24");
        assert_eq!(r[1].proto, "rs2");
        assert_eq!(r[1].originator_id.as_deref(), Some("198.18.0.9"));
        assert_eq!(r[1].cluster_list, vec!["192.0.2.1", "192.0.2.2"]);
    }
}
