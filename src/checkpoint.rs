//! Checkpoints in safetensors: weights under PyTorch `state_dict` names (so a PyTorch model
//! of the same architecture loads them with `load_state_dict`), Adam's moments, and the run's
//! config and progress in the header's metadata.
//!
//! Tensor names (all float32, nn.Linear/GCNConv `[out, in]` weight layout):
//! - `encoder.conv1.lin.weight`, `encoder.conv1.bias`, then `encoder.conv_mu.*` and
//!   `encoder.conv_logstd.*` (VGAE/ARGVA) or `encoder.conv2.*` (GAE/ARGA);
//! - `discriminator.lin{1,2,3}.{weight,bias}` (ARGA/ARGVA);
//! - the same names prefixed `adam.exp_avg.` and `adam.exp_avg_sq.` for Adam's m and v;
//! - the paper recipe's generator step keeps Adam moments of its own for the encoder: its
//!   encoder names prefixed `generator_adam.exp_avg.` and `generator_adam.exp_avg_sq.`.
//!
//! Metadata: `argva.format` (= "1"), `argva.config` (the TrainConfig as JSON), `argva.arch`
//! (JSON), `argva.epochs_done`. Randomness needs no stored state: every draw (ε, z′,
//! negatives) is a pure function of (seed, epoch, stream), so `epochs_done` and the seed in
//! the config resume the exact sequence.
//!
//! Pure bytes in and out: the CLI does the (atomic) file writes.

use std::collections::HashMap;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::model::{Arch, ParamLayout, Params, StateDict};
use crate::train::TrainConfig;
use crate::train::engine::EngineState;

const FORMAT: &str = "1";
/// Prefixes of the generator step's Adam moments (paper recipe).
const GEN: &str = "generator_adam.";
const GEN_M: &str = "generator_adam.exp_avg.";
const GEN_V: &str = "generator_adam.exp_avg_sq.";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a readable safetensors file: {0}")]
    Format(String),
    #[error("not an argva checkpoint: metadata `{0}` is missing")]
    MissingMetadata(&'static str),
    #[error("checkpoint metadata `{key}` is invalid: {message}")]
    BadMetadata { key: &'static str, message: String },
    #[error("checkpoint tensor `{name}`: {message}")]
    Tensor { name: String, message: String },
    #[error("checkpoint architecture mismatch: {0}")]
    Architecture(String),
}

/// Everything needed to resume training or embed a graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub config: TrainConfig,
    pub arch: Arch,
    pub epochs_done: u32,
    /// Flat parameters and Adam (m, v) in [`ParamLayout`] order (padding included).
    pub state: EngineState,
}

impl Checkpoint {
    /// The state after `epochs_done` epochs of a model trained with `cfg` on `features`
    /// input features: the one place a checkpoint is assembled.
    pub fn new(cfg: &TrainConfig, features: usize, epochs_done: u32, state: EngineState) -> Self {
        Checkpoint {
            config: cfg.clone(),
            arch: cfg.arch(features),
            epochs_done,
            state,
        }
    }
}

fn check_len(what: &str, v: &[f32], layout: &ParamLayout) -> Result<(), CheckpointError> {
    if v.len() != layout.len {
        return Err(CheckpointError::Architecture(format!(
            "{what} has {} values, the architecture needs {}",
            v.len(),
            layout.len
        )));
    }
    Ok(())
}

/// The same file with its JSON header's keys in sorted order: safetensors writes the metadata
/// from a `HashMap`, whose order changes from run to run, and the same run must give the same
/// bytes. Offsets are explicit in the header, so its key order is free; its length (padding
/// included) stays the same.
fn sorted_header(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8-byte length")) as usize;
    let header = &bytes[8..8 + n];
    // serde_json's map is a BTreeMap (no preserve_order): printing sorts every object.
    let value: serde_json::Value =
        serde_json::from_slice(header.trim_ascii_end()).expect("safetensors wrote valid JSON");
    let mut text = serde_json::to_string(&value)
        .expect("a JSON value prints")
        .into_bytes();
    debug_assert!(text.len() <= n, "same content, same length");
    text.resize(n, b' ');
    bytes[8..8 + n].copy_from_slice(&text);
    bytes
}

impl Checkpoint {
    pub fn to_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        let st = &self.state;
        let enc = ParamLayout::encoder(&self.arch);
        let dis = ParamLayout::discriminator(&self.arch);
        check_len("encoder", &st.encoder, &enc)?;
        check_len("encoder Adam m", &st.encoder_adam.0, &enc)?;
        check_len("encoder Adam v", &st.encoder_adam.1, &enc)?;
        let adversarial = self.arch.kind.adversarial();
        if adversarial {
            check_len("discriminator", &st.discriminator, &dis)?;
            check_len("discriminator Adam m", &st.discriminator_adam.0, &dis)?;
            check_len("discriminator Adam v", &st.discriminator_adam.1, &dis)?;
        }
        let mut sd: Vec<(String, StateDict)> = vec![
            (
                String::new(),
                Params::encoder_to_state_dict(&self.arch, &st.encoder),
            ),
            (
                "adam.exp_avg.".into(),
                Params::encoder_to_state_dict(&self.arch, &st.encoder_adam.0),
            ),
            (
                "adam.exp_avg_sq.".into(),
                Params::encoder_to_state_dict(&self.arch, &st.encoder_adam.1),
            ),
        ];
        if !st.generator_adam.0.is_empty() {
            check_len("generator Adam m", &st.generator_adam.0, &enc)?;
            check_len("generator Adam v", &st.generator_adam.1, &enc)?;
            for (prefix, moments) in [(GEN_M, &st.generator_adam.0), (GEN_V, &st.generator_adam.1)]
            {
                let dict = Params::encoder_to_state_dict(&self.arch, moments);
                sd.push((prefix.into(), dict));
            }
        }
        if adversarial {
            sd.push((
                String::new(),
                Params::discriminator_to_state_dict(&self.arch, &st.discriminator),
            ));
            sd.push((
                "adam.exp_avg.".into(),
                Params::discriminator_to_state_dict(&self.arch, &st.discriminator_adam.0),
            ));
            sd.push((
                "adam.exp_avg_sq.".into(),
                Params::discriminator_to_state_dict(&self.arch, &st.discriminator_adam.1),
            ));
        }
        let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        for (prefix, dict) in sd {
            for (name, (shape, values)) in dict {
                let bytes: Vec<u8> = values
                    .iter()
                    .flat_map(|&v| (v as f32).to_le_bytes())
                    .collect();
                owned.push((format!("{prefix}{name}"), shape, bytes));
            }
        }
        let views = owned
            .iter()
            .map(|(name, shape, bytes)| {
                TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| CheckpointError::Tensor {
                        name: name.clone(),
                        message: e.to_string(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let json = |v: serde_json::Result<String>| v.expect("config and arch always serialize");
        let meta = HashMap::from([
            ("argva.format".to_string(), FORMAT.to_string()),
            (
                "argva.config".to_string(),
                json(serde_json::to_string(&self.config)),
            ),
            (
                "argva.arch".to_string(),
                json(serde_json::to_string(&self.arch)),
            ),
            (
                "argva.epochs_done".to_string(),
                self.epochs_done.to_string(),
            ),
        ]);
        let bytes = safetensors::serialize(views, Some(meta))
            .map_err(|e| CheckpointError::Format(e.to_string()))?;
        Ok(sorted_header(bytes))
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CheckpointError> {
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| CheckpointError::Format(e.to_string()))?;
        let st =
            SafeTensors::deserialize(bytes).map_err(|e| CheckpointError::Format(e.to_string()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        let get = |key: &'static str| meta.get(key).ok_or(CheckpointError::MissingMetadata(key));
        let format = get("argva.format")?;
        if format != FORMAT {
            return Err(CheckpointError::BadMetadata {
                key: "argva.format",
                message: format!("version {format}, this argva reads version {FORMAT}"),
            });
        }
        let bad = |key: &'static str| {
            move |e: serde_json::Error| CheckpointError::BadMetadata {
                key,
                message: e.to_string(),
            }
        };
        let config: TrainConfig =
            serde_json::from_str(get("argva.config")?).map_err(bad("argva.config"))?;
        let arch: Arch = serde_json::from_str(get("argva.arch")?).map_err(bad("argva.arch"))?;
        let epochs_done: u32 =
            get("argva.epochs_done")?
                .parse()
                .map_err(|e: std::num::ParseIntError| CheckpointError::BadMetadata {
                    key: "argva.epochs_done",
                    message: e.to_string(),
                })?;
        if arch.kind != config.model || arch.latent != config.latent {
            return Err(CheckpointError::Architecture(
                "the stored architecture disagrees with the stored config".into(),
            ));
        }

        let read = |prefix: &str| -> Result<StateDict, CheckpointError> {
            let mut sd = StateDict::new();
            for (name, view) in st.tensors() {
                let Some(short) = name.strip_prefix(prefix) else {
                    continue;
                };
                if prefix.is_empty() && (name.starts_with("adam.") || name.starts_with(GEN)) {
                    continue;
                }
                if view.dtype() != Dtype::F32 {
                    return Err(CheckpointError::Tensor {
                        name,
                        message: format!("dtype {:?}, expected F32", view.dtype()),
                    });
                }
                let values = view
                    .data()
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect();
                sd.insert(short.to_string(), (view.shape().to_vec(), values));
            }
            Ok(sd)
        };
        let arch_err = CheckpointError::Architecture;
        let (params, m, v) = (read("")?, read("adam.exp_avg.")?, read("adam.exp_avg_sq.")?);
        let enc = |sd: &StateDict| Params::encoder_from_state_dict(&arch, sd);
        let encoder = enc(&params).map_err(arch_err)?;
        let encoder_adam = (enc(&m).map_err(arch_err)?, enc(&v).map_err(arch_err)?);
        let (discriminator, discriminator_adam) = if arch.kind.adversarial() {
            let dis = |sd: &StateDict| Params::discriminator_from_state_dict(&arch, sd);
            (
                dis(&params).map_err(arch_err)?,
                (dis(&m).map_err(arch_err)?, dis(&v).map_err(arch_err)?),
            )
        } else {
            (Vec::new(), (Vec::new(), Vec::new()))
        };
        let generator_adam = if st.names().iter().any(|n| n.starts_with(GEN)) {
            let (m, v) = (read(GEN_M)?, read(GEN_V)?);
            (enc(&m).map_err(arch_err)?, enc(&v).map_err(arch_err)?)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(Self {
            config,
            arch,
            epochs_done,
            state: EngineState {
                encoder,
                discriminator,
                encoder_adam,
                discriminator_adam,
                generator_adam,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::TrainConfig;

    fn checkpoint() -> Checkpoint {
        let config = TrainConfig::DEFAULT;
        let arch = config.arch(7);
        let values = |len: usize, k: f32| (0..len).map(|i| k * i as f32).collect::<Vec<_>>();
        let (e, d) = (
            ParamLayout::encoder(&arch).len,
            ParamLayout::discriminator(&arch).len,
        );
        Checkpoint {
            state: EngineState {
                encoder: values(e, 0.5),
                discriminator: values(d, -0.25),
                encoder_adam: (values(e, 0.1), values(e, 0.01)),
                discriminator_adam: (values(d, 0.2), values(d, 0.02)),
                generator_adam: (Vec::new(), Vec::new()),
            },
            config,
            arch,
            epochs_done: 17,
        }
    }

    /// The metadata comes from a HashMap; each call hashes with other keys, as each process
    /// does, so equal bytes here mean a stable order.
    #[test]
    fn the_same_checkpoint_gives_the_same_bytes_and_reads_back() {
        let ck = checkpoint();
        let first = ck.to_bytes().unwrap();
        for _ in 0..8 {
            assert_eq!(ck.to_bytes().unwrap(), first);
        }
        // (Padding between tensors is not stored: compare what a reader gets, twice.)
        let back = Checkpoint::from_bytes(&first).unwrap();
        assert!(back.to_bytes().unwrap() == first);
        assert_eq!((back.epochs_done, back.arch), (17, ck.arch));
    }

    /// The paper recipe's generator moments travel with the checkpoint and read back.
    #[test]
    fn generator_moments_round_trip() {
        let mut ck = checkpoint();
        let e = ck.state.encoder.len();
        // (padding between tensors is not stored: moments with zero padding read back equal)
        let unpadded = |v: Vec<f32>| {
            let sd = Params::encoder_to_state_dict(&ck.arch, &v);
            Params::encoder_from_state_dict(&ck.arch, &sd).unwrap()
        };
        ck.state.generator_adam = (
            unpadded((0..e).map(|i| i as f32 * 0.3).collect()),
            unpadded(vec![0.7; e]),
        );
        let back = Checkpoint::from_bytes(&ck.to_bytes().unwrap()).unwrap();
        assert_eq!(back.state.generator_adam, ck.state.generator_adam);
        assert_eq!(back.state.encoder_adam, ck.state.encoder_adam);
        ck.state.generator_adam.1.pop();
        let err = ck.to_bytes().unwrap_err().to_string();
        assert!(err.contains("generator Adam v"), "{err}");
    }
}
