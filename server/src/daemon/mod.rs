//! The running daemon: worker threads (each a compio runtime with a RIB
//! shard and session tasks), accept threads, the control thread, signals.
//!
//! See docs/ARCHITECTURE.md for the map.

mod export;
mod group;
mod listener;
mod memory;
mod metrics;
mod mrt_dump;
mod originate;
mod peer;
mod policy;
mod query;
mod reload;
mod session;
mod shard;

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use async_channel::{Receiver, Sender};
use rampart_core::rib::{Interner, PeerId};

use crate::config::{Config, PolicyConfig};
use crate::control::{self, ControlServer, Request, Response};
use crate::io;
use crate::neighbors::NeighborTable;
use crate::rpki::Rpki;
use peer::{PeerSpec, PeerStatus};
use session::SessionCmd;
use shard::{Shard, ShardMsg};

/// Bound of each shard's inbox (batches): full inboxes stop the sessions'
/// reading, which pushes back on speakers through TCP.
const SHARD_INBOX: usize = 256;

/// State every worker and the control thread share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) local_as: u32,
    pub(crate) router_id: Ipv4Addr,
    pub(crate) cluster_id: Ipv4Addr,
    pub(crate) port: u16,
    /// Each shard's inbox (bounded: sessions wait for room).
    pub(crate) shards: Vec<Sender<ShardMsg>>,
    /// Each shard's link for messages from other shards (unbounded).
    pub(crate) shard_links: Vec<Sender<ShardMsg>>,
    pub(crate) neighbors: Mutex<NeighborTable>,
    /// The policy files in force (replaced by a reload).
    pub(crate) policy: std::sync::RwLock<Option<PolicyConfig>>,
    /// The configuration in force (replaced by a reload).
    config: Mutex<Arc<Config>>,
    /// Handles on the listening sockets, for keys set by a reload.
    pub(crate) listen_sockets: Mutex<Vec<(std::net::SocketAddr, std::net::TcpListener)>>,
    /// The server's own routes (`[[route]]`; a change needs a restart).
    pub(crate) originated: Arc<[originate::Originated]>,
    peers: Mutex<Vec<PeerHandle>>,
    /// Set on SIGTERM/SIGINT: a session that ends tells the shards nothing,
    /// since their tables go with the process (withdrawing a full table
    /// only to drop it spent CPU and delayed the exit: 0.42 s against
    /// 0.37 s from SIGTERM to exit with 1M paths).
    pub(crate) stopping: std::sync::atomic::AtomicBool,
    /// The ids of peers that come after start-up.
    peer_ids: Mutex<peer::PeerIds>,
    workers: Vec<Sender<WorkerMsg>>,
    /// Route origin validation: the VRPs of the `[[rpki-cache]]`s.
    pub(crate) rpki: Arc<Rpki>,
}

#[derive(Debug, Clone)]
struct PeerHandle {
    id: PeerId,
    status: Arc<PeerStatus>,
    cmds: Sender<SessionCmd>,
    /// Template name of a dynamic neighbor.
    template: Option<Arc<str>>,
}

/// Work for a worker thread.
#[derive(Debug)]
pub(crate) enum WorkerMsg {
    /// Run a session task for this peer.
    Spawn {
        spec: Box<PeerSpec>,
        status: Arc<PeerStatus>,
        cmds: (Sender<SessionCmd>, Receiver<SessionCmd>),
        first: Option<std::net::TcpStream>,
    },
    /// `show memory`: the worker's interned attribute sets.
    Memory(std::sync::mpsc::Sender<memory::InternMemory>),
    /// Leave the runtime.
    Stop,
}

impl Shared {
    /// Registers a peer and starts its session task on a worker chosen by
    /// its id; returns the command sender.
    pub(crate) fn spawn_peer(
        self: &Arc<Self>,
        spec: PeerSpec,
        first: Option<std::net::TcpStream>,
    ) -> Sender<SessionCmd> {
        let (tx, rx) = async_channel::unbounded();
        let status = Arc::new(PeerStatus::new(&spec));
        if let Ok(mut peers) = self.peers.lock() {
            peers.push(PeerHandle {
                id: spec.id,
                status: Arc::clone(&status),
                cmds: tx.clone(),
                template: spec.template.map(|_| Arc::clone(&spec.group)),
            });
        }
        let w = spec.id.get() as usize % self.workers.len().max(1);
        if let Some(worker) = self.workers.get(w) {
            let _ = worker.try_send(WorkerMsg::Spawn {
                spec: Box::new(spec),
                status,
                cmds: (tx.clone(), rx),
                first,
            });
        }
        tx
    }

    /// An id for a peer that comes after start-up (static peers take 0..n
    /// at start): the next one in turn that no peer holds (see
    /// [`peer::PeerIds`]); `None` when every id is in use.
    pub(crate) fn next_peer_id(&self) -> Option<PeerId> {
        let peers = self.peers.lock().ok()?;
        let mut ids = self.peer_ids.lock().ok()?;
        ids.take(|id| peers.iter().any(|p| p.id == id))
    }

    /// Drops a peer that no longer exists (a dynamic neighbor whose session
    /// ended) from the registry.
    pub(crate) fn forget_peer(&self, id: PeerId) {
        if let Ok(mut peers) = self.peers.lock() {
            peers.retain(|p| p.id != id);
        }
    }

    /// The configuration in force.
    pub(crate) fn config(&self) -> Arc<Config> {
        self.config
            .lock()
            .map_or_else(|e| Arc::clone(&e.into_inner()), |c| Arc::clone(&c))
    }

    fn set_config(&self, config: Arc<Config>) {
        if let Ok(mut c) = self.config.lock() {
            *c = config;
        }
    }

    /// A snapshot of the peer registry.
    fn handles(&self) -> Vec<PeerHandle> {
        self.peers.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Sets a reloaded config's keys on the listening sockets.
    fn rekey_listeners(&self, config: &Config) {
        listener::rekey(self, config);
    }

    fn peer_cmds(&self, addr: IpAddr) -> Option<Sender<SessionCmd>> {
        let peers = self.peers.lock().ok()?;
        peers
            .iter()
            .find(|p| p.status.address == addr)
            .map(|p| p.cmds.clone())
    }
}

struct ControlHandler(Arc<Shared>);

/// How long `show routes` waits for each shard, seconds.
const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

impl ControlHandler {
    fn peer_command(&self, peer: IpAddr, cmd: SessionCmd, done: &str) -> Response {
        match self.0.peer_cmds(peer) {
            Some(tx) if tx.try_send(cmd).is_ok() => Response::ok(done),
            Some(_) => Response::error(format!("peer {peer}: session task is gone")),
            None => Response::error(format!("no peer {peer}")),
        }
    }

    fn show_routes(
        &self,
        prefix: Option<&str>,
        longest_match: bool,
        peer: Option<IpAddr>,
        table: control::Table,
        limit: Option<usize>,
    ) -> Response {
        let which = match prefix {
            None => query::Which::All,
            Some(text) => match query::parse_prefix(text) {
                Some(p) if longest_match => query::Which::Longest(p),
                Some(p) => query::Which::Exact(p),
                None => return Response::error(format!("not a prefix or address: {text:?}")),
            },
        };
        let peer_id = match peer {
            None if table == control::Table::Out => {
                return Response::error("table out needs a peer (the one routes go to)");
            }
            None => None,
            Some(addr) => match self.0.handles().iter().find(|h| h.status.address == addr) {
                Some(h) => Some(h.id),
                None => return Response::error(format!("no peer {addr}")),
            },
        };
        let limit = limit.unwrap_or(1000);
        let answers = ask_each(&self.0.shards, "a RIB shard", |reply| {
            ShardMsg::Query(Box::new(query::RouteQuery {
                which,
                table,
                peer: peer_id,
                limit,
                reply,
            }))
        });
        let mut rows: Vec<query::RouteRow> = match answers {
            Ok(a) => a.into_iter().flatten().collect(),
            Err(e) => return Response::error(e),
        };
        if let query::Which::Longest(_) = which {
            // Each shard answered with its own longest match.
            let longest = rows.iter().map(|r| r.key.len()).max();
            rows.retain(|r| Some(r.key.len()) == longest);
        }
        rows.sort_by(|a, b| a.key.cmp(&b.key).then(b.best.cmp(&a.best)));
        rows.truncate(limit);
        Response::ok(rows)
    }
}

impl ControlHandler {
    /// `show peers`: each peer's status, with the paths every shard holds
    /// from it.
    fn show_peers(&self) -> Response {
        match self.peer_rows() {
            Ok(rows) => Response::ok(rows),
            Err(e) => Response::error(e),
        }
    }

    /// Every peer's `show peers` row, with the paths every shard holds
    /// from it.
    fn peer_rows(&self) -> Result<Vec<peer::PeerRow>, String> {
        let counts = ask_each(&self.0.shards, "a RIB shard", ShardMsg::PeerCounts)?;
        let mut sums: std::collections::HashMap<PeerId, peer::PathCounts> =
            std::collections::HashMap::new();
        for (peer, c) in counts.into_iter().flatten() {
            *sums.entry(peer).or_default() += c;
        }
        Ok(self
            .0
            .handles()
            .iter()
            .map(|h| h.status.row(sums.get(&h.id).copied().unwrap_or_default()))
            .collect())
    }

    /// `show memory`: every shard's tables and every worker's interned
    /// sets, summed.
    fn show_memory(&self) -> Response {
        match self.memory_report() {
            Ok(m) => Response::ok(m),
            Err(e) => Response::error(e),
        }
    }

    fn memory_report(&self) -> Result<memory::MemoryReport, String> {
        let tables = ask_each(&self.0.shards, "a RIB shard", ShardMsg::Memory)?;
        let sets = ask_each(&self.0.workers, "a worker", WorkerMsg::Memory)?;
        let tables = tables
            .into_iter()
            .fold(memory::ShardMemory::default(), |mut sum, m| {
                sum += m;
                sum
            });
        let sets = memory::InternMemory {
            sets: sets.iter().map(|m| m.sets).sum(),
            bytes: sets.iter().map(|m| m.bytes).sum(),
        };
        Ok(memory::MemoryReport::new(tables, sets))
    }

    /// The OpenMetrics text of `[global] metrics-listen`: the peers, the
    /// tables and RPKI; a peer list the shards did not answer for is
    /// reported without path counts.
    fn metrics(&self) -> String {
        let peers = self.peer_rows().unwrap_or_else(|e| {
            tracing::warn!("metrics: {e}");
            Vec::new()
        });
        let memory = self.memory_report().ok();
        metrics::render(&peers, memory.as_ref(), &self.0.rpki.status())
    }
}

fn ask_each<M, T>(
    to: &[Sender<M>],
    who: &str,
    make: impl Fn(std::sync::mpsc::Sender<T>) -> M,
) -> Result<Vec<T>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    for task in to {
        if task.send_blocking(make(tx.clone())).is_err() {
            return Err(format!("{who} is gone"));
        }
    }
    drop(tx);
    (0..to.len())
        .map(|_| {
            rx.recv_timeout(QUERY_TIMEOUT)
                .map_err(|_| format!("{who} did not answer in time"))
        })
        .collect()
}

impl control::Handler for ControlHandler {
    fn handle(&self, request: Request) -> Response {
        match request {
            Request::ShowPeers => self.show_peers(),
            Request::ShowRoutes {
                prefix,
                longest_match,
                peer,
                table,
                limit,
            } => self.show_routes(prefix.as_deref(), longest_match, peer, table, limit),
            Request::ShowMemory => self.show_memory(),
            Request::ShowRpki => Response::ok(self.0.rpki.status()),
            Request::DumpMrt { file } => match mrt_dump::dump(&self.0, &file) {
                Ok(r) => Response::ok(r),
                Err(e) => Response::error(e),
            },
            Request::Reload => match reload::reload(&self.0) {
                Ok(report) => Response::ok(report),
                Err(e) => {
                    Response::error(format!("reload refused, running configuration kept: {e}"))
                }
            },
            Request::PeerDisable { peer } => {
                self.peer_command(peer, SessionCmd::Disable, "disabled")
            }
            Request::PeerEnable { peer } => self.peer_command(peer, SessionCmd::Enable, "enabled"),
            Request::PeerReset { peer } => self.peer_command(peer, SessionCmd::Reset, "reset"),
            Request::RouteRefresh { peer } => {
                self.peer_command(peer, SessionCmd::Refresh, "route refresh requested")
            }
        }
    }
}

/// Runs the daemon on `config` until SIGTERM or SIGINT.
///
/// # Errors
/// When a worker runtime, a listener or the control socket cannot be set
/// up.
pub fn run(config: Config) -> anyhow::Result<()> {
    let g = &config.global;
    let backend = io::requested(g.io_backend)?;
    let n = g.workers.max(1);
    let mut shard_txs = Vec::with_capacity(n);
    let mut shard_rxs = Vec::with_capacity(n);
    let mut link_txs = Vec::with_capacity(n);
    let mut worker_txs = Vec::with_capacity(n);
    let mut worker_rxs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = async_channel::bounded(SHARD_INBOX);
        let (link, links) = async_channel::unbounded();
        shard_txs.push(tx);
        link_txs.push(link);
        shard_rxs.push((rx, links));
        let (tx, rx) = async_channel::unbounded();
        worker_txs.push(tx);
        worker_rxs.push(rx);
    }
    // A change of the VRPs in force goes to every shard, which validates
    // the routes it covers again.
    let links = link_txs.clone();
    let rpki = Rpki::start(
        &config.rpki_caches,
        g.local_as,
        Box::new(move |changed| {
            for tx in &links {
                let _ = tx.try_send(ShardMsg::Revalidate(Arc::clone(&changed)));
            }
        }),
    )
    .context("RPKI client thread")?;
    let shared = Arc::new(Shared {
        local_as: g.local_as,
        router_id: g.router_id,
        cluster_id: g.cluster_id,
        port: g.port,
        shards: shard_txs,
        shard_links: link_txs,
        neighbors: Mutex::new(NeighborTable::new(&config)),
        policy: std::sync::RwLock::new(config.policy.clone()),
        config: Mutex::new(Arc::new(config.clone())),
        originated: originate::routes(&config).into(),
        listen_sockets: Mutex::new(Vec::new()),
        peers: Mutex::new(Vec::new()),
        stopping: std::sync::atomic::AtomicBool::new(false),
        peer_ids: Mutex::new(peer::PeerIds::new(
            u32::try_from(config.peers.len())?,
            peer::PEER_ID_END,
        )),
        workers: worker_txs,
        rpki,
    });
    let mut threads = Vec::with_capacity(n);
    for (k, (shard_rx, worker_rx)) in shard_rxs.into_iter().zip(worker_rxs).enumerate() {
        threads.push(start_worker(
            k,
            backend,
            Arc::clone(&shared),
            shard_rx,
            worker_rx,
        )?);
    }
    for (i, p) in config.peers.iter().enumerate() {
        let id = PeerId::new(u32::try_from(i)?).context("too many peers")?;
        shared.spawn_peer(PeerSpec::for_static(id, p), None);
    }
    let listeners = listener::start(&config, &shared)?;
    let control = ControlServer::start(
        &g.control_socket,
        Arc::new(ControlHandler(Arc::clone(&shared))),
    )
    .with_context(|| format!("control socket {}", g.control_socket.display()))?;
    if let Some(d) = &g.mrt_dump {
        mrt_dump::start_periodic(Arc::clone(&shared), d.clone()).context("MRT dump thread")?;
    }
    let metrics = match g.metrics_listen {
        Some(addr) => {
            let handler = ControlHandler(Arc::clone(&shared));
            let server = metrics::MetricsServer::start(addr, move || handler.metrics())
                .with_context(|| format!("metrics-listen {addr}"))?;
            Some(server)
        }
        None => None,
    };
    tracing::info!(workers = n, peers = config.peers.len(), "rampartd running");

    wait_for_stop_signal(&shared);
    tracing::info!("shutting down: Cease/Administrative Shutdown to every peer");
    shared
        .stopping
        .store(true, std::sync::atomic::Ordering::Relaxed);
    if let Ok(peers) = shared.peers.lock() {
        for p in peers.iter() {
            let _ = p.cmds.try_send(SessionCmd::Stop);
        }
    }
    // Give sessions a moment to write their NOTIFICATIONs.
    std::thread::sleep(Duration::from_millis(300));
    listeners.stop();
    control.stop();
    if let Some(m) = metrics {
        m.stop();
    }
    for w in &shared.workers {
        let _ = w.try_send(WorkerMsg::Stop);
    }
    // The links: unbounded, so a full inbox cannot lose the Stop.
    for tx in &shared.shard_links {
        let _ = tx.try_send(ShardMsg::Stop);
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

fn start_worker(
    k: usize,
    backend: crate::config::IoBackend,
    shared: Arc<Shared>,
    (shard_rx, links): (Receiver<ShardMsg>, Receiver<ShardMsg>),
    inbox: Receiver<WorkerMsg>,
) -> anyhow::Result<JoinHandle<()>> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let t = std::thread::Builder::new()
        .name(format!("worker-{k}"))
        .spawn(move || {
            let (rt, kind) = match io::runtime(backend) {
                Ok(r) => {
                    let _ = ready_tx.send(Ok(r.1));
                    r
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            tracing::debug!(worker = k, backend = %kind, "worker started");
            rt.block_on(async move {
                let shard = Shard::new(k, &shared);
                compio::runtime::spawn(shard.run(shard_rx, links)).detach();
                let interner = Rc::new(RefCell::new(Interner::new()));
                compio::runtime::spawn(collect_sets(Rc::clone(&interner))).detach();
                while let Ok(msg) = inbox.recv().await {
                    match msg {
                        WorkerMsg::Spawn {
                            spec,
                            status,
                            cmds,
                            first,
                        } => {
                            let task = session::run_peer(
                                *spec,
                                status,
                                Arc::clone(&shared),
                                Rc::clone(&interner),
                                cmds,
                                first,
                            );
                            compio::runtime::spawn(task).detach();
                        }
                        WorkerMsg::Memory(reply) => {
                            // No session holds the interner across an
                            // await; `try_borrow` keeps that from being a
                            // panic if one ever did.
                            let m = interner.try_borrow().map_or_else(
                                |_| memory::InternMemory::default(),
                                |i| memory::InternMemory {
                                    sets: i.len(),
                                    bytes: i.heap_bytes(),
                                },
                            );
                            let _ = reply.send(m);
                        }
                        WorkerMsg::Stop => break,
                    }
                }
            });
        })?;
    let backend = ready_rx.recv().context("worker thread died")??;
    if k == 0 {
        tracing::info!(%backend, "I/O backend");
    }
    Ok(t)
}

/// How often a worker drops the attribute sets no path holds any more.
const SET_GC_EVERY: Duration = Duration::from_secs(10);

/// Collects the worker's unused attribute sets every [`SET_GC_EVERY`]:
/// the interner collects by itself only as it grows, so without this the
/// sets of a full table whose session went down would stay until as many
/// new ones came. A pass reads one reference count per set: about 5 ms
/// for 300k sets (release build, sets allocated one after another).
async fn collect_sets(interner: Rc<RefCell<Interner>>) {
    loop {
        compio::time::sleep(SET_GC_EVERY).await;
        // No session holds the interner across an await.
        if let Ok(mut i) = interner.try_borrow_mut() {
            let dropped = i.gc();
            if dropped > 0 {
                tracing::debug!(dropped, left = i.len(), "attribute sets collected");
            }
        }
    }
}

/// Returns `Pending` once, so the worker runs its other tasks (sessions,
/// writers, timers, I/O completions) before this task goes on.
///
/// A task whose channel is always ready never yields by itself, and the
/// compio executor has no cooperative budget: a shard fed from another
/// worker would otherwise keep its whole worker, and the sessions there
/// would send no KEEPALIVE until their peers' hold timers expire.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

/// Waits for SIGTERM or SIGINT; SIGHUP reloads the configuration
/// meanwhile.
fn wait_for_stop_signal(shared: &Arc<Shared>) {
    let Ok((rt, _)) = io::runtime(crate::config::IoBackend::Epoll) else {
        // Without a runtime for signals, park until killed.
        loop {
            std::thread::park();
        }
    };
    rt.block_on(async {
        use futures_util::FutureExt;
        loop {
            let term = compio::signal::unix::signal(15).fuse();
            let int = compio::signal::ctrl_c().fuse();
            let hup = compio::signal::unix::signal(1).fuse();
            let mut term = std::pin::pin!(term);
            let mut int = std::pin::pin!(int);
            let mut hup = std::pin::pin!(hup);
            futures_util::select! {
                _ = term => break,
                _ = int => break,
                _ = hup => {
                    if let Err(e) = reload::reload(shared) {
                        tracing::error!("reload refused, running configuration kept: {e}");
                    }
                }
            }
        }
    });
}
