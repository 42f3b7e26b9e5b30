//! `mrt::MrtReader` (both recovery modes) and the route decoder over
//! arbitrary byte streams (RFC 6396, RFC 8050). Nothing may panic and every
//! loop must end; the input bounds the work.
//!
//! Input: selector byte (bit 0: resync recovery) ‖ MRT stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::mrt::{MrtReader, MrtRoutes, Recovery};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else {
        return;
    };
    let recovery = if sel & 1 != 0 {
        Recovery::Resync
    } else {
        Recovery::Stop
    };
    // Small bound so fuzzed Length fields cannot make the reader allocate
    // much; the reader must still reject them cleanly.
    let reader = MrtReader::new(stream)
        .with_recovery(recovery)
        .with_max_len(1 << 16);
    let mut routes = MrtRoutes::new(reader);
    // Every item consumes input or ends the stream, so this is bounded by
    // the input length; the cap is a guard against a reader bug.
    for _ in 0..(stream.len() + 16) * 64 {
        if routes.next().is_none() {
            break;
        }
    }
    let mut reader = MrtReader::new(stream).with_recovery(recovery);
    let mut records = 0usize;
    // Errors do not end the loop: in resync mode the reader goes on after
    // them. Each call consumes input or ends the stream.
    for _ in 0..(stream.len() + 16) * 4 {
        match reader.next_record() {
            Ok(Some(rec)) => {
                let _ = rec.decode();
                records += 1;
                assert!(
                    records <= stream.len() / 12 + 1,
                    "more records than headers fit"
                );
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
    let stats = reader.stats();
    assert!(
        stats.bytes <= stream.len() as u64,
        "consumed more than the input"
    );
});
