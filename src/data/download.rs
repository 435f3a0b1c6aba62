//! Fetching missing Planetoid files (network and file I/O live here only).
//!
//! Every file is checked against `assets/planetoid.sha256` before it is written (atomically:
//! temp file + rename). A file without a known sum (PubMed's `ind.pubmed.allx`) is refused
//! unless the caller opts in with `allow_unverified`.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::DataError;
#[cfg(not(target_arch = "wasm32"))]
use super::planetoid::Dataset;

/// Where PyTorch Geometric downloads the Planetoid files from.
pub const PLANETOID_URL: &str = "https://github.com/kimiyoung/planetoid/raw/master/data";

const CHECKSUMS: &str = include_str!("../../assets/planetoid.sha256");

/// Largest file accepted (PubMed's biggest is ~40 MB).
#[cfg(not(target_arch = "wasm32"))]
const MAX_BYTES: u64 = 256 << 20;

/// Fetches the bytes at a URL; a trait so tests (and a browser build) can supply their own.
pub trait Fetcher {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, DataError>;
}

/// HTTPS through `ureq` (rustls). Native only: the browser page serves its files itself.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default)]
pub struct HttpFetcher;

#[cfg(not(target_arch = "wasm32"))]
impl Fetcher for HttpFetcher {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, DataError> {
        let err = |msg: String| DataError::Download {
            url: url.to_string(),
            msg,
        };
        let resp = ureq::get(url).call().map_err(|e| err(e.to_string()))?;
        let total: Option<u64> = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        // A progress bar on stderr (drawn only when stderr is a terminal).
        let bar = indicatif::ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "downloading {msg} {bytes}/{total_bytes} ({bytes_per_sec})",
            )
            .expect("static template"),
        );
        bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
        use std::io::Read;
        let mut reader = resp.into_body().into_reader().take(MAX_BYTES + 1);
        let mut body = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let got = reader.read(&mut chunk).map_err(|e| err(e.to_string()))?;
            if got == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..got]);
            bar.inc(got as u64);
        }
        bar.finish_and_clear();
        if body.len() as u64 > MAX_BYTES {
            return Err(err(format!("larger than {MAX_BYTES} bytes")));
        }
        Ok(body)
    }
}

/// The known SHA-256 (lower-case hex) of a Planetoid file name, e.g. `ind.cora.x`.
pub fn expected_sha256(file: &str) -> Option<&'static str> {
    CHECKSUMS
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(char::is_whitespace))
        .find(|(_, name)| name.trim() == file)
        .map(|(sum, _)| sum)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Download the files of `ds` missing from `<root>/<Name>/raw`, verifying each.
#[cfg(not(target_arch = "wasm32"))]
pub fn fetch_planetoid(
    ds: Dataset,
    root: &Path,
    fetcher: &dyn Fetcher,
    allow_unverified: bool,
) -> Result<(), DataError> {
    let dir = ds.raw_dir(root);
    let missing = ds.missing_files(&dir);
    if missing.is_empty() {
        return Ok(());
    }
    // Refuse before touching the network when sums are unknown and not waived.
    if !allow_unverified && let Some(f) = missing.iter().find(|f| expected_sha256(f).is_none()) {
        return Err(DataError::Unverified {
            file: dir.join(f),
            hint: format!(
                "argva checks every other {} file it downloads against its known sum, but not this \
one: pass --allow-unverified (allow_unverified in the library) to download it unchecked, or \
download it yourself from {PLANETOID_URL}/{f} into {}",
                ds.name(),
                dir.display()
            ),
        });
    }
    std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
    for f in &missing {
        let url = format!("{PLANETOID_URL}/{f}");
        let bytes = fetcher.fetch(&url).map_err(|e| match e {
            DataError::Download { url, msg } => DataError::Download {
                url,
                msg: format!(
                    "{msg}; offline? copy the Planetoid files into {} (or set ARGVA_DATA to a folder holding {}/raw/)",
                    dir.display(),
                    ds.name()
                ),
            },
            other => other,
        })?;
        let dest = dir.join(f);
        verify(&dest, &bytes, allow_unverified)?;
        write_atomic(&dest, &bytes)?;
    }
    Ok(())
}

#[cfg(not(target_arch = "wasm32"))]
fn verify(dest: &Path, bytes: &[u8], allow_unverified: bool) -> Result<(), DataError> {
    check_sha256(dest, bytes).map_err(|e| e.with_hint("the file was not saved"))?;
    let name = dest
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if expected_sha256(name).is_none() && !allow_unverified {
        return Err(DataError::Unverified {
            file: dest.to_path_buf(),
            hint: "no checksum known".into(),
        });
    }
    Ok(())
}

/// `Err(Checksum)` when `path`'s file name has a known SHA-256 that `bytes` do not match;
/// files without a known sum pass.
pub fn check_sha256(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    match expected_sha256(name) {
        Some(want) => {
            let got = sha256_hex(bytes);
            if got == want {
                Ok(())
            } else {
                Err(DataError::Checksum {
                    file: path.to_path_buf(),
                    expected: want.into(),
                    actual: got,
                    hint: String::new(),
                })
            }
        }
        None => Ok(()),
    }
}

/// Writes a downloaded file through [`crate::output::write_atomic`] (a temporary file, then a
/// rename), so a crash never leaves a truncated dataset file.
#[cfg(not(target_arch = "wasm32"))]
fn write_atomic(dest: &Path, bytes: &[u8]) -> Result<(), DataError> {
    let failed = |message: String| DataError::io(dest, std::io::Error::other(message));
    let (Some(dir), Some(name)) = (dest.parent(), dest.file_name().and_then(|n| n.to_str())) else {
        return Err(failed("not a file path".into()));
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    crate::output::write_atomic(dir, name, bytes)
        .map(drop)
        .map_err(|e| failed(crate::run::error_line(e.as_ref())))
}
