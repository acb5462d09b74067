//! Fuzz-style properties: no importer panics on random bytes or on mutated real lines, and
//! every problem it reports carries a location.

use proptest::prelude::*;

use ringside_core::trace::qmp::QmpTranscript;
use ringside_core::trace::ringdump::{self, DumpInput};
use ringside_core::trace::{Capture, ReplayOptions, TraceStore, export_chrome_string, replay};

/// Real lines from traces/split-default and traces/packed (timestamped), every modelled kind.
const REAL: &[&str] = &[
    "virtio_set_status vdev 0x55e60c401370 val 15",
    "virtio_queue_notify vdev 0x55e60c401370 n 0 vq 0x7f01d4238010",
    "virtqueue_alloc_element elem 0x55e60b81ac00 size 240 in_num 2 out_num 1",
    "virtqueue_pop vq 0x7f01d4238010 elem 0x55e60b81ac00 in_num 2 out_num 1",
    "virtio_blk_handle_read vdev 0x55e60c401370 req 0x55e60b81ac00 sector 0 nsectors 8",
    "virtqueue_fill vq 0x7f01d4238010 elem 0x55e60b81ac00 len 4097 idx 0",
    "virtqueue_flush vq 0x7f01d4238010 count 1",
    "virtio_notify_irqfd vdev 0x55e60c401370 vq 0x7f01d4238010",
    "virtio_rng_request rng 0x55e60c6392a0: 64 bytes requested, 4294967295 bytes quota left",
    "virtio_rng_vm_state_change rng 0x55e60c6392a0: state change to running 0 state 4",
    "12736@1795598366.417852:virtqueue_pop vq 0x7f2b0988f010 elem 0x55f54a0c32c0 in_num 2 out_num 1",
    "12736@1795598366.418085:virtio_notify_irqfd vdev 0x55f54acf9930 vq 0x7f2b0988f010",
];

const QMP: &str = r#"{"execute": "x-query-virtio-queue-status", "arguments": {"path": "/p", "queue": 0}, "id": "a/5"}
{"return": {"signalled-used": 3, "inuse": 0, "name": "virtio-rng", "vring-align": 4096, "vring-desc": 46006272, "signalled-used-valid": true, "vring-num-default": 8, "vring-avail": 46006400, "queue-index": 0, "last-avail-idx": 3, "vring-used": 46006464, "used-idx": 3, "shadow-avail-idx": 3, "vring-num": 8}, "id": "a/5"}
"#;

fn mutate(line: &str, pos: usize, op: u8, byte: u8) -> Vec<u8> {
    let mut b = line.as_bytes().to_vec();
    let p = pos % (b.len() + 1);
    match op % 4 {
        0 => b.truncate(p),
        1 => b.insert(p, byte),
        2 => {
            if p < b.len() {
                b[p] = byte;
            }
        }
        _ => {
            if p < b.len() {
                b.remove(p);
            }
        }
    }
    b
}

fn check_trace(data: &[u8]) {
    let store = TraceStore::from_bytes(data, "fuzz.log");
    for w in &store.warnings.list {
        assert!(w.line.is_some(), "warning without a line: {w:?}");
    }
    let rep = replay(&Capture::new(store.clone()), &ReplayOptions::default());
    let _ = rep.to_string();
    let _ = export_chrome_string(&store, &ReplayOptions::default());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_trace(&data);
        let q = QmpTranscript::parse(&data, "fuzz.jsonl");
        for w in &q.warnings.list {
            prop_assert!(w.line.is_some());
        }
        let d = DumpInput {
            name: "fuzz".into(),
            desc: data.clone(),
            driver: data.iter().rev().copied().collect(),
            device: data.clone(),
            ..Default::default()
        };
        let _ = ringdump::inspect(&d).map(|i| i.to_string());
    }

    #[test]
    fn mutated_real_lines_never_panic(
        picks in proptest::collection::vec((0..REAL.len(), any::<usize>(), any::<u8>(), any::<u8>()), 1..40)
    ) {
        let mut data = Vec::new();
        for (i, pos, op, byte) in picks {
            data.extend_from_slice(&mutate(REAL[i], pos, op, byte));
            data.push(b'\n');
        }
        check_trace(&data);
    }

    #[test]
    fn mutated_qmp_never_panics(pos in any::<usize>(), op in any::<u8>(), byte in any::<u8>()) {
        let m = mutate(QMP, pos, op, byte);
        let q = QmpTranscript::parse(&m, "m.jsonl");
        let store = TraceStore::from_bytes(REAL.join("\n").as_bytes(), "t.log");
        let _ = replay(&Capture::new(store).with_qmp(q), &ReplayOptions::default()).to_string();
    }

    #[test]
    fn dumps_of_any_size_never_panic(q in 0u16..70, d in 0usize..1200, a in 0usize..200, u in 0usize..600,
                                      fill in any::<u8>(), packed in any::<bool>()) {
        let dump = DumpInput {
            name: "sized".into(),
            kind: Some(if packed { ringside_core::layout::RingKind::Packed } else { ringside_core::layout::RingKind::Split }),
            size: (q > 0).then_some(q),
            desc: vec![fill; d],
            driver: vec![fill; a],
            device: vec![fill.wrapping_add(1); u],
            ..Default::default()
        };
        if let Ok(i) = ringdump::inspect(&dump) {
            let _ = i.to_string();
        }
    }
}

#[test]
fn a_mutated_line_is_counted_not_dropped() {
    // Truncating a real pop mid-pointer keeps it as an unknown line with a warning at line 2.
    let data = format!("{}\nvirtqueue_pop vq 0x7f01d42\n{}\n", REAL[1], REAL[6]);
    let store = TraceStore::from_bytes(data.as_bytes(), "cut.log");
    assert_eq!(store.events().len(), 3);
    assert_eq!(store.stats.unknown_lines, 1);
    assert_eq!(store.stats.malformed_lines, 1);
    let w = &store.warnings.list[0];
    assert_eq!(w.line, Some(2));
    assert!(w.to_string().contains("cut.log:2"), "{w}");
    assert!(w.expected.contains("in_num"), "{w:?}");
    // Binary garbage is flagged as such.
    let store = TraceStore::from_bytes(b"\x00\x01\xffELF\n", "bin.log");
    assert_eq!(store.stats.binary_lines, 1);
}
