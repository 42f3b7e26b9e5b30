//! `Update::decode` over arbitrary UPDATE bodies under every decode context
//! (2/4-octet AS, ADD-PATH on/off per family, extended messages).
//!
//! Input: selector byte (see `rampart_fuzz::split_ctx`) ‖ UPDATE body (the
//! bytes after the 19-octet header). Decode must never panic; a result that
//! is not a session reset must be internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::msg::update::{Treatment, Update};

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = rampart_fuzz::split_ctx(data) else {
        return;
    };
    if let Ok(d) = Update::decode(body, &ctx) {
        assert!(
            (d.treatment == Treatment::Normal) == d.errors.is_empty(),
            "treatment {:?} with errors {:?}",
            d.treatment,
            d.errors
        );
        if d.treatment == Treatment::TreatAsWithdraw {
            assert!(d.update.nlri.is_empty(), "treat-as-withdraw kept NLRI");
            assert!(d.update.mp_reach.is_none(), "treat-as-withdraw kept MP_REACH");
        }
    }
});
