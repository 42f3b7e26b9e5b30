//! `msg::header::peek_len` and `msg::Message::decode` over arbitrary byte
//! streams: frame messages one after another as a session would, decode
//! each, and re-encode what decodes.
//!
//! Input: selector byte (see `rampart_fuzz::split_ctx`) ‖ stream bytes.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rampart_core::msg::{Message, header};

fuzz_target!(|data: &[u8]| {
    let Some((ctx, mut stream)) = rampart_fuzz::split_ctx(data) else {
        return;
    };
    // Bounded: every iteration consumes at least a 19-byte header.
    while let Ok(Some(len)) = header::peek_len(stream, ctx.max_message_len()) {
        assert!(
            len >= header::HEADER_LEN,
            "peek_len {len} below the header size"
        );
        assert!(
            len <= ctx.max_message_len(),
            "peek_len {len} above the maximum"
        );
        let Some(frame) = stream.get(..len) else {
            break;
        };
        if let Ok(msg) = Message::decode(frame, &ctx) {
            let mut out = BytesMut::new();
            if msg.encode(&rampart_fuzz::mirror(&ctx), &mut out).is_ok() {
                let n = header::peek_len(&out, usize::from(u16::MAX)).expect("own header");
                assert_eq!(n, Some(out.len()), "encoded length field");
            }
        }
        stream = &stream[len..];
    }
});
