//! The rings' own cost without a second CPU: one thread plays both halves, so no cache line
//! moves and what is left is the instructions of add, publish, pop, use, publish and reclaim
//! per buffer. This is the part of a `ringside bench` round trip the code controls; the rest is
//! the lines crossing between CPUs. Split and packed, unbatched and batches of 4, ring of 256.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringside_rings::{Buffer, Device, Driver, Options, packed, split};

/// `batch` buffers there and back.
fn round<D: Driver, V: Device>(d: &mut D, v: &mut V, batch: u16, next: &mut u64) {
    for _ in 0..batch {
        let ok = d.add(
            Buffer {
                addr: *next,
                len: 64,
            },
            *next,
        );
        debug_assert!(ok);
        *next += 1;
    }
    d.publish();
    while let Some(p) = v.pop() {
        v.push_used(p.id, p.buf.len);
    }
    v.publish_used();
    let n = d.reclaim(u16::MAX, |u| {
        black_box(u);
    });
    debug_assert_eq!(n, batch);
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_ops");
    for batch in [1u16, 4] {
        g.throughput(Throughput::Elements(batch.into()));
        let mut next = 0;
        let (mut d, mut v) = split::pair(256, Options::default()).expect("split ring");
        g.bench_function(format!("split/b{batch}"), |b| {
            b.iter(|| round(&mut d, &mut v, batch, &mut next))
        });
        let (mut d, mut v) = packed::pair(256, Options::default()).expect("packed ring");
        g.bench_function(format!("packed/b{batch}"), |b| {
            b.iter(|| round(&mut d, &mut v, batch, &mut next))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
