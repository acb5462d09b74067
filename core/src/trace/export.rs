//! Chrome trace-event JSON (the format Perfetto's UI and `chrome://tracing` open).
//!
//! One process per device, one thread per queue. Each buffer is an async span from its pop to
//! its fill (so out-of-order completions overlap correctly), kicks and interrupts are instant
//! events, and `inuse`/`used_idx` are counters. Timestamps are the trace's own (µs) when it has
//! them, else the line number, so an untimed trace still lays out in order.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use super::event::{EventKind, ObjId};
use super::import::store::TraceStore;
use super::replay::{ReplayOptions, Replayer, window};

/// What the export's `ts` are, in words, when they are not time: an untimed trace (QEMU without
/// `-msg timestamp=on`) is laid out by line numbers, and a reader must be told.
pub fn untimed_note(store: &TraceStore) -> Option<String> {
    (store.stats.timestamped_events == 0).then(|| {
        format!(
            "{} has no timestamps (QEMU ran without -msg timestamp=on): the export uses line \
             numbers as time, so durations are in lines, not microseconds",
            store.source()
        )
    })
}

/// Writes the Chrome trace-event JSON of a trace (within the options' window).
pub fn export_chrome<W: Write>(store: &TraceStore, opts: &ReplayOptions, out: W) -> io::Result<()> {
    let r = Replayer::new(store, None, &[], opts);
    let mut st = r.initial(store);
    let end = window(store, opts);
    let first_time = store.events().iter().find_map(|e| e.time());
    let ts = |e: &super::event::Event| match (e.time(), first_time) {
        (Some(t), Some(t0)) => t.saturating_sub(t0),
        _ => u64::from(e.line),
    };
    let mut events: Vec<Value> = Vec::new();
    for (i, d) in st.devices.iter().enumerate() {
        events.push(json!({"ph": "M", "name": "process_name", "pid": i,
            "args": {"name": d.label()}}));
    }
    for q in &st.queues {
        events.push(
            json!({"ph": "M", "name": "thread_name", "pid": q.dev, "tid": q.queue,
            "args": {"name": format!("queue {}", q.queue)}}),
        );
    }
    let mut open: HashMap<(usize, ObjId), u64> = HashMap::new();
    let mut seq = 0u64;
    for e in store.events().get(..end).unwrap_or_default() {
        r.step(&mut st, store, e);
        let t = ts(e);
        let qref = |vq: ObjId| {
            st.queue_of(vq)
                .and_then(|i| st.queues.get(i).map(|q| (i, q)))
        };
        match e.kind {
            EventKind::Pop {
                vq,
                elem,
                in_num,
                out_num,
            } => {
                if let Some((qi, q)) = qref(vq) {
                    seq += 1;
                    open.insert((qi, elem), seq);
                    events.push(json!({"ph": "b", "cat": "buffer", "name": "buffer",
                        "id": seq, "pid": q.dev, "tid": q.queue, "ts": t,
                        "args": {"elem": format!("{:#x}", store.object(elem)),
                                 "in_num": in_num, "out_num": out_num, "line": e.line}}));
                    events.push(json!({"ph": "C", "name": format!("q{} inuse", q.queue),
                        "pid": q.dev, "ts": t, "args": {"inuse": q.inuse}}));
                }
            }
            EventKind::Fill { vq, elem, len, .. } => {
                if let Some((qi, q)) = qref(vq)
                    && let Some(id) = open.remove(&(qi, elem))
                {
                    events.push(
                        json!({"ph": "e", "cat": "buffer", "name": "buffer", "id": id,
                        "pid": q.dev, "tid": q.queue, "ts": t,
                        "args": {"len": len, "line": e.line}}),
                    );
                }
            }
            EventKind::Flush { vq, count } => {
                if let Some((_, q)) = qref(vq) {
                    events.push(json!({"ph": "C", "name": format!("q{} used_idx", q.queue),
                        "pid": q.dev, "ts": t, "args": {"used_idx": q.used_idx.0, "count": count}}));
                }
            }
            EventKind::QueueNotify { vq, .. } | EventKind::Notify { vq, .. } => {
                let name = if matches!(e.kind, EventKind::QueueNotify { .. }) {
                    "kick"
                } else {
                    "interrupt"
                };
                if let Some((_, q)) = qref(vq) {
                    events.push(json!({"ph": "i", "s": "t", "name": name, "pid": q.dev,
                        "tid": q.queue, "ts": t, "args": {"line": e.line}}));
                }
            }
            EventKind::SetStatus { vdev, status } => {
                if let Some(i) = st.devices.iter().position(|d| d.obj == vdev) {
                    events.push(
                        json!({"ph": "i", "s": "p", "name": format!("status {status}"),
                        "pid": i, "ts": t, "args": {"line": e.line}}),
                    );
                }
            }
            _ => {}
        }
    }
    let time = untimed_note(store)
        .unwrap_or_else(|| "microseconds since the trace's first event".to_string());
    let doc = json!({"traceEvents": events, "displayTimeUnit": "ms",
        "otherData": {"source": store.source(), "ts": time}});
    // `From` keeps an I/O error as it was (a closed pipe stays `BrokenPipe`).
    serde_json::to_writer(out, &doc).map_err(io::Error::from)
}

/// [`export_chrome`] into a string.
pub fn export_chrome_string(store: &TraceStore, opts: &ReplayOptions) -> String {
    let mut v = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = export_chrome(store, opts, &mut v);
    String::from_utf8(v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_pair_pops_with_fills() {
        let t = "virtio_queue_notify vdev 0x1 n 0 vq 0x2\n\
                 virtqueue_pop vq 0x2 elem 0x3 in_num 1 out_num 1\n\
                 virtqueue_fill vq 0x2 elem 0x3 len 4 idx 0\n\
                 virtqueue_flush vq 0x2 count 1\n\
                 virtio_notify vdev 0x1 vq 0x2\n";
        let store = TraceStore::from_bytes(t.as_bytes(), "t");
        let s = export_chrome_string(&store, &ReplayOptions::default());
        let v: Value = serde_json::from_str(&s).unwrap();
        let evs = v["traceEvents"].as_array().unwrap();
        let ph: Vec<&str> = evs.iter().map(|e| e["ph"].as_str().unwrap()).collect();
        assert_eq!(ph, ["M", "M", "i", "b", "C", "e", "C", "i"]);
        // Untimed trace: ts is the line number, and the file says so.
        assert_eq!(evs[3]["ts"], 2);
        let said = v["otherData"]["ts"].as_str().unwrap();
        assert!(said.contains("line numbers as time"), "{said}");
        assert_eq!(evs[5]["id"], evs[3]["id"]);
    }
}
