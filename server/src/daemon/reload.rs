//! Reload: the configuration file read again and applied to the running
//! daemon, touching only what changed.
//!
//! - A file that fails to load (syntax, validation, policy that does not
//!   compile or whose `test` blocks fail) is rejected whole; the running
//!   configuration stays.
//! - A static peer that is gone gets Cease/Peer De-configured; a new one
//!   starts; one whose session settings changed is restarted with
//!   Cease/Other Configuration Change (RFC 4486 §4).
//! - A peer whose filters, allowed prefixes or policy files changed keeps
//!   its session: the shards rerun its import over the stored Adj-RIB-In and
//!   move it to the update group of its new export (no route refresh).
//! - A changed `max-prefix` applies to the live session too, as BIRD's
//!   import limit and FRR's `maximum-prefix` do: raising a tenant's limit
//!   does not reset it. A limit lowered below what the peer already holds
//!   acts at once (Cease/1, or for `drop-excess` no new prefix until the
//!   count is below it).
//! - Dynamic neighbors follow their template by name in the same way.
//! - Global settings (router ID, AS, listen addresses, workers, ...) need a
//!   restart; the report lists those that changed.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use rampart_core::iana::cease;
use serde::Serialize;

use super::Shared;
use super::originate::{self, Originated};
use super::peer::PeerSpec;
use super::session::SessionCmd;
use super::shard::ShardMsg;
use crate::config::{Config, SessionSettings};

/// What a reload did.
#[derive(Debug, Default, Serialize)]
pub(crate) struct ReloadReport {
    pub(crate) added: Vec<IpAddr>,
    pub(crate) removed: Vec<IpAddr>,
    /// Sessions restarted because their settings changed.
    pub(crate) restarted: Vec<IpAddr>,
    /// Sessions kept, with new filters applied.
    pub(crate) refiltered: Vec<IpAddr>,
    /// Sessions kept, their TCP-AO keys rolled over.
    pub(crate) rekeyed: Vec<IpAddr>,
    /// Sessions kept, their max-prefix limit changed.
    pub(crate) limited: Vec<IpAddr>,
    pub(crate) unchanged: usize,
    /// The server's own routes (`[[route]]`) were replaced.
    pub(crate) routes_replaced: bool,
    /// The RPKI caches (`[[rpki-cache]]`) changed: removed ones closed,
    /// new ones connected.
    pub(crate) rpki_caches_changed: bool,
    /// Changed `[global]` keys that take effect only after a restart.
    pub(crate) needs_restart: Vec<&'static str>,
}

/// How a peer's settings changed.
#[derive(Debug, PartialEq, Eq)]
enum Change {
    None,
    /// Only filters, allowed prefixes, description, TCP-AO keys, the
    /// max-prefix limit or the policy files: applied to the live session.
    Live {
        filters: bool,
        keys: bool,
        limit: bool,
    },
    /// Anything else the session itself depends on.
    Session,
}

fn compare(old: &SessionSettings, new: &SessionSettings, policy_changed: bool) -> Change {
    let mut a = old.clone();
    a.import.clone_from(&new.import);
    a.export.clone_from(&new.export);
    a.allowed_prefixes.clone_from(&new.allowed_prefixes);
    a.description.clone_from(&new.description);
    a.interpret_communities = new.interpret_communities;
    a.max_prefix = new.max_prefix;
    // A TCP-AO key chain changes on a live connection (RFC 5925 §8.1);
    // switching between AO and no AO does not.
    if old.auth.ao.is_some() && new.auth.ao.is_some() {
        a.auth.ao.clone_from(&new.auth.ao);
    }
    if a != *new {
        return Change::Session;
    }
    let keys = old.auth.ao != new.auth.ao;
    let limit = old.max_prefix != new.max_prefix;
    let filters = old.import != new.import
        || old.export != new.export
        || old.allowed_prefixes != new.allowed_prefixes
        || old.interpret_communities != new.interpret_communities
        || (policy_changed && !(new.import.is_empty() && new.export.is_empty()));
    if keys || filters || limit || old != new {
        Change::Live {
            filters,
            keys,
            limit,
        }
    } else {
        Change::None
    }
}

fn global_changes(old: &Config, new: &Config) -> Vec<&'static str> {
    let (a, b) = (&old.global, &new.global);
    let mut out = Vec::new();
    let mut check = |changed: bool, key| {
        if changed {
            out.push(key);
        }
    };
    check(a.router_id != b.router_id, "router-id");
    check(a.local_as != b.local_as, "local-as");
    check(a.cluster_id != b.cluster_id, "cluster-id");
    check(a.listen != b.listen, "listen");
    check(a.port != b.port, "port");
    check(a.workers != b.workers, "workers");
    check(a.io_backend != b.io_backend, "io-backend");
    check(a.control_socket != b.control_socket, "control-socket");
    check(a.metrics_listen != b.metrics_listen, "metrics-listen");
    check(a.mrt_dump != b.mrt_dump, "mrt-dump");
    out
}

fn ceased(subcode: u8) -> SessionCmd {
    SessionCmd::Deconfigure { subcode }
}

/// Reads the configuration file again and applies it.
///
/// # Errors
/// The load error (file, line, column, key; or the policy diagnostics) when
/// the new file is rejected; nothing changed then.
pub(crate) fn reload(shared: &Arc<Shared>) -> Result<ReloadReport, String> {
    let old = shared.config();
    let new = Arc::new(Config::load(&old.source).map_err(|e| e.to_string())?);
    let mut report = ReloadReport {
        needs_restart: global_changes(&old, &new),
        ..ReloadReport::default()
    };
    let policy_changed = old.policy != new.policy;
    if let Ok(mut p) = shared.policy.write() {
        p.clone_from(&new.policy);
    }
    if let Ok(mut n) = shared.neighbors.lock() {
        n.reconfigure(&new);
    }
    // Keys of new or changed peers and templates on the listening sockets.
    shared.rekey_listeners(&new);
    shared.set_config(Arc::clone(&new));

    for handle in shared.handles() {
        let addr = handle.status.address;
        let change = match &handle.template {
            None => match new.peers.iter().find(|p| p.address == addr) {
                None => {
                    let _ = handle.cmds.try_send(ceased(cease::PEER_DECONFIGURED));
                    shared.forget_peer(handle.id);
                    report.removed.push(addr);
                    continue;
                }
                Some(p) => {
                    let was = old.peers.iter().find(|o| o.address == addr);
                    match was {
                        Some(o) if o.remote_as == p.remote_as => {
                            (compare(&o.session, &p.session, policy_changed), &p.session)
                        }
                        _ => (Change::Session, &p.session),
                    }
                }
            },
            Some(name) => {
                let was = old.templates.iter().find(|t| *t.name == **name);
                match new.templates.iter().find(|t| *t.name == **name) {
                    Some(t)
                        if was
                            .is_some_and(|o| o.range == t.range && o.remote_as == t.remote_as) =>
                    {
                        let o = was.map_or(&t.session, |o| &o.session);
                        (compare(o, &t.session, policy_changed), &t.session)
                    }
                    // Gone or narrowed: the session ends; the neighbor may
                    // come back under whatever template now covers it.
                    _ => {
                        let _ = handle.cmds.try_send(ceased(cease::PEER_DECONFIGURED));
                        report.removed.push(addr);
                        continue;
                    }
                }
            }
        };
        match change {
            (Change::None, _) => report.unchanged += 1,
            (
                Change::Live {
                    filters,
                    keys,
                    limit,
                },
                s,
            ) => {
                if keys && let Some(ao) = &s.auth.ao {
                    let hold = u64::from(s.timers.hold_time).max(30);
                    if let Err(e) = handle.status.rekey(ao, Duration::from_secs(hold * 2)) {
                        tracing::warn!(peer = %addr, "TCP-AO rollover: {e}");
                    }
                    report.rekeyed.push(addr);
                }
                let _ = handle.cmds.try_send(SessionCmd::Reconfigure {
                    settings: Box::new(s.clone()),
                    filters,
                });
                if filters {
                    report.refiltered.push(addr);
                }
                if limit {
                    report.limited.push(addr);
                }
            }
            (Change::Session, _) => {
                let _ = handle.cmds.try_send(ceased(cease::OTHER_CONFIG_CHANGE));
                if handle.template.is_none() {
                    shared.forget_peer(handle.id);
                    start_static(shared, &new, addr);
                }
                report.restarted.push(addr);
            }
        }
    }
    for p in &new.peers {
        if !old.peers.iter().any(|o| o.address == p.address) {
            start_static(shared, &new, p.address);
            report.added.push(p.address);
        }
    }
    if old.routes != new.routes {
        replace_routes(shared, &new);
        report.routes_replaced = true;
    }
    if old.rpki_caches != new.rpki_caches {
        // Kept caches keep their sessions and payloads.
        shared.rpki.set_caches(&new.rpki_caches);
        report.rpki_caches_changed = true;
    }
    tracing::info!(
        added = report.added.len(),
        removed = report.removed.len(),
        restarted = report.restarted.len(),
        refiltered = report.refiltered.len(),
        "configuration reloaded"
    );
    if !report.needs_restart.is_empty() {
        tracing::warn!(keys = ?report.needs_restart, "changed settings take effect after a restart");
    }
    Ok(report)
}

/// Hands every shard the new `[[route]]` list, in three steps (see
/// `shard::originate`): all shards withdraw what the list drops and take
/// it, then all announce and count aggregates (each step confirmed by
/// every shard, 5 s at most each), then the aggregates kept through the
/// reload that nothing contributes to any more are withdrawn.
fn replace_routes(shared: &Arc<Shared>, config: &Config) {
    let routes: Arc<[Originated]> = originate::routes(config).into();
    let step = |what: &str, msg: &dyn Fn(std::sync::mpsc::Sender<()>) -> ShardMsg| {
        let (done, confirmed) = std::sync::mpsc::channel();
        for tx in &shared.shards {
            let _ = tx.send_blocking(msg(done.clone()));
        }
        for _ in &shared.shards {
            if confirmed.recv_timeout(Duration::from_secs(5)).is_err() {
                tracing::error!("a shard did not {what} in 5 s");
                break;
            }
        }
    };
    step("take the new routes", &|done| ShardMsg::Originate {
        routes: Arc::clone(&routes),
        done,
    });
    step("recount aggregates", &|done| ShardMsg::Recount { done });
    // On the links: behind every contributor report the recount sent.
    for tx in &shared.shard_links {
        let _ = tx.send_blocking(ShardMsg::Settle);
    }
}

/// Starts the session of the static peer at `addr` in `config`.
fn start_static(shared: &Arc<Shared>, config: &Config, addr: IpAddr) {
    let (Some(p), Some(id)) = (
        config.peers.iter().find(|p| p.address == addr),
        shared.next_peer_id(),
    ) else {
        return;
    };
    shared.spawn_peer(PeerSpec::for_static(id, p), None);
}
