//! Zip archives: a folder of ring dumps handed over as one file (a browser takes one zip more
//! easily than a folder, and people mail captures zipped).
//!
//! Expansion is bytes to named files, nothing else: the same [`NamedFile`] list a folder read
//! file by file gives, so one loader serves both.

use std::io::{Cursor, Read};

use super::NamedFile;
use crate::trace::error::TraceError;

/// The bytes every zip file starts with: a local file header, or the end record of an empty
/// archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// An archive expanding past this many bytes is refused: no ring dump set comes near it, and a
/// crafted archive must not fill memory.
pub const MAX_EXPANDED: u64 = 1 << 30;

/// The regular files of a zip archive, each named `ARCHIVE/PATH` (directories skipped).
pub fn unzip(bytes: &[u8], name: &str) -> Result<Vec<NamedFile>, TraceError> {
    let bad = |what: String, hint: &str| TraceError::Unusable {
        file: name.to_string(),
        what,
        expected: "a zip archive of ring dumps (and their index.json)".into(),
        hint: hint.to_string(),
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        bad(
            format!("not a readable zip archive: {e}"),
            "zip the rings folder again, or pass the folder itself",
        )
    })?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| {
            bad(
                format!("entry {i} cannot be read: {e}"),
                "the archive may be cut off; zip the folder again",
            )
        })?;
        if f.is_dir() {
            continue;
        }
        let path = f
            .name()
            .map_or_else(|_| format!("entry {i}"), |n| n.into_owned());
        let mut data = Vec::new();
        let room = MAX_EXPANDED.saturating_sub(total);
        (&mut f)
            .take(room.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| {
                bad(
                    format!("`{path}` does not expand: {e}"),
                    "the archive may be damaged or use a compression other than deflate",
                )
            })?;
        total += data.len() as u64;
        if total > MAX_EXPANDED {
            return Err(bad(
                format!("expands past {MAX_EXPANDED} bytes at `{path}`"),
                "a ring dump set is kilobytes; is this the right archive?",
            ));
        }
        out.push((format!("{name}/{path}"), data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        w.add_directory("rings/", opts).unwrap();
        for (n, b) in files {
            w.start_file(*n, opts).unwrap();
            w.write_all(b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn stored_and_deflated_entries_expand_to_their_bytes() {
        let desc: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
        for method in [
            zip::CompressionMethod::Stored,
            zip::CompressionMethod::Deflated,
        ] {
            let z = zip_of(
                &[("rings/a-desc.bin", &desc), ("rings/index.json", b"[]")],
                method,
            );
            assert!(is_zip(&z));
            let files = unzip(&z, "r.zip").unwrap();
            let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
            assert_eq!(names, ["r.zip/rings/a-desc.bin", "r.zip/rings/index.json"]);
            assert_eq!(files[0].1, desc);
        }
    }

    #[test]
    fn a_cut_archive_is_an_error_not_a_panic() {
        let z = zip_of(&[("a.bin", &[7u8; 1000])], zip::CompressionMethod::Deflated);
        for cut in [4, 30, z.len() / 2, z.len() - 5] {
            let e = unzip(&z[..cut], "cut.zip").map(|_| ()).unwrap_err();
            assert!(e.to_string().starts_with("cut.zip: "), "{e}");
        }
        assert!(!is_zip(b"virtqueue_pop vq 0x1"));
    }
}
