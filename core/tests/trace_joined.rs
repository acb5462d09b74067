//! Both sides of the rings joined, on the real captures of traces/ (guest-*, dpdk-*): the
//! clock, the pairing of buffers, the merged timeline, both sides' view and the detectors that
//! need both sides. Each check reads what it compares against straight from the capture's
//! text (the way one would with grep), not through the importers; edited captures are edits
//! of the real ones, described where they are made.

mod common;

use ringside_core::finding::{Code, Finding, Severity};
use ringside_core::trace::join::{EventRef, Join, JoinOptions, NONE, Side, Stage, report_of};
use ringside_core::trace::{Capture, ReplayOptions, TraceSession, replay};

fn session(c: Capture) -> TraceSession {
    TraceSession::new(c, &ReplayOptions::default())
}

fn text(name: &str, file: &str) -> String {
    std::fs::read_to_string(common::dir(name).join(file)).unwrap()
}

/// `sec.usec` of a QEMU line (`tid@sec.usec:name …`), µs.
fn qemu_time(line: &str) -> u64 {
    let t = line.split('@').nth(1).unwrap().split(':').next().unwrap();
    let (s, u) = t.split_once('.').unwrap();
    s.parse::<u64>().unwrap() * 1_000_000 + u.parse::<u64>().unwrap()
}

/// The `sec.usec` of a guest ftrace line, µs.
fn guest_time(line: &str) -> u64 {
    let at = line.find("] ").unwrap() + 8;
    let t = line[at..].trim_start().split(':').next().unwrap();
    let (s, u) = t.split_once('.').unwrap();
    s.parse::<u64>().unwrap() * 1_000_000 + u.parse::<u64>().unwrap()
}

/// QMP event times by name, from the transcript's text.
fn qmp_events(name: &str, event: &str) -> Vec<u64> {
    text(name, "qmp.jsonl")
        .lines()
        .filter(|l| l.contains(&format!("\"event\": \"{event}\"")))
        .map(|l| {
            let n = |k: &str| -> u64 {
                let at = l.find(k).unwrap() + k.len();
                l[at..]
                    .trim_start_matches([':', ' '])
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            n("\"seconds\"") * 1_000_000 + n("\"microseconds\"")
        })
        .collect()
}

fn field(line: &str, key: &str) -> String {
    let at = line.find(&format!(" {key}=")).unwrap() + key.len() + 2;
    line[at..].split(' ').next().unwrap().to_string()
}

fn of(s: &TraceSession, code: Code) -> Vec<&Finding> {
    s.report()
        .findings
        .iter()
        .filter(|f| f.code == code)
        .collect()
}

#[test]
fn the_clock_jumps_by_the_stop_and_every_anchor_holds_the_fit() {
    let s = session(common::joined("guest-ioerror"));
    let j = s.join().expect("joined");
    let c = &j.clock;
    let fitted: Vec<_> = c.stretches.iter().filter(|s| !s.inferred).collect();
    assert_eq!(fitted.len(), 2, "{:#?}", c.stretches);
    // The guest clock stood still while QEMU held the VM stopped on the I/O error: the
    // offset grew by the stop's length (qmp.jsonl STOP → RESUME), to within the spread.
    let stop = qmp_events("guest-ioerror", "STOP")[0];
    let resume = qmp_events("guest-ioerror", "RESUME")[0];
    let before = fitted[0].offset_us + fitted[0].drift_ppm * 1e-6 * (stop - fitted[0].t0_us) as f64;
    let after =
        fitted[1].offset_us - fitted[1].drift_ppm * 1e-6 * (fitted[1].t0_us - resume) as f64;
    let jump = after - before;
    let stopped = (resume - stop) as f64;
    assert!(
        (jump - stopped).abs() < 300.0,
        "offset jumped {jump} µs over a stop of {stopped} µs"
    );
    // Each anchor: its begin and end markers (guest) and QEMU's config write bound the
    // offset; the fitted line passes between them. Read from the two files' text.
    let guest = text("guest-ioerror", "guest-trace.txt");
    let log = text("guest-ioerror", "trace.log");
    let writes: Vec<(u64, u32)> = log
        .lines()
        .filter(|l| l.contains("pci_cfg_write i440FX 00:00.0 @0x3c <- 0x"))
        .map(|l| {
            let v = l.rsplit("0x").next().unwrap();
            (qemu_time(l), u32::from_str_radix(v, 16).unwrap())
        })
        .collect();
    let mut checked = 0;
    for n in 1..=10u32 {
        let marker = |w: &str| {
            guest
                .lines()
                .find(|l| l.contains(&format!("ringside-anchor {n} {w}")))
                .map(guest_time)
                .unwrap()
        };
        let (b, e) = (marker("begin"), marker("end"));
        let q = writes.iter().find(|w| w.1 == n).unwrap().0;
        let st = c
            .stretches
            .iter()
            .filter(|s| !s.inferred)
            .find(|s| s.from_us.is_none_or(|f| f < q) && s.to_us.is_none_or(|t| q < t))
            .unwrap();
        let fit = st.offset_us + st.drift_ppm * 1e-6 * (q as f64 - st.t0_us as f64);
        let (lo, hi) = ((q - e) as f64, (q - b) as f64);
        assert!(
            fit >= lo - 1.0 && fit <= hi + 1.0,
            "anchor {n}: fit {fit} outside [{lo}, {hi}]"
        );
        assert!(st.spread_us <= j.opts.max_spread_us);
        // The guest's markers, mapped to host time, bracket QEMU's write.
        let (mb, me) = (c.to_host(b), c.to_host(e));
        assert!(
            mb <= q + st.spread_us && q <= me + st.spread_us,
            "anchor {n}: markers map to {mb}..{me}, the write is at {q}"
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
}

#[test]
fn a_clock_known_too_loosely_is_refused_with_the_reason() {
    // Documented edit of guest-split: every anchor's QEMU config write moved 4 ms later,
    // alternately (odd anchors only): the anchors then disagree by about 4 ms.
    let c = common::joined_with("guest-split", |log, guest| {
        let log = log
            .lines()
            .map(|l| {
                let odd = ["0x1", "0x3", "0x5", "0x7", "0x9"]
                    .iter()
                    .any(|v| l.ends_with(&format!("@0x3c <- {v}")));
                if l.contains("pci_cfg_write i440FX 00:00.0 @0x3c") && odd {
                    let t = qemu_time(l) + 4000;
                    let (tid, rest) = l.split_once('@').unwrap();
                    let rest = rest.split_once(':').unwrap().1;
                    format!("{tid}@{}.{:06}:{rest}", t / 1_000_000, t % 1_000_000)
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        (log, guest)
    });
    let rep = replay(&c, &ReplayOptions::default());
    let f = rep
        .findings
        .iter()
        .find(|f| f.code == Code::ClockUnaligned)
        .expect("refused");
    assert_eq!(f.severity, Severity::Error);
    // Says how well the clock is known, the threshold, and why that threshold.
    assert!(f.message.contains("1000 µs"), "{}", f.message);
    assert!(f.message.contains("refusing to join"), "{}", f.message);
    assert!(rep.join.as_ref().unwrap().refused.is_some());
    // As captured, the same run joins.
    let rep = replay(&common::joined("guest-split"), &ReplayOptions::default());
    assert!(rep.join.unwrap().refused.is_none());
}

#[test]
fn blk_buffers_pair_reads_with_reads_and_writes_with_writes() {
    // The device's fill length says what the request was: a read writes its data and the
    // status byte (4096·n + 1), a write only the status (1). The driver's add says it too: a
    // read adds two device-writable lists (data, status), a write one. A pairing off by one
    // among the mixed reads and writes of these runs would put a write's add with a read's
    // fill.
    for name in ["guest-split", "guest-packed", "guest-ioerror"] {
        let s = session(common::joined(name));
        let j = s.join().unwrap();
        let cap = s.capture();
        let drv = cap.driver.as_ref().unwrap();
        let log = text(name, "trace.log");
        let lines: Vec<&str> = log.lines().collect();
        let guest = text(name, "guest-trace.txt");
        let glines: Vec<&str> = guest.lines().collect();
        let blk = j.queues.iter().position(|q| q.name == "blk0.q0").unwrap();
        let (mut reads, mut writes) = (0, 0);
        for b in j.buffers.iter().filter(|b| usize::from(b.queue) == blk) {
            assert!(b.fill != NONE, "{name}: every blk buffer completes");
            let add = glines[drv.events()[b.add as usize].line as usize - 1];
            let fill = lines[cap.store.events()[b.fill as usize].line as usize - 1];
            let ins: u32 = field(add, "in").parse().unwrap();
            let len: u32 = fill
                .split(" len ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            match ins {
                2 => {
                    assert_eq!(len % 4096, 1, "{name}: read paired with {fill}");
                    assert!(len > 1);
                    reads += 1;
                }
                1 => {
                    assert_eq!(len, 1, "{name}: write paired with {fill}");
                    writes += 1;
                }
                n => panic!("{name}: in={n}"),
            }
        }
        assert!(
            reads > 5 && writes > 5,
            "{name}: {reads} reads, {writes} writes"
        );
    }
}

#[test]
fn dpdk_packets_pair_up_to_the_ring_base_dpdk_returned() {
    // DPDK prints no index; what it returned at GET_VRING_BASE (`vring base idx:I file:N`,
    // N its last avail index, bit 15 the wrap counter on packed rings) is how many buffers it
    // took from each ring. The buffers the join gave DPDK's packets must be that many.
    for name in ["dpdk-split", "dpdk-packed", "dpdk-stall"] {
        let s = session(common::joined(name));
        let j = s.join().unwrap();
        let dlog = text(name, "dpdk.log");
        for (vring, q) in [(0u16, "net0.q0"), (1, "net0.q1")] {
            let base: u32 = dlog
                .lines()
                .filter(|l| l.contains(&format!("vring base idx:{vring} file:")))
                .map(|l| l.rsplit("file:").next().unwrap().trim().parse().unwrap())
                .next_back()
                .unwrap();
            let qi = j.queues.iter().position(|x| x.name == q).unwrap();
            let taken = j
                .buffers
                .iter()
                .filter(|b| usize::from(b.queue) == qi && b.pop != NONE)
                .count() as u32;
            // A packed ring's state is its next slot with the wrap counter: 256 slots, one
            // descriptor per buffer here, so buffers taken = slot + 256·(laps).
            let want = if name == "dpdk-packed" {
                base & 0x7fff
            } else {
                base
            };
            assert_eq!(taken, want, "{name} vring {vring}: state {base}");
        }
    }
    // testpmd printed 313 packets sent in dpdk-stall and counted 52 of them dropped
    // (TX-dropped): 261 went into the ring, as many buffers as the join filled.
    let s = session(common::joined("dpdk-stall"));
    let r = report_of(s.joined().unwrap(), s.capture());
    let rx = r.queues.iter().find(|q| q.name == "net0.q0").unwrap();
    assert_eq!(rx.used, 261);
}

#[test]
fn every_buffer_s_stages_are_in_order_on_the_joined_timeline() {
    for name in [
        "guest-split",
        "guest-packed",
        "guest-ioerror",
        "dpdk-split",
        "dpdk-packed",
        "dpdk-stall",
    ] {
        let s = session(common::joined(name));
        let j = s.join().unwrap();
        let cap = s.capture();
        let lens = j.merge.lens();
        assert_eq!(
            j.merge.len,
            lens.iter().map(|&l| u64::from(l)).sum::<u64>(),
            "{name}: every event of every side once"
        );
        let mut seen = 0;
        for bi in 0..j.buffers.len() {
            let path = j.path(cap, bi as u32);
            for w in path.windows(2) {
                assert!(
                    w[0].1 <= w[1].1,
                    "{name}: buffer {bi} {:?} at step {} after {:?} at {}",
                    w[0].0,
                    w[0].1,
                    w[1].0,
                    w[1].1
                );
            }
            seen += usize::from(path.iter().any(|p| p.0 == Stage::Pop));
        }
        assert!(seen > 5, "{name}");
        // Seeking shows each side's events in its file's order.
        let mut last = [None::<u32>; 3];
        for (_, e) in j.merge.window(cap, &j.clock, 1, 2000) {
            let k = e.side as usize;
            assert!(last[k].is_none_or(|l| l + 1 == e.index), "{name}: {e:?}");
            last[k] = Some(e.index);
        }
    }
}

#[test]
fn the_sides_disagree_while_a_buffer_waits_and_agree_once_the_device_takes_it() {
    let s = session(common::joined("guest-split"));
    let j = s.join().unwrap();
    let cap = s.capture();
    let drv = cap.driver.as_ref().unwrap();
    let guest = text("guest-split", "guest-trace.txt");
    let glines: Vec<&str> = guest.lines().collect();
    let blk = j.queues.iter().position(|q| q.name == "blk0.q0").unwrap();
    let b = j
        .buffers
        .iter()
        .filter(|b| usize::from(b.queue) == blk)
        .nth(10)
        .unwrap();
    let add_line = glines[drv.events()[b.add as usize].line as usize - 1];
    let shadow: u16 = field(add_line, "avail_idx_shadow").parse().unwrap();
    let at = |e: EventRef| {
        let step = j.merge.step_of(cap, &j.clock, e);
        let pos = j.merge.seek(cap, &j.clock, step);
        let dev = s.state_at(pos.at[0] as usize);
        j.sides(cap, blk, &pos, &dev).unwrap()
    };
    let row = |v: &ringside_core::trace::join::SidesView, w: &str| {
        v.rows.iter().find(|r| r.what == w).unwrap().clone()
    };
    // Right after the add: the driver has published one more than the device has taken.
    let v = at(EventRef {
        side: Side::Driver,
        index: b.add,
    });
    let avail = row(&v, "avail idx");
    assert_eq!(avail.driver, (shadow + 1).to_string(), "{v:#?}");
    assert_eq!(avail.device, shadow.to_string());
    assert!(
        !avail.agree && avail.note.contains("1 made available"),
        "{avail:?}"
    );
    // Once the device popped it, they agree.
    let v = at(EventRef {
        side: Side::Device,
        index: b.pop,
    });
    let avail = row(&v, "avail idx");
    assert_eq!(
        (avail.driver.as_str(), avail.device.as_str()),
        (avail.driver.as_str(), avail.driver.as_str())
    );
    assert!(avail.agree, "{avail:?}");
}

#[test]
fn dpdk_stall_the_device_stopped_and_nothing_asked_it_to_look() {
    // The real fault: testpmd SIGSTOPped (host-actions.log), the guest's transmit ring fills.
    // traces/README.md: "238 add_outbuf_s on output.0 take free down to 18 … not one of these
    // adds kicks (notify=0)".
    let s = session(common::joined("dpdk-stall"));
    let waits = of(&s, Code::AddedUnpopped);
    assert_eq!(waits.len(), 1, "{waits:#?}");
    let w = waits[0];
    assert!(w.message.starts_with("238 buffers"), "{}", w.message);
    assert_eq!(w.seen_at().unwrap().device.as_deref(), Some("net0.q1"));
    // It names the first buffer and where it was added: the guest line holds an
    // add_outbuf_s on output.0 with that token, made after the host stopped testpmd.
    let guest = text("dpdk-stall", "guest-trace.txt");
    let spot = w.seen_at().unwrap().evidence.clone().unwrap();
    let line = guest.lines().nth(spot.line.unwrap() as usize - 1).unwrap();
    assert!(
        line.contains("add_outbuf_s") && line.contains("name=\"output.0\""),
        "{line}"
    );
    let token = field(line, "data");
    assert!(
        w.message.contains(&format!("buffer {token}")),
        "{}",
        w.message
    );
    let sigstop = text("dpdk-stall", "host-actions.log")
        .lines()
        .find(|l| l.contains("SIGSTOP"))
        .map(|l| {
            let (s, u) = l.split(' ').next().unwrap().split_once('.').unwrap();
            s.parse::<u64>().unwrap() * 1_000_000 + u.parse::<u64>().unwrap()
        })
        .unwrap();
    let j = s.join().unwrap();
    assert!(j.clock.to_host(guest_time(line)) > sigstop);
    // Why no kick: every kick_prepare returned 0, and EVENT_IDX (bit 29 of DPDK's
    // negotiated 0x17020e783) explains it.
    let k = of(&s, Code::KickSuppressed);
    assert_eq!(k.len(), 1);
    assert_eq!(k[0].severity, Severity::Info);
    assert!(
        k[0].message.contains("returned 0 all 238 times"),
        "{}",
        k[0].message
    );
    assert!(
        k[0].message.contains("VIRTIO_RING_F_EVENT_IDX"),
        "{}",
        k[0].message
    );
    // No kick was lost: the device was told not to expect one.
    assert!(of(&s, Code::KickUnseen).is_empty());
}

#[test]
fn guest_ioerror_the_device_held_the_failed_read_across_the_stop() {
    // The real fault: blkdebug fails a read with EIO, rerror=stop stops the VM with the
    // request in flight, QEMU retries it on `cont`.
    let s = session(common::joined("guest-ioerror"));
    let held = of(&s, Code::BufferHeld);
    assert_eq!(held.len(), 1, "{held:#?}");
    let h = held[0];
    // The pop it names is the pop of the request that failed (`virtio_blk_rw_complete … ret
    // -5` names it by its req pointer, the element).
    let log = text("guest-ioerror", "trace.log");
    let lines: Vec<&str> = log.lines().collect();
    let failed = lines
        .iter()
        .position(|l| l.contains("virtio_blk_rw_complete") && l.ends_with("ret -5"))
        .unwrap();
    let req = lines[failed]
        .split(" req ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let pop = (0..failed)
        .rev()
        .find(|&i| lines[i].contains("virtqueue_pop") && lines[i].contains(&format!("elem {req} ")))
        .unwrap();
    assert_eq!(h.line(), Some(pop as u64 + 1));
    // Held at least as long as the VM was stopped, and the message says why.
    let stopped = qmp_events("guest-ioerror", "RESUME")[0] - qmp_events("guest-ioerror", "STOP")[0];
    let secs: f64 = h
        .message
        .split(" for ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(secs * 1e6 >= stopped as f64, "{}", h.message);
    assert!(
        h.message.contains("BLOCK_IO_ERROR") && h.message.contains("STOP"),
        "{}",
        h.message
    );
    // The stop is not the driver's fault: no interrupt or reap is reported late.
    assert!(of(&s, Code::InterruptUnhandled).is_empty());
    assert!(of(&s, Code::UsedBehind).is_empty());
}

/// The blk device's `vdev` and queue-0 `vq` pointers, from QEMU's trace text.
fn blk_pointers(log: &str) -> (String, String) {
    let vdev = log
        .lines()
        .find(|l| l.contains("virtio_blk_handle_"))
        .map(|l| {
            l.split("vdev ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .to_string()
        })
        .unwrap();
    let vq = log
        .lines()
        .find(|l| l.contains(&format!("virtio_queue_notify vdev {vdev} n 0 vq")))
        .map(|l| l.rsplit(' ').next().unwrap().to_string())
        .unwrap();
    (vdev, vq)
}

/// Host time minus guest time by the capture's first anchor, from the text (the middle of
/// its interval: good to its width, a few hundred µs, for choosing where to cut).
fn first_anchor_offset(log: &str, guest: &str) -> i64 {
    let q = log
        .lines()
        .find(|l| l.ends_with("pci_cfg_write i440FX 00:00.0 @0x3c <- 0x1"))
        .map(qemu_time)
        .unwrap();
    let m = |w: &str| {
        guest
            .lines()
            .find(|l| l.contains(&format!("ringside-anchor 1 {w}")))
            .map(guest_time)
            .unwrap()
    };
    q as i64 - ((m("begin") + m("end")) / 2) as i64
}

/// The guest's lines without every `req.0` call from line `from` on, and without those
/// calls' return lines (virtio_blk's callers, `vring_interrupt`'s returns).
fn without_blk_from(guest: &str, from: usize) -> String {
    let mut out = Vec::new();
    let mut dropping = false;
    for (i, l) in guest.lines().enumerate() {
        if i + 1 >= from {
            if l.contains("name=\"req.0\"") {
                dropping = true;
                continue;
            }
            if dropping
                && l.contains("_ret: ")
                && (l.contains("[virtio_blk]") || l.contains("<- vring_interrupt"))
            {
                continue;
            }
            dropping = false;
        }
        out.push(l);
    }
    out.join("\n")
}

/// Documented edit of guest-split: QEMU stops serving the blk queue at the driver's 20th
/// kick. trace.log loses every line of the blk device and its queue from the
/// `virtio_queue_notify` that answered that kick (the blk kick closest to the kick's time,
/// by the first anchor); guest-trace.txt keeps that `notify_s` and loses every later `req.0`
/// call and its return (the request never completes, and in this light workload the driver
/// submits nothing more). Everything else, both sides, is as captured.
fn lost_kick() -> (Capture, u64) {
    let mut cut_line = 0;
    let c = common::joined_with("guest-split", |log, guest| {
        let (vdev, vq) = blk_pointers(&log);
        let offset = first_anchor_offset(&log, &guest);
        let (i, kick) = guest
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("name=\"req.0\"") && l.contains(" notify_s: "))
            .nth(19)
            .unwrap();
        cut_line = i as u64 + 1;
        let at = (guest_time(kick) as i64 + offset) as u64;
        let cut_time = log
            .lines()
            .filter(|l| l.contains(&format!("virtio_queue_notify vdev {vdev} n 0")))
            .map(qemu_time)
            .min_by_key(|&t| t.abs_diff(at))
            .unwrap();
        let out: Vec<&str> = log
            .lines()
            .filter(|l| {
                let blk = l.contains(&vdev) || l.contains(&format!("vq {vq}"));
                !(blk && qemu_time(l) >= cut_time)
            })
            .collect();
        (out.join("\n"), without_blk_from(&guest, i + 2))
    });
    (c, cut_line)
}

#[test]
fn a_kick_the_device_never_saw() {
    let (c, line) = lost_kick();
    let s = session(c);
    let k = of(&s, Code::KickUnseen);
    assert_eq!(k.len(), 1, "{k:#?}");
    let f = k[0];
    assert_eq!(
        f.seen_at().unwrap().evidence.as_ref().unwrap().line,
        Some(line)
    );
    assert!(
        f.message.contains("none later in its trace"),
        "{}",
        f.message
    );
    assert_eq!(f.seen_at().unwrap().device.as_deref(), Some("blk0.q0"));
    // The step it names shows that very doorbell write.
    let j = s.join().unwrap();
    let pos = j
        .merge
        .seek(s.capture(), &j.clock, f.seen_at().unwrap().step.unwrap());
    let e = pos.last.unwrap();
    assert_eq!(e.side, Side::Driver);
    assert_eq!(
        u64::from(s.capture().driver.as_ref().unwrap().events()[e.index as usize].line),
        line
    );
    // And the buffer it covered waits for ever.
    let w = of(&s, Code::AddedUnpopped);
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message.contains("never popped") && w[0].message.contains("the driver kicked"),
        "{}",
        w[0].message
    );
    // As captured, every kick was seen.
    assert!(of(&session(common::joined("guest-split")), Code::KickUnseen).is_empty());
}

/// Documented edit of guest-split: the guest never handles the blk interrupt of its 15th
/// `interrupt_s` on req.0: guest-trace.txt loses that call and every later `req.0` call and
/// its return (a driver that missed it waits for ever, and in this light workload submits
/// nothing more); trace.log loses every line of the blk device and its queue after the
/// `virtio_notify` that interrupt answered (the last blk notify before the handler's time, by
/// the first anchor): given no more requests, QEMU logs nothing more for it.
fn lost_interrupt() -> Capture {
    common::joined_with("guest-split", |log, guest| {
        let (vdev, vq) = blk_pointers(&log);
        let offset = first_anchor_offset(&log, &guest);
        let (i, irq) = guest
            .lines()
            .enumerate()
            .filter(|(_, l)| l.contains("name=\"req.0\"") && l.contains(" interrupt_s: "))
            .nth(14)
            .unwrap();
        let at = (guest_time(irq) as i64 + offset) as u64;
        let notify = log
            .lines()
            .filter(|l| l.contains(&format!("vq {vq}")) && l.contains(":virtio_notify"))
            .map(qemu_time)
            .filter(|&t| t <= at + 200)
            .max()
            .unwrap();
        let out: Vec<&str> = log
            .lines()
            .filter(|l| {
                let blk = l.contains(&vdev) || l.contains(&format!("vq {vq}"));
                !(blk && qemu_time(l) > notify)
            })
            .collect();
        (out.join("\n"), without_blk_from(&guest, i + 1))
    })
}

#[test]
fn an_interrupt_the_driver_never_handled_and_the_buffer_it_never_reaped() {
    let s = session(lost_interrupt());
    let i = of(&s, Code::InterruptUnhandled);
    assert_eq!(i.len(), 1, "{i:#?}");
    let log = text("guest-split", "trace.log");
    let line = i[0].line().unwrap() as usize;
    assert!(
        log.lines()
            .nth(line - 1)
            .unwrap()
            .contains(":virtio_notify"),
        "line {line}"
    );
    assert!(
        i[0].message.contains("none later in its trace"),
        "{}",
        i[0].message
    );
    // The buffer that interrupt signalled was completed and never reaped.
    let u = of(&s, Code::CompletedUnreaped);
    assert_eq!(u.len(), 1, "{u:#?}");
    assert_eq!(u[0].severity, Severity::Warning);
    let buf = i[0]
        .message
        .split("of buffer ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert!(
        u[0].message.contains(buf),
        "{} / {}",
        i[0].message,
        u[0].message
    );
    // As captured, none.
    let s = session(common::joined("guest-split"));
    assert!(of(&s, Code::InterruptUnhandled).is_empty());
    assert!(of(&s, Code::CompletedUnreaped).is_empty());
}

#[test]
fn a_reap_later_than_the_threshold_says_how_late_and_whether_an_interrupt_came() {
    // guest-split as captured, with the threshold lowered to 10 ms: blk completions the
    // driver reaped more than 10 ms of running time after the device published them.
    let c = common::joined("guest-split");
    let opts = JoinOptions {
        behind_ms: 10,
        ..JoinOptions::default()
    };
    let st0 = ringside_core::trace::replay::Replayer::new(
        &c.store,
        c.qmp.as_ref(),
        &c.dumps,
        &ReplayOptions::default(),
    )
    .initial(&c.store);
    let j = Join::build(&c, &st0, opts).unwrap().unwrap();
    let late: Vec<&Finding> = j
        .findings
        .iter()
        .filter(|f| f.code == Code::UsedBehind)
        .collect();
    assert!(!late.is_empty());
    let log = text("guest-split", "trace.log");
    let guest = text("guest-split", "guest-trace.txt");
    for f in late {
        // `… was used at line U and the driver detached it only at FILE:D`: U is the
        // device's flush, D the driver's detach, and they are more than 10 ms apart on the
        // host's clock (the guest's mapped through the join's own offset).
        let u: usize = f
            .message
            .split("used at line ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let used = log.lines().nth(u - 1).unwrap();
        assert!(used.contains("virtqueue_flush"), "{used}");
        let d = f
            .seen_at()
            .unwrap()
            .evidence
            .as_ref()
            .unwrap()
            .line
            .unwrap() as usize;
        let det = guest.lines().nth(d - 1).unwrap();
        assert!(det.contains("detach_split"), "{det}");
        let host = j.clock.to_host(guest_time(det));
        assert!(host > qemu_time(used) + 10_000, "{}", f.message);
        // With the default threshold of a second, none of them is reported.
    }
    assert!(of(&session(common::joined("guest-split")), Code::UsedBehind).is_empty());
}
