//! In-memory graphs as the Python module hands them over: the bytes are read as int64 edges,
//! then optional CSR features and labels; any arrays give a graph or an error.
#![no_main]

use argva::data::arrays::{FeatureArray, GraphArrays, from_arrays};
use libfuzzer_sys::fuzz_target;

fn i64s(b: &[u8]) -> Vec<i64> {
    b.chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()) % 64)
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let third = rest.len() / 3;
    let (edges, rest) = rest.split_at(third);
    let (indptr, indices) = rest.split_at(rest.len() / 2);
    let (edges, indptr, indices) = (i64s(edges), i64s(indptr), i64s(indices));
    let rows = (shape & 15) as usize;
    let cols = (shape >> 4) as usize;
    let values: Vec<f32> = indices.iter().map(|&i| i as f32 / 3.0).collect();
    let features = (shape & 1 == 0).then_some(FeatureArray::Csr {
        rows,
        cols,
        indptr: &indptr,
        indices: &indices,
        data: &values,
    });
    let labels = (shape & 2 == 0).then_some(indptr.as_slice());
    let g = GraphArrays {
        name: "fuzz",
        edges: &edges,
        num_nodes: (shape & 4 == 0).then_some(rows),
        features,
        labels,
    };
    if let Ok(graph) = from_arrays(&g) {
        assert!(graph.edges.iter().all(|&[a, b]| a < b && (b as usize) < graph.num_nodes));
        assert_eq!(graph.features.rows, graph.num_nodes);
    }
});
