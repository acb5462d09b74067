//! The breakpoint condition language.
//!
//! ```text
//! used.idx == 7            a field takes a value (== != < <= > >=, decimal or 0x hex):
//!                          stops right after the store that makes the comparison true
//! store desc[3].flags      any store (load, access) of a field: a watchpoint
//! xfer desc[*].flags       an access to a field causes a modelled cache-line transfer
//!                          (`transfer` too; `[*]` matches every index)
//! finding [CODE]           a finding is raised (of that code)
//! op NAME|KIND             an op starts (pop, kick, fill ... or consume, notify ...)
//! kick, interrupt          the driver notifies the device (a kick), or the device notifies
//!                          the driver (an interrupt); `notify device` and `notify driver`
//!                          say the same by the side notified, `notify` is either
//! ```
//!
//! Field names are the ones ringside shows everywhere: `desc[3].flags`, `avail.ring[5]`,
//! `used.ring[2].len`, `used_event`, `driver_event.off_wrap`, `status`.
//!
//! On a QEMU trace the same language reads trace state instead of memory:
//!
//! ```text
//! blk0.q0.inuse > 3        a queue counter starts to satisfy a comparison (queues are named
//!                          by device type, its number among devices of that type, and index)
//! event virtqueue_pop      an event of this name (a bare `virtqueue_*`/`virtio_*`/`vhost_*`
//!                          name works too)
//! finding [CODE]           a detector's finding (codes of docs/trace-format.md §6)
//! kick, interrupt          a kick (`virtio_queue_notify`) or an interrupt (`virtio_notify`)
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Dir, ParseError};
use crate::finding::Code;
use crate::memory::{AccessKind, Agent, DescPart, Field};
use crate::op::OpKind;
pub use crate::trace::counter::Counter;

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cmp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Cmp {
    const ALL: [(&'static str, Cmp); 6] = [
        ("==", Cmp::Eq),
        ("!=", Cmp::Ne),
        ("<=", Cmp::Le),
        (">=", Cmp::Ge),
        ("<", Cmp::Lt),
        (">", Cmp::Gt),
    ];

    pub(crate) fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    fn symbol(self) -> &'static str {
        Self::ALL.iter().find(|c| c.1 == self).map_or("==", |c| c.0)
    }
}

/// When to stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Condition {
    /// A field's value starts to satisfy a comparison.
    Value {
        /// The field.
        field: Field,
        /// The comparison.
        cmp: Cmp,
        /// The value compared with.
        value: u64,
    },
    /// An access to a field (of one kind, or any).
    Access {
        /// Load, store, or either.
        kind: Option<AccessKind>,
        /// The field.
        field: Field,
    },
    /// An access to a field that causes a modelled cache-line transfer.
    Transfer(FieldPattern),
    /// A finding (of one code, or any): a scenario code or a trace detector's code.
    Finding(Option<String>),
    /// An op of this name (`pop`) or kind (`consume`) starts.
    Op(String),
    /// A notification to one side, or either: to the device a kick, to the driver an
    /// interrupt (the spec's words: the driver notifies the device, the device notifies the
    /// driver).
    Notify(Option<Agent>),
    /// Trace: an event of this name.
    Event(String),
    /// Joined trace: an event of one buffer's path (its add, kick, pop, fill, used, interrupt,
    /// handler, detach or reap).
    Buffer(BufferRef),
    /// Trace: a queue counter starts to satisfy a comparison.
    Counter {
        /// The queue, as `blk0.q0`.
        queue: String,
        /// The counter.
        counter: Counter,
        /// The comparison.
        cmp: Cmp,
        /// The value compared with.
        value: u64,
    },
}

/// A field name in which `[*]` stands for any index: `desc[*].flags`, `avail.ring[*]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldPattern(String);

impl FieldPattern {
    /// Parses a field or a pattern; `None` when it names no field.
    pub fn parse(s: &str) -> Option<FieldPattern> {
        if s.matches("[*]").count() > 1 {
            return None;
        }
        parse_field(&s.replace("[*]", "[0]")).map(|_| FieldPattern(s.to_string()))
    }

    /// Whether a field matches.
    pub fn matches(&self, f: Field) -> bool {
        let name = f.to_string();
        match self.0.split_once("[*]") {
            None => name == self.0,
            Some((head, tail)) => name
                .strip_prefix(head)
                .and_then(|r| r.strip_prefix('['))
                .and_then(|r| r.split_once(']'))
                .is_some_and(|(n, rest)| {
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && rest == tail
                }),
        }
    }
}

impl fmt::Display for FieldPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A breakpoint: a condition, shown and saved in its canonical text.
pub type Breakpoint = Condition;

/// Names `Op::name` gives, for checking `op NAME`.
const OP_NAMES: &[&str] = &[
    "negotiate",
    "set_status",
    "write_features",
    "reset",
    "needs_reset",
    "add",
    "publish",
    "kick",
    "disable_cb",
    "enable_cb",
    "get_buf",
    "pop",
    "fill",
    "flush",
    "notify",
    "disable_notify",
    "enable_notify",
    "driver_fault",
    "device_fault",
];

/// The op kind a name stands for in `op KIND`, if it names one.
pub fn op_kind(name: &str) -> Option<OpKind> {
    KINDS.iter().find(|k| k.0 == name).map(|k| k.1)
}

const KINDS: &[(&str, OpKind)] = &[
    ("transport", OpKind::Transport),
    ("produce", OpKind::Produce),
    ("consume", OpKind::Consume),
    ("complete", OpKind::Complete),
    ("reclaim", OpKind::Reclaim),
    ("notify", OpKind::Notify),
    ("fault", OpKind::Fault),
];

const FIXED_FIELDS: &[(&str, Field)] = &[
    ("avail.flags", Field::AvailFlags),
    ("avail.idx", Field::AvailIdx),
    ("used_event", Field::UsedEvent),
    ("used.flags", Field::UsedFlags),
    ("used.idx", Field::UsedIdx),
    ("avail_event", Field::AvailEvent),
    ("driver_event.off_wrap", Field::DriverEventOffWrap),
    ("driver_event.flags", Field::DriverEventFlags),
    ("device_event.off_wrap", Field::DeviceEventOffWrap),
    ("device_event.flags", Field::DeviceEventFlags),
    ("status", Field::Status),
    ("queue_notify", Field::QueueNotify),
    ("isr", Field::InterruptStatus),
];

const FIELD_HINT: &str = "fields look like used.idx, avail.idx, desc[3].flags, avail.ring[2], used.ring[0].len, used_event, driver_event.flags, status";

/// Parses a field name as ringside prints it (`desc[3].flags`, `used.ring[2].id`).
pub fn parse_field(s: &str) -> Option<Field> {
    if let Some((_, f)) = FIXED_FIELDS.iter().find(|(n, _)| *n == s) {
        return Some(*f);
    }
    let index = |rest: &str| -> Option<(u16, String)> {
        let (n, tail) = rest.split_once(']')?;
        Some((n.parse().ok()?, tail.to_string()))
    };
    if let Some(rest) = s.strip_prefix("desc[") {
        let (index, tail) = index(rest)?;
        let part = match tail.as_str() {
            ".addr" => DescPart::Addr,
            ".len" => DescPart::Len,
            ".flags" => DescPart::Flags,
            ".next" => DescPart::Next,
            ".id" => DescPart::Id,
            _ => return None,
        };
        return Some(Field::Desc { index, part });
    }
    if let Some(rest) = s.strip_prefix("avail.ring[") {
        let (n, tail) = index(rest)?;
        return tail.is_empty().then_some(Field::AvailRing(n));
    }
    if let Some(rest) = s.strip_prefix("used.ring[") {
        let (n, tail) = index(rest)?;
        return match tail.as_str() {
            ".id" => Some(Field::UsedId(n)),
            ".len" => Some(Field::UsedLen(n)),
            _ => None,
        };
    }
    None
}

/// A cursor over the condition text that knows its column.
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn column(&self) -> usize {
        self.text[..self.pos].chars().count() + 1
    }

    /// The next run of characters that can make up a name, field or number.
    fn word(&mut self) -> (usize, &'a str) {
        self.word_with("")
    }

    /// [`Lexer::word`], also taking the characters in `extra`.
    fn word_with(&mut self, extra: &str) -> (usize, &'a str) {
        self.skip_ws();
        let col = self.column();
        let rest = &self.text[self.pos..];
        let n = rest
            .find(|c: char| {
                !(c.is_ascii_alphanumeric() || "_.[]-".contains(c) || extra.contains(c))
            })
            .unwrap_or(rest.len());
        self.pos += n;
        (col, &rest[..n])
    }

    fn end(&mut self) -> Result<(), ParseError> {
        self.skip_ws();
        if self.pos < self.text.len() {
            return Err(ParseError::new(
                self.column(),
                format!("unexpected `{}`", &self.text[self.pos..]),
                "nothing may follow the condition",
            ));
        }
        Ok(())
    }
}

fn field_at(col: usize, w: &str) -> Result<Field, ParseError> {
    if w.is_empty() {
        return Err(ParseError::new(col, "expected a field", FIELD_HINT));
    }
    parse_field(w).ok_or_else(|| ParseError::new(col, format!("unknown field `{w}`"), FIELD_HINT))
}

/// `blk0.q0.inuse`: a queue name (`<type><n>.q<index>`) and a counter. `None` when the word
/// does not have the shape of a queue name; an error at the counter when only that is wrong.
fn queue_counter(col: usize, w: &str) -> Result<Option<(String, Counter)>, ParseError> {
    let mut parts = w.splitn(3, '.');
    let (Some(dev), Some(q), rest) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(None);
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let dev_ok = dev.find(|c: char| c.is_ascii_digit()).is_some_and(|i| {
        i > 0 && digits(&dev[i..]) && dev[..i].bytes().all(|b| b.is_ascii_lowercase())
    });
    if !dev_ok || !q.strip_prefix('q').is_some_and(digits) {
        return Ok(None);
    }
    let names: Vec<&str> = Counter::ALL.iter().map(|c| c.0).collect();
    let at = col + dev.len() + q.len() + 2;
    let rest = rest.unwrap_or("");
    match Counter::ALL.iter().find(|c| c.0 == rest) {
        Some(&(_, c)) => Ok(Some((format!("{dev}.{q}"), c))),
        None => Err(ParseError::new(
            at,
            if rest.is_empty() {
                format!("`{dev}.{q}` needs a counter")
            } else {
                format!("unknown queue counter `{rest}`")
            },
            format!("counters: {}", names.join(", ")),
        )),
    }
}

fn number(col: usize, w: &str) -> Result<u64, ParseError> {
    let parsed = match w.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => w.parse(),
    };
    parsed.map_err(|_| {
        ParseError::new(
            col,
            if w.is_empty() {
                "expected a number".to_string()
            } else {
                format!("`{w}` is not a number")
            },
            "write a decimal number or 0x followed by hex digits",
        )
    })
}

impl Condition {
    /// Parses a condition.
    pub fn parse(text: &str) -> Result<Condition, ParseError> {
        let mut lx = Lexer { text, pos: 0 };
        let (col, first) = lx.word();
        let cond = match first {
            "" => {
                return Err(ParseError::new(
                    col,
                    "empty condition",
                    "try `used.idx == 1`, `store desc[0].flags`, `finding`, `op pop`, `notify` or, in a joined trace, `buffer 0x…`",
                ));
            }
            "finding" => {
                let (col, w) = lx.word();
                if w.is_empty() {
                    Condition::Finding(None)
                } else if Code::parse(w).is_some() || Code::parse_trace(w).is_some() {
                    Condition::Finding(Some(w.to_string()))
                } else {
                    let codes: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
                    let trace: Vec<&str> = Code::TRACE.iter().map(|c| c.name()).collect();
                    return Err(ParseError::new(
                        col,
                        format!("unknown finding code `{w}`"),
                        format!(
                            "codes: {}; in traces: {}",
                            codes.join(", "),
                            trace.join(", ")
                        ),
                    ));
                }
            }
            "xfer" | "transfer" => {
                let (col, w) = lx.word_with("*");
                if w.is_empty() {
                    return Err(ParseError::new(col, "expected a field", FIELD_HINT));
                }
                Condition::Transfer(FieldPattern::parse(w).ok_or_else(|| {
                    ParseError::new(
                        col,
                        format!("unknown field `{w}`"),
                        format!("{FIELD_HINT}; `[*]` matches any index, as in desc[*].flags"),
                    )
                })?)
            }
            "event" => {
                let (col, w) = lx.word();
                if w.is_empty() {
                    return Err(ParseError::new(
                        col,
                        "expected an event name",
                        "write a QEMU trace event name, as in `event virtqueue_pop`",
                    ));
                }
                Condition::Event(w.to_string())
            }
            w if ["virtqueue_", "virtio_", "vhost_"]
                .iter()
                .any(|p| w.starts_with(p)) =>
            {
                Condition::Event(w.to_string())
            }
            "op" => {
                let (col, w) = lx.word();
                if !OP_NAMES.contains(&w) && !KINDS.iter().any(|k| k.0 == w) {
                    let kinds: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
                    return Err(ParseError::new(
                        col,
                        format!("unknown op `{w}`"),
                        format!("ops: {}; kinds: {}", OP_NAMES.join(", "), kinds.join(", ")),
                    ));
                }
                Condition::Op(w.to_string())
            }
            "buffer" | "id" => Condition::Buffer(buffer_ref(first, &mut lx)?),
            "kick" => Condition::Notify(Some(Agent::Device)),
            "interrupt" => Condition::Notify(Some(Agent::Driver)),
            "notify" => {
                let (col, w) = lx.word();
                let agent = match w {
                    "" => None,
                    "device" | "kick" => Some(Agent::Device),
                    "driver" | "interrupt" => Some(Agent::Driver),
                    _ => {
                        return Err(ParseError::new(
                            col,
                            format!("unknown side `{w}`"),
                            "write `kick` (the driver notifies the device), `interrupt` (the device notifies the driver) or `notify` (either)",
                        ));
                    }
                };
                Condition::Notify(agent)
            }
            "store" | "load" | "access" => {
                let (col, w) = lx.word();
                let kind = match first {
                    "store" => Some(AccessKind::Store),
                    "load" => Some(AccessKind::Load),
                    _ => None,
                };
                Condition::Access {
                    kind,
                    field: field_at(col, w)?,
                }
            }
            w => {
                let target = match queue_counter(col, w)? {
                    Some(qc) => Err(qc),
                    None => Ok(field_at(col, w)?),
                };
                lx.skip_ws();
                let col = lx.column();
                let rest = &text[lx.pos..];
                let Some(&(sym, cmp)) = Cmp::ALL.iter().find(|(s, _)| rest.starts_with(s)) else {
                    return Err(ParseError::new(
                        col,
                        "expected a comparison",
                        "write one of == != < <= > >= and a value, as in `used.idx == 7`",
                    ));
                };
                lx.pos += sym.len();
                let (col, w) = lx.word();
                let value = number(col, w)?;
                match target {
                    Ok(field) => Condition::Value { field, cmp, value },
                    Err((queue, counter)) => Condition::Counter {
                        queue,
                        counter,
                        cmp,
                        value,
                    },
                }
            }
        };
        lx.end()?;
        Ok(cond)
    }

    /// Whether it reads only trace state (it never stops a scenario).
    pub fn trace_only(&self) -> bool {
        matches!(
            self,
            Condition::Event(_) | Condition::Counter { .. } | Condition::Buffer(_)
        )
    }

    /// Whether it reads only a scenario's memory, ops or cache model.
    pub fn scenario_only(&self) -> bool {
        matches!(
            self,
            Condition::Value { .. }
                | Condition::Access { .. }
                | Condition::Transfer(_)
                | Condition::Op(_)
        )
    }
}

/// A buffer as a user names it in a joined trace: the driver's token (`buffer 0xffff…`) or its
/// head / buffer ID (`id 5`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BufferRef {
    /// The driver's token (`data` at the add, `token` at the reap).
    Token(u64),
    /// The head (split ring) or buffer ID (packed ring).
    Id(u32),
}

impl fmt::Display for BufferRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BufferRef::Token(t) => write!(f, "buffer {t:#x}"),
            BufferRef::Id(i) => write!(f, "id {i}"),
        }
    }
}

/// `buffer 0x…` (a token; a decimal number is an ID) or `id N`, after its first word.
fn buffer_ref(first: &str, lx: &mut Lexer<'_>) -> Result<BufferRef, ParseError> {
    let (col, w) = lx.word();
    let v = number(col, w).map_err(|e| ParseError {
        hint: format!(
            "write `buffer 0x…` with the driver's token (data= at the add) or `id N` with the \
             head or buffer ID; {}",
            e.hint
        ),
        ..e
    })?;
    Ok(if first == "buffer" && w.starts_with("0x") {
        BufferRef::Token(v)
    } else {
        BufferRef::Id(u32::try_from(v).map_err(|_| {
            ParseError::new(
                col,
                format!("`{w}` is too large for an ID"),
                "heads and IDs are below 32768",
            )
        })?)
    })
}

/// Parses what follows `buffer` or `id` (the palette's commands of those names).
pub(crate) fn parse_buffer_ref(first: &str, rest: &str) -> Result<BufferRef, ParseError> {
    let mut lx = Lexer { text: rest, pos: 0 };
    let b = buffer_ref(first, &mut lx)?;
    lx.end()?;
    Ok(b)
}

/// The first hit after `cursor` (forward) or the last before it (back).
pub(crate) fn next_hit(hits: &[u64], cursor: u64, dir: Dir) -> Option<u64> {
    match dir {
        Dir::Forward => hits.iter().copied().find(|&h| h > cursor),
        Dir::Back => hits.iter().rev().copied().find(|&h| h < cursor),
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Value { field, cmp, value } => {
                write!(f, "{field} {} {value}", cmp.symbol())
            }
            Condition::Access { kind, field } => {
                let k = match kind {
                    Some(AccessKind::Store) => "store",
                    Some(AccessKind::Load) => "load",
                    None => "access",
                };
                write!(f, "{k} {field}")
            }
            Condition::Transfer(p) => write!(f, "xfer {p}"),
            Condition::Finding(None) => f.write_str("finding"),
            Condition::Finding(Some(c)) => write!(f, "finding {c}"),
            Condition::Event(n) => write!(f, "event {n}"),
            Condition::Counter {
                queue,
                counter,
                cmp,
                value,
            } => write!(f, "{queue}.{} {} {value}", counter.name(), cmp.symbol()),
            Condition::Op(n) => write!(f, "op {n}"),
            Condition::Notify(None) => f.write_str("notify"),
            Condition::Notify(Some(Agent::Device)) => f.write_str("kick"),
            Condition::Notify(Some(Agent::Driver)) => f.write_str("interrupt"),
            Condition::Buffer(b) => write!(f, "{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn conditions_parse_and_print_canonically() {
        for text in [
            "used.idx == 7",
            "avail.idx >= 3",
            "desc[3].flags != 0",
            "store desc[0].flags",
            "load used.ring[0].len",
            "access avail.ring[2]",
            "finding",
            "finding stall",
            "op pop",
            "op consume",
            "notify",
            "kick",
            "interrupt",
            "status == 15",
            "xfer avail.idx",
            "xfer desc[*].flags",
            "xfer used.ring[*].len",
            "finding missing-notification",
            "event virtqueue_pop",
            "blk0.q0.inuse > 3",
            "net0.q2.last_avail_idx == 7",
        ] {
            let c = Condition::parse(text).unwrap();
            assert_eq!(c.to_string(), text);
        }
        assert_eq!(
            Condition::parse("  used.idx==0x10").unwrap().to_string(),
            "used.idx == 16"
        );
        assert_eq!(
            Condition::parse("transfer used_event").unwrap().to_string(),
            "xfer used_event"
        );
        assert_eq!(
            Condition::parse("virtqueue_flush").unwrap().to_string(),
            "event virtqueue_flush"
        );
        // The spec's direction words: the driver notifies the device (a kick), the device
        // notifies the driver (an interrupt).
        for (text, canonical) in [
            ("notify device", "kick"),
            ("notify kick", "kick"),
            ("notify driver", "interrupt"),
            ("notify interrupt", "interrupt"),
        ] {
            assert_eq!(Condition::parse(text).unwrap().to_string(), canonical);
        }
    }

    #[test]
    fn every_printed_field_parses_back() {
        let s = Scenario::tutorial_start().unwrap().session().unwrap();
        for a in s.log() {
            if !matches!(
                a.field,
                Field::Payload { .. }
                    | Field::DeviceFeatures { .. }
                    | Field::DriverFeatures { .. }
                    | Field::QueueConfig
                    | Field::Other
                    | Field::Indirect { .. }
            ) {
                assert_eq!(
                    parse_field(&a.field.to_string()),
                    Some(a.field),
                    "{}",
                    a.field
                );
            }
        }
    }

    #[test]
    fn errors_give_the_column_and_a_hint() {
        let e = Condition::parse("used.idz == 7").unwrap_err();
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unknown field `used.idz`"), "{e}");
        assert!(e.hint.contains("used.idx"), "{e}");

        let e = Condition::parse("used.idx = 7").unwrap_err();
        assert_eq!(
            (e.column, e.message.as_str()),
            (10, "expected a comparison")
        );

        let e = Condition::parse("used.idx == seven").unwrap_err();
        assert_eq!(e.column, 13);
        assert!(e.hint.contains("0x"), "{e}");

        let e = Condition::parse("finding stal").unwrap_err();
        assert_eq!(e.column, 9);
        assert!(e.hint.contains("stall"), "{e}");

        let e = Condition::parse("op popp").unwrap_err();
        assert_eq!(e.column, 4);

        let e = Condition::parse("used.idx == 1 and more").unwrap_err();
        assert_eq!(e.column, 15);
        assert_eq!(Condition::parse("").unwrap_err().column, 1);
    }

    #[test]
    fn trace_and_transfer_errors_give_the_column_and_a_hint() {
        let e = Condition::parse("blk0.q0.inuze > 3").unwrap_err();
        assert_eq!(e.column, 9);
        assert!(
            e.message.contains("inuze") && e.hint.contains("inuse"),
            "{e}"
        );
        let e = Condition::parse("  blk0.q0 > 3").unwrap_err();
        assert_eq!(e.column, 11);
        assert!(e.message.contains("needs a counter"), "{e}");
        let e = Condition::parse("blk0.q0.inuse >> 3").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (16, "expected a number"));
        let e = Condition::parse("xfer desc[*].flagz").unwrap_err();
        assert_eq!(e.column, 6);
        assert!(e.hint.contains("[*]"), "{e}");
        let e = Condition::parse("xfer").unwrap_err();
        assert_eq!((e.column, e.message.as_str()), (5, "expected a field"));
        let e = Condition::parse("xfer desc[*].flags[*]").unwrap_err();
        assert_eq!(e.column, 6);
        let e = Condition::parse("event").unwrap_err();
        assert_eq!(e.column, 6);
        let e = Condition::parse("finding stal").unwrap_err();
        assert!(e.hint.contains("missing-notification"), "{e}");
    }

    #[test]
    fn field_patterns_match_every_index_and_nothing_else() {
        let p = FieldPattern::parse("desc[*].flags").unwrap();
        for index in [0, 3, 255] {
            assert!(p.matches(Field::Desc {
                index,
                part: DescPart::Flags
            }));
        }
        assert!(!p.matches(Field::Desc {
            index: 3,
            part: DescPart::Len
        }));
        assert!(!p.matches(Field::AvailRing(3)));
        let exact = FieldPattern::parse("avail.ring[2]").unwrap();
        assert!(exact.matches(Field::AvailRing(2)) && !exact.matches(Field::AvailRing(3)));
        assert!(
            FieldPattern::parse("avail.ring[*]")
                .unwrap()
                .matches(Field::AvailRing(9))
        );
        assert!(FieldPattern::parse("desc[*].nope").is_none());
    }

    #[test]
    fn op_names_are_the_engine_s() {
        let s = Scenario::tutorial_start().unwrap().session().unwrap();
        for op in s.ops() {
            assert!(OP_NAMES.contains(&op.name()), "{}", op.name());
        }
    }
}
