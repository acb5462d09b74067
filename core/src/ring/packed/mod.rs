//! The packed virtqueue (virtio 1.2 §2.8): one descriptor ring both sides write, AVAIL and USED
//! flag bits read against each side's wrap counter, and two event suppression areas.
//!
//! The driver fills slots in ring order and flips its wrap counter at the end of the ring; the
//! device marks lists used in completion order, possibly out of order, writing one used
//! descriptor per list at its own position. Each side polls exactly one slot: the next one.
//!
//! The flag rules both sides read are here; [`driver`] and [`device`] hold each side.

pub mod device;
pub mod driver;

pub use device::{PackedDevice, PendingUsed};
pub use driver::{IdState, PackedDriver};

use crate::features::Features;
use crate::layout::{
    PackedPos, RING_EVENT_FLAGS_DESC, RING_EVENT_FLAGS_DISABLE, VIRTQ_DESC_F_AVAIL,
    VIRTQ_DESC_F_USED, WrapCounter, packed_need_event,
};
use crate::memory::{Agent, Field, Halt, Ordering};
use crate::ring::Ctx;

/// Flags that make a descriptor available in the lap of wrap counter `w`: AVAIL = w, USED = !w.
#[inline]
pub fn avail_flags(w: WrapCounter) -> u16 {
    if w.0 {
        VIRTQ_DESC_F_AVAIL
    } else {
        VIRTQ_DESC_F_USED
    }
}

/// Flags that mark a descriptor used in the lap of wrap counter `w`: AVAIL = USED = w.
#[inline]
pub fn used_flags(w: WrapCounter) -> u16 {
    if w.0 {
        VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED
    } else {
        0
    }
}

/// The (AVAIL, USED) bits of a flags word as the two-character code the UIs show: `10` is
/// available in lap 1, `01` available in lap 0, `11` used in lap 1, `00` used in lap 0 (and
/// the zeroed initial state).
pub fn bits_code(flags: u16) -> &'static str {
    match (
        flags & VIRTQ_DESC_F_AVAIL != 0,
        flags & VIRTQ_DESC_F_USED != 0,
    ) {
        (true, false) => "10",
        (false, true) => "01",
        (true, true) => "11",
        (false, false) => "00",
    }
}

/// The AVAIL and USED bits.
const AVAIL_USED: u16 = VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED;

/// Device's availability test: AVAIL == its avail wrap counter and USED != it, which is
/// exactly the two bits [`avail_flags`] sets (one compare: the real rings poll with it).
#[inline]
pub fn is_avail(flags: u16, w: WrapCounter) -> bool {
    flags & AVAIL_USED == avail_flags(w)
}

/// Driver's used test: AVAIL == USED == its used wrap counter (both bits; spec issue #29),
/// which is exactly the two bits [`used_flags`] sets.
#[inline]
pub fn is_used(flags: u16, w: WrapCounter) -> bool {
    flags & AVAIL_USED == used_flags(w)
}

/// The notification check both sides make against the other's event suppression area at
/// `area` (Linux's `virtqueue_kick_prepare_packed`, QEMU's `vring_packed_need_event`): read
/// the flags after a full fence; with DESC and EVENT_IDX, read `off_wrap` and test whether the
/// armed slot lies in the `count` slots just before `new`, counting an armed slot from the
/// other lap `Q` earlier. `unsignalled`: the device's notification with nothing signalled
/// since the start or the last wrap (QEMU's `!signalled_used_valid`), sent whatever the window.
pub(super) fn event_check(
    cx: &mut Ctx<'_>,
    agent: Agent,
    area: u64,
    [flags_field, off_wrap_field]: [Field; 2],
    (new, count): (PackedPos, u16),
    size: u16,
    unsignalled: bool,
) -> Result<bool, Halt> {
    let flags = cx
        .bus
        .load(agent, flags_field, area + 2, 2, Ordering::Fence)? as u16;
    if flags != RING_EVENT_FLAGS_DESC || !cx.has(Features::EVENT_IDX) {
        return Ok(flags != RING_EVENT_FLAGS_DISABLE);
    }
    let ow = cx
        .bus
        .load(agent, off_wrap_field, area, 2, Ordering::Plain)? as u16;
    Ok(unsignalled || packed_need_event(ow, new, count, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_bits_follow_the_wrap_counter_table() {
        let w1 = WrapCounter(true);
        let w0 = WrapCounter(false);
        assert_eq!(bits_code(avail_flags(w1)), "10");
        assert_eq!(bits_code(avail_flags(w0)), "01");
        assert_eq!(bits_code(used_flags(w1)), "11");
        assert_eq!(bits_code(used_flags(w0)), "00");
        assert!(is_avail(avail_flags(w1), w1));
        assert!(!is_avail(avail_flags(w1), w0));
        assert!(is_used(used_flags(w1), w1));
        // Spec issue #29: an available descriptor of lap 0 must not look used to a driver in
        // lap 0 just because USED matches.
        assert!(!is_used(avail_flags(w0), w0));
        // The zeroed ring looks "used in lap 0": harmless, since the driver starts in lap 1.
        assert!(is_used(0, w0));
        assert!(!is_used(0, w1));
        assert!(!is_avail(0, w1));
    }

    #[test]
    fn the_one_compare_tests_are_the_spec_rules_for_every_flags_word() {
        for flags in 0..=u16::MAX {
            let (a, u) = (
                flags & VIRTQ_DESC_F_AVAIL != 0,
                flags & VIRTQ_DESC_F_USED != 0,
            );
            for w in [WrapCounter(false), WrapCounter(true)] {
                assert_eq!(is_avail(flags, w), a == w.0 && u != w.0, "{flags:#x} {w}");
                assert_eq!(is_used(flags, w), a == w.0 && u == w.0, "{flags:#x} {w}");
            }
        }
    }
}
