//! The control API: one JSON request per connection on a Unix socket.
//!
//! `rampartctl` writes a [`Request`] as one line of JSON and reads one
//! [`Response`] line back. The server side runs on its own thread and calls a
//! [`Handler`], which answers from snapshots, so a busy RIB never blocks it
//! (DESIGN.md: "the control plane never starves").

use std::io::{self, BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Longest request line accepted, bytes.
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024;
/// How long a client may take to send its request or read the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Which table `show routes` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Table {
    /// Loc-RIB: the best path per prefix.
    #[default]
    Loc,
    /// Adj-RIB-In before import policy.
    InPre,
    /// Adj-RIB-In after import policy.
    InPost,
    /// What one peer is sent (its Adj-RIB-Out; for an rs-client, its
    /// per-client view).
    Out,
}

/// A control request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "kebab-case")]
pub enum Request {
    /// Every peer with its state and counters.
    ShowPeers,
    /// Routes, filtered.
    ShowRoutes {
        /// Exact prefix (or, with `longest_match`, an address or prefix to
        /// look up).
        prefix: Option<String>,
        /// Longest-prefix match instead of exact.
        #[serde(default)]
        longest_match: bool,
        /// Only paths from (or, for `Table::Out`, to) this peer.
        peer: Option<IpAddr>,
        /// Table to read.
        #[serde(default)]
        table: Table,
        /// At most this many routes (default 1000).
        limit: Option<usize>,
    },
    /// Bytes per RIB structure and the allocator's totals.
    ShowMemory,
    /// The RPKI caches and the validated ROA payloads in force.
    ShowRpki,
    /// Write every path of the Adj-RIB-In after import policy to `file`
    /// as an MRT TABLE_DUMP_V2 dump (RFC 6396 §4.3).
    DumpMrt {
        /// Where the daemon writes it (an absolute path: the daemon's
        /// working directory is not the caller's).
        file: PathBuf,
    },
    /// Re-read the configuration file.
    Reload,
    /// Reset a peer's session (Cease/Administrative Reset).
    PeerReset {
        /// Peer address.
        peer: IpAddr,
    },
    /// Bring a peer down and keep it down.
    PeerDisable {
        /// Peer address.
        peer: IpAddr,
    },
    /// Allow a disabled peer to come up again.
    PeerEnable {
        /// Peer address.
        peer: IpAddr,
    },
    /// Ask a peer to resend its routes (ROUTE-REFRESH, RFC 2918).
    RouteRefresh {
        /// Peer address.
        peer: IpAddr,
    },
}

/// A control response: `{"ok":true,"data":...}` or `{"ok":false,"error":"..."}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The answer's data, when `ok`.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub data: serde_json::Value,
    /// What went wrong, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    /// A successful answer carrying `data`.
    pub fn ok(data: impl Serialize) -> Self {
        match serde_json::to_value(data) {
            Ok(data) => Self {
                ok: true,
                data,
                error: None,
            },
            Err(e) => Self::error(format!("cannot serialise the answer: {e}")),
        }
    }

    /// A failed answer.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            ok: false,
            data: serde_json::Value::Null,
            error: Some(message.into()),
        }
    }
}

/// Answers control requests; implemented by the daemon over its snapshots.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. Must not block on workers.
    fn handle(&self, request: Request) -> Response;
}

/// A running control server; dropping it does not stop it, call
/// [`ControlServer::stop`].
#[derive(Debug)]
pub struct ControlServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Binds `path` (replacing a stale socket file) and serves requests on a
    /// new thread.
    ///
    /// # Errors
    /// When the socket cannot be bound (missing directory, permissions, a
    /// live daemon already serving it).
    pub fn start(path: &Path, handler: Arc<dyn Handler>) -> io::Result<Self> {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{} is served by a running rampartd", path.display()),
            ));
        }
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = serve_in_thread(
            "control",
            move || listener.accept().map(|(c, _)| c),
            &stop,
            move |conn| {
                serve_one(conn, handler.as_ref());
            },
        )?;
        Ok(Self {
            path: path.to_path_buf(),
            stop,
            thread: Some(thread),
        })
    }

    /// Stops serving, joins the thread and removes the socket file.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the blocking accept.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Spawns thread `name` serving each connection `accept` returns with
/// `serve`, one at a time, until `stop` is set (the owner then makes one
/// more connection to wake the blocking accept).
///
/// # Errors
/// When the thread cannot be spawned.
pub(crate) fn serve_in_thread<S>(
    name: &str,
    mut accept: impl FnMut() -> io::Result<S> + Send + 'static,
    stop: &Arc<AtomicBool>,
    mut serve: impl FnMut(S) + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    let stop = Arc::clone(stop);
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            loop {
                let conn = accept();
                if stop.load(Ordering::Acquire) {
                    break;
                }
                if let Ok(conn) = conn {
                    serve(conn);
                }
            }
        })
}

fn serve_one(conn: UnixStream, handler: &dyn Handler) {
    let _ = conn.set_read_timeout(Some(IO_TIMEOUT));
    let _ = conn.set_write_timeout(Some(IO_TIMEOUT));
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut line = String::new();
    let read = BufReader::new(io::Read::take(conn, MAX_REQUEST_BYTES)).read_line(&mut line);
    let response = match read {
        Ok(0) => return,
        Ok(_) => match serde_json::from_str::<Request>(&line) {
            Ok(req) => handler.handle(req),
            Err(e) => Response::error(format!("bad request: {e}")),
        },
        Err(e) => Response::error(format!("cannot read the request: {e}")),
    };
    let mut w = io::BufWriter::new(write_half);
    if serde_json::to_writer(&mut w, &response).is_ok() {
        let _ = w.write_all(b"\n");
        let _ = w.flush();
    }
}

/// Sends one request to the daemon at `path` and returns its answer.
///
/// # Errors
/// When the socket cannot be reached (daemon not running) or the answer is
/// not a valid response.
pub fn request(path: &Path, request: &Request) -> io::Result<Response> {
    let conn = UnixStream::connect(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot reach rampartd at {}: {e}", path.display()),
        )
    })?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut w = &conn;
    serde_json::to_writer(&mut w, request)?;
    w.write_all(b"\n")?;
    let mut line = String::new();
    BufReader::new(&conn).read_line(&mut line)?;
    serde_json::from_str(&line).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl Handler for Echo {
        fn handle(&self, request: Request) -> Response {
            match request {
                Request::PeerReset { peer } => Response::ok(peer.to_string()),
                other => Response::error(format!("unsupported: {other:?}")),
            }
        }
    }

    #[test]
    fn request_round_trip_over_the_socket() {
        let dir = std::env::temp_dir().join(format!("rampart-ctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ctl.sock");
        let server = ControlServer::start(&path, Arc::new(Echo)).unwrap();
        assert!(
            ControlServer::start(&path, Arc::new(Echo)).is_err(),
            "second server must fail"
        );

        let peer: IpAddr = "198.18.0.2".parse().unwrap();
        let r = request(&path, &Request::PeerReset { peer }).unwrap();
        assert!(r.ok);
        assert_eq!(r.data, serde_json::json!("198.18.0.2"));
        let r = request(&path, &Request::ShowPeers).unwrap();
        assert!(!r.ok && r.error.unwrap().contains("unsupported"));

        // Garbage gets an error answer, and the server keeps serving.
        let mut raw = UnixStream::connect(&path).unwrap();
        raw.write_all(b"{not json\n").unwrap();
        let mut line = String::new();
        BufReader::new(&raw).read_line(&mut line).unwrap();
        assert!(line.contains("bad request"), "{line}");
        assert!(request(&path, &Request::PeerReset { peer }).unwrap().ok);

        server.stop();
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn requests_use_kebab_case_tags() {
        let j = serde_json::to_string(&Request::ShowRoutes {
            prefix: Some("10.0.0.0/8".into()),
            longest_match: true,
            peer: None,
            table: Table::InPost,
            limit: None,
        })
        .unwrap();
        assert!(
            j.contains(r#""cmd":"show-routes""#) && j.contains(r#""table":"in-post""#),
            "{j}"
        );
    }
}
