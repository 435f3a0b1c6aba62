//! The shader ↔ host contract, in one shape for every kernel.
//!
//! A kernel module (see `src/kernels/`) declares a [`KernelSpec`]: its WGSL source, entry
//! point, the binding list in `@binding` order, and the `override` constants (workgroup sizes)
//! it is compiled with. [`GpuContext::kernel`](super::GpuContext::kernel) compiles each spec
//! once. Binding buffers to a kernel gives a [`Dispatch`]: a pipeline, a bind group and a grid,
//! built once and recorded into as many command buffers as needed — so an epoch is a list of
//! dispatches recorded into one compute pass, with no allocation in the training loop.
//!
//! Every shader uses group 0 only, and 1-D kernels fold large grids into 2-D:
//! `let i = gid.x + gid.y * nwg.x * WG;` (see [`grid_1d`]).

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::error::{GpuError, GpuResult};

/// How a shader sees one binding; the slice order is the `@binding(i)` order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// `var<uniform>`: the kernel's small parameter block.
    Uniform,
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// Everything needed to compile one entry point of one shader.
#[derive(Clone, Debug)]
pub struct KernelSpec {
    pub label: &'static str,
    pub source: &'static str,
    pub entry: &'static str,
    pub bindings: &'static [Binding],
    /// Values for the shader's `override` declarations (workgroup sizes, tile shapes).
    pub constants: Vec<(&'static str, f64)>,
}

impl KernelSpec {
    pub(crate) fn cache_key(&self) -> String {
        let mut key = format!("{}:{}", self.label, self.entry);
        for (name, value) in &self.constants {
            key.push_str(&format!(":{name}={value}"));
        }
        key
    }
}

/// A compiled compute pipeline and its bind-group layout.
#[derive(Debug)]
pub struct Kernel {
    pub label: &'static str,
    pub bindings: &'static [Binding],
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl Kernel {
    pub(crate) fn build(ctx: &GpuContext, spec: &KernelSpec) -> GpuResult<Self> {
        let device = &ctx.device;
        let entries: Vec<wgpu::BindGroupLayoutEntry> = spec
            .bindings
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match b {
                        Binding::Uniform => wgpu::BufferBindingType::Uniform,
                        Binding::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Binding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some(spec.label),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(spec.label),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(spec.label),
            source: wgpu::ShaderSource::Wgsl(spec.source.into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(spec.label),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(spec.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &spec.constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        // Native wgpu validates synchronously, so a bad shader or layout is already reported.
        if let Some(message) = ctx.take_uncaptured_error() {
            return Err(GpuError::Validation {
                what: format!("kernel `{}` (entry `{}`)", spec.label, spec.entry),
                message,
            });
        }
        Ok(Self {
            label: spec.label,
            bindings: spec.bindings,
            pipeline,
            layout,
        })
    }

    /// Binds `buffers` (in `@binding` order) and fixes the grid: the result can be recorded
    /// any number of times.
    pub fn dispatch<'a>(
        &self,
        ctx: &GpuContext,
        args: &[Arg<'a>],
        workgroups: [u32; 3],
    ) -> GpuResult<Dispatch> {
        if args.len() != self.bindings.len() {
            return Err(GpuError::SizeMismatch {
                what: format!("bindings of kernel `{}`", self.label),
                expected: self.bindings.len(),
                got: args.len(),
            });
        }
        let align = ctx.limits.min_storage_buffer_offset_alignment as u64;
        for (i, arg) in args.iter().enumerate() {
            let bytes = arg.size.map_or(arg.buffer.size() - arg.offset, |s| s.get());
            if bytes > ctx.max_binding_bytes() {
                return Err(GpuError::BufferTooLarge {
                    what: format!("binding {i} of kernel `{}`", self.label),
                    bytes,
                    limit: ctx.max_binding_bytes(),
                    limit_name: "max_storage_buffer_binding_size",
                });
            }
            if arg.offset % align != 0 {
                return Err(GpuError::InvalidArgument {
                    what: format!("binding {i} of kernel `{}`", self.label),
                    message: format!(
                        "offset {} is not a multiple of the device's storage offset alignment {align}",
                        arg.offset
                    ),
                });
            }
        }
        let entries: Vec<wgpu::BindGroupEntry> = args
            .iter()
            .enumerate()
            .map(|(i, a)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: a.buffer,
                    offset: a.offset,
                    size: a.size,
                }),
            })
            .collect();
        let bind_group = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.label),
            layout: &self.layout,
            entries: &entries,
        });
        if let Some(message) = ctx.take_uncaptured_error() {
            return Err(GpuError::Validation {
                what: format!("bind group of kernel `{}`", self.label),
                message,
            });
        }
        let bound = args
            .iter()
            .map(|a| Bound {
                buffer: a.buffer.clone(),
                offset: a.offset,
                bytes: a.size.map_or(a.buffer.size() - a.offset, |s| s.get()),
            })
            .collect();
        Ok(Dispatch {
            label: self.label,
            pipeline: self.pipeline.clone(),
            bind_group,
            workgroups,
            bound,
        })
    }
}

/// One binding: a whole buffer, or a byte range of one (e.g. one tensor inside a flat
/// parameter buffer; the offset must meet `min_storage_buffer_offset_alignment`, 256 B on
/// most devices).
#[derive(Clone, Copy, Debug)]
pub struct Arg<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub offset: u64,
    pub size: Option<std::num::NonZeroU64>,
}

impl<'a> Arg<'a> {
    /// `len` 4-byte elements (f32 or u32) from element `first` of this binding; an empty range
    /// still binds one element. The byte offset must meet the device's alignment when bound.
    pub fn elements(&self, first: usize, len: usize) -> Arg<'a> {
        Arg {
            buffer: self.buffer,
            offset: self.offset + 4 * first as u64,
            size: std::num::NonZeroU64::new(4 * len.max(1) as u64),
        }
    }

    /// Bytes visible through this binding.
    pub fn len_bytes(&self) -> u64 {
        self.size
            .map_or(self.buffer.size().saturating_sub(self.offset), |s| s.get())
    }
}

impl<'a> From<&'a wgpu::Buffer> for Arg<'a> {
    fn from(buffer: &'a wgpu::Buffer) -> Self {
        Arg {
            buffer,
            offset: 0,
            size: None,
        }
    }
}

impl<'a, T: bytemuck::Pod> From<&'a super::GpuBuffer<T>> for Arg<'a> {
    fn from(b: &'a super::GpuBuffer<T>) -> Self {
        Arg {
            buffer: &b.buffer,
            offset: 0,
            size: None,
        }
    }
}

/// One recorded-ready kernel launch.
#[derive(Clone, Debug)]
pub struct Dispatch {
    pub label: &'static str,
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    pub workgroups: [u32; 3],
    /// What each binding covers, in `@binding` order (how a buffer is really bound: the
    /// engine's tests compare it with the buffer plan).
    pub bound: Vec<Bound>,
}

/// The byte range of a buffer one binding covers.
#[derive(Clone, Debug)]
pub struct Bound {
    pub buffer: wgpu::Buffer,
    pub offset: u64,
    pub bytes: u64,
}

impl Bound {
    /// Whether the binding covers its whole buffer.
    pub fn is_whole(&self) -> bool {
        self.offset == 0 && self.bytes == self.buffer.size()
    }
}

impl Dispatch {
    pub fn record(&self, pass: &mut wgpu::ComputePass<'_>) {
        let [x, y, z] = self.workgroups;
        if x == 0 || y == 0 || z == 0 {
            return; // nothing to do (e.g. an empty pair list): skip rather than launch nothing
        }
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(x, y, z);
    }
}

/// Records `dispatches` in order into one compute pass (storage writes of one dispatch are
/// visible to the next: wgpu inserts the barriers).
pub fn record_pass(encoder: &mut wgpu::CommandEncoder, label: &str, dispatches: &[&Dispatch]) {
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(label),
        timestamp_writes: None,
    });
    for d in dispatches {
        d.record(&mut pass);
    }
}

/// Records and submits `dispatches` as one command buffer; does not wait.
pub fn submit(ctx: &GpuContext, label: &str, dispatches: &[&Dispatch]) {
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    record_pass(&mut encoder, label, dispatches);
    ctx.queue.submit([encoder.finish()]);
}

/// A uniform buffer holding `params` (a `#[repr(C)]` Pod struct padded to 16 bytes).
pub fn uniform<T: bytemuck::Pod>(ctx: &GpuContext, label: &str, params: &T) -> wgpu::Buffer {
    ctx.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
}

/// Workgroups for `invocations` threads of a 1-D kernel with `workgroup_size` lanes, folded
/// into 2-D when one dimension is not enough. Shaders index `gid.x + gid.y * nwg.x * WG`.
pub fn grid_1d(
    ctx: &GpuContext,
    what: &str,
    invocations: u64,
    workgroup_size: u32,
) -> GpuResult<[u32; 3]> {
    let groups = invocations.div_ceil(workgroup_size as u64);
    let max = ctx.limits.max_compute_workgroups_per_dimension;
    if groups <= max as u64 {
        return Ok([groups as u32, 1, 1]);
    }
    let rows = groups.div_ceil(max as u64);
    if rows > max as u64 {
        return Err(GpuError::DispatchTooLarge {
            what: what.to_string(),
            groups,
            limit: max,
        });
    }
    Ok([max, rows as u32, 1])
}
