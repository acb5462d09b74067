//! Ring memory: one allocation of 64-byte-aligned lines of 32-bit atomic words, addressed by
//! byte offset exactly as `ringside_core::layout` lays a ring out.
//!
//! Why 32-bit words: every field of both layouts is a whole 16-bit or 32-bit field (a 64-bit
//! `addr` is two words), and every 32-bit word has one writer at a time:
//! - a split descriptor's four words, the available ring (flags and idx, entries in pairs,
//!   `used_event` with padding) and the driver's event area are the driver's;
//! - the used ring (flags and idx, each element's `id` and `len`, `avail_event` with padding)
//!   and the device's event area are the device's;
//! - a packed descriptor's `id`+`flags` word is written whole by whichever side owns the slot,
//!   ownership passing with the flags' release and acquire.
//!
//! So a 16-bit store merges with the other half of its word as the writer last left it (a
//! relaxed load of its own word), with no read-modify-write instruction and no mixed-size
//! access to one location, all in safe code. A 64-bit field is two relaxed words: no protocol
//! reads one before an acquire on an index or flags word has ordered it, so it is never seen
//! torn (the loom model checks exactly that). Lines are aligned so that the ring's cache lines
//! are the ones the cache model counts for the same layout at guest address 0x10000.

use crate::sync::{AtomicU32, Ordering, zero};

/// Bytes in a cache line (the model's default and every x86 core's).
pub const LINE: usize = 64;
const WORDS: usize = LINE / 4;

/// One cache line of words.
#[repr(C, align(64))]
struct Line([AtomicU32; WORDS]);

/// Zeroed shared memory for one ring. Both threads read this handle (the lines' address) on
/// every access, so it gets 128 bytes to itself (two lines, against the adjacent-line
/// prefetcher): a private allocation of either side next to it would otherwise drag it
/// between the CPUs on every write (false sharing).
#[repr(align(128))]
pub struct RingMem {
    lines: Box<[Line]>,
}

/// The shift and mask of the 16-bit field at `addr` inside its word.
#[inline(always)]
fn half(addr: u64) -> (u32, u32) {
    let shift = ((addr & 2) * 8) as u32;
    (shift, 0xffff << shift)
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

    /// The `N` words from `addr`, which must be aligned to `4 * N` bytes (`N` a power of 2 up
    /// to a line): such a run never crosses a line, so one bounds check covers it and the
    /// accesses through the view need none.
    #[inline(always)]
    pub fn view<const N: usize>(&self, addr: u64) -> View<'_, N> {
        debug_assert!(N.is_power_of_two() && N <= WORDS && addr.is_multiple_of(4 * N as u64));
        let w = (addr / 4) as usize;
        let (runs, _) = self.lines[w / WORDS].0.as_chunks::<N>();
        View(&runs[w % WORDS / N])
    }

    #[inline(always)]
    fn word(&self, addr: u64) -> &AtomicU32 {
        &self.view::<1>(addr & !3).0[0]
    }

    /// Loads the 16-bit field at `addr` (2-byte aligned).
    #[inline(always)]
    pub fn load16(&self, addr: u64, order: Ordering) -> u16 {
        (self.word(addr).load(order) >> half(addr).0) as u16
    }

    /// Stores the 16-bit field at `addr`. Only the word's writer may call it (see the module
    /// documentation): the other half keeps the value this thread last stored there.
    #[inline(always)]
    pub fn store16(&self, addr: u64, v: u16, order: Ordering) {
        let w = self.word(addr);
        w.store(merge(w, addr, v), order)
    }

    /// [`store16`](Self::store16), then a full barrier: Linux's `virtio_store_mb`
    /// (`smp_store_mb`, an `xchg` on x86).
    #[inline(always)]
    pub fn store16_mb(&self, addr: u64, v: u16) {
        let w = self.word(addr);
        w.swap(merge(w, addr, v), Ordering::SeqCst);
    }

    /// Loads the 32-bit field at `addr` (4-byte aligned).
    #[inline(always)]
    pub fn load32(&self, addr: u64, order: Ordering) -> u32 {
        self.view::<1>(addr).load32(0, order)
    }

    /// Stores the 32-bit field at `addr`.
    #[inline(always)]
    pub fn store32(&self, addr: u64, v: u32, order: Ordering) {
        self.view::<1>(addr).store32(0, v, order)
    }

    /// The little-endian bytes from `addr`, for tests that check the layout byte by byte.
    pub fn bytes(&self, addr: u64, len: u64) -> Vec<u8> {
        (addr..addr + len)
            .map(|a| (self.word(a).load(Ordering::Relaxed) >> ((a & 3) * 8)) as u8)
            .collect()
    }
}

/// `w` with the 16-bit field at `addr` replaced by `v`, the other half as this thread (the
/// word's only writer) last stored it.
#[inline(always)]
fn merge(w: &AtomicU32, addr: u64, v: u16) -> u32 {
    let (shift, mask) = half(addr);
    (w.load(Ordering::Relaxed) & !mask) | u32::from(v) << shift
}

/// `N` consecutive words inside one line, accessed by byte offset from their start. Offsets
/// are constants at every call site, so the indexing compiles to fixed displacements.
#[derive(Clone, Copy)]
pub struct View<'a, const N: usize>(&'a [AtomicU32; N]);

impl<const N: usize> View<'_, N> {
    /// The 32-bit field at byte offset `off` (4-byte aligned).
    #[inline(always)]
    pub fn load32(self, off: u64, order: Ordering) -> u32 {
        self.0[(off / 4) as usize].load(order)
    }

    /// Stores the 32-bit field at byte offset `off`.
    #[inline(always)]
    pub fn store32(self, off: u64, v: u32, order: Ordering) {
        self.0[(off / 4) as usize].store(v, order)
    }

    /// The little-endian 64-bit field at byte offset `off`, relaxed.
    #[inline(always)]
    pub fn load64(self, off: u64) -> u64 {
        let lo = self.load32(off, Ordering::Relaxed);
        u64::from(lo) | u64::from(self.load32(off + 4, Ordering::Relaxed)) << 32
    }

    /// Stores the little-endian 64-bit field at byte offset `off`, relaxed.
    #[inline(always)]
    pub fn store64(self, off: u64, v: u64) {
        self.store32(off, v as u32, Ordering::Relaxed);
        self.store32(off + 4, (v >> 32) as u32, Ordering::Relaxed);
    }
}

/// Two 16-bit fields as the one word they share: `lo` at the lower address.
#[inline(always)]
pub fn join(lo: u16, hi: u16) -> u32 {
    u32::from(lo) | u32::from(hi) << 16
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fields_are_little_endian_at_their_byte_offsets() {
        let m = RingMem::new(100);
        assert_eq!(m.len(), 128);
        let d = m.view::<4>(16);
        d.store64(0, 0x1122_3344_5566_7788);
        d.store32(8, 0xaabb_ccdd, Ordering::Relaxed);
        d.store32(12, join(0x0102, 0x0304), Ordering::Relaxed);
        assert_eq!(
            m.bytes(16, 16),
            [
                0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xdd, 0xcc, 0xbb, 0xaa, 0x02, 0x01,
                0x04, 0x03
            ]
        );
        assert_eq!(d.load64(0), 0x1122_3344_5566_7788);
        assert_eq!(m.load32(24, Ordering::Relaxed), 0xaabb_ccdd);
        assert_eq!(m.load16(28, Ordering::Relaxed), 0x0102);
        assert_eq!(m.load16(30, Ordering::Relaxed), 0x0304);
        // A 16-bit store keeps the other half of its word.
        m.store16(30, 0xbeef, Ordering::Relaxed);
        m.store16_mb(98, 0x5a5a);
        assert_eq!(m.bytes(28, 4), [0x02, 0x01, 0xef, 0xbe]);
        assert_eq!(m.bytes(96, 4), [0, 0, 0x5a, 0x5a]);
        // The last descriptor of the first line, and the first of the second.
        m.view::<4>(48).store64(0, u64::MAX);
        m.view::<4>(64)
            .store32(12, join(0, 0xabcd), Ordering::Relaxed);
        let mut second = vec![0; 14];
        second.extend([0xcd, 0xab]);
        assert_eq!(m.bytes(64, 16), second);
        assert_eq!(m.bytes(48, 8), [0xff; 8]);
    }
}
