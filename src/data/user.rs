//! User graphs: an edge list (CSV, TSV or whitespace separated; optional header; integer or
//! string node ids) with optional node features (`.npy` or CSV) and labels (CSV).
//!
//! Node numbering: integer ids are used as they are (nodes `0..=max id`, or the feature
//! rows); string ids are numbered in order of first appearance in the edge list, and then
//! a features CSV must name the node in its first column. Without features, each node gets
//! a one-hot identity feature (the usual choice for featureless graphs).

use std::collections::HashMap;
use std::path::Path;

use super::{Csr, DataError, Graph, Origin, canonical_edges, npy};

/// How nodes are named in an edge list.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeIds {
    /// Ids are the node numbers.
    Integer,
    /// Names in node-number order.
    Named(Vec<String>),
}

/// A parsed edge list (pairs as written, self-loops and duplicates still present).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeList {
    pub ids: NodeIds,
    pub pairs: Vec<[u32; 2]>,
    /// `max id + 1` for integer ids, the number of names otherwise.
    pub num_nodes: usize,
    /// 1-based line of each pair (for `.npy`: its position), to name bad ids in errors.
    pub lines: Vec<usize>,
}

/// Column names recognised as a header line.
const HEADER_WORDS: &[&str] = &[
    "source", "target", "src", "dst", "from", "to", "u", "v", "node", "node1", "node2", "node_1",
    "node_2", "id", "id1", "id2", "head", "tail", "label", "class", "weight", "i", "j", "a", "b",
    "start", "end",
];

/// Split a line into trimmed fields on `,`, else tab, else whitespace; strip quotes.
fn fields(line: &str) -> Vec<&str> {
    let parts: Vec<&str> = if line.contains(',') {
        line.split(',').collect()
    } else if line.contains('\t') {
        line.split('\t').collect()
    } else {
        line.split_whitespace().collect()
    };
    parts
        .into_iter()
        .map(|f| f.trim().trim_matches('"').trim_matches('\''))
        .collect()
}

/// Non-empty, non-comment lines with their 1-based numbers.
fn data_lines(file: &Path, bytes: &[u8]) -> Result<Vec<(usize, String)>, DataError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| DataError::format(file, None, format!("not UTF-8 text ({e})")))?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#') && !l.starts_with('%'))
        .map(|(i, l)| (i, l.to_string()))
        .collect())
}

fn is_header_words(f: &[&str]) -> bool {
    f.iter()
        .all(|w| HEADER_WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

fn is_int(s: &str) -> bool {
    s.parse::<i64>().is_ok()
}

/// The first two fields of a line split as [`fields`] splits it, without allocating; `None`
/// when there are fewer than two or either is empty.
fn two_fields(line: &str) -> Option<[&str; 2]> {
    fn clean(f: &str) -> &str {
        f.trim().trim_matches('"').trim_matches('\'')
    }
    let mut it: Box<dyn Iterator<Item = &str>> = if line.contains(',') {
        Box::new(line.split(','))
    } else if line.contains('\t') {
        Box::new(line.split('\t'))
    } else {
        Box::new(line.split_whitespace())
    };
    let (a, b) = (clean(it.next()?), clean(it.next()?));
    (!a.is_empty() && !b.is_empty()).then_some([a, b])
}

/// Parse an edge list; `file` names it in errors. Two passes over the text (checks and header,
/// then pairs) and no per-line allocation: a 100 M-edge list costs its pairs and line numbers.
pub fn parse_edge_list(file: &Path, bytes: &[u8]) -> Result<EdgeList, DataError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| DataError::format(file, None, format!("not UTF-8 text ({e})")))?;
    let data = || {
        text.lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#') && !l.starts_with('%'))
    };
    let int_pair = |f: &[&str; 2]| is_int(f[0]) && is_int(f[1]);
    // Pass 1: two ids on every line; the first line; whether every later line is integer.
    let (mut first, mut rest_int, mut count) = (None, true, 0usize);
    for (ln, line) in data() {
        let f = two_fields(line)
            .ok_or_else(|| DataError::format(file, Some(ln), "expected two node ids per line"))?;
        match first {
            None => first = Some(f),
            Some(_) => rest_int &= int_pair(&f),
        }
        count += 1;
    }
    // Header: known column names, or non-integer names above integer ids.
    let skip = match first {
        Some(h) if is_header_words(&h) => 1,
        Some(h) if !int_pair(&h) && count > 1 && rest_int => 1,
        _ => 0,
    };
    if count == skip {
        return Err(DataError::EmptyGraph {
            what: file.display().to_string(),
            reason: "no edges in the edge list".into(),
        });
    }
    let integer = rest_int && (skip == 1 || first.as_ref().is_some_and(int_pair));
    let rows = || {
        data()
            .skip(skip)
            .map(|(ln, l)| (ln, two_fields(l).expect("pass 1")))
    };
    let mut pairs = Vec::with_capacity(count - skip);
    let mut lines = Vec::with_capacity(count - skip);
    if integer {
        let mut max = 0u32;
        for (ln, r) in rows() {
            let mut e = [0u32; 2];
            for (k, f) in r.iter().enumerate() {
                let v: i64 = f.parse().expect("checked integer");
                if !(0..u32::MAX as i64).contains(&v) {
                    return Err(DataError::BadNodeId {
                        file: file.into(),
                        line: Some(ln),
                        id: v,
                    });
                }
                e[k] = v as u32;
                max = max.max(v as u32);
            }
            pairs.push(e);
            lines.push(ln);
        }
        Ok(EdgeList {
            ids: NodeIds::Integer,
            pairs,
            num_nodes: max as usize + 1,
            lines,
        })
    } else {
        let mut index: HashMap<&str, u32> = HashMap::new();
        let mut names = Vec::new();
        for (ln, r) in rows() {
            let mut e = [0u32; 2];
            for (k, f) in r.into_iter().enumerate() {
                e[k] = *index.entry(f).or_insert_with(|| {
                    names.push(f.to_string());
                    names.len() as u32 - 1
                });
            }
            pairs.push(e);
            lines.push(ln);
        }
        let n = names.len();
        Ok(EdgeList {
            ids: NodeIds::Named(names),
            pairs,
            num_nodes: n,
            lines,
        })
    }
}

/// Node features by their file's extension: `.npy` (dense) and `.npz` (SciPy CSR) arrays
/// number nodes by row, so they need integer node ids; anything else is CSV.
fn parse_features(file: &Path, bytes: &[u8], names: Option<&[String]>) -> Result<Csr, DataError> {
    type Reader = fn(&Path, &[u8]) -> Result<Csr, DataError>;
    let ext = file.extension().map(|e| e.to_ascii_lowercase());
    let array: Option<Reader> = match ext.as_ref().and_then(|e| e.to_str()) {
        Some("npy") => Some(parse_features_npy),
        #[cfg(not(target_arch = "wasm32"))]
        Some("npz") => Some(super::npz::parse_features_npz),
        _ => None,
    };
    match array {
        None => parse_features_csv(file, bytes, names),
        Some(_) if names.is_some() => Err(DataError::format(
            file,
            None,
            "the edge list names nodes by strings; give features as CSV with the node name first",
        )),
        Some(read) => read(file, bytes),
    }
}

/// Whether `file` is named `*.npy`.
fn is_npy(file: &Path) -> bool {
    file.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// An edge list saved as a NumPy array: PyTorch Geometric's `edge_index` (2 × E; a 2 × 2
/// array is read this way too) or E × 2 rows of pairs, int64 or int32. `lines` holds each
/// edge's 1-based position.
pub fn parse_edge_index_npy(file: &Path, bytes: &[u8]) -> Result<EdgeList, DataError> {
    let (rows, cols, ids) = npy::parse_ints(file, bytes)?;
    let pair_of: Box<dyn Fn(usize) -> [i64; 2]> = match (rows, cols) {
        (2, e) => Box::new(move |k| [ids[k], ids[e + k]]),
        (_, 2) => Box::new(move |k| [ids[2 * k], ids[2 * k + 1]]),
        _ => {
            return Err(DataError::ShapeMismatch {
                file: file.into(),
                msg: format!(
                    "edge_index must be 2 × E (PyTorch Geometric) or E × 2, got ({rows}, {cols})"
                ),
            });
        }
    };
    let count = if rows == 2 { cols } else { rows };
    let mut pairs = Vec::with_capacity(count);
    let mut max = 0u32;
    for k in 0..count {
        let pair = pair_of(k);
        if let Some(&id) = pair.iter().find(|&&v| !(0..u32::MAX as i64).contains(&v)) {
            return Err(DataError::format(
                file,
                None,
                format!(
                    "edge {} names node {id}: node ids must be integers from 0 to {}",
                    k + 1,
                    u32::MAX - 1
                ),
            ));
        }
        let e = pair.map(|v| v as u32);
        max = max.max(e[0]).max(e[1]);
        pairs.push(e);
    }
    Ok(EdgeList {
        ids: NodeIds::Integer,
        pairs,
        num_nodes: max as usize + 1,
        lines: (1..=count).collect(),
    })
}

/// Dense numeric feature rows from CSV/TSV/whitespace text (optional header row). With
/// `names`, the first column is a node name and rows may come in any order.
pub fn parse_features_csv(
    file: &Path,
    bytes: &[u8],
    names: Option<&[String]>,
) -> Result<Csr, DataError> {
    let lines = data_lines(file, bytes)?;
    let mut rows: Vec<(usize, Vec<&str>)> = lines.iter().map(|(n, l)| (*n, fields(l))).collect();
    let numeric = |f: &str| f.parse::<f64>().is_ok();
    let first_col = usize::from(names.is_some());
    if let Some((_, h)) = rows.first()
        && h.get(first_col..)
            .is_some_and(|h| !h.is_empty() && !h.iter().any(|f| numeric(f)))
    {
        rows.remove(0); // header
    }
    if rows.is_empty() {
        return Err(DataError::format(file, None, "no feature rows"));
    }
    let width = rows[0].1.len();
    if width <= first_col {
        return Err(DataError::format(
            file,
            Some(rows[0].0),
            "no feature columns",
        ));
    }
    let cols = width - first_col;
    let n = names.map_or(rows.len(), <[String]>::len);
    let index: Option<HashMap<&str, usize>> = names.map(|ns| {
        ns.iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect()
    });
    let mut out: Vec<Option<Vec<(u32, f32)>>> = vec![None; n];
    for (ri, (ln, r)) in rows.iter().enumerate() {
        if r.len() != width {
            return Err(DataError::format(
                file,
                Some(*ln),
                format!(
                    "{} fields, but the first row has {width} (ragged CSV)",
                    r.len()
                ),
            ));
        }
        let node = match &index {
            Some(ix) => *ix.get(r[0]).ok_or_else(|| {
                DataError::format(
                    file,
                    Some(*ln),
                    format!("node `{}` is not in the edge list", r[0]),
                )
            })?,
            None => ri,
        };
        let mut vals = Vec::new();
        for (c, f) in r[first_col..].iter().enumerate() {
            let v: f64 = f.parse().map_err(|_| {
                DataError::format(
                    file,
                    Some(*ln),
                    format!("`{f}` in column {} is not a number", c + first_col + 1),
                )
            })?;
            if !v.is_finite() {
                return Err(DataError::NonFinite {
                    file: file.into(),
                    row: node,
                    col: c,
                    value: v,
                });
            }
            if v != 0.0 {
                vals.push((c as u32, v as f32));
            }
        }
        if out[node].replace(vals).is_some() {
            return Err(DataError::format(
                file,
                Some(*ln),
                format!("features for node `{}` given twice", r[0]),
            ));
        }
    }
    if let Some(missing) = out.iter().position(Option::is_none) {
        return Err(DataError::ShapeMismatch {
            file: file.into(),
            msg: format!(
                "no feature row for node {}",
                names.map_or(missing.to_string(), |ns| ns[missing].clone())
            ),
        });
    }
    Ok(Csr::from_rows(
        cols,
        out.into_iter().map(|r| r.expect("checked")).collect(),
    ))
}

/// Dense features from `.npy` bytes.
pub fn parse_features_npy(file: &Path, bytes: &[u8]) -> Result<Csr, DataError> {
    let (rows, cols, vals) = npy::parse(file, bytes)?;
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        let mut row = Vec::new();
        for c in 0..cols {
            let v = vals[r * cols + c];
            if !v.is_finite() {
                return Err(DataError::NonFinite {
                    file: file.into(),
                    row: r,
                    col: c,
                    value: v,
                });
            }
            if v != 0.0 {
                row.push((c as u32, v as f32));
            }
        }
        out.push(row);
    }
    Ok(Csr::from_rows(cols, out))
}

/// Labels: lines `node,label` (node as in the edge list) or one label per line (line i =
/// node i). Integer labels are classes; other labels are numbered in sorted order.
/// Returns (labels for `n` nodes, number of classes).
pub fn parse_labels(
    file: &Path,
    bytes: &[u8],
    ids: &NodeIds,
    n: usize,
) -> Result<(Vec<u32>, usize), DataError> {
    let lines = data_lines(file, bytes)?;
    let mut rows: Vec<(usize, Vec<&str>)> = lines.iter().map(|(l, s)| (*l, fields(s))).collect();
    if let Some((_, h)) = rows.first()
        && (is_header_words(h)
            || (rows.len() > 1
                && h.len() == rows[1].1.len()
                && !is_int(h[h.len() - 1])
                && is_int(rows[1].1[h.len() - 1])))
    {
        rows.remove(0);
    }
    let width = rows.first().map_or(1, |r| r.1.len());
    if !(1..=2).contains(&width) {
        return Err(DataError::format(
            file,
            rows.first().map(|r| r.0),
            "expected `node,label` or one label per line",
        ));
    }
    let names: Option<HashMap<&str, usize>> = match ids {
        NodeIds::Named(ns) => Some(
            ns.iter()
                .enumerate()
                .map(|(i, s)| (s.as_str(), i))
                .collect(),
        ),
        NodeIds::Integer => None,
    };
    let mut raw: Vec<Option<&str>> = vec![None; n];
    for (i, (ln, r)) in rows.iter().enumerate() {
        if r.len() != width {
            return Err(DataError::format(
                file,
                Some(*ln),
                format!("{} fields, expected {width} (ragged CSV)", r.len()),
            ));
        }
        let node = if width == 1 {
            i
        } else {
            match &names {
                Some(ix) => *ix.get(r[0]).ok_or_else(|| {
                    DataError::format(
                        file,
                        Some(*ln),
                        format!("node `{}` is not in the edge list", r[0]),
                    )
                })?,
                None => {
                    let id: i64 = r[0].parse().map_err(|_| {
                        DataError::format(
                            file,
                            Some(*ln),
                            format!("node id `{}` is not an integer", r[0]),
                        )
                    })?;
                    usize::try_from(id).map_err(|_| DataError::BadNodeId {
                        file: file.into(),
                        line: Some(*ln),
                        id,
                    })?
                }
            }
        };
        if node >= n {
            return Err(DataError::NodeOutOfRange {
                file: file.into(),
                line: Some(*ln),
                id: node as i64,
                num_nodes: n,
            });
        }
        raw[node] = Some(r[width - 1]);
    }
    if let Some(missing) = raw.iter().position(Option::is_none) {
        return Err(DataError::ShapeMismatch {
            file: file.into(),
            msg: format!(
                "node {missing} has no label ({} labels for {n} nodes)",
                rows.len()
            ),
        });
    }
    let raw: Vec<&str> = raw.into_iter().map(|r| r.expect("checked")).collect();
    if raw.iter().all(|l| l.parse::<u32>().is_ok()) {
        let labels: Vec<u32> = raw.iter().map(|l| l.parse().expect("checked")).collect();
        let classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
        return Ok((labels, classes));
    }
    let mut distinct: Vec<&str> = raw.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let labels = raw
        .iter()
        .map(|l| distinct.binary_search(l).expect("present") as u32)
        .collect();
    Ok((labels, distinct.len()))
}

/// Assemble a graph from the parsed parts (`features`/`labels` as `(path, bytes)`).
pub fn assemble(
    edges_file: &Path,
    edges: &[u8],
    features: Option<(&Path, &[u8])>,
    labels: Option<(&Path, &[u8])>,
) -> Result<Graph, DataError> {
    let el = if is_npy(edges_file) {
        parse_edge_index_npy(edges_file, edges)?
    } else {
        parse_edge_list(edges_file, edges)?
    };
    let names = match &el.ids {
        NodeIds::Named(ns) => Some(ns.as_slice()),
        NodeIds::Integer => None,
    };
    let feats = match features {
        Some((p, b)) => Some(parse_features(p, b, names)?),
        None => None,
    };
    // With integer ids, the node count is fixed by the features when given.
    let n = match &feats {
        Some(f) if names.is_none() => {
            if let Some((pair, &ln)) = el
                .pairs
                .iter()
                .zip(&el.lines)
                .find(|(p, _)| p[0] as usize >= f.rows || p[1] as usize >= f.rows)
            {
                let id = pair[0].max(pair[1]) as i64;
                if is_npy(edges_file) {
                    let msg = format!(
                        "edge {ln} names node {id}, past the {} feature rows",
                        f.rows
                    );
                    return Err(DataError::format(edges_file, None, msg));
                }
                return Err(DataError::NodeOutOfRange {
                    file: edges_file.into(),
                    line: Some(ln),
                    id,
                    num_nodes: f.rows,
                });
            }
            f.rows
        }
        _ => el.num_nodes,
    };
    if feats.is_none() && names.is_none() {
        check_id_density(edges_file, &el)?;
    }
    let features = feats.unwrap_or_else(|| Csr {
        row_ptr: (0..=n as u32).collect(),
        col: (0..n as u32).collect(),
        val: vec![1.0; n],
        rows: n,
        cols: n,
    });
    let (labels, num_classes) = match labels {
        Some((p, b)) => {
            let (l, c) = parse_labels(p, b, &el.ids, n)?;
            (Some(l), c)
        }
        None => (None, 0),
    };
    let edges = canonical_edges(el.pairs.iter().copied());
    if edges.is_empty() {
        return Err(DataError::EmptyGraph {
            what: edges_file.display().to_string(),
            reason: "only self-loops".into(),
        });
    }
    let name = edges_file
        .file_stem()
        .map_or_else(|| "graph".into(), |s| s.to_string_lossy().into_owned());
    Ok(Graph {
        name,
        num_nodes: n,
        features,
        labels,
        num_classes,
        edges,
        node_ids: names.map(<[String]>::to_vec),
        source: Origin::File(edges_file.to_path_buf()),
    })
}

/// The longest line the text readers accept. A file with a longer one (a binary file, or a
/// CSV without line breaks) is refused after reading at most this much of that line, so its
/// size does not decide the memory spent on refusing it.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Integer ids number the nodes `0..=max id`. When that makes a graph mostly of nodes no
/// edge names (ids like 222222222 for a handful of nodes), the user meant labels, not
/// numbers: refuse, instead of allocating hundreds of millions of isolated nodes.
fn check_id_density(file: &Path, el: &EdgeList) -> Result<(), DataError> {
    const DENSE_ENOUGH_BELOW: usize = 1 << 20;
    if el.num_nodes <= DENSE_ENOUGH_BELOW {
        return Ok(());
    }
    let mut ids: Vec<u32> = el.pairs.iter().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    if el.num_nodes <= 10 * ids.len() {
        return Ok(());
    }
    Err(DataError::format(
        file,
        None,
        format!(
            "node ids go up to {} but only {} distinct ids appear: integer ids are node \
             numbers (0 to the largest id), so this would be a graph of {} nodes, {} of them \
             without an edge. Renumber the ids 0..{}, or give --features (its rows fix the \
             node count)",
            el.num_nodes - 1,
            ids.len(),
            el.num_nodes,
            el.num_nodes - ids.len(),
            ids.len()
        ),
    ))
}

fn read_file(p: &Path) -> Result<Vec<u8>, DataError> {
    let is_npy = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        return std::fs::read(p).map_err(|e| DataError::io(p, e));
    }
    let file = std::fs::File::open(p).map_err(|e| DataError::io(p, e))?;
    read_lines_bounded(p, file, MAX_LINE_BYTES)
}

/// Reads `input` whole unless a line is longer than `max_line` bytes (an error naming it).
fn read_lines_bounded(
    p: &Path,
    mut input: impl std::io::Read,
    max_line: usize,
) -> Result<Vec<u8>, DataError> {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 1 << 20];
    let (mut line, mut line_len) = (1usize, 0usize);
    loop {
        let got = match input.read(&mut chunk) {
            Ok(0) => return Ok(out),
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(DataError::io(p, e)),
        };
        for (k, piece) in chunk[..got].split(|&b| b == b'\n').enumerate() {
            if k > 0 {
                line += 1;
                line_len = 0;
            }
            line_len += piece.len();
            if line_len > max_line {
                return Err(DataError::format(
                    p,
                    Some(line),
                    format!(
                        "a line longer than {} MiB: not a text edge list or CSV",
                        max_line >> 20
                    ),
                ));
            }
        }
        out.extend_from_slice(&chunk[..got]);
    }
}

/// Read an edge-list graph and its optional feature and label files from disk.
pub fn read(
    edges: &Path,
    features: Option<&Path>,
    labels: Option<&Path>,
) -> Result<Graph, DataError> {
    let e = read_file(edges)?;
    let f = features.map(|p| read_file(p).map(|b| (p, b))).transpose()?;
    let l = labels.map(|p| read_file(p).map(|b| (p, b))).transpose()?;
    assemble(
        edges,
        &e,
        f.as_ref().map(|(p, b)| (*p, b.as_slice())),
        l.as_ref().map(|(p, b)| (*p, b.as_slice())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the edge_list fuzz target: 29 bytes asked for 222 M one-hot nodes (> 2 GiB).
    #[test]
    fn sparse_integer_ids_are_refused_before_allocating_their_range() {
        let p = Path::new("fuzz-input");
        let found = b"1,1\n\n15,2\n2,222222222,222222\n";
        let err = assemble(p, found, None, None).unwrap_err().to_string();
        assert!(
            err.contains("node ids go up to 222222222 but only 4 distinct ids appear"),
            "{err}"
        );
        // Gaps are fine while the ids stay a tenth dense (or the range small).
        let gaps: String = (0..200_000u32)
            .map(|i| format!("{},{}\n", 10 * i, 10 * i + 5))
            .collect();
        assert_eq!(
            assemble(p, gaps.as_bytes(), None, None).unwrap().num_nodes,
            1_999_996
        );
        assert_eq!(
            assemble(p, b"0,999999\n", None, None).unwrap().num_nodes,
            1_000_000
        );
    }

    #[test]
    fn a_line_past_the_limit_is_refused_by_number_and_shorter_ones_pass() {
        let p = Path::new("t.csv");
        let text = b"0,1\n1,2\n0123456789abcdef\n2,3\n";
        let err = read_lines_bounded(p, &text[..], 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("t.csv line 3: a line longer than"), "{err}");
        assert_eq!(read_lines_bounded(p, &text[..], 16).unwrap(), text);
        // A limit met across read chunks (1 MiB): 3 MiB of 'x' without a line break.
        let long = vec![b'x'; 3 << 20];
        assert!(read_lines_bounded(p, &long[..], 2 << 20).is_err());
        assert_eq!(
            read_lines_bounded(p, &long[..], 3 << 20).unwrap().len(),
            3 << 20
        );
    }

    /// Random short texts over an alphabet of separators, digits and letters: every reader
    /// returns a graph or an error, never panics.
    #[test]
    fn random_text_never_panics() {
        let alphabet = b"0123456789 ,\t\n#%-.abxnNaIinf\"'";
        let mut s = 0x2545f4914f6cdd1du64;
        let p = Path::new("random.csv");
        for _ in 0..20_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let len = (s % 48) as usize;
            let text: Vec<u8> = (0..len)
                .map(|k| alphabet[((s >> (k % 50)) as usize ^ (k * 31)) % alphabet.len()])
                .collect();
            if let Ok(g) = assemble(p, &text, None, Some((p, &text))) {
                assert!(
                    g.edges
                        .iter()
                        .all(|[a, b]| a < b && (*b as usize) < g.num_nodes)
                );
            }
            let _ = parse_features_csv(p, &text, None);
            let _ = npy::parse(p, &text);
        }
    }
}
