//! A minimal reader for NumPy `.npy` files holding a 1-D or 2-D little-endian float array.

use std::path::Path;

use super::DataError;

/// Parse `bytes` (named `file` in errors) into `(rows, cols, row-major values)`.
/// Accepts dtypes `<f4` and `<f8`, C or Fortran order, format versions 1–3.
pub fn parse(file: &Path, bytes: &[u8]) -> Result<(usize, usize, Vec<f64>), DataError> {
    let bad = |msg: String| DataError::format(file, None, msg);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file (bad magic)".into()));
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!("unsupported .npy version {v}"))),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .ok_or_else(|| bad("truncated .npy header".into()))?;
    let header = std::str::from_utf8(header).map_err(|_| bad(".npy header is not text".into()))?;
    let field = |key: &str| -> Result<&str, DataError> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or_else(|| bad(format!(".npy header lacks '{key}'")))?;
        let rest = &header[at + key.len() + 2..];
        let colon = rest
            .find(':')
            .ok_or_else(|| bad(format!(".npy header: no value for '{key}'")))?;
        Ok(rest[colon + 1..].trim_start())
    };
    let descr = field("descr")?;
    let size = if descr.starts_with("'<f4'") || descr.starts_with("'=f4'") {
        4
    } else if descr.starts_with("'<f8'") || descr.starts_with("'=f8'") {
        8
    } else {
        let d: String = descr.chars().take_while(|&c| c != ',').collect();
        return Err(bad(format!(
            "unsupported .npy dtype {d} (need little-endian float32 or float64)"
        )));
    };
    let fortran = field("fortran_order")?.starts_with("True");
    let shape = field("shape")?;
    let inner = shape
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad(".npy shape is not a tuple".into()))?;
    let dims: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad(format!(".npy shape ({inner}) is not a tuple of integers")))?;
    let (rows, cols) = match dims.as_slice() {
        [r] => (*r, 1),
        [r, c] => (*r, *c),
        _ => {
            return Err(bad(format!(
                ".npy array has {} dimensions; features need 1 or 2",
                dims.len()
            )));
        }
    };
    // An empty dimension holds no data, so the length check below cannot bound it: a
    // (4e9, 0) header would make 4e9 empty feature rows (found by the npy fuzz target).
    if cols == 0 || rows == 0 || rows >= u32::MAX as usize {
        return Err(bad(format!(
            ".npy shape ({rows}, {cols}): features need 1 to 2^32 - 2 rows and at least one \
             column"
        )));
    }
    let data = &bytes[start + hlen..];
    let count = rows
        .checked_mul(cols)
        .ok_or_else(|| bad(".npy shape overflows".into()))?;
    if count.checked_mul(size) != Some(data.len()) {
        return Err(DataError::ShapeMismatch {
            file: file.to_path_buf(),
            msg: format!(
                "shape ({rows}, {cols}) needs {} data bytes, file has {}",
                count.saturating_mul(size),
                data.len()
            ),
        });
    }
    let vals: Vec<f64> = if size == 4 {
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4")) as f64)
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8")))
            .collect()
    };
    if fortran && cols > 1 {
        let mut t = vec![0.0; count];
        for i in 0..rows {
            for j in 0..cols {
                t[i * cols + j] = vals[j * rows + i];
            }
        }
        return Ok((rows, cols, t));
    }
    Ok((rows, cols, vals))
}

/// Serialise a row-major f32 matrix as `.npy` (used by tests and tools).
pub fn to_bytes_f32(rows: usize, cols: usize, vals: &[f32]) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for v in vals {
        out.extend(v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_fortran() {
        let vals: Vec<f32> = (0..12).map(|i| i as f32 * 0.37 - 2.0).collect();
        let b = to_bytes_f32(3, 4, &vals);
        let (r, c, v) = parse(Path::new("a.npy"), &b).unwrap();
        assert_eq!((r, c), (3, 4));
        assert_eq!(v, vals.iter().map(|&x| x as f64).collect::<Vec<_>>());
        // Same data declared Fortran-ordered: element (i, j) is at j*3 + i.
        let mut fb = b.clone();
        let at = fb.windows(5).position(|w| w == b"False").unwrap();
        fb[at..at + 5].copy_from_slice(b"True ");
        let (_, _, t) = parse(Path::new("a.npy"), &fb).unwrap();
        assert_eq!(t[1], vals[3] as f64);
        assert!(parse(Path::new("a.npy"), &b[..b.len() - 1]).is_err());
    }
}
