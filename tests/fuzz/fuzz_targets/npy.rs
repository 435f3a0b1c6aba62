//! Both `.npy` readers (features in, arrays read back) return an array or an error for any
//! bytes, never panic or allocate what the header merely claims.
#![no_main]

use std::path::Path;

use argva::data::{npy, user};
use argva::export::npy_read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = npy::parse(Path::new("fuzz.npy"), data);
    let _ = user::parse_features_npy(Path::new("fuzz.npy"), data);
    let _ = npy_read(data);
});
