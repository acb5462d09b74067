//! The compact, indexed form of a trace, built in one streaming pass.
//!
//! A trace is read chunk by chunk (never whole), each line parsed into a 40-byte [`Event`], host
//! pointers and names interned, and free text appended to one arena. Events are in file order,
//! so "the state at line N" or "at time T" is a binary search away, which is what stepping and
//! `--until-line`/`--until-time` need.

use std::borrow::Cow;
use std::io::Read;

use serde::Serialize;

use super::intern::{IdTable, hash_bytes};
use super::lines::{MAX_LINE, for_each_line, for_each_line_in};
use super::qemu_log::{self, LogParser, LogSink, Prefix};
use super::sniff::InputKind;
use crate::trace::error::{ImportWarning, TraceError, Warnings};
use crate::trace::event::{Event, EventKind, NO_TIME, NameId, ObjId, TextId};

/// Lines read before the event vector is sized for the whole trace
/// ([`Builder::reserve_for_size`]).
const SAMPLE_LINES: u64 = 4096;

/// Accumulates a store while lines stream in.
struct Builder {
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
        }
    }

    fn warn(&mut self, line: u32, offset: u64, message: String, expected: &str, hint: &str) {
        self.warnings.push(ImportWarning {
            file: self.source.clone(),
            line: Some(u64::from(line)),
            offset: Some(offset),
            column: None,
            message,
            expected: expected.to_string(),
            hint: hint.to_string(),
        });
    }

    /// One line of the trace.
    #[inline]
    fn line(&mut self, parser: &mut LogParser, no: u64, offset: u64, line: &[u8]) {
        self.lines += 1;
        if self.lines == SAMPLE_LINES {
            self.reserve_for_size(offset);
        }
        parser.line(self, u32::try_from(no).unwrap_or(u32::MAX), offset, line);
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

impl LogSink for Builder {
    /// Interns a host pointer.
    #[inline]
    fn obj(&mut self, p: u64) -> ObjId {
        let next = self.objects.len() as ObjId;
        let id = self.obj_index.get_or_insert(p, |_| true, next);
        if id == next {
            self.objects.push(p);
        }
        id
    }

    /// Interns an event name.
    fn name(&mut self, n: &[u8]) -> NameId {
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
    fn text(&mut self, t: &[u8]) -> TextId {
        let id = self.spans.len() as TextId;
        self.spans.push((self.text.len() as u64, t.len() as u32));
        self.text.extend_from_slice(t);
        id
    }

    fn push(&mut self, line: u32, p: Prefix, kind: EventKind) {
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

    fn blank_line(&mut self) {
        self.blank_lines += 1;
    }

    /// A line that is not a virtio/vhost event: kept whole, counted.
    fn unknown(&mut self, line: u32, offset: u64, p: Prefix, raw: &[u8], odd: bool) {
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
    fn malformed(
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

impl TraceStore {
    /// Imports a QEMU `log`-backend trace from any reader, in one pass. Only I/O errors fail;
    /// bad lines become unknown events plus warnings.
    pub fn from_reader<R: Read>(r: R, source: &str) -> Result<TraceStore, TraceError> {
        Self::from_sized_reader(r, source, None)
    }

    /// [`TraceStore::from_reader`] for a reader of `size_hint` bytes (a file's length, so
    /// the event vector is sized once).
    pub fn from_sized_reader<R: Read>(
        r: R,
        source: &str,
        size_hint: Option<u64>,
    ) -> Result<TraceStore, TraceError> {
        let mut b = Builder::new(source, size_hint);
        let mut parser = LogParser::default();
        let mut long = Vec::new();
        let res = for_each_line(
            r,
            |no, off, line| b.line(&mut parser, no, off, line),
            |no, off| long.push((no, off)),
        );
        let bytes = res.map_err(|e| TraceError::Io {
            file: source.to_string(),
            message: e.to_string(),
            hint: "check the path and permissions",
        })?;
        Ok(b.finish(bytes, &long))
    }

    /// Imports a trace held in memory (the same result as [`TraceStore::from_reader`] on it).
    pub fn from_bytes(data: &[u8], source: &str) -> TraceStore {
        let mut b = Builder::new(source, Some(data.len() as u64));
        let mut parser = LogParser::default();
        let mut long = Vec::new();
        for_each_line_in(
            data,
            |no, off, line| b.line(&mut parser, no, off, line),
            |no, off| long.push((no, off)),
        );
        b.finish(data.len() as u64, &long)
    }

    /// Imports a trace held in memory and checks that it is one: an empty file, or one in
    /// which no line is a virtio, virtqueue or vhost event (random bytes, a QMP transcript, a
    /// backend log given as the trace), is an error that says what the bytes are instead.
    pub fn parse(data: &[u8], source: &str) -> Result<TraceStore, TraceError> {
        Self::from_bytes(data, source).ensure_trace(data)
    }

    /// This store, if it holds at least one virtio, virtqueue or vhost event; else the error
    /// [`TraceStore::parse`] gives, worded from `head`, the input's first bytes (a streamed
    /// import checks after the fact with the first 64 KiB).
    pub fn ensure_trace(self, head: &[u8]) -> Result<TraceStore, TraceError> {
        let st = &self.stats;
        if st.lines > st.blank_lines + st.unknown_lines {
            return Ok(self);
        }
        let source = self.source;
        let s = super::sniff::sniff(&source, head);
        let hint = match s.kind {
            InputKind::QmpTranscript => "this is a QMP transcript: pass it with --qmp".to_string(),
            InputKind::BackendLog => {
                "this is a backend's log: pass it with --backend beside QEMU's trace".to_string()
            }
            InputKind::DriverTrace => "this is the guest driver's trace: pass it with --guest \
                                        beside QEMU's trace"
                .to_string(),
            InputKind::DpdkLog => {
                "this is DPDK's log: pass it with --dpdk beside QEMU's trace".to_string()
            }
            InputKind::RingDump | InputKind::RingDumpZip | InputKind::RingDumpIndex => {
                "ring dumps go with --rings (a folder or a zip)".to_string()
            }
            InputKind::Scenario | InputKind::SavedSession => {
                "scenarios run with `ringside run` or open with `ringside tui`".to_string()
            }
            _ => "capture with `-trace 'virtqueue_*' -trace 'virtio_*' -trace 'vhost_*' -D FILE` \
                  (traces/README.md)"
                .to_string(),
        };
        let what = match s.kind {
            InputKind::Unknown => s.why,
            k => format!("{} ({}), not a trace", k.describe(), s.why),
        };
        Err(TraceError::Unusable {
            file: source,
            what,
            expected: "a QEMU trace log: lines of virtio_*, virtqueue_* or vhost_* events from \
                       the `log` trace backend"
                .into(),
            hint,
        })
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
        let mut parser = LogParser::default();
        for_each_line_in(
            data,
            |no, off, line| b.line(&mut parser, no, off, line),
            |_, _| {},
        );
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
    fn remembered_names_give_what_a_fresh_parse_gives() {
        // Names that share the memo's words or slots, end one byte early or late, are exactly
        // 32 bytes or longer, are followed by odd bytes, or are not virtio events at all.
        let names: [&str; 14] = [
            "virtio_blk_rw_complete",
            "virtio_blk_req_complete",
            "virtio_blk_rw_complet",
            "virtio_blk_rw_completes",
            "virtio_net_name_of_exactly_32_by",
            "virtio_net_name_of_exactly_32_byt",
            "virtio_rng_a_name_longer_than_thirty_two_bytes",
            "virtio_other_event",
            "vhost_user_something",
            "virtqueue_unmodelled",
            "virtio_blk_rw_complete:",
            "notvirtio_event",
            "virtio_blk_rw_complete\t",
            "virtio_b",
        ];
        let args = [
            " vdev 0x55d6c0a0b1c0 req 0x7f0 ret 0",
            "",
            " rng 0x1: x",
            " x y z and some more words to be long",
        ];
        let resolve = |t: &TraceStore, e: &Event| -> String {
            let k = match e.kind {
                EventKind::Device {
                    obj,
                    device,
                    name,
                    text,
                } => format!(
                    "dev {:x} {device:?} {} {}",
                    t.object(obj),
                    t.name(name),
                    t.text(text)
                ),
                EventKind::Other { family, name, text } => {
                    format!("other {family:?} {} {}", t.name(name), t.text(text))
                }
                EventKind::Unknown { name, text } => {
                    format!("unknown {} {}", t.name(name), t.text(text))
                }
                k => format!("{k:?}"),
            };
            format!("{} {k}", t.event_name(e))
        };
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut lines = Vec::new();
        for _ in 0..3_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut l = if x.is_multiple_of(3) {
                "7@1.000002:"
            } else {
                ""
            }
            .to_string();
            l += names[(x / 3 % 14) as usize];
            l += args[(x / 42 % 4) as usize];
            lines.push(l);
        }
        let whole = TraceStore::from_bytes(lines.join("\n").as_bytes(), "all");
        assert_eq!(whole.events().len(), lines.len());
        for (l, e) in lines.iter().zip(whole.events()) {
            let alone = TraceStore::from_bytes(l.as_bytes(), "one");
            let want = resolve(&alone, &alone.events()[0]);
            assert_eq!(resolve(&whole, e), want, "{l}");
        }
    }
}
