//! MRT table dumps (RFC 6396 §4.3 TABLE_DUMP_V2, RFC 8050 for ADD-PATH):
//! every path of the Adj-RIB-In after import policy, the selected one of
//! each prefix first, as route collectors and BIRD's `mrt` protocol
//! write them, on demand (`rampartctl dump mrt FILE`) and every
//! `interval` seconds (`[global] mrt-dump`).
//!
//! ```text
//! here:       PEER_INDEX_TABLE (every peer by address, BGP identifiers
//!             from the shards; rampartd itself for its own routes)
//! per slice of the prefix space (32): each shard's paths of the slice
//!             (ShardMsg::Dump) ─> merged, in prefix order
//!             ─> RIB_IPV4/IPV6_UNICAST records ─> FILE.tmp, renamed to
//!             FILE once complete
//! ```
//!
//! The originated time of an entry is the dump's: rampartd keeps no
//! per-path arrival time.

use std::collections::HashMap;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rampart_core::mrt::table_dump_v2::{PeerEntry, PeerIndexTable};
use rampart_core::mrt::{MrtWriter, RibRoute};
use rampart_core::nlri::Prefix;
use rampart_core::rib::{Path, PeerId, PeerInfo};
use serde::Serialize;

use super::originate::LOCAL;
use super::shard::ShardMsg;
use super::{Shared, ask_each};
use crate::config::MrtDumpConfig;

/// Slices of the prefix space a dump asks the shards for one at a time:
/// 16 for IPv4 (by the top 4 address bits), then 16 for IPv6. Prefix
/// order within the slices, in slice order, is prefix order throughout;
/// a slice of a full table costs a few MiB where the whole took over 100.
pub(crate) const SLICES: u8 = 32;

/// The slice of `prefix` (see [`SLICES`]).
pub(crate) fn slice_of(prefix: &Prefix) -> u8 {
    match prefix {
        Prefix::V4(p) => (p.addr().to_bits() >> 28) as u8,
        Prefix::V6(p) => 16 + (p.addr().to_bits() >> 124) as u8,
    }
}

/// What a dump wrote.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct DumpReport {
    /// The file written.
    pub(crate) file: PathBuf,
    pub(crate) prefixes: usize,
    pub(crate) paths: usize,
    /// Peers in the PEER_INDEX_TABLE.
    pub(crate) peers: usize,
    pub(crate) bytes: u64,
}

/// The PEER_INDEX_TABLE: every peer rampartd has a session object for
/// (those away under graceful restart too), by address, with the BGP
/// identifier a shard learned from its OPEN, and rampartd itself for its
/// own routes; with each peer's index.
fn peer_index(shared: &Shared) -> Result<(PeerIndexTable, HashMap<PeerId, u16>), String> {
    let known: HashMap<PeerId, PeerInfo> =
        ask_each(&shared.shards, "a RIB shard", ShardMsg::DumpPeers)?
            .into_iter()
            .flatten()
            .collect();
    let mut peers: Vec<(PeerId, PeerEntry)> = shared
        .handles()
        .iter()
        .map(|h| {
            let asn = h
                .status
                .remote_as
                .load(std::sync::atomic::Ordering::Relaxed);
            let e = PeerEntry {
                bgp_id: known.get(&h.id).map_or(Ipv4Addr::UNSPECIFIED, |i| i.bgp_id),
                addr: h.status.address,
                asn: known
                    .get(&h.id)
                    .map_or_else(|| u32::try_from(asn).unwrap_or(0), |i| i.asn),
                as4: true,
            };
            (h.id, e)
        })
        .collect();
    peers.sort_by_key(|(_, e)| e.addr);
    peers.push((
        LOCAL,
        PeerEntry {
            bgp_id: shared.router_id,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            asn: shared.local_as,
            as4: true,
        },
    ));
    let index = peers
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, u16::try_from(i).unwrap_or(u16::MAX)))
        .collect();
    let table = PeerIndexTable {
        collector_id: shared.router_id,
        view_name: "rampartd".to_string(),
        peers: peers.into_iter().map(|(_, e)| e).collect(),
    };
    Ok((table, index))
}

/// Writes the Adj-RIB-In of every shard to `file` (through `file.tmp`).
///
/// # Errors
/// When a shard does not answer, or the file cannot be written (the
/// message names it).
pub(crate) fn dump(shared: &Shared, file: &FsPath) -> Result<DumpReport, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let (table, index) = peer_index(shared)?;
    let tmp = file.with_extension("tmp");
    let (mut prefixes, mut paths) = (0, 0);
    let mut write = || -> anyhow::Result<u64> {
        let out = std::fs::File::create(&tmp)?;
        let mut w = MrtWriter::new(BufWriter::new(out));
        w.write_peer_index_table(now, &table)?;
        for slice in 0..SLICES {
            let mut routes: Vec<(Prefix, Path)> =
                ask_each(&shared.shards, "a RIB shard", |reply| ShardMsg::Dump {
                    slice,
                    reply,
                })
                .map_err(anyhow::Error::msg)?
                .into_iter()
                .flatten()
                .collect();
            // Stable: a prefix's paths (all from one shard) keep their
            // order, the selected one first.
            routes.sort_by_key(|r| r.0);
            for same in routes.chunk_by(|a, b| a.0 == b.0) {
                let Some((prefix, _)) = same.first() else {
                    continue;
                };
                let add_path = same.iter().any(|(_, p)| p.path_id() != 0);
                let entries: Vec<RibRoute<'_>> = same
                    .iter()
                    .filter_map(|(_, p)| {
                        Some(RibRoute {
                            peer_index: *index.get(&p.peer())?,
                            originated: now,
                            path_id: add_path.then(|| p.path_id()),
                            attrs: p.attrs().attrs(),
                        })
                    })
                    .collect();
                let seq = u32::try_from(prefixes).unwrap_or(u32::MAX);
                w.write_rib_attrs(now, seq, prefix, &entries)?;
                prefixes += 1;
                paths += entries.len();
            }
        }
        let out = w.into_inner()?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    };
    let bytes = write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", tmp.display())
    })?;
    std::fs::rename(&tmp, file).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(DumpReport {
        file: file.to_path_buf(),
        prefixes,
        paths,
        peers: table.peers.len(),
        bytes,
    })
}

/// The file name of a dump at `now` under `pattern` (strftime, UTC;
/// checked at config load, and taken as it is should it not format).
fn file_name(pattern: &str, now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    use std::fmt::Write as _;
    let mut name = String::new();
    if write!(name, "{}", now.format(pattern)).is_err() {
        pattern.clone_into(&mut name);
    }
    PathBuf::from(name)
}

/// Starts the thread that dumps every `interval` seconds (`[global]
/// mrt-dump`), for the life of the process; each dump's outcome is logged.
pub(crate) fn start_periodic(shared: Arc<Shared>, p: MrtDumpConfig) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("mrt-dump".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(p.interval.into()));
                if shared.stopping.load(std::sync::atomic::Ordering::Relaxed) {
                    return;
                }
                let file = file_name(&p.file, chrono::Utc::now());
                match dump(&shared, &file) {
                    Ok(r) => tracing::info!(
                        file = %r.file.display(),
                        prefixes = r.prefixes,
                        paths = r.paths,
                        bytes = r.bytes,
                        "MRT table dump written"
                    ),
                    Err(e) => tracing::warn!("MRT table dump: {e}"),
                }
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_take_utc_fields() {
        let t = chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap_or_default();
        assert_eq!(
            file_name("/var/lib/rampart/rib.%Y%m%d.%H%M.mrt", t),
            PathBuf::from("/var/lib/rampart/rib.20261118.1106.mrt")
        );
        assert_eq!(file_name("plain.mrt", t), PathBuf::from("plain.mrt"));
    }
}
