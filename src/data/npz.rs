//! Sparse features saved by SciPy's `scipy.sparse.save_npz` (a zip of `.npy` members:
//! `format` = `csr`, `shape`, `indptr`, `indices`, `data`; stored or deflated, zip64 as NumPy
//! writes it). Only CSR: a CSC or COO matrix is refused with the conversion to make.

use std::io::Read;
use std::path::Path;

use super::{Csr, DataError, npy};

/// The members of a zip archive a CSR `.npz` needs, read whole.
fn member(
    file: &Path,
    zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
) -> Result<Vec<u8>, DataError> {
    let bad = |msg: String| DataError::format(file, None, msg);
    let mut entry = zip.by_name(&format!("{name}.npy")).map_err(|e| {
        bad(format!(
            "no member `{name}.npy` ({e}): not a SciPy sparse .npz"
        ))
    })?;
    // (the declared size only reserves; a lying one is caught by the .npy length checks)
    let mut out = Vec::with_capacity(entry.size().min(1 << 30) as usize);
    entry
        .read_to_end(&mut out)
        .map_err(|e| bad(format!("member `{name}.npy` does not decompress: {e}")))?;
    Ok(out)
}

/// The text of a NumPy string scalar (`format.npy`: SciPy saves `b'csr'`, dtype `|S3`; a
/// unicode `<U3`, UTF-32LE, is read too).
fn text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| p + 1);
    let (header, data) = bytes.split_at(end);
    let chars: Vec<char> = if header.windows(2).any(|w| w == b"<U") {
        let code = |c: &[u8]| char::from_u32(u32::from_le_bytes(c.try_into().expect("4")));
        data.chunks_exact(4).filter_map(code).collect()
    } else {
        data.iter().map(|&b| b as char).collect()
    };
    chars.into_iter().filter(|&c| c != '\0').collect()
}

/// Node features from a SciPy CSR `.npz`: row i is node i.
pub fn parse_features_npz(file: &Path, bytes: &[u8]) -> Result<Csr, DataError> {
    let bad = |msg: String| DataError::format(file, None, msg);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| bad(format!("not a .npz (zip) file: {e}")))?;
    let format = text(&member(file, &mut zip, "format")?);
    if format != "csr" {
        return Err(bad(format!(
            "a `{format}` matrix: save features as CSR (`scipy.sparse.save_npz(f, x.tocsr())`)"
        )));
    }
    let ints = |name: &str, zip: &mut _| -> Result<Vec<i64>, DataError> {
        let b = member(file, zip, name)?;
        Ok(npy::parse_ints(&file.join(format!("{name}.npy")), &b)?.2)
    };
    let shape = ints("shape", &mut zip)?;
    let [rows, cols] = shape[..] else {
        return Err(bad(format!("shape has {} entries, not 2", shape.len())));
    };
    if rows < 1 || cols < 1 || rows >= u32::MAX as i64 || cols >= u32::MAX as i64 {
        return Err(bad(format!(
            "shape ({rows}, {cols}): features need 1 to 2^32 - 2 rows and columns"
        )));
    }
    let indptr = ints("indptr", &mut zip)?;
    let indices = ints("indices", &mut zip)?;
    let data = values(file, &member(file, &mut zip, "data")?)?;
    let what = file.display().to_string();
    let (rows, cols) = (rows as usize, cols as usize);
    super::arrays::csr_features(&what, rows, cols, &indptr, &indices, &data)
}

/// `data.npy`: float or integer values, as f32.
fn values(file: &Path, bytes: &[u8]) -> Result<Vec<f32>, DataError> {
    let (_, _, v) = npy::parse_numbers(&file.join("data.npy"), bytes, "a sparse matrix's data")?;
    Ok(v.into_iter().map(|x| x as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// An `.npz` as SciPy writes it (members deflated when `deflate`).
    fn npz(members: &[(&str, Vec<u8>)], deflate: bool) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut zip = zip::ZipWriter::new(&mut out);
        let method = if deflate {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(true); // NumPy's force_zip64
        for (name, bytes) in members {
            zip.start_file(format!("{name}.npy"), opts).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        out.into_inner()
    }

    fn format_npy(f: &str) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        let header = "{'descr': '|S3', 'fortran_order': False, 'shape': (), }          \n";
        b.extend((header.len() as u16).to_le_bytes());
        b.extend(header.as_bytes());
        b.extend(f.bytes());
        b
    }

    fn csr_members(
        format: &str,
        indptr: &[i64],
        indices: &[i64],
        data: &[f32],
    ) -> Vec<(&'static str, Vec<u8>)> {
        let rows = indptr.len() - 1;
        vec![
            ("format", format_npy(format)),
            ("shape", npy::encode(&[2, 1], &[rows as i64, 4]).unwrap()),
            ("indptr", npy::encode(&[indptr.len(), 1], indptr).unwrap()),
            (
                "indices",
                npy::encode(&[indices.len(), 1], indices).unwrap(),
            ),
            ("data", npy::encode(&[data.len(), 1], data).unwrap()),
        ]
    }

    #[test]
    fn a_scipy_csr_reads_as_its_rows_stored_or_deflated() {
        let m = csr_members("csr", &[0, 2, 2, 3], &[0, 3, 1], &[1.0, 2.5, -1.0]);
        for deflate in [false, true] {
            let x = parse_features_npz(Path::new("x.npz"), &npz(&m, deflate)).unwrap();
            assert_eq!((x.rows, x.cols), (3, 4));
            assert_eq!(x.row(0), (&[0u32, 3][..], &[1.0f32, 2.5][..]));
            assert_eq!(x.row(1).0.len(), 0);
            assert_eq!(x.row(2), (&[1u32][..], &[-1.0f32][..]));
        }
    }

    #[test]
    fn bad_npz_files_are_refused_by_name() {
        let p = Path::new("x.npz");
        let err = |bytes: &[u8]| parse_features_npz(p, bytes).unwrap_err().to_string();
        assert!(
            err(b"PK junk").contains("not a .npz"),
            "{}",
            err(b"PK junk")
        );
        let csc = npz(&csr_members("csc", &[0, 1], &[0], &[1.0]), false);
        assert!(err(&csc).contains("x.tocsr()"), "{}", err(&csc));
        let outside = npz(&csr_members("csr", &[0, 1], &[7], &[1.0]), true);
        assert!(
            err(&outside).contains("column index 7"),
            "{}",
            err(&outside)
        );
        let mut missing = csr_members("csr", &[0, 1], &[0], &[1.0]);
        missing.remove(3);
        let e = err(&npz(&missing, false));
        assert!(e.contains("no member `indices.npy`"), "{e}");
        let nan = npz(&csr_members("csr", &[0, 1], &[0], &[f32::NAN]), false);
        assert!(err(&nan).contains("x.npz"), "{}", err(&nan));
    }
}
