//! A recorded epoch: an ordered list of kernel dispatches with their costs, built once and
//! re-recorded into a command buffer every epoch.

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
    /// An elementwise pass reading `reads` and writing `writes` 4-byte values with `flops`.
    pub fn elementwise(flops: usize, reads: usize, writes: usize) -> Self {
        Self {
            flops: flops as f64,
            bytes: 4.0 * (reads + writes) as f64,
        }
    }

    // The kernels below are memory-bound; their FLOP counts are approximate (a transcendental
    // counts as one operation) and only tell a reader how little arithmetic they carry.

    /// `len` standard normals (Box–Muller, ~5 FLOPs each; Philox's integer rounds are not
    /// FLOPs): writes only.
    pub fn rng_normal(len: usize) -> Self {
        Self::elementwise(5 * len, 0, len)
    }
    /// z = μ + ε·exp(min(ℓ̃, 10)) over n×d: reads μ, ℓ̃, ε; writes z.
    pub fn reparam_forward(n: usize, d: usize) -> Self {
        Self::elementwise(4 * n * d, 3 * n * d, n * d)
    }
    /// Reparameterisation backward with the fused KL: reads μ, ℓ̃, ε, dz; writes dμ, dℓ̃
    /// and one KL term per row (~14 FLOPs per element).
    pub fn reparam_backward(n: usize, d: usize) -> Self {
        Self::elementwise(14 * n * d, 4 * n * d, 2 * n * d + n)
    }
    /// Sum of `len` values into one loss slot.
    pub fn reduce(len: usize) -> Self {
        Self::elementwise(len, len, 1)
    }
    /// Column sums of a rows×cols matrix (bias gradients).
    pub fn colsum(rows: usize, cols: usize) -> Self {
        Self::elementwise(rows * cols, rows * cols, cols)
    }
    /// One Adam step over `len` parameters: reads θ, g, m, v; writes θ, m, v (~12 FLOPs).
    pub fn adam(len: usize) -> Self {
        Self::elementwise(12 * len, 4 * len, 3 * len)
    }
    /// Decoder logits, loss terms and dL/dlogit for `pairs` pairs of d-wide rows: each pair
    /// reads its two indices and both rows (a gather, counted per pair as for spmm).
    pub fn pair_loss(pairs: usize, d: usize) -> Self {
        Self::elementwise(pairs * (2 * d + 12), pairs * (2 + 2 * d), 2 * pairs)
    }
    /// Per-node gather of the pair gradients into dz (n×d): every pair is listed under both
    /// endpoints, and each listing reads its slot, the other index, the gradient and a row.
    pub fn pair_gather(n: usize, pairs: usize, d: usize) -> Self {
        let listings = 2 * pairs;
        Self::elementwise(2 * listings * d, n + 1 + listings * (3 + d), n * d)
    }
    /// The dense N² reconstruction loss and its gradient: per pair a d-wide dot for the logit
    /// and another d-wide update of dz; z is re-read from cache, so memory traffic is z, the
    /// label CSR (`label_nnz` entries) and dz once.
    /// The discriminator's output layer fused with its BCE loss and gradients over `rows`
    /// rows of width `h`: logits (2h FLOPs a row), dW3/db3 and da2 (≈3h), each activation read
    /// once and da2 written once.
    pub fn disc_out(rows: usize, h: usize) -> Self {
        Self::elementwise(5 * rows * h, rows * h + h + 1, rows * h + h + 1)
    }
    pub fn dense_recon(n: usize, label_nnz: usize, d: usize) -> Self {
        let (nf, df) = (n as f64, d as f64);
        Self {
            flops: nf * nf * (4.0 * df + 12.0),
            bytes: 4.0 * (2.0 * nf * df + nf + 1.0 + label_nnz as f64 + nf),
        }
    }
}

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

#[derive(Clone, Default)]
pub struct Schedule {
    pub steps: Vec<Step>,
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

    /// Records the whole schedule into one compute pass (wgpu orders the launches and inserts
    /// the barriers between them).
    pub fn record(&self, encoder: &mut wgpu::CommandEncoder) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("epoch"),
            timestamp_writes: None,
        });
        for step in &self.steps {
            step.dispatch.record(&mut pass);
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
