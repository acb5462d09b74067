//! One event in words: what the timeline's glyph, the narration and search read of QEMU's,
//! the guest driver's and DPDK's events.

use super::*;

/// Whether an event is a notification (a kick or an interrupt).
pub fn is_notification(e: &Event) -> bool {
    matches!(
        e.kind,
        EventKind::QueueNotify { .. } | EventKind::Notify { .. }
    )
}

/// The line as QEMU prints it and the decoded fields (name, value).
pub fn describe_event(store: &TraceStore, e: &Event) -> (String, Vec<(String, String)>) {
    let p = |id| format!("{:#x}", store.object(id));
    let f = |k: &str, v: String| (k.to_string(), v);
    let fields = match e.kind {
        EventKind::QueueNotify { vdev, queue, vq } => {
            vec![
                f("vdev", p(vdev)),
                f("n", queue.to_string()),
                f("vq", p(vq)),
            ]
        }
        EventKind::Notify { vdev, vq, .. } => vec![f("vdev", p(vdev)), f("vq", p(vq))],
        EventKind::AllocElement {
            elem,
            in_num,
            out_num,
        } => vec![
            f("elem", p(elem)),
            f("in_num", in_num.to_string()),
            f("out_num", out_num.to_string()),
        ],
        EventKind::Pop {
            vq,
            elem,
            in_num,
            out_num,
        } => vec![
            f("vq", p(vq)),
            f("elem", p(elem)),
            f("in_num", in_num.to_string()),
            f("out_num", out_num.to_string()),
        ],
        EventKind::Fill { vq, elem, len, idx } => vec![
            f("vq", p(vq)),
            f("elem", p(elem)),
            f("len", len.to_string()),
            f("idx", idx.to_string()),
        ],
        EventKind::Flush { vq, count } => vec![f("vq", p(vq)), f("count", count.to_string())],
        EventKind::SetStatus { vdev, status } => {
            vec![f("vdev", p(vdev)), f("val", status.to_string())]
        }
        EventKind::RunState { running } => vec![f("running", u8::from(running).to_string())],
        EventKind::VhostDev { hdev, device, .. } => {
            vec![f("hdev", p(hdev)), f("device", device.to_string())]
        }
        EventKind::VhostUser { req, flags, .. } => {
            vec![f("req", req.to_string()), f("flags", format!("{flags:#x}"))]
        }
        EventKind::Device { text, .. } | EventKind::Other { text, .. } => {
            vec![f("args", store.text(text).into_owned())]
        }
        EventKind::Unknown { text, .. } => vec![f("line", store.text(text).into_owned())],
    };
    let mut raw = String::new();
    if let Some(t) = e.time() {
        raw.push_str(&format!("{}@{}:", e.tid, fmt_time(t)));
    }
    match e.kind {
        EventKind::Unknown { text, .. } => raw = store.text(text).into_owned(),
        EventKind::Device { text, .. } | EventKind::Other { text, .. } => {
            raw.push_str(store.event_name(e));
            raw.push(' ');
            raw.push_str(&store.text(text));
        }
        EventKind::RunState { running } => {
            raw.push_str(store.event_name(e));
            raw.push_str(&format!(" running {}", u8::from(running)));
        }
        // QEMU prints these as `%p:%s vrings:%d` and `req:%d flags:0x%x`; the vring count is
        // not kept in the event record, so the rebuilt line stops before it.
        EventKind::VhostDev { hdev, device, .. } => {
            raw.push_str(store.event_name(e));
            raw.push_str(&format!(" {}:{device}", p(hdev)));
        }
        EventKind::VhostUser { req, flags, .. } => {
            raw.push_str(store.event_name(e));
            raw.push_str(&format!(" req:{req} flags:{flags:#x}"));
        }
        _ => {
            raw.push_str(store.event_name(e));
            for (k, v) in &fields {
                raw.push_str(&format!(" {k} {v}"));
            }
        }
    }
    // The values as a reader wants them: a status byte by its bits.
    let fields = fields
        .into_iter()
        .map(|(k, v)| match e.kind {
            EventKind::SetStatus { status, .. } if k == "val" => (k, Status(status).to_string()),
            _ => (k, v),
        })
        .collect();
    (raw, fields)
}

/// Whether the search term occurs in an event's line.
pub fn event_matches(store: &TraceStore, e: &Event, term: &str) -> bool {
    describe_event(store, e).0.contains(term)
}

pub(super) fn glyph(e: &Event) -> char {
    match e.kind {
        EventKind::QueueNotify { .. } => 'k',
        EventKind::Notify { .. } => 'i',
        EventKind::AllocElement { .. } => 'a',
        EventKind::Pop { .. } => 'P',
        EventKind::Fill { .. } => 'c',
        EventKind::Flush { .. } => 'u',
        EventKind::SetStatus { .. } => 's',
        _ => '·',
    }
}

/// The event at the cursor, whichever input it is from.
pub(super) fn event_view(
    capture: &crate::trace::Capture,
    step: u64,
    e: EventRef,
) -> Option<EventView> {
    match e.side {
        Side::Device => {
            let ev = capture.store.events().get(e.index as usize)?;
            let (raw, fields) = describe_event(&capture.store, ev);
            Some(EventView {
                step,
                side: "device".into(),
                line: u64::from(ev.line),
                raw,
                fields,
            })
        }
        Side::Driver => {
            let d = capture.driver.as_ref()?;
            let ev = d.events().get(e.index as usize)?;
            let fields = d.fields(ev);
            let mut raw = format!("{}: {}:", fmt_time(ev.time_us), d.event_name(ev));
            for (k, v) in &fields {
                raw.push_str(&format!(" {k}={v}"));
            }
            Some(EventView {
                step,
                side: "driver".into(),
                line: u64::from(ev.line),
                raw,
                fields,
            })
        }
        Side::Dpdk => {
            let d = capture.dpdk.as_ref()?;
            let ev = d.events.get(e.index as usize)?;
            let (name, fields) = describe_dpdk(&ev.kind);
            let mut raw = String::new();
            if let Some(t) = ev.time() {
                raw.push_str(&format!("{} ", fmt_time(t)));
            }
            raw.push_str(&name);
            Some(EventView {
                step,
                side: "dpdk".into(),
                line: u64::from(ev.line),
                raw,
                fields,
            })
        }
    }
}

/// A DPDK line's meaning and fields.
pub(super) fn describe_dpdk(k: &DpdkKind) -> (String, Vec<(String, String)>) {
    let f = |a: &str, b: String| (a.to_string(), b);
    match *k {
        DpdkKind::Message { req } => (
            format!(
                "read message VHOST_USER_{}",
                crate::trace::event::vhost_user_request(req)
            ),
            vec![f("req", req.to_string())],
        ),
        DpdkKind::RingBaseSet {
            vring,
            last_used,
            last_avail,
        } => (
            format!("vring base idx:{vring} last_used_idx:{last_used} last_avail_idx:{last_avail}"),
            vec![
                f("vring", vring.to_string()),
                f("last_avail_idx", last_avail.to_string()),
            ],
        ),
        DpdkKind::RingBaseGet { vring, state } => (
            format!("vring base idx:{vring} file:{state}"),
            vec![f("vring", vring.to_string()), f("state", state.to_string())],
        ),
        DpdkKind::Enable { vring, on } => (
            format!("set queue enable: {} to qp idx: {vring}", u8::from(on)),
            vec![f("vring", vring.to_string())],
        ),
        DpdkKind::Status(s) => (
            format!("new device status({s:#010x})"),
            vec![f("status", Status(s).to_string())],
        ),
        DpdkKind::PeerClosed => ("vhost peer closed".into(), Vec::new()),
        DpdkKind::Burst {
            queue,
            from_guest,
            count,
        } => (
            format!(
                "port 0/queue {queue}: {} {count} packets",
                if from_guest { "received" } else { "sent" }
            ),
            vec![f("vring", k.vring().unwrap_or(0).to_string())],
        ),
        DpdkKind::Packet {
            from_guest,
            len,
            seq,
            ..
        } => {
            let mut v = vec![
                f("vring", k.vring().unwrap_or(0).to_string()),
                f("length", len.to_string()),
            ];
            if seq != u16::MAX {
                v.push(f("icmp seq", seq.to_string()));
            }
            (
                if from_guest {
                    "packet taken from the guest's transmit ring".into()
                } else {
                    "packet put into the guest's receive ring".into()
                },
                v,
            )
        }
    }
}
