//! Helpers shared by the integration tests: where the real MRT data lives,
//! which files a test run covers, and the real-daemon [`harness`].

use std::path::{Path, PathBuf};

pub mod harness;

/// The shared real-data directory (`../shared/data` next to the checkout).
#[must_use]
pub fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data"))
}

/// The MRT directory under [`data_dir`], or `None` (after printing why the
/// caller skips) when it is absent.
#[must_use]
pub fn mrt_dir_or_skip(test: &str) -> Option<PathBuf> {
    let d = data_dir().join("mrt");
    if d.is_dir() {
        Some(d)
    } else {
        eprintln!(
            "SKIP {test}: real MRT data not found at {} (see shared/data/README.md)",
            d.display()
        );
        None
    }
}

/// The directory of the 48-hour route-views2 2008 UPDATE set, which is
/// sampled unless [`full_diff`] is set.
pub const BULK_SET: &str = "routeviews2-2008-02-23_24";

/// One file in [`BULK_SET`] out of this many is tested by default.
pub const BULK_SAMPLE_EVERY: usize = 20;

/// True when `RAMPART_FULL_DIFF=1`: test every file of the bulk set.
#[must_use]
pub fn full_diff() -> bool {
    std::env::var("RAMPART_FULL_DIFF").is_ok_and(|v| v == "1")
}

/// Every regular file under `dir`, recursively, sorted by path.
#[must_use]
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The MRT files a differential run covers: every file under `mrt_dir`
/// except that the bulk set is sampled deterministically (every
/// [`BULK_SAMPLE_EVERY`]th file in sorted order, starting with the first)
/// unless [`full_diff`] is set. Returns the files and how many bulk files
/// were left out.
#[must_use]
pub fn mrt_files(mrt_dir: &Path) -> (Vec<PathBuf>, usize) {
    let full = full_diff();
    let mut out = Vec::new();
    let mut bulk_index = 0usize;
    let mut left_out = 0usize;
    for p in walk(mrt_dir) {
        let in_bulk = p.components().any(|c| c.as_os_str() == BULK_SET);
        if in_bulk && !full {
            let keep = bulk_index.is_multiple_of(BULK_SAMPLE_EVERY);
            bulk_index += 1;
            if !keep {
                left_out += 1;
                continue;
            }
        }
        out.push(p);
    }
    (out, left_out)
}

/// A path shortened to what follows `mrt/`, for messages.
#[must_use]
pub fn short(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.split("/mrt/").last().unwrap_or(&s).to_string()
}

pub mod elem;
