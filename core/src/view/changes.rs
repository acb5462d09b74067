//! What changed, and the bytes a frame reads: the address ranges stored to since the previous
//! cursor position (strong) and since the mark (weak), and the ring areas read once per frame.

use super::*;

/// Sorted, merged address ranges `[start, end)` stored to in a step range.
#[derive(Debug, Default)]
pub(super) struct Stores {
    ranges: Vec<(u64, u64)>,
    fields: Vec<Field>,
}

impl Stores {
    pub(super) fn between(log: &[Access], a: u64, b: u64) -> Self {
        let (lo, hi) = (a.min(b) as usize, a.max(b) as usize);
        let slice = log.get(lo..hi.min(log.len())).unwrap_or(&[]);
        let mut ranges = Vec::new();
        let mut fields = Vec::new();
        for x in slice.iter().filter(|x| x.kind == AccessKind::Store) {
            match x.space {
                Space::Guest => ranges.push((x.addr, x.addr + u64::from(x.size.max(1)))),
                Space::Transport => fields.push(x.field),
            }
        }
        // Merging needs the starts in order only; comparing one key is cheaper than the pair.
        ranges.sort_unstable_by_key(|r| r.0);
        let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
        for (s, e) in ranges {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Stores {
            ranges: merged,
            fields,
        }
    }

    /// The first address in `[start, end)` stored to, if any.
    pub(super) fn first_in(&self, start: u64, end: u64) -> Option<u64> {
        let i = self.ranges.partition_point(|r| r.1 <= start);
        self.ranges
            .get(i)
            .filter(|r| r.0 < end)
            .map(|r| r.0.max(start))
    }

    pub(super) fn hits(&self, addr: u64, len: u64) -> bool {
        let i = self.ranges.partition_point(|r| r.1 <= addr);
        self.ranges.get(i).is_some_and(|r| r.0 < addr + len)
    }
}

/// Change levels for a session position.
pub(super) struct Changes {
    pub(super) strong: Stores,
    pub(super) weak: Stores,
}

impl Changes {
    pub(super) fn at(&self, addr: u64, len: u64) -> Change {
        if self.strong.hits(addr, len) {
            Change::Strong
        } else if self.weak.hits(addr, len) {
            Change::Weak
        } else {
            Change::None
        }
    }

    pub(super) fn field(&self, f: Field) -> Change {
        if self.strong.fields.contains(&f) {
            Change::Strong
        } else if self.weak.fields.contains(&f) {
            Change::Weak
        } else {
            Change::None
        }
    }

    pub(super) fn step(&self, step: u64, cursor: u64, ctx: &ViewContext<'_>) -> Change {
        let within = |a: u64, b: u64| a.min(b) <= step && step <= a.max(b);
        if step == cursor || (ctx.previous != cursor && within(ctx.previous, cursor)) {
            Change::Strong
        } else if ctx.mark.is_some_and(|m| within(m, cursor)) {
            Change::Weak
        } else {
            Change::None
        }
    }
}

/// The bytes of the ring areas at the cursor, read once per frame.
pub(super) struct Bytes {
    base: u64,
    data: Vec<u8>,
}

impl Bytes {
    pub(super) fn read(session: &mut Session, base: u64, len: u64) -> Self {
        let mut data = vec![0u8; len as usize];
        session.peek(base, &mut data);
        Bytes { base, data }
    }

    pub(super) fn le(&self, addr: u64, size: usize) -> u64 {
        let off = addr.wrapping_sub(self.base) as usize;
        let mut b = [0u8; 8];
        if let Some(s) = self.data.get(off..off + size) {
            b[..size].copy_from_slice(s);
        }
        u64::from_le_bytes(b)
    }
    pub(super) fn u16(&self, addr: u64) -> u16 {
        self.le(addr, 2) as u16
    }
    pub(super) fn u32(&self, addr: u64) -> u32 {
        self.le(addr, 4) as u32
    }
}
