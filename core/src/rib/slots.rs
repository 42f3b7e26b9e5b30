//! The dense slot storage of a [`PrefixMap`](super::prefix_map) table: a
//! vector in fixed-size chunks.
//!
//! ```text
//! Slots:  chunks: [ [T; 4096] full, [T; 4096] full, ..., [T; <= 4096] last ]
//!         slot i = chunks[i / 4096][i % 4096]
//! ```
//!
//! A plain `Vec` grows by reallocation: every growth copies the whole
//! table to fresh memory (first touches, page faults) and a grown vector
//! carries up to half its room unused. A table of chunks grows by one
//! chunk at a time and never moves a slot past the first chunk, so no more
//! than one chunk is ever spare. The first chunk grows like a `Vec` up to
//! a chunk, so a small table (a group with a few prefixes) stays
//! small.

/// Slots per chunk, log 2: 4096 slots (128 KiB of 32-byte Adj-RIB-Out
/// entries).
pub(crate) const CHUNK_BITS: u32 = 12;

/// A vector of `T` in chunks of `2^B` slots; every chunk but the last is
/// full. Slot positions are dense, from 0 to `len() - 1`. Tests use a
/// small `B` so that a few entries span several chunks.
pub(crate) struct Slots<T, const B: u32 = CHUNK_BITS> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T, const B: u32> std::fmt::Debug for Slots<T, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots").field("len", &self.len).finish()
    }
}

impl<T, const B: u32> Default for Slots<T, B> {
    fn default() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T, const B: u32> Slots<T, B> {
    /// Slots per chunk.
    pub(crate) const CHUNK: usize = 1 << B;

    /// Room for `n` slots in the first chunk (at most a chunk's).
    pub(crate) fn with_capacity(n: usize) -> Self {
        if n == 0 {
            return Self::default();
        }
        Self {
            chunks: vec![Vec::with_capacity(n.min(Self::CHUNK))],
            len: 0,
        }
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slot `i`, or `None` past the last.
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> B)?.get(i & (Self::CHUNK - 1))
    }

    /// Slot `i` mutable, or `None` past the last.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i >> B)?.get_mut(i & (Self::CHUNK - 1))
    }

    /// Appends `value` as slot `len()`.
    pub(crate) fn push(&mut self, value: T) {
        if self.chunks.last().is_none_or(|c| c.len() == Self::CHUNK) {
            // A later chunk takes its full room at once: it will fill.
            let room = if self.chunks.is_empty() {
                4
            } else {
                Self::CHUNK
            };
            self.chunks.push(Vec::with_capacity(room));
        }
        if let Some(chunk) = self.chunks.last_mut() {
            if chunk.len() == chunk.capacity() {
                // The first chunk doubles, up to a chunk's room exactly.
                let room = (2 * chunk.len()).clamp(4, Self::CHUNK);
                chunk.reserve_exact(room - chunk.len());
            }
            chunk.push(value);
            self.len += 1;
        }
    }

    /// Removes the last slot and returns it; a chunk left empty is freed.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let chunk = self.chunks.last_mut()?;
        let value = chunk.pop()?;
        self.len -= 1;
        if chunk.is_empty() {
            self.chunks.pop();
        }
        Some(value)
    }

    /// Removes slot `i`, moving the last slot into its place (the order of
    /// the others does not change).
    pub(crate) fn swap_remove(&mut self, i: usize) -> Option<T> {
        if i >= self.len {
            return None;
        }
        let last = self.pop()?;
        match self.get_mut(i) {
            Some(slot) => Some(std::mem::replace(slot, last)),
            // `i` was the last slot itself.
            None => Some(last),
        }
    }

    /// The slots in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// The slots in order, mutable.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }

    /// The slots from position `i` on.
    pub(crate) fn iter_from(&self, i: usize) -> impl Iterator<Item = &T> {
        let first = self
            .chunks
            .get(i >> B)
            .and_then(|c| c.get(i & (Self::CHUNK - 1)..))
            .unwrap_or_default();
        let rest = self.chunks.get((i >> B) + 1..).unwrap_or_default();
        first.iter().chain(rest.iter().flatten())
    }

    /// Keeps the slots for which `keep` returns true, in order: the kept
    /// slots move down over the dropped ones.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let old = std::mem::take(self);
        for value in old.chunks.into_iter().flatten() {
            if keep(&value) {
                self.push(value);
            }
        }
    }

    /// A single chunk gives its room back down to `n` slots (more chunks
    /// hold no spare room).
    pub(crate) fn shrink_to(&mut self, n: usize) {
        if let [only] = self.chunks.as_mut_slice() {
            only.shrink_to(n);
        }
    }

    /// Bytes allocated: the chunks' room and the chunk list.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * size_of::<Vec<T>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * size_of::<T>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks of 8 slots.
    type Small<T> = Slots<T, 3>;
    const CHUNK: usize = Small::<u64>::CHUNK;

    proptest::proptest! {
        /// Pushes, pops, swap-removes and retains match a `Vec`, and every
        /// chunk but the last stays full.
        #[test]
        fn matches_a_vec(ops in proptest::collection::vec((0u8..5, 0usize..40), 0..400)) {
            let mut s = Small::default();
            let mut v = Vec::new();
            for (n, (op, x)) in ops.into_iter().enumerate() {
                match op {
                    0 | 1 => {
                        s.push(n);
                        v.push(n);
                    }
                    2 => proptest::prop_assert_eq!(s.pop(), v.pop()),
                    3 => {
                        let want = (x < v.len()).then(|| v.swap_remove(x));
                        proptest::prop_assert_eq!(s.swap_remove(x), want);
                    }
                    _ => {
                        s.retain(|e| e % 7 != x % 7);
                        v.retain(|e| e % 7 != x % 7);
                    }
                }
                proptest::prop_assert_eq!(s.len(), v.len());
                let (full, last) = s.chunks.split_at(s.chunks.len().saturating_sub(1));
                proptest::prop_assert!(full.iter().all(|c| c.len() == CHUNK));
                proptest::prop_assert!(last.iter().all(|c| !c.is_empty()));
            }
            proptest::prop_assert_eq!(s.iter().copied().collect::<Vec<_>>(), v.clone());
            for i in 0..v.len() + 2 {
                proptest::prop_assert_eq!(s.get(i), v.get(i));
                let from: Vec<_> = s.iter_from(i).copied().collect();
                proptest::prop_assert_eq!(from, v.get(i..).unwrap_or_default().to_vec());
            }
        }
    }

    #[test]
    fn growth_past_the_first_chunk_never_moves_a_slot_and_spares_at_most_a_chunk() {
        let mut s = Small::with_capacity(3);
        for i in 0..CHUNK as u64 {
            s.push(i);
        }
        assert_eq!(s.heap_bytes(), CHUNK * 8 + s.chunks.capacity() * 24);
        let first: *const u64 = s.get(0).unwrap();
        for i in 0..10 * CHUNK as u64 {
            s.push(i);
            let spare = s.heap_bytes() - s.len() * size_of::<u64>();
            assert!(spare <= CHUNK * 8 + s.chunks.capacity() * 24, "{spare}");
        }
        assert!(std::ptr::eq(first, s.get(0).unwrap()));
    }
}
