//! The session's socket side: connecting, the reader task that frames
//! messages, and the writer task (control messages first, then the
//! shards' UPDATEs, one vectored write per batch).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_channel::{Receiver, Sender};
use bytes::{Bytes, BytesMut};
use compio::BufResult;
use compio::io::{AsyncReadExt, AsyncWriteExt};
use compio::net::{TcpSocket, TcpStream};
use futures_util::{FutureExt, select_biased};
use rampart_core::EncodeCtx;
use rampart_core::msg::header;
use rampart_core::msg::update::UpdateBuilder;
use rampart_core::nlri::AfiSafi;

use super::super::Shared;
use super::super::peer::PeerStatus;
use super::super::shard::{OutMsg, ShardMsg};
use super::{Input, WriterMsg};

pub(super) async fn connect(
    remote: SocketAddr,
    local: Option<IpAddr>,
    auth: &crate::auth::AuthConfig,
) -> io::Result<TcpStream> {
    let socket = if remote.is_ipv4() {
        TcpSocket::new_v4().await?
    } else {
        TcpSocket::new_v6().await?
    };
    // Keys and GTSM before connect(); a failure is the session's error
    // (shown in show peers), never a connection without them.
    crate::auth::apply_connect(&socket, remote.ip(), auth, std::time::SystemTime::now())
        .map_err(io::Error::other)?;
    if let Some(local) = local {
        socket.bind(SocketAddr::new(local, 0)).await?;
    }
    compio::time::timeout(Duration::from_secs(10), socket.connect(remote))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
}

/// How long a second connection may take to send its OPEN.
const CANDIDATE_OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The first message on an accepted connection (its OPEN), read within
/// [`CANDIDATE_OPEN_TIMEOUT`].
pub(super) async fn read_first_message(
    stream: std::net::TcpStream,
) -> io::Result<(TcpStream, Bytes)> {
    stream.set_nonblocking(true)?;
    let mut stream = TcpStream::from_std(stream)?;
    let read = async {
        let mut buf = BytesMut::with_capacity(4096);
        loop {
            match header::peek_len(&buf, rampart_core::ctx::MAX_MESSAGE_LEN) {
                Ok(Some(n)) if buf.len() >= n => return Ok(buf.split_to(n).freeze()),
                Ok(_) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(4096);
            }
            // compio's `read` fills the buffer from its start: `append` keeps
            // the partial message already in it.
            let BufResult(res, b) = stream.append(buf).await;
            buf = b;
            if res? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "closed before OPEN",
                ));
            }
        }
    };
    let frame = compio::time::timeout(CANDIDATE_OPEN_TIMEOUT, read)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no OPEN in time"))??;
    Ok((stream, frame))
}

/// Bytes asked of one read while a peer sends little, so an idle
/// session's buffer stays one page. Messages are read in after the ones
/// before until the buffer's end, so with 64 KiB per session the
/// KEEPALIVEs of an idle session touch every page of it within hours:
/// 128 MiB for 2,000 idle sessions.
const READ_MIN: usize = 4 * 1024;
/// Bytes asked of one read while UPDATEs stream in: a read that fills what
/// it was given doubles the next one, up to this.
const READ_MAX: usize = 64 * 1024;

/// Reads and frames messages until the connection fails.
pub(super) async fn read_frames(
    mut stream: TcpStream,
    generation: u64,
    max_len: Arc<AtomicUsize>,
    inputs: Sender<Input>,
) {
    let mut chunk = READ_MIN;
    let mut buf = BytesMut::with_capacity(chunk);
    let why = loop {
        // Every message the read completed goes to the session as one
        // input: one channel hand-off per read, not per message.
        let mut frames = Vec::new();
        let bad = loop {
            match header::peek_len(&buf, max_len.load(Ordering::Relaxed)) {
                Ok(Some(n)) if buf.len() >= n => frames.push(buf.split_to(n).freeze()),
                Ok(_) => break None,
                Err(e) => break Some(e),
            }
        };
        if let Some(e) = bad {
            // Hand the bad header to the FSM as a frame after the good
            // ones: decoding it again yields the header error and its
            // NOTIFICATION.
            frames.push(buf.split().freeze());
            let _ = inputs.send(Input::Frames(generation, frames)).await;
            let _ = inputs.send(Input::Closed(generation, e.to_string())).await;
            return;
        }
        if !frames.is_empty()
            && inputs
                .send(Input::Frames(generation, frames))
                .await
                .is_err()
        {
            return;
        }
        if buf.capacity() - buf.len() < chunk / 4 {
            // Reuses the space of frames already handed on once they are
            // dropped; allocates only while they are still held.
            buf.reserve(chunk);
        }
        let spare = buf.capacity() - buf.len();
        // compio's `read` fills the buffer from its start: `append` keeps
        // the partial message already in it.
        let BufResult(res, b) = stream.append(buf).await;
        buf = b;
        match res {
            Ok(0) => break "peer closed the connection".to_string(),
            Ok(n) if n >= spare => chunk = (chunk * 2).min(READ_MAX),
            Ok(n) if n < chunk / 8 => chunk = (chunk / 2).max(READ_MIN),
            Ok(_) => {}
            Err(e) => break e.to_string(),
        }
    };
    let _ = inputs.send(Input::Closed(generation, why)).await;
}

/// Buffers in one vectored write (the kernel's `UIO_MAXIOV`).
const IOV_MAX: usize = 1024;

/// The one task that writes to a connection: control messages first, then
/// the shards' UPDATEs, End-of-RIB once every shard has sent its initial
/// table (RFC 4724 §2), and after a route refresh the EoRR of RFC 7313 once
/// every shard has sent its walk again.
pub(super) struct Writer {
    pub(super) stream: TcpStream,
    pub(super) generation: u64,
    pub(super) inputs: Sender<Input>,
    pub(super) shared: Arc<Shared>,
    pub(super) status: Arc<PeerStatus>,
    pub(super) eor: Option<(EncodeCtx, Vec<AfiSafi>)>,
    /// Per shard: its walk of the peer's Adj-RIB-Out numbered `walk` (the
    /// initial one, 0, or the one an enhanced route refresh started) is
    /// sent.
    pub(super) walked: Vec<bool>,
    pub(super) walk: u64,
    /// EoRR messages owed once every shard's walk is sent.
    pub(super) eorr: Vec<Bytes>,
}

impl Writer {
    pub(super) async fn run(mut self, control: Receiver<WriterMsg>, out: Receiver<OutMsg>) {
        let res = loop {
            let mut c = pin!(control.recv().fuse());
            let mut o = pin!(out.recv().fuse());
            let step = select_biased! {
                m = c => match m {
                    Ok(m) => self.control(m).await,
                    Err(_) => {
                        // The session closed the connection after its last
                        // message (queued messages come out of recv first).
                        let _ = socket2::SockRef::from(&self.stream).shutdown(std::net::Shutdown::Both);
                        return;
                    }
                },
                m = o => match m {
                    Ok(m) => self.updates(m, &control, &out).await,
                    Err(_) => {
                        let _ = socket2::SockRef::from(&self.stream).shutdown(std::net::Shutdown::Both);
                        return;
                    }
                },
            };
            if let Err(e) = step {
                break e;
            }
        };
        let _ = self
            .inputs
            .send(Input::Closed(self.generation, res.to_string()))
            .await;
    }

    async fn write(&mut self, b: Bytes) -> io::Result<()> {
        let BufResult(res, _) = self.stream.write_all(b).await;
        res
    }

    async fn control(&mut self, m: WriterMsg) -> io::Result<()> {
        match m {
            WriterMsg::Raw(b) => self.write(b).await,
            WriterMsg::Established { encode, families } => {
                self.eor = Some((encode, families));
                Ok(())
            }
            WriterMsg::RefreshBegin { walk, demarcation } => {
                // Every shard walks again: EoRR (and End-of-RIB, if the
                // initial walk was not done) waits for all of them to
                // finish this walk; the end of an earlier one counts not.
                self.walk = walk;
                self.walked.fill(false);
                match demarcation {
                    Some((borr, eorr)) => {
                        self.eorr.push(eorr);
                        self.write(borr).await
                    }
                    None => Ok(()),
                }
            }
        }
    }

    /// Writes `m`. A batch of UPDATEs takes the batches queued behind it
    /// along (up to [`IOV_MAX`] buffers): one vectored write for them all,
    /// and every credit back at once. One write per batch waited for the
    /// worker's next turn each, which a busy worker takes a while to give:
    /// a member then got a batch or two per shard round.
    async fn updates(
        &mut self,
        m: OutMsg,
        control: &Receiver<WriterMsg>,
        out: &Receiver<OutMsg>,
    ) -> io::Result<()> {
        match m {
            OutMsg::Updates {
                shard,
                mut pdus,
                prefixes,
                credit,
            } => {
                let mut done = vec![(shard, prefixes, credit)];
                let mut next = None;
                while pdus.len() < IOV_MAX {
                    match out.try_recv() {
                        Ok(OutMsg::Updates {
                            shard,
                            pdus: more,
                            prefixes,
                            credit,
                        }) => {
                            pdus.extend(more);
                            done.push((shard, prefixes, credit));
                        }
                        Ok(OutMsg::InitialDone { shard, walk }) => {
                            next = Some((shard, walk));
                            break;
                        }
                        Err(_) => break,
                    }
                }
                // Keepalives go out between writes, not after a queue of
                // them; each write is vectored, not a system call per
                // UPDATE.
                let mut pdus = pdus.into_iter().peekable();
                while pdus.peek().is_some() {
                    while let Ok(c) = control.try_recv() {
                        self.control(c).await?;
                    }
                    let chunk: Vec<Bytes> = pdus.by_ref().take(IOV_MAX).collect();
                    let BufResult(res, _) = self.stream.write_vectored_all(chunk).await;
                    res?;
                }
                for (shard, prefixes, credit) in done {
                    self.status.sent.fetch_add(prefixes, Ordering::Relaxed);
                    // Wake the shard only if it may be holding batches back.
                    if credit.fetch_add(1, Ordering::AcqRel) == 0
                        && let Some(tx) = self.shared.shards.get(shard)
                    {
                        let _ = tx.send(ShardMsg::Ready).await;
                    }
                }
                match next {
                    Some((shard, walk)) => self.initial_done(shard, walk).await,
                    None => Ok(()),
                }
            }
            OutMsg::InitialDone { shard, walk } => self.initial_done(shard, walk).await,
        }
    }

    /// Shard `shard` has sent walk `walk`: End-of-RIB or EoRR once every
    /// shard has.
    async fn initial_done(&mut self, shard: usize, walk: u64) -> io::Result<()> {
        if walk != self.walk {
            return Ok(());
        }
        if let Some(w) = self.walked.get_mut(shard) {
            *w = true;
        }
        if !self.walked.iter().all(|w| *w) {
            return Ok(());
        }
        if let Some((encode, families)) = self.eor.take() {
            for f in &families {
                if let Ok(eor) = UpdateBuilder::end_of_rib(*f, &encode) {
                    self.write(eor).await?;
                }
            }
        }
        for eorr in std::mem::take(&mut self.eorr) {
            self.write(eorr).await?;
        }
        Ok(())
    }
}
