use ringside_rings::harness::*;
use ringside_rings::{Options, RingKind};
use std::sync::atomic::AtomicBool;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let layout = if args[1] == "split" {
        RingKind::Split
    } else {
        RingKind::Packed
    };
    let n: u64 = args[2].parse().unwrap();
    let p = Plan {
        layout,
        ring_size: 256,
        batch: 1,
        outstanding: 1,
        options: Options::default(),
        mode: Mode::Poll,
        driver_cpu: Some(0),
        device_cpu: Some(1),
        limit: Limit::Buffers(n),
    };
    let c = AtomicBool::new(false);
    let m = run(&p, &c, &mut |_| {}).unwrap();
    println!("{:?} {:.1} ns/buffer", layout, m.ns_per_buffer().unwrap());
}
