//! Engine invariants over random operation sequences (proptest).

use std::collections::BTreeSet;

use proptest::prelude::*;
use ringside_core::config::EngineConfig;
use ringside_core::engine::{Engine, Ring};
use ringside_core::features::Features;
use ringside_core::finding::Severity;
use ringside_core::layout::RingKind;
use ringside_core::op::Op;
use ringside_core::ring::packed::{is_avail, is_used};
use ringside_core::ring::{BufferSpec, Pick};
use ringside_core::session::Session;

fn buffer() -> impl Strategy<Value = BufferSpec> {
    (
        prop::collection::vec(1u32..300, 0..3),
        prop::collection::vec(1u32..600, 0..3),
        any::<bool>(),
    )
        .prop_filter("non-empty", |(r, w, _)| !r.is_empty() || !w.is_empty())
        .prop_map(|(readable, writable, indirect)| BufferSpec {
            readable,
            writable,
            indirect,
        })
}

fn pick() -> impl Strategy<Value = Pick> {
    prop_oneof![
        Just(Pick::Oldest),
        Just(Pick::Newest),
        (0u16..4).prop_map(Pick::Nth)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (buffer(), 1u16..4).prop_map(|(buffer, count)| Op::Add { buffer, count }),
        3 => Just(Op::Publish),
        2 => Just(Op::Kick),
        3 => prop::option::of(1u16..5).prop_map(|max| Op::Pop { max }),
        3 => (1u16..4, pick(), prop::option::of(0u32..700))
            .prop_map(|(count, pick, written)| Op::Complete { count, pick, written }),
        2 => Just(Op::PublishUsed),
        1 => Just(Op::Interrupt),
        3 => prop::option::of(1u16..5).prop_map(|max| Op::Reclaim { max }),
        1 => Just(Op::DisableInterrupts),
        1 => Just(Op::EnableInterrupts),
        1 => Just(Op::DisableNotifications),
        1 => Just(Op::EnableNotifications),
    ]
}

/// Ring ops mixed with the ops that change what ring ops may assume: negotiation, status
/// writes (DRIVER_OK cleared or never set), reset, NEEDS_RESET and fault switches.
fn any_op() -> impl Strategy<Value = Op> {
    use ringside_core::behaviour::{DeviceFault, DriverFault};
    prop_oneof![
        12 => op(),
        1 => Just(Op::Negotiate),
        1 => prop_oneof![Just(0u8), Just(1), Just(3), Just(11), Just(15)].prop_map(Op::SetStatus),
        1 => Just(Op::Reset),
        1 => Just(Op::NeedsReset),
        1 => (prop_oneof![
            Just(DriverFault::SkipKick),
            Just(DriverFault::BadHead(1)),
            Just(DriverFault::WritableFirst),
        ], any::<bool>())
            .prop_map(|(fault, on)| Op::DriverFault { fault, on }),
        1 => (prop_oneof![
            Just(DeviceFault::DoubleComplete),
            Just(DeviceFault::EarlyPublish),
        ], any::<bool>())
            .prop_map(|(fault, on)| Op::DeviceFault { fault, on }),
    ]
}

fn config() -> impl Strategy<Value = EngineConfig> {
    (
        prop_oneof![Just(RingKind::Split), Just(RingKind::Packed)],
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0usize..4,
    )
        .prop_map(|(kind, evidx, indirect, in_order, size)| {
            let mut f = Features::NONE;
            if evidx {
                f = f.or(Features::EVENT_IDX);
            }
            if indirect {
                f = f.or(Features::INDIRECT_DESC);
            }
            if in_order {
                f = f.or(Features::IN_ORDER);
            }
            let sizes: [u32; 4] = match kind {
                RingKind::Split => [2, 4, 8, 16],
                RingKind::Packed => [3, 4, 5, 16],
            };
            EngineConfig::simple(kind, sizes[size], f)
        })
}

/// Ops that hand every outstanding buffer back to the driver.
fn drain() -> Vec<Op> {
    vec![
        Op::Publish,
        Op::Pop { max: None },
        Op::Complete {
            count: u16::MAX,
            pick: Pick::Oldest,
            written: None,
        },
        Op::PublishUsed,
        Op::Reclaim { max: None },
    ]
}

/// Checks ownership and index/byte agreement at an op boundary.
fn check_invariants(e: &mut Engine) -> Result<(), TestCaseError> {
    let Some(ring) = e.ring.clone() else {
        return Ok(());
    };
    match ring {
        Ring::Split {
            layout,
            driver,
            device,
        } => {
            let q = usize::from(layout.size);
            let free: BTreeSet<u16> = driver.free.iter().copied().collect();
            prop_assert_eq!(free.len(), driver.free.len(), "duplicate in free list");
            let mut owned = BTreeSet::new();
            for h in &driver.order {
                for d in driver.chain(*h) {
                    prop_assert!(owned.insert(d), "desc {} in two chains", d);
                    prop_assert!(!free.contains(&d), "desc {} both free and outstanding", d);
                }
            }
            prop_assert_eq!(free.len() + owned.len(), q, "descriptors lost");
            let heads: BTreeSet<u16> = driver.order.iter().copied().collect();
            for c in &device.inflight {
                prop_assert!(
                    heads.contains(&c.id),
                    "device holds {} the driver freed",
                    c.id
                );
            }
            prop_assert_eq!(
                e.bus.mem.read_le(layout.avail_idx(), 2) as u16,
                driver.published.0
            );
            prop_assert_eq!(
                e.bus.mem.read_le(layout.used_idx(), 2) as u16,
                device.published.0
            );
            prop_assert!(driver.published.since(device.last_avail) <= layout.size);
            prop_assert!(device.published.since(driver.last_used) <= layout.size);
        }
        Ring::Packed {
            layout,
            driver,
            device,
        } => {
            let q = layout.size;
            let held: u16 = driver.ids.iter().flatten().map(|s| s.num).sum();
            prop_assert_eq!(held + driver.num_free, q, "slots lost");
            let ids: BTreeSet<u16> = driver.order.iter().copied().collect();
            prop_assert_eq!(ids.len(), driver.order.len(), "id outstanding twice");
            for c in &device.inflight {
                prop_assert!(
                    ids.contains(&c.id),
                    "device holds id {} the driver freed",
                    c.id
                );
            }
            // Bytes agree with both wrap counters: the slot the device polls is available
            // exactly when the driver has published something the device has not popped.
            let unpopped = !e.ledger.available.is_empty();
            let f = e
                .bus
                .mem
                .read_le(layout.desc(device.next_avail.slot) + 14, 2) as u16;
            prop_assert_eq!(is_avail(f, device.next_avail.wrap), unpopped);
            // Used descriptors the driver has not reclaimed are seen as used at its position.
            let unreclaimed = !e.ledger.used.is_empty();
            let f = e
                .bus
                .mem
                .read_le(layout.desc(driver.next_used.slot) + 14, 2) as u16;
            prop_assert_eq!(is_used(f, driver.next_used.wrap), unreclaimed);
            prop_assert!(driver.next_used.slot < q && device.next_used.slot < q);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_well_behaved_pair_keeps_every_invariant(cfg in config(), ops in prop::collection::vec(op(), 0..60)) {
        let mut e = Engine::new(cfg).unwrap();
        e.apply(&Op::Negotiate).unwrap();
        for op in &ops {
            e.apply(op).unwrap();
            check_invariants(&mut e)?;
        }
        for op in drain() {
            e.apply(&op).unwrap();
        }
        check_invariants(&mut e)?;
        // Every buffer made available came back exactly once.
        prop_assert_eq!(e.ledger.reclaimed, e.ledger.made_available);
        prop_assert!(e.ledger.available.is_empty() && e.ledger.used.is_empty());
        let errors: Vec<_> = e.findings.0.iter().filter(|f| f.severity == Severity::Error).collect();
        prop_assert!(errors.is_empty(), "{:?}", errors);
    }

    #[test]
    fn run_is_apply_op_by_op(
        cfg in config(),
        negotiate in any::<bool>(),
        ops in prop::collection::vec(any_op(), 0..60),
        recording in any::<bool>(),
        budget in prop::option::of(0u64..400),
    ) {
        let mut stepped = Engine::new(cfg).unwrap();
        stepped.bus.set_recording(recording);
        if negotiate {
            stepped.apply(&Op::Negotiate).unwrap();
        }
        if let Some(b) = budget {
            stepped.bus.set_budget(stepped.bus.steps() + b);
        }
        let mut ran = stepped.clone();
        let mut want = Vec::new();
        let mut halted = false;
        for op in &ops {
            match stepped.apply(op) {
                Ok(o) => want.push(o),
                Err(_) => {
                    halted = true;
                    break;
                }
            }
        }
        let mut got = Vec::new();
        let r = ran.run(&ops, |i, o| got.push((i, o)));
        prop_assert_eq!(r.is_err(), halted);
        prop_assert!(got.iter().enumerate().all(|(k, (i, _))| k == *i), "indices in order");
        let got: Vec<_> = got.into_iter().map(|(_, o)| o).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(&ran, &stepped);
        prop_assert_eq!(ran.bus.log(), stepped.bus.log());
    }

    #[test]
    fn time_travel_round_trips(cfg in config(), ops in prop::collection::vec(op(), 1..40), at in any::<prop::sample::Index>(), k in 0u64..50) {
        let mut all = vec![Op::Negotiate];
        all.extend(ops);
        let mut s = Session::new(cfg, &all).unwrap();
        let at = at.index(s.len() as usize + 1) as u64;
        s.seek(at);
        let before = s.state().clone();
        for _ in 0..k { s.step_forward(); }
        for _ in 0..k.min(s.position().step) { s.step_back(); }
        if at + k <= s.len() {
            prop_assert_eq!(s.state(), &before);
        }
    }
}

#[test]
fn the_extreme_queue_sizes_work() {
    for (kind, size) in [
        (RingKind::Split, 1),
        (RingKind::Split, 32768),
        (RingKind::Packed, 1),
        (RingKind::Packed, 32768),
        (RingKind::Packed, 768),
    ] {
        let mut e = Engine::new(EngineConfig::simple(kind, size, Features::EVENT_IDX)).unwrap();
        e.apply(&Op::Negotiate).unwrap();
        let one = BufferSpec {
            readable: vec![8],
            writable: vec![],
            indirect: false,
        };
        for _ in 0..3 {
            e.apply(&Op::Add {
                buffer: one.clone(),
                count: 1,
            })
            .unwrap();
            for op in drain() {
                e.apply(&op).unwrap();
            }
        }
        assert_eq!(e.ledger.reclaimed, 3, "{kind} {size}");
        assert!(e.findings.0.is_empty(), "{kind} {size}: {:?}", e.findings);
    }
    for (kind, size) in [
        (RingKind::Split, 768),
        (RingKind::Split, 65536),
        (RingKind::Packed, 0),
        (RingKind::Packed, 32769),
    ] {
        assert!(
            Engine::new(EngineConfig::simple(kind, size, Features::NONE)).is_err(),
            "{kind} {size}"
        );
    }
}
