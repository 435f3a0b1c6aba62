//! argva's one reader and writer of NumPy `.npy` files: 1-D or 2-D little-endian float32,
//! float64, int32 or int64 arrays, read in C or Fortran order (format versions 1–3), written
//! in C order (version 1.0).

use std::path::Path;

use super::DataError;

/// An element type argva reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
    I32,
    I64,
}

impl Dtype {
    fn of(descr: &str) -> Option<Dtype> {
        let code: String = descr.chars().skip(1).take_while(|&c| c != '\'').collect();
        Some(match code.as_str() {
            "<f4" | "=f4" => Dtype::F32,
            "<f8" | "=f8" => Dtype::F64,
            "<i4" | "=i4" => Dtype::I32,
            "<i8" | "=i8" => Dtype::I64,
            _ => return None,
        })
    }

    fn is_int(self) -> bool {
        matches!(self, Dtype::I32 | Dtype::I64)
    }

    /// One little-endian integer element.
    fn int(self, b: &[u8]) -> i64 {
        match self {
            Dtype::I32 => i32::from_le_bytes(b.try_into().expect("4")) as i64,
            _ => i64::from_le_bytes(b.try_into().expect("8")),
        }
    }

    /// One little-endian element of any type, as f64.
    fn number(self, b: &[u8]) -> f64 {
        match self {
            Dtype::F32 => f32::from_le_bytes(b.try_into().expect("4")) as f64,
            Dtype::F64 => f64::from_le_bytes(b.try_into().expect("8")),
            Dtype::I32 | Dtype::I64 => self.int(b) as f64,
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F64 | Dtype::I64 => 8,
        }
    }
}

/// A checked `.npy` file: its 1-D or 2-D shape (1-D is one column), order, type and data.
struct Array<'b> {
    /// 1 or 2, as the header's shape has it.
    dims: usize,
    rows: usize,
    cols: usize,
    fortran: bool,
    dtype: Dtype,
    data: &'b [u8],
}

impl Array<'_> {
    /// Element (i, j) of the row-major view, as the file's order places it.
    fn index(&self, i: usize, j: usize) -> usize {
        if self.fortran {
            j * self.rows + i
        } else {
            i * self.cols + j
        }
    }

    fn f64s(&self) -> Vec<f64> {
        self.row_major(|b| self.dtype.number(b))
    }

    /// Every element in row-major order, converted by `f`.
    fn row_major<T>(&self, f: impl Fn(&[u8]) -> T) -> Vec<T> {
        let size = self.dtype.size();
        let at = |k: usize| f(&self.data[k * size..(k + 1) * size]);
        if !self.fortran || self.cols == 1 {
            return (0..self.rows * self.cols).map(at).collect();
        }
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for i in 0..self.rows {
            out.extend((0..self.cols).map(|j| at(self.index(i, j))));
        }
        out
    }
}

/// Reads and checks the header of `bytes` (named `file` in errors): what `what` needs
/// (`features`, `edge_index`) is named where a shape is refused.
fn array<'b>(file: &Path, bytes: &'b [u8], what: &str) -> Result<Array<'b>, DataError> {
    array_of(file, bytes, what, false)
}

/// [`array`]; `empty`: whether a shape with no elements (e.g. `(0, 2)`) is accepted.
fn array_of<'b>(
    file: &Path,
    bytes: &'b [u8],
    what: &str,
    empty: bool,
) -> Result<Array<'b>, DataError> {
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
    let dtype = Dtype::of(descr).ok_or_else(|| {
        let d: String = descr.chars().take_while(|&c| c != ',').collect();
        bad(format!(
            "unsupported .npy dtype {d} (need little-endian float32 or float64, or int32 or \
             int64 for edge_index)"
        ))
    })?;
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
                ".npy array has {} dimensions; {what} need 1 or 2",
                dims.len()
            )));
        }
    };
    // An empty dimension holds no data, so the length check below cannot bound it: a
    // (4e9, 0) header would make 4e9 empty feature rows (found by the npy fuzz target).
    if !empty && (cols == 0 || rows == 0) || rows >= u32::MAX as usize {
        return Err(bad(format!(
            ".npy shape ({rows}, {cols}): {what} need 1 to 2^32 - 2 rows and at least one \
             column"
        )));
    }
    let data = &bytes[start + hlen..];
    let count = rows
        .checked_mul(cols)
        .ok_or_else(|| bad(".npy shape overflows".into()))?;
    let size = dtype.size();
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
    Ok(Array {
        dims: dims.len(),
        rows,
        cols,
        fortran,
        dtype,
        data,
    })
}

/// Parse `bytes` (named `file` in errors) into `(rows, cols, row-major values)`.
/// Accepts dtypes `<f4` and `<f8`, C or Fortran order, format versions 1–3.
pub fn parse(file: &Path, bytes: &[u8]) -> Result<(usize, usize, Vec<f64>), DataError> {
    let a = array(file, bytes, "features")?;
    if a.dtype.is_int() {
        return Err(DataError::format(
            file,
            None,
            "integer .npy for features: need little-endian float32 or float64",
        ));
    }
    Ok((a.rows, a.cols, a.f64s()))
}

/// An integer array (`<i4` or `<i8`, C or Fortran order) as `(rows, cols, row-major values)`:
/// PyTorch Geometric's `edge_index` saved with `np.save`.
pub fn parse_ints(file: &Path, bytes: &[u8]) -> Result<(usize, usize, Vec<i64>), DataError> {
    let a = array(file, bytes, "edge_index")?;
    if !a.dtype.is_int() {
        return Err(DataError::format(
            file,
            None,
            "float .npy for edges: edge_index needs int64 or int32 node ids",
        ));
    }
    Ok((a.rows, a.cols, a.row_major(|b| a.dtype.int(b))))
}

/// Any numeric array (float or integer) as f64, `what` naming it in errors (a SciPy
/// matrix's `data`, which may hold either; `.npz` is read natively only).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn parse_numbers(
    file: &Path,
    bytes: &[u8],
    what: &str,
) -> Result<(usize, usize, Vec<f64>), DataError> {
    let a = array(file, bytes, what)?;
    Ok((a.rows, a.cols, a.f64s()))
}

/// Element types `.npy` encodes.
pub trait Element: bytemuck::Pod {
    /// NumPy's dtype descriptor, e.g. `<f4`.
    const DESCR: &'static str;
}
impl Element for f32 {
    const DESCR: &'static str = "<f4";
}
impl Element for f64 {
    const DESCR: &'static str = "<f8";
}
impl Element for i64 {
    const DESCR: &'static str = "<i8";
}

/// Encodes a C-order array of `shape` as a `.npy` file (format version 1.0).
///
/// # Panics
/// Never for consistent input; returns an error string if `data.len()` is not the product
/// of `shape`.
pub fn encode<T: Element>(shape: &[usize], data: &[T]) -> Result<Vec<u8>, String> {
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

/// An array read back whole: its shape as written (`[rows]` or `[rows, cols]`) and its
/// values as f64, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

/// Any numeric array (what argva writes and what `np.save` writes by default), for reading
/// a run's files back (`argva plot`, tests). Errors name the problem.
pub fn read(bytes: &[u8]) -> Result<NpyArray, String> {
    let a = array_of(Path::new("the .npy"), bytes, "arrays", true);
    let a = a.map_err(|e| e.to_string())?;
    let shape = if a.dims == 1 {
        vec![a.rows]
    } else {
        vec![a.rows, a.cols]
    };
    // (an empty array's shape may still claim billions of rows of nothing: no loop over them)
    let data = if a.rows * a.cols == 0 {
        Vec::new()
    } else {
        a.f64s()
    };
    Ok(NpyArray { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_headers_are_aligned_and_shapes_checked() {
        let data: Vec<f32> = (0..15).map(|i| i as f32 * 0.5 - 3.0).collect();
        let bytes = encode(&[5, 3], &data).unwrap();
        let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
        assert_eq!((10 + len) % 64, 0, "data must start on a 64-byte boundary");
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }"));
        let one = encode(&[4], &[1i64, -2, 3, 4]).unwrap();
        assert!(String::from_utf8_lossy(&one[..64]).contains("'shape': (4,)"));
        assert!(encode(&[2, 3], &[1.0f64; 5]).is_err());
    }

    #[test]
    fn read_round_trips_and_rejects_corruption() {
        let data: Vec<f32> = (0..12).map(|i| i as f32 / 3.0).collect();
        let bytes = encode(&[4, 3], &data).unwrap();
        let back = read(&bytes).unwrap();
        assert_eq!(back.shape, vec![4, 3]);
        assert_eq!(
            back.data,
            data.iter().map(|&v| v as f64).collect::<Vec<_>>()
        );
        assert!(read(&bytes[..bytes.len() - 1]).is_err(), "truncated data");
        assert!(read(&bytes[..20]).is_err(), "truncated header");
        assert!(read(b"not numpy at all").is_err());
        let labels = read(&encode(&[3], &[5i64, 6, 7]).unwrap()).unwrap();
        assert_eq!((labels.shape, labels.data), (vec![3], vec![5.0, 6.0, 7.0]));
    }

    #[test]
    fn round_trip_and_fortran() {
        let vals: Vec<f32> = (0..12).map(|i| i as f32 * 0.37 - 2.0).collect();
        let b = encode(&[3, 4], &vals).unwrap();
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

    #[test]
    fn integer_arrays_in_either_order_and_types_kept_apart() {
        let ids: Vec<i64> = vec![0, 1, 2, 5, 3, 4];
        let b = encode(&[2, 3], &ids).unwrap();
        assert_eq!(
            parse_ints(Path::new("e.npy"), &b).unwrap(),
            (2, 3, ids.clone())
        );
        let mut fb = b.clone();
        let at = fb.windows(5).position(|w| w == b"False").unwrap();
        fb[at..at + 5].copy_from_slice(b"True ");
        // Fortran (2, 3): column-major storage, so row 0 is elements 0, 2, 4.
        assert_eq!(
            parse_ints(Path::new("e.npy"), &fb).unwrap().2,
            vec![0, 2, 3, 1, 5, 4]
        );
        let e = parse(Path::new("e.npy"), &b).unwrap_err().to_string();
        assert!(e.contains("integer .npy for features"), "{e}");
        let f = encode(&[2, 1], &[1.0, 2.0]).unwrap();
        let e = parse_ints(Path::new("f.npy"), &f).unwrap_err().to_string();
        assert!(e.contains("edge_index needs int64 or int32"), "{e}");
    }
}
