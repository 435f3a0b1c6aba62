//! A recorded epoch: an ordered list of kernel dispatches with their costs, built once and
//! re-recorded into a command buffer every epoch.

use crate::gpu::{Dispatch, GpuContext};

pub use crate::kernels::Cost;

/// One kernel's share of an epoch, all its launches together (the rows of `argva bench`'s
/// kernel table, native and in the browser).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct KernelRow {
    pub kernel: String,
    pub calls: usize,
    pub ms_per_epoch: f64,
    pub flops: f64,
    pub bytes: f64,
    pub gflops: f64,
    pub gbps: f64,
    /// Achieved rate as a share of the calibrated matmul rate (FLOP-bound kernels) or copy
    /// bandwidth (memory-bound ones), whichever bound the kernel is closer to; 0 when the
    /// adapter was not calibrated.
    pub pct_of_peak: f64,
}

/// Groups timed launches (label and cost, in launch order) with their times `ms` into one
/// row per kernel, slowest first.
pub fn kernel_rows(timed: &[(&'static str, Option<Cost>)], ms: &[f64]) -> Vec<KernelRow> {
    let mut rows: Vec<KernelRow> = Vec::new();
    for (&(label, cost), &dt) in timed.iter().zip(ms) {
        let cost = cost.unwrap_or_default();
        let row = match rows.iter_mut().position(|r| r.kernel == label) {
            Some(i) => &mut rows[i],
            None => {
                rows.push(KernelRow {
                    kernel: label.to_string(),
                    ..Default::default()
                });
                rows.last_mut().expect("just pushed")
            }
        };
        row.ms_per_epoch += dt;
        row.calls += 1;
        row.flops += cost.flops;
        row.bytes += cost.bytes;
    }
    for r in &mut rows {
        let s = r.ms_per_epoch * 1e-3;
        if s > 0.0 {
            r.gflops = r.flops / s * 1e-9;
            r.gbps = r.bytes / s * 1e-9;
        }
    }
    rows.sort_by(|a, b| b.ms_per_epoch.total_cmp(&a.ms_per_epoch));
    rows
}

/// The launches of a schedule that record work (an empty grid records nothing), with their
/// labels and costs, in order.
pub fn launched(steps: &[Step]) -> impl Iterator<Item = &Step> {
    steps
        .iter()
        .filter(|s| s.dispatch.workgroups.iter().all(|&g| g > 0))
}

/// One step of the schedule: a kernel launch and, where known, its cost.
#[derive(Clone)]
pub struct Step {
    pub dispatch: Dispatch,
    pub cost: Option<Cost>,
}

impl From<Dispatch> for Step {
    fn from(dispatch: Dispatch) -> Self {
        Step {
            dispatch,
            cost: None,
        }
    }
}

impl From<(Dispatch, Cost)> for Step {
    fn from((dispatch, cost): (Dispatch, Cost)) -> Self {
        Step {
            dispatch,
            cost: Some(cost),
        }
    }
}

/// Whose gradients a step has finished writing at an exchange point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gradients {
    Encoder,
    Discriminator,
}

#[derive(Clone, Default)]
pub struct Schedule {
    pub steps: Vec<Step>,
    /// Points where a distributed step exchanges gradients before their Adam launch: the
    /// number of launches before each, and whose gradients are then complete (empty unless
    /// the engine records exchanges: `Engine::exchange_gradients`).
    pub exchanges: Vec<(usize, Gradients)>,
}

impl Schedule {
    /// Appends a launch: a `Dispatch`, or `(Dispatch, Cost)` when its cost is known.
    pub fn push(&mut self, step: impl Into<Step>) {
        self.steps.push(step.into());
    }

    /// Number of kernel launches (the figure that decides speed on launch-bound GPUs).
    pub fn dispatch_count(&self) -> usize {
        launched(&self.steps).count()
    }

    /// Marks the point after the launches so far: `whose` gradients are complete here.
    pub fn exchange_here(&mut self, whose: Gradients) {
        self.exchanges.push((self.steps.len(), whose));
    }

    /// Records the whole schedule into one compute pass (wgpu orders the launches and inserts
    /// the barriers between them).
    pub fn encode(&self, encoder: &mut wgpu::CommandEncoder) {
        self.encode_range(encoder, 0..self.steps.len());
    }

    /// Records launches `range` into one compute pass.
    pub fn encode_range(&self, encoder: &mut wgpu::CommandEncoder, range: std::ops::Range<usize>) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("epoch"),
            timestamp_writes: None,
        });
        for step in &self.steps[range] {
            step.dispatch.record(&mut pass);
        }
    }

    /// Records the schedule with every kernel in its own compute pass bracketed by GPU
    /// timestamps (query 2i = start, 2i+1 = end of the i-th launched kernel), for `argva
    /// bench`. Slower than [`Schedule::encode`] (one pass per kernel): for measurement only.
    /// Returns the labels and costs of the timed kernels, in query order.
    pub fn encode_profiled(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        queries: &wgpu::QuerySet,
    ) -> Vec<(&'static str, Option<Cost>)> {
        let mut labels = Vec::new();
        for step in &self.steps {
            let d = &step.dispatch;
            if d.workgroups.contains(&0) {
                continue; // an empty launch records nothing (see Dispatch::record)
            }
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
            labels.push((d.label, step.cost));
        }
        labels
    }

    /// One profiled epoch ([`Schedule::encode_profiled`]): the launches (label and cost, in
    /// order) and each one's GPU time in milliseconds. Needs `TIMESTAMP_QUERY`.
    pub async fn profile(
        &self,
        ctx: &GpuContext,
    ) -> crate::gpu::GpuResult<(Vec<(&'static str, Option<Cost>)>, Vec<f64>)> {
        let count = 2 * self.dispatch_count().max(1) as u32;
        let mut timed = Vec::new();
        let ns = crate::gpu::timestamps(ctx, count, |enc, q| {
            timed = self.encode_profiled(enc, q);
        })
        .await?;
        let ms = (0..timed.len())
            .map(|i| (ns[2 * i + 1] - ns[2 * i]).max(0.0) * 1e-6)
            .collect();
        Ok((timed, ms))
    }

    /// Records and submits as one command buffer; returns at once.
    pub fn submit(&self, ctx: &GpuContext) -> wgpu::SubmissionIndex {
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("epoch"),
            });
        self.encode(&mut encoder);
        ctx.queue.submit([encoder.finish()])
    }
}
