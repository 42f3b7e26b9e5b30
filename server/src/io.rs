//! I/O backends: io_uring (the default) and epoll, both behind compio.
//!
//! compio's proactor has an io_uring driver and a readiness (`polling`, i.e.
//! epoll on Linux) driver. Rampart builds one compio runtime per worker
//! thread and picks the driver here, so sessions, listeners and timers are
//! one code path whichever backend runs — "both backends pass the same
//! tests" holds by construction, and the test suite runs on each
//! (`RAMPART_IO_BACKEND=epoll`).
//!
//! `auto` asks compio to choose: io_uring when the kernel offers the
//! operations we use, epoll when io_uring is disabled
//! (`kernel.io_uring_disabled`) or blocked (seccomp, as in many container
//! runtimes). `uring` fails at start instead of falling back.

use std::fmt;
use std::io;

use compio::driver::{DriverType, ProactorBuilder};
use compio::runtime::Runtime;

use crate::config::IoBackend;

/// Environment variable that overrides the configured backend
/// (`auto`, `uring` or `epoll`); the test suite uses it to run twice.
pub const BACKEND_ENV: &str = "RAMPART_IO_BACKEND";

/// The backend a runtime actually runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// io_uring.
    Uring,
    /// epoll (compio's polling driver).
    Epoll,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Uring => "io_uring",
            Self::Epoll => "epoll",
        })
    }
}

/// Why no runtime could be built.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// `io-backend = "uring"` but the kernel refused io_uring.
    #[error(
        "io-backend \"uring\" requested but io_uring is unavailable: {0} (use \"auto\" or \"epoll\")"
    )]
    UringUnavailable(#[source] io::Error),
    /// The runtime could not be created at all.
    #[error("cannot create the I/O runtime: {0}")]
    Runtime(#[source] io::Error),
    /// `RAMPART_IO_BACKEND` holds something other than auto/uring/epoll.
    #[error("{BACKEND_ENV}={0:?}: expected auto, uring or epoll")]
    BadEnv(String),
}

/// The configured backend, overridden by `RAMPART_IO_BACKEND` when set.
///
/// # Errors
/// [`BackendError::BadEnv`] when the variable holds an unknown value.
pub fn requested(configured: IoBackend) -> Result<IoBackend, BackendError> {
    match std::env::var(BACKEND_ENV) {
        Err(_) => Ok(configured),
        Ok(v) => match v.as_str() {
            "auto" => Ok(IoBackend::Auto),
            "uring" => Ok(IoBackend::Uring),
            "epoll" => Ok(IoBackend::Epoll),
            _ => Err(BackendError::BadEnv(v)),
        },
    }
}

/// Slots in each runtime's queue of tasks woken from other threads.
///
/// compio holds a task in this queue at most once until it runs, and a
/// waker that finds the queue full spins until the owning thread drains
/// it. The waker may hold a channel's lock while it spins (async-channel
/// wakes under its listener lock), and the owning thread may be waiting
/// for that very lock: with compio's default of 64 slots, 500 sessions
/// waiting on a busy shard's inbox deadlocked both workers. A queue with
/// room for every task of a worker (3 to 5 per session) is never full, so
/// the spin cannot start: 2^16 slots (about 1 MiB per worker) cover 13,000
/// sessions per worker.
pub const REMOTE_WAKE_QUEUE: usize = 1 << 16;

/// Builds a single-threaded compio runtime on the requested backend and
/// reports which backend it runs on. Call once per worker thread.
///
/// # Errors
/// [`BackendError::UringUnavailable`] when `uring` is requested and the
/// kernel refuses it; [`BackendError::Runtime`] when even epoll fails.
pub fn runtime(requested: IoBackend) -> Result<(Runtime, Backend), BackendError> {
    let mut proactor = ProactorBuilder::new();
    match requested {
        IoBackend::Auto => {}
        IoBackend::Uring => {
            proactor.driver_type(DriverType::IoUring);
        }
        IoBackend::Epoll => {
            proactor.driver_type(DriverType::Poll);
        }
    }
    let rt = Runtime::builder()
        .with_proactor(proactor)
        .sync_queue_size(REMOTE_WAKE_QUEUE)
        .build()
        .map_err(|e| {
            if requested == IoBackend::Uring {
                BackendError::UringUnavailable(e)
            } else {
                BackendError::Runtime(e)
            }
        })?;
    let backend = match rt.driver_type() {
        DriverType::IoUring => Backend::Uring,
        _ => Backend::Epoll,
    };
    Ok((rt, backend))
}

#[cfg(test)]
mod tests {
    use super::*;
    use compio::io::{AsyncReadExt, AsyncWriteExt};
    use compio::net::{TcpListener, TcpStream};

    fn echo_once(rt: &Runtime) -> Vec<u8> {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = compio::runtime::spawn(async move {
                let (mut s, _) = listener.accept().await.unwrap();
                let compio::BufResult(r, buf) = s.read_exact(Vec::with_capacity(5)).await;
                r.unwrap();
                let compio::BufResult(r, _) = s.write_all(buf).await;
                r.unwrap();
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            let compio::BufResult(r, _) = c.write_all(bytes::Bytes::from_static(b"hello")).await;
            r.unwrap();
            let compio::BufResult(r, buf) = c.read_exact(Vec::with_capacity(5)).await;
            r.unwrap();
            server.await.unwrap();
            buf
        })
    }

    #[test]
    fn epoll_backend_runs_tcp() {
        let (rt, backend) = runtime(IoBackend::Epoll).unwrap();
        assert_eq!(backend, Backend::Epoll);
        assert_eq!(echo_once(&rt), b"hello");
    }

    #[test]
    fn auto_backend_runs_tcp_on_whatever_the_kernel_offers() {
        let (rt, backend) = runtime(IoBackend::Auto).unwrap();
        // Auto must choose io_uring exactly when an explicit io_uring
        // runtime can be built here, and epoll otherwise.
        let uring_works = runtime(IoBackend::Uring).is_ok();
        let want = if uring_works {
            Backend::Uring
        } else {
            Backend::Epoll
        };
        assert_eq!(backend, want);
        assert_eq!(echo_once(&rt), b"hello");
    }
}
