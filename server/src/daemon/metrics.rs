//! OpenMetrics (Prometheus) on `[global] metrics-listen`: `GET /metrics`
//! answers with what `show peers`, `show memory` and `show rpki` report,
//! in the text exposition format, made by `prometheus-client` from a
//! snapshot taken per scrape on the metrics thread (the control plane
//! reads snapshots; no counter sits on the route path).
//!
//! ```text
//! rampart_peer_up{peer,remote_as,role,template}    1 while Established
//! rampart_peer_uptime_seconds{peer}
//! rampart_peer_prefixes_received{peer}             paths held before import policy
//! rampart_peer_prefixes_accepted{peer}             after import policy
//! rampart_peer_prefixes_sent_total{peer}           announcements sent
//! rampart_peer_updates_received_total{peer}        UPDATE messages read
//! rampart_rib_prefixes, rampart_rib_paths          Loc-RIB (after import policy)
//! rampart_rib_bytes{table}                         loc-rib, adj-rib-in-pre, adj-rib-out, attribute-sets
//! rampart_memory_resident_bytes                    VmRSS
//! rampart_rpki_vrps{family}                        VRPs in force
//! rampart_rpki_cache_up{cache}, rampart_rpki_cache_vrps{cache}
//! ```

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::memory::MemoryReport;
use super::peer::PeerRow;
use crate::rpki::{CacheState, RpkiStatus};

/// Label pairs of one series.
type Labels = Vec<(String, String)>;

/// A gauge family registered under `name`.
fn gauges(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let f = Family::<Labels, Gauge>::default();
    reg.register(name, help, f.clone());
    f
}

/// A counter family registered under `name` (the `_total` suffix is
/// added by the encoder).
fn counters(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    reg.register(name, help, f.clone());
    f
}

fn label(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

fn gauge(f: &Family<Labels, Gauge>, labels: Labels, v: u64) {
    f.get_or_create(&labels)
        .set(i64::try_from(v).unwrap_or(i64::MAX));
}

/// The exposition of one snapshot; `memory` is left out when the shards
/// did not answer.
pub(crate) fn render(
    peers: &[PeerRow],
    memory: Option<&MemoryReport>,
    rpki: &RpkiStatus,
) -> String {
    let mut reg = Registry::with_prefix("rampart");
    let up = gauges(&mut reg, "peer_up", "1 while the session is Established");
    let uptime = gauges(
        &mut reg,
        "peer_uptime_seconds",
        "Seconds since the session came up",
    );
    let received = gauges(
        &mut reg,
        "peer_prefixes_received",
        "Paths held from the peer before import policy",
    );
    let accepted = gauges(
        &mut reg,
        "peer_prefixes_accepted",
        "Paths held from the peer after import policy",
    );
    let sent = counters(
        &mut reg,
        "peer_prefixes_sent",
        "Announcements sent to the peer, over all its sessions",
    );
    let updates = counters(
        &mut reg,
        "peer_updates_received",
        "UPDATE messages read from the peer, over all its sessions",
    );
    for p in peers {
        let peer = || vec![label("peer", p.address)];
        let mut info = peer();
        info.push(label("remote_as", p.remote_as));
        info.push(label("role", &p.role));
        info.push(label("template", p.template.as_deref().unwrap_or("")));
        gauge(&up, info, u64::from(p.state == "Established"));
        gauge(&uptime, peer(), p.uptime_secs.unwrap_or(0));
        gauge(&received, peer(), p.prefixes_received);
        gauge(&accepted, peer(), p.prefixes_accepted);
        sent.get_or_create(&peer()).inc_by(p.prefixes_sent);
        updates.get_or_create(&peer()).inc_by(p.updates_received);
    }
    if let Some(m) = memory {
        let t = &m.tables;
        let one = |reg: &mut Registry, name: &str, help: &str, v: usize| {
            gauge(&gauges(reg, name, help), Vec::new(), v as u64);
        };
        one(
            &mut reg,
            "rib_prefixes",
            "Prefixes with a path after import policy",
            t.prefixes,
        );
        one(&mut reg, "rib_paths", "Paths after import policy", t.paths);
        let bytes = gauges(&mut reg, "rib_bytes", "Bytes each RIB structure allocates");
        for (table, b) in [
            ("loc-rib", t.loc_rib_bytes),
            ("adj-rib-in-pre", t.pre_policy_bytes),
            ("adj-rib-out", t.adj_out_bytes),
            (
                "attribute-sets",
                m.received_sets.bytes + t.rewritten_set_bytes,
            ),
        ] {
            gauge(&bytes, vec![label("table", table)], b as u64);
        }
        if let Some(rss) = m.rss_bytes {
            one(
                &mut reg,
                "memory_resident_bytes",
                "Resident set size (VmRSS)",
                rss as usize,
            );
        }
    }
    let vrps = gauges(&mut reg, "rpki_vrps", "Validated ROA payloads in force");
    gauge(&vrps, vec![label("family", "ipv4")], rpki.ipv4 as u64);
    gauge(&vrps, vec![label("family", "ipv6")], rpki.ipv6 as u64);
    let cache_up = gauges(&mut reg, "rpki_cache_up", "1 while the RTR session is up");
    let cache_vrps = gauges(&mut reg, "rpki_cache_vrps", "VRPs the cache sent");
    for c in &rpki.caches {
        let l = || vec![label("cache", c.address)];
        gauge(&cache_up, l(), u64::from(c.state == CacheState::Up));
        gauge(&cache_vrps, l(), c.vrps as u64);
    }
    let mut out = String::new();
    // Writing to a String does not fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
    out
}

/// Largest request read, bytes.
const MAX_REQUEST: u64 = 8 * 1024;
/// Read and write timeout per connection.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// The HTTP endpoint; dropping it does not stop it, call
/// [`MetricsServer::stop`].
#[derive(Debug)]
pub(crate) struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Binds `addr` and answers `GET /metrics` with `render()` on a thread
    /// of its own, one connection at a time (each bounded by a 2 s
    /// timeout and an 8 KiB request).
    ///
    /// # Errors
    /// When `addr` cannot be bound.
    pub(crate) fn start(
        addr: SocketAddr,
        render: impl Fn() -> String + Send + 'static,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = crate::control::serve_in_thread(
            "metrics",
            move || listener.accept().map(|(c, _)| c),
            &stop,
            move |conn| {
                let _ = serve_one(conn, &render);
            },
        )?;
        Ok(Self {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Stops serving and joins the thread.
    pub(crate) fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one HTTP/1.x request: `GET /metrics` (a query string is
/// ignored) with the exposition, anything else with 404 or 405.
fn serve_one(mut conn: TcpStream, render: &impl Fn() -> String) -> io::Result<()> {
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    let mut reader = (&conn).take(MAX_REQUEST);
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
    let line = String::from_utf8_lossy(&head);
    let mut words = line.lines().next().unwrap_or("").split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, kind, body) = match (method, path) {
        ("GET", "/metrics") => (
            "200 OK",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            render(),
        ),
        ("GET", _) => ("404 Not Found", "text/plain", "try /metrics\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        ),
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        s.write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn serves_the_rendered_text_on_get_metrics_only() {
        let server = MetricsServer::start(
            "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()),
            || "rampart_x 1\n# EOF\n".to_string(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let addr = server.addr;
        let ok = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Length: 18\r\n"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nrampart_x 1\n# EOF\n"), "{ok}");
        let q = get(addr, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
        assert!(q.starts_with("HTTP/1.1 200 OK\r\n"), "{q}");
        assert!(get(addr, "GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(get(addr, "POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
        // A client that sends nothing is dropped after the timeout, and the
        // next one is served.
        let idle = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        assert!(get(addr, "GET /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 200"));
        drop(idle);
        server.stop();
    }
}
