//! QMP transcripts: what QEMU itself says about its virtqueues.
//!
//! The trace only shows events; QMP shows state: `x-query-virtio-queue-status` gives QEMU's own
//! `last_avail_idx`, `used_idx`, `inuse` and `signalled_used`, and
//! `x-query-virtio-queue-element` the descriptors of the next element plus `avail`/`used`
//! indices and flags (qapi/virtio.json, QEMU 7.2). Replay uses them to fill in what the trace
//! lacks and to cross-check its own counters.
//!
//! Accepted input: JSON objects one per line (a transcript with commands and replies, as
//! `traces/qmp.py` writes, or replies alone), pretty-printed objects one after another, or a
//! JSON array of them. Replies are paired with commands by `id`, else in order. Every `stop`
//! command starts a new snapshot; QMP `STOP` events give its wall-clock time.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::trace::error::{ImportWarning, TraceError, Warnings};

/// One device from `x-query-virtio`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VirtioDevice {
    /// QEMU's device name (`virtio-blk`).
    pub name: String,
    /// QOM path (`/machine/peripheral/blk0/virtio-backend`).
    pub path: String,
}

/// `x-query-virtio-status` (VirtioStatus), the fields replay uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceStatus {
    /// QOM path (from the command).
    pub path: Option<String>,
    /// Device name.
    pub name: String,
    /// Virtio device id.
    pub device_id: Option<u64>,
    /// Status byte rebuilt from the `statuses` strings.
    pub status: u8,
    /// Negotiated feature names (`VIRTIO_RING_F_EVENT_IDX`, …), transport and device.
    pub guest_features: Vec<String>,
    /// Offered feature names.
    pub host_features: Vec<String>,
    /// Number of virtqueues.
    pub num_vqs: Option<u64>,
    /// A vhost backend serves the rings (`vhost-dev` present).
    pub vhost: bool,
    /// QEMU marked the device broken (`virtio_error`).
    pub broken: bool,
}

impl DeviceStatus {
    /// Whether a feature (by QEMU's name, e.g. `VIRTIO_F_RING_PACKED`) was negotiated.
    pub fn has(&self, feature: &str) -> bool {
        self.guest_features.iter().any(|f| f == feature)
    }
}

/// `x-query-virtio-queue-status` (VirtQueueStatus).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueStatus {
    /// QOM path (from the command).
    pub path: Option<String>,
    /// Device name.
    pub name: String,
    /// Queue index.
    pub queue_index: u16,
    /// Elements popped and not yet flushed.
    pub inuse: u32,
    /// Queue size.
    pub vring_num: u32,
    /// Next available index QEMU will read (packed: a slot).
    pub last_avail_idx: u16,
    /// QEMU's cached copy of `avail.idx`.
    pub shadow_avail_idx: u16,
    /// QEMU's `used_idx`.
    pub used_idx: u16,
    /// `used_idx` at the last notification QEMU sent.
    pub signalled_used: u16,
    /// Whether `signalled_used` is meaningful.
    pub signalled_used_valid: bool,
    /// Descriptor area guest address.
    pub vring_desc: u64,
    /// Driver area ("avail") guest address.
    pub vring_avail: u64,
    /// Device area ("used") guest address.
    pub vring_used: u64,
}

/// `x-query-virtio-vhost-queue-status` (VirtVhostQueueStatus): the vhost backend's view of a
/// ring, as QEMU gave it to the backend (`SET_VRING_NUM`/`SET_VRING_ADDR`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VhostQueueStatus {
    /// QOM path (from the command).
    pub path: Option<String>,
    /// Queue index (from the command).
    pub queue: Option<u16>,
    /// Device name.
    pub name: String,
    /// Ring size the backend was given.
    pub num: u32,
    /// Descriptor area guest-physical address.
    pub desc_phys: u64,
    /// Driver area guest-physical address.
    pub avail_phys: u64,
    /// Device area guest-physical address.
    pub used_phys: u64,
    /// Descriptor area bytes.
    pub desc_size: u64,
    /// Driver area bytes.
    pub avail_size: u64,
    /// Device area bytes.
    pub used_size: u64,
}

/// One descriptor of `x-query-virtio-queue-element`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElementDesc {
    /// Guest address.
    pub addr: u64,
    /// Length.
    pub len: u32,
    /// Flag names (`next`, `write`, `indirect`, `avail`, `used`).
    pub flags: Vec<String>,
}

/// `x-query-virtio-queue-element` (VirtioQueueElement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueElement {
    /// QOM path (from the command).
    pub path: Option<String>,
    /// Queue index (from the command).
    pub queue: Option<u16>,
    /// Device name.
    pub name: String,
    /// Descriptor head index.
    pub index: u32,
    /// The chain.
    pub descs: Vec<ElementDesc>,
    /// `avail.idx` (split only).
    pub avail_idx: Option<u16>,
    /// `avail.flags` (split only).
    pub avail_flags: Option<u16>,
    /// `used.idx` (split only).
    pub used_idx: Option<u16>,
    /// `used.flags` (split only).
    pub used_flags: Option<u16>,
}

/// What one QMP object was.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum QmpBody {
    /// The greeting.
    Greeting {
        /// `major.minor.micro`.
        version: String,
    },
    /// A command as sent.
    Command {
        /// `execute`.
        execute: String,
    },
    /// A `pmemsave` command as sent: guest memory saved to a file (a ring dump). With the queue
    /// statuses of the same snapshot it tells which area of which queue the file holds.
    Pmemsave {
        /// Guest-physical address (`val`).
        addr: u64,
        /// Bytes saved.
        size: u64,
        /// The file as QEMU was told it (`filename`).
        file: String,
    },
    /// `x-query-virtio`.
    Devices {
        /// The devices.
        devices: Vec<VirtioDevice>,
    },
    /// `x-query-virtio-status`.
    Status(DeviceStatus),
    /// `x-query-virtio-queue-status`.
    QueueStatus(QueueStatus),
    /// `x-query-virtio-queue-element`.
    Element(QueueElement),
    /// `x-query-virtio-vhost-queue-status`.
    VhostQueueStatus(VhostQueueStatus),
    /// An asynchronous event (`STOP`, `RESUME`, …).
    Event {
        /// Event name.
        name: String,
        /// Wall-clock time in µs since the epoch.
        time_us: Option<u64>,
        /// Its `data`, as `key value` pairs in words (`device d0, operation read, reason
        /// Input/output error, action stop`), empty when it has none.
        detail: String,
    },
    /// An error response.
    Error {
        /// The command it answers.
        command: String,
        /// Error class.
        class: String,
        /// Description.
        desc: String,
    },
    /// Any other reply (`return` of a command replay does not use).
    Reply {
        /// The command it answers, if known.
        command: String,
    },
}

/// One QMP object with its place in the file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QmpRecord {
    /// 1-based line where the object starts.
    pub line: u64,
    /// Snapshot number: how many `stop` commands came before (0 = none yet).
    pub snapshot: u32,
    /// What it was.
    pub body: QmpBody,
}

/// A whole QMP input.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QmpTranscript {
    /// File name.
    pub source: String,
    /// The objects in order.
    pub records: Vec<QmpRecord>,
    /// Wall-clock time (µs) of each snapshot's `STOP` event, index = snapshot - 1.
    pub stop_times: Vec<Option<u64>>,
    /// Problems.
    pub warnings: Warnings,
}

fn line_of(text: &[u8], offset: usize) -> u64 {
    1 + text
        .get(..offset.min(text.len()))
        .unwrap_or_default()
        .iter()
        .filter(|&&c| c == b'\n')
        .count() as u64
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}
fn u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

/// Feature names without QEMU's `: description` suffix.
fn feature_names(v: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["transports", "dev-features"] {
        if let Some(a) = v.and_then(|f| f.get(key)).and_then(Value::as_array) {
            for f in a.iter().filter_map(Value::as_str) {
                out.push(f.split(':').next().unwrap_or(f).trim().to_string());
            }
        }
    }
    out
}

fn status_byte(v: Option<&Value>) -> u8 {
    let mut st = 0u8;
    let list = v
        .and_then(|s| s.get("statuses"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for n in list.iter().filter_map(Value::as_str) {
        let name = n.split(':').next().unwrap_or(n);
        st |= match name.trim() {
            "VIRTIO_CONFIG_S_ACKNOWLEDGE" => 1,
            "VIRTIO_CONFIG_S_DRIVER" => 2,
            "VIRTIO_CONFIG_S_DRIVER_OK" => 4,
            "VIRTIO_CONFIG_S_FEATURES_OK" => 8,
            "VIRTIO_CONFIG_S_NEEDS_RESET" => 64,
            "VIRTIO_CONFIG_S_FAILED" => 128,
            _ => 0,
        };
    }
    st
}

struct Pending {
    execute: String,
    args: Value,
}

impl QmpTranscript {
    /// Parses QMP objects from bytes. Never fails: unparsable parts become warnings.
    pub fn parse(data: &[u8], source: &str) -> QmpTranscript {
        let mut t = QmpTranscript {
            source: source.to_string(),
            ..Default::default()
        };
        let mut objects: Vec<(u64, Value)> = Vec::new();
        let first = data.iter().position(|c| !c.is_ascii_whitespace());
        if first.and_then(|i| data.get(i)) == Some(&b'[') {
            match serde_json::from_slice::<Vec<Value>>(data) {
                Ok(vals) => {
                    // Line numbers of array elements are not tracked by serde; locate each
                    // element's start by re-scanning with a stream over the array body.
                    let lines = element_lines(data);
                    for (i, v) in vals.into_iter().enumerate() {
                        objects.push((lines.get(i).copied().unwrap_or(1), v));
                    }
                }
                Err(e) => t.warn(
                    e.line() as u64,
                    format!("the QMP array does not parse: {e}"),
                    "a JSON array of QMP objects",
                    "check for truncation; one object per line also works",
                ),
            }
        } else {
            let mut pos = first.unwrap_or(data.len());
            while pos < data.len() {
                let rest = data.get(pos..).unwrap_or_default();
                let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<Value>();
                match stream.next() {
                    None => break,
                    Some(Ok(v)) => {
                        let line = line_of(data, pos);
                        pos += stream.byte_offset();
                        objects.push((line, v));
                    }
                    Some(Err(e)) => {
                        let bad = pos + stream.byte_offset();
                        let line = line_of(data, bad.max(pos));
                        let what = if e.is_eof() {
                            "truncated JSON object".to_string()
                        } else {
                            format!("not a JSON object: {e}")
                        };
                        t.warn(
                            line,
                            what,
                            "one QMP JSON object (command, reply or event)",
                            "garbage and truncated lines are skipped",
                        );
                        // Skip to the next line and carry on.
                        let from = (bad.max(pos) + 1).min(data.len());
                        pos = match data
                            .get(from..)
                            .and_then(|r| r.iter().position(|&c| c == b'\n'))
                        {
                            Some(i) => from + i + 1,
                            None => data.len(),
                        };
                    }
                }
                while data.get(pos).is_some_and(u8::is_ascii_whitespace) {
                    pos += 1;
                }
            }
        }
        t.interpret(objects);
        t.warnings.list.sort_by_key(|w| w.line);
        t
    }

    fn warn(&mut self, line: u64, message: String, expected: &str, hint: &str) {
        self.warnings.push(ImportWarning {
            file: self.source.clone(),
            line: Some(line),
            offset: None,
            column: None,
            message,
            expected: expected.to_string(),
            hint: hint.to_string(),
        });
    }

    fn interpret(&mut self, objects: Vec<(u64, Value)>) {
        let mut by_id: HashMap<String, Pending> = HashMap::new();
        let mut fifo: Vec<Pending> = Vec::new();
        let mut snapshot = 0u32;
        let objects = objects
            .into_iter()
            .flat_map(|(line, v)| split_record(v).into_iter().map(move |v| (line, v)));
        for (line, v) in objects {
            let Some(obj) = v.as_object() else {
                self.warn(
                    line,
                    "a JSON value that is not an object".into(),
                    "a QMP object",
                    "QMP messages are JSON objects",
                );
                continue;
            };
            let id = obj.get("id").map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            let body = if let Some(g) = obj.get("QMP") {
                let ver = g.get("version").and_then(|v| v.get("qemu"));
                let n = |k| ver.and_then(|q| u(q, k)).unwrap_or(0);
                QmpBody::Greeting {
                    version: format!("{}.{}.{}", n("major"), n("minor"), n("micro")),
                }
            } else if let Some(exec) = obj.get("execute").and_then(Value::as_str) {
                let p = Pending {
                    execute: exec.to_string(),
                    args: obj.get("arguments").cloned().unwrap_or(Value::Null),
                };
                if exec == "stop" {
                    snapshot += 1;
                    self.stop_times.push(None);
                }
                let body = match (exec, &p.args) {
                    ("pmemsave", a) => QmpBody::Pmemsave {
                        addr: u(a, "val").unwrap_or(0),
                        size: u(a, "size").unwrap_or(0),
                        file: s(a, "filename").unwrap_or_default(),
                    },
                    _ => QmpBody::Command {
                        execute: exec.to_string(),
                    },
                };
                match id {
                    Some(id) => {
                        by_id.insert(id, p);
                    }
                    None => fifo.push(p),
                }
                body
            } else if let Some(ev) = obj.get("event").and_then(Value::as_str) {
                let ts = obj.get("timestamp");
                let time_us = ts.and_then(|t| {
                    let sec = u(t, "seconds")?;
                    let us = u(t, "microseconds")?;
                    sec.checked_mul(1_000_000)?.checked_add(us)
                });
                if ev == "STOP"
                    && let Some(slot) = self.stop_times.last_mut()
                    && slot.is_none()
                {
                    *slot = time_us;
                }
                let detail = obj
                    .get("data")
                    .and_then(Value::as_object)
                    .map(|d| {
                        d.iter()
                            .filter_map(|(k, v)| match v {
                                Value::String(s) => Some(format!("{k} {s}")),
                                Value::Bool(b) => Some(format!("{k} {b}")),
                                Value::Number(n) => Some(format!("{k} {n}")),
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                QmpBody::Event {
                    name: ev.to_string(),
                    time_us,
                    detail,
                }
            } else if obj.contains_key("return") || obj.contains_key("error") {
                let cmd = match &id {
                    Some(id) => by_id.remove(id),
                    None if !fifo.is_empty() => Some(fifo.remove(0)),
                    None => None,
                };
                let (execute, args) = match cmd {
                    Some(p) => (p.execute, p.args),
                    None => (String::new(), Value::Null),
                };
                if let Some(err) = obj.get("error") {
                    let class = s(err, "class").unwrap_or_default();
                    let desc = s(err, "desc").unwrap_or_default();
                    self.warn(
                        line,
                        format!(
                            "QMP error response to `{}`: {class}: {desc}",
                            if execute.is_empty() { "?" } else { &execute }
                        ),
                        "a `return` object",
                        "x-query-virtio-* need QEMU >= 7.2 and a valid `path`/`queue`; \
                         x-query-virtio-queue-element fails on an empty or packed queue index",
                    );
                    QmpBody::Error {
                        command: execute,
                        class,
                        desc,
                    }
                } else {
                    let ret = obj.get("return").cloned().unwrap_or(Value::Null);
                    self.reply(line, &execute, &args, &ret)
                }
            } else {
                self.warn(
                    line,
                    "a JSON object that is neither a command, a reply nor an event".into(),
                    "`execute`, `return`, `error`, `event` or `QMP` key",
                    "is this a QMP transcript?",
                );
                continue;
            };
            self.records.push(QmpRecord {
                line,
                snapshot,
                body,
            });
        }
    }

    fn reply(&mut self, line: u64, execute: &str, args: &Value, ret: &Value) -> QmpBody {
        let path = s(args, "path");
        let kind = if execute.is_empty() {
            // No command seen: recognise the reply by its shape.
            if ret.get("vring-num").is_some() && ret.get("used-idx").is_some() {
                "x-query-virtio-queue-status"
            } else if ret.get("avail-phys").is_some() {
                "x-query-virtio-vhost-queue-status"
            } else if ret.get("descs").is_some() {
                "x-query-virtio-queue-element"
            } else if ret.get("num-vqs").is_some() {
                "x-query-virtio-status"
            } else if ret
                .as_array()
                .is_some_and(|a| a.iter().all(|d| d.get("path").is_some()) && !a.is_empty())
            {
                "x-query-virtio"
            } else {
                ""
            }
        } else {
            execute
        };
        let missing = |t: &mut Self, what: &str| {
            t.warn(
                line,
                format!("`{kind}` reply without `{what}`"),
                "the fields of qapi/virtio.json (QEMU 7.2)",
                "the reply is ignored",
            );
            QmpBody::Reply {
                command: kind.to_string(),
            }
        };
        match kind {
            "x-query-virtio" => {
                let devices = ret
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|d| {
                                Some(VirtioDevice {
                                    name: s(d, "name")?,
                                    path: s(d, "path")?,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                QmpBody::Devices { devices }
            }
            "x-query-virtio-status" => {
                let Some(name) = s(ret, "name") else {
                    return missing(self, "name");
                };
                QmpBody::Status(DeviceStatus {
                    path,
                    name,
                    device_id: u(ret, "device-id"),
                    status: status_byte(ret.get("status")),
                    guest_features: feature_names(ret.get("guest-features")),
                    host_features: feature_names(ret.get("host-features")),
                    num_vqs: u(ret, "num-vqs"),
                    vhost: ret.get("vhost-dev").is_some(),
                    broken: ret.get("broken").and_then(Value::as_bool).unwrap_or(false),
                })
            }
            "x-query-virtio-queue-status" => {
                let num16 = |k: &str| u(ret, k).and_then(|v| u16::try_from(v).ok());
                let (Some(qi), Some(last), Some(used)) = (
                    num16("queue-index"),
                    num16("last-avail-idx"),
                    num16("used-idx"),
                ) else {
                    return missing(self, "queue-index/last-avail-idx/used-idx");
                };
                QmpBody::QueueStatus(QueueStatus {
                    path,
                    name: s(ret, "name").unwrap_or_default(),
                    queue_index: qi,
                    inuse: u(ret, "inuse")
                        .and_then(|v| u32::try_from(v).ok())
                        .unwrap_or(0),
                    vring_num: u(ret, "vring-num")
                        .and_then(|v| u32::try_from(v).ok())
                        .unwrap_or(0),
                    last_avail_idx: last,
                    shadow_avail_idx: num16("shadow-avail-idx").unwrap_or(0),
                    used_idx: used,
                    signalled_used: num16("signalled-used").unwrap_or(0),
                    signalled_used_valid: ret
                        .get("signalled-used-valid")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    vring_desc: u(ret, "vring-desc").unwrap_or(0),
                    vring_avail: u(ret, "vring-avail").unwrap_or(0),
                    vring_used: u(ret, "vring-used").unwrap_or(0),
                })
            }
            "x-query-virtio-queue-element" => {
                let Some(index) = u(ret, "index").and_then(|v| u32::try_from(v).ok()) else {
                    return missing(self, "index");
                };
                let descs = ret
                    .get("descs")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .map(|d| ElementDesc {
                                addr: u(d, "addr").unwrap_or(0),
                                len: u(d, "len").and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
                                flags: d
                                    .get("flags")
                                    .and_then(Value::as_array)
                                    .map(|f| {
                                        f.iter()
                                            .filter_map(Value::as_str)
                                            .map(str::to_string)
                                            .collect()
                                    })
                                    .unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let sub = |area: &str, k: &str| {
                    ret.get(area)
                        .and_then(|a| u(a, k))
                        .and_then(|v| u16::try_from(v).ok())
                };
                QmpBody::Element(QueueElement {
                    path,
                    queue: u(args, "queue").and_then(|v| u16::try_from(v).ok()),
                    name: s(ret, "name").unwrap_or_default(),
                    index,
                    descs,
                    avail_idx: sub("avail", "idx"),
                    avail_flags: sub("avail", "flags"),
                    used_idx: sub("used", "idx"),
                    used_flags: sub("used", "flags"),
                })
            }
            "x-query-virtio-vhost-queue-status" => {
                let Some(num) = u(ret, "num").and_then(|v| u32::try_from(v).ok()) else {
                    return missing(self, "num");
                };
                QmpBody::VhostQueueStatus(VhostQueueStatus {
                    path,
                    queue: u(args, "queue").and_then(|v| u16::try_from(v).ok()),
                    name: s(ret, "name").unwrap_or_default(),
                    num,
                    desc_phys: u(ret, "desc-phys").unwrap_or(0),
                    avail_phys: u(ret, "avail-phys").unwrap_or(0),
                    used_phys: u(ret, "used-phys").unwrap_or(0),
                    desc_size: u(ret, "desc-size").unwrap_or(0),
                    avail_size: u(ret, "avail-size").unwrap_or(0),
                    used_size: u(ret, "used-size").unwrap_or(0),
                })
            }
            other => QmpBody::Reply {
                command: other.to_string(),
            },
        }
    }

    /// The device statuses of a snapshot (the latest per path).
    pub fn statuses(&self, snapshot: u32) -> impl Iterator<Item = (&QmpRecord, &DeviceStatus)> {
        self.records.iter().filter_map(move |r| match &r.body {
            QmpBody::Status(st) if r.snapshot == snapshot => Some((r, st)),
            _ => None,
        })
    }

    /// All queue statuses with their records.
    pub fn queue_statuses(&self) -> impl Iterator<Item = (&QmpRecord, &QueueStatus)> {
        self.records.iter().filter_map(|r| match &r.body {
            QmpBody::QueueStatus(q) => Some((r, q)),
            _ => None,
        })
    }

    /// Every `x-query-virtio-vhost-queue-status` reply, with its record.
    pub fn vhost_queue_statuses(&self) -> impl Iterator<Item = (&QmpRecord, &VhostQueueStatus)> {
        self.records.iter().filter_map(|r| match &r.body {
            QmpBody::VhostQueueStatus(q) => Some((r, q)),
            _ => None,
        })
    }

    /// The latest negotiated-feature list QMP reported for a device name, if any.
    pub fn features_of(&self, device_name: &str) -> Option<&DeviceStatus> {
        self.records.iter().rev().find_map(|r| match &r.body {
            QmpBody::Status(st) if st.name == device_name => Some(st),
            _ => None,
        })
    }

    /// Every `pmemsave` with the snapshot it was issued in.
    pub fn pmemsaves(&self) -> impl Iterator<Item = (u32, u64, u64, &str)> {
        self.records.iter().filter_map(|r| match &r.body {
            QmpBody::Pmemsave { addr, size, file } => {
                Some((r.snapshot, *addr, *size, file.as_str()))
            }
            _ => None,
        })
    }

    /// The first error response as a [`TraceError`], for strict callers.
    pub fn first_error(&self) -> Option<TraceError> {
        self.records.iter().find_map(|r| match &r.body {
            QmpBody::Error {
                command,
                class,
                desc,
            } => Some(TraceError::Qmp {
                file: self.source.clone(),
                line: r.line,
                command: command.clone(),
                class: class.clone(),
                desc: desc.clone(),
                hint: "see QEMU's qapi/virtio.json for the command's arguments".into(),
            }),
            _ => None,
        })
    }
}

/// The keys a QMP message itself has.
const QMP_KEYS: [&str; 5] = ["execute", "return", "error", "event", "QMP"];

/// One message, or the two of a request/response record (`{"request": {...}, "response":
/// {...}}`, also `command`/`reply`, `req`/`resp`): the way many QMP clients and proxies log
/// an exchange. A request may be the command's name alone (`"command": "stop"`, arguments
/// beside it); a response that is not a `return`/`error` object is the returned value. The
/// response takes the request's `id` when it has none, so the pair stays a pair.
fn split_record(v: Value) -> Vec<Value> {
    let Value::Object(mut o) = v else {
        return vec![v];
    };
    if QMP_KEYS.iter().any(|k| o.contains_key(*k)) {
        return vec![Value::Object(o)];
    }
    let take = |o: &mut serde_json::Map<String, Value>, keys: &[&str]| {
        keys.iter().find_map(|k| o.remove(*k))
    };
    let Some(req) = take(&mut o, &["request", "command", "req", "cmd"]) else {
        return vec![Value::Object(o)];
    };
    let resp = take(&mut o, &["response", "reply", "resp", "result"]);
    let mut req = match req {
        Value::Object(r) => r,
        Value::String(name) => {
            let mut r = serde_json::Map::new();
            r.insert("execute".into(), Value::String(name));
            if let Some(a) = take(&mut o, &["arguments", "args"]) {
                r.insert("arguments".into(), a);
            }
            r
        }
        other => return vec![other],
    };
    let id = req.get("id").cloned().or_else(|| o.get("id").cloned());
    if let Some(id) = &id {
        req.entry("id").or_insert_with(|| id.clone());
    }
    let mut out = vec![Value::Object(req)];
    if let Some(resp) = resp {
        let mut resp = match resp {
            Value::Object(r) if r.contains_key("return") || r.contains_key("error") => r,
            other => {
                let mut r = serde_json::Map::new();
                r.insert("return".into(), other);
                r
            }
        };
        if let Some(id) = id {
            resp.entry("id").or_insert(id);
        }
        out.push(Value::Object(resp));
    }
    out
}

/// Start lines of the top-level elements of a JSON array (a cheap bracket scan that honours
/// strings).
fn element_lines(data: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut esc, mut line) = (0i32, false, false, 1u64);
    let mut expecting = false;
    for &c in data {
        if c == b'\n' {
            line += 1;
        }
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
            continue;
        }
        match c {
            b'"' => {
                if depth == 1 && expecting {
                    out.push(line);
                    expecting = false;
                }
                in_str = true;
            }
            b'[' | b'{' => {
                if depth == 1 && expecting {
                    out.push(line);
                    expecting = false;
                }
                depth += 1;
                if depth == 1 {
                    expecting = true;
                }
            }
            b']' | b'}' => depth -= 1,
            b',' if depth == 1 => expecting = true,
            c if depth == 1 && expecting && !c.is_ascii_whitespace() => {
                out.push(line);
                expecting = false;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_pair_with_commands_and_errors_are_warnings() {
        let text = br#"{"execute": "stop", "id": "a/1"}
{"timestamp": {"seconds": 10, "microseconds": 5}, "event": "STOP"}
{"return": {}, "id": "a/1"}
{"execute": "x-query-virtio-queue-status", "arguments": {"path": "/p", "queue": 1}, "id": "a/2"}
{"return": {"signalled-used": 3, "inuse": 0, "name": "virtio-rng", "vring-desc": 1, "signalled-used-valid": true, "vring-avail": 2, "queue-index": 1, "last-avail-idx": 3, "vring-used": 3, "used-idx": 3, "shadow-avail-idx": 3, "vring-num": 8}, "id": "a/2"}
garbage here
{"execute": "x-query-virtio-queue-element", "arguments": {"path": "/p", "queue": 1}, "id": "a/3"}
{"error": {"class": "GenericError", "desc": "Queue is empty"}, "id": "a/3"}
{"return": {"ind"#;
        let t = QmpTranscript::parse(text, "t.jsonl");
        assert_eq!(t.stop_times, vec![Some(10_000_005)]);
        let (rec, qs) = t.queue_statuses().next().unwrap();
        assert_eq!(rec.line, 5);
        assert_eq!(rec.snapshot, 1);
        assert_eq!(qs.path.as_deref(), Some("/p"));
        assert_eq!((qs.queue_index, qs.last_avail_idx, qs.vring_num), (1, 3, 8));
        let lines: Vec<_> = t.warnings.list.iter().map(|w| w.line).collect();
        // garbage (6), the error reply (8), the truncated tail (9).
        assert_eq!(lines, vec![Some(6), Some(8), Some(9)]);
        let err = t.first_error().unwrap().to_string();
        assert!(err.contains("t.jsonl:8"), "{err}");
        assert!(err.contains("Queue is empty"), "{err}");
    }

    #[test]
    fn arrays_and_bare_replies_work() {
        let text = br#"[
 {"return": [{"name": "virtio-blk", "path": "/b"}]},
 {"return": {"index": 0, "name": "virtio-blk", "descs": [{"flags": ["next"], "len": 16, "addr": 4096}], "avail": {"idx": 7, "flags": 0, "ring": 0}, "used": {"idx": 6, "flags": 1}}}
]"#;
        let t = QmpTranscript::parse(text, "a.json");
        assert!(t.warnings.list.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.records.len(), 2);
        assert_eq!(t.records[1].line, 3);
        match &t.records[1].body {
            QmpBody::Element(e) => {
                assert_eq!(
                    (e.avail_idx, e.used_idx, e.used_flags),
                    (Some(7), Some(6), Some(1))
                );
                assert_eq!(e.descs[0].flags, vec!["next".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }
}
