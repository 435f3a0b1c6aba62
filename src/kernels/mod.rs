//! One module per WGSL kernel: the host wrapper (which owns the binding contract: uniform
//! layout, binding order, workgroup size) and the CPU twin used as the test oracle.
//!
//! Twins compute in f64 on f64 inputs so the same function serves as the oracle for the
//! f32 GPU result and as the forward for finite-difference gradient checks.

pub mod adam;
pub mod colsum;
pub mod decoder;
pub mod dense_recon;
pub mod disc_fused;
pub mod logistic;
pub mod matmul;
pub mod negatives;
pub mod reduce;
pub mod reparam;
pub mod rng;
pub mod spmm;

/// Every shader the crate ships, by file name: validated with naga in the tests.
pub const SHADERS: &[(&str, &str)] = &[
    ("adam.wgsl", adam::SOURCE),
    ("colsum.wgsl", colsum::SOURCE),
    ("decoder_gather.wgsl", decoder::GATHER_SOURCE),
    ("decoder_loss.wgsl", decoder::LOSS_SOURCE),
    ("decoder_sample.wgsl", negatives::SAMPLE_SOURCE),
    ("decoder_slots.wgsl", negatives::SLOTS_SOURCE),
    ("dense_recon.wgsl", dense_recon::SOURCE),
    ("disc_fused.wgsl", disc_fused::SOURCE),
    ("loop_probe.wgsl", crate::gpu::loop_probe::SOURCE),
    ("matmul.wgsl", matmul::SOURCE),
    ("reduce.wgsl", reduce::SOURCE),
    ("reparam.wgsl", reparam::SOURCE),
    ("rng.wgsl", rng::SOURCE),
    ("spmm.wgsl", spmm::SOURCE),
];

use crate::gpu::{Arg, Binding, GpuError, GpuResult};

/// A uniform block as the host writes it: its size and named field offsets (padding fields,
/// named `_…`, are left out: only their effect on the offsets and the size matters).
#[derive(Clone, Debug)]
pub struct ParamsLayout {
    pub size: usize,
    pub fields: Vec<(&'static str, usize)>,
}

/// The layout of a `#[repr(C)]` params struct from its type and field names.
macro_rules! params_layout {
    ($t:ty { $($f:ident),* $(,)? }) => {
        $crate::kernels::ParamsLayout {
            size: std::mem::size_of::<$t>(),
            fields: vec![$((stringify!($f), std::mem::offset_of!($t, $f))),*],
        }
    };
}
pub(crate) use params_layout;

/// One entry point's binding contract as the host declares it.
#[derive(Clone, Debug)]
pub struct Contract {
    /// The WGSL source (with its prepended library, where it has one).
    pub source: &'static str,
    pub entry: &'static str,
    /// In `@binding` order.
    pub bindings: &'static [Binding],
    pub params: ParamsLayout,
    /// `const` values the shader must declare equal to the host's (flag bits, layouts).
    pub constants: Vec<(&'static str, u32)>,
}

impl Contract {
    /// The contracts of several entry points of one shader that share its uniform.
    pub fn entries(
        source: &'static str,
        entries: &[(&'static str, &'static [Binding])],
        params: ParamsLayout,
        constants: Vec<(&'static str, u32)>,
    ) -> Vec<Contract> {
        entries
            .iter()
            .map(|&(entry, bindings)| Contract {
                source,
                entry,
                bindings,
                params: params.clone(),
                constants: constants.clone(),
            })
            .collect()
    }
}

/// Every entry point of every kernel the crate ships.
pub fn contracts() -> Vec<Contract> {
    [
        adam::contracts(),
        colsum::contracts(),
        decoder::contracts(),
        dense_recon::contracts(),
        disc_fused::contracts(),
        matmul::contracts(),
        negatives::contracts(),
        reduce::contracts(),
        reparam::contracts(),
        rng::contracts(),
        spmm::contracts(),
        Contract::entries(
            crate::gpu::loop_probe::SOURCE,
            &[("main", crate::gpu::loop_probe::BINDINGS)],
            params_layout!(crate::gpu::loop_probe::ProbeParams { iters, seed }),
            vec![],
        ),
    ]
    .concat()
}

/// Arithmetic and memory traffic of one launch (the roofline inputs `argva bench` prints).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    pub flops: f64,
    /// Bytes that must move between memory and the cores at least once.
    pub bytes: f64,
}

/// Each kernel module states the cost of its launches (`cost` functions) next to its
/// binding contract; the memory-bound kernels' FLOP counts are approximate (a transcendental
/// counts as one operation) and only tell a reader how little arithmetic they carry.
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
}

/// What a product kernel (spmm, matmul) does with each output element after the sum:
/// `out = [relu]( sum + bias[col] ) [· [mask > 0]] [+ out]`. Fusing these saves a dispatch and
/// a pass over the output each. `accumulate` adds into the existing output (gradient
/// accumulation); `mask` (matmul only) is a ReLU backward: with the forward activation as the
/// mask, the product that makes a hidden layer's gradient also applies ReLU′.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// Per-column bias, one value per output column.
    pub bias: Option<Arg<'a>>,
    /// Apply max(·, 0) after the bias (not allowed together with `accumulate`).
    pub relu: bool,
    /// `out += result` instead of `out = result`.
    pub accumulate: bool,
    /// Zero every element whose mask entry (same shape as `out`) is not > 0 (matmul only).
    pub mask: Option<Arg<'a>>,
}

/// Bit flags of the epilogue as the product shaders read them (`params.flags`).
pub(crate) const FLAG_BIAS: u32 = 1;
pub(crate) const FLAG_RELU: u32 = 2;
pub(crate) const FLAG_ACCUMULATE: u32 = 4;
pub(crate) const FLAG_MASK: u32 = 8;
/// The epilogue flags as the product shaders name them.
pub(crate) const EPILOGUE_FLAGS: [(&str, u32); 3] = [
    ("FLAG_BIAS", FLAG_BIAS),
    ("FLAG_RELU", FLAG_RELU),
    ("FLAG_ACCUMULATE", FLAG_ACCUMULATE),
];

impl<'a> Epilogue<'a> {
    /// Checks the epilogue against an output with `cols` columns and returns the bias binding
    /// (`fallback`, never read, when there is no bias: a binding cannot be left empty) and the
    /// shader's flag word.
    pub(crate) fn resolve(
        &self,
        what: &str,
        cols: usize,
        fallback: Arg<'a>,
    ) -> GpuResult<(Arg<'a>, u32)> {
        if self.relu && self.accumulate {
            return Err(GpuError::InvalidArgument {
                what: what.to_string(),
                message: "relu and accumulate cannot be combined in one epilogue".into(),
            });
        }
        let mut flags = 0;
        if self.relu {
            flags |= FLAG_RELU;
        }
        if self.accumulate {
            flags |= FLAG_ACCUMULATE;
        }
        let bias = match self.bias {
            Some(bias) => {
                check_len(&format!("{what}: `bias`"), &bias, cols)?;
                flags |= FLAG_BIAS;
                bias
            }
            None => fallback,
        };
        Ok((bias, flags))
    }
}

/// `SizeMismatch` unless the binding holds at least `elements` 4-byte values.
pub(crate) fn check_len(what: &str, arg: &Arg<'_>, elements: usize) -> GpuResult<()> {
    let got = (arg.len_bytes() / 4) as usize;
    if got < elements {
        return Err(GpuError::SizeMismatch {
            what: what.to_string(),
            expected: elements,
            got,
        });
    }
    Ok(())
}

/// Shaders index with u32: every operand must have fewer than 2³² elements.
pub(crate) fn check_u32(what: &str, elements: usize) -> GpuResult<()> {
    if elements > u32::MAX as usize {
        return Err(GpuError::InvalidArgument {
            what: what.to_string(),
            message: format!("{elements} elements do not fit the shader's 32-bit indices"),
        });
    }
    Ok(())
}

/// CPU twin of the epilogue on a row-major `[rows × cols]` result, in place:
/// `out = [relu](sum + bias[col]) [+ acc]`.
pub(crate) fn epilogue_cpu(
    out: &mut [f64],
    cols: usize,
    bias: Option<&[f64]>,
    relu: bool,
    acc: Option<&[f64]>,
) {
    for (i, v) in out.iter_mut().enumerate() {
        if let Some(bias) = bias {
            *v += bias[i % cols];
        }
        if relu {
            *v = v.max(0.0);
        }
        if let Some(acc) = acc {
            *v += acc[i];
        }
    }
}
