//! "Did you mean ...?": the closest known word to a misspelt one, for error messages about
//! scenario files, feature names and finding codes.

/// The candidate closest to `word` (case-insensitive edit distance, a swap of two neighbours
/// counting as one edit), if it is close enough to
/// be a plausible typo: at most a third of the word's length, and at least 1, away.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let w = word.to_ascii_lowercase();
    let limit = (w.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&w, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"`, or nothing when no candidate is close.
pub fn hint<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    closest(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_words_are_suggested_and_far_ones_are_not() {
        let c = ["EVENT_IDX", "IN_ORDER", "RING_PACKED"];
        assert_eq!(closest("EVENT_IDXX", c), Some("EVENT_IDX"));
        assert_eq!(closest("in_order", c), Some("IN_ORDER"));
        assert_eq!(closest("titel", ["title", "steps"]), Some("title"));
        assert_eq!(closest("VERSION_1", c), None);
        assert_eq!(hint("RING_PAKED", c), "; did you mean `RING_PACKED`?");
        assert_eq!(hint("zzz", c), "");
    }
}
