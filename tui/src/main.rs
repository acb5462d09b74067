//! `ringside`: the terminal stepping debugger and command line.
//!
//! With no arguments it opens the stepping UI on the embedded tutorial. Subcommands run
//! scenarios headless, compare them, and replay traces. All behaviour lives in
//! `ringside-core`; this crate maps arguments and keys to core calls and paints core's frames.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `print!` to a locked stdout that returns the error instead of panicking when the reader has
/// gone (`ringside list | head`); `main` then exits quietly.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($t)*)
    }};
}

/// `println!` likewise.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)
    }};
}

mod bench_cmd;
mod scenario_cmd;
mod trace_cmd;
mod tutorial_cmd;

use ringside_tui::app;

/// Exit code for bad input (a malformed scenario, an unreadable trace).
const EXIT_BAD_INPUT: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "ringside",
    version,
    about = "virtqueue visualizer and teaching debugger"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the stepping UI on a scenario (name or RON file) or a trace.
    Tui {
        /// Scenario name (see `ringside list`), a .ron file, or a QEMU trace file.
        target: Option<String>,
        /// With a trace: QMP transcript (JSON lines) with x-query-virtio-* answers.
        #[arg(long, requires = "target")]
        qmp: Option<std::path::PathBuf>,
        /// With a trace: ring dumps saved with pmemsave (a directory, with or without its
        /// index.json, or a zip).
        #[arg(long, requires = "target")]
        rings: Option<std::path::PathBuf>,
        /// With a trace: the guest driver's ftrace text (kprobe events, guest-trace.txt),
        /// joined with QEMU's on one timeline.
        #[arg(long, requires = "target")]
        guest: Option<std::path::PathBuf>,
        /// With a trace: dpdk-testpmd's log (vhost debug log and verbose packets) when DPDK
        /// served the rings.
        #[arg(long, requires = "target")]
        dpdk: Option<std::path::PathBuf>,
    },
    /// The course: the chapter list and where you are, or (with --markdown) its pages.
    Tutorial {
        /// Write every chapter as a Markdown page (and an index) into this directory.
        #[arg(long, value_name = "DIR")]
        markdown: Option<std::path::PathBuf>,
        /// Do not read or write the course progress (also: RINGSIDE_NO_SAVE=1).
        #[arg(long)]
        no_save: bool,
    },
    /// List the embedded scenarios.
    List,
    /// Run a scenario or a tutorial chapter headless and check its expectations (exit 0
    /// pass, 1 fail, 2 bad input).
    Run {
        /// Scenario name, `chapter-N`, or a .ron file.
        scenario: String,
        /// Print a JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run two scenarios and print them side by side.
    Compare {
        /// First scenario.
        a: String,
        /// Second scenario.
        b: String,
    },
    /// Replay a QEMU trace on the rings: per-queue counters and findings.
    Replay {
        #[command(flatten)]
        args: trace_cmd::ReplayArgs,
        /// Print a JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Replay a trace and print only the findings (exit 1 when one is an error).
    Check {
        #[command(flatten)]
        args: trace_cmd::ReplayArgs,
    },
    /// Decode ring dumps saved with pmemsave (a directory, with or without index.json, or a
    /// zip of one).
    Inspect {
        /// The directory or zip.
        dir: std::path::PathBuf,
        /// QMP transcript of the capture: tells which queue and snapshot each dump is when the
        /// folder has no index.json.
        #[arg(long)]
        qmp: Option<std::path::PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export a trace for another viewer.
    Export {
        #[command(flatten)]
        args: trace_cmd::ReplayArgs,
        /// Output format: `chrome` (Chrome trace-event JSON, opens in Perfetto).
        #[arg(long, default_value = "chrome")]
        format: String,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<std::path::PathBuf>,
    },
    /// Time real split and packed rings between two pinned threads, next to the model.
    Bench {
        #[command(flatten)]
        args: bench_cmd::BenchArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => app::open(app::Opening::Resume, false),
        Some(Command::Tui {
            target: Some(target),
            qmp,
            rings,
            guest,
            dpdk,
        }) => app::open(
            app::Opening::Target {
                target: &target,
                beside: ringside_tui::files::Beside {
                    qmp: qmp.as_deref(),
                    rings: rings.as_deref(),
                    guest: guest.as_deref(),
                    dpdk: dpdk.as_deref(),
                    backend: None,
                },
            },
            false,
        ),
        Some(Command::Tui { target: None, .. }) => app::open(app::Opening::Resume, false),
        Some(Command::Tutorial {
            markdown: Some(dir),
            ..
        }) => tutorial_cmd::markdown(&dir),
        Some(Command::Tutorial {
            markdown: None,
            no_save,
        }) => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                app::open(app::Opening::Course, no_save)
            } else {
                tutorial_cmd::list(no_save)
            }
        }
        Some(Command::List) => scenario_cmd::list(),
        Some(Command::Run { scenario, json }) => scenario_cmd::run(&scenario, json),
        Some(Command::Compare { a, b }) => scenario_cmd::compare(&a, &b),
        Some(Command::Replay { args, json }) => trace_cmd::replay(&args, json),
        Some(Command::Check { args }) => trace_cmd::check(&args),
        Some(Command::Inspect { dir, qmp, json }) => trace_cmd::inspect(&dir, qmp.as_deref(), json),
        Some(Command::Export {
            args,
            format,
            output,
        }) => trace_cmd::export(&args, &format, output.as_deref()),
        Some(Command::Bench { args }) => bench_cmd::run(&args),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`ringside export ... | head`) is the reader's choice, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ringside: {e:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
