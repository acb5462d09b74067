//! The trace detectors' vocabulary: what went wrong in a replayed trace, QMP snapshot or ring
//! dump, and the pure checks the detectors share.
//!
//! A finding ([`crate::finding::Finding`], the one type the engine's findings use too) has a
//! short kebab-case code (stable, for scripts and `ringside check`), a severity, where the
//! evidence is (trace line and time, or the QMP/dump file), and a message worded like QEMU's or
//! Linux's own error where one exists, so that a user can search for it. The detectors run
//! inside trace replay (streaming and end-state checks) and the ring-dump decoder; this module
//! imports neither: it sits below them.

use crate::finding::{Code, Severity};

/// Every code with its usual severity and what it means (for docs and `--help`).
pub const CATALOGUE: &[(Code, Severity, &str)] = &[
    (
        Code::Stall,
        Severity::Warning,
        "work pending on a queue, no wakeup armed, both sides idle",
    ),
    (
        Code::MissingNotification,
        Severity::Error,
        "a notification the flags/event-idx rules require never happened",
    ),
    (
        Code::SpuriousNotification,
        Severity::Info,
        "a notification with nothing new since the previous one",
    ),
    (
        Code::KickUnserviced,
        Severity::Warning,
        "the driver kicked, there was work, the device never popped",
    ),
    (
        Code::Leak,
        Severity::Warning,
        "a buffer popped and never completed while later buffers were",
    ),
    (
        Code::InFlight,
        Severity::Info,
        "buffers still in flight where the replay window ends",
    ),
    (
        Code::DoubleCompletion,
        Severity::Error,
        "the same popped buffer completed twice",
    ),
    (
        Code::UnknownCompletion,
        Severity::Warning,
        "a completion of a buffer that was never popped",
    ),
    (
        Code::FlushMismatch,
        Severity::Error,
        "a flush count differs from the number of fills before it",
    ),
    (
        Code::SizeExceeded,
        Severity::Error,
        "QEMU's \"Virtqueue size exceeded\": more buffers in flight than entries",
    ),
    (
        Code::AvailIdxJump,
        Severity::Error,
        "QEMU's \"Guest moved used index from %u to %u\": avail.idx jumped by more than Q",
    ),
    (
        Code::UsedIdxJump,
        Severity::Error,
        "Linux's \"id %u out of range\" / used.idx ahead of completions",
    ),
    (
        Code::BadHead,
        Severity::Error,
        "QEMU's \"Guest says index %u is available\"",
    ),
    (Code::BadNext, Severity::Error, "QEMU's \"Desc next is %u\""),
    (
        Code::LoopedDescriptor,
        Severity::Error,
        "QEMU's \"Looped descriptor\"",
    ),
    (
        Code::DescriptorOrder,
        Severity::Error,
        "QEMU's \"Incorrect order for descriptors\"",
    ),
    (
        Code::ZeroLength,
        Severity::Error,
        "QEMU's \"virtio: zero sized buffers are not allowed\"",
    ),
    (
        Code::IndirectMisuse,
        Severity::Error,
        "QEMU's \"Invalid size for indirect buffer table\", INDIRECT with NEXT",
    ),
    (
        Code::WrapDesync,
        Severity::Error,
        "a packed wrap counter disagrees with the descriptors' AVAIL/USED bits",
    ),
    (
        Code::BufferIdPlacement,
        Severity::Warning,
        "packed chain whose head and last descriptor carry different buffer IDs (QEMU 4.2 to 9.0 read the head's, the spec and QEMU 9.1 the last's)",
    ),
    (
        Code::UsedLenWithoutWrite,
        Severity::Info,
        "used packed descriptor with len but no WRITE flag (strict drivers read 0)",
    ),
    (
        Code::ShiftAsMask,
        Severity::Warning,
        "reserved flag bits set: a bit number used where a mask belongs",
    ),
    (
        Code::AreaSwap,
        Severity::Warning,
        "event suppression area holds an impossible value: driver/device areas swapped?",
    ),
    (
        Code::EventIdxUnused,
        Severity::Warning,
        "EVENT_IDX negotiated but the device never wrote avail_event",
    ),
    (
        Code::QmpMismatch,
        Severity::Error,
        "QEMU's QMP counters disagree with the replayed trace",
    ),
    (
        Code::DumpMismatch,
        Severity::Error,
        "a ring dump disagrees with the replayed trace or QMP",
    ),
    (
        Code::DeviceBroken,
        Severity::Error,
        "QEMU flagged the device broken / NEEDS_RESET (a virtio_error happened)",
    ),
    (
        Code::ResetInFlight,
        Severity::Info,
        "a device reset discarded buffers in flight",
    ),
    (
        Code::UnknownLines,
        Severity::Info,
        "trace lines that are not virtio/vhost events, kept and counted",
    ),
    (
        Code::BadInput,
        Severity::Warning,
        "an input problem reported by an importer",
    ),
    (
        Code::InputUnused,
        Severity::Warning,
        "an input, or a part of one, that replay could not use, and why",
    ),
    (
        Code::KickUnseen,
        Severity::Warning,
        "both sides: the driver wrote the doorbell and the device logged no kick of that queue after it",
    ),
    (
        Code::InterruptUnhandled,
        Severity::Warning,
        "both sides: the device sent a used-buffer notification and the driver's vring_interrupt never ran for that queue",
    ),
    (
        Code::UsedBehind,
        Severity::Warning,
        "both sides: the driver reaped a used buffer long after the device published it",
    ),
    (
        Code::CompletedUnreaped,
        Severity::Warning,
        "both sides: a buffer the device completed that the driver never reaped",
    ),
    (
        Code::AddedUnpopped,
        Severity::Warning,
        "both sides: buffers the driver made available waited long, or for ever, for the device's pop",
    ),
    (
        Code::KickSuppressed,
        Severity::Info,
        "both sides: no kick because the device asked for none (NO_NOTIFY, event-idx window, DISABLE): what explains a missing kick",
    ),
    (
        Code::BufferHeld,
        Severity::Warning,
        "both sides: the device held a popped buffer long before completing it",
    ),
    (
        Code::ClockUnaligned,
        Severity::Error,
        "the guest's and the host's clocks could not be aligned well enough to join the two sides",
    ),
    (
        Code::JoinMismatch,
        Severity::Warning,
        "a cross-check of the join failed: the buffers' pairing is doubtful there",
    ),
    (
        Code::LayoutUnknown,
        Severity::Info,
        "a queue whose ring layout neither the trace, QMP nor a dump tells: ring checks skipped",
    ),
];

/// QEMU's check in `virtqueue_num_heads`: the driver may not make more than Q buffers available
/// past `last_avail_idx`. Returns QEMU's message when it would fire.
pub fn avail_jump(last_avail: u16, avail_idx: u16, size: u32) -> Option<String> {
    let heads = avail_idx.wrapping_sub(last_avail);
    (u32::from(heads) > size)
        .then(|| format!("Guest moved used index from {last_avail} to {avail_idx}"))
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
    fn the_catalogue_describes_every_trace_code_once() {
        let mut listed: Vec<&str> = CATALOGUE.iter().map(|c| c.0.name()).collect();
        let mut codes: Vec<&str> = Code::TRACE.iter().map(|c| c.name()).collect();
        listed.sort_unstable();
        codes.sort_unstable();
        assert_eq!(listed, codes, "each trace code described once");
        for (c, _, what) in CATALOGUE {
            assert!(
                c.name()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{c}"
            );
            assert!(!what.is_empty(), "{c}");
        }
    }
}
