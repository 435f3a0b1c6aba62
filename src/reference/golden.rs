//! Golden epochs: one training epoch of PyTorch Geometric's GAE / VGAE / ARGA / ARGVA in
//! float64 with every random draw written out (`tests/fixtures/golden/*.json`; format in
//! `tests/fixtures/golden/README.md`). Parsed into our flat parameter layouts so a replay — the f64
//! [`super::epoch`] or the GPU engine — can be compared element by element.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Csr, gcn_norm_f64};
use crate::model::{Arch, ModelKind, Params, StateDict};

#[derive(Debug, thiserror::Error)]
pub enum GoldenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a golden-epoch JSON file: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

/// Learning rates, sizes and Adam settings of the recorded epoch.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Hyper {
    pub num_nodes: usize,
    pub num_features: usize,
    pub latent: usize,
    pub disc_hidden: usize,
    pub disc_steps: usize,
    pub encoder_lr: f64,
    pub discriminator_lr: f64,
    pub adam_betas: [f64; 2],
    pub adam_eps: f64,
}

/// What PyG computed during the epoch: what [`super::epoch`] returns, plus the parameters
/// after the epoch. Parameter vectors are in our flat layouts.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenOutputs {
    pub epoch: super::EpochOutputs,
    pub after_enc: Vec<f64>,
    /// Adversarial models only.
    pub after_dis: Option<Vec<f64>>,
}

/// One parsed golden epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct Golden {
    pub arch: Arch,
    pub hyper: Hyper,
    /// Dense `N × F` features.
    pub x: Vec<f64>,
    /// Directed `[source, target]` message edges (both directions present).
    pub message_edges: Vec<[u32; 2]>,
    pub pos: Vec<[u32; 2]>,
    pub neg: Vec<[u32; 2]>,
    /// `N × d` reparameterisation noise (variational models).
    pub eps: Option<Vec<f64>>,
    /// One `N × d` sample per discriminator step (adversarial models).
    pub z_prime: Vec<Vec<f64>>,
    pub init_enc: Vec<f64>,
    /// Adversarial models only.
    pub init_dis: Option<Vec<f64>>,
    pub outputs: GoldenOutputs,
}

#[derive(Deserialize)]
struct RawTensor {
    shape: Vec<usize>,
    data: Vec<f64>,
}

#[derive(Deserialize)]
struct RawInputs {
    x: RawTensor,
    message_edges: RawTensor,
    pos_pairs: RawTensor,
    neg_pairs: RawTensor,
    eps: Option<RawTensor>,
    z_prime: Vec<RawTensor>,
}

#[derive(Deserialize)]
struct RawOutputs {
    z: RawTensor,
    mu: Option<RawTensor>,
    logstd: Option<RawTensor>,
    disc_losses: Vec<f64>,
    reg_loss: f64,
    recon_loss: f64,
    kl_loss: f64,
    total_loss: f64,
    encoder_grads: BTreeMap<String, RawTensor>,
    after: BTreeMap<String, RawTensor>,
}

#[derive(Deserialize)]
struct RawFile {
    model: ModelKind,
    hyper: Hyper,
    inputs: RawInputs,
    init: BTreeMap<String, RawTensor>,
    outputs: RawOutputs,
}

impl Golden {
    /// Reads and parses a golden file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, GoldenError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GoldenError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_json(&bytes, path)
    }

    /// Parses golden JSON bytes; `origin` names the source in errors.
    pub fn from_json(bytes: &[u8], origin: impl AsRef<Path>) -> Result<Self, GoldenError> {
        let path = origin.as_ref();
        let raw: RawFile = serde_json::from_slice(bytes).map_err(|source| GoldenError::Json {
            path: path.into(),
            source,
        })?;
        parse(raw).map_err(|problem| GoldenError::Invalid {
            path: path.into(),
            problem,
        })
    }

    pub fn nodes(&self) -> usize {
        self.hyper.num_nodes
    }

    /// Features as CSR (what [`super::EpochInputs`] takes).
    pub fn x_csr(&self) -> Csr {
        Csr::from_dense(self.nodes(), self.arch.features, &self.x)
    }

    /// The GCN operator of the message edges.
    pub fn adj(&self) -> Csr {
        gcn_norm_f64(self.nodes(), &self.message_edges)
    }

    /// The epoch's inputs for a replay, given [`Self::x_csr`] and [`Self::adj`].
    pub fn epoch_inputs<'a>(&'a self, x: &'a Csr, adj: &'a Csr) -> super::EpochInputs<'a> {
        super::EpochInputs {
            arch: self.arch,
            x,
            adj,
            pos: &self.pos,
            neg: &self.neg,
            eps: self.eps.as_deref(),
            z_prime: &self.z_prime,
            lr_enc: self.hyper.encoder_lr,
            lr_dis: self.hyper.discriminator_lr,
            epoch_index: 0,
        }
    }
}

fn tensor(t: &RawTensor, what: &str, shape: &[usize]) -> Result<Vec<f64>, String> {
    if t.shape != shape || t.data.len() != shape.iter().product::<usize>() {
        return Err(format!(
            "`{what}` has shape {:?} ({} values), expected {shape:?}",
            t.shape,
            t.data.len()
        ));
    }
    Ok(t.data.clone())
}

/// A `[2, P]` index tensor as P `[row0, row1]` pairs of node ids `< n`.
fn pairs(t: &RawTensor, what: &str, n: usize) -> Result<Vec<[u32; 2]>, String> {
    if t.shape.len() != 2 || t.shape[0] != 2 || t.data.len() != 2 * t.shape[1] {
        return Err(format!("`{what}` has shape {:?}, expected [2, P]", t.shape));
    }
    let p = t.shape[1];
    let node = |v: f64| {
        if v.fract() == 0.0 && v >= 0.0 && (v as usize) < n {
            Ok(v as u32)
        } else {
            Err(format!("`{what}` holds {v}, not a node id below {n}"))
        }
    };
    (0..p)
        .map(|k| Ok([node(t.data[k])?, node(t.data[p + k])?]))
        .collect()
}

fn state_dict(map: &BTreeMap<String, RawTensor>, prefix: &str) -> StateDict {
    // ARGVA also stores its encoder under `VGAE.encoder.*`: those keys are simply not looked up.
    map.iter()
        .map(|(k, t)| (format!("{prefix}{k}"), (t.shape.clone(), t.data.clone())))
        .collect()
}

fn parse(raw: RawFile) -> Result<Golden, String> {
    let h = raw.hyper.clone();
    let kind = raw.model;
    let hidden = raw
        .init
        .get("encoder.conv1.bias")
        .and_then(|t| t.shape.first().copied())
        .ok_or("missing tensor `encoder.conv1.bias`")?;
    let arch = Arch {
        kind,
        features: h.num_features,
        hidden,
        latent: h.latent,
        disc_hidden: h.disc_hidden,
        disc_hidden2: None,
        encoder_bias: true,
    };
    let (n, d) = (h.num_nodes, h.latent);
    let nd = [n, d];
    let inp = &raw.inputs;
    let x = tensor(&inp.x, "inputs.x", &[n, h.num_features])?;
    let message_edges = pairs(&inp.message_edges, "inputs.message_edges", n)?;
    let pos = pairs(&inp.pos_pairs, "inputs.pos_pairs", n)?;
    let neg = pairs(&inp.neg_pairs, "inputs.neg_pairs", n)?;
    let eps = match (&inp.eps, kind.variational()) {
        (Some(t), true) => Some(tensor(t, "inputs.eps", &nd)?),
        (None, false) => None,
        (_, v) => {
            return Err(format!(
                "`inputs.eps` must be present exactly for variational models ({} variational: {v})",
                kind.name()
            ));
        }
    };
    let steps = if kind.adversarial() { h.disc_steps } else { 0 };
    if inp.z_prime.len() != steps || raw.outputs.disc_losses.len() != steps {
        return Err(format!(
            "expected {steps} z_prime samples and disc_losses, found {} and {}",
            inp.z_prime.len(),
            raw.outputs.disc_losses.len()
        ));
    }
    let z_prime = inp
        .z_prime
        .iter()
        .map(|t| tensor(t, "inputs.z_prime[k]", &nd))
        .collect::<Result<_, _>>()?;

    let init = state_dict(&raw.init, "");
    let init_enc = Params::encoder_from_state_dict_f64(&arch, &init)?;
    let init_dis = if kind.adversarial() {
        Some(Params::discriminator_from_state_dict_f64(&arch, &init)?)
    } else {
        None
    };

    let out = &raw.outputs;
    let head = |t: &Option<RawTensor>, what| {
        t.as_ref()
            .map(|t| tensor(t, what, &nd))
            .transpose()?
            .ok_or_else(|| format!("missing `{what}` for a variational model"))
    };
    let (mu, logstd) = if kind.variational() {
        (
            Some(head(&out.mu, "outputs.mu")?),
            Some(head(&out.logstd, "outputs.logstd")?),
        )
    } else {
        (None, None)
    };
    let after = state_dict(&out.after, "");
    let epoch = super::EpochOutputs {
        z: tensor(&out.z, "outputs.z", &nd)?,
        mu,
        logstd,
        disc_losses: out.disc_losses.clone(),
        reg_loss: out.reg_loss,
        recon_loss: out.recon_loss,
        kl_loss: out.kl_loss,
        total_loss: out.total_loss,
        // Gradients are keyed relative to the encoder (`conv1.bias`, …).
        encoder_grads: Params::encoder_from_state_dict_f64(
            &arch,
            &state_dict(&out.encoder_grads, "encoder."),
        )
        .map_err(|e| format!("outputs.encoder_grads: {e}"))?,
    };
    let outputs = GoldenOutputs {
        epoch,
        after_enc: Params::encoder_from_state_dict_f64(&arch, &after)
            .map_err(|e| format!("outputs.after: {e}"))?,
        after_dis: if kind.adversarial() {
            Some(
                Params::discriminator_from_state_dict_f64(&arch, &after)
                    .map_err(|e| format!("outputs.after: {e}"))?,
            )
        } else {
            None
        },
    };
    Ok(Golden {
        arch,
        hyper: h,
        x,
        message_edges,
        pos,
        neg,
        eps,
        z_prime,
        init_enc,
        init_dis,
        outputs,
    })
}
