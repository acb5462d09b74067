//! The page in a browser: the entry point JavaScript calls, the page's file input and drops,
//! the address bar, local storage and downloads, `window.__ringside` for tests, and a panic
//! hook that puts the message in the page (never a blank canvas).

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;

use crate::files::Store;
use crate::ui::{Host, Incoming, PageState, WebApp};

/// Files read by the page and links navigated to, waiting for the next frame.
#[derive(Default)]
struct Inbox {
    /// Files of the pick under way.
    adding: Vec<Incoming>,
    /// Whole batches, ready to open.
    batches: Vec<Vec<Incoming>>,
    /// A link the user navigated to in this page.
    link: Option<String>,
}

type Shared = Rc<RefCell<Inbox>>;

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// Shows a message in the page's error box (`#ringside-error`), over the canvas.
fn show_error(text: &str) {
    let Some(doc) = window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(el) = doc.get_element_by_id("ringside-error") {
        el.set_text_content(Some(text));
        let _ = el.set_attribute("style", "display:block");
    }
    if let Some(w) = window() {
        let _ = js_sys::Reflect::set(&w, &"__ringside_panic".into(), &text.into());
    }
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_error(&format!(
            "ringside stopped on an internal error; please report it with this message:\n\n{info}"
        ));
    }));
}

/// The browser as the page's host.
struct BrowserHost {
    inbox: Shared,
}

impl Host for BrowserHost {
    fn fragment(&self) -> Option<String> {
        let hash = window()?.location().hash().ok()?;
        Some(hash.trim_start_matches('#').to_string())
    }

    fn show_fragment(&mut self, fragment: &str) {
        if let Some(Ok(h)) = window().map(|w| w.history()) {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#{fragment}")));
        }
    }

    fn url(&self, fragment: &str) -> String {
        let href = window()
            .and_then(|w| w.location().href().ok())
            .unwrap_or_default();
        let base = href.split('#').next().unwrap_or_default();
        format!("{base}#{fragment}")
    }

    fn publish(&mut self, state: &PageState) {
        let (Some(w), Ok(json)) = (window(), serde_json::to_string(state)) else {
            return;
        };
        if let Ok(v) = js_sys::JSON::parse(&json) {
            let _ = js_sys::Reflect::set(&w, &"__ringside".into(), &v);
        }
    }

    fn pick_files(&mut self) -> bool {
        let input = window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("ringside-open"))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        match input {
            Some(i) => {
                i.click();
                true
            }
            None => false,
        }
    }

    fn read_dropped(&mut self, ctx: &egui::Context, files: Vec<egui::DroppedFileHandle>) {
        let inbox = self.inbox.clone();
        let ctx = ctx.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let mut batch = Vec::new();
            for f in files {
                let name = f
                    .path()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                batch.push((name, f.bytes_async().await));
            }
            inbox.borrow_mut().batches.push(batch);
            ctx.request_repaint();
        });
    }

    fn take_files(&mut self) -> Vec<Vec<Incoming>> {
        std::mem::take(&mut self.inbox.borrow_mut().batches)
    }

    fn take_link(&mut self) -> Option<String> {
        self.inbox.borrow_mut().link.take()
    }

    fn now_ms(&self) -> f64 {
        window()
            .and_then(|w| w.performance())
            .map_or(0.0, |p| p.now())
    }

    fn can_quit(&self) -> bool {
        false
    }
}

/// Saved sessions in local storage (`ringside:NAME`), each save also offered as a download.
struct LocalStore;

const PREFIX: &str = "ringside:";
/// State kept between visits (the course progress), apart from saved files.
const KEPT: &str = "ringside-kept:";

impl Store for LocalStore {
    fn load(&self, name: &str) -> Option<Vec<u8>> {
        let s = window()?.local_storage().ok()??;
        s.get_item(&format!("{PREFIX}{name}"))
            .ok()?
            .map(String::into_bytes)
    }

    fn save(&self, name: &str, bytes: &[u8]) -> Result<(), String> {
        let text = String::from_utf8_lossy(bytes);
        let w = window().ok_or("no window")?;
        if let Ok(Some(s)) = w.local_storage() {
            s.set_item(&format!("{PREFIX}{name}"), &text)
                .map_err(|_| "the browser's storage refused it (full?)".to_string())?;
        }
        download(&w, name, bytes).map_err(|e| format!("cannot offer the download: {e:?}"))
    }

    fn keep(&self, key: &str, bytes: &[u8]) -> Result<(), String> {
        let s = window()
            .and_then(|w| w.local_storage().ok().flatten())
            .ok_or("this browser keeps no local storage")?;
        s.set_item(&format!("{KEPT}{key}"), &String::from_utf8_lossy(bytes))
            .map_err(|_| "the browser's storage refused it (full?)".to_string())
    }

    fn kept(&self, key: &str) -> Option<Vec<u8>> {
        let s = window()?.local_storage().ok()??;
        s.get_item(&format!("{KEPT}{key}"))
            .ok()?
            .map(String::into_bytes)
    }
}

fn download(w: &web_sys::Window, name: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let doc = w.document().ok_or("no document")?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/plain");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = doc.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

/// What JavaScript holds: the running app and the way files and links reach it.
#[wasm_bindgen]
pub struct Handle {
    /// Kept so the app runs as long as JavaScript holds the handle.
    _runner: eframe::WebRunner,
    inbox: Shared,
    ctx: Rc<RefCell<Option<egui::Context>>>,
}

#[wasm_bindgen]
impl Handle {
    /// A file the page's file input read; [`Handle::open_added`] opens the files added since.
    pub fn add_file(&self, name: String, bytes: Vec<u8>) {
        self.inbox.borrow_mut().adding.push((name, Ok(bytes)));
    }

    /// Opens the files added since the last call, together (a trace and its companions).
    pub fn open_added(&self) {
        let mut inbox = self.inbox.borrow_mut();
        let batch = std::mem::take(&mut inbox.adding);
        if !batch.is_empty() {
            inbox.batches.push(batch);
        }
        drop(inbox);
        self.repaint();
    }

    /// The user navigated to another link of this page (the `hashchange` event).
    pub fn hash_changed(&self) {
        let hash = window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        self.inbox.borrow_mut().link = Some(hash.trim_start_matches('#').to_string());
        self.repaint();
    }

    /// Panics on purpose, so the browser test can check that a panic shows in the page.
    pub fn panic_for_test(&self) {
        panic!("a deliberate panic, asked for by the browser test");
    }

    fn repaint(&self) {
        if let Some(ctx) = self.ctx.borrow().as_ref() {
            ctx.request_repaint();
        }
    }
}

/// Starts the app on a canvas. JavaScript keeps the handle.
#[wasm_bindgen]
pub async fn start(canvas: web_sys::HtmlCanvasElement) -> Result<Handle, JsValue> {
    install_panic_hook();
    eframe::WebLogger::init(log::LevelFilter::Warn).ok();
    let inbox: Shared = Rc::default();
    let host = BrowserHost {
        inbox: inbox.clone(),
    };
    let ctx: Rc<RefCell<Option<egui::Context>>> = Rc::default();
    let keep = ctx.clone();
    let runner = eframe::WebRunner::new();
    runner
        .start(
            canvas,
            eframe::WebOptions::default(),
            Box::new(move |cc| {
                *keep.borrow_mut() = Some(cc.egui_ctx.clone());
                Ok(Box::new(WebApp::new(Box::new(host), Rc::new(LocalStore))))
            }),
        )
        .await?;
    Ok(Handle {
        _runner: runner,
        inbox,
        ctx,
    })
}
