//! Who may write what, derived from each side's private state the way the real code would
//! answer "may I touch this slot?": split descriptors from publish to `used.idx`, ring entries
//! in the windows between the two sides' indices, packed slots in the regions between the four
//! positions, outstanding packed buffer IDs, and cache lines by MESI state.

use super::*;

/// Who owns each descriptor of a split table.
pub(super) fn split_desc_owners(
    l: &SplitLayout,
    driver: &SplitDriver,
    device: &SplitDevice,
    b: &Bytes,
    in_order: bool,
) -> Vec<Owner> {
    let q = l.size;
    let mut owners = vec![Owner::Driver; usize::from(q)];
    for &d in &driver.free {
        if let Some(o) = owners.get_mut(usize::from(d)) {
            *o = Owner::Free;
        }
    }
    // Heads the device has returned (published used entries the driver has not reclaimed).
    // Under IN_ORDER one entry per batch gives back every chain before it too (§2.7.9): the
    // first `used.idx - last_used` outstanding chains, whatever the skipped slots hold.
    let n_returned = device.published.since(driver.last_used).min(q);
    let returned: Vec<u16> = if in_order {
        driver
            .order
            .iter()
            .take(n_returned.into())
            .copied()
            .collect()
    } else {
        (0..n_returned)
            .map(|k| b.u32(l.used_elem(driver.last_used.wrapping_add(k).slot(q))) as u16)
            .collect()
    };
    let unpublished = usize::from(driver.avail_idx.since(driver.published));
    let n = driver.order.len();
    for (i, &head) in driver.order.iter().enumerate() {
        let owner = if i + unpublished >= n || returned.contains(&head) {
            Owner::Driver
        } else {
            Owner::Device
        };
        for &d in &driver.chain(head) {
            if let Some(x) = owners.get_mut(usize::from(d)) {
                *x = owner;
            }
        }
    }
    owners
}

/// Owner of ring entry `slot` when entries `[from, from + device)` belong to the device and the
/// next `driver` entries to the driver.
pub(super) fn window_owner(
    slot: u16,
    from: RingIdx,
    q: u16,
    first: (u16, Owner),
    then: (u16, Owner),
) -> Owner {
    let k = (u32::from(slot) + u32::from(q) - u32::from(from.slot(q))) % u32::from(q);
    let a = u32::from(first.0.min(q));
    if k < a {
        first.1
    } else if k < a + u32::from(then.0) {
        then.1
    } else {
        Owner::Free
    }
}

/// Slots from `a` to `b` going forward (a full lap when equal slots differ in wrap).
pub(super) fn dist(a: PackedPos, b: PackedPos, q: u16) -> u32 {
    let q = u32::from(q);
    let d = (u32::from(b.slot) + q - u32::from(a.slot)) % q;
    if d == 0 && a.wrap != b.wrap { q } else { d }
}

pub(super) fn packed_owners(q: u16, driver: &PackedDriver, device: &PackedDevice) -> Vec<Owner> {
    let start = driver.next_used;
    // Regions going forward from the driver's next used slot: used and returned (driver),
    // popped or written and unpublished (device), available (device; unpublished: driver),
    // then free.
    let returned = dist(start, device.published, q);
    let in_device = returned + dist(device.published, device.next_avail, q);
    let avail_end = in_device + dist(device.next_avail, driver.next_avail, q);
    let offset =
        |slot: u16| (u32::from(slot) + u32::from(q) - u32::from(start.slot)) % u32::from(q);
    let unpublished_from = driver
        .pending
        .iter()
        .map(|&(slot, _)| offset(slot))
        .filter(|&k| k >= in_device)
        .min()
        .unwrap_or(avail_end);
    (0..q)
        .map(|s| {
            let k = offset(s);
            if k < returned {
                Owner::Driver
            } else if k < in_device {
                Owner::Device
            } else if k < avail_end {
                if k >= unpublished_from {
                    Owner::Driver
                } else {
                    Owner::Device
                }
            } else {
                Owner::Free
            }
        })
        .collect()
}

/// The driver's outstanding buffer IDs and where each buffer is: the device's in-flight list,
/// the used descriptors written between the driver's next used slot and the device's (each
/// skipping the slots of its list, as Linux's `detach_buf_packed` walks them), the heads not
/// yet published, or available.
pub(super) fn outstanding_ids(
    l: &PackedLayout,
    driver: &PackedDriver,
    device: &PackedDevice,
    b: &Bytes,
) -> Vec<IdRow> {
    let q = l.size;
    let mut used = Vec::new();
    let (mut k, total) = (0u32, dist(driver.next_used, device.next_used, q));
    while k < total {
        let slot = ((u32::from(driver.next_used.slot) + k) % u32::from(q)) as u16;
        let id = b.u16(l.desc + DESC_SIZE * u64::from(slot) + 12);
        used.push(id);
        let num = driver
            .ids
            .get(usize::from(id))
            .copied()
            .flatten()
            .map_or(1, |s| s.num.max(1));
        k += u32::from(num);
    }
    driver
        .order
        .iter()
        .filter_map(|&id| {
            let st = driver.ids.get(usize::from(id)).copied().flatten()?;
            let place = if device.inflight.iter().any(|c| c.id == id) {
                IdPlace::Device
            } else if used.contains(&id) {
                IdPlace::Used
            } else if driver.pending.iter().any(|p| p.0 == st.slot) {
                IdPlace::Unpublished
            } else {
                IdPlace::Available
            };
            Some(IdRow {
                id,
                slot: st.slot,
                place,
            })
        })
        .collect()
}

pub(super) fn mesi_owner(states: [Mesi; 2]) -> Owner {
    match states {
        [Mesi::Invalid, Mesi::Invalid] => Owner::Free,
        [Mesi::Invalid, _] => Owner::Device,
        [_, Mesi::Invalid] => Owner::Driver,
        _ => Owner::Shared,
    }
}
