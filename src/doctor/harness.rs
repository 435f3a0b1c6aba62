//! One launch sequence on given inputs, every output poisoned first, every buffer read back:
//! shared by the doctor's checks and the GPU test suite (`tests/gpu/`), which compare what
//! comes back with the twins over more cases.

use crate::gpu::{GpuBuffer, GpuContext, GpuResult, submit};
use crate::kernels::negatives::{self, PositiveTables, Tables};
use crate::kernels::{decoder, rng};

pub(crate) fn poisoned(ctx: &GpuContext, label: &str, len: usize) -> GpuResult<GpuBuffer<f32>> {
    let b = GpuBuffer::<f32>::zeros(ctx, label, len)?;
    b.poison(ctx);
    Ok(b)
}

/// What the decoder left: per-pair loss and dL/ds, and dz.
#[derive(Debug)]
pub struct DecoderRun {
    pub loss: Vec<f32>,
    pub grad: Vec<f32>,
    pub dz: Vec<f32>,
}

/// `pair_loss` then `gather` over host-built lists (`decoder::pair_slots`) of `pairs`.
pub async fn decoder(
    ctx: &GpuContext,
    z: &[f32],
    pairs: &[u32],
    (n, d): (usize, usize),
    (npos, nneg): (usize, usize),
) -> GpuResult<DecoderRun> {
    let p = npos + nneg;
    let (ptr, slots) = decoder::pair_slots(n, pairs)?;
    let zb = GpuBuffer::from_slice(ctx, "z", z)?;
    let pb = GpuBuffer::from_slice(ctx, "pairs", pairs)?;
    let ptrb = GpuBuffer::from_slice(ctx, "slot_ptr", &ptr)?;
    let sb = GpuBuffer::from_slice(ctx, "slots", &slots)?;
    let loss = poisoned(ctx, "loss", p)?;
    let grad = poisoned(ctx, "grad", p)?;
    let dz = poisoned(ctx, "dz", n * d)?;
    let (zr, pr, gr) = ((&zb).into(), (&pb).into(), (&grad).into());
    let l = decoder::pair_loss(ctx, zr, pr, (&loss).into(), gr, n, d, npos, nneg)?;
    let g = decoder::gather(
        ctx,
        zr,
        pr,
        (&ptrb).into(),
        (&sb).into(),
        gr,
        (&dz).into(),
        n,
        d,
        false,
    )?;
    submit(ctx, "decoder", &[&l, &g]);
    Ok(DecoderRun {
        loss: loss.read(ctx).await?,
        grad: grad.read(ctx).await?,
        dz: dz.read(ctx).await?,
    })
}

/// What one submission of the GPU-negatives reconstruction left in every buffer.
#[derive(Debug)]
pub struct NegativesRun {
    pub pairs: Vec<u32>,
    pub loss: Vec<f32>,
    pub grad: Vec<f32>,
    pub counts: Vec<u32>,
    pub slot_ptr: Vec<u32>,
    pub slots: Vec<u32>,
    pub dz: Vec<f32>,
}

/// The epoch's GPU negatives: draw + loss, scan, place, order, gather (the engine's five
/// launches), `nneg` negatives after the positives of `t`, drawn for (`seed`, `epoch`) with
/// `attempts` random tries each; the lists and the pair tail poisoned first.
#[allow(clippy::too_many_arguments)]
pub async fn negatives(
    ctx: &GpuContext,
    t: &PositiveTables,
    z: &[f32],
    d: usize,
    nneg: usize,
    (seed, epoch): (u64, u32),
    attempts: u32,
) -> GpuResult<NegativesRun> {
    let (n, npos) = (t.n, t.pairs.len() / 2);
    let p = npos + nneg;
    let clock = GpuBuffer::<u32>::zeros_with(ctx, "clock", 4, wgpu::BufferUsages::UNIFORM)?;
    clock.write(ctx, &[epoch, 0, 0, 0])?;
    let zb = GpuBuffer::from_slice(ctx, "z", z)?;
    let mut head = t.pairs.clone();
    head.resize(2 * p, u32::MAX);
    let pairs = GpuBuffer::from_slice(ctx, "pairs", &head)?;
    let (loss, grad, dz) = (
        poisoned(ctx, "loss", p)?,
        poisoned(ctx, "grad", p)?,
        poisoned(ctx, "dz", n * d)?,
    );
    let slot_ptr = GpuBuffer::from_slice(ctx, "slot_ptr", &vec![u32::MAX; n + 1])?;
    let slots = GpuBuffer::from_slice(ctx, "slots", &vec![u32::MAX; 2 * p])?;
    let adj_ptr = GpuBuffer::from_slice(ctx, "adj_ptr", &t.adj_ptr)?;
    let adj_col = GpuBuffer::from_slice(ctx, "adj_col", &t.adj_col)?;
    let pos_rank = GpuBuffer::from_slice(ctx, "pos_rank", &t.pos_rank)?;
    let counts = GpuBuffer::from_slice(ctx, "counts", &t.pos_count)?;
    let tables = Tables {
        adj_ptr: (&adj_ptr).into(),
        adj_col: (&adj_col).into(),
        pos_rank: (&pos_rank).into(),
        counts: (&counts).into(),
    };
    let (zr, pa, gr) = ((&zb).into(), (&pairs).into(), (&grad).into());
    let (sp, sl) = ((&slot_ptr).into(), (&slots).into());
    let launches = [
        negatives::sample_loss_attempts(
            ctx,
            &clock,
            zr,
            pa,
            (&loss).into(),
            gr,
            tables,
            n,
            d,
            (npos, nneg),
            seed,
            attempts,
        )?,
        negatives::scan(ctx, tables.counts, sp, n)?,
        negatives::place(ctx, pa, tables, sp, sl, n, npos, nneg)?,
        negatives::order(ctx, pa, tables, sp, sl, n, npos, nneg)?,
        decoder::gather(ctx, zr, pa, sp, sl, gr, (&dz).into(), n, d, false)?,
    ];
    submit(ctx, "gpu negatives", &launches.iter().collect::<Vec<_>>());
    Ok(NegativesRun {
        pairs: pairs.read(ctx).await?,
        loss: loss.read(ctx).await?,
        grad: grad.read(ctx).await?,
        counts: counts.read(ctx).await?,
        slot_ptr: slot_ptr.read(ctx).await?,
        slots: slots.read(ctx).await?,
        dz: dz.read(ctx).await?,
    })
}

/// `len` words from one of the generator's entries (`bits`: Philox's raw words as f32 bits;
/// else N(0, 1) samples) for (`seed`, `epoch`, `stream`).
pub async fn draws(
    ctx: &GpuContext,
    bits: bool,
    len: usize,
    (seed, epoch, stream): (u64, u32, u32),
) -> GpuResult<Vec<f32>> {
    let clock = GpuBuffer::from_slice(ctx, "clock", &[epoch, 0, 0, 0])?;
    let out = poisoned(ctx, "draws", len)?;
    let launch = if bits {
        rng::bind_bits(ctx, &clock, (&out).into(), 0, len, seed, stream)?
    } else {
        rng::bind(ctx, &clock, (&out).into(), 0, len, seed, stream)?
    };
    submit(ctx, "draws", &[&launch]);
    out.read(ctx).await
}
