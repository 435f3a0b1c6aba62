//! GPU context, typed buffers and the kernel binding contract.

pub mod buffer;
pub mod context;
pub mod error;
pub mod host;
pub mod kernel;
pub mod loop_probe;
pub mod timing;
pub mod window;

pub use buffer::GpuBuffer;
#[cfg(not(target_arch = "wasm32"))]
pub use context::list_adapters;
pub use context::{AdapterChoice, AdapterEntry, AdapterSummary, GpuContext};
pub use error::{GpuError, GpuResult};
pub use host::{Stopwatch, now_seconds, yield_to_host};
pub use kernel::{
    Arg, Binding, Bound, Dispatch, Kernel, KernelSpec, grid_1d, record_pass, submit, uniform,
};
pub use loop_probe::LoopCap;
pub use timing::timestamps;
pub use window::{MAX_WINDOWS, Windows, chunk_rows, row_chunks, rows_per_binding};
