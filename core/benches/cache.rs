//! Cost of the cache-line model per access, over the access log the engine itself records for
//! a split and a packed ring.
//!
//! The goal is ≥1M buffers/s with full recording at ≈10-20 accesses per buffer on a slow
//! 2-core machine, so the model must stay well under 50 ns per access.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringside_core::cache::CacheModel;
use ringside_core::config::EngineConfig;
use ringside_core::engine::Engine;
use ringside_core::features::Features;
use ringside_core::layout::RingKind;
use ringside_core::memory::Access;
use ringside_core::op::Op;
use ringside_core::ring::{BufferSpec, Pick};

const QUEUE: u32 = 256;
/// Buffers in one pass of the stream: two laps of the ring.
const BUFFERS: u32 = 512;

/// The engine's log for `BUFFERS` buffers sent one at a time, the device writing 64 bytes of
/// payload into each (so the stream has data lines as well as ring lines).
fn stream(kind: RingKind) -> Vec<Access> {
    let mut cfg = EngineConfig::simple(kind, QUEUE, Features::NONE);
    cfg.device.touch_payload = true;
    let mut e = Engine::new(cfg).expect("valid config");
    e.apply(&Op::Negotiate).expect("no budget");
    e.bus.take_log();
    let round = [
        Op::Add {
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
    ];
    for _ in 0..BUFFERS {
        for op in &round {
            e.apply(op).expect("no budget");
        }
    }
    assert!(e.findings.0.is_empty(), "{:?}", e.findings.0);
    e.bus.take_log()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache_model");
    for (name, kind) in [("split", RingKind::Split), ("packed", RingKind::Packed)] {
        let stream = stream(kind);
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
