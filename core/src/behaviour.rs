//! How each side behaves: the compatibility modes real implementations use where they differ
//! from the letter of the spec, and the misbehaviours a scenario can switch on to show a bug.
//!
//! The default is the strict spec (v1.2) on both sides. A mode is a legal reading that other
//! code disagrees with; a fault is a violation the other side should catch as a finding.

use serde::{Deserialize, Serialize};

/// Where a packed-ring driver writes the buffer ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IdPlacement {
    /// Only in the last descriptor of the list, as the spec's example does.
    #[default]
    Last,
    /// In every descriptor, as Linux's `virtqueue_add_packed` does.
    Every,
}

/// Where a packed-ring device reads the buffer ID of an available list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IdSource {
    /// The last descriptor, as the spec says (§2.8.6: "Buffer ID is included in the last
    /// descriptor in the list"), and as QEMU does since 9.1.
    #[default]
    Last,
    /// The head descriptor: QEMU from its first packed-ring support (4.2, 2019) up to 9.0.
    /// It was fixed in 2024 ("hw/virtio: Fix obtain the buffer id from the last
    /// descriptor", in 9.1). A compat mode for those versions, among them Debian 12's QEMU
    /// 7.2 that recorded the traces ringside ships. Linux's driver writes the ID in every
    /// descriptor, so it never noticed; a driver that follows the spec to the letter breaks.
    #[serde(alias = "Head")]
    QemuPre91,
}

/// How a packed-ring device sets WRITE in a used descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UsedWriteFlag {
    /// Set iff data was written (`len > 0`): the spec, and DPDK.
    #[default]
    Spec,
    /// Never set, as QEMU does.
    Never,
}

/// How a packed-ring driver reads `len` from a used descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UsedLenRead {
    /// `len` counts only when WRITE is set (the spec: len is reserved otherwise).
    #[default]
    RespectWrite,
    /// Read `len` whatever WRITE says, as Linux does.
    IgnoreWrite,
}

/// Violations a driver can be told to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DriverFault {
    /// Never send an available-buffer notification.
    SkipKick,
    /// Re-enable used-buffer notifications without re-checking the ring (the classic race).
    NoRecheck,
    /// Publish `avail.idx` this many entries too far.
    AvailIdxJump(u16),
    /// Put this out-of-range value in the available ring instead of the head.
    BadHead(u16),
    /// Link the last descriptor of each chain back to its head.
    LoopChain,
    /// Put device-writable descriptors before device-readable ones.
    WritableFirst,
    /// Set NEXT on an indirect descriptor.
    IndirectWithNext,
    /// Put an INDIRECT descriptor inside the indirect table.
    NestedIndirect,
    /// Give indirect tables a length that is not a multiple of 16.
    IndirectBadSize,
    /// Use a buffer ID (packed) that is still outstanding.
    ReuseId,
    /// Write a new buffer over descriptors the device still owns (reuse without reclaim).
    ReuseInflight,
}

/// Violations a device can be told to commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceFault {
    /// Never send a used-buffer notification.
    SkipInterrupt,
    /// Return this id instead of the real head/buffer ID.
    BadUsedId(u16),
    /// Complete the same buffer twice.
    DoubleComplete,
    /// Report one byte more than the writable part holds.
    LenTooLong,
    /// Write payload into the device-readable part.
    WriteReadable,
    /// Mark used descriptors with the wrong wrap counter (packed).
    WrongWrap,
    /// Negotiate EVENT_IDX but never write `avail_event` / the device event area.
    NoAvailEvent,
    /// Re-enable available-buffer notifications without re-checking the ring (the device-side
    /// twin of the driver's missed-interrupt race: a missed kick).
    NoRecheck,
    /// Expose each used buffer of a batch as soon as it is written (split: `used.idx` per
    /// entry; packed: head flags first), so a polling driver can see part of a multi-buffer
    /// request (kvmtool's mergeable-RX bug).
    EarlyPublish,
}

/// Driver-side modes and faults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DriverBehaviour {
    /// Packed buffer ID placement.
    pub id_placement: IdPlacement,
    /// Packed used len reading.
    pub used_len: UsedLenRead,
    /// Faults switched on.
    pub faults: Vec<DriverFault>,
}

/// Device-side modes and faults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceBehaviour {
    /// Packed buffer ID source.
    pub id_source: IdSource,
    /// Packed used WRITE flag.
    pub used_write: UsedWriteFlag,
    /// Whether the device writes payload bytes into writable buffers (off: only ring metadata
    /// moves, as in ringtest).
    pub touch_payload: bool,
    /// Faults switched on.
    pub faults: Vec<DeviceFault>,
}

impl DriverBehaviour {
    /// Whether a fault is on. Inline: the ring ops ask this several times per buffer, and with
    /// no faults on it is one length check.
    #[inline]
    pub fn has(&self, f: DriverFault) -> bool {
        !self.faults.is_empty() && self.faults.contains(&f)
    }
    /// The first fault matching a pattern, with its parameter.
    #[inline]
    pub fn find<T>(&self, f: impl Fn(&DriverFault) -> Option<T>) -> Option<T> {
        self.faults.iter().find_map(f)
    }
}

impl DeviceBehaviour {
    /// Whether a fault is on. Inline: the ring ops ask this several times per buffer, and with
    /// no faults on it is one length check.
    #[inline]
    pub fn has(&self, f: DeviceFault) -> bool {
        !self.faults.is_empty() && self.faults.contains(&f)
    }
    /// The first fault matching a pattern, with its parameter.
    #[inline]
    pub fn find<T>(&self, f: impl Fn(&DeviceFault) -> Option<T>) -> Option<T> {
        self.faults.iter().find_map(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_name_of_the_qemu_compat_device_still_loads() {
        let v: IdSource = ron::from_str("Head").unwrap();
        assert_eq!(v, IdSource::QemuPre91);
        assert_eq!(ron::to_string(&v).unwrap(), "QemuPre91");
    }
}
