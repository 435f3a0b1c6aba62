//! Node partitions for mini-batch training (Cluster-GCN, `docs/minibatch.md`): nodes are cut
//! once into `parts` clusters of near-equal size with few edges between them, so that a batch
//! of a few clusters keeps most of its nodes' edges.
//!
//! The partitioner is a streaming one (linear deterministic greedy, Stanton & Kliot, KDD 2012)
//! over a breadth-first order, followed by label-propagation refinement under the same size
//! cap: O(E) time, O(N + E) memory, no C dependency (it runs in the browser build too), and
//! deterministic per seed. `partition_tests` set its edge cut beside a random partition's.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::DataError;
use super::split::shuffle;

/// Each node's part, and each part's nodes (ascending) in CSR form.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    pub parts: usize,
    pub part_of: Vec<u32>,
    /// `members[part_ptr[p]..part_ptr[p + 1]]` are part p's nodes, ascending.
    pub part_ptr: Vec<usize>,
    pub members: Vec<u32>,
}

impl Partition {
    fn from_assignment(parts: usize, part_of: Vec<u32>) -> Partition {
        let mut part_ptr = vec![0usize; parts + 1];
        for &p in &part_of {
            part_ptr[p as usize + 1] += 1;
        }
        for p in 0..parts {
            part_ptr[p + 1] += part_ptr[p];
        }
        let mut fill = part_ptr.clone();
        let mut members = vec![0u32; part_of.len()];
        for (v, &p) in part_of.iter().enumerate() {
            members[fill[p as usize]] = v as u32;
            fill[p as usize] += 1;
        }
        Partition {
            parts,
            part_of,
            part_ptr,
            members,
        }
    }

    /// Part p's nodes, ascending.
    pub fn nodes(&self, p: usize) -> &[u32] {
        &self.members[self.part_ptr[p]..self.part_ptr[p + 1]]
    }

    /// Nodes in the largest part.
    pub fn largest(&self) -> usize {
        (0..self.parts)
            .map(|p| self.part_ptr[p + 1] - self.part_ptr[p])
            .max()
            .unwrap_or(0)
    }

    /// Undirected edges whose endpoints lie in different parts.
    pub fn edge_cut(&self, edges: &[[u32; 2]]) -> usize {
        edges
            .iter()
            .filter(|[a, b]| self.part_of[*a as usize] != self.part_of[*b as usize])
            .count()
    }
}

/// Symmetric adjacency (both directions of every edge) in CSR form.
pub struct Adjacency {
    pub ptr: Vec<usize>,
    pub col: Vec<u32>,
}

impl Adjacency {
    /// `edges` name nodes below `n` (as a [`super::Graph`]'s always do).
    pub fn new(n: usize, edges: &[[u32; 2]]) -> Adjacency {
        let mut ptr = vec![0usize; n + 1];
        for &[a, b] in edges {
            ptr[a as usize + 1] += 1;
            ptr[b as usize + 1] += 1;
        }
        for v in 0..n {
            ptr[v + 1] += ptr[v];
        }
        let mut fill = ptr.clone();
        let mut col = vec![0u32; ptr[n]];
        for &[a, b] in edges {
            col[fill[a as usize]] = b;
            fill[a as usize] += 1;
            col[fill[b as usize]] = a;
            fill[b as usize] += 1;
        }
        Adjacency { ptr, col }
    }

    pub fn neighbours(&self, v: usize) -> &[u32] {
        &self.col[self.ptr[v]..self.ptr[v + 1]]
    }
}

/// How far a part may grow past `n / parts` (the size cap is `ceil(n / parts · (1 + SLACK))`).
pub const SLACK: f64 = 0.05;
/// Label-propagation passes after the greedy assignment.
const REFINE_PASSES: usize = 4;

fn check(n: usize, parts: usize) -> Result<(), DataError> {
    if parts == 0 || parts > n {
        return Err(DataError::Spec {
            spec: format!("parts={parts}"),
            msg: format!("the number of parts must lie in 1..={n} (the graph's nodes)"),
        });
    }
    if parts > u32::MAX as usize {
        return Err(DataError::Spec {
            spec: format!("parts={parts}"),
            msg: "too many parts".into(),
        });
    }
    Ok(())
}

/// Cut `n` nodes into `parts` parts of at most `ceil(n / parts · 1.05)` nodes, few edges cut.
pub fn partition(
    n: usize,
    adj: &Adjacency,
    parts: usize,
    seed: u64,
) -> Result<Partition, DataError> {
    check(n, parts)?;
    let cap = ((n as f64 / parts as f64) * (1.0 + SLACK)).ceil() as usize;
    let mut part_of = greedy(n, adj, parts, cap, seed);
    refine(adj, parts, cap, &mut part_of);
    Ok(Partition::from_assignment(parts, part_of))
}

/// Breadth-first order from seeded random roots: neighbours arrive close together, which is
/// what lets a streaming partitioner see them.
fn bfs_order(n: usize, adj: &Adjacency, seed: u64) -> Vec<u32> {
    let mut roots: Vec<u32> = (0..n as u32).collect();
    shuffle(&mut roots, &mut ChaCha8Rng::seed_from_u64(seed));
    let mut seen = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for r in roots {
        if seen[r as usize] {
            continue;
        }
        seen[r as usize] = true;
        let mut head = order.len();
        order.push(r);
        while head < order.len() {
            let v = order[head] as usize;
            head += 1;
            for &u in adj.neighbours(v) {
                if !seen[u as usize] {
                    seen[u as usize] = true;
                    order.push(u);
                }
            }
        }
    }
    order
}

const UNSET: u32 = u32::MAX;

/// Linear deterministic greedy: each node joins the part holding most of its already placed
/// neighbours, weighted by the part's free room (`1 − size/cap`); a node with none placed
/// joins the smallest part. Ties go to the smaller part, then the lower index.
fn greedy(n: usize, adj: &Adjacency, parts: usize, cap: usize, seed: u64) -> Vec<u32> {
    let mut part_of = vec![UNSET; n];
    let mut sizes = PartSizes::new(parts, seed);
    let mut count = vec![0u32; parts];
    let mut touched: Vec<u32> = Vec::new();
    for v in bfs_order(n, adj, seed) {
        for &u in adj.neighbours(v as usize) {
            let p = part_of[u as usize];
            if p != UNSET {
                if count[p as usize] == 0 {
                    touched.push(p);
                }
                count[p as usize] += 1;
            }
        }
        let size = &sizes.size;
        let mut best: Option<(f64, usize)> = None;
        for &p in &touched {
            let p = p as usize;
            if size[p] >= cap {
                continue;
            }
            let score = count[p] as f64 * (1.0 - size[p] as f64 / cap as f64);
            let better = match best {
                None => true,
                Some((s, b)) => score > s || (score == s && (size[p], p) < (size[b], b)),
            };
            if better {
                best = Some((score, p));
            }
        }
        let p = best.map_or_else(|| sizes.smallest(), |(_, p)| p);
        part_of[v as usize] = p as u32;
        sizes.grow(p);
        for &q in &touched {
            count[q as usize] = 0;
        }
        touched.clear();
    }
    part_of
}

/// Part sizes with the smallest part (by size, then the first in cyclic order from a seeded
/// start that moves past each pick, so that empty parts fill in turn) in O(log parts): a min
/// segment tree, since a graph cut into clusters of a few dozen nodes has ~N/50 parts and a
/// linear scan per query would make the greedy pass O(N · parts).
struct PartSizes {
    size: Vec<usize>,
    /// `tree[1]` is the root; leaves start at `leaves` (padding leaves hold `usize::MAX`).
    tree: Vec<usize>,
    leaves: usize,
    start: usize,
}

impl PartSizes {
    fn new(parts: usize, seed: u64) -> Self {
        let leaves = parts.next_power_of_two();
        let mut tree = vec![usize::MAX; 2 * leaves];
        tree[leaves..leaves + parts].fill(0);
        for i in (1..leaves).rev() {
            tree[i] = tree[2 * i].min(tree[2 * i + 1]);
        }
        PartSizes {
            size: vec![0; parts],
            tree,
            leaves,
            start: ChaCha8Rng::seed_from_u64(seed ^ 0x5eed).random_range(0..parts as u64) as usize,
        }
    }

    fn grow(&mut self, p: usize) {
        self.size[p] += 1;
        let mut i = self.leaves + p;
        self.tree[i] = self.size[p];
        while i > 1 {
            i /= 2;
            self.tree[i] = self.tree[2 * i].min(self.tree[2 * i + 1]);
        }
    }

    /// The smallest part: the first at the minimum size from `start` on, else from 0.
    fn smallest(&mut self) -> usize {
        let min = self.tree[1];
        let best = self
            .first_at_most(min, self.start)
            .or_else(|| self.first_at_most(min, 0))
            .expect("at least one part");
        self.start = (best + 1) % self.size.len();
        best
    }

    /// The lowest part index `≥ from` whose size is `≤ bound`.
    fn first_at_most(&self, bound: usize, from: usize) -> Option<usize> {
        self.descend(1, 0, self.leaves, bound, from)
    }

    fn descend(&self, i: usize, lo: usize, hi: usize, bound: usize, from: usize) -> Option<usize> {
        if hi <= from || self.tree[i] > bound {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = (lo + hi) / 2;
        self.descend(2 * i, lo, mid, bound, from)
            .or_else(|| self.descend(2 * i + 1, mid, hi, bound, from))
    }
}

/// Moves each node to the part most of its neighbours are in when that strictly lowers the
/// cut, the target has room and the source keeps at least `n / parts · (1 − SLACK)` nodes.
fn refine(adj: &Adjacency, parts: usize, cap: usize, part_of: &mut [u32]) {
    let n = part_of.len();
    let floor = ((n as f64 / parts as f64) * (1.0 - SLACK)).floor() as usize;
    let mut size = vec![0usize; parts];
    for &p in part_of.iter() {
        size[p as usize] += 1;
    }
    let mut count = vec![0u32; parts];
    let mut touched: Vec<u32> = Vec::new();
    for _ in 0..REFINE_PASSES {
        let mut moved = 0usize;
        for v in 0..n {
            let here = part_of[v] as usize;
            for &u in adj.neighbours(v) {
                let p = part_of[u as usize];
                if count[p as usize] == 0 {
                    touched.push(p);
                }
                count[p as usize] += 1;
            }
            let stay = count[here];
            let target = touched
                .iter()
                .map(|&p| p as usize)
                .filter(|&p| p != here && size[p] < cap && count[p] > stay)
                .max_by_key(|&p| (count[p], std::cmp::Reverse(p)));
            if let Some(p) = target
                && size[here] > floor
            {
                part_of[v] = p as u32;
                size[here] -= 1;
                size[p] += 1;
                moved += 1;
            }
            for &q in &touched {
                count[q as usize] = 0;
            }
            touched.clear();
        }
        if moved == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod partition_tests {
    use super::*;
    use crate::data::{LoadOptions, load};

    /// A uniformly random balanced partition (the baseline the edge cut is compared with).
    fn random_partition(n: usize, parts: usize, seed: u64) -> Result<Partition, DataError> {
        check(n, parts)?;
        let mut order: Vec<u32> = (0..n as u32).collect();
        shuffle(&mut order, &mut ChaCha8Rng::seed_from_u64(seed));
        let mut part_of = vec![0u32; n];
        for (k, &v) in order.iter().enumerate() {
            part_of[v as usize] = (k % parts) as u32;
        }
        Ok(Partition::from_assignment(parts, part_of))
    }

    fn parts_are_balanced_and_complete(p: &Partition, n: usize) {
        assert_eq!(p.part_of.len(), n);
        assert_eq!(p.members.len(), n);
        let cap = ((n as f64 / p.parts as f64) * (1.0 + SLACK)).ceil() as usize;
        assert!(p.largest() <= cap, "largest {} > cap {cap}", p.largest());
        for q in 0..p.parts {
            assert!(p.nodes(q).windows(2).all(|w| w[0] < w[1]));
            assert!(
                p.nodes(q)
                    .iter()
                    .all(|&v| p.part_of[v as usize] as usize == q)
            );
        }
    }

    /// The edge cut on Cora and on an SBM, beside a random partition's: printed for
    /// `docs/minibatch.md`, and bounded so a regression shows.
    #[test]
    fn the_partitioner_cuts_far_fewer_edges_than_a_random_partition() {
        let cora = load("cora", &LoadOptions::default()).unwrap();
        let sbm = load(
            "sbm:nodes=20000,classes=16,degree=20,features=16,seed=1",
            &LoadOptions::default(),
        )
        .unwrap();
        // (graph, parts, the most the partitioner may cut, as a fraction of random's cut)
        for (g, parts, bound) in [(&cora, 16, 0.35), (&cora, 64, 0.45), (&sbm, 64, 0.85)] {
            let n = g.num_nodes;
            let adj = Adjacency::new(n, &g.edges);
            let ours = partition(n, &adj, parts, 7).unwrap();
            let random = random_partition(n, parts, 7).unwrap();
            parts_are_balanced_and_complete(&ours, n);
            parts_are_balanced_and_complete(&random, n);
            let (c, r) = (ours.edge_cut(&g.edges), random.edge_cut(&g.edges));
            let e = g.edges.len() as f64;
            println!(
                "{} parts={parts}: cut {:.3} of edges (random {:.3}), ratio {:.3}",
                g.name,
                c as f64 / e,
                r as f64 / e,
                c as f64 / r as f64
            );
            assert!(
                (c as f64) < bound * r as f64,
                "{}: {c} vs random {r}",
                g.name
            );
        }
    }

    /// The tree's pick equals the linear scan it replaced (smallest size, first in cyclic
    /// order from the moving start), over part counts that are and are not powers of two.
    #[test]
    fn the_smallest_part_is_the_linear_scans_pick() {
        for parts in [1, 2, 3, 7, 8, 100, 257] {
            let mut rng = ChaCha8Rng::seed_from_u64(parts as u64);
            let mut sizes = PartSizes::new(parts, 9);
            let mut start = sizes.start;
            for _ in 0..20 * parts {
                if rng.random_bool(0.5) {
                    let want = (0..parts)
                        .map(|k| (start + k) % parts)
                        .min_by_key(|&p| sizes.size[p])
                        .unwrap();
                    start = (want + 1) % parts;
                    assert_eq!(sizes.smallest(), want, "parts={parts}");
                    sizes.grow(want);
                } else {
                    sizes.grow(rng.random_range(0..parts as u64) as usize);
                }
            }
        }
    }

    #[test]
    fn a_partition_is_a_function_of_the_seed() {
        let g = load(
            "sbm:nodes=3000,classes=4,degree=8,seed=3",
            &LoadOptions::default(),
        )
        .unwrap();
        let adj = Adjacency::new(g.num_nodes, &g.edges);
        let a = partition(g.num_nodes, &adj, 10, 1).unwrap();
        assert_eq!(a, partition(g.num_nodes, &adj, 10, 1).unwrap());
        assert_ne!(
            a.part_of,
            partition(g.num_nodes, &adj, 10, 2).unwrap().part_of
        );
    }

    #[test]
    fn awkward_inputs_give_parts_or_a_clear_error() {
        // No edges at all: every node is its own root; parts stay balanced.
        let adj = Adjacency::new(10, &[]);
        parts_are_balanced_and_complete(&partition(10, &adj, 3, 0).unwrap(), 10);
        // As many parts as nodes.
        let adj = Adjacency::new(4, &[[0, 1], [1, 2], [2, 3]]);
        parts_are_balanced_and_complete(&partition(4, &adj, 4, 0).unwrap(), 4);
        for bad in [0, 5] {
            let e = partition(4, &adj, bad, 0).unwrap_err().to_string();
            assert!(e.contains("number of parts must lie in 1..=4"), "{e}");
        }
    }
}
