//! Accept threads: one blocking `accept` loop per listen address, handing
//! each connection to its peer's session task, or starting a dynamic
//! neighbor, or refusing it (counted in the neighbor table).

use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::SystemTime;

use anyhow::Context as _;
use ipnet::IpNet;
use rampart_core::fsm::PeerAs;
use socket2::{Domain, Protocol, Socket, Type};

use super::Shared;
use super::peer::PeerSpec;
use super::session::SessionCmd;
use crate::auth::{self, AuthConfig, ListenFamily};
use crate::config::Config;
use crate::neighbors::Match;

/// The running accept threads.
pub(crate) struct Listeners {
    stop: Arc<AtomicBool>,
    /// Each thread's address, a handle on its listening socket, the thread.
    threads: Vec<(SocketAddr, TcpListener, JoinHandle<()>)>,
}

/// Binds every listen address and starts accepting.
pub(crate) fn start(config: &Config, shared: &Arc<Shared>) -> anyhow::Result<Listeners> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for addr in &config.global.listen {
        let sa = SocketAddr::new(*addr, config.global.port);
        let listener = bind(config, sa)?;
        let waker = listener.try_clone()?;
        let local = listener.local_addr()?;
        if let Ok(mut s) = shared.listen_sockets.lock() {
            s.push((local, listener.try_clone()?));
        }
        let (shared, stop) = (Arc::clone(shared), Arc::clone(&stop));
        let t = std::thread::Builder::new()
            .name(format!("accept-{local}"))
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        admit(&shared, conn);
                    }
                }
            })?;
        threads.push((local, waker, t));
    }
    Ok(Listeners { stop, threads })
}

/// A reload's keys on the listening sockets (`config` is the new file):
/// MD5 keys and GTSM set again (setting a key replaces it), TCP-AO chains
/// reconciled (RFC 5925 §8.1). Keys of peers gone stay until restart;
/// their connections are refused at admission anyway.
pub(crate) fn rekey(shared: &Shared, config: &Config) {
    let Ok(sockets) = shared.listen_sockets.lock() else {
        return;
    };
    let now = SystemTime::now();
    let entries: Vec<(IpNet, &AuthConfig)> = config
        .peers
        .iter()
        .map(|p| (IpNet::from(p.address), &p.session.auth))
        .chain(config.templates.iter().map(|t| (t.range, &t.session.auth)))
        .collect();
    for (sa, listener) in sockets.iter() {
        let family = ListenFamily::of(sa.ip());
        for (net, a) in &entries {
            let r = match (&a.ao, family.view(*net)) {
                (Some(ao), Some(seen)) => {
                    auth::ao_reconcile(listener, seen, ao, true, now).map(|_| ())
                }
                (Some(_), None) => Ok(()),
                (None, _) => auth::apply_listener(listener, family, [(*net, *a)], now),
            };
            if let Err(e) = r {
                tracing::warn!(listen = %sa, "reload: {e}");
            }
        }
    }
}

/// A listening socket on `sa` with the TCP-MD5/TCP-AO keys of every
/// static peer and template range of its family set before `listen()`
/// (accepted sockets inherit them).
fn bind(config: &Config, sa: SocketAddr) -> anyhow::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))
        .with_context(|| format!("cannot listen on {sa}"))?;
    socket.set_reuse_address(true)?;
    let entries = config
        .peers
        .iter()
        .map(|p| (IpNet::from(p.address), &p.session.auth))
        .chain(config.templates.iter().map(|t| (t.range, &t.session.auth)));
    auth::apply_listener(
        &socket,
        ListenFamily::of(sa.ip()),
        entries,
        SystemTime::now(),
    )
    .with_context(|| format!("listening socket {sa}"))?;
    socket
        .bind(&sa.into())
        .and_then(|()| socket.listen(1024))
        .with_context(|| format!("cannot listen on {sa}"))?;
    Ok(socket.into())
}

/// The auth settings that apply to a connection from `remote` (its static
/// peer's, else the first template whose range holds it).
fn auth_for(config: &Config, remote: IpAddr) -> Option<&AuthConfig> {
    let remote = remote.to_canonical();
    config
        .peers
        .iter()
        .find(|p| p.address == remote)
        .map(|p| &p.session.auth)
        .or_else(|| {
            config
                .templates
                .iter()
                .find(|t| t.range.contains(&remote))
                .map(|t| &t.session.auth)
        })
}

fn admit(shared: &Arc<Shared>, conn: TcpStream) {
    let Ok(remote) = conn.peer_addr() else { return };
    let config = shared.config();
    if let Some(a) = auth_for(&config, remote.ip())
        && let Err(e) = auth::apply_accepted(&conn, remote.ip(), a)
    {
        tracing::warn!("connection refused: {e}");
        return;
    }
    let verdict = shared.neighbors.lock().map(|mut n| n.admit(remote.ip()));
    match verdict {
        Ok(Ok(Match::Static(i))) => {
            let addr = config.peers.get(i).map(|p| p.address);
            if let Some(tx) = addr.and_then(|a| shared.peer_cmds(a)) {
                let _ = tx.try_send(SessionCmd::Incoming(conn));
            }
        }
        Ok(Ok(Match::Dynamic(t))) => {
            let Some(template) = config.templates.get(t) else {
                return;
            };
            // A dynamic neighbor with a session already (Established, or
            // away under graceful restart) gets the connection there, as
            // a static peer does; the slot just taken goes back.
            if let Some(tx) = shared.peer_cmds(remote.ip()) {
                if let Ok(mut n) = shared.neighbors.lock() {
                    n.release(&template.name);
                }
                let _ = tx.try_send(SessionCmd::Incoming(conn));
                return;
            }
            let Some(id) = shared.next_peer_id() else {
                return;
            };
            tracing::info!(peer = %remote.ip(), template = %template.name, "dynamic neighbor");
            let spec = PeerSpec {
                id,
                address: remote.ip(),
                remote_as: PeerAs::Range(template.remote_as.clone()),
                settings: template.session.clone(),
                template: Some(t),
                group: template.name.as_str().into(),
            };
            shared.spawn_peer(spec, Some(conn));
        }
        Ok(Err(refusal)) => {
            tracing::info!(peer = %remote.ip(), "connection refused: {refusal}");
        }
        Err(_) => {}
    }
}

impl Listeners {
    /// Stops accepting and joins the threads.
    pub(crate) fn stop(self) {
        self.stop.store(true, Ordering::Release);
        for (addr, listener, t) in self.threads {
            // Wake the blocking accept: shutdown(SHUT_RD) makes a Linux
            // listening socket's accept() fail. A connection to ourselves
            // would hang when a keyed template range covers our address.
            if socket2::SockRef::from(&listener)
                .shutdown(std::net::Shutdown::Read)
                .is_err()
            {
                let _ = TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1));
            }
            let _ = t.join();
        }
    }
}
