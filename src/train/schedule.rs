//! A recorded epoch: an ordered list of kernel dispatches (and, only when noise comes from
//! the host, buffer copies), built once and re-recorded into a command buffer every epoch.

use crate::gpu::{Dispatch, GpuContext};

/// Arithmetic and memory traffic of one launch (the roofline inputs `argva bench` prints).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    pub flops: f64,
    /// Bytes that must move between memory and the cores at least once.
    pub bytes: f64,
}

impl Cost {
    /// Dense m×k by k×n product (any form): 2mnk FLOPs, both inputs and the output once.
    pub fn matmul(m: usize, n: usize, k: usize) -> Self {
        let (m, n, k) = (m as f64, n as f64, k as f64);
        Self {
            flops: 2.0 * m * n * k,
            bytes: 4.0 * (m * k + k * n + m * n),
        }
    }
    /// Sparse (nnz entries, `rows` rows) times a dense matrix with `c` columns.
    pub fn spmm(rows: usize, nnz: usize, c: usize) -> Self {
        let (r, z, c) = (rows as f64, nnz as f64, c as f64);
        Self {
            flops: 2.0 * z * c,
            bytes: 8.0 * z + 4.0 * (r + 1.0) + 4.0 * z * c + 4.0 * r * c,
        }
    }
    /// An elementwise pass reading `reads` and writing `writes` f32 values with `flops`.
    pub fn elementwise(flops: usize, reads: usize, writes: usize) -> Self {
        Self {
            flops: flops as f64,
            bytes: 4.0 * (reads + writes) as f64,
        }
    }
}

/// One step of the schedule.
pub enum Step {
    /// A kernel launch and, where known, its cost.
    Kernel(Dispatch, Option<Cost>),
    /// `copy_buffer_to_buffer` (ends the current compute pass).
    Copy {
        src: wgpu::Buffer,
        src_offset: u64,
        dst: wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    },
}

impl From<Dispatch> for Step {
    fn from(d: Dispatch) -> Self {
        Step::Kernel(d, None)
    }
}

impl From<(Dispatch, Cost)> for Step {
    fn from((d, c): (Dispatch, Cost)) -> Self {
        Step::Kernel(d, Some(c))
    }
}

#[derive(Default)]
pub struct Schedule {
    pub steps: Vec<Step>,
}

impl Schedule {
    /// Appends a launch: a `Dispatch`, or `(Dispatch, Cost)` when its cost is known.
    pub fn push(&mut self, step: impl Into<Step>) {
        self.steps.push(step.into());
    }

    pub fn extend<S: Into<Step>>(&mut self, steps: impl IntoIterator<Item = S>) {
        self.steps.extend(steps.into_iter().map(Into::into));
    }

    /// Number of kernel launches (the figure that decides speed on launch-bound GPUs).
    pub fn dispatch_count(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s, Step::Kernel(d, _) if d.workgroups.iter().all(|&g| g > 0)))
            .count()
    }

    /// Records the whole schedule: consecutive kernels share one compute pass.
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut i = 0;
        while i < self.steps.len() {
            match &self.steps[i] {
                Step::Copy {
                    src,
                    src_offset,
                    dst,
                    dst_offset,
                    bytes,
                } => {
                    encoder.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *bytes);
                    i += 1;
                }
                Step::Kernel(..) => {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some("epoch"),
                        timestamp_writes: None,
                    });
                    while let Some(Step::Kernel(d, _)) = self.steps.get(i) {
                        d.record(&mut pass);
                        i += 1;
                    }
                }
            }
        }
    }

    /// Records the schedule with every kernel in its own compute pass bracketed by GPU
    /// timestamps (query 2i = start, 2i+1 = end of the i-th launched kernel), for `argva
    /// bench`. Slower than [`Schedule::record`] (one pass per kernel): for measurement only.
    /// Returns the labels and costs of the timed kernels, in query order.
    pub fn record_profiled(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        queries: &wgpu::QuerySet,
    ) -> Vec<(&'static str, Option<Cost>)> {
        let mut labels = Vec::new();
        for step in &self.steps {
            match step {
                Step::Copy {
                    src,
                    src_offset,
                    dst,
                    dst_offset,
                    bytes,
                } => {
                    encoder.copy_buffer_to_buffer(src, *src_offset, dst, *dst_offset, *bytes);
                }
                Step::Kernel(d, cost) if d.workgroups.iter().all(|&g| g > 0) => {
                    let i = labels.len() as u32;
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some(d.label),
                        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                            query_set: queries,
                            beginning_of_pass_write_index: Some(2 * i),
                            end_of_pass_write_index: Some(2 * i + 1),
                        }),
                    });
                    d.record(&mut pass);
                    labels.push((d.label, *cost));
                }
                Step::Kernel(..) => {}
            }
        }
        labels
    }

    /// Records and submits as one command buffer; returns at once.
    pub fn submit(&self, ctx: &GpuContext) -> wgpu::SubmissionIndex {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("epoch"),
            });
        self.record(&mut encoder);
        ctx.queue.submit([encoder.finish()])
    }
}
