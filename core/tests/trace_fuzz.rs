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

/// Real lines of the guest driver's trace (guest-split, guest-packed) and DPDK's log
/// (dpdk-split).
const DRIVER: &[&str] = &[
    "# entries-in-buffer/entries-written: 818/818   #P:1",
    "    kworker/0:1H-37      [000] d..1. 1796216537.631949: add_sgs_s: (virtqueue_add_sgs+0x0/0xd0 [virtio_ring]) vq=0xffff8d8303bc7600 packed=0 dev=0 q=0 name=\"req.0\" free=256 num=256 free_head=0 added=0 last_used=0 avail_idx_shadow=0 avail_flags_shadow=0x0 avail_idx=0 used_idx=0 used_flags=0x0 out=1 in=2 data=0xffff8d8303c42210",
    "    kworker/0:1H-37      [000] d..1. 1796216537.633128: kick_prepare_ret: (virtio_queue_rq+0xc7/0x1c0 [virtio_blk] <- virtqueue_kick_prepare) notify=1",
    "          <idle>-0       [000] d.h2. 1796216537.634502: detach_split: (detach_buf_split+0x0/0x150 [virtio_ring]) vq=0xffff8d8303bc7600 packed=0 dev=0 q=0 name=\"req.0\" free=255 num=256 free_head=1 added=0 last_used=0 avail_idx_shadow=1 avail_flags_shadow=0x1 avail_idx=1 used_idx=1 used_flags=0x0 head=0",
    "          <idle>-0       [000] d.h2. 1796216537.634687: get_buf_split_ret: (virtblk_done+0x87/0x100 [virtio_blk] <- virtqueue_get_buf_ctx_split) token=0xffff8d8303c42210",
    "    kworker/0:1H-37      [000] d..1. 1796216588.750619: kick_prepare_p: (virtqueue_kick_prepare+0x0/0xd0 [virtio_ring]) vq=0xffff8c3683bd0e00 packed=1 dev=0 q=0 name=\"req.0\" free=255 num=256 free_head=1 added=1 last_used=0x8000 next_avail=1 avail_wrap=1 avail_used_flags=0x80 event_flags_shadow=0x0 drv_off_wrap=0x0 drv_flags=0x0 dev_off_wrap=0x8000 dev_flags=0x2",
    " ringside-anchor-159     [000] ..... 1796216877.205669: tracing_mark_write: ringside-anchor 1 begin pci 0000:00:00.0 0x3c<-0x1",
];
const DPDK: &[&str] = &[
    "1796217376.329407 VHOST_CONFIG: (/tmp/x.sock) read message VHOST_USER_SET_FEATURES",
    "1796217376.856467 VHOST_CONFIG: (/tmp/x.sock) vring base idx:0 last_used_idx:0 last_avail_idx:0.",
    "1796217380.759071 VHOST_CONFIG: (/tmp/x.sock) vring base idx:1 file:15",
    "1796216996.411958 port 0/queue 0: received 1 packets",
    "1796216996.412017   src=52:54:00:12:34:56 - dst=56:48:4F:53:54:00 - pool=mb_pool_0 - type=0x0800 - length=98 - nb_segs=1 - Receive queue=0x0",
    "1796216996.412134   ICMP: echo request seq id=0",
    "1796217389.305637   TX-packets: 9              TX-dropped: 0             TX-total: 9",
];

fn check_sides(data: &[u8]) {
    use ringside_core::trace::import::{dpdk::DpdkLog, driver::DriverTrace};
    let g = DriverTrace::from_bytes(data, "fuzz-guest.txt");
    for w in &g.warnings.list {
        assert!(
            w.line.is_some() || w.message.contains("return events"),
            "{w:?}"
        );
    }
    let d = DpdkLog::from_bytes(data, "fuzz-dpdk.log");
    for w in &d.warnings.list {
        assert!(w.line.is_some() && w.column.is_some(), "{w:?}");
    }
    // Joined with a real QEMU line set: never a panic, whatever the two sides hold.
    let store = TraceStore::from_bytes(REAL.join("\n").as_bytes(), "t.log");
    let c = Capture::new(store).with_driver(g).with_dpdk(d);
    let _ = replay(&c, &ReplayOptions::default()).to_string();
}

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
    fn random_bytes_never_panic_the_other_sides(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_sides(&data);
    }

    #[test]
    fn mutated_driver_and_dpdk_lines_never_panic(
        picks in proptest::collection::vec((0..DRIVER.len() + DPDK.len(), any::<usize>(), any::<u8>(), any::<u8>()), 1..40)
    ) {
        let mut data = Vec::new();
        for (i, pos, op, byte) in picks {
            let l = DRIVER.get(i).copied().unwrap_or_else(|| DPDK[i - DRIVER.len()]);
            data.extend_from_slice(&mutate(l, pos, op, byte));
            data.push(b'\n');
        }
        check_sides(&data);
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
