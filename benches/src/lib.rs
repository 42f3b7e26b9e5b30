//! Inputs shared by the criterion benches: real MRT data from
//! `../shared/data/mrt`, read with the core's MRT reader.

use std::io::Read;

use rampart_core::iana::MsgType;
use rampart_core::mrt::{Body, MrtReader, open_file};

/// The shared MRT directory.
pub const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/mrt");

/// The decompressed bytes of `DATA/rel`, or `None` after printing why the
/// bench that needs it is skipped.
#[must_use]
pub fn read_all(rel: &str) -> Option<Vec<u8>> {
    let path = format!("{DATA}/{rel}");
    let mut out = Vec::new();
    match open_file(std::path::Path::new(&path)).and_then(|mut r| r.read_to_end(&mut out)) {
        Ok(_) => Some(out),
        Err(e) => {
            eprintln!("skipping: {path}: {e} (see shared/data/README.md)");
            None
        }
    }
}

/// The UPDATE bodies (after the 19-byte header) of every BGP4MP message
/// record in an MRT image.
#[must_use]
pub fn update_bodies(image: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut reader = MrtReader::new(image);
    while let Ok(Some(rec)) = reader.next_record() {
        if let Ok(Body::Bgp4mpMessage(m)) = rec.decode()
            && m.msg_type() == Some(MsgType::Update)
            && let Some(body) = m.body()
        {
            out.push(body.to_vec());
        }
    }
    out
}
