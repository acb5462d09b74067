//! Timestamps other tools put in front of log lines.
//!
//! QEMU's `log` backend prints `tid@sec.usec:` itself with `-msg timestamp=on`
//! ([`super::qemu_log::split_prefix`]); qemu-storage-daemon has no such option, so a daemon
//! log with times was stamped on the way to the file: by moreutils' `ts '%.s'` (`1795598736.163599
//! line`), `ts '[%.s]'`, journald (`journalctl -o short-unix`, `-o short-iso-precise`, each
//! followed by `host ident[pid]: `), or an ISO 8601 stamp. Epoch seconds and ISO stamps with a
//! zone place a line in the QEMU trace's time; a stamp without a date or a zone (`ts`'s default
//! `Nov 01 12:34:56`, an ISO time without offset) is recognised, and said to be unplaceable.

/// A leading stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// No stamp.
    None,
    /// Microseconds since the epoch (UTC).
    Epoch(u64),
    /// A time that cannot be placed: no date (syslog style) or no zone.
    Unplaceable,
}

fn digits(s: &[u8], i: usize, max: usize) -> (u64, usize) {
    let mut v = 0u64;
    let mut j = i;
    while j < s.len() && j - i < max {
        match s.get(j) {
            Some(c) if c.is_ascii_digit() => {
                v = v * 10 + u64::from(c - b'0');
                j += 1;
            }
            _ => break,
        }
    }
    (v, j)
}

/// Fractional seconds `.F` at `i` (1–9 digits) as microseconds, and the end.
fn frac_us(s: &[u8], i: usize) -> (u64, usize) {
    if s.get(i) != Some(&b'.') {
        return (0, i);
    }
    let (v, j) = digits(s, i + 1, 9);
    let n = j - i - 1;
    if n == 0 {
        return (0, i);
    }
    let us = if n >= 6 {
        v / 10u64.pow((n - 6) as u32)
    } else {
        v * 10u64.pow((6 - n) as u32)
    };
    (us, j)
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u64, d: u64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `sec[.frac]` epoch seconds (at least 9 digits: no small counter is taken for a time).
fn epoch(s: &[u8], i: usize) -> Option<(u64, usize)> {
    let (sec, j) = digits(s, i, 12);
    if j - i < 9 {
        return None;
    }
    let (us, k) = frac_us(s, j);
    Some((sec.checked_mul(1_000_000)?.checked_add(us)?, k))
}

/// `YYYY-MM-DD[T ]HH:MM:SS[.frac][Z|±HH[:]MM]`.
fn iso(s: &[u8]) -> Option<(Stamp, usize)> {
    let (y, i) = digits(s, 0, 4);
    let at = |k: usize, c: u8| (s.get(k) == Some(&c)).then_some(());
    (i == 4).then_some(())?;
    at(4, b'-')?;
    let (mo, i) = digits(s, 5, 2);
    (i == 7).then_some(())?;
    at(7, b'-')?;
    let (d, i) = digits(s, 8, 2);
    (i == 10).then_some(())?;
    matches!(s.get(10), Some(b'T' | b' ')).then_some(())?;
    let (h, i) = digits(s, 11, 2);
    (i == 13).then_some(())?;
    at(13, b':')?;
    let (mi, i) = digits(s, 14, 2);
    (i == 16).then_some(())?;
    at(16, b':')?;
    let (se, i) = digits(s, 17, 2);
    (i == 19 && (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && se < 61)
        .then_some(())?;
    let (us, mut i) = frac_us(s, 19);
    let offset: Option<i64> = match s.get(i) {
        Some(b'Z') => {
            i += 1;
            Some(0)
        }
        Some(&c @ (b'+' | b'-')) => {
            let (oh, j) = digits(s, i + 1, 2);
            let j2 = if s.get(j) == Some(&b':') { j + 1 } else { j };
            let (om, k) = digits(s, j2, 2);
            if j != i + 3 || k != j2 + 2 {
                return None;
            }
            i = k;
            let sign = if c == b'-' { -1 } else { 1 };
            Some(sign * (oh as i64 * 3600 + om as i64 * 60))
        }
        _ => None,
    };
    let Some(offset) = offset else {
        return Some((Stamp::Unplaceable, i));
    };
    let days = days_from_civil(y as i64, mo, d);
    let secs = days * 86_400 + (h * 3600 + mi * 60 + se) as i64 - offset;
    let us = u64::try_from(secs).ok()?.checked_mul(1_000_000)? + us;
    Some((Stamp::Epoch(us), i))
}

/// `Mmm dd HH:MM:SS` (syslog, `ts`'s default): no year.
fn syslog(s: &[u8]) -> Option<usize> {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    MONTHS.contains(&s.get(..3)?).then_some(())?;
    (s.get(3) == Some(&b' ')).then_some(())?;
    let mut i = 4;
    if s.get(i) == Some(&b' ') {
        i += 1;
    }
    let (_, j) = digits(s, i, 2);
    (j > i && s.get(j) == Some(&b' ')).then_some(())?;
    let t = s.get(j + 1..j + 9)?;
    let ok = t.iter().enumerate().all(|(k, c)| {
        if k == 2 || k == 5 {
            *c == b':'
        } else {
            c.is_ascii_digit()
        }
    });
    ok.then_some(())?;
    Some(frac_us(s, j + 9).1)
}

/// journald's `host ident[pid]: ` after a stamp.
fn journal_tail(s: &[u8]) -> usize {
    let window = s.get(..96.min(s.len())).unwrap_or_default();
    match window.windows(3).position(|w| w == b"]: ") {
        Some(p) if !window.get(..p).unwrap_or_default().contains(&b'=') => p + 3,
        _ => 0,
    }
}

/// The leading stamp of `line`, if any, and the rest of the line after it (and after a
/// journald `host ident[pid]: `).
pub fn strip(line: &[u8]) -> (Stamp, &[u8]) {
    let found = if line.first() == Some(&b'[') {
        epoch(line, 1)
            .filter(|&(_, e)| line.get(e) == Some(&b']'))
            .map(|(t, e)| (Stamp::Epoch(t), e + 1))
    } else if line.first().is_some_and(u8::is_ascii_digit) {
        iso(line).or_else(|| epoch(line, 0).map(|(t, e)| (Stamp::Epoch(t), e)))
    } else {
        syslog(line).map(|e| (Stamp::Unplaceable, e))
    };
    let Some((stamp, end)) = found.filter(|&(_, e)| line.get(e) == Some(&b' ')) else {
        return (Stamp::None, line);
    };
    let rest = line.get(end + 1..).unwrap_or_default();
    let rest = rest.get(journal_tail(rest)..).unwrap_or_default();
    (stamp, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EV: &[u8] = b"blk_co_preadv blk 0x1 bs 0x2 offset 0 bytes 512 flags 0x0";

    fn with(prefix: &str) -> Vec<u8> {
        let mut v = prefix.as_bytes().to_vec();
        v.extend_from_slice(EV);
        v
    }

    #[test]
    fn epoch_iso_journal_and_undated_stamps() {
        // 2026-11-26T12:32:16.163599Z is 1795696336.163599 (date -u -d @1795696336).
        let t = 1_795_696_336_163_599;
        for p in [
            "1795696336.163599 ",
            "[1795696336.163599] ",
            "1795696336.163599 host qemu-storage-daemon[31507]: ",
            "2026-11-26T12:32:16.163599Z ",
            "2026-11-26T13:32:16.163599+01:00 ",
            "2026-11-26 07:32:16.163599-0500 ",
            "2026-11-26T12:32:16.163599+0000 host qsd[7]: ",
        ] {
            let l = with(p);
            assert_eq!(strip(&l), (Stamp::Epoch(t), EV), "{p}");
        }
        assert_eq!(strip(&with("1795696336 ")), (Stamp::Epoch(t - 163_599), EV));
        for p in [
            "Nov 26 12:32:16 ",
            "Nov  6 12:32:16.5 ",
            "2026-11-26T12:32:16.1 ",
        ] {
            assert_eq!(strip(&with(p)), (Stamp::Unplaceable, EV), "{p}");
        }
        // Not stamps: the event itself, a small number, QEMU's own prefix.
        for l in [
            EV.to_vec(),
            with("12 "),
            with("31507@1795696336.163599:"),
            with("2026-13-01T00:00:00Z "),
        ] {
            assert_eq!(strip(&l).0, Stamp::None, "{}", String::from_utf8_lossy(&l));
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }
}
