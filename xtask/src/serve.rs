//! `cargo xtask serve`: a small static file server for `web/dist/` on 127.0.0.1, enough for
//! the browser app (GET and HEAD, the right MIME type for .wasm, nothing outside dist).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The MIME type of a file in dist.
pub fn mime(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("ron" | "log" | "txt" | "jsonl") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file a request path names in `dist`, or `None` for anything that would leave it.
pub fn resolve(dist: &Path, path: &str) -> Option<PathBuf> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    if rel
        .split('/')
        .any(|part| part.is_empty() || part == ".." || part.starts_with('.'))
        || rel.contains('\\')
    {
        return None;
    }
    Some(dist.join(rel))
}

fn respond(mut s: TcpStream, dist: &Path) -> std::io::Result<()> {
    let mut line = String::new();
    let mut reader = BufReader::new(s.try_clone()?);
    reader.read_line(&mut line)?;
    // Drain the headers.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let file = resolve(dist, path).filter(|f| f.is_file());
    let (status, body, kind) = match (method, file) {
        ("GET" | "HEAD", Some(f)) => ("200 OK", std::fs::read(&f)?, mime(&f)),
        ("GET" | "HEAD", None) => (
            "404 Not Found",
            b"not found\n".to_vec(),
            "text/plain; charset=utf-8",
        ),
        _ => (
            "405 Method Not Allowed",
            b"GET or HEAD\n".to_vec(),
            "text/plain; charset=utf-8",
        ),
    };
    write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        s.write_all(&body)?;
    }
    s.flush()
}

/// Serves dist until killed. `--port N` (0 picks a free one); the URL goes to stdout.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let mut port = 8080u16;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => {
                let v = it.next().context("--port needs a number")?;
                port = v
                    .parse()
                    .with_context(|| format!("--port {v}: not a port"))?;
            }
            other => bail!("unknown argument {other}; serve takes --port N"),
        }
    }
    let dist = super::dist();
    if !dist.join("index.html").is_file() {
        bail!(
            "{} has no index.html: build it first with `cargo xtask web`",
            dist.display()
        );
    }
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} (try --port N)"))?;
    let addr = listener.local_addr()?;
    println!("serving {} at http://{addr}/", dist.display());
    std::io::stdout().flush()?;
    for stream in listener.incoming() {
        let Ok(s) = stream else { continue };
        let dist = dist.clone();
        std::thread::spawn(move || {
            if let Err(e) = respond(s, &dist) {
                eprintln!("serve: {e}");
            }
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_dist_and_wasm_is_wasm() {
        let d = Path::new("/d");
        assert_eq!(resolve(d, "/"), Some(PathBuf::from("/d/index.html")));
        assert_eq!(
            resolve(d, "/ringside_web_bg.wasm?x=1"),
            Some(PathBuf::from("/d/ringside_web_bg.wasm"))
        );
        assert_eq!(resolve(d, "/../Cargo.toml"), None);
        assert_eq!(resolve(d, "/a/../../b"), None);
        assert_eq!(resolve(d, "/.git/config"), None);
        assert_eq!(
            resolve(d, "//etc/passwd"),
            Some(PathBuf::from("/d/etc/passwd"))
        );
        assert_eq!(mime(Path::new("x.wasm")), "application/wasm");
        assert_eq!(mime(Path::new("index.html")), "text/html; charset=utf-8");
    }
}
