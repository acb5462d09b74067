//! Ring memory: one allocation of 64-byte-aligned lines of 16-bit atomic words, addressed by
//! byte offset exactly as `ringside_core::layout` lays a ring out.
//!
//! Every field of both layouts is 2-byte aligned and a whole number of 16-bit words, so 16-bit
//! atomics cover them all without `unsafe` and without mixed-size access to one location. A
//! 32- or 64-bit field is two or four relaxed word accesses: no ring protocol reads such a field
//! before an acquire on a 16-bit index or flags word has ordered it, so it is never observed torn
//! (the loom model checks exactly that). The lines are aligned so that the ring's cache lines are
//! the ones the cache model counts for the same layout at guest address 0x10000.

use crate::sync::{AtomicU16, Ordering, zero};

/// Bytes in a cache line (the model's default and every x86 core's).
pub const LINE: usize = 64;
const WORDS: usize = LINE / 2;

/// One cache line of words.
#[repr(C, align(64))]
struct Line([AtomicU16; WORDS]);

/// Zeroed shared memory for one ring.
pub struct RingMem {
    lines: Box<[Line]>,
}

impl RingMem {
    /// At least `bytes` bytes of zeroed memory, starting on a line boundary.
    pub fn new(bytes: u64) -> RingMem {
        let n = usize::try_from(bytes).unwrap_or(usize::MAX).div_ceil(LINE);
        RingMem {
            lines: (0..n)
                .map(|_| Line(std::array::from_fn(|_| zero())))
                .collect(),
        }
    }

    /// Bytes held.
    pub fn len(&self) -> u64 {
        (self.lines.len() * LINE) as u64
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    #[inline(always)]
    fn word(&self, addr: u64) -> &AtomicU16 {
        let w = (addr / 2) as usize;
        &self.lines[w / WORDS].0[w % WORDS]
    }

    /// Loads the 16-bit field at `addr` (2-byte aligned).
    #[inline(always)]
    pub fn load16(&self, addr: u64, order: Ordering) -> u16 {
        self.word(addr).load(order)
    }

    /// Stores the 16-bit field at `addr`.
    #[inline(always)]
    pub fn store16(&self, addr: u64, v: u16, order: Ordering) {
        self.word(addr).store(v, order)
    }

    /// Stores the 16-bit field at `addr` and then acts as a full barrier: Linux's
    /// `virtio_store_mb` (`smp_store_mb`, an `xchg` on x86).
    #[inline(always)]
    pub fn store16_mb(&self, addr: u64, v: u16) {
        self.word(addr).swap(v, Ordering::SeqCst);
    }

    /// Loads a little-endian 32-bit field, relaxed.
    #[inline(always)]
    pub fn load32(&self, addr: u64) -> u32 {
        let lo = self.load16(addr, Ordering::Relaxed);
        let hi = self.load16(addr + 2, Ordering::Relaxed);
        u32::from(lo) | u32::from(hi) << 16
    }

    /// Stores a little-endian 32-bit field, relaxed.
    #[inline(always)]
    pub fn store32(&self, addr: u64, v: u32) {
        self.store16(addr, v as u16, Ordering::Relaxed);
        self.store16(addr + 2, (v >> 16) as u16, Ordering::Relaxed);
    }

    /// Loads a little-endian 64-bit field, relaxed.
    #[inline(always)]
    pub fn load64(&self, addr: u64) -> u64 {
        u64::from(self.load32(addr)) | u64::from(self.load32(addr + 4)) << 32
    }

    /// Stores a little-endian 64-bit field, relaxed.
    #[inline(always)]
    pub fn store64(&self, addr: u64, v: u64) {
        self.store32(addr, v as u32);
        self.store32(addr + 4, (v >> 32) as u32);
    }

    /// The little-endian bytes from `addr`, for tests that check the layout byte by byte.
    pub fn bytes(&self, addr: u64, len: u64) -> Vec<u8> {
        (addr..addr + len)
            .map(|a| {
                let w = self.load16(a & !1, Ordering::Relaxed);
                if a & 1 == 0 { w as u8 } else { (w >> 8) as u8 }
            })
            .collect()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fields_are_little_endian_at_their_byte_offsets() {
        let m = RingMem::new(100);
        assert_eq!(m.len(), 128);
        m.store64(16, 0x1122_3344_5566_7788);
        m.store32(24, 0xaabb_ccdd);
        m.store16(28, 0x0102, Ordering::Relaxed);
        assert_eq!(
            m.bytes(16, 14),
            [
                0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xdd, 0xcc, 0xbb, 0xaa, 0x02, 0x01
            ]
        );
        assert_eq!(m.load64(16), 0x1122_3344_5566_7788);
        assert_eq!(m.load32(24), 0xaabb_ccdd);
        // A field across the line boundary (bytes 62..66) lands in both lines.
        m.store32(62, 0xdead_beef);
        assert_eq!(m.bytes(62, 4), [0xef, 0xbe, 0xad, 0xde]);
    }
}
