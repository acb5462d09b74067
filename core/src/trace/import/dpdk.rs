//! DPDK as the device: `dpdk-testpmd`'s output with the vhost library's debug log
//! (`--log-level=lib.vhost.config:debug`) and testpmd's per-packet lines (`set verbose 3`), as
//! `traces/capture-guest.sh` saves them in `dpdk.log`.
//!
//! Each line may start with a stamp another tool put there (`traces/tslines.py` writes the
//! host time at which it read the line, `<sec>.<usec> `; see [`super::stamp`]); testpmd's own
//! output has none. What is read:
//!
//! - `VHOST_CONFIG: (<socket>) read message VHOST_USER_<NAME>`: the messages QEMU sent, which
//!   match QEMU's `vhost_user_write` lines one to one;
//! - `vring base idx:<i> last_used_idx:<u> last_avail_idx:<a>.` (`SET_VRING_BASE`, the ring
//!   handed over) and `vring base idx:<i> file:<n>` (`GET_VRING_BASE`: `n` is the ring's state
//!   when it was taken back, `last_avail_idx | wrap << 15` on a packed ring);
//! - `negotiated Virtio features: 0x…`, `new device status(0x…)`, `set queue enable`,
//!   `vhost peer closed`;
//! - `port P/queue Q: received|sent N packets` and the N packet lines under it (`… - length=L -
//!   … - Receive queue=0x0`): `received` is DPDK dequeuing from the guest's transmit ring
//!   (vring `2Q+1`), `sent` enqueuing into its receive ring (vring `2Q`); testpmd's icmpecho
//!   decode (`ICMP: echo request seq id=N`) names the packet;
//! - the final `RX-packets:`/`TX-packets:` counts.
//!
//! DPDK prints no descriptor index per packet: the joiner ties packets to the driver's buffers
//! by order within each ring.

use serde::Serialize;

use super::lines::for_each_line_in;
use super::qemu_log::{HEX, digits, trim_end};
use super::stamp::{self, Stamp};
use crate::trace::error::{ImportWarning, TraceError, Warnings};
use crate::trace::event::{NO_TIME, vhost_user_request_number};

/// What a DPDK log line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DpdkKind {
    /// `read message VHOST_USER_<NAME>`: a vhost-user request from QEMU.
    Message {
        /// The request number (QEMU's numbering; `u32::MAX` for a name QEMU 7.2 lacks).
        req: u32,
    },
    /// `vring base idx:<i> last_used_idx:<u> last_avail_idx:<a>.`: the ring handed over.
    RingBaseSet {
        /// The vring (`2 * queue pair` rx, `+ 1` tx).
        vring: u16,
        /// Its used index.
        last_used: u16,
        /// Its avail index.
        last_avail: u16,
    },
    /// `vring base idx:<i> file:<n>`: the ring taken back; `state` is the last avail index
    /// (packed: with the wrap counter in bit 15).
    RingBaseGet {
        /// The vring.
        vring: u16,
        /// The state DPDK returned.
        state: u32,
    },
    /// `set queue enable: <e> to qp idx: <i>`.
    Enable {
        /// The vring (`qp idx` is a vring index despite its name).
        vring: u16,
        /// Enabled.
        on: bool,
    },
    /// `new device status(0x…)`.
    Status(u8),
    /// `vhost peer closed`: QEMU went away.
    PeerClosed,
    /// `port P/queue Q: received|sent N packets`.
    Burst {
        /// Port queue (queue pair) `Q`.
        queue: u16,
        /// `received` (from the guest's transmit ring), else `sent` (into its receive ring).
        from_guest: bool,
        /// `N`.
        count: u16,
    },
    /// One packet of the burst before it.
    Packet {
        /// Port queue (queue pair).
        queue: u16,
        /// From the guest (dequeued from its transmit ring), else to it.
        from_guest: bool,
        /// `length=`: the frame's bytes.
        len: u16,
        /// ICMP echo sequence number from testpmd's decode (`u16::MAX` when none).
        seq: u16,
    },
}

impl DpdkKind {
    /// The vring a packet or burst used: `2Q + 1` for packets from the guest (its transmit
    /// queue), `2Q` for packets to it.
    pub fn vring(&self) -> Option<u16> {
        match *self {
            DpdkKind::Burst {
                queue, from_guest, ..
            }
            | DpdkKind::Packet {
                queue, from_guest, ..
            } => Some(queue * 2 + u16::from(from_guest)),
            DpdkKind::RingBaseSet { vring, .. }
            | DpdkKind::RingBaseGet { vring, .. }
            | DpdkKind::Enable { vring, .. } => Some(vring),
            _ => None,
        }
    }
}

/// One DPDK line that matters: 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DpdkEvent {
    /// µs since the epoch from the line's stamp, or [`NO_TIME`].
    pub time_us: u64,
    /// 1-based line.
    pub line: u32,
    /// What.
    pub kind: DpdkKind,
}

impl DpdkEvent {
    /// The time, if the line was stamped.
    pub fn time(&self) -> Option<u64> {
        (self.time_us != NO_TIME).then_some(self.time_us)
    }
}

/// testpmd's final counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PortTotals {
    /// `RX-packets`: received from the guest.
    pub rx: u64,
    /// `TX-packets`: sent to the guest.
    pub tx: u64,
    /// Line of the `TX-packets` count.
    pub line: u32,
}

/// A DPDK log, imported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DpdkLog {
    /// File name.
    pub source: String,
    /// Events, in file order.
    pub events: Vec<DpdkEvent>,
    /// Negotiated virtio features (`negotiated Virtio features`) and the line, the last set.
    pub features: Option<(u64, u32)>,
    /// The vhost-user socket the lines name.
    pub socket: Option<String>,
    /// testpmd's last `RX-packets`/`TX-packets` counts.
    pub totals: Option<PortTotals>,
    /// Lines read.
    pub lines: u64,
    /// Lines with a stamp.
    pub stamped: u64,
    /// Lines not read as anything (banners, the memory table, statistics text).
    pub other_lines: u64,
    /// Problems met.
    pub warnings: Warnings,
}

/// Where a line failed and what was expected there.
struct Miss(usize, &'static str);

/// `N` at `s[i..]`, with where it ends.
fn number(s: &[u8], i: usize) -> Option<(u64, usize)> {
    if s.get(i..i + 2) == Some(b"0x") {
        let mut j = i + 2;
        let mut v: u64 = 0;
        while let Some(&c) = s.get(j) {
            let d = HEX[usize::from(c)];
            if d > 15 || j - i - 2 >= 16 {
                break;
            }
            v = (v << 4) | u64::from(d);
            j += 1;
        }
        (j > i + 2).then_some((v, j))
    } else {
        digits(s, i)
    }
}

/// The number after `key` in `s`, and where it ends; the miss names `key` and where it was
/// looked for.
fn after(s: &[u8], key: &[u8], from: usize, what: &'static str) -> Result<(u64, usize), Miss> {
    let at = s
        .get(from..)
        .and_then(|r| r.windows(key.len()).position(|w| w == key))
        .map(|p| p + from + key.len())
        .ok_or(Miss(from, what))?;
    number(s, at).ok_or(Miss(at, what))
}

fn small<T: TryFrom<u64>>(v: (u64, usize), what: &'static str) -> Result<T, Miss> {
    T::try_from(v.0).map_err(|_| Miss(v.1, what))
}

impl DpdkLog {
    /// Reads a DPDK log held in memory; bad lines become warnings.
    pub fn from_bytes(data: &[u8], source: &str) -> DpdkLog {
        let mut log = DpdkLog {
            source: source.to_string(),
            ..DpdkLog::default()
        };
        let mut burst: Option<(DpdkKind, u16, u32)> = None;
        for_each_line_in(
            data,
            |no, _, line| log.line(no, line, &mut burst),
            |_, _| {},
        );
        log.close_burst(&mut burst);
        log
    }

    /// Reads and checks that the bytes are a DPDK log: at least one vhost message or packet.
    pub fn parse(data: &[u8], source: &str) -> Result<DpdkLog, TraceError> {
        let log = Self::from_bytes(data, source);
        if !log.events.is_empty() {
            return Ok(log);
        }
        let s = super::sniff::sniff(source, data);
        let what = match s.kind {
            super::sniff::InputKind::Unknown => s.why,
            k => format!("{} ({})", k.describe(), s.why),
        };
        let hint = match s.kind {
            super::sniff::InputKind::DriverTrace => {
                "this is the guest driver's trace: pass it with --guest".to_string()
            }
            super::sniff::InputKind::TraceLog => {
                "this is a QEMU trace: pass it as the trace, first".to_string()
            }
            _ => "pass testpmd's log with --dpdk (traces/<capture>/dpdk.log)".to_string(),
        };
        Err(TraceError::Unusable {
            file: source.to_string(),
            what: format!("no vhost-user message or packet line in it: {what}"),
            expected: "dpdk-testpmd's output with `--log-level=lib.vhost.config:debug` \
                       (`VHOST_CONFIG: … read message VHOST_USER_…`) and `set verbose 3` \
                       (`port 0/queue 0: received 1 packets`)"
                .into(),
            hint,
        })
    }

    fn warn(&mut self, line: u64, column: usize, message: String, expected: &str, hint: &str) {
        self.warnings.push(ImportWarning {
            file: self.source.clone(),
            line: Some(line),
            offset: None,
            column: Some(column as u64 + 1),
            message,
            expected: expected.to_string(),
            hint: hint.to_string(),
        });
    }

    /// A burst whose packet lines ended: said when they were fewer than its count.
    fn close_burst(&mut self, burst: &mut Option<(DpdkKind, u16, u32)>) {
        if let Some((DpdkKind::Burst { count, .. }, seen, line)) = burst.take()
            && seen < count
        {
            self.warn(
                u64::from(line),
                0,
                format!("a burst of {count} packets with {seen} packet lines under it"),
                "one `src=… - length=… - Receive|Send queue=0x…` line per packet (set verbose 3)",
                "a log cut short loses the last packets; the join counts only those listed",
            );
        }
    }

    fn push(&mut self, time_us: u64, line: u32, kind: DpdkKind) {
        self.events.push(DpdkEvent {
            time_us,
            line,
            kind,
        });
    }

    fn line(&mut self, no: u64, raw: &[u8], burst: &mut Option<(DpdkKind, u16, u32)>) {
        self.lines += 1;
        let (st, rest) = stamp::strip(raw);
        let time_us = match st {
            Stamp::Epoch(t) => {
                self.stamped += 1;
                t
            }
            _ => NO_TIME,
        };
        let off = raw.len() - rest.len();
        let text = trim_end(rest.strip_suffix(b"\r").unwrap_or(rest));
        let lno = u32::try_from(no).unwrap_or(u32::MAX);
        match self.read(time_us, lno, text, burst) {
            Ok(true) => {}
            Ok(false) => self.other_lines += 1,
            Err(Miss(at, what)) => {
                self.other_lines += 1;
                self.warn(
                    no,
                    off + at,
                    "a DPDK line that does not read as its kind".into(),
                    what,
                    "the importer reads DPDK 22.11's vhost and testpmd wording \
                     (docs/trace-format.md)",
                );
            }
        }
    }

    /// Reads one line; `Ok(false)` when it is none of the kinds read.
    fn read(
        &mut self,
        t: u64,
        line: u32,
        s: &[u8],
        burst: &mut Option<(DpdkKind, u16, u32)>,
    ) -> Result<bool, Miss> {
        // Packet lines of the open burst.
        if let Some((
            DpdkKind::Burst {
                queue,
                from_guest,
                count,
            },
            seen,
            _,
        )) = *burst
        {
            let trimmed = s.trim_ascii_start();
            if trimmed.starts_with(b"src=") && seen < count {
                const PKT: &str = "`… - length=<bytes> - …` in a packet line";
                let (len, _) = after(s, b" - length=", 0, PKT)?;
                let len = small::<u16>((len, 0), PKT)?;
                self.push(
                    t,
                    line,
                    DpdkKind::Packet {
                        queue,
                        from_guest,
                        len,
                        seq: u16::MAX,
                    },
                );
                if let Some(b) = burst.as_mut() {
                    b.1 += 1;
                }
                return Ok(true);
            }
            if let Some(p) = trimmed.strip_prefix(b"ICMP: echo request seq id=") {
                if let (Some((seq, _)), Some(last)) = (digits(p, 0), self.events.last_mut())
                    && let DpdkKind::Packet { seq: slot, .. } = &mut last.kind
                {
                    *slot = u16::try_from(seq).unwrap_or(u16::MAX);
                }
                return Ok(true);
            }
            let inside = trimmed.starts_with(b"ol_flags:")
                || trimmed.starts_with(b"Port ")
                || trimmed.starts_with(b"ETH:")
                || trimmed.starts_with(b"ARP:")
                || trimmed.starts_with(b"IPV4:")
                || trimmed.starts_with(b"IPV6:")
                || trimmed.starts_with(b"sha=")
                || trimmed.starts_with(b"tha=")
                || trimmed.is_empty();
            if inside {
                return Ok(false);
            }
            self.close_burst(burst);
        }
        if s.starts_with(b"port ") {
            const BURST: &str = "`port P/queue Q: received|sent N packets`";
            let Some((_, e)) = digits(s, 5) else {
                return Ok(false);
            };
            if s.get(e..e + 7) != Some(b"/queue ") {
                return Ok(false);
            }
            let q = digits(s, e + 7).ok_or(Miss(e + 7, BURST))?;
            let queue = small::<u16>(q, BURST)?;
            let rest = s.get(q.1..).unwrap_or_default();
            let (from_guest, n_at) = if rest.starts_with(b": received ") {
                (true, q.1 + 11)
            } else if rest.starts_with(b": sent ") {
                (false, q.1 + 7)
            } else {
                return Err(Miss(q.1, BURST));
            };
            let n = digits(s, n_at).ok_or(Miss(n_at, BURST))?;
            if !s.get(n.1..).is_some_and(|r| r.starts_with(b" packets")) {
                return Err(Miss(n.1, BURST));
            }
            let count = small::<u16>((n.0, n_at), BURST)?;
            let kind = DpdkKind::Burst {
                queue,
                from_guest,
                count,
            };
            self.push(t, line, kind);
            *burst = Some((kind, 0, line));
            return Ok(true);
        }
        let Some(vc) = s.windows(13).position(|w| w == b"VHOST_CONFIG:") else {
            return self.totals_line(line, s);
        };
        let mut at = vc + 13;
        let mut rest = s.get(at..).unwrap_or_default().trim_ascii_start();
        at = s.len() - rest.len();
        // `(<socket>) ` since DPDK 22.07.
        if rest.first() == Some(&b'(')
            && let Some(close) = rest.iter().position(|&c| c == b')')
        {
            if self.socket.is_none() {
                self.socket = Some(String::from_utf8_lossy(&rest[1..close]).into_owned());
            }
            at += close + 1;
            rest = s.get(at..).unwrap_or_default().trim_ascii_start();
            at = s.len() - rest.len();
        }
        if let Some(name) = rest.strip_prefix(b"read message VHOST_USER_") {
            let name = String::from_utf8_lossy(name);
            let req = vhost_user_request_number(name.trim()).unwrap_or(u32::MAX);
            self.push(t, line, DpdkKind::Message { req });
            return Ok(true);
        }
        if rest.starts_with(b"vring base idx:") {
            const BASE: &str = "`vring base idx:I last_used_idx:U last_avail_idx:A.` or \
                                `vring base idx:I file:N`";
            let (i, e) = after(s, b"idx:", at, BASE)?;
            let vring = small::<u16>((i, e), BASE)?;
            let kind = if let Ok((n, e2)) = after(s, b" file:", e, BASE) {
                DpdkKind::RingBaseGet {
                    vring,
                    state: small::<u32>((n, e2), BASE)?,
                }
            } else {
                let (u, e2) = after(s, b" last_used_idx:", e, BASE)?;
                let (a, e3) = after(s, b" last_avail_idx:", e2, BASE)?;
                DpdkKind::RingBaseSet {
                    vring,
                    last_used: small::<u16>((u, e2), BASE)?,
                    last_avail: small::<u16>((a, e3), BASE)?,
                }
            };
            self.push(t, line, kind);
            return Ok(true);
        }
        if rest.starts_with(b"negotiated Virtio features:") {
            const F: &str = "`negotiated Virtio features: 0x<hex>`";
            let (f, _) = after(s, b"features: ", at, F)?;
            self.features = Some((f, line));
            return Ok(true);
        }
        if rest.starts_with(b"set queue enable:") {
            const EN: &str = "`set queue enable: E to qp idx: I`";
            let (on, e) = after(s, b"enable: ", at, EN)?;
            let (i, e2) = after(s, b"qp idx: ", e, EN)?;
            self.push(
                t,
                line,
                DpdkKind::Enable {
                    vring: small::<u16>((i, e2), EN)?,
                    on: on != 0,
                },
            );
            return Ok(true);
        }
        if rest.starts_with(b"new device status(") {
            const ST: &str = "`new device status(0x<hex>):`";
            let (v, e) = after(s, b"status(", at, ST)?;
            self.push(t, line, DpdkKind::Status(small::<u8>((v, e), ST)?));
            return Ok(true);
        }
        if rest.starts_with(b"vhost peer closed") {
            self.push(t, line, DpdkKind::PeerClosed);
            return Ok(true);
        }
        Ok(false)
    }

    /// `RX-packets: N …` / `TX-packets: N …` (testpmd's statistics).
    fn totals_line(&mut self, line: u32, s: &[u8]) -> Result<bool, Miss> {
        let t = s.trim_ascii_start();
        let rx = t.starts_with(b"RX-packets:");
        if !rx && !t.starts_with(b"TX-packets:") {
            return Ok(false);
        }
        const TOT: &str = "`RX-packets: N` / `TX-packets: N` (testpmd's statistics)";
        let (n, _) = after(s, b"-packets:", 0, TOT).or_else(|_| {
            let i = s.windows(9).position(|w| w == b"-packets:").unwrap_or(0) + 9;
            let j = s
                .get(i..)
                .map_or(i, |r| i + r.len() - r.trim_ascii_start().len());
            digits(s, j).ok_or(Miss(j, TOT))
        })?;
        let tot = self.totals.get_or_insert_with(PortTotals::default);
        if rx {
            tot.rx = n;
        } else {
            tot.tx = n;
            tot.line = line;
        }
        Ok(true)
    }

    /// The packets to or from the guest through one vring, in log order.
    pub fn packets(&self, vring: u16) -> impl Iterator<Item = (usize, &DpdkEvent)> {
        self.events.iter().enumerate().filter(move |(_, e)| {
            matches!(e.kind, DpdkKind::Packet { .. }) && e.kind.vring() == Some(vring)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
1796217376.856467 VHOST_CONFIG: (/tmp/x/vhost-net.sock) vring base idx:0 last_used_idx:0 last_avail_idx:0.
1796217376.329407 VHOST_CONFIG: (/tmp/x/vhost-net.sock) read message VHOST_USER_SET_FEATURES
1796217376.329437 VHOST_CONFIG: (/tmp/x/vhost-net.sock) negotiated Virtio features: 0x17020e783
1796216996.411958 port 0/queue 0: received 1 packets
1796216996.412017   src=52:54:00:12:34:56 - dst=56:48:4F:53:54:00 - pool=mb_pool_0 - type=0x0800 - length=98 - nb_segs=1 - sw ptype: L2_ETHER L3_IPV4  - l2_len=14 - l3_len=20 - Receive queue=0x0
1796216996.412021   ol_flags: RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN
1796216996.412067 
1796216996.412079 Port 0 pkt-len=98 nb-segs=1
1796216996.412094   ETH:  src=52:54:00:12:34:56 dst=56:48:4F:53:54:00 type=0x0800
1796216996.412125   IPV4: src=10.0.2.15 dst=10.0.2.2 proto=1 (ICMP)
1796216996.412134   ICMP: echo request seq id=7
1796216996.412169 port 0/queue 0: sent 1 packets
1796216996.412171   src=56:48:4F:53:54:00 - dst=52:54:00:12:34:56 - pool=mb_pool_0 - type=0x0800 - length=98 - nb_segs=1 - sw ptype: L2_ETHER L3_IPV4  - l2_len=14 - l3_len=20 - Send queue=0x0
1796217380.759071 VHOST_CONFIG: (/tmp/x/vhost-net.sock) vring base idx:1 file:15
1796217389.305627   RX-packets: 15             RX-dropped: 0             RX-total: 15
1796217389.305637   TX-packets: 9              TX-dropped: 0             TX-total: 9
";

    #[test]
    fn messages_rings_packets_and_totals() {
        let log = DpdkLog::parse(LOG.as_bytes(), "dpdk.log").unwrap();
        assert!(log.warnings.list.is_empty(), "{:?}", log.warnings.list);
        let kinds: Vec<DpdkKind> = log.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                DpdkKind::RingBaseSet {
                    vring: 0,
                    last_used: 0,
                    last_avail: 0
                },
                DpdkKind::Message { req: 2 },
                DpdkKind::Burst {
                    queue: 0,
                    from_guest: true,
                    count: 1
                },
                DpdkKind::Packet {
                    queue: 0,
                    from_guest: true,
                    len: 98,
                    seq: 7
                },
                DpdkKind::Burst {
                    queue: 0,
                    from_guest: false,
                    count: 1
                },
                DpdkKind::Packet {
                    queue: 0,
                    from_guest: false,
                    len: 98,
                    seq: u16::MAX
                },
                DpdkKind::RingBaseGet {
                    vring: 1,
                    state: 15
                },
            ]
        );
        assert_eq!(log.features, Some((0x1_7020_e783, 3)));
        assert_eq!(
            log.totals,
            Some(PortTotals {
                rx: 15,
                tx: 9,
                line: 16
            })
        );
        // From the guest through vring 1 (its transmit queue), to it through vring 0.
        assert_eq!(log.packets(1).count(), 1);
        assert_eq!(log.packets(0).next().map(|(_, e)| e.line), Some(13));
        assert_eq!(log.events[0].time_us, 1_796_217_376_856_467);
    }

    #[test]
    fn bad_counts_are_located() {
        let bad = "1796216996.411958 port 0/queue 0: received x packets\n";
        let log = DpdkLog::from_bytes(bad.as_bytes(), "d.log");
        let w = &log.warnings.list[0];
        assert_eq!(w.line, Some(1));
        assert_eq!(w.column, Some(bad.find('x').unwrap() as u64 + 1), "{w}");
        // A burst that lists fewer packets than it says.
        let short = "port 0/queue 0: sent 2 packets\n  src=a - length=60 - Send queue=0x0\nother\n";
        let log = DpdkLog::from_bytes(short.as_bytes(), "d.log");
        assert_eq!(log.packets(0).count(), 1);
        assert!(
            log.warnings.list[0].message.contains("2 packets with 1"),
            "{:?}",
            log.warnings.list
        );
        assert!(DpdkLog::parse(b"hello\n", "d.log").is_err());
    }
}
