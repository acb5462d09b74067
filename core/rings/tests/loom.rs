//! Loom models of the publish/consume handshake, both layouts: the driver writes descriptors
//! with relaxed stores and publishes with one release; the device acquires, reads the
//! descriptor, writes the used entry and publishes with one release; the driver acquires and
//! reads it. Loom explores the interleavings and the values relaxed loads may legally return;
//! a payload read torn or stale, a buffer lost or seen twice fails the model.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p ringside-rings --release --test loom` (with a
//! target directory of its own; `.ci/run` does this).
#![cfg(loom)]

use loom::thread;
use ringside_rings::{Buffer, Device, Driver, Options, packed, split};

/// Buffer `i`'s descriptor: every 16-bit word differs, so a torn or stale read shows.
fn payload(i: u64) -> Buffer {
    Buffer {
        addr: 0x1111_2222_3333_4444 * (i + 1),
        len: 0x5555_6666 ^ (i as u32 + 1),
    }
}

/// The driver passes `n` buffers, `per_publish` at a time, through a ring and back; the device
/// checks each descriptor and the driver each used length and token.
fn handshake<D, V>(make: fn() -> (D, V), n: u64, per_publish: u64)
where
    D: Driver + 'static,
    V: Device + 'static,
{
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(move || {
        let (mut drv, mut dev) = make();
        let device = thread::spawn(move || {
            for i in 0..n {
                let p = loop {
                    match dev.pop() {
                        Some(p) => break p,
                        None => thread::yield_now(),
                    }
                };
                assert_eq!(p.buf, payload(i), "device read buffer {i}");
                dev.push_used(p.id, p.buf.len ^ 0xff);
                dev.publish_used();
            }
            assert!(dev.pop().is_none(), "a buffer appeared twice");
        });
        let (mut added, mut back) = (0, 0);
        while back < n {
            if added < n && u64::from(drv.free()) >= per_publish {
                for _ in 0..per_publish.min(n - added) {
                    assert!(drv.add(payload(added), added));
                    added += 1;
                }
                drv.publish();
            }
            let got = drv.reclaim(u16::MAX, |u| {
                assert_eq!(u.token, back, "buffers come back in order here");
                assert_eq!(u.len, Some(payload(back).len ^ 0xff), "used len of {back}");
                back += 1;
            });
            if got == 0 {
                thread::yield_now();
            }
        }
        device.join().unwrap();
    });
}

#[test]
fn split_publish_and_consume() {
    // Size 2, three buffers one at a time: the second lap reuses descriptors and slots.
    handshake(|| split::pair(2, Options::default()).unwrap(), 3, 1);
}

#[test]
fn split_batch_of_two() {
    handshake(|| split::pair(2, Options::default()).unwrap(), 2, 2);
}

#[test]
fn packed_publish_and_consume_across_the_wrap() {
    // Size 2, three buffers: the third flips both wrap counters.
    handshake(|| packed::pair(2, Options::default()).unwrap(), 3, 1);
}

#[test]
fn packed_batch_of_two_first_head_last() {
    handshake(|| packed::pair(3, Options::default()).unwrap(), 2, 2);
}

/// The event-index handshake, both directions: a side that drains the ring, arms its event
/// and re-checks must not go to sleep while the other side, having published one more buffer,
/// decides not to notify it. The publisher's event test says "no" whenever the sleeper's event
/// index is behind (it was still working through earlier buffers), so the sleeper's re-check
/// has to see the buffer: that is what the full barriers (`virtio_mb`, C and D) guarantee.
/// Without them each side can read the other's old value and the wake-up is lost.
fn no_lost_wakeup<D, V>(make: fn() -> (D, V))
where
    D: Driver + 'static,
    V: Device + 'static,
{
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(3);
    b.check(move || {
        let (mut drv, mut dev) = make();
        // One full round, each side re-arming once it has drained the ring, as before a
        // sleep; then buffer 1 published, and kicked.
        assert!(!drv.enable_cb() && !dev.enable_notify());
        assert!(drv.add(payload(0), 0));
        drv.publish();
        assert!(drv.kick_needed());
        let p = dev.pop().unwrap();
        assert!(dev.pop().is_none() && !dev.enable_notify());
        dev.push_used(p.id, 1);
        dev.publish_used();
        assert!(dev.interrupt_needed());
        assert_eq!(drv.reclaim(u16::MAX, |_| {}), 1);
        assert!(!drv.enable_cb());
        assert!(drv.add(payload(1), 1));
        drv.publish();
        assert!(drv.kick_needed());
        // Available direction: the device drains and arms; the driver publishes buffer 2.
        let device = thread::spawn(move || {
            let mut held = Vec::new();
            while let Some(p) = dev.pop() {
                held.push(p.id);
            }
            let sleeps = !dev.enable_notify();
            (dev, held, sleeps)
        });
        assert!(drv.add(payload(2), 2));
        drv.publish();
        let kick = drv.kick_needed();
        let (mut dev, mut held, sleeps) = device.join().unwrap();
        assert!(
            held.len() == 2 || kick || !sleeps,
            "the device sleeps with buffer 2 available and no kick coming"
        );
        while let Some(p) = dev.pop() {
            held.push(p.id);
        }
        // Used direction: the device publishes buffer 1 and notifies; then, while the driver
        // drains and arms, it publishes buffer 2.
        dev.push_used(held[0], 1);
        dev.publish_used();
        assert!(dev.interrupt_needed());
        let last = held[1];
        let device = thread::spawn(move || {
            dev.push_used(last, 1);
            dev.publish_used();
            dev.interrupt_needed()
        });
        let got = drv.reclaim(u16::MAX, |_| {});
        let sleeps = !drv.enable_cb();
        let interrupt = device.join().unwrap();
        assert!(
            got == 2 || interrupt || !sleeps,
            "the driver sleeps with buffer 2 used and no interrupt coming"
        );
    });
}

const EVENT_IDX: Options = Options {
    in_order: false,
    event_idx: true,
};

#[test]
fn split_event_idx_loses_no_wakeup() {
    no_lost_wakeup(|| split::pair(4, EVENT_IDX).unwrap());
}

#[test]
fn packed_event_idx_loses_no_wakeup() {
    no_lost_wakeup(|| packed::pair(3, EVENT_IDX).unwrap());
}
