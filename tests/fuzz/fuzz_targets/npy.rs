//! The `.npy` reader, as features and as an array read back, returns an array or an error for
//! any bytes, never panics or allocates what the header merely claims.
#![no_main]

use std::path::Path;

use argva::data::{npy, user};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = npy::parse(Path::new("fuzz.npy"), data);
    let _ = user::parse_features_npy(Path::new("fuzz.npy"), data);
    let _ = npy::read(data);
});
