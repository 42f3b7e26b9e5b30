//! A cache prefetch hint: the one unsafe call of this crate.
//!
//! The RIB tables are larger than the cache, so a lookup of a random
//! prefix misses it once or twice. A caller that knows which prefixes come
//! next asks for their memory ahead of time ([`PrefixMap::prefetch`](
//! super::prefix_map::PrefixMap::prefetch)); the misses then overlap
//! instead of stalling one after another. A prefetch has no effect on what
//! the program computes, only on when memory arrives.
#![allow(unsafe_code)]

/// Asks the CPU to bring the cache line holding `value` into the cache,
/// without waiting for it. A no-op where no prefetch instruction is used.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 only hints the cache: it never faults, reads no
    // value into the program and writes nothing, whatever the address; the
    // address here is moreover that of a live reference. The intrinsic is
    // `unsafe` only because it carries `#[target_feature(enable = "sse")]`,
    // which every x86_64 CPU has.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(value).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}
