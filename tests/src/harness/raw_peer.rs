//! A BGP speaker played by the test itself over real TCP, for what no
//! daemon shows: every message rampartd sends, in order (a withdrawal of
//! a prefix the peer never got, a collision's NOTIFICATION).

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rampart_core::attr::{AsPath, NextHop, Origin, PathAttributes};
use rampart_core::cap::Capability;
use rampart_core::msg::{Message, Open, Update, header};
use rampart_core::nlri::{AfiSafi, Ipv4Prefix, Nlri, Prefix};
use rampart_core::{DecodeCtx, EncodeCtx};

use super::Netns;

/// One TCP connection to or from rampartd, speaking 4-octet AS and IPv4
/// unicast once established (RFC 6793, RFC 4760).
#[derive(Debug)]
pub struct RawPeer {
    stream: TcpStream,
    buf: Vec<u8>,
    ctx: (EncodeCtx, DecodeCtx),
}

impl RawPeer {
    /// Wraps a connection made elsewhere (before any OPEN), with plain
    /// RFC 4271 encoding until [`RawPeer::establish`].
    #[must_use]
    pub fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            ctx: (EncodeCtx::legacy(), DecodeCtx::legacy()),
        }
    }

    /// Connects inside `ns` from `local` to `remote` port 179, retrying
    /// for up to 10 s while nothing listens there yet.
    ///
    /// # Errors
    /// When the namespace cannot be entered or the connection fails.
    pub fn connect(ns: &Netns, local: Ipv4Addr, remote: Ipv4Addr) -> io::Result<Self> {
        ns.run(move || Self::connect_here(local, remote))?
    }

    /// [`RawPeer::connect`] from the calling thread's namespace (a test
    /// already inside [`Netns::run`]).
    ///
    /// # Errors
    /// When the connection fails for another reason than a refusal, or is
    /// still refused after 10 s.
    pub fn connect_here(local: Ipv4Addr, remote: Ipv4Addr) -> io::Result<Self> {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
            sock.bind(&SocketAddr::from((local, 0)).into())?;
            match sock.connect(&SocketAddr::from((remote, 179)).into()) {
                Ok(()) => return Ok(Self::new(sock.into())),
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < end => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The OPEN of AS `asn` with identifier `id`: IPv4 unicast, 4-octet AS,
    /// hold time 90 s.
    #[must_use]
    pub fn open(asn: u32, id: Ipv4Addr) -> Message {
        Self::open_with(asn, id, &[])
    }

    /// [`RawPeer::open`] with `extra` capabilities after the others.
    #[must_use]
    pub fn open_with(asn: u32, id: Ipv4Addr, extra: &[Capability]) -> Message {
        let mut capabilities = vec![
            Capability::Multiprotocol(AfiSafi::IPV4_UNICAST),
            Capability::FourOctetAs(asn),
        ];
        capabilities.extend_from_slice(extra);
        Message::Open(Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(23456),
            hold_time: 90,
            bgp_id: id,
            capabilities,
        })
    }

    /// Sends our OPEN, expects rampartd's OPEN and KEEPALIVE, answers with
    /// a KEEPALIVE: Established (RFC 4271 §8.2.2).
    ///
    /// # Errors
    /// When rampartd sends anything else or nothing within 10 s.
    pub fn establish(&mut self, asn: u32, id: Ipv4Addr) -> io::Result<()> {
        self.establish_with(asn, id, &[])
    }

    /// [`RawPeer::establish`] offering `extra` capabilities too.
    ///
    /// # Errors
    /// As [`RawPeer::establish`].
    pub fn establish_with(
        &mut self,
        asn: u32,
        id: Ipv4Addr,
        extra: &[Capability],
    ) -> io::Result<()> {
        self.send(&Self::open_with(asn, id, extra))?;
        let deadline = Duration::from_secs(10);
        match self.recv(deadline) {
            Some(Message::Open(_)) => {}
            other => return Err(io::Error::other(format!("expected OPEN, got {other:?}"))),
        }
        match self.recv(deadline) {
            Some(Message::Keepalive) => {}
            other => {
                return Err(io::Error::other(format!(
                    "expected KEEPALIVE, got {other:?}"
                )));
            }
        }
        self.send(&Message::Keepalive)?;
        let decode = DecodeCtx {
            four_octet_as: true,
            ..DecodeCtx::legacy()
        };
        self.ctx = (EncodeCtx::modern(), decode);
        Ok(())
    }

    /// Writes one message.
    ///
    /// # Errors
    /// When it does not encode or the write fails.
    pub fn send(&mut self, m: &Message) -> io::Result<()> {
        let out = self.encode(m)?;
        self.stream.write_all(&out)
    }

    /// `m` encoded as this connection encodes it: messages to send
    /// together in one write ([`RawPeer::send_bytes`]).
    ///
    /// # Errors
    /// When it does not encode.
    pub fn encode(&self, m: &Message) -> io::Result<BytesMut> {
        let mut out = BytesMut::new();
        m.encode(&self.ctx.0, &mut out)
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(out)
    }

    /// Writes `bytes` as they are (a malformed message, say).
    ///
    /// # Errors
    /// When the write fails.
    pub fn send_bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Announces `prefix` with AS path `as_path` and next hop `next_hop`.
    ///
    /// # Errors
    /// As [`RawPeer::send`].
    pub fn announce(
        &mut self,
        prefix: Ipv4Prefix,
        as_path: &[u32],
        next_hop: Ipv4Addr,
    ) -> io::Result<()> {
        self.send(&announcement(prefix, as_path, next_hop))
    }

    /// Withdraws `prefix`.
    ///
    /// # Errors
    /// As [`RawPeer::send`].
    pub fn withdraw(&mut self, prefix: Ipv4Prefix) -> io::Result<()> {
        self.send(&Message::Update(Update {
            withdrawn: vec![Nlri::new(Prefix::V4(prefix))],
            ..Update::default()
        }))
    }

    /// The next message, or `None` when the connection closes, a message
    /// does not decode, or nothing comes within `wait`.
    pub fn recv(&mut self, wait: Duration) -> Option<Message> {
        let frame = self.recv_frame(wait).ok()??;
        Message::decode(&frame, &self.ctx.1).ok()
    }

    /// The next message as it came on the wire (header included), for a
    /// test that judges the bytes itself: `Ok(None)` when nothing whole
    /// arrives within `wait`.
    ///
    /// # Errors
    /// `UnexpectedEof` when the connection closed, `InvalidData` when the
    /// header is not a BGP header, or the read's error.
    pub fn recv_frame(&mut self, wait: Duration) -> io::Result<Option<Vec<u8>>> {
        let end = Instant::now() + wait;
        let mut chunk = [0u8; 4096];
        loop {
            match header::peek_len(&self.buf, 4096) {
                Ok(Some(n)) if self.buf.len() >= n => {
                    return Ok(Some(self.buf.drain(..n).collect()));
                }
                Ok(_) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            let Some(left) = end.checked_duration_since(Instant::now()) else {
                return Ok(None);
            };
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// How this connection decodes what rampartd sends (4-octet AS once
    /// established).
    #[must_use]
    pub fn decode_ctx(&self) -> &DecodeCtx {
        &self.ctx.1
    }

    /// Reads path identifiers in `families` from now on: a connection
    /// established offering ADD-PATH receive to a peer that sends them
    /// (RFC 7911 §3).
    pub fn receive_path_ids(&mut self, families: &[AfiSafi]) {
        self.ctx.1.add_path = families.iter().copied().collect();
    }

    /// Writes path identifiers in `families` from now on: a connection
    /// established offering ADD-PATH send to a peer that receives them
    /// (RFC 7911 §3).
    pub fn send_path_ids(&mut self, families: &[AfiSafi]) {
        self.ctx.0.add_path = families.iter().copied().collect();
    }

    /// The UPDATEs that arrive until `until` returns true for one of them
    /// (included) or `wait` passes; KEEPALIVEs are answered and skipped.
    /// Returns the UPDATEs and whether `until` was met.
    pub fn updates_until(
        &mut self,
        wait: Duration,
        until: impl Fn(&Update) -> bool,
    ) -> (Vec<Update>, bool) {
        let end = Instant::now() + wait;
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.recv(left) {
                Some(Message::Update(u)) => {
                    let done = until(&u);
                    seen.push(u);
                    if done {
                        return (seen, true);
                    }
                }
                Some(Message::Keepalive) => {
                    let _ = self.send(&Message::Keepalive);
                }
                // Shown with the failing test's output: why the wait
                // ended before its time.
                Some(m) => {
                    eprintln!("updates_until: stopped at {m:?}");
                    break;
                }
                None => {
                    let left = end.saturating_duration_since(Instant::now());
                    eprintln!(
                        "updates_until: no message ({left:?} of the wait left: closed, undecodable or timed out)"
                    );
                    break;
                }
            }
        }
        (seen, false)
    }
}

/// The UPDATE that announces `prefix` with AS path `as_path` and next hop
/// `next_hop`.
#[must_use]
pub fn announcement(prefix: Ipv4Prefix, as_path: &[u32], next_hop: Ipv4Addr) -> Message {
    Message::Update(Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(as_path.iter().copied()),
            next_hop: Some(NextHop::V4(next_hop)),
            ..PathAttributes::default()
        },
        nlri: vec![Nlri::new(Prefix::V4(prefix))],
        ..Update::default()
    })
}

/// True when `u` announces `prefix` (IPv4 unicast NLRI).
#[must_use]
pub fn announces(u: &Update, prefix: Ipv4Prefix) -> bool {
    u.nlri.iter().any(|n| n.prefix == Prefix::V4(prefix))
}

/// True when `u` withdraws `prefix` (IPv4 unicast withdrawn routes).
#[must_use]
pub fn withdraws(u: &Update, prefix: Ipv4Prefix) -> bool {
    u.withdrawn.iter().any(|n| n.prefix == Prefix::V4(prefix))
}

/// Route server address in [`two_clients`].
pub const RS: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Client A (AS 64501) in [`two_clients`].
pub const A: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
/// Client B (AS 64502) in [`two_clients`].
pub const B: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);

/// rampartd with two route server clients the test plays; fields drop in
/// order (the peers, rampartd, then the namespace).
#[derive(Debug)]
pub struct TwoClients {
    /// Client A at [`A`], Established.
    pub a: RawPeer,
    /// Client B at [`B`], Established.
    pub b: RawPeer,
    /// rampartd at [`RS`].
    pub rampartd: super::Child,
    /// The namespace all of them live in.
    pub ns: Netns,
}

/// Starts rampartd (`bin`) in a new namespace named `tag` with its files in
/// `dir`, configured with A and B as passive IPv4 unicast rs-client peers,
/// and brings both sessions to Established. The hold time is 90 s: the
/// test's peers answer KEEPALIVEs only while it reads from them.
///
/// # Errors
/// When the namespace, rampartd or a session cannot be set up.
pub fn two_clients(tag: &str, bin: &str, dir: &std::path::Path) -> io::Result<TwoClients> {
    two_clients_with(tag, bin, dir, &[], "")
}

/// [`two_clients`] with client A offering `a_caps` as well, and `a_conf`
/// (TOML lines, each ending in a newline) added to A's `[[peer]]`.
///
/// # Errors
/// As [`two_clients`].
pub fn two_clients_with(
    tag: &str,
    bin: &str,
    dir: &std::path::Path,
    a_caps: &[Capability],
    a_conf: &str,
) -> io::Result<TwoClients> {
    let ns = Netns::new(tag)?;
    let fam = "families = [\"ipv4-unicast\"]\n";
    let conf = super::RampartdConfig::new(&RS.to_string(), &RS.to_string(), dir)
        .passive_peer(
            &A.to_string(),
            64501,
            "rs-client",
            &format!("{fam}{a_conf}"),
        )
        .passive_peer(&B.to_string(), 64502, "rs-client", fam)
        .to_string()
        .replace("hold-time = 9\n", "hold-time = 90\n");
    let rampartd = super::start_rampartd(&ns, bin, dir, &conf)?;
    let mut a = RawPeer::connect(&ns, A, RS)?;
    a.establish_with(64501, A, a_caps)?;
    let mut b = RawPeer::connect(&ns, B, RS)?;
    b.establish(64502, B)?;
    Ok(TwoClients { a, b, rampartd, ns })
}

/// `a.b.c.d/len` as an IPv4 prefix.
///
/// # Panics
/// When `s` is not one (test input).
#[must_use]
pub fn ipv4(s: &str) -> Ipv4Prefix {
    let (addr, len) = s.split_once('/').expect("a.b.c.d/len");
    Ipv4Prefix::new(
        addr.parse().expect("IPv4 address"),
        len.parse().expect("length"),
    )
    .expect("length ≤ 32")
}
