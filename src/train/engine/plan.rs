//! The engine's buffers, planned before anything is allocated: [`BufferSizes`] is the one
//! source of every buffer's label, size and binding; [`check_plan`] refuses a graph the device
//! cannot hold; [`super::record::Buffers::allocate`] creates exactly these buffers.

use crate::gpu::window::gather_capacity;
use crate::gpu::{GpuError, GpuResult, MAX_WINDOWS};
use crate::kernels::disc_fused::{self, Batch, Mlp};
use crate::model::{Arch, ParamLayout};

#[cfg(test)]
use super::Alternation;
use super::{EngineConfig, Negatives, Noise, Recon, loss_index};

/// How the engine binds a buffer, which decides what the device must allow of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// One binding: must fit the per-binding limit.
    Whole,
    /// Row chunks, each bound at an offset: only the buffer-size limit applies.
    Rows,
    /// Rows of `row` values gathered from anywhere (Â·H, the decoder's lookups): read through
    /// at most [`MAX_WINDOWS`] bindings.
    Gather { row: usize },
    /// Blocks of `block` values bound whole (each step's host-written z′), otherwise rows.
    Blocks { block: usize },
}

/// One storage buffer of the engine: its label, bytes and how it is bound.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned {
    pub label: &'static str,
    /// 4-byte elements (f32 or u32); an empty buffer still takes one.
    pub len: usize,
    pub bytes: u64,
    pub access: Access,
}

impl Planned {
    fn new(label: &'static str, len: usize, access: Access) -> Self {
        Planned {
            label,
            len,
            bytes: (len as u64 * 4).max(4),
            access,
        }
    }
}

/// Rows of ε are padded to a multiple of this, so that every row chunk's byte offset meets
/// the storage alignment (≤ 256 bytes on every device: 64 rows of 4 bytes).
pub const ROW_ALIGN: usize = 64;

/// Values of the fused discriminator's partial-sums table: a row per workgroup of its widest
/// launch (the step's 2N-row batch), each the loss and every parameter's gradient (0 without
/// a discriminator).
pub fn partials_len(arch: &Arch, n: usize) -> usize {
    if !arch.kind.adversarial() {
        return 0;
    }
    let mlp = Mlp::of(&ParamLayout::discriminator(arch));
    // (at most this many: a device with small bindings uses fewer rows; a discriminator too
    // wide for a tile is refused when the engine is built)
    disc_fused::partial_rows(&mlp, Batch::step(n), disc_fused::Room::UNBOUNDED).unwrap_or(1)
        * mlp.row_len()
}

/// Every storage buffer of an engine (names follow `docs/argva-math.md`): sized here once,
/// checked against the device by [`check_plan`], allocated from these entries.
#[derive(Clone, Debug)]
pub struct BufferSizes {
    // The uploaded operators: X, Xᵀ (for the first layer's weight gradient) and Â.
    pub x: [Planned; 3],
    pub xt: [Planned; 3],
    pub a_hat: [Planned; 3],
    pub enc_params: Planned,
    pub dis_params: Planned,
    /// Gradients, Adam's first and second moments.
    pub enc_adam: [Planned; 3],
    pub dis_adam: [Planned; 3],
    /// The paper alternation's generator step: its Adam m and v for the encoder (it shares the
    /// encoder's gradient buffer; one element each otherwise).
    pub gen_adam: [Planned; 2],
    pub clock: Planned,
    pub losses: Planned,
    pub p1: Planned,
    pub h1: Planned,
    /// H1 + noise, what Q is made from when the alternation adds noise to H1 (ARGA's paper
    /// recipe; one element otherwise).
    pub h1_noisy: Planned,
    pub q: Planned,
    pub head: Planned,
    pub z: Planned,
    /// Host noise: each discriminator step's z′ (N × d from row k·Np; GPU noise draws it in
    /// the step).
    pub zprime: Planned,
    pub eps: Planned,
    pub dz: Planned,
    pub dhead: Planned,
    pub g2: Planned,
    pub dh1: Planned,
    pub g1: Planned,
    pub kl_terms: Planned,
    pub partials: Planned,
    pub pair_loss: Planned,
    pub pair_grad: Planned,
    /// The dense loss's scratch: one chunk of rows of S = Z·Zᵀ (`dense_recon::scratch_len`).
    pub dense_scores: Planned,
    pub pairs: Planned,
    /// The decoder gather's node-major index of pair endpoints ("slots", `decoder::pair_slots`):
    /// row pointers and entries.
    pub slot_ptr: Planned,
    pub slots: Planned,
    /// GPU negatives (`kernels::negatives`; one element each otherwise): the sorted symmetric
    /// CSR of the training positives (membership tests), each positive slot's static rank,
    /// and the per-node slot counts (positives at rest, + negatives during an epoch).
    pub train_adj_ptr: Planned,
    pub train_adj_col: Planned,
    pub pos_rank: Planned,
    pub node_counts: Planned,
}

impl BufferSizes {
    pub fn new(
        arch: &Arch,
        cfg: &EngineConfig,
        nodes: usize,
        feature_nnz: usize,
        adjacency_nnz: usize,
    ) -> Self {
        use Access::*;
        let (n, f, h, d, w) = (
            nodes,
            arch.features,
            arch.hidden,
            arch.latent,
            arch.head_width(),
        );
        let np = n.next_multiple_of(ROW_ALIGN);
        let (enc, dis) = (
            ParamLayout::encoder(arch).len,
            ParamLayout::discriminator(arch).len,
        );
        let (adv, var) = (arch.kind.adversarial(), arch.kind.variational());
        let k = if adv { cfg.disc_steps } else { 0 };
        let p = cfg.num_pos + cfg.num_neg;
        let host_noise = cfg.noise == Noise::Host;
        let dense = cfg.recon == Recon::Dense;
        let gpu_neg = !dense && matches!(cfg.negatives, Negatives::Gpu { .. });
        let if_gpu = |len: usize| if gpu_neg { len } else { 0 };
        let csr = |names: [&'static str; 3], rows: usize, nnz: usize, rows_access: Access| {
            [
                Planned::new(names[0], rows + 1, rows_access),
                Planned::new(names[1], nnz, Whole),
                Planned::new(names[2], nnz, Whole),
            ]
        };
        let adam =
            |names: [&'static str; 3], len: usize| names.map(|l| Planned::new(l, len, Whole));
        let b = Planned::new;
        BufferSizes {
            x: csr(["X.row_ptr", "X.col", "X.val"], n, feature_nnz, Rows),
            xt: csr(["Xt.row_ptr", "Xt.col", "Xt.val"], f, feature_nnz, Whole),
            a_hat: csr(
                ["A_hat.row_ptr", "A_hat.col", "A_hat.val"],
                n,
                adjacency_nnz,
                Rows,
            ),
            enc_params: b("encoder params", enc, Whole),
            dis_params: b("discriminator params", dis, Whole),
            enc_adam: adam(["encoder grads", "encoder adam m", "encoder adam v"], enc),
            dis_adam: adam(["disc grads", "disc adam m", "disc adam v"], dis),
            gen_adam: ["generator adam m", "generator adam v"].map(|l| {
                let len = if cfg.alternation.generator_moments(arch) {
                    enc
                } else {
                    0
                };
                Planned::new(l, len, Whole)
            }),
            clock: b("clock", 4, Whole),
            losses: b("losses", loss_index::DISC + k.max(1), Whole),
            p1: b("P1", n * h, Gather { row: h }),
            h1: b("H1", n * h, Rows),
            h1_noisy: b(
                "H1 noisy",
                if cfg.alternation.hidden_noise() > 0.0 {
                    n * h
                } else {
                    0
                },
                Rows,
            ),
            q: b("Q", n * w, Gather { row: w }),
            // GAE/ARGA write z straight into `zz`; `head` is then unused (one element).
            head: b("head", if var { n * w } else { 0 }, Rows),
            z: b("z", n * d, Whole),
            zprime: b(
                "z prime",
                if host_noise { k * np * d } else { 0 },
                Blocks { block: n * d },
            ),
            eps: b("eps", if var { np * d } else { 0 }, Rows),
            dz: b("dz", n * d, Whole),
            dhead: b("dhead", if var { n * w } else { 0 }, Gather { row: w }),
            g2: b("G2", n * w, Rows),
            dh1: b("dH1", n * h, Gather { row: h }),
            g1: b("G1", n * h, Gather { row: h }),
            kl_terms: b("KL terms", n, Whole),
            // Its first rows are bound: as many as one binding of the device holds.
            partials: b("D partials", partials_len(arch, n), Rows),
            pair_loss: b("pair loss", if dense { n } else { p }, Whole),
            pair_grad: b("pair grad", p, Whole),
            // (bound one chunk of rows at a time: the chunk fits a binding)
            dense_scores: b(
                "dense scores",
                if dense {
                    crate::kernels::dense_recon::scratch_len(n)
                } else {
                    0
                },
                Rows,
            ),
            pairs: b("pairs", 2 * p, Gather { row: 2 }),
            slot_ptr: b("pair slot ptr", n + 1, Whole),
            slots: b("pair slots", 2 * p, Gather { row: 1 }),
            train_adj_ptr: b("train adj ptr", if_gpu(n + 1), Whole),
            train_adj_col: b("train adj col", if_gpu(2 * cfg.num_pos), Whole),
            pos_rank: b("pair pos rank", if_gpu(2 * cfg.num_pos), Whole),
            node_counts: b("pair node counts", if_gpu(n), Whole),
        }
    }

    /// Every buffer, in allocation order.
    pub fn all(&self) -> Vec<&Planned> {
        let mut v: Vec<&Planned> = [&self.x, &self.xt, &self.a_hat]
            .into_iter()
            .flatten()
            .collect();
        v.extend([&self.enc_params, &self.dis_params]);
        v.extend(
            self.enc_adam
                .iter()
                .chain(&self.dis_adam)
                .chain(&self.gen_adam),
        );
        v.extend([
            &self.clock,
            &self.losses,
            &self.p1,
            &self.h1,
            &self.h1_noisy,
            &self.q,
            &self.head,
            &self.z,
            &self.zprime,
            &self.eps,
        ]);
        v.extend([
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
            &self.pairs,
            &self.slot_ptr,
            &self.slots,
            &self.train_adj_ptr,
            &self.train_adj_col,
            &self.pos_rank,
            &self.node_counts,
        ]);
        v
    }

    pub fn total_bytes(&self) -> u64 {
        self.all().iter().map(|b| b.bytes).sum()
    }
}

/// Every storage buffer an engine allocates (see [`BufferSizes`]), as a list.
pub fn buffer_plan(
    arch: &Arch,
    cfg: &EngineConfig,
    nodes: usize,
    feature_nnz: usize,
    adjacency_nnz: usize,
) -> Vec<Planned> {
    BufferSizes::new(arch, cfg, nodes, feature_nnz, adjacency_nnz)
        .all()
        .into_iter()
        .cloned()
        .collect()
}

/// Where the plan's binding claims disagree with how `schedules` really bind `buffers`
/// (label, buffer): a buffer planned `Whole` that no launch binds whole (the plan would refuse
/// graphs for nothing), one planned as a gather read through more than [`MAX_WINDOWS`]
/// bindings in a launch, or a storage buffer a launch binds that the plan does not list.
/// `ignore` holds buffers outside the plan (the context's shared unused-output binding).
pub fn binding_mismatches(
    sizes: &BufferSizes,
    buffers: &[(&str, &wgpu::Buffer)],
    schedules: &[&crate::train::schedule::Schedule],
    ignore: &[&wgpu::Buffer],
) -> Vec<String> {
    let bound: Vec<&[crate::gpu::Bound]> = schedules
        .iter()
        .flat_map(|s| s.steps.iter().map(|st| st.dispatch.bound.as_slice()))
        .collect();
    let mut problems = Vec::new();
    for p in sizes.all() {
        let Some(&(_, buf)) = buffers.iter().find(|(l, _)| *l == p.label) else {
            problems.push(format!("`{}` is planned but not allocated", p.label));
            continue;
        };
        let uses: Vec<Vec<&crate::gpu::Bound>> = bound
            .iter()
            .map(|launch| {
                launch
                    .iter()
                    .filter(|b| &b.buffer == buf)
                    .collect::<Vec<_>>()
            })
            .filter(|u| !u.is_empty())
            .collect();
        match p.access {
            Access::Whole if !uses.is_empty() && !uses.iter().flatten().any(|b| b.is_whole()) => {
                problems.push(format!(
                    "`{}` is planned Whole but never bound whole",
                    p.label
                ))
            }
            // Distinct ranges: an unread placeholder binding repeats a real one.
            Access::Gather { .. } if uses.iter().any(|u| distinct_ranges(u) > MAX_WINDOWS) => {
                problems.push(format!(
                    "`{}` is read through more than {MAX_WINDOWS} bindings",
                    p.label
                ))
            }
            _ => {}
        }
    }
    for b in bound.iter().flat_map(|launch| launch.iter()) {
        let planned = buffers.iter().any(|(_, buf)| *buf == &b.buffer);
        let storage = b.buffer.usage().contains(wgpu::BufferUsages::STORAGE);
        if storage && !planned && !ignore.contains(&&b.buffer) {
            problems.push(format!(
                "a launch binds a {}-byte storage buffer the plan does not list",
                b.buffer.size()
            ));
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

fn distinct_ranges(bindings: &[&crate::gpu::Bound]) -> usize {
    let mut ranges: Vec<(u64, u64)> = bindings.iter().map(|b| (b.offset, b.bytes)).collect();
    ranges.sort_unstable();
    ranges.dedup();
    ranges.len()
}

/// The first buffer of `plan` this device cannot hold or bind the way the engine binds it,
/// as `GraphTooLarge` with the plan's total. `binding`, `align` and `max_buffer` are the
/// device's per-binding limit, storage offset alignment and buffer-size limit.
pub fn check_plan(plan: &[Planned], binding: u64, align: u64, max_buffer: u64) -> GpuResult<()> {
    let total: u64 = plan.iter().map(|b| b.bytes).sum();
    for b in plan {
        if let Some(reason) = refusal(b, binding, align, max_buffer) {
            return Err(GpuError::GraphTooLarge {
                total_mib: total as f64 / (1024.0 * 1024.0),
                buffer: b.label,
                bytes: b.bytes,
                reason,
            });
        }
    }
    Ok(())
}

/// Why this device cannot hold or bind `b`, if it cannot.
fn refusal(b: &Planned, binding: u64, align: u64, max_buffer: u64) -> Option<String> {
    let per_binding = format!("this device's per-binding limit of {binding} bytes");
    if b.bytes > max_buffer {
        return Some(format!(
            "is over this device's buffer-size limit of {max_buffer} bytes"
        ));
    }
    match b.access {
        Access::Whole if b.bytes > binding => Some(format!("is bound whole, over {per_binding}")),
        Access::Blocks { block } if block as u64 * 4 > binding => Some(format!(
            "holds blocks of {} bytes (z and each step's z′) that are bound whole, over \
             {per_binding}",
            block as u64 * 4
        )),
        Access::Gather { row } => {
            let row_bytes = row.max(1) as u64 * 4;
            (b.bytes > gather_capacity(binding, align, row_bytes)).then(|| {
                format!("is gathered from through at most {MAX_WINDOWS} bindings of {per_binding}")
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(label: &'static str, bytes: u64, access: Access) -> Vec<Planned> {
        vec![
            Planned {
                label: "small",
                len: 250,
                bytes: 1000,
                access: Access::Whole,
            },
            Planned {
                label,
                len: (bytes / 4) as usize,
                bytes,
                access,
            },
        ]
    }

    /// What each way of binding lets through, at a 1 MiB binding / 4 MiB buffer device.
    #[test]
    fn check_plan_refuses_what_cannot_be_bound_and_nothing_else() {
        const MIB: u64 = 1 << 20;
        let check = |p: &[Planned]| check_plan(p, MIB, 256, 4 * MIB);
        let refused = |p: &[Planned], name: &str, why: &str| {
            let err = check(p).expect_err(name).to_string();
            assert!(
                err.contains(&format!("`{name}`")) && err.contains(why),
                "{err}"
            );
            assert!(err.contains("MiB of GPU buffers"), "{err}");
        };
        // Whole: one binding.
        assert!(check(&plan("w", MIB, Access::Whole)).is_ok());
        refused(&plan("w", MIB + 4, Access::Whole), "w", "bound whole");
        // Rows: only the buffer limit.
        assert!(check(&plan("r", 4 * MIB, Access::Rows)).is_ok());
        refused(
            &plan("r", 4 * MIB + 4, Access::Rows),
            "r",
            "buffer-size limit",
        );
        // Gather: two windows, the first ending on a whole row (12-byte rows: 1 048 320 bytes).
        let two = 1_048_320 + MIB;
        assert!(check(&plan("g", two, Access::Gather { row: 3 })).is_ok());
        refused(
            &plan("g", two + 12, Access::Gather { row: 3 }),
            "g",
            "2 bindings",
        );
        // Blocks: each block whole, the buffer in rows.
        let blocks = Access::Blocks {
            block: (MIB / 4) as usize,
        };
        assert!(check(&plan("z", 3 * MIB, blocks)).is_ok());
        let big_blocks = Access::Blocks {
            block: (MIB / 4) as usize + 1,
        };
        refused(&plan("z", 3 * MIB, big_blocks), "z", "blocks");
    }

    #[test]
    fn the_plan_lists_46_distinct_buffers() {
        let arch = Arch {
            kind: crate::model::ModelKind::Argva,
            features: 7,
            hidden: 6,
            latent: 3,
            disc_hidden: 5,
            disc_hidden2: None,
            encoder_bias: true,
        };
        let cfg = EngineConfig {
            lr_encoder: 0.01,
            lr_discriminator: 0.01,
            disc_steps: 2,
            num_pos: 10,
            num_neg: 10,
            noise: super::super::Noise::Host,
            recon: Recon::Sampled,
            negatives: Negatives::Gpu { seed: 1 },
            alternation: Alternation::Joint,
        };
        let sizes = BufferSizes::new(&arch, &cfg, 100, 300, 500);
        let mut labels: Vec<_> = sizes.all().iter().map(|b| b.label).collect();
        assert_eq!(labels.len(), 46);
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), 46, "labels are unique");
    }
}
