//! The pickle reader and the typed views on top of it must never panic, hang or
//! over-allocate, whatever the bytes.
#![no_main]

use argva::data::pickle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = pickle::parse(data) {
        let _ = pickle::ndarray_from_value(&v);
        let _ = pickle::csr_from_value(&v);
        let _ = pickle::adjacency_from_value(&v);
    }
});
