//! The other panes' data: features and status, the hex view with its field labels, the
//! narration of the op at the cursor, findings, the timeline and the cache lines.

use super::*;

pub(super) fn transport_pane(e: &Engine, ch: &Changes) -> TransportPane {
    let t = &e.transport;
    let offered = e.config.device_features;
    let all = offered.or(e.config.driver_features).or(t.driver_features);
    let negotiated = t.negotiated.unwrap_or(Features::NONE);
    let features = all
        .bits()
        .map(|bit| {
            let f = Features(1 << bit);
            FeatureRow {
                name: Features::bit_name(bit),
                offered: offered.contains(f),
                accepted: t.driver_features.contains(f),
                negotiated: negotiated.contains(f),
            }
        })
        .collect();
    TransportPane {
        features,
        status: Cell::new(t.status.to_string(), ch.field(Field::Status)),
        walk: t.walk.clone(),
        legacy: t.legacy,
    }
}

/// Address of descriptor `slot`.
pub(crate) fn desc_addr(layout: &RingLayout, slot: u16) -> u64 {
    let base = match layout {
        RingLayout::Split(l) => l.desc,
        RingLayout::Packed(l) => l.desc,
    };
    base + DESC_SIZE * u64::from(slot)
}

/// The start of the field after (or before) the one at `addr`; bytes outside the ring areas
/// count as one-byte fields.
pub(crate) fn next_field(layout: Option<&RingLayout>, addr: u64, dir: crate::command::Dir) -> u64 {
    let extent = |a: u64| {
        layout
            .and_then(|l| field_extent(l, a))
            .map_or((a, 1), |(_, s, n)| (s, n))
    };
    let (start, len) = extent(addr);
    match dir {
        crate::command::Dir::Forward => start + len,
        crate::command::Dir::Back => extent(start.saturating_sub(1)).0,
    }
}

/// The field containing `addr` and its extent (fields are at most 8 bytes wide).
pub(super) fn field_extent(layout: &RingLayout, addr: u64) -> Option<(Field, u64, u64)> {
    let f = layout.field_at(addr)?;
    let mut start = addr;
    while start > addr.saturating_sub(7) && layout.field_at(start - 1) == Some(f) {
        start -= 1;
    }
    let mut end = addr + 1;
    while end < start + 8 && layout.field_at(end) == Some(f) {
        end += 1;
    }
    Some((f, start, end - start))
}

pub(super) fn memory_pane(
    session: &mut Session,
    layout: Option<RingLayout>,
    ch: &Changes,
    ctx: &ViewContext<'_>,
) -> MemoryPane {
    let guest = |a: &Access| (a.space == Space::Guest).then_some(a.addr);
    let default = layout
        .map(|l| span(&l).0)
        .unwrap_or(session.state().config.queue.base);
    let cursor = ctx
        .memory_cursor
        .or_else(|| session.last_access().and_then(guest))
        .or_else(|| session.next_access().and_then(guest))
        .unwrap_or(default);
    let extent = layout.and_then(|l| field_extent(&l, cursor));
    let (cur_start, cur_len) = extent.map_or((cursor, 1), |(_, s, n)| (s, n));
    let rows_n = ctx.options.memory_rows.max(1) as u64;
    let first = (cursor & !15).saturating_sub(16 * (rows_n / 3));
    let mut data = vec![0u8; (16 * rows_n) as usize];
    session.peek(first, &mut data);
    let label = match extent {
        Some((f, s, n)) => {
            let mut v = [0u8; 8];
            session.peek(s, &mut v[..n as usize]);
            let v = u64::from_le_bytes(v);
            format!("{cursor:#x}: {f} = {v:#x} ({v}), {n} byte(s) LE")
        }
        None => format!("{cursor:#x}: outside the ring areas"),
    };
    let rows = data
        .chunks(16)
        .enumerate()
        .map(|(r, chunk)| {
            let addr = first + 16 * r as u64;
            let bytes = chunk
                .iter()
                .enumerate()
                .map(|(i, &value)| {
                    let a = addr + i as u64;
                    HexByte {
                        value,
                        change: ch.at(a, 1),
                        cursor: (cur_start..cur_start + cur_len).contains(&a),
                    }
                })
                .collect();
            HexRow {
                addr,
                bytes,
                label: layout.map(|l| row_label(&l, addr, 16)).unwrap_or_default(),
            }
        })
        .collect();
    MemoryPane {
        cursor,
        label,
        rows,
    }
}

/// Names of the fields starting in `len` bytes, with runs of ring entries shortened to a
/// range: `avail.ring[6..7] used_event`, `desc[3]`.
pub(super) fn row_label(layout: &RingLayout, addr: u64, len: u64) -> String {
    // (stem, index) per field: entries of one array share a stem.
    let key = |f: Field| -> (String, Option<u16>) {
        match f {
            Field::Desc { index, .. } => ("desc".into(), Some(index)),
            Field::AvailRing(n) => ("avail.ring".into(), Some(n)),
            Field::UsedId(n) | Field::UsedLen(n) => ("used.ring".into(), Some(n)),
            other => (other.to_string(), None),
        }
    };
    let mut groups: Vec<(String, Option<(u16, u16)>)> = Vec::new();
    let mut prev = None;
    for a in addr..addr + len {
        let f = layout.field_at(a);
        if f != prev
            && let Some(f) = f
        {
            let (stem, idx) = key(f);
            match (groups.last_mut(), idx) {
                (Some((s, Some((_, hi)))), Some(i)) if *s == stem => *hi = i,
                (Some((s, None)), None) if *s == stem => {}
                _ => groups.push((stem, idx.map(|i| (i, i)))),
            }
        }
        prev = f;
    }
    let names: Vec<String> = groups
        .into_iter()
        .map(|(stem, r)| match r {
            Some((lo, hi)) if lo == hi => format!("{stem}[{lo}]"),
            Some((lo, hi)) => format!("{stem}[{lo}..{hi}]"),
            None => stem,
        })
        .collect();
    names.join(" ")
}

/// One access in the words the narration uses: `desc[3].flags ← 0x0003 (driver, release)`.
pub fn describe(a: &Access) -> String {
    let order = match a.order {
        Ordering::Plain => "",
        Ordering::Acquire => ", acquire",
        Ordering::Release => ", release",
        Ordering::Fence => ", after a full barrier",
    };
    let width = 2 + 2 * a.size.min(8) as usize;
    match a.kind {
        AccessKind::Store => format!(
            "{} ← {:#0width$x} ({}{order}; was {:#x})",
            a.field, a.value, a.agent, a.old
        ),
        AccessKind::Load => format!(
            "{} → {:#0width$x} ({} reads{order})",
            a.field, a.value, a.agent
        ),
    }
}

pub(super) fn narration(session: &Session, ctx: &ViewContext<'_>) -> Narration {
    let p = session.position();
    let ops = session.ops();
    let op = ops.get(p.op);
    Narration {
        op: match op {
            Some(o) => format!(
                "op {}/{}: {} {} ({:?})",
                p.op + 1,
                ops.len(),
                o.agent(),
                o.name(),
                o.kind()
            ),
            None => format!("end of run: {} ops", ops.len()),
        },
        agent: op.map(Op::agent),
        say: ctx.say.get(p.op).cloned().flatten(),
        outcome: session
            .outcome(p.op)
            .map(|n| n.to_string())
            .unwrap_or_default(),
        last: session.last_access().map(describe),
        next: session.next_access().map(describe),
    }
}

pub(super) fn findings(session: &Session, ch: &Changes, ctx: &ViewContext<'_>) -> Vec<FindingRow> {
    let cursor = session.position().step;
    session
        .state()
        .findings
        .0
        .iter()
        .map(|f| {
            let step = f.step().unwrap_or_default();
            FindingRow {
                step,
                severity: f.severity,
                text: format!("{}: {}", f.code, f.message),
                change: ch.step(step, cursor, ctx),
                source: f.source,
            }
        })
        .collect()
}

pub(super) fn glyph(op: &Op) -> char {
    match op {
        Op::Negotiate => 'N',
        Op::SetStatus(_) => 's',
        Op::WriteFeatures(_) => 'f',
        Op::Reset => 'R',
        Op::NeedsReset => '!',
        Op::Add { .. } => 'a',
        Op::Publish => 'p',
        Op::Kick => 'k',
        Op::DisableInterrupts | Op::DisableNotifications => 'd',
        Op::EnableInterrupts | Op::EnableNotifications => 'e',
        Op::Reclaim { .. } => 'r',
        Op::Pop { .. } => 'P',
        Op::Complete { .. } => 'c',
        Op::PublishUsed => 'u',
        Op::Interrupt => 'i',
        Op::DriverFault { .. } | Op::DeviceFault { .. } | Op::Repeat { .. } => 'x',
    }
}

/// The legend for the timeline glyphs.
pub const TIMELINE_LEGEND: &str = "N negotiate  a add  p publish  k kick  P pop  c fill  u flush  i interrupt  r reclaim  d/e disable/enable  ↯ notified  ! finding";

pub(super) fn timeline(session: &Session, ctx: &ViewContext<'_>) -> Timeline {
    let total = session.ops().len();
    let cur = session.position().op;
    let span = ctx.options.timeline_ops.max(1);
    let first = cur.saturating_sub(span / 2).min(total.saturating_sub(span));
    let fin = session.final_state();
    let in_op = |step: u64, i: usize| {
        let (s, e) = (session.op_start(i), session.op_start(i + 1));
        s <= step && step < e.max(s + 1)
    };
    let ops = session
        .ops()
        .iter()
        .enumerate()
        .skip(first)
        .take(span)
        .map(|(i, op)| TimelineOp {
            index: i,
            start: session.op_start(i),
            agent: op.agent(),
            glyph: glyph(op),
            current: i == cur,
            notified: fin.notifications.iter().any(|n| in_op(n.step, i)),
            marked: ctx.marks.iter().any(|&m| in_op(m, i)),
            finding: fin
                .findings
                .0
                .iter()
                .filter_map(|f| f.step())
                .any(|s| in_op(s, i)),
        })
        .collect();
    Timeline { ops, total }
}

pub(super) fn counts(c: &AgentCounts) -> String {
    format!("{}/{} ({})", c.loads, c.stores, c.transfers())
}

pub(super) fn cache_pane(
    session: &Session,
    layout: Option<&RingLayout>,
    ch: &Changes,
    ctx: &ViewContext<'_>,
    labels: &mut LineLabels,
) -> CachePane {
    let model = session.cache();
    let t = model.totals();
    let buffers = session.state().ledger.reclaimed;
    let per = if buffers > 0 {
        format!(
            "; per buffer {:.1} and {:.1} over {buffers}",
            t.transfers() as f64 / buffers as f64,
            t.invalidations() as f64 / buffers as f64
        )
    } else {
        String::new()
    };
    // Transfers are the talk's misses; invalidations (a store to a line the other side holds
    // clean) are coherence messages without data, shown beside them, not added to them.
    let summary = format!(
        "{}B lines: {} transfers (drv→dev {}, dev→drv {}), {} invalidations{per}",
        model.line_size(),
        t.transfers(),
        t.driver_to_device(),
        t.device_to_driver(),
        t.invalidations(),
    );
    let Some(layout) = layout else {
        return CachePane {
            summary,
            l1: None,
            lines: Vec::new(),
            shown: 0,
            fields: Vec::new(),
            note: MODEL_NOTE.to_string(),
        };
    };
    let l1 = ctx.cache.l1_picture(*layout).ok();
    let size = model.line_size();
    let (start, len) = span(layout);
    let first = start / size * size;
    let labels = labels.of(layout, size);
    // One pass over the model for every line's transfers (lines without any are absent).
    let hot: std::collections::HashMap<u64, u64> = model
        .ranked_lines(usize::MAX)
        .into_iter()
        .map(|l| (l.addr, l.transfers))
        .collect();
    let lines: Vec<CacheLineRow> = (first..start + len)
        .step_by(size as usize)
        .enumerate()
        .map(|(i, addr)| {
            let states = model.state(addr);
            CacheLineRow {
                addr,
                owner: mesi_owner(states),
                states: format!("{} {}", states[0], states[1]),
                transfers: hot.get(&addr).copied().unwrap_or(0),
                label: labels.get(i).cloned().unwrap_or_default(),
                change: ch.at(addr, size),
                selected: Some(i) == ctx.cache_line,
            }
        })
        .collect();
    let shown = ctx
        .cache_line
        .or_else(|| lines.iter().position(|l| l.change == Change::Strong))
        .unwrap_or(0)
        .min(lines.len().saturating_sub(1));
    let fields = lines
        .get(shown)
        .and_then(|l| model.line(l.addr))
        .map(|r| {
            r.fields
                .iter()
                .map(|f| CacheFieldRow {
                    offset: f.offset,
                    field: f.name.clone(),
                    driver: counts(&f.driver),
                    device: counts(&f.device),
                    transfers: f.transfers,
                })
                .collect()
        })
        .unwrap_or_default();
    CachePane {
        summary,
        l1,
        lines,
        shown,
        fields,
        note: MODEL_NOTE.to_string(),
    }
}
