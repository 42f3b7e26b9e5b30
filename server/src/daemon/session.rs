//! One peer's session task: drives the sans-IO FSM from a socket, feeds
//! received routes to the shards and writes what the shards send back.
//!
//! ```text
//!  reader task ──frames──> session loop (FSM, decode, batches) ──> shards
//!  writer task <──control (OPEN, KEEPALIVE, NOTIFICATION)── session loop
//!              <──packed UPDATEs (credit-limited)────────── shards
//! ```
//!
//! Reading stops while the shards' inboxes are full (the batch send waits),
//! which pushes back on the speaker through TCP. Keepalives are written by
//! the writer ahead of queued UPDATEs.

use std::cell::RefCell;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use bytes::{Bytes, BytesMut};
use compio::io::AsyncWriteExt;
use compio::net::TcpStream;
use futures_util::{FutureExt, select_biased};
use rampart_core::cap::Capability;
use rampart_core::fsm::collision::{self, Initiator, Speaker};
use rampart_core::fsm::{Action, DownReason, Event, Session, SessionConfig, State};
use rampart_core::iana::{ErrorCode, MsgType, cease};
use rampart_core::msg::update::{NlriIter, Treatment, Update};
use rampart_core::msg::{Message, MessageError, Notification, header};
use rampart_core::nlri::{AfiSafi, Nlri};
use rampart_core::rib::{AttrSet, Interner, PeerInfo, SessionKind};
use rampart_core::{DecodeCtx, EncodeCtx};

use super::Shared;
use super::peer::{PeerSpec, PeerStatus, StalePaths};
use super::policy::peer_policy;
use super::shard::{Change, GroupKey, OutMsg, PeerPolicy, PeerUp, ShardMsg, shard_of};
use crate::config::{AddPathMode, Family, MaxPrefixAction, Role};

mod socket;

use socket::{Writer, connect, read_first_message, read_frames};

/// How long the writer may take to flush a closing connection.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// Inputs (the messages of one socket read each, mostly: up to 64 KiB) a
/// session takes in one turn of its loop: the route changes of all their
/// UPDATEs go to each shard as one message at the end of the turn (or
/// every [`PENDING_CHANGES`]).
const INPUT_BURST: usize = 4;

/// Inputs the reader task may queue ahead of the session loop: a few
/// socket reads.
const INPUT_QUEUE: usize = 8;

/// Route changes a session holds before it sends them to the shards
/// within a turn: about one socket read of UPDATEs.
const PENDING_CHANGES: usize = 2048;

/// Commands to a session task.
#[derive(Debug)]
pub(crate) enum SessionCmd {
    /// A connection from this peer was accepted.
    Incoming(std::net::TcpStream),
    /// Stop the session for good (Cease/Administrative Shutdown): the
    /// daemon is shutting down.
    Stop,
    /// Bring the session down (Cease/Administrative Shutdown) and keep it
    /// down until [`SessionCmd::Enable`]; a dynamic neighbor just ends.
    Disable,
    /// Let a disabled static peer start again.
    Enable,
    /// Cease/Administrative Reset (RFC 4486 §4), then start again at once
    /// (a dynamic neighbor ends; it may reconnect).
    Reset,
    /// The peer left the configuration (Cease/Peer De-configured) or its
    /// session settings changed (Cease/Other Configuration Change, RFC 4486
    /// §4): the task ends with a Cease of this subcode.
    Deconfigure { subcode: u8 },
    /// A reload changed settings the live session takes: the new
    /// settings, and whether its filters (or the policy files) changed,
    /// for the shards to run the new import and export. A new max-prefix
    /// limit goes to the shards too.
    Reconfigure {
        settings: Box<crate::config::SessionSettings>,
        filters: bool,
    },
    /// Ask the peer to resend its routes: ROUTE-REFRESH for every
    /// negotiated family (RFC 2918 §3).
    Refresh,
    /// A shard saw the peer cross its max-prefix limit in `family`
    /// (`None`: a reload lowered the limit below what the peer holds).
    MaxPrefix { family: Option<AfiSafi> },
}

/// Inputs of the session loop from its helper tasks, tagged with the
/// connection generation so stale ones are ignored.
enum Input {
    Connected(u64, io::Result<TcpStream>),
    /// A second connection from the peer and the first message it sent
    /// on it (its OPEN), read while the session's own connection is in
    /// OpenSent or OpenConfirm: a collision to resolve (RFC 4271 §6.8).
    Candidate(io::Result<(TcpStream, Bytes)>),
    /// The messages one socket read completed, in order.
    Frames(u64, Vec<Bytes>),
    Closed(u64, String),
}

/// Messages to a connection's writer task, ahead of UPDATEs.
enum WriterMsg {
    /// An encoded OPEN, KEEPALIVE, NOTIFICATION or ROUTE-REFRESH.
    Raw(Bytes),
    /// The session is Established with this encoding: End-of-RIB markers
    /// for `families` follow the shards' initial tables.
    Established {
        encode: EncodeCtx,
        families: Vec<AfiSafi>,
    },
    /// The peer asked for a family again: the shards walk its
    /// Adj-RIB-Out once more, as walk number `walk`. With enhanced route
    /// refresh (RFC 7313 §4), `demarcation` is the BoRR to write now and
    /// the EoRR to write once every shard has sent the walk.
    RefreshBegin {
        walk: u64,
        demarcation: Option<(Bytes, Bytes)>,
    },
}

/// What the session negotiated that its update group depends on.
#[derive(Debug, Clone)]
struct GroupCaps {
    four_octet_as: bool,
    extended_message: bool,
    families: Vec<AfiSafi>,
    add_path_send: Vec<AfiSafi>,
}

struct Conn {
    generation: u64,
    stream: TcpStream,
    control: Sender<WriterMsg>,
    out: Sender<OutMsg>,
    max_len: Arc<AtomicUsize>,
}

/// Runs one peer until it is stopped (static peers) or its session ends
/// (dynamic neighbors).
pub(crate) async fn run_peer(
    spec: PeerSpec,
    status: Arc<PeerStatus>,
    shared: Arc<Shared>,
    interner: Rc<RefCell<Interner>>,
    (cmds_tx, cmds): (Sender<SessionCmd>, Receiver<SessionCmd>),
    first: Option<std::net::TcpStream>,
) {
    let mut s = Driver::new(spec, status, shared, interner, cmds_tx);
    let (input_tx, inputs) = async_channel::bounded::<Input>(INPUT_QUEUE);
    s.inputs = Some(input_tx);
    let now = Instant::now();
    if let Some(stream) = first {
        s.fsm.handle(now, Event::AutomaticStart { passive: true });
        s.adopt(stream);
    } else {
        s.fsm.handle(now, Event::ManualStart);
    }
    loop {
        s.apply_actions().await;
        if s.finished {
            break;
        }
        let deadline = s.deadline();
        let timer = async move {
            match deadline {
                Some(d) => compio::time::sleep_until(d).await,
                None => futures_util::future::pending().await,
            }
        };
        let mut timer = pin!(timer.fuse());
        let mut cmd = pin!(cmds.recv().fuse());
        let mut input = pin!(inputs.recv().fuse());
        select_biased! {
            c = cmd => match c {
                Ok(c) => s.command(c).await,
                Err(_) => s.stop(),
            },
            i = input => {
                if let Ok(i) = i {
                    s.input(i).await;
                }
                // The inputs already queued join this turn (each with the
                // FSM's actions applied before the next), so that their
                // route changes reach each shard as one message.
                for _ in 1..INPUT_BURST {
                    s.apply_actions().await;
                    if s.finished {
                        break;
                    }
                    let Ok(i) = inputs.try_recv() else {
                        break;
                    };
                    s.input(i).await;
                }
                s.send_routes().await;
                // A stream of frames must not hold the timers back: the
                // peer's hold timer runs on our KEEPALIVEs. The frames just
                // handled restarted our hold timer, so only what is due
                // (the keepalive above all) fires.
                let now = Instant::now();
                if s.deadline().is_some_and(|d| d <= now) {
                    s.timeout(now).await;
                }
            },
            () = timer => s.timeout(Instant::now()).await,
        }
    }
    s.close();
}

struct Driver {
    spec: PeerSpec,
    status: Arc<PeerStatus>,
    shared: Arc<Shared>,
    interner: Rc<RefCell<Interner>>,
    fsm: Session,
    conn: Option<Conn>,
    generation: u64,
    inputs: Option<Sender<Input>>,
    decode: DecodeCtx,
    encode: EncodeCtx,
    established: bool,
    stopping: bool,
    finished: bool,
    /// When a max-prefix `restart` lets the session start again.
    restart_at: Option<Instant>,
    /// The peer's graceful restart capability from the last Established.
    remote_gr: Option<rampart_core::cap::GracefulRestart>,
    /// Graceful restart in progress: the stale paths go when this passes
    /// before the session is back (RFC 4724 §4.2 Restart Time).
    gr_deadline: Option<Instant>,
    /// Families whose paths are stale under graceful restart: those of
    /// the session that went down, then, once the peer is back, those it
    /// still owes End-of-RIB for (RFC 4724 §4.2).
    stale_families: Vec<AfiSafi>,
    /// When the stale paths of a peer that came back go even without its
    /// End-of-RIB (`refresh-stale-time` after Established; RFC 4724 §4.2
    /// leaves the wait to the implementation).
    stale_due: Option<Instant>,
    /// Families disabled for the rest of the session after a malformed
    /// MP_REACH/MP_UNREACH_NLRI (RFC 7606 §2, RFC 4760 §7).
    disabled: Vec<AfiSafi>,
    /// iBGP or eBGP, set when the session is established.
    kind: SessionKind,
    /// The cmds sender of this session, handed to shards for reports.
    cmds: Sender<SessionCmd>,
    /// Set at Established: what the update group key needs.
    negotiated: Option<GroupCaps>,
    /// The peer advertised ROUTE-REFRESH (RFC 2918).
    peer_route_refresh: bool,
    /// Enhanced route refresh negotiated (RFC 7313 §3).
    peer_enhanced_rr: bool,
    /// Route refreshes the peer asked for: numbers the shards' walks.
    refresh_walks: u64,
    /// The peer's enhanced route refreshes under way: per family, when its
    /// EoRR is due (BoRR + `refresh-stale-time`, RFC 7313 §4).
    refresh_due: Vec<(AfiSafi, Instant)>,
    /// Who opened the current connection (collision resolution).
    initiator: Initiator,
    /// Route changes decoded but not yet sent, one list per shard; sent
    /// at the end of a turn of the session's loop, at
    /// [`PENDING_CHANGES`], and before any other message to the shards,
    /// so the shards see this session's messages in the order it made
    /// them.
    pending: Vec<Vec<Change>>,
}

impl Driver {
    fn new(
        spec: PeerSpec,
        status: Arc<PeerStatus>,
        shared: Arc<Shared>,
        interner: Rc<RefCell<Interner>>,
        cmds: Sender<SessionCmd>,
    ) -> Self {
        let fsm = Session::new(session_config(&spec, &shared));
        Self {
            spec,
            status,
            shared,
            interner,
            fsm,
            conn: None,
            generation: 0,
            inputs: None,
            decode: DecodeCtx::legacy(),
            encode: EncodeCtx::legacy(),
            established: false,
            stopping: false,
            finished: false,
            restart_at: None,
            remote_gr: None,
            gr_deadline: None,
            stale_families: Vec::new(),
            stale_due: None,
            disabled: Vec::new(),
            kind: SessionKind::Ebgp,
            cmds,
            negotiated: None,
            peer_route_refresh: false,
            peer_enhanced_rr: false,
            refresh_walks: 0,
            refresh_due: Vec::new(),
            initiator: Initiator::Local,
            pending: Vec::new(),
        }
    }

    /// The earliest deadline of the FSM's timers and the driver's own
    /// (max-prefix restart, graceful restart, a missing End-of-RIB or EoRR).
    fn deadline(&self) -> Option<Instant> {
        let refresh = self.refresh_due.iter().map(|&(_, t)| t).min();
        [
            self.fsm.poll_timeout(),
            self.restart_at,
            self.gr_deadline,
            self.stale_due,
            refresh,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    async fn timeout(&mut self, now: Instant) {
        if self.gr_deadline.is_some_and(|t| t <= now) {
            // RFC 4724 §4.2: "If the session does not get re-established
            // within the 'Restart Time' ... the Receiving Speaker MUST
            // delete all the stale routes from the peer".
            self.drop_stale_paths("graceful restart timed out").await;
            // A dynamic neighbor that did not come back is forgotten.
            if self.spec.template.is_some() {
                self.finished = true;
            }
        }
        if self.stale_due.is_some_and(|t| t <= now) {
            self.stale_due = None;
            tracing::warn!(peer = %self.peer(), families = ?self.stale_families, "no End-of-RIB within refresh-stale-time after a graceful restart; stale paths removed");
            self.sweep_stale(|_| true).await;
        }
        let (late, due): (Vec<_>, Vec<_>) = std::mem::take(&mut self.refresh_due)
            .into_iter()
            .partition(|&(_, t)| t <= now);
        self.refresh_due = due;
        for (family, _) in late {
            // RFC 7313 §4 leaves a missing EoRR to the implementation: the
            // refresh ends as if it had come (FRR's stalepath-time).
            tracing::warn!(peer = %self.peer(), %family, "no EoRR within refresh-stale-time; paths not sent again removed");
            self.broadcast(|peer| ShardMsg::RefreshEnd { peer, family })
                .await;
        }
        if self.restart_at.is_some_and(|t| t <= now) {
            self.restart_at = None;
            self.fsm.handle(now, Event::ManualStart);
        }
        self.fsm.handle_timeout(now);
    }

    /// The peer holds more prefixes than its limit: Cease/Maximum Number of
    /// Prefixes Reached, whose Data is AFI, SAFI and the limit (RFC 4486
    /// §4), then stay down (`shutdown`) or come back after `restart-after`.
    /// `family` is the one whose prefix crossed the limit; without one (a
    /// reload lowered it), the first negotiated. Only once per session:
    /// several shards may report the crossing.
    fn max_prefix(&mut self, family: Option<AfiSafi>) {
        let Some(max) = self.spec.settings.max_prefix else {
            return;
        };
        if !self.established || self.fsm.state() != State::Established {
            return;
        }
        let family = family
            .or_else(|| self.negotiated.as_ref()?.families.first().copied())
            .unwrap_or(AfiSafi::IPV4_UNICAST);
        tracing::warn!(peer = %self.peer(), limit = max.limit, "max-prefix limit reached");
        self.status
            .set_error(format!("max-prefix {} reached", max.limit));
        let mut data = Vec::with_capacity(7);
        data.extend_from_slice(&u16::from(family.afi).to_be_bytes());
        data.push(u8::from(family.safi));
        data.extend_from_slice(&max.limit.to_be_bytes());
        let n = Notification::new(ErrorCode::Cease, cease::MAX_PREFIXES, data);
        let now = Instant::now();
        // A stop without the FSM's automatic restart: the configured
        // action decides whether and when the session comes back.
        self.fsm.handle(now, Event::ManualStopWith(n));
        if max.action == MaxPrefixAction::Restart {
            let secs = max.restart_after.unwrap_or(60);
            self.restart_at = Some(now + Duration::from_secs(secs.into()));
        } else if self.spec.template.is_some() {
            self.finished = true;
        }
    }

    fn peer(&self) -> IpAddr {
        self.spec.address
    }

    /// Makes `stream` this session's connection and starts its reader and
    /// writer tasks.
    fn adopt(&mut self, stream: std::net::TcpStream) {
        match stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream))
        {
            Ok(stream) => {
                self.attach(stream);
                self.initiator = Initiator::Remote;
                self.fsm
                    .handle(Instant::now(), Event::TcpConnectionConfirmed);
            }
            Err(e) => tracing::warn!(peer = %self.peer(), "cannot use accepted socket: {e}"),
        }
    }

    fn attach(&mut self, stream: TcpStream) {
        self.close_conn();
        self.generation += 1;
        let _ = stream.set_nodelay(true);
        let (control, control_rx) = async_channel::unbounded::<WriterMsg>();
        // Unbounded, but each shard has at most CREDITS batches in flight.
        let (out, out_rx) = async_channel::unbounded::<OutMsg>();
        let max_len = Arc::new(AtomicUsize::new(rampart_core::ctx::MAX_MESSAGE_LEN));
        if let Some(inputs) = self.inputs.clone() {
            let (r, w) = stream.clone().into_split();
            let reader = read_frames(r, self.generation, Arc::clone(&max_len), inputs.clone());
            compio::runtime::spawn(reader).detach();
            let writer = Writer {
                stream: w,
                generation: self.generation,
                inputs,
                shared: Arc::clone(&self.shared),
                status: Arc::clone(&self.status),
                eor: None,
                walked: vec![false; self.shared.shards.len()],
                walk: 0,
                eorr: Vec::new(),
            };
            compio::runtime::spawn(writer.run(control_rx, out_rx)).detach();
        }
        self.status.set_conn(Some(&stream));
        self.conn = Some(Conn {
            generation: self.generation,
            stream,
            control,
            out,
            max_len,
        });
    }

    /// Ends the connection: the writer sends what is queued (a
    /// NOTIFICATION, typically) and then shuts the socket down.
    fn close_conn(&mut self) {
        if let Some(c) = self.conn.take() {
            self.status.set_conn(None::<&TcpStream>);
            c.control.close();
            c.out.close();
            // A peer that stopped reading must not hold the socket open.
            compio::runtime::spawn(async move {
                compio::time::sleep(CLOSE_GRACE).await;
                let _ = socket2::SockRef::from(&c.stream).shutdown(std::net::Shutdown::Both);
            })
            .detach();
        }
    }

    async fn incoming(&mut self, stream: std::net::TcpStream) {
        match self.fsm.state() {
            State::Connect | State::Active => self.adopt(stream),
            // RFC 4724 §4.2 helper mode, as FRR and BIRD have it: a new
            // connection from a peer that negotiated graceful restart, while
            // its session is Established, is that peer back from a restart
            // whose old connection never told us it ended. The old session
            // ends as if its TCP connection had failed (its paths stay, as
            // stale) and the new connection is taken.
            State::Established if self.graceful_restart_applies(&DownReason::TcpFailed) => {
                tracing::info!(peer = %self.peer(), "new connection while Established: the peer restarted");
                let now = Instant::now();
                self.fsm.handle(now, Event::TcpConnectionFails);
                self.apply_actions().await;
                self.fsm
                    .handle(now, Event::AutomaticStart { passive: true });
                self.adopt(stream);
            }
            // RFC 4271 §6.8: a connection collision with an Established
            // session "causes closing of the newly created connection".
            State::Established | State::Idle => {
                tracing::info!(peer = %self.peer(), "refusing a second connection");
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
            // OpenSent / OpenConfirm: read the OPEN on the new connection,
            // then decide with the BGP identifiers.
            _ => {
                let Some(inputs) = self.inputs.clone() else {
                    return;
                };
                compio::runtime::spawn(async move {
                    let res = read_first_message(stream).await;
                    let _ = inputs.send(Input::Candidate(res)).await;
                })
                .detach();
            }
        }
    }

    /// Settles a connection collision (RFC 4271 §6.8, RFC 6286 §2.3): the
    /// connection opened by the speaker with the higher BGP Identifier (AS
    /// on a tie) stays; the other gets Cease/Connection Collision
    /// Resolution (RFC 4486).
    async fn collision(&mut self, mut stream: TcpStream, open_frame: Bytes) {
        let now = Instant::now();
        let body = open_frame.get(header::HEADER_LEN..).unwrap_or_default();
        let remote = match rampart_core::msg::Open::decode(body) {
            Ok(o) => Speaker {
                id: o.bgp_id,
                asn: o.asn(),
            },
            Err(_) => return,
        };
        let local = Speaker {
            id: self.shared.router_id,
            asn: self.shared.local_as,
        };
        let state = self.fsm.state();
        let Some(r) = collision::resolve(local, remote, self.initiator, state) else {
            // The existing connection went away meanwhile: take this one.
            if matches!(state, State::Connect | State::Active) {
                self.take_candidate(now, stream, open_frame).await;
            }
            return;
        };
        tracing::info!(peer = %self.peer(), ?state, keep = ?r.keep, "connection collision");
        if r.keep == self.initiator {
            let mut out = BytesMut::with_capacity(32);
            if Message::Notification(r.notification)
                .encode(&self.encode, &mut out)
                .is_ok()
            {
                let _ = stream.write_all(out.freeze()).await;
            }
            let _ = compio::io::AsyncWrite::shutdown(&mut stream).await;
            return;
        }
        self.fsm.handle(now, Event::OpenCollisionDump);
        self.apply_actions().await;
        self.fsm
            .handle(now, Event::AutomaticStart { passive: true });
        self.take_candidate(now, stream, open_frame).await;
    }

    /// Makes the collision's winning incoming connection this session's,
    /// with the OPEN already read from it.
    async fn take_candidate(&mut self, now: Instant, stream: TcpStream, open_frame: Bytes) {
        self.attach(stream);
        self.initiator = Initiator::Remote;
        self.fsm.handle(now, Event::TcpConnectionConfirmed);
        self.apply_actions().await;
        self.frame(now, open_frame).await;
    }

    fn stop(&mut self) {
        self.stopping = true;
        self.fsm.handle(
            Instant::now(),
            Event::ManualStop {
                communication: None,
            },
        );
    }

    async fn command(&mut self, c: SessionCmd) {
        let now = Instant::now();
        let dynamic = self.spec.template.is_some();
        match c {
            SessionCmd::Incoming(stream) => self.incoming(stream).await,
            SessionCmd::MaxPrefix { family } => self.max_prefix(family),
            SessionCmd::Stop => self.stop(),
            SessionCmd::Disable => {
                self.restart_at = None;
                self.stopping = dynamic;
                self.drop_stale_paths("disabled while away").await;
                self.fsm.handle(
                    now,
                    Event::ManualStop {
                        communication: None,
                    },
                );
                // A dynamic neighbor away under graceful restart: no Down
                // follows, so end here.
                self.finished |= dynamic && !self.established;
            }
            SessionCmd::Enable => {
                if !dynamic && self.fsm.state() == State::Idle {
                    self.restart_at = None;
                    self.fsm.handle(now, Event::ManualStart);
                }
            }
            SessionCmd::Reset => {
                self.stopping = dynamic;
                self.drop_stale_paths("reset while away").await;
                self.finished |= dynamic && !self.established;
                self.fsm.handle(
                    now,
                    Event::ManualStopWith(Notification::new(
                        ErrorCode::Cease,
                        cease::ADMIN_RESET,
                        Vec::new(),
                    )),
                );
                if !dynamic {
                    self.restart_at = Some(now);
                }
            }
            SessionCmd::Deconfigure { subcode } => {
                self.stopping = true;
                self.restart_at = None;
                self.drop_stale_paths("removed while away").await;
                let n = Notification::new(ErrorCode::Cease, subcode, Vec::new());
                self.fsm.handle(now, Event::ManualStopWith(n));
                // Idle already: no Down follows, so end here.
                if !self.established {
                    self.finished = true;
                }
            }
            SessionCmd::Reconfigure { settings, filters } => {
                let limit = settings.max_prefix;
                let old = std::mem::replace(&mut self.spec.settings, *settings);
                if old.max_prefix != limit {
                    self.push_limit().await;
                }
                if filters {
                    self.push_policy().await;
                }
            }
            SessionCmd::Refresh => self.request_refresh(),
        }
    }

    /// Sends the shards this Established session's filters and group key
    /// as they are now (after a reload).
    async fn push_policy(&mut self) {
        if !self.established {
            return;
        }
        self.send_routes().await;
        let Some((key, policy)) = self.group_and_policy() else {
            return;
        };
        for tx in &self.shared.shards {
            let msg = ShardMsg::Reconfigure {
                peer: self.spec.id,
                key: key.clone(),
                policy: Box::new(policy.clone()),
            };
            let _ = tx.send(msg).await;
        }
    }

    /// Sends the shards this Established session's max-prefix limit as it
    /// is now (after a reload), behind the route changes still pending.
    async fn push_limit(&mut self) {
        if !self.established {
            return;
        }
        let max_prefix = self.spec.settings.max_prefix;
        self.broadcast(|peer| ShardMsg::MaxPrefix { peer, max_prefix })
            .await;
    }

    /// ROUTE-REFRESH for every negotiated family, when the peer advertised
    /// the capability (RFC 2918 §4: "MUST NOT" otherwise).
    fn request_refresh(&mut self) {
        if !self.established || !self.peer_route_refresh {
            return;
        }
        let families = self
            .negotiated
            .as_ref()
            .map(|c| c.families.clone())
            .unwrap_or_default();
        for f in families {
            self.send(&Message::RouteRefresh(
                rampart_core::msg::RouteRefresh::normal(f),
            ));
        }
    }

    async fn input(&mut self, input: Input) {
        let now = Instant::now();
        match input {
            Input::Candidate(Ok((stream, open))) => self.collision(stream, open).await,
            Input::Candidate(Err(e)) => {
                tracing::debug!(peer = %self.peer(), "second connection gave no OPEN: {e}");
            }
            Input::Connected(g, res) if g == self.generation => match res {
                Ok(stream) => {
                    self.attach(stream);
                    self.initiator = Initiator::Local;
                    self.fsm.handle(now, Event::TcpCrAcked);
                }
                Err(e) => {
                    if e.get_ref()
                        .is_some_and(|i| i.is::<crate::auth::AuthError>())
                    {
                        // TCP-MD5/TCP-AO/GTSM could not be set (auth::apply_connect).
                        tracing::warn!(peer = %self.peer(), "connect refused: {e}");
                        self.status.set_error(e.to_string());
                    }
                    tracing::debug!(peer = %self.peer(), "connect failed: {e}");
                    self.fsm.handle(now, Event::TcpConnectionFails);
                }
            },
            Input::Frames(g, frames) => {
                for frame in frames {
                    // A message may end the connection (a NOTIFICATION,
                    // an error): what follows it is stale.
                    if self.finished || self.conn.as_ref().is_none_or(|c| c.generation != g) {
                        break;
                    }
                    self.frame(now, frame).await;
                    self.apply_actions().await;
                }
            }
            Input::Closed(g, why) if self.conn.as_ref().is_some_and(|c| c.generation == g) => {
                tracing::info!(peer = %self.peer(), "connection closed: {why}");
                self.conn = None;
                self.fsm.handle(now, Event::TcpConnectionFails);
            }
            _ => {}
        }
    }

    async fn frame(&mut self, now: Instant, frame: Bytes) {
        let msg_type = frame.get(18).copied().map(MsgType::from);
        if msg_type == Some(MsgType::Update) && self.established {
            self.status.updates_received.fetch_add(1, Ordering::Relaxed);
            let body = frame.get(header::HEADER_LEN..).unwrap_or_default();
            let next = self.update_msg(now, body);
            for family in next.disabled {
                self.broadcast(|peer| ShardMsg::DisableFamily { peer, family })
                    .await;
            }
            if let Some(family) = next.end_of_rib {
                self.end_of_rib(family).await;
            }
            if next.send {
                self.send_routes().await;
            }
            return;
        }
        let ev = match Message::decode(&frame, &self.decode) {
            Ok(Message::Open(o)) => Event::BgpOpen(o),
            Ok(Message::Keepalive) => Event::KeepAliveMsg,
            Ok(Message::Notification(n)) => Event::NotifMsg(n),
            Ok(Message::Update(_)) => Event::UpdateMsg,
            Ok(Message::RouteRefresh(rr)) => {
                self.route_refresh(rr).await;
                Event::RouteRefreshMsg
            }
            Err(e @ MessageError::Header(_)) => Event::BgpHeaderErr(Notification::from(&e)),
            Err(e @ MessageError::Open(_)) => Event::BgpOpenMsgErr(Notification::from(&e)),
            Err(e) => Event::UpdateMsgErr(Notification::from(&e)),
        };
        self.fsm.handle(now, ev);
    }

    /// A ROUTE-REFRESH from the peer: a request (RFC 2918 §4), or with
    /// enhanced route refresh negotiated the BoRR/EoRR around the peer's
    /// own refresh (RFC 7313 §4).
    async fn route_refresh(&mut self, rr: rampart_core::msg::RouteRefresh) {
        use rampart_core::msg::RouteRefreshSubtype as Subtype;
        let family = rr.family;
        // RFC 2918 §4: a request for a family not advertised in the OPEN
        // is ignored.
        let ours = self
            .negotiated
            .as_ref()
            .is_some_and(|c| c.families.contains(&family));
        if !self.established || !ours {
            tracing::debug!(peer = %self.peer(), %family, "ROUTE-REFRESH for a family not negotiated: ignored");
            return;
        }
        match rr.subtype {
            Subtype::Normal => {
                // RFC 2918 §4: "the BGP speaker SHOULD re-advertise to that
                // peer the Adj-RIB-Out of the <AFI, SAFI> carried in the
                // message". Whole walk per shard; the peer sees implicit
                // replacements. RFC 7313 §4: with enhanced route refresh
                // the walk goes between a BoRR and an EoRR.
                tracing::info!(peer = %self.peer(), %family, "route refresh requested");
                self.refresh_walks += 1;
                let walk = self.refresh_walks;
                let demarcation = |subtype| {
                    let mut out = BytesMut::with_capacity(23);
                    let m =
                        Message::RouteRefresh(rampart_core::msg::RouteRefresh { family, subtype });
                    m.encode(&self.encode, &mut out).ok().map(|()| out.freeze())
                };
                let demarcation = if self.peer_enhanced_rr {
                    demarcation(Subtype::BoRR).zip(demarcation(Subtype::EoRR))
                } else {
                    None
                };
                if let Some(c) = &self.conn {
                    let _ = c
                        .control
                        .try_send(WriterMsg::RefreshBegin { walk, demarcation });
                }
                self.broadcast(|peer| ShardMsg::Refresh { peer, walk })
                    .await;
            }
            Subtype::BoRR if self.peer_enhanced_rr => {
                tracing::info!(peer = %self.peer(), %family, "enhanced route refresh begins (BoRR)");
                let secs = self.spec.settings.timers.refresh_stale;
                self.refresh_due.retain(|&(f, _)| f != family);
                self.refresh_due
                    .push((family, Instant::now() + Duration::from_secs(secs.into())));
                self.broadcast(|peer| ShardMsg::RefreshBegin { peer, family })
                    .await;
            }
            Subtype::EoRR if self.peer_enhanced_rr => {
                tracing::info!(peer = %self.peer(), %family, "enhanced route refresh ends (EoRR)");
                self.refresh_due.retain(|&(f, _)| f != family);
                self.broadcast(|peer| ShardMsg::RefreshEnd { peer, family })
                    .await;
            }
            // RFC 7313 §5: an unknown subtype "MUST" be ignored; so is a
            // demarcation without the capability.
            other => {
                tracing::debug!(peer = %self.peer(), %family, subtype = ?other, "ROUTE-REFRESH ignored");
            }
        }
    }

    /// Decodes an UPDATE's `body` and queues its route changes, without an
    /// `await`: the decoded message (a few hundred bytes) stays on the
    /// stack instead of being copied into the session's future for every
    /// UPDATE. Returns what is left to do that awaits.
    fn update_msg(&mut self, now: Instant, body: &[u8]) -> AfterUpdate {
        // The NLRI field is decoded as the routes are handed on. Used in
        // place: moving the decoded message out costs a copy of it.
        let mut decoded = Update::decode_split(body, &self.decode);
        let (d, nlri) = match &mut decoded {
            Ok((d, nlri)) => (d, nlri),
            Err(e) => {
                let n = Notification::from(&MessageError::Update(e.clone()));
                self.fsm.handle(now, Event::UpdateMsgErr(n));
                return AfterUpdate::default();
            }
        };
        self.fsm.handle(now, Event::UpdateMsg);
        if d.treatment != Treatment::Normal {
            tracing::warn!(peer = %self.peer(), treatment = ?d.treatment, errors = ?d.errors, "malformed UPDATE (RFC 7606)");
        }
        let disabled = if d.treatment == Treatment::AfiSafiDisable {
            self.disable_families(&d.errors)
        } else {
            Vec::new()
        };
        let end_of_rib = d.update.end_of_rib_family().filter(|_| nlri.is_empty());
        let send = end_of_rib.is_none() && self.routes(&mut d.update, nlri);
        AfterUpdate {
            disabled,
            end_of_rib,
            send,
        }
    }

    /// RFC 4760 §7: "the speaker MUST delete all the BGP routes received
    /// from that neighbor whose AFI/SAFI is the same as the one carried in
    /// the incorrect MP_REACH_NLRI or MP_UNREACH_NLRI attribute. For the
    /// duration of the BGP session over which the UPDATE message was
    /// received, the speaker then SHOULD ignore all the subsequent routes
    /// with that AFI/SAFI received over that session." The session stays.
    ///
    /// Returns the families of `errors` not disabled before, now marked
    /// so; the caller tells the shards to drop their routes.
    fn disable_families(
        &mut self,
        errors: &[rampart_core::msg::update::UpdateError],
    ) -> Vec<AfiSafi> {
        let mut new = Vec::new();
        for family in errors.iter().filter_map(|e| e.family()) {
            if self.disabled.contains(&family) {
                continue;
            }
            tracing::warn!(peer = %self.peer(), %family, "address family disabled for this session: its routes are withdrawn, later ones ignored (RFC 7606 AFI/SAFI disable)");
            self.disabled.push(family);
            new.push(family);
        }
        new
    }

    /// Turns a decoded UPDATE into route changes, queued by shard; true
    /// when enough are queued to send them ([`Driver::send_routes`]). Takes
    /// what it keeps out of `u`. Not `async`, and `u` by reference: an
    /// async function would copy the whole `Update` (a few hundred bytes)
    /// into its future for every UPDATE.
    fn routes(&mut self, u: &mut Update, nlri: &mut NlriIter<'_>) -> bool {
        if !self.disabled.is_empty() {
            ignore_families(u, nlri, &self.disabled);
        }
        let shards = self.shared.shards.len();
        // RFC 4271 §5: an unrecognized optional non-transitive attribute
        // is quietly ignored and not passed along: not stored either.
        rampart_core::attr::drop_non_transitive_unknown(&mut u.attrs);
        let external = !self.is_internal();
        if external
            && rampart_core::attr::apply_external_peer_rules(&mut u.attrs)
                == Treatment::TreatAsWithdraw
        {
            // RFC 7606 §7.2 with RFC 5065 §5.3: confederation segments from
            // an external peer make the AS_PATH malformed.
            tracing::warn!(peer = %self.peer(), "AS_PATH with confederation segments from an external peer: treated as withdraw");
            as_withdraw(u, nlri);
        }
        if !external
            && super::export::reflection_loop(
                &u.attrs,
                self.shared.router_id,
                self.shared.cluster_id,
            )
        {
            // RFC 4456 §8: a reflected route that looped back is ignored:
            // handle its announcements as withdrawals.
            as_withdraw(u, nlri);
        }
        if self.pending.len() != shards {
            self.pending.resize_with(shards, Vec::new);
        }
        let pending = &mut self.pending;
        let withdrawn = u
            .withdrawn
            .iter()
            .chain(u.mp_unreach.iter().flat_map(|m| &m.withdrawn));
        for n in withdrawn {
            pend(pending, *n, None);
        }
        if !nlri.is_empty() {
            // The set is needed again only when MP_REACH follows (rare).
            let attrs = if u.mp_reach.is_some() {
                u.attrs.clone()
            } else {
                std::mem::take(&mut u.attrs)
            };
            let set = self.interner.borrow_mut().intern(attrs);
            for n in nlri {
                pend(pending, n, Some(set.clone()));
            }
        }
        if let Some(mp) = u.mp_reach.take() {
            let mut attrs = std::mem::take(&mut u.attrs);
            attrs.next_hop = Some(mp.next_hop);
            let set = self.interner.borrow_mut().intern(attrs);
            for n in &mp.nlri {
                pend(pending, *n, Some(set.clone()));
            }
        }
        self.pending.iter().map(Vec::len).sum::<usize>() >= PENDING_CHANGES
    }

    /// Sends the pending route changes, one message per shard.
    async fn send_routes(&mut self) {
        for (tx, changes) in self.shared.shards.iter().zip(&mut self.pending) {
            if changes.is_empty() {
                continue;
            }
            // The next list gets the room this one needed: grown from
            // empty, each list was copied about ten times on its way to
            // a batch (1.0-1.2 % of rampartd's samples in bgperf 2 x 500k).
            let room = changes.len();
            let changes = std::mem::replace(changes, Vec::with_capacity(room));
            let _ = tx
                .send(ShardMsg::Routes {
                    peer: self.spec.id,
                    changes,
                })
                .await;
        }
    }

    /// True for an iBGP session (same AS), where reflection rules apply.
    fn is_internal(&self) -> bool {
        self.kind != SessionKind::Ebgp
    }

    async fn apply_actions(&mut self) {
        while let Some(a) = self.fsm.poll_action() {
            self.status.set_state(self.fsm.state());
            match a {
                Action::Connect => self.connect(),
                Action::Send(m) => self.send(&m),
                Action::CloseTcp => self.close_conn(),
                Action::Established(n) => self.established(&n).await,
                Action::Down(reason) => self.down(reason).await,
                _ => {}
            }
        }
        self.status.set_state(self.fsm.state());
    }

    fn connect(&mut self) {
        if self.spec.settings.passive || self.spec.template.is_some() {
            return;
        }
        self.close_conn();
        self.generation += 1;
        let generation = self.generation;
        let remote = SocketAddr::new(self.spec.address, self.shared.port);
        let local = self.spec.settings.local_address;
        let auth = self.spec.settings.auth.clone();
        if let Some(inputs) = self.inputs.clone() {
            compio::runtime::spawn(async move {
                let res = connect(remote, local, &auth).await;
                let _ = inputs.send(Input::Connected(generation, res)).await;
            })
            .detach();
        }
    }

    fn send(&mut self, m: &Message) {
        let mut out = BytesMut::with_capacity(64);
        if let Err(e) = m.encode(&self.encode, &mut out) {
            tracing::error!(peer = %self.peer(), "cannot encode {m:?}: {e}");
            return;
        }
        if let Some(c) = &self.conn {
            let _ = c.control.try_send(WriterMsg::Raw(out.freeze()));
        }
    }

    async fn established(&mut self, n: &rampart_core::cap::Negotiated) {
        self.decode = n.decode_ctx();
        self.encode = n.encode_ctx();
        self.established = true;
        self.disabled.clear();
        if let Some(c) = &self.conn {
            c.max_len
                .store(self.decode.max_message_len(), Ordering::Relaxed);
        }
        self.status
            .remote_as
            .store(u64::from(n.peer_as), Ordering::Relaxed);
        tracing::info!(peer = %self.peer(), asn = n.peer_as, "session established");
        if self.gr_deadline.take().is_some() {
            // Back within the restart time: RFC 4724 §4.2, the stale paths
            // of a family stay until the peer's End-of-RIB for it only when
            // its new Graceful Restart capability lists the family with the
            // Forwarding State bit; otherwise they go at once.
            let preserved = |f: &AfiSafi| {
                n.families.contains(f)
                    && n.remote_graceful_restart
                        .as_ref()
                        .is_some_and(|g| g.families.iter().any(|(x, fwd)| x == f && *fwd))
            };
            if !self.stale_families.is_empty() {
                let secs = self.spec.settings.timers.refresh_stale;
                self.stale_due = Some(Instant::now() + Duration::from_secs(secs.into()));
            }
            self.sweep_stale(|f| !preserved(f)).await;
        }
        self.remote_gr.clone_from(&n.remote_graceful_restart);
        self.kind = if n.peer_as == self.shared.local_as {
            SessionKind::Ibgp
        } else {
            SessionKind::Ebgp
        };
        let families: Vec<AfiSafi> = n.families.clone();
        let info = PeerInfo {
            bgp_id: n.peer_id,
            addr: self.spec.address,
            asn: n.peer_as,
            kind: self.kind,
            rr_client: self.spec.settings.role == Role::RrClient,
            igp_cost: 0,
        };
        self.peer_route_refresh = n.route_refresh;
        self.peer_enhanced_rr = n.enhanced_route_refresh;
        self.negotiated = Some(GroupCaps {
            four_octet_as: n.four_octet_as,
            extended_message: n.extended_message,
            families: families.clone(),
            add_path_send: n.add_path_send.to_vec(),
        });
        let Some(out_tx) = self.conn.as_ref().map(|c| c.out.clone()) else {
            return;
        };
        if let Some(c) = &self.conn {
            let _ = c.control.try_send(WriterMsg::Established {
                encode: self.encode.clone(),
                families,
            });
        }
        let Some((key, policy)) = self.group_and_policy() else {
            return;
        };
        self.send_routes().await;
        for tx in &self.shared.shards {
            let up = PeerUp {
                peer: self.spec.id,
                info,
                key: key.clone(),
                encode: self.encode.clone(),
                out: out_tx.clone(),
                status: Arc::clone(&self.status),
                max_prefix: self.spec.settings.max_prefix,
                cmds: self.cmds.clone(),
                policy: policy.clone(),
            };
            let _ = tx.send(ShardMsg::PeerUp(Box::new(up))).await;
        }
    }

    /// The update group key and filters of this Established session under
    /// the policy in force.
    fn group_and_policy(&self) -> Option<(GroupKey, PeerPolicy)> {
        let caps = self.negotiated.as_ref()?;
        let local = self
            .conn
            .as_ref()
            .and_then(|c| c.stream.local_addr().ok())
            .map(|a| a.ip());
        let asn = u32::try_from(self.status.remote_as.load(Ordering::Relaxed)).unwrap_or(0);
        let policy = self.shared.policy.read().ok()?;
        let (policy, digest, dest) = peer_policy(
            policy.as_ref(),
            &self.spec,
            asn,
            (self.shared.local_as, local),
            &self.shared.rpki,
        );
        let key = GroupKey {
            role: self.spec.settings.role,
            export: self.spec.settings.export.clone(),
            four_octet_as: caps.four_octet_as,
            extended_message: caps.extended_message,
            families: caps.families.clone(),
            add_path: caps.add_path_send.clone(),
            interpret_communities: self.spec.settings.interpret_communities,
            policy: digest,
            dest,
        };
        Some((key, policy))
    }

    async fn down(&mut self, reason: DownReason) {
        tracing::info!(peer = %self.peer(), ?reason, "session down");
        self.status.set_error(format!("{reason:?}"));
        // A refresh cut short by the session's end: the paths go with the
        // session, or stay stale under graceful restart's own timer.
        self.refresh_due.clear();
        // At the daemon's shutdown the shards are told nothing: their
        // tables go with the process.
        let exiting = self.shared.stopping.load(Ordering::Relaxed);
        if std::mem::replace(&mut self.established, false) && !exiting {
            let applies = self.graceful_restart_applies(&reason);
            let gr = self.remote_gr.take().filter(|_| applies);
            if let Some(gr) = gr {
                // RFC 4724 §4.2: "the Receiving Speaker MUST retain the
                // routes received from the Restarting Speaker ... and MUST
                // mark them as stale".
                tracing::info!(peer = %self.peer(), restart_time = gr.restart_time, "peer restarting gracefully");
                self.gr_deadline =
                    Some(Instant::now() + Duration::from_secs(gr.restart_time.into()));
                self.stale_families = self
                    .negotiated
                    .as_ref()
                    .map(|c| c.families.clone())
                    .unwrap_or_default();
                self.stale_due = None;
                self.publish_stale();
                self.broadcast(|peer| ShardMsg::PeerStale { peer }).await;
            } else {
                self.stale_families.clear();
                self.stale_due = None;
                self.publish_stale();
                self.broadcast(|peer| ShardMsg::PeerDown { peer }).await;
            }
        }
        self.decode = DecodeCtx::legacy();
        self.encode = EncodeCtx::legacy();
        // A dynamic neighbor's session ends with its connection, unless
        // its paths wait for it to come back from a restart: the listener
        // hands its next connection to this session.
        if self.stopping || (self.spec.template.is_some() && self.gr_deadline.is_none()) {
            self.finished = true;
        }
    }

    /// Ends a graceful restart the peer is not back from (its restart
    /// time ran out, or the operator disabled, reset or removed it): its
    /// stale paths go now, `why` says why in the log.
    async fn drop_stale_paths(&mut self, why: &str) {
        if self.gr_deadline.take().is_some() {
            tracing::info!(peer = %self.peer(), "{why}: stale routes removed");
            self.stale_families.clear();
            self.stale_due = None;
            self.publish_stale();
            self.broadcast(|peer| ShardMsg::PeerDown { peer }).await;
        }
    }

    /// Graceful restart applies when the peer advertised it for at least
    /// one family, helper mode is on, the session ended without a
    /// NOTIFICATION (RFC 4724 §4.2; RFC 8538 is not negotiated) and this
    /// peer will exist to come back (not being stopped; a dynamic neighbor
    /// waits, from the same address).
    fn graceful_restart_applies(&self, reason: &DownReason) -> bool {
        self.spec.settings.graceful_restart
            && !self.stopping
            && self
                .remote_gr
                .as_ref()
                .is_some_and(|g| !g.families.is_empty())
            && matches!(reason, DownReason::TcpFailed)
    }

    /// Sends one message per shard, after the pending route changes.
    async fn broadcast(&mut self, msg: impl Fn(rampart_core::rib::PeerId) -> ShardMsg) {
        self.send_routes().await;
        for tx in &self.shared.shards {
            let _ = tx.send(msg(self.spec.id)).await;
        }
    }

    /// End-of-RIB from the peer: after a graceful restart, the paths of
    /// the family it did not send again go (RFC 4724 §4.2).
    async fn end_of_rib(&mut self, family: AfiSafi) {
        tracing::debug!(peer = %self.peer(), %family, "End-of-RIB received");
        self.sweep_stale(|f| *f == family).await;
    }

    /// Shows in `show peers` the stale paths graceful restart keeps.
    fn publish_stale(&self) {
        let until = self.gr_deadline.or(self.stale_due);
        let state = until
            .filter(|_| !self.stale_families.is_empty())
            .map(|until| StalePaths {
                away: self.gr_deadline.is_some(),
                families: self.stale_families.clone(),
                until,
            });
        self.status.set_graceful_restart(state);
    }

    /// Ends graceful restart for the stale families that `done` picks:
    /// every shard drops the peer's paths of the family that are still
    /// stale.
    async fn sweep_stale(&mut self, done: impl Fn(&AfiSafi) -> bool) {
        let (swept, kept) = std::mem::take(&mut self.stale_families)
            .into_iter()
            .partition::<Vec<_>, _>(|f| done(f));
        self.stale_families = kept;
        if self.stale_families.is_empty() {
            self.stale_due = None;
        }
        self.publish_stale();
        for family in swept {
            self.broadcast(|peer| ShardMsg::SweepStale { peer, family })
                .await;
        }
    }

    fn close(&mut self) {
        self.close_conn();
        if self.spec.template.is_some() {
            if let Ok(mut n) = self.shared.neighbors.lock() {
                n.release(&self.spec.group);
            }
            self.shared.forget_peer(self.spec.id);
        }
    }
}

/// What an UPDATE leaves to do once decoded and queued
/// ([`Driver::update_msg`]), in this order.
#[derive(Debug, Default)]
struct AfterUpdate {
    /// Families just disabled (RFC 7606): every shard is told, after the
    /// changes queued before ([`Driver::broadcast`]).
    disabled: Vec<AfiSafi>,
    /// An End-of-RIB marker for this family arrived (RFC 4724 §2).
    end_of_rib: Option<AfiSafi>,
    /// Enough changes are queued to send them.
    send: bool,
}

/// Queues a received route in `pending`, one list per shard. Inlined into
/// the loops over an UPDATE's NLRI, and `nlri` taken by value: handed over
/// through memory, a decoded prefix was written in pieces and read back
/// whole, which stalls (store forwarding). For the same reason the change
/// is not built on the stack and pushed (`Vec::push` copies it whole): a
/// constant is pushed and its fields are overwritten in the list.
#[inline(always)]
fn pend(pending: &mut [Vec<Change>], nlri: Nlri, attrs: Option<AttrSet>) {
    if let Some(b) = pending.get_mut(shard_of(&nlri.prefix, pending.len())) {
        b.push(Change::PLACEHOLDER);
        if let Some(c) = b.last_mut() {
            c.prefix = nlri.prefix;
            c.path_id = nlri.path_id.unwrap_or(0);
            c.attrs = attrs;
        }
    }
}

/// Moves every announcement of `u` (whose NLRI field is `nlri`,
/// [`Update::decode_split`]) to its withdrawals.
fn as_withdraw(u: &mut Update, nlri: &mut NlriIter<'_>) {
    u.withdrawn.extend(std::mem::take(nlri));
    if let Some(mp) = u.mp_reach.take() {
        u.mp_unreach
            .get_or_insert(rampart_core::msg::update::MpUnreach {
                family: mp.family,
                withdrawn: Vec::new(),
            })
            .withdrawn
            .extend(mp.nlri);
    }
}

fn family_of(f: Family) -> AfiSafi {
    match f {
        Family::Ipv4Unicast => AfiSafi::IPV4_UNICAST,
        Family::Ipv6Unicast => AfiSafi::IPV6_UNICAST,
    }
}

fn session_config(spec: &PeerSpec, shared: &Shared) -> SessionConfig {
    let s = &spec.settings;
    let mut cfg = SessionConfig::new(shared.local_as, shared.router_id, spec.remote_as.clone());
    cfg.hold_time = s.timers.hold_time;
    cfg.connect_retry = Duration::from_secs(s.timers.connect_retry.into());
    cfg.passive = s.passive || spec.template.is_some();
    cfg.idle_hold.start = Duration::from_secs(1);
    for f in &s.families {
        cfg.capabilities
            .push(Capability::Multiprotocol(family_of(*f)));
    }
    cfg.capabilities.push(Capability::RouteRefresh);
    cfg.capabilities.push(Capability::EnhancedRouteRefresh);
    let mode = match s.add_path {
        AddPathMode::None => None,
        AddPathMode::Receive => Some(rampart_core::cap::AddPathMode::Receive),
        AddPathMode::Send => Some(rampart_core::cap::AddPathMode::Send),
        AddPathMode::Both => Some(rampart_core::cap::AddPathMode::Both),
    };
    if let Some(mode) = mode {
        // RFC 7911 §4: one (AFI, SAFI, Send/Receive) entry per family.
        let entries = s.families.iter().map(|f| (family_of(*f), mode)).collect();
        cfg.capabilities.push(Capability::AddPath(entries));
    }
    if s.graceful_restart {
        // Graceful-restart aware (helper) mode: the capability with no
        // families, as BIRD does; we do not preserve forwarding ourselves.
        cfg.capabilities.push(Capability::GracefulRestart(
            rampart_core::cap::GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: Vec::new(),
            },
        ));
    }
    cfg
}

/// Drops the parts of `u` (whose NLRI field is `nlri`,
/// [`Update::decode_split`]) in a disabled family (`off`).
fn ignore_families(u: &mut Update, nlri: &mut NlriIter<'_>, off: &[AfiSafi]) {
    if off.contains(&AfiSafi::IPV4_UNICAST) {
        *nlri = NlriIter::default();
        u.withdrawn.clear();
    }
    if u.mp_reach.as_ref().is_some_and(|m| off.contains(&m.family)) {
        u.mp_reach = None;
    }
    if u.mp_unreach
        .as_ref()
        .is_some_and(|m| off.contains(&m.family))
    {
        u.mp_unreach = None;
    }
}
