//! Findings: what went wrong in a replayed trace, QMP snapshot or ring dump.
//!
//! Each finding has a short kebab-case code (stable, for scripts and `ringside check`), a
//! severity, where the evidence is (trace line and time, or the QMP/dump file), and a message
//! worded like QEMU's or Linux's own error where one exists, so that a user can search for it.
//! The detectors themselves run inside [`crate::trace::replay`] (streaming checks and end-state
//! checks) and [`crate::trace::ringdump`] (dump checks); this module defines the vocabulary and
//! the pure checks both share.

use std::fmt;

use serde::Serialize;

use crate::layout::vring_need_event;

/// How bad a finding is: the same scale the engine's findings use. `ringside check` exits 1
/// when an [`Severity::Error`] exists.
pub use crate::finding::Severity;

/// The finding codes, one per detector.
pub mod code {
    /// Work pending and no wakeup armed: both sides asleep.
    pub const STALL: &str = "stall";
    /// A notification the event-idx/flags rules require did not happen.
    pub const MISSING_NOTIFICATION: &str = "missing-notification";
    /// A notification with nothing new to report.
    pub const SPURIOUS_NOTIFICATION: &str = "spurious-notification";
    /// A kick the device never acted on.
    pub const KICK_UNSERVICED: &str = "kick-unserviced";
    /// A buffer popped and never completed while later ones were.
    pub const LEAK: &str = "leak";
    /// Buffers still in flight where the replay window ends.
    pub const IN_FLIGHT: &str = "in-flight";
    /// A buffer completed twice.
    pub const DOUBLE_COMPLETION: &str = "double-completion";
    /// A completion of a buffer never popped.
    pub const UNKNOWN_COMPLETION: &str = "unknown-completion";
    /// `virtqueue_flush` count differs from the fills before it.
    pub const FLUSH_MISMATCH: &str = "flush-mismatch";
    /// More buffers in flight than the queue has entries.
    pub const SIZE_EXCEEDED: &str = "size-exceeded";
    /// `avail.idx` moved more than the queue size past `last_avail_idx`.
    pub const AVAIL_IDX_JUMP: &str = "avail-idx-jump";
    /// A used id out of range, or `used.idx` ahead of what the device completed.
    pub const USED_IDX_JUMP: &str = "used-idx-jump";
    /// A head index `>= Q` in the available ring.
    pub const BAD_HEAD: &str = "bad-head";
    /// A `next` index `>= Q`.
    pub const BAD_NEXT: &str = "bad-next";
    /// A descriptor chain that loops (or is longer than the queue).
    pub const LOOPED_DESCRIPTOR: &str = "looped-descriptor";
    /// A device-readable descriptor after a device-writable one.
    pub const DESCRIPTOR_ORDER: &str = "descriptor-order";
    /// A zero-length buffer.
    pub const ZERO_LENGTH: &str = "zero-length";
    /// An indirect descriptor misused (bad size, with NEXT).
    pub const INDIRECT_MISUSE: &str = "indirect-misuse";
    /// Packed wrap counter disagrees with the ring.
    pub const WRAP_DESYNC: &str = "wrap-desync";
    /// Packed buffer IDs differ between head and last descriptor: the spec (and QEMU since 9.1)
    /// read the last, QEMU 4.2 to 9.0 the head.
    pub const BUFFER_ID_PLACEMENT: &str = "buffer-id-placement";
    /// Used packed descriptor with `len` but no WRITE flag.
    pub const USED_LEN_WITHOUT_WRITE: &str = "used-len-without-write";
    /// Reserved flag bits set: a shift constant used as a mask.
    pub const SHIFT_AS_MASK: &str = "shift-as-mask";
    /// Event suppression area holds values only the other area can hold: areas swapped.
    pub const AREA_SWAP: &str = "area-swap";
    /// EVENT_IDX negotiated but the event index never written.
    pub const EVENT_IDX_UNUSED: &str = "event-idx-unused";
    /// QMP state disagrees with the replayed counters.
    pub const QMP_MISMATCH: &str = "qmp-mismatch";
    /// A ring dump disagrees with the replayed counters or QMP.
    pub const DUMP_MISMATCH: &str = "dump-mismatch";
    /// QEMU marked a device broken or NEEDS_RESET.
    pub const DEVICE_BROKEN: &str = "device-broken";
    /// A reset dropped buffers in flight.
    pub const RESET_IN_FLIGHT: &str = "reset-in-flight";
    /// Lines the importer did not understand.
    pub const UNKNOWN_LINES: &str = "unknown-lines";
    /// Input problems (from importer warnings).
    pub const BAD_INPUT: &str = "bad-input";
}

/// Every code with its usual severity and what it means (for docs and `--help`).
pub const CATALOGUE: &[(&str, Severity, &str)] = &[
    (
        code::STALL,
        Severity::Error,
        "work pending on a queue, no wakeup armed, both sides idle",
    ),
    (
        code::MISSING_NOTIFICATION,
        Severity::Error,
        "a notification the flags/event-idx rules require never happened",
    ),
    (
        code::SPURIOUS_NOTIFICATION,
        Severity::Info,
        "a notification with nothing new since the previous one",
    ),
    (
        code::KICK_UNSERVICED,
        Severity::Warning,
        "the driver kicked, there was work, the device never popped",
    ),
    (
        code::LEAK,
        Severity::Warning,
        "a buffer popped and never completed while later buffers were",
    ),
    (
        code::IN_FLIGHT,
        Severity::Info,
        "buffers still in flight where the replay window ends",
    ),
    (
        code::DOUBLE_COMPLETION,
        Severity::Error,
        "the same popped buffer completed twice",
    ),
    (
        code::UNKNOWN_COMPLETION,
        Severity::Warning,
        "a completion of a buffer that was never popped",
    ),
    (
        code::FLUSH_MISMATCH,
        Severity::Error,
        "a flush count differs from the number of fills before it",
    ),
    (
        code::SIZE_EXCEEDED,
        Severity::Error,
        "QEMU's \"Virtqueue size exceeded\": more buffers in flight than entries",
    ),
    (
        code::AVAIL_IDX_JUMP,
        Severity::Error,
        "QEMU's \"Guest moved used index from %u to %u\": avail.idx jumped by more than Q",
    ),
    (
        code::USED_IDX_JUMP,
        Severity::Error,
        "Linux's \"id %u out of range\" / used.idx ahead of completions",
    ),
    (
        code::BAD_HEAD,
        Severity::Error,
        "QEMU's \"Guest says index %u is available\"",
    ),
    (
        code::BAD_NEXT,
        Severity::Error,
        "QEMU's \"Desc next is %u\"",
    ),
    (
        code::LOOPED_DESCRIPTOR,
        Severity::Error,
        "QEMU's \"Looped descriptor\"",
    ),
    (
        code::DESCRIPTOR_ORDER,
        Severity::Error,
        "QEMU's \"Incorrect order for descriptors\"",
    ),
    (
        code::ZERO_LENGTH,
        Severity::Error,
        "QEMU's \"virtio: zero sized buffers are not allowed\"",
    ),
    (
        code::INDIRECT_MISUSE,
        Severity::Error,
        "QEMU's \"Invalid size for indirect buffer table\", INDIRECT with NEXT",
    ),
    (
        code::WRAP_DESYNC,
        Severity::Error,
        "a packed wrap counter disagrees with the descriptors' AVAIL/USED bits",
    ),
    (
        code::BUFFER_ID_PLACEMENT,
        Severity::Warning,
        "packed chain whose head and last descriptor carry different buffer IDs (QEMU 4.2 to 9.0 read the head's, the spec and QEMU 9.1 the last's)",
    ),
    (
        code::USED_LEN_WITHOUT_WRITE,
        Severity::Info,
        "used packed descriptor with len but no WRITE flag (strict drivers read 0)",
    ),
    (
        code::SHIFT_AS_MASK,
        Severity::Warning,
        "reserved flag bits set: a bit number used where a mask belongs",
    ),
    (
        code::AREA_SWAP,
        Severity::Warning,
        "event suppression area holds an impossible value: driver/device areas swapped?",
    ),
    (
        code::EVENT_IDX_UNUSED,
        Severity::Warning,
        "EVENT_IDX negotiated but the device never wrote avail_event",
    ),
    (
        code::QMP_MISMATCH,
        Severity::Error,
        "QEMU's QMP counters disagree with the replayed trace",
    ),
    (
        code::DUMP_MISMATCH,
        Severity::Error,
        "a ring dump disagrees with the replayed trace or QMP",
    ),
    (
        code::DEVICE_BROKEN,
        Severity::Error,
        "QEMU flagged the device broken / NEEDS_RESET (a virtio_error happened)",
    ),
    (
        code::RESET_IN_FLIGHT,
        Severity::Info,
        "a device reset discarded buffers in flight",
    ),
    (
        code::UNKNOWN_LINES,
        Severity::Info,
        "trace lines that are not virtio/vhost events, kept and counted",
    ),
    (
        code::BAD_INPUT,
        Severity::Warning,
        "an input problem reported by an importer",
    ),
];

/// One thing a detector found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case code (see [`code`]).
    pub code: &'static str,
    /// How bad.
    pub severity: Severity,
    /// Trace line of the event that shows it (or of the QMP record).
    pub line: Option<u64>,
    /// Trace time (µs since the epoch) when the line had a timestamp.
    pub time_us: Option<u64>,
    /// Device (`virtio-blk@0x55e60c401370`).
    pub device: Option<String>,
    /// Queue index.
    pub queue: Option<u16>,
    /// Where the evidence is when it is not the trace (QMP file, dump file).
    pub evidence: Option<String>,
    /// What is wrong, in QEMU's/Linux's words where they have them.
    pub message: String,
}

impl Finding {
    /// A finding with just a code, severity and message; add context with the builders.
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity,
            line: None,
            time_us: None,
            device: None,
            queue: None,
            evidence: None,
            message: message.into(),
        }
    }
    /// Sets the trace line and time.
    pub fn at(mut self, line: u64, time_us: Option<u64>) -> Finding {
        self.line = Some(line);
        self.time_us = time_us;
        self
    }
    /// Sets device and queue.
    pub fn on(mut self, device: impl Into<String>, queue: Option<u16>) -> Finding {
        self.device = Some(device.into());
        self.queue = queue;
        self
    }
    /// Sets the evidence file.
    pub fn from_file(mut self, f: impl Into<String>) -> Finding {
        self.evidence = Some(f.into());
        self
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.severity, self.code)?;
        if let Some(e) = &self.evidence {
            write!(f, " {e}")?;
        }
        if let Some(l) = self.line {
            write!(f, " line {l}")?;
        }
        if let Some(t) = self.time_us {
            write!(f, " @{}", crate::trace::event::fmt_time(t))?;
        }
        if let Some(d) = &self.device {
            write!(f, " {d}")?;
            if let Some(q) = self.queue {
                write!(f, " q{q}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// Whether any finding is an error (what `ringside check` exits 1 on).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// QEMU's check in `virtqueue_num_heads`: the driver may not make more than Q buffers available
/// past `last_avail_idx`. Returns QEMU's message when it would fire.
pub fn avail_jump(last_avail: u16, avail_idx: u16, size: u32) -> Option<String> {
    let heads = avail_idx.wrapping_sub(last_avail);
    (u32::from(heads) > size)
        .then(|| format!("Guest moved used index from {last_avail} to {avail_idx}"))
}

/// The split-ring used-buffer notification rule QEMU applies in `virtio_split_should_notify`
/// with EVENT_IDX: notify iff `used_event` lies in `(signalled_used, used_idx]`, i.e.
/// `vring_need_event(used_event, used_idx, signalled_used)`, or when the last signal is not
/// valid.
pub fn split_should_notify(
    used_event: u16,
    used_idx: u16,
    signalled_used: u16,
    signalled_valid: bool,
) -> bool {
    !signalled_valid || vring_need_event(used_event, used_idx, signalled_used)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avail_jump_uses_modular_distance() {
        // 65530 -> 4 is 10 heads: fine for Q=16, not for Q=8.
        assert_eq!(avail_jump(65530, 4, 16), None);
        assert_eq!(
            avail_jump(65530, 4, 8).as_deref(),
            Some("Guest moved used index from 65530 to 4")
        );
    }

    #[test]
    fn notify_window_is_half_open_on_the_old_side() {
        // Signalled at 5, now 8: event 5 was already covered, 6..=7 fire (vring_need_event's
        // [old, new) window is over the index *before* the entry written).
        assert!(!split_should_notify(4, 8, 5, true));
        assert!(split_should_notify(5, 8, 5, true));
        assert!(split_should_notify(7, 8, 5, true));
        assert!(!split_should_notify(8, 8, 5, true));
        assert!(split_should_notify(8, 8, 5, false));
    }

    #[test]
    fn catalogue_codes_are_kebab_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (c, _, _) in CATALOGUE {
            assert!(
                c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
            assert!(seen.insert(*c), "{c} twice");
        }
    }
}
