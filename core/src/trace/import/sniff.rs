//! What a file is, from its bytes: both faces ask before choosing an importer (the terminal
//! for `ringside tui FILE`, the browser for each dropped file), so both get the same answer
//! and the same words when the answer is "none of these".

use serde::Serialize;

use super::archive;
use super::lines::for_each_line_in;
use super::qemu_log::split_prefix;

/// The kinds of input ringside reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputKind {
    /// A QEMU `log` trace-backend file (`virtio_*`, `virtqueue_*`, `vhost_*` events).
    TraceLog,
    /// A QMP transcript (JSON objects: commands, replies, events).
    QmpTranscript,
    /// A zip archive (a rings folder handed over as one file).
    RingDumpZip,
    /// A rings folder's `index.json`.
    RingDumpIndex,
    /// One raw `pmemsave` area (`.bin`).
    RingDump,
    /// A vhost backend's block-layer log (qemu-storage-daemon: `blk_co_*`, `bdrv_co_*`).
    BackendLog,
    /// The guest driver's ftrace text (`cat /sys/kernel/tracing/trace` with the kprobe events
    /// of traces/kprobes.py).
    DriverTrace,
    /// dpdk-testpmd's output with the vhost library's log.
    DpdkLog,
    /// A result `ringside bench --save` saved (bench.json).
    BenchResult,
    /// A scenario (RON `Scenario(...)`).
    Scenario,
    /// A saved stepping session (RON with `scenario:` and `step:`).
    SavedSession,
    /// None of these.
    Unknown,
}

impl InputKind {
    /// What it is, in words.
    pub fn describe(self) -> &'static str {
        match self {
            InputKind::TraceLog => "a QEMU trace log",
            InputKind::QmpTranscript => "a QMP transcript",
            InputKind::RingDumpZip => "a zip archive (of ring dumps)",
            InputKind::RingDumpIndex => "a ring dump index (index.json)",
            InputKind::RingDump => "a raw ring dump (pmemsave .bin)",
            InputKind::BackendLog => "a vhost backend's block-layer log",
            InputKind::DriverTrace => "a guest driver trace (ftrace text)",
            InputKind::DpdkLog => "a DPDK testpmd / vhost log",
            InputKind::BenchResult => "a saved ringside bench result (bench.json)",
            InputKind::Scenario => "a ringside scenario (RON)",
            InputKind::SavedSession => "a saved ringside session (RON)",
            InputKind::Unknown => "not an input ringside reads",
        }
    }
}

/// A verdict and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sniffed {
    /// What the bytes are.
    pub kind: InputKind,
    /// Why: what in the bytes says so, or, for [`InputKind::Unknown`], what they are instead.
    pub why: String,
}

/// How much of a file is looked at.
const SAMPLE: usize = 64 * 1024;

/// Block-layer and thread-pool events a qemu-storage-daemon log holds instead of virtio ones.
const BACKEND_EVENTS: [&str; 4] = ["blk_co_", "bdrv_co_", "thread_pool_", "file_paio_"];

/// Whether a (prefix-less) line starts with a virtio, virtqueue or vhost event name.
fn virtio_event(rest: &[u8]) -> bool {
    [&b"virtio_"[..], b"virtqueue_", b"vhost_"]
        .iter()
        .any(|p| rest.starts_with(p))
        && rest.contains(&b' ')
}

/// What `bytes` (from a file called `name`) are.
pub fn sniff(name: &str, bytes: &[u8]) -> Sniffed {
    let verdict = |kind, why: String| Sniffed { kind, why };
    let head = bytes.get(..SAMPLE.min(bytes.len())).unwrap_or_default();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        let what = if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            format!("the file holds only {} blank bytes", bytes.len())
        };
        return verdict(InputKind::Unknown, what);
    }
    if archive::is_zip(bytes) {
        return verdict(InputKind::RingDumpZip, "starts with a zip header".into());
    }
    let text = std::str::from_utf8(head).ok().or_else(|| {
        // A sample may end inside a multi-byte character.
        let valid = std::str::from_utf8(head).err()?.valid_up_to();
        (head.len() - valid < 4).then(|| std::str::from_utf8(head.get(..valid)?).ok())?
    });
    let binary = text.is_none() || head.contains(&0);
    if binary {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".bin") {
            return verdict(
                InputKind::RingDump,
                "binary data in a .bin file, as pmemsave writes".into(),
            );
        }
        return verdict(
            InputKind::Unknown,
            "binary data (control bytes or invalid UTF-8), not text".into(),
        );
    }
    let text = text.unwrap_or_default();
    let code = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default().trim())
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    if code.starts_with("Scenario(") || code == "Scenario" {
        return verdict(InputKind::Scenario, "starts with `Scenario(`".into());
    }
    if code.starts_with('(') && text.contains("scenario:") && text.contains("step:") {
        return verdict(
            InputKind::SavedSession,
            "a RON record with `scenario:` and `step:`".into(),
        );
    }
    if code.starts_with('{') || code.starts_with('[') {
        let qmp = [
            "\"execute\"",
            "\"return\"",
            "\"QMP\"",
            "\"event\"",
            "\"request\"",
        ];
        if ["\"taken_at\"", "\"results\"", "\"ringside\""]
            .iter()
            .all(|k| text.contains(k))
        {
            return verdict(
                InputKind::BenchResult,
                "JSON with a bench result's ringside, taken_at and results keys".into(),
            );
        }
        if text.contains("\"area\"") && text.contains("\"file\"") {
            return verdict(
                InputKind::RingDumpIndex,
                "JSON naming dump files and their areas".into(),
            );
        }
        if let Some(k) = qmp.iter().find(|k| text.contains(**k)) {
            return verdict(InputKind::QmpTranscript, format!("JSON with QMP's {k} key"));
        }
        return verdict(
            InputKind::Unknown,
            "JSON, but no QMP message (no execute, return, event or QMP key)".into(),
        );
    }
    if let Some(v) = ftrace(text).or_else(|| dpdk(text)) {
        return v;
    }
    let (mut lines, mut events, mut block) = (0u32, 0u32, 0u32);
    let mut first = String::new();
    for_each_line_in(
        head,
        |_, _, line| {
            let (_, rest) = split_prefix(line);
            let rest = super::stamp::strip(rest).1;
            if rest.iter().all(u8::is_ascii_whitespace) {
                return;
            }
            lines += 1;
            if first.is_empty() {
                first = String::from_utf8_lossy(line.get(..80.min(line.len())).unwrap_or_default())
                    .into_owned();
            }
            if virtio_event(rest) {
                events += 1;
            } else if BACKEND_EVENTS
                .iter()
                .any(|p| rest.starts_with(p.as_bytes()))
            {
                block += 1;
            }
        },
        |_, _| {},
    );
    // Most lines, not some: a document quoting trace lines (traces/README.md) is not a trace.
    if events * 2 > lines {
        return verdict(
            InputKind::TraceLog,
            format!("{events} of the first {lines} lines are virtio/virtqueue/vhost events"),
        );
    }
    if events > 0 {
        return verdict(
            InputKind::Unknown,
            format!(
                "text in which only {events} of the first {lines} lines are QEMU trace events \
                 (a document quoting a trace?)"
            ),
        );
    }
    if block > 0 {
        return verdict(
            InputKind::BackendLog,
            format!(
                "{block} of the first {lines} lines are block-layer events (blk_co_*, bdrv_co_*) \
                 and none is a virtio event"
            ),
        );
    }
    verdict(
        InputKind::Unknown,
        format!(
            "text, but none of its first {lines} lines is a QEMU trace event, a QMP message or a \
             scenario (first line: `{first}`)"
        ),
    )
}

/// The guest's ftrace text: its `# tracer:` header, or lines shaped `comm-pid [cpu] flags
/// sec.usec: event:` naming the driver's kprobe events.
fn ftrace(text: &str) -> Option<Sniffed> {
    if text.starts_with("# tracer:") {
        return Some(Sniffed {
            kind: InputKind::DriverTrace,
            why: "starts with ftrace's `# tracer:` header".into(),
        });
    }
    let driver = [
        "add_",
        "kick_prepare_",
        "notify_",
        "interrupt_",
        "detach_",
        "get_buf_",
    ];
    let (mut lines, mut events) = (0u32, 0u32);
    for l in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        lines += 1;
        let Some(open) = l.find("] ") else { continue };
        let after = l.get(open + 2..).unwrap_or_default();
        if let Some((_, ev)) = after.split_once(": ")
            && driver.iter().any(|d| ev.starts_with(d))
            && l.get(..open).is_some_and(|h| h.contains(" ["))
        {
            events += 1;
        }
    }
    (events * 2 > lines && events > 0).then(|| Sniffed {
        kind: InputKind::DriverTrace,
        why: format!(
            "{events} of the first {lines} lines are ftrace lines of driver kprobe events"
        ),
    })
}

/// dpdk-testpmd's output: `VHOST_CONFIG:` lines, `EAL:` lines or its per-packet bursts.
fn dpdk(text: &str) -> Option<Sniffed> {
    let mut n = 0u32;
    for l in text.lines() {
        let rest = super::stamp::strip(l.as_bytes()).1;
        let rest = std::str::from_utf8(rest).unwrap_or_default();
        if rest.starts_with("VHOST_CONFIG:")
            || rest.starts_with("EAL:")
            || (rest.starts_with("port ") && rest.contains("/queue ") && rest.ends_with(" packets"))
        {
            n += 1;
        }
    }
    (n > 0).then(|| Sniffed {
        kind: InputKind::DpdkLog,
        why: format!("{n} lines of DPDK's EAL, vhost library (VHOST_CONFIG) or testpmd's bursts"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_by_its_bytes() {
        let k = |name: &str, b: &[u8]| sniff(name, b).kind;
        assert_eq!(k("t.log", b""), InputKind::Unknown);
        assert!(sniff("t.log", b"\n\n").why.contains("blank"));
        assert_eq!(
            k(
                "x",
                b"12@1.2:virtqueue_pop vq 0x1 elem 0x2 in_num 1 out_num 0\n"
            ),
            InputKind::TraceLog
        );
        assert_eq!(
            k(
                "x",
                b"blk_co_preadv blk 0x1 bs 0x2 offset 0 bytes 512 flags 0x0\n"
            ),
            InputKind::BackendLog
        );
        assert_eq!(
            k("q", b"{\"execute\": \"stop\", \"id\": \"a/1\"}\n"),
            InputKind::QmpTranscript
        );
        assert_eq!(
            k(
                "q",
                b"[{\"request\": {\"execute\": \"stop\"}, \"response\": {\"return\": {}}}]"
            ),
            InputKind::QmpTranscript
        );
        assert_eq!(
            k("i", b"[{\"file\": \"a-desc.bin\", \"area\": \"desc\"}]"),
            InputKind::RingDumpIndex
        );
        assert_eq!(
            k("s.ron", b"// c\nScenario(\n title: \"x\"\n)"),
            InputKind::Scenario
        );
        assert_eq!(
            k(
                "s.ron",
                b"(\n    scenario: \"split-basic\",\n    step: 3,\n)"
            ),
            InputKind::SavedSession
        );
        assert_eq!(k("a-desc.bin", &[0, 1, 0, 0, 9]), InputKind::RingDump);
        assert_eq!(k("r.bin", &[0xff, 0xfe, 0, 7]), InputKind::RingDump);
        assert_eq!(k("r.dat", &[0xff, 0xfe, 0, 7]), InputKind::Unknown);
        assert_eq!(k("g.txt", b"# tracer: nop\n#\n"), InputKind::DriverTrace);
        assert_eq!(
            k(
                "bench.json",
                b"{\n  \"format\": 1,\n  \"ringside\": \"0.1.0\",\n  \"taken_at\": \"x\",\n  \"results\": []\n}"
            ),
            InputKind::BenchResult
        );
        assert_eq!(
            k("g.txt", b"  ping-191 [000] b..1. 1796216538.766383: add_outbuf_s: (virtqueue_add_outbuf+0x0/0x60 [virtio_ring]) vq=0x1\n"),
            InputKind::DriverTrace
        );
        assert_eq!(
            k("d.log", b"1796217322.574637 EAL: Detected CPU lcores: 2\n"),
            InputKind::DpdkLog
        );
        let quoting = b"# notes\nthe kick:\nvirtio_queue_notify vdev 0x1 n 0 vq 0x2\nand so on\n";
        assert_eq!(k("notes.md", quoting), InputKind::Unknown);
        let s = sniff("notes.txt", b"hello world\n");
        assert_eq!(s.kind, InputKind::Unknown);
        assert!(s.why.contains("hello world"), "{}", s.why);
    }
}
