//! The Planetoid citation graphs (Cora, CiteSeer, PubMed), assembled exactly as PyTorch
//! Geometric's `read_planetoid_data` does.

use std::path::{Path, PathBuf};

use super::pickle::{self, NdArray, RawCsr};
use super::{Csr, DataError, Graph, Origin, canonical_edges, download, embedded};

/// The eight files of one dataset, in `ind.<name>.<suffix>` order used by PyG.
pub const SUFFIXES: [&str; 8] = ["x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Cora,
    CiteSeer,
    PubMed,
}

impl Dataset {
    /// Case-insensitive: `cora`, `citeseer`, `pubmed`.
    pub fn from_name(s: &str) -> Option<Dataset> {
        match s.to_ascii_lowercase().as_str() {
            "cora" => Some(Dataset::Cora),
            "citeseer" => Some(Dataset::CiteSeer),
            "pubmed" => Some(Dataset::PubMed),
            _ => None,
        }
    }
    /// Folder name, as PyG spells it.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Cora => "Cora",
            Dataset::CiteSeer => "CiteSeer",
            Dataset::PubMed => "PubMed",
        }
    }
    /// File prefix: `ind.<prefix>.x`.
    pub fn prefix(self) -> &'static str {
        match self {
            Dataset::Cora => "cora",
            Dataset::CiteSeer => "citeseer",
            Dataset::PubMed => "pubmed",
        }
    }
    pub fn file_names(self) -> Vec<String> {
        SUFFIXES
            .iter()
            .map(|s| format!("ind.{}.{s}", self.prefix()))
            .collect()
    }
    /// `<root>/<Name>/raw`.
    pub fn raw_dir(self, root: &Path) -> PathBuf {
        root.join(self.name()).join("raw")
    }
    pub fn missing_files(self, dir: &Path) -> Vec<String> {
        self.file_names()
            .into_iter()
            .filter(|f| !dir.join(f).is_file())
            .collect()
    }
}

/// Read `<root>/<Name>/raw/ind.<name>.*` from disk. Every file whose SHA-256 argva knows
/// (`assets/planetoid.sha256`: all of Cora and CiteSeer, PubMed but `allx`) must match it, so
/// a damaged or foreign file is refused by name instead of giving a silently different graph.
pub fn read(ds: Dataset, root: &Path) -> Result<Graph, DataError> {
    let dir = ds.raw_dir(root);
    let missing = ds.missing_files(&dir);
    if !missing.is_empty() {
        return Err(DataError::MissingFiles {
            name: ds.name().into(),
            dir,
            files: missing,
            hint: "copy the Planetoid files there or load with download enabled".into(),
        });
    }
    let mut files = Vec::with_capacity(8);
    for f in ds.file_names() {
        let p = dir.join(&f);
        let bytes = std::fs::read(&p).map_err(|e| DataError::io(&p, e))?;
        download::check_sha256(&p, &bytes).map_err(|e| e.with_hint(CORRUPT_ON_DISK))?;
        files.push((p, bytes));
    }
    let parts: [(PathBuf, Vec<u8>); 8] = files.try_into().expect("eight files");
    assemble(ds, &parts)
}

const CORRUPT_ON_DISK: &str = "the file is damaged or is not the Planetoid original: \
replace it, or delete the dataset's folder (argva then uses its embedded copy of Cora and \
CiteSeer, or downloads the files again)";

/// The copy compiled into argva (Cora, CiteSeer); `None` for PubMed.
pub fn read_embedded(ds: Dataset) -> Option<Result<Graph, DataError>> {
    let files = embedded::files(ds)?;
    let parts: [(PathBuf, Vec<u8>); 8] =
        files.map(|(name, bytes)| (PathBuf::from(format!("<embedded>/{name}")), bytes.to_vec()));
    Some(assemble(ds, &parts).map(|g| Graph {
        source: Origin::Embedded,
        ..g
    }))
}

/// Assemble a dataset from the eight files' `(path, bytes)` in [`SUFFIXES`] order (the path
/// names the file in errors, and its folder is the graph's [`Origin::Disk`]).
pub fn assemble(ds: Dataset, files: &[(PathBuf, Vec<u8>); 8]) -> Result<Graph, DataError> {
    let [x, tx, allx, y, ty, ally, graph, test_index] = files;
    let parse = |(p, b): &(PathBuf, Vec<u8>)| {
        pickle::parse(b).map_err(|source| DataError::Pickle {
            file: p.clone(),
            source,
        })
    };
    fn wrap(p: &Path) -> impl Fn(pickle::PickleError) -> DataError + '_ {
        move |source| DataError::Pickle {
            file: p.to_path_buf(),
            source,
        }
    }
    let csr = |f: &(PathBuf, Vec<u8>)| -> Result<(PathBuf, Csr), DataError> {
        let raw = pickle::csr_from_value(&parse(f)?).map_err(wrap(&f.0))?;
        Ok((f.0.clone(), validate_csr(&f.0, raw)?))
    };
    let dense = |f: &(PathBuf, Vec<u8>)| -> Result<(PathBuf, NdArray), DataError> {
        let a = pickle::ndarray_from_value(&parse(f)?).map_err(wrap(&f.0))?;
        if a.shape.len() != 2 {
            return Err(DataError::ShapeMismatch {
                file: f.0.clone(),
                msg: format!("labels have shape {:?}, expected 2-D one-hot", a.shape),
            });
        }
        Ok((f.0.clone(), a))
    };
    // `x` and `y` (the training subset) are read only to validate them, as PyG reads them too.
    let (x_p, x) = csr(x)?;
    let (tx_p, tx) = csr(tx)?;
    let (allx_p, allx) = csr(allx)?;
    let (y_p, y) = dense(y)?;
    let (ty_p, ty) = dense(ty)?;
    let (ally_p, ally) = dense(ally)?;
    let adjacency = pickle::adjacency_from_value(&parse(graph)?).map_err(wrap(&graph.0))?;
    let test_index = parse_index(&test_index.0, &test_index.1)?;

    let f = allx.cols;
    let classes = ally.shape[1];
    for (p, c) in [(&x_p, x.cols), (&tx_p, tx.cols)] {
        if c != f {
            return Err(DataError::ShapeMismatch {
                file: p.clone(),
                msg: format!("{c} feature columns, but {} has {f}", allx_p.display()),
            });
        }
    }
    for (p, a) in [(&y_p, &y), (&ty_p, &ty)] {
        if a.shape[1] != classes {
            return Err(DataError::ShapeMismatch {
                file: p.clone(),
                msg: format!(
                    "{} classes, but {} has {classes}",
                    a.shape[1],
                    ally_p.display()
                ),
            });
        }
    }
    for (p, rows, lp, lrows) in [
        (&x_p, x.rows, &y_p, y.shape[0]),
        (&tx_p, tx.rows, &ty_p, ty.shape[0]),
        (&allx_p, allx.rows, &ally_p, ally.shape[0]),
    ] {
        if rows != lrows {
            return Err(DataError::ShapeMismatch {
                file: p.clone(),
                msg: format!("{rows} rows, but {} has {lrows}", lp.display()),
            });
        }
    }
    if test_index.len() != tx.rows {
        return Err(DataError::ShapeMismatch {
            file: test_index_path(files),
            msg: format!(
                "{} test indices, but {} has {} rows",
                test_index.len(),
                tx_p.display(),
                tx.rows
            ),
        });
    }
    if test_index.is_empty() {
        return Err(DataError::ShapeMismatch {
            file: test_index_path(files),
            msg: "no test indices".into(),
        });
    }

    let mut sorted = test_index.clone();
    sorted.sort_unstable();
    let (min, max) = (sorted[0], *sorted.last().expect("non-empty"));

    // Test rows in sorted-position layout; CiteSeer has test ids without a row: they become
    // zero-feature, all-zero-label (→ class 0) nodes, as in PyG.
    let ty_labels = (0..tx.rows).map(|i| argmax(&ty.data[i * classes..(i + 1) * classes]));
    let (tx_rows, ty_rows): (Vec<Vec<(u32, f32)>>, Vec<u32>) = if ds == Dataset::CiteSeer {
        let len = max - min + 1;
        // A test id far outside the test rows' range would make a huge zero block: refuse.
        if len > 2 * tx.rows + 1000 {
            return Err(DataError::ShapeMismatch {
                file: test_index_path(files),
                msg: format!(
                    "test indices span {min}..={max}, far more than the {} test rows",
                    tx.rows
                ),
            });
        }
        let mut txe = vec![Vec::new(); len];
        let mut tye = vec![0u32; len];
        for (i, label) in ty_labels.enumerate() {
            txe[sorted[i] - min] = row_pairs(&tx, i);
            tye[sorted[i] - min] = label;
        }
        (txe, tye)
    } else {
        (
            (0..tx.rows).map(|r| row_pairs(&tx, r)).collect(),
            ty_labels.collect(),
        )
    };
    let mut xs: Vec<Vec<(u32, f32)>> = (0..allx.rows).map(|r| row_pairs(&allx, r)).collect();
    xs.extend(tx_rows);
    let mut ys: Vec<u32> = (0..ally.shape[0])
        .map(|i| argmax(&ally.data[i * classes..(i + 1) * classes]))
        .collect();
    ys.extend(ty_rows);
    let n = xs.len();

    // x[test_index] = x[sorted_test_index]; y likewise.
    for &i in test_index.iter().chain(&sorted) {
        if i >= n {
            return Err(DataError::NodeOutOfRange {
                file: test_index_path(files),
                line: None,
                id: i as i64,
                num_nodes: n,
            });
        }
    }
    let old_x = xs.clone();
    let old_y = ys.clone();
    for (&t, &s) in test_index.iter().zip(&sorted) {
        xs[t] = old_x[s].clone();
        ys[t] = old_y[s];
    }

    let mut pairs = Vec::new();
    for (k, vs) in &adjacency {
        for &v in vs {
            for id in [*k, v] {
                if id < 0 || id as usize >= n {
                    return Err(DataError::NodeOutOfRange {
                        file: graph.0.clone(),
                        line: None,
                        id,
                        num_nodes: n,
                    });
                }
            }
            pairs.push([*k as u32, v as u32]);
        }
    }
    Ok(Graph {
        name: ds.name().into(),
        num_nodes: n,
        features: Csr::from_rows(f, xs),
        labels: Some(ys),
        num_classes: classes,
        edges: canonical_edges(pairs),
        node_ids: None,
        source: Origin::Disk(
            files[0]
                .0
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        ),
    })
}

fn test_index_path(files: &[(PathBuf, Vec<u8>); 8]) -> PathBuf {
    files[7].0.clone()
}

/// Index of the first maximum, like `torch.max(dim=1)[1]` (an all-zero row gives 0).
fn argmax(row: &[f64]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}

fn row_pairs(m: &Csr, r: usize) -> Vec<(u32, f32)> {
    let (c, v) = m.row(r);
    c.iter().copied().zip(v.iter().copied()).collect()
}

/// Check a pickled scipy CSR's structure against its shape and convert it.
fn validate_csr(file: &Path, raw: RawCsr) -> Result<Csr, DataError> {
    let bad = |msg: String| DataError::ShapeMismatch {
        file: file.to_path_buf(),
        msg,
    };
    if raw.indptr.len() != raw.rows + 1 {
        return Err(bad(format!(
            "indptr has {} entries for {} rows",
            raw.indptr.len(),
            raw.rows
        )));
    }
    if raw.indices.len() != raw.data.len() {
        return Err(bad(format!(
            "{} indices but {} values",
            raw.indices.len(),
            raw.data.len()
        )));
    }
    let nnz = raw.data.len();
    let mut rows = Vec::with_capacity(raw.rows);
    for r in 0..raw.rows {
        let (a, b) = (raw.indptr[r], raw.indptr[r + 1]);
        if !(a >= 0.0 && a <= b && b <= nnz as f64) {
            return Err(bad(format!(
                "indptr is not non-decreasing within 0..={nnz} at row {r}"
            )));
        }
        let mut row = Vec::with_capacity((b - a) as usize);
        for k in a as usize..b as usize {
            let c = raw.indices[k];
            if !(c >= 0.0 && (c as usize) < raw.cols) {
                return Err(bad(format!(
                    "column index {c} out of range 0..{} in row {r}",
                    raw.cols
                )));
            }
            let v = raw.data[k];
            if !v.is_finite() {
                return Err(DataError::NonFinite {
                    file: file.to_path_buf(),
                    row: r,
                    col: c as usize,
                    value: v,
                });
            }
            row.push((c as u32, v as f32));
        }
        rows.push(row);
    }
    Ok(Csr::from_rows(raw.cols, rows))
}

/// `test.index`: one non-negative integer per line.
fn parse_index(file: &Path, bytes: &[u8]) -> Result<Vec<usize>, DataError> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| DataError::format(file, None, "not UTF-8 text"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            l.trim().parse::<usize>().map_err(|_| {
                DataError::format(
                    file,
                    Some(i + 1),
                    format!("`{}` is not a node index", l.trim()),
                )
            })
        })
        .collect()
}
