//! Buffers added but not yet published, kept in the driver's (or device's) private memory
//! until the batch is handed over.
//!
//! Adding is private, publishing writes: the batch's descriptors (and split ring entries) are
//! stored in one burst right before the store-release that exposes them. The other side polls
//! one of those lines; storing the fields early would let its poll take the line back between
//! them, one more transfer per buffer. Nothing reads a descriptor before the release that
//! publishes it, so when within the batch its fields are stored changes nothing the protocol
//! can observe, and the lines each side writes and reads per batch are the engine's.

/// The batch's first entry, whose release publishes the batch, and the rest.
pub(crate) struct Staged<T> {
    first: Option<T>,
    rest: Vec<T>,
}

impl<T> Default for Staged<T> {
    fn default() -> Self {
        Staged {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<T> Staged<T> {
    /// Adds an entry to the batch.
    #[inline(always)]
    pub(crate) fn push(&mut self, t: T) {
        if self.first.is_none() {
            self.first = Some(t);
        } else {
            self.rest.push(t);
        }
    }

    /// Hands every entry to `write`, the last added first and the batch's first last (with
    /// `true`: the one a packed ring releases).
    #[inline(always)]
    pub(crate) fn drain(&mut self, mut write: impl FnMut(T, bool)) {
        while let Some(t) = self.rest.pop() {
            write(t, false);
        }
        if let Some(t) = self.first.take() {
            write(t, true);
        }
    }
}
