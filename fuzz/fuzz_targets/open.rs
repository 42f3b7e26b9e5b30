//! `msg::Open::decode` over arbitrary OPEN bodies (RFC 4271 §4.2, RFC 5492,
//! RFC 9072 extended optional parameters). An OPEN that decodes must encode
//! and decode to the same value.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rampart_core::msg::Open;
use rampart_core::msg::header::HEADER_LEN;

fuzz_target!(|body: &[u8]| {
    let Ok(open) = Open::decode(body) else {
        return;
    };
    let _ = (open.four_octet_as(), open.role(), open.asn());
    let mut out = BytesMut::new();
    if open.encode(&mut out).is_err() {
        return;
    }
    let again = Open::decode(&out[HEADER_LEN..]).expect("re-decode own OPEN");
    assert_eq!(again, open, "OPEN round trip");
});
