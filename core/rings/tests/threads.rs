//! The rings across two real threads: every buffer arrives at the device once, in the order
//! added, with the bytes the driver wrote; every buffer comes back to the driver once, with the
//! length the device wrote; under IN_ORDER in the order added. Batches, completion order and the
//! outstanding count are random; both layouts, polling and both wake-ups, with and without
//! EVENT_IDX. Then the harness itself, and a stress run of millions of buffers.
#![cfg(not(loom))]

use std::sync::atomic::AtomicBool;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ringside_core::bench::{BenchConfig, BenchMode, Wake};
use ringside_rings::harness::{self, Limit, Plan};
use ringside_rings::{Buffer, Device, Driver, Options, RingKind, packed, split};

/// xorshift64*: reproducible random choices without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What the driver writes into buffer `seq`: the device checks it.
fn payload(seq: u64) -> Buffer {
    Buffer {
        addr: seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5555,
        len: (seq as u32).wrapping_mul(2_654_435_761) | 1,
    }
}

/// What the device says it wrote into the buffer it got as `buf`: the driver checks it.
fn written(buf: Buffer) -> u32 {
    (buf.addr as u32) ^ buf.len.rotate_left(7)
}

/// A polling side with nothing to do lets the other run: on a busy machine both threads may
/// share one CPU, and a spin would then burn its whole time slice.
fn idle() {
    thread::yield_now();
}

/// A doorbell for the notification variant of the test loops.
#[derive(Default)]
struct Bell(Mutex<u64>, Condvar);
impl Bell {
    fn ring(&self) {
        *self.0.lock().unwrap() += 1;
        self.1.notify_one();
    }
    fn wait(&self, seen: &mut u64) {
        let g = self.0.lock().unwrap();
        let (g, _) = self
            .1
            .wait_timeout_while(g, Duration::from_millis(50), |n| *n == *seen)
            .unwrap();
        *seen = *g;
    }
}

/// Tells the device thread to stop when dropped.
struct StopOnDrop<'a>(&'a AtomicBool, &'a Bell);
impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        self.1.ring();
    }
}

#[derive(Debug, Clone, Copy)]
struct Case {
    n: u64,
    seed: u64,
    opts: Options,
    notify: bool,
    max_batch: u64,
}

/// Runs `case.n` buffers through a ring across two threads and checks them both ways.
fn exchange(drv: impl Driver, dev: impl Device, case: Case) {
    let Case {
        n,
        seed,
        opts,
        notify,
        max_batch,
    } = case;
    let (kick, call) = (Bell::default(), Bell::default());
    let done = AtomicBool::new(false);
    let use_std = std::sync::atomic::Ordering::SeqCst;
    thread::scope(|s| {
        let device = s.spawn(|| {
            let mut dev = dev;
            let mut rng = Rng(seed ^ 0xdead_beef);
            let mut next = 0u64;
            let mut held: Vec<(u16, u32)> = Vec::new();
            let mut seen = 0;
            loop {
                let want = 1 + rng.below(max_batch);
                let mut got = 0;
                while got < want {
                    let Some(p) = dev.pop() else { break };
                    assert_eq!(p.buf, payload(next), "device got buffer {next} wrong");
                    next += 1;
                    got += 1;
                    held.push((p.id, written(p.buf)));
                }
                // Complete some of what is held: in any order, or in order under IN_ORDER.
                if !held.is_empty() {
                    let k = 1 + rng.below(held.len() as u64) as usize;
                    if !opts.in_order {
                        for i in 0..k {
                            let j = i + rng.below((held.len() - i) as u64) as usize;
                            held.swap(i, j);
                        }
                    }
                    for (id, len) in held.drain(..k) {
                        dev.push_used(id, len);
                    }
                    dev.publish_used();
                    if notify && dev.interrupt_needed() {
                        call.ring();
                    }
                    continue;
                }
                assert!(dev.broken().is_none(), "{:?}", dev.broken());
                if done.load(use_std) {
                    return next;
                }
                if notify && !dev.enable_notify() && !done.load(use_std) {
                    kick.wait(&mut seen);
                } else if !notify {
                    idle();
                }
            }
        });
        let mut drv = drv;
        let mut rng = Rng(seed);
        let mut back = vec![false; n as usize];
        let (mut added, mut got, mut last) = (0u64, 0u64, None::<u64>);
        let mut seen = 0;
        // However the driver's side ends (a failed assertion too), the device stops.
        let _stop = StopOnDrop(&done, &kick);
        let deadline = Instant::now() + Duration::from_secs(20);
        while got < n && !device.is_finished() {
            assert!(Instant::now() < deadline, "stuck at {got} of {n}");
            let want = (1 + rng.below(max_batch)).min(n - added);
            let mut busy = false;
            if want > 0 && u64::from(drv.free()) >= want {
                for _ in 0..want {
                    assert!(drv.add(payload(added), added));
                    added += 1;
                }
                drv.publish();
                if notify && drv.kick_needed() {
                    kick.ring();
                }
                busy = true;
            }
            let r = drv.reclaim(u16::MAX, |u| {
                let t = u.token as usize;
                assert!(!back[t], "buffer {t} came back twice");
                back[t] = true;
                if let Some(len) = u.len {
                    assert_eq!(len, written(payload(u.token)), "buffer {t} len");
                } else {
                    assert!(opts.in_order, "only IN_ORDER may skip a used entry");
                }
                if opts.in_order {
                    assert_eq!(u.token, last.map_or(0, |l| l + 1), "IN_ORDER order");
                }
                last = Some(u.token);
            });
            assert!(drv.broken().is_none(), "{:?}", drv.broken());
            got += u64::from(r);
            if r == 0 && !busy {
                if notify && !drv.enable_cb() {
                    call.wait(&mut seen);
                } else if !notify {
                    idle();
                }
            }
        }
        drop(_stop);
        // A device that ended early panicked: this re-raises its message.
        assert_eq!(device.join().unwrap(), n, "device saw every buffer once");
        assert_eq!(got, n);
        assert!(back.iter().all(|&b| b), "every buffer came back");
    });
}

fn both_layouts(size: u16, case: Case) {
    let (d, v) = split::pair(size.into(), case.opts).unwrap();
    exchange(d, v, case);
    // Packed takes any size: use one that is not a power of 2.
    let odd = size - size / 4 + 1;
    let (d, v) = packed::pair(odd.into(), case.opts).unwrap();
    exchange(d, v, case);
}

#[test]
fn buffers_cross_once_intact_polling() {
    for (i, in_order) in [false, true].into_iter().enumerate() {
        let case = Case {
            n: 20_000,
            seed: 7 + i as u64,
            opts: Options {
                in_order,
                event_idx: false,
            },
            notify: false,
            max_batch: 9,
        };
        both_layouts(16, case);
    }
}

#[test]
fn buffers_cross_once_intact_with_notifications() {
    for (i, (in_order, event_idx)) in [(false, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let case = Case {
            n: 5_000,
            seed: 99 + i as u64,
            opts: Options {
                in_order,
                event_idx,
            },
            notify: true,
            max_batch: 6,
        };
        both_layouts(8, case);
    }
}

/// Millions of buffers with random batches and random completion order, both layouts: 2 × 1 M
/// buffers in well under a second of `cargo test` (see docs/PERFORMANCE.md for the times
/// measured; the rings are optimised in every profile, see the workspace `Cargo.toml`).
#[test]
fn stress_millions_of_buffers() {
    let t = Instant::now();
    let case = Case {
        n: 1_000_000,
        seed: 2024,
        opts: Options::default(),
        notify: false,
        max_batch: 64,
    };
    both_layouts(256, case);
    eprintln!("stress: 2 x {} buffers in {:?}", case.n, t.elapsed());
}

fn plan(layout: RingKind, wake: Option<Wake>, in_order: bool, event_idx: bool) -> Plan {
    Plan {
        config: BenchConfig {
            layout,
            ring_size: if layout == RingKind::Split { 64 } else { 48 },
            batch: 4,
            outstanding: 16,
            in_order,
            event_idx,
            mode: if wake.is_some() {
                BenchMode::Notify
            } else {
                BenchMode::Poll
            },
        },
        wake: wake.unwrap_or(Wake::Park),
        driver_cpu: None,
        device_cpu: None,
        limit: Limit::Buffers(20_000),
    }
}

#[test]
fn the_harness_passes_every_buffer_in_every_mode() {
    let cancel = AtomicBool::new(false);
    for layout in [RingKind::Split, RingKind::Packed] {
        for (wake, in_order, event_idx) in [
            (None, false, false),
            (None, true, false),
            (Some(Wake::Park), false, true),
            (Some(Wake::Park), false, false),
            (Some(Wake::Condvar), true, true),
        ] {
            let p = plan(layout, wake, in_order, event_idx);
            let m = harness::run(&p, &cancel, &mut |_| {}).unwrap();
            assert_eq!(m.buffers, 20_000, "{p:?}");
            assert!(m.timed_buffers > 0 && m.timed_buffers < m.buffers, "{m:?}");
            assert_eq!(m.counts.lost_wakeups, 0, "{p:?}");
            if wake.is_none() {
                assert_eq!(m.counts.kicks + m.counts.interrupts, 0);
            } else {
                assert!(
                    m.counts.kicks > 0 && m.counts.interrupts > 0,
                    "{p:?}: {m:?}"
                );
            }
        }
    }
}

#[test]
fn the_harness_rejects_a_cap_below_the_batch_and_stops_when_cancelled() {
    let cancel = AtomicBool::new(false);
    let mut p = plan(RingKind::Split, None, false, false);
    p.config.outstanding = 2;
    let e = harness::run(&p, &cancel, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("between the batch (4)"), "{e}");
    // Cancelled before it starts: the driver adds nothing more after its first check.
    let cancel = AtomicBool::new(true);
    let mut p = plan(RingKind::Packed, None, false, false);
    p.limit = Limit::Time(Duration::from_secs(30));
    let t = Instant::now();
    let m = harness::run(&p, &cancel, &mut |_| {}).unwrap();
    assert!(
        m.interrupted && t.elapsed() < Duration::from_secs(5),
        "{m:?}"
    );
    assert!(m.buffers < 10_000, "{m:?}");
}
