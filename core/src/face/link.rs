//! Links: what a view shows, as text a URL can carry (the browser app keeps it in the page's
//! fragment, `#open=split-unbatched&step=12&marks=3,7&pane=cache&zoom=1`), so a link sent to
//! someone opens on the same step with the same marks and pane layout.
//!
//! A link names what was open: something the app carries (an embedded scenario, a tutorial
//! chapter's run, an embedded trace) by name, or a file from the sender's disk, which the link
//! can only name: the receiver opens that file and lands where the sender was
//! ([`App::from_link`](super::app::App::from_link)). Parsing is strict: a field this version
//! does not know, or a value it cannot read, is an error that says which, so a stale link
//! falls back to the start page with a note instead of opening somewhere else.

use crate::command::PaneId;

/// What a link opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Something the app carries: an embedded scenario, a tutorial run (`chapter-3/1`) or an
    /// embedded trace, by the name [`open_embedded`](super::app::open_embedded) takes.
    Embedded(String),
    /// A file from the sender's disk, by its name: the receiver has to open it.
    Local(String),
}

impl Opened {
    /// The name.
    pub fn name(&self) -> &str {
        match self {
            Opened::Embedded(n) | Opened::Local(n) => n,
        }
    }
}

/// A view as a link keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// What is open.
    pub open: Opened,
    /// The cursor: a micro step, or in a trace the number of events applied.
    pub step: u64,
    /// Marks, as set.
    pub marks: Vec<u64>,
    /// The focused pane.
    pub focus: PaneId,
    /// The focused pane has the whole screen.
    pub zoom: bool,
    /// The selected ring slot, if one is pinned.
    pub selected: Option<u16>,
    /// Compared side by side with the same ops on the other ring layout.
    pub compare: bool,
}

/// A link could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad link: `{field}`: {message}")]
pub struct LinkError {
    /// The `key=value` text at fault (or the key alone).
    pub field: String,
    /// What is wrong with it and what would be accepted.
    pub message: String,
}

fn err(field: &str, message: impl Into<String>) -> LinkError {
    LinkError {
        field: field.to_string(),
        message: message.into(),
    }
}

/// A pane's name in a link.
fn pane_name(p: PaneId) -> &'static str {
    match p {
        PaneId::Ring => "ring",
        PaneId::Memory => "memory",
        PaneId::Narration => "narration",
        PaneId::Findings => "findings",
        PaneId::Timeline => "timeline",
        PaneId::Transport => "transport",
        PaneId::Cache => "cache",
        PaneId::Lesson => "lesson",
    }
}

/// Every pane a link can focus: the stepping panes and the course's.
fn panes() -> impl Iterator<Item = PaneId> {
    PaneId::ALL.into_iter().chain([PaneId::Lesson])
}

/// Percent-encodes everything but unreserved characters and `/` (chapter runs have one).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(field: &str, s: &str) -> Result<String, LinkError> {
    let mut bytes = Vec::new();
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        if b != b'%' {
            bytes.push(b);
            continue;
        }
        let hex: Vec<u8> = it.by_ref().take(2).collect();
        let v = std::str::from_utf8(&hex)
            .ok()
            .filter(|h| h.len() == 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| err(field, "a `%` must be followed by two hex digits"))?;
        bytes.push(v);
    }
    String::from_utf8(bytes).map_err(|_| err(field, "the name is not UTF-8"))
}

fn number<T: std::str::FromStr>(field: &str, v: &str, what: &str) -> Result<T, LinkError> {
    v.parse()
        .map_err(|_| err(field, format!("`{v}` is not {what}")))
}

fn flag(field: &str, v: &str) -> Result<bool, LinkError> {
    match v {
        "1" => Ok(true),
        "0" => Ok(false),
        _ => Err(err(field, format!("`{v}` is not 0 or 1"))),
    }
}

impl Link {
    /// A link to the start of something, with nothing else set.
    pub fn at_start(open: Opened) -> Link {
        Link {
            open,
            step: 0,
            marks: Vec::new(),
            focus: PaneId::Ring,
            zoom: false,
            selected: None,
            compare: false,
        }
    }

    /// The URL fragment (without the `#`). Fields at their defaults are left out.
    pub fn fragment(&self) -> String {
        let mut f = match &self.open {
            Opened::Embedded(n) => format!("open={}", encode(n)),
            Opened::Local(n) => format!("file={}", encode(n)),
        };
        f.push_str(&format!("&step={}", self.step));
        if !self.marks.is_empty() {
            let m: Vec<String> = self.marks.iter().map(u64::to_string).collect();
            f.push_str(&format!("&marks={}", m.join(",")));
        }
        if self.focus != PaneId::Ring {
            f.push_str(&format!("&pane={}", pane_name(self.focus)));
        }
        if self.zoom {
            f.push_str("&zoom=1");
        }
        if let Some(s) = self.selected {
            f.push_str(&format!("&slot={s}"));
        }
        if self.compare {
            f.push_str("&compare=1");
        }
        f
    }

    /// Reads a fragment (a leading `#` is allowed). Every field must be known and readable,
    /// and exactly one of `open` and `file` must be there.
    pub fn parse(fragment: &str) -> Result<Link, LinkError> {
        let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
        let mut open = None;
        let mut link = Link::at_start(Opened::Embedded(String::new()));
        for field in fragment.split('&').filter(|f| !f.is_empty()) {
            let (k, v) = field
                .split_once('=')
                .ok_or_else(|| err(field, "expected `key=value`"))?;
            match k {
                "open" | "file" => {
                    if open.is_some() {
                        return Err(err(field, "a link opens one thing: one `open` or `file`"));
                    }
                    let name = decode(field, v)?;
                    if name.is_empty() {
                        return Err(err(field, "the name is empty"));
                    }
                    open = Some(if k == "open" {
                        Opened::Embedded(name)
                    } else {
                        Opened::Local(name)
                    });
                }
                "step" => link.step = number(field, v, "a step number")?,
                "marks" => {
                    link.marks = v
                        .split(',')
                        .filter(|m| !m.is_empty())
                        .map(|m| number(field, m, "a step number"))
                        .collect::<Result<_, _>>()?;
                }
                "pane" => {
                    link.focus = panes().find(|&p| pane_name(p) == v).ok_or_else(|| {
                        let names: Vec<&str> = panes().map(pane_name).collect();
                        err(field, format!("panes are {}", names.join(", ")))
                    })?;
                }
                "zoom" => link.zoom = flag(field, v)?,
                "slot" => link.selected = Some(number(field, v, "a slot number")?),
                "compare" => link.compare = flag(field, v)?,
                _ => {
                    return Err(err(
                        field,
                        "unknown field; a link has open or file, step, marks, pane, zoom, slot, compare",
                    ));
                }
            }
        }
        link.open = open.ok_or_else(|| err(fragment, "a link needs `open=NAME` or `file=NAME`"))?;
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Link {
        Link {
            open: Opened::Local("my trace (1).log".into()),
            step: 1234,
            marks: vec![3, 70],
            focus: PaneId::Cache,
            zoom: true,
            selected: Some(5),
            compare: true,
        }
    }

    #[test]
    fn a_fragment_reads_back_as_the_same_link() {
        let l = full();
        let f = l.fragment();
        assert_eq!(
            f,
            "file=my%20trace%20%281%29.log&step=1234&marks=3,70&pane=cache&zoom=1&slot=5&compare=1"
        );
        assert_eq!(Link::parse(&f), Ok(l));
        let start = Link::at_start(Opened::Embedded("chapter-3/1".into()));
        assert_eq!(start.fragment(), "open=chapter-3/1&step=0");
        assert_eq!(Link::parse(&format!("#{}", start.fragment())), Ok(start));
    }

    #[test]
    fn every_pane_has_a_name_that_reads_back() {
        for p in panes() {
            let l = Link {
                focus: p,
                ..Link::at_start(Opened::Embedded("x".into()))
            };
            assert_eq!(Link::parse(&l.fragment()).unwrap().focus, p);
        }
    }

    #[test]
    fn bad_links_say_which_field_is_wrong() {
        let e = Link::parse("open=split-unbatched&step=ten").unwrap_err();
        assert_eq!(e.field, "step=ten");
        assert_eq!(
            e.to_string(),
            "bad link: `step=ten`: `ten` is not a step number"
        );
        let e = Link::parse("open=a&pane=ringz").unwrap_err();
        assert!(e.message.contains("cache"), "{e}");
        let e = Link::parse("open=a&speed=5").unwrap_err();
        assert_eq!(e.field, "speed=5");
        assert!(e.message.starts_with("unknown field"), "{e}");
        assert_eq!(Link::parse("step=3").unwrap_err().field, "step=3");
        assert_eq!(Link::parse("open=a&file=b").unwrap_err().field, "file=b");
        assert_eq!(Link::parse("open=a%2").unwrap_err().field, "open=a%2");
        assert_eq!(
            Link::parse("open=a&zoom=yes").unwrap_err().field,
            "zoom=yes"
        );
        assert_eq!(
            Link::parse("open=a&marks=1,x").unwrap_err().field,
            "marks=1,x"
        );
    }
}

#[cfg(test)]
mod app_tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::command::Command;
    use crate::face::app::{App, Files, open_embedded};
    use crate::face::error::UiError;
    use crate::face::screen::Size;

    #[derive(Default)]
    struct Mem(BTreeMap<String, Vec<u8>>);

    impl Files for Mem {
        fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
            self.0
                .get(name)
                .cloned()
                .ok_or_else(|| "no such file".into())
        }
        fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
            self.0.insert(name.into(), bytes.to_vec());
            Ok(())
        }
    }

    fn sent() -> Link {
        Link {
            open: Opened::Embedded("split-unbatched".into()),
            step: 30,
            marks: vec![3, 7],
            focus: PaneId::Cache,
            zoom: false,
            selected: Some(2),
            compare: false,
        }
    }

    #[test]
    fn a_link_opens_where_it_was_made() {
        let mut app = App::from_link(&sent(), Box::new(Mem::default())).unwrap();
        assert_eq!(app.link(), sent());
        let s = app.screen(Size::new(140, 45));
        assert!(s.header.text().contains(" step 30/"), "{}", s.text());
        assert!(s.pane(PaneId::Cache).is_some_and(|p| p.focused));
        assert!(s.header.text().contains("marks 3,7"), "{}", s.text());
        // The sender got there by stepping: the receiver sees the same panes, the last
        // step's changes (strong) and the changes since the mark (weak) included.
        let mut sender = App::open("split-unbatched", Box::new(Mem::default())).unwrap();
        for (steps, then) in [
            (3, Some(Command::Mark)),
            (4, Some(Command::Mark)),
            (23, None),
        ] {
            for _ in 0..steps {
                sender.apply(Command::Step(crate::command::Dir::Forward));
            }
            if let Some(c) = then {
                sender.apply(c);
            }
        }
        sender.apply(Command::Select {
            pane: PaneId::Ring,
            item: crate::command::Item::Slot(2),
        });
        sender.apply(Command::FocusPane(PaneId::Cache));
        assert_eq!(sender.link(), sent());
        assert_eq!(sender.screen(Size::new(140, 45)).panes, s.panes);
    }

    #[test]
    fn a_zoomed_comparison_comes_back() {
        let l = Link {
            zoom: true,
            compare: true,
            selected: None,
            focus: PaneId::Ring,
            ..sent()
        };
        let app = App::from_link(&l, Box::new(Mem::default())).unwrap();
        assert_eq!(app.link(), l);
    }

    #[test]
    fn a_stale_or_unknown_link_is_an_error_naming_the_field() {
        let l = Link {
            step: 100_000,
            ..sent()
        };
        match App::from_link(&l, Box::new(Mem::default())) {
            Err(UiError::Link(e)) => {
                assert_eq!(e.field, "step=100000");
                assert!(e.message.contains("past the end"), "{e}");
            }
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("opened a stale link"),
        }
        let l = Link::at_start(Opened::Embedded("split-unbatchd".into()));
        let e = App::from_link(&l, Box::new(Mem::default())).err().unwrap();
        assert!(e.to_string().contains("split-unbatched"), "{e}");
    }

    #[test]
    fn a_local_file_opens_only_when_the_face_has_it() {
        let l = Link {
            open: Opened::Local("mine.ron".into()),
            step: 5,
            ..Link::at_start(Opened::Local(String::new()))
        };
        let e = App::from_link(&l, Box::new(Mem::default())).err().unwrap();
        assert!(e.to_string().starts_with("mine.ron: "), "{e}");
        assert!(e.to_string().contains("step 5"), "{e}");
        let mut files = Mem::default();
        let text = crate::scenario::EMBEDDED
            .iter()
            .find(|(n, _)| *n == "packed-wrap")
            .unwrap()
            .1;
        files.0.insert("mine.ron".into(), text.as_bytes().to_vec());
        let app = App::from_link(&l, Box::new(files)).unwrap();
        assert_eq!(app.link(), l);
    }

    #[test]
    fn tutorial_runs_and_embedded_traces_link_by_name() {
        let c = open_embedded("chapter-3/1").unwrap().unwrap();
        assert_eq!(c.link().open, Opened::Embedded("chapter-3/1".into()));
        let t = open_embedded("lost-interrupt").unwrap().unwrap();
        assert_eq!(t.link().open, Opened::Embedded("lost-interrupt".into()));
        assert!(t.end() > 10);
        assert!(open_embedded("chapter-99/1").is_none());
        assert!(open_embedded("chapter-3/99").unwrap().is_err());
    }

    #[test]
    fn asking_for_a_link_shows_it_and_hands_it_to_the_face_once() {
        let mut app = App::from_link(&sent(), Box::new(Mem::default())).unwrap();
        app.apply(Command::CopyLink);
        let s = app.screen(Size::new(140, 45));
        assert!(
            s.status
                .text()
                .starts_with("link: #open=split-unbatched&step=30&marks=3,7&pane=cache&slot=2"),
            "{}",
            s.status.text()
        );
        assert_eq!(app.take_asked_link(), Some(sent()));
        assert_eq!(app.take_asked_link(), None);
    }
}
