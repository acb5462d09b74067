//! Engine throughput (issue 3): buffers passed driver -> device -> driver, queue size 256,
//! batch 1 and 4, a 1-descriptor chain (64 B readable) and a 2-descriptor chain (64 B readable
//! and 512 B writable), split and packed; ringside with recording off and on, and the same
//! split workload through rust-vmm's virtio-queue (a raw driver over vm-memory, `Queue` as
//! device) as the anchor, measured in the same run. Recording off is measured twice: through
//! `Engine::run` (a replay, as a seek does) and through `Engine::apply` per op (stepping).
//!
//! One round = the driver adds `batch` buffers and publishes once, the device pops them,
//! completes them and publishes once, the driver reclaims them. No kicks or interrupts.
//! Criterion counts `batch` elements per round, so its thrpt is buffers/s.
//!
//! A variant is one function `fn(&Case) -> Option<Round>` listed in [`VARIANTS`]; `None` means
//! it does not apply to the case (virtio-queue has no packed device).

use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringside_core::cache::CacheModel;
use ringside_core::config::EngineConfig;
use ringside_core::engine::Engine;
use ringside_core::features::Features;
use ringside_core::layout::{RingKind, SplitLayout};
use ringside_core::op::Op;
use ringside_core::ring::{BufferSpec, Pick};
use virtio_queue::{Queue, QueueT};
use vm_memory::{
    Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, VolatileSlice, bitmap::BitmapSlice,
};

const QUEUE_SIZE: u16 = 256;
/// Drain the access log once it holds this many accesses (recording variants).
const LOG_DRAIN: usize = 1 << 16;

/// The two buffer shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One descriptor, 64 B device-readable.
    Chain1,
    /// 64 B device-readable, then 512 B device-writable.
    Chain2,
}

impl Shape {
    fn name(self) -> &'static str {
        match self {
            Shape::Chain1 => "chain1",
            Shape::Chain2 => "chain2",
        }
    }
    fn spec(self) -> BufferSpec {
        match self {
            Shape::Chain1 => BufferSpec {
                readable: vec![64],
                writable: vec![],
                indirect: false,
            },
            Shape::Chain2 => BufferSpec {
                readable: vec![64],
                writable: vec![512],
                indirect: false,
            },
        }
    }
}

/// One benchmark case.
#[derive(Debug, Clone, Copy)]
struct Case {
    ring: RingKind,
    shape: Shape,
    batch: u16,
}

/// One round of the workload: `batch` buffers there and back.
type Round = Box<dyn FnMut()>;

/// A variant: builds the round for a case, or `None` when it does not apply.
type Variant = fn(&Case) -> Option<Round>;

/// The variants, each measured on every case it applies to.
const VARIANTS: &[(&str, Variant)] = &[
    ("ringside_norec", ringside_norec),
    ("ringside_norec_apply", ringside_norec_apply),
    ("ringside_rec", ringside_rec),
    ("ringside_rec_cache", ringside_rec_cache),
    ("virtio_queue", virtio_queue),
];

/// A negotiated ringside engine for the case, with the round's ops, checked to really move
/// buffers (a benchmark of a stalled ring would measure nothing).
fn ringside_engine(c: &Case, recording: bool) -> (Engine, Vec<Op>) {
    let cfg = EngineConfig::simple(c.ring, QUEUE_SIZE.into(), Features::NONE);
    let mut e = Engine::new(cfg).expect("engine config");
    e.bus.set_recording(recording);
    e.apply(&Op::Negotiate).expect("negotiate");
    let ops = vec![
        Op::Add {
            buffer: c.shape.spec(),
            count: c.batch,
        },
        Op::Publish,
        Op::Pop { max: None },
        Op::Complete {
            count: c.batch,
            pick: Pick::Oldest,
            written: None,
        },
        Op::PublishUsed,
        Op::Reclaim { max: None },
    ];
    // Warm up past a ring wrap and check that every buffer came back.
    let rounds = 2 * u64::from(QUEUE_SIZE);
    for _ in 0..rounds {
        for op in &ops {
            e.apply(op).expect("no budget");
        }
    }
    assert!(e.findings.0.is_empty(), "{:?}", e.findings.0);
    assert_eq!(e.ledger.reclaimed, rounds * u64::from(c.batch));
    e.bus.take_log();
    (e, ops)
}

/// Recording off, the way ringside replays with it off (a seek from a checkpoint): the whole
/// round through [`Engine::run`], outcomes not read.
fn ringside_norec(c: &Case) -> Option<Round> {
    let (mut e, ops) = ringside_engine(c, false);
    Some(Box::new(move || {
        let _ = black_box(e.run(&ops, |_, _| {}));
    }))
}

/// Recording off, one [`Engine::apply`] per op with every outcome kept, the way a UI steps
/// op by op: the per-op set-up that [`Engine::run`] shares is paid six times a round.
fn ringside_norec_apply(c: &Case) -> Option<Round> {
    let (mut e, ops) = ringside_engine(c, false);
    Some(Box::new(move || {
        for op in &ops {
            let _ = black_box(e.apply(op));
        }
    }))
}

fn ringside_rec(c: &Case) -> Option<Round> {
    let (mut e, ops) = ringside_engine(c, true);
    Some(Box::new(move || {
        for op in &ops {
            let _ = black_box(e.apply(op));
        }
        if e.bus.log().len() >= LOG_DRAIN {
            drop(black_box(e.bus.take_log()));
        }
    }))
}

/// Full recording with the cache model fed every access, as a UI or `ringside run` does.
fn ringside_rec_cache(c: &Case) -> Option<Round> {
    let (mut e, ops) = ringside_engine(c, true);
    let mut cache = CacheModel::default();
    Some(Box::new(move || {
        for op in &ops {
            let _ = black_box(e.apply(op));
        }
        cache.observe_all(e.bus.log());
        drop(black_box(e.bus.take_log()));
    }))
}

/// A hand-written split driver over vm-memory (volatile slices taken once, like the notes'
/// "raw" driver but through vm-memory's safe accessors) and virtio-queue's `Queue` as device.
struct VqRing<B: BitmapSlice> {
    mem: &'static GuestMemoryMmap,
    queue: Queue,
    desc: VolatileSlice<'static, B>,
    avail: VolatileSlice<'static, B>,
    used: VolatileSlice<'static, B>,
    size: u16,
    free: Vec<u16>,
    /// Second descriptor of the chain each head starts (chain2).
    next: Vec<u16>,
    avail_idx: u16,
    last_used: u16,
    shape: Shape,
    batch: u16,
}

const DATA: u64 = 0x100_0000;
const STRIDE: u64 = 0x1000;

impl<B: BitmapSlice> VqRing<B> {
    fn write_desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let o = 16 * usize::from(i);
        let d = &self.desc;
        d.store(addr.to_le(), o, Ordering::Relaxed)
            .expect("desc addr");
        d.store(len.to_le(), o + 8, Ordering::Relaxed)
            .expect("desc len");
        d.store(flags.to_le(), o + 12, Ordering::Relaxed)
            .expect("desc flags");
        d.store(next.to_le(), o + 14, Ordering::Relaxed)
            .expect("desc next");
    }

    fn round(&mut self) {
        // Driver: add and publish.
        for _ in 0..self.batch {
            let head = self.free.pop().expect("free descriptor");
            let addr = DATA + u64::from(head) * 8 * STRIDE;
            match self.shape {
                Shape::Chain1 => self.write_desc(head, addr, 64, 0, 0),
                Shape::Chain2 => {
                    let second = self.free.pop().expect("free descriptor");
                    self.write_desc(head, addr, 64, 1, second);
                    self.write_desc(second, addr + STRIDE, 512, 2, 0);
                    self.next[usize::from(head)] = second;
                }
            }
            let slot = 4 + 2 * usize::from(self.avail_idx % self.size);
            self.avail
                .store(head.to_le(), slot, Ordering::Relaxed)
                .expect("avail ring");
            self.avail_idx = self.avail_idx.wrapping_add(1);
        }
        self.avail
            .store(self.avail_idx.to_le(), 2, Ordering::Release)
            .expect("avail idx");
        // Device: pop, walk, complete.
        for _ in 0..self.batch {
            let mut chain = self
                .queue
                .pop_descriptor_chain(self.mem)
                .expect("an available chain");
            let head = chain.head_index();
            let mut written = 0u32;
            for d in chain.by_ref() {
                black_box(d.addr());
                if d.is_write_only() {
                    written += d.len();
                }
            }
            self.queue
                .add_used(self.mem, head, written)
                .expect("add_used");
        }
        // Driver: reclaim.
        let used: u16 = u16::from_le(self.used.load(2, Ordering::Acquire).expect("used idx"));
        while self.last_used != used {
            let slot = 4 + 8 * usize::from(self.last_used % self.size);
            let id: u32 = u32::from_le(self.used.load(slot, Ordering::Relaxed).expect("id"));
            let len: u32 = u32::from_le(self.used.load(slot + 4, Ordering::Relaxed).expect("len"));
            black_box(len);
            let head = id as u16;
            if self.shape == Shape::Chain2 {
                self.free.push(self.next[usize::from(head)]);
            }
            self.free.push(head);
            self.last_used = self.last_used.wrapping_add(1);
        }
    }
}

fn virtio_queue(c: &Case) -> Option<Round> {
    if c.ring != RingKind::Split {
        return None;
    }
    let l = SplitLayout::contiguous(QUEUE_SIZE.into(), 0x10000).expect("layout");
    let data = usize::from(QUEUE_SIZE) * 8 * STRIDE as usize;
    let mem: &'static GuestMemoryMmap = Box::leak(Box::new(
        GuestMemoryMmap::from_ranges(&[
            (GuestAddress(0x10000), 0x1_0000),
            (GuestAddress(DATA), data),
        ])
        .expect("guest memory"),
    ));
    let slice = |addr: u64, len: u64| {
        mem.get_slice(GuestAddress(addr), len as usize)
            .expect("ring slice")
    };
    let mut queue = Queue::new(QUEUE_SIZE).expect("queue");
    queue
        .try_set_desc_table_address(GuestAddress(l.desc))
        .expect("desc address");
    queue
        .try_set_avail_ring_address(GuestAddress(l.avail))
        .expect("avail address");
    queue
        .try_set_used_ring_address(GuestAddress(l.used))
        .expect("used address");
    queue.set_ready(true);
    assert!(queue.is_valid(mem));
    let mut r = VqRing {
        mem,
        queue,
        desc: slice(l.desc, l.desc_bytes()),
        avail: slice(l.avail, l.avail_bytes()),
        used: slice(l.used, l.used_bytes()),
        size: QUEUE_SIZE,
        free: (0..QUEUE_SIZE).rev().collect(),
        next: vec![0; usize::from(QUEUE_SIZE)],
        avail_idx: 0,
        last_used: 0,
        shape: c.shape,
        batch: c.batch,
    };
    for _ in 0..2 * QUEUE_SIZE {
        r.round();
    }
    assert_eq!(r.last_used, 2 * QUEUE_SIZE * c.batch);
    assert_eq!(r.free.len(), usize::from(QUEUE_SIZE));
    Some(Box::new(move || r.round()))
}

fn engine_throughput(cr: &mut Criterion) {
    for ring in [RingKind::Split, RingKind::Packed] {
        for shape in [Shape::Chain1, Shape::Chain2] {
            for batch in [1u16, 4] {
                let case = Case { ring, shape, batch };
                let mut g = cr.benchmark_group(format!("{ring}/{}/b{batch}", shape.name()));
                g.throughput(Throughput::Elements(batch.into()));
                for (name, variant) in VARIANTS {
                    if let Some(mut round) = variant(&case) {
                        g.bench_function(*name, |b| b.iter(&mut round));
                    }
                }
                g.finish();
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = engine_throughput
}
criterion_main!(benches);
