//! Paints core's [`Pictures`]: each ring as strips of slots (split) or a circle (packed),
//! coloured by owner, with both sides' positions (their labels carry the wrap counters), chain
//! links as arcs, and the latest notifications as arrows between the driver's side and the
//! device's; the cache lines as a grid coloured by the CPU holding each (a line touched at
//! the last step flashes); the L1's sets and ways. Hover a slot or a line for its fields,
//! click it to select it in every pane. Every word and colour rule is core's: this module
//! only places shapes.

use egui::epaint::QuadraticBezierShape;
use egui::{Align2, Color32, CornerRadius, FontId, Rect, Sense, Shape, Stroke, Vec2, pos2, vec2};
use ringside_core::command::Command;
use ringside_core::face::screen::picture::{
    CachePicture, LinePicture, Pictures, RingPicture, SlotPicture, StripPicture,
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
    if p.rings.is_empty() && p.cache.is_none() {
        ui.label("Nothing to draw here: the pictures show a scenario's rings and cache lines.");
        return None;
    }
    egui::ScrollArea::vertical().show(ui, |ui| {
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
        let w = (width / sets as f32).clamp(1.0, 12.0);
        let h = 6.0;
        let (rect, _) = ui.allocate_exact_size(vec2(width, h * (ways + 2) as f32), Sense::hover());
        let painter = ui.painter_at(rect);
        for (s, &(ours, others)) in l1.sets.iter().enumerate() {
            for k in 0..(ours + others) as usize {
                let colour = if k >= ways {
                    theme.error()
                } else if k < ours as usize {
                    theme.owner(ringside_core::view::Owner::Shared)
                } else {
                    theme.owner(ringside_core::view::Owner::Free)
                };
                let y = rect.max.y - (k + 1) as f32 * h;
                painter.rect_filled(
                    Rect::from_min_size(
                        pos2(rect.min.x + s as f32 * w, y),
                        vec2((w - 1.0).max(1.0), h - 1.0),
                    ),
                    CornerRadius::ZERO,
                    colour,
                );
            }
        }
        painter.add(Shape::line_segment(
            [
                pos2(rect.min.x, rect.max.y - ways as f32 * h),
                pos2(rect.max.x, rect.max.y - ways as f32 * h),
            ],
            Stroke::new(1.0, theme.error()),
        ));
    }
    clicked
}
