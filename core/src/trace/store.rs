//! The compact, indexed form of a trace, built in one streaming pass.
//!
//! A trace is read chunk by chunk (never whole), each line parsed into a 40-byte [`Event`], host
//! pointers and names interned, and free text appended to one arena. Events are in file order,
//! so "the state at line N" or "at time T" is a binary search away, which is what stepping and
//! `--until-line`/`--until-time` need.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use serde::Serialize;

use super::error::{ImportWarning, TraceError, Warnings};
use super::event::{Event, EventKind, NO_TIME, NameId, ObjId, TextId};
use super::qemu_log::{self, Prefix};

/// Interns keys into dense ids: an open-addressing table (linear probing, Fibonacci
/// hashing) of `(key, id)` slots. A trace names a few thousand distinct pointers and a few
/// dozen event names millions of times, so a lookup is one multiply and usually one probe, with
/// no hasher state, tombstones or allocation.
struct IdTable {
    slots: Vec<(u64, u32)>,
    /// `64 - log2(slots.len())`.
    shift: u32,
    len: usize,
}

impl IdTable {
    const EMPTY: u32 = u32::MAX;
    const BITS: u32 = 10;

    fn new() -> Self {
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
    fn get_or_insert(&mut self, key: u64, same: impl Fn(u32) -> bool, next: u32) -> u32 {
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
fn hash_bytes(b: &[u8]) -> u64 {
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

/// Lines read before the event vector is sized for the whole trace
/// ([`Builder::reserve_for_size`]).
const SAMPLE_LINES: u64 = 4096;

/// Lines longer than this are cut (the rest skipped with a warning): no QEMU trace line comes
/// near it, and it bounds memory when a binary file is fed by mistake.
pub const MAX_LINE: usize = 64 * 1024;

/// Accumulates a store while lines stream in.
pub(crate) struct Builder {
    source: String,
    events: Vec<Event>,
    objects: Vec<u64>,
    obj_index: IdTable,
    names: Vec<String>,
    name_index: IdTable,
    text: Vec<u8>,
    spans: Vec<(u64, u32)>,
    lines: u64,
    blank_lines: u64,
    unknown_lines: u64,
    malformed_lines: u64,
    binary_lines: u64,
    timestamps: u64,
    warnings: Warnings,
    /// The trace's size in bytes, when known before reading it: sizes the event vector.
    size_hint: Option<u64>,
    /// The last line's prefix, for [`qemu_log::PrefixMemo::split`].
    pub(crate) prefix_memo: qemu_log::PrefixMemo,
    /// Event names seen lately, for `qemu_log`'s unmodelled events.
    pub(crate) name_memo: qemu_log::NameMemo,
}

impl Builder {
    fn new(source: &str, size_hint: Option<u64>) -> Self {
        Builder {
            source: source.to_string(),
            events: Vec::new(),
            objects: Vec::new(),
            obj_index: IdTable::new(),
            names: Vec::new(),
            name_index: IdTable::new(),
            text: Vec::new(),
            spans: Vec::new(),
            lines: 0,
            blank_lines: 0,
            unknown_lines: 0,
            malformed_lines: 0,
            binary_lines: 0,
            timestamps: 0,
            warnings: Warnings::default(),
            size_hint,
            prefix_memo: qemu_log::PrefixMemo::default(),
            name_memo: qemu_log::NameMemo::default(),
        }
    }

    /// Interns a host pointer.
    #[inline]
    pub(crate) fn obj(&mut self, p: u64) -> ObjId {
        let next = self.objects.len() as ObjId;
        let id = self.obj_index.get_or_insert(p, |_| true, next);
        if id == next {
            self.objects.push(p);
        }
        id
    }

    /// Interns an event name.
    pub(crate) fn name(&mut self, n: &[u8]) -> NameId {
        let next = self.names.len() as NameId;
        let names = &self.names;
        let same = |id: u32| names.get(id as usize).is_some_and(|x| x.as_bytes() == n);
        let id = self.name_index.get_or_insert(hash_bytes(n), same, next);
        if id == next {
            self.names.push(String::from_utf8_lossy(n).into_owned());
        }
        id
    }

    /// Keeps a piece of text.
    pub(crate) fn text(&mut self, t: &[u8]) -> TextId {
        let id = self.spans.len() as TextId;
        self.spans.push((self.text.len() as u64, t.len() as u32));
        self.text.extend_from_slice(t);
        id
    }

    pub(crate) fn push(&mut self, line: u32, p: Prefix, kind: EventKind) {
        if p.time_us != NO_TIME {
            self.timestamps += 1;
        }
        self.events.push(Event {
            time_us: p.time_us,
            line,
            tid: p.tid,
            kind,
        });
    }

    pub(crate) fn blank_line(&mut self) {
        self.blank_lines += 1;
    }

    fn warn(&mut self, line: u32, offset: u64, message: String, expected: &str, hint: &str) {
        self.warnings.push(ImportWarning {
            file: self.source.clone(),
            line: Some(u64::from(line)),
            offset: Some(offset),
            message,
            expected: expected.to_string(),
            hint: hint.to_string(),
        });
    }

    /// A line that is not a virtio/vhost event: kept whole, counted.
    pub(crate) fn unknown(&mut self, line: u32, offset: u64, p: Prefix, raw: &[u8], odd: bool) {
        self.unknown_lines += 1;
        let printable = raw
            .iter()
            .all(|&c| c == b'\t' || (c >= 0x20 && c != 0x7f) || c >= 0x80)
            && std::str::from_utf8(raw).is_ok();
        let name = if printable && !odd {
            let first = raw.split(|&c| c == b' ').next().unwrap_or_default();
            let (_, word) = qemu_log::split_prefix(first);
            self.name(word)
        } else {
            self.name(b"<garbage>")
        };
        if !printable {
            self.binary_lines += 1;
            self.warn(
                line,
                offset,
                "binary data (control bytes or invalid UTF-8) where a text trace line is expected"
                    .into(),
                "a QEMU `log` trace-backend text line",
                "pass the file written by `-D`/`-trace file=`, not a binary trace (simpletrace) or a dump",
            );
        }
        let text = self.text(raw);
        self.push(line, p, EventKind::Unknown { name, text });
    }

    /// A virtio event whose arguments do not match QEMU 7.2's format (often a truncated line).
    pub(crate) fn malformed(
        &mut self,
        line: u32,
        offset: u64,
        name: &[u8],
        expected: &str,
        p: Prefix,
        raw: &[u8],
    ) {
        self.malformed_lines += 1;
        self.warn(
            line,
            offset,
            format!(
                "malformed or truncated `{}` event, kept as an unknown line",
                String::from_utf8_lossy(name)
            ),
            expected,
            "a trace cut off by a crash ends mid-line; other QEMU versions may print other formats",
        );
        self.unknown_lines += 1;
        let name = self.name(name);
        let text = self.text(raw);
        self.push(line, p, EventKind::Unknown { name, text });
    }

    /// One line of the trace.
    #[inline]
    fn line(&mut self, no: u64, offset: u64, line: &[u8]) {
        self.lines += 1;
        if self.lines == SAMPLE_LINES {
            self.reserve_for_size(offset);
        }
        qemu_log::parse_line(self, u32::try_from(no).unwrap_or(u32::MAX), offset, line);
    }

    /// Sizes the event vector for the whole trace once the first [`SAMPLE_LINES`] lines, which
    /// took `bytes`, show how long its lines are (plus 5 %): one allocation instead of growth
    /// by doubling, which copies the vector (or maps and faults in fresh pages) at each step.
    #[cold]
    fn reserve_for_size(&mut self, bytes: u64) {
        if let Some(total) = self.size_hint {
            let lines = total as f64 * SAMPLE_LINES as f64 / bytes.max(1) as f64 * 1.05;
            // Never more than one event per 16 bytes (no QEMU event line is that short), so
            // short first lines cannot make it reserve wildly; a failed reservation only
            // means the vector grows as usual.
            let lines = (lines as u64).min(total / 16);
            let more = usize::try_from(lines)
                .unwrap_or(usize::MAX)
                .saturating_sub(self.events.len());
            let _ = self.events.try_reserve_exact(more);
        }
    }

    /// The store, with a warning for each over-long line `(line, offset)` that was cut.
    fn finish(mut self, bytes: u64, cut: &[(u64, u64)]) -> TraceStore {
        for &(no, off) in cut {
            self.warn(
                u32::try_from(no).unwrap_or(u32::MAX),
                off,
                format!("line longer than {MAX_LINE} bytes, cut"),
                "QEMU trace lines (well under 1 KiB)",
                "this is probably not a text trace",
            );
        }
        self.events.shrink_to_fit();
        TraceStore {
            source: self.source,
            events: self.events,
            objects: self.objects,
            names: self.names,
            text: self.text,
            spans: self.spans,
            stats: ImportStats {
                bytes,
                lines: self.lines,
                blank_lines: self.blank_lines,
                unknown_lines: self.unknown_lines,
                malformed_lines: self.malformed_lines,
                binary_lines: self.binary_lines,
                timestamped_events: self.timestamps,
            },
            warnings: self.warnings,
        }
    }
}

/// Counts from an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    /// Bytes read.
    pub bytes: u64,
    /// Lines read (including blank and unknown ones).
    pub lines: u64,
    /// Empty lines (not events).
    pub blank_lines: u64,
    /// Lines kept as [`EventKind::Unknown`] (includes malformed and binary ones).
    pub unknown_lines: u64,
    /// Virtio events whose arguments did not parse (truncated lines).
    pub malformed_lines: u64,
    /// Lines with control bytes or invalid UTF-8.
    pub binary_lines: u64,
    /// Events that carried a `tid@sec.usec:` prefix.
    pub timestamped_events: u64,
}

/// A whole trace in compact indexed form.
#[derive(Debug, Clone)]
pub struct TraceStore {
    source: String,
    events: Vec<Event>,
    objects: Vec<u64>,
    names: Vec<String>,
    text: Vec<u8>,
    spans: Vec<(u64, u32)>,
    /// Counts.
    pub stats: ImportStats,
    /// Problems met while importing.
    pub warnings: Warnings,
}

/// Finds the next `\n` eight bytes at a time: the importer spends most of its time here on
/// long lines, and the portable byte loop is several times slower.
fn find_newline(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    // The high bit of each `\n` byte; bits above the first `\n` may be wrong (borrows), the
    // lowest one is exact.
    let newlines = |c: &[u8]| {
        let x = u64::from_le_bytes(c.try_into().unwrap_or_default()) ^ NL;
        x.wrapping_sub(LO) & !x & HI
    };
    // Sixteen bytes, one branch.
    let mut chunks = s.chunks_exact(16);
    let mut base = 0;
    for c in &mut chunks {
        let (a, b) = c.split_at(8);
        let (fa, fb) = (newlines(a), newlines(b));
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
        .position(|&c| c == b'\n')
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

impl TraceStore {
    /// Imports a QEMU `log`-backend trace from any reader, in one pass. Only I/O errors fail;
    /// bad lines become unknown events plus warnings.
    pub fn from_reader<R: Read>(r: R, source: &str) -> Result<TraceStore, TraceError> {
        Self::from_sized_reader(r, source, None)
    }

    /// [`TraceStore::from_reader`] for a reader of `size_hint` bytes, if known.
    fn from_sized_reader<R: Read>(
        r: R,
        source: &str,
        size_hint: Option<u64>,
    ) -> Result<TraceStore, TraceError> {
        let mut b = Builder::new(source, size_hint);
        let mut long = Vec::new();
        let res = for_each_line(
            r,
            |no, off, line| b.line(no, off, line),
            |no, off| long.push((no, off)),
        );
        let bytes = res.map_err(|e| TraceError::Io {
            file: source.to_string(),
            source: e,
            hint: "check the path and permissions",
        })?;
        Ok(b.finish(bytes, &long))
    }

    /// Imports a trace held in memory (the same result as [`TraceStore::from_reader`] on it).
    pub fn from_bytes(data: &[u8], source: &str) -> TraceStore {
        let mut b = Builder::new(source, Some(data.len() as u64));
        let mut long = Vec::new();
        for_each_line_in(
            data,
            |no, off, line| b.line(no, off, line),
            |no, off| long.push((no, off)),
        );
        b.finish(data.len() as u64, &long)
    }

    /// Opens and imports a trace file.
    pub fn open(path: &Path) -> Result<TraceStore, TraceError> {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| TraceError::Io {
            file: name.clone(),
            source: e,
            hint: "check the path; QEMU writes the trace where `-D` points",
        })?;
        let size = f.metadata().ok().map(|m| m.len());
        Self::from_sized_reader(f, &name, size)
    }

    /// The file name the trace came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// All events in file order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The host pointer an [`ObjId`] stands for (0 if out of range).
    pub fn object(&self, id: ObjId) -> u64 {
        self.objects.get(id as usize).copied().unwrap_or(0)
    }

    /// An interned event name.
    pub fn name(&self, id: NameId) -> &str {
        self.names.get(id as usize).map_or("?", String::as_str)
    }

    /// Kept text (lossily decoded when it is not UTF-8).
    pub fn text(&self, id: TextId) -> Cow<'_, str> {
        let bytes = self
            .spans
            .get(id as usize)
            .and_then(|&(s, l)| self.text.get(s as usize..s as usize + l as usize))
            .unwrap_or_default();
        String::from_utf8_lossy(bytes)
    }

    /// The event name of any event, as QEMU prints it.
    pub fn event_name(&self, e: &Event) -> &str {
        match e.kind {
            EventKind::QueueNotify { .. } => "virtio_queue_notify",
            EventKind::Notify { irqfd: false, .. } => "virtio_notify",
            EventKind::Notify { irqfd: true, .. } => "virtio_notify_irqfd",
            EventKind::AllocElement { .. } => "virtqueue_alloc_element",
            EventKind::Pop { .. } => "virtqueue_pop",
            EventKind::Fill { .. } => "virtqueue_fill",
            EventKind::Flush { .. } => "virtqueue_flush",
            EventKind::SetStatus { .. } => "virtio_set_status",
            EventKind::RunState { .. } => "virtio_rng_vm_state_change",
            EventKind::VhostDev { start: true, .. } => "vhost_dev_start",
            EventKind::VhostDev { start: false, .. } => "vhost_dev_stop",
            EventKind::VhostUser { reply: false, .. } => "vhost_user_write",
            EventKind::VhostUser { reply: true, .. } => "vhost_user_read",
            EventKind::Device { name, .. }
            | EventKind::Other { name, .. }
            | EventKind::Unknown { name, .. } => self.name(name),
        }
    }

    /// Number of events whose line is `<= line`: the step index at which `--until-line line`
    /// stops.
    pub fn steps_until_line(&self, line: u64) -> usize {
        self.events.partition_point(|e| u64::from(e.line) <= line)
    }

    /// Number of events whose time is `<= t` (µs since the epoch). Events without a timestamp
    /// never stop the search: a trace without timestamps is taken whole.
    pub fn steps_until_time(&self, t: u64) -> usize {
        // Timestamps are monotonic per thread but threads interleave; a linear scan for the
        // first later event is exact and still fast next to parsing.
        self.events
            .iter()
            .position(|e| e.time_us != NO_TIME && e.time_us > t)
            .unwrap_or(self.events.len())
    }

    /// Approximate heap bytes held, for the memory-per-event figure.
    pub fn heap_bytes(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<Event>()
            + self.objects.capacity() * 8
            + self.names.iter().map(|n| n.capacity() + 24).sum::<usize>()
            + self.text.capacity()
            + self.spans.capacity() * 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `data` to a builder told its size, as `from_bytes` does.
    fn built(data: &[u8]) -> Builder {
        let mut b = Builder::new("t", Some(data.len() as u64));
        for_each_line_in(data, |no, off, line| b.line(no, off, line), |_, _| {});
        b
    }

    #[test]
    fn the_event_vector_is_sized_once_from_the_first_lines() {
        let line = b"7@1.000001:virtqueue_flush vq 0x55d6c0a0b1c0 count 1\n";
        let data = line.repeat(10_000);
        let b = built(&data);
        assert_eq!(b.events.len(), 10_000);
        // Sized for about 10 500 events; growth by doubling would have left 16 384.
        assert!(
            (10_000..=10_600).contains(&b.events.capacity()),
            "{}",
            b.events.capacity()
        );

        // Short first lines do not make it reserve more than one event per 16 bytes.
        let mut data = b"x\n".repeat(5_000);
        data.extend_from_slice(&[b'y'; 200_000]);
        data.push(b'\n');
        let b = built(&data);
        assert_eq!(b.events.len(), 5_001);
        assert!(
            b.events.capacity() <= data.len() / 16,
            "{}",
            b.events.capacity()
        );
    }

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
