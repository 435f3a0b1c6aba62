//! Result encodings users keep: NumPy `.npy` (format 1.0, little-endian, C order) and CSV.
//! Pure byte encoders — the CLI writes the bytes (atomically); the engine does no I/O.

/// Element types `.npy` encodes.
pub trait NpyElement: bytemuck::Pod {
    /// NumPy's dtype descriptor, e.g. `<f4`.
    const DESCR: &'static str;
}
impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
}
impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
}
impl NpyElement for i64 {
    const DESCR: &'static str = "<i8";
}

/// Encodes a C-order array of `shape` as a `.npy` file (format version 1.0).
///
/// # Panics
/// Never for consistent input; returns an error string if `data.len()` is not the product
/// of `shape`.
pub fn npy_bytes<T: NpyElement>(shape: &[usize], data: &[T]) -> Result<Vec<u8>, String> {
    let expected: usize = shape.iter().product();
    if expected != data.len() {
        return Err(format!(
            "npy: shape {shape:?} holds {expected} elements, data has {}",
            data.len()
        ));
    }
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        T::DESCR
    );
    // magic (6) + version (2) + header length (2) + header, padded with spaces and ended by
    // '\n' to a multiple of 64 bytes, as the format specifies.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + std::mem::size_of_val(data));
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    // `.npy` data is little-endian; so is every target wgpu runs on, but say so.
    if cfg!(target_endian = "big") {
        return Err("npy: big-endian hosts are not supported".into());
    }
    out.extend_from_slice(bytemuck::cast_slice(data));
    Ok(out)
}

/// Pairs as an E×2 int64 array (the dtype PyTorch edge indices use).
pub fn pairs_npy(pairs: &[[u32; 2]]) -> Vec<u8> {
    let flat: Vec<i64> = pairs
        .iter()
        .flat_map(|p| [p[0] as i64, p[1] as i64])
        .collect();
    npy_bytes(&[pairs.len(), 2], &flat).expect("shape matches by construction")
}

/// The embedding as CSV: `node,z0,z1,…` with the given node ids (or 0..N).
pub fn embedding_csv(embedding: &[f32], d: usize, ids: Option<&[String]>) -> String {
    let mut s = String::from("node");
    for k in 0..d {
        s.push_str(&format!(",z{k}"));
    }
    s.push('\n');
    for (i, row) in embedding.chunks(d.max(1)).enumerate() {
        match ids {
            Some(ids) => s.push_str(&ids[i]),
            None => s.push_str(&i.to_string()),
        }
        for v in row {
            s.push(',');
            s.push_str(&v.to_string());
        }
        s.push('\n');
    }
    s
}

/// A `.npy` array read back: its shape and values converted to f64.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Reads a little-endian, C-order `.npy` file of f4, f8, i4 or i8 (what argva writes and
/// what numpy writes by default). Anything else is an error naming the problem.
pub fn npy_read(bytes: &[u8]) -> Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (bad magic)".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!(".npy format version {v} is not supported")),
    };
    let header = bytes
        .get(start..start + len)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or("truncated or non-UTF-8 .npy header")?;
    let field = |key: &str| -> Result<&str, String> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!(".npy header has no '{key}'"))?;
        Ok(header[at + key.len() + 2..].trim_start_matches([':', ' ']))
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or(".npy header: bad descr")?;
    if field("fortran_order")?.starts_with("True") {
        return Err("Fortran-order .npy arrays are not supported".into());
    }
    let shape_text = field("shape")?;
    let shape_text = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or(".npy header: bad shape")?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!(".npy header: bad dimension `{s}`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or(".npy shape overflows")?;
    let body = &bytes[start + len..];
    let width = match descr {
        "<f4" | "<i4" => 4,
        "<f8" | "<i8" => 8,
        other => {
            return Err(format!(
                ".npy dtype {other} is not supported (f4, f8, i4, i8)"
            ));
        }
    };
    if body.len() != count.checked_mul(width).ok_or(".npy shape overflows")? {
        return Err(format!(
            ".npy data has {} bytes, shape {shape:?} of {descr} needs {}",
            body.len(),
            count * width
        ));
    }
    let data = body
        .chunks_exact(width)
        .map(|c| match descr {
            "<f4" => f32::from_le_bytes(c.try_into().unwrap()) as f64,
            "<i4" => i32::from_le_bytes(c.try_into().unwrap()) as f64,
            "<f8" => f64::from_le_bytes(c.try_into().unwrap()),
            _ => i64::from_le_bytes(c.try_into().unwrap()) as f64,
        })
        .collect();
    Ok(NpyArray { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_header(bytes: &[u8]) -> (String, usize) {
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + len])
            .unwrap()
            .to_string();
        (header, 10 + len)
    }

    #[test]
    fn npy_header_is_aligned_and_describes_the_data() {
        let data: Vec<f32> = (0..15).map(|i| i as f32 * 0.5 - 3.0).collect();
        let bytes = npy_bytes(&[5, 3], &data).unwrap();
        let (header, start) = parse_header(&bytes);
        assert_eq!(start % 64, 0, "data must start on a 64-byte boundary");
        assert!(header.ends_with('\n'));
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }"));
        let back: &[f32] = bytemuck::cast_slice(&bytes[start..]);
        assert_eq!(back, &data[..]);
    }

    #[test]
    fn npy_one_dimensional_shape_has_trailing_comma_and_rejects_bad_shapes() {
        let bytes = npy_bytes(&[4], &[1i64, -2, 3, 4]).unwrap();
        assert!(parse_header(&bytes).0.contains("'shape': (4,)"));
        assert!(npy_bytes(&[2, 3], &[1.0f64; 5]).is_err());
    }

    #[test]
    fn pairs_are_int64_e_by_2() {
        let bytes = pairs_npy(&[[1, 2], [7, 3]]);
        let (header, start) = parse_header(&bytes);
        assert!(header.contains("'<i8'") && header.contains("(2, 2)"));
        let back: &[i64] = bytemuck::cast_slice(&bytes[start..]);
        assert_eq!(back, &[1, 2, 7, 3]);
    }

    #[test]
    fn npy_round_trips_and_rejects_corruption() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 / 3.0).collect();
        let bytes = npy_bytes(&[4, 3], &data).unwrap();
        let back = npy_read(&bytes).unwrap();
        assert_eq!(back.shape, vec![4, 3]);
        assert_eq!(
            back.data,
            data.iter().map(|&v| v as f64).collect::<Vec<_>>()
        );
        assert!(
            npy_read(&bytes[..bytes.len() - 1]).is_err(),
            "truncated data"
        );
        assert!(npy_read(&bytes[..20]).is_err(), "truncated header");
        assert!(npy_read(b"not numpy at all").is_err());
        let ints = npy_read(&pairs_npy(&[[5, 6]])).unwrap();
        assert_eq!((ints.shape, ints.data), (vec![1, 2], vec![5.0, 6.0]));
    }

    #[test]
    fn csv_has_header_and_ids() {
        let csv = embedding_csv(&[1.0, 2.5, -1.0, 0.0], 2, Some(&["a".into(), "b".into()]));
        assert_eq!(csv, "node,z0,z1\na,1,2.5\nb,-1,0\n");
    }
}
