//! Integration tests of `argva::data` on the real Planetoid files: the copies compiled into
//! argva (`data::embedded`), and the same bytes written to a data root on disk.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use argva::data::download::{Fetcher, fetch_planetoid};
use argva::data::pickle::PickleError;
use argva::data::planetoid::Dataset;
use argva::data::{self, DataError, LoadOptions, NegativeSampler, Origin, Summary, embedded};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Load options whose data root holds nothing, so Planetoid names resolve to the embedded copy.
fn opts() -> LoadOptions {
    LoadOptions {
        root: PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("empty-data-root"),
        ..Default::default()
    }
}

/// The embedded bytes of one Planetoid file, e.g. `ind.cora.x`.
fn embedded_file(ds: Dataset, name: &str) -> &'static [u8] {
    let files = embedded::files(ds).expect("Cora and CiteSeer are embedded");
    files
        .iter()
        .find(|(n, _)| *n == name)
        .expect("a known file")
        .1
}

/// A data root holding the embedded files of `ds` as `<root>/<Name>/raw/ind.*`.
fn root_with(ds: Dataset) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let dir = ds.raw_dir(t.path());
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in embedded::files(ds).unwrap() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    t
}

fn load_from(root: &Path, spec: &str) -> Result<data::Graph, DataError> {
    let o = LoadOptions {
        root: root.into(),
        ..Default::default()
    };
    data::load(spec, &o)
}

#[test]
fn cora_matches_pyg() {
    let g = data::load("cora", &opts()).unwrap();
    assert_eq!(g.num_nodes, 2708);
    assert_eq!(g.features.rows, 2708);
    assert_eq!(g.features.cols, 1433);
    assert_eq!(g.features.nnz(), 49216);
    assert_eq!(g.edges.len(), 5278);
    assert_eq!(g.num_classes, 7);
    assert_eq!(g.isolated_nodes(), 0);
    let labels = g.labels.as_ref().unwrap();
    assert_eq!(labels.len(), 2708);
    assert!(labels.iter().all(|&l| l < 7));
    assert!(g.edges.windows(2).all(|w| w[0] < w[1]) && g.edges.iter().all(|[a, b]| a < b));
}

#[test]
fn citeseer_matches_pyg() {
    let g = data::load("CiteSeer", &opts()).unwrap();
    assert_eq!(g.num_nodes, 3327);
    assert_eq!(g.features.cols, 3703);
    assert_eq!(g.features.nnz(), 105165);
    assert_eq!(g.edges.len(), 4552);
    assert_eq!(g.num_classes, 6);
    assert_eq!(g.isolated_nodes(), 48);
}

#[test]
fn cora_split_sizes_match_pyg() {
    let g = data::load("CORA", &opts()).unwrap();
    let s = data::link_split(&g, 0.05, 0.1, 1).unwrap();
    assert_eq!(
        (s.train_pos.len(), s.val_pos.len(), s.test_pos.len()),
        (4488, 263, 527)
    );
    let sum = Summary::new(&g, Some(&s));
    let text = sum.to_string();
    assert!(
        text.contains("2708") && text.contains("4488 train"),
        "{text}"
    );
    let json = serde_json::to_value(&sum).unwrap();
    assert_eq!(json["split"]["val"], 263);
}

/// Checksums from an independent numpy/scipy re-implementation of PyG's
/// `read_planetoid_data` (run on these files 2026-11-25): label histogram,
/// Σ_i i·(row sum of x_i), Σ_i i·Σ_j j·x_ij, and Σ (7·i + 13·j) over undirected edges.
#[test]
fn planetoid_contents_match_numpy_reference() {
    for (name, hist, featchk, colchk, edgechk, first) in [
        (
            "cora",
            vec![351, 217, 418, 818, 426, 298, 180],
            66204708.0,
            52432241815.0,
            151462312u64,
            [[0, 633], [0, 1862], [0, 2582]],
        ),
        (
            "citeseer",
            vec![264, 590, 668, 701, 596, 508],
            174708694.0,
            317451632061.0,
            163586682,
            [[0, 628], [1, 158], [1, 486]],
        ),
    ] {
        let g = data::load(name, &opts()).unwrap();
        let labels = g.labels.as_ref().unwrap();
        let h: Vec<usize> = (0..g.num_classes as u32)
            .map(|c| labels.iter().filter(|&&l| l == c).count())
            .collect();
        assert_eq!(h, hist, "{name} labels");
        let (mut f, mut c) = (0f64, 0f64);
        for i in 0..g.num_nodes {
            let (cols, vals) = g.features.row(i);
            f += i as f64 * vals.iter().map(|&v| v as f64).sum::<f64>();
            c += i as f64
                * cols
                    .iter()
                    .zip(vals)
                    .map(|(&j, &v)| j as f64 * v as f64)
                    .sum::<f64>();
        }
        assert_eq!((f, c), (featchk, colchk), "{name} features");
        let e: u64 = g
            .edges
            .iter()
            .map(|&[a, b]| 7 * a as u64 + 13 * b as u64)
            .sum();
        assert_eq!(e, edgechk, "{name} edges");
        assert_eq!(&g.edges[..3], &first);
    }
}

#[test]
fn split_is_disjoint_and_negatives_are_true_non_edges() {
    let g = data::load("cora", &opts()).unwrap();
    let s = data::link_split(&g, 0.05, 0.1, 42).unwrap();
    let key = |[a, b]: [u32; 2]| (a as u64) << 32 | b as u64;
    let edges: HashSet<u64> = g.edges.iter().map(|&e| key(e)).collect();
    let mut pos: Vec<u64> = s
        .train_pos
        .iter()
        .chain(&s.val_pos)
        .chain(&s.test_pos)
        .map(|&e| key(e))
        .collect();
    pos.sort_unstable();
    let mut all: Vec<u64> = edges.iter().copied().collect();
    all.sort_unstable();
    assert_eq!(pos, all, "positives partition the edges");
    assert_eq!((s.val_neg.len(), s.test_neg.len()), (263, 527));
    let negs: Vec<[u32; 2]> = s.val_neg.iter().chain(&s.test_neg).copied().collect();
    let uniq: HashSet<u64> = negs.iter().map(|&e| key(e)).collect();
    assert_eq!(uniq.len(), negs.len(), "no repeated negatives");
    for [a, b] in negs {
        assert!(a < b && (b as usize) < g.num_nodes);
        assert!(!edges.contains(&key([a, b])), "negative {a}-{b} is an edge");
    }
    // Seeded: same seed same split, other seed other split.
    assert_eq!(data::link_split(&g, 0.05, 0.1, 42).unwrap(), s);
    assert_ne!(
        data::link_split(&g, 0.05, 0.1, 43).unwrap().val_pos,
        s.val_pos
    );
}

#[test]
fn negative_sampler_avoids_training_edges() {
    let g = data::load("cora", &opts()).unwrap();
    let s = data::link_split(&g, 0.05, 0.1, 0).unwrap();
    let sampler = NegativeSampler::new(g.num_nodes, &s.train_pos).unwrap();
    let train: HashSet<[u32; 2]> = s.train_pos.iter().copied().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let negs = sampler.sample(&mut rng, 20_000);
    assert_eq!(negs.len(), 20_000);
    assert!(negs.iter().all(|e| e[0] < e[1] && !train.contains(e)));
    // Roughly uniform over nodes: every node appears about 2·20000/2708 ≈ 14.8 times.
    let mut count = vec![0u32; g.num_nodes];
    for [a, b] in &negs {
        count[*a as usize] += 1;
        count[*b as usize] += 1;
    }
    let mean = 40_000.0 / g.num_nodes as f64;
    let var = count
        .iter()
        .map(|&c| (c as f64 - mean).powi(2))
        .sum::<f64>()
        / g.num_nodes as f64;
    assert!(
        (var / mean - 1.0).abs() < 0.15,
        "Poisson-like dispersion, got var/mean {}",
        var / mean
    );
    // A dense graph uses the explicit non-edge list: K5 minus one edge has one negative.
    let k5: Vec<[u32; 2]> = (0..5u32)
        .flat_map(|i| (i + 1..5).map(move |j| [i, j]))
        .filter(|&e| e != [1, 3])
        .collect();
    let dense = NegativeSampler::new(5, &k5).unwrap();
    assert!(dense.sample(&mut rng, 50).iter().all(|&e| e == [1, 3]));
    let full: Vec<[u32; 2]> = (0..5u32)
        .flat_map(|i| (i + 1..5).map(move |j| [i, j]))
        .collect();
    assert!(matches!(
        NegativeSampler::new(5, &full),
        Err(DataError::TooDense { .. })
    ));
}

#[test]
fn gcn_norm_on_cora_is_symmetric_with_expected_nnz() {
    let g = data::load("cora", &opts()).unwrap();
    let a = data::gcn_norm(g.num_nodes, &g.edges);
    assert_eq!(a.nnz(), 2 * 5278 + 2708);
    let deg: Vec<usize> = (0..g.num_nodes).map(|i| a.row(i).0.len()).collect();
    for i in (0..g.num_nodes).step_by(97) {
        let (c, v) = a.row(i);
        assert!(c.windows(2).all(|w| w[0] < w[1]));
        for (&j, &w) in c.iter().zip(v) {
            let want = 1.0 / ((deg[i] * deg[j as usize]) as f64).sqrt();
            assert!((w as f64 - want).abs() < 1e-7 * want);
            let (cj, vj) = a.row(j as usize);
            let k = cj.binary_search(&(i as u32)).unwrap();
            assert_eq!(vj[k], w);
        }
    }
}

#[test]
fn sbm_spec_through_load() {
    let g = data::load(
        "sbm:nodes=5000,classes=3,degree=8,features=30,seed=1",
        &opts(),
    )
    .unwrap();
    assert_eq!(
        (g.num_nodes, g.edges.len(), g.num_classes, g.features.cols),
        (5000, 20_000, 3, 30)
    );
    let s = Summary::new(&g, None);
    assert_eq!(s.edges, 20_000);
    assert!(matches!(
        data::load("sbm:nodes=10,bogus=1", &opts()),
        Err(DataError::Spec { .. })
    ));
}

// ----------------------------------------------------------------------------------------
// Downloads (with a fetcher serving the local copies; no network).

struct LocalFetcher {
    corrupt: bool,
}

impl Fetcher for LocalFetcher {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, DataError> {
        let file = url.rsplit('/').next().unwrap();
        let ds = if file.contains("citeseer") {
            "CiteSeer"
        } else {
            "Cora"
        };
        let ds = Dataset::from_name(ds).unwrap();
        let mut b = embedded::files(ds)
            .and_then(|fs| fs.iter().find(|(n, _)| *n == file))
            .map(|(_, b)| b.to_vec())
            .ok_or_else(|| DataError::Download {
                url: url.into(),
                msg: "404".into(),
            })?;
        if self.corrupt {
            b[10] ^= 1;
        }
        Ok(b)
    }
}

struct OfflineFetcher;

impl Fetcher for OfflineFetcher {
    fn fetch(&self, url: &str) -> Result<Vec<u8>, DataError> {
        Err(DataError::Download {
            url: url.into(),
            msg: "network unreachable".into(),
        })
    }
}

#[test]
fn download_verifies_and_writes_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    fetch_planetoid(
        Dataset::Cora,
        tmp.path(),
        &LocalFetcher { corrupt: false },
        false,
    )
    .unwrap();
    let g = data::load(
        "cora",
        &LoadOptions {
            root: tmp.path().into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(g.edges.len(), 5278);
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("Cora/raw"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 8, "no .part files left: {left:?}");

    let tmp = tempfile::tempdir().unwrap();
    let e = fetch_planetoid(
        Dataset::CiteSeer,
        tmp.path(),
        &LocalFetcher { corrupt: true },
        false,
    )
    .unwrap_err();
    assert!(matches!(e, DataError::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("ind.citeseer.") && e.to_string().contains("SHA-256 mismatch"));
    assert!(!tmp.path().join("CiteSeer/raw/ind.citeseer.x").exists());

    let e = fetch_planetoid(Dataset::Cora, tmp.path(), &OfflineFetcher, false).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("network unreachable")
            && msg.contains(&tmp.path().join("Cora").join("raw").display().to_string()),
        "{msg}"
    );

    // PubMed has no known sums: refused before any request unless opted in.
    let e = fetch_planetoid(Dataset::PubMed, tmp.path(), &OfflineFetcher, false).unwrap_err();
    assert!(matches!(e, DataError::Unverified { .. }), "{e}");
    let e = fetch_planetoid(Dataset::PubMed, tmp.path(), &OfflineFetcher, true).unwrap_err();
    assert!(matches!(e, DataError::Download { .. }), "{e}");
}

#[test]
fn every_embedded_planetoid_file_has_its_known_checksum() {
    for ds in [Dataset::Cora, Dataset::CiteSeer] {
        for (f, bytes) in embedded::files(ds).unwrap() {
            assert_eq!(
                data::download::expected_sha256(f),
                Some(data::download::sha256_hex(bytes).as_str()),
                "{f}"
            );
        }
    }
}

#[test]
fn planetoid_names_resolve_to_the_embedded_copy_without_a_data_root() {
    for name in ["cora", "citeseer"] {
        let g = data::load(name, &opts()).unwrap();
        assert_eq!(g.source, Origin::Embedded, "{name}");
        let sum = Summary::new(&g, None);
        assert!(
            sum.to_string()
                .contains("source          argva's embedded copy"),
            "{sum}"
        );
    }
    assert!(
        !opts().root.exists(),
        "loading the embedded copy writes nothing"
    );
}

#[test]
fn a_data_root_on_disk_is_read_and_checked() {
    for ds in [Dataset::Cora, Dataset::CiteSeer] {
        let t = root_with(ds);
        let disk = load_from(t.path(), ds.prefix()).unwrap();
        assert_eq!(disk.source, Origin::Disk(ds.raw_dir(t.path())));
        let embedded = data::load(ds.prefix(), &opts()).unwrap();
        assert_eq!(
            data::Graph {
                source: Origin::Embedded,
                ..disk
            },
            embedded,
            "{ds:?}: the same graph from disk and from the binary"
        );
    }
}

#[test]
fn bad_corrupt_file_in_the_data_root_is_refused_not_masked() {
    let t = root_with(Dataset::Cora);
    let bad = Dataset::Cora.raw_dir(t.path()).join("ind.cora.graph");
    let mut b = std::fs::read(&bad).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1; // the pickle's STOP byte: still a file argva might have parsed
    std::fs::write(&bad, &b).unwrap();
    let e = load_from(t.path(), "cora").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, DataError::Checksum { .. }), "{msg}");
    assert!(
        msg.contains(&bad.display().to_string())
            && msg.contains("SHA-256 mismatch")
            && msg.contains("damaged"),
        "{msg}"
    );
}

#[test]
fn pubmed_download_verifies_all_but_allx_and_says_so() {
    let t = tempfile::tempdir().unwrap();
    let e = fetch_planetoid(Dataset::PubMed, t.path(), &OfflineFetcher, false).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, DataError::Unverified { ref file, .. } if file.ends_with("ind.pubmed.allx")),
        "{msg}"
    );
    assert!(
        msg.contains("--allow-unverified") && msg.contains("every other PubMed file"),
        "{msg}"
    );
    for f in Dataset::PubMed.file_names() {
        assert_eq!(
            data::download::expected_sha256(&f).is_some(),
            f != "ind.pubmed.allx",
            "{f}"
        );
    }
}

// ----------------------------------------------------------------------------------------
// User graphs.

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn user_csv_with_header_string_ids_named_features_and_labels() {
    let t = tempfile::tempdir().unwrap();
    let edges = write(
        t.path(),
        "g.csv",
        b"source,target\nalice,bob\nbob,carol\ncarol,alice\nbob,alice\ndave,dave\ndave,\"alice\"\n",
    );
    let feats = write(
        t.path(),
        "f.csv",
        b"node,x,y\ncarol,0,1.5\nalice,2,0\nbob,0,0\ndave,1,1\n",
    );
    let labels = write(
        t.path(),
        "l.csv",
        b"node,label\nbob,red\nalice,blue\ncarol,red\ndave,green\n",
    );
    let o = LoadOptions {
        features: Some(feats),
        labels: Some(labels),
        ..opts()
    };
    let g = data::load(edges.to_str().unwrap(), &o).unwrap();
    // alice=0, bob=1, carol=2, dave=3 (first appearance).
    assert_eq!(g.num_nodes, 4);
    assert_eq!(g.edges, vec![[0, 1], [0, 2], [0, 3], [1, 2]]);
    assert_eq!(
        g.features.to_dense(),
        vec![2.0, 0.0, 0.0, 0.0, 0.0, 1.5, 1.0, 1.0]
    );
    // Classes numbered in sorted order: blue=0, green=1, red=2.
    assert_eq!(g.labels, Some(vec![0, 2, 2, 1]));
    assert_eq!(g.num_classes, 3);
    assert_eq!(g.name, "g");
}

#[test]
fn user_tsv_integer_ids_with_npy_features_and_label_lines() {
    let t = tempfile::tempdir().unwrap();
    let edges = write(
        t.path(),
        "g.tsv",
        b"# comment\n0\t1\t0.5\n3\t1\t2.0\n1\t0\n",
    );
    let vals: Vec<f32> = (0..10).map(|i| (i as f32 - 4.0) * 0.25).collect();
    let feats = write(
        t.path(),
        "f.npy",
        &data::npy::encode(&[5, 2], &vals).unwrap(),
    );
    let labels = write(t.path(), "l.txt", b"1\n0\n2\n2\n1\n");
    let o = LoadOptions {
        features: Some(feats),
        labels: Some(labels),
        ..opts()
    };
    let g = data::load(edges.to_str().unwrap(), &o).unwrap();
    assert_eq!(g.num_nodes, 5, "node count from the feature rows");
    assert_eq!(g.edges, vec![[0, 1], [1, 3]]);
    assert_eq!(g.isolated_nodes(), 2);
    assert_eq!(g.features.to_dense(), vals);
    assert_eq!(
        (g.labels.clone().unwrap(), g.num_classes),
        (vec![1, 0, 2, 2, 1], 3)
    );
}

#[test]
fn user_whitespace_edges_without_features_get_identity() {
    let t = tempfile::tempdir().unwrap();
    let edges = write(t.path(), "g.txt", b"0 2\n2   4\n\n% also a comment\n4 0\n");
    let g = data::load(edges.to_str().unwrap(), &opts()).unwrap();
    assert_eq!(
        (
            g.num_nodes,
            g.edges.len(),
            g.features.nnz(),
            g.features.cols
        ),
        (5, 3, 5, 5)
    );
    assert_eq!(g.labels, None);
}

// ----------------------------------------------------------------------------------------
// Bad input: each gives a typed error naming the file and the problem.

fn cora_files() -> [(PathBuf, Vec<u8>); 8] {
    embedded::files(Dataset::Cora)
        .unwrap()
        .map(|(f, b)| (PathBuf::from("Cora/raw").join(f), b.to_vec()))
}

#[test]
fn bad_missing_file() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(t.path().join("Cora/raw")).unwrap();
    std::fs::write(
        t.path().join("Cora/raw/ind.cora.x"),
        embedded_file(Dataset::Cora, "ind.cora.x"),
    )
    .unwrap();
    let e = data::load(
        "cora",
        &LoadOptions {
            root: t.path().into(),
            ..Default::default()
        },
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, DataError::MissingFiles { ref files, .. } if files.len() == 7),
        "{msg}"
    );
    assert!(
        msg.contains("ind.cora.graph")
            && msg.contains(&t.path().join("Cora/raw").display().to_string())
            && msg.contains("ARGVA_DATA")
            && msg.contains("embedded copy"),
        "{msg}"
    );
    let e = data::load("no/such/file.csv", &opts()).unwrap_err();
    assert!(e.to_string().contains("no/such/file.csv"), "{e}");
}

#[test]
fn bad_truncated_pickle() {
    let mut f = cora_files();
    f[0].1.truncate(f[0].1.len() / 2);
    let e = data::planetoid::assemble(Dataset::Cora, &f).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Pickle {
                source: PickleError::Truncated { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("ind.cora.x") && e.to_string().contains("truncated"),
        "{e}"
    );
}

#[test]
fn bad_corrupt_pickle() {
    let mut f = cora_files();
    // Replace the STOP opcode's predecessor (BUILD) with an unknown opcode.
    let n = f[3].1.len();
    f[3].1[n - 2] = 0xfe;
    let e = data::planetoid::assemble(Dataset::Cora, &f).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Pickle {
                source: PickleError::UnknownOpcode { opcode: 0xfe, .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("ind.cora.y"), "{e}");
    // Structurally wrong: the graph file where a matrix is expected.
    let mut f = cora_files();
    f[0].1 = f[6].1.clone();
    let e = data::planetoid::assemble(Dataset::Cora, &f).unwrap_err();
    assert!(
        e.to_string().contains("ind.cora.x") && e.to_string().contains("csr_matrix"),
        "{e}"
    );
}

/// Byte flips, truncations and splices of the real files: always a graph or a typed error.
#[test]
fn mutated_planetoid_files_never_panic() {
    let clean = cora_files();
    let mut s = 0x853c49e6748fea9bu64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for round in 0..150 {
        let mut f = clean.clone();
        let which = [0usize, 3, 6][round % 3]; // x, y, graph (small files)
        let len = f[which].1.len();
        match next() % 3 {
            0 => {
                for _ in 0..1 + next() % 4 {
                    let at = next() as usize % len;
                    f[which].1[at] ^= 1 << (next() % 8);
                }
            }
            1 => f[which].1.truncate(next() as usize % len),
            _ => {
                let at = next() as usize % len;
                let src = f[(which + 3) % 9 % 8].1.clone();
                f[which]
                    .1
                    .splice(at.., src[next() as usize % src.len()..].iter().copied());
            }
        }
        let _ = data::planetoid::assemble(Dataset::Cora, &f);
    }
}

#[test]
fn bad_unknown_pickle_global() {
    let mut f = cora_files();
    let s = f[6].1.clone();
    let at = s.windows(11).position(|w| w == b"collections").unwrap();
    f[6].1 = [&s[..at], b"os\nsystem", &s[at + 23..]].concat();
    let e = data::planetoid::assemble(Dataset::Cora, &f).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Pickle {
                source: PickleError::GlobalNotAllowed { .. },
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("ind.cora.graph") && e.to_string().contains("os.system"),
        "{e}"
    );
}

#[test]
fn bad_shape_mismatch_between_parts() {
    let mut f = cora_files();
    f[4].1 = f[3].1.clone(); // ty := y (140 rows, tx has 1000)
    let e = data::planetoid::assemble(Dataset::Cora, &f).unwrap_err();
    assert!(matches!(e, DataError::ShapeMismatch { .. }), "{e}");
    assert!(
        e.to_string().contains("ind.cora.tx") && e.to_string().contains("ind.cora.ty"),
        "{e}"
    );
}

#[test]
fn bad_node_id_out_of_range() {
    let t = tempfile::tempdir().unwrap();
    let edges = write(t.path(), "g.csv", b"0,1\n1,7\n");
    let feats = write(
        t.path(),
        "f.npy",
        &data::npy::encode(&[3, 1], &[1.0, 2.0, 3.0]).unwrap(),
    );
    let e = data::load(
        edges.to_str().unwrap(),
        &LoadOptions {
            features: Some(feats),
            ..opts()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            DataError::NodeOutOfRange {
                id: 7,
                num_nodes: 3,
                line: Some(2),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("g.csv line 2"), "{e}");
    let e = data::user::parse_edge_list(&edges, b"0,1\n-3,2\n").unwrap_err();
    // A negative id is not "out of range" of some graph: ids must be non-negative (this
    // assertion used to accept NodeOutOfRange with a 4294967295-node "graph").
    assert!(
        matches!(
            e,
            DataError::BadNodeId {
                id: -3,
                line: Some(2),
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("from 0 to 4294967294"), "{e}");
}

#[test]
fn bad_non_numeric_and_ragged_csv() {
    let p = std::path::Path::new("feats.csv");
    let e = data::user::parse_features_csv(p, b"1,2\n3,x\n", None).unwrap_err();
    assert!(
        matches!(e, DataError::Format { line: Some(2), .. }) && e.to_string().contains("`x`"),
        "{e}"
    );
    let e = data::user::parse_features_csv(p, b"1,2\n3\n", None).unwrap_err();
    assert!(
        e.to_string().contains("feats.csv line 2") && e.to_string().contains("ragged"),
        "{e}"
    );
    let e = data::user::parse_edge_list(std::path::Path::new("e.txt"), b"0 1\n2\n").unwrap_err();
    assert!(e.to_string().contains("e.txt line 2"), "{e}");
}

#[test]
fn bad_nan_or_inf_features() {
    let p = std::path::Path::new("feats.csv");
    let e = data::user::parse_features_csv(p, b"1,2\n3,nan\n", None).unwrap_err();
    assert!(
        matches!(e, DataError::NonFinite { row: 1, col: 1, .. }),
        "{e}"
    );
    let npy = data::npy::encode(&[2, 2], &[1.0, f32::INFINITY, 0.0, 1.0]).unwrap();
    let e = data::user::parse_features_npy(std::path::Path::new("f.npy"), &npy).unwrap_err();
    assert!(
        matches!(e, DataError::NonFinite { row: 0, col: 1, .. }) && e.to_string().contains("f.npy"),
        "{e}"
    );
}

#[test]
fn bad_empty_graph() {
    let p = std::path::Path::new("empty.csv");
    let e = data::user::assemble(p, b"# nothing here\n\n", None, None).unwrap_err();
    assert!(
        matches!(e, DataError::EmptyGraph { .. }) && e.to_string().contains("empty.csv"),
        "{e}"
    );
    let e = data::user::assemble(p, b"3 3\n", None, None).unwrap_err();
    assert!(matches!(e, DataError::EmptyGraph { .. }), "{e}");
}

#[test]
fn bad_no_edges_left_for_training() {
    let g = data::load("sbm:nodes=50,degree=2,seed=1", &opts()).unwrap();
    let e = data::link_split(&g, 0.6, 0.4, 0).unwrap_err();
    assert!(
        matches!(e, DataError::NoTrainingEdges { edges: 50, .. }),
        "{e}"
    );
    let e = data::link_split(&g, 0.3, 0.7, 0).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Spec { .. } | DataError::NoTrainingEdges { .. }
        ),
        "{e}"
    );
}

/// Scale check (run on demand, optimised): `cargo test --release --test data -- --ignored --nocapture`.
#[test]
#[ignore]
fn sbm_million_nodes_ten_million_edges() {
    let t = std::time::Instant::now();
    let g = data::load(
        "sbm:nodes=1000000,classes=10,degree=20,features=128,seed=1",
        &opts(),
    )
    .unwrap();
    let gen_s = t.elapsed().as_secs_f64();
    assert_eq!((g.num_nodes, g.edges.len()), (1_000_000, 10_000_000));
    let t = std::time::Instant::now();
    let s = data::link_split(&g, 0.05, 0.1, 0).unwrap();
    let split_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let a = data::gcn_norm(g.num_nodes, &s.train_pos);
    let norm_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let sampler = NegativeSampler::new(g.num_nodes, &s.train_pos).unwrap();
    let negs = sampler.sample(&mut ChaCha8Rng::seed_from_u64(0), s.train_pos.len());
    let neg_s = t.elapsed().as_secs_f64();
    assert_eq!(negs.len(), s.train_pos.len());
    println!(
        "sbm 1M/10M: generate {gen_s:.2} s, split {split_s:.2} s, gcn_norm {norm_s:.2} s (nnz {}), sampler build + {} negatives {neg_s:.2} s",
        a.nnz(),
        negs.len()
    );
}

/// Inputs that claim more than they hold are refused from what they claim, before anything
/// of that size is allocated (issue 18's resource limits; the note states the times).
mod resource_limits {
    use std::path::Path;

    use argva::data::{npy, pickle, user};

    fn npy_claiming(shape: &str) -> Vec<u8> {
        let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend((header.len() as u16).to_le_bytes());
        b.extend(header.as_bytes());
        b.extend([0u8; 16]);
        b
    }

    #[test]
    fn a_npy_claiming_a_huge_matrix_is_refused_by_its_header() {
        let p = Path::new("huge.npy");
        let err = npy::parse(p, &npy_claiming("(1000000000000, 1000000000000)")).unwrap_err();
        assert!(
            err.to_string().contains("features need 1 to 2^32 - 2 rows"),
            "{err}"
        );
        let err = npy::parse(p, &npy_claiming("(4000000000, 4000000000000)")).unwrap_err();
        assert!(err.to_string().contains("shape overflows"), "{err}");
        let err = npy::parse(p, &npy_claiming("(1000000, 1000000)")).unwrap_err();
        assert!(
            err.to_string()
                .contains("needs 4000000000000 data bytes, file has 16"),
            "{err}"
        );
        let err = argva::data::npy::read(&npy_claiming("(1000000000000, 1000000000000)"));
        assert!(err.unwrap_err().contains("need 1 to 2^32 - 2 rows"));
    }

    #[test]
    fn a_pickle_nesting_a_million_levels_is_refused() {
        const LEVELS: usize = 1_000_000;
        let mut b = b"\x80\x02".to_vec();
        b.extend(std::iter::repeat_n(b']', LEVELS)); // EMPTY_LIST, a million times
        b.extend(std::iter::repeat_n(b'a', LEVELS - 1)); // APPEND each into the one below
        b.push(b'.');
        let err = pickle::parse(&b).unwrap_err().to_string();
        assert!(err.contains("nesting deeper than 64 levels"), "{err}");
    }

    #[test]
    fn a_csv_line_of_a_gigabyte_is_refused_after_reading_64_mib() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one-line.csv");
        // A sparse file: a gigabyte of NUL bytes without a line break, no disk space used.
        std::fs::File::create(&path)
            .unwrap()
            .set_len(1 << 30)
            .unwrap();
        let err = user::read(&path, None, None).unwrap_err().to_string();
        assert!(err.contains("line 1: a line longer than 64 MiB"), "{err}");
        let edges = dir.path().join("edges.csv");
        std::fs::write(&edges, "0,1\n1,2\n").unwrap();
        let err = user::read(&edges, Some(&path), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("one-line.csv line 1: a line longer than 64 MiB"),
            "{err}"
        );
    }
}

/// Inputs the fuzz targets found, kept as they were found (`tests/fixtures/fuzz/`).
mod fuzz_findings {
    use std::path::Path;

    use argva::data::{npy, user};

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/fuzz")
                .join(name),
        )
        .unwrap()
    }

    /// npy target: shape (4000000000, 0) holds no data, so it passed the length check and
    /// asked for 4e9 feature rows (96 GB); a slow unit came from the same kind of header.
    #[test]
    fn npy_headers_with_an_empty_dimension_are_refused() {
        for name in ["npy-empty-columns.npy", "npy-slow.npy"] {
            let bytes = fixture(name);
            let err = npy::parse(Path::new(name), &bytes).unwrap_err().to_string();
            assert!(
                err.contains("features need 1 to 2^32 - 2 rows and at least one column"),
                "{err}"
            );
            assert!(user::parse_features_npy(Path::new(name), &bytes).is_err());
        }
    }
}

/// The bytes NumPy and SciPy write (`tests/fixtures/scipy`): an `edge_index` `.npy` (2 × E
/// int64, or E × 2 int32) as the edge list, SciPy CSR `.npz` features (deflated or stored),
/// each giving the same graph; a CSC matrix, float ids and ids past the features are
/// refused by name.
#[test]
fn numpy_edge_index_and_scipy_npz_features_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scipy");
    let read = |edges: &str, feats: Option<&str>| {
        let f = feats.map(|f| dir.join(f));
        argva::data::user::read(&dir.join(edges), f.as_deref(), None)
    };
    let g = read("edge_index.npy", Some("x.npz")).unwrap();
    assert_eq!((g.num_nodes, g.features.cols), (3, 4));
    assert_eq!(g.edges, vec![[0, 1], [0, 2], [1, 2]]);
    assert_eq!(g.features.row(0), (&[0u32, 3][..], &[1.0f32, 2.5][..]));
    assert_eq!(g.features.row(2), (&[1u32][..], &[-1.0f32][..]));
    let same = read("edge_pairs_i32.npy", Some("x_stored.npz")).unwrap();
    assert_eq!(
        (same.edges, same.features),
        (g.edges.clone(), g.features.clone())
    );
    // Without features: one-hot rows, as for a text edge list.
    assert_eq!(read("edge_index.npy", None).unwrap().features.cols, 3);

    let err = |edges: &str, feats: Option<&str>| read(edges, feats).unwrap_err().to_string();
    assert!(err("edge_index.npy", Some("x_csc.npz")).contains("x.tocsr()"));
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
        tmp.path().join(name)
    };
    let floats = write(
        "f.npy",
        argva::data::npy::encode(&[2, 2], &[0.0, 1.0, 1.0, 2.0]).unwrap(),
    );
    let e = argva::data::user::read(&floats, None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("edge_index needs int64 or int32"), "{e}");
    let three = write("t.npy", argva::data::npy::encode(&[3, 3], &[0; 9]).unwrap());
    let e = argva::data::user::read(&three, None, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2 × E (PyTorch Geometric) or E × 2, got (3, 3)"),
        "{e}"
    );
    let negative = write(
        "n.npy",
        argva::data::npy::encode(&[2, 2], &[0, 1, -1, 0]).unwrap(),
    );
    let e = argva::data::user::read(&negative, None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("edge 1 names node -1"), "{e}");
    let far = write(
        "far.npy",
        argva::data::npy::encode(&[2, 1], &[0, 9]).unwrap(),
    );
    let e = argva::data::user::read(&far, Some(&dir.join("x.npz")), None).unwrap_err();
    assert!(
        e.to_string()
            .contains("edge 1 names node 9, past the 3 feature rows"),
        "{e}"
    );
}
