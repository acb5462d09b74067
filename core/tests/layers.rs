//! Core's layers, as docs/ARCHITECTURE.md draws them, checked against the `use` lines: a module
//! imports only modules above it (or on its own line), and no files import each other in a
//! circle. A new import that points up the list fails here with the two files named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The order of docs/ARCHITECTURE.md, top first; modules on one line share a rank.
const LAYERS: &[&[&str]] = &[
    &["suggest"],
    &["memory"],
    &["layout"],
    &["features", "behaviour"],
    &["finding"],
    &["config"],
    &["ring"],
    &["op"],
    &["engine"],
    &["cache"],
    &["session"],
    &["scenario"],
    &["trace"],
    &["bench"],
    &["command"],
    &["view"],
    &["tutorial"],
    &["face"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file's module path (`trace::replay::apply`; `mod.rs` and `foo.rs` name `foo`).
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src()).unwrap().with_extension("");
    let mut segs: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(segs.last().map(String::as_str), Some("mod" | "lib")) {
        segs.pop();
    }
    segs
}

/// The code a file compiles outside tests, without comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap();
    text.lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b…` and `super::a…` path in `code`, made absolute, with the items of a
/// `use …::{x, y::z}` group each as a path of its own.
fn paths(code: &str, module: &[String]) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let start = (i == 0 || !ident(bytes[i - 1]))
            && (rest.starts_with("crate::") || rest.starts_with("super::"));
        if !start {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < bytes.len() && (ident(bytes[j]) || bytes[j] == ':') {
            j += 1;
        }
        let text: String = bytes[i..j].iter().collect();
        let mut segs: Vec<String> = text
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mut base: Vec<String> = Vec::new();
        if segs[0] == "super" {
            base = module[..module.len().saturating_sub(1)].to_vec();
            // `super` from a `mod.rs`-less file is its parent; each further `super` climbs.
            segs.remove(0);
            while segs.first().is_some_and(|s| s == "super") {
                base.pop();
                segs.remove(0);
            }
        } else {
            segs.remove(0);
        }
        base.extend(segs);
        if bytes.get(j) == Some(&'{') {
            let end = j + bytes[j..].iter().position(|&c| c == '}').unwrap_or(0);
            let group: String = bytes[j + 1..end].iter().collect();
            for item in group.split(',') {
                let item = item.trim().split(' ').next().unwrap_or("");
                if item.is_empty() || item == "self" {
                    continue;
                }
                let mut p = base.clone();
                p.extend(item.split("::").map(str::to_string));
                out.push(p);
            }
        }
        out.push(base);
        i = j;
    }
    out
}

struct Graph {
    /// Module path → the module paths it imports (files, not items).
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn graph() -> Graph {
    let mut list = Vec::new();
    files(&src(), &mut list);
    let modules: BTreeSet<Vec<String>> = list.iter().map(|p| module_of(p)).collect();
    let resolve = |p: &[String]| {
        (1..=p.len())
            .rev()
            .map(|n| p[..n].to_vec())
            .find(|m| modules.contains(m))
    };
    let mut edges = BTreeMap::new();
    for f in &list {
        let m = module_of(f);
        if m.is_empty() {
            continue; // lib.rs: the root names everything
        }
        let text = std::fs::read_to_string(f).unwrap();
        let to: BTreeSet<Vec<String>> = paths(&code(&text), &m)
            .iter()
            .filter_map(|p| resolve(p))
            .filter(|t| *t != m && !m.starts_with(t))
            .collect();
        edges.insert(m, to);
    }
    Graph { edges }
}

fn rank(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

#[test]
fn every_top_level_module_is_in_the_list() {
    let mut list = Vec::new();
    files(&src(), &mut list);
    for f in list {
        let m = module_of(&f);
        if let Some(top) = m.first() {
            assert!(
                rank(top).is_some(),
                "{top} (from {}) is not in docs/ARCHITECTURE.md's layers",
                f.display()
            );
        }
    }
}

#[test]
fn modules_import_only_layers_above_them() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        let r = rank(&from[0]).unwrap();
        for to in tos {
            let t = rank(&to[0]).unwrap();
            if t > r {
                wrong.push(format!("{} imports {}", from.join("::"), to.join("::")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports pointing down the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_files_import_each_other_in_a_circle() {
    let g = graph();
    // Depth-first search for a back edge; the path to it is the circle.
    fn visit<'a>(
        g: &'a Graph,
        m: &'a Vec<String>,
        state: &mut BTreeMap<&'a Vec<String>, u8>,
        path: &mut Vec<&'a Vec<String>>,
    ) -> Option<Vec<String>> {
        state.insert(m, 1);
        path.push(m);
        for t in g.edges.get(m).into_iter().flatten() {
            match state.get(t) {
                Some(1) => {
                    let at = path.iter().position(|p| *p == t).unwrap();
                    let mut c: Vec<String> = path[at..].iter().map(|p| p.join("::")).collect();
                    c.push(t.join("::"));
                    return Some(c);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(g, t, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(m, 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.edges.keys() {
        if !state.contains_key(m)
            && let Some(c) = visit(&g, m, &mut state, &mut Vec::new())
        {
            panic!("an import circle: {}", c.join(" -> "));
        }
    }
}
