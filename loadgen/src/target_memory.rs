//! The target's own account of its routing-table memory, printed by a
//! command run once at convergence (`run --at-convergence CMD`, see
//! `run::run_command`) and turned into bytes per
//! stored path, the unit of the issue's memory target.
//!
//! Each daemon counts with its own tools, so the figure is what the
//! daemon says its tables and attributes take, without allocator
//! overhead, message buffers or session state (peak RSS covers those):
//!
//! | daemon | command | bytes | paths |
//! |---|---|---|---|
//! | rampartd | `rampartctl show memory --json` | `counted_bytes` (Adj-RIB-In, Loc-RIB, attribute sets, Adj-RIB-Out) | `tables.paths` |
//! | BIRD 2 | `birdc show memory; birdc show route count` | "Routing tables" + "Route attributes", effective | "Total: N of M routes": N |
//! | FRR | `vtysh -c 'show bgp memory'` | every table line (RIB nodes, routes, Adj-Out, next hops, attributes and their parts), not peers or packets | "N BGP routes" |
//!
//! GoBGP gives no such account and gets no figure.

use serde::{Deserialize, Serialize};

/// Routing-table memory as the daemon reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableMemory {
    /// Bytes of routing tables and path attributes.
    pub bytes: u64,
    /// Paths stored (every peer's, not only the best).
    pub paths: u64,
}

impl TableMemory {
    /// Bytes per stored path; `None` without paths.
    #[must_use]
    pub fn bytes_per_path(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // a ratio for display
        (self.paths > 0).then(|| self.bytes as f64 / self.paths as f64)
    }
}

/// Reads rampartd's `show memory --json` answer: `counted_bytes` over
/// `tables.paths`. `None` when either is missing.
#[must_use]
pub fn parse_rampartd(json: &str) -> Option<TableMemory> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(TableMemory {
        bytes: v.get("counted_bytes")?.as_u64()?,
        paths: v.get("tables")?.get("paths")?.as_u64()?,
    })
}

/// Reads BIRD 2's `show memory` followed by `show route count`: the
/// effective bytes of "Routing tables" and "Route attributes" (BIRD's
/// units are powers of 1024), over the routes in the "Total:" line.
/// `None` when a line is missing.
#[must_use]
pub fn parse_bird(text: &str) -> Option<TableMemory> {
    let effective = |label: &str| {
        let rest = text.lines().find_map(|l| l.trim().strip_prefix(label))?;
        let mut words = rest.split_whitespace();
        let value: f64 = words.next()?.parse().ok()?;
        let unit = match words.next()? {
            "B" => 1.0,
            "kB" => 1024.0,
            "MB" => 1024.0 * 1024.0,
            "GB" => 1024.0 * 1024.0 * 1024.0,
            _ => return None,
        };
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some((value * unit).round() as u64)
    };
    let bytes = effective("Routing tables:")? + effective("Route attributes:")?;
    // "Total: 480407 of 480407 routes for 40982 networks in 2 tables"
    // (`show memory` has a "Total:" line too, in bytes).
    let paths = text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("Total:")?;
        let mut words = rest.split_whitespace();
        let n = words.next()?.parse().ok()?;
        (words.next()? == "of").then_some(n)
    })?;
    Some(TableMemory { bytes, paths })
}

/// Reads FRR's `show bgp memory`: the sum of its table lines ("N RIB
/// nodes, using 2245 KiB of memory", routes, Adj-Out entries, next-hop
/// cache, attributes, AS paths, communities...; peers, peer groups and
/// packets left out) over its "N BGP routes". `None` without that line.
#[must_use]
pub fn parse_frr(text: &str) -> Option<TableMemory> {
    let mut bytes = 0;
    let mut paths = None;
    for line in text.lines() {
        let Some((what, used)) = line.trim().split_once(", using ") else {
            continue;
        };
        let Some((count, what)) = what.split_once(' ') else {
            continue;
        };
        if matches!(what, "peers" | "peer groups" | "Packets") || count == "Peer" {
            continue;
        }
        let mut words = used.split_whitespace();
        let (Some(value), Some(unit)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(value) = value.parse::<u64>() else {
            continue;
        };
        let unit: u64 = match unit {
            "bytes" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            _ => continue,
        };
        bytes += value * unit;
        if what == "BGP routes" {
            paths = count.parse().ok();
        }
    }
    Some(TableMemory {
        bytes,
        paths: paths?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BIRD 2.0.12's answer on the compete scenario (20 route-views2
    /// peers), as birdc printed it.
    const BIRD: &str = "BIRD 2.0.12 ready.
BIRD memory usage
                  Effective    Overhead
Routing tables:     27.2 MB    447.5 kB
Route attributes:   22.2 MB   3940.9 kB
Protocols:        2542.6 kB    132.2 kB
Current config:     32.0 kB    576.0  B
Standby memory:      0.0  B     56.0 kB
Total:              54.9 MB   4598.5 kB
BIRD 2.0.12 ready.
480407 of 480407 routes for 40982 networks in table master4
0 of 0 routes for 0 networks in table master6
Total: 480407 of 480407 routes for 40982 networks in 2 tables
";

    #[test]
    fn bird_tables_and_attributes_over_its_routes() {
        let m = parse_bird(BIRD).unwrap();
        // The memory "Total:" line is not the route count.
        assert_eq!(m.paths, 480_407);
        let mib: f64 = 1024.0 * 1024.0;
        let want = (27.2 * mib).round() + (22.2 * mib).round();
        assert_eq!(m.bytes as f64, want);
        let per = m.bytes_per_path().unwrap();
        assert!((107.0..109.0).contains(&per), "{per}");
    }

    #[test]
    fn bird_without_the_route_count_gives_nothing() {
        let memory_only: String = BIRD.lines().take(10).collect::<Vec<_>>().join("\n");
        assert_eq!(parse_bird(&memory_only), None);
        assert_eq!(parse_bird("Routing tables: 1 XB\n"), None);
    }

    #[test]
    fn frr_table_lines_over_its_routes() {
        // FRR 8.4's answer on bgperf 2 x 3,000 prefixes, 1 monitor.
        let frr = "11974 RIB nodes, using 2245 KiB of memory
6000 BGP routes, using 656 KiB of memory
2 Packets, using 112 bytes of memory
6000 Adj-Out entries, using 563 KiB of memory
3 Nexthop cache entries, using 552 bytes of memory
1821 BGP attributes, using 555 KiB of memory
1798 BGP AS-PATH entries, using 70 KiB of memory
1798 BGP AS-PATH segments, using 42 KiB of memory
1239 BGP community entries, using 48 KiB of memory
117 BGP large-community entries, using 4680 bytes of memory
7 peers, using 5069 KiB of memory
1 peer groups, using 64 bytes of memory
Peer groups 1, using 64 bytes of memory
";
        let m = parse_frr(frr).unwrap();
        assert_eq!(m.paths, 6000);
        let kib = 2245 + 656 + 563 + 555 + 70 + 42 + 48;
        assert_eq!(m.bytes, kib * 1024 + 552 + 4680);
        assert_eq!(parse_frr("7 peers, using 5069 KiB of memory\n"), None);
    }

    #[test]
    fn rampartd_counted_bytes_over_paths() {
        let json =
            r#"{"tables":{"prefixes":2,"paths":4},"counted_bytes":300,"bytes_per_path":75.0}"#;
        let m = parse_rampartd(json).unwrap();
        assert_eq!(
            m,
            TableMemory {
                bytes: 300,
                paths: 4
            }
        );
        assert_eq!(m.bytes_per_path(), Some(75.0));
        assert_eq!(parse_rampartd(r#"{"counted_bytes":300}"#), None);
        assert_eq!(TableMemory { bytes: 1, paths: 0 }.bytes_per_path(), None);
    }
}
