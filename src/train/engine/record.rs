//! Recording an epoch: the buffers allocated from the plan, and a [`Recorder`] whose methods
//! append one phase of the epoch each to a [`Schedule`], in the order the epoch runs them:
//! [`Recorder::encoder_forward`], [`Recorder::reparameterise`],
//! [`Recorder::discriminator_step`] (×K), [`Recorder::regulariser`],
//! [`Recorder::reconstruction`], [`Recorder::loss_sums`], [`Recorder::encoder_backward`] and
//! [`Recorder::encoder_adam`]. Formulas: `docs/argva-math.md` (its sections named below).

use crate::gpu::{Arg, Dispatch, GpuBuffer, GpuContext, GpuResult, chunk_rows, row_chunks};
use crate::kernels::Epilogue;
use crate::kernels::disc_fused::{self, Batch, Mlp, Prior};
use crate::kernels::matmul::{Extra, Form};
use crate::kernels::spmm::CsrBuffers;
use crate::kernels::{
    adam, colsum, decoder, dense_recon, matmul, negatives, reduce, reparam, rng, spmm,
};
use crate::model::{Arch, ParamLayout, Tensor};

use super::plan::{BufferSizes, Planned};
use super::{
    Alternation, CsrRef, EngineConfig, Negatives, Noise, Recon, STREAM_EPS, STREAM_EVAL_NOISE,
    STREAM_PASS_EPS, STREAM_PASS_NOISE, loss_index,
};
use crate::kernels::Cost;
use crate::train::schedule::{Gradients, Schedule};

/// A sparse operator on the GPU and the name its products carry in `argva bench`'s profile.
pub struct Operator {
    pub csr: CsrBuffers,
    pub profile: &'static str,
}

/// A parameter vector's optimiser buffers.
pub struct AdamBuffers {
    pub grads: GpuBuffer<f32>,
    /// First and second moments.
    pub m: GpuBuffer<f32>,
    pub v: GpuBuffer<f32>,
}

/// Every buffer of an engine, allocated once from [`BufferSizes`].
pub struct Buffers {
    pub x: Operator,
    pub xt: Operator,
    pub a_hat: Operator,
    pub enc_params: GpuBuffer<f32>,
    pub dis_params: GpuBuffer<f32>,
    pub enc_adam: AdamBuffers,
    pub dis_adam: AdamBuffers,
    /// The generator step's own Adam moments (paper alternation; it uses `enc_adam.grads`).
    pub gen_m: GpuBuffer<f32>,
    pub gen_v: GpuBuffer<f32>,
    pub clock: GpuBuffer<u32>,
    pub losses: GpuBuffer<f32>,
    pub p1: GpuBuffer<f32>,
    pub h1: GpuBuffer<f32>,
    pub h1_noisy: GpuBuffer<f32>,
    pub q: GpuBuffer<f32>,
    /// [μ | ℓ̃] (variational) or unused (GAE/ARGA write z into `zz`).
    pub head: GpuBuffer<f32>,
    pub z: GpuBuffer<f32>,
    /// Host noise only: z′ of each discriminator step, K × N × d (GPU noise draws z′ inside
    /// the discriminator's launches).
    pub zprime: GpuBuffer<f32>,
    pub eps: GpuBuffer<f32>,
    pub dz: GpuBuffer<f32>,
    pub dhead: GpuBuffer<f32>,
    pub g2: GpuBuffer<f32>,
    pub dh1: GpuBuffer<f32>,
    pub g1: GpuBuffer<f32>,
    pub kl_terms: GpuBuffer<f32>,
    pub partials: GpuBuffer<f32>,
    pub pair_loss: GpuBuffer<f32>,
    pub pair_grad: GpuBuffer<f32>,
    /// The dense loss's scores of one chunk of rows, S then dS.
    pub dense_scores: GpuBuffer<f32>,
    pub pairs: GpuBuffer<u32>,
    pub slot_ptr: GpuBuffer<u32>,
    pub slots: GpuBuffer<u32>,
    /// GPU negatives (see [`BufferSizes`]): membership CSR, static ranks, node slot counts.
    pub train_adj_ptr: GpuBuffer<u32>,
    pub train_adj_col: GpuBuffer<u32>,
    pub pos_rank: GpuBuffer<u32>,
    pub node_counts: GpuBuffer<u32>,
}

impl Buffers {
    /// Uploads the operators (`None`: room for them, a mini-batch engine's, filled per batch by
    /// [`Self::write_operators`]) and parameters and allocates every other buffer of `sizes`.
    pub fn allocate(
        ctx: &GpuContext,
        sizes: &BufferSizes,
        operators: Option<(CsrRef<'_>, CsrRef<'_>)>,
        enc_init: &[f32],
        dis_init: &[f32],
    ) -> GpuResult<Self> {
        let (n, f) = (sizes.x[0].len - 1, sizes.xt[0].len - 1);
        let f32s = |p: &Planned| GpuBuffer::<f32>::zeros(ctx, p.label, p.len);
        let u32s = |p: &Planned| GpuBuffer::<u32>::zeros(ctx, p.label, p.len);
        let adam = |p: &[Planned; 3]| -> GpuResult<AdamBuffers> {
            Ok(AdamBuffers {
                grads: f32s(&p[0])?,
                m: f32s(&p[1])?,
                v: f32s(&p[2])?,
            })
        };
        let [x, xt, a_hat] = match operators {
            Some((features, adjacency)) => {
                let (ptr, col, val) = (features.row_ptr, features.col, features.val);
                let (xt_ptr, xt_col, xt_val) = spmm::csr_transpose(n, f, ptr, col, val);
                let adj = (adjacency.row_ptr, adjacency.col, adjacency.val);
                [
                    CsrBuffers::upload(ctx, "X", ptr, col, val, f)?,
                    CsrBuffers::upload(ctx, "Xt", &xt_ptr, &xt_col, &xt_val, n)?,
                    CsrBuffers::upload(ctx, "A_hat", adj.0, adj.1, adj.2, n)?,
                ]
            }
            None => {
                let nnz = |p: &[Planned; 3]| p[1].len;
                [
                    CsrBuffers::zeros(ctx, "X", n, nnz(&sizes.x), f)?,
                    CsrBuffers::zeros(ctx, "Xt", f, nnz(&sizes.xt), n)?,
                    CsrBuffers::zeros(ctx, "A_hat", n, nnz(&sizes.a_hat), n)?,
                ]
            }
        };
        let op = |csr, profile| Operator { csr, profile };
        Ok(Buffers {
            x: op(x, "spmm X·W"),
            xt: op(xt, "spmm Xᵀ·G"),
            a_hat: op(a_hat, "spmm Â·H"),
            enc_params: GpuBuffer::from_slice(ctx, sizes.enc_params.label, enc_init)?,
            dis_params: GpuBuffer::from_slice(ctx, sizes.dis_params.label, dis_init)?,
            enc_adam: adam(&sizes.enc_adam)?,
            dis_adam: adam(&sizes.dis_adam)?,
            gen_m: f32s(&sizes.gen_adam[0])?,
            gen_v: f32s(&sizes.gen_adam[1])?,
            // Also bound as a uniform (the negatives draw), sparing a storage binding.
            clock: GpuBuffer::<u32>::zeros_with(
                ctx,
                sizes.clock.label,
                sizes.clock.len,
                wgpu::BufferUsages::UNIFORM,
            )?,
            losses: f32s(&sizes.losses)?,
            p1: f32s(&sizes.p1)?,
            h1: f32s(&sizes.h1)?,
            h1_noisy: f32s(&sizes.h1_noisy)?,
            q: f32s(&sizes.q)?,
            head: f32s(&sizes.head)?,
            z: f32s(&sizes.z)?,
            zprime: f32s(&sizes.zprime)?,
            eps: f32s(&sizes.eps)?,
            dz: f32s(&sizes.dz)?,
            dhead: f32s(&sizes.dhead)?,
            g2: f32s(&sizes.g2)?,
            dh1: f32s(&sizes.dh1)?,
            g1: f32s(&sizes.g1)?,
            kl_terms: f32s(&sizes.kl_terms)?,
            partials: f32s(&sizes.partials)?,
            pair_loss: f32s(&sizes.pair_loss)?,
            pair_grad: f32s(&sizes.pair_grad)?,
            dense_scores: f32s(&sizes.dense_scores)?,
            pairs: u32s(&sizes.pairs)?,
            slot_ptr: u32s(&sizes.slot_ptr)?,
            slots: u32s(&sizes.slots)?,
            train_adj_ptr: u32s(&sizes.train_adj_ptr)?,
            train_adj_col: u32s(&sizes.train_adj_col)?,
            pos_rank: u32s(&sizes.pos_rank)?,
            node_counts: u32s(&sizes.node_counts)?,
        })
    }
}

impl Buffers {
    /// A batch's X (with Xᵀ built here) and Â written over a mini-batch engine's operators.
    pub fn write_operators(
        &mut self,
        ctx: &GpuContext,
        features: CsrRef<'_>,
        adjacency: CsrRef<'_>,
    ) -> GpuResult<()> {
        let n = features.row_ptr.len().saturating_sub(1);
        let f = features.cols;
        let (ptr, col, val) = (features.row_ptr, features.col, features.val);
        self.x.csr.write(ctx, ptr, col, val, f)?; // (validated before it is transposed)
        let (xt_ptr, xt_col, xt_val) = spmm::csr_transpose(n, f, ptr, col, val);
        self.xt.csr.write(ctx, &xt_ptr, &xt_col, &xt_val, n)?;
        let a = adjacency;
        self.a_hat.csr.write(ctx, a.row_ptr, a.col, a.val, n)
    }

    /// Every buffer with its label (the plan's names).
    pub fn labelled(&self) -> Vec<(&str, &wgpu::Buffer)> {
        fn f(b: &GpuBuffer<f32>) -> (&str, &wgpu::Buffer) {
            (b.label(), &b.buffer)
        }
        fn u(b: &GpuBuffer<u32>) -> (&str, &wgpu::Buffer) {
            (b.label(), &b.buffer)
        }
        let mut v = Vec::new();
        for op in [&self.x, &self.xt, &self.a_hat] {
            v.extend([u(&op.csr.row_ptr), u(&op.csr.col), f(&op.csr.val)]);
        }
        for a in [&self.enc_adam, &self.dis_adam] {
            v.extend([f(&a.grads), f(&a.m), f(&a.v)]);
        }
        v.extend([
            u(&self.clock),
            u(&self.pairs),
            u(&self.slot_ptr),
            u(&self.slots),
            u(&self.train_adj_ptr),
            u(&self.train_adj_col),
            u(&self.pos_rank),
            u(&self.node_counts),
        ]);
        v.extend(
            [
                &self.enc_params,
                &self.dis_params,
                &self.gen_m,
                &self.gen_v,
                &self.losses,
                &self.p1,
                &self.h1,
                &self.h1_noisy,
                &self.q,
                &self.head,
                &self.z,
                &self.zprime,
                &self.eps,
                &self.dz,
                &self.dhead,
                &self.g2,
                &self.dh1,
                &self.g1,
                &self.kl_terms,
                &self.partials,
                &self.pair_loss,
                &self.pair_grad,
                &self.dense_scores,
            ]
            .map(f),
        );
        v
    }
}

/// Rows r0..r1 of a row-major buffer `width` values wide.
fn rows(b: &GpuBuffer<f32>, width: usize, (r0, r1): (usize, usize)) -> Arg<'_> {
    b.range(r0 * width, (r1 - r0) * width)
}

fn bias(b: Arg<'_>) -> Epilogue<'_> {
    Epilogue {
        bias: Some(b),
        ..Default::default()
    }
}

fn bias_relu(b: Arg<'_>) -> Epilogue<'_> {
    Epilogue {
        bias: Some(b),
        relu: true,
        ..Default::default()
    }
}

/// ReLU backward fused into the product: zero where the forward activation was not > 0.
fn masked(activation: Arg<'_>) -> Epilogue<'_> {
    Epilogue {
        mask: Some(activation),
        ..Default::default()
    }
}

/// Accumulate over the pieces after the first.
fn summed(i: usize) -> Epilogue<'static> {
    Epilogue {
        accumulate: i > 0,
        ..Default::default()
    }
}

/// What an Adam launch reads and updates besides the parameters: gradients, m, v.
type Moments<'a> = (&'a GpuBuffer<f32>, &'a GpuBuffer<f32>, &'a GpuBuffer<f32>);

/// Records the launches of an epoch over one engine's buffers.
pub struct Recorder<'a> {
    ctx: &'a GpuContext,
    b: &'a Buffers,
    arch: Arch,
    cfg: EngineConfig,
    enc_layout: &'a ParamLayout,
    n: usize,
    /// Discriminator steps (0 without a discriminator).
    k_steps: usize,
    /// The row chunks every row-local launch is split into when its arrays are past one
    /// binding (one chunk on most devices and graphs: the schedule is then the unsplit one).
    node_chunks: Vec<(usize, usize)>,
    /// The discriminator's widths and tensor offsets (for its fused launches).
    mlp: Mlp,
    /// Record exchange points: each Adam launch waits for its gradients to be exchanged
    /// (a distributed step; `Engine::exchange_gradients`).
    exchange: bool,
}

impl<'a> Recorder<'a> {
    pub fn new(
        ctx: &'a GpuContext,
        b: &'a Buffers,
        arch: Arch,
        cfg: EngineConfig,
        layouts: (&'a ParamLayout, &'a ParamLayout),
        n: usize,
        exchange: bool,
    ) -> Self {
        let (h, d, w) = (arch.hidden, arch.latent, arch.head_width());
        let adv = arch.kind.adversarial();
        // Rows one binding holds at the widest activation.
        let chunk = chunk_rows(ctx, (h.max(w).max(d) * 4) as u64);
        Recorder {
            ctx,
            b,
            arch,
            cfg,
            enc_layout: layouts.0,
            n,
            k_steps: if adv { cfg.disc_steps } else { 0 },
            node_chunks: row_chunks(n, chunk),
            mlp: Mlp::of(layouts.1),
            exchange,
        }
    }

    fn range(params: &'a GpuBuffer<f32>, t: &Tensor) -> Arg<'a> {
        params.range(t.offset, t.len())
    }
    /// An encoder parameter, or its gradient.
    fn ep(&self, name: &str) -> Arg<'a> {
        Self::range(&self.b.enc_params, self.enc_layout.get(name))
    }
    fn eg(&self, name: &str) -> Arg<'a> {
        Self::range(&self.b.enc_adam.grads, self.enc_layout.get(name))
    }
    fn z(&self) -> Arg<'a> {
        self.b.z.range(0, self.n * self.arch.latent)
    }

    /// A dense product with its cost (for `argva bench`'s roofline table).
    #[allow(clippy::too_many_arguments)]
    fn mm(
        &self,
        form: Form,
        a: Arg<'a>,
        b: Arg<'a>,
        out: Arg<'a>,
        (m, n, k): (usize, usize, usize),
        epi: Epilogue<'a>,
        extra: Extra<'a>,
    ) -> GpuResult<(Dispatch, Cost)> {
        let mut dispatch = matmul::bind_ext(self.ctx, form, a, b, out, m, n, k, epi, extra)?;
        dispatch.label = match form {
            Form::NN => "matmul NN",
            Form::TN => "matmul TN",
            Form::NT => "matmul NT",
        };
        Ok((dispatch, Cost::matmul(m, n, k)))
    }

    /// Rows `r0..r1` of CSR × dense.
    fn sp(
        &self,
        op: &Operator,
        (r0, r1): (usize, usize),
        b: Arg<'a>,
        out: Arg<'a>,
        c: usize,
        epi: Epilogue<'a>,
    ) -> GpuResult<(Dispatch, Cost)> {
        let csr = &op.csr;
        let mut dispatch = spmm::bind_rows(self.ctx, csr, r0..r1, b, out, c, epi)?;
        dispatch.label = op.profile;
        // (nnz of a chunk is not known without the row pointers: share by rows)
        let nnz = (csr.nnz as f64 * (r1 - r0) as f64 / csr.rows.max(1) as f64) as usize;
        Ok((dispatch, Cost::spmm(r1 - r0, nnz, c)))
    }

    /// `op`·B into `out` (`c` columns), one launch per row chunk.
    fn propagate(
        &self,
        s: &mut Schedule,
        op: &Operator,
        b: Arg<'a>,
        out: &'a GpuBuffer<f32>,
        c: usize,
        epi: Epilogue<'a>,
    ) -> GpuResult<()> {
        for &ch in &self.node_chunks {
            s.push(self.sp(op, ch, b, rows(out, c, ch), c, epi)?);
        }
        Ok(())
    }

    /// The evaluation forward: [`Self::encoder_layers`], with H1's noise only where the
    /// alternation keeps the original code's noisy evaluation.
    pub fn encoder_forward(&self, s: &mut Schedule) -> GpuResult<()> {
        let noise = match self.cfg.alternation {
            Alternation::Paper {
                eval_noise: true, ..
            } if self.noisy() => Some(STREAM_EVAL_NOISE),
            _ => None,
        };
        self.encoder_layers(s, noise)
    }

    /// Whether training forwards add noise to H1 (the paper recipe's ARGA).
    fn noisy(&self) -> bool {
        self.cfg.alternation.hidden_noise() > 0.0
    }

    /// What Q is made from in training forwards (and what dW_head multiplies): H1, or H1 +
    /// noise.
    fn q_input(&self) -> &'a GpuBuffer<f32> {
        if self.noisy() {
            &self.b.h1_noisy
        } else {
            &self.b.h1
        }
    }

    /// Encoder forward (math note: Encoder): P1 = X·W1, H1 = ReLU(Â·P1 + b1), Q = H1·W_head,
    /// head = Â·Q + b_head (z itself for GAE/ARGA). With `noise_stream`, Q is made from H1 +
    /// σ·N(0, 1) drawn from that stream (the original ARGA code's noise layer).
    fn encoder_layers(&self, s: &mut Schedule, noise_stream: Option<u32>) -> GpuResult<()> {
        let b = self.b;
        let (h, w) = (self.arch.hidden, self.arch.head_width());
        let plain = Epilogue::default();
        let head = if self.arch.kind.variational() {
            &b.head
        } else {
            &b.z
        };
        self.propagate(s, &b.x, self.ep("w1"), &b.p1, h, plain)?;
        self.propagate(
            s,
            &b.a_hat,
            (&b.p1).into(),
            &b.h1,
            h,
            bias_relu(self.ep("b1")),
        )?;
        let q_from = match noise_stream {
            Some(stream) => {
                self.hidden_noise(s, stream)?;
                &b.h1_noisy
            }
            None => &b.h1,
        };
        for &ch in &self.node_chunks {
            s.push(self.mm(
                Form::NN,
                rows(q_from, h, ch),
                self.ep("w_head"),
                rows(&b.q, w, ch),
                (ch.1 - ch.0, w, h),
                plain,
                Extra::default(),
            )?);
        }
        self.propagate(s, &b.a_hat, (&b.q).into(), head, w, bias(self.ep("b_head")))
    }

    /// H1 + σ·N(0, 1) into `h1_noisy`, drawn from `stream` of the run's seed at the epoch's
    /// clock. One launch over all rows (its draw numbers elements from 0): the paper recipe's
    /// dense loss keeps graphs far below a binding's size.
    fn hidden_noise(&self, s: &mut Schedule, stream: u32) -> GpuResult<()> {
        let (b, n, h) = (self.b, self.n, self.arch.hidden);
        let Noise::Gpu { seed } = self.cfg.noise else {
            return Err(crate::gpu::GpuError::InvalidArgument {
                what: "noise on H1".into(),
                message: "drawn on the GPU only (the engine was built with host noise)".into(),
            });
        };
        s.push((
            rng::bind_noisy(
                self.ctx,
                &b.clock,
                b.h1.range(0, n * h),
                b.h1_noisy.range(0, n * h),
                n * h,
                self.cfg.alternation.hidden_noise(),
                seed,
                stream,
            )?,
            rng::cost(n * h),
        ));
        Ok(())
    }

    /// Pass `pass` of a paper-alternation epoch: its own encoder forward, with H1's noise and
    /// ε drawn from the pass's streams.
    fn training_forward(&self, s: &mut Schedule, pass: u32) -> GpuResult<()> {
        let noise = self.noisy().then_some(STREAM_PASS_NOISE + pass);
        self.encoder_layers(s, noise)?;
        self.reparameterise(s, STREAM_PASS_EPS + pass)
    }

    /// z = μ + ε·exp(min(ℓ̃, 10)) (math note: Encoder) (variational models; GAE/ARGA: z is the
    /// head). With GPU noise the launch draws ε itself from `stream` (math note: Gaussian
    /// samples on the GPU) and keeps it for the backward; host noise reads the ε the host wrote.
    pub fn reparameterise(&self, s: &mut Schedule, stream: u32) -> GpuResult<()> {
        if !self.arch.kind.variational() {
            return Ok(());
        }
        let (b, d, w) = (self.b, self.arch.latent, self.arch.head_width());
        for &ch in &self.node_chunks {
            let source = match self.cfg.noise {
                Noise::Gpu { seed } => reparam::Eps::Drawn {
                    clock: &b.clock,
                    seed,
                    stream,
                    first_row: ch.0,
                },
                Noise::Host => reparam::Eps::Given,
            };
            s.push((
                reparam::forward_with(
                    self.ctx,
                    rows(&b.head, w, ch),
                    rows(&b.eps, d, ch),
                    rows(&b.z, d, ch),
                    ch.1 - ch.0,
                    d,
                    source,
                )?,
                reparam::forward_cost(ch.1 - ch.0, d),
            ));
        }
        Ok(())
    }

    /// The fused discriminator's operands over `batch`; `dz` is written by the regulariser
    /// only. The partials table is bound as far as the launch writes it.
    fn disc_operands(&self, batch: Batch) -> GpuResult<disc_fused::Operands<'a>> {
        let b = self.b;
        let rows = self.partial_rows(batch)?;
        Ok(disc_fused::Operands {
            clock: &b.clock,
            theta: (&b.dis_params).into(),
            z: self.z(),
            partials: b.partials.range(0, rows * self.mlp.row_len()),
            dz: (&b.dz).into(),
        })
    }

    fn partial_rows(&self, batch: Batch) -> GpuResult<usize> {
        disc_fused::partial_rows(&self.mlp, batch, disc_fused::Room::of(self.ctx))
    }

    /// Discriminator step k on z detached against z′_k (math note: Discriminator, One ARGVA
    /// epoch step 2, Adam): one fused launch for the forward, the BCE and the backward to every
    /// parameter gradient (as per-workgroup partial sums), then Adam, which totals them.
    pub fn discriminator_step(&self, s: &mut Schedule, k: usize) -> GpuResult<()> {
        let (b, n, d) = (self.b, self.n, self.arch.latent);
        let batch = Batch::step(n);
        let prior = match self.cfg.noise {
            Noise::Gpu { seed } => Prior::Drawn {
                seed,
                stream: STREAM_EPS + 1 + k as u32,
            },
            Noise::Host => {
                let first = k * n.next_multiple_of(super::plan::ROW_ALIGN);
                Prior::Buffer(rows(&b.zprime, d, (first, first + n)))
            }
        };
        let mlp = &self.mlp;
        s.push((
            disc_fused::bind_step(self.ctx, mlp, batch, prior, self.disc_operands(batch)?)?,
            disc_fused::cost(mlp, batch, true),
        ));
        let finish = self.finish_partials(batch, true, loss_index::DISC + k)?;
        let steps = (self.k_steps as u32, k as u32);
        let lr = self.cfg.lr_discriminator;
        let moments = (&b.dis_adam.grads, &b.dis_adam.m, &b.dis_adam.v);
        if !self.exchange {
            return self.adam(s, &b.dis_params, moments, lr, steps, Some(finish));
        }
        // Finish the gradients alone, exchange them, then the Adam step on the result.
        let only = adam::FromPartials {
            update: false,
            ..finish
        };
        self.adam(s, &b.dis_params, moments, lr, steps, Some(only))?;
        s.exchange_here(Gradients::Discriminator);
        self.adam(s, &b.dis_params, moments, lr, steps, None)
    }

    /// What an Adam launch finishes of the partial sums a fused discriminator launch over
    /// `batch` left: its loss into `slot` and, with `grads`, every gradient.
    fn finish_partials(
        &self,
        batch: Batch,
        grads: bool,
        slot: usize,
    ) -> GpuResult<adam::FromPartials<'a>> {
        let count = self.partial_rows(batch)?;
        Ok(adam::FromPartials {
            table: self.b.partials.range(0, count * self.mlp.row_len()),
            row_len: self.mlp.row_len(),
            count,
            grads,
            losses: (&self.b.losses).into(),
            slot,
            update: true,
        })
    }

    /// reg_loss = mean softplus(−D(z)) (math note: Discriminator, One ARGVA epoch step 3)
    /// through the updated discriminator, back to dz (written, not added), in one fused launch.
    /// Returns what the encoder's Adam launch finishes (the loss); `None` without a
    /// discriminator.
    pub fn regulariser(&self, s: &mut Schedule) -> GpuResult<Option<adam::FromPartials<'a>>> {
        if !self.arch.kind.adversarial() {
            return Ok(None);
        }
        let (mlp, n) = (&self.mlp, self.n);
        s.push((
            disc_fused::bind_regulariser(
                self.ctx,
                mlp,
                n,
                self.disc_operands(Batch::regulariser(n))?,
            )?,
            disc_fused::cost(mlp, Batch::regulariser(n), false),
        ));
        let finish = self.finish_partials(Batch::regulariser(n), false, loss_index::REG)?;
        Ok(Some(finish))
    }

    /// Reconstruction loss and its gradient (math note: Reconstruction, Dense reconstruction) into dz (added to the regulariser's when
    /// `dz_written`): the sampled pairs' BCE then a per-node gather, or the dense N² BCE
    /// with labels A_train + I (the sparsity pattern of Â itself).
    pub fn reconstruction(&self, s: &mut Schedule, dz_written: bool) -> GpuResult<()> {
        let (b, ctx, n, d) = (self.b, self.ctx, self.n, self.arch.latent);
        if self.cfg.recon == Recon::Dense {
            let adj = &b.a_hat.csr;
            let ops = dense_recon::Operands {
                z: self.z(),
                label_ptr: (&adj.row_ptr).into(),
                label_col: (&adj.col).into(),
                scores: (&b.dense_scores).into(),
                dz: (&b.dz).into(),
                loss_rows: (&b.pair_loss).into(),
            };
            let edges = adj.nnz.saturating_sub(n);
            for step in dense_recon::record(ctx, ops, n, d, edges, dz_written)? {
                s.push(step);
            }
            return Ok(());
        }
        let (pos, neg) = (self.cfg.num_pos, self.cfg.num_neg);
        let (pairs, loss, grad) = (
            (&b.pairs).into(),
            (&b.pair_loss).into(),
            (&b.pair_grad).into(),
        );
        let (slot_ptr, slots) = ((&b.slot_ptr).into(), (&b.slots).into());
        // GPU negatives (math note: Negatives on the GPU): draw + loss, scan, place, order, gather.
        if let Negatives::Gpu { seed } = self.cfg.negatives {
            let tables = negatives::Tables {
                adj_ptr: (&b.train_adj_ptr).into(),
                adj_col: (&b.train_adj_col).into(),
                pos_rank: (&b.pos_rank).into(),
                counts: (&b.node_counts).into(),
            };
            s.push((
                negatives::sample_loss(
                    ctx,
                    &b.clock,
                    self.z(),
                    pairs,
                    loss,
                    grad,
                    tables,
                    n,
                    d,
                    (pos, neg),
                    seed,
                )?,
                negatives::sample_loss_cost(pos, neg, d),
            ));
            s.push((
                negatives::scan(ctx, tables.counts, slot_ptr, n)?,
                negatives::scan_cost(n),
            ));
            s.push((
                negatives::place(ctx, pairs, tables, slot_ptr, slots, n, pos, neg)?,
                negatives::place_cost(pos + neg),
            ));
            s.push((
                negatives::order(ctx, pairs, tables, slot_ptr, slots, n, pos, neg)?,
                negatives::order_cost(n, neg),
            ));
        } else {
            s.push((
                decoder::pair_loss(ctx, self.z(), pairs, loss, grad, n, d, pos, neg)?,
                decoder::pair_loss_cost(pos + neg, d),
            ));
        }
        s.push((
            decoder::gather(
                ctx,
                self.z(),
                pairs,
                slot_ptr,
                slots,
                grad,
                (&b.dz).into(),
                n,
                d,
                dz_written,
            )?,
            decoder::gather_cost(n, pos + neg, d),
        ));
        Ok(())
    }

    /// The reconstruction loss's sum (math note: Reconstruction, KL); variational models first
    /// take dz back through the reparameterisation (with the gradient of `kl_weight`·Σ_i KL_i:
    /// 1/N² for the loss's KL/N, 0 for a step without it) and sum the KL with it in one launch.
    /// Returns the gradient of the head: dhead, or dz for GAE/ARGA.
    pub fn loss_sums(&self, s: &mut Schedule, kl_weight: f32) -> GpuResult<&'a GpuBuffer<f32>> {
        let (b, ctx, n, d, w) = (
            self.b,
            self.ctx,
            self.n,
            self.arch.latent,
            self.arch.head_width(),
        );
        let recon_len = if self.cfg.recon == Recon::Dense {
            n
        } else {
            self.cfg.num_pos + self.cfg.num_neg
        };
        let recon_sum = reduce::Sum {
            x: (&b.pair_loss).into(),
            len: recon_len,
            slot: loss_index::RECON,
            scale: 1.0,
        };
        if !self.arch.kind.variational() {
            s.push((
                reduce::bind(
                    ctx,
                    recon_sum.x,
                    recon_len,
                    (&b.losses).into(),
                    loss_index::RECON,
                    1.0,
                    false,
                )?,
                reduce::cost(recon_len),
            ));
            return Ok(&b.dz);
        }
        for &ch in &self.node_chunks {
            s.push((
                reparam::backward(
                    ctx,
                    rows(&b.head, w, ch),
                    rows(&b.eps, d, ch),
                    rows(&b.dz, d, ch),
                    rows(&b.dhead, w, ch),
                    rows(&b.kl_terms, 1, ch),
                    ch.1 - ch.0,
                    d,
                    kl_weight,
                )?,
                reparam::backward_cost(ch.1 - ch.0, d),
            ));
        }
        let kl_sum = reduce::Sum {
            x: (&b.kl_terms).into(),
            len: n,
            slot: loss_index::KL,
            scale: 1.0 / n as f32,
        };
        s.push((
            reduce::bind_pair(ctx, recon_sum, kl_sum, (&b.losses).into())?,
            reduce::cost(recon_len + n),
        ));
        Ok(&b.dhead)
    }

    /// Encoder backward (math note: Encoder, Backward): G2 = Âᵀ·dhead (Â is symmetric), dW_head = H1ᵀ·G2, db_head = Σ dhead,
    /// dH1 = (G2·W_headᵀ) ⊙ [H1 > 0], G1 = Â·dH1, db1 = Σ dH1, dW1 = Xᵀ·G1.
    pub fn encoder_backward(&self, s: &mut Schedule, dhead: &'a GpuBuffer<f32>) -> GpuResult<()> {
        let (b, ctx, h, w) = (self.b, self.ctx, self.arch.hidden, self.arch.head_width());
        let plain = Epilogue::default();
        self.propagate(s, &b.a_hat, dhead.into(), &b.g2, w, plain)?;
        for (i, &ch) in self.node_chunks.iter().enumerate() {
            let (h1, g2) = (rows(self.q_input(), h, ch), rows(&b.g2, w, ch));
            let dims = (h, w, ch.1 - ch.0);
            s.push(self.mm(
                Form::TN,
                h1,
                g2,
                self.eg("w_head"),
                dims,
                summed(i),
                Extra::default(),
            )?);
        }
        // Without biases their gradients stay 0 (never written), so Adam leaves them at 0.
        let biased = self.arch.encoder_bias;
        for (i, &ch) in self.node_chunks.iter().enumerate().filter(|_| biased) {
            s.push((
                colsum::bind(
                    ctx,
                    rows(dhead, w, ch),
                    self.eg("b_head"),
                    ch.1 - ch.0,
                    w,
                    i > 0,
                )?,
                colsum::cost(ch.1 - ch.0, w),
            ));
        }
        for &ch in &self.node_chunks {
            s.push(self.mm(
                Form::NT,
                rows(&b.g2, w, ch),
                self.ep("w_head"),
                rows(&b.dh1, h, ch),
                (ch.1 - ch.0, h, w),
                masked(rows(&b.h1, h, ch)),
                Extra::default(),
            )?);
        }
        self.propagate(s, &b.a_hat, (&b.dh1).into(), &b.g1, h, plain)?;
        for (i, &ch) in self.node_chunks.iter().enumerate().filter(|_| biased) {
            s.push((
                colsum::bind(
                    ctx,
                    rows(&b.dh1, h, ch),
                    self.eg("b1"),
                    ch.1 - ch.0,
                    h,
                    i > 0,
                )?,
                colsum::cost(ch.1 - ch.0, h),
            ));
        }
        let f = self.arch.features;
        s.push(self.sp(&b.xt, (0, f), (&b.g1).into(), self.eg("w1"), h, plain)?);
        Ok(())
    }

    /// The encoder's Adam step (math note: Adam) (one step per epoch), which also totals the
    /// regulariser's loss from its partial sums.
    pub fn encoder_adam(
        &self,
        s: &mut Schedule,
        finish: Option<adam::FromPartials<'a>>,
    ) -> GpuResult<()> {
        let b = self.b;
        let moments = (&b.enc_adam.grads, &b.enc_adam.m, &b.enc_adam.v);
        self.adam(
            s,
            &b.enc_params,
            moments,
            self.cfg.lr_encoder,
            (1, 0),
            finish,
        )
    }

    /// One Adam launch over a parameter vector: step `steps.1` of `steps.0` per epoch (the
    /// clock gives the epoch), finishing partial sums first when given.
    fn adam(
        &self,
        s: &mut Schedule,
        params: &'a GpuBuffer<f32>,
        (grads, m, v): Moments<'a>,
        lr: f32,
        steps: (u32, u32),
        finish: Option<adam::FromPartials<'a>>,
    ) -> GpuResult<()> {
        let len = params.len();
        s.push((
            adam::bind_ext(
                self.ctx,
                &self.b.clock,
                params.into(),
                grads.into(),
                m.into(),
                v.into(),
                len,
                lr,
                steps.0,
                steps.1,
                finish,
            )?,
            adam::cost(len),
        ));
        Ok(())
    }

    /// The whole epoch, phase by phase, and the encoder forward alone (evaluation).
    pub fn epoch(&self) -> GpuResult<(Schedule, Schedule)> {
        let mut forward = Schedule::default();
        self.encoder_forward(&mut forward)?;
        let s = match self.cfg.alternation {
            Alternation::Joint => self.joint_epoch(&forward)?,
            Alternation::Paper {
                recon_steps,
                lr_generator,
                ..
            } => self.paper_epoch(recon_steps, lr_generator)?,
        };
        Ok((s, forward))
    }

    /// The default epoch (math note: One ARGVA epoch): one forward, K discriminator steps on
    /// z detached, one encoder step on reg + recon + KL/N.
    fn joint_epoch(&self, forward: &Schedule) -> GpuResult<Schedule> {
        let mut s = forward.clone();
        self.reparameterise(&mut s, STREAM_EPS)?;
        for k in 0..self.k_steps {
            self.discriminator_step(&mut s, k)?;
        }
        let reg = self.regulariser(&mut s)?;
        self.reconstruction(&mut s, reg.is_some())?;
        let dhead = self.loss_sums(&mut s, self.kl_weight())?;
        self.encoder_backward(&mut s, dhead)?;
        if self.exchange {
            s.exchange_here(Gradients::Encoder);
        }
        self.encoder_adam(&mut s, reg)?;
        Ok(s)
    }

    /// The loss's KL/N weighs each node's KL term by 1/N².
    fn kl_weight(&self) -> f32 {
        1.0 / (self.n as f32 * self.n as f32)
    }

    /// The original ARGA code's iteration (`docs/reproduce.md`; passes numbered for their
    /// noise streams): `recon_steps` encoder steps on recon + KL/N, each with its own forward;
    /// then, for adversarial models, a forward and K discriminator steps, and a forward and one
    /// generator step on the GAN loss (+ recon for ARGA) with its own Adam moments.
    fn paper_epoch(&self, recon_steps: usize, lr_generator: f32) -> GpuResult<Schedule> {
        let (b, mut s) = (self.b, Schedule::default());
        let encoder = (&b.enc_adam.grads, &b.enc_adam.m, &b.enc_adam.v);
        for j in 0..recon_steps {
            self.training_forward(&mut s, j as u32)?;
            self.reconstruction(&mut s, false)?;
            let dhead = self.loss_sums(&mut s, self.kl_weight())?;
            self.encoder_backward(&mut s, dhead)?;
            let steps = (recon_steps as u32, j as u32);
            self.adam(
                &mut s,
                &b.enc_params,
                encoder,
                self.cfg.lr_encoder,
                steps,
                None,
            )?;
        }
        if !self.arch.kind.adversarial() {
            return Ok(s);
        }
        let pass = recon_steps as u32;
        self.training_forward(&mut s, pass)?;
        for k in 0..self.k_steps {
            self.discriminator_step(&mut s, k)?;
        }
        self.training_forward(&mut s, pass + 1)?;
        let reg = self.regulariser(&mut s)?;
        // The original asymmetry: ARGA's generator loss adds the reconstruction, ARVGA's is
        // the GAN loss alone (no KL either).
        let variational = self.arch.kind.variational();
        if !variational {
            self.reconstruction(&mut s, true)?;
        }
        let dhead = self.loss_sums(&mut s, 0.0)?;
        self.encoder_backward(&mut s, dhead)?;
        let generator = (&b.enc_adam.grads, &b.gen_m, &b.gen_v);
        self.adam(&mut s, &b.enc_params, generator, lr_generator, (1, 0), reg)?;
        Ok(s)
    }
}
