//! The ring pane's data: the split descriptor table, available and used rings with both
//! sides' positions and notification decisions, and the packed descriptor ring with its event
//! areas and outstanding buffer IDs.

use std::ops::Range;

use super::*;

/// Rings up to this size get a row for every slot. A bigger one (up to 32768 slots) gets rows
/// for a window of [`ROW_WINDOW`] slots around the focus only: no face shows more than a few
/// dozen rows or [`picture::WINDOW`](crate::face::screen::picture::WINDOW) slots at once, and
/// building every row of a 32768-entry ring cost most of a frame.
pub const ALL_ROWS: u16 = 2048;
/// Slots a big ring's rows cover, around the focus.
pub const ROW_WINDOW: u16 = 1024;

/// `width` of `len` items centred on `centre` (kept inside the list), or all of them when
/// they fit: the window of a big ring's rows here and of a picture's slots.
pub fn centred_window(len: usize, centre: usize, width: usize) -> Range<usize> {
    if len <= width {
        return 0..len;
    }
    let start = centre.saturating_sub(width / 2).min(len - width);
    start..start + width
}

/// The slots of a `q`-slot ring that get rows, centred on `focus` when not all.
fn rows_around(q: u16, focus: u16) -> Range<u16> {
    if q <= ALL_ROWS {
        return 0..q;
    }
    let w = centred_window(q.into(), focus.into(), ROW_WINDOW.into());
    w.start as u16..w.end as u16
}

/// The slot of the first `stride`-byte entry from `base` the step stored to, if any.
fn stored_slot(ch: &Changes, base: u64, stride: u64, q: u16) -> Option<u16> {
    let end = base + stride * u64::from(q);
    ch.strong
        .first_in(base, end)
        .map(|a| ((a - base) / stride) as u16)
}

pub(super) fn ring_pane(e: &Engine, b: &Bytes, ch: &Changes, ctx: &ViewContext<'_>) -> RingPane {
    match &e.ring {
        None => RingPane::NotSetUp,
        Some(Ring::Split {
            layout,
            driver,
            device,
        }) => RingPane::Split(split_pane(e, layout, driver, device, b, ch, ctx)),
        Some(Ring::Packed {
            layout,
            driver,
            device,
        }) => RingPane::Packed(packed_pane(layout, driver, device, b, ch, ctx)),
    }
}

pub(super) fn desc_row(
    base: u64,
    slot: u16,
    b: &Bytes,
    ch: &Changes,
    packed: bool,
    owner: Owner,
    selected: bool,
) -> DescRow {
    let a = base + DESC_SIZE * u64::from(slot);
    let (link_at, flags_at) = if packed {
        (a + 12, a + 14)
    } else {
        (a + 14, a + 12)
    };
    let flags = b.u16(flags_at);
    let mut flags_text = String::with_capacity(16);
    push_hex(&mut flags_text, u64::from(flags), 4);
    flags_text.push(' ');
    push_flag_letters(&mut flags_text, flags);
    if packed {
        flags_text.push(' ');
        flags_text.push_str(bits_code(flags));
    }
    let mut addr = String::with_capacity(18);
    push_hex(&mut addr, b.le(a, 8), 0);
    DescRow {
        slot,
        addr: Cell::new(addr, ch.at(a, 8)),
        len: Cell::new(dec(u64::from(b.u32(a + 8))), ch.at(a + 8, 4)),
        flags: Cell::new(flags_text, ch.at(flags_at, 2)),
        link: Cell::new(dec(u64::from(b.u16(link_at))), ch.at(link_at, 2)),
        owner,
        notes: Vec::new(),
        selected,
        next: (!packed && flags & VIRTQ_DESC_F_NEXT != 0).then(|| b.u16(link_at)),
        indirect: flags & VIRTQ_DESC_F_INDIRECT != 0,
    }
}

pub(super) fn split_pane(
    e: &Engine,
    l: &SplitLayout,
    driver: &SplitDriver,
    device: &SplitDevice,
    b: &Bytes,
    ch: &Changes,
    ctx: &ViewContext<'_>,
) -> SplitPane {
    let q = l.size;
    let in_order = e.features().contains(Features::IN_ORDER);
    let owners = split_desc_owners(l, driver, device, b, in_order);
    // A big ring's rows centre where the pictures do (`picture::centre`): the selection, else
    // the strip's first position (the next free descriptor; with none free, what the step
    // stored to).
    let positions = split_positions(q, driver, device);
    let first_at = |strip: Strip| positions.iter().find(|p| p.strip == strip).map(|p| p.slot);
    let focus = ctx
        .selected
        .or_else(|| first_at(Strip::Descriptors))
        .or_else(|| stored_slot(ch, l.desc, DESC_SIZE, q))
        .unwrap_or(0);
    let mut descs: Vec<DescRow> = rows_around(q, focus)
        .map(|i| {
            let o = owners[usize::from(i)];
            desc_row(l.desc, i, b, ch, false, o, Some(i) == ctx.selected)
        })
        .collect();
    if let Some(&top) = driver.free.last()
        && let Some(r) = descs.iter_mut().find(|r| r.slot == top)
    {
        r.notes.push("next free".into());
    }
    let in_avail = driver.published.since(device.last_avail);
    let unpublished = driver.avail_idx.since(driver.published);
    let (drv_avail, dev_avail) = (driver.avail_idx.slot(q), device.last_avail.slot(q));
    let avail_focus = first_at(Strip::Avail).unwrap_or(0);
    let avail_rows = rows_around(q, avail_focus)
        .map(|i| {
            let a = l.avail_ring(i);
            let owner = window_owner(
                i,
                device.last_avail,
                q,
                (in_avail, Owner::Device),
                (unpublished, Owner::Driver),
            );
            let mut notes = Vec::new();
            if drv_avail == i {
                notes.push("drv".into());
            }
            if dev_avail == i {
                notes.push("dev".into());
            }
            SlotRow {
                slot: i,
                entry: Cell::new(dec(u64::from(b.u16(a))), ch.at(a, 2)),
                owner,
                notes,
            }
        })
        .collect();
    let returned = device.published.since(driver.last_used);
    let written = device.used_idx.since(device.published);
    let (dev_used, drv_used) = (device.used_idx.slot(q), driver.last_used.slot(q));
    let used_focus = first_at(Strip::Used).unwrap_or(0);
    let used_rows = rows_around(q, used_focus)
        .map(|i| {
            let a = l.used_elem(i);
            let owner = window_owner(
                i,
                driver.last_used,
                q,
                (returned, Owner::Driver),
                (written, Owner::Device),
            );
            let mut notes = Vec::new();
            if dev_used == i {
                notes.push("dev".into());
            }
            if drv_used == i {
                notes.push("drv".into());
            }
            SlotRow {
                slot: i,
                entry: {
                    let mut e = String::with_capacity(12);
                    push_dec(&mut e, u64::from(b.u32(a)), 3);
                    e.push(' ');
                    push_dec(&mut e, u64::from(b.u32(a + 4)), 5);
                    Cell::new(e, ch.at(a, 8))
                },
                owner,
                notes,
            }
        })
        .collect();
    let cell16 = |a: u64| Cell::new(b.u16(a).to_string(), ch.at(a, 2));
    let event_idx = e.features().contains(Features::EVENT_IDX);
    let used_event = b.u16(l.used_event());
    let avail_event = b.u16(l.avail_event());
    let interrupt = {
        let (new, old) = (device.published.0, device.signalled.map(|s| s.0));
        let no_int = b.u16(l.avail_flags()) & VIRTQ_AVAIL_F_NO_INTERRUPT != 0;
        window(
            event_idx,
            ("used_event", used_event),
            (new, old),
            ("avail.flags NO_INTERRUPT", no_int),
            "interrupt",
        )
    };
    let kick = {
        let (new, old) = (driver.published.0, Some(driver.kicked_at.0));
        let no_notify = b.u16(l.used_flags()) & VIRTQ_USED_F_NO_NOTIFY != 0;
        window(
            event_idx,
            ("avail_event", avail_event),
            (new, old),
            ("used.flags NO_NOTIFY", no_notify),
            "kick",
        )
    };
    SplitPane {
        size: q,
        descs,
        avail: RingSide {
            flags: cell16(l.avail_flags()),
            idx: cell16(l.avail_idx()),
            event: cell16(l.used_event()),
            rows: avail_rows,
        },
        used: RingSide {
            flags: cell16(l.used_flags()),
            idx: cell16(l.used_idx()),
            event: cell16(l.avail_event()),
            rows: used_rows,
        },
        kick,
        interrupt,
        positions,
    }
}

/// Where each side stands in a split ring: the driver's next free descriptor, next avail
/// entry and last used entry read; the device's last avail entry read and next used entry.
pub(super) fn split_positions(q: u16, driver: &SplitDriver, device: &SplitDevice) -> Vec<Position> {
    let at = |strip, slot, agent, name: &str| Position {
        strip,
        slot,
        agent,
        name: name.to_string(),
        wrap: None,
    };
    let mut out = Vec::new();
    if let Some(&top) = driver.free.last() {
        out.push(at(Strip::Descriptors, top, Agent::Driver, "next free"));
    }
    out.extend([
        at(
            Strip::Avail,
            driver.avail_idx.slot(q),
            Agent::Driver,
            "avail_idx",
        ),
        at(
            Strip::Avail,
            device.last_avail.slot(q),
            Agent::Device,
            "last_avail_idx",
        ),
        at(
            Strip::Used,
            device.used_idx.slot(q),
            Agent::Device,
            "used_idx",
        ),
        at(
            Strip::Used,
            driver.last_used.slot(q),
            Agent::Driver,
            "last_used_idx",
        ),
    ]);
    out
}

/// Works out a notification decision with real numbers, as `vring_need_event` does.
pub(super) fn window(
    event_idx: bool,
    (name, event): (&str, u16),
    (new, old): (u16, Option<u16>),
    (flag, suppressed): (&str, bool),
    what: &str,
) -> EventWindow {
    let fires = if event_idx {
        old.is_none_or(|o| vring_need_event(event, new, o))
    } else {
        !suppressed
    };
    let verdict = if fires {
        what.to_string()
    } else {
        format!("no {what}")
    };
    let text = match (event_idx, old) {
        (true, Some(o)) => format!(
            "{name} {event} {} [{o}, {new}) → {verdict}",
            if vring_need_event(event, new, o) {
                "∈"
            } else {
                "∉"
            }
        ),
        (true, None) => format!("{name} {event}, no decision yet → {verdict}"),
        (false, _) => format!("{flag} {} → {verdict}", u8::from(suppressed)),
    };
    EventWindow {
        event_idx,
        event,
        old,
        new,
        fires,
        text,
    }
}

pub(super) fn event_area(b: &Bytes, base: u64, ch: &Changes) -> EventArea {
    let ow = b.u16(base);
    let flags = b.u16(base + 2);
    let name = match flags {
        RING_EVENT_FLAGS_DISABLE => "DISABLE",
        RING_EVENT_FLAGS_DESC => "DESC",
        0 => "ENABLE",
        _ => "reserved",
    };
    EventArea {
        off_wrap: Cell::new(PackedPos::from_off_wrap(ow).to_string(), ch.at(base, 2)),
        flags: Cell::new(format!("{flags} {name}"), ch.at(base + 2, 2)),
    }
}

pub(super) fn packed_pane(
    l: &PackedLayout,
    driver: &PackedDriver,
    device: &PackedDevice,
    b: &Bytes,
    ch: &Changes,
    ctx: &ViewContext<'_>,
) -> PackedPane {
    let q = l.size;
    let owners = packed_owners(q, driver, device);
    let marks = [
        ("drv.avail", Agent::Driver, "next avail", driver.next_avail),
        ("drv.used", Agent::Driver, "next used", driver.next_used),
        ("dev.avail", Agent::Device, "next avail", device.next_avail),
        ("dev.used", Agent::Device, "next used", device.next_used),
    ];
    // As for a split table: the selection, else the first position (the pictures' centre).
    let focus = ctx.selected.unwrap_or(marks[0].3.slot);
    let mut descs: Vec<DescRow> = rows_around(q, focus)
        .map(|i| {
            let o = owners[usize::from(i)];
            desc_row(l.desc, i, b, ch, true, o, Some(i) == ctx.selected)
        })
        .collect();
    let mut positions = Vec::new();
    for (note, agent, name, p) in marks {
        if let Some(r) = descs.iter_mut().find(|r| r.slot == p.slot) {
            r.notes.push(format!("{note} w{}", p.wrap));
        }
        positions.push(Position {
            strip: Strip::Descriptors,
            slot: p.slot,
            agent,
            name: name.to_string(),
            wrap: Some(p.wrap),
        });
    }
    PackedPane {
        size: q,
        descs,
        driver: format!(
            "driver: next avail {}  next used {}",
            driver.next_avail, driver.next_used
        ),
        device: format!(
            "device: next avail {}  next used {}",
            device.next_avail, device.next_used
        ),
        driver_event: event_area(b, l.driver_event, ch),
        device_event: event_area(b, l.device_event, ch),
        ids: outstanding_ids(l, driver, device, b),
        positions,
    }
}
