//! The four models, their sizes, and where every parameter lives on the GPU.
//!
//! Each network (encoder, discriminator) keeps all its parameters in ONE flat f32 buffer,
//! with a gradient buffer and Adam's m and v of the same layout, so one Adam dispatch
//! updates a whole network. Tensors start at multiples of 64 floats (256 bytes, the largest
//! storage-offset alignment WebGPU allows) so each can be bound on its own.
//!
//! Our tensor layouts are chosen for the kernels; PyTorch Geometric's names and layouts
//! (`lin.weight` is [out, in]) are produced at the boundary by [`ParamLayout::to_state_dict`].

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Alignment of every tensor inside a flat parameter buffer, in f32 elements.
pub const TENSOR_ALIGN: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Graph autoencoder: GCN encoder → z, inner-product decoder.
    Gae,
    /// Variational GAE: encoder → (μ, log σ), KL term.
    Vgae,
    /// Adversarially regularized GAE: GAE + discriminator on z.
    Arga,
    /// Adversarially regularized variational GAE (the default).
    Argva,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [
        ModelKind::Gae,
        ModelKind::Vgae,
        ModelKind::Arga,
        ModelKind::Argva,
    ];

    pub fn variational(self) -> bool {
        matches!(self, ModelKind::Vgae | ModelKind::Argva)
    }
    pub fn adversarial(self) -> bool {
        matches!(self, ModelKind::Arga | ModelKind::Argva)
    }
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Gae => "gae",
            ModelKind::Vgae => "vgae",
            ModelKind::Arga => "arga",
            ModelKind::Argva => "argva",
        }
    }
}

/// Layer widths. The encoder is GCN(F → hidden) → ReLU → GCN head(s) (hidden → latent);
/// the discriminator is Linear(latent → disc_hidden) → ReLU → Linear(disc_hidden →
/// disc_hidden2) → ReLU → Linear(disc_hidden2 → 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arch {
    pub kind: ModelKind,
    pub features: usize,
    pub hidden: usize,
    pub latent: usize,
    pub disc_hidden: usize,
    /// The discriminator's second hidden width when it differs from the first (the paper
    /// recipe's 64 → 32); `None`: `disc_hidden`. Left out of checkpoints when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disc_hidden2: Option<usize>,
    /// Whether the GCN layers have biases (the paper recipe's have none: theirs stay 0).
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub encoder_bias: bool,
}

fn yes() -> bool {
    true
}

fn is_yes(b: &bool) -> bool {
    *b
}

impl Arch {
    /// The discriminator's two hidden widths.
    pub fn disc_widths(&self) -> (usize, usize) {
        (
            self.disc_hidden,
            self.disc_hidden2.unwrap_or(self.disc_hidden),
        )
    }

    /// Width of the encoder head output: [μ | log σ] for variational models, z otherwise.
    pub fn head_width(&self) -> usize {
        if self.kind.variational() {
            2 * self.latent
        } else {
            self.latent
        }
    }
}

/// One tensor inside a flat buffer: `rows × cols` row-major at `offset`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tensor {
    pub name: &'static str,
    pub offset: usize,
    pub rows: usize,
    pub cols: usize,
}

impl Tensor {
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// The tensors of one network, in buffer order.
#[derive(Clone, Debug)]
pub struct ParamLayout {
    pub tensors: Vec<Tensor>,
    /// Total length of the flat buffer (including alignment padding).
    pub len: usize,
}

impl ParamLayout {
    fn new(shapes: &[(&'static str, usize, usize)]) -> Self {
        let mut offset = 0;
        let tensors = shapes
            .iter()
            .map(|&(name, rows, cols)| {
                let t = Tensor {
                    name,
                    offset,
                    rows,
                    cols,
                };
                offset = (offset + rows * cols).next_multiple_of(TENSOR_ALIGN);
                t
            })
            .collect();
        Self {
            tensors,
            len: offset.max(TENSOR_ALIGN),
        }
    }

    /// Encoder tensors, ours: `w1` [F × H] (X·W1), `b1` [H], then for variational models
    /// `w_head` [H × 2d] = [Wμ | Wσ] column-blocked and `b_head` [2d]; for GAE/ARGA `w_head`
    /// [H × d] and `b_head` [d].
    pub fn encoder(arch: &Arch) -> Self {
        Self::new(&[
            ("w1", arch.features, arch.hidden),
            ("b1", 1, arch.hidden),
            ("w_head", arch.hidden, arch.head_width()),
            ("b_head", 1, arch.head_width()),
        ])
    }

    /// Discriminator tensors in nn.Linear layout (weight [out, in]).
    pub fn discriminator(arch: &Arch) -> Self {
        let (d, (h1, h2)) = (arch.latent, arch.disc_widths());
        Self::new(&[
            ("w1", h1, d),
            ("b1", 1, h1),
            ("w2", h2, h1),
            ("b2", 1, h2),
            ("w3", 1, h2),
            ("b3", 1, 1),
        ])
    }

    pub fn get(&self, name: &str) -> &Tensor {
        self.tensors
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no tensor `{name}` in layout")) // programming error
    }
}

/// A tensor in PyTorch layout: shape and row-major data (f64 so golden files round-trip).
pub type StateDict = BTreeMap<String, (Vec<usize>, Vec<f64>)>;

/// Maps between our flat encoder/discriminator buffers and a PyTorch Geometric `state_dict`
/// (`encoder.conv1.lin.weight` [out, in], …, `discriminator.lin1.weight`, …).
pub struct Params;

impl Params {
    pub fn encoder_to_state_dict(arch: &Arch, flat: &[f32]) -> StateDict {
        let lay = ParamLayout::encoder(arch);
        let mut sd = StateDict::new();
        let w1 = lay.get("w1");
        sd.insert(
            "encoder.conv1.lin.weight".into(),
            transpose_out(flat, w1, 0, w1.cols),
        );
        sd.insert(
            "encoder.conv1.bias".into(),
            vector(flat, lay.get("b1"), 0, arch.hidden),
        );
        let (wh, bh) = (lay.get("w_head"), lay.get("b_head"));
        let d = arch.latent;
        let heads: &[(&str, usize)] = if arch.kind.variational() {
            &[("conv_mu", 0), ("conv_logstd", d)]
        } else {
            &[("conv2", 0)]
        };
        for &(name, c0) in heads {
            sd.insert(
                format!("encoder.{name}.lin.weight"),
                transpose_out(flat, wh, c0, d),
            );
            sd.insert(format!("encoder.{name}.bias"), vector(flat, bh, c0, d));
        }
        sd
    }

    /// Inverse of [`Self::encoder_to_state_dict`]. Missing or misshapen tensors are errors.
    pub fn encoder_from_state_dict(arch: &Arch, sd: &StateDict) -> Result<Vec<f32>, String> {
        Self::encoder_from_state_dict_f64(arch, sd).map(|v| to_f32(&v))
    }

    /// [`Self::encoder_from_state_dict`] keeping f64 (for the float64 reference epoch).
    pub fn encoder_from_state_dict_f64(arch: &Arch, sd: &StateDict) -> Result<Vec<f64>, String> {
        let lay = ParamLayout::encoder(arch);
        let mut flat = vec![0f64; lay.len];
        let d = arch.latent;
        let w1 = lay.get("w1");
        set_transposed(
            &mut flat,
            w1,
            0,
            w1.cols,
            take(sd, "encoder.conv1.lin.weight", &[w1.cols, w1.rows])?,
        );
        set_vector(
            &mut flat,
            lay.get("b1"),
            0,
            take(sd, "encoder.conv1.bias", &[arch.hidden])?,
        );
        let (wh, bh) = (lay.get("w_head"), lay.get("b_head"));
        let heads: &[(&str, usize)] = if arch.kind.variational() {
            &[("conv_mu", 0), ("conv_logstd", d)]
        } else {
            &[("conv2", 0)]
        };
        for &(name, c0) in heads {
            let w = take(sd, &format!("encoder.{name}.lin.weight"), &[d, arch.hidden])?;
            set_transposed(&mut flat, wh, c0, d, w);
            set_vector(
                &mut flat,
                bh,
                c0,
                take(sd, &format!("encoder.{name}.bias"), &[d])?,
            );
        }
        Ok(flat)
    }

    pub fn discriminator_to_state_dict(arch: &Arch, flat: &[f32]) -> StateDict {
        let lay = ParamLayout::discriminator(arch);
        let mut sd = StateDict::new();
        for (t, name) in lay.tensors.iter().zip(DISC_NAMES) {
            let shape = if t.name.starts_with('b') {
                vec![t.cols]
            } else {
                vec![t.rows, t.cols]
            };
            let data = flat[t.range()].iter().map(|&v| v as f64).collect();
            sd.insert(name.to_string(), (shape, data));
        }
        sd
    }

    pub fn discriminator_from_state_dict(arch: &Arch, sd: &StateDict) -> Result<Vec<f32>, String> {
        Self::discriminator_from_state_dict_f64(arch, sd).map(|v| to_f32(&v))
    }

    /// [`Self::discriminator_from_state_dict`] keeping f64 (for the float64 reference epoch).
    pub fn discriminator_from_state_dict_f64(
        arch: &Arch,
        sd: &StateDict,
    ) -> Result<Vec<f64>, String> {
        let lay = ParamLayout::discriminator(arch);
        let mut flat = vec![0f64; lay.len];
        for (t, name) in lay.tensors.iter().zip(DISC_NAMES) {
            let shape = if t.name.starts_with('b') {
                vec![t.cols]
            } else {
                vec![t.rows, t.cols]
            };
            let data = take(sd, name, &shape)?;
            flat[t.range()].copy_from_slice(data);
        }
        Ok(flat)
    }
}

const DISC_NAMES: [&str; 6] = [
    "discriminator.lin1.weight",
    "discriminator.lin1.bias",
    "discriminator.lin2.weight",
    "discriminator.lin2.bias",
    "discriminator.lin3.weight",
    "discriminator.lin3.bias",
];

fn take<'a>(sd: &'a StateDict, name: &str, shape: &[usize]) -> Result<&'a [f64], String> {
    let (s, data) = sd
        .get(name)
        .ok_or_else(|| format!("missing tensor `{name}`"))?;
    if s != shape || data.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "tensor `{name}` has shape {s:?}, expected {shape:?}"
        ));
    }
    Ok(data)
}

/// Columns `c0 .. c0+width` of `t` ([in × …]) as a PyTorch [width × in] weight.
fn transpose_out(flat: &[f32], t: &Tensor, c0: usize, width: usize) -> (Vec<usize>, Vec<f64>) {
    let mut out = Vec::with_capacity(width * t.rows);
    for c in c0..c0 + width {
        for r in 0..t.rows {
            out.push(flat[t.offset + r * t.cols + c] as f64);
        }
    }
    (vec![width, t.rows], out)
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn set_transposed(flat: &mut [f64], t: &Tensor, c0: usize, width: usize, w: &[f64]) {
    for c in 0..width {
        for r in 0..t.rows {
            flat[t.offset + r * t.cols + c0 + c] = w[c * t.rows + r];
        }
    }
}

fn vector(flat: &[f32], t: &Tensor, c0: usize, width: usize) -> (Vec<usize>, Vec<f64>) {
    let v = flat[t.offset + c0..t.offset + c0 + width]
        .iter()
        .map(|&x| x as f64)
        .collect();
    (vec![width], v)
}

fn set_vector(flat: &mut [f64], t: &Tensor, c0: usize, v: &[f64]) {
    flat[t.offset + c0..t.offset + c0 + v.len()].copy_from_slice(v);
}

/// Initial parameters as PyTorch Geometric draws them (distributions, not the same numbers):
/// GCNConv weights Glorot-uniform U(±√(6/(fan_in+fan_out))) with zero bias; nn.Linear weights
/// and biases U(±1/√fan_in).
pub fn init_params(arch: &Arch, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let enc = ParamLayout::encoder(arch);
    let mut e = vec![0f32; enc.len];
    for t in &enc.tensors {
        if t.name.starts_with('w') {
            let bound = (6.0 / (t.rows + t.cols) as f64).sqrt() as f32;
            for v in &mut e[t.range()] {
                *v = rng.random_range(-bound..bound);
            }
        }
    }
    let dis = ParamLayout::discriminator(arch);
    let mut d = vec![0f32; dis.len];
    let (h1, h2) = arch.disc_widths();
    let fan_in = [arch.latent, arch.latent, h1, h1, h2, h2];
    for (t, &fan) in dis.tensors.iter().zip(&fan_in) {
        let bound = 1.0 / (fan as f32).sqrt();
        for v in &mut d[t.range()] {
            *v = rng.random_range(-bound..bound);
        }
    }
    (e, d)
}

/// Initial parameters as the original ARGA code draws them (`initializations.py`,
/// `model.py`): every GCN weight Glorot-uniform U(±√(6/(fan_in+fan_out))) per layer (μ and
/// log σ are separate layers there, so each head block has its own bound), GCN biases 0 (the
/// code has none); discriminator weights N(0, 0.01²), biases 0.
pub fn init_params_paper(arch: &Arch, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let enc = ParamLayout::encoder(arch);
    let mut e = vec![0f32; enc.len];
    let w1 = enc.get("w1");
    let glorot = |rows: usize, cols: usize| (6.0 / (rows + cols) as f64).sqrt() as f32;
    let bound = glorot(w1.rows, w1.cols);
    for v in &mut e[w1.range()] {
        *v = rng.random_range(-bound..bound);
    }
    let wh = enc.get("w_head");
    let d = arch.latent;
    let bound = glorot(wh.rows, d);
    for block in 0..wh.cols / d {
        for r in 0..wh.rows {
            for c in block * d..(block + 1) * d {
                e[wh.offset + r * wh.cols + c] = rng.random_range(-bound..bound);
            }
        }
    }
    let dis = ParamLayout::discriminator(arch);
    let mut w = vec![0f32; dis.len];
    for t in dis.tensors.iter().filter(|t| t.name.starts_with('w')) {
        for v in &mut w[t.range()] {
            *v = (0.01 * standard_normal(&mut rng)) as f32;
        }
    }
    (e, w)
}

/// One N(0, 1) draw (Box–Muller; rand without its distributions crate).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(kind: ModelKind) -> Arch {
        Arch {
            kind,
            features: 7,
            hidden: 6,
            latent: 3,
            disc_hidden: 5,
            disc_hidden2: None,
            encoder_bias: true,
        }
    }

    #[test]
    fn tensors_are_aligned_and_disjoint() {
        for kind in [ModelKind::Gae, ModelKind::Argva] {
            for lay in [
                ParamLayout::encoder(&arch(kind)),
                ParamLayout::discriminator(&arch(kind)),
            ] {
                let mut end = 0;
                for t in &lay.tensors {
                    assert_eq!(t.offset % TENSOR_ALIGN, 0);
                    assert!(t.offset >= end);
                    end = t.offset + t.len();
                }
                assert!(end <= lay.len);
            }
        }
    }

    #[test]
    fn state_dict_round_trips() {
        for kind in [
            ModelKind::Gae,
            ModelKind::Vgae,
            ModelKind::Arga,
            ModelKind::Argva,
        ] {
            let a = arch(kind);
            let (e, d) = init_params(&a, 7);
            let sd = Params::encoder_to_state_dict(&a, &e);
            assert_eq!(sd["encoder.conv1.lin.weight"].0, vec![6, 7]);
            assert_eq!(Params::encoder_from_state_dict(&a, &sd).unwrap(), e);
            let sd = Params::discriminator_to_state_dict(&a, &d);
            assert_eq!(Params::discriminator_from_state_dict(&a, &sd).unwrap(), d);
        }
    }

    #[test]
    fn pyg_weight_is_the_transpose_of_ours() {
        let a = arch(ModelKind::Argva);
        let (e, _) = init_params(&a, 1);
        let lay = ParamLayout::encoder(&a);
        let sd = Params::encoder_to_state_dict(&a, &e);
        let w1 = lay.get("w1");
        // PyG conv1.lin.weight[o][i] == our w1[i][o]
        let (_, w) = &sd["encoder.conv1.lin.weight"];
        assert_eq!(w[2 * 7 + 5] as f32, e[w1.offset + 5 * w1.cols + 2]);
        // logstd head occupies the second column block of w_head: PyG [o=1][i=4] ↔ ours [4][d + 1].
        let (_, ws) = &sd["encoder.conv_logstd.lin.weight"];
        let wh = lay.get("w_head");
        assert_eq!(ws[6 + 4] as f32, e[wh.offset + 4 * wh.cols + 3 + 1]);
    }

    #[test]
    fn wrong_shapes_are_errors() {
        let a = arch(ModelKind::Argva);
        let mut sd = Params::encoder_to_state_dict(&a, &init_params(&a, 1).0);
        sd.get_mut("encoder.conv1.bias").unwrap().0 = vec![5];
        let err = Params::encoder_from_state_dict(&a, &sd).unwrap_err();
        assert!(err.contains("encoder.conv1.bias"), "{err}");
        sd.remove("encoder.conv1.bias");
        assert!(
            Params::encoder_from_state_dict(&a, &sd)
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn discriminator_widths_may_differ() {
        let a = Arch {
            disc_hidden2: Some(2),
            ..arch(ModelKind::Arga)
        };
        let lay = ParamLayout::discriminator(&a);
        let shape = |n| (lay.get(n).rows, lay.get(n).cols);
        assert_eq!(shape("w1"), (5, 3));
        assert_eq!(shape("w2"), (2, 5));
        assert_eq!(shape("b2"), (1, 2));
        assert_eq!(shape("w3"), (1, 2));
        let (_, d) = init_params(&a, 3);
        let sd = Params::discriminator_to_state_dict(&a, &d);
        assert_eq!(sd["discriminator.lin2.weight"].0, vec![2, 5]);
        assert_eq!(Params::discriminator_from_state_dict(&a, &sd).unwrap(), d);
    }

    /// The paper's draws: Glorot bounds per layer and per head, zero biases, and a
    /// discriminator whose weights have std 0.01 (measured on a wide layer) and zero biases.
    #[test]
    fn paper_initialisation_follows_the_original_code() {
        let a = Arch {
            features: 40,
            hidden: 30,
            latent: 10,
            disc_hidden: 64,
            disc_hidden2: Some(30),
            ..arch(ModelKind::Argva)
        };
        let (e, d) = init_params_paper(&a, 5);
        let (enc, dis) = (ParamLayout::encoder(&a), ParamLayout::discriminator(&a));
        let max_abs = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let w1 = &e[enc.get("w1").range()];
        let b1 = (6.0f32 / 70.0).sqrt();
        assert!(max_abs(w1) <= b1 && max_abs(w1) > 0.9 * b1);
        let wh = &e[enc.get("w_head").range()];
        let bh = (6.0f32 / 40.0).sqrt(); // one head: 30 → 10, not 30 → 20
        assert!(max_abs(wh) <= bh && max_abs(wh) > 0.9 * bh);
        for b in ["b1", "b_head"] {
            assert!(e[enc.get(b).range()].iter().all(|&v| v == 0.0));
        }
        for t in &dis.tensors {
            let v = &d[t.range()];
            if t.name.starts_with('b') {
                assert!(v.iter().all(|&x| x == 0.0), "{}", t.name);
                continue;
            }
            let n = v.len() as f64;
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let std = (v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            if n >= 1000.0 {
                // 1920 draws: the sample std is within 5 % of 0.01 by a wide margin.
                assert!((std - 0.01).abs() < 0.0005, "{}: std {std}", t.name);
                assert!(mean.abs() < 0.001, "{}: mean {mean}", t.name);
            }
            assert!(max_abs(v) < 0.06, "{}", t.name);
        }
        assert_eq!(init_params_paper(&a, 5), (e, d));
    }
}
