//! Protocol violations, reported as findings instead of panics.
//!
//! Real devices and drivers meet broken peers; QEMU marks the device broken and Linux prints
//! `BAD_RING`. ringside records the violation with the step it happened at and a message worded
//! like those implementations' own errors, then carries on wherever the spec lets it.

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
    ($($(#[$doc:meta])* $name:ident = $text:literal, $sev:ident;)*) => {
        /// What kind of violation a finding reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum Code { $($(#[$doc])* $name,)* }

        impl Code {
            /// Every code, for documentation and parsing.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];
            /// The stable kebab-case name used in scenarios and JSON.
            pub fn name(self) -> &'static str {
                match self { $(Code::$name => $text,)* }
            }
            /// The severity this kind of finding carries.
            pub fn severity(self) -> Severity {
                match self { $(Code::$name => Severity::$sev,)* }
            }
            /// Parses a kebab-case name.
            pub fn parse(s: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.name() == s)
            }
        }
    };
}

codes! {
    /// The available index moved by more than the queue size (QEMU: "Guest moved used index").
    AvailIdxJump = "avail-idx-jump", Error;
    /// The used index moved by more than the queue size.
    UsedIdxJump = "used-idx-jump", Error;
    /// An available ring entry names a descriptor beyond the table.
    HeadOutOfRange = "head-out-of-range", Error;
    /// A `next` field points beyond the table.
    NextOutOfRange = "next-out-of-range", Error;
    /// A chain visits more descriptors than the table holds.
    LoopedDescriptor = "looped-descriptor", Error;
    /// A device-readable descriptor follows a device-writable one.
    ReadableAfterWritable = "readable-after-writable", Error;
    /// A descriptor has both INDIRECT and NEXT.
    IndirectWithNext = "indirect-with-next", Error;
    /// An indirect table contains an INDIRECT descriptor.
    NestedIndirect = "nested-indirect", Error;
    /// An indirect table's length is zero or not a multiple of 16.
    IndirectBadSize = "indirect-bad-size", Error;
    /// INDIRECT used without VIRTIO_F_INDIRECT_DESC negotiated.
    IndirectNotNegotiated = "indirect-not-negotiated", Error;
    /// The device returned an id that is not a valid head or buffer ID.
    UsedIdOutOfRange = "used-id-out-of-range", Error;
    /// The device returned an id that is not outstanding.
    UsedIdNotOutstanding = "used-id-not-outstanding", Error;
    /// The driver made a buffer ID available that is still outstanding.
    IdReused = "id-reused", Error;
    /// A side wrote a descriptor or buffer the other side owns.
    OwnershipViolation = "ownership-violation", Error;
    /// The device wrote into a device-readable buffer.
    DeviceWroteReadable = "device-wrote-readable", Error;
    /// The device reported more bytes written than the writable part holds.
    UsedLenTooLong = "used-len-too-long", Error;
    /// Used len is non-zero but WRITE is clear in a packed used descriptor.
    UsedLenWithoutWrite = "used-len-without-write", Warning;
    /// The buffer ID sits only in the last descriptor, where devices that read the head (QEMU
    /// 4.2 to 9.0) miss it.
    IdPlacement = "id-placement", Warning;
    /// A packed descriptor's AVAIL/USED bits disagree with the wrap counter that should see them.
    WrapDesync = "wrap-desync", Error;
    /// A buffer was made available and never used.
    LostBuffer = "lost-buffer", Warning;
    /// Work is pending and neither side will be woken.
    Stall = "stall", Error;
    /// A notification was required and not sent.
    MissedNotification = "missed-notification", Error;
    /// Part of a batch or multi-buffer request was exposed before the rest was written.
    PartialPublication = "partial-publication", Error;
    /// A status bit was cleared without a reset.
    StatusCleared = "status-cleared", Error;
    /// A status bit was set out of the order §3.1 requires.
    StatusOrder = "status-order", Error;
    /// Feature bits written after FEATURES_OK.
    FeaturesAfterOk = "features-after-ok", Error;
    /// The driver accepted a bit the device did not offer.
    FeatureNotOffered = "feature-not-offered", Error;
    /// The device cleared FEATURES_OK: it refused the driver's subset.
    FeaturesRefused = "features-refused", Info;
    /// The driver notified, or the device touched the queue, before DRIVER_OK.
    BeforeDriverOk = "before-driver-ok", Error;
    /// A packed ring was asked for without VIRTIO_F_RING_PACKED negotiated.
    PackedNotNegotiated = "packed-not-negotiated", Warning;
    /// The driver had no room for a buffer.
    QueueFull = "queue-full", Info;
    /// The device had nothing to pop or complete.
    NothingToDo = "nothing-to-do", Info;
    /// The device reset, or asked for one.
    Reset = "reset", Info;
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

/// One recorded violation or notable event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What kind.
    pub code: Code,
    /// How bad.
    pub severity: Severity,
    /// Micro step at which it was detected.
    pub step: u64,
    /// Which side detected or caused it, if one did.
    pub agent: Option<Agent>,
    /// The message, in the words QEMU or Linux would use.
    pub message: String,
    /// Found by a side, or known only to ringside.
    #[serde(default)]
    pub source: FindingSource,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {}: {} [{}]", self.step, self.severity, self.code)?;
        if let Some(a) = self.agent {
            write!(f, " {a}")?;
        }
        if self.source == FindingSource::GroundTruth {
            f.write_str(" (ground truth)")?;
        }
        write!(f, ": {}", self.message)
    }
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
            step,
            agent,
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
            assert_eq!(
                serde_json::to_string(c).unwrap(),
                format!("\"{}\"", c.name())
            );
        }
        assert_eq!(Code::parse("loop"), None);
    }
}
