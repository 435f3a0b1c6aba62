//! The user-graph readers (edge list, feature CSV/.npy, labels) must return a graph or a
//! `DataError` for any input, never panic.
#![no_main]

use std::path::Path;

use argva::data::{npy, user};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz-input");
    // Split the input into an edge list and an optional labels part at the first NUL.
    let (edges, labels) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    let _ = user::assemble(p, edges, None, labels.map(|l| (p, l)));
    let _ = user::parse_features_csv(p, data, None);
    let _ = npy::parse(p, data);
});
