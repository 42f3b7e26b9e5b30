//! `Prefix::decode` over arbitrary bytes, any AFI (RFC 4271 §4.3).
//!
//! The first byte picks the family (IPv4, IPv6 or an unsupported AFI); the
//! rest is decoded as a run of length-prefixed prefixes. Every decoded
//! prefix must consume exactly its wire length and survive encode → decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::iana::Afi;
use rampart_core::nlri::Prefix;
use rampart_core::wire::Reader;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let afi = match sel % 3 {
        0 => Afi::Ipv4,
        1 => Afi::Ipv6,
        _ => Afi::from(u16::from(sel)),
    };
    let mut r = Reader::new(rest);
    while !r.is_empty() {
        let before = r.position();
        let Ok(p) = Prefix::decode(&mut r, afi) else {
            break;
        };
        assert_eq!(r.position() - before, p.wire_len(), "consumed != wire_len");
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(out.len(), p.wire_len());
        let again = Prefix::decode(&mut Reader::new(&out), afi).expect("re-decode");
        assert_eq!(again, p, "prefix round trip");
    }
});
