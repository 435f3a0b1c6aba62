//! Asynchronous read of each epoch's loss scalars: the epoch's command buffer ends with a
//! copy of the small loss buffer into a staging buffer, mapped after submission. Results are
//! collected when the GPU gets there; the host never waits for them except to keep at most
//! `RING` epochs in flight (backpressure, so the queue cannot grow without bound).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::gpu::GpuContext;

/// Epochs that may be queued ahead of the last one whose losses have been read.
pub const RING: usize = 3;

struct Staging {
    staging: wgpu::Buffer,
    /// Filled by the map callback: Ok(()) when readable.
    ready: Arc<Mutex<Option<Result<(), wgpu::BufferAsyncError>>>>,
}

/// A ring of staging buffers for the loss scalars of in-flight epochs.
pub struct LossReader {
    ring: Vec<Staging>,
    len: usize,
    /// (epoch, entry, submission) of epochs submitted and not yet collected, oldest first.
    pending: VecDeque<(u32, usize, wgpu::SubmissionIndex)>,
    next: usize,
}

impl LossReader {
    pub fn new(ctx: &GpuContext, len: usize) -> Self {
        let ring = (0..RING)
            .map(|i| Staging {
                staging: ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(&format!("loss staging {i}")),
                    size: (len * 4).max(4) as u64,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                ready: Arc::new(Mutex::new(None)),
            })
            .collect();
        Self {
            ring,
            len,
            pending: VecDeque::new(),
            next: 0,
        }
    }

    /// Whether an entry is free for the next epoch (else collect first).
    pub fn is_full(&self) -> bool {
        self.pending.len() >= RING
    }

    /// Appends "copy the loss buffer into the next entry" to an epoch's encoder; returns the
    /// entry to hand to [`Self::submitted`].
    pub fn record_copy(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        losses: &wgpu::Buffer,
    ) -> usize {
        let entry = self.next;
        self.next = (self.next + 1) % RING;
        encoder.copy_buffer_to_buffer(
            losses,
            0,
            &self.ring[entry].staging,
            0,
            (self.len * 4) as u64,
        );
        entry
    }

    /// Requests the map of `entry` once `epoch`'s submission is done.
    pub fn submitted(&mut self, epoch: u32, entry: usize, index: wgpu::SubmissionIndex) {
        let ready = self.ring[entry].ready.clone();
        *ready.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.ring[entry]
            .staging
            .map_async(wgpu::MapMode::Read, .., move |r| {
                *ready.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        self.pending.push_back((epoch, entry, index));
    }

    /// Collects, in epoch order, the losses of every epoch the GPU has finished.
    /// With `wait_oldest` (native only), first blocks until the oldest pending epoch is done.
    pub fn collect(
        &mut self,
        ctx: &GpuContext,
        wait_oldest: bool,
    ) -> Vec<(u32, Result<Vec<f32>, String>)> {
        #[cfg(not(target_arch = "wasm32"))]
        match (self.pending.front(), wait_oldest) {
            (Some((epoch, _, index)), true) => {
                if let Err(e) = ctx.wait_for(Some(index.clone()), "an epoch's losses") {
                    // The epoch never finished: report it (training stops on it).
                    let epoch = *epoch;
                    self.pending.pop_front();
                    return vec![(epoch, Err(e.to_string()))];
                }
            }
            _ => {
                let _ = ctx.device.poll(wgpu::PollType::Poll);
            }
        }
        #[cfg(target_arch = "wasm32")]
        let _ = (ctx, wait_oldest);
        let mut out = Vec::new();
        while let Some(&(epoch, entry, _)) = self.pending.front() {
            let state = self.ring[entry]
                .ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            match state {
                None => break,
                Some(Err(e)) => {
                    out.push((epoch, Err(e.to_string())));
                }
                Some(Ok(())) => {
                    let staging = &self.ring[entry].staging;
                    let values = match staging.get_mapped_range(..) {
                        Ok(view) => {
                            let v = bytemuck::cast_slice::<u8, f32>(&view[..self.len * 4]).to_vec();
                            drop(view);
                            Ok(v)
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    staging.unmap();
                    out.push((epoch, values));
                }
            }
            self.pending.pop_front();
        }
        out
    }

    /// [`Self::collect`], waiting for the oldest pending epoch first: blocking natively,
    /// yielding to the browser's event loop on the web (where maps complete only between
    /// tasks).
    pub async fn collect_oldest(
        &mut self,
        ctx: &GpuContext,
    ) -> Vec<(u32, Result<Vec<f32>, String>)> {
        #[cfg(not(target_arch = "wasm32"))]
        return self.collect(ctx, true);
        #[cfg(target_arch = "wasm32")]
        loop {
            let rows = self.collect(ctx, false);
            if !rows.is_empty() || self.pending() == 0 {
                return rows;
            }
            crate::gpu::yield_to_host().await;
        }
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}
