//! A set of ring dumps: which file is which area of which queue, taken at which snapshot.
//!
//! The files arrive as a list of named byte buffers (a folder read file by file, a zip, files
//! dropped on a page) and are told apart, in order of trust:
//!
//! 1. `index.json` as `traces/qmp.py` writes it: file, snapshot, device, queue, area, address,
//!    size, `vring-num`, packed;
//! 2. else the QMP transcript's own `pmemsave` commands: each names its file, the guest address
//!    and the snapshot (the `stop` before it), and that snapshot's
//!    `x-query-virtio-queue-status` answers say which queue area lives at that address;
//! 3. else the file names, `<snapshot>-<device>-q<N>-<area>.bin` (the `<area>` word may be the
//!    spec's: `driver`/`device` for the packed event suppression areas), with the device's name,
//!    size and addresses from QMP's `x-query-virtio` and queue statuses when there are some.
//!
//! A file that none of these explains, or a dump missing an area, is not dropped silently: it
//! is listed in [`DumpSet::unused`] with the reason.

use std::collections::BTreeMap;

use serde_json::Value;

use super::NamedFile;
use super::archive;
use super::qmp::{QmpBody, QmpTranscript};
use super::ringdump::DumpInput;
use crate::layout::RingKind;
use crate::trace::error::{ImportWarning, TraceError};

/// The ring dumps of a capture, and the files (or parts) that could not be used.
#[derive(Debug, Clone, Default)]
pub struct DumpSet {
    /// One entry per queue and snapshot.
    pub dumps: Vec<DumpInput>,
    /// What was left out, and why.
    pub unused: Vec<ImportWarning>,
}

/// Which of a queue's three areas a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Area {
    Desc,
    Driver,
    Device,
}

/// File-name endings of each area, longest first within an area: the `pmemsave` names of
/// `traces/qmp.py` (`desc`, `avail`, `used`) and the spec's names (descriptor area, driver
/// and device areas, which hold a packed ring's event suppression structures).
const AREA_WORDS: &[(&str, Area)] = &[
    ("descriptor-ring", Area::Desc),
    ("descriptor-area", Area::Desc),
    ("descriptors", Area::Desc),
    ("descriptor", Area::Desc),
    ("desc-ring", Area::Desc),
    ("descs", Area::Desc),
    ("desc", Area::Desc),
    ("driver-event", Area::Driver),
    ("driver-area", Area::Driver),
    ("avail-ring", Area::Driver),
    ("driver", Area::Driver),
    ("avail", Area::Driver),
    ("device-event", Area::Device),
    ("device-area", Area::Device),
    ("used-ring", Area::Device),
    ("device", Area::Device),
    ("used", Area::Device),
];

impl Area {
    fn index(self) -> usize {
        self as usize
    }
    fn parse(word: &str) -> Option<Area> {
        let w = word.to_ascii_lowercase().replace('_', "-");
        AREA_WORDS.iter().find(|(x, _)| *x == w).map(|&(_, a)| a)
    }
    /// Splits `name-area.bin` into the name and the area.
    fn of_file(base: &str) -> Option<(&str, Area)> {
        let stem = base.strip_suffix(".bin")?;
        AREA_WORDS.iter().find_map(|&(w, a)| {
            let cut = stem.len().checked_sub(w.len() + 1)?;
            let (head, tail) = (stem.get(..cut)?, stem.get(cut..)?);
            let tail = tail.strip_prefix(['-', '_'])?;
            (tail.to_ascii_lowercase().replace('_', "-") == w).then_some((head, a))
        })
    }
}

/// The last path component (`rings/idle-blk0-q0-desc.bin` → `idle-blk0-q0-desc.bin`).
fn base(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// `idle-blk0-q0` → (`idle`, `blk0`, 0).
fn parse_prefix(prefix: &str) -> Option<(&str, &str, u16)> {
    let (head, q) = prefix.rsplit_once("-q")?;
    let q = q.parse().ok()?;
    let (label, dev) = head.split_once('-')?;
    Some((label, dev, q))
}

/// What QMP says about the queues: `x-query-virtio` paths and queue statuses.
struct QmpFacts<'a> {
    qmp: Option<&'a QmpTranscript>,
}

impl QmpFacts<'_> {
    /// QEMU's device name for a `-device …,id=ID` (`blk0` → `virtio-blk`).
    fn device_name(&self, id: &str) -> Option<String> {
        let want = format!("/machine/peripheral/{id}/");
        self.qmp?.records.iter().find_map(|r| match &r.body {
            QmpBody::Devices { devices } => devices
                .iter()
                .find(|d| d.path.starts_with(&want))
                .map(|d| d.name.clone()),
            _ => None,
        })
    }

    /// Size and area addresses of a queue (any snapshot: they stay while the driver runs).
    fn queue(&self, name: &str, queue: u16) -> Option<(u16, (u64, u64, u64))> {
        let (_, qs) = self
            .qmp?
            .queue_statuses()
            .find(|(_, qs)| qs.name == name && qs.queue_index == queue)?;
        let size = u16::try_from(qs.vring_num).ok()?;
        Some((size, (qs.vring_desc, qs.vring_avail, qs.vring_used)))
    }

    /// Whether the device negotiated packed rings, per QMP.
    fn packed(&self, name: &str) -> Option<bool> {
        self.qmp?
            .features_of(name)
            .map(|s| s.has("VIRTIO_F_RING_PACKED"))
    }

    /// The snapshot and the queue area a `pmemsave` of this file wrote: `(snapshot, device
    /// name, queue, area, address, vring-num)`.
    fn saved(&self, file: &str) -> Option<(u32, String, u16, Area, u64, u16)> {
        let q = self.qmp?;
        let (snap, addr, _, _) = q.pmemsaves().find(|p| base(p.3) == file)?;
        let (_, qs) = q.queue_statuses().find(|(r, qs)| {
            r.snapshot == snap && [qs.vring_desc, qs.vring_avail, qs.vring_used].contains(&addr)
        })?;
        let area = if addr == qs.vring_desc {
            Area::Desc
        } else if addr == qs.vring_avail {
            Area::Driver
        } else {
            Area::Device
        };
        let n = u16::try_from(qs.vring_num).ok()?;
        Some((snap, qs.name.clone(), qs.queue_index, area, addr, n))
    }
}

/// One queue's dump being assembled.
#[derive(Default)]
struct Partial {
    dump: DumpInput,
    have: [bool; 3],
    addrs: [u64; 3],
}

impl Partial {
    fn put(&mut self, area: Area, file: &str, bytes: Vec<u8>, addr: Option<u64>) {
        let i = area.index();
        match area {
            Area::Desc => self.dump.desc = bytes,
            Area::Driver => self.dump.driver = bytes,
            Area::Device => self.dump.device = bytes,
        }
        if let Some(f) = self.dump.files.get_mut(i) {
            *f = file.to_string();
        }
        if let (Some(h), Some(a)) = (self.have.get_mut(i), self.addrs.get_mut(i)) {
            *h = true;
            *a = addr.unwrap_or(0);
        }
    }
}

fn note(file: &str, message: String, hint: &str) -> ImportWarning {
    ImportWarning {
        file: file.to_string(),
        line: None,
        offset: None,
        column: None,
        message,
        expected: String::new(),
        hint: hint.to_string(),
    }
}

/// Loads a ring dump set from named files (zip archives among them are expanded). `qmp`, when
/// given, identifies dumps the folder does not describe itself.
pub fn load_files(
    files: Vec<NamedFile>,
    qmp: Option<&QmpTranscript>,
) -> Result<DumpSet, TraceError> {
    let mut all: Vec<NamedFile> = Vec::new();
    for (name, bytes) in files {
        if archive::is_zip(&bytes) {
            all.extend(archive::unzip(&bytes, &name)?);
        } else {
            all.push((name, bytes));
        }
    }
    let facts = QmpFacts { qmp };
    let mut set = DumpSet::default();
    let mut parts: BTreeMap<String, Partial> = BTreeMap::new();
    let index = all
        .iter()
        .position(|(n, _)| base(n).eq_ignore_ascii_case("index.json"));
    let index = match index {
        Some(i) => {
            let (name, bytes) = all.swap_remove(i);
            Some((name, bytes))
        }
        None => None,
    };
    if let Some((iname, ibytes)) = index {
        from_index(&iname, &ibytes, &mut all, &facts, &mut parts, &mut set)?;
    } else {
        from_qmp_and_names(&mut all, &facts, &mut parts);
    }
    for (name, _) in all {
        let why = if base(&name).ends_with(".bin") {
            "a .bin file no index.json entry, QMP pmemsave or `NAME-desc|avail|used|driver|device.bin` name explains"
        } else {
            "not a ring dump (the dumps are pmemsave's raw .bin files)"
        };
        set.unused.push(note(
            &name,
            format!("not used: {why}"),
            "see traces/README.md, rings/",
        ));
    }
    let mut order: Vec<(Option<u32>, String)> = Vec::new();
    for (key, p) in parts {
        if let Some(missing) = p.have.iter().position(|h| !h) {
            let area = ["descriptor", "driver (avail)", "device (used)"]
                .get(missing)
                .copied()
                .unwrap_or("?");
            set.unused.push(note(
                &p.dump.name,
                format!("not used: the {area} area's file is missing"),
                "a queue's dump is three files: its descriptor, driver and device areas",
            ));
            continue;
        }
        let mut d = p.dump;
        if p.addrs.iter().all(|&a| a != 0) {
            d.addrs = Some((p.addrs[0], p.addrs[1], p.addrs[2]));
        }
        order.push((d.taken_at, key));
        set.dumps.push(d);
    }
    // Snapshot order (unknown last), then name: label order is snapshot order.
    let mut idx: Vec<usize> = (0..set.dumps.len()).collect();
    idx.sort_by(|&a, &b| {
        let ka = order.get(a).map(|(t, n)| (t.is_none(), *t, n.clone()));
        let kb = order.get(b).map(|(t, n)| (t.is_none(), *t, n.clone()));
        ka.cmp(&kb)
    });
    let mut dumps: Vec<Option<DumpInput>> = set.dumps.into_iter().map(Some).collect();
    set.dumps = idx
        .into_iter()
        .filter_map(|i| dumps.get_mut(i).and_then(Option::take))
        .collect();
    Ok(set)
}

/// Layout 1: `index.json` (traces/qmp.py's format).
fn from_index(
    iname: &str,
    ibytes: &[u8],
    all: &mut Vec<NamedFile>,
    facts: &QmpFacts<'_>,
    parts: &mut BTreeMap<String, Partial>,
    set: &mut DumpSet,
) -> Result<(), TraceError> {
    let v: Value = serde_json::from_slice(ibytes).map_err(|e| TraceError::Line {
        file: iname.to_string(),
        line: e.line() as u64,
        column: Some(e.column() as u64),
        what: format!("index.json does not parse: {e}"),
        expected: "a JSON array of dump descriptions (file, snapshot, device, queue, area, addr)"
            .into(),
        hint: "regenerate it with traces/qmp.py, or leave it out: the QMP transcript's \
               pmemsave commands or the file names tell the dumps apart too"
            .into(),
    })?;
    let entries = v.as_array().map(Vec::as_slice).unwrap_or_default();
    let mut labels: Vec<String> = Vec::new();
    for (k, entry) in entries.iter().enumerate() {
        let s = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or_default();
        let u = |key: &str| entry.get(key).and_then(Value::as_u64);
        let file = base(s("file")).to_string();
        if let Some(why) = entry.get("skipped") {
            set.unused.push(note(
                iname,
                format!("entry {} ({file}) skipped by the capture: {why}", k + 1),
                "",
            ));
            continue;
        }
        let Some(area) = Area::parse(s("area")) else {
            set.unused.push(note(
                iname,
                format!("entry {} ({file}): unknown area `{}`", k + 1, s("area")),
                "areas are desc, avail (driver) and used (device)",
            ));
            continue;
        };
        let Some(pos) = all.iter().position(|(n, _)| base(n) == file) else {
            set.unused.push(note(
                iname,
                format!("entry {}: its file `{file}` is not among the dumps", k + 1),
                "copy the whole rings folder",
            ));
            continue;
        };
        let (fname, bytes) = all.swap_remove(pos);
        let snap = s("snapshot").to_string();
        if !labels.contains(&snap) {
            labels.push(snap.clone());
        }
        let queue = u("queue").and_then(|q| u16::try_from(q).ok());
        let devid = s("device");
        let name = format!("{snap}-{devid}-q{}", queue.unwrap_or(0));
        let vname = Some(s("virtio-name"))
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .or_else(|| facts.device_name(devid));
        let taken_at = facts
            .saved(&file)
            .map(|x| x.0)
            .or_else(|| labels.iter().position(|l| *l == snap).map(|i| i as u32 + 1));
        let p = parts.entry(name.clone()).or_insert_with(|| Partial {
            dump: DumpInput {
                name,
                kind: Some(
                    if entry.get("packed").and_then(Value::as_bool) == Some(true) {
                        RingKind::Packed
                    } else {
                        RingKind::Split
                    },
                ),
                size: u("vring-num").and_then(|n| u16::try_from(n).ok()),
                snapshot: Some(snap),
                taken_at,
                device_name: vname,
                queue,
                ..Default::default()
            },
            ..Default::default()
        });
        p.put(area, &fname, bytes, u("addr"));
    }
    Ok(())
}

/// Layouts 2 and 3: the transcript's `pmemsave`s, else the file names.
fn from_qmp_and_names(
    all: &mut Vec<NamedFile>,
    facts: &QmpFacts<'_>,
    parts: &mut BTreeMap<String, Partial>,
) {
    let mut rest = Vec::new();
    for (fname, bytes) in all.drain(..) {
        let b = base(&fname).to_string();
        let named = Area::of_file(&b).map(|(prefix, area)| (prefix.to_string(), area));
        let parsed = named
            .as_ref()
            .and_then(|(p, _)| parse_prefix(p).map(|(l, d, q)| (l.to_string(), d.to_string(), q)));
        if let Some((snap, vname, queue, area, addr, size)) = facts.saved(&b) {
            let label = parsed
                .as_ref()
                .map_or_else(|| format!("snapshot {snap}"), |p| p.0.clone());
            let dev = parsed
                .as_ref()
                .map_or_else(|| vname.clone(), |p| p.1.clone());
            let name = format!("{label}-{dev}-q{queue}");
            let p = parts.entry(name.clone()).or_insert_with(|| Partial {
                dump: DumpInput {
                    name,
                    kind: facts
                        .packed(&vname)
                        .map(|p| if p { RingKind::Packed } else { RingKind::Split }),
                    size: Some(size),
                    snapshot: Some(label),
                    taken_at: Some(snap),
                    device_name: Some(vname),
                    queue: Some(queue),
                    ..Default::default()
                },
                ..Default::default()
            });
            p.put(area, &fname, bytes, Some(addr));
            continue;
        }
        let Some((prefix, area)) = named else {
            rest.push((fname, bytes));
            continue;
        };
        let p = parts.entry(prefix.clone()).or_insert_with(|| {
            let mut d = DumpInput {
                name: prefix.clone(),
                ..Default::default()
            };
            if let Some((label, devid, q)) = &parsed {
                d.snapshot = Some(label.clone());
                d.queue = Some(*q);
                d.device_name = facts.device_name(devid);
                if let Some(n) = &d.device_name {
                    d.kind = facts
                        .packed(n)
                        .map(|p| if p { RingKind::Packed } else { RingKind::Split });
                    if let Some((size, addrs)) = facts.queue(n, *q) {
                        d.size = Some(size);
                        d.addrs = Some(addrs);
                    }
                }
            }
            Partial {
                dump: d,
                ..Default::default()
            }
        });
        let addr = p.dump.addrs.map(|(a, b, c)| [a, b, c][area.index()]);
        p.put(area, &fname, bytes, addr);
    }
    *all = rest;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_words_of_both_vocabularies() {
        assert_eq!(
            Area::of_file("idle-blk0-q0-desc.bin"),
            Some(("idle-blk0-q0", Area::Desc))
        );
        assert_eq!(
            Area::of_file("idle-blk0-q0-driver-event.bin"),
            Some(("idle-blk0-q0", Area::Driver))
        );
        assert_eq!(Area::of_file("x_Device.bin"), Some(("x", Area::Device)));
        assert_eq!(Area::of_file("idle-blk0-q0-used.txt"), None);
        assert_eq!(Area::of_file("desc.bin"), None);
        assert_eq!(parse_prefix("idle-blk0-q12"), Some(("idle", "blk0", 12)));
        assert_eq!(parse_prefix("blk0-q1"), None);
    }
}
