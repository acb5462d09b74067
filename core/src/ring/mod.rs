//! The rings. What split and packed queues share, here: the buffers a driver offers, the chains a device pops,
//! the context both sides run in, and notifications.

pub mod packed;
pub mod split;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::behaviour::{DeviceBehaviour, DeviceFault, DriverBehaviour, DriverFault};
use crate::config::{BufferArea, EngineConfig};
use crate::features::Features;
use crate::finding::{Code, Findings};
use crate::memory::{AccessKind, Agent, Bus, Field, Halt};

/// A buffer the driver offers: device-readable segments first, then device-writable ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BufferSpec {
    /// Lengths of the device-readable segments (a request header, a packet to send).
    pub readable: Vec<u32>,
    /// Lengths of the device-writable segments (a status byte, a receive buffer).
    pub writable: Vec<u32>,
    /// Put the segments in an indirect table (needs INDIRECT_DESC).
    pub indirect: bool,
}

impl Default for BufferSpec {
    /// One 64-byte readable segment: the smallest useful request.
    fn default() -> Self {
        BufferSpec {
            readable: vec![64],
            writable: vec![],
            indirect: false,
        }
    }
}

impl BufferSpec {
    /// Number of segments.
    pub fn segments(&self) -> usize {
        self.readable.len() + self.writable.len()
    }
    /// Bytes the device may write.
    pub fn writable_bytes(&self) -> u32 {
        self.writable.iter().fold(0u32, |a, l| a.saturating_add(*l))
    }
    /// The segments in the order a driver chains them: readable first, or writable first for
    /// a driver with the `WritableFirst` fault.
    pub(crate) fn chain_order(&self, writable_first: bool) -> ChainOrder<'_> {
        let (r, w) = (&self.readable[..], &self.writable[..]);
        let (first, second) = if writable_first { (w, r) } else { (r, w) };
        ChainOrder {
            first,
            second,
            first_writable: writable_first,
        }
    }
}

/// A buffer's segments in chain order ([`BufferSpec::chain_order`]), looked up by position
/// rather than iterated: the add loops index it with their own counter, where a chained
/// iterator zipped with the descriptors did not optimise to a plain loop.
#[derive(Clone, Copy)]
pub(crate) struct ChainOrder<'a> {
    first: &'a [u32],
    second: &'a [u32],
    first_writable: bool,
}

impl ChainOrder<'_> {
    /// Segment `k`: `(len, device-writable)`.
    #[inline(always)]
    pub fn at(self, k: usize) -> (u32, bool) {
        match self.first.get(k) {
            Some(&len) => (len, self.first_writable),
            None => (self.second[k - self.first.len()], !self.first_writable),
        }
    }
}

/// `q.remove(i)`, with the usual case (buffers completed and reclaimed in the order they
/// went out, so `i` is 0) taken by `pop_front`, which skips `remove`'s general bookkeeping
/// on every buffer.
#[inline(always)]
pub(crate) fn take_at<T>(q: &mut VecDeque<T>, i: usize) -> Option<T> {
    if i == 0 { q.pop_front() } else { q.remove(i) }
}

/// Which outstanding buffers a device completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Pick {
    /// The oldest popped first (in order).
    #[default]
    Oldest,
    /// The most recently popped first (the talk's "9th used first").
    Newest,
    /// The n-th outstanding buffer, counting from the oldest.
    Nth(u16),
}

impl Pick {
    /// Index into a list of `len` outstanding chains, if there is one to take.
    pub fn index(self, len: usize) -> Option<usize> {
        match self {
            _ if len == 0 => None,
            Pick::Oldest => Some(0),
            Pick::Newest => Some(len - 1),
            Pick::Nth(n) => (usize::from(n) < len).then_some(usize::from(n)),
        }
    }
}

/// One segment of a popped chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// Guest address.
    pub addr: u64,
    /// Length.
    pub len: u32,
    /// Device-writable.
    pub write: bool,
}

/// A chain as the device saw it when it popped it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// Split: head descriptor index. Packed: buffer ID.
    pub id: u16,
    /// Packed: first ring slot of the list. Split: the head again.
    pub slot: u16,
    /// Ring slots (split: table entries) the chain occupies; 1 for an indirect chain.
    pub descs: u16,
    /// The segments, in chain order (inline for short chains).
    pub segments: SmallVec<[Segment; 4]>,
}

impl Chain {
    /// Bytes the device may write.
    pub fn writable_bytes(&self) -> u32 {
        self.segments
            .iter()
            .filter(|s| s.write)
            .fold(0u32, |a, s| a.saturating_add(s.len))
    }
}

/// A notification one side sent the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Micro step of the register write.
    pub step: u64,
    /// Who sent it (driver: available-buffer notification, device: used-buffer interrupt).
    pub from: Agent,
    /// The value written: the queue index, or with NOTIFICATION_DATA the full 32-bit datum.
    pub value: u32,
}

/// Outcome of a notification check: whether the sender had to notify and whether it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyDecision {
    /// The suppression state said a notification was needed.
    pub needed: bool,
    /// One was sent.
    pub sent: bool,
}

/// Everything a ring operation needs besides its own side's state.
pub(crate) struct Ctx<'a> {
    pub bus: &'a mut Bus,
    pub findings: &'a mut Findings,
    /// Negotiated features.
    pub features: Features,
    /// Both sides' behaviour, the buffer area and the queue index (one reference rather
    /// than four: the context is built for every op).
    pub config: &'a EngineConfig,
    /// Sent notifications.
    pub notifications: &'a mut Vec<Notification>,
}

impl Ctx<'_> {
    /// Driver modes and faults.
    pub fn driver(&self) -> &DriverBehaviour {
        &self.config.driver
    }
    /// Device modes and faults.
    pub fn device(&self) -> &DeviceBehaviour {
        &self.config.device
    }
    /// Where the driver places buffers and indirect tables.
    pub fn alloc(&self) -> &BufferArea {
        &self.config.queue.buffers
    }
    /// The value a kick writes: with NOTIFICATION_DATA the queue index and where the driver
    /// will add next (`next`: `avail.idx` for split, the next slot's `off_wrap` for packed),
    /// else the queue index alone.
    pub fn kick_value(&self, next: u16) -> u32 {
        let queue = self.config.queue.index;
        if self.has(Features::NOTIFICATION_DATA) {
            notification_data(queue, next)
        } else {
            u32::from(queue)
        }
    }
    pub fn has(&self, f: Features) -> bool {
        self.features.contains(f)
    }
    pub fn finding(&mut self, code: Code, agent: Agent, message: String) {
        let step = self.bus.steps();
        self.findings.push(code, step, Some(agent), message);
    }
    /// A finding no real peer could make: ringside's own view of both sides.
    pub fn ground_truth(&mut self, code: Code, agent: Agent, message: String) {
        let step = self.bus.steps();
        self.findings.ground_truth(code, step, Some(agent), message);
    }
}

pub(crate) fn send_kick(
    cx: &mut Ctx<'_>,
    needed: bool,
    value: u32,
) -> Result<NotifyDecision, Halt> {
    if !needed || cx.driver().has(DriverFault::SkipKick) {
        return Ok(NotifyDecision {
            needed,
            sent: false,
        });
    }
    let f = Field::QueueNotify;
    cx.bus
        .register(Agent::Driver, AccessKind::Store, f, value.into(), 0)?;
    let step = cx.bus.steps() - 1;
    cx.notifications.push(Notification {
        step,
        from: Agent::Driver,
        value,
    });
    Ok(NotifyDecision { needed, sent: true })
}

pub(crate) fn send_interrupt(cx: &mut Ctx<'_>, needed: bool) -> Result<NotifyDecision, Halt> {
    if !needed || cx.device().has(DeviceFault::SkipInterrupt) {
        return Ok(NotifyDecision {
            needed,
            sent: false,
        });
    }
    let f = Field::InterruptStatus;
    cx.bus.register(Agent::Device, AccessKind::Store, f, 1, 0)?;
    let step = cx.bus.steps() - 1;
    cx.notifications.push(Notification {
        step,
        from: Agent::Device,
        value: 1,
    });
    Ok(NotifyDecision { needed, sent: true })
}

/// Completions a device is about to write: `(id to report, used len, ring slots)` each.
pub(crate) type Batch = SmallVec<[(u16, u32, u16); 8]>;

/// The device finds the ring broken (QEMU's `virtio_error`): it reports why and stops using
/// the ring until a reset. A free function over the side's `broken` flag, so that the chain
/// readers can call it while they hold a chain inside the device.
pub(crate) fn broke(broken: &mut bool, cx: &mut Ctx<'_>, code: Code, msg: String) {
    cx.finding(code, Agent::Device, msg);
    *broken = true;
}

/// Takes up to `count` popped chains for completion, in the order `pick` says (always oldest
/// first under IN_ORDER: buffers are used in the order they were made available), writes
/// their payload, and appends `(id to report, used len, ring slots)` for each to `batch` (an
/// out-parameter rather than a return value, which was moved on every op). The real chain
/// ids go to `done`, for the ledger, even when a fault makes the device report another id.
#[inline(always)]
pub(crate) fn take_batch(
    cx: &mut Ctx<'_>,
    inflight: &mut VecDeque<Chain>,
    count: u16,
    pick: Pick,
    written: Option<u32>,
    done: &mut Vec<u16>,
    batch: &mut Batch,
) -> Result<(), Halt> {
    let pick = if cx.has(Features::IN_ORDER) {
        Pick::Oldest
    } else {
        pick
    };
    for _ in 0..count {
        let Some(i) = pick.index(inflight.len()) else {
            break;
        };
        // Completed through a reference and only then taken out of `inflight` (the payload
        // writes do not look at it, so the state is as if taken first, halted or not): no
        // copy of the chain per buffer.
        let chain = &inflight[i];
        done.push(chain.id);
        let len = device_writes(cx, chain, written);
        let id = cx
            .device()
            .find(|f| match f {
                DeviceFault::BadUsedId(v) => Some(*v),
                _ => None,
            })
            .unwrap_or(chain.id);
        let descs = chain.descs;
        // DoubleComplete leaves the chain in place to complete it again.
        if !cx.device().has(DeviceFault::DoubleComplete) {
            take_at(inflight, i);
        }
        batch.push((id, len?, descs));
    }
    Ok(())
}

/// Writes the payload a device produces for `chain` and returns the used length to report.
pub(crate) fn device_writes(
    cx: &mut Ctx<'_>,
    chain: &Chain,
    written: Option<u32>,
) -> Result<u32, Halt> {
    let cap = chain.writable_bytes();
    let mut len = written.unwrap_or(cap).min(cap);
    if cx.device().has(DeviceFault::LenTooLong) {
        len = cap.saturating_add(1);
    }
    if cx.device().has(DeviceFault::WriteReadable)
        && let Some(s) = chain.segments.iter().find(|s| !s.write)
    {
        dma_write(cx, chain.id, s, s.len, 0xee)?;
    }
    if cx.device().touch_payload {
        let mut left = len;
        for s in chain.segments.iter().filter(|s| s.write) {
            if left == 0 {
                break;
            }
            let n = left.min(s.len);
            dma_write(cx, chain.id, s, n, 0xd0)?;
            left -= n;
        }
    }
    Ok(len)
}

/// One payload write by the device into segment `s` of chain `id`. A write into a
/// device-readable segment breaks §2.7.5.1 ("MUST NOT write to a device-readable buffer"); no
/// driver re-reads what it offered to find out (an IOMMU mapping the buffer read-only for
/// the device would fault), so ringside reports it as its own ground truth.
fn dma_write(cx: &mut Ctx<'_>, id: u16, s: &Segment, n: u32, byte: u8) -> Result<(), Halt> {
    cx.bus.store_payload(Agent::Device, id, s.addr, n, byte)?;
    if !s.write {
        let msg = format!(
            "device wrote {n} bytes into device-readable buffer {:#x} of chain {id}",
            s.addr
        );
        cx.ground_truth(Code::DeviceWroteReadable, Agent::Device, msg);
    }
    Ok(())
}

/// The 32-bit value a driver writes with NOTIFICATION_DATA: queue index in bits 0..16, then
/// the next offset (15 bits) and wrap bit. For a split ring the upper half is the whole
/// 16-bit `avail.idx` (spec §2.9 note), for packed it is `off_wrap` of the next free slot.
pub fn notification_data(queue: u16, next_off_wrap: u16) -> u32 {
    u32::from(queue) | u32::from(next_off_wrap) << 16
}
