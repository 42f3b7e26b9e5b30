//! A sink target: accepts BGP sessions, answers OPEN and KEEPALIVE, frames
//! and discards everything else. Runs on its own thread and compio runtime,
//! so that the generator's send rate against it shows the generator is
//! never what a run measures.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use compio::BufResult;
use compio::buf::{IntoInner as _, IoBufMut as _};
use compio::io::{AsyncRead, AsyncWriteExt};
use compio::net::{TcpListener, TcpStream};
use rampart_core::cap::Capability;
use rampart_core::msg::{Keepalive, Open, header};
use rampart_core::nlri::AfiSafi;

/// What the sink saw.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Sessions accepted.
    pub sessions: AtomicU64,
    /// Messages received (all types).
    pub messages: AtomicU64,
    /// UPDATE messages received.
    pub updates: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
}

/// A running sink; stops (by closing its listener and sessions) on drop.
#[derive(Debug)]
pub struct Sink {
    addr: SocketAddr,
    stats: Arc<SinkStats>,
    stop: async_channel::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sink {
    /// Listens on `addr` (port 0 picks one) as AS `asn`.
    ///
    /// # Errors
    /// When the address cannot be bound or the thread not started.
    pub fn start(addr: SocketAddr, asn: u32) -> io::Result<Self> {
        let std_listener = std::net::TcpListener::bind(addr)?;
        let addr = std_listener.local_addr()?;
        std_listener.set_nonblocking(true)?;
        let stats = Arc::new(SinkStats::default());
        let (stop, stop_rx) = async_channel::bounded::<()>(1);
        let st = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("sink".into())
            .spawn(move || {
                let Ok(rt) = crate::runtime() else {
                    return;
                };
                rt.block_on(async move {
                    let Ok(listener) = TcpListener::from_std(std_listener) else {
                        return;
                    };
                    let accept = async {
                        // Bounded by the stop gate (the select below).
                        loop {
                            let Ok((s, _)) = listener.accept().await else {
                                continue;
                            };
                            st.sessions.fetch_add(1, Ordering::Relaxed);
                            compio::runtime::spawn(serve(s, asn, Arc::clone(&st), stop_rx.clone()))
                                .detach();
                        }
                    };
                    let stop = stop_rx.recv();
                    futures_util::pin_mut!(accept, stop);
                    futures_util::future::select(accept, stop).await;
                });
            })?;
        Ok(Self {
            addr,
            stats,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    #[must_use]
    pub const fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its counters.
    #[must_use]
    pub fn stats(&self) -> &SinkStats {
        &self.stats
    }

    /// Its counters, shared (for [`crate::run::RunConfig::sink`]).
    #[must_use]
    pub fn stats_shared(&self) -> Arc<SinkStats> {
        Arc::clone(&self.stats)
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(s: TcpStream, asn: u32, st: Arc<SinkStats>, stop: async_channel::Receiver<()>) {
    let _ = s.set_nodelay(true);
    let (r, mut w) = s.into_split();
    let mut out = BytesMut::with_capacity(128);
    let open = Open {
        version: 4,
        my_as: u16::try_from(asn).unwrap_or(23_456),
        hold_time: 90,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::Multiprotocol(AfiSafi::IPV6_UNICAST),
            Capability::FourOctetAs(asn),
        ],
    };
    if open.encode(&mut out).is_err() {
        return;
    }
    Keepalive.encode(&mut out);
    let BufResult(res, _) = w.write_all(out.freeze()).await;
    if res.is_err() {
        return;
    }
    let reader = discard(r, Arc::clone(&st));
    let keepalives = async {
        // Bounded by the stop gate and write failures.
        loop {
            if compio::time::timeout(Duration::from_secs(30), stop.recv())
                .await
                .is_ok()
            {
                let _ = socket2::SockRef::from(&w).shutdown(std::net::Shutdown::Both);
                return;
            }
            let mut k = BytesMut::with_capacity(19);
            Keepalive.encode(&mut k);
            let BufResult(res, _) = w.write_all(k.freeze()).await;
            if res.is_err() {
                return;
            }
        }
    };
    futures_util::pin_mut!(reader, keepalives);
    futures_util::future::select(reader, keepalives).await;
}

/// Frames and counts messages until the connection ends.
async fn discard(mut r: TcpStream, st: Arc<SinkStats>) {
    let mut buf = BytesMut::with_capacity(256 * 1024);
    // Bounded by the connection's life.
    loop {
        // Frame every whole message.
        loop {
            match header::peek_len(&buf, rampart_core::ctx::MAX_EXTENDED_MESSAGE_LEN) {
                Ok(Some(n)) if buf.len() >= n => {
                    if buf.get(18) == Some(&2) {
                        st.updates.fetch_add(1, Ordering::Relaxed);
                    }
                    st.messages.fetch_add(1, Ordering::Relaxed);
                    let _ = buf.split_to(n);
                }
                Ok(_) => break,
                Err(_) => return,
            }
        }
        if buf.capacity() - buf.len() < 64 * 1024 {
            buf.reserve(256 * 1024);
        }
        // The uninit tail: compio would otherwise read over the partial
        // message kept at the front.
        let BufResult(res, b) = r.read(buf.uninit()).await;
        buf = b.into_inner();
        match res {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                st.bytes.fetch_add(n as u64, Ordering::Relaxed);
            }
        }
    }
}
