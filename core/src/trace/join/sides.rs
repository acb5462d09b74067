//! Both sides' view of one ring at a step of the joined timeline, and where they disagree.
//!
//! The driver's side is its own shadow state as the kprobes read it: its shadow indices
//! change only in its own calls, so the values its next probed call on the queue reads are the
//! ones it holds at the cursor (`next_line` says which); what it last read of the device's
//! indices in ring memory comes from its previous call. The device's side is QEMU's replayed
//! `VirtQueue` (`last_avail_idx`, `used_idx`, `inuse`, packed positions), or, for a ring DPDK
//! serves, the ring base it was handed plus the packets it has moved (DPDK takes and uses a
//! buffer in one step).

use serde::{Deserialize, Serialize};

use super::buffers::NONE;
use super::merge::Pos;
use super::pair::DeviceSide;
use super::{Join, Side};
use crate::trace::import::Capture;
use crate::trace::import::driver::Shadow;
use crate::trace::state::ReplayState;

/// One compared quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideRow {
    /// What (`avail idx`, `used idx`, …).
    pub what: String,
    /// The driver's value.
    pub driver: String,
    /// The device's value.
    pub device: String,
    /// Whether they agree (or differ only as the protocol lets them).
    pub agree: bool,
    /// What the difference means, in words (empty when they agree).
    pub note: String,
}

/// Both sides' view of a ring at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidesView {
    /// The queue (`blk0.q0`).
    pub queue: String,
    /// The driver's name for it (`req.0 (virtio0)`).
    pub driver_name: String,
    /// Who serves it on the device side.
    pub device_name: String,
    /// Guest line of the probed call whose shadow values are shown.
    pub next_line: Option<u32>,
    /// The compared quantities.
    pub rows: Vec<SideRow>,
}

/// A shadow state as a probed call read it, and the call's guest line.
type Seen = Option<(u32, Shadow)>;

impl Join {
    /// The driver's shadow state of joined queue `q` around `pos`, with the guest line of the
    /// probed call that read it: its next call's on the queue (what it holds at the cursor)
    /// and its previous call's (what it last read of ring memory).
    fn shadows_around(&self, capture: &Capture, q: usize, pos: &Pos) -> Option<(Seen, Seen)> {
        let jq = self.queues.get(q)?;
        let ev = capture.driver.as_ref()?.events();
        let list = self.per_queue.get(usize::from(jq.driver))?;
        let k = list.partition_point(|&x| x < pos.at[Side::Driver as usize]);
        let shadow_of = |x: &u32| {
            ev.get(*x as usize)
                .and_then(|e| e.shadow().map(|s| (e.line, s)))
        };
        let next = list.get(k..).into_iter().flatten().find_map(shadow_of);
        let prev = list
            .get(..k)
            .into_iter()
            .flatten()
            .rev()
            .find_map(shadow_of);
        Some((next, prev))
    }

    /// The driver's own view of joined queue `q` at `pos`, as the both-sides rows show it:
    /// the shadow state its next probed call on the queue reads (its last call's when none
    /// follows), and that call's guest line.
    pub fn shadow_at(&self, capture: &Capture, q: usize, pos: &Pos) -> Option<(u32, Shadow)> {
        let (next, prev) = self.shadows_around(capture, q, pos)?;
        next.or(prev)
    }

    /// Both sides' view of joined queue `q` at position `pos`; `device` is QEMU's replayed
    /// state at `pos.at[Device]`.
    pub fn sides(
        &self,
        capture: &Capture,
        q: usize,
        pos: &Pos,
        device: &ReplayState,
    ) -> Option<SidesView> {
        let jq = self.queues.get(q)?;
        let driver = capture.driver.as_ref()?;
        let j = pos.at[Side::Driver as usize];
        let ev = driver.events();
        let (next, prev) = self.shadows_around(capture, q, pos)?;
        let own = next.or(prev);
        // Buffers by where they are at the cursor.
        let dev_side = self.device_side_of(q as u16) as usize;
        let dev_at = pos.at[dev_side];
        let (mut out, mut waiting, mut unreaped) = (0u32, 0u32, 0u32);
        let mut oldest_wait: Option<u32> = None;
        let mut oldest_unreaped: Option<u32> = None;
        for b in self
            .buffers
            .iter()
            .filter(|b| usize::from(b.queue) == q && b.add < j)
        {
            if b.detach != NONE && b.detach < j {
                continue;
            }
            out += 1;
            if b.pop == NONE || b.pop >= dev_at {
                waiting += 1;
                oldest_wait.get_or_insert(b.add);
            } else if b.used != NONE && b.used < dev_at {
                unreaped += 1;
                oldest_unreaped.get_or_insert(b.used);
            }
        }
        let gline = |x: u32| ev.get(x as usize).map_or(0, |e| e.line);
        let mut rows = Vec::new();
        let (dev_avail, dev_used, dev_inuse, dev_avail_wrap, dev_used_wrap) = match jq.device {
            DeviceSide::Qemu { queue, .. } => {
                let s = device.queues.get(queue)?;
                (
                    Some(s.last_avail_idx.0),
                    Some(s.used_idx.0),
                    Some(s.inuse),
                    s.avail_pos.map(|p| p.wrap.0),
                    s.used_pos.map(|p| p.wrap.0),
                )
            }
            DeviceSide::Dpdk { vring } => {
                let (avail, used) = self.dpdk_indices(capture, vring, pos);
                (avail, used, Some(0), None, None)
            }
            DeviceSide::Missing => (None, None, None, None, None),
        };
        let show = |v: Option<u16>| v.map_or("-".to_string(), |v| v.to_string());
        if let Some((_, s)) = own {
            let avail = if s.packed { s.avail & 0x7fff } else { s.avail };
            let dev_avail_v = dev_avail.map(|v| if s.packed { v & 0x7fff } else { v });
            let agree = dev_avail_v.is_none_or(|d| d == avail) || waiting == 0;
            let note = if waiting > 0 {
                let age = oldest_wait.map_or(String::new(), |a| {
                    format!(", the oldest added at guest line {}", gline(a))
                });
                format!("{waiting} made available, not yet taken by the device{age}")
            } else {
                String::new()
            };
            rows.push(SideRow {
                what: if s.packed {
                    "next avail slot".into()
                } else {
                    "avail idx".into()
                },
                driver: avail.to_string(),
                device: show(dev_avail_v),
                agree: waiting == 0 && agree,
                note,
            });
            let used = s.used_slot();
            let dev_used_v = dev_used.map(|v| if s.packed { v & 0x7fff } else { v });
            let note = if unreaped > 0 {
                let at = oldest_unreaped.map_or(String::new(), |u| {
                    let (file, line) = if dev_side == Side::Dpdk as usize {
                        (
                            "DPDK's",
                            capture
                                .dpdk
                                .as_ref()
                                .and_then(|d| d.events.get(u as usize))
                                .map_or(0, |e| e.line),
                        )
                    } else {
                        (
                            "QEMU's",
                            capture.store.events().get(u as usize).map_or(0, |e| e.line),
                        )
                    };
                    format!(", the oldest used at {file} line {line}")
                });
                format!("{unreaped} used by the device, not yet reaped by the driver{at}")
            } else {
                String::new()
            };
            rows.push(SideRow {
                what: if s.packed {
                    "next used slot".into()
                } else {
                    "used idx".into()
                },
                driver: used.to_string(),
                device: show(dev_used_v),
                agree: unreaped == 0,
                note,
            });
            if let Some((line, p)) = prev.filter(|p| !p.1.packed) {
                let stale = dev_used.is_some_and(|d| d != p.used_mem);
                rows.push(SideRow {
                    what: "used->idx as read".into(),
                    driver: p.used_mem.to_string(),
                    device: show(dev_used),
                    agree: !stale,
                    note: if stale {
                        format!("the driver last read it at guest line {line}, before the device moved it")
                    } else {
                        String::new()
                    },
                });
            }
            if s.packed {
                let w = |b: bool| u8::from(b).to_string();
                let dw = |v: Option<bool>| v.map_or("-".to_string(), w);
                rows.push(SideRow {
                    what: "avail wrap".into(),
                    driver: w(s.avail_wrap),
                    device: dw(dev_avail_wrap),
                    agree: dev_avail_wrap.is_none_or(|d| d == s.avail_wrap) || waiting > 0,
                    note: String::new(),
                });
                rows.push(SideRow {
                    what: "used wrap".into(),
                    driver: w(s.used_wrap()),
                    device: dw(dev_used_wrap),
                    agree: dev_used_wrap.is_none_or(|d| d == s.used_wrap()) || unreaped > 0,
                    note: String::new(),
                });
            }
            let descs = jq.size.saturating_sub(u32::from(s.free));
            rows.push(SideRow {
                what: "outstanding".into(),
                driver: format!(
                    "{out} buffer{}, {descs} descriptor{} (free {})",
                    if out == 1 { "" } else { "s" },
                    if descs == 1 { "" } else { "s" },
                    s.free
                ),
                device: dev_inuse.map_or("-".into(), |n| format!("{n} in use")),
                agree: true,
                note: String::new(),
            });
            let (drv_sup, dev_sup) = if s.packed {
                (
                    format!("event flags {:#x}", s.irq_flags),
                    format!("event flags {:#x}", s.notify_flags),
                )
            } else {
                (
                    format!(
                        "avail.flags {:#x}{}",
                        s.irq_flags,
                        if s.irq_flags & 1 != 0 {
                            " no interrupt"
                        } else {
                            ""
                        }
                    ),
                    format!(
                        "used.flags {:#x}{}",
                        s.notify_flags,
                        if s.notify_flags & 1 != 0 {
                            " no notify"
                        } else {
                            ""
                        }
                    ),
                )
            };
            rows.push(SideRow {
                what: "notifications".into(),
                driver: drv_sup,
                device: dev_sup,
                agree: true,
                note: String::new(),
            });
        }
        Some(SidesView {
            queue: jq.name.clone(),
            driver_name: jq.driver_name.clone(),
            device_name: jq.device_name.clone(),
            next_line: own.map(|o| o.0),
            rows,
        })
    }

    /// DPDK's avail and used index of a vring at a position: the base it was handed plus the
    /// buffers paired with its packets so far.
    fn dpdk_indices(&self, capture: &Capture, vring: u16, pos: &Pos) -> (Option<u16>, Option<u16>) {
        let Some(d) = capture.dpdk.as_ref() else {
            return (None, None);
        };
        let k = pos.at[Side::Dpdk as usize] as usize;
        let base = d.events.iter().take(k).rev().find_map(|e| match e.kind {
            crate::trace::import::dpdk::DpdkKind::RingBaseSet {
                vring: v,
                last_avail,
                ..
            } if v == vring => Some(last_avail),
            _ => None,
        });
        let Some(base) = base else {
            return (None, None);
        };
        let moved = self
            .buffers
            .iter()
            .filter(|b| {
                self.queues
                    .get(usize::from(b.queue))
                    .is_some_and(|q| q.device == DeviceSide::Dpdk { vring })
                    && b.used != NONE
                    && (b.used as usize) < k
            })
            .count() as u16;
        let v = base.wrapping_add(moved);
        (Some(v), Some(v))
    }
}
