//! rampartd's global allocator: jemalloc, with every block of 2 MiB or more
//! placed on transparent huge pages.
//!
//! The blocks that large are the RIB's bulk arrays: the hash indexes of
//! the Loc-RIB and Adj-RIB-Out tables (4 MiB each at 500,000 prefixes) and
//! the attribute-set interner's table. On 4 KiB pages, a 4 MiB index costs
//! 1,024 page faults when it is built (the table grows by rebuilding its
//! index at twice the size) and a TLB miss on most of its random probes.
//! On 2 MiB pages it costs two faults and two TLB entries.
//!
//! ```text
//! size <  2 MiB   jemalloc as asked
//! size >= 2 MiB   aligned to 2 MiB, madvise(MADV_HUGEPAGE) over its whole
//!                 2 MiB pages: the kernel backs them with huge pages when
//!                 THP is "madvise" or "always" (not when "never")
//! ```
//!
//! The kernel's `defrag` setting decides what a huge page fault does when
//! no free 2 MiB page is at hand (compact, or fall back to 4 KiB pages);
//! either way the block is correct. Small blocks keep 4 KiB pages: a
//! process-wide `thp:always` also puts jemalloc's small-object slabs on
//! huge pages, which measured worse and less steady (bgperf 2 x 500k,
//! realistic table: CPU 0.47-0.49 -> 0.51-0.57 s).
//!
//! This is the only unsafe code of the crate beside the socket options of
//! [`crate::auth`].
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};

use tikv_jemallocator::Jemalloc;

/// A huge page, bytes: blocks of this size and more go on huge pages.
pub const HUGE_PAGE: usize = 2 << 20;

/// jemalloc, with blocks of [`HUGE_PAGE`] bytes and more aligned to a huge
/// page and advised to be backed by huge pages.
#[derive(Debug, Default, Clone, Copy)]
pub struct Allocator;

/// The layout a block is allocated (and freed, and reallocated) with: the
/// caller's, aligned to [`HUGE_PAGE`] when that large. A function of the
/// size and alignment alone, so that every call for one block agrees.
fn placed(layout: Layout) -> Layout {
    if layout.size() < HUGE_PAGE {
        return layout;
    }
    Layout::from_size_align(layout.size(), layout.align().max(HUGE_PAGE)).unwrap_or(layout)
}

/// Advises the kernel to back the whole huge pages of the block at `ptr`
/// (aligned to [`HUGE_PAGE`], `size` bytes) with huge pages. A tail
/// shorter than a huge page is left alone: jemalloc may place other
/// blocks after it. Failure (THP compiled out) only loses the speed-up.
fn advise(ptr: *mut u8, size: usize) {
    let len = size & !(HUGE_PAGE - 1);
    if ptr.is_null() || len == 0 || !(ptr as usize).is_multiple_of(HUGE_PAGE) {
        return;
    }
    // SAFETY: `ptr..ptr + len` lies inside one live block this allocator
    // just handed out; MADV_HUGEPAGE changes how the kernel backs the
    // pages, not their contents.
    unsafe {
        libc::madvise(ptr.cast(), len, libc::MADV_HUGEPAGE);
    }
}

// SAFETY: every call goes to jemalloc with a layout that is a function of
// the caller's (`placed`), so a block is freed and reallocated with the
// layout it was allocated with; the alignment is only ever raised.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let l = placed(layout);
        // SAFETY: forwarded; `l` has the caller's size (non-zero).
        let p = unsafe { Jemalloc.alloc(l) };
        if l.size() >= HUGE_PAGE {
            advise(p, l.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let l = placed(layout);
        // SAFETY: as in `alloc`.
        let p = unsafe { Jemalloc.alloc_zeroed(l) };
        if l.size() >= HUGE_PAGE {
            advise(p, l.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` with `placed(layout)`.
        unsafe { Jemalloc.dealloc(ptr, placed(layout)) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = placed(layout);
        let Ok(wanted) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = placed(wanted);
        if old.align() == new.align() {
            // SAFETY: `ptr` was allocated with `old`; jemalloc keeps the
            // alignment of `old` for the new size.
            let p = unsafe { Jemalloc.realloc(ptr, old, new_size) };
            if new.size() >= HUGE_PAGE {
                advise(p, new_size);
            }
            return p;
        }
        // Crossing the huge-page size: a block of the new alignment, the
        // contents copied, the old block freed.
        // SAFETY: `new` has a non-zero size; the copy stays inside both
        // blocks (the smaller of the two sizes); `ptr` was allocated with
        // `old` and is not used after.
        unsafe {
            let p = self.alloc(wanted);
            if !p.is_null() {
                std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                Jemalloc.dealloc(ptr, old);
            }
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_blocks_keep_their_layout_and_large_ones_go_on_huge_pages() {
        let small = Layout::from_size_align(HUGE_PAGE - 1, 8).unwrap();
        assert_eq!(placed(small), small);
        let large = Layout::from_size_align(HUGE_PAGE, 64).unwrap();
        assert_eq!(placed(large).align(), HUGE_PAGE);
        assert_eq!(placed(large).size(), HUGE_PAGE);
    }

    #[test]
    fn blocks_survive_growing_and_shrinking_across_the_huge_page_size() {
        let a = Allocator;
        let l = Layout::from_size_align(1 << 20, 16).unwrap();
        // SAFETY: each block is used inside its size, reallocated and
        // freed with the layout it has at that point.
        unsafe {
            let p = a.alloc(l);
            assert!(!p.is_null());
            p.write_bytes(0xa5, l.size());
            let q = a.realloc(p, l, 3 * HUGE_PAGE);
            assert!(!q.is_null());
            assert_eq!(
                q as usize % HUGE_PAGE,
                0,
                "a large block is huge-page aligned"
            );
            assert!(
                (0..l.size()).all(|i| *q.add(i) == 0xa5),
                "contents kept growing"
            );
            q.add(l.size()).write_bytes(0x5a, 3 * HUGE_PAGE - l.size());
            let big = Layout::from_size_align(3 * HUGE_PAGE, 16).unwrap();
            let r = a.realloc(q, big, 4096);
            assert!(!r.is_null());
            assert!(
                (0..4096).all(|i| *r.add(i) == 0xa5),
                "contents kept shrinking"
            );
            a.dealloc(r, Layout::from_size_align(4096, 16).unwrap());
            let z = a.alloc_zeroed(big);
            assert!(!z.is_null());
            assert!((0..big.size()).step_by(4093).all(|i| *z.add(i) == 0));
            a.dealloc(z, big);
        }
    }
}
