//! Number formatting for the few thousand cells a frame holds, without `format!`'s machinery
//! (docs/PERFORMANCE.md, TUI paint).

use super::*;

/// Appends `v` in decimal, right-aligned in `width` columns. The frame formats a few thousand
/// numbers per paint; this skips `format!`'s machinery (docs/PERFORMANCE.md, TUI paint).
pub(super) fn push_dec(out: &mut String, v: u64, width: usize) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let digits = buf.len() - i;
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(digits)));
    out.extend(buf[i..].iter().map(|&d| char::from(d)));
}

/// `v` in decimal.
pub(super) fn dec(v: u64) -> String {
    let mut s = String::with_capacity(20);
    push_dec(&mut s, v, 0);
    s
}

/// Appends `0x` and `v` in hex, zero-padded to at least `digits` digits (as `{v:#0w$x}`).
pub(super) fn push_hex(out: &mut String, v: u64, digits: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let n = ((64 - v.leading_zeros() as usize).div_ceil(4))
        .max(digits)
        .max(1);
    out.push_str("0x");
    out.extend((0..n).rev().map(|k| {
        let nibble = if k < 16 { (v >> (4 * k)) & 15 } else { 0 };
        char::from(HEX[nibble as usize])
    }));
}

pub(super) fn push_flag_letters(out: &mut String, flags: u16) {
    for (bit, c) in [
        (VIRTQ_DESC_F_NEXT, 'N'),
        (VIRTQ_DESC_F_WRITE, 'W'),
        (VIRTQ_DESC_F_INDIRECT, 'I'),
    ] {
        out.push(if flags & bit != 0 { c } else { '·' });
    }
}

#[cfg(test)]
mod number_tests {
    use super::*;

    #[test]
    fn hand_formatting_matches_format() {
        for v in [0u64, 1, 9, 10, 255, 4096, 65535, 0x1234_5678_9abc, u64::MAX] {
            assert_eq!(dec(v), v.to_string());
            for w in [0, 3, 5] {
                let mut s = String::new();
                push_dec(&mut s, v, w);
                assert_eq!(s, format!("{v:>w$}"));
            }
            for d in [0, 4] {
                let mut s = String::new();
                push_hex(&mut s, v, d);
                assert_eq!(s, format!("{v:#0w$x}", w = d + 2), "{v} {d}");
            }
        }
    }
}
