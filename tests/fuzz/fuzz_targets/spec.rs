//! The `sbm:` spec parser accepts or refuses any text, never panics; what it accepts is
//! within the limits the generator needs (32-bit ids).
#![no_main]

use argva::data::sbm::SbmSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(spec) = SbmSpec::parse(text)
    {
        assert!(spec.nodes >= 2 && spec.nodes < u32::MAX as usize);
        assert!(spec.classes >= 1 && spec.classes <= spec.nodes);
        assert!(spec.active <= spec.features);
    }
});
