//! Feature negotiation and the status walk (virtio 1.2 §2.1, §2.2, §3.1).

use ringside_core::config::EngineConfig;
use ringside_core::engine::Engine;
use ringside_core::features::{Features, Status};
use ringside_core::finding::Code;
use ringside_core::layout::RingKind;
use ringside_core::memory::{AccessKind, Field, Space};
use ringside_core::op::Op;

fn negotiate(cfg: EngineConfig) -> Engine {
    let mut e = Engine::new(cfg).unwrap();
    e.apply(&Op::Negotiate).unwrap();
    e
}

fn cfg(device: Features, driver: Features) -> EngineConfig {
    let mut c = EngineConfig::simple(RingKind::Split, 8, Features::NONE);
    c.device_features = device;
    c.driver_features = driver;
    c
}

#[test]
fn the_walk_is_the_spec_sequence_and_the_result_is_the_and() {
    let dev = Features::VERSION_1
        .or(Features::EVENT_IDX)
        .or(Features::RING_PACKED);
    let drv = Features::VERSION_1
        .or(Features::EVENT_IDX)
        .or(Features::INDIRECT_DESC);
    let e = negotiate(cfg(dev, drv));
    assert_eq!(e.transport.walk, vec![0, 1, 3, 11, 15]);
    assert_eq!(e.features(), Features::VERSION_1.or(Features::EVENT_IDX));
    assert!(!e.transport.legacy);
    // Every register access is a micro step: 5 status writes, 2 feature reads, 2 feature
    // writes, the FEATURES_OK re-read and the queue setup.
    let log = e.bus.log();
    assert!(log.iter().all(|a| a.space == Space::Transport));
    let status_writes = log
        .iter()
        .filter(|a| a.field == Field::Status && a.kind == AccessKind::Store)
        .count();
    assert_eq!(status_writes, 5);
    assert_eq!(log.len(), 11);
    assert!(e.findings.0.is_empty());
}

#[test]
fn old_driver_new_device_gets_only_what_it_knows() {
    // A driver from before packed rings meets a device that offers them: split it is.
    let dev = Features::VERSION_1
        .or(Features::RING_PACKED)
        .or(Features::IN_ORDER);
    let mut c = cfg(dev, Features::VERSION_1);
    c.queue.layout = RingKind::Packed;
    let e = negotiate(c);
    assert_eq!(e.features(), Features::VERSION_1);
    assert_eq!(
        e.ring.as_ref().map(|r| r.layout().kind()),
        Some(RingKind::Split)
    );
    assert!(e.findings.has(Code::PackedNotNegotiated));
}

#[test]
fn new_driver_old_device_falls_back_to_legacy() {
    let dev = Features::EVENT_IDX.or(Features::INDIRECT_DESC);
    let drv = Features::VERSION_1
        .or(Features::EVENT_IDX)
        .or(Features::RING_PACKED);
    let e = negotiate(cfg(dev, drv));
    assert!(e.transport.legacy);
    assert_eq!(e.features(), Features::EVENT_IDX);
    // Legacy has no FEATURES_OK step: ACKNOWLEDGE, DRIVER, DRIVER_OK.
    assert_eq!(e.transport.walk, vec![0, 1, 3, 7]);
    // And the legacy layout: the used ring on the next 4096-byte boundary.
    let l = e.ring.as_ref().unwrap().layout();
    assert_eq!(l.areas()[2].1 % 4096, 0);
    let mut c = cfg(dev, drv);
    c.driver_legacy_fallback = false;
    let e = negotiate(c);
    assert!(e.transport.status.has(Status::FAILED));
    assert!(e.ring.is_none());
}

#[test]
fn legacy_driver_needs_a_transitional_device() {
    let dev = Features::VERSION_1.or(Features::EVENT_IDX);
    let e = negotiate(cfg(dev, Features::EVENT_IDX));
    assert!(e.transport.legacy);
    assert_eq!(e.features(), Features::EVENT_IDX);
    let mut c = cfg(dev, Features::EVENT_IDX);
    c.device_transitional = false;
    let e = negotiate(c);
    assert!(e.transport.status.has(Status::FAILED));
}

#[test]
fn the_device_may_refuse_features_ok() {
    let f = Features::VERSION_1
        .or(Features::RING_PACKED)
        .or(Features::IN_ORDER);
    let mut c = cfg(f, f);
    c.device_refuses = Some(Features::RING_PACKED.or(Features::IN_ORDER));
    let e = negotiate(c);
    assert!(e.findings.has(Code::FeaturesRefused));
    assert_eq!(e.transport.walk, vec![0, 1, 3, 11, 3 | 128]);
    assert!(e.ring.is_none());
    assert_eq!(e.transport.negotiated, None);
}

#[test]
fn illegal_status_writes_are_findings() {
    let mut e = Engine::new(cfg(Features::VERSION_1, Features::VERSION_1)).unwrap();
    e.apply(&Op::SetStatus(Status::ACKNOWLEDGE | Status::DRIVER_OK))
        .unwrap();
    assert!(e.findings.has(Code::StatusOrder));
    e.apply(&Op::SetStatus(Status::ACKNOWLEDGE)).unwrap();
    assert!(e.findings.has(Code::StatusCleared));
    let mut e = negotiate(cfg(Features::VERSION_1, Features::VERSION_1));
    e.apply(&Op::WriteFeatures(
        Features::VERSION_1.or(Features::EVENT_IDX),
    ))
    .unwrap();
    assert!(e.findings.has(Code::FeaturesAfterOk));
    assert!(e.findings.has(Code::FeatureNotOffered));
}

#[test]
fn the_queue_is_untouchable_before_driver_ok() {
    let mut e = Engine::new(cfg(Features::VERSION_1, Features::VERSION_1)).unwrap();
    e.apply(&Op::Pop { max: None }).unwrap();
    assert!(e.findings.has(Code::BeforeDriverOk));
}

#[test]
fn reset_clears_the_ring_and_the_negotiation() {
    let mut e = negotiate(EngineConfig::simple(RingKind::Split, 8, Features::NONE));
    e.apply(&Op::Add {
        buffer: Default::default(),
        count: 2,
    })
    .unwrap();
    e.apply(&Op::Publish).unwrap();
    e.apply(&Op::Reset).unwrap();
    assert!(e.ring.is_none());
    assert_eq!(e.transport.status, Status(0));
    e.apply(&Op::Negotiate).unwrap();
    let l = e.ring.as_ref().unwrap().layout();
    let mut mem = e.bus.mem.clone();
    for (_, start, len) in l.areas() {
        for a in start..start + len {
            assert_eq!(mem.read_le(a, 1), 0, "ring byte {a:#x} not zeroed");
        }
    }
}
