//! The feature and label CSV readers, with integer and named node ids.
#![no_main]

use std::path::Path;

use argva::data::user::{self, NodeIds};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = Path::new("fuzz.csv");
    let names = NodeIds::Named(vec!["a".into(), "b".into(), "7".into()]);
    let _ = user::parse_features_csv(p, data, None);
    let _ = user::parse_features_csv(p, data, Some(&["a".into(), "b".into()]));
    for (ids, n) in [(NodeIds::Integer, 5), (names, 3), (NodeIds::Integer, 0)] {
        if let Ok((labels, classes)) = user::parse_labels(p, data, &ids, n) {
            assert_eq!(labels.len(), n);
            assert!(labels.iter().all(|&l| (l as usize) < classes.max(1)));
        }
    }
});
