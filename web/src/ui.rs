//! The page: a tool bar (what to open, stepping and play buttons, the timeline scrubber, copy
//! link, help, theme), a box for errors and notes, and core's screen painted as a grid of
//! cells below. Keys go to core as keys, clicks as the command of the target under them, the
//! wheel as selection moves; everything they mean is core's.

use std::rc::Rc;

use egui::{CursorIcon, FontId, Id, Sense};
use ringside_core::command::{Command, Dir, lookup};
use ringside_core::face::app::{App, Entry, catalogue, open_embedded};
use ringside_core::face::controller::Controller;
use ringside_core::face::controller::scenario::ScenarioUi;
use ringside_core::face::controller::tutorial::{PROGRESS_KEY, TutorialUi};
use ringside_core::face::error::UiError;
use ringside_core::face::link::{Link, Opened};
use ringside_core::face::screen::Screen;
use ringside_core::tutorial::Progress;
use serde::Serialize;

use crate::files::{PageFiles, Store};
use crate::input::{self, Input, Wheel};
use crate::paint::{Glyphs, Grid, Painter};
use crate::theme::Theme;

/// A file the user gave: its name and its bytes, or why it could not be read.
pub type Incoming = (String, Result<Vec<u8>, String>);

/// What the page needs from where it runs (the browser, or a desktop window and tests).
pub trait Host {
    /// The link the page was opened with (the URL fragment, without `#`), if any.
    fn fragment(&self) -> Option<String>;
    /// Shows the link to the current view in the address bar.
    fn show_fragment(&mut self, fragment: &str);
    /// The whole URL of a link to this page.
    fn url(&self, fragment: &str) -> String;
    /// Publishes the page's state for tests (`window.__ringside` in the browser).
    fn publish(&mut self, state: &PageState);
    /// Opens the file dialog; `false` where there is none.
    fn pick_files(&mut self) -> bool;
    /// Starts reading files dropped on the page.
    fn read_dropped(&mut self, ctx: &egui::Context, files: Vec<egui::DroppedFileHandle>);
    /// Files read since the last call, in batches (one per drop or pick).
    fn take_files(&mut self) -> Vec<Vec<Incoming>>;
    /// Milliseconds since the page started loading.
    fn now_ms(&self) -> f64;
    /// Whether quitting means closing the window (native) rather than nothing (a page).
    fn can_quit(&self) -> bool;
    /// A link the user navigated to while the page was open, if any.
    fn take_link(&mut self) -> Option<String> {
        None
    }
}

/// The page's state as tests read it (the canvas has no DOM to query).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageState {
    /// Frames painted.
    pub frames: u64,
    /// When the first frame was painted, in milliseconds since the page started loading.
    pub first_frame_ms: f64,
    /// What is open: an embedded name or a file name.
    pub open: String,
    /// It is a file from the user's disk.
    pub local: bool,
    /// The cursor.
    pub step: u64,
    /// The last position.
    pub end: u64,
    /// The link to this view (the fragment).
    pub link: String,
    /// Titles of the panes on screen, in painting order.
    pub panes: Vec<String>,
    /// The title of the focused pane.
    pub focus: Option<String>,
    /// The help overlay is open.
    pub help: bool,
    /// The status line's text.
    pub status: String,
    /// The error box's text.
    pub error: Option<String>,
    /// The note box's text.
    pub note: Option<String>,
    /// Playing at this many steps per second.
    pub playing: Option<u32>,
    /// Dark theme.
    pub dark: bool,
    /// The pictures panel is open and has something to draw.
    pub pictures: bool,
    /// The grid's size in cells.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

/// The font size of the grid, in points.
pub const FONT_SIZE: f32 = 13.0;

/// The page.
pub struct WebApp {
    app: App,
    files: PageFiles,
    host: Box<dyn Host>,
    theme: Theme,
    tutorial: Vec<Entry>,
    scenarios: Vec<Entry>,
    screen: Option<Screen>,
    dirty: bool,
    grid: Option<Grid>,
    glyphs: Glyphs,
    wheel: Wheel,
    last_time: Option<f64>,
    error: Option<String>,
    note: Option<String>,
    /// A link that names a file from the sender's disk, waiting for that file.
    waiting: Option<Link>,
    state: PageState,
    shown_fragment: String,
    published: Option<PageState>,
    /// Show the pictures beside the text panes.
    show_pictures: bool,
}

/// Adds the symbol font after egui's own in both families (see web/assets/README.md). On
/// the first pass it applies at once; afterwards it is a lookup by name.
pub fn install_fonts(ctx: &egui::Context) {
    let family = |family| egui::epaint::text::InsertFontFamily {
        family,
        priority: egui::epaint::text::FontPriority::Lowest,
    };
    ctx.add_font(egui::epaint::text::FontInsert {
        name: "dejavu-sans-mono-symbols".into(),
        data: egui::FontData::from_static(include_bytes!("../assets/DejaVuSansMono-symbols.ttf")),
        families: vec![
            family(egui::FontFamily::Monospace),
            family(egui::FontFamily::Proportional),
        ],
    });
}

/// The start page, as `ringside` with no argument opens it: the course where this browser's
/// learner left off (the progress kept in local storage), else its first chapter.
fn start(files: &PageFiles) -> App {
    let (progress, note) = match files.kept(PROGRESS_KEY) {
        None => (Progress::default(), None),
        Some(b) => match Progress::parse(&String::from_utf8_lossy(&b)) {
            Ok(p) => (p, None),
            Err(e) => (
                Progress::default(),
                Some(format!(
                    "the course progress this browser kept cannot be read ({e}); starting afresh"
                )),
            ),
        },
    };
    let controller: Box<dyn Controller> = match TutorialUi::resume(progress, note) {
        Ok(t) => Box::new(t),
        // The embedded scenarios always parse (core's tests load every one).
        Err(_) => Box::new(ScenarioUi::tutorial().expect("the embedded tutorial opens")),
    };
    App::new(controller, Box::new(files.clone()))
}

impl WebApp {
    /// The page, opened on the link in `host`'s fragment, else on the start page.
    pub fn new(host: Box<dyn Host>, store: Rc<dyn Store>) -> Self {
        let files = PageFiles::new(store);
        let (tutorial, scenarios) = catalogue();
        let mut page = WebApp {
            app: start(&files),
            files,
            host,
            theme: Theme::new(true),
            tutorial,
            scenarios,
            screen: None,
            dirty: true,
            grid: None,
            glyphs: Glyphs::default(),
            wheel: Wheel::default(),
            last_time: None,
            error: None,
            note: None,
            waiting: None,
            state: PageState {
                frames: 0,
                first_frame_ms: 0.0,
                open: String::new(),
                local: false,
                step: 0,
                end: 0,
                link: String::new(),
                panes: Vec::new(),
                focus: None,
                help: false,
                status: String::new(),
                error: None,
                note: None,
                playing: None,
                dark: true,
                pictures: false,
                cols: 0,
                rows: 0,
            },
            shown_fragment: String::new(),
            published: None,
            show_pictures: true,
        };
        if let Some(f) = page.host.fragment().filter(|f| !f.is_empty()) {
            page.open_link(&f);
        }
        page
    }

    /// The state tests read.
    pub fn state(&self) -> &PageState {
        &self.state
    }

    /// The screen last painted.
    pub fn screen(&self) -> Option<&Screen> {
        self.screen.as_ref()
    }

    /// Opens a link (a URL fragment); a bad or stale one leaves the start page with a note.
    pub fn open_link(&mut self, fragment: &str) {
        let link = match Link::parse(fragment) {
            Ok(l) => l,
            Err(e) => return self.fall_back(&e.to_string()),
        };
        if let Opened::Local(name) = &link.open
            && !self.files.has(name)
        {
            self.note = Some(format!(
                "This link was made with {name} open from the sender's disk. Open that file \
                 here (drop it on the page or use Open file) to continue at step {}.",
                link.step
            ));
            self.waiting = Some(link);
            return;
        }
        match App::from_link(&link, Box::new(self.files.clone())) {
            Ok(app) => self.replace(app),
            Err(e) => self.fall_back(&e.to_string()),
        }
    }

    fn fall_back(&mut self, why: &str) {
        self.replace(start(&self.files));
        self.note = Some(format!(
            "The link could not be opened, so this is the start page. {why}"
        ));
    }

    /// Shows an app (whatever it has open), clearing the notes.
    pub fn show(&mut self, app: App) {
        self.replace(app);
    }

    fn replace(&mut self, app: App) {
        self.app = app;
        self.dirty = true;
        self.note = None;
        self.error = None;
    }

    /// Opens something the app carries, by name.
    pub fn open_named(&mut self, name: &str) {
        match open_embedded(name) {
            Some(Ok(c)) => {
                self.waiting = None;
                self.replace(App::new(c, Box::new(self.files.clone())));
            }
            Some(Err(e)) => self.error = Some(format!("cannot open {name}: {e}")),
            None => self.error = Some(format!("cannot open {name}: nothing of that name")),
        }
    }

    /// Opens files the user gave at once: a link waiting for one of them opens where it was
    /// made; otherwise core makes what it can of them together (a saved bench result is kept
    /// and shown next to the model; a trace opens with its QMP transcript, ring dumps, guest
    /// trace or DPDK log; else the first scenario or saved session), and every file is kept
    /// for compare and load.
    pub fn open_files(&mut self, batch: Vec<Incoming>) {
        let mut errors = Vec::new();
        let mut given = Vec::new();
        for (name, bytes) in batch {
            match bytes {
                Ok(b) => {
                    self.files.add(&name, b.clone());
                    given.push((name, b));
                }
                Err(e) => errors.push(format!("cannot read {name}: {e}")),
            }
        }
        if let Some(link) = self
            .waiting
            .take_if(|l| given.iter().any(|(n, _)| n == l.open.name()))
        {
            match App::from_link(&link, Box::new(self.files.clone())) {
                Ok(app) => self.replace(app),
                Err(e) => self.error = Some(format!("cannot open {}: {e}", link.open.name())),
            }
            return;
        }
        if given.is_empty() {
            if !errors.is_empty() {
                self.error = Some(errors.join("\n"));
            }
            return;
        }
        let names: Vec<String> = given.iter().map(|(n, _)| n.clone()).collect();
        match self.app.give(given) {
            Ok(None) => {
                self.dirty = true;
                self.note = (!errors.is_empty()).then(|| errors.join("\n"));
                self.error = None;
            }
            Ok(Some(name)) => {
                self.waiting = None;
                self.dirty = true;
                self.note = None;
                self.error = None;
                let others: Vec<&str> = names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| *n != name)
                    .collect();
                let mut msg = format!("opened {name}");
                if !others.is_empty() {
                    msg.push_str(&format!(" with {}", others.join(", ")));
                }
                self.app.message(false, msg);
                if !errors.is_empty() {
                    self.note = Some(errors.join("\n"));
                }
            }
            Err(e) => {
                errors.push(match &e {
                    UiError::NotOpenable { name, .. } => format!("cannot open {name}: {e}"),
                    UiError::Bench(_) => format!("cannot show the bench result: {e}"),
                    _ => format!("cannot open {}: {e}", names.join(", ")),
                });
                self.error = Some(errors.join("\n"));
            }
        }
    }

    fn apply(&mut self, cmd: Command) {
        self.app.apply(cmd);
        self.dirty = true;
    }

    fn handle_input(&mut self, ctx: &egui::Context) {
        let (events, row) = (
            ctx.input(|i| i.events.clone()),
            self.grid.as_ref().map_or(16.0, |g| g.cell.y),
        );
        for i in input::inputs(&events, &mut self.wheel, row) {
            match i {
                Input::Key(k) => {
                    if lookup(k) == Some(Command::Quit)
                        && !self.app.captures_keys()
                        && !self.host.can_quit()
                    {
                        self.app.message(
                            false,
                            "q quits the terminal UI; here, close the tab (or open something else)"
                                .into(),
                        );
                    } else {
                        self.app.key(k);
                    }
                }
                Input::Wheel(n) => self.app.apply(Command::Move(n)),
            }
            self.dirty = true;
        }
    }

    fn play(&mut self, ctx: &egui::Context) {
        let now = ctx.input(|i| i.time);
        let last = self.last_time.replace(now).unwrap_or(now);
        if let Some(sps) = self.app.playing() {
            let us = ((now - last).max(0.0) * 1e6) as u64;
            self.app.tick(us);
            self.dirty = true;
            let every = (1.0 / f64::from(sps.max(1))).max(1.0 / 60.0);
            ctx.request_repaint_after_secs(every as f32);
        }
    }

    /// One frame of the page.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        install_fonts(&ctx);
        self.set_visuals(&ctx);
        // The keyboard belongs to core: no egui widget keeps the focus (Tab and Space would
        // otherwise also move between and press the tool bar's buttons).
        if let Some(id) = ctx.memory(|m| m.focused()) {
            ctx.memory_mut(|m| m.surrender_focus(id));
        }
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        if !dropped.is_empty() {
            self.host.read_dropped(&ctx, dropped);
        }
        if let Some(f) = self.host.take_link() {
            self.open_link(&f);
        }
        for batch in self.host.take_files() {
            self.open_files(batch);
        }
        self.handle_input(&ctx);
        self.play(&ctx);

        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui));
        if self.error.is_some() || self.note.is_some() {
            egui::Panel::top("messages").show(ui, |ui| self.messages(ui));
        }
        // The pictures of the last screen built (a change repaints once more, so they follow).
        let has = |s: &Screen| crate::picture::drawn(&s.pictures);
        self.state.pictures = self.show_pictures && self.screen.as_ref().is_some_and(has);
        if self.state.pictures {
            let theme = self.theme;
            let screen = &self.screen;
            let clicked = egui::Panel::right("pictures")
                .default_size((ui.available_width() * 0.34).max(300.0))
                .resizable(true)
                .show(ui, |ui| {
                    screen
                        .as_ref()
                        .and_then(|s| crate::picture::pictures(ui, &s.pictures, theme))
                })
                .inner;
            if let Some(cmd) = clicked {
                self.apply(cmd);
                ctx.request_repaint();
            }
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE.fill(self.theme.background()))
            .show(ui, |ui| self.grid_ui(ui));

        if let Some(link) = self.app.take_asked_link() {
            let url = self.host.url(&link.fragment());
            ctx.copy_text(url.clone());
            self.app.message(false, format!("link copied: {url}"));
            self.dirty = true;
            ctx.request_repaint();
        }
        if self.app.should_quit() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.publish(&ctx);
    }

    fn set_visuals(&self, ctx: &egui::Context) {
        let want = if self.theme.dark {
            egui::Theme::Dark
        } else {
            egui::Theme::Light
        };
        if ctx.theme() != want {
            ctx.set_theme(want);
        }
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.menu_button("Open ▾", |ui| {
                let mut chosen = None;
                egui::ScrollArea::vertical()
                    .max_height(ui.ctx().content_rect().height() * 0.8)
                    .show(ui, |ui| {
                        ui.label(egui::RichText::new("Tutorial").strong());
                        for e in &self.tutorial {
                            if ui.button(&e.title).clicked() {
                                chosen = Some(e.name.clone());
                            }
                        }
                        ui.separator();
                        ui.label(egui::RichText::new("Scenarios").strong());
                        for e in &self.scenarios {
                            let text = format!("{}  —  {}", e.name, e.title);
                            if ui.button(text).clicked() {
                                chosen = Some(e.name.clone());
                            }
                        }
                    });
                if let Some(name) = chosen {
                    self.open_named(&name);
                    ui.close();
                }
            });
            if ui
                .button("Open file…")
                .on_hover_text(
                    "a scenario (.ron), a saved session, or a QEMU trace; or drop files on the page",
                )
                .clicked()
                && !self.host.pick_files()
            {
                self.app
                    .message(false, "drop files on the window to open them".into());
                self.dirty = true;
            }
            ui.separator();
            let buttons: [(&str, &str, Command); 4] = [
                ("|◀", "to the first step (Home)", Command::First),
                ("◀", "one step back (←)", Command::Step(Dir::Back)),
                ("▶", "one step forward (→)", Command::Step(Dir::Forward)),
                ("▶|", "to the last step (End)", Command::Last),
            ];
            for (i, (label, tip, cmd)) in buttons.into_iter().enumerate() {
                if i == 2 {
                    let playing = self.app.playing().is_some();
                    let (label, tip) = if playing {
                        ("■ pause", "pause (Space)")
                    } else {
                        ("▶ play", "play (Space)")
                    };
                    if ui.button(label).on_hover_text(tip).clicked() {
                        self.apply(Command::Play);
                    }
                }
                if ui.button(label).on_hover_text(tip).clicked() {
                    self.apply(cmd);
                }
            }
            if ui.button("−").on_hover_text("play slower (-)").clicked() {
                self.apply(Command::Slower);
            }
            if ui.button("+").on_hover_text("play faster (+)").clicked() {
                self.apply(Command::Faster);
            }
            let (step, end) = (self.state.step, self.state.end);
            ui.label(format!("{step} / {end}"))
                .on_hover_text("the cursor and the last position (steps, or events in a trace)");
            // Room for the buttons after the scrubber.
            let right = 340.0;
            ui.spacing_mut().slider_width = (ui.available_width() - right).max(60.0);
            let mut v = step;
            let slider = egui::Slider::new(&mut v, 0..=end.max(1))
                .show_value(false)
                .trailing_fill(true);
            if ui
                .add_enabled(end > 0, slider)
                .on_hover_text("drag to scrub the timeline")
                .changed()
                && v != step
            {
                self.apply(Command::Goto(v));
            }
            if ui
                .button("Copy link")
                .on_hover_text("a link that opens this view at this step (:link)")
                .clicked()
            {
                self.apply(Command::CopyLink);
            }
            let pictures = if self.show_pictures { "Hide pictures" } else { "Pictures" };
            if ui
                .button(pictures)
                .on_hover_text("the rings and cache lines drawn beside the text")
                .clicked()
            {
                self.show_pictures = !self.show_pictures;
            }
            if ui.button("Help").on_hover_text("the keys (?)").clicked() {
                self.apply(Command::Help);
            }
            let theme = if self.theme.dark { "Light" } else { "Dark" };
            if ui.button(theme).on_hover_text("switch the theme").clicked() {
                self.theme = Theme::new(!self.theme.dark);
            }
        });
    }

    fn messages(&mut self, ui: &mut egui::Ui) {
        let mut close = false;
        for (text, color) in [
            (&self.error, self.theme.error()),
            (&self.note, ui.visuals().text_color()),
        ] {
            let Some(text) = text else { continue };
            egui::Frame::new()
                .stroke(egui::Stroke::new(1.5, color))
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.horizontal(|ui| {
                        ui.add(
                            egui::Label::new(
                                egui::RichText::new(text.as_str()).monospace().color(color),
                            )
                            .wrap(),
                        );
                    });
                });
        }
        if ui.button("Dismiss").clicked() {
            close = true;
        }
        if close {
            self.error = None;
            self.note = None;
        }
    }

    fn grid_ui(&mut self, ui: &mut egui::Ui) {
        let avail = ui.available_size();
        let (rect, response) = ui.allocate_exact_size(avail, Sense::click());
        let font = FontId::monospace(FONT_SIZE);
        let grid = Grid::measure(ui.ctx(), font, rect.min);
        let mut size = grid.size_for(rect.size());
        if self.show_pictures {
            size = size.with_pictures();
        }
        if self.dirty || self.screen.as_ref().is_none_or(|s| s.size != size) {
            self.screen = Some(self.app.screen(size));
            self.dirty = false;
            self.refresh_state();
            // The pictures panel was drawn before this screen: once more, to follow it.
            if self.show_pictures {
                ui.ctx().request_repaint();
            }
        }
        let Some(screen) = self.screen.take() else {
            return;
        };
        let painter = ui.painter_at(rect);
        Painter::new(
            &painter,
            &grid,
            self.theme,
            &mut self.glyphs,
            Id::unique("ringside-grid"),
        )
        .screen(&screen);
        let target = response
            .hover_pos()
            .and_then(|p| grid.cell_at(p, size))
            .and_then(|(x, y)| screen.command_at(x, y));
        if let Some(t) = &target
            && !matches!(t, Command::FocusPane(_))
        {
            ui.ctx().set_cursor_icon(CursorIcon::PointingHand);
        }
        self.screen = Some(screen);
        self.grid = Some(grid);
        if response.clicked()
            && let Some(cmd) = target
        {
            self.apply(cmd);
            ui.ctx().request_repaint();
        }
    }

    /// Reads what tests and the address bar need from the app and the screen just built.
    fn refresh_state(&mut self) {
        let link = self.app.link();
        let s = &mut self.state;
        s.open = link.open.name().to_string();
        s.local = matches!(link.open, Opened::Local(_));
        s.step = link.step;
        s.end = self.app.end();
        s.link = link.fragment();
        s.playing = self.app.playing();
        if let Some(screen) = &self.screen {
            s.panes = screen.panes.iter().map(|p| p.title.clone()).collect();
            s.focus = screen
                .panes
                .iter()
                .find(|p| p.focused)
                .map(|p| p.title.clone());
            s.help = screen.overlay.is_some();
            s.status = screen.status.text();
            s.cols = screen.size.cols;
            s.rows = screen.size.rows;
        }
    }

    fn publish(&mut self, ctx: &egui::Context) {
        self.state.frames += 1;
        if self.state.frames == 1 {
            self.state.first_frame_ms = self.host.now_ms();
        }
        self.state.error = self.error.clone();
        self.state.note = self.note.clone();
        self.state.dark = self.theme.dark;
        if self.shown_fragment != self.state.link {
            self.shown_fragment = self.state.link.clone();
            self.host.show_fragment(&self.shown_fragment);
        }
        // Frames alone do not republish: only the first does, and any change.
        let mut cmp = self.state.clone();
        if let Some(p) = &self.published {
            cmp.frames = p.frames;
        }
        if self.published.as_ref() != Some(&cmp) {
            self.host.publish(&self.state);
            self.published = Some(self.state.clone());
            // The tool bar was drawn before the change: once more, to show it.
            ctx.request_repaint();
        }
    }

    /// The grid's cell size in points (for tests that click cells).
    pub fn grid(&self) -> Option<&Grid> {
        self.grid.as_ref()
    }
}
