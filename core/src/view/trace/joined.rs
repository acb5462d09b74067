//! Both sides of a joined capture: each side's view of a queue's ring, the joined timeline's
//! lanes, and a followed buffer's path with its latencies.

use super::*;

/// The replayed queue a joined queue shows as (its row in the queues table).
pub fn replay_queue(j: &Join, st: &ReplayState, jq: usize) -> Option<usize> {
    (0..st.queues.len()).find(|&qi| joined_queue(j, st, qi) == Some(jq))
}

/// The joined queue a replayed queue is (QEMU's, or the vring DPDK served for it).
pub fn joined_queue(j: &Join, st: &ReplayState, qi: usize) -> Option<usize> {
    let q = st.queues.get(qi)?;
    let vhost = st.devices.get(q.dev).is_some_and(|d| d.vhost.is_some());
    j.queues.iter().position(|x| match x.device {
        DeviceSide::Qemu { queue, .. } => queue == qi,
        DeviceSide::Dpdk { vring } => vhost && q.queue == vring,
        DeviceSide::Missing => false,
    })
}

pub(super) fn joined_view(
    session: &TraceSession,
    j: &Join,
    pos: &crate::trace::join::Pos,
    st: &ReplayState,
    cursor: u64,
    ctx: &TraceContext<'_>,
    _finding_steps: &[u64],
) -> JoinedView {
    let capture = session.capture();
    let jq = joined_queue(j, st, ctx.queue);
    let names = st.queue_names();
    let queue = match jq.and_then(|q| j.queues.get(q)) {
        Some(q) => format!("{} ↔ {}", q.name, q.driver_name),
        None => format!(
            "{}: no queue of the driver's trace pairs with it",
            names.get(ctx.queue).map_or("?", String::as_str)
        ),
    };
    let clock = clock_words(j);
    let sides = jq.and_then(|q| j.sides(capture, q, pos, st));
    let chosen = ctx.buffer.filter(|&b| (b as usize) < j.buffers.len());
    let b = chosen.or_else(|| pos.last.and_then(|e| j.buffer_of(e)));
    let buffer = b.map(|b| buffer_view(j, capture, b, cursor, chosen.is_some()));
    let span = ctx.columns.max(1) as u64;
    let first = cursor
        .saturating_sub(span / 2)
        .min(session.steps().saturating_sub(span))
        .max(1);
    let window = j.merge.window(capture, &j.clock, first, first + span - 1);
    let path_steps: Vec<u64> = b.map_or_else(Vec::new, |b| {
        j.path(capture, b).into_iter().map(|(_, s)| s).collect()
    });
    let mut columns = Vec::new();
    let mut path = Vec::new();
    for (k, &(step, e)) in window.iter().enumerate() {
        if path_steps.contains(&step) {
            path.push(k);
        }
        columns.push(joined_column(session, j, st, jq, step, e));
    }
    JoinedView {
        clock,
        queue,
        sides,
        buffer,
        columns,
        path,
    }
}

/// The clock in a few words.
pub(super) fn clock_words(j: &Join) -> String {
    let fitted: Vec<&crate::trace::join::clock::Stretch> =
        j.clock.stretches.iter().filter(|s| !s.inferred).collect();
    let spread = j
        .clock
        .stretches
        .iter()
        .map(|s| s.spread_us)
        .max()
        .unwrap_or(0);
    let offsets: Vec<String> = fitted
        .iter()
        .map(|s| format!("{:.6} s", s.offset_us / 1e6))
        .collect();
    let stops = j.clock.stretches.len().saturating_sub(1);
    format!(
        "host clock = guest clock + {}, ±{spread} µs ({} anchors, {stops} VM stop(s))",
        offsets.join(" then "),
        j.clock.anchors.len()
    )
}

pub(super) fn joined_column(
    session: &TraceSession,
    j: &Join,
    st: &ReplayState,
    jq: Option<usize>,
    step: u64,
    e: EventRef,
) -> JoinedColumn {
    use crate::memory::Agent;
    let capture = session.capture();
    let q = jq.and_then(|q| j.queues.get(q));
    let (on_queue, glyph, name, to) = match e.side {
        Side::Device => {
            let ev = capture.store.events().get(e.index as usize);
            let on = ev.is_some_and(|ev| {
                matches!(q.map(|q| q.device), Some(DeviceSide::Qemu { .. }))
                    && event_queue(&capture.store, st, ev)
                        == q.and_then(|q| match q.device {
                            DeviceSide::Qemu { queue, .. } => Some(queue),
                            _ => None,
                        })
            });
            let to = ev.and_then(|ev| match ev.kind {
                EventKind::QueueNotify { .. } => Some(Agent::Device),
                EventKind::Notify { .. } => Some(Agent::Driver),
                _ => None,
            });
            (
                on,
                ev.map_or('·', glyph),
                ev.map_or_else(String::new, |ev| capture.store.event_name(ev).to_string()),
                to,
            )
        }
        Side::Driver => {
            let d = capture.driver.as_ref();
            let ev = d.and_then(|d| d.events().get(e.index as usize));
            let on = ev.is_some_and(|ev| q.is_some_and(|q| q.driver == ev.queue));
            let (g, to) = match ev.map(|ev| ev.kind) {
                Some(DriverKind::Add(_)) => ('A', None),
                Some(DriverKind::KickPrepare | DriverKind::KickDecision) => ('p', None),
                Some(DriverKind::Notify) => ('K', Some(Agent::Device)),
                Some(DriverKind::Interrupt) => ('I', Some(Agent::Driver)),
                Some(DriverKind::Detach) => ('D', None),
                Some(DriverKind::Reap) => ('R', None),
                Some(DriverKind::DetachUnused) => ('x', None),
                Some(DriverKind::AddFailed) => ('!', None),
                Some(DriverKind::Marker) => ('m', None),
                _ => ('·', None),
            };
            (
                on,
                g,
                match (d, ev) {
                    (Some(d), Some(ev)) => d.event_name(ev),
                    _ => String::new(),
                },
                to,
            )
        }
        Side::Dpdk => {
            let ev = capture
                .dpdk
                .as_ref()
                .and_then(|d| d.events.get(e.index as usize));
            let on = ev.is_some_and(|ev| {
                matches!(ev.kind, DpdkKind::Packet { .. })
                    && q.is_some_and(|q| {
                        q.device
                            == DeviceSide::Dpdk {
                                vring: ev.kind.vring().unwrap_or(u16::MAX),
                            }
                    })
            });
            let g = match ev.map(|ev| ev.kind) {
                Some(DpdkKind::Packet { .. }) => 'P',
                Some(DpdkKind::Burst { .. }) => 'b',
                Some(DpdkKind::Message { .. }) => 'v',
                _ => '·',
            };
            (
                on,
                g,
                ev.map_or_else(String::new, |ev| describe_dpdk(&ev.kind).0),
                None,
            )
        }
    };
    JoinedColumn {
        step,
        side: e.side.name().to_string(),
        on_queue,
        glyph,
        name,
        time_us: j.time(capture, e),
        to: to.filter(|_| on_queue),
    }
}

/// The joined timeline as lanes: the driver's events on the selected queue, the
/// notifications between the sides, the device's, and every other event.
pub(super) fn joined_timeline(
    session: &TraceSession,
    v: &JoinedView,
    st: &ReplayState,
    ctx: &TraceContext<'_>,
    cursor: u64,
    finding_steps: &[u64],
) -> TraceTimeline {
    let names = st.queue_names();
    let join = session.join();
    let jq = join
        .and_then(|j| joined_queue(j, st, ctx.queue))
        .and_then(|q| join?.queues.get(q));
    let driver_label = jq.map_or("driver".to_string(), |q| {
        session
            .capture()
            .driver
            .as_ref()
            .and_then(|d| d.queues().get(usize::from(q.driver)))
            .map_or("driver".to_string(), |dq| dq.name.clone())
    });
    let device_label = jq.map_or_else(
        || names.get(ctx.queue).cloned().unwrap_or_default(),
        |q| q.name.clone(),
    );
    let mut lanes = [
        Lane {
            label: driver_label,
            glyphs: String::new(),
        },
        Lane {
            label: "↓↑".into(),
            glyphs: String::new(),
        },
        Lane {
            label: device_label,
            glyphs: String::new(),
        },
        Lane {
            label: "other".into(),
            glyphs: String::new(),
        },
    ];
    let mut flags = String::new();
    for c in &v.columns {
        let on = c.on_queue;
        let drv = on && c.side == "driver";
        let dev = on && c.side != "driver";
        lanes[0].glyphs.push(if drv { c.glyph } else { ' ' });
        lanes[1].glyphs.push(match c.to {
            Some(crate::memory::Agent::Device) => '↓',
            Some(crate::memory::Agent::Driver) => '↑',
            None => ' ',
        });
        lanes[2].glyphs.push(if dev { c.glyph } else { ' ' });
        lanes[3].glyphs.push(if on { ' ' } else { c.glyph });
        flags.push(if ctx.marks.contains(&c.step) {
            'm'
        } else if finding_steps.contains(&c.step) {
            '!'
        } else if c.to.is_some() {
            '↯'
        } else {
            ' '
        });
    }
    let first = v.columns.first().map_or(1, |c| c.step);
    let cursor_col = v.columns.iter().position(|c| c.step == cursor);
    TraceTimeline {
        first,
        cursor: cursor_col,
        lanes: lanes.into_iter().collect(),
        flags,
    }
}

pub(super) fn us(v: u64) -> String {
    if v >= 1_000_000 {
        format!("{:.2} s", v as f64 / 1e6)
    } else if v >= 10_000 {
        format!("{:.1} ms", v as f64 / 1e3)
    } else {
        format!("{v} µs")
    }
}

/// A buffer's stages, with their times and latencies.
pub(super) fn buffer_view(
    j: &Join,
    capture: &crate::trace::Capture,
    b: u32,
    cursor: u64,
    chosen: bool,
) -> BufferView {
    let buf = j.buffers[b as usize];
    let q = &j.queues[usize::from(buf.queue)];
    let token = capture.driver.as_ref().map_or(0, |d| d.token(buf.token));
    let id = if q.packed { "ID" } else { "head" };
    let times = j.stage_times(capture, &buf);
    let dev = j.device_side_of(buf.queue);
    let path = j.path(capture, b);
    let add_t = times[0];
    let mut prev_t: Option<u64> = None;
    let mut stages = Vec::new();
    for (stage, step) in &path {
        let k = Stage::ALL.iter().position(|s| s == stage).unwrap_or(0);
        let t = times[k];
        let idx = buf.at(*stage);
        let place = if stage.on_driver() {
            capture
                .driver
                .as_ref()
                .and_then(|d| d.events().get(idx as usize))
                .map_or(String::new(), |e| format!("guest {}", e.line))
        } else if dev == Side::Dpdk {
            capture
                .dpdk
                .as_ref()
                .and_then(|d| d.events.get(idx as usize))
                .map_or(String::new(), |e| format!("dpdk {}", e.line))
        } else {
            capture
                .store
                .events()
                .get(idx as usize)
                .map_or(String::new(), |e| format!("line {}", e.line))
        };
        let rel = |a: Option<u64>| match (t, a) {
            (Some(t), Some(a)) if t >= a => format!("+{}", us(t - a)),
            (Some(t), Some(a)) => format!("-{}", us(a - t)),
            _ => String::new(),
        };
        stages.push(StageRow {
            stage: stage.name().to_string(),
            step: *step,
            place,
            since_add: rel(add_t),
            since_prev: if prev_t.is_some() {
                rel(prev_t)
            } else {
                String::new()
            },
            here: *step == cursor,
            done: *step <= cursor,
        });
        prev_t = t.or(prev_t);
    }
    let span = |a: usize, z: usize| Some(times[z]?.saturating_sub(times[a]?));
    let mut parts = Vec::new();
    for (a, z, name) in [
        (0, 2, "waited for the device"),
        (2, 4, "with the device"),
        (4, 8, "used, not yet reaped"),
    ] {
        if let Some(d) = span(a, z) {
            parts.push(format!("{name} {}", us(d)));
        }
    }
    let mut summary = parts.join(", ");
    if let Some(total) = span(0, 8) {
        summary.push_str(&format!("; out {} in all", us(total)));
        if let (Some(a), Some(z)) = (times[0], times[8]) {
            let run = j.clock.running_between(a, z);
            if run + 1000 < total {
                summary.push_str(&format!(
                    " (the VM was stopped {} of it: the guest's clock stood still)",
                    us(total - run)
                ));
            }
        }
    } else if buf.flags & crate::trace::join::buffers::TAKEN_BACK != 0 {
        summary.push_str("; taken back unused at device removal");
    } else if buf.pop == NONE {
        summary.push_str("; never taken by the device in the trace");
    }
    BufferView {
        title: format!(
            "buffer {token:#x} {id} {} on {} ({})",
            buf.head, q.name, q.driver_name
        ),
        stages,
        summary,
        chosen,
    }
}
