//! Interning: keys (host pointers, kernel pointers, names) to dense ids, for every importer
//! that names things millions of times.

/// Interns keys into dense ids: an open-addressing table (linear probing, Fibonacci
/// hashing) of `(key, id)` slots. A trace names a few thousand distinct pointers and a few
/// dozen event names millions of times, so a lookup is one multiply and usually one probe, with
/// no hasher state, tombstones or allocation.
pub(crate) struct IdTable {
    slots: Vec<(u64, u32)>,
    /// `64 - log2(slots.len())`.
    shift: u32,
    len: usize,
}

impl IdTable {
    const EMPTY: u32 = u32::MAX;
    const BITS: u32 = 10;

    pub(crate) fn new() -> Self {
        IdTable {
            slots: vec![(0, Self::EMPTY); 1 << Self::BITS],
            shift: 64 - Self::BITS,
            len: 0,
        }
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift) as usize
    }

    /// The id stored under `key` for which `same(id)` holds, else `next`, inserted.
    #[inline]
    pub(crate) fn get_or_insert(&mut self, key: u64, same: impl Fn(u32) -> bool, next: u32) -> u32 {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        while let Some(&(k, id)) = self.slots.get(i) {
            if id == Self::EMPTY {
                break;
            }
            if k == key && same(id) {
                return id;
            }
            i = (i + 1) & mask;
        }
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = (key, next);
        }
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
        next
    }

    fn grow(&mut self) {
        let bigger = vec![(0, Self::EMPTY); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        self.shift -= 1;
        let mask = self.slots.len() - 1;
        for (k, id) in old.into_iter().filter(|&(_, id)| id != Self::EMPTY) {
            let mut i = self.home(k);
            while self.slots.get(i).is_some_and(|&(_, x)| x != Self::EMPTY) {
                i = (i + 1) & mask;
            }
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = (k, id);
            }
        }
    }
}

/// An FxHash-style hash of a name, eight bytes at a time (names are short).
pub(crate) fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    let mut w = [0u8; 8];
    let rem = chunks.remainder();
    if let Some(dst) = w.get_mut(..rem.len()) {
        dst.copy_from_slice(rem);
    }
    (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}
