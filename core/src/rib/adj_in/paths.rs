//! [`Paths`]: the paths of one prefix, 16 bytes in the table slot.

use std::ops::{Deref, DerefMut};

use thin_vec::ThinVec;

use crate::rib::Path;

/// The paths of one prefix, at most one per `(peer, path_id)`; reads as a
/// slice. Most prefixes have one path (each tenant announces its own), so
/// one path is held inline and more move to a heap vector:
///
/// ```text
/// One(Path)              16 bytes, no allocation
/// Many(ThinVec<Path>)    8-byte pointer (the tag is the Arc's null niche)
///                        + heap: 16-byte header + 16 bytes per path,
///                        grown by a quarter, not doubled
/// ```
///
/// Empty (a transient state: the table drops a prefix with no path) is
/// `Many` of an empty vector, which allocates nothing.
#[derive(Debug, Clone)]
pub enum Paths {
    /// Exactly one path.
    One(Path),
    /// Zero, or two and more paths.
    Many(ThinVec<Path>),
}

// The slot layout the RIB's memory figures assume.
const _: () = assert!(size_of::<Paths>() == 16);

impl Default for Paths {
    fn default() -> Self {
        Self::Many(ThinVec::new())
    }
}

impl Paths {
    /// No paths; allocates nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `path` (the caller keeps keys unique).
    pub fn push(&mut self, path: Path) {
        match self {
            Self::Many(v) if v.is_empty() => *self = Self::One(path),
            Self::Many(v) => {
                if v.len() == v.capacity() {
                    // Grow by a quarter instead of doubling: a prefix seen
                    // by 17 peers then wastes one slot, not 15.
                    v.reserve_exact((v.len() / 4).max(1));
                }
                v.push(path);
            }
            Self::One(_) => {
                let Self::One(first) = std::mem::take(self) else {
                    return;
                };
                let mut v = ThinVec::with_capacity(2);
                v.push(first);
                v.push(path);
                *self = Self::Many(v);
            }
        }
    }

    /// Removes and returns the path at `i`, shifting the later ones down;
    /// `None` when `i` is out of range. A vector left with one path goes
    /// back inline.
    pub fn remove(&mut self, i: usize) -> Option<Path> {
        match self {
            Self::One(_) if i == 0 => match std::mem::take(self) {
                Self::One(p) => Some(p),
                Self::Many(_) => None,
            },
            Self::One(_) => None,
            Self::Many(v) if i < v.len() => {
                let p = v.remove(i);
                if v.len() == 1
                    && let Some(last) = v.pop()
                {
                    *self = Self::One(last);
                }
                Some(p)
            }
            Self::Many(_) => None,
        }
    }

    /// Heap bytes held (the vector's header and capacity; none inline).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        match self {
            Self::Many(v) if v.capacity() > 0 => {
                2 * size_of::<usize>() + v.capacity() * size_of::<Path>()
            }
            _ => 0,
        }
    }
}

impl Deref for Paths {
    type Target = [Path];

    fn deref(&self) -> &[Path] {
        match self {
            Self::One(p) => std::slice::from_ref(p),
            Self::Many(v) => v,
        }
    }
}

impl DerefMut for Paths {
    fn deref_mut(&mut self) -> &mut [Path] {
        match self {
            Self::One(p) => std::slice::from_mut(p),
            Self::Many(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr::PathAttributes;
    use crate::rib::{AttrSet, PeerId};

    fn path(peer: u32) -> Path {
        let attrs = AttrSet::new(PathAttributes::default());
        Path::new(attrs, PeerId::new(peer).unwrap(), 0)
    }

    fn peers(p: &Paths) -> Vec<u32> {
        p.iter().map(|p| p.peer().get()).collect()
    }

    #[test]
    fn one_path_inline_more_on_the_heap_and_back() {
        let mut p = Paths::new();
        assert!(p.is_empty() && p.heap_bytes() == 0);
        p.push(path(1));
        assert!(matches!(p, Paths::One(_)) && p.heap_bytes() == 0);
        p.push(path(2));
        p.push(path(3));
        assert_eq!(peers(&p), [1, 2, 3]);
        assert!(p.heap_bytes() > 0);
        assert_eq!(p.remove(1).map(|x| x.peer().get()), Some(2));
        assert_eq!(p.remove(5).map(|x| x.peer().get()), None);
        assert_eq!(peers(&p), [1, 3]);
        assert_eq!(p.remove(0).map(|x| x.peer().get()), Some(1));
        // One left: inline again, the vector freed.
        assert!(matches!(p, Paths::One(_)) && p.heap_bytes() == 0);
        assert_eq!(p.remove(1).map(|x| x.peer().get()), None);
        assert_eq!(p.remove(0).map(|x| x.peer().get()), Some(3));
        assert!(p.is_empty() && p.heap_bytes() == 0);
    }

    #[test]
    fn growth_is_by_a_quarter() {
        let mut p = Paths::new();
        for i in 0..17 {
            p.push(path(i));
        }
        let Paths::Many(v) = &p else {
            panic!("17 paths inline")
        };
        assert!(
            v.capacity() >= 17 && v.capacity() <= 17 + 17 / 4,
            "{}",
            v.capacity()
        );
    }
}
