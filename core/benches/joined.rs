//! Both sides joined at scale (docs/PERFORMANCE.md, "Both sides of the ring").
//!
//! The capture is guest-split's steady part repeated: QEMU's trace.log from the config write of
//! anchor 3 to that of anchor 10 and the guest's guest-trace.txt from `ringside-anchor 3 begin`
//! to `ringside-anchor 10 end` (the blk, rng and net workload between the probe and the `done`
//! snapshot), each copy's times moved on by the section's length on both sides alike, so the
//! anchors, the pairing and the clock stay what they are in the real run. Measured against
//! importing QEMU's side alone in the same run.

use std::hint::black_box;
use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ringside_core::trace::import::driver::DriverTrace;
use ringside_core::trace::{Capture, ReplayOptions, TraceSession, TraceStore};

/// A line split around its timestamp: text before, the time (µs), text after.
struct Timed {
    head: String,
    us: u64,
    tail: String,
}

impl Timed {
    fn write(&self, shift: u64, out: &mut Vec<u8>) {
        let t = self.us + shift;
        out.extend_from_slice(self.head.as_bytes());
        out.extend_from_slice(format!("{}.{:06}", t / 1_000_000, t % 1_000_000).as_bytes());
        out.extend_from_slice(self.tail.as_bytes());
        out.push(b'\n');
    }
}

fn parse_time(s: &str) -> u64 {
    let (a, b) = s.split_once('.').unwrap();
    a.parse::<u64>().unwrap() * 1_000_000 + b.parse::<u64>().unwrap()
}

/// QEMU's `tid@sec.usec:rest`.
fn qemu_line(l: &str) -> Timed {
    let (tid, rest) = l.split_once('@').unwrap();
    let (t, tail) = rest.split_once(':').unwrap();
    Timed {
        head: format!("{tid}@"),
        us: parse_time(t),
        tail: format!(":{tail}"),
    }
}

/// ftrace's `… [000] flags sec.usec: rest`.
fn guest_line(l: &str) -> Timed {
    let at = l.find("] ").unwrap() + 8;
    let rest = &l[at..];
    let start = at + (rest.len() - rest.trim_start().len());
    let colon = l[start..].find(':').unwrap() + start;
    Timed {
        head: l[..start].to_string(),
        us: parse_time(&l[start..colon]),
        tail: l[colon..].to_string(),
    }
}

/// The two sections and the time one copy spans.
fn sections() -> (Vec<Timed>, Vec<Timed>, u64) {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../traces/guest-split"
    ));
    let log = std::fs::read_to_string(dir.join("trace.log")).expect("traces/guest-split");
    let guest = std::fs::read_to_string(dir.join("guest-trace.txt")).unwrap();
    let write = |n: u32| {
        log.lines()
            .position(|l| l.ends_with(&format!("pci_cfg_write i440FX 00:00.0 @0x3c <- {n:#x}")))
            .unwrap()
    };
    let marker = |n: u32, w: &str| {
        guest
            .lines()
            .position(|l| l.contains(&format!("ringside-anchor {n} {w}")))
            .unwrap()
    };
    let q: Vec<Timed> = log
        .lines()
        .skip(write(3))
        .take(write(10) - write(3) + 1)
        .map(qemu_line)
        .collect();
    let g: Vec<Timed> = guest
        .lines()
        .skip(marker(3, "begin"))
        .take(marker(10, "end") - marker(3, "begin") + 1)
        .map(guest_line)
        .collect();
    let span = q.last().unwrap().us - q.first().unwrap().us + 10_000;
    (q, g, span)
}

/// Copies of a section, each moved on by `span`, produced as they are read.
struct Copies<'a> {
    lines: &'a [Timed],
    span: u64,
    copies: usize,
    next: usize,
    buf: Vec<u8>,
    at: usize,
}

impl<'a> Copies<'a> {
    fn new(lines: &'a [Timed], span: u64, copies: usize) -> Self {
        Copies {
            lines,
            span,
            copies,
            next: 0,
            buf: Vec::new(),
            at: 0,
        }
    }
}

impl Read for Copies<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buf.len() {
            if self.next == self.copies {
                return Ok(0);
            }
            self.buf.clear();
            self.at = 0;
            let shift = self.next as u64 * self.span;
            for l in self.lines {
                l.write(shift, &mut self.buf);
            }
            self.next += 1;
        }
        let n = (self.buf.len() - self.at).min(out.len());
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn bytes(lines: &[Timed], span: u64, copies: usize) -> Vec<u8> {
    let mut v = Vec::new();
    Copies::new(lines, span, copies)
        .read_to_end(&mut v)
        .unwrap();
    v
}

fn lines_in(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

fn import(c: &mut Criterion) {
    let (q, g, span) = sections();
    // About 1 M events on the two sides together.
    let copies = 1_000_000 / (q.len() + g.len()) + 1;
    let qb = bytes(&q, span, copies);
    let gb = bytes(&g, span, copies);
    let (ql, gl) = (lines_in(&qb), lines_in(&gb));
    eprintln!(
        "joined-import: {copies} copies, QEMU {} bytes / {ql} lines, guest {} bytes / {gl} lines",
        qb.len(),
        gb.len()
    );
    let mut grp = c.benchmark_group("joined-import");
    grp.sample_size(10)
        .measurement_time(Duration::from_secs(15));
    grp.throughput(Throughput::Elements(ql));
    grp.bench_function("qemu side alone", |b| {
        b.iter(|| black_box(TraceStore::from_bytes(black_box(&qb), "q.log")))
    });
    grp.throughput(Throughput::Elements(gl));
    grp.bench_function("guest side alone", |b| {
        b.iter(|| black_box(DriverTrace::from_bytes(black_box(&gb), "g.txt")))
    });
    grp.throughput(Throughput::Elements(ql + gl));
    grp.bench_function("both sides", |b| {
        b.iter(|| {
            black_box((
                TraceStore::from_bytes(black_box(&qb), "q.log"),
                DriverTrace::from_bytes(black_box(&gb), "g.txt"),
            ))
        })
    });
    grp.finish();
}

fn session(c: &mut Criterion) {
    let (q, g, span) = sections();
    let copies = 1_000_000 / (q.len() + g.len()) + 1;
    // Streamed: neither side is ever held as text.
    let t0 = Instant::now();
    let store = TraceStore::from_reader(Copies::new(&q, span, copies), "q.log").expect("in memory");
    let driver =
        DriverTrace::from_reader(Copies::new(&g, span, copies), "g.txt").expect("in memory");
    let import = t0.elapsed();
    let (qe, ge) = (store.events().len(), driver.events().len());
    let single = store.heap_bytes() as f64 / qe as f64;
    let t1 = Instant::now();
    let alone = TraceSession::new(Capture::new(store.clone()), &ReplayOptions::default());
    let alone_t = t1.elapsed();
    drop(alone);
    let t2 = Instant::now();
    let s = TraceSession::new(
        Capture::new(store).with_driver(driver),
        &ReplayOptions::default(),
    );
    let built = t2.elapsed();
    let j = s.join().expect("joined");
    let cap = s.capture();
    let heap = cap.store.heap_bytes()
        + cap.driver.as_ref().map_or(0, DriverTrace::heap_bytes)
        + j.heap_bytes();
    let joined = heap as f64 / (qe + ge) as f64;
    eprintln!(
        "joined-session: {qe} QEMU + {ge} guest events streamed in {import:.2?}; session alone \
         {alone_t:.2?}, joined (replay + join + merge) {built:.2?}; {} buffers; heap/event: \
         single side {single:.1} B, joined {joined:.1} B, ratio {:.2}",
        j.buffers.len(),
        joined / single
    );
    let steps = s.steps();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut grp = c.benchmark_group("joined-seek");
    grp.sample_size(50);
    grp.bench_function("position-random-step", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            black_box(s.position(x % steps))
        })
    });
    grp.finish();
}

criterion_group!(benches, import, session);
criterion_main!(benches);
