//! Each misbehaviour a side can be told to commit is caught by the other side (or by the
//! engine's audit) as the finding QEMU or Linux would report, and the run carries on.

use ringside_core::behaviour::{DeviceFault, DriverFault, IdPlacement, IdSource, UsedWriteFlag};
use ringside_core::engine::{Engine, EngineConfig};
use ringside_core::features::Features;
use ringside_core::finding::Code;
use ringside_core::layout::RingKind;
use ringside_core::memory::Agent;
use ringside_core::op::Op;
use ringside_core::queue::{BufferSpec, Pick};

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
        assert_eq!(e.findings.0[0].agent, Some(Agent::Device), "{kind}");
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
        assert_eq!(e.findings.0[0].agent, Some(Agent::Driver), "{kind}");
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

#[test]
fn reusing_inflight_descriptors_and_ids_is_caught() {
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
    assert!(
        codes(&e).contains(&Code::OwnershipViolation),
        "{:?}",
        codes(&e)
    );
    let e = run(
        with_driver_fault(RingKind::Packed, Features::NONE, DriverFault::ReuseId),
        &ops,
    );
    assert!(codes(&e).contains(&Code::IdReused), "{:?}", codes(&e));
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
        (
            DeviceFault::WriteReadable,
            Code::DeviceWroteReadable,
            "device-readable buffer",
        ),
    ];
    for kind in [RingKind::Split, RingKind::Packed] {
        for (fault, code, words) in cases {
            let e = run(
                with_device_fault(kind, Features::NONE, fault),
                &round(two_seg(), 1),
            );
            let hit = e.findings.0.iter().find(|x| x.code == code);
            let hit = hit.unwrap_or_else(|| {
                panic!("{kind} {fault:?}: expected {code}, got {:?}", codes(&e))
            });
            assert!(
                hit.message.contains(words),
                "{kind} {fault:?}: {}",
                hit.message
            );
        }
    }
}

#[test]
fn a_wrong_id_leaves_the_real_buffer_lost() {
    let e = run(
        with_device_fault(RingKind::Split, Features::NONE, DeviceFault::BadUsedId(40)),
        &round(two_seg(), 1),
    );
    assert!(codes(&e).contains(&Code::LostBuffer), "{:?}", codes(&e));
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
    // Linux (ID in every descriptor) against QEMU (reads the head): fine.
    let mut c = EngineConfig::simple(RingKind::Packed, 8, Features::NONE);
    c.driver.id_placement = IdPlacement::Every;
    c.device.id_source = IdSource::Head;
    let e = run(
        c,
        &[Op::Repeat {
            times: 3,
            ops: round(three_seg(), 2),
        }],
    );
    assert!(e.findings.0.is_empty(), "{:?}", e.findings);
    assert_eq!(e.ledger.reclaimed, 6);
    // Spec driver (ID only in the last) against QEMU: the head holds a stale ID.
    let mut c = EngineConfig::simple(RingKind::Packed, 8, Features::NONE);
    c.device.id_source = IdSource::Head;
    let e = run(
        c,
        &[Op::Repeat {
            times: 3,
            ops: round(three_seg(), 2),
        }],
    );
    assert!(codes(&e).contains(&Code::IdPlacement), "{:?}", codes(&e));
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
        assert!(
            codes(&e).contains(&Code::PartialPublication),
            "{kind}: {:?}",
            codes(&e)
        );
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
