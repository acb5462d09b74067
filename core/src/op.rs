//! Operations as data. A scenario, a trace replay or a UI command is a list of [`Op`]s; each
//! op is one call a real driver or device makes (Linux's `virtqueue_add`, QEMU's
//! `virtqueue_pop`, ...) and expands into micro steps, one memory or register access each.

use serde::{Deserialize, Serialize};

use crate::behaviour::{DeviceFault, DriverFault};
use crate::features::Features;
use crate::memory::Agent;
use crate::ring::{BufferSpec, Pick};

fn one() -> u16 {
    1
}

/// One operation of the driver, the device, or the transport between them.
// An explicit tag: `Engine::apply` reads it with one byte load, where the niche encoding
// (in `Add`'s buffer vectors) cost a 64-bit decode before every dispatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum Op {
    /// The whole initialisation walk (§3.1.1): reset, ACKNOWLEDGE, DRIVER, read the device
    /// features, write the accepted subset, FEATURES_OK and read it back, queue setup,
    /// DRIVER_OK.
    Negotiate,
    /// The driver writes a raw status value (for showing illegal walks).
    SetStatus(u8),
    /// The driver writes its feature bits (for showing late writes).
    WriteFeatures(Features),
    /// The driver resets the device (status 0). Queue state returns to zero.
    Reset,
    /// The device sets DEVICE_NEEDS_RESET.
    NeedsReset,
    /// The driver adds buffers (descriptors and, split, the available entry), unpublished.
    Add {
        /// The buffer.
        #[serde(default)]
        buffer: BufferSpec,
        /// How many such buffers.
        #[serde(default = "one")]
        count: u16,
    },
    /// The driver publishes what it added (split: `avail.idx`; packed: head flags).
    Publish,
    /// The driver decides whether to notify the device, and does.
    Kick,
    /// The driver asks not to be interrupted.
    DisableInterrupts,
    /// The driver asks to be interrupted again, and re-checks the used ring.
    EnableInterrupts,
    /// The driver reclaims used buffers.
    Reclaim {
        /// At most this many (all when absent).
        #[serde(default)]
        max: Option<u16>,
    },
    /// The device pops available buffers.
    Pop {
        /// At most this many (all when absent).
        #[serde(default)]
        max: Option<u16>,
    },
    /// The device completes outstanding buffers (writes used entries, unpublished).
    Complete {
        /// How many.
        #[serde(default = "one")]
        count: u16,
        /// Which ones.
        #[serde(default)]
        pick: Pick,
        /// Bytes written into each (all writable bytes when absent).
        #[serde(default)]
        written: Option<u32>,
    },
    /// The device publishes completed entries (split: `used.idx`; packed: used flags).
    PublishUsed,
    /// The device decides whether to interrupt the driver, and does.
    Interrupt,
    /// The device asks not to be notified.
    DisableNotifications,
    /// The device asks to be notified again, and re-checks the available ring.
    EnableNotifications,
    /// Switch a driver fault on or off from here on.
    DriverFault {
        /// The fault.
        fault: DriverFault,
        /// On or off.
        on: bool,
    },
    /// Switch a device fault on or off from here on.
    DeviceFault {
        /// The fault.
        fault: DeviceFault,
        /// On or off.
        on: bool,
    },
    /// The ops, this many times (expanded when a session is built).
    Repeat {
        /// Times.
        times: u32,
        /// Ops.
        ops: Vec<Op>,
    },
}

/// Coarse classes of operation, for breakpoints ("stop at the next Pop") and colouring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OpKind {
    /// Status, features, reset.
    Transport,
    /// Driver adds and publishes.
    Produce,
    /// Device pops.
    Consume,
    /// Device completes and publishes used entries.
    Complete,
    /// Driver reclaims.
    Reclaim,
    /// Kicks and interrupts, and their suppression.
    Notify,
    /// Fault switches.
    Fault,
}

impl Op {
    /// Which side performs it.
    pub fn agent(&self) -> Agent {
        match self {
            Op::NeedsReset
            | Op::Pop { .. }
            | Op::Complete { .. }
            | Op::PublishUsed
            | Op::Interrupt
            | Op::DisableNotifications
            | Op::EnableNotifications
            | Op::DeviceFault { .. } => Agent::Device,
            _ => Agent::Driver,
        }
    }

    /// Its class.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Negotiate
            | Op::SetStatus(_)
            | Op::WriteFeatures(_)
            | Op::Reset
            | Op::NeedsReset => OpKind::Transport,
            Op::Add { .. } | Op::Publish => OpKind::Produce,
            Op::Pop { .. } => OpKind::Consume,
            Op::Complete { .. } | Op::PublishUsed => OpKind::Complete,
            Op::Reclaim { .. } => OpKind::Reclaim,
            Op::Kick
            | Op::Interrupt
            | Op::DisableInterrupts
            | Op::EnableInterrupts
            | Op::DisableNotifications
            | Op::EnableNotifications => OpKind::Notify,
            Op::DriverFault { .. } | Op::DeviceFault { .. } | Op::Repeat { .. } => OpKind::Fault,
        }
    }

    /// Whether it acts on the transport or a fault switch rather than on the ring: these ops
    /// change what the ring ops around them may assume (status, features, behaviour).
    #[inline]
    pub fn is_control(&self) -> bool {
        matches!(self.kind(), OpKind::Transport | OpKind::Fault)
    }

    /// A short name, like the function a real implementation would call.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Negotiate => "negotiate",
            Op::SetStatus(_) => "set_status",
            Op::WriteFeatures(_) => "write_features",
            Op::Reset => "reset",
            Op::NeedsReset => "needs_reset",
            Op::Add { .. } => "add",
            Op::Publish => "publish",
            Op::Kick => "kick",
            Op::DisableInterrupts => "disable_cb",
            Op::EnableInterrupts => "enable_cb",
            Op::Reclaim { .. } => "get_buf",
            Op::Pop { .. } => "pop",
            Op::Complete { .. } => "fill",
            Op::PublishUsed => "flush",
            Op::Interrupt => "notify",
            Op::DisableNotifications => "disable_notify",
            Op::EnableNotifications => "enable_notify",
            Op::DriverFault { .. } => "driver_fault",
            Op::DeviceFault { .. } => "device_fault",
            Op::Repeat { .. } => "repeat",
        }
    }

    /// Flattens `Repeat`s into a plain list.
    pub fn flatten(ops: &[Op]) -> Vec<Op> {
        let mut out = Vec::new();
        for op in ops {
            match op {
                Op::Repeat { times, ops } => {
                    let inner = Op::flatten(ops);
                    for _ in 0..*times {
                        out.extend(inner.iter().cloned());
                    }
                }
                _ => out.push(op.clone()),
            }
        }
        out
    }
}
