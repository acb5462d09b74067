//! Engine invariants over random operation sequences (proptest).

use std::collections::BTreeSet;

use proptest::prelude::*;
use ringside_core::engine::{Engine, EngineConfig, Ring};
use ringside_core::features::Features;
use ringside_core::finding::Severity;
use ringside_core::layout::RingKind;
use ringside_core::op::Op;
use ringside_core::packed::{is_avail, is_used};
use ringside_core::queue::{BufferSpec, Pick};
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
