//! The vhost backend's own log, read beside QEMU's trace (`ringside replay --backend FILE`).
//!
//! With vhost-user the backend, not QEMU, pops and completes the rings, and QEMU's trace shows
//! none of it. The capture's backend is qemu-storage-daemon, whose vhost-user-blk export is
//! libvhost-user: it has **no trace points**, so its log holds no virtqueue event at all (no
//! pop, no completion, no kick, no interrupt). What it does log is the block layer under the
//! export: `blk_co_preadv` / `blk_co_pwritev` (`blk %p bs %p offset %PRId64 bytes %PRId64 flags
//! 0x%x`), one per read or write the export submitted. Those are counted here. They are block
//! requests, not virtqueue elements: a flush, a `GET_ID` or a discard is a virtio request with
//! no such line, and nothing ties a line to a ring slot.
//!
//! qemu-storage-daemon has no `-msg timestamp=on`, so its log has no timestamps either: its
//! requests can then only be counted for the whole log, not placed in the QEMU trace's time
//! windows. When a backend log does carry `tid@sec.usec:` prefixes (the `log` backend of a
//! program with `-msg timestamp=on`), replay counts its requests per window.

use serde::Serialize;

use super::lines;
use super::qemu_log;
use super::stamp::{self, Stamp};
use crate::trace::event::NO_TIME;

/// A block request the backend submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BackendRequest {
    /// 1-based line in the backend log.
    pub line: u64,
    /// Microseconds since the epoch, when the log has timestamps.
    pub time_us: Option<u64>,
    /// A write (`blk_co_pwritev`), else a read (`blk_co_preadv`).
    pub write: bool,
    /// Byte offset on the disk.
    pub offset: u64,
    /// Length in bytes.
    pub bytes: u64,
}

/// A backend log, imported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BackendLog {
    /// File name.
    pub source: String,
    /// Lines read.
    pub lines: u64,
    /// The block requests, in log order.
    pub requests: Vec<BackendRequest>,
    /// Lines that are not `blk_co_preadv`/`blk_co_pwritev` (the `bdrv_co_*` and
    /// `thread_pool_*` lines below them, anything else).
    pub other_lines: u64,
    /// `blk_co_preadv`/`blk_co_pwritev` lines whose arguments did not parse.
    pub malformed_lines: u64,
    /// Lines stamped by another tool with a time that has no date or no zone (`Nov 01
    /// 12:34:56`): recognised, but not placeable in the trace's time.
    pub unplaceable_stamps: u64,
}

impl BackendLog {
    /// Reads a backend log held in memory.
    pub fn parse(data: &[u8], source: &str) -> BackendLog {
        let mut log = BackendLog {
            source: source.to_string(),
            ..BackendLog::default()
        };
        lines::for_each_line_in(data, |no, _, line| log.line(no, line), |_, _| {});
        log
    }

    fn line(&mut self, no: u64, line: &[u8]) {
        self.lines += 1;
        let (prefix, rest) = qemu_log::split_prefix(line);
        let (stamp, rest) = stamp::strip(rest);
        let time_us = match stamp {
            _ if prefix.time_us != NO_TIME => Some(prefix.time_us),
            Stamp::Epoch(t) => Some(t),
            Stamp::Unplaceable => {
                self.unplaceable_stamps += 1;
                None
            }
            Stamp::None => None,
        };
        let (write, args) = if let Some(a) = rest.strip_prefix(b"blk_co_pwritev ") {
            (true, a)
        } else if let Some(a) = rest.strip_prefix(b"blk_co_preadv ") {
            (false, a)
        } else {
            self.other_lines += 1;
            return;
        };
        match qemu_log::parse_blk_co(args) {
            Some((offset, bytes)) => self.requests.push(BackendRequest {
                line: no,
                time_us,
                write,
                offset,
                bytes,
            }),
            None => self.malformed_lines += 1,
        }
    }

    /// Whether the requests carry timestamps.
    pub fn timed(&self) -> bool {
        self.requests.iter().any(|r| r.time_us.is_some())
    }
}

/// Block requests counted over some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BlockCounts {
    /// Reads.
    pub reads: u64,
    /// Writes.
    pub writes: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
}

impl BlockCounts {
    /// Counts the requests.
    pub fn of<'a>(reqs: impl IntoIterator<Item = &'a BackendRequest>) -> BlockCounts {
        let mut c = BlockCounts::default();
        for r in reqs {
            if r.write {
                c.writes += 1;
                c.bytes_written += r.bytes;
            } else {
                c.reads += 1;
                c.bytes_read += r.bytes;
            }
        }
        c
    }
}

/// One window of the QEMU trace with the backend requests that fall in it.
#[derive(Debug, Clone, Serialize)]
pub struct BackendWindow {
    /// What the window is (`vhost session 2`).
    pub label: String,
    /// First trace line of the window.
    pub from_line: u64,
    /// Last trace line of the window.
    pub to_line: u64,
    /// Start, µs since the epoch.
    pub from_us: u64,
    /// End, µs since the epoch.
    pub to_us: u64,
    /// The backend's requests with a timestamp in `[from_us, to_us]`.
    pub counts: BlockCounts,
}

/// What replay shows of a backend log.
#[derive(Debug, Clone, Serialize)]
pub struct BackendReport {
    /// Backend log file.
    pub source: String,
    /// Lines read.
    pub lines: u64,
    /// Every request of the log.
    pub total: BlockCounts,
    /// Whether the log has timestamps.
    pub timed: bool,
    /// Requests up to the end of the replay window (timed logs only).
    pub in_window: Option<BlockCounts>,
    /// Requests per vhost session of the trace (between `vhost_dev_start` and
    /// `vhost_dev_stop`; timed logs and traces only).
    pub windows: Vec<BackendWindow>,
    /// What the log cannot tell, in words.
    pub note: String,
}

impl BackendReport {
    /// Counts `log` in the trace's `sessions` (`(from_line, from_us, to_line, to_us)`, µs
    /// [`NO_TIME`] when the trace has no timestamp there) and up to `window_end_us`.
    pub fn new(
        log: &BackendLog,
        sessions: &[(u64, u64, u64, u64)],
        window_end_us: Option<u64>,
    ) -> BackendReport {
        let timed = log.timed();
        let in_time = |from: u64, to: u64| {
            log.requests
                .iter()
                .filter(move |r| r.time_us.is_some_and(|t| t >= from && t <= to))
        };
        let windows = sessions
            .iter()
            .enumerate()
            .filter(|_| timed)
            .filter(|(_, s)| s.1 != NO_TIME && s.3 != NO_TIME)
            .map(|(i, &(fl, fu, tl, tu))| BackendWindow {
                label: format!("vhost session {}", i + 1),
                from_line: fl,
                to_line: tl,
                from_us: fu,
                to_us: tu,
                counts: BlockCounts::of(in_time(fu, tu)),
            })
            .collect();
        let note = if !timed && log.unplaceable_stamps > 0 {
            format!(
                "{} lines carry a time without a date or zone (as `ts` writes by default): they \
                 cannot be placed in the trace's time, so the requests are counted for the whole \
                 log (stamp with `ts '%.s'` or an ISO time with its zone); block-layer requests \
                 (blk_co_preadv/pwritev), not virtqueue elements",
                log.unplaceable_stamps
            )
        } else if timed {
            "block-layer requests (blk_co_preadv/pwritev), not virtqueue elements: flushes, \
             GET_ID and discards have no such line"
                .to_string()
        } else {
            "no timestamps (qemu-storage-daemon has no -msg timestamp=on): counted for the whole \
             log, not per trace window; block-layer requests (blk_co_preadv/pwritev), not \
             virtqueue elements: libvhost-user logs no pop, completion, kick or interrupt"
                .to_string()
        };
        BackendReport {
            source: log.source.clone(),
            lines: log.lines,
            total: BlockCounts::of(&log.requests),
            timed,
            in_window: window_end_us
                .filter(|_| timed)
                .map(|end| BlockCounts::of(in_time(0, end))),
            windows,
            note,
        }
    }
}
