//! Trace import and seek benchmarks (docs/PERFORMANCE.md, "Trace import").
//!
//! The large trace is built by repeating the real captures in `traces/` (split-wrap,
//! packed-wrap, split-default-ts), so the line mix is QEMU's own. Import is measured against
//! merely splitting the same bytes into lines (std's `BufRead::read_until`) in the same run.

use std::hint::black_box;
use std::io::{BufRead, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringside_core::trace::{Capture, ReplayOptions, TraceSession, TraceStore};

fn base() -> Vec<u8> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../traces"));
    let mut v = Vec::new();
    for name in ["split-wrap", "packed-wrap", "split-default-ts"] {
        if let Ok(b) = std::fs::read(dir.join(name).join("trace.log")) {
            v.extend_from_slice(&b);
        }
    }
    assert!(
        !v.is_empty(),
        "traces/ missing: link or copy the captures first"
    );
    v
}

/// Reads `base` over and over, `times` times: a huge trace without holding it in memory.
struct Repeat<'a> {
    base: &'a [u8],
    pos: usize,
    left: usize,
}

impl Read for Repeat<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let src = &self.base[self.pos..];
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        self.pos += n;
        if self.pos == self.base.len() {
            self.pos = 0;
            self.left -= 1;
        }
        Ok(n)
    }
}

fn count_lines(data: &[u8]) -> u64 {
    let mut r = std::io::BufReader::with_capacity(1 << 20, data);
    let mut buf = Vec::with_capacity(256);
    let mut n = 0;
    while r.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
        n += 1;
        buf.clear();
    }
    n
}

fn import(c: &mut Criterion) {
    let one = base();
    // ~50 MB of real trace lines.
    let reps = (50 << 20) / one.len() + 1;
    let big: Vec<u8> = one.iter().copied().cycle().take(one.len() * reps).collect();
    let lines = count_lines(&big);
    let mut g = c.benchmark_group("trace-import");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(lines));
    g.bench_function("split-lines (baseline)", |b| {
        b.iter(|| black_box(count_lines(black_box(&big))))
    });
    g.bench_function("import", |b| {
        b.iter(|| black_box(TraceStore::from_bytes(black_box(&big), "big.log")))
    });
    g.finish();

    let store = TraceStore::from_bytes(&big, "big.log");
    let per = store.heap_bytes() as f64 / store.events().len() as f64;
    eprintln!(
        "trace-import: {} bytes, {lines} lines, {} events, {:.1} heap bytes/event, {} bytes/Event",
        big.len(),
        store.events().len(),
        per,
        std::mem::size_of::<ringside_core::trace::Event>()
    );
}

fn seek(c: &mut Criterion) {
    let one = base();
    let per_copy = count_lines(&one) as usize;
    let reps = 10_000_000 / per_copy + 1;
    let t0 = Instant::now();
    let store = TraceStore::from_reader(
        Repeat {
            base: &one,
            pos: 0,
            left: reps,
        },
        "10M.log",
    )
    .expect("in-memory reader");
    let import = t0.elapsed();
    let n = store.events().len();
    let t1 = Instant::now();
    let session = TraceSession::new(Capture::new(store), &ReplayOptions::default());
    eprintln!(
        "seek: {n} events imported in {:.2?}, session (replay + checkpoints) built in {:.2?}",
        import,
        t1.elapsed()
    );
    let mut g = c.benchmark_group("trace-seek");
    g.sample_size(50);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    g.bench_function("seek-random-step-10M", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let step = (x % n as u64) as usize;
            black_box(session.state_at(step))
        })
    });
    g.finish();
}

criterion_group!(benches, import, seek);
criterion_main!(benches);
