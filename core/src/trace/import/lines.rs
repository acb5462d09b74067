//! Splitting a trace into lines, fast: the importers' first step.
//!
//! A trace is split in place when it is in memory ([`for_each_line_in`]) or read in 1 MiB
//! chunks from any reader ([`for_each_line`]), with the same lines, numbers, offsets and cuts
//! either way. Over-long lines are cut, so a binary file fed by mistake cannot fill memory.

use std::io::Read;

/// Lines longer than this are cut (the rest skipped with a warning): no QEMU trace line comes
/// near it, and it bounds memory when a binary file is fed by mistake.
pub const MAX_LINE: usize = 64 * 1024;

/// Finds the next `\n` eight bytes at a time: the importer spends most of its time here on
/// long lines, and the portable byte loop is several times slower.
fn find_newline(s: &[u8]) -> Option<usize> {
    find_byte(s, b'\n')
}

/// Finds the first `byte` in `s` sixteen bytes at a time (SWAR): the field searches of the
/// importers (a line's end, ftrace's `[cpu]`, `:` and `)`), where a byte loop costs one
/// compare and branch per byte.
#[inline]
pub(crate) fn find_byte(s: &[u8], byte: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let spread = LO.wrapping_mul(u64::from(byte));
    // The high bit of each matching byte; bits above the first match may be wrong (borrows),
    // the lowest one is exact.
    let hits = |c: &[u8]| {
        let x = u64::from_le_bytes(c.try_into().unwrap_or_default()) ^ spread;
        x.wrapping_sub(LO) & !x & HI
    };
    // Sixteen bytes, one branch.
    let mut chunks = s.chunks_exact(16);
    let mut base = 0;
    for c in &mut chunks {
        let (a, b) = c.split_at(8);
        let (fa, fb) = (hits(a), hits(b));
        if fa | fb != 0 {
            let at = if fa != 0 {
                fa.trailing_zeros() / 8
            } else {
                8 + fb.trailing_zeros() / 8
            };
            return Some(base + at as usize);
        }
        base += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == byte)
        .map(|i| base + i)
}

/// Calls `f(line_number, byte_offset, line)` for every complete (`\n`-terminated) line of
/// `buf`, counting on from `line_no`/`offset`, and returns the bytes consumed. Lines longer
/// than [`MAX_LINE`] are passed cut, after `too_long(line_number, offset)`.
#[inline]
fn emit_lines(
    buf: &[u8],
    line_no: &mut u64,
    offset: &mut u64,
    f: &mut impl FnMut(u64, u64, &[u8]),
    too_long: &mut impl FnMut(u64, u64),
) -> usize {
    let mut start = 0;
    while let Some(i) = buf.get(start..).and_then(find_newline) {
        *line_no += 1;
        if i > MAX_LINE {
            too_long(*line_no, *offset);
        }
        f(
            *line_no,
            *offset,
            buf.get(start..start + i.min(MAX_LINE)).unwrap_or_default(),
        );
        *offset += i as u64 + 1;
        start += i + 1;
    }
    start
}

/// Calls `f(line_number, byte_offset, line)` for every line of `r`, reading in 1 MiB chunks.
/// Lines longer than [`MAX_LINE`] are cut; `f` gets the first `MAX_LINE` bytes and
/// `too_long(line_number, offset)` is called.
pub fn for_each_line<R: Read>(
    mut r: R,
    mut f: impl FnMut(u64, u64, &[u8]),
    mut too_long: impl FnMut(u64, u64),
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut filled = 0usize; // bytes valid in buf
    let mut line_no = 0u64;
    let mut offset = 0u64; // file offset of the first byte not yet consumed
    let mut skipping = false; // inside an over-long line
    let mut total = 0u64;
    loop {
        let mut start = 0usize; // first byte of buf not yet consumed
        if skipping {
            // The rest of an over-long line, already passed on cut.
            let end = buf.get(..filled).and_then(find_newline).map(|i| i + 1);
            skipping = end.is_none();
            start = end.unwrap_or(filled);
            offset += start as u64;
        }
        let rest = buf.get(start..filled).unwrap_or_default();
        start += emit_lines(rest, &mut line_no, &mut offset, &mut f, &mut too_long);
        // Keep the partial line; cut it if it is too long already.
        if filled - start > MAX_LINE && !skipping {
            line_no += 1;
            too_long(line_no, offset);
            f(
                line_no,
                offset,
                buf.get(start..start + MAX_LINE).unwrap_or_default(),
            );
            skipping = true;
            offset += (filled - start) as u64;
            start = filled;
        }
        buf.copy_within(start..filled, 0);
        filled -= start;
        if filled == buf.len() {
            // Cannot happen (MAX_LINE < buffer), but never loop forever.
            filled = 0;
        }
        let n = match r.read(buf.get_mut(filled..).unwrap_or_default()) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if n == 0 {
            if filled > 0 && !skipping {
                line_no += 1;
                f(line_no, offset, buf.get(..filled).unwrap_or_default());
            }
            return Ok(total);
        }
        filled += n;
    }
}

/// [`for_each_line`] over bytes already in memory: the same lines, numbers and cuts, without
/// copying the bytes through a read buffer.
pub fn for_each_line_in(
    data: &[u8],
    mut f: impl FnMut(u64, u64, &[u8]),
    mut too_long: impl FnMut(u64, u64),
) {
    let (mut line_no, mut offset) = (0, 0);
    let start = emit_lines(data, &mut line_no, &mut offset, &mut f, &mut too_long);
    let last = data.get(start..).unwrap_or_default();
    if !last.is_empty() {
        line_no += 1;
        if last.len() > MAX_LINE {
            too_long(line_no, offset);
        }
        f(
            line_no,
            offset,
            last.get(..MAX_LINE.min(last.len())).unwrap_or_default(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_search_matches_naive() {
        let s = b"abcdefghij\nklmnop\n";
        assert_eq!(find_newline(s), Some(10));
        assert_eq!(find_newline(b"abc"), None);
        assert_eq!(find_newline(b"\n"), Some(0));
        for n in 0..40 {
            let mut v = vec![b'x'; n];
            v.push(b'\n');
            assert_eq!(find_newline(&v), Some(n));
        }
        // Bytes 0x8a/0x0b around must not fool the bit trick.
        assert_eq!(find_newline(&[0x8a, 0x0b, 0x09, 0x0a]), Some(3));
        // Random mixes of near-newline bytes, one or more newlines, every length to 48.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 49) as usize;
            let v: Vec<u8> = (0..len)
                .map(|k| {
                    [b'a', 0x0a, 0x0b, 0x09, 0x8a, 0x0a ^ 0x80, 0x00][(x >> (k % 61)) as usize % 7]
                })
                .collect();
            assert_eq!(
                find_newline(&v),
                v.iter().position(|&c| c == b'\n'),
                "{v:?}"
            );
            // The same search for the other bytes the importers look for.
            for b in [b'[', b':', b')', b'a', 0x8a, 0x00] {
                assert_eq!(
                    find_byte(&v, b),
                    v.iter().position(|&c| c == b),
                    "{b:#x} in {v:?}"
                );
            }
        }
    }

    #[test]
    fn in_memory_lines_are_the_streamed_lines() {
        let mut data = Vec::new();
        for (i, len) in [0, 5, MAX_LINE - 1, MAX_LINE, MAX_LINE + 1, 3 * MAX_LINE, 7]
            .into_iter()
            .cycle()
            .take(40)
            .enumerate()
        {
            data.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            data.push(b'\n');
        }
        data.extend_from_slice(b"no newline at the end");
        let mut streamed = Vec::new();
        let mut cut = Vec::new();
        for_each_line(
            &data[..],
            |no, off, l| streamed.push((no, off, l.to_vec())),
            |no, off| cut.push((no, off)),
        )
        .unwrap();
        let mut in_memory = Vec::new();
        let mut cut2 = Vec::new();
        for_each_line_in(
            &data,
            |no, off, l| in_memory.push((no, off, l.to_vec())),
            |no, off| cut2.push((no, off)),
        );
        assert_eq!(streamed.len(), 41);
        assert!(
            streamed == in_memory,
            "same lines, numbers, offsets and cuts"
        );
        assert_eq!(cut, cut2);
        // Two over-long lengths in each cycle of seven, plus one in the last five lines.
        assert_eq!(cut.len(), 2 * 5 + 1);
    }

    #[test]
    fn lines_are_split_across_chunks_and_cut_when_too_long() {
        let mut data = Vec::new();
        for i in 0..100_000 {
            data.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        data.extend_from_slice(b"last-without-newline");
        let mut n = 0;
        let mut last = Vec::new();
        for_each_line(
            &data[..],
            |no, _, l| {
                n = no;
                last = l.to_vec();
            },
            |_, _| {},
        )
        .unwrap();
        assert_eq!(n, 100_001);
        assert_eq!(last, b"last-without-newline");

        let mut long = vec![b'a'; MAX_LINE * 3];
        long.extend_from_slice(b"\nnext\n");
        let mut seen = Vec::new();
        let mut cut = 0;
        for_each_line(
            &long[..],
            |no, _, l| seen.push((no, l.len())),
            |_, _| cut += 1,
        )
        .unwrap();
        assert_eq!(seen, vec![(1, MAX_LINE), (2, 4)]);
        assert_eq!(cut, 1);
    }
}
