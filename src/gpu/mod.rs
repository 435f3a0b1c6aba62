//! GPU context, buffers and the kernel binding contract.
