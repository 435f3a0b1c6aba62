//! The embedding of a graph whose activations do not fit the device: the encoder forward
//! (math note: Encoder) layer by layer, in row chunks, with each layer's output kept on the
//! host between layers (layer-wise inference, as Cluster-GCN and GraphSAGE evaluate).
//!
//! 1. P1 = X·W1, chunk by chunk of X's rows;
//! 2. Q = ReLU(Â·P1 + b1)·W_head: a chunk's rows of Â read the P1 rows of its *halo* (the
//!    columns its rows touch), which are gathered on the host and uploaded with Â's rows
//!    renumbered into the halo;
//! 3. head = Â·Q + b_head the same way; the embedding is its first `latent` columns.
//!
//! Every chunk runs the engine's own kernels on the same non-zeros in the same order, so the
//! result equals the whole-graph forward's bit for bit (`tests/gpu/minibatch.rs`). The device
//! holds one chunk at a time: memory is set by [`ChunkBudget`], not by the graph.

use std::ops::Range;

use crate::data::Csr;
use crate::gpu::{Arg, GpuBuffer, GpuContext, GpuError, GpuResult};
use crate::kernels::Epilogue;
use crate::kernels::matmul::{self, Form};
use crate::kernels::spmm::{self, CsrBuffers};
use crate::model::{Arch, ParamLayout};

/// How much of the device one chunk may use, split between its parts so that the sizes the
/// buffers are allocated for (the largest of each part over all chunks) sum to at most
/// `bytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkBudget {
    pub bytes: u64,
}

impl ChunkBudget {
    /// Bytes per row (row pointers, H1 and the output), per X non-zero and per Â non-zero
    /// (its column and value, and at worst one halo row of `c` floats).
    fn limits(&self, arch: &Arch, binding: u64) -> Limits {
        let c = arch.hidden.max(arch.head_width()) as u64;
        let share = |fraction: u64, per_item: u64| {
            let bytes = (self.bytes / fraction).min(binding);
            (bytes / per_item).max(1) as usize
        };
        Limits {
            rows: share(4, 4 * (2 + arch.hidden as u64 + c)),
            x_nnz: share(4, 8),
            a_nnz: share(2, 8 + 4 * c),
        }
    }
}

/// The most one chunk may hold.
#[derive(Clone, Copy, Debug)]
struct Limits {
    rows: usize,
    x_nnz: usize,
    a_nnz: usize,
}

/// Consecutive row ranges, each within `lim` (a single row past a limit forms its own chunk).
fn row_chunks(x: &Csr, a: &Csr, lim: Limits) -> Vec<Range<usize>> {
    let nnz = |m: &Csr, r: usize| (m.row_ptr[r + 1] - m.row_ptr[r]) as usize;
    let mut chunks = Vec::new();
    let (mut start, mut xs, mut as_) = (0, 0, 0);
    for r in 0..x.rows {
        let (xr, ar) = (nnz(x, r), nnz(a, r));
        let full = r - start == lim.rows || xs + xr > lim.x_nnz || as_ + ar > lim.a_nnz;
        if r > start && full {
            chunks.push(start..r);
            (start, xs, as_) = (r, 0, 0);
        }
        xs += xr;
        as_ += ar;
    }
    if x.rows > start {
        chunks.push(start..x.rows);
    }
    chunks
}

/// Rows `rows` of `m` as a CSR of their own (row pointers from 0).
fn csr_rows<'m>(m: &'m Csr, rows: &Range<usize>) -> (Vec<u32>, &'m [u32], &'m [f32]) {
    let (lo, hi) = (m.row_ptr[rows.start], m.row_ptr[rows.end]);
    let ptr = m.row_ptr[rows.start..=rows.end]
        .iter()
        .map(|p| p - lo)
        .collect();
    let (lo, hi) = (lo as usize, hi as usize);
    (ptr, &m.col[lo..hi], &m.val[lo..hi])
}

/// A chunk of Â's rows with its columns renumbered into its halo.
struct HaloRows {
    /// The global rows the chunk reads, ascending (local column j is `nodes[j]`).
    nodes: Vec<u32>,
    row_ptr: Vec<u32>,
    col: Vec<u32>,
}

const UNSET: u32 = u32::MAX;

/// The halo of Â's rows `rows`; `local` (one entry per node, all `UNSET`) is left as found.
fn halo_rows(a: &Csr, rows: &Range<usize>, local: &mut [u32]) -> HaloRows {
    let (row_ptr, cols, _) = csr_rows(a, rows);
    let mut nodes: Vec<u32> = Vec::new();
    for &c in cols {
        if local[c as usize] == UNSET {
            local[c as usize] = 0;
            nodes.push(c);
        }
    }
    nodes.sort_unstable(); // ascending: the host gather walks P1 forwards
    for (j, &v) in nodes.iter().enumerate() {
        local[v as usize] = j as u32;
    }
    let col = cols.iter().map(|&c| local[c as usize]).collect();
    for &v in &nodes {
        local[v as usize] = UNSET;
    }
    HaloRows {
        nodes,
        row_ptr,
        col,
    }
}

/// `rows` of a row-major host matrix `width` wide, in the order given.
fn gather(m: &[f32], width: usize, rows: &[u32]) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows.len() * width);
    for &r in rows {
        out.extend_from_slice(&m[r as usize * width..(r as usize + 1) * width]);
    }
    out
}

/// One Â layer of the forward: its input rows on the host and its epilogue.
struct Layer<'a> {
    input: &'a [f32],
    width: usize,
    bias: &'static str,
    relu: bool,
}

/// The device side: one chunk's operators and activations, allocated once.
struct ChunkBuffers {
    params: GpuBuffer<f32>,
    x: CsrBuffers,
    a: CsrBuffers,
    /// The halo's rows of the layer's input.
    gathered: GpuBuffer<f32>,
    h1: GpuBuffer<f32>,
    out: GpuBuffer<f32>,
}

/// What a layer-wise embedding used.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct LayerwiseStats {
    pub chunks: usize,
    /// GPU bytes of the chunk buffers.
    pub gpu_bytes: u64,
    pub seconds: f64,
    /// Of `seconds`, the time the host waited on the chunks' launches and readbacks; the rest
    /// is host work (slicing rows, finding halos, gathering their rows, uploading).
    pub wait_seconds: f64,
}

/// The embedding (`n × latent`, row-major: μ for VGAE/ARGVA, z for GAE/ARGA) of the graph
/// with features `x` and normalised adjacency `a_hat` under encoder parameters `encoder`,
/// computed layer by layer in row chunks within `budget`.
pub async fn embed_layerwise(
    ctx: &GpuContext,
    arch: &Arch,
    encoder: &[f32],
    x: &Csr,
    a_hat: &Csr,
    budget: ChunkBudget,
) -> GpuResult<(Vec<f32>, LayerwiseStats)> {
    let clock = crate::gpu::Stopwatch::start();
    let layout = ParamLayout::encoder(arch);
    let n = x.rows;
    if a_hat.rows != n || a_hat.cols != n || x.cols != arch.features || encoder.len() != layout.len
    {
        return Err(GpuError::InvalidArgument {
            what: "layer-wise embedding".into(),
            message: format!(
                "X is {}×{}, Â {}×{}, {} encoder values: want {n}×{}, {n}×{n}, {}",
                x.rows,
                x.cols,
                a_hat.rows,
                a_hat.cols,
                encoder.len(),
                arch.features,
                layout.len
            ),
        });
    }
    let chunks = row_chunks(x, a_hat, budget.limits(arch, ctx.max_binding_bytes()));
    let mut local = vec![UNSET; n];
    let mut b = ChunkBuffers::allocate(ctx, arch, encoder, (x, a_hat), &chunks, &mut local)?;
    let (h, w, d) = (arch.hidden, arch.head_width(), arch.latent);
    let mut device = Device {
        ctx,
        out: b.out.buffer.clone(), // a handle: every chunk reads this buffer
        wait: 0.0,
    };

    // 1. P1 = X·W1.
    let mut p1 = vec![0f32; n * h];
    for rows in &chunks {
        let (ptr, col, val) = csr_rows(x, rows);
        b.x.write(ctx, &ptr, col, val, x.cols)?;
        let w1 = param(&b.params, &layout, "w1");
        let out = b.out.range(0, rows.len() * h);
        let launch = spmm::bind(ctx, &b.x, w1, out, h, Epilogue::default())?;
        device
            .run(
                "layer-wise X·W1",
                &[&launch],
                &mut p1[rows.start * h..rows.end * h],
            )
            .await?;
    }
    // 2. Q = ReLU(Â·P1 + b1)·W_head.
    let mut q = vec![0f32; n * w];
    for rows in &chunks {
        let m = rows.len();
        let layer = Layer {
            input: &p1,
            width: h,
            bias: "b1",
            relu: true,
        };
        let prop = b.propagate(ctx, &layout, (a_hat, rows), &mut local, layer)?;
        let w_head = param(&b.params, &layout, "w_head");
        let (h1, out) = (b.h1.range(0, m * h), b.out.range(0, m * w));
        let plain = Epilogue::default();
        let mm = matmul::bind(ctx, Form::NN, h1, w_head, out, m, w, h, plain)?;
        let out = &mut q[rows.start * w..rows.end * w];
        device
            .run("layer-wise Â·P1, ·W_head", &[&prop, &mm], out)
            .await?;
    }
    drop(p1);
    // 3. head = Â·Q + b_head; the embedding is its first d columns.
    let mut emb = vec![0f32; n * d];
    let mut head = vec![0f32; chunks.iter().map(|r| r.len()).max().unwrap_or(0) * w];
    for rows in &chunks {
        let m = rows.len();
        let layer = Layer {
            input: &q,
            width: w,
            bias: "b_head",
            relu: false,
        };
        let prop = b.propagate(ctx, &layout, (a_hat, rows), &mut local, layer)?;
        device
            .run("layer-wise Â·Q", &[&prop], &mut head[..m * w])
            .await?;
        for (i, row) in head[..m * w].chunks(w).enumerate() {
            let r = rows.start + i;
            emb[r * d..(r + 1) * d].copy_from_slice(&row[..d]);
        }
    }
    let stats = LayerwiseStats {
        chunks: chunks.len(),
        gpu_bytes: b.bytes(),
        seconds: clock.seconds(),
        wait_seconds: device.wait,
    };
    Ok((emb, stats))
}

/// Tensor `name` of the encoder's parameters on the device.
fn param<'a>(params: &'a GpuBuffer<f32>, layout: &ParamLayout, name: &str) -> Arg<'a> {
    let t = layout.get(name);
    params.range(t.offset, t.len())
}

/// Runs a chunk's launches and reads their result, timing the wait.
struct Device<'a> {
    ctx: &'a GpuContext,
    /// Every chunk's result: the first `out.len()` values of this buffer.
    out: wgpu::Buffer,
    /// Seconds.
    wait: f64,
}

impl Device<'_> {
    async fn run(
        &mut self,
        what: &str,
        launches: &[&crate::gpu::Dispatch],
        out: &mut [f32],
    ) -> GpuResult<()> {
        let t = crate::gpu::Stopwatch::start();
        crate::gpu::submit(self.ctx, what, launches);
        let read = crate::gpu::buffer::read_buffer(self.ctx, &self.out, out.len(), "chunk");
        out.copy_from_slice(&read.await?);
        self.wait += t.seconds();
        Ok(())
    }
}

impl ChunkBuffers {
    /// Buffers for the largest chunk of each kind (rows, X non-zeros, Â non-zeros, halo).
    fn allocate(
        ctx: &GpuContext,
        arch: &Arch,
        encoder: &[f32],
        (x, a_hat): (&Csr, &Csr),
        chunks: &[Range<usize>],
        local: &mut [u32],
    ) -> GpuResult<Self> {
        let nnz = |m: &Csr, r: &Range<usize>| (m.row_ptr[r.end] - m.row_ptr[r.start]) as usize;
        let most = |f: &dyn Fn(&Range<usize>) -> usize| chunks.iter().map(f).max().unwrap_or(0);
        let rows = most(&|r| r.len());
        let halo = chunks
            .iter()
            .map(|r| halo_rows(a_hat, r, local).nodes.len())
            .max()
            .unwrap_or(0);
        let c = arch.hidden.max(arch.head_width());
        let (f, n) = (arch.features, x.rows);
        Ok(ChunkBuffers {
            params: GpuBuffer::from_slice(ctx, "layer-wise encoder", encoder)?,
            x: CsrBuffers::zeros(ctx, "layer-wise X", rows, most(&|r| nnz(x, r)), f)?,
            a: CsrBuffers::zeros(ctx, "layer-wise A_hat", rows, most(&|r| nnz(a_hat, r)), n)?,
            gathered: GpuBuffer::zeros(ctx, "layer-wise halo", halo * c)?,
            h1: GpuBuffer::zeros(ctx, "layer-wise H1", rows * arch.hidden)?,
            out: GpuBuffer::zeros(ctx, "layer-wise out", rows * c)?,
        })
    }

    /// Â's rows `rows` times the halo's rows of `layer.input`, plus its bias (ReLU'd where
    /// asked): into H1 with the ReLU (layer 1), else into the output rows. Uploads Â's chunk
    /// renumbered into its halo and the halo's rows; returns the bound launch.
    fn propagate(
        &mut self,
        ctx: &GpuContext,
        layout: &ParamLayout,
        (a_hat, rows): (&Csr, &Range<usize>),
        local: &mut [u32],
        layer: Layer<'_>,
    ) -> GpuResult<crate::gpu::Dispatch> {
        let halo = halo_rows(a_hat, rows, local);
        let (_, _, val) = csr_rows(a_hat, rows);
        self.a
            .write(ctx, &halo.row_ptr, &halo.col, val, halo.nodes.len())?;
        let c = layer.width;
        self.gathered
            .write_prefix(ctx, &gather(layer.input, c, &halo.nodes))?;
        let epilogue = Epilogue {
            bias: Some(param(&self.params, layout, layer.bias)),
            relu: layer.relu,
            ..Default::default()
        };
        let into = if layer.relu { &self.h1 } else { &self.out };
        let (gathered, out) = (
            self.gathered.range(0, halo.nodes.len() * c),
            into.range(0, rows.len() * c),
        );
        spmm::bind(ctx, &self.a, gathered, out, c, epilogue)
    }

    fn bytes(&self) -> u64 {
        let csr =
            |m: &CsrBuffers| m.row_ptr.buffer.size() + m.col.buffer.size() + m.val.buffer.size();
        let f = |b: &GpuBuffer<f32>| b.buffer.size();
        f(&self.params)
            + csr(&self.x)
            + csr(&self.a)
            + f(&self.gathered)
            + f(&self.h1)
            + f(&self.out)
    }
}
