//! Paints core's [`Pictures`]: each ring as strips of slots (split) or a circle (packed),
//! coloured by owner, with both sides' positions (their labels carry the wrap counters), chain
//! links as arcs, and the latest notifications as arrows between the driver's side and the
//! device's; the cache lines as a grid coloured by the CPU holding each (a line touched at
//! the last step flashes); the L1's sets and ways; a joined capture's timeline, the driver's
//! lane above the device's with kicks and interrupts between them and the followed buffer's
//! path through both. Hover a slot, a line or an event for its fields, click it to select it
//! in every pane (an event: go to its step). Every word and colour rule is core's: this
//! module only places shapes.

use egui::epaint::QuadraticBezierShape;
use egui::{Align2, Color32, CornerRadius, FontId, Rect, Sense, Shape, Stroke, Vec2, pos2, vec2};
use ringside_core::command::Command;
use ringside_core::face::screen::picture::{
    CachePicture, JoinedPicture, LaneEvent, LinePicture, Pictures, RingPicture, SlotPicture,
    StripPicture,
};
use ringside_core::memory::Agent;
use ringside_core::view::Change;

use crate::theme::Theme;

/// Slots drawn at most per strip (two rows); a longer strip shows a window around the sides'
/// positions, and says which.
const MAX_SLOTS: usize = 64;

fn font() -> FontId {
    FontId::monospace(11.0)
}

/// What a click on a picture asks for.
pub type Clicked = Option<Command>;

/// Paints every picture of a screen into `ui` (a side panel); returns a click's command.
pub fn pictures(ui: &mut egui::Ui, p: &Pictures, theme: Theme) -> Clicked {
    let mut clicked = None;
    if !drawn(p) {
        ui.label(
            "Nothing to draw here: the pictures show a scenario's rings and cache lines, and \
             a joined capture's timeline.",
        );
        return None;
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
        if let Some(j) = &p.joined {
            clicked = joined(ui, j, theme);
            ui.add_space(8.0);
        }
        for r in &p.rings {
            clicked = clicked.take().or(ring(ui, r, theme));
            ui.add_space(8.0);
        }
        if let Some(c) = &p.cache {
            clicked = clicked.take().or(cache(ui, c, theme));
        }
    });
    clicked
}

/// Whether there is anything to draw.
pub fn drawn(p: &Pictures) -> bool {
    !p.rings.is_empty() || p.cache.is_some() || p.joined.is_some()
}

fn fill(theme: Theme, owner: ringside_core::view::Owner, change: Change) -> Color32 {
    let c = theme.owner(owner);
    match change {
        Change::Strong => c,
        Change::Weak => c.gamma_multiply(0.85),
        Change::None => c.gamma_multiply(0.6),
    }
}

/// An accessibility node for drawn text (a strip's name, a side's position).
fn text_node(ui: &egui::Ui, id: egui::Id, label: &str) {
    ui.ctx().accesskit_node_builder(id, |n| {
        n.set_role(egui::Role::Label);
        n.set_label(label.to_string());
    });
}

/// An accessibility node for a drawn item that a click selects (a button, to assistive
/// technology), with its bounds, so tests and screen readers find it where it is drawn.
fn node(ui: &egui::Ui, id: egui::Id, rect: Rect, label: &str) {
    ui.ctx().accesskit_node_builder(id, |n| {
        n.set_role(egui::Role::Button);
        n.set_label(label.to_string());
        n.set_bounds(egui::accesskit::Rect {
            x0: f64::from(rect.min.x),
            y0: f64::from(rect.min.y),
            x1: f64::from(rect.max.x),
            y1: f64::from(rect.max.y),
        });
    });
}

fn legend(ui: &mut egui::Ui, r: &RingPicture, theme: Theme) {
    ui.horizontal_wrapped(|ui| {
        for (style, text) in &r.legend {
            let look = theme.look(*style);
            let (rect, _) = ui.allocate_exact_size(vec2(10.0, 10.0), Sense::hover());
            ui.painter()
                .rect_filled(rect, CornerRadius::same(2), look.fg);
            ui.label(egui::RichText::new(text).small());
        }
    });
}

/// The slots a strip shows, as indices into the slots core gave: all, or a window around the
/// selection or the first position.
fn window(s: &StripPicture) -> (usize, usize) {
    let n = s.slots.len();
    if n <= MAX_SLOTS {
        return (0, n);
    }
    let centre = s
        .slots
        .iter()
        .position(|x| x.selected)
        .or_else(|| {
            let m = s.marks.first()?;
            s.slots.iter().position(|x| x.slot == m.slot)
        })
        .unwrap_or(0);
    let start = centre.saturating_sub(MAX_SLOTS / 2).min(n - MAX_SLOTS);
    (start, start + MAX_SLOTS)
}

fn ring(ui: &mut egui::Ui, r: &RingPicture, theme: Theme) -> Clicked {
    ui.label(egui::RichText::new(&r.title).strong());
    node(
        ui,
        ui.scope_id().with(("ring", &r.title)),
        ui.min_rect(),
        &r.title,
    );
    let mut clicked = None;
    for s in &r.strips {
        clicked = clicked.take().or(if r.packed {
            circle(ui, s, theme)
        } else {
            strip(ui, s, theme)
        });
    }
    notifications(ui, r, theme);
    legend(ui, r, theme);
    clicked
}

/// Shows a slot's fields on hover and returns its command on a click.
fn slot_response(ui: &egui::Ui, resp: &egui::Response, slot: Option<&SlotPicture>) -> Clicked {
    let slot = slot?;
    if resp.hovered() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
        resp.clone().on_hover_ui_at_pointer(|ui| {
            for l in &slot.tooltip {
                ui.label(egui::RichText::new(l).monospace());
            }
        });
    }
    resp.clicked().then(|| slot.command.clone()).flatten()
}

fn strip(ui: &mut egui::Ui, s: &StripPicture, theme: Theme) -> Clicked {
    let (first, end) = window(s);
    let shown = &s.slots[first..end];
    let width = ui.available_width().max(100.0);
    let per_row = shown.len().clamp(1, 32);
    let cell = (width / per_row as f32).min(26.0);
    let rows = shown.len().div_ceil(per_row);
    let head = 36.0;
    let row_h = cell + 26.0;
    let (rect, resp) =
        ui.allocate_exact_size(vec2(width, head + rows as f32 * row_h), Sense::click());
    let painter = ui.painter_at(rect.expand(2.0));
    let mut name = s.name.clone();
    if end - first < s.slots.len() {
        name.push_str(&format!(
            "  (slots {first}..{} of {})",
            end - 1,
            s.slots.len()
        ));
    }
    text_node(ui, ui.scope_id().with(("strip", &s.name)), &name);
    painter.text(rect.min, Align2::LEFT_TOP, name, font(), theme.text());
    let cell_rect = |i: usize| {
        let (row, col) = (i / per_row, i % per_row);
        Rect::from_min_size(
            pos2(
                rect.min.x + col as f32 * cell,
                rect.min.y + head + row as f32 * row_h,
            ),
            vec2(cell - 2.0, cell - 2.0),
        )
    };
    for (i, sl) in shown.iter().enumerate() {
        let r = cell_rect(i);
        painter.rect_filled(r, CornerRadius::same(2), fill(theme, sl.owner, sl.change));
        if sl.change == Change::Strong {
            painter.rect_stroke(
                r,
                CornerRadius::same(2),
                Stroke::new(2.0, theme.change()),
                egui::StrokeKind::Outside,
            );
        }
        if sl.selected {
            painter.rect_stroke(
                r,
                CornerRadius::same(2),
                Stroke::new(2.0, theme.text()),
                egui::StrokeKind::Outside,
            );
        }
        if cell >= 18.0 && !sl.label.is_empty() {
            painter.text(
                r.center(),
                Align2::CENTER_CENTER,
                &sl.label,
                FontId::monospace(9.0),
                Color32::BLACK,
            );
        }
        node(
            ui,
            ui.scope_id().with(("slot", &s.name, sl.slot)),
            r,
            sl.tooltip.first().map_or("", String::as_str),
        );
    }
    // Positions: the driver's above its slot, the device's below.
    for m in &s.marks {
        let Some(i) = usize::from(m.slot)
            .checked_sub(first)
            .filter(|&i| i < shown.len())
        else {
            continue;
        };
        let r = cell_rect(i);
        // Labels run away from the nearer edge, so none is cut.
        let left_half = i % per_row < per_row / 2;
        let (tip, dir, align) = match (m.agent, left_half) {
            (Agent::Driver, true) => (r.center_top(), -1.0, Align2::LEFT_BOTTOM),
            (Agent::Driver, false) => (r.center_top(), -1.0, Align2::RIGHT_BOTTOM),
            (Agent::Device, true) => (r.center_bottom(), 1.0, Align2::LEFT_TOP),
            (Agent::Device, false) => (r.center_bottom(), 1.0, Align2::RIGHT_TOP),
        };
        let colour = theme.owner(owner_of(m.agent));
        painter.arrow(
            tip + vec2(0.0, dir * 9.0),
            vec2(0.0, -dir * 7.0),
            Stroke::new(1.5, colour),
        );
        painter.text(
            tip + vec2(0.0, dir * 9.0),
            align,
            &m.label,
            FontId::monospace(9.0),
            colour,
        );
    }
    // Chain links as arcs over the strip.
    for &(a, b) in &s.links {
        let (Some(i), Some(j)) = (
            usize::from(a)
                .checked_sub(first)
                .filter(|&i| i < shown.len()),
            usize::from(b)
                .checked_sub(first)
                .filter(|&j| j < shown.len()),
        ) else {
            continue;
        };
        let (p, q) = (cell_rect(i).center_top(), cell_rect(j).center_top());
        let ctrl = pos2((p.x + q.x) / 2.0, p.y.min(q.y) - 12.0);
        painter.add(QuadraticBezierShape::from_points_stroke(
            [p, ctrl, q],
            false,
            Color32::TRANSPARENT,
            Stroke::new(1.5, theme.text()),
        ));
        painter.circle_filled(q, 2.5, theme.text());
    }
    let hovered = resp
        .hover_pos()
        .and_then(|p| (0..shown.len()).find(|&i| cell_rect(i).contains(p)))
        .map(|i| &shown[i]);
    slot_response(ui, &resp, hovered)
}

fn owner_of(a: Agent) -> ringside_core::view::Owner {
    match a {
        Agent::Driver => ringside_core::view::Owner::Driver,
        Agent::Device => ringside_core::view::Owner::Device,
    }
}

fn circle(ui: &mut egui::Ui, s: &StripPicture, theme: Theme) -> Clicked {
    let n = s.len.max(1);
    let side = ui.available_width().clamp(160.0, 280.0);
    // The circle, then one row per position under it.
    let listed_h = 13.0 * s.marks.len() as f32 + 4.0;
    let (rect, resp) =
        ui.allocate_exact_size(vec2(ui.available_width(), side + listed_h), Sense::click());
    let painter = ui.painter_at(rect);
    let centre = pos2(rect.min.x + side / 2.0, rect.min.y + side / 2.0);
    let radius = side / 2.0 - 34.0;
    let slot_r = (std::f32::consts::PI * radius / n as f32).clamp(2.5, 12.0);
    let at = |i: usize, r: f32| {
        let a = std::f32::consts::TAU * i as f32 / n as f32 - std::f32::consts::FRAC_PI_2;
        centre + r * Vec2::angled(a)
    };
    text_node(ui, ui.scope_id().with(("strip", &s.name)), &s.name);
    painter.text(rect.min, Align2::LEFT_TOP, &s.name, font(), theme.text());
    // The whole ring, faint: core sends a window of a long one.
    painter.circle_stroke(centre, radius, Stroke::new(1.0, theme.border(false)));
    for sl in &s.slots {
        let p = at(usize::from(sl.slot), radius);
        painter.circle_filled(p, slot_r, fill(theme, sl.owner, sl.change));
        if sl.change == Change::Strong {
            painter.circle_stroke(p, slot_r + 1.5, Stroke::new(2.0, theme.change()));
        }
        if sl.selected {
            painter.circle_stroke(p, slot_r + 1.5, Stroke::new(2.0, theme.text()));
        }
        if slot_r >= 8.0 && !sl.label.is_empty() {
            painter.text(
                p,
                Align2::CENTER_CENTER,
                &sl.label,
                FontId::monospace(8.0),
                Color32::BLACK,
            );
        }
        node(
            ui,
            ui.scope_id().with(("slot", &s.name, sl.slot)),
            Rect::from_center_size(p, Vec2::splat(2.0 * slot_r)),
            sl.tooltip.first().map_or("", String::as_str),
        );
    }
    // Positions: the driver's outside the circle, the device's inside, each with its label
    // (which carries the side's wrap counter), listed beside the circle too.
    let mut listed = 0.0;
    for m in &s.marks {
        let i = usize::from(m.slot);
        let colour = theme.owner(owner_of(m.agent));
        let (from, to) = match m.agent {
            Agent::Driver => (at(i, radius + slot_r + 14.0), at(i, radius + slot_r + 2.0)),
            Agent::Device => (at(i, radius - slot_r - 14.0), at(i, radius - slot_r - 2.0)),
        };
        painter.arrow(from, to - from, Stroke::new(2.0, colour));
        text_node(
            ui,
            ui.scope_id().with(("mark", &s.name, &m.label)),
            &format!("{} at slot {}", m.label, m.slot),
        );
        painter.text(
            pos2(rect.min.x + 4.0, rect.min.y + side + listed),
            Align2::LEFT_TOP,
            format!("{} → slot {}", m.label, m.slot),
            FontId::monospace(10.0),
            colour,
        );
        listed += 13.0;
    }
    let hovered = resp.hover_pos().and_then(|p| {
        let d = p - centre;
        if (d.length() - radius).abs() > slot_r + 4.0 {
            return None;
        }
        let a = (d.angle() + std::f32::consts::FRAC_PI_2).rem_euclid(std::f32::consts::TAU);
        let i = ((a / std::f32::consts::TAU) * n as f32).round() as usize % n;
        s.slots.iter().find(|x| usize::from(x.slot) == i)
    });
    slot_response(ui, &resp, hovered)
}

/// The latest notifications: arrows between the driver's side (left) and the device's (right).
fn notifications(ui: &mut egui::Ui, r: &RingPicture, theme: Theme) {
    if r.notifications.is_empty() {
        return;
    }
    let row = 16.0;
    let width = ui.available_width().max(200.0);
    let (rect, _) = ui.allocate_exact_size(
        vec2(width, 16.0 + row * r.notifications.len() as f32),
        Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    let (left, right) = (rect.min.x + 52.0, rect.max.x - 52.0);
    painter.text(
        pos2(rect.min.x, rect.min.y),
        Align2::LEFT_TOP,
        "driver",
        font(),
        theme.owner(owner_of(Agent::Driver)),
    );
    painter.text(
        pos2(rect.max.x, rect.min.y),
        Align2::RIGHT_TOP,
        "device",
        font(),
        theme.owner(owner_of(Agent::Device)),
    );
    for (k, n) in r.notifications.iter().enumerate() {
        let y = rect.min.y + 16.0 + row * k as f32 + row / 2.0;
        let (a, b) = match n.from {
            Agent::Driver => (pos2(left, y), pos2(right, y)),
            Agent::Device => (pos2(right, y), pos2(left, y)),
        };
        let colour = if n.now {
            theme.change()
        } else {
            theme.owner(owner_of(n.from))
        };
        painter.arrow(a, b - a, Stroke::new(if n.now { 2.5 } else { 1.2 }, colour));
        text_node(ui, ui.scope_id().with(("notify", k)), &n.label);
        painter.text(
            pos2((left + right) / 2.0, y - 1.0),
            Align2::CENTER_BOTTOM,
            &n.label,
            FontId::monospace(9.0),
            theme.text(),
        );
    }
}

fn cache(ui: &mut egui::Ui, c: &CachePicture, theme: Theme) -> Clicked {
    ui.label(egui::RichText::new("cache lines").strong());
    ui.label(egui::RichText::new(&c.title).small());
    if let (Some(a), Some(b)) = (c.lines.first(), c.lines.last())
        && c.lines.len() < c.len
    {
        ui.label(
            egui::RichText::new(format!(
                "lines {:#x}..{:#x}, {} of {}",
                a.addr,
                b.addr,
                c.lines.len(),
                c.len
            ))
            .small(),
        );
    }
    let width = ui.available_width().max(100.0);
    let per_row = 16usize;
    let cell = (width / per_row as f32).min(22.0);
    let rows = c.lines.len().div_ceil(per_row).max(1);
    let (rect, resp) = ui.allocate_exact_size(vec2(width, rows as f32 * cell), Sense::click());
    let painter = ui.painter_at(rect.expand(2.0));
    let cell_rect = |i: usize| {
        Rect::from_min_size(
            pos2(
                rect.min.x + (i % per_row) as f32 * cell,
                rect.min.y + (i / per_row) as f32 * cell,
            ),
            Vec2::splat(cell - 2.0),
        )
    };
    for (i, l) in c.lines.iter().enumerate() {
        let r = cell_rect(i);
        painter.rect_filled(r, CornerRadius::same(2), fill(theme, l.owner, l.change));
        if l.change == Change::Strong {
            // Touched at the last step (a transfer): it flashes in the change colour.
            painter.rect_stroke(
                r,
                CornerRadius::same(2),
                Stroke::new(2.5, theme.change()),
                egui::StrokeKind::Outside,
            );
        }
        if l.selected {
            painter.rect_stroke(
                r,
                CornerRadius::same(2),
                Stroke::new(2.0, theme.text()),
                egui::StrokeKind::Outside,
            );
        }
        if cell >= 16.0 && l.transfers > 0 {
            painter.text(
                r.center(),
                Align2::CENTER_CENTER,
                l.transfers.to_string(),
                FontId::monospace(8.0),
                Color32::BLACK,
            );
        }
        node(
            ui,
            ui.scope_id().with(("line", l.addr)),
            r,
            l.tooltip.first().map_or("", String::as_str),
        );
    }
    let hovered: Option<&LinePicture> = resp
        .hover_pos()
        .and_then(|p| (0..c.lines.len()).find(|&i| cell_rect(i).contains(p)))
        .map(|i| &c.lines[i]);
    let mut clicked = None;
    if let Some(l) = hovered {
        ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
        resp.clone().on_hover_ui_at_pointer(|ui| {
            for t in &l.tooltip {
                ui.label(egui::RichText::new(t).monospace());
            }
        });
        if resp.clicked() {
            clicked = Some(l.command.clone());
        }
    }
    if let Some(l1) = &c.l1 {
        ui.add_space(6.0);
        ui.label(egui::RichText::new("L1 sets and ways").strong());
        ui.label(egui::RichText::new(&l1.summary).small());
        let ways = l1.ways.max(1) as usize;
        let sets = l1.sets.len().max(1);
        let tallest = l1.sets.iter().map(|&(o, t)| (o + t) as usize).max();
        let rows = tallest.unwrap_or(0).max(ways);
        let w = (width / sets as f32).clamp(2.0, 12.0);
        let h = 6.0;
        let (rect, _) = ui.allocate_exact_size(vec2(width, h * (rows + 1) as f32), Sense::hover());
        let painter = ui.painter_at(rect);
        let empty = Stroke::new(
            1.0,
            theme
                .owner(ringside_core::view::Owner::Free)
                .gamma_multiply(0.35),
        );
        for (s, &(ours, others)) in l1.sets.iter().enumerate() {
            let held = (ours + others) as usize;
            for k in 0..held.max(ways) {
                let cell = Rect::from_min_size(
                    pos2(rect.min.x + s as f32 * w, rect.max.y - (k + 1) as f32 * h),
                    vec2((w - 1.0).max(1.0), h - 1.0),
                );
                if k >= held {
                    // A free way: its outline, so the grid of sets and ways shows.
                    painter.rect_stroke(cell, CornerRadius::ZERO, empty, egui::StrokeKind::Inside);
                    continue;
                }
                let colour = if k >= ways {
                    theme.error()
                } else if k < ours as usize {
                    theme.owner(ringside_core::view::Owner::Shared)
                } else {
                    theme.owner(ringside_core::view::Owner::Free)
                };
                painter.rect_filled(cell, CornerRadius::ZERO, colour);
            }
        }
        let top = rect.max.y - ways as f32 * h;
        painter.add(Shape::line_segment(
            [
                pos2(rect.min.x, top),
                pos2(rect.min.x + sets as f32 * w, top),
            ],
            Stroke::new(1.0, theme.error()),
        ));
        ui.label(egui::RichText::new(&l1.key).small());
    }
    clicked
}

/// Room an event takes on the joined timeline at least, in points: fewer are shown, around
/// the cursor, when the panel is narrow.
const EVENT_W: f32 = 22.0;

/// The events shown: all, or a window of `room` around the cursor's event.
fn event_window(j: &JoinedPicture, room: usize) -> (usize, usize) {
    let n = j.events.len();
    if n <= room {
        return (0, n);
    }
    let at = j
        .events
        .iter()
        .rposition(|e| e.step <= j.cursor)
        .unwrap_or(0);
    let start = at.saturating_sub(room / 2).min(n - room);
    (start, start + room)
}

/// A joined capture's timeline: the driver's lane above, the device's below, each event a
/// dot with its glyph on its side's lane; kicks and interrupts as arrows between the lanes;
/// the followed buffer's path as a line through its events; the cursor as a vertical bar.
fn joined(ui: &mut egui::Ui, j: &JoinedPicture, theme: Theme) -> Clicked {
    ui.label(egui::RichText::new(format!("joined timeline: {}", j.title)).strong());
    let width = ui.available_width().max(200.0);
    let room = ((width / EVENT_W).floor() as usize).max(1);
    let (first, end) = event_window(j, room);
    let shown = &j.events[first..end];
    if end - first < j.events.len() {
        ui.label(
            egui::RichText::new(format!(
                "events {}..{} of {} in the window, around the cursor",
                first + 1,
                end,
                j.events.len()
            ))
            .small(),
        );
    }
    let (rect, resp) = ui.allocate_exact_size(vec2(width, 132.0), Sense::click());
    let painter = ui.painter_at(rect.expand(2.0));
    let dx = width / shown.len().max(1) as f32;
    let lane_y = [rect.min.y + 38.0, rect.max.y - 38.0];
    let x = |i: usize| rect.min.x + dx * (i as f32 + 0.5);
    let pos = |i: usize, e: &LaneEvent| pos2(x(i), lane_y[usize::from(e.lane.min(1))]);
    let owners = [
        ringside_core::view::Owner::Driver,
        ringside_core::view::Owner::Device,
    ];
    // The lanes: a faint line each, the driver's name above it, the device's below.
    for (k, name) in j.lanes.iter().enumerate() {
        let colour = theme.owner(owners[k]);
        let y = lane_y[k];
        painter.line_segment(
            [pos2(rect.min.x, y), pos2(rect.max.x, y)],
            Stroke::new(1.0, theme.border(false)),
        );
        let count = shown.iter().filter(|e| usize::from(e.lane) == k).count();
        let (at, align) = if k == 0 {
            (pos2(rect.min.x, rect.min.y), Align2::LEFT_TOP)
        } else {
            (pos2(rect.min.x, rect.max.y), Align2::LEFT_BOTTOM)
        };
        let side = if k == 0 { "driver" } else { "device" };
        painter.text(at, align, format!("{side}: {name}"), font(), colour);
        text_node(
            ui,
            ui.scope_id().with(("lane", k)),
            &format!("{side} lane: {name}, {count} events shown"),
        );
    }
    let index = |step: u64| shown.iter().position(|e| e.step == step);
    // The cursor, behind everything.
    if let Some(i) = shown.iter().rposition(|e| e.step <= j.cursor) {
        painter.line_segment(
            [pos2(x(i), rect.min.y + 16.0), pos2(x(i), rect.max.y - 16.0)],
            Stroke::new(2.0, theme.text().gamma_multiply(0.5)),
        );
        text_node(
            ui,
            ui.scope_id().with("cursor"),
            &format!("cursor at step {}", j.cursor),
        );
    }
    // The followed buffer's path through both lanes.
    let path: Vec<egui::Pos2> = j
        .path
        .iter()
        .filter_map(|&s| index(s).map(|i| pos(i, &shown[i])))
        .collect();
    if path.len() > 1 {
        painter.add(Shape::line(path, Stroke::new(3.0, theme.change())));
    }
    // Kicks down, interrupts up.
    for (k, a) in j.arrows.iter().enumerate() {
        let Some(i) = index(a.step) else { continue };
        let (from, to) = match a.from {
            Agent::Driver => (lane_y[0] + 9.0, lane_y[1] - 9.0),
            Agent::Device => (lane_y[1] - 9.0, lane_y[0] + 9.0),
        };
        painter.arrow(
            pos2(x(i), from),
            vec2(0.0, to - from),
            Stroke::new(1.5, theme.owner(owner_of(a.from))),
        );
        text_node(
            ui,
            ui.scope_id().with(("arrow", k)),
            &format!("{} at step {}", a.label, a.step),
        );
    }
    let r = (dx / 2.0 - 1.0).clamp(3.0, 8.0);
    for (i, e) in shown.iter().enumerate() {
        let p = pos(i, e);
        let lane = usize::from(e.lane.min(1));
        painter.circle_filled(p, r, theme.owner(owners[lane]));
        if e.on_path {
            painter.circle_stroke(p, r + 1.5, Stroke::new(2.0, theme.change()));
        }
        if e.step == j.cursor {
            painter.circle_stroke(p, r + 3.5, Stroke::new(1.5, theme.text()));
        }
        if r >= 6.0 {
            painter.text(
                p,
                Align2::CENTER_CENTER,
                e.glyph,
                FontId::monospace(9.0),
                Color32::BLACK,
            );
        }
        let side = if lane == 0 { "driver" } else { "device" };
        let path = if e.on_path {
            ", on the buffer's path"
        } else {
            ""
        };
        node(
            ui,
            ui.scope_id().with(("event", e.step)),
            Rect::from_center_size(p, Vec2::splat(2.0 * r)),
            &format!("{side}: {} at step {}{path}", e.label, e.step),
        );
    }
    if j.others > 0 {
        ui.label(
            egui::RichText::new(format!(
                "{} events of other queues in this window are not drawn",
                j.others
            ))
            .small(),
        );
    }
    let hovered = resp.hover_pos().and_then(|h| {
        shown
            .iter()
            .enumerate()
            .find(|(i, e)| (h - pos(*i, e)).length() <= r.max(dx / 2.0))
            .map(|(_, e)| e)
    });
    let e = hovered?;
    ui.ctx().set_cursor_icon(egui::CursorIcon::PointingHand);
    resp.clone().on_hover_ui_at_pointer(|ui| {
        ui.label(egui::RichText::new(&e.label).monospace());
        ui.label(egui::RichText::new(format!("step {}", e.step)).monospace());
        if let Some(t) = e.time_us {
            ui.label(egui::RichText::new(format!("host time {t} µs")).monospace());
        }
        if e.on_path {
            ui.label(egui::RichText::new("on the followed buffer's path").monospace());
        }
    });
    resp.clicked().then(|| e.command.clone())
}
