//! `cargo run -p ringside-web [#LINK]`: the browser app in a desktop window, for development.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> eframe::Result {
    use std::rc::Rc;

    use ringside_web::WebApp;
    use ringside_web::files::NoStore;
    use ringside_web::native::NativeHost;

    let mut host = NativeHost::new(std::env::args().nth(1));
    host.print_links = true;
    host.quits = true;
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("ringside")
            .with_inner_size([1280.0, 800.0]),
        ..Default::default()
    };
    eframe::run_native(
        "ringside",
        options,
        Box::new(|_cc| Ok(Box::new(WebApp::new(Box::new(host), Rc::new(NoStore))))),
    )
}

/// On the web the page starts from JavaScript (`start` in the library).
#[cfg(target_arch = "wasm32")]
fn main() {}
