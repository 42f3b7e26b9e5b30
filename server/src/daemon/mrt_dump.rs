//! MRT table dumps (RFC 6396 §4.3 TABLE_DUMP_V2, RFC 8050 for ADD-PATH):
//! every path of the Adj-RIB-In after import policy, the selected one of
//! each prefix first, as route collectors and BIRD's `mrt` protocol
//! write them, on demand (`rampartctl dump mrt FILE`) and every
//! `interval` seconds (`[global] mrt-dump`).
//!
//! ```text
//! each shard: ShardMsg::Dump ─> its prefixes with their paths, its peers
//! here:       PEER_INDEX_TABLE (peers by address; rampartd itself for its
//!             own routes) ─> RIB_IPV4/IPV6_UNICAST records in prefix order
//!             ─> FILE.tmp, renamed to FILE once complete
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

/// What one shard holds: its prefixes with their paths after import
/// policy (selected first), and the peers of those paths it knows.
#[derive(Debug, Default)]
pub(crate) struct ShardDump {
    pub(crate) routes: Vec<(Prefix, Vec<Path>)>,
    pub(crate) peers: Vec<(PeerId, PeerInfo)>,
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

/// Writes the Adj-RIB-In of every shard to `file` (through `file.tmp`).
///
/// # Errors
/// When a shard does not answer, or the file cannot be written (the
/// message names it).
pub(crate) fn dump(shared: &Shared, file: &FsPath) -> Result<DumpReport, String> {
    let shards = ask_each(&shared.shards, "a RIB shard", ShardMsg::Dump)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let mut known: HashMap<PeerId, PeerInfo> = HashMap::new();
    let mut routes = Vec::new();
    for s in shards {
        known.extend(s.peers);
        routes.extend(s.routes);
    }
    routes.sort_unstable_by_key(|r| r.0);
    // A peer away under graceful restart has stale paths but no session
    // here: its configured address and AS stand in.
    let handles = shared.handles();
    let mut ids: Vec<PeerId> = routes
        .iter()
        .flat_map(|(_, paths)| paths.iter().map(Path::peer))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let entry = |id: PeerId| -> PeerEntry {
        if id == LOCAL {
            return PeerEntry {
                bgp_id: shared.router_id,
                addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                asn: shared.local_as,
                as4: true,
            };
        }
        match known.get(&id) {
            Some(i) => PeerEntry {
                bgp_id: i.bgp_id,
                addr: i.addr,
                asn: i.asn,
                as4: true,
            },
            None => {
                let h = handles.iter().find(|h| h.id == id);
                PeerEntry {
                    bgp_id: Ipv4Addr::UNSPECIFIED,
                    addr: h.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |h| h.status.address),
                    asn: h.map_or(0, |h| {
                        u32::try_from(
                            h.status
                                .remote_as
                                .load(std::sync::atomic::Ordering::Relaxed),
                        )
                        .unwrap_or(0)
                    }),
                    as4: true,
                }
            }
        }
    };
    let mut peers: Vec<(PeerId, PeerEntry)> = ids.iter().map(|id| (*id, entry(*id))).collect();
    peers.sort_by_key(|(_, e)| e.addr);
    let index: HashMap<PeerId, u16> = peers
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, u16::try_from(i).unwrap_or(u16::MAX)))
        .collect();
    let table = PeerIndexTable {
        collector_id: shared.router_id,
        view_name: "rampartd".to_string(),
        peers: peers.into_iter().map(|(_, e)| e).collect(),
    };
    let tmp = file.with_extension("tmp");
    let write = || -> anyhow::Result<u64> {
        let out = std::fs::File::create(&tmp)?;
        let mut w = MrtWriter::new(BufWriter::new(out));
        w.write_peer_index_table(now, &table)?;
        for (seq, (prefix, paths)) in routes.iter().enumerate() {
            let add_path = paths.iter().any(|p| p.path_id() != 0);
            let entries: Vec<RibRoute<'_>> = paths
                .iter()
                .map(|p| RibRoute {
                    peer_index: index.get(&p.peer()).copied().unwrap_or(u16::MAX),
                    originated: now,
                    path_id: add_path.then(|| p.path_id()),
                    attrs: p.attrs().attrs(),
                })
                .collect();
            w.write_rib_attrs(
                now,
                u32::try_from(seq).unwrap_or(u32::MAX),
                prefix,
                &entries,
            )?;
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
        prefixes: routes.len(),
        paths: routes.iter().map(|(_, p)| p.len()).sum(),
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
