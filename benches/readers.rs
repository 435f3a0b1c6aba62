//! How fast the graph readers take a large graph: a text edge list, PyTorch Geometric's
//! `edge_index` as `.npy`, SciPy CSR features as `.npz` (deflated, as `save_npz` writes them)
//! and the assembled graph. `cargo bench --bench readers -- 100000000` reads a 100 M-edge graph
//! (about 6 GiB of memory); the default is 10 M edges. Files are made in memory, so only the
//! parsing is timed, not the disk.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use argva::data::{npy, npz, user};
use rand::{RngExt, SeedableRng};

fn main() {
    let edges: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let nodes = (edges / 10).max(2);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let ids: Vec<i64> = (0..2 * edges)
        .map(|_| rng.random_range(0..nodes as i64))
        .collect();

    let mut text = String::with_capacity(edges * 18);
    text.push_str("source,target\n");
    for p in ids.chunks(2) {
        text.push_str(&format!("{},{}\n", p[0], p[1]));
    }
    let el = timed(
        "edge list (CSV text)",
        text.len(),
        || user::parse_edge_list(Path::new("edges.csv"), text.as_bytes()).unwrap(),
        |el| el.pairs.len(),
    );
    assert_eq!(el.pairs.len(), edges);
    drop((text, el));

    // edge_index: row 0 the sources, row 1 the targets.
    let index: Vec<i64> = (0..2)
        .flat_map(|r| ids.iter().skip(r).step_by(2).copied())
        .collect();
    let bytes = npy::encode(&[2, edges], &index).unwrap();
    let el = timed(
        "edge_index (.npy, int64)",
        bytes.len(),
        || user::parse_edge_index_npy(Path::new("edge_index.npy"), &bytes).unwrap(),
        |el| el.pairs.len(),
    );
    assert_eq!(el.pairs.len(), edges);
    drop((bytes, el, index));

    // Features: 10 non-zeros per node out of 128 columns.
    let (rows, per_row) = (nodes, 10);
    let indptr: Vec<i64> = (0..=rows as i64).map(|r| r * per_row).collect();
    let indices: Vec<i64> = (0..rows * per_row as usize)
        .map(|_| rng.random_range(0..128))
        .collect();
    let data = vec![1.0f32; indices.len()];
    let npz_bytes = scipy_npz(rows, 128, &indptr, &indices, &data);
    let what = "features (.npz CSR, deflated)";
    timed(
        what,
        npz_bytes.len(),
        || npz::parse_features_npz(Path::new("x.npz"), &npz_bytes).unwrap(),
        |x| x.col.len(),
    );
}

/// Runs `parse` once and prints its rate: `items` of what it returned, `bytes` of input.
fn timed<T>(what: &str, bytes: usize, parse: impl FnOnce() -> T, items: impl Fn(&T) -> usize) -> T {
    let t = Instant::now();
    let out = parse();
    let (seconds, items) = (t.elapsed().as_secs_f64(), items(&out));
    println!(
        "{what:32} {items:>11} items  {:>8.1} MB  {seconds:>7.2} s  {:>7.2} M items/s  {:>6.0} MB/s",
        bytes as f64 / 1e6,
        items as f64 / seconds / 1e6,
        bytes as f64 / seconds / 1e6
    );
    out
}

/// A CSR matrix as `scipy.sparse.save_npz` writes it (deflated members, zip64 headers).
fn scipy_npz(rows: usize, cols: usize, indptr: &[i64], indices: &[i64], data: &[f32]) -> Vec<u8> {
    let mut format = b"\x93NUMPY\x01\x00".to_vec();
    let header = "{'descr': '|S3', 'fortran_order': False, 'shape': (), }          \n";
    format.extend((header.len() as u16).to_le_bytes());
    format.extend(header.as_bytes());
    format.extend(b"csr");
    let members = [
        ("format", format),
        (
            "shape",
            npy::encode(&[2, 1], &[rows as i64, cols as i64]).unwrap(),
        ),
        ("indptr", npy::encode(&[indptr.len(), 1], indptr).unwrap()),
        (
            "indices",
            npy::encode(&[indices.len(), 1], indices).unwrap(),
        ),
        ("data", npy::encode(&[data.len(), 1], data).unwrap()),
    ];
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), opts).unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}
