//! Adapter selection and the device: the one object every kernel and buffer hangs off.
//!
//! Selection honours `WGPU_BACKEND` (e.g. `vulkan`, `gl`, `metal`, `dx12`) and
//! `WGPU_ADAPTER_NAME` (a case-insensitive substring of the adapter name), and otherwise
//! prefers a discrete GPU over an integrated one over a software rasteriser. The device is
//! opened with the adapter's *own* limits, not wgpu's conservative defaults, because graph
//! buffers routinely pass the default 128 MiB storage-binding size on real GPUs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::error::{GpuError, GpuResult};
use super::kernel::{Kernel, KernelSpec};

/// What `argva info` prints and benchmarks record: the adapter and the limits that matter.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    pub driver_info: String,
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_workgroups_per_dimension: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub timestamp_queries: bool,
    /// Loop iterations an invocation may run before the driver ends its loops (`None`: no
    /// cap seen; `gpu::loop_probe`, measured when the context opens).
    pub loop_cap: Option<super::LoopCap>,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        writeln!(f, "adapter   {}", self.name)?;
        writeln!(f, "backend   {} ({})", self.backend, self.device_type)?;
        writeln!(f, "driver    {} {}", self.driver, self.driver_info)?;
        writeln!(
            f,
            "limits    storage binding {:.0} MiB, buffer {:.0} MiB, {} storage buffers/stage",
            mib(self.max_storage_buffer_binding_size),
            mib(self.max_buffer_size),
            self.max_storage_buffers_per_shader_stage
        )?;
        writeln!(
            f,
            "          {} workgroups/dimension, {} invocations/workgroup, {} B workgroup memory",
            self.max_compute_workgroups_per_dimension,
            self.max_compute_invocations_per_workgroup,
            self.max_compute_workgroup_storage_size
        )?;
        write!(
            f,
            "          timestamp queries: {}",
            if self.timestamp_queries { "yes" } else { "no" }
        )?;
        match self.loop_cap {
            None => write!(
                f,
                "\nloops     no cap (the probe's 2 × {} iterations ran)",
                super::loop_probe::PROBE_ITERS
            ),
            Some(cap) => write!(
                f,
                "\nloops     CAPPED: the driver ends an invocation's loops after {} iterations in all; \
                 graphs that need longer loops are refused (upgrade Mesa: README, Drivers)",
                cap.iterations
            ),
        }
    }
}

/// The GPU device, its queue, and the caches built on it (pipelines are compiled once).
pub struct GpuContext {
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    pub summary: AdapterSummary,
    kernels: Mutex<HashMap<String, Arc<Kernel>>>,
    /// wgpu reports validation errors outside an error scope to this handler; we keep the
    /// first one so callers get a typed error instead of wgpu's default panic.
    uncaptured: Arc<Mutex<Option<String>>>,
    /// Set by wgpu's device-lost callback: why the device is gone.
    lost: Arc<Mutex<Option<String>>>,
    /// Bytes of every storage buffer created through [`super::GpuBuffer`] (never decreases:
    /// argva allocates up front and keeps buffers for the run). Reported by `argva bench`.
    pub(crate) allocated: std::sync::atomic::AtomicU64,
    /// Bytes written from the host into GPU buffers through [`super::GpuBuffer::write`] (and
    /// the engine's host noise), cumulative: `argva bench` reports it per epoch.
    pub(crate) uploaded: std::sync::atomic::AtomicU64,
    /// Backing for read-write bindings a launch declares but does not write (see
    /// [`GpuContext::unused_output`]).
    unused: wgpu::Buffer,
    /// A binding limit below the device's (see [`GpuContext::limit_bindings`]).
    binding_limit: Option<u64>,
    /// The longest a native wait on the GPU may take ([`GPU_WAIT_LIMIT`] unless set).
    wait_limit: std::time::Duration,
}

/// How long one native wait on the GPU may take before it is an error naming what was waited
/// for. Generous: one epoch of a 1 M-node ARGVA run on lavapipe takes about 75 s.
pub const GPU_WAIT_LIMIT: std::time::Duration = std::time::Duration::from_secs(600);

impl GpuContext {
    /// Opens the best adapter allowed by the environment (see the module docs).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn new() -> GpuResult<Self> {
        Self::open(&AdapterChoice::Default).await
    }

    /// Opens the adapter `choice` names among those the environment allows.
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn open(choice: &AdapterChoice) -> GpuResult<Self> {
        let adapters = native_adapters().await;
        let adapter = match choice {
            AdapterChoice::Default => {
                let wanted = std::env::var("WGPU_ADAPTER_NAME").ok();
                pick_adapter(adapters, wanted).map_err(|e| match e {
                    GpuError::AdapterNotFound { wanted, available } => GpuError::AdapterNotFound {
                        wanted: format!("{wanted} (WGPU_ADAPTER_NAME)"),
                        available,
                    },
                    other => other,
                })?
            }
            AdapterChoice::Name(name) => pick_adapter(adapters, Some(name.clone()))?,
            AdapterChoice::Index(i) => {
                let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
                adapters
                    .into_iter()
                    .nth(*i)
                    .ok_or_else(|| GpuError::AdapterNotFound {
                        wanted: format!("adapter #{i}"),
                        available: names
                            .iter()
                            .enumerate()
                            .map(|(k, n)| format!("#{k} {n}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                    })?
            }
        };
        Self::from_adapter(adapter).await
    }

    /// Opens the browser's WebGPU adapter (high-performance preference).
    #[cfg(target_arch = "wasm32")]
    pub async fn new() -> GpuResult<Self> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::BROWSER_WEBGPU;
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter {
                backends: "WebGPU".into(),
                hint: format!(
                    "this browser offers no WebGPU adapter ({e}); use a browser with WebGPU \
                     enabled (Chrome/Edge 113+, Firefox 141+, Safari 26+)"
                ),
            })?;
        Self::from_adapter(adapter).await
    }

    /// A 4-byte read-write binding for an output a launch declares but, with its current
    /// options, never writes: a binding cannot be empty, and a real output may not be bound
    /// twice. Shared by every such launch instead of a buffer each (no launch declares two).
    pub fn unused_output(&self) -> super::Arg<'_> {
        super::Arg {
            buffer: &self.unused,
            offset: 0,
            size: std::num::NonZeroU64::new(4),
        }
    }

    /// Bytes the host has written into GPU buffers so far.
    pub fn uploaded_bytes(&self) -> u64 {
        self.uploaded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Queues a host → GPU write and counts its bytes.
    pub fn upload(&self, buffer: &wgpu::Buffer, offset: u64, bytes: &[u8]) {
        self.uploaded
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        self.queue.write_buffer(buffer, offset, bytes);
    }

    /// Bytes allocated in storage buffers so far.
    pub fn allocated_bytes(&self) -> u64 {
        self.allocated.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Blocking convenience for native callers (the CLI, tests, benches).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn new_blocking() -> GpuResult<Self> {
        pollster::block_on(Self::new())
    }

    pub async fn from_adapter(adapter: wgpu::Adapter) -> GpuResult<Self> {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let wanted = wgpu::Features::TIMESTAMP_QUERY
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_ENCODERS
            | wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES;
        let features = adapter.features() & wanted;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("argva"),
                required_features: features,
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|source| GpuError::RequestDevice {
                adapter: info.name.clone(),
                source,
            })?;
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            if slot.is_none() {
                *slot = Some(one_line(&e.to_string()));
            }
        }));
        let lost = Arc::new(Mutex::new(None));
        let sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            let why = match reason {
                wgpu::DeviceLostReason::Destroyed => "the device was destroyed",
                wgpu::DeviceLostReason::Unknown => "the device was lost",
            };
            // (wgpu passes "()" when it has nothing to add)
            let message = one_line(&message);
            slot.get_or_insert(if message.is_empty() || message == "()" {
                why.to_string()
            } else {
                format!("{why}: {message}")
            });
        });
        let summary = AdapterSummary {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            timestamp_queries: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            loop_cap: None,
        };
        let unused = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("unused outputs"),
            size: 4,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        let mut ctx = Self {
            adapter,
            device,
            queue,
            limits,
            allocated: std::sync::atomic::AtomicU64::new(0),
            uploaded: std::sync::atomic::AtomicU64::new(0),
            unused,
            binding_limit: None,
            wait_limit: GPU_WAIT_LIMIT,
            features,
            summary,
            kernels: Mutex::new(HashMap::new()),
            uncaptured,
            lost,
        };
        ctx.summary.loop_cap = super::loop_probe::probe(&ctx).await?;
        Ok(ctx)
    }

    /// The compiled kernel for `spec`, built on first use and cached for the context's life.
    pub fn kernel(&self, spec: &KernelSpec) -> GpuResult<Arc<Kernel>> {
        let key = spec.cache_key();
        let mut cache = self.kernels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = cache.get(&key) {
            return Ok(k.clone());
        }
        let kernel = Arc::new(Kernel::build(self, spec)?);
        cache.insert(key, kernel.clone());
        Ok(kernel)
    }

    /// Pipelines compiled so far (the browser page's shader check reports it).
    pub fn kernel_count(&self) -> usize {
        self.kernels.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The first validation error wgpu reported outside an error scope, if any (then cleared).
    pub fn take_uncaptured_error(&self) -> Option<String> {
        self.uncaptured
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// What went wrong on the device since the last call, if anything: its loss (kept: a lost
    /// device stays lost), else the first error wgpu reported outside an error scope (out of
    /// memory, a refused allocation or submission).
    pub fn device_fault(&self) -> Option<String> {
        let lost = self.lost.lock().unwrap_or_else(|p| p.into_inner()).clone();
        lost.or_else(|| self.take_uncaptured_error())
    }

    /// Blocks until the queue is idle. Native only: in a browser the event loop does this.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_idle(&self) -> GpuResult<()> {
        self.wait_for(None, "the queue")
    }

    /// Blocks until `submission` (or everything submitted) is done, or fails after
    /// [`GpuContext::wait_limit`] naming `what` was waited for: a lost or hung device becomes
    /// an error, never a hang.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn wait_for(&self, submission: Option<wgpu::SubmissionIndex>, what: &str) -> GpuResult<()> {
        let poll = wgpu::PollType::Wait {
            submission_index: submission,
            timeout: Some(self.wait_limit),
        };
        self.device
            .poll(poll)
            .map(|_| ())
            .map_err(|e| GpuError::Readback {
                what: what.into(),
                reason: match e {
                    wgpu::PollError::Timeout => format!(
                        "the GPU did not finish within {} s (device lost or hung?)",
                        self.wait_limit.as_secs_f64()
                    ),
                    other => other.to_string(),
                },
            })
    }

    /// Sets how long one wait on the GPU may take before it is an error (tests use a short
    /// one to see the error).
    pub fn set_wait_limit(&mut self, limit: std::time::Duration) {
        self.wait_limit = limit;
    }

    /// Largest buffer we may bind as one storage binding.
    pub fn max_binding_bytes(&self) -> u64 {
        let device = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        self.binding_limit.map_or(device, |l| l.min(device))
    }

    /// Largest buffer we may create (arrays past one binding are bound in pieces, see
    /// [`super::window`]).
    pub fn max_buffer_bytes(&self) -> u64 {
        self.limits.max_buffer_size
    }

    /// Treats bindings as if the device allowed at most `bytes` (rounded down to the storage
    /// offset alignment, and at least one alignment step): tests use it to make a small graph
    /// take the split-buffer paths that only graphs of hundreds of MiB take on real devices.
    pub fn limit_bindings(&mut self, bytes: u64) {
        let align = self.limits.min_storage_buffer_offset_alignment as u64;
        self.binding_limit = Some((bytes / align).max(1) * align);
    }
}

/// wgpu's multi-line error text (`Validation Error\n\nCaused by:\n  In …\n    reason`) as one
/// line for a one-line error message: `Validation Error: In …: reason`.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "Caused by:")
        .collect::<Vec<_>>()
        .join(": ")
}

/// Which adapter [`GpuContext::open`] opens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AdapterChoice {
    /// The environment's (`WGPU_ADAPTER_NAME`), else the best by device type.
    Default,
    /// The first whose name contains this (case-insensitive).
    Name(String),
    /// Position in [`list_adapters`].
    Index(usize),
}

/// One adapter as [`list_adapters`] reports it.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterEntry {
    pub index: usize,
    pub name: String,
    pub backend: String,
    pub device_type: String,
}

#[cfg(not(target_arch = "wasm32"))]
async fn native_adapters() -> Vec<wgpu::Adapter> {
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::all());
    instance.enumerate_adapters(backends).await
}

/// Every adapter the environment allows (`WGPU_BACKEND`), in [`AdapterChoice::Index`] order.
#[cfg(not(target_arch = "wasm32"))]
pub async fn list_adapters() -> Vec<AdapterEntry> {
    native_adapters()
        .await
        .iter()
        .enumerate()
        .map(|(index, a)| {
            let info = a.get_info();
            AdapterEntry {
                index,
                name: info.name,
                backend: format!("{:?}", info.backend),
                device_type: format!("{:?}", info.device_type),
            }
        })
        .collect()
}

/// Preference order: the adapter whose name contains `wanted`, else discrete > integrated >
/// virtual > software (CPU) > other. Ties keep enumeration order.
#[cfg(not(target_arch = "wasm32"))]
fn pick_adapter(adapters: Vec<wgpu::Adapter>, wanted: Option<String>) -> GpuResult<wgpu::Adapter> {
    if adapters.is_empty() {
        let backends = std::env::var("WGPU_BACKEND").unwrap_or_else(|_| "all".into());
        return Err(GpuError::NoAdapter {
            backends,
            hint: "Install a GPU driver with Vulkan, Metal or DX12 support. On a headless Linux \
                   box without a GPU, install Mesa's software Vulkan driver as argva's CI does: \
                   `sudo bash .ci/install-lavapipe.sh` in argva's checkout (Debian 12: Mesa 25 \
                   from bookworm-backports; elsewhere `mesa-vulkan-drivers libvulkan1`), or try \
                   WGPU_BACKEND=gl with Mesa's llvmpipe."
                .into(),
        });
    }
    if let Some(wanted) = wanted.filter(|w| !w.is_empty()) {
        let needle = wanted.to_lowercase();
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        return adapters
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&needle))
            .ok_or(GpuError::AdapterNotFound {
                wanted: format!("the name {wanted:?}"),
                available: names.join(", "),
            });
    }
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let mut adapters = adapters;
    adapters.sort_by_key(rank);
    Ok(adapters
        .into_iter()
        .next()
        .expect("checked non-empty above"))
}
