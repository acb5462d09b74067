//! Hand-made access streams with counts derived by reasoning in the comments.

use proptest::prelude::*;

use super::*;
use crate::layout::{PackedLayout, RingLayout, SplitLayout};
use crate::memory::{DescPart, Ordering};

use AccessKind::{Load, Store};
use Agent::{Device, Driver};

/// An access log under construction.
#[derive(Default)]
struct Stream(Vec<Access>);

impl Stream {
    fn push(&mut self, agent: Agent, kind: AccessKind, addr: u64, size: u32, field: Field) {
        self.0.push(Access {
            step: self.0.len() as u64,
            agent,
            kind,
            space: Space::Guest,
            addr,
            size,
            value: 0,
            old: 0,
            field,
            order: Ordering::Plain,
        });
    }

    fn register(&mut self, agent: Agent, field: Field) {
        self.push(agent, Store, 0, 4, field);
        if let Some(a) = self.0.last_mut() {
            a.space = Space::Transport;
        }
    }
}

fn desc_field(index: u16, part: DescPart) -> Field {
    Field::Desc { index, part }
}

/// The members of a 16-byte descriptor as the split ring lays them out: offset, size, part.
const SPLIT_DESC: [(u64, u32, DescPart); 4] = [
    (0, 8, DescPart::Addr),
    (8, 4, DescPart::Len),
    (12, 2, DescPart::Flags),
    (14, 2, DescPart::Next),
];

/// Addresses of a split ring's fields. `Ideal` puts avail.idx, avail.ring, used.idx and
/// used.ring each at the start of its own line, the layout reference §3.5 reasons about.
struct SplitAddrs {
    q: u16,
    desc: u64,
    avail_idx: u64,
    avail_ring: u64,
    used_idx: u64,
    used_ring: u64,
}

impl SplitAddrs {
    fn ideal(q: u16) -> Self {
        SplitAddrs {
            q,
            desc: 0x1_0000,
            avail_idx: 0x2_0000,
            avail_ring: 0x2_0040,
            used_idx: 0x3_0000,
            used_ring: 0x3_0040,
        }
    }

    fn real(l: &SplitLayout) -> Self {
        SplitAddrs {
            q: l.size,
            desc: l.desc,
            avail_idx: l.avail_idx(),
            avail_ring: l.avail_ring(0),
            used_idx: l.used_idx(),
            used_ring: l.used_elem(0),
        }
    }

    /// Buffers `first..first + n` as one batch, each a single descriptor in slot `n % q`,
    /// published and completed in order, indices written once per batch:
    /// driver stores desc members and avail.ring entries, then avail.idx; the device loads
    /// avail.idx, then each avail.ring entry and desc member; it stores each used.ring id and
    /// len, then used.idx; the driver loads used.idx, then each used id and len.
    fn batch(&self, s: &mut Stream, first: u64, n: u64) {
        let slots: Vec<u16> = (first..first + n)
            .map(|b| (b % u64::from(self.q)) as u16)
            .collect();
        let desc = |i: u16| self.desc + 16 * u64::from(i);
        let avail = |i: u16| self.avail_ring + 2 * u64::from(i);
        let used = |i: u16| self.used_ring + 8 * u64::from(i);
        for &i in &slots {
            for (off, size, part) in SPLIT_DESC {
                s.push(Driver, Store, desc(i) + off, size, desc_field(i, part));
            }
            s.push(Driver, Store, avail(i), 2, Field::AvailRing(i));
        }
        s.push(Driver, Store, self.avail_idx, 2, Field::AvailIdx);
        s.push(Device, Load, self.avail_idx, 2, Field::AvailIdx);
        for &i in &slots {
            s.push(Device, Load, avail(i), 2, Field::AvailRing(i));
            for (off, size, part) in SPLIT_DESC {
                s.push(Device, Load, desc(i) + off, size, desc_field(i, part));
            }
        }
        for &i in &slots {
            s.push(Device, Store, used(i), 4, Field::UsedId(i));
            s.push(Device, Store, used(i) + 4, 4, Field::UsedLen(i));
        }
        s.push(Device, Store, self.used_idx, 2, Field::UsedIdx);
        s.push(Driver, Load, self.used_idx, 2, Field::UsedIdx);
        for &i in &slots {
            s.push(Driver, Load, used(i), 4, Field::UsedId(i));
            s.push(Driver, Load, used(i) + 4, 4, Field::UsedLen(i));
        }
    }
}

/// Packed buffers `first..first + n` as one batch in slots `b % size`: the driver stores addr,
/// len, id, then flags of each; the device loads flags, addr, len, id of each, then stores id,
/// len, flags of each used descriptor in place (in order); the driver loads flags, id, len.
fn packed_batch(l: &PackedLayout, s: &mut Stream, first: u64, n: u64) {
    const ADDR: (u64, u32, DescPart) = (0, 8, DescPart::Addr);
    const LEN: (u64, u32, DescPart) = (8, 4, DescPart::Len);
    const ID: (u64, u32, DescPart) = (12, 2, DescPart::Id);
    const FLAGS: (u64, u32, DescPart) = (14, 2, DescPart::Flags);
    let slots: Vec<u16> = (first..first + n)
        .map(|b| (b % u64::from(l.size)) as u16)
        .collect();
    let mut go = |who, kind, members: &[(u64, u32, DescPart)]| {
        for &i in &slots {
            for &(off, size, part) in members {
                s.push(who, kind, l.desc(i) + off, size, desc_field(i, part));
            }
        }
    };
    go(Driver, Store, &[ADDR, LEN, ID, FLAGS]);
    go(Device, Load, &[FLAGS, ADDR, LEN, ID]);
    go(Device, Store, &[ID, LEN, FLAGS]);
    go(Driver, Load, &[FLAGS, ID, LEN]);
}

/// Transfers caused by each batch of `per` buffers, over `batches` batches.
fn per_batch(mut run: impl FnMut(&mut Stream, u64, u64), per: u64, batches: u64) -> Vec<u64> {
    let mut m = CacheModel::default();
    (0..batches)
        .map(|b| {
            let mut s = Stream::default();
            run(&mut s, b * per, per);
            m.observe_all(&s.0)
        })
        .collect()
}

#[test]
fn split_unbatched_moves_five_lines_per_buffer() {
    // desc, avail.ring, avail.idx lines: written by the driver, then first loaded by the
    // device (one load-HITM each); used.ring and used.idx: written by the device, loaded by the
    // driver (one each). The writer's next store finds a line both hold clean: an invalidation, not
    // a transfer. 5 per buffer. First touches are not counted, but even buffer 0's lines are
    // written by one side before the other reads them, so buffer 0 costs 5 too. Two laps of a
    // 64-entry ring so line reuse across laps is covered.
    let a = SplitAddrs::ideal(64);
    let v = per_batch(|s, f, n| a.batch(s, f, n), 1, 128);
    assert_eq!(v, vec![5; 128]);

    let mut m = CacheModel::default();
    let mut s = Stream::default();
    for b in 0..128 {
        a.batch(&mut s, b, 1);
    }
    m.observe_all(&s.0);
    let t = m.totals();
    // Three lines go driver→device and two device→driver per buffer, all as load-HITMs.
    assert_eq!((t.driver_to_device(), t.device_to_driver()), (384, 256));
    assert_eq!(t.driver.store_invalidate + t.device.store_invalidate, 0);
    // Every line is re-written after the other side read it, except each line's first write
    // (cold): desc 16 lines, avail ring 2, avail idx 1, used ring 8, used idx 1 = 28 cold.
    assert_eq!(
        t.driver.invalidations + t.device.invalidations,
        5 * 128 - 28
    );
}

#[test]
fn split_batched_by_four_moves_five_lines_per_four_buffers() {
    // 4 descriptors are one 64-byte line, 4 avail entries (8 B) and 4 used elements (32 B)
    // share a line: the same 5 lines move once per batch of 4.
    let a = SplitAddrs::ideal(64);
    assert_eq!(per_batch(|s, f, n| a.batch(s, f, n), 4, 32), vec![5; 32]);
}

#[test]
fn real_split_layout_pays_for_used_elements_straddling_lines() {
    // The spec's tightest layout, SplitLayout::contiguous_aligned(256, 0x10000, 4): desc
    // 0x10000 (4 KiB), avail 0x11000, 518 bytes, used at the next multiple of 4: 0x11208. used.idx sits in line 0x11200 and element n at
    // 0x1120c + 8n, offset (12 + 8n) mod 64 in its line: element n straddles two lines when
    // that is 60, i.e. n % 8 == 6, and the driver's load of its len pulls a second used line.
    // From buffer 32 on, avail.ring[n] (offset 4 + 2n) is out of the avail.idx line and used
    // element n (n > 6) out of the used.idx line, so: 5 per buffer, 6 when n % 8 == 6.
    let l = SplitLayout::contiguous_aligned(256, 0x10000, 4).unwrap();
    assert_eq!(l.used, 0x11208);
    let a = SplitAddrs::real(&l);
    let v = per_batch(|s, f, n| a.batch(s, f, n), 1, 96);
    for (n, &got) in v.iter().enumerate().skip(32) {
        assert_eq!(got, if n % 8 == 6 { 6 } else { 5 }, "buffer {n}");
    }
}

#[test]
fn packed_moves_two_lines_per_buffer_and_half_a_line_batched() {
    // One descriptor line: the driver's write is loaded by the device (1), the device's
    // in-place used write is loaded by the driver (1). Each side's stores find a line both hold
    // clean: invalidations. 2 per buffer; batched by 4 the same line carries 4 buffers: 2 per 4.
    let l = PackedLayout::contiguous(64, 0x10000).unwrap();
    assert_eq!(
        per_batch(|s, f, n| packed_batch(&l, s, f, n), 1, 128),
        vec![2; 128]
    );
    assert_eq!(
        per_batch(|s, f, n| packed_batch(&l, s, f, n), 4, 32),
        vec![2; 32]
    );
}

#[test]
fn c2c_view_attributes_transfers_to_fields_and_agents() {
    let mut s = Stream::default();
    let flags0 = desc_field(0, DescPart::Flags);
    let addr1 = desc_field(1, DescPart::Addr);
    let len1 = desc_field(1, DescPart::Len);
    // Line 0x1000, a packed ring's first descriptors.
    s.push(Driver, Store, 0x100e, 2, flags0); // cold: hit
    s.push(Device, Load, 0x100e, 2, flags0); // HITM (device)
    s.push(Device, Store, 0x1018, 4, len1); // driver holds it clean: invalidation
    s.push(Driver, Store, 0x1010, 8, addr1); // device modified it: store invalidation (driver)
    s.push(Device, Load, 0x1010, 8, addr1); // HITM (device)
    // Line 0x2000: used.idx.
    s.push(Device, Store, 0x2002, 2, Field::UsedIdx); // cold
    s.push(Driver, Load, 0x2002, 2, Field::UsedIdx); // HITM (driver)
    s.register(Device, Field::InterruptStatus); // not cached memory: ignored
    // Payload 0x3020..0x3084 covers lines 0x3000, 0x3040, 0x3080; buffer 3 written by the
    // device, the memory then read back as buffer 4's: one HITM per line, one row per line.
    s.push(Device, Store, 0x3020, 100, Field::Payload { id: 3 });
    s.push(Driver, Load, 0x3020, 100, Field::Payload { id: 4 });
    let mut m = CacheModel::default();
    assert_eq!(m.observe_all(&s.0), 7);

    let t = *m.totals();
    assert_eq!((t.accesses, t.ignored), (9, 1));
    assert_eq!((t.driver_to_device(), t.device_to_driver()), (2, 5));

    let line = m.line(0x1020).unwrap();
    assert_eq!(line.summary.addr, 0x1000);
    assert_eq!(
        (
            line.summary.transfers,
            line.summary.load_hitm,
            line.summary.store_invalidate
        ),
        (3, 2, 1)
    );
    // The device loaded the driver's last write: both hold it clean.
    assert_eq!(
        (
            line.summary.driver_state,
            line.summary.device_state,
            line.summary.last_writer
        ),
        (Mesi::Shared, Mesi::Shared, Some(Driver))
    );
    let rows: Vec<(u32, &str, u64, u64, u64, u64)> = line
        .fields
        .iter()
        .map(|f| {
            (
                f.offset,
                f.name.as_str(),
                f.driver.store_invalidate,
                f.device.load_hitm,
                f.device.invalidations,
                f.transfers,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (14, "desc[0].flags", 0, 1, 0, 1),
            (16, "desc[1].addr", 1, 1, 0, 2),
            (24, "desc[1].len", 0, 0, 1, 0),
        ]
    );
    assert_eq!(line.fields[1].driver.stores, 1);
    assert_eq!(line.fields[1].device.loads, 1);

    let mid = m.line(0x3040).unwrap();
    assert_eq!(mid.fields.len(), 1);
    assert_eq!(
        (mid.fields[0].offset, mid.fields[0].name.as_str()),
        (0, "buffer[4].data")
    );
    assert_eq!(
        (mid.fields[0].device.stores, mid.fields[0].driver.load_hitm),
        (1, 1)
    );
    assert_eq!(m.line(0x3000).unwrap().fields[0].offset, 0x20);
    assert!(m.line(0x4000).is_none());
    assert_eq!(m.state(0x2000), [Mesi::Shared, Mesi::Shared]);
    assert_eq!(m.state(0x4000), [Mesi::Invalid, Mesi::Invalid]);

    // Ranked: 0x1000 (3), then the one-transfer lines by address.
    let ranked: Vec<(u64, u64)> = m
        .ranked_lines(3)
        .iter()
        .map(|l| (l.addr, l.transfers))
        .collect();
    assert_eq!(ranked, vec![(0x1000, 3), (0x2000, 1), (0x3000, 1)]);

    let classes_owned = m.by_class();
    let classes: Vec<(&str, u64)> = classes_owned
        .iter()
        .map(|c| (c.class.as_str(), c.transfers))
        .collect();
    assert_eq!(
        classes,
        vec![
            ("buffer.data", 3),
            ("desc.addr", 2),
            ("desc.flags", 1),
            ("used.idx", 1),
            ("desc.len", 0)
        ]
    );
    assert_eq!(classes_owned[1].driver.store_invalidate, 1);

    let report = m.report(10, &CostModel::default());
    let text = report.to_string();
    assert!(text.lines().all(|l| l.starts_with("model:")), "{text}");
    assert!(line.to_string().lines().all(|l| l.starts_with("model:")));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["transfers"], 7);
    assert_eq!(json["lines"][0]["driver_state"], "Shared");
    assert_eq!(json["costs"][0]["topology"], "Separate");
}

#[test]
fn a_store_is_modified_then_the_other_side_reads_it_shared() {
    let mut m = CacheModel::default();
    let mut s = Stream::default();
    s.push(Driver, Load, 0x40, 2, Field::Other);
    s.push(Driver, Store, 0x80, 2, Field::Other);
    m.observe_all(&s.0);
    assert_eq!(m.state(0x40), [Mesi::Exclusive, Mesi::Invalid]);
    assert_eq!(m.state(0x80), [Mesi::Modified, Mesi::Invalid]);
    let mut s = Stream::default();
    s.push(Device, Store, 0x40, 2, Field::Other); // clean line the driver holds: invalidation
    m.observe_all(&s.0);
    assert_eq!(m.state(0x40), [Mesi::Invalid, Mesi::Modified]);
    assert_eq!(m.totals().device.invalidations, 1);
    assert_eq!(m.totals().transfers(), 0);
}

#[test]
fn a_store_to_a_line_both_hold_clean_is_an_invalidation_not_a_transfer() {
    // The ping-pong of one line: the driver writes, the device reads (a transfer: the data
    // moves), then the driver writes again while both hold it clean: an invalidation message,
    // no data. Counted, reported per line and in the totals, and kept out of the transfers.
    let mut m = CacheModel::default();
    let mut s = Stream::default();
    s.push(Driver, Store, 0x100, 2, Field::AvailIdx); // cold
    s.push(Device, Load, 0x100, 2, Field::AvailIdx); // transfer to the device
    s.push(Driver, Store, 0x100, 2, Field::AvailIdx); // both held it clean: invalidation
    s.push(Device, Load, 0x100, 2, Field::AvailIdx); // transfer again
    assert_eq!(m.observe_all(&s.0), 2);
    let t = *m.totals();
    assert_eq!((t.transfers(), t.invalidations()), (2, 1));
    assert_eq!((t.driver.invalidations, t.device.invalidations), (1, 0));
    let line = m.line(0x100).unwrap().summary;
    assert_eq!((line.transfers, line.invalidations), (2, 1));
    let report = m.report(8, &CostModel::default());
    assert_eq!(report.invalidations, 1);
    assert!(report.to_string().contains("2 transfers"), "{report}");
    assert!(report.to_string().contains("1 invalidations"), "{report}");
}

#[test]
fn line_size_is_configurable_and_checked() {
    // 128-byte lines, ideal split ring of 64: line 0x2_0000 now holds avail.idx and
    // avail.ring[0..32] (0x2_0040 + 2i < 0x2_0080), line 0x3_0000 holds used.idx and used
    // elements 0..8 (0x3_0040 + 8i < 0x3_0080). Buffers 0..8 move 3 lines (desc, avail,
    // used); buffers 8..16 move 4 (their used element has its own line): 8*3 + 8*4 = 56.
    let a = SplitAddrs::ideal(64);
    let mut m = CacheModel::new(128).unwrap();
    assert_eq!(m.line_size(), 128);
    let mut s = Stream::default();
    for b in 0..16 {
        a.batch(&mut s, b, 1);
    }
    assert_eq!(m.observe_all(&s.0), 56);
    assert_eq!(CacheModel::new(48), Err(CacheError::LineSize(48)));
    assert!(CacheModel::new(0).is_err());
    assert!(CacheModel::new(8192).is_err());
}

#[test]
fn set_and_way_view_reproduces_the_power_of_two_myth() {
    let l1 = CacheGeometry::default();
    assert_eq!((l1.sets(), l1.way_bytes()), (64, 4096));

    // A 1024-entry descriptor table is 16 KiB = 256 lines = 4 in each of the 64 sets.
    let tx = ("tx desc", 0x10_0000, 1024 * 16);
    let o = l1.occupancy(&[tx]);
    assert!(o.sets.iter().all(|s| s.distinct == 4));
    assert_eq!((o.ways_needed, o.free_ways, o.fits), (4, 4, true));
    assert_eq!(
        (o.areas[0].lines, o.areas[0].ways, o.areas[0].sets_touched),
        (256, 4, 64)
    );
    // TX and RX tables fill all 8 ways of every set.
    let o = l1.occupancy(&[tx, ("rx desc", 0x20_0000, 1024 * 16)]);
    assert!(
        o.sets
            .iter()
            .all(|s| s.lines == vec![4, 4] && s.distinct == 8)
    );
    assert_eq!((o.ways_needed, o.free_ways, o.fits), (8, 0, true));
    // 768 entries: 12 KiB = 192 lines = 3 per set; two rings take 6 ways, 2 stay free.
    let o = l1.occupancy(&[("tx", 0x10_0000, 768 * 16), ("rx", 0x20_0000, 768 * 16)]);
    assert_eq!((o.ways_needed, o.free_ways, o.fits), (6, 2, true));

    // Whole split rings from RingLayout::areas(), in the spec's tightest layout (used ring
    // 4-byte aligned; Linux's 64-byte alignment would give it a line of its own). One 1024
    // ring at 0x100000: desc 256 lines
    // (4 per set); avail 0x104000..0x104806, 33 lines in sets 0..=32; used 0x104808..0x10680e,
    // 129 lines from set 32 (its first line shared with avail): 2 per set, 3 in set 32. So
    // sets 0..=32 hold 7 distinct lines, 33..=63 hold 6; set 32's areas add up to 4+1+3 = 8
    // but the shared line counts once. A second ring at 0x200000 doubles it: 14 ways needed.
    let ring =
        |base| RingLayout::Split(SplitLayout::contiguous_aligned(1024, base, 4).unwrap()).areas();
    let one = l1.occupancy(&ring(0x10_0000));
    assert_eq!(one.sets[32].lines, vec![4, 1, 3]);
    assert_eq!(one.sets[32].distinct, 7);
    assert_eq!((one.sets[31].distinct, one.sets[33].distinct), (7, 6));
    let mut both = ring(0x10_0000);
    both.extend(ring(0x20_0000));
    let o = l1.occupancy(&both);
    assert_eq!(
        (o.ways_needed, o.fits, o.overflowing_sets, o.free_ways),
        (14, false, 64, 0)
    );

    // Two 768-entry packed rings: 3 desc lines per set each, and each ring's two 4-byte event
    // areas share the line after its table, which maps to set 0: set 0 holds 8, the rest 6.
    let packed = |base| RingLayout::Packed(PackedLayout::contiguous(768, base).unwrap()).areas();
    let mut both = packed(0x10_0000);
    both.extend(packed(0x20_0000));
    let o = l1.occupancy(&both);
    assert_eq!(
        (o.sets[0].distinct, o.sets[1].distinct, o.sets[63].distinct),
        (8, 6, 6)
    );
    assert_eq!((o.ways_needed, o.fits, o.free_ways), (8, true, 0));
    assert!(o.to_string().lines().all(|l| l.starts_with("model:")));

    // A 48 KiB 12-way L1 also has 64 sets; bad geometries are refused.
    let g = CacheGeometry::new(48 * 1024, 12, 64).unwrap();
    assert_eq!((g.sets(), g.way_bytes(), g.set_of(0x1040)), (64, 4096, 1));
    assert!(CacheGeometry::new(32 * 1024, 0, 64).is_err());
    assert!(CacheGeometry::new(1000, 8, 64).is_err());
    assert!(CacheGeometry::new(32 * 1024, 8, 48).is_err());
    // Empty areas occupy nothing.
    assert_eq!(l1.occupancy(&[("none", 0x40, 0)]).ways_needed, 0);
}

#[test]
fn shared_cache_shrinks_the_gap_between_split_and_packed() {
    // Touches per unit (hand count from the streams above):
    // split, 1 buffer: driver 4 desc + avail.ring + avail.idx stores, used.idx + id + len
    //   loads = 9; device avail.idx + avail.ring + 4 desc loads, id + len + used.idx stores = 9.
    //   18 touches, 5 transfers, 13 hits.
    // packed, 1 buffer: driver 4 stores + 3 loads, device 4 loads + 3 stores: 14; 2 transfers.
    // split, batch of 4: driver 16 + 4 + 1 stores, 1 + 8 loads = 30; device 1 + 4 + 16 loads,
    //   8 + 1 stores = 30. 60 touches, 5 transfers.
    // packed, batch of 4: 28 + 28 = 56 touches, 2 transfers.
    // Cycles with the default constants (hit 4, separate 100, shared 14):
    //   split 1:  13*4 + 5*100 = 552  | 52 + 70 = 122
    //   packed 1: 12*4 + 2*100 = 248  | 48 + 28 = 76
    //   split 4:  55*4 + 5*100 = 720  | 220 + 70 = 290
    //   packed 4: 54*4 + 2*100 = 416  | 216 + 28 = 244
    let split = SplitAddrs::ideal(64);
    let packed = PackedLayout::contiguous(64, 0x10000).unwrap();
    let cost = |per: u64, units: u64, is_packed: bool| {
        let mut s = Stream::default();
        for u in 0..units {
            if is_packed {
                packed_batch(&packed, &mut s, u * per, per);
            } else {
                split.batch(&mut s, u * per, per);
            }
        }
        let mut m = CacheModel::default();
        m.observe_all(&s.0);
        CostModel::default()
            .estimate(m.totals())
            .map(|c| c.cycles / units)
    };
    let (s1, p1, s4, p4) = (
        cost(1, 64, false),
        cost(1, 64, true),
        cost(4, 16, false),
        cost(4, 16, true),
    );
    assert_eq!(
        (s1, p1, s4, p4),
        ([552, 122], [248, 76], [720, 290], [416, 244])
    );

    let ratio = |p: [u64; 2], s: [u64; 2], i: usize| p[i] as f64 / s[i] as f64;
    // Separate caches: packed halves the cost unbatched, a smaller gain batched.
    assert!(ratio(p1, s1, 0) < 0.5);
    assert!(ratio(p4, s4, 0) > ratio(p1, s1, 0));
    // Shared cache: both layouts come much closer.
    assert!(ratio(p1, s1, 1) > ratio(p1, s1, 0) + 0.1);
    assert!(ratio(p4, s4, 1) > ratio(p4, s4, 0) + 0.1);
}

/// Random streams over a few lines: agent, kind, guest or transport, address, size.
fn stream() -> impl Strategy<Value = Vec<(bool, bool, bool, u64, u32)>> {
    prop::collection::vec(
        (
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.9),
            0..512u64,
            0..160u32,
        ),
        0..200,
    )
}

fn build(items: &[(bool, bool, bool, u64, u32)]) -> Stream {
    let mut s = Stream::default();
    for &(device, store, guest, addr, size) in items {
        let agent = if device { Device } else { Driver };
        let kind = if store { Store } else { Load };
        // Fields by offset in a 16-byte slot, so a line gets several rows.
        let field = desc_field((addr / 16) as u16, SPLIT_DESC[(addr % 4) as usize].2);
        if guest {
            s.push(agent, kind, addr, size, field);
        } else {
            s.register(agent, field);
        }
    }
    s
}

proptest! {
    #[test]
    fn transfers_lie_between_writer_changes_and_agent_switches(
        items in stream(),
        shift in 3u32..8,
    ) {
        let s = build(&items);
        let mut m = CacheModel::new(1 << shift).unwrap();
        let transfers = m.observe_all(&s.0);
        // Independent bounds, per line touched: a transfer needs the previous toucher to be
        // the other agent (upper bound); a store after the other agent's store must be
        // preceded by, or be, a transfer (lower bound).
        let mut toucher = HashMap::new();
        let mut writer = HashMap::new();
        let (mut switches, mut writer_changes) = (0u64, 0u64);
        for a in s.0.iter().filter(|a| a.space == Space::Guest && a.size > 0) {
            for line in a.addr >> shift..=(a.addr + u64::from(a.size) - 1) >> shift {
                if toucher.insert(line, a.agent).is_some_and(|p| p != a.agent) {
                    switches += 1;
                }
                if a.kind == Store && writer.insert(line, a.agent).is_some_and(|p| p != a.agent) {
                    writer_changes += 1;
                }
            }
        }
        prop_assert!(writer_changes <= transfers && transfers <= switches,
            "{writer_changes} <= {transfers} <= {switches}");
        prop_assert_eq!(transfers, m.totals().transfers());
    }

    #[test]
    fn one_agent_alone_never_transfers_or_invalidates(items in stream(), device: bool) {
        let only: Vec<_> = items.iter().map(|&(_, st, g, a, sz)| (device, st, g, a, sz)).collect();
        let mut m = CacheModel::default();
        prop_assert_eq!(m.observe_all(&build(&only).0), 0);
        let t = m.totals();
        prop_assert_eq!(t.driver.invalidations + t.device.invalidations, 0);
    }

    #[test]
    fn fields_add_up_to_lines_and_lines_to_totals(items in stream()) {
        let s = build(&items);
        let mut m = CacheModel::default();
        m.observe_all(&s.0);
        let mut lines: Vec<u64> = s.0.iter()
            .filter(|a| a.space == Space::Guest && a.size > 0)
            .flat_map(|a| a.addr >> 6..=(a.addr + u64::from(a.size) - 1) >> 6)
            .collect();
        lines.sort_unstable();
        lines.dedup();
        let mut sum = [AgentCounts::default(); 2];
        for line in lines {
            let r = m.line(line << 6).unwrap();
            let mut fields = [AgentCounts::default(); 2];
            for f in &r.fields {
                fields[0].add(&f.driver);
                fields[1].add(&f.device);
                prop_assert_eq!(f.transfers, f.driver.transfers() + f.device.transfers());
            }
            prop_assert_eq!(fields, [r.summary.driver, r.summary.device]);
            sum[0].add(&r.summary.driver);
            sum[1].add(&r.summary.device);
        }
        let t = m.totals();
        prop_assert_eq!(sum, [t.driver, t.device]);
        let guest = s.0.iter().filter(|a| a.space == Space::Guest).count() as u64;
        prop_assert_eq!((t.accesses, t.ignored), (guest, s.0.len() as u64 - guest));
        let classes: u64 = m.by_class().iter().map(|c| c.transfers).sum();
        prop_assert_eq!(classes, t.transfers());
    }

    #[test]
    fn transport_accesses_change_nothing_but_the_ignored_count(items in stream()) {
        let s = build(&items);
        let guest: Vec<Access> = s.0.iter().copied().filter(|a| a.space == Space::Guest).collect();
        let (mut all, mut only) = (CacheModel::default(), CacheModel::default());
        all.observe_all(&s.0);
        only.observe_all(&guest);
        prop_assert_eq!(all.ranked_lines(usize::MAX), only.ranked_lines(usize::MAX));
        prop_assert_eq!(all.totals().transfers(), only.totals().transfers());
    }
}
