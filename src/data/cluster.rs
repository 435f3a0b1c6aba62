//! Cluster-GCN batches (`docs/minibatch.md`): the nodes are partitioned once
//! ([`super::partition`]); an epoch visits the parts in a seeded random order, `per_batch` at a
//! time, and each step trains on the subgraph those parts induce on the training edges — its
//! own GCN normalisation, its training edges as positives, negatives among its nodes.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::partition::{Adjacency, Partition, partition};
use super::split::shuffle;
use super::{Csr, DataError};

/// One step's subgraph, in local node numbers (local i is global `nodes[i]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub nodes: Vec<u32>,
    /// The batch's rows of X.
    pub features: Csr,
    /// `D^-½ (A_b + I) D^-½` of the induced training edges.
    pub a_hat: Csr,
    /// The induced training edges, `[i, j]` with `i < j`, sorted.
    pub positives: Vec<[u32; 2]>,
}

/// Upper bounds on any batch's sizes (the engine is allocated for them once:
/// `train::engine::Capacity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct BatchBounds {
    pub nodes: usize,
    pub feature_nnz: usize,
    pub adjacency_nnz: usize,
    pub positives: usize,
}

/// The partition of a graph's nodes and what each step's subgraph is cut from.
pub struct ClusterBatches<'g> {
    pub partition: Partition,
    /// The training edges, both directions.
    adj: Adjacency,
    features: &'g Csr,
    pub per_batch: usize,
    /// Global → local node number of the batch being built (`UNSET` elsewhere).
    local: Vec<u32>,
}

const UNSET: u32 = u32::MAX;

impl<'g> ClusterBatches<'g> {
    /// Partitions the `features.rows` nodes into `parts` over the training edges (seeded).
    pub fn new(
        features: &'g Csr,
        train_edges: &[[u32; 2]],
        parts: usize,
        per_batch: usize,
        seed: u64,
    ) -> Result<Self, DataError> {
        let n = features.rows;
        if per_batch == 0 || per_batch > parts {
            return Err(DataError::Spec {
                spec: format!("parts={parts}, per-batch={per_batch}"),
                msg: format!("parts per batch must lie in 1..={parts}"),
            });
        }
        let adj = Adjacency::new(n, train_edges);
        let partition = partition(n, &adj, parts, seed)?;
        Ok(ClusterBatches {
            partition,
            adj,
            features,
            per_batch,
            local: vec![UNSET; n],
        })
    }

    /// Feature columns of the graph the batches are cut from.
    pub fn features_cols(&self) -> usize {
        self.features.cols
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.partition.parts.div_ceil(self.per_batch)
    }

    /// Epoch `epoch`'s batches: the parts in a random order (stream `epoch` of `seed`), cut
    /// into groups of `per_batch` (the last may be smaller).
    pub fn epoch_groups(&self, seed: u64, epoch: u64) -> Vec<Vec<u32>> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(epoch);
        let mut order: Vec<u32> = (0..self.partition.parts as u32).collect();
        shuffle(&mut order, &mut rng);
        order.chunks(self.per_batch).map(<[u32]>::to_vec).collect()
    }

    /// Bounds every batch of `per_batch` parts meets: each size summed over the parts with
    /// the largest such size.
    pub fn bounds(&self) -> BatchBounds {
        let p = &self.partition;
        let (mut nodes, mut fnnz, mut degree) = (Vec::new(), Vec::new(), Vec::new());
        for q in 0..p.parts {
            let members = p.nodes(q);
            nodes.push(members.len());
            let row_nnz = |v: &u32| {
                let v = *v as usize;
                (self.features.row_ptr[v + 1] - self.features.row_ptr[v]) as usize
            };
            fnnz.push(members.iter().map(row_nnz).sum());
            degree.push(
                members
                    .iter()
                    .map(|&v| self.adj.neighbours(v as usize).len())
                    .sum(),
            );
        }
        let top = |mut v: Vec<usize>| -> usize {
            v.sort_unstable_by(|a, b| b.cmp(a));
            v.iter().take(self.per_batch).sum()
        };
        let (nodes, degree) = (top(nodes), top(degree));
        BatchBounds {
            nodes,
            feature_nnz: top(fnnz),
            adjacency_nnz: nodes + degree,
            positives: degree / 2,
        }
    }

    /// The subgraph the parts of `group` induce.
    pub fn batch(&mut self, group: &[u32]) -> Batch {
        let nodes: Vec<u32> = group
            .iter()
            .flat_map(|&q| self.partition.nodes(q as usize))
            .copied()
            .collect();
        for (i, &v) in nodes.iter().enumerate() {
            self.local[v as usize] = i as u32;
        }
        let mut positives = Vec::new();
        for (i, &v) in nodes.iter().enumerate() {
            for &w in self.adj.neighbours(v as usize) {
                let j = self.local[w as usize];
                if j != UNSET && j as usize > i {
                    positives.push([i as u32, j]);
                }
            }
        }
        for &v in &nodes {
            self.local[v as usize] = UNSET;
        }
        positives.sort_unstable();
        let a_hat = super::gcn_norm(nodes.len(), &positives);
        let features = self.features.select_rows(&nodes);
        Batch {
            nodes,
            features,
            a_hat,
            positives,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{LoadOptions, link_split, load};

    /// Every batch is the induced subgraph of its parts (checked against a direct filter of
    /// the training edges), meets the bounds, and an epoch visits every part once.
    #[test]
    fn batches_are_the_induced_subgraphs_and_meet_the_bounds() {
        let g = load("cora", &LoadOptions::default()).unwrap();
        let split = link_split(&g, 0.05, 0.1, 0).unwrap();
        let mut cb = ClusterBatches::new(&g.features, &split.train_pos, 10, 3, 1).unwrap();
        let bounds = cb.bounds();
        let groups = cb.epoch_groups(5, 0);
        assert_eq!(groups.len(), cb.steps_per_epoch());
        let mut seen: Vec<u32> = groups.concat();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
        assert_ne!(
            groups,
            cb.epoch_groups(5, 1),
            "each epoch reorders the parts"
        );
        for group in &groups {
            let b = cb.batch(group);
            let pos: std::collections::HashMap<u32, u32> = b
                .nodes
                .iter()
                .enumerate()
                .map(|(i, &v)| (v, i as u32))
                .collect();
            let mut want: Vec<[u32; 2]> = split
                .train_pos
                .iter()
                .filter_map(|[a, c]| Some((*pos.get(a)?, *pos.get(c)?)))
                .map(|(i, j)| [i.min(j), i.max(j)])
                .collect();
            want.sort_unstable();
            assert_eq!(b.positives, want);
            assert_eq!(b.a_hat, crate::data::gcn_norm(b.nodes.len(), &want));
            for (i, &v) in b.nodes.iter().enumerate() {
                assert_eq!(b.features.row(i), g.features.row(v as usize));
            }
            assert!(b.nodes.len() <= bounds.nodes);
            assert!(b.features.nnz() <= bounds.feature_nnz);
            assert!(b.a_hat.nnz() <= bounds.adjacency_nnz);
            assert!(b.positives.len() <= bounds.positives);
        }
    }

    #[test]
    fn a_bad_batch_size_is_refused() {
        let g = load("sbm:nodes=100,seed=2", &LoadOptions::default()).unwrap();
        for (parts, per) in [(10, 0), (10, 11), (0, 1), (101, 1)] {
            let e = ClusterBatches::new(&g.features, &g.edges, parts, per, 0)
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("must lie in"), "{parts}/{per}: {e}");
        }
    }
}
