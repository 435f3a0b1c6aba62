//! A tampered checkpoint (header, sizes, metadata, tensor bytes) is refused with an error,
//! never a panic; one that loads writes itself back as it was read.
#![no_main]

use argva::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ck) = Checkpoint::from_bytes(data) {
        let again = ck.to_bytes().expect("a checkpoint that loads can be written");
        let back = Checkpoint::from_bytes(&again).expect("what argva writes, it reads");
        assert_eq!(back.epochs_done, ck.epochs_done);
    }
});
