//! Graphs for the autoencoders: Planetoid datasets (Cora, CiteSeer, PubMed), user edge lists,
//! synthetic stochastic block models; the GCN operator and link splits. CPU only.
//!
//! The parsers take bytes (`&[u8]`) so they can be tested and fuzzed without files; only
//! [`load`], the `read_*` helpers and [`download`] touch the file system or the network.

pub mod arrays;
pub mod cluster;
pub mod download;
pub mod embedded;
mod error;
pub mod gcn;
pub mod npy;
#[cfg(not(target_arch = "wasm32"))]
pub mod npz;
pub mod partition;
pub mod pickle;
pub mod planetoid;
pub mod sbm;
pub mod split;
pub mod user;

use std::path::{Path, PathBuf};

pub use error::DataError;
pub use gcn::gcn_norm;
pub use split::{LinkSplit, NegativeSampler, link_split};

/// A sparse matrix in compressed sparse row form (columns sorted within each row).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    pub row_ptr: Vec<u32>,
    pub col: Vec<u32>,
    pub val: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
}

impl Csr {
    /// The rows `nodes` of this matrix, in that order (a batch's or a shard's features).
    pub fn select_rows(&self, nodes: &[u32]) -> Csr {
        let mut row_ptr = Vec::with_capacity(nodes.len() + 1);
        row_ptr.push(0u32);
        let (mut col, mut val) = (Vec::new(), Vec::new());
        for &v in nodes {
            let (c, x) = self.row(v as usize);
            col.extend_from_slice(c);
            val.extend_from_slice(x);
            row_ptr.push(col.len() as u32);
        }
        Csr {
            row_ptr,
            col,
            val,
            rows: nodes.len(),
            cols: self.cols,
        }
    }

    /// An all-zero `rows × cols` matrix.
    pub fn zeros(rows: usize, cols: usize) -> Csr {
        Csr {
            row_ptr: vec![0; rows + 1],
            col: Vec::new(),
            val: Vec::new(),
            rows,
            cols,
        }
    }

    /// Build from per-row `(column, value)` lists; sorts columns, sums duplicates, drops zeros.
    pub fn from_rows(cols: usize, rows: Vec<Vec<(u32, f32)>>) -> Csr {
        let mut m = Csr::zeros(0, cols);
        m.row_ptr.clear();
        m.row_ptr.push(0);
        for mut r in rows {
            r.sort_unstable_by_key(|e| e.0);
            let mut last: Option<u32> = None;
            for (c, v) in r {
                if last == Some(c) {
                    *m.val.last_mut().expect("previous entry") += v;
                } else {
                    m.col.push(c);
                    m.val.push(v);
                    last = Some(c);
                }
            }
            // Drop entries that are (or summed to) zero so nnz counts true non-zeros.
            let start = *m.row_ptr.last().expect("row_ptr starts with 0") as usize;
            let mut w = start;
            for k in start..m.col.len() {
                if m.val[k] != 0.0 {
                    m.col[w] = m.col[k];
                    m.val[w] = m.val[k];
                    w += 1;
                }
            }
            m.col.truncate(w);
            m.val.truncate(w);
            m.row_ptr.push(w as u32);
            m.rows += 1;
        }
        m
    }

    pub fn nnz(&self) -> usize {
        self.col.len()
    }

    /// Row `r` as (columns, values).
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.row_ptr[r] as usize, self.row_ptr[r + 1] as usize);
        (&self.col[a..b], &self.val[a..b])
    }

    /// Dense row-major copy (for tests and small matrices).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut d = vec![0.0; self.rows * self.cols];
        for r in 0..self.rows {
            let (c, v) = self.row(r);
            for (&c, &v) in c.iter().zip(v) {
                d[r * self.cols + c as usize] = v;
            }
        }
        d
    }

    /// PyG's `NormalizeFeatures`: each row divided by `max(row sum, 1)` (computed in f64).
    /// PyG divides by `sum.clamp(min=1)`, so zero rows stay zero and rows of non-negative
    /// binary features sum to 1. (PyG first subtracts the global minimum; that is a no-op for
    /// non-negative sparse features, the only kind the Planetoid and SBM graphs have.)
    pub fn row_normalize(&mut self) {
        for r in 0..self.rows {
            let (a, b) = (self.row_ptr[r] as usize, self.row_ptr[r + 1] as usize);
            let s: f64 = self.val[a..b].iter().map(|&v| v as f64).sum();
            let d = s.max(1.0);
            for v in &mut self.val[a..b] {
                *v = (*v as f64 / d) as f32;
            }
        }
    }
}

/// An undirected graph with node features and optional labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub name: String,
    pub num_nodes: usize,
    /// `num_nodes × F` node features.
    pub features: Csr,
    pub labels: Option<Vec<u32>>,
    /// 0 when there are no labels.
    pub num_classes: usize,
    /// Undirected edges, each once as `[i, j]` with `i < j`, unique, sorted; no self-loops.
    pub edges: Vec<[u32; 2]>,
    /// The file's node names when an edge list names nodes by strings (node i = names[i]).
    pub node_ids: Option<Vec<String>>,
    /// Where the graph came from (`argva data` prints it).
    pub source: Origin,
}

/// Where a loaded graph came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Planetoid files read from this folder, each checked against its known SHA-256.
    Disk(PathBuf),
    /// Planetoid files downloaded into this folder just now (checked), then read from there.
    Downloaded(PathBuf),
    /// The copy of Cora or CiteSeer compiled into argva.
    Embedded,
    /// A user's edge list.
    File(PathBuf),
    /// A synthetic graph (`sbm:`).
    Generated,
    /// Arrays handed over in memory (the Python module).
    Memory,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Disk(dir) => write!(f, "files in {} (SHA-256 checked)", dir.display()),
            Origin::Downloaded(dir) => {
                write!(f, "downloaded into {} (SHA-256 checked)", dir.display())
            }
            Origin::Embedded => write!(f, "argva's embedded copy"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Generated => write!(f, "generated"),
            Origin::Memory => write!(f, "arrays in memory"),
        }
    }
}

impl Graph {
    /// Nodes without any edge.
    pub fn isolated_nodes(&self) -> usize {
        let mut seen = vec![false; self.num_nodes];
        for &[a, b] in &self.edges {
            seen[a as usize] = true;
            seen[b as usize] = true;
        }
        seen.iter().filter(|&&s| !s).count()
    }
}

/// Canonical undirected edge list: `[min, max]`, self-loops removed, sorted, unique
/// (PyG's `to_undirected` + `remove_self_loops` + `coalesce`, stored once per pair).
pub fn canonical_edges(pairs: impl IntoIterator<Item = [u32; 2]>) -> Vec<[u32; 2]> {
    let mut keys: Vec<u64> = pairs
        .into_iter()
        .filter(|[a, b]| a != b)
        .map(|[a, b]| split::edge_key(a, b))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().map(split::key_edge).collect()
}

/// Where Planetoid files are looked for (and PubMed is downloaded to): `$ARGVA_DATA`, else
/// `./data`. Cora and CiteSeer need no folder: argva carries them (see [`load`]).
pub fn default_root() -> PathBuf {
    std::env::var_os("ARGVA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("data"))
}

/// How [`load`] finds and completes a graph.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Folder holding `<Name>/raw/ind.<name>.*` for the Planetoid datasets.
    pub root: PathBuf,
    /// Node features for an edge-list graph (`.npy` f32/f64 2-D, SciPy CSR `.npz`, or CSV).
    pub features: Option<PathBuf>,
    /// Node labels for an edge-list graph (CSV `node,label` or one label per line).
    pub labels: Option<PathBuf>,
    /// Download missing Planetoid files (checked against `assets/planetoid.sha256`).
    pub download: bool,
    /// Also accept downloaded files without a known checksum (PubMed).
    pub allow_unverified: bool,
}

impl Default for LoadOptions {
    /// Root from [`default_root`], no extra files, no downloads.
    fn default() -> Self {
        LoadOptions {
            root: default_root(),
            features: None,
            labels: None,
            download: false,
            allow_unverified: false,
        }
    }
}

/// Load a graph: a Planetoid name (`cora`, `citeseer`, `pubmed`, any case), an `sbm:` spec
/// (see [`sbm::SbmSpec`]) or the path of an edge list.
pub fn load(spec: &str, opts: &LoadOptions) -> Result<Graph, DataError> {
    if let Some(rest) = spec.strip_prefix("sbm:") {
        let s = sbm::SbmSpec::parse(rest).map_err(|msg| DataError::Spec {
            spec: spec.to_string(),
            msg,
        })?;
        return sbm::generate(&s);
    }
    if let Some(ds) = planetoid::Dataset::from_name(spec) {
        return load_planetoid(ds, opts);
    }
    let path = Path::new(spec);
    if !path.exists() {
        return Err(DataError::Spec {
            spec: spec.to_string(),
            msg:
                "not a dataset name (cora, citeseer, pubmed), not an `sbm:` spec, and no such file"
                    .into(),
        });
    }
    user::read(path, opts.features.as_deref(), opts.labels.as_deref())
}

/// A Planetoid dataset from, in this order: the files in `<root>/<Name>/raw` when all eight
/// are there (checked against their known sums); argva's embedded copy (Cora, CiteSeer) when
/// none is there; a download into that folder otherwise (PubMed, or completing a folder that
/// holds only some of the files — never masked by the embedded copy).
fn load_planetoid(ds: planetoid::Dataset, opts: &LoadOptions) -> Result<Graph, DataError> {
    let dir = ds.raw_dir(&opts.root);
    let missing = ds.missing_files(&dir);
    if missing.is_empty() {
        return planetoid::read(ds, &opts.root);
    }
    if missing.len() == planetoid::SUFFIXES.len()
        && let Some(graph) = planetoid::read_embedded(ds)
    {
        return graph;
    }
    if !opts.download {
        let fix = if embedded::files(ds).is_some() {
            "copy the missing files there, or remove the folder to use argva's embedded copy"
        } else {
            "copy them there"
        };
        return Err(DataError::MissingFiles {
            name: ds.name().into(),
            dir,
            files: missing,
            hint: format!(
                "run without --offline to download them from {}, {fix}, or point --data-root / ARGVA_DATA at a folder holding {}/raw/",
                download::PLANETOID_URL,
                ds.name()
            ),
        });
    }
    download_planetoid(ds, opts)?;
    Ok(Graph {
        source: Origin::Downloaded(dir),
        ..planetoid::read(ds, &opts.root)?
    })
}

#[cfg(not(target_arch = "wasm32"))]
fn download_planetoid(ds: planetoid::Dataset, opts: &LoadOptions) -> Result<(), DataError> {
    download::fetch_planetoid(
        ds,
        &opts.root,
        &download::HttpFetcher,
        opts.allow_unverified,
    )
}

#[cfg(target_arch = "wasm32")]
fn download_planetoid(_: planetoid::Dataset, _: &LoadOptions) -> Result<(), DataError> {
    Err(DataError::Download {
        url: download::PLANETOID_URL.into(),
        msg: "the browser build does not download: it carries Cora and CiteSeer".into(),
    })
}

/// What `argva data` prints.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    pub name: String,
    /// Where the graph came from ([`Origin`]'s text).
    pub source: String,
    pub nodes: usize,
    pub features: usize,
    pub feature_nnz: usize,
    pub edges: usize,
    pub classes: usize,
    pub isolated_nodes: usize,
    /// (train, val, test) positive edges, when a split was made.
    pub split: Option<SplitSizes>,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SplitSizes {
    pub train: usize,
    pub val: usize,
    pub test: usize,
}

impl Summary {
    pub fn new(g: &Graph, split: Option<&LinkSplit>) -> Summary {
        Summary {
            name: g.name.clone(),
            source: g.source.to_string(),
            nodes: g.num_nodes,
            features: g.features.cols,
            feature_nnz: g.features.nnz(),
            edges: g.edges.len(),
            classes: g.num_classes,
            isolated_nodes: g.isolated_nodes(),
            split: split.map(|s| SplitSizes {
                train: s.train_pos.len(),
                val: s.val_pos.len(),
                test: s.test_pos.len(),
            }),
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "graph           {}", self.name)?;
        writeln!(f, "source          {}", self.source)?;
        writeln!(f, "nodes           {}", self.nodes)?;
        writeln!(
            f,
            "features        {} ({} non-zeros)",
            self.features, self.feature_nnz
        )?;
        writeln!(f, "edges           {} undirected", self.edges)?;
        writeln!(f, "classes         {}", self.classes)?;
        write!(f, "isolated nodes  {}", self.isolated_nodes)?;
        if let Some(s) = self.split {
            write!(
                f,
                "\nsplit           {} train / {} val / {} test",
                s.train, s.val, s.test
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_rows_sorts_merges_and_drops_zeros() {
        let m = Csr::from_rows(
            4,
            vec![
                vec![(3, 1.0), (1, 2.0), (3, 0.5)],
                vec![],
                vec![(0, 1.0), (0, -1.0), (2, 4.0)],
            ],
        );
        assert_eq!(m.row_ptr, vec![0, 2, 2, 3]);
        assert_eq!(m.col, vec![1, 3, 2]);
        assert_eq!(m.val, vec![2.0, 1.5, 4.0]);
        assert_eq!(m.nnz(), 3);
    }

    #[test]
    fn row_normalize_matches_pyg_normalize_features() {
        // Random non-negative matrix; PyG: x / x.sum(-1).clamp(min=1).
        let mut rng_state = 12345u64;
        let mut next = || {
            rng_state = rng_state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng_state >> 33) as f32 / (1u64 << 31) as f32
        };
        let rows: Vec<Vec<(u32, f32)>> = (0..20)
            .map(|r| {
                if r % 7 == 0 {
                    vec![]
                } else {
                    (0..10)
                        .filter_map(|c| {
                            let u = next();
                            (u < 0.4).then(|| {
                                (
                                    c,
                                    if r % 5 == 0 {
                                        u * 0.5
                                    } else {
                                        (u * 10.0).floor() + 1.0
                                    },
                                )
                            })
                        })
                        .collect()
                }
            })
            .collect();
        let mut m = Csr::from_rows(10, rows);
        let dense = m.to_dense();
        m.row_normalize();
        let norm = m.to_dense();
        for r in 0..20 {
            let s: f64 = dense[r * 10..r * 10 + 10].iter().map(|&v| v as f64).sum();
            for c in 0..10 {
                let want = (dense[r * 10 + c] as f64 / s.max(1.0)) as f32;
                assert!((norm[r * 10 + c] - want).abs() <= 1e-7, "row {r} col {c}");
            }
            let ns: f32 = norm[r * 10..r * 10 + 10].iter().sum();
            if s >= 1.0 {
                assert!((ns - 1.0).abs() < 1e-6);
            } else if s == 0.0 {
                assert_eq!(ns, 0.0);
            }
        }
    }

    #[test]
    fn canonical_edges_undirects_and_dedups() {
        let e = canonical_edges([[3, 1], [1, 3], [2, 2], [0, 5], [5, 0], [1, 2]]);
        assert_eq!(e, vec![[0, 5], [1, 2], [1, 3]]);
    }
}
