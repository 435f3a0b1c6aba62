//! Link splits like PyG's `RandomLinkSplit(is_undirected=True, add_negative_train_samples=False)`
//! and negative sampling for training.

// Fx hashing: edge keys are trusted integers, and SipHash would dominate at 10M edges.
use rustc_hash::FxHashSet as HashSet;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{DataError, Graph};

/// One u64 per undirected pair: `min << 32 | max`; sorting keys sorts edges by (i, j).
pub fn edge_key(a: u32, b: u32) -> u64 {
    let (i, j) = if a < b { (a, b) } else { (b, a) };
    ((i as u64) << 32) | j as u64
}

pub fn key_edge(k: u64) -> [u32; 2] {
    [(k >> 32) as u32, k as u32]
}

/// Positive and negative edges of a link split; every pair is `[i, j]` with `i < j`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkSplit {
    pub train_pos: Vec<[u32; 2]>,
    pub val_pos: Vec<[u32; 2]>,
    pub val_neg: Vec<[u32; 2]>,
    pub test_pos: Vec<[u32; 2]>,
    pub test_neg: Vec<[u32; 2]>,
}

impl LinkSplit {
    /// The evaluated pairs by their file names: `test_pos`, `test_neg`, `val_pos`, `val_neg`.
    pub fn held_out(&self) -> [(&'static str, &[[u32; 2]]); 4] {
        [
            ("test_pos", &self.test_pos),
            ("test_neg", &self.test_neg),
            ("val_pos", &self.val_pos),
            ("val_neg", &self.val_neg),
        ]
    }
}

/// Split the graph's undirected edges: `floor(val·E)` validation, `floor(test·E)` test, the
/// rest training (PyG: `int(num_val * E)`), after a seeded shuffle. Validation and test get as
/// many negatives as positives, drawn from the true non-edges (never an edge of any split,
/// never a self-loop, never repeated, disjoint between val and test).
pub fn link_split(graph: &Graph, val: f64, test: f64, seed: u64) -> Result<LinkSplit, DataError> {
    let e = graph.edges.len();
    if !(0.0..1.0).contains(&val) || !(0.0..1.0).contains(&test) {
        return Err(DataError::Spec {
            spec: format!("val={val}, test={test}"),
            msg: "fractions must lie in [0, 1)".into(),
        });
    }
    if e == 0 {
        return Err(DataError::EmptyGraph {
            what: graph.name.clone(),
            reason: "no edges to split".into(),
        });
    }
    let n_val = (val * e as f64).floor() as usize;
    let n_test = (test * e as f64).floor() as usize;
    if n_val + n_test >= e {
        return Err(DataError::NoTrainingEdges {
            edges: e,
            val,
            test,
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut perm: Vec<[u32; 2]> = graph.edges.clone();
    shuffle(&mut perm, &mut rng);
    let val_pos = perm[..n_val].to_vec();
    let test_pos = perm[n_val..n_val + n_test].to_vec();
    let train_pos = perm[n_val + n_test..].to_vec();

    let all: HashSet<u64> = graph.edges.iter().map(|&[a, b]| edge_key(a, b)).collect();
    let mut negs = sample_non_edges(graph.num_nodes, &all, n_val + n_test, &mut rng)?;
    let test_neg = negs.split_off(n_val);
    Ok(LinkSplit {
        train_pos,
        val_pos,
        val_neg: negs,
        test_pos,
        test_neg,
    })
}

/// Fisher–Yates with u64 draws: identical streams on 32- and 64-bit targets (wasm).
pub(crate) fn shuffle<T>(v: &mut [T], rng: &mut ChaCha8Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i as u64) as usize;
        v.swap(i, j);
    }
}

/// Number of unordered pairs `i < j` in an `n`-node graph.
fn pairs(n: usize) -> u64 {
    let n = n as u64;
    n * n.saturating_sub(1) / 2
}

/// `count` distinct non-edges (`i < j`), uniformly at random.
fn sample_non_edges(
    n: usize,
    edges: &HashSet<u64>,
    count: usize,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<[u32; 2]>, DataError> {
    let available = pairs(n).saturating_sub(edges.len() as u64);
    if (count as u64) > available {
        return Err(DataError::TooDense {
            needed: count as u64,
            available,
        });
    }
    let mut out = Vec::with_capacity(count);
    if count == 0 {
        return Ok(out);
    }
    // Rejection sampling is fast while at least half the pairs are free; denser (hence
    // small) graphs enumerate their non-edges and shuffle instead.
    if available * 2 >= pairs(n) {
        let mut taken: HashSet<u64> = HashSet::with_capacity_and_hasher(count, Default::default());
        while out.len() < count {
            let a = rng.random_range(0..n as u32);
            let b = rng.random_range(0..n as u32);
            let k = edge_key(a, b);
            if a != b && !edges.contains(&k) && taken.insert(k) {
                out.push(key_edge(k));
            }
        }
    } else {
        let mut free: Vec<u64> = Vec::with_capacity(available as usize);
        for i in 0..n as u32 {
            for j in i + 1..n as u32 {
                let k = edge_key(i, j);
                if !edges.contains(&k) {
                    free.push(k);
                }
            }
        }
        for i in 0..count {
            let j = rng.random_range(i as u64..free.len() as u64) as usize;
            free.swap(i, j);
            out.push(key_edge(free[i]));
        }
    }
    Ok(out)
}

/// Draws negative (non-edge) pairs for training: never a training edge, never a self-loop.
/// Draws are independent (a pair may repeat within a call), like PyG's sparse sampler.
#[derive(Debug, Clone)]
pub struct NegativeSampler {
    n: u32,
    edges: HashSet<u64>,
    /// For graphs where more than half the pairs are edges: the explicit non-edge list.
    free: Option<Vec<u64>>,
}

impl NegativeSampler {
    pub fn new(n: usize, train_pos: &[[u32; 2]]) -> Result<NegativeSampler, DataError> {
        let edges: HashSet<u64> = train_pos
            .iter()
            .filter(|[a, b]| a != b)
            .map(|&[a, b]| edge_key(a, b))
            .collect();
        if let Some(&[a, b]) = train_pos
            .iter()
            .find(|[a, b]| *a as usize >= n || *b as usize >= n)
        {
            return Err(DataError::NodeOutOfRange {
                file: "<training edges>".into(),
                line: None,
                id: a.max(b) as i64,
                num_nodes: n,
            });
        }
        let available = pairs(n).saturating_sub(edges.len() as u64);
        if available == 0 {
            return Err(DataError::TooDense {
                needed: 1,
                available,
            });
        }
        let free = (available * 2 < pairs(n)).then(|| {
            let mut f = Vec::with_capacity(available as usize);
            for i in 0..n as u32 {
                for j in i + 1..n as u32 {
                    if !edges.contains(&edge_key(i, j)) {
                        f.push(edge_key(i, j));
                    }
                }
            }
            f
        });
        Ok(NegativeSampler {
            n: n as u32,
            edges,
            free,
        })
    }

    /// `count` pairs `[i, j]`, `i < j`, none a training edge.
    pub fn sample(&self, rng: &mut ChaCha8Rng, count: usize) -> Vec<[u32; 2]> {
        let mut out = Vec::with_capacity(count);
        if let Some(free) = &self.free {
            out.extend(
                (0..count).map(|_| key_edge(free[rng.random_range(0..free.len() as u64) as usize])),
            );
            return out;
        }
        while out.len() < count {
            let a = rng.random_range(0..self.n);
            let b = rng.random_range(0..self.n);
            if a != b && !self.edges.contains(&edge_key(a, b)) {
                out.push(key_edge(edge_key(a, b)));
            }
        }
        out
    }
}
