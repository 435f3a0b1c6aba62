//! `argva partition`: a graph cut into P shards, one per rank of a distributed run. Each
//! shard holds its nodes' global ids, their feature rows (and labels), the edges among them,
//! and its cut edges (one end its own, the other another rank's); `manifest.json` names the
//! graph (with a hash of its content), P, the seed, and each file's SHA-256, so a run can
//! refuse a shard that was edited or made for another P or graph.
//!
//! Pure bytes (the command line writes them; nothing here touches files). Deterministic: the
//! same graph, P and seed give the same bytes. The assignment is the mini-batch partitioner
//! (`data::partition`: linear deterministic greedy over a breadth-first order, refined by
//! label propagation) with P parts of at most ⌈N/P·1.05⌉ nodes.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::npy::encode;
use crate::data::partition::{Adjacency, Partition, partition};
use crate::data::{Csr, DataError, Graph};

/// The manifest's `format`: what a reader of these files expects.
pub const FORMAT: &str = "argva-partition 1";

/// `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub ranks: usize,
    pub seed: u64,
    pub graph: GraphEntry,
    /// Edges whose ends lie in different shards, and their share of all edges.
    pub cut_edges: usize,
    pub cut_fraction: f64,
    /// A random assignment's expected share, (P − 1)/P, for comparison.
    pub random_cut_fraction: f64,
    pub shards: Vec<ShardEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphEntry {
    pub name: String,
    pub nodes: usize,
    pub features: usize,
    pub edges: usize,
    pub classes: usize,
    /// SHA-256 of the graph's content ([`graph_hash`]).
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// The shard's folder, relative to the manifest.
    pub folder: String,
    pub nodes: usize,
    pub edges: usize,
    pub cut_edges: usize,
    /// Each file of the folder and its SHA-256.
    pub files: Vec<(String, String)>,
}

/// One rank's part of a graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    /// Global ids, ascending.
    pub nodes: Vec<u32>,
    /// `nodes.len() × F`, row i the features of `nodes[i]`.
    pub features: Csr,
    pub labels: Option<Vec<u32>>,
    /// Edges with both ends here (global ids, `[i, j]` with i < j, sorted).
    pub edges: Vec<[u32; 2]>,
    /// Edges with one end here: `[own, other]` (global ids, sorted).
    pub cut: Vec<[u32; 2]>,
}

/// The files of a partition: each shard's, then `manifest.json` (written last, a folder
/// with it is complete).
pub struct PartitionFiles {
    pub manifest: Manifest,
    /// `(path relative to the output folder, bytes)`, the manifest last.
    pub files: Vec<(String, Vec<u8>)>,
}

/// Cuts `graph` into `ranks` shards (seeded) and encodes them.
pub fn partition_graph(
    graph: &Graph,
    ranks: usize,
    seed: u64,
) -> Result<PartitionFiles, DataError> {
    let n = graph.num_nodes;
    let parts = partition(n, &Adjacency::new(n, &graph.edges), ranks, seed)?;
    let shards = shards(graph, &parts);
    let mut files = Vec::new();
    let mut entries = Vec::new();
    for (r, shard) in shards.iter().enumerate() {
        let folder = format!("shard-{r:05}");
        let encoded = shard.encode();
        let hashes = encoded
            .iter()
            .map(|(name, bytes)| (name.to_string(), sha256_hex(bytes)))
            .collect();
        entries.push(ShardEntry {
            folder: folder.clone(),
            nodes: shard.nodes.len(),
            edges: shard.edges.len(),
            cut_edges: shard.cut.len(),
            files: hashes,
        });
        files.extend(
            encoded
                .into_iter()
                .map(|(name, b)| (format!("{folder}/{name}"), b)),
        );
    }
    let cut_edges = parts.edge_cut(&graph.edges);
    let manifest = Manifest {
        format: FORMAT.into(),
        ranks,
        seed,
        graph: GraphEntry {
            name: graph.name.clone(),
            nodes: n,
            features: graph.features.cols,
            edges: graph.edges.len(),
            classes: graph.num_classes,
            sha256: graph_hash(graph),
        },
        cut_edges,
        cut_fraction: cut_edges as f64 / graph.edges.len().max(1) as f64,
        random_cut_fraction: (ranks - 1) as f64 / ranks as f64,
        shards: entries,
    };
    let json = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
    files.push(("manifest.json".into(), json.into_bytes()));
    Ok(PartitionFiles { manifest, files })
}

/// Each part's shard: its rows of the graph, its induced edges and its cut edges.
fn shards(graph: &Graph, parts: &Partition) -> Vec<Shard> {
    let mut out: Vec<Shard> = (0..parts.parts)
        .map(|p| {
            let nodes = parts.nodes(p).to_vec();
            Shard {
                features: graph.features.select_rows(&nodes),
                labels: graph
                    .labels
                    .as_ref()
                    .map(|l| nodes.iter().map(|&v| l[v as usize]).collect()),
                nodes,
                edges: Vec::new(),
                cut: Vec::new(),
            }
        })
        .collect();
    for &[i, j] in &graph.edges {
        let (pi, pj) = (parts.part_of[i as usize], parts.part_of[j as usize]);
        if pi == pj {
            out[pi as usize].edges.push([i, j]);
        } else {
            out[pi as usize].cut.push([i, j]);
            out[pj as usize].cut.push([j, i]);
        }
    }
    for s in &mut out {
        s.cut.sort_unstable();
    }
    out
}

fn wide(v: impl IntoIterator<Item = u32>) -> Vec<i64> {
    v.into_iter().map(i64::from).collect()
}

impl Shard {
    /// The shard's files: `.npy` arrays numpy loads as they are (ids int64, values float32).
    pub fn encode(&self) -> Vec<(&'static str, Vec<u8>)> {
        let npy = |shape: &[usize], v: &[i64]| encode(shape, v).expect("shape by construction");
        let pairs = |p: &[[u32; 2]]| npy(&[p.len(), 2], &wide(p.iter().flatten().copied()));
        let x = &self.features;
        let mut files = vec![
            (
                "nodes.npy",
                npy(&[self.nodes.len()], &wide(self.nodes.iter().copied())),
            ),
            (
                "features_indptr.npy",
                npy(&[x.row_ptr.len()], &wide(x.row_ptr.iter().copied())),
            ),
            (
                "features_indices.npy",
                npy(&[x.col.len()], &wide(x.col.iter().copied())),
            ),
            (
                "features_data.npy",
                encode(&[x.val.len()], &x.val).expect("1-D"),
            ),
            ("edges.npy", pairs(&self.edges)),
            ("cut.npy", pairs(&self.cut)),
        ];
        if let Some(l) = &self.labels {
            files.push(("labels.npy", npy(&[l.len()], &wide(l.iter().copied()))));
        }
        files
    }
}

/// SHA-256 of a graph's content (nodes, edges, features, labels), hex: what a shard's
/// manifest names, so a run can tell the graph it was cut from.
pub fn graph_hash(g: &Graph) -> String {
    let mut h = Sha256::new();
    let words = |h: &mut Sha256, v: &[u32]| h.update(bytemuck::cast_slice(v));
    h.update((g.num_nodes as u64).to_le_bytes());
    h.update((g.features.cols as u64).to_le_bytes());
    words(&mut h, bytemuck::cast_slice(&g.edges));
    words(&mut h, &g.features.row_ptr);
    words(&mut h, &g.features.col);
    h.update(bytemuck::cast_slice(&g.features.val));
    if let Some(l) = &g.labels {
        words(&mut h, l);
    }
    hex(&h.finalize())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
