//! One BGP session of the load generator, on a compio runtime.
//!
//! A small driver of its own rather than the core FSM: a session either
//! connects or (passive, `--listen`) accepts exactly one connection from
//! the target, then needs only OpenSent → OpenConfirm → Established and
//! the timers of an established session (RFC 4271 §8, §10):
//!
//! ```text
//! connect (bound to the source address)        -> OPEN -> peer OPEN
//!   or accept on source:port (from the target)    -> KEEPALIVE
//!   -> peer KEEPALIVE = Established (ADD-PATH receive as negotiated)
//! reader task: frames every message; KEEPALIVE/UPDATE refresh the hold
//!              timer; monitors count UPDATE prefixes, path ids and churn
//!              tags (crate::monitor); NOTIFICATION = down
//! writer task: keepalives every hold/3 (RFC 4271 §10 "one third of the
//!              Hold Time"); waits for the start gate; writes the
//!              pre-encoded feed as fast as the target reads; at the churn
//!              gate writes its churn changes at the set rate; checks the
//!              hold timer; sends Cease at stop
//! ```

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use compio::BufResult;
use compio::buf::{IntoInner as _, IoBufMut as _};
use compio::io::{AsyncRead, AsyncWriteExt};
use compio::net::{TcpListener, TcpSocket, TcpStream};
use rampart_core::DecodeCtx;
use rampart_core::cap::{AddPathMode, Capability};
use rampart_core::iana::ErrorCode;
use rampart_core::msg::{Keepalive, Message, Notification, Open, header};
use rampart_core::nlri::AfiSafi;

pub use crate::monitor::MonitorState;
use crate::monitor::count_update;
use crate::table::{Expected, Feed};

/// AS_TRANS (RFC 6793 §9), the 2-octet My AS for a 4-octet AS.
const AS_TRANS: u16 = 23_456;
/// Cease subcode "Administrative Shutdown" (RFC 4486 §4).
const CEASE_ADMIN_SHUTDOWN: u8 = 2;
/// OPEN Message Error subcode "Unsupported Capability" (RFC 5492 §5).
const OPEN_UNSUPPORTED_CAPABILITY: u8 = 7;
/// Connect and handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// What a session does once established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Announces a feed (and discards what it receives).
    Speaker,
    /// Announces nothing and counts what it receives.
    Monitor,
    /// Connects when the feed starts, announces nothing and offers IPv6
    /// unicast only, so with an IPv4 table it takes no routes (what it
    /// gets is discarded): one of many sessions that must come up and
    /// stay up while a table flows past them.
    Idle,
}

/// One session to open.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Index among the speakers, or among the monitors.
    pub index: usize,
    /// Speaker or monitor.
    pub role: Role,
    /// Local address the socket is bound to before connecting.
    pub source: IpAddr,
    /// The target's address and port.
    pub target: SocketAddr,
    /// Our AS.
    pub local_as: u32,
    /// The AS the target must announce, if checked.
    pub target_as: Option<u32>,
    /// Hold time we propose, seconds (0 or ≥ 3).
    pub hold_time: u16,
    /// Our BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Connection attempts before giving up.
    pub attempts: u32,
    /// TCP-MD5 / TCP-AO keys set on the socket before connect.
    pub auth: Option<std::sync::Arc<rampart_server::auth::AuthConfig>>,
    /// Passive: listen on `source:PORT` and accept the target's
    /// connection instead of connecting.
    pub listen: Option<u16>,
    /// Monitors: offer ADD-PATH receive for IPv4 and IPv6 unicast
    /// (RFC 7911 §4).
    pub add_path: bool,
    /// Speakers: offer ADD-PATH send (the feed carries path ids); the
    /// target must accept it for every family it announces.
    pub send_paths: bool,
}

/// Something that happened to a session, for the run's main thread.
#[derive(Debug, Clone)]
pub enum Event {
    /// The session reached Established.
    Established {
        /// Role of the session.
        role: Role,
        /// Its index.
        index: usize,
        /// When.
        at: Instant,
    },
    /// The session could not be established.
    Failed {
        /// Role of the session.
        role: Role,
        /// Its index.
        index: usize,
        /// Why.
        error: String,
    },
    /// An established session went down before the stop.
    Down {
        /// Role of the session.
        role: Role,
        /// Its index.
        index: usize,
        /// Why (a NOTIFICATION, hold timer, connection closed).
        reason: String,
        /// True when our hold timer expired.
        hold_expired: bool,
    },
    /// A speaker wrote its last UPDATE.
    SendDone {
        /// Speaker index.
        index: usize,
        /// When the first chunk was handed to the socket.
        first: Instant,
        /// When the last write completed.
        last: Instant,
    },
    /// A monitor that was complete no longer is (a replay withdrew an
    /// expected prefix, or announced one that must end absent).
    MonitorIncomplete {
        /// Monitor index.
        index: usize,
        /// When.
        at: Instant,
    },
    /// A speaker wrote its last churn change.
    ChurnDone {
        /// Speaker index.
        index: usize,
        /// When.
        at: Instant,
    },
    /// A monitor holds every expected prefix (first time).
    MonitorComplete {
        /// Monitor index.
        index: usize,
        /// When.
        at: Instant,
    },
}

/// A speaker's counters.
#[derive(Debug, Default)]
pub struct SpeakerState {
    /// Bytes of the feed written so far.
    pub sent: AtomicU64,
}

/// Gates opened by closing the channel, by the main thread. Sessions on
/// every worker wait on them directly: the workers' runtimes have room for
/// all their tasks in compio's remote-wake queue ([`crate::runtime`]).
#[derive(Debug, Clone)]
pub struct Gates {
    /// Speakers connect once this closes (monitors first).
    pub connect_speakers: async_channel::Receiver<()>,
    /// Speakers write their feed once this closes.
    pub start: async_channel::Receiver<()>,
    /// Speakers start their churn once this closes (after convergence).
    pub churn: async_channel::Receiver<()>,
    /// Every session sends Cease and closes once this closes.
    pub stop: async_channel::Receiver<()>,
}

/// Everything the sessions of a run share.
#[derive(Debug)]
pub struct Shared {
    /// What monitors must hold.
    pub expected: Expected,
    /// One per speaker.
    pub feeds: Vec<Feed>,
    /// One per monitor.
    pub monitors: Vec<MonitorState>,
    /// One per speaker.
    pub speakers: Vec<SpeakerState>,
    /// Phase gates.
    pub gates: Gates,
    /// Events to the main thread.
    pub events: mpsc::Sender<Event>,
    /// Sessions currently established.
    pub established: AtomicUsize,
    /// The origin of [`MonitorState::last_update`].
    pub base: Instant,
    /// The churn phase, when asked for.
    pub churn: Option<crate::churn::Churn>,
    /// UPDATEs the monitors received, decoded once for all of them.
    pub seen: crate::monitor::SeenUpdates,
}

/// Runs one session to the end (stop gate or failure); never panics.
pub async fn run(spec: SessionSpec, shared: Arc<Shared>, gates: Gates, permits: Permits) {
    // Passive sessions listen from the start, so that a target's early
    // connection attempts wait in the backlog instead of being refused.
    let listener = match spec.listen {
        Some(port) => match TcpListener::bind(SocketAddr::new(spec.source, port)).await {
            Ok(l) => Some(l),
            Err(e) => {
                let _ = shared.events.send(Event::Failed {
                    role: spec.role,
                    index: spec.index,
                    error: format!("listen on {}:{port}: {e}", spec.source),
                });
                return;
            }
        },
        None => None,
    };
    match spec.role {
        Role::Speaker => {
            let _ = gates.connect_speakers.recv().await;
        }
        Role::Idle => {
            let _ = gates.start.recv().await;
        }
        Role::Monitor => {}
    }
    let mut last_err = String::new();
    let mut established = None;
    for attempt in 0..spec.attempts.max(1) {
        if attempt > 0 {
            compio::time::sleep(Duration::from_millis(500 * u64::from(attempt.min(4)))).await;
        }
        if gates.stop.is_closed() {
            return;
        }
        // A passive session waits on the target, not on a connect: it
        // takes no permit.
        if listener.is_none() {
            permits.acquire().await;
        }
        let r = compio::time::timeout(HANDSHAKE_TIMEOUT, establish(&spec, listener.as_ref())).await;
        if listener.is_none() {
            permits.release().await;
        }
        match r {
            Ok(Ok(s)) => {
                established = Some(s);
                break;
            }
            Ok(Err(e)) => {
                last_err = e.to_string();
                // A capability the target lacks will not appear on retry.
                if e.kind() == io::ErrorKind::Unsupported {
                    break;
                }
            }
            Err(_) => last_err = "handshake timed out".into(),
        }
    }
    drop(listener);
    let Some((stream, leftover, hold, ctx)) = established else {
        let _ = shared.events.send(Event::Failed {
            role: spec.role,
            index: spec.index,
            error: last_err,
        });
        return;
    };
    shared.established.fetch_add(1, Ordering::Relaxed);
    if let (Role::Monitor, Some(m)) = (spec.role, shared.monitors.get(spec.index)) {
        m.add_path
            .store(!ctx.add_path.is_empty(), Ordering::Relaxed);
    }
    let _ = shared.events.send(Event::Established {
        role: spec.role,
        index: spec.index,
        at: Instant::now(),
    });
    let last_rx = Rc::new(std::cell::Cell::new(Instant::now()));
    let (r, w) = stream.into_split();
    let reader = compio::runtime::spawn(read_loop(
        r,
        leftover,
        ctx,
        spec.clone(),
        Arc::clone(&shared),
        gates.clone(),
        Rc::clone(&last_rx),
    ));
    let timers = Timers::new(hold, Rc::clone(&last_rx));
    let down = write_loop(w, &spec, &shared, &gates, timers).await;
    shared.established.fetch_sub(1, Ordering::Relaxed);
    let reason = down.err();
    let read_end = reader.await.ok().flatten();
    if gates.stop.is_closed() {
        return;
    }
    let (reason, hold_expired) = match (reason, read_end) {
        (Some(d), _) => (d.reason, d.hold_expired),
        (None, Some(r)) => (r, false),
        (None, None) => ("closed".into(), false),
    };
    let _ = shared.events.send(Event::Down {
        role: spec.role,
        index: spec.index,
        reason,
        hold_expired,
    });
}

/// A bound on concurrent connection attempts per worker (an async
/// semaphore made of a bounded channel).
#[derive(Debug, Clone)]
pub struct Permits {
    tx: async_channel::Sender<()>,
    rx: async_channel::Receiver<()>,
}

impl Permits {
    /// At most `n` holders at once.
    #[must_use]
    pub fn new(n: usize) -> Self {
        let (tx, rx) = async_channel::bounded(n.max(1));
        Self { tx, rx }
    }

    async fn acquire(&self) {
        let _ = self.tx.send(()).await;
    }

    async fn release(&self) {
        let _ = self.rx.recv().await;
    }
}

fn open_message(spec: &SessionSpec) -> Open {
    let my_as = u16::try_from(spec.local_as).unwrap_or(AS_TRANS);
    // An idle session offers IPv6 unicast only (see [`Role::Idle`]).
    let ipv4 =
        (spec.role != Role::Idle).then_some(Capability::Multiprotocol(AfiSafi::IPV4_UNICAST));
    let mut capabilities: Vec<Capability> = ipv4
        .into_iter()
        .chain([
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(spec.local_as),
        ])
        .collect();
    let mode = match spec.role {
        Role::Monitor if spec.add_path => Some(AddPathMode::Receive),
        Role::Speaker if spec.send_paths => Some(AddPathMode::Send),
        _ => None,
    };
    if let Some(mode) = mode {
        capabilities.push(Capability::AddPath(vec![
            (AfiSafi::IPV4_UNICAST, mode),
            (AfiSafi::IPV6_UNICAST, mode),
        ]));
    }
    Open {
        version: 4,
        my_as,
        hold_time: spec.hold_time,
        bgp_id: spec.bgp_id,
        capabilities,
    }
}

async fn connect(spec: &SessionSpec) -> io::Result<TcpStream> {
    let socket = if spec.target.is_ipv4() {
        TcpSocket::new_v4().await?
    } else {
        TcpSocket::new_v6().await?
    };
    if let Some(auth) = &spec.auth {
        rampart_server::auth::apply_connect(
            &socket,
            spec.target.ip(),
            auth,
            std::time::SystemTime::now(),
        )
        .map_err(io::Error::other)?;
    }
    socket.bind(SocketAddr::new(spec.source, 0)).await?;
    let s = socket.connect(spec.target).await?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// Accepts the target's connection (passive mode); connections from any
/// other address are closed.
async fn accept(listener: &TcpListener, target: IpAddr) -> io::Result<TcpStream> {
    // Bounded by the handshake timeout around us.
    loop {
        let (s, peer) = listener.accept().await?;
        if peer.ip() == target {
            let _ = s.set_nodelay(true);
            return Ok(s);
        }
    }
}

/// Reads one whole message into `buf`'s front and splits it off.
async fn read_message(stream: &mut TcpStream, buf: &mut BytesMut) -> io::Result<Bytes> {
    read_message_at(stream, buf, &mut Instant::now()).await
}

/// [`read_message`], setting `read_at` to when its last socket read
/// returned: a message already in `buf` keeps the time of the read that
/// brought it, without a clock read per message (with 100 monitors the
/// clock was a tenth of the generator's time).
async fn read_message_at(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
    read_at: &mut Instant,
) -> io::Result<Bytes> {
    // Bounded: every iteration reads more bytes or returns.
    loop {
        match header::peek_len(buf, rampart_core::ctx::MAX_MESSAGE_LEN) {
            Ok(Some(n)) if buf.len() >= n => return Ok(buf.split_to(n).freeze()),
            Ok(_) => {}
            Err(e) => return Err(io::Error::other(format!("bad message header: {e}"))),
        }
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(64 * 1024);
        }
        // compio reads at the buffer's start unless given its uninit tail:
        // a partial message kept in `buf` would be overwritten.
        let b = std::mem::take(buf).uninit();
        let BufResult(res, b) = stream.read(b).await;
        *buf = b.into_inner();
        *read_at = Instant::now();
        if res? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the target",
            ));
        }
    }
}

fn notification_error(n: &Notification) -> io::Error {
    io::Error::other(format!(
        "NOTIFICATION {:?}/{} from the target",
        n.code, n.subcode
    ))
}

/// Connect (or accept), OPEN exchange, KEEPALIVE exchange. Returns the
/// stream, bytes read past the target's KEEPALIVE, the negotiated hold
/// time and the decoding context (ADD-PATH as negotiated).
async fn establish(
    spec: &SessionSpec,
    listener: Option<&TcpListener>,
) -> io::Result<(TcpStream, BytesMut, u16, DecodeCtx)> {
    let mut stream = match listener {
        Some(l) => accept(l, spec.target.ip()).await?,
        None => connect(spec).await?,
    };
    let mut out = BytesMut::with_capacity(128);
    open_message(spec)
        .encode(&mut out)
        .map_err(|e| io::Error::other(e.to_string()))?;
    let BufResult(r, _) = stream.write_all(out.freeze()).await;
    r?;
    let mut ka = BytesMut::with_capacity(19);
    Keepalive.encode(&mut ka);
    let ka = ka.freeze();
    let mut ctx = DecodeCtx::modern();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let hold = {
        let frame = read_message(&mut stream, &mut buf).await?;
        match Message::decode(&frame, &ctx) {
            Ok(Message::Open(o)) => {
                if let Some(want) = spec.target_as
                    && o.asn() != want
                {
                    return Err(io::Error::other(format!(
                        "target announced AS {}, expected {want}",
                        o.asn()
                    )));
                }
                if spec.add_path {
                    ctx.add_path = add_path_receive(&o).into_iter().collect();
                }
                if spec.send_paths
                    && spec.role == Role::Speaker
                    && let Err(e) = check_add_path_send(&o)
                {
                    // RFC 5492 §5: a speaker that requires a capability
                    // the peer lacks sends Unsupported Capability.
                    let mut n = BytesMut::new();
                    Notification::new(ErrorCode::Open, OPEN_UNSUPPORTED_CAPABILITY, Vec::new())
                        .encode(&mut n);
                    let _ = stream.write_all(n.freeze()).await;
                    return Err(e);
                }
                o.hold_time.min(spec.hold_time)
            }
            Ok(Message::Notification(n)) => return Err(notification_error(&n)),
            Ok(_) => return Err(io::Error::other("target sent something before OPEN")),
            Err(e) => return Err(io::Error::other(format!("bad message: {e}"))),
        }
    };
    let BufResult(r, _) = stream.write_all(ka).await;
    r?;
    // Bounded by the handshake timeout around us.
    loop {
        let frame = read_message(&mut stream, &mut buf).await?;
        match Message::decode(&frame, &ctx) {
            Ok(Message::Keepalive) => return Ok((stream, buf, hold, ctx)),
            Ok(Message::Notification(n)) => return Err(notification_error(&n)),
            Ok(_) => {}
            Err(e) => return Err(io::Error::other(format!("bad message: {e}"))),
        }
    }
}

/// The families in which the target will send path identifiers to us:
/// RFC 7911 §4: "the Send/Receive field ... set to 2 or 3" in its OPEN,
/// for a family in which we offered to receive (IPv4 and IPv6 unicast).
fn add_path_receive(o: &Open) -> Vec<AfiSafi> {
    let mut v = Vec::new();
    for c in &o.capabilities {
        if let Capability::AddPath(entries) = c {
            for (f, mode) in entries {
                let sends = matches!(mode, AddPathMode::Send | AddPathMode::Both);
                let ours = *f == AfiSafi::IPV4_UNICAST || *f == AfiSafi::IPV6_UNICAST;
                if sends && ours && !v.contains(f) {
                    v.push(*f);
                }
            }
        }
    }
    v
}

/// The feed carries path ids in IPv4 and IPv6 unicast: RFC 7911 §4, the
/// target must have "the Send/Receive field set to 1 or 3" for every
/// family it speaks (announced with Multiprotocol) that we send.
fn check_add_path_send(o: &Open) -> io::Result<()> {
    for f in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
        let speaks = f == AfiSafi::IPV4_UNICAST
            || o.capabilities
                .iter()
                .any(|c| matches!(c, Capability::Multiprotocol(m) if *m == f));
        let accepts = o.capabilities.iter().any(|c| match c {
            Capability::AddPath(e) => e
                .iter()
                .any(|(g, m)| *g == f && matches!(m, AddPathMode::Receive | AddPathMode::Both)),
            _ => false,
        });
        if speaks && !accepts {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "the target does not accept ADD-PATH in {f:?}: the feed's path ids cannot be sent"
                ),
            ));
        }
    }
    Ok(())
}

/// Why the writer ended early.
#[derive(Debug)]
struct DownReason {
    reason: String,
    hold_expired: bool,
}

impl From<io::Error> for DownReason {
    fn from(e: io::Error) -> Self {
        Self {
            reason: format!("write failed: {e}"),
            hold_expired: false,
        }
    }
}

/// The timers of an established session, kept by the writer (RFC 4271
/// §10): a KEEPALIVE every third of the hold time, and the hold timer on
/// what the reader last received. Checked between every write, the feed's
/// too, as a real speaker's would be.
struct Timers {
    keepalive: Bytes,
    /// Between keepalives (≥ 1 s).
    tick: Duration,
    /// The negotiated hold time; `None` for 0 (no keepalives, no hold).
    hold: Option<Duration>,
    last_ka: Instant,
    /// When the reader last framed a message.
    last_rx: Rc<std::cell::Cell<Instant>>,
}

impl Timers {
    fn new(hold: u16, last_rx: Rc<std::cell::Cell<Instant>>) -> Self {
        // RFC 4271 §10: "A reasonable maximum time between KEEPALIVE
        // messages would be one third of the Hold Time interval."
        let hold = (hold > 0).then(|| Duration::from_secs(u64::from(hold)));
        let tick = hold.map_or(Duration::from_secs(1), |h| {
            (h / 3).max(Duration::from_secs(1))
        });
        let mut keepalive = BytesMut::with_capacity(19);
        Keepalive.encode(&mut keepalive);
        Self {
            keepalive: keepalive.freeze(),
            tick,
            hold,
            last_ka: Instant::now(),
            last_rx,
        }
    }

    /// Sends a KEEPALIVE when one is due. Errors: the hold timer expired
    /// (a Hold Timer Expired NOTIFICATION went out and the connection is
    /// shut down), or the write failed.
    async fn check(&mut self, w: &mut TcpStream) -> Result<(), DownReason> {
        let Some(hold) = self.hold else {
            return Ok(());
        };
        if self.last_rx.get().elapsed() > hold {
            // The reader runs on this thread, behind these writes: let it
            // frame what has arrived before the peer counts as silent.
            compio::time::sleep(Duration::from_millis(1)).await;
        }
        if self.last_rx.get().elapsed() > hold {
            let mut n = BytesMut::new();
            Notification::new(ErrorCode::HoldTimerExpired, 0, Vec::new()).encode(&mut n);
            let _ = w.write_all(n.freeze()).await;
            let _ = socket2::SockRef::from(&*w).shutdown(std::net::Shutdown::Both);
            return Err(DownReason {
                reason: "hold timer expired".into(),
                hold_expired: true,
            });
        }
        if self.last_ka.elapsed() >= self.tick {
            let BufResult(r, _) = w.write_all(self.keepalive.clone()).await;
            r?;
            self.last_ka = Instant::now();
        }
        Ok(())
    }

    /// How long until the next KEEPALIVE is due (at least 1 ms).
    fn until_keepalive(&self) -> Duration {
        self.tick
            .saturating_sub(self.last_ka.elapsed())
            .max(Duration::from_millis(1))
    }
}

/// Writes keepalives, the feed (speakers), Cease at stop. `Ok` at stop.
async fn write_loop(
    mut w: TcpStream,
    spec: &SessionSpec,
    shared: &Shared,
    gates: &Gates,
    mut timers: Timers,
) -> Result<(), DownReason> {
    let mut fed = spec.role != Role::Speaker;
    let mut churned = spec.role != Role::Speaker || shared.churn.is_none();
    // Bounded by the stop gate and the hold timer.
    loop {
        timers.check(&mut w).await?;
        if !fed && gates.start.is_closed() {
            send_feed(&mut w, spec, shared, gates, &mut timers).await?;
            fed = true;
            continue;
        }
        if fed && !churned && gates.churn.is_closed() {
            send_churn(&mut w, spec, shared, gates, &mut timers).await?;
            churned = true;
            continue;
        }
        let wait = timers.until_keepalive().max(Duration::from_millis(10));
        let gate = match (fed, churned) {
            (false, _) => &gates.start,
            (true, false) => &gates.churn,
            (true, true) => &gates.stop,
        };
        let _ = compio::time::timeout(wait, gate.recv()).await;
        if gates.stop.is_closed() {
            let mut n = BytesMut::new();
            Notification::new(ErrorCode::Cease, CEASE_ADMIN_SHUTDOWN, Vec::new()).encode(&mut n);
            let _ = w.write_all(n.freeze()).await;
            let _ = socket2::SockRef::from(&w).shutdown(std::net::Shutdown::Both);
            return Ok(());
        }
    }
}

/// Writes the feed: as fast as the target reads, or (a timed replay) each
/// chunk at its offset from the start, keepalives going out meanwhile.
async fn send_feed(
    w: &mut TcpStream,
    spec: &SessionSpec,
    shared: &Shared,
    gates: &Gates,
    timers: &mut Timers,
) -> Result<(), DownReason> {
    let Some(feed) = shared.feeds.get(spec.index) else {
        return Ok(());
    };
    let counter = shared.speakers.get(spec.index);
    let first = Instant::now();
    for (k, chunk) in feed.chunks.iter().enumerate() {
        if let Some(off) = feed.offsets.get(k) {
            let due = first + *off;
            // Bounded: each step sleeps at most a keepalive tick (≥ 1 s)
            // and the stop gate ends the wait.
            while Instant::now() < due {
                if gates.stop.is_closed() {
                    return Ok(());
                }
                timers.check(w).await?;
                let step = due
                    .saturating_duration_since(Instant::now())
                    .min(timers.until_keepalive());
                let _ = compio::time::timeout(step, gates.stop.recv()).await;
            }
        }
        timers.check(w).await?;
        let BufResult(r, _) = w.write_all(chunk.clone()).await;
        r?;
        if let Some(c) = counter {
            c.sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
    }
    let _ = shared.events.send(Event::SendDone {
        index: spec.index,
        first,
        last: Instant::now(),
    });
    Ok(())
}

/// Writes the speaker's churn changes at the configured rate, each
/// stamped as sent just before its write; stops early at the stop gate.
async fn send_churn(
    w: &mut TcpStream,
    spec: &SessionSpec,
    shared: &Shared,
    gates: &Gates,
    timers: &mut Timers,
) -> Result<(), DownReason> {
    let Some(churn) = &shared.churn else {
        return Ok(());
    };
    let Some(sc) = churn.speakers.get(spec.index) else {
        return Ok(());
    };
    let interval = Duration::from_secs_f64(1.0 / churn.rate.max(0.001));
    let start = Instant::now();
    for (k, ch) in sc.changes.iter().enumerate() {
        if gates.stop.is_closed() {
            break;
        }
        let due = start + interval.mul_f64(k as f64);
        let now = Instant::now();
        if due > now {
            compio::time::sleep(due - now).await;
        }
        timers.check(w).await?;
        churn.mark_sent(spec.index, k, shared.base);
        let BufResult(r, _) = w.write_all(ch.msg.clone()).await;
        r?;
    }
    let _ = shared.events.send(Event::ChurnDone {
        index: spec.index,
        at: Instant::now(),
    });
    Ok(())
}

/// Reads until the connection ends; returns why, or `None` at stop.
async fn read_loop(
    mut r: TcpStream,
    mut buf: BytesMut,
    ctx: DecodeCtx,
    spec: SessionSpec,
    shared: Arc<Shared>,
    gates: Gates,
    last_rx: Rc<std::cell::Cell<Instant>>,
) -> Option<String> {
    let monitor = match spec.role {
        Role::Monitor => shared.monitors.get(spec.index),
        Role::Speaker | Role::Idle => None,
    };
    let mut now = Instant::now();
    // Bounded by the connection's life.
    loop {
        let frame = match read_message_at(&mut r, &mut buf, &mut now).await {
            Ok(f) => f,
            Err(e) => {
                return (!gates.stop.is_closed()).then(|| e.to_string());
            }
        };
        last_rx.set(now);
        match frame.get(18) {
            Some(2) => {
                if let Some(m) = monitor
                    && let Err(e) = count_update(&frame, &ctx, &shared, m, spec.index, now)
                {
                    return Some(e);
                }
            }
            Some(3) => {
                let why = match Message::decode(&frame, &ctx) {
                    Ok(Message::Notification(n)) => notification_error(&n).to_string(),
                    _ => "malformed NOTIFICATION from the target".into(),
                };
                return Some(why);
            }
            _ => {}
        }
    }
}
