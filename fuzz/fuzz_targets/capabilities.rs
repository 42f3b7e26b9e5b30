//! `cap::Capability::decode_all` over arbitrary Capabilities optional
//! parameter values (RFC 5492 §4). Capabilities that decode must encode and
//! decode to the same values.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rampart_core::cap::Capability;

fuzz_target!(|value: &[u8]| {
    let mut caps = Vec::new();
    if Capability::decode_all(value, &mut caps).is_err() {
        return;
    }
    let mut out = BytesMut::new();
    for c in &caps {
        let _ = c.code();
        if c.encode(&mut out).is_err() {
            return;
        }
    }
    let mut again = Vec::new();
    Capability::decode_all(&out, &mut again).expect("re-decode own capabilities");
    assert_eq!(again, caps, "capability round trip");
});
