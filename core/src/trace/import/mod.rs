//! The importers: each input a debugging session brings, turned from bytes into data.
//!
//! [`qemu_log`] parses QEMU's `log` trace-backend lines and [`store`] keeps them as compact
//! indexed events ([`lines`] splits them); [`qmp`] reads QMP transcripts, [`ringdump`] decodes
//! `pmemsave` ring dumps and [`dumpset`] tells a set of them apart; [`backend`] reads a vhost
//! backend's own log ([`stamp`]: the timestamps other tools put on its lines); [`driver`] reads
//! the guest driver's kprobe trace and [`dpdk`] DPDK's vhost and testpmd log, the other two
//! sides a join puts next to QEMU's; [`archive`] expands a zip; [`sniff`] says what a file is.
//!
//! Nothing here touches a file system. Every importer takes bytes and a name for its messages,
//! so the terminal (which reads paths) and the browser (which is handed files) feed them alike:
//! [`TraceStore::parse`] (or a streamed import) for the trace, then [`Capture::load`] with the
//! [`CaptureFiles`] beside it.

pub mod archive;
pub mod backend;
pub mod dpdk;
pub mod driver;
pub mod dumpset;
pub(crate) mod intern;
pub mod lines;
pub mod qemu_log;
pub mod qmp;
pub mod ringdump;
pub mod sniff;
pub mod stamp;
pub mod store;

use backend::BackendLog;
use dpdk::DpdkLog;
use driver::DriverTrace;
use dumpset::DumpSet;
use qmp::QmpTranscript;
use ringdump::DumpInput;
use store::TraceStore;

use crate::trace::error::{ImportWarning, TraceError};

/// A file as a face hands it over: a name for messages (a path, a file name, `ARCHIVE/PATH`
/// inside a zip) and its bytes.
pub type NamedFile = (String, Vec<u8>);

/// The files beside a trace, as bytes: what `ringside replay TRACE --qmp --rings --backend`
/// names, or what a user drops on the browser page with the trace. (The trace itself is
/// imported first, from bytes with [`TraceStore::parse`] or streamed with
/// [`TraceStore::from_sized_reader`] and [`TraceStore::ensure_trace`]: it may be gigabytes.)
#[derive(Debug, Clone, Default)]
pub struct CaptureFiles {
    /// The QMP transcript, if any.
    pub qmp: Option<NamedFile>,
    /// The ring dumps: the files of a rings folder (with or without its `index.json`), and/or
    /// zip archives of one.
    pub rings: Vec<NamedFile>,
    /// A vhost backend's own log, if any.
    pub backend: Option<NamedFile>,
    /// The guest driver's ftrace text (`--guest`), if any.
    pub guest: Option<NamedFile>,
    /// DPDK's log (`--dpdk`), if any: DPDK served some of the rings.
    pub dpdk: Option<NamedFile>,
}

/// A debugging session's inputs, imported: what replay and the stepping session read.
#[derive(Debug, Clone)]
pub struct Capture {
    /// The trace.
    pub store: TraceStore,
    /// The QMP transcript.
    pub qmp: Option<QmpTranscript>,
    /// The ring dumps, one per queue and snapshot.
    pub dumps: Vec<DumpInput>,
    /// The backend's log.
    pub backend: Option<BackendLog>,
    /// The guest driver's trace: the other side of the rings.
    pub driver: Option<DriverTrace>,
    /// DPDK's log, when DPDK served rings as a vhost-user device.
    pub dpdk: Option<DpdkLog>,
    /// Inputs, or parts of them, that could not be used, and why: replay reports each as an
    /// `input-unused` finding.
    pub unused: Vec<ImportWarning>,
}

impl Capture {
    /// A trace alone.
    pub fn new(store: TraceStore) -> Capture {
        Capture {
            store,
            qmp: None,
            dumps: Vec::new(),
            backend: None,
            driver: None,
            dpdk: None,
            unused: Vec::new(),
        }
    }

    /// With a QMP transcript.
    pub fn with_qmp(mut self, qmp: QmpTranscript) -> Capture {
        self.qmp = Some(qmp);
        self
    }

    /// With ring dumps (and the notes of what their loading left out).
    pub fn with_dumps(mut self, set: DumpSet) -> Capture {
        self.dumps = set.dumps;
        self.unused.extend(set.unused);
        self
    }

    /// With the backend's log.
    pub fn with_backend(mut self, log: BackendLog) -> Capture {
        self.backend = Some(log);
        self
    }

    /// With the guest driver's trace.
    pub fn with_driver(mut self, t: DriverTrace) -> Capture {
        self.driver = Some(t);
        self
    }

    /// With DPDK's log.
    pub fn with_dpdk(mut self, log: DpdkLog) -> Capture {
        self.dpdk = Some(log);
        self
    }

    /// Imports the files beside an imported trace: a QMP transcript must hold at least one QMP
    /// message, the ring dumps are told apart ([`dumpset::load_files`]: zips expanded, QMP used
    /// to identify them), the backend log is read as it is, a guest trace must hold a driver
    /// event and a DPDK log a vhost message or a packet.
    pub fn load(store: TraceStore, files: CaptureFiles) -> Result<Capture, TraceError> {
        let mut c = Capture::new(store);
        if let Some((name, bytes)) = files.qmp {
            let q = QmpTranscript::parse(&bytes, &name);
            if q.records.is_empty() {
                let s = sniff::sniff(&name, &bytes);
                return Err(TraceError::Unusable {
                    file: name,
                    what: format!("no QMP message in it: {}", s.why),
                    expected: "QMP JSON objects (commands, replies, events), one per line, \
                               pretty-printed one after another, or a JSON array"
                        .into(),
                    hint: "the transcript traces/qmp.py writes, or a QMP client's log".into(),
                });
            }
            c = c.with_qmp(q);
        }
        if !files.rings.is_empty() {
            let set = dumpset::load_files(files.rings, c.qmp.as_ref())?;
            c = c.with_dumps(set);
        }
        if let Some((name, bytes)) = files.backend {
            c = c.with_backend(BackendLog::parse(&bytes, &name));
        }
        if let Some((name, bytes)) = files.guest {
            c = c.with_driver(DriverTrace::parse(&bytes, &name)?);
        }
        if let Some((name, bytes)) = files.dpdk {
            c = c.with_dpdk(DpdkLog::parse(&bytes, &name)?);
        }
        Ok(c)
    }
}
