//! Cora and CiteSeer compiled into the binary (`assets/datasets/planetoid/`, MIT-licensed
//! Planetoid files), so `argva train cora` works anywhere: no files, no network.
//! A test checks every embedded file against `assets/planetoid.sha256`.

use super::planetoid::Dataset;

macro_rules! planetoid_files {
    ($dir:literal, $prefix:literal) => {
        // The order of `planetoid::SUFFIXES`.
        [
            planetoid_files!(@one $dir, $prefix, "x"),
            planetoid_files!(@one $dir, $prefix, "tx"),
            planetoid_files!(@one $dir, $prefix, "allx"),
            planetoid_files!(@one $dir, $prefix, "y"),
            planetoid_files!(@one $dir, $prefix, "ty"),
            planetoid_files!(@one $dir, $prefix, "ally"),
            planetoid_files!(@one $dir, $prefix, "graph"),
            planetoid_files!(@one $dir, $prefix, "test.index"),
        ]
    };
    (@one $dir:literal, $prefix:literal, $suffix:literal) => {
        (
            concat!("ind.", $prefix, ".", $suffix),
            include_bytes!(concat!(
                "../../assets/datasets/planetoid/",
                $dir,
                "/raw/ind.",
                $prefix,
                ".",
                $suffix
            ))
            .as_slice(),
        )
    };
}

static CORA: [(&str, &[u8]); 8] = planetoid_files!("Cora", "cora");
static CITESEER: [(&str, &[u8]); 8] = planetoid_files!("CiteSeer", "citeseer");

/// The eight `(file name, bytes)` of a dataset shipped inside argva, in
/// [`super::planetoid::SUFFIXES`] order; `None` for PubMed (a download).
pub fn files(ds: Dataset) -> Option<&'static [(&'static str, &'static [u8]); 8]> {
    match ds {
        Dataset::Cora => Some(&CORA),
        Dataset::CiteSeer => Some(&CITESEER),
        Dataset::PubMed => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_follow_the_suffix_order() {
        for ds in [Dataset::Cora, Dataset::CiteSeer] {
            let names: Vec<_> = files(ds).unwrap().iter().map(|(n, _)| *n).collect();
            assert_eq!(names, ds.file_names());
        }
        assert!(files(Dataset::PubMed).is_none());
    }
}
