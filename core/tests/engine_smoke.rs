use ringside_core::engine::{Engine, EngineConfig};
use ringside_core::features::Features;
use ringside_core::layout::RingKind;
use ringside_core::op::Op;
use ringside_core::queue::{BufferSpec, Pick};

fn run(kind: RingKind, f: Features, ops: &[Op]) -> Engine {
    let mut e = Engine::new(EngineConfig::simple(kind, 8, f)).unwrap();
    for op in Op::flatten(ops) {
        let o = e.apply(&op).unwrap();
        println!("{op:?} -> {}", o.summary);
    }
    e
}

#[test]
fn smoke() {
    for kind in [RingKind::Split, RingKind::Packed] {
        let buf = BufferSpec {
            readable: vec![16],
            writable: vec![512],
            indirect: false,
        };
        let ops = vec![
            Op::Negotiate,
            Op::Repeat {
                times: 5,
                ops: vec![
                    Op::Add {
                        buffer: buf.clone(),
                        count: 3,
                    },
                    Op::Publish,
                    Op::Kick,
                    Op::Pop { max: None },
                    Op::Complete {
                        count: 3,
                        pick: Pick::Newest,
                        written: None,
                    },
                    Op::PublishUsed,
                    Op::Interrupt,
                    Op::Reclaim { max: None },
                ],
            },
        ];
        let mut e = run(kind, Features::EVENT_IDX, &ops);
        e.audit();
        for f in &e.findings.0 {
            println!("{f}");
        }
        println!("{:?} {:?}", e.ledger, e.counters);
        assert!(e.findings.0.is_empty(), "{kind}");
        assert_eq!(e.ledger.reclaimed, 15);
    }
}
