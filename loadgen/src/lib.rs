//! `rampart-loadgen`: synthetic and MRT-driven BGP tables, a many-session
//! load generator and convergence meter.
//!
//! - [`synth`]: realistic synthetic tables (real prefix-length, origin, path
//!   and community distributions), seeded and deterministic.
//! - [`dump`]: writes a synthetic table as an MRT TABLE_DUMP_V2 RIB file.
//! - [`table`]: per-speaker feeds of UPDATEs encoded before the clock
//!   starts (synthetic or from an MRT RIB dump, byte-faithful attributes).
//! - [`replay`]: MRT update files replayed at recorded or scaled speed.
//! - [`session`]: one BGP session (speaker or monitor) on compio.
//! - [`churn`]: withdraw/re-announce at a steady rate after convergence,
//!   per-change propagation latency from tagged announcements.
//! - [`monitor`]: what monitor sessions count (prefixes, ADD-PATH paths).
//! - [`run`]: a load run and its figures ([`run::Report`]).
//! - [`report`]: the figures of a run and the human summary.
//! - [`sink`]: a target that accepts sessions and discards.
//! - [`compare`]: the same run against rampartd, BIRD, GoBGP and FRR.
//! - [`procstat`]: the target's CPU and memory from `/proc`.
//! - [`target_memory`]: the target's own account of its table memory,
//!   read at convergence (bytes per stored path).

pub mod churn;
pub mod compare;
pub mod dump;
pub mod monitor;
pub mod procstat;
pub mod replay;
pub mod report;
pub mod run;
pub mod scenario;
pub mod session;
pub mod sink;
pub mod synth;
pub mod table;
pub mod target_memory;

/// A compio runtime on the driver `LOADGEN_DRIVER` names (`uring` or
/// `poll`; default: compio's choice).
///
/// # Errors
/// When the runtime cannot be built.
pub fn runtime() -> std::io::Result<compio::runtime::Runtime> {
    let mut proactor = compio::driver::ProactorBuilder::new();
    match std::env::var("LOADGEN_DRIVER").as_deref() {
        Ok("poll") => {
            proactor.driver_type(compio::driver::DriverType::Poll);
        }
        Ok("uring") => {
            proactor.driver_type(compio::driver::DriverType::IoUring);
        }
        _ => {}
    }
    // Room for every task in the remote-wake queue, as rampartd's workers
    // have (see `rampart_server::io::REMOTE_WAKE_QUEUE`): the gates wake
    // thousands of sessions from another thread at once.
    compio::runtime::Runtime::builder()
        .with_proactor(proactor)
        .sync_queue_size(rampart_server::io::REMOTE_WAKE_QUEUE)
        .build()
}
