//! What the app carries, by name: the course, the embedded scenarios, the tutorial's runs and
//! traces. Below the controllers and the app, which both ask it.

use crate::scenario::EMBEDDED;
use crate::tutorial::{CHAPTERS, TRACES};

/// The name a link opens the course's chapter list by.
pub const COURSE: &str = "course";

/// Whether the app carries something of this name ([`open_embedded`](super::app::open_embedded) opens it): the course's
/// chapter list (`course`), an embedded scenario, a tutorial run `chapter-N/P` (`chapter-N`
/// is its first run, opened by itself, without the course's questions), or an embedded
/// trace. Cheap: it parses nothing.
pub fn is_embedded(name: &str) -> bool {
    name == COURSE
        || EMBEDDED.iter().any(|(n, _)| *n == name)
        || TRACES.iter().any(|t| t.name == name)
        || chapter_run(name).is_some_and(|(c, p)| usize::from(c) <= CHAPTERS.len() && p >= 1)
}

/// `chapter-N` or `chapter-N/P` as (N, P).
pub(super) fn chapter_run(name: &str) -> Option<(u8, usize)> {
    let rest = name.strip_prefix("chapter-")?;
    let (c, p) = rest.split_once('/').unwrap_or((rest, "1"));
    Some((c.parse().ok()?, p.parse().ok()?))
}
