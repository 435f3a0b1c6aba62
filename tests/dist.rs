//! The distributed run's pieces that need no GPU and no MPI: a graph's partition into shards
//! (`argva partition`'s bytes) and the in-process collective's ordered sums under threads.

use std::collections::BTreeSet;

use argva::data::{Graph, LoadOptions, npy};
use argva::dist::shard::{FORMAT, sha256_hex};
use argva::dist::{Collective, InProcess, ordered_sum, partition_graph};

fn load(spec: &str) -> Graph {
    argva::data::load(spec, &LoadOptions::default()).unwrap()
}

/// A shard's file as int64 rows (via the one `.npy` reader).
fn ids(files: &[(String, Vec<u8>)], path: &str) -> Vec<u32> {
    let (_, bytes) = files.iter().find(|(p, _)| p == path).expect(path);
    let a = npy::read(bytes).unwrap();
    a.data.iter().map(|&v| v as u32).collect()
}

fn pairs(files: &[(String, Vec<u8>)], path: &str) -> Vec<[u32; 2]> {
    ids(files, path).chunks(2).map(|p| [p[0], p[1]]).collect()
}

#[test]
fn shards_cover_the_graph_once_and_cut_few_edges() {
    for (spec, ranks) in [
        ("cora", 1),
        ("cora", 3),
        ("citeseer", 4),
        ("sbm:nodes=3000,classes=4,degree=8,features=16,seed=3", 4),
    ] {
        let g = load(spec);
        let parted = partition_graph(&g, ranks, 7).unwrap();
        let (m, files) = (&parted.manifest, &parted.files);
        assert_eq!((m.format.as_str(), m.ranks), (FORMAT, ranks));
        let mut seen = vec![false; g.num_nodes];
        let mut induced = BTreeSet::new();
        let mut cut = BTreeSet::new();
        for (r, shard) in m.shards.iter().enumerate() {
            let dir = &shard.folder;
            let nodes = ids(files, &format!("{dir}/nodes.npy"));
            assert!(
                nodes.windows(2).all(|w| w[0] < w[1]),
                "{spec} shard {r}: ascending ids"
            );
            for &v in &nodes {
                assert!(
                    !std::mem::replace(&mut seen[v as usize], true),
                    "node {v} twice"
                );
            }
            // Feature rows are the graph's rows, in the shard's order.
            let indptr = ids(files, &format!("{dir}/features_indptr.npy"));
            let cols = ids(files, &format!("{dir}/features_indices.npy"));
            for (i, &v) in nodes.iter().enumerate().step_by(97) {
                let f = &g.features;
                let want =
                    &f.col[f.row_ptr[v as usize] as usize..f.row_ptr[v as usize + 1] as usize];
                assert_eq!(&cols[indptr[i] as usize..indptr[i + 1] as usize], want);
            }
            let own: BTreeSet<u32> = nodes.iter().copied().collect();
            for [i, j] in pairs(files, &format!("{dir}/edges.npy")) {
                assert!(own.contains(&i) && own.contains(&j) && i < j);
                assert!(induced.insert([i, j]), "edge ({i}, {j}) in two shards");
            }
            for [a, b] in pairs(files, &format!("{dir}/cut.npy")) {
                assert!(
                    own.contains(&a) && !own.contains(&b),
                    "a cut edge starts here"
                );
                cut.insert([a.min(b), a.max(b)]);
            }
            for (name, sum) in &shard.files {
                let bytes = &files
                    .iter()
                    .find(|(p, _)| *p == format!("{dir}/{name}"))
                    .unwrap()
                    .1;
                assert_eq!(&sha256_hex(bytes), sum, "{dir}/{name}'s hash");
            }
        }
        assert!(seen.iter().all(|&s| s), "{spec}: every node in a shard");
        assert_eq!(
            induced.len() + cut.len(),
            g.edges.len(),
            "{spec}: every edge once"
        );
        assert!(induced.is_disjoint(&cut));
        assert_eq!(m.cut_edges, cut.len());
        // The cut is at most half a random assignment's ((P - 1) / P of the edges).
        assert!(
            m.cut_fraction <= 0.5 * m.random_cut_fraction,
            "{spec} into {ranks}: cut {:.3} vs random {:.3}",
            m.cut_fraction,
            m.random_cut_fraction
        );
        let largest = m.shards.iter().map(|s| s.nodes).max().unwrap();
        assert!(largest as f64 <= (g.num_nodes as f64 / ranks as f64 * 1.05).ceil());
        assert_eq!(
            files.last().unwrap().0,
            "manifest.json",
            "the manifest comes last"
        );
    }
}

#[test]
fn the_same_graph_ranks_and_seed_give_the_same_bytes() {
    let g = load("cora");
    let a = partition_graph(&g, 3, 1).unwrap().files;
    let b = partition_graph(&g, 3, 1).unwrap().files;
    assert!(a == b, "two partitions differ");
    let other = partition_graph(&g, 3, 2).unwrap().files;
    assert!(a != other, "another seed, another order");
    // The manifest names the graph by its content: one edge less is another graph.
    let mut h = g.clone();
    h.edges.pop();
    let (ma, mh) = (
        partition_graph(&g, 2, 1).unwrap(),
        partition_graph(&h, 2, 1).unwrap(),
    );
    assert_ne!(ma.manifest.graph.sha256, mh.manifest.graph.sha256);
}

#[test]
fn impossible_rank_counts_are_errors() {
    let g = load("sbm:nodes=50,classes=2,degree=4,features=4,seed=1");
    for ranks in [0, 51] {
        let e = partition_graph(&g, ranks, 0).err().expect("refused");
        assert!(e.to_string().contains("1..=50"), "{e}");
    }
}

/// Gradients of P "ranks" summed through the in-process collective: the same bytes on every
/// rank as one process adding the P vectors in rank order, for gradient-sized vectors.
#[test]
fn threads_sum_gradients_in_rank_order() {
    let p = 4;
    let grad = |r: usize| -> Vec<f32> {
        let mut rng = argva::testing::rng(r as u64);
        argva::testing::uniform_f32(&mut rng, 100_003, -1e3, 1e3)
    };
    let sums: Vec<Vec<f32>> = std::thread::scope(|s| {
        let hs: Vec<_> = InProcess::world(p)
            .into_iter()
            .map(|c| s.spawn(move || ordered_sum(&c, &grad(c.rank())).unwrap()))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut want = grad(0);
    for r in 1..p {
        for (w, x) in want.iter_mut().zip(grad(r)) {
            *w += x;
        }
    }
    for s in sums {
        assert!(bytemuck::cast_slice::<f32, u32>(&s) == bytemuck::cast_slice::<f32, u32>(&want));
    }
}
