//! Integration tests of `argva::data` on the real Planetoid files (`$ARGVA_DATA`, default
//! `../shared/datasets` relative to the crate root). They fail, not skip, when it is absent.

use std::path::PathBuf;

use argva::data::{self, LoadOptions, Summary};

fn root() -> PathBuf {
    let root = std::env::var_os("ARGVA_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"));
    assert!(
        root.join("Cora/raw").is_dir(),
        "Planetoid data not found under {} (set ARGVA_DATA)",
        root.display()
    );
    root
}

fn opts() -> LoadOptions {
    LoadOptions {
        root: root(),
        ..Default::default()
    }
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
