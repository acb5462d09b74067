//! Each misbehaviour a side can be told to commit shows up as a finding, and the run carries
//! on. Who reports it is part of what is tested (`Finding::source`):
//!
//! - **Detected by the other side from the bytes**, in QEMU's or Linux's words: the device
//!   catches `AvailIdxJump`, `BadHead`, `LoopChain`, `WritableFirst`, `IndirectWithNext`
//!   (split and packed), `NestedIndirect`, `IndirectBadSize`; the driver catches `BadUsedId`,
//!   `DoubleComplete` ("not a head"), `LenTooLong`, and QEMU's used descriptors without WRITE.
//! - **Ground truth**, from ringside's ledger and audit, which see both sides: no real peer
//!   could report these, so they are labelled and shown apart, never passed off as caught.
//!   `ReuseInflight` / `ReuseId` (the ledger sees an id added while still outstanding),
//!   `WriteReadable` (a payload store into a device-readable segment; no driver re-reads it),
//!   `EarlyPublish` (the bytes show part of a batch visible before the device's publish),
//!   `SkipKick` / `SkipInterrupt` (a notification due and not sent), the stalls of
//!   `NoRecheck` on either side and `SkipKick`, the lost buffer of `BadUsedId`, and the
//!   interop lint for a packed ID only in the last descriptor.
//! - `WrongWrap` and `NoAvailEvent` show in what does not happen (no buffer comes back, no
//!   kicks), which the tests check directly.

use ringside_core::behaviour::{DeviceFault, DriverFault, IdPlacement, IdSource, UsedWriteFlag};
use ringside_core::config::EngineConfig;
use ringside_core::engine::Engine;
use ringside_core::features::Features;
use ringside_core::finding::{Code, FindingSource};
use ringside_core::layout::RingKind;
use ringside_core::memory::Agent;
use ringside_core::op::Op;
use ringside_core::ring::{BufferSpec, Pick};

fn round(buffer: BufferSpec, n: u16) -> Vec<Op> {
    vec![
        Op::Add { buffer, count: n },
        Op::Publish,
        Op::Kick,
        Op::Pop { max: None },
        Op::Complete {
            count: n,
            pick: Pick::Oldest,
            written: None,
        },
        Op::PublishUsed,
        Op::Interrupt,
        Op::Reclaim { max: None },
    ]
}

fn two_seg() -> BufferSpec {
    BufferSpec {
        readable: vec![16],
        writable: vec![64],
        indirect: false,
    }
}

fn run(cfg: EngineConfig, ops: &[Op]) -> Engine {
    let mut e = Engine::new(cfg).unwrap();
    e.apply(&Op::Negotiate).unwrap();
    for op in Op::flatten(ops) {
        e.apply(&op).unwrap();
    }
    e.audit();
    e
}

fn codes(e: &Engine) -> Vec<Code> {
    e.findings.0.iter().map(|f| f.code).collect()
}

fn with_driver_fault(kind: RingKind, f: Features, fault: DriverFault) -> EngineConfig {
    let mut c = EngineConfig::simple(kind, 8, f);
    c.driver.faults.push(fault);
    c
}

fn with_device_fault(kind: RingKind, f: Features, fault: DeviceFault) -> EngineConfig {
    let mut c = EngineConfig::simple(kind, 8, f);
    c.device.faults.push(fault);
    c
}

#[test]
fn a_clean_run_has_no_findings() {
    for kind in [RingKind::Split, RingKind::Packed] {
        let e = run(
            EngineConfig::simple(kind, 8, Features::EVENT_IDX),
            &[Op::Repeat {
                times: 5,
                ops: round(two_seg(), 3),
            }],
        );
        assert!(e.findings.0.is_empty(), "{kind}: {:?}", e.findings);
    }
}

#[test]
fn driver_faults_are_reported_with_qemus_words() {
    let indirect = BufferSpec {
        readable: vec![16],
        writable: vec![64],
        indirect: true,
    };
    let cases: Vec<(RingKind, Features, DriverFault, BufferSpec, Code, &str)> = vec![
        (
            RingKind::Split,
            Features::NONE,
            DriverFault::AvailIdxJump(20),
            two_seg(),
            Code::AvailIdxJump,
            "Guest moved used index from 0 to 21",
        ),
        (
            RingKind::Split,
            Features::NONE,
            DriverFault::BadHead(9),
            two_seg(),
            Code::HeadOutOfRange,
            "Guest says index 9 is available",
        ),
        (
            RingKind::Split,
            Features::NONE,
            DriverFault::LoopChain,
            BufferSpec {
                readable: vec![16, 16],
                writable: vec![],
                indirect: false,
            },
            Code::LoopedDescriptor,
            "Looped descriptor",
        ),
        (
            RingKind::Split,
            Features::NONE,
            DriverFault::WritableFirst,
            two_seg(),
            Code::ReadableAfterWritable,
            "Incorrect order for descriptors",
        ),
        (
            RingKind::Packed,
            Features::NONE,
            DriverFault::WritableFirst,
            two_seg(),
            Code::ReadableAfterWritable,
            "Incorrect order for descriptors",
        ),
        (
            RingKind::Split,
            Features::INDIRECT_DESC,
            DriverFault::IndirectWithNext,
            indirect.clone(),
            Code::IndirectWithNext,
            "Indirect descriptor with NEXT flag",
        ),
        (
            RingKind::Packed,
            Features::INDIRECT_DESC,
            DriverFault::IndirectWithNext,
            indirect.clone(),
            Code::IndirectWithNext,
            "Indirect descriptor in a NEXT-linked list",
        ),
        (
            RingKind::Split,
            Features::INDIRECT_DESC,
            DriverFault::NestedIndirect,
            indirect.clone(),
            Code::NestedIndirect,
            "Nested indirect descriptor",
        ),
        (
            RingKind::Packed,
            Features::INDIRECT_DESC,
            DriverFault::NestedIndirect,
            indirect.clone(),
            Code::NestedIndirect,
            "Nested indirect descriptor",
        ),
        (
            RingKind::Split,
            Features::INDIRECT_DESC,
            DriverFault::IndirectBadSize,
            indirect.clone(),
            Code::IndirectBadSize,
            "Invalid size for indirect buffer table",
        ),
        (
            RingKind::Packed,
            Features::INDIRECT_DESC,
            DriverFault::IndirectBadSize,
            indirect,
            Code::IndirectBadSize,
            "Invalid size for indirect buffer table",
        ),
    ];
    for (kind, f, fault, buf, code, words) in cases {
        let e = run(with_driver_fault(kind, f, fault), &round(buf, 1));
        let hit = e.findings.0.iter().find(|x| x.code == code);
        let hit =
            hit.unwrap_or_else(|| panic!("{kind} {fault:?}: expected {code}, got {:?}", codes(&e)));
        assert!(hit.message.contains(words), "{fault:?}: {}", hit.message);
        // The device read it in the ring: a detection, by the device.
        assert_eq!(hit.source, FindingSource::Detected, "{kind} {fault:?}");
        assert_eq!(hit.agent(), Some(Agent::Device), "{kind} {fault:?}");
        // The device stops using a broken ring, as QEMU does; nothing was reclaimed.
        assert_eq!(e.ledger.reclaimed, 0, "{fault:?}");
    }
}

#[test]
fn a_skipped_kick_is_a_missed_notification_and_a_stall() {
    let mut ops = vec![
        Op::Add {
            buffer: two_seg(),
            count: 1,
        },
        Op::Publish,
        Op::Kick,
    ];
    let e = run(
        with_driver_fault(RingKind::Split, Features::NONE, DriverFault::SkipKick),
        &ops,
    );
    assert_eq!(codes(&e), vec![Code::MissedNotification, Code::Stall]);
    // The device cannot see a kick that never came: both are ringside's ground truth.
    assert!(
        e.findings
            .0
            .iter()
            .all(|f| f.source == FindingSource::GroundTruth)
    );
    // A kick that was suppressed legitimately is no stall once the device polls.
    ops.push(Op::Pop { max: None });
    let e = run(
        with_driver_fault(RingKind::Split, Features::NONE, DriverFault::SkipKick),
        &ops,
    );
    assert!(!codes(&e).contains(&Code::Stall));
}

#[test]
fn no_recheck_after_enabling_callbacks_misses_the_used_buffer() {
    // The driver drains, then the device completes while callbacks are off; the driver
    // re-enables them. With the fault it does not re-check, and the device saw them disabled:
    // nobody wakes. Without it (Linux's virtqueue_enable_cb) the re-check finds the buffer.
    let ops = vec![
        Op::Add {
            buffer: two_seg(),
            count: 1,
        },
        Op::Publish,
        Op::Kick,
        Op::Pop { max: None },
        Op::DisableInterrupts,
        Op::Complete {
            count: 1,
            pick: Pick::Oldest,
            written: None,
        },
        Op::PublishUsed,
        Op::Interrupt,
        Op::EnableInterrupts,
    ];
    for kind in [RingKind::Split, RingKind::Packed] {
        let e = run(
            with_driver_fault(kind, Features::NONE, DriverFault::NoRecheck),
            &ops,
        );
        assert_eq!(codes(&e), vec![Code::Stall], "{kind}");
        assert_eq!(e.findings.0[0].agent(), Some(Agent::Device), "{kind}");
        assert_eq!(e.counters.interrupts_suppressed, 1);
        // The correct driver: same steps, no fault. Its re-check sees the used buffer, so
        // the end of the run strands nothing.
        let e = run(EngineConfig::simple(kind, 8, Features::NONE), &ops);
        assert!(e.findings.0.is_empty(), "{kind}: {:?}", e.findings);
        assert_eq!(e.counters.interrupts_suppressed, 1, "{kind}");
        assert!(e.counters.driver_recheck.is_some(), "{kind}");
    }
}

#[test]
fn a_device_that_re_enables_without_re_checking_misses_the_kick() {
    // The device drains with notifications off; the driver publishes and rightly skips the
    // kick; the device re-enables. With the fault it does not re-read the ring: a stall.
    // Without it (QEMU's virtio_queue_set_notification, then the re-read) it sees the buffer.
    let ops = vec![
        Op::DisableNotifications,
        Op::Add {
            buffer: two_seg(),
            count: 1,
        },
        Op::Publish,
        Op::Kick,
        Op::EnableNotifications,
    ];
    for kind in [RingKind::Split, RingKind::Packed] {
        let e = run(
            with_device_fault(kind, Features::NONE, DeviceFault::NoRecheck),
            &ops,
        );
        assert_eq!(codes(&e), vec![Code::Stall], "{kind}");
        assert_eq!(e.findings.0[0].agent(), Some(Agent::Driver), "{kind}");
        assert_eq!(e.counters.kicks_suppressed, 1, "{kind}");
        let e = run(EngineConfig::simple(kind, 8, Features::NONE), &ops);
        assert!(e.findings.0.is_empty(), "{kind}: {:?}", e.findings);
        assert_eq!(e.counters.kicks_suppressed, 1, "{kind}");
        // What it found it then pops: the buffer was not stranded.
        let mut e = e;
        e.apply(&Op::Pop { max: None }).unwrap();
        assert_eq!(e.ledger.popped, 1, "{kind}");
    }
}

/// The finding with `code`, which must be there.
fn one(e: &Engine, code: Code) -> &ringside_core::finding::Finding {
    e.findings
        .0
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| panic!("expected {code}, got {:?}", codes(e)))
}

#[test]
fn reusing_inflight_descriptors_and_ids_is_ledger_ground_truth() {
    // Q = 8 and two descriptors per buffer: the fifth buffer has no free descriptors, and the
    // faulty driver writes it over the oldest outstanding chain (split) or reuses its ID
    // (packed). The driver's code does not report its own fault: the ledger sees an id
    // added while it is still outstanding, which no real device could know.
    let ops = vec![
        Op::Add {
            buffer: two_seg(),
            count: 5,
        },
        Op::Publish,
    ];
    let e = run(
        with_driver_fault(RingKind::Split, Features::NONE, DriverFault::ReuseInflight),
        &ops,
    );
    let f = one(&e, Code::OwnershipViolation);
    assert_eq!(f.source, FindingSource::GroundTruth);
    let first = e.ledger.available[0];
    assert!(
        f.message.contains(&format!(
            "desc[{first}], whose chain is still outstanding (added"
        )),
        "{}",
        f.message
    );
    let e = run(
        with_driver_fault(RingKind::Packed, Features::NONE, DriverFault::ReuseId),
        &ops,
    );
    let f = one(&e, Code::IdReused);
    assert_eq!(f.source, FindingSource::GroundTruth);
    assert!(
        f.message
            .contains("buffer ID 0 available while it is still outstanding"),
        "{}",
        f.message
    );
    // Once the device holds the chain, the ledger says so.
    let ops = vec![
        Op::Add {
            buffer: two_seg(),
            count: 4,
        },
        Op::Publish,
        Op::Pop { max: None },
        Op::Add {
            buffer: two_seg(),
            count: 1,
        },
    ];
    let e = run(
        with_driver_fault(RingKind::Split, Features::NONE, DriverFault::ReuseInflight),
        &ops,
    );
    let f = one(&e, Code::OwnershipViolation);
    assert!(
        f.message.contains("(popped, held by the device)"),
        "{}",
        f.message
    );
    // What a real peer does catch is the consequence: the device completes ID 0 twice and
    // Linux's driver finds the second "not a head" (its desc_state for 0 is already free).
    let e = run(
        with_driver_fault(RingKind::Packed, Features::NONE, DriverFault::ReuseId),
        &round(two_seg(), 2),
    );
    let f = one(&e, Code::UsedIdNotOutstanding);
    assert_eq!(f.source, FindingSource::Detected);
    assert_eq!(f.agent(), Some(Agent::Driver));
    assert!(f.message.contains("id 0 is not a head"), "{}", f.message);
}

#[test]
fn device_faults_are_caught_by_the_driver() {
    let cases = [
        (
            DeviceFault::BadUsedId(40),
            Code::UsedIdOutOfRange,
            "id 40 out of range",
        ),
        (
            DeviceFault::BadUsedId(5),
            Code::UsedIdNotOutstanding,
            "id 5 is not a head",
        ),
        (
            DeviceFault::LenTooLong,
            Code::UsedLenTooLong,
            "used len 65 is larger than in buflen 64",
        ),
    ];
    for kind in [RingKind::Split, RingKind::Packed] {
        for (fault, code, words) in cases {
            let e = run(
                with_device_fault(kind, Features::NONE, fault),
                &round(two_seg(), 1),
            );
            let hit = one(&e, code);
            assert!(
                hit.message.contains(words),
                "{kind} {fault:?}: {}",
                hit.message
            );
            // Read by the driver in the used ring, as Linux's BAD_RING checks do.
            assert_eq!(hit.source, FindingSource::Detected, "{kind} {fault:?}");
            assert_eq!(hit.agent(), Some(Agent::Driver), "{kind} {fault:?}");
        }
    }
}

#[test]
fn a_device_writing_a_readable_buffer_is_ground_truth() {
    // No driver re-reads the buffers it offered for reading, so nothing in the ring tells it;
    // ringside sees the device's payload store land in a device-readable segment.
    for kind in [RingKind::Split, RingKind::Packed] {
        let e = run(
            with_device_fault(kind, Features::NONE, DeviceFault::WriteReadable),
            &round(two_seg(), 1),
        );
        let f = one(&e, Code::DeviceWroteReadable);
        assert_eq!(f.source, FindingSource::GroundTruth, "{kind}");
        assert!(
            f.message
                .contains("16 bytes into device-readable buffer 0x"),
            "{}",
            f.message
        );
        // The bytes changed: the 16-byte readable segment now holds the device's 0xee.
        let readable = e
            .bus
            .log()
            .iter()
            .find(|a| {
                a.agent == Agent::Device
                    && matches!(a.field, ringside_core::memory::Field::Payload { .. })
            })
            .map(|a| a.addr)
            .unwrap();
        let mut mem = e.bus.mem.clone();
        assert_eq!(mem.read_le(readable, 1), 0xee, "{kind}");
    }
    // The correct device writes only the writable part: nothing to report.
    let mut cfg = EngineConfig::simple(RingKind::Split, 8, Features::NONE);
    cfg.device.touch_payload = true;
    assert!(run(cfg, &round(two_seg(), 1)).findings.0.is_empty());
}

#[test]
fn a_wrong_id_leaves_the_real_buffer_lost() {
    let e = run(
        with_device_fault(RingKind::Split, Features::NONE, DeviceFault::BadUsedId(40)),
        &round(two_seg(), 1),
    );
    assert_eq!(one(&e, Code::LostBuffer).source, FindingSource::GroundTruth);
}

#[test]
fn double_completion_is_not_a_head_the_second_time() {
    for kind in [RingKind::Split, RingKind::Packed] {
        let ops = vec![
            Op::Add {
                buffer: two_seg(),
                count: 1,
            },
            Op::Publish,
            Op::Pop { max: None },
            Op::Complete {
                count: 1,
                pick: Pick::Oldest,
                written: None,
            },
            Op::Complete {
                count: 1,
                pick: Pick::Oldest,
                written: None,
            },
            Op::PublishUsed,
            Op::Reclaim { max: None },
        ];
        let e = run(
            with_device_fault(kind, Features::NONE, DeviceFault::DoubleComplete),
            &ops,
        );
        assert!(
            codes(&e).contains(&Code::UsedIdNotOutstanding),
            "{kind}: {:?}",
            codes(&e)
        );
        assert_eq!(e.ledger.reclaimed, 1);
    }
}

#[test]
fn a_wrong_wrap_counter_hides_the_used_descriptor() {
    let e = run(
        with_device_fault(RingKind::Packed, Features::NONE, DeviceFault::WrongWrap),
        &round(two_seg(), 1),
    );
    assert_eq!(e.ledger.reclaimed, 0);
    // The driver never sees the buffer come back though it was published and signalled.
    assert_eq!(e.ledger.used.len(), 1);
}

#[test]
fn no_avail_event_means_no_kicks_with_event_idx() {
    // Spec issue #35: a device that negotiates EVENT_IDX and never writes avail_event gets
    // no kicks after the first until the index wraps.
    let cfg = with_device_fault(
        RingKind::Split,
        Features::EVENT_IDX,
        DeviceFault::NoAvailEvent,
    );
    let e = run(
        cfg,
        &[Op::Repeat {
            times: 4,
            ops: round(two_seg(), 1),
        }],
    );
    assert_eq!(e.counters.kicks_needed, 1);
    assert_eq!(e.counters.kicks_suppressed, 3);
    let e = run(
        EngineConfig::simple(RingKind::Split, 8, Features::EVENT_IDX),
        &[Op::Repeat {
            times: 4,
            ops: round(two_seg(), 1),
        }],
    );
    assert_eq!(e.counters.kicks_needed, 4);
}

fn three_seg() -> BufferSpec {
    BufferSpec {
        readable: vec![16, 16],
        writable: vec![64],
        indirect: false,
    }
}

#[test]
fn packed_id_placement_modes_interoperate_as_real_code_does() {
    // Linux (ID in every descriptor) against QEMU before 9.1 (reads the head): fine.
    let mut c = EngineConfig::simple(RingKind::Packed, 8, Features::NONE);
    c.driver.id_placement = IdPlacement::Every;
    c.device.id_source = IdSource::QemuPre91;
    let e = run(
        c,
        &[Op::Repeat {
            times: 3,
            ops: round(three_seg(), 2),
        }],
    );
    assert!(e.findings.0.is_empty(), "{:?}", e.findings);
    assert_eq!(e.ledger.reclaimed, 6);
    // Spec driver (ID only in the last) against QEMU before 9.1: the head holds a stale ID.
    let mut c = EngineConfig::simple(RingKind::Packed, 8, Features::NONE);
    c.device.id_source = IdSource::QemuPre91;
    let e = run(
        c,
        &[Op::Repeat {
            times: 3,
            ops: round(three_seg(), 2),
        }],
    );
    // ringside compares the head's and the last descriptor's ID bytes, which the device
    // under test does not: an interop lint, ground truth.
    let f = one(&e, Code::IdPlacement);
    assert_eq!(f.source, FindingSource::GroundTruth);
    // It says when and where the head-reading device existed.
    assert!(
        f.message
            .contains("(QEMU 4.2 to 9.0; QEMU 9.1 reads the last"),
        "{}",
        f.message
    );
    // The same spec driver against today's QEMU (and the spec's default device): clean.
    let e = run(
        EngineConfig::simple(RingKind::Packed, 8, Features::NONE),
        &[Op::Repeat {
            times: 3,
            ops: round(three_seg(), 2),
        }],
    );
    assert!(e.findings.0.is_empty(), "{:?}", e.findings);
    assert_eq!(e.ledger.reclaimed, 6);
}

#[test]
fn qemu_used_descriptors_without_write_trip_the_strict_driver_lint() {
    let mut c = EngineConfig::simple(RingKind::Packed, 8, Features::NONE);
    c.device.used_write = UsedWriteFlag::Never;
    let e = run(c, &round(two_seg(), 1));
    assert_eq!(codes(&e), vec![Code::UsedLenWithoutWrite]);
    let e = run(
        EngineConfig::simple(RingKind::Packed, 8, Features::NONE),
        &round(two_seg(), 1),
    );
    assert!(e.findings.0.is_empty());
}

#[test]
fn early_publication_exposes_part_of_a_batch() {
    for kind in [RingKind::Split, RingKind::Packed] {
        let e = run(
            with_device_fault(kind, Features::NONE, DeviceFault::EarlyPublish),
            &round(two_seg(), 3),
        );
        let f = one(&e, Code::PartialPublication);
        // No driver read the ring mid-batch: ringside sees the batch exposed in the bytes.
        assert_eq!(f.source, FindingSource::GroundTruth, "{kind}");
        let seen = match kind {
            RingKind::Split => "used.idx reads 2 before the device published its batch of 3",
            RingKind::Packed => "desc[0] is marked used",
        };
        assert!(f.message.contains(seen), "{kind}: {}", f.message);
        // The buffers still all come back: the hazard is the window, not the end state.
        assert_eq!(e.ledger.reclaimed, 3);
        let e = run(
            with_device_fault(kind, Features::NONE, DeviceFault::EarlyPublish),
            &round(two_seg(), 1),
        );
        assert!(
            !codes(&e).contains(&Code::PartialPublication),
            "{kind}: a batch of one is whole"
        );
    }
}
