//! Notification suppression, EVENT_IDX windows, IN_ORDER and NOTIFICATION_DATA.

use ringside_core::config::EngineConfig;
use ringside_core::engine::Engine;
use ringside_core::features::Features;
use ringside_core::layout::RingKind;
use ringside_core::memory::{Agent, Field};
use ringside_core::op::Op;
use ringside_core::ring::{BufferSpec, Pick};

fn engine(kind: RingKind, size: u32, f: Features) -> Engine {
    let mut e = Engine::new(EngineConfig::simple(kind, size, f)).unwrap();
    e.apply(&Op::Negotiate).unwrap();
    e
}

fn apply(e: &mut Engine, ops: &[Op]) {
    for op in Op::flatten(ops) {
        e.apply(&op).unwrap();
    }
}

fn buf() -> BufferSpec {
    BufferSpec {
        readable: vec![16],
        writable: vec![64],
        indirect: false,
    }
}

#[test]
fn event_idx_kicks_once_per_device_wakeup_not_per_buffer() {
    for kind in [RingKind::Split, RingKind::Packed] {
        // The device goes to sleep with notifications enabled; the driver adds 6 buffers,
        // kicking after each. Only the first kick is needed: the device has not caught up.
        let mut e = engine(kind, 16, Features::EVENT_IDX);
        apply(&mut e, &[Op::EnableNotifications]);
        for _ in 0..6 {
            apply(
                &mut e,
                &[
                    Op::Add {
                        buffer: buf(),
                        count: 1,
                    },
                    Op::Publish,
                    Op::Kick,
                ],
            );
        }
        assert_eq!(
            (e.counters.kicks_needed, e.counters.kicks_suppressed),
            (1, 5),
            "{kind}"
        );
        // Without EVENT_IDX and without the device asking for quiet, every kick goes out.
        let mut e = engine(kind, 16, Features::NONE);
        for _ in 0..6 {
            apply(
                &mut e,
                &[
                    Op::Add {
                        buffer: buf(),
                        count: 1,
                    },
                    Op::Publish,
                    Op::Kick,
                ],
            );
        }
        assert_eq!(
            (e.counters.kicks_needed, e.counters.kicks_suppressed),
            (6, 0),
            "{kind}"
        );
    }
}

fn round(n: u16) -> Vec<Op> {
    vec![
        Op::Add {
            buffer: buf(),
            count: n,
        },
        Op::Publish,
        Op::Pop { max: None },
        Op::Complete {
            count: n,
            pick: Pick::Oldest,
            written: None,
        },
        Op::PublishUsed,
    ]
}

fn split_layout(e: &Engine) -> ringside_core::layout::SplitLayout {
    match e.ring.as_ref().unwrap() {
        ringside_core::engine::Ring::Split { layout, .. } => *layout,
        _ => unreachable!(),
    }
}

#[test]
fn a_batch_that_jumps_over_used_event_still_interrupts() {
    // The device's first decision takes QEMU's never-signalled path, so it proves nothing
    // about the event check. After it, the driver reclaims and arms used_event = 1 ("tell me
    // once entry 1 is used"); the device then completes three (entries 1, 2, 3) before it
    // decides: new = 4, old = 1, and 1 lies in [1, 4), so it must interrupt. An equality
    // test (new == used_event + 1) would say no: only the window check passes here.
    let mut e = engine(RingKind::Split, 8, Features::EVENT_IDX);
    apply(&mut e, &round(1));
    apply(&mut e, &[Op::Interrupt, Op::Reclaim { max: None }]);
    assert_eq!(
        e.counters.interrupts_needed, 1,
        "the first, never-signalled decision"
    );
    let l = split_layout(&e);
    assert_eq!(
        e.bus.mem.read_le(l.used_event(), 2),
        1,
        "used_event armed at 1"
    );
    apply(&mut e, &round(3));
    assert_eq!(e.bus.mem.read_le(l.used_idx(), 2), 4);
    apply(&mut e, &[Op::Interrupt]);
    assert_eq!(e.counters.interrupts_needed, 2, "{:?}", e.counters);
    assert_eq!(e.counters.interrupts_suppressed, 0);
    // A second check with nothing new is suppressed: [4, 4) is empty.
    apply(&mut e, &[Op::Interrupt]);
    assert_eq!(e.counters.interrupts_suppressed, 1);
}

#[test]
fn the_first_interrupt_decision_notifies_as_qemu_does() {
    // QEMU's virtio_split_should_notify: `return !v || vring_need_event(...)` with
    // v = signalled_used_valid, false until the first decision. So the first check notifies
    // even with nothing used yet (used.idx still 0): a spurious interrupt a driver tolerates.
    let mut e = engine(RingKind::Split, 8, Features::EVENT_IDX);
    apply(&mut e, &[Op::Interrupt]);
    assert_eq!(
        (
            e.counters.interrupts_needed,
            e.counters.interrupts_suppressed
        ),
        (1, 0)
    );
    assert_eq!(e.notifications.len(), 1);
    // The second has a signalled index to compare with and nothing new: suppressed.
    apply(&mut e, &[Op::Interrupt]);
    assert_eq!(e.counters.interrupts_suppressed, 1);
}

#[test]
fn an_interrupt_is_not_lost_after_the_used_index_runs_2_16_past_the_last_one() {
    // QEMU's virtqueue_split_flush forgets signalled_used once used.idx has moved half the
    // 16-bit space past it; otherwise [signalled, new) wraps and stops meaning "since the last
    // interrupt". Here the device signals at used.idx 1, then completes 65535 buffers without
    // deciding (the driver polls), so used.idx is back at 0 and the driver arms used_event = 0.
    // Two more complete: entry 0 is used, the driver asked to hear of it. With the stale
    // old = 1 the window [1, 2) misses event 0; QEMU (and ringside) notify.
    let mut e = engine(RingKind::Split, 8, Features::EVENT_IDX);
    e.bus.set_recording(false);
    apply(&mut e, &round(1));
    apply(&mut e, &[Op::Interrupt, Op::Reclaim { max: None }]);
    // Two-descriptor buffers, four to a round: 16383 rounds of 4 and one of 3 = 65535.
    let mut polled = round(4);
    polled.push(Op::Reclaim { max: None });
    apply(
        &mut e,
        &[Op::Repeat {
            times: 16383,
            ops: polled,
        }],
    );
    apply(&mut e, &round(3));
    apply(&mut e, &[Op::Reclaim { max: None }]);
    let l = split_layout(&e);
    assert_eq!(e.ledger.reclaimed, 65536, "{:?}", e.findings.0.first());
    assert_eq!(
        e.bus.mem.read_le(l.used_idx(), 2),
        0,
        "used.idx wrapped to 0"
    );
    assert_eq!(
        e.bus.mem.read_le(l.used_event(), 2),
        0,
        "used_event armed at 0"
    );
    apply(&mut e, &round(2));
    assert_eq!(e.bus.mem.read_le(l.used_idx(), 2), 2);
    apply(&mut e, &[Op::Interrupt]);
    assert_eq!(e.counters.interrupts_needed, 2, "{:?}", e.counters);
    assert!(e.findings.0.is_empty(), "{:?}", e.findings);
}

#[test]
fn packed_event_idx_across_a_lap() {
    // Q = 4: the driver arms the event at its next used slot, the device completes across the
    // end of the ring; the armed slot is in the previous lap and must still fire.
    let mut e = engine(RingKind::Packed, 4, Features::EVENT_IDX);
    apply(
        &mut e,
        &[
            Op::Add {
                buffer: BufferSpec {
                    readable: vec![8],
                    writable: vec![],
                    indirect: false,
                },
                count: 3,
            },
            Op::Publish,
            Op::Pop { max: None },
            Op::Complete {
                count: 3,
                pick: Pick::Oldest,
                written: None,
            },
            Op::PublishUsed,
            Op::Reclaim { max: None },
            Op::EnableInterrupts,
            Op::Add {
                buffer: BufferSpec {
                    readable: vec![8],
                    writable: vec![],
                    indirect: false,
                },
                count: 2,
            },
            Op::Publish,
            Op::Pop { max: None },
            Op::Complete {
                count: 2,
                pick: Pick::Oldest,
                written: None,
            },
            Op::PublishUsed,
            Op::Interrupt,
        ],
    );
    assert_eq!(e.counters.interrupts_needed, 1, "{:?}", e.counters);
    assert_eq!(e.counters.interrupts_suppressed, 0);
    // And the device's used wrap counter flipped.
    match e.ring.as_ref().unwrap() {
        ringside_core::engine::Ring::Packed { device, driver, .. } => {
            assert_eq!((device.next_used.slot, device.next_used.wrap.0), (1, false));
            assert_eq!(
                (driver.next_avail.slot, driver.next_avail.wrap.0),
                (1, false)
            );
        }
        _ => unreachable!(),
    }
}

#[test]
fn in_order_devices_write_one_used_entry_per_batch() {
    for kind in [RingKind::Split, RingKind::Packed] {
        let stores = |f: Features| {
            let mut e = engine(kind, 16, f);
            apply(
                &mut e,
                &[
                    Op::Add {
                        buffer: buf(),
                        count: 4,
                    },
                    Op::Publish,
                    Op::Pop { max: None },
                    Op::Complete {
                        count: 4,
                        pick: Pick::Oldest,
                        written: None,
                    },
                    Op::PublishUsed,
                    Op::Reclaim { max: None },
                ],
            );
            assert_eq!(e.ledger.reclaimed, 4);
            assert!(e.findings.0.is_empty(), "{:?}", e.findings);
            e.bus
                .log()
                .iter()
                .filter(|a| {
                    a.agent == Agent::Device && a.kind == ringside_core::memory::AccessKind::Store
                })
                .count()
        };
        let plain = stores(Features::NONE);
        let in_order = stores(Features::IN_ORDER);
        // Split: 4 x (id, len) + used.idx = 9 vs 1 x (id, len) + used.idx = 3.
        // Packed: 4 x (id, len, flags) = 12 vs 3.
        let want = match kind {
            RingKind::Split => (9, 3),
            RingKind::Packed => (12, 3),
        };
        assert_eq!((plain, in_order), want, "{kind}");
    }
}

#[test]
fn notification_data_carries_the_next_index_and_wrap() {
    let mut e = engine(RingKind::Split, 8, Features::NOTIFICATION_DATA);
    apply(
        &mut e,
        &[
            Op::Add {
                buffer: buf(),
                count: 3,
            },
            Op::Publish,
            Op::Kick,
        ],
    );
    assert_eq!(e.notifications[0].value, 3 << 16);
    let mut e = engine(RingKind::Packed, 4, Features::NOTIFICATION_DATA);
    let one = BufferSpec {
        readable: vec![8],
        writable: vec![],
        indirect: false,
    };
    apply(
        &mut e,
        &[
            Op::Add {
                buffer: one.clone(),
                count: 3,
            },
            Op::Publish,
            Op::Kick,
            Op::Pop { max: None },
            Op::Complete {
                count: 3,
                pick: Pick::Oldest,
                written: None,
            },
            Op::PublishUsed,
            Op::Reclaim { max: None },
            Op::Add {
                buffer: one,
                count: 2,
            },
            Op::Publish,
            Op::Kick,
        ],
    );
    // First kick: next offset 3, wrap 1. Second: the ring wrapped, next offset 1, wrap 0.
    assert_eq!(e.notifications[0].value, (3 | 1 << 15) << 16);
    assert_eq!(e.notifications[1].value, 1 << 16);
    let kicks: Vec<_> = e
        .bus
        .log()
        .iter()
        .filter(|a| a.field == Field::QueueNotify)
        .map(|a| a.value)
        .collect();
    assert_eq!(
        kicks,
        vec![
            u64::from(e.notifications[0].value),
            u64::from(e.notifications[1].value)
        ]
    );
}

#[test]
fn out_of_order_packed_completion_lands_in_slot_zero() {
    // The talk's example: 9 buffers, the 9th used first; its used descriptor goes to slot 0.
    let mut e = engine(RingKind::Packed, 16, Features::NONE);
    let one = BufferSpec {
        readable: vec![8],
        writable: vec![],
        indirect: false,
    };
    apply(
        &mut e,
        &[
            Op::Add {
                buffer: one,
                count: 9,
            },
            Op::Publish,
            Op::Pop { max: None },
            Op::Complete {
                count: 1,
                pick: Pick::Newest,
                written: None,
            },
            Op::PublishUsed,
        ],
    );
    let (l, id9) = match e.ring.as_ref().unwrap() {
        ringside_core::engine::Ring::Packed { layout, driver, .. } => (*layout, driver.order[8]),
        _ => unreachable!(),
    };
    let mut m = e.bus.mem.clone();
    assert_eq!(m.read_le(l.desc(0) + 12, 2) as u16, id9);
    assert_eq!(
        ringside_core::ring::packed::bits_code(m.read_le(l.desc(0) + 14, 2) as u16),
        "11"
    );
    apply(&mut e, &[Op::Reclaim { max: None }]);
    assert_eq!(e.ledger.reclaimed, 1);
}

/// The used element at `slot` of a split ring, as `(id, len)`, read from the bytes.
fn used_elem(e: &mut Engine, slot: u16) -> (u32, u32) {
    let l = match e.ring.as_ref().unwrap() {
        ringside_core::engine::Ring::Split { layout, .. } => *layout,
        _ => unreachable!(),
    };
    let a = l.used_elem(slot);
    (
        e.bus.mem.read_le(a, 4) as u32,
        e.bus.mem.read_le(a + 4, 4) as u32,
    )
}

#[test]
fn split_in_order_writes_one_entry_at_the_batch_start() {
    // Spec §2.7.9 (v1.2, "In-order use of descriptors"): the device writes a single used entry
    // with the id of the batch's last buffer and skips forward by the batch; Linux's
    // virtqueue_get_buf_ctx_split_in_order reads it at last_used_idx, the batch's first slot.
    let one = BufferSpec {
        readable: vec![],
        writable: vec![64],
        indirect: false,
    };
    let complete = |count| Op::Complete {
        count,
        pick: Pick::Oldest,
        written: Some(10),
    };
    let mut e = engine(RingKind::Split, 8, Features::IN_ORDER);
    // A first batch of 2 moves the start of the next batch to slot 2 (heads 0 and 1).
    apply(
        &mut e,
        &[
            Op::Add {
                buffer: one.clone(),
                count: 2,
            },
            Op::Publish,
            Op::Pop { max: None },
            complete(2),
            Op::PublishUsed,
            Op::Reclaim { max: None },
        ],
    );
    assert_eq!(e.ledger.reclaimed, 2);
    // The batch of 4: heads 2, 3, 4, 5, in ring order.
    apply(
        &mut e,
        &[
            Op::Add {
                buffer: one,
                count: 4,
            },
            Op::Publish,
            Op::Pop { max: None },
            complete(4),
            Op::PublishUsed,
        ],
    );
    // One entry, at the batch's first slot (2), naming its last buffer (head 5), with the
    // length that buffer's completion reported; the slots skipped over stay unwritten.
    assert_eq!(used_elem(&mut e, 2), (5, 10));
    for slot in [3, 4, 5] {
        assert_eq!(used_elem(&mut e, slot), (0, 0), "slot {slot}");
    }
    let used_idx_at = match e.ring.as_ref().unwrap() {
        ringside_core::engine::Ring::Split { layout, .. } => layout.used_idx(),
        _ => unreachable!(),
    };
    assert_eq!(
        e.bus.mem.read_le(used_idx_at, 2),
        6,
        "used.idx advanced by the batch"
    );
    // The driver reads the entry at its last_used (slot 2) and gives back the four in order,
    // one at a time when asked for one at a time.
    apply(&mut e, &[Op::Reclaim { max: Some(1) }]);
    assert_eq!(e.ledger.reclaimed, 3);
    apply(&mut e, &[Op::Reclaim { max: None }]);
    assert_eq!(e.ledger.reclaimed, 6);
    assert!(e.findings.0.is_empty(), "{:?}", e.findings);
    match e.ring.as_ref().unwrap() {
        ringside_core::engine::Ring::Split { driver, .. } => {
            assert_eq!(driver.last_used.0, 6);
            assert!(driver.order.is_empty());
            assert_eq!(driver.free.len(), 8, "every descriptor is free again");
        }
        _ => unreachable!(),
    }
}

/// QEMU's `virtio_packed_should_notify`: with nothing signalled since the start, or since the
/// used position last wrapped (`signalled_used_valid` false), it interrupts whatever the
/// driver's event says; otherwise only when the armed slot lies in the window just published.
/// A driver that keeps slot 5 of lap 1 armed in an 8-slot ring gets the first interrupt, the
/// one that passes slot 5, and the first after the wrap, not the others.
#[test]
fn packed_interrupts_when_nothing_was_signalled_since_the_start_or_the_wrap() {
    use ringside_core::engine::{Outcome, Ring};
    use ringside_core::layout::RING_EVENT_FLAGS_DESC;
    let mut e = engine(RingKind::Packed, 8, Features::EVENT_IDX);
    let mut needed = Vec::new();
    for _ in 0..9 {
        apply(
            &mut e,
            &[
                Op::Add {
                    // One descriptor: the used position moves one slot a buffer.
                    buffer: BufferSpec {
                        readable: vec![],
                        writable: vec![64],
                        indirect: false,
                    },
                    count: 1,
                },
                Op::Publish,
                Op::Pop { max: None },
                Op::Complete {
                    count: 1,
                    pick: Pick::Oldest,
                    written: None,
                },
                Op::PublishUsed,
                Op::Reclaim { max: None },
            ],
        );
        // The driver's event area: slot 5 of lap 1 armed (off_wrap bit 15 = wrap counter).
        let Some(Ring::Packed { layout, .. }) = &e.ring else {
            unreachable!()
        };
        let area = layout.driver_event;
        e.bus.mem.write_le(area, 2, 5 | 1 << 15);
        e.bus
            .mem
            .write_le(area + 2, 2, u64::from(RING_EVENT_FLAGS_DESC));
        match e.apply(&Op::Interrupt).unwrap() {
            Outcome::Interrupted(d) => needed.push(d.needed),
            other => panic!("{other:?}"),
        }
    }
    // Used positions after each round: 1..=7, then 0 of lap 0 (the wrap), then 1.
    assert_eq!(
        needed,
        [true, false, false, false, false, true, false, true, false]
    );
}
