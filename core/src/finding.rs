//! Protocol violations, reported as findings instead of panics: one type for both sources.
//!
//! Real devices and drivers meet broken peers; QEMU marks the device broken and Linux prints
//! `BAD_RING`. ringside records the violation with where it happened and a message worded like
//! those implementations' own errors, then carries on wherever the spec lets it. A finding comes
//! from an engine run (its place is a micro step) or from captured inputs (a trace line, a QMP
//! line, a ring dump), and a findings pane, `ringside check` and the scenario report read the
//! same [`Finding`]: one code vocabulary, one severity scale, one place type.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::memory::Agent;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing (a refused feature, a suppressed notification).
    Info,
    /// Legal but suspicious, or an interoperability hazard.
    Warning,
    /// A spec violation.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $text:literal, $sev:ident, $family:ident;)*) => {
        /// What kind of violation a finding reports: one vocabulary for the engine's findings
        /// (scenarios, ground truth) and the trace detectors' (replay, QMP, ring dumps).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Code { $($(#[$doc])* $name,)* }

        impl Code {
            /// Every code of both families.
            pub const EVERY: &'static [Code] = &[$(Code::$name,)*];
            /// Every code with its family, in declaration order.
            const FAMILIES: &'static [(Code, Family)] = &[$((Code::$name, Family::$family),)*];
            /// The codes the engine raises (what a scenario's expectations can name).
            pub const ALL: &'static [Code] =
                &pick::<{ 0 $(+ Family::$family.engine() as usize)* }>(Code::FAMILIES, true);
            /// The codes the trace detectors raise (replay, QMP and ring-dump checks).
            pub const TRACE: &'static [Code] =
                &pick::<{ 0 $(+ Family::$family.trace() as usize)* }>(Code::FAMILIES, false);
            /// The stable kebab-case name used in scenarios, `ringside check` and JSON.
            pub fn name(self) -> &'static str {
                match self { $(Code::$name => $text,)* }
            }
            /// The severity this kind of finding usually carries (a detector may raise it at
            /// another level: a trace's `stall` is a warning, the engine's an error).
            pub fn severity(self) -> Severity {
                match self { $(Code::$name => Severity::$sev,)* }
            }
        }
    };
}

/// Which detectors raise a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// The engine (scenario runs).
    Engine,
    /// The trace detectors.
    Trace,
    /// Both.
    Both,
}

/// The `N` codes of `every` of the engine's family (`engine`) or the trace's, in order (`N`
/// counted by the caller).
const fn pick<const N: usize>(every: &[(Code, Family)], engine: bool) -> [Code; N] {
    let mut out = [Code::Stall; N];
    let (mut i, mut k) = (0, 0);
    while i < every.len() {
        let f = every[i].1;
        if (engine && f.engine()) || (!engine && f.trace()) {
            out[k] = every[i].0;
            k += 1;
        }
        i += 1;
    }
    out
}

impl Family {
    const fn engine(self) -> bool {
        matches!(self, Family::Engine | Family::Both)
    }
    const fn trace(self) -> bool {
        matches!(self, Family::Trace | Family::Both)
    }
}

codes! {
    /// The available index moved by more than the queue size (QEMU: "Guest moved used index").
    AvailIdxJump = "avail-idx-jump", Error, Both;
    /// The used index moved by more than the queue size; in a dump, a used id out of range.
    UsedIdxJump = "used-idx-jump", Error, Both;
    /// An available ring entry names a descriptor beyond the table.
    HeadOutOfRange = "head-out-of-range", Error, Engine;
    /// A `next` field points beyond the table.
    NextOutOfRange = "next-out-of-range", Error, Engine;
    /// A chain visits more descriptors than the table holds.
    LoopedDescriptor = "looped-descriptor", Error, Both;
    /// A device-readable descriptor follows a device-writable one.
    ReadableAfterWritable = "readable-after-writable", Error, Engine;
    /// A descriptor has both INDIRECT and NEXT.
    IndirectWithNext = "indirect-with-next", Error, Engine;
    /// An indirect table contains an INDIRECT descriptor.
    NestedIndirect = "nested-indirect", Error, Engine;
    /// An indirect table's length is zero or not a multiple of 16.
    IndirectBadSize = "indirect-bad-size", Error, Engine;
    /// INDIRECT used without VIRTIO_F_INDIRECT_DESC negotiated.
    IndirectNotNegotiated = "indirect-not-negotiated", Error, Engine;
    /// The device returned an id that is not a valid head or buffer ID.
    UsedIdOutOfRange = "used-id-out-of-range", Error, Engine;
    /// The device returned an id that is not outstanding.
    UsedIdNotOutstanding = "used-id-not-outstanding", Error, Engine;
    /// The driver made a buffer ID available that is still outstanding.
    IdReused = "id-reused", Error, Engine;
    /// A side wrote a descriptor or buffer the other side owns.
    OwnershipViolation = "ownership-violation", Error, Engine;
    /// The device wrote into a device-readable buffer.
    DeviceWroteReadable = "device-wrote-readable", Error, Engine;
    /// The device reported more bytes written than the writable part holds.
    UsedLenTooLong = "used-len-too-long", Error, Engine;
    /// Used len is non-zero but WRITE is clear in a packed used descriptor.
    UsedLenWithoutWrite = "used-len-without-write", Warning, Both;
    /// The buffer ID sits only in the last descriptor, where devices that read the head (QEMU
    /// 4.2 to 9.0) miss it.
    IdPlacement = "id-placement", Warning, Engine;
    /// A packed descriptor's AVAIL/USED bits disagree with the wrap counter that should see them.
    WrapDesync = "wrap-desync", Error, Both;
    /// A buffer was made available and never used.
    LostBuffer = "lost-buffer", Warning, Engine;
    /// Work is pending and neither side will be woken.
    Stall = "stall", Error, Both;
    /// A notification was required and not sent.
    MissedNotification = "missed-notification", Error, Engine;
    /// Part of a batch or multi-buffer request was exposed before the rest was written.
    PartialPublication = "partial-publication", Error, Engine;
    /// A status bit was cleared without a reset.
    StatusCleared = "status-cleared", Error, Engine;
    /// A status bit was set out of the order §3.1 requires.
    StatusOrder = "status-order", Error, Engine;
    /// Feature bits written after FEATURES_OK.
    FeaturesAfterOk = "features-after-ok", Error, Engine;
    /// The driver accepted a bit the device did not offer.
    FeatureNotOffered = "feature-not-offered", Error, Engine;
    /// The device cleared FEATURES_OK: it refused the driver's subset.
    FeaturesRefused = "features-refused", Info, Engine;
    /// The driver notified, or the device touched the queue, before DRIVER_OK.
    BeforeDriverOk = "before-driver-ok", Error, Engine;
    /// A packed ring was asked for without VIRTIO_F_RING_PACKED negotiated.
    PackedNotNegotiated = "packed-not-negotiated", Warning, Engine;
    /// The driver had no room for a buffer.
    QueueFull = "queue-full", Info, Engine;
    /// The device had nothing to pop or complete.
    NothingToDo = "nothing-to-do", Info, Engine;
    /// The device reset, or asked for one.
    Reset = "reset", Info, Engine;
    /// A trace: a notification the event-idx/flags rules require did not happen.
    MissingNotification = "missing-notification", Error, Trace;
    /// A trace: a notification with nothing new to report.
    SpuriousNotification = "spurious-notification", Info, Trace;
    /// A trace: a kick the device never acted on.
    KickUnserviced = "kick-unserviced", Warning, Trace;
    /// A trace: a buffer popped and never completed while later ones were.
    Leak = "leak", Warning, Trace;
    /// A trace: buffers still in flight where the replay window ends.
    InFlight = "in-flight", Info, Trace;
    /// A trace: a buffer completed twice.
    DoubleCompletion = "double-completion", Error, Trace;
    /// A trace: a completion of a buffer never popped.
    UnknownCompletion = "unknown-completion", Warning, Trace;
    /// A trace: a `virtqueue_flush` count differs from the fills before it.
    FlushMismatch = "flush-mismatch", Error, Trace;
    /// A trace or QMP: more buffers in flight than the queue has entries.
    SizeExceeded = "size-exceeded", Error, Trace;
    /// A ring dump: a head index `>= Q` in the available ring.
    BadHead = "bad-head", Error, Trace;
    /// A ring dump: a `next` index `>= Q`.
    BadNext = "bad-next", Error, Trace;
    /// A ring dump: a device-readable descriptor after a device-writable one.
    DescriptorOrder = "descriptor-order", Error, Trace;
    /// A ring dump: a zero-length buffer.
    ZeroLength = "zero-length", Error, Trace;
    /// A ring dump: an indirect descriptor misused (bad size, with NEXT).
    IndirectMisuse = "indirect-misuse", Error, Trace;
    /// A packed ring dump: head and last descriptor of a chain carry different buffer IDs (the
    /// spec and QEMU since 9.1 read the last, QEMU 4.2 to 9.0 the head).
    BufferIdPlacement = "buffer-id-placement", Warning, Trace;
    /// A packed ring dump: reserved flag bits set (a shift constant used as a mask).
    ShiftAsMask = "shift-as-mask", Warning, Trace;
    /// A packed ring dump: an event suppression area holds what only the other can: swapped.
    AreaSwap = "area-swap", Warning, Trace;
    /// A ring dump: EVENT_IDX negotiated but the event index never written.
    EventIdxUnused = "event-idx-unused", Warning, Trace;
    /// QMP state disagrees with the replayed counters.
    QmpMismatch = "qmp-mismatch", Error, Trace;
    /// A ring dump disagrees with the replayed counters or QMP.
    DumpMismatch = "dump-mismatch", Error, Trace;
    /// QEMU marked a device broken or NEEDS_RESET.
    DeviceBroken = "device-broken", Error, Trace;
    /// A trace: a reset dropped buffers in flight.
    ResetInFlight = "reset-in-flight", Info, Trace;
    /// A trace: lines the importer did not understand.
    UnknownLines = "unknown-lines", Info, Trace;
    /// An input problem (from an importer's warnings).
    BadInput = "bad-input", Warning, Trace;
    /// An input, or part of one, that replay could not use, and why.
    InputUnused = "input-unused", Warning, Trace;
    /// A trace queue whose ring layout neither the trace nor QMP nor a dump tells.
    LayoutUnknown = "layout-unknown", Info, Trace;
    /// Both sides: the driver kicked and the device logged no kick of that queue after it.
    KickUnseen = "kick-unseen", Warning, Trace;
    /// Both sides: the device interrupted and the driver's handler never ran for that queue.
    InterruptUnhandled = "interrupt-unhandled", Warning, Trace;
    /// Both sides: the driver's used index trailed the device's longer than a threshold.
    UsedBehind = "used-behind", Warning, Trace;
    /// Both sides: a buffer the device completed that the driver never reaped.
    CompletedUnreaped = "completed-unreaped", Warning, Trace;
    /// Both sides: a buffer the driver made available waited longer than a threshold (or for
    /// ever) for the device's pop.
    AddedUnpopped = "added-unpopped", Warning, Trace;
    /// Both sides: the driver did not kick because the device had asked not to be notified
    /// (NO_NOTIFY, an event-idx window, packed DISABLE): what explains a missing kick.
    KickSuppressed = "kick-suppressed", Info, Trace;
    /// Both sides: the device held a popped buffer longer than a threshold before completing
    /// it.
    BufferHeld = "buffer-held", Warning, Trace;
    /// The two sides' clocks could not be aligned well enough to join them.
    ClockUnaligned = "clock-unaligned", Error, Trace;
    /// A cross-check of the join failed: the pairing of buffers is doubtful there.
    JoinMismatch = "join-mismatch", Warning, Trace;
}

impl Code {
    /// Parses an engine code's kebab-case name (what a scenario or a breakpoint names).
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.name() == s)
    }
    /// Parses a trace detector's kebab-case name.
    pub fn parse_trace(s: &str) -> Option<Code> {
        Code::TRACE.iter().copied().find(|c| c.name() == s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who could know what a finding reports: a side reading the ring, or only ringside.
///
/// A tool that teaches debugging must not pass off what it knows from both sides' private
/// state as something a real driver or device would notice. So a finding says which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingSource {
    /// A side found it in the bytes or registers it read, the way its real counterpart does
    /// (QEMU's `virtio_error`, Linux's `BAD_RING`, a status read back without FEATURES_OK),
    /// or reports what happened to itself (no room in the ring).
    #[default]
    Detected,
    /// ringside's ledger and audit, which see both sides and the whole run at once: no real
    /// driver or device could report it (a buffer written while the other side owns it, a
    /// batch exposed before it was whole, a notification that was due and not sent, work
    /// nobody will wake up for). The UIs show it apart, as the engine's ground truth.
    GroundTruth,
}

impl fmt::Display for FindingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FindingSource::Detected => "detected",
            FindingSource::GroundTruth => "ground truth",
        })
    }
}

/// Formats microseconds since the epoch the way QEMU's trace prints them (`sec.usec`).
pub fn fmt_time(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// A place in an input file other than the trace: a QMP transcript's line, a ring dump's byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpot {
    /// The file (or, for a ring dump, the dump's name).
    pub file: String,
    /// 1-based line, for text inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Byte offset, for binary inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl FileSpot {
    /// A whole file.
    pub fn file(file: impl Into<String>) -> FileSpot {
        FileSpot {
            file: file.into(),
            line: None,
            offset: None,
        }
    }
    /// A line of a text file.
    pub fn line(file: impl Into<String>, line: u64) -> FileSpot {
        FileSpot {
            line: Some(line),
            ..FileSpot::file(file)
        }
    }
    /// A byte of a binary file.
    pub fn offset(file: impl Into<String>, offset: u64) -> FileSpot {
        FileSpot {
            offset: Some(offset),
            ..FileSpot::file(file)
        }
    }
}

impl fmt::Display for FileSpot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        match (self.line, self.offset) {
            (Some(l), _) => write!(f, ":{l}"),
            (None, Some(o)) => write!(f, "@{o}"),
            (None, None) => Ok(()),
        }
    }
}

/// Where a finding from captured inputs was seen: the trace event's line and time, the device
/// and queue, and the other file (QMP, ring dump) that holds the evidence. Every part is
/// optional: a dump-only finding has no trace line, an import problem no device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    /// Trace line of the event that shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Trace time (µs since the epoch) when the line had a timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_us: Option<u64>,
    /// Device (`virtio-blk@0x55e60c401370`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Queue index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<u16>,
    /// The evidence when it is not the trace: a QMP line, a ring dump, the guest's trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<FileSpot>,
    /// The step of a joined timeline (both sides' events) that shows it, when the finding
    /// needs both sides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
}

/// Where a finding is: a step of an engine run, or a place in captured inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Location {
    /// The micro step of an engine run at which it was detected, and the side that detected
    /// or caused it, if one did.
    Step {
        /// Micro step.
        step: u64,
        /// Driver or device.
        agent: Option<Agent>,
    },
    /// Trace replay, QMP or ring-dump evidence.
    Seen(Seen),
}

/// One recorded violation or notable event, from an engine run or from captured inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What kind.
    pub code: Code,
    /// How bad.
    pub severity: Severity,
    /// Where.
    pub at: Location,
    /// The message, in the words QEMU or Linux would use.
    pub message: String,
    /// Found by a side, or known only to ringside.
    #[serde(default)]
    pub source: FindingSource,
}

impl Finding {
    /// A finding in captured inputs with just a code, severity and message; add where with
    /// [`Finding::at`], [`Finding::on`] and [`Finding::from_file`].
    pub fn seen(code: Code, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            code,
            severity,
            at: Location::Seen(Seen::default()),
            message: message.into(),
            // What a detector reads in captured inputs is a detection, like a real peer's.
            source: FindingSource::Detected,
        }
    }

    fn seen_mut(&mut self) -> Option<&mut Seen> {
        match &mut self.at {
            Location::Seen(s) => Some(s),
            Location::Step { .. } => None,
        }
    }

    /// Sets the trace line and time (captured-input findings).
    pub fn at(mut self, line: u64, time_us: Option<u64>) -> Finding {
        if let Some(s) = self.seen_mut() {
            s.line = Some(line);
            s.time_us = time_us;
        }
        self
    }
    /// Sets device and queue (captured-input findings).
    pub fn on(mut self, device: impl Into<String>, queue: Option<u16>) -> Finding {
        if let Some(s) = self.seen_mut() {
            s.device = Some(device.into());
            s.queue = queue;
        }
        self
    }
    /// Sets the evidence file (captured-input findings).
    pub fn from_file(mut self, spot: FileSpot) -> Finding {
        if let Some(s) = self.seen_mut() {
            s.evidence = Some(spot);
        }
        self
    }
    /// Sets the joined timeline's step (findings that need both sides).
    pub fn at_step(mut self, step: u64) -> Finding {
        if let Some(s) = self.seen_mut() {
            s.step = Some(step);
        }
        self
    }

    /// The engine step, for an engine finding.
    pub fn step(&self) -> Option<u64> {
        match self.at {
            Location::Step { step, .. } => Some(step),
            Location::Seen(_) => None,
        }
    }
    /// The side that detected or caused an engine finding.
    pub fn agent(&self) -> Option<Agent> {
        match self.at {
            Location::Step { agent, .. } => agent,
            Location::Seen(_) => None,
        }
    }
    /// Where a captured-input finding was seen.
    pub fn seen_at(&self) -> Option<&Seen> {
        match &self.at {
            Location::Seen(s) => Some(s),
            Location::Step { .. } => None,
        }
    }
    /// The trace line of a captured-input finding, if it has one.
    pub fn line(&self) -> Option<u64> {
        self.seen_at().and_then(|s| s.line)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Location::Step { step, agent } => {
                write!(f, "step {step}: {} [{}]", self.severity, self.code)?;
                if let Some(a) = agent {
                    write!(f, " {a}")?;
                }
            }
            Location::Seen(s) => {
                write!(f, "{}[{}]", self.severity, self.code)?;
                if let Some(e) = &s.evidence {
                    write!(f, " {e}")?;
                }
                if let Some(l) = s.line {
                    write!(f, " line {l}")?;
                }
                if let Some(t) = s.time_us {
                    write!(f, " @{}", fmt_time(t))?;
                }
                if let Some(st) = s.step {
                    write!(f, " step {st}")?;
                }
                if let Some(d) = &s.device {
                    write!(f, " {d}")?;
                    if let Some(q) = s.queue {
                        write!(f, " q{q}")?;
                    }
                }
            }
        }
        if self.source == FindingSource::GroundTruth {
            f.write_str(" (ground truth)")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Whether any finding is an error (what `ringside check` exits 1 on).
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}

/// The findings of a run, in step order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    /// Records a finding a side detected, with the code's own severity.
    pub fn push(&mut self, code: Code, step: u64, agent: Option<Agent>, message: String) {
        self.record(code, step, agent, message, FindingSource::Detected);
    }
    /// Records a finding only ringside's ledger or audit can know (see
    /// [`FindingSource::GroundTruth`]).
    pub fn ground_truth(&mut self, code: Code, step: u64, agent: Option<Agent>, message: String) {
        self.record(code, step, agent, message, FindingSource::GroundTruth);
    }
    fn record(
        &mut self,
        code: Code,
        step: u64,
        agent: Option<Agent>,
        message: String,
        source: FindingSource,
    ) {
        self.0.push(Finding {
            code,
            severity: code.severity(),
            at: Location::Step { step, agent },
            message,
            source,
        });
    }
    /// Whether any finding has this code.
    pub fn has(&self, code: Code) -> bool {
        self.0.iter().any(|f| f.code == code)
    }
    /// Number of findings with at least this severity.
    pub fn count_at_least(&self, s: Severity) -> usize {
        self.0.iter().filter(|f| f.severity >= s).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_their_own_names_and_serialize_kebab_case() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.name()), Some(*c));
        }
        for c in Code::TRACE {
            assert_eq!(Code::parse_trace(c.name()), Some(*c));
        }
        for c in Code::EVERY {
            assert!(
                Code::ALL.contains(c) || Code::TRACE.contains(c),
                "{c} in no family"
            );
            assert_eq!(
                serde_json::to_string(c).unwrap(),
                format!("\"{}\"", c.name())
            );
        }
        assert_eq!(Code::parse("loop"), None);
        // The families keep their words: a scenario cannot name a trace-only code.
        assert_eq!(Code::parse("leak"), None);
        assert_eq!(Code::parse_trace("lost-buffer"), None);
        assert_eq!(Code::parse_trace("stall"), Some(Code::Stall));
        let mut names: Vec<&str> = Code::EVERY.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::EVERY.len(), "a name used twice");
    }
}
