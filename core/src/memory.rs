//! Guest memory and the access log.
//!
//! Both agents talk to each other only through memory (and the transport's registers), so the
//! whole story of a virtqueue is the ordered list of loads and stores each side makes. This
//! module holds that memory and writes that list: every access carries the agent that made it,
//! the named field it hit, its value, and the ordering the code asked for. UIs and the cache
//! model read the list; the engine never needs it to run, so recording can be switched off.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Size of one page of the sparse backing store. Only an implementation detail: guest memory is
/// byte addressable and unwritten bytes read as zero.
const PAGE_SHIFT: u32 = 12;
const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
const PAGE_MASK: u64 = PAGE_SIZE as u64 - 1;
/// Entries in the tiny direct-mapped page cache that keeps the hot ring pages one compare away.
const TLB_ENTRIES: usize = 8;

/// Which side of the virtqueue made an access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Agent {
    /// The guest's virtio driver.
    Driver,
    /// The device (QEMU, vhost, hardware).
    Device,
}

impl Agent {
    /// The other side.
    pub fn other(self) -> Agent {
        match self {
            Agent::Driver => Agent::Device,
            Agent::Device => Agent::Driver,
        }
    }

    /// Lower-case name used in messages and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Agent::Driver => "driver",
            Agent::Device => "device",
        }
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AccessKind {
    /// A read.
    Load,
    /// A write.
    Store,
}

/// The memory ordering the code attached to an access, as the Linux and QEMU sources do with
/// `virt_load_acquire`, `virt_store_release` and `virtio_mb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Ordering {
    /// No barrier.
    Plain,
    /// Load-acquire: later accesses cannot move before it.
    Acquire,
    /// Store-release: earlier accesses cannot move after it.
    Release,
    /// Preceded by a full fence (`smp_mb`): nothing moves across it.
    Fence,
}

/// Which address space an access went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Space {
    /// Guest RAM: rings and buffers.
    Guest,
    /// Transport registers (status, features, notify, interrupt status). Not cached memory.
    Transport,
}

/// The part of a 16-byte descriptor an access touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DescPart {
    /// `addr` (le64).
    Addr,
    /// `len` (le32).
    Len,
    /// `flags` (le16).
    Flags,
    /// Split `next` (le16).
    Next,
    /// Packed buffer `id` (le16).
    Id,
}

impl DescPart {
    fn name(self) -> &'static str {
        match self {
            DescPart::Addr => "addr",
            DescPart::Len => "len",
            DescPart::Flags => "flags",
            DescPart::Next => "next",
            DescPart::Id => "id",
        }
    }
}

/// The named field an access hit. Display gives the names used throughout ringside, the way the
/// spec's structs spell them: `desc[3].flags`, `avail.ring[5]`, `used.ring[2].len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Field {
    /// A descriptor of the split descriptor table or the packed descriptor ring.
    Desc {
        /// Slot in the table or ring.
        index: u16,
        /// Which member.
        part: DescPart,
    },
    /// An entry of an indirect table referenced from descriptor `parent`.
    Indirect {
        /// The descriptor (in the main table/ring) that points at the table.
        parent: u16,
        /// Entry within the indirect table.
        index: u16,
        /// Which member.
        part: DescPart,
    },
    /// `avail.flags`.
    AvailFlags,
    /// `avail.idx`.
    AvailIdx,
    /// `avail.ring[n]`.
    AvailRing(u16),
    /// `used_event` (at `avail.ring[Q]`).
    UsedEvent,
    /// `used.flags`.
    UsedFlags,
    /// `used.idx`.
    UsedIdx,
    /// `used.ring[n].id`.
    UsedId(u16),
    /// `used.ring[n].len`.
    UsedLen(u16),
    /// `avail_event` (at `used.ring[Q]`).
    AvailEvent,
    /// Packed driver event suppression `off_wrap`.
    DriverEventOffWrap,
    /// Packed driver event suppression `flags`.
    DriverEventFlags,
    /// Packed device event suppression `off_wrap`.
    DeviceEventOffWrap,
    /// Packed device event suppression `flags`.
    DeviceEventFlags,
    /// Payload bytes of the buffer whose head descriptor (split) or buffer ID (packed) is `id`.
    Payload {
        /// Head index or buffer ID.
        id: u16,
    },
    /// The device status register.
    Status,
    /// A 32-bit window of the device feature bits (`device_feature_select` = `select`).
    DeviceFeatures {
        /// Which 32-bit word.
        select: u8,
    },
    /// A 32-bit window of the driver feature bits.
    DriverFeatures {
        /// Which 32-bit word.
        select: u8,
    },
    /// The queue's address and size registers, written during queue setup.
    QueueConfig,
    /// The queue notify register: a driver write here is an available-buffer notification.
    QueueNotify,
    /// Interrupt status: a device write here is a used-buffer notification.
    InterruptStatus,
    /// Memory no ring structure covers.
    Other,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Field::Desc { index, part } => write!(f, "desc[{index}].{}", part.name()),
            Field::Indirect {
                parent,
                index,
                part,
            } => write!(f, "desc[{parent}].table[{index}].{}", part.name()),
            Field::AvailFlags => f.write_str("avail.flags"),
            Field::AvailIdx => f.write_str("avail.idx"),
            Field::AvailRing(n) => write!(f, "avail.ring[{n}]"),
            Field::UsedEvent => f.write_str("used_event"),
            Field::UsedFlags => f.write_str("used.flags"),
            Field::UsedIdx => f.write_str("used.idx"),
            Field::UsedId(n) => write!(f, "used.ring[{n}].id"),
            Field::UsedLen(n) => write!(f, "used.ring[{n}].len"),
            Field::AvailEvent => f.write_str("avail_event"),
            Field::DriverEventOffWrap => f.write_str("driver_event.off_wrap"),
            Field::DriverEventFlags => f.write_str("driver_event.flags"),
            Field::DeviceEventOffWrap => f.write_str("device_event.off_wrap"),
            Field::DeviceEventFlags => f.write_str("device_event.flags"),
            Field::Payload { id } => write!(f, "buffer[{id}].data"),
            Field::Status => f.write_str("status"),
            Field::DeviceFeatures { select } => write!(f, "device_feature[{select}]"),
            Field::DriverFeatures { select } => write!(f, "driver_feature[{select}]"),
            Field::QueueConfig => f.write_str("queue_config"),
            Field::QueueNotify => f.write_str("queue_notify"),
            Field::InterruptStatus => f.write_str("isr"),
            Field::Other => f.write_str("memory"),
        }
    }
}

/// One recorded load or store: one micro step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Micro step number (0-based, counted over the whole session).
    pub step: u64,
    /// Who made it.
    pub agent: Agent,
    /// Load or store.
    pub kind: AccessKind,
    /// Guest memory or transport register.
    pub space: Space,
    /// Guest physical address (for transport accesses, the register's field says which).
    pub addr: u64,
    /// Width in bytes (payload accesses cover a whole buffer).
    pub size: u32,
    /// Value loaded or stored (for payloads, the fill byte).
    pub value: u64,
    /// For stores, the value the location held before (lets a UI show what changed).
    pub old: u64,
    /// The named field.
    pub field: Field,
    /// Ordering attached to the access.
    pub order: Ordering,
}

/// The micro-step budget ran out: the operation in progress stops right here, leaving every
/// access before this one done and none after. This is how a UI steps into the middle of an
/// operation: the session re-runs the operation with a budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Halt;

/// Sparse, little-endian, byte-addressable guest memory. Unwritten bytes read as zero, as the
/// spec's zero-initialised rings assume.
#[derive(Clone)]
pub struct GuestMemory {
    pages: Vec<Box<[u8; PAGE_SIZE]>>,
    index: HashMap<u64, u32>,
    tlb: [(u64, u32); TLB_ENTRIES],
    /// The pinned block (see [`pin`](Self::pin)): its bytes live here, not in `pages`.
    flat: Vec<u8>,
    /// Guest address of `flat[0]`.
    flat_base: u64,
}

/// Where a run of bytes lives.
enum Place {
    /// In the pinned block, from this offset.
    Flat(usize),
    /// In this page, from this offset.
    Page(u64, usize),
}

impl fmt::Debug for GuestMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuestMemory")
            .field("pages", &self.pages.len())
            .finish()
    }
}

impl PartialEq for GuestMemory {
    /// Two memories are equal when every byte reads the same (pages of zeros count as absent,
    /// and where a byte is held, page or pinned block, does not matter).
    fn eq(&self, other: &Self) -> bool {
        self.touched()
            .chain(other.touched())
            .all(|p| self.page_bytes(p) == other.page_bytes(p))
    }
}

impl Default for GuestMemory {
    /// [`GuestMemory::new`]: a derived default would fill the lookaside buffer with entries
    /// for page 0 that point at no page.
    fn default() -> Self {
        Self::new()
    }
}

impl GuestMemory {
    /// Empty memory: every byte reads zero.
    pub fn new() -> Self {
        GuestMemory {
            pages: Vec::new(),
            index: HashMap::new(),
            tlb: [(u64::MAX, 0); TLB_ENTRIES],
            flat: Vec::new(),
            flat_base: 0,
        }
    }

    /// Holds the `len` bytes at `start` in one flat block from now on: the ring areas, so that
    /// every ring access costs one compare instead of a page lookup. What memory reads is
    /// unchanged; a block pinned before goes back to pages.
    pub fn pin(&mut self, start: u64, len: u64) {
        if start == self.flat_base && len == self.flat.len() as u64 {
            return;
        }
        let old = std::mem::take(&mut self.flat);
        self.write(self.flat_base, &old);
        let mut block = vec![0; len as usize];
        self.read(start, &mut block);
        self.flat = block;
        self.flat_base = start;
    }

    /// Page numbers that may hold a non-zero byte: allocated pages and the pinned block's.
    fn touched(&self) -> impl Iterator<Item = u64> + '_ {
        let last = self.flat.len().checked_sub(1);
        let flat = last
            .into_iter()
            .flat_map(|n| self.flat_base >> PAGE_SHIFT..=(self.flat_base + n as u64) >> PAGE_SHIFT);
        self.index.keys().copied().chain(flat)
    }

    /// The bytes of page `page_no` as memory reads them, without touching the TLB.
    fn page_bytes(&self, page_no: u64) -> [u8; PAGE_SIZE] {
        let mut out = self
            .index
            .get(&page_no)
            .map_or([0; PAGE_SIZE], |&i| *self.pages[i as usize]);
        let start = page_no << PAGE_SHIFT;
        let flat_end = self.flat_base + self.flat.len() as u64;
        let lo = start.max(self.flat_base);
        let hi = (start + PAGE_SIZE as u64).min(flat_end);
        if lo < hi {
            let (o, f) = ((lo - start) as usize, (lo - self.flat_base) as usize);
            let n = (hi - lo) as usize;
            out[o..o + n].copy_from_slice(&self.flat[f..f + n]);
        }
        out
    }

    /// Where the byte at `a` lives, and how many of the next `max` bytes live there too.
    fn place(&self, a: u64, max: usize) -> (Place, usize) {
        let off = a.wrapping_sub(self.flat_base);
        if off < self.flat.len() as u64 {
            let off = off as usize;
            return (Place::Flat(off), (self.flat.len() - off).min(max));
        }
        let off = (a & PAGE_MASK) as usize;
        let mut n = (PAGE_SIZE - off).min(max);
        let to_flat = self.flat_base.wrapping_sub(a);
        if !self.flat.is_empty() && to_flat < n as u64 {
            n = to_flat as usize;
        }
        (Place::Page(a >> PAGE_SHIFT, off), n)
    }

    fn lookup(&mut self, page_no: u64) -> Option<u32> {
        let slot = (page_no as usize) % TLB_ENTRIES;
        if self.tlb[slot].0 == page_no {
            return Some(self.tlb[slot].1);
        }
        let i = *self.index.get(&page_no)?;
        self.tlb[slot] = (page_no, i);
        Some(i)
    }

    fn page_mut(&mut self, page_no: u64) -> &mut [u8; PAGE_SIZE] {
        let i = match self.lookup(page_no) {
            Some(i) => i,
            None => {
                let i = self.pages.len() as u32;
                self.pages.push(Box::new([0; PAGE_SIZE]));
                self.index.insert(page_no, i);
                self.tlb[(page_no as usize) % TLB_ENTRIES] = (page_no, i);
                i
            }
        };
        &mut self.pages[i as usize]
    }

    /// Copies `buf.len()` bytes starting at `addr` into `buf`.
    pub fn read(&mut self, addr: u64, buf: &mut [u8]) {
        let mut done = 0;
        while done < buf.len() {
            let (place, n) = self.place(addr.wrapping_add(done as u64), buf.len() - done);
            let out = &mut buf[done..done + n];
            match place {
                Place::Flat(off) => out.copy_from_slice(&self.flat[off..off + n]),
                Place::Page(p, off) => match self.lookup(p) {
                    Some(i) => out.copy_from_slice(&self.pages[i as usize][off..off + n]),
                    None => out.fill(0),
                },
            }
            done += n;
        }
    }

    /// The bytes at `place`, `n` of them, for writing (allocating the page if need be).
    fn bytes_mut(&mut self, place: Place, n: usize) -> &mut [u8] {
        match place {
            Place::Flat(off) => &mut self.flat[off..off + n],
            Place::Page(p, off) => &mut self.page_mut(p)[off..off + n],
        }
    }

    /// Copies `data` into memory starting at `addr`.
    pub fn write(&mut self, addr: u64, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let (place, n) = self.place(addr.wrapping_add(done as u64), data.len() - done);
            self.bytes_mut(place, n)
                .copy_from_slice(&data[done..done + n]);
            done += n;
        }
    }

    /// Sets `len` bytes at `addr` to `byte`.
    pub fn fill(&mut self, addr: u64, len: u64, byte: u8) {
        let mut done = 0u64;
        while done < len {
            let left = usize::try_from(len - done).unwrap_or(usize::MAX);
            let (place, n) = self.place(addr.wrapping_add(done), left);
            self.bytes_mut(place, n).fill(byte);
            done += n as u64;
        }
    }

    /// The page holding `addr` if it is in the TLB and the access stays inside it: the fast
    /// path for accesses outside the pinned block once their page is warm.
    #[inline(always)]
    fn tlb_hit(&self, addr: u64, size: u32) -> Option<(usize, usize)> {
        let page_no = addr >> PAGE_SHIFT;
        let off = (addr & PAGE_MASK) as usize;
        let (p, i) = self.tlb[(page_no as usize) % TLB_ENTRIES];
        // An access that reaches into the pinned block takes the slow way: the page does not
        // hold those bytes.
        let clear_of_block = addr.wrapping_sub(self.flat_base) >= self.flat.len() as u64
            && self.flat_base.wrapping_sub(addr) >= u64::from(size);
        (p == page_no && off + size as usize <= PAGE_SIZE && clear_of_block)
            .then_some((i as usize, off))
    }

    /// Reads a little-endian integer of `size` bytes (1, 2, 4 or 8).
    #[inline(always)]
    pub fn read_le(&mut self, addr: u64, size: u32) -> u64 {
        let off = addr.wrapping_sub(self.flat_base);
        if off < self.flat.len() as u64
            && let Some(v) = le_at(&self.flat, off as usize, size)
        {
            return v;
        }
        if let Some((i, off)) = self.tlb_hit(addr, size)
            && let Some(v) = le_at(&self.pages[i][..], off, size)
        {
            return v;
        }
        let n = (size as usize).min(8);
        let mut b = [0u8; 8];
        self.read(addr, &mut b[..n]);
        u64::from_le_bytes(b)
    }

    /// Writes the low `size` bytes of `value`, little-endian.
    #[inline(always)]
    pub fn write_le(&mut self, addr: u64, size: u32, value: u64) {
        let n = (size as usize).min(8);
        let b = value.to_le_bytes();
        let off = addr.wrapping_sub(self.flat_base);
        if off < self.flat.len() as u64
            && let Some(dst) = self.flat.get_mut(off as usize..off as usize + n)
        {
            dst.copy_from_slice(&b[..n]);
            return;
        }
        if let Some((i, off)) = self.tlb_hit(addr, size) {
            self.pages[i][off..off + n].copy_from_slice(&b[..n]);
            return;
        }
        self.write(addr, &b[..n]);
    }
}

/// A little-endian integer of `size` bytes at `off`, for the sizes rings use.
#[inline(always)]
fn le_at(p: &[u8], off: usize, size: u32) -> Option<u64> {
    Some(match size {
        1 => u64::from(*p.get(off)?),
        2 => u64::from(u16::from_le_bytes(p.get(off..off + 2)?.try_into().ok()?)),
        4 => u64::from(u32::from_le_bytes(p.get(off..off + 4)?.try_into().ok()?)),
        8 => u64::from_le_bytes(p.get(off..off + 8)?.try_into().ok()?),
        _ => return None,
    })
}

/// Memory as the engine sees it: guest memory plus the recorder and the micro-step budget.
#[derive(Clone, Debug)]
pub struct Bus {
    /// The bytes.
    pub mem: GuestMemory,
    log: Vec<Access>,
    recording: bool,
    steps: u64,
    budget: u64,
    /// Guest accesses take the checked path (budget, recording) once `steps` reaches this:
    /// 0 while recording, else the budget. One compare on the unchecked path.
    checked_from: u64,
}

impl PartialEq for Bus {
    /// Same bytes and same step count; the log is history, not state.
    fn eq(&self, other: &Self) -> bool {
        self.steps == other.steps && self.mem == other.mem
    }
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

impl Bus {
    /// A bus over empty memory, recording on, no budget.
    pub fn new() -> Self {
        Bus {
            mem: GuestMemory::new(),
            log: Vec::new(),
            recording: true,
            steps: 0,
            budget: u64::MAX,
            checked_from: 0,
        }
    }

    fn update_checked_from(&mut self) {
        self.checked_from = if self.recording { 0 } else { self.budget };
    }

    /// Switches recording on or off. Off, accesses are still counted as steps.
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
        self.update_checked_from();
    }

    /// Whether accesses are being recorded.
    pub fn recording(&self) -> bool {
        self.recording
    }

    /// Micro steps performed so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Stop (with [`Halt`]) once `steps()` reaches `at`. `u64::MAX` removes the budget.
    pub fn set_budget(&mut self, at: u64) {
        self.budget = at;
        self.update_checked_from();
    }

    /// The recorded accesses.
    pub fn log(&self) -> &[Access] {
        &self.log
    }

    /// Takes the recorded accesses out, leaving the log empty.
    pub fn take_log(&mut self) -> Vec<Access> {
        std::mem::take(&mut self.log)
    }

    #[inline(always)]
    fn begin(&mut self) -> Result<u64, Halt> {
        if self.steps >= self.budget {
            return Err(Halt);
        }
        let s = self.steps;
        self.steps += 1;
        Ok(s)
    }

    /// Appends one access to the log.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn record(
        &mut self,
        step: u64,
        agent: Agent,
        kind: AccessKind,
        space: Space,
        field: Field,
        addr: u64,
        size: u32,
        value: u64,
        old: u64,
        order: Ordering,
    ) {
        self.log.push(Access {
            step,
            agent,
            kind,
            space,
            addr,
            size,
            value,
            old,
            field,
            order,
        });
    }

    /// A load of `size` bytes from guest memory.
    #[inline(always)]
    pub fn load(
        &mut self,
        agent: Agent,
        field: Field,
        addr: u64,
        size: u32,
        order: Ordering,
    ) -> Result<u64, Halt> {
        if self.steps >= self.checked_from {
            return self.load_checked(agent, field, addr, size, order);
        }
        self.steps += 1;
        Ok(self.mem.read_le(addr, size))
    }

    /// [`load`](Self::load) with the budget check and the recording.
    #[inline(always)]
    fn load_checked(
        &mut self,
        agent: Agent,
        field: Field,
        addr: u64,
        size: u32,
        order: Ordering,
    ) -> Result<u64, Halt> {
        let step = self.begin()?;
        let v = self.mem.read_le(addr, size);
        if self.recording {
            self.record_load(step, agent, field, addr, size, v, order);
        }
        Ok(v)
    }

    /// Records a guest load. Out of line: the ring code inlines every access, and with
    /// recording off this is the part it never runs.
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn record_load(
        &mut self,
        step: u64,
        agent: Agent,
        field: Field,
        addr: u64,
        size: u32,
        v: u64,
        order: Ordering,
    ) {
        let (kind, space) = (AccessKind::Load, Space::Guest);
        self.record(step, agent, kind, space, field, addr, size, v, v, order);
    }

    /// A store of the low `size` bytes of `value` to guest memory.
    #[inline(always)]
    pub fn store(
        &mut self,
        agent: Agent,
        field: Field,
        addr: u64,
        size: u32,
        value: u64,
        order: Ordering,
    ) -> Result<(), Halt> {
        if self.steps >= self.checked_from {
            return self.store_checked(agent, field, addr, size, value, order);
        }
        self.steps += 1;
        self.mem.write_le(addr, size, value);
        Ok(())
    }

    /// [`store`](Self::store) with the budget check and the recording (with the value it
    /// overwrites).
    #[inline(always)]
    fn store_checked(
        &mut self,
        agent: Agent,
        field: Field,
        addr: u64,
        size: u32,
        value: u64,
        order: Ordering,
    ) -> Result<(), Halt> {
        let step = self.begin()?;
        if self.recording {
            self.record_store(step, agent, field, addr, size, value, order);
        }
        self.mem.write_le(addr, size, value);
        Ok(())
    }

    /// Records a guest store with the value it is about to overwrite. Out of line, as
    /// [`record_load`](Self::record_load).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn record_store(
        &mut self,
        step: u64,
        agent: Agent,
        field: Field,
        addr: u64,
        size: u32,
        value: u64,
        order: Ordering,
    ) {
        let old = self.mem.read_le(addr, size);
        let (kind, space) = (AccessKind::Store, Space::Guest);
        self.record(
            step, agent, kind, space, field, addr, size, value, old, order,
        );
    }

    /// The device writing `len` payload bytes (all `byte`) into a buffer at `addr`.
    pub fn store_payload(
        &mut self,
        agent: Agent,
        id: u16,
        addr: u64,
        len: u32,
        byte: u8,
    ) -> Result<(), Halt> {
        let step = self.begin()?;
        if self.recording {
            let old = self.mem.read_le(addr, len.min(1));
            let field = Field::Payload { id };
            let kind = AccessKind::Store;
            let v = u64::from(byte);
            let o = Ordering::Plain;
            self.record(step, agent, kind, Space::Guest, field, addr, len, v, old, o);
        }
        self.mem.fill(addr, u64::from(len), byte);
        Ok(())
    }

    /// An access to a transport register. The register's state lives with the transport; the
    /// bus only counts and records it, so that a status write or a kick is a micro step too.
    pub fn register(
        &mut self,
        agent: Agent,
        kind: AccessKind,
        field: Field,
        value: u64,
        old: u64,
    ) -> Result<(), Halt> {
        let step = self.begin()?;
        if self.recording {
            let o = Ordering::Fence;
            self.record(
                step,
                agent,
                kind,
                Space::Transport,
                field,
                0,
                4,
                value,
                old,
                o,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritten_memory_reads_zero_and_writes_are_little_endian() {
        let mut m = GuestMemory::new();
        assert_eq!(m.read_le(0x1234_5678, 8), 0);
        m.write_le(0x1000, 4, 0x1122_3344);
        let mut b = [0u8; 4];
        m.read(0x1000, &mut b);
        assert_eq!(b, [0x44, 0x33, 0x22, 0x11]);
    }

    #[test]
    fn default_memory_is_new_memory_even_in_page_zero() {
        // A derived Default once left lookaside entries for page 0 pointing at no page.
        let mut m = GuestMemory::default();
        assert_eq!(m.read_le(0x10, 4), 0);
        m.write_le(0x10, 4, 0xdead_beef);
        assert_eq!(m.read_le(0x10, 4), 0xdead_beef);
        assert_eq!(m, {
            let mut n = GuestMemory::new();
            n.write_le(0x10, 4, 0xdead_beef);
            n
        });
    }

    #[test]
    fn accesses_straddling_pages_are_whole() {
        let mut m = GuestMemory::new();
        m.write_le(0x1ffe, 8, 0x0807_0605_0403_0201);
        assert_eq!(m.read_le(0x1ffe, 8), 0x0807_0605_0403_0201);
        assert_eq!(m.read_le(0x2000, 1), 0x03);
        // Many pages, more than the TLB holds, keep their own bytes.
        for p in 0..40u64 {
            m.write_le(p << 12 | 0x10, 2, p);
        }
        for p in 0..40u64 {
            assert_eq!(m.read_le(p << 12 | 0x10, 2), p);
        }
    }

    #[test]
    fn a_pinned_block_reads_and_writes_like_pages() {
        // The same writes, one memory with a pinned block in the middle of a page, one without.
        let mut plain = GuestMemory::new();
        let mut pinned = GuestMemory::new();
        plain.write_le(0x1ff0, 8, 0x1111);
        pinned.write_le(0x1ff0, 8, 0x1111);
        pinned.pin(0x1ff4, 0x20);
        assert_eq!(pinned.read_le(0x1ff0, 8), 0x1111, "pinning keeps the bytes");
        for m in [&mut plain, &mut pinned] {
            // Straddling the block's start, its end, and inside it.
            m.write_le(0x1ff2, 4, 0xaabb_ccdd);
            m.write_le(0x2012, 4, 0x1122_3344);
            m.write_le(0x2000, 8, 0x0102_0304_0506_0708);
            m.fill(0x1ffe, 3, 0x5a);
        }
        assert_eq!(plain, pinned);
        for a in 0x1fe8..0x2020u64 {
            assert_eq!(plain.read_le(a, 8), pinned.read_le(a, 8), "at {a:#x}");
        }
        let mut b = [0u8; 0x40];
        let mut c = [0u8; 0x40];
        plain.read(0x1fe0, &mut b);
        pinned.read(0x1fe0, &mut c);
        assert_eq!(b, c);
        // Moving the block puts the old one back into pages.
        pinned.pin(0x5000, 0x10);
        assert_eq!(plain, pinned);
        assert_eq!(pinned.read_le(0x2012, 4), 0x1122_3344);
        pinned.write_le(0x5008, 2, 7);
        assert_ne!(plain, pinned);
    }

    #[test]
    fn equality_ignores_zero_pages() {
        let mut a = GuestMemory::new();
        let b = GuestMemory::new();
        a.write_le(0x5000, 2, 0);
        assert_eq!(a, b);
        a.write_le(0x5000, 2, 1);
        assert_ne!(a, b);
    }

    #[test]
    fn bus_records_old_values_and_stops_at_budget() {
        let mut bus = Bus::new();
        bus.store(
            Agent::Driver,
            Field::AvailIdx,
            0x100,
            2,
            7,
            Ordering::Release,
        )
        .unwrap();
        bus.store(
            Agent::Driver,
            Field::AvailIdx,
            0x100,
            2,
            9,
            Ordering::Release,
        )
        .unwrap();
        let log = bus.log();
        assert_eq!((log[1].old, log[1].value, log[1].step), (7, 9, 1));
        assert_eq!(log[1].field.to_string(), "avail.idx");
        bus.set_budget(3);
        assert!(
            bus.load(Agent::Device, Field::AvailIdx, 0x100, 2, Ordering::Acquire)
                .is_ok()
        );
        assert_eq!(
            bus.load(Agent::Device, Field::AvailIdx, 0x100, 2, Ordering::Acquire),
            Err(Halt)
        );
        assert_eq!(bus.steps(), 3);
    }

    #[test]
    fn recording_off_still_counts_steps() {
        let mut bus = Bus::new();
        bus.set_recording(false);
        bus.store(Agent::Device, Field::UsedIdx, 0x10, 2, 1, Ordering::Release)
            .unwrap();
        assert!(bus.log().is_empty());
        assert_eq!(bus.steps(), 1);
        assert_eq!(bus.mem.read_le(0x10, 2), 1);
    }

    #[test]
    fn field_names_follow_the_spec_structs() {
        let cases = [
            (
                Field::Desc {
                    index: 3,
                    part: DescPart::Flags,
                },
                "desc[3].flags",
            ),
            (Field::AvailRing(5), "avail.ring[5]"),
            (Field::UsedLen(2), "used.ring[2].len"),
            (Field::UsedEvent, "used_event"),
            (
                Field::Desc {
                    index: 7,
                    part: DescPart::Id,
                },
                "desc[7].id",
            ),
            (Field::DriverEventOffWrap, "driver_event.off_wrap"),
        ];
        for (f, s) in cases {
            assert_eq!(f.to_string(), s);
        }
    }
}
