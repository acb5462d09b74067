//! Cost of the cache-line model per access, over the stream a split and a packed ring produce.
//!
//! The goal is ≥1M buffers/s with full recording at ≈10-15 accesses per buffer on a slow
//! 2-core machine, so the model must stay well under 50 ns per access.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringside_core::cache::CacheModel;
use ringside_core::layout::{PackedLayout, SplitLayout};
use ringside_core::memory::{Access, AccessKind, Agent, DescPart, Field, Ordering, Space};

const QUEUE: u32 = 256;
/// Buffers in one pass of the stream: two laps of the ring.
const BUFFERS: u16 = 512;
/// Payload bytes the device writes per buffer (a small packet: one or two lines).
const PAYLOAD: u32 = 64;
/// Where buffers live, past the rings.
const BUFFER_BASE: u64 = 0x100_0000;

struct Gen(Vec<Access>);

impl Gen {
    fn push(&mut self, agent: Agent, kind: AccessKind, addr: u64, size: u32, field: Field) {
        self.0.push(Access {
            step: self.0.len() as u64,
            agent,
            kind,
            space: Space::Guest,
            addr,
            size,
            value: 0,
            old: 0,
            field,
            order: Ordering::Plain,
        });
    }
    /// Descriptor members `(offset, size, part)` of slot `i` of the table at `base`.
    fn desc(&mut self, agent: Agent, kind: AccessKind, base: u64, i: u16, parts: &[Member]) {
        for &(off, size, part) in parts {
            let field = Field::Desc { index: i, part };
            self.push(agent, kind, base + 16 * u64::from(i) + off, size, field);
        }
    }
}

type Member = (u64, u32, DescPart);
const ADDR: Member = (0, 8, DescPart::Addr);
const LEN: Member = (8, 4, DescPart::Len);
/// Split: flags then next.
const SPLIT_FLAGS: Member = (12, 2, DescPart::Flags);
const NEXT: Member = (14, 2, DescPart::Next);
/// Packed: buffer id then flags.
const ID: Member = (12, 2, DescPart::Id);
const PACKED_FLAGS: Member = (14, 2, DescPart::Flags);

/// Split ring, one buffer at a time, with the device writing the payload: 19 accesses each.
fn split_stream() -> Vec<Access> {
    use AccessKind::{Load, Store};
    use Agent::{Device, Driver};
    let l = SplitLayout::contiguous(QUEUE, 0x10000).expect("valid layout");
    let mut g = Gen(Vec::new());
    for b in 0..BUFFERS {
        let i = b % l.size;
        let buf = BUFFER_BASE + u64::from(i) * 2048;
        g.desc(Driver, Store, l.desc, i, &[ADDR, LEN, SPLIT_FLAGS, NEXT]);
        g.push(Driver, Store, l.avail_ring(i), 2, Field::AvailRing(i));
        g.push(Driver, Store, l.avail_idx(), 2, Field::AvailIdx);
        g.push(Device, Load, l.avail_idx(), 2, Field::AvailIdx);
        g.push(Device, Load, l.avail_ring(i), 2, Field::AvailRing(i));
        g.desc(Device, Load, l.desc, i, &[ADDR, LEN, SPLIT_FLAGS, NEXT]);
        g.push(Device, Store, buf, PAYLOAD, Field::Payload { id: i });
        g.push(Device, Store, l.used_elem(i), 4, Field::UsedId(i));
        g.push(Device, Store, l.used_elem(i) + 4, 4, Field::UsedLen(i));
        g.push(Device, Store, l.used_idx(), 2, Field::UsedIdx);
        g.push(Driver, Load, l.used_idx(), 2, Field::UsedIdx);
        g.push(Driver, Load, l.used_elem(i), 4, Field::UsedId(i));
        g.push(Driver, Load, l.used_elem(i) + 4, 4, Field::UsedLen(i));
    }
    g.0
}

/// Packed ring, one buffer at a time, with the device writing the payload: 15 accesses each.
fn packed_stream() -> Vec<Access> {
    use AccessKind::{Load, Store};
    use Agent::{Device, Driver};
    let l = PackedLayout::contiguous(QUEUE, 0x10000).expect("valid layout");
    let mut g = Gen(Vec::new());
    for b in 0..BUFFERS {
        let i = b % l.size;
        let buf = BUFFER_BASE + u64::from(i) * 2048;
        g.desc(Driver, Store, l.desc, i, &[ADDR, LEN, ID, PACKED_FLAGS]);
        g.desc(Device, Load, l.desc, i, &[PACKED_FLAGS, ADDR, LEN, ID]);
        g.push(Device, Store, buf, PAYLOAD, Field::Payload { id: i });
        g.desc(Device, Store, l.desc, i, &[ID, LEN, PACKED_FLAGS]);
        g.desc(Driver, Load, l.desc, i, &[PACKED_FLAGS, ID, LEN]);
    }
    g.0
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_model");
    for (name, stream) in [("split", split_stream()), ("packed", packed_stream())] {
        group.throughput(Throughput::Elements(stream.len() as u64));
        // Warm: steady state has every line and field row already allocated.
        let mut model = CacheModel::default();
        model.observe_all(&stream);
        group.bench_function(name, |b| {
            b.iter(|| {
                for a in &stream {
                    black_box(model.observe(black_box(a)));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
