//! Typed GPU errors: every way the device can refuse our work, with the numbers that matter.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum GpuError {
    #[error("no GPU adapter found (backends tried: {backends}). {hint}")]
    NoAdapter { backends: String, hint: String },

    #[error("no GPU adapter matches {wanted}; available: {available}")]
    AdapterNotFound { wanted: String, available: String },

    #[error("could not open the GPU device on {adapter}: {source}")]
    RequestDevice {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },

    #[error("{what} needs {bytes} bytes, over this device's limit of {limit} bytes ({limit_name})")]
    BufferTooLarge {
        what: String,
        bytes: u64,
        limit: u64,
        limit_name: &'static str,
    },

    #[error(
        "this model on this graph needs {total_mib:.1} MiB of GPU buffers; `{buffer}` ({bytes} \
         bytes) {reason}. Use a smaller --latent / --hidden / --disc-hidden or a smaller graph"
    )]
    GraphTooLarge {
        total_mib: f64,
        buffer: &'static str,
        bytes: u64,
        reason: String,
    },

    #[error(
        "{what} needs {groups} workgroups, over this device's limit of {limit}×{limit} per dispatch"
    )]
    DispatchTooLarge {
        what: String,
        groups: u64,
        limit: u32,
    },

    /// The driver ends long shader loops early (see `gpu::loop_probe`): refused, not run wrong.
    #[error(
        "this device's driver ({driver}) ends a shader invocation's loops after {cap} iterations \
         in all, without an error (Mesa 22.3.6's llvmpipe does: measured when the device was \
         opened), and this run needs loops of up to {needed} iterations ({why}), so its results \
         would be silently wrong. Install a newer Mesa (25.0 is known good; on Debian 12: \
         `apt-get install -t bookworm-backports mesa-vulkan-drivers libgl1-mesa-dri`), use \
         another adapter, or train in mini-batches small enough to fit (--batch parts=P,per=Q: each \
         step's batch is Q of P clusters)"
    )]
    LoopCap {
        driver: String,
        cap: u32,
        needed: usize,
        why: String,
    },

    #[error("{what}: expected {expected} elements, got {got}")]
    SizeMismatch {
        what: String,
        expected: usize,
        got: usize,
    },

    #[error("reading {what} back from the GPU failed: {reason}")]
    Readback { what: String, reason: String },

    /// The device's own validation refused work (a shader, a pipeline, a binding).
    #[error("the GPU rejected {what}: {message}")]
    Validation { what: String, message: String },

    /// A host-side check refused arguments before anything reached the GPU.
    #[error("invalid {what}: {message}")]
    InvalidArgument { what: String, message: String },
}

pub type GpuResult<T> = Result<T, GpuError>;
