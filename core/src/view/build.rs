//! Building a [`SessionView`] from a session at its cursor.

use super::*;

/// Field labels of a ring's cache lines. They depend only on the layout and the line size, so
/// a UI keeps one of these per session and the labels are worked out once, not every frame.
#[derive(Debug, Default, Clone)]
pub struct LineLabels {
    key: Option<(RingLayout, u64)>,
    labels: Vec<String>,
}

impl LineLabels {
    /// The label of every line of the ring, in address order.
    pub(super) fn of(&mut self, layout: &RingLayout, size: u64) -> &[String] {
        if self.key != Some((*layout, size)) {
            let (start, len) = span(layout);
            let first = start / size * size;
            self.labels = (first..start + len)
                .step_by(size as usize)
                .map(|addr| row_label(layout, addr, size))
                .collect();
            self.key = Some((*layout, size));
        }
        &self.labels
    }
}

/// Builds the view of a session at its cursor. `labels` carries the cache-line labels from one
/// frame to the next.
pub fn build(session: &mut Session, ctx: &ViewContext<'_>, labels: &mut LineLabels) -> SessionView {
    let cursor = session.position().step;
    let changes = Changes {
        strong: Stores::between(session.log(), ctx.previous, cursor),
        weak: ctx
            .mark
            .map(|m| Stores::between(session.log(), m, cursor))
            .unwrap_or_default(),
    };
    let layout = session.state().ring.as_ref().map(Ring::layout);
    let (ring, memory) = match layout {
        Some(layout) => {
            let (start, len) = span(&layout);
            let bytes = Bytes::read(session, start, len);
            let ring = ring_pane(session.state(), &bytes, &changes, ctx);
            let memory = memory_pane(session, Some(layout), &changes, ctx);
            (ring, memory)
        }
        None => (
            RingPane::NotSetUp,
            memory_pane(session, None, &changes, ctx),
        ),
    };
    let cache = cache_pane(session, layout.as_ref(), &changes, ctx, labels);
    SessionView {
        header: header(session, ctx),
        ring,
        transport: transport_pane(session.state(), &changes),
        memory,
        cache,
        narration: narration(session, ctx),
        findings: findings(session, &changes, ctx),
        timeline: timeline(session, ctx),
        notifications: notifications(session),
    }
}

pub(super) fn notifications(session: &Session) -> Vec<NotifyRow> {
    let p = session.position();
    let op_start = session.op_start(p.op);
    let all = &session.state().notifications;
    all[all.len().saturating_sub(RECENT_NOTIFICATIONS)..]
        .iter()
        .map(|n| NotifyRow {
            step: n.step,
            from: n.from,
            text: match n.from {
                Agent::Driver => format!("kick (wrote {:#x})", n.value),
                Agent::Device => "interrupt".to_string(),
            },
            now: n.step >= op_start,
        })
        .collect()
}

pub(super) fn span(layout: &RingLayout) -> (u64, u64) {
    let areas = layout.areas();
    let start = areas.iter().map(|a| a.1).min().unwrap_or(0);
    let end = areas.iter().map(|a| a.1 + a.2).max().unwrap_or(0);
    (start, end - start)
}

/// Steps between the two latest marks.
pub(crate) fn mark_delta(marks: &[u64]) -> Option<u64> {
    match marks {
        [.., a, b] => Some(a.abs_diff(*b)),
        _ => None,
    }
}

pub(super) fn header(session: &Session, ctx: &ViewContext<'_>) -> Header {
    let p = session.position();
    let e = session.state();
    let kind = match &e.ring {
        Some(r) => r.layout().kind().to_string(),
        None => "no queue yet".into(),
    };
    let mark_delta = mark_delta(ctx.marks);
    Header {
        title: ctx.title.to_string(),
        chapter: ctx.chapter.map(str::to_string),
        kind,
        size: e.config.queue.size,
        step: p.step,
        steps: session.len(),
        op: p.op,
        ops: session.ops().len(),
        mark_delta,
    }
}

/// How many of the latest notifications a view keeps.
pub(super) const RECENT_NOTIFICATIONS: usize = 8;
