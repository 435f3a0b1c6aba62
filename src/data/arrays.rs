//! Graphs handed over in memory (the Python module's `edge_index`, `x`, `y`): the same checks
//! and the same canonical [`Graph`] as the file readers, with errors that name the array
//! (`edge_index`, `x`, `y`) instead of a file.

use std::path::Path;

use super::{Csr, DataError, Graph, Origin, canonical_edges};

/// Node features as an array: dense row-major, or CSR (SciPy's `indptr`, `indices`, `data`).
#[derive(Clone, Copy, Debug)]
pub enum FeatureArray<'a> {
    Dense {
        rows: usize,
        cols: usize,
        values: &'a [f32],
    },
    Csr {
        rows: usize,
        cols: usize,
        indptr: &'a [i64],
        indices: &'a [i64],
        data: &'a [f32],
    },
}

impl FeatureArray<'_> {
    fn rows(&self) -> usize {
        match *self {
            FeatureArray::Dense { rows, .. } | FeatureArray::Csr { rows, .. } => rows,
        }
    }
}

/// A graph as arrays: `edges` holds E pairs flattened `[i0, j0, i1, j1, …]` (either
/// direction, duplicates and self-loops allowed: they are canonicalised like an edge list).
#[derive(Clone, Copy, Debug)]
pub struct GraphArrays<'a> {
    pub name: &'a str,
    pub edges: &'a [i64],
    /// The node count when no features fix it (default: the largest id + 1).
    pub num_nodes: Option<usize>,
    /// Without features each node gets a one-hot identity feature (as for edge lists).
    pub features: Option<FeatureArray<'a>>,
    /// One class per node, non-negative.
    pub labels: Option<&'a [i64]>,
}

const EDGES: &str = "edge_index";
const FEATURES: &str = "x";
const LABELS: &str = "y";

fn shape(what: &str, msg: String) -> DataError {
    DataError::ShapeMismatch {
        file: what.into(),
        msg,
    }
}

/// Checks every array and builds the graph.
pub fn from_arrays(a: &GraphArrays<'_>) -> Result<Graph, DataError> {
    if !a.edges.len().is_multiple_of(2) {
        return Err(shape(
            EDGES,
            format!("{} ids is not a list of pairs", a.edges.len()),
        ));
    }
    let pairs = node_pairs(a.edges)?;
    let max_id = pairs.iter().flatten().max().map_or(0, |&m| m as usize + 1);
    let n = match (a.features.as_ref().map(FeatureArray::rows), a.num_nodes) {
        (Some(rows), Some(n)) if rows != n => {
            return Err(shape(FEATURES, format!("x has {rows} rows for {n} nodes")));
        }
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => max_id,
    };
    if let Some(&id) = pairs.iter().flatten().find(|&&id| id as usize >= n) {
        return Err(DataError::NodeOutOfRange {
            file: EDGES.into(),
            line: None,
            id: id as i64,
            num_nodes: n,
        });
    }
    let features = match a.features {
        Some(f) => features(f)?,
        None => Csr::from_rows(n, (0..n as u32).map(|i| vec![(i, 1.0)]).collect()),
    };
    let (labels, num_classes) = match a.labels {
        Some(y) => {
            let (l, c) = labels(y, n)?;
            (Some(l), c)
        }
        None => (None, 0),
    };
    let edges = canonical_edges(pairs);
    if edges.is_empty() {
        return Err(DataError::EmptyGraph {
            what: EDGES.into(),
            reason: if a.edges.is_empty() {
                "no edges".into()
            } else {
                "only self-loops".into()
            },
        });
    }
    Ok(Graph {
        name: a.name.into(),
        num_nodes: n,
        features,
        labels,
        num_classes,
        edges,
        node_ids: None,
        source: Origin::Memory,
    })
}

/// The pairs as node numbers; an id that cannot be one is refused by value.
fn node_pairs(edges: &[i64]) -> Result<Vec<[u32; 2]>, DataError> {
    let id = |v: i64| {
        u32::try_from(v)
            .ok()
            .filter(|&i| i < u32::MAX)
            .ok_or(DataError::BadNodeId {
                file: EDGES.into(),
                line: None,
                id: v,
            })
    };
    edges
        .chunks_exact(2)
        .map(|p| Ok([id(p[0])?, id(p[1])?]))
        .collect()
}

fn finite(what: &str, row: usize, col: usize, v: f32) -> Result<(), DataError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(DataError::NonFinite {
            file: what.into(),
            row,
            col,
            value: v as f64,
        })
    }
}

fn features(f: FeatureArray<'_>) -> Result<Csr, DataError> {
    match f {
        FeatureArray::Dense { rows, cols, values } => {
            if values.len() != rows * cols {
                return Err(shape(
                    FEATURES,
                    format!("{} values for {rows} × {cols}", values.len()),
                ));
            }
            let mut out = Vec::with_capacity(rows);
            for (r, row) in values.chunks(cols.max(1)).take(rows).enumerate() {
                let mut entries = Vec::new();
                for (c, &v) in row.iter().enumerate() {
                    finite(FEATURES, r, c, v)?;
                    if v != 0.0 {
                        entries.push((c as u32, v));
                    }
                }
                out.push(entries);
            }
            out.resize(rows, Vec::new());
            Ok(Csr::from_rows(cols, out))
        }
        FeatureArray::Csr {
            rows,
            cols,
            indptr,
            indices,
            data,
        } => csr_features(FEATURES, rows, cols, indptr, indices, data),
    }
}

/// A CSR matrix (SciPy's `indptr`, `indices`, `data`) checked and converted; errors name
/// `what` (the array, or the file it came from).
pub(crate) fn csr_features(
    what: &str,
    rows: usize,
    cols: usize,
    indptr: &[i64],
    indices: &[i64],
    data: &[f32],
) -> Result<Csr, DataError> {
    let bad = |msg: String| shape(what, msg);
    if indptr.len() != rows + 1 {
        return Err(bad(format!(
            "indptr has {} entries for {rows} rows",
            indptr.len()
        )));
    }
    if indices.len() != data.len() {
        return Err(bad(format!(
            "{} column indices for {} values",
            indices.len(),
            data.len()
        )));
    }
    if indptr[0] != 0 || indptr[rows] != data.len() as i64 {
        return Err(bad(format!(
            "indptr runs from {} to {}, not from 0 to the {} stored values",
            indptr[0],
            indptr[rows],
            data.len()
        )));
    }
    if cols > u32::MAX as usize {
        return Err(bad(format!("{cols} columns is more than 2³² − 1")));
    }
    // Checked over all rows before any is read: with 0 at the start and nnz at the end, a
    // non-decreasing indptr keeps every row's range inside the stored values.
    if let Some(r) = indptr.windows(2).position(|w| w[1] < w[0]) {
        return Err(bad(format!("indptr decreases at row {r}")));
    }
    let mut out = Vec::with_capacity(rows);
    for r in 0..rows {
        let (lo, hi) = (indptr[r], indptr[r + 1]);
        let mut entries = Vec::with_capacity((hi - lo) as usize);
        for k in lo as usize..hi as usize {
            let c = indices[k];
            if c < 0 || c as usize >= cols {
                return Err(bad(format!(
                    "row {r} has column index {c}, outside 0..{cols}"
                )));
            }
            finite(what, r, c as usize, data[k])?;
            entries.push((c as u32, data[k]));
        }
        out.push(entries);
    }
    Ok(Csr::from_rows(cols, out))
}

fn labels(y: &[i64], n: usize) -> Result<(Vec<u32>, usize), DataError> {
    if y.len() != n {
        return Err(shape(LABELS, format!("{} labels for {n} nodes", y.len())));
    }
    let mut out = Vec::with_capacity(n);
    for (node, &l) in y.iter().enumerate() {
        match u32::try_from(l) {
            Ok(c) if c < u32::MAX => out.push(c),
            _ => {
                return Err(DataError::format(
                    Path::new(LABELS),
                    None,
                    format!("node {node} has label {l}: labels must be non-negative integers"),
                ));
            }
        }
    }
    let classes = out.iter().max().map_or(0, |&m| m as usize + 1);
    Ok((out, classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[i64]) -> GraphArrays<'_> {
        GraphArrays {
            name: "g",
            edges,
            num_nodes: None,
            features: None,
            labels: None,
        }
    }

    #[test]
    fn dense_and_csr_features_give_the_same_graph() {
        let edges = [0, 1, 1, 2, 2, 0, 2, 2];
        let values = [0.0, 1.5, 2.0, 0.0, 0.0, 0.0];
        let dense = FeatureArray::Dense {
            rows: 3,
            cols: 2,
            values: &values,
        };
        let csr = FeatureArray::Csr {
            rows: 3,
            cols: 2,
            indptr: &[0, 1, 2, 2],
            indices: &[1, 0],
            data: &[1.5, 2.0],
        };
        let a = from_arrays(&GraphArrays {
            features: Some(dense),
            ..graph(&edges)
        })
        .unwrap();
        let b = from_arrays(&GraphArrays {
            features: Some(csr),
            ..graph(&edges)
        })
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.edges, vec![[0, 1], [0, 2], [1, 2]]);
        assert_eq!(a.num_nodes, 3);
    }

    #[test]
    fn bad_arrays_are_refused_by_name() {
        let err = |a: GraphArrays<'_>| from_arrays(&a).unwrap_err().to_string();
        assert!(err(graph(&[0, -3])).contains("edge_index: node id -3 is not allowed"));
        assert!(err(graph(&[0, 1, 2])).contains("3 ids is not a list of pairs"));
        assert!(err(graph(&[])).contains("the graph is empty (no edges)"));
        assert!(err(graph(&[1, 1])).contains("only self-loops"));
        let out_of_range = GraphArrays {
            num_nodes: Some(2),
            ..graph(&[0, 5])
        };
        assert!(err(out_of_range).contains("node id 5 is out of range (the graph has 2 nodes)"));
        let nan = [1.0, f32::NAN];
        let x = FeatureArray::Dense {
            rows: 2,
            cols: 1,
            values: &nan,
        };
        let with_nan = GraphArrays {
            features: Some(x),
            ..graph(&[0, 1])
        };
        assert!(err(with_nan).contains("x: feature row 1, column 0 is NaN"));
        let y = GraphArrays {
            labels: Some(&[0, -1]),
            ..graph(&[0, 1])
        };
        assert!(err(y).contains("node 1 has label -1"));
        let short = GraphArrays {
            labels: Some(&[0]),
            ..graph(&[0, 1])
        };
        assert!(err(short).contains("y: shape mismatch: 1 labels for 2 nodes"));
        let csr = FeatureArray::Csr {
            rows: 2,
            cols: 2,
            indptr: &[0, 1, 1],
            indices: &[7],
            data: &[1.0],
        };
        let bad_col = GraphArrays {
            features: Some(csr),
            ..graph(&[0, 1])
        };
        assert!(err(bad_col).contains("row 0 has column index 7, outside 0..2"));
    }

    /// Fuzz finding (arrays target): an indptr that starts at 0 and ends at nnz but rises past
    /// nnz on the way, `[0, 63, 3]`, read row 0's values out of bounds and panicked.
    #[test]
    fn an_indptr_that_rises_past_the_values_is_refused() {
        for indptr in [[0, 63, 3], [0, 4, 3]] {
            let csr = FeatureArray::Csr {
                rows: 2,
                cols: 4,
                indptr: &indptr,
                indices: &[3, 0, 0],
                data: &[1.0, 0.0, 0.0],
            };
            let g = GraphArrays {
                num_nodes: Some(2),
                features: Some(csr),
                ..graph(&[0, 1])
            };
            let err = from_arrays(&g).unwrap_err().to_string();
            assert!(
                err.contains("x: shape mismatch: indptr decreases at row 1"),
                "{err}"
            );
        }
    }
}
