//! One module per WGSL kernel: host wrapper (binding contract) + CPU twin (test oracle).
