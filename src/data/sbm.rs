//! Seeded stochastic block models with class-correlated sparse binary features, generated in
//! O(E) by sampling edges directly (no N² pass): `sbm:nodes=N,classes=K,degree=D,features=F,seed=S`.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::split::{edge_key, key_edge};
use super::{Csr, DataError, Graph, Origin};

/// Parameters of a synthetic graph. Nodes are split into `classes` contiguous, equal blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct SbmSpec {
    pub nodes: usize,
    pub classes: usize,
    /// Expected mean degree; the graph gets exactly `round(nodes·degree/2)` undirected edges.
    pub degree: f64,
    pub features: usize,
    pub seed: u64,
    /// Probability that an edge stays inside its first endpoint's block (otherwise the
    /// other endpoint is uniform over all nodes).
    pub within: f64,
    /// Active (1.0) features per node; each comes from the node's class block of features
    /// with probability `within`, else uniformly.
    pub active: usize,
}

impl SbmSpec {
    /// Parse `key=value` pairs separated by commas (after `sbm:`). `nodes` is required;
    /// defaults: classes=4, degree=10, features=64, seed=0, within=0.8, active=min(features,10).
    pub fn parse(s: &str) -> Result<SbmSpec, String> {
        let mut spec = SbmSpec {
            nodes: 0,
            classes: 4,
            degree: 10.0,
            features: 64,
            seed: 0,
            within: 0.8,
            active: usize::MAX,
        };
        let mut have_nodes = false;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not key=value"))?;
            let int = |v: &str| {
                v.trim()
                    .replace('_', "")
                    .parse::<u64>()
                    .map_err(|_| format!("`{k}` needs a non-negative integer, got `{v}`"))
            };
            let float = |v: &str| {
                v.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or_else(|| format!("`{k}` needs a non-negative number, got `{v}`"))
            };
            match k.trim() {
                "nodes" => {
                    spec.nodes = int(v)? as usize;
                    have_nodes = true;
                }
                "classes" => spec.classes = int(v)? as usize,
                "degree" => spec.degree = float(v)?,
                "features" => spec.features = int(v)? as usize,
                "seed" => spec.seed = int(v)?,
                "within" => spec.within = float(v)?,
                "active" => spec.active = int(v)? as usize,
                other => {
                    return Err(format!(
                        "unknown key `{other}` (known: nodes, classes, degree, features, seed, within, active)"
                    ));
                }
            }
        }
        if !have_nodes || spec.nodes < 2 {
            return Err("`nodes` (at least 2) is required".into());
        }
        if spec.nodes > u32::MAX as usize {
            return Err("at most 2^32-1 nodes".into());
        }
        if spec.classes == 0 || spec.classes > spec.nodes {
            return Err(format!("`classes` must be in 1..={}", spec.nodes));
        }
        if spec.within > 1.0 {
            return Err("`within` is a probability".into());
        }
        if spec.active == usize::MAX {
            spec.active = 10;
        }
        spec.active = spec.active.min(spec.features);
        spec.check_index_range()?;
        Ok(spec)
    }
}

impl SbmSpec {
    /// Refuses graphs whose arrays 32-bit indices cannot address (before generating any):
    /// the GCN operator's 2E + N entries, the N × active feature entries, F columns.
    fn check_index_range(&self) -> Result<(), String> {
        let limit = u32::MAX as f64;
        let operator = self.nodes as f64 * (self.degree + 1.0);
        if operator > limit {
            return Err(format!(
                "{} nodes of degree {} make a GCN operator of {operator:.3e} entries; argva's \
                 32-bit indices address at most {limit:.3e}",
                self.nodes, self.degree
            ));
        }
        if self.features as f64 > limit || (self.nodes * self.active) as f64 > limit {
            return Err(format!(
                "{} features ({} active per node) is past argva's 32-bit indices",
                self.features, self.active
            ));
        }
        Ok(())
    }
}

/// First node of block `c` of `k` over `n` (blocks are `[start(c), start(c+1))`).
fn block_start(c: usize, k: usize, n: usize) -> usize {
    ((c as u128 * n as u128).div_ceil(k as u128)) as usize
}

/// Generate the graph described by `spec`.
pub fn generate(spec: &SbmSpec) -> Result<Graph, DataError> {
    let (n, k) = (spec.nodes, spec.classes);
    let err = |msg: String| DataError::Spec {
        spec: format!("{spec:?}"),
        msg,
    };
    let target = (n as f64 * spec.degree / 2.0).round() as u64;
    let max_pairs = n as u64 * (n as u64 - 1) / 2;
    // Rejection of duplicates stays cheap while at most half the pairs are taken.
    if target * 2 > max_pairs {
        return Err(err(format!(
            "degree {} is too dense for {n} nodes (at most {} edges)",
            spec.degree,
            max_pairs / 2
        )));
    }
    let within_pairs: u64 = (0..k)
        .map(|c| (block_start(c + 1, k, n) - block_start(c, k, n)) as u64)
        .map(|s| s * s.saturating_sub(1) / 2)
        .sum();
    if spec.within > 0.0 && target as f64 * spec.within * 2.0 > within_pairs as f64 {
        return Err(err(format!(
            "degree {} with within={} is too dense inside the {k} blocks",
            spec.degree, spec.within
        )));
    }
    if target == 0 {
        return Err(DataError::EmptyGraph {
            what: "sbm".into(),
            reason: "degree gives no edges".into(),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let class_of = |i: usize| ((i as u128 * k as u128) / n as u128) as usize;
    let mut keys: Vec<u64> = Vec::with_capacity(target as usize);
    while (keys.len() as u64) < target {
        let deficit = target - keys.len() as u64;
        for _ in 0..deficit {
            let key = loop {
                let u = rng.random_range(0..n as u32) as usize;
                let v = if rng.random_bool(spec.within) {
                    let c = class_of(u);
                    rng.random_range(block_start(c, k, n) as u32..block_start(c + 1, k, n) as u32)
                        as usize
                } else {
                    rng.random_range(0..n as u32) as usize
                };
                if u != v {
                    break edge_key(u as u32, v as u32);
                }
            };
            keys.push(key);
        }
        keys.sort_unstable();
        keys.dedup();
    }
    let edges: Vec<[u32; 2]> = keys.into_iter().map(key_edge).collect();

    let f = spec.features;
    if (n as u64) * (spec.active as u64) > u32::MAX as u64 || f > u32::MAX as usize {
        return Err(err("features too large for u32 CSR indices".into()));
    }
    let fb = f / k; // features per class block (0 when there are fewer features than classes)
    let mut row_ptr = Vec::with_capacity(n + 1);
    row_ptr.push(0u32);
    let mut col: Vec<u32> = Vec::with_capacity(n * spec.active);
    let mut row: Vec<u32> = Vec::with_capacity(spec.active);
    for i in 0..n {
        let c = class_of(i);
        row.clear();
        for _ in 0..spec.active {
            let j = if fb > 0 && rng.random_bool(spec.within) {
                c * fb + rng.random_range(0..fb as u32) as usize
            } else {
                rng.random_range(0..f as u32) as usize
            };
            row.push(j as u32);
        }
        row.sort_unstable();
        row.dedup();
        col.extend_from_slice(&row);
        row_ptr.push(col.len() as u32);
    }
    let val = vec![1.0f32; col.len()];
    Ok(Graph {
        name: format!(
            "sbm(nodes={n},classes={k},degree={},features={f},seed={})",
            spec.degree, spec.seed
        ),
        num_nodes: n,
        features: Csr {
            row_ptr,
            col,
            val,
            rows: n,
            cols: f,
        },
        labels: Some((0..n).map(|i| class_of(i) as u32).collect()),
        num_classes: k,
        edges,
        node_ids: None,
        source: Origin::Generated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_defaults_and_errors() {
        let s = SbmSpec::parse("nodes=100,seed=3").unwrap();
        assert_eq!(
            (s.nodes, s.classes, s.features, s.active, s.seed),
            (100, 4, 64, 10, 3)
        );
        assert_eq!(SbmSpec::parse("nodes=100,features=5").unwrap().active, 5);
        assert_eq!(SbmSpec::parse("nodes=100,active=20").unwrap().active, 20);
        assert!(SbmSpec::parse("classes=3").is_err());
        assert!(SbmSpec::parse("nodes=10,colour=red").is_err());
        assert!(SbmSpec::parse("nodes=10,degree=x").is_err());
        assert!(SbmSpec::parse("nodes=10,classes=11").is_err());
        // Past 32-bit indices: refused by the spec, before any generation.
        let e = SbmSpec::parse("nodes=100000000,degree=50").unwrap_err();
        assert!(e.contains("GCN operator of 5.100e9 entries"), "{e}");
        let e = SbmSpec::parse("nodes=100,features=10000000000").unwrap_err();
        assert!(e.contains("past argva's 32-bit indices"), "{e}");
        assert!(SbmSpec::parse("nodes=10000000,degree=20,features=128").is_ok());
    }

    #[test]
    fn generates_exact_edge_count_with_homophily() {
        let s = SbmSpec::parse("nodes=2000,classes=5,degree=12,features=50,seed=9").unwrap();
        let g = generate(&s).unwrap();
        assert_eq!(g.edges.len(), 12_000);
        assert!(g.edges.windows(2).all(|w| w[0] < w[1]));
        assert!(g.edges.iter().all(|[a, b]| a < b && (*b as usize) < 2000));
        let labels = g.labels.as_ref().unwrap();
        let counts = (0..5)
            .map(|c| labels.iter().filter(|&&l| l == c).count())
            .collect::<Vec<_>>();
        assert_eq!(counts, vec![400; 5]);
        // Expected within-class fraction: 0.8 + 0.2 · 1/5 = 0.84 (minus a little for dedup).
        let within = g
            .edges
            .iter()
            .filter(|[a, b]| labels[*a as usize] == labels[*b as usize])
            .count() as f64
            / 12_000.0;
        assert!(
            (within - 0.84).abs() < 0.02,
            "within-class fraction {within}"
        );
        // Features: ≤ 10 ones per row, mostly from the class block of 10 features.
        let mut own = 0usize;
        for (i, &label) in labels.iter().enumerate() {
            let (c, v) = g.features.row(i);
            assert!(!c.is_empty() && c.len() <= 10 && v.iter().all(|&x| x == 1.0));
            own += c
                .iter()
                .filter(|&&j| j as usize / 10 == label as usize)
                .count();
        }
        assert!(own as f64 / g.features.nnz() as f64 > 0.75);
        // Seeded: same spec, same graph; another seed, another graph.
        assert_eq!(generate(&s).unwrap(), g);
        let mut s2 = s.clone();
        s2.seed = 10;
        assert_ne!(generate(&s2).unwrap().edges, g.edges);
    }

    #[test]
    fn too_dense_is_refused() {
        let s = SbmSpec::parse("nodes=10,degree=8").unwrap();
        assert!(matches!(generate(&s), Err(DataError::Spec { .. })));
    }
}
