//! The browser's files: what the user dropped or picked, kept in memory by name for as long as
//! the page is open, and the sessions the user saved and the course progress, kept in the
//! browser's local storage (a save also downloads the file). Nothing leaves the page.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use ringside_core::face::app::Files;

/// Where saved sessions outlive the page: local storage on the web, nowhere natively.
pub trait Store {
    /// A saved file's bytes.
    fn load(&self, name: &str) -> Option<Vec<u8>>;
    /// Keeps a file (and offers it as a download, where there is a browser).
    fn save(&self, name: &str, bytes: &[u8]) -> Result<(), String>;
    /// Keeps a piece of state between visits (the course progress) under a key.
    fn keep(&self, key: &str, bytes: &[u8]) -> Result<(), String>;
    /// The state kept under a key.
    fn kept(&self, key: &str) -> Option<Vec<u8>>;
}

/// No storage beyond the page: the native window and the tests.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStore;

impl Store for NoStore {
    fn load(&self, _: &str) -> Option<Vec<u8>> {
        None
    }

    fn save(&self, _: &str, _: &[u8]) -> Result<(), String> {
        Ok(())
    }

    fn keep(&self, _: &str, _: &[u8]) -> Result<(), String> {
        Ok(())
    }

    fn kept(&self, _: &str) -> Option<Vec<u8>> {
        None
    }
}

/// The page's files, shared between the app and every [`App`](ringside_core::face::app::App)
/// it opens (a compare or a load reads the files the user gave earlier).
#[derive(Clone)]
pub struct PageFiles {
    files: Rc<RefCell<BTreeMap<String, Vec<u8>>>>,
    store: Rc<dyn Store>,
}

impl PageFiles {
    /// No files yet, saving to `store`.
    pub fn new(store: Rc<dyn Store>) -> Self {
        PageFiles {
            files: Rc::default(),
            store,
        }
    }

    /// Keeps a file the user gave.
    pub fn add(&self, name: &str, bytes: Vec<u8>) {
        self.files.borrow_mut().insert(name.to_string(), bytes);
    }

    /// The state kept under a key, from an earlier visit.
    pub fn kept(&self, key: &str) -> Option<Vec<u8>> {
        self.store.kept(key)
    }

    /// Whether the user gave a file of this name.
    pub fn has(&self, name: &str) -> bool {
        self.files.borrow().contains_key(name)
    }
}

impl Files for PageFiles {
    fn read(&mut self, name: &str) -> Result<Vec<u8>, String> {
        if let Some(b) = self.files.borrow().get(name) {
            return Ok(b.clone());
        }
        self.store.load(name).ok_or_else(|| {
            "not open in this page: drop the file on the page or pick it with \"Open file\"".into()
        })
    }

    fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), String> {
        self.store.save(name, bytes)?;
        self.add(name, bytes.to_vec());
        Ok(())
    }

    fn keep(&mut self, key: &str, bytes: &[u8]) -> Result<(), String> {
        self.store.keep(key, bytes)
    }

    fn recall(&mut self, key: &str) -> Result<Option<(String, Vec<u8>)>, String> {
        Ok(self
            .store
            .kept(key)
            .map(|b| (format!("the {key} result this browser kept"), b)))
    }
}
