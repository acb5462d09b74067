//! What every stepped controller keeps besides its document: focus, marks, breakpoints, play
//! state, the prompt, the help overlay, messages and the search term. One implementation, so
//! keys mean the same everywhere. Messages name the document's unit ("step" or "event").

use crate::command::{Command, Condition, Dir, Key, KeyPress, PaneId, ParseError, PromptKind};
use crate::command::{PALETTE, bindings, lookup, next_hit};
use crate::face::controller::submitted;
use crate::view::{HelpRow, Message, PromptView, UiView};

/// Play speeds, steps per second.
const SPEEDS: [u32; 8] = [1, 2, 5, 10, 20, 50, 100, 500];
const DEFAULT_SPEED: usize = 2;

pub(crate) struct Prompt {
    pub(crate) kind: PromptKind,
    pub(crate) text: String,
    error: Option<String>,
}

pub(crate) struct Chrome {
    pub(crate) focus: PaneId,
    pub(crate) zoom: bool,
    pub(crate) marks: Vec<u64>,
    pub(crate) breakpoints: Vec<Condition>,
    pub(crate) playing: bool,
    speed: usize,
    /// Play time not yet turned into steps, in microseconds.
    play_us: u64,
    prompt: Option<Prompt>,
    message: Option<Message>,
    help: Option<usize>,
    pub(crate) search: Option<String>,
    pub(crate) quit: bool,
}

impl Chrome {
    pub(crate) fn new(focus: PaneId) -> Self {
        Chrome {
            focus,
            zoom: false,
            marks: Vec::new(),
            breakpoints: Vec::new(),
            playing: false,
            speed: DEFAULT_SPEED,
            play_us: 0,
            prompt: None,
            message: None,
            help: None,
            search: None,
            quit: false,
        }
    }

    pub(crate) fn speed(&self) -> u32 {
        SPEEDS[self.speed]
    }

    pub(crate) fn playing(&self) -> Option<u32> {
        self.playing.then_some(self.speed())
    }

    /// Positions due after `elapsed_us` of play at the current speed; the fraction carries
    /// over to the next tick.
    pub(crate) fn due(&mut self, elapsed_us: u64) -> u64 {
        self.play_us += elapsed_us.min(1_000_000);
        let per = 1_000_000 / u64::from(self.speed().max(1));
        let n = self.play_us / per;
        self.play_us %= per;
        n
    }

    /// Prompt editing and the help overlay take keys first; otherwise the keymap. Returns the
    /// command the key amounts to: a bound one, or a submitted prompt that parsed (one that
    /// did not stays open with its error).
    pub(crate) fn key(&mut self, key: KeyPress) -> Option<Command> {
        if let Some(p) = self.prompt.as_mut() {
            match key.key {
                Key::Esc => self.prompt = None,
                Key::Backspace => {
                    p.text.pop();
                    p.error = None;
                }
                Key::Enter => {
                    let p = self.prompt.take()?;
                    return match submitted(p.kind, &p.text) {
                        Ok(cmd) => Some(cmd),
                        Err(e) => {
                            self.reject(p, &e);
                            None
                        }
                    };
                }
                Key::Char(c) if !key.ctrl => {
                    p.text.push(c);
                    p.error = None;
                }
                _ => {}
            }
            return None;
        }
        if let Some(scroll) = self.help.as_mut() {
            match key.key {
                Key::Down | Key::Char('j') => *scroll += 1,
                Key::Up | Key::Char('k') => *scroll = scroll.saturating_sub(1),
                Key::PageDown => *scroll += 10,
                Key::PageUp => *scroll = scroll.saturating_sub(10),
                Key::Esc | Key::Char('?' | 'q') | Key::F(1) => self.help = None,
                _ => {}
            }
            return None;
        }
        lookup(key)
    }

    /// Whether a prompt or the help overlay takes the keys before the keymap ([`Self::key`]).
    pub(crate) fn captures_keys(&self) -> bool {
        self.prompt.is_some() || self.help.is_some()
    }

    /// Puts a refused prompt back, with why.
    pub(crate) fn reject(&mut self, p: Prompt, e: &ParseError) {
        self.prompt = Some(Prompt {
            error: Some(e.to_string()),
            ..p
        });
    }

    pub(crate) fn info(&mut self, text: String) {
        self.message = Some(Message { error: false, text });
    }

    pub(crate) fn error(&mut self, text: String) {
        self.message = Some(Message { error: true, text });
    }

    pub(crate) fn say(&mut self, error: bool, text: String) {
        self.message = Some(Message { error, text });
    }

    /// The latest mark at or before the cursor: changes since then are weak.
    pub(crate) fn mark_before(&self, cursor: u64) -> Option<u64> {
        self.marks.iter().copied().filter(|&m| m <= cursor).max()
    }

    /// Applies the commands that do not depend on the document; gives back the others.
    /// `cursor` is the document's cursor (for marks), counted in `unit`s.
    pub(crate) fn apply(&mut self, cmd: Command, cursor: u64, unit: &str) -> Option<Command> {
        match cmd {
            Command::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Command::Slower => self.speed = self.speed.saturating_sub(1),
            Command::Mark => match self.marks.iter().position(|&m| m == cursor) {
                Some(i) => {
                    self.marks.remove(i);
                    self.info(format!("mark at {unit} {cursor} removed"));
                }
                None => {
                    self.marks.push(cursor);
                    self.info(format!("mark set at {unit} {cursor}"));
                }
            },
            Command::ClearMarks => self.marks.clear(),
            Command::DeleteBreak(n) => {
                if n >= 1 && n <= self.breakpoints.len() {
                    let c = self.breakpoints.remove(n - 1);
                    self.info(format!("deleted breakpoint {n}: {c}"));
                } else {
                    self.error(format!("no breakpoint {n}"));
                }
            }
            Command::ClearBreaks => {
                self.breakpoints.clear();
                self.info("all breakpoints deleted".into());
            }
            Command::Focus(dir) => self.focus = self.focus.cycle(dir),
            Command::FocusPane(p) => self.focus = p,
            Command::Zoom => self.zoom = !self.zoom,
            Command::Prompt(kind) => {
                self.prompt = Some(Prompt {
                    kind,
                    text: String::new(),
                    error: None,
                })
            }
            Command::Help => self.help = if self.help.is_some() { None } else { Some(0) },
            Command::Quit => self.quit = true,
            other => return Some(other),
        }
        None
    }

    /// Closes the help or the message; `false` when there was neither.
    pub(crate) fn escape(&mut self) -> bool {
        if self.help.take().is_some() || self.message.take().is_some() {
            return true;
        }
        self.search = None;
        false
    }

    /// The next mark after the cursor, wrapping to the first.
    pub(crate) fn next_mark(&mut self, cursor: u64) -> Option<u64> {
        let mut sorted = self.marks.clone();
        sorted.sort_unstable();
        let m = sorted
            .iter()
            .find(|&&m| m > cursor)
            .or(sorted.first())
            .copied();
        if m.is_none() {
            self.error("no marks: press m to set one".into());
        }
        m
    }

    /// Where a continue goes: the nearest hit of any breakpoint (with its number). With no
    /// hit that way the cursor stays and the message says so. `hits` holds each breakpoint's
    /// hits. Sets the message.
    pub(crate) fn continue_to(
        &mut self,
        cursor: u64,
        dir: Dir,
        hits: &[Vec<u64>],
        unit: &str,
    ) -> Option<u64> {
        if self.breakpoints.is_empty() {
            self.error("no breakpoints: press b to add one".into());
            return None;
        }
        let best = self
            .breakpoints
            .iter()
            .zip(hits)
            .enumerate()
            .filter_map(|(i, (_, h))| next_hit(h, cursor, dir).map(|h| (h, i)))
            .min_by_key(|&(h, _)| match dir {
                Dir::Forward => h,
                Dir::Back => u64::MAX - h,
            });
        match best {
            Some((h, i)) => {
                let c = self.breakpoints[i].to_string();
                self.info(format!("breakpoint {} ({c}) at {unit} {h}", i + 1));
                Some(h)
            }
            None => {
                let word = match dir {
                    Dir::Forward => "after",
                    Dir::Back => "before",
                };
                self.error(format!(
                    "no breakpoint hit {word} {unit} {cursor}: the cursor stays"
                ));
                None
            }
        }
    }

    /// Where a search goes, given every matching position. Sets the message.
    pub(crate) fn search_to(
        &mut self,
        hits: &[u64],
        cursor: u64,
        dir: Dir,
        unit: &str,
    ) -> Option<u64> {
        let term = self.search.clone().unwrap_or_default();
        match next_hit(hits, cursor, dir) {
            Some(h) => {
                self.info(format!("/{term}: {unit} {h} ({} matches)", hits.len()));
                Some(h)
            }
            None => {
                self.error(format!("/{term}: no more matches"));
                None
            }
        }
    }

    pub(crate) fn view(&self) -> UiView {
        let all = bindings();
        let hints = all
            .iter()
            .filter_map(|b| Some((b.keys.first()?.to_string(), b.hint?.to_string())))
            .collect();
        let help = self.help.map(|scroll| {
            let mut rows: Vec<HelpRow> = all
                .iter()
                .map(|b| HelpRow {
                    section: b.section.to_string(),
                    keys: b.keys_text(),
                    desc: b.desc.to_string(),
                })
                .collect();
            rows.extend(PALETTE.iter().map(|(cmd, desc)| HelpRow {
                section: "Commands (type : first)".into(),
                keys: (*cmd).to_string(),
                desc: (*desc).to_string(),
            }));
            (scroll, rows)
        });
        UiView {
            focus: self.focus,
            zoom: self.zoom,
            playing: self.playing(),
            speed: self.speed(),
            prompt: self.prompt.as_ref().map(|p| PromptView {
                label: p.kind.label().to_string(),
                text: p.text.clone(),
                error: p.error.clone(),
            }),
            message: self.message.clone(),
            help,
            breakpoints: self.breakpoints.iter().map(ToString::to_string).collect(),
            marks: self.marks.clone(),
            hints,
            search: self.search.clone(),
        }
    }
}
