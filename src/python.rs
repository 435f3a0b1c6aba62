//! The Python extension module `argva._argva` (cargo feature `python`; built by maturin from
//! `pyproject.toml`). It is the low level under `python/argva/`: arrays arrive as bytes
//! (little-endian, C order; the Python layer converts numpy, SciPy and torch inputs), results
//! leave as bytes and plain dicts. Training runs the library's job ([`crate::run::run`], as
//! the CLI and the page do) with the GIL released; Ctrl-C is checked at every epoch and stops
//! the run with `KeyboardInterrupt` (after saving a checkpoint when a checkpoint folder is
//! given). Bad input raises `ValueError`, everything else `RuntimeError`, with the CLI's
//! message.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList};

use crate::checkpoint::Checkpoint;
use crate::data::arrays::{FeatureArray, GraphArrays, from_arrays};
use crate::data::{DataError, Graph};
use crate::gpu::{AdapterChoice, GpuContext};
use crate::model::ModelKind;
use crate::run::{RunError, RunHooks, RunOptions, RunOutcome, RunSettings, Select, error_line};
use crate::train::fit::Event;
use crate::train::{Recipe, TrainConfig};

/// Node features from Python: `(rows, cols, values)` dense float32, or `(rows, cols, indptr,
/// indices, data)` CSR with int64 indices and float32 data.
#[derive(FromPyObject)]
enum Features<'py> {
    Dense(usize, usize, Bound<'py, PyBytes>),
    Csr(
        usize,
        usize,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    ),
}

/// A device argument: an index into `devices()` or a name fragment.
#[derive(FromPyObject)]
enum Device {
    Index(usize),
    Name(String),
}

/// A graph as the Python layer hands it over (borrowed bytes, viewed as typed slices).
struct GraphIn<'a> {
    edges: Cow<'a, [i64]>,
    num_nodes: Option<usize>,
    features: Option<FeaturesIn<'a>>,
    labels: Option<Cow<'a, [i64]>>,
}

enum FeaturesIn<'a> {
    Dense(usize, usize, Cow<'a, [f32]>),
    Csr(usize, usize, Cow<'a, [i64]>, Cow<'a, [i64]>, Cow<'a, [f32]>),
}

/// `bytes` as a slice of `T`: borrowed when aligned (CPython's bytes payload is), else copied.
fn typed<'a, T: bytemuck::Pod>(b: &'a Bound<'_, PyBytes>, what: &str) -> PyResult<Cow<'a, [T]>> {
    let raw = b.as_bytes();
    if raw.len() % size_of::<T>() != 0 {
        return Err(PyValueError::new_err(format!(
            "{what}: {} bytes is not a whole number of {}-byte values",
            raw.len(),
            size_of::<T>()
        )));
    }
    Ok(match bytemuck::try_cast_slice(raw) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytemuck::pod_collect_to_vec(raw)),
    })
}

impl<'a> GraphIn<'a> {
    fn new(
        edges: &'a Bound<'_, PyBytes>,
        num_nodes: Option<usize>,
        x: &'a Option<Features<'_>>,
        y: &'a Option<Bound<'_, PyBytes>>,
    ) -> PyResult<Self> {
        let features = match x {
            None => None,
            Some(Features::Dense(r, c, v)) => Some(FeaturesIn::Dense(*r, *c, typed(v, "x")?)),
            Some(Features::Csr(r, c, p, i, d)) => Some(FeaturesIn::Csr(
                *r,
                *c,
                typed(p, "x.indptr")?,
                typed(i, "x.indices")?,
                typed(d, "x.data")?,
            )),
        };
        Ok(Self {
            edges: typed(edges, "edge_index")?,
            num_nodes,
            features,
            labels: y.as_ref().map(|b| typed(b, "y")).transpose()?,
        })
    }

    fn graph(&self, name: &str) -> Result<Graph, DataError> {
        let features = self.features.as_ref().map(|f| match f {
            FeaturesIn::Dense(rows, cols, values) => FeatureArray::Dense {
                rows: *rows,
                cols: *cols,
                values,
            },
            FeaturesIn::Csr(rows, cols, indptr, indices, data) => FeatureArray::Csr {
                rows: *rows,
                cols: *cols,
                indptr,
                indices,
                data,
            },
        });
        from_arrays(&GraphArrays {
            name,
            edges: &self.edges,
            num_nodes: self.num_nodes,
            features,
            labels: self.labels.as_deref(),
        })
    }
}

/// The error a Python caller sees: bad input (data, settings, checkpoints) is a
/// `ValueError`, anything else (no adapter, the device, a diverged run) a `RuntimeError`.
fn py_err(e: anyhow::Error) -> PyErr {
    let text = error_line(e.as_ref());
    let bad_input = e.chain().any(|c| {
        c.downcast_ref::<RunError>()
            .is_some_and(RunError::is_bad_input)
            || c.is::<DataError>()
            || c.is::<crate::checkpoint::CheckpointError>()
            || c.is::<BadInput>()
    });
    if bad_input {
        PyValueError::new_err(text)
    } else {
        PyRuntimeError::new_err(text)
    }
}

/// A setting the caller got wrong (marks the error as a `ValueError`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadInput(String);

/// One device per adapter choice for the life of the process: pipelines compile once.
fn context(choice: &AdapterChoice) -> anyhow::Result<Arc<GpuContext>> {
    static OPEN: Mutex<Vec<(AdapterChoice, Arc<GpuContext>)>> = Mutex::new(Vec::new());
    let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, ctx)) = open.iter().find(|(c, _)| c == choice) {
        return Ok(ctx.clone());
    }
    let ctx = Arc::new(pollster::block_on(GpuContext::open(choice))?);
    open.push((choice.clone(), ctx.clone()));
    Ok(ctx)
}

fn choice(device: Option<Device>) -> AdapterChoice {
    match device {
        None => AdapterChoice::Default,
        Some(Device::Index(i)) => AdapterChoice::Index(i),
        Some(Device::Name(n)) => AdapterChoice::Name(n),
    }
}

/// Run settings from the Python layer's JSON (the keyword arguments of `argva.fit`, as
/// [`RunOptions`]), resolved and checked as the CLI's flags are.
fn settings(json: &str) -> anyhow::Result<RunSettings> {
    let options: RunOptions = serde_json::from_str(json).map_err(|e| {
        // (the JSON is the Python layer's, not the user's: its line and column mean nothing)
        let text = e.to_string();
        let text = text.split(" at line ").next().unwrap_or(&text).to_string();
        anyhow::Error::new(BadInput(format!("argva.fit settings: {text}")))
    })?;
    Ok(options.settings("argva.fit ")?)
}

/// The hyperparameters `argva.fit`'s settings resolve to, as JSON (checked: a bad setting
/// raises `ValueError` before any training).
#[pyfunction]
fn config(settings_json: &str) -> PyResult<String> {
    let s = settings(settings_json).map_err(py_err)?;
    serde_json::to_string(&s.cfg).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// The Python caller's side of a run: `on_event(kind, epoch, values)` per event, Ctrl-C,
/// checkpoints written into `checkpoints` (a folder), notes as Python warnings.
struct PyHooks<'a> {
    on_event: Option<&'a Py<PyAny>>,
    checkpoints: Option<&'a std::path::Path>,
    /// The exception that stopped the run (Ctrl-C, or raised by `on_event`).
    stop: Option<PyErr>,
}

impl PyHooks<'_> {
    /// Calls `on_event` and checks for Ctrl-C, holding the GIL briefly.
    fn call(
        &mut self,
        kind: &str,
        epoch: u32,
        fill: &dyn Fn(&Bound<'_, PyDict>) -> PyResult<()>,
    ) -> ControlFlow<()> {
        let on_event = self.on_event;
        let result = Python::attach(|py| -> PyResult<()> {
            py.check_signals()?;
            let Some(cb) = on_event else { return Ok(()) };
            let values = PyDict::new(py);
            fill(&values)?;
            cb.call1(py, (kind, epoch, values))?;
            Ok(())
        });
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                self.stop = Some(e);
                ControlFlow::Break(())
            }
        }
    }
}

impl RunHooks for PyHooks<'_> {
    fn event(&mut self, event: Event<'_>) -> ControlFlow<()> {
        match event {
            Event::Epoch(l) => self.call("epoch", l.epoch + 1, &|v| {
                v.set_item("total", l.total)?;
                v.set_item("recon", l.recon)?;
                v.set_item("reg", l.reg)?;
                v.set_item("kl", l.kl)?;
                v.set_item("disc", l.disc)
            }),
            Event::Validated { epoch, scores, .. } => self.call("val", epoch, &|v| {
                v.set_item("auc", scores.auc)?;
                v.set_item("ap", scores.ap)
            }),
            Event::Checkpoint { .. } => ControlFlow::Continue(()),
        }
    }

    fn checkpoint(&mut self, ck: &Checkpoint) -> Result<(), String> {
        let path = save_checkpoint(self.checkpoints, ck).map_err(|e| error_line(e.as_ref()))?;
        let path = path.display().to_string();
        match self.call("checkpoint", ck.epochs_done, &|v| v.set_item("path", &path)) {
            ControlFlow::Continue(()) => Ok(()),
            ControlFlow::Break(()) => Err("stopped by the on_event callback".into()),
        }
    }

    fn note(&mut self, text: &str) {
        Python::attach(|py| {
            let warn = py
                .import("warnings")
                .and_then(|w| w.call_method1("warn", (text,)));
            if let Err(e) = warn {
                e.restore(py);
            }
        });
    }
}

/// Writes `ck` as `checkpoint-EPOCH.safetensors` into `dir` (atomically, as the CLI does).
fn save_checkpoint(
    dir: Option<&std::path::Path>,
    ck: &Checkpoint,
) -> anyhow::Result<std::path::PathBuf> {
    let dir = dir.ok_or_else(|| BadInput("save_every needs a checkpoint_dir".into()))?;
    let name = format!("checkpoint-{:05}.safetensors", ck.epochs_done);
    crate::output::write_atomic(dir, &name, &ck.to_bytes()?)
}

/// Trains and evaluates; see `argva.fit` for the meaning of everything.
#[pyfunction]
#[pyo3(signature = (edges, num_nodes, x, y, name, settings_json, device, on_event, resume, checkpoint_dir))]
#[allow(clippy::too_many_arguments)]
fn fit<'py>(
    py: Python<'py>,
    edges: Bound<'py, PyBytes>,
    num_nodes: Option<usize>,
    x: Option<Features<'py>>,
    y: Option<Bound<'py, PyBytes>>,
    name: String,
    settings_json: String,
    device: Option<Device>,
    on_event: Option<Py<PyAny>>,
    resume: Option<Bound<'py, PyBytes>>,
    checkpoint_dir: Option<std::path::PathBuf>,
) -> PyResult<Bound<'py, PyDict>> {
    let input = GraphIn::new(&edges, num_nodes, &x, &y)?;
    let resume = resume.as_ref().map(|b| b.as_bytes());
    let choice = choice(device);
    let mut hooks = PyHooks {
        on_event: on_event.as_ref(),
        checkpoints: checkpoint_dir.as_deref(),
        stop: None,
    };
    let run = py.detach(|| -> anyhow::Result<_> {
        let s = settings(&settings_json)?;
        if let Some(dir) = &checkpoint_dir {
            crate::output::prepare_dir(dir)?;
        }
        let resume = resume.map(Checkpoint::from_bytes).transpose()?;
        let graph = input.graph(&name)?;
        let ctx = context(&choice)?;
        let run = crate::run::run(&ctx, &graph, &s, resume.as_ref(), &mut hooks);
        match pollster::block_on(run) {
            Ok(out) => Ok((graph, out)),
            Err(RunError::Stopped {
                checkpoint: Some(ck),
                ..
            }) if checkpoint_dir.is_some() => {
                let path = save_checkpoint(checkpoint_dir.as_deref(), &ck)?;
                Err(anyhow::anyhow!("stopped; saved {}", path.display()))
            }
            Err(e) => Err(e.into()),
        }
    });
    if let Some(e) = hooks.stop {
        return Err(e);
    }
    let (graph, out) = run.map_err(py_err)?;
    fit_result(py, graph, out)
}

/// What `FitResult.write` needs to write the run folder later, without the embedding (the
/// Python side holds that, and hands it back): the run's files are encoded only when asked
/// for, one at a time.
#[pyclass(frozen)]
struct RunFolder {
    outcome: Mutex<RunOutcome>,
    labels: Option<Vec<u32>>,
    node_ids: Option<Vec<String>>,
}

#[pymethods]
impl RunFolder {
    /// Writes every file of the run folder into `folder` atomically (`embedding`: the run's
    /// float32 bytes); returns their paths.
    fn write(
        &self,
        py: Python<'_>,
        folder: std::path::PathBuf,
        embedding: Vec<u8>,
    ) -> PyResult<Vec<String>> {
        py.detach(|| -> anyhow::Result<Vec<String>> {
            crate::output::prepare_dir(&folder)?;
            let mut out = self.outcome.lock().unwrap_or_else(|p| p.into_inner());
            out.embedding = bytemuck::pod_collect_to_vec(&embedding);
            let names = crate::run::GraphNames {
                labels: self.labels.as_deref(),
                node_ids: self.node_ids.as_deref(),
            };
            let mut paths = Vec::new();
            let mut write = |name: &str, bytes: Vec<u8>| -> anyhow::Result<()> {
                let path = crate::output::write_atomic(&folder, name, &bytes)?;
                paths.push(path.display().to_string());
                Ok(())
            };
            let written = out.write_artifacts(names, &mut write);
            out.embedding = Vec::new();
            written.map(|()| paths)
        })
        .map_err(py_err)
    }
}

fn pairs_bytes<'py>(py: Python<'py>, pairs: &[[u32; 2]]) -> Bound<'py, PyBytes> {
    let flat: Vec<i64> = pairs.iter().flatten().map(|&v| v as i64).collect();
    PyBytes::new(py, bytemuck::cast_slice(&flat))
}

fn fit_result(py: Python<'_>, graph: Graph, mut out: RunOutcome) -> PyResult<Bound<'_, PyDict>> {
    let (r, report) = (PyDict::new(py), &out.report);
    let emb = &out.embedding;
    r.set_item("embedding", PyByteArray::new(py, bytemuck::cast_slice(emb)))?;
    r.set_item("nodes", graph.num_nodes)?;
    r.set_item("latent", report.config.latent)?;
    let m = PyDict::new(py);
    for (k, v) in [
        ("test_auc", report.test.auc),
        ("test_ap", report.test.ap),
        ("val_auc", report.val.auc),
        ("val_ap", report.val.ap),
    ] {
        m.set_item(k, v)?;
    }
    if let Some(c) = &report.clustering {
        for (k, v) in [("acc", c.acc), ("nmi", c.nmi), ("ari", c.ari), ("f1", c.f1)] {
            m.set_item(k, v)?;
        }
    }
    r.set_item("metrics", m)?;
    r.set_item("history", history(py, report)?)?;
    let pairs = PyDict::new(py);
    let split = &out.split;
    for (k, p) in split
        .held_out()
        .into_iter()
        .chain([("train_pos", &split.train_pos[..])])
    {
        pairs.set_item(k, pairs_bytes(py, p))?;
    }
    r.set_item("split", pairs)?;
    let ck = out.checkpoint().to_bytes().map_err(|e| py_err(e.into()))?;
    r.set_item("checkpoint", PyBytes::new(py, &ck))?;
    r.set_item("report", report.to_json())?;
    out.embedding = Vec::new(); // (Python keeps it; `RunFolder::write` gets it back)
    let folder = RunFolder {
        outcome: Mutex::new(out),
        labels: graph.labels,
        node_ids: graph.node_ids,
    };
    r.set_item("run_folder", Py::new(py, folder)?)?;
    Ok(r)
}

/// One dict per epoch: its losses, and its validation scores where it was scored.
fn history<'py>(py: Python<'py>, report: &crate::run::RunReport) -> PyResult<Bound<'py, PyList>> {
    let history = PyList::empty(py);
    for l in &report.history {
        let row = PyDict::new(py);
        row.set_item("epoch", l.epoch + 1)?;
        for (k, v) in [
            ("total", l.total),
            ("recon", l.recon),
            ("reg", l.reg),
            ("kl", l.kl),
            ("disc", l.disc),
        ] {
            row.set_item(k, v)?;
        }
        if let Some((_, s)) = report.validation.iter().find(|(e, _)| *e == l.epoch + 1) {
            row.set_item("val_auc", s.auc)?;
            row.set_item("val_ap", s.ap)?;
        }
        history.append(row)?;
    }
    Ok(history)
}

/// The embedding of a graph under a trained model (a checkpoint's bytes), messages over all
/// of the graph's edges. Float32 bytes, N × d.
#[pyfunction]
#[pyo3(signature = (checkpoint, edges, num_nodes, x, device))]
fn embed<'py>(
    py: Python<'py>,
    checkpoint: Bound<'py, PyBytes>,
    edges: Bound<'py, PyBytes>,
    num_nodes: Option<usize>,
    x: Option<Features<'py>>,
    device: Option<Device>,
) -> PyResult<Bound<'py, PyByteArray>> {
    let input = GraphIn::new(&edges, num_nodes, &x, &None)?;
    let bytes = checkpoint.as_bytes();
    let choice = choice(device);
    let emb = py
        .detach(|| -> anyhow::Result<Vec<f32>> {
            let ck = Checkpoint::from_bytes(bytes)?;
            let graph = input.graph("graph")?;
            let ctx = context(&choice)?;
            Ok(pollster::block_on(crate::run::embed_graph(
                &ctx,
                &ck,
                &graph,
                &graph.edges,
            ))?)
        })
        .map_err(py_err)?;
    Ok(PyByteArray::new(py, bytemuck::cast_slice(&emb)))
}

/// A dataset argva can load (`cora`, `citeseer`, `pubmed`, an `sbm:` spec, an edge-list
/// path), as arrays: `edges` int64 pairs (each undirected edge in both directions, as PyG
/// stores them), `x` CSR parts, `y` int64 or None.
#[pyfunction]
#[pyo3(signature = (spec, root, download))]
fn dataset<'py>(
    py: Python<'py>,
    spec: String,
    root: Option<std::path::PathBuf>,
    download: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let g = py
        .detach(|| {
            let mut opts = crate::data::LoadOptions {
                download,
                ..Default::default()
            };
            if let Some(root) = root {
                opts.root = root;
            }
            crate::data::load(&spec, &opts)
        })
        .map_err(|e| py_err(e.into()))?;
    let both: Vec<[u32; 2]> = g
        .edges
        .iter()
        .flat_map(|&[a, b]| [[a, b], [b, a]])
        .collect();
    let r = PyDict::new(py);
    r.set_item("name", &g.name)?;
    r.set_item("edges", pairs_bytes(py, &both))?;
    r.set_item("num_nodes", g.num_nodes)?;
    let f = &g.features;
    let widen = |v: &[u32]| v.iter().map(|&i| i as i64).collect::<Vec<_>>();
    let csr = (
        f.rows,
        f.cols,
        PyBytes::new(py, bytemuck::cast_slice(&widen(&f.row_ptr))),
        PyBytes::new(py, bytemuck::cast_slice(&widen(&f.col))),
        PyBytes::new(py, bytemuck::cast_slice(&f.val)),
    );
    r.set_item("x", csr)?;
    let y = g.labels.as_ref().map(|l| {
        let wide: Vec<i64> = l.iter().map(|&c| c as i64).collect();
        PyBytes::new(py, bytemuck::cast_slice(&wide))
    });
    r.set_item("y", y)?;
    r.set_item("num_classes", g.num_classes)?;
    Ok(r)
}

/// The adapters the environment allows: `[{index, name, backend, device_type}]`.
#[pyfunction]
fn devices(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = py.detach(|| pollster::block_on(crate::gpu::list_adapters()));
    let out = PyList::empty(py);
    for a in list {
        let d = PyDict::new(py);
        d.set_item("index", a.index)?;
        d.set_item("name", a.name)?;
        d.set_item("backend", a.backend)?;
        d.set_item("device_type", a.device_type)?;
        out.append(d)?;
    }
    Ok(out)
}

/// The defaults of `argva.fit`'s settings (the CLI's), as JSON: the Python signature's
/// literals are tested against these; `recipes` holds each recipe's settings per model.
#[pyfunction]
fn defaults() -> PyResult<String> {
    use crate::run::defaults as d;
    let mut recipes = serde_json::Map::new();
    for (key, recipe) in [("pyg", Recipe::Pyg), ("paper", Recipe::Paper)] {
        let per_model: serde_json::Map<_, _> = ModelKind::ALL
            .iter()
            .map(|&m| {
                (
                    m.name().to_string(),
                    serde_json::json!(TrainConfig::recipe(recipe, m)),
                )
            })
            .collect();
        recipes.insert(key.to_string(), per_model.into());
    }
    serde_json::to_string(&serde_json::json!({
        "config": TrainConfig::DEFAULT,
        "recipes": recipes,
        "val_frac": d::VAL_FRAC,
        "test_frac": d::TEST_FRAC,
        "val_every": d::VAL_EVERY,
        "kmeans_restarts": d::KMEANS_RESTARTS,
        "select": Select::Last,
    }))
    .map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// Atomically writes `data` to `path` (a temporary file in the same folder, then a rename):
/// `Result.save`, like every file the CLI writes.
#[pyfunction]
fn write_file(py: Python<'_>, path: std::path::PathBuf, data: Bound<'_, PyBytes>) -> PyResult<()> {
    let bytes = data.as_bytes();
    py.detach(|| -> anyhow::Result<()> {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow::anyhow!("{} is not a file name", path.display()))?;
        crate::output::write_atomic(&dir, name, bytes)?;
        Ok(())
    })
    .map_err(|e| PyRuntimeError::new_err(error_line(e.as_ref())))
}

/// `argva doctor` on the chosen adapter (the library's checks, as the CLI and the page run
/// them): the report as JSON.
#[pyfunction]
#[pyo3(signature = (device=None))]
fn doctor(py: Python<'_>, device: Option<Device>) -> PyResult<String> {
    py.detach(|| -> anyhow::Result<String> {
        let ctx = context(&choice(device))?;
        let start = std::time::Instant::now();
        let now = || start.elapsed().as_secs_f64();
        let report = pollster::block_on(crate::doctor::run(&ctx, &now, &mut |_| {}));
        Ok(serde_json::to_string(&report)?)
    })
    .map_err(|e| PyRuntimeError::new_err(error_line(e.as_ref())))
}

/// The command line (`python -m argva …`): returns its exit status.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<String>) -> u8 {
    let args = argv.into_iter().map(Into::into).collect();
    py.detach(|| crate::cli::exit_status(args))
}

#[pymodule]
fn _argva(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(embed, m)?)?;
    m.add_function(wrap_pyfunction!(dataset, m)?)?;
    m.add_function(wrap_pyfunction!(devices, m)?)?;
    m.add_function(wrap_pyfunction!(doctor, m)?)?;
    m.add_function(wrap_pyfunction!(defaults, m)?)?;
    m.add_function(wrap_pyfunction!(config, m)?)?;
    m.add_function(wrap_pyfunction!(write_file, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_class::<RunFolder>()?;
    Ok(())
}
