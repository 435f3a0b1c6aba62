//! Typed storage buffers: upload, poison, asynchronous readback.
//!
//! Every buffer is `STORAGE | COPY_SRC | COPY_DST` so any of them can be a kernel argument,
//! a copy source for readback, or refilled from the host. Sizes are checked against the
//! device's limits before wgpu sees them, so an oversized graph is a typed error, not a panic.

use std::marker::PhantomData;

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::error::{GpuError, GpuResult};

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

/// A storage buffer of `len` elements of `T`. Zero-length buffers hold one padding element
/// because wgpu cannot bind an empty buffer; `len` stays 0.
#[derive(Debug)]
pub struct GpuBuffer<T: bytemuck::Pod> {
    pub buffer: wgpu::Buffer,
    len: usize,
    label: String,
    _elem: PhantomData<T>,
}

fn check_size(ctx: &GpuContext, label: &str, bytes: u64) -> GpuResult<()> {
    let limit = ctx.max_buffer_bytes();
    if bytes > limit {
        return Err(GpuError::BufferTooLarge {
            what: format!("buffer `{label}`"),
            bytes,
            limit,
            limit_name: "max_buffer_size",
        });
    }
    Ok(())
}

impl<T: bytemuck::Pod> GpuBuffer<T> {
    /// Uploads `data`.
    pub fn from_slice(ctx: &GpuContext, label: &str, data: &[T]) -> GpuResult<Self> {
        let bytes = std::mem::size_of_val(data) as u64;
        check_size(ctx, label, bytes)?;
        let padded: Vec<u8>;
        let contents = if data.is_empty() {
            padded = vec![0u8; std::mem::size_of::<T>().max(4)];
            &padded[..]
        } else {
            bytemuck::cast_slice(data)
        };
        let buffer = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage: USAGE,
            });
        ctx.allocated
            .fetch_add(buffer.size(), std::sync::atomic::Ordering::Relaxed);
        Ok(Self {
            buffer,
            len: data.len(),
            label: label.to_string(),
            _elem: PhantomData,
        })
    }

    /// A zero-filled buffer that can also be bound as a uniform (`extra` usage on top of the
    /// storage ones): the engine's clock, which kernels read as a uniform to spare a storage
    /// binding (WebGPU allows 8 per stage).
    pub fn zeros_with(
        ctx: &GpuContext,
        label: &str,
        len: usize,
        extra: wgpu::BufferUsages,
    ) -> GpuResult<Self> {
        let elem = std::mem::size_of::<T>() as u64;
        let bytes = (len as u64).saturating_mul(elem);
        check_size(ctx, label, bytes)?;
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(elem.max(4)).next_multiple_of(4),
            usage: USAGE | extra,
            mapped_at_creation: false,
        });
        ctx.allocated
            .fetch_add(buffer.size(), std::sync::atomic::Ordering::Relaxed);
        Ok(Self {
            buffer,
            len,
            label: label.to_string(),
            _elem: PhantomData,
        })
    }

    /// A zero-filled buffer of `len` elements.
    pub fn zeros(ctx: &GpuContext, label: &str, len: usize) -> GpuResult<Self> {
        Self::zeros_with(ctx, label, len, wgpu::BufferUsages::empty())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// A binding of elements `start .. start + len` (byte offset must meet the device's
    /// storage offset alignment; [`Kernel::dispatch`](super::Kernel::dispatch) checks it).
    pub fn range(&self, start: usize, len: usize) -> super::kernel::Arg<'_> {
        let elem = std::mem::size_of::<T>() as u64;
        super::kernel::Arg {
            buffer: &self.buffer,
            offset: start as u64 * elem,
            size: std::num::NonZeroU64::new((len as u64 * elem).max(4)),
        }
    }

    /// Replaces the contents (queued; takes effect before the next submission).
    pub fn write(&self, ctx: &GpuContext, data: &[T]) -> GpuResult<()> {
        if data.len() != self.len {
            return Err(GpuError::SizeMismatch {
                what: format!("write to buffer `{}`", self.label),
                expected: self.len,
                got: data.len(),
            });
        }
        if !data.is_empty() {
            ctx.upload(&self.buffer, 0, bytemuck::cast_slice(data));
        }
        Ok(())
    }

    /// Writes `data` over the first `data.len()` elements (a mini-batch engine's operators
    /// and tables, sized for the largest batch and refilled per batch).
    pub fn write_prefix(&self, ctx: &GpuContext, data: &[T]) -> GpuResult<()> {
        if data.len() > self.len {
            return Err(GpuError::SizeMismatch {
                what: format!("write into buffer `{}` (at most its length)", self.label),
                expected: self.len,
                got: data.len(),
            });
        }
        if !data.is_empty() {
            ctx.upload(&self.buffer, 0, bytemuck::cast_slice(data));
        }
        Ok(())
    }

    /// Fills every byte with 0xFF (NaN for f32, u32::MAX for u32) so that a kernel that
    /// forgets an element is caught by the comparison against its CPU twin.
    pub fn poison(&self, ctx: &GpuContext) {
        let bytes = self.buffer.size() as usize;
        ctx.queue
            .write_buffer(&self.buffer, 0, &vec![0xFFu8; bytes]);
    }

    /// Copies the contents back to the host. Awaitable on every platform; on native the
    /// device is polled here (the only place the engine waits on the GPU).
    pub async fn read(&self, ctx: &GpuContext) -> GpuResult<Vec<T>> {
        read_buffer(ctx, &self.buffer, self.len, &self.label).await
    }

    /// Blocking readback for native callers (CLI, tests).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn read_blocking(&self, ctx: &GpuContext) -> GpuResult<Vec<T>> {
        pollster::block_on(self.read(ctx))
    }
}

/// Reads the first `len` elements of `buffer` through a staging buffer.
pub async fn read_buffer<T: bytemuck::Pod>(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    len: usize,
    what: &str,
) -> GpuResult<Vec<T>> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let bytes = (len * std::mem::size_of::<T>()) as u64;
    let size = bytes.next_multiple_of(4);
    let staging = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    });
    let mut encoder = ctx
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("readback"),
        });
    encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
    ctx.queue.submit([encoder.finish()]);

    let (tx, rx) = futures_channel::oneshot::channel();
    staging.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    #[cfg(not(target_arch = "wasm32"))]
    ctx.wait_idle()?;
    let mapped = rx.await.map_err(|_| GpuError::Readback {
        what: what.to_string(),
        reason: "the device dropped the map request".into(),
    })?;
    mapped.map_err(|e| GpuError::Readback {
        what: what.to_string(),
        reason: e.to_string(),
    })?;
    if let Some(message) = ctx.take_uncaptured_error() {
        return Err(GpuError::Validation {
            what: format!("work before reading `{what}`"),
            message,
        });
    }
    let view = staging
        .get_mapped_range(..)
        .map_err(|e| GpuError::Readback {
            what: what.to_string(),
            reason: e.to_string(),
        })?;
    let out = bytemuck::cast_slice::<u8, T>(&view[..bytes as usize]).to_vec();
    drop(view);
    staging.unmap();
    Ok(out)
}
