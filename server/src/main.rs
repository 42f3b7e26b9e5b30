//! `rampartd`, the Rampart route server daemon.
//!
//! The daemon itself lands with the daemon issue (#3); until then this binary
//! only reports that and exits non-zero, so no script mistakes it for a
//! running route server.

fn main() -> std::process::ExitCode {
    eprintln!(
        "rampartd {}: the daemon is not built yet (issue #3)",
        env!("CARGO_PKG_VERSION")
    );
    std::process::ExitCode::FAILURE
}
