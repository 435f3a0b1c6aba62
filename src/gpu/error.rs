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
