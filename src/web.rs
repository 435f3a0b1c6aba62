//! The browser page's entry points (wasm32 + WebGPU): open the adapter, check every shader
//! under the browser's own compiler, run `argva doctor`'s checks, train with live progress,
//! and benchmark. The page (`assets/web/`) calls these through wasm-bindgen; everything they
//! return is JSON text or bytes, so the page needs no knowledge of Rust types.
//!
//! The engine is the native one: the same kernels, buffers and epoch schedule. Nothing here
//! blocks: every wait is an `await` that yields to the page (see [`crate::gpu::yield_to_host`]).

use std::ops::ControlFlow;

use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::checkpoint::Checkpoint;
use crate::data::{self, Graph, LoadOptions, NegativeSampler, link_split};
use crate::gpu::{GpuContext, GpuError};
use crate::model::ModelKind;
use crate::run::{Artifact, GraphNames, RunHooks, RunOptions, RunSettings, defaults};
use crate::train::fit::Event;
use crate::train::schedule::{KernelRow, kernel_rows, launched};
use crate::train::{Prepared, TrainConfig, Trainer, engine::Recon};

/// Panics go to the browser console with their message instead of "unreachable".
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("argva panicked: {info}").into());
    }));
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// Milliseconds from the page's clock (`std::time::Instant` does not exist on this target).
fn now_ms() -> f64 {
    crate::gpu::now_seconds() * 1e3
}

/// The options the page sends: the dataset, and the run's settings as the Python module
/// sends them ([`RunOptions`]; every field optional: the CLI's defaults).
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    dataset: String,
    run: RunOptions,
    /// Bench only: untimed epochs first.
    warmup: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            dataset: "cora".into(),
            run: RunOptions::default(),
            warmup: 2,
        }
    }
}

impl Options {
    fn parse(json: &str) -> Result<(Self, RunSettings), JsError> {
        let o: Options = serde_json::from_str(json).map_err(|e| js_err(format!("options: {e}")))?;
        let settings = o.run.settings("options: ").map_err(js_err)?;
        Ok((o, settings))
    }
}

/// Cora or CiteSeer from the copy compiled into argva (the page's own data).
fn load_graph(name: &str) -> Result<Graph, JsError> {
    match data::planetoid::Dataset::from_name(name) {
        Some(ds) if data::embedded::files(ds).is_some() => {
            data::load(name, &LoadOptions::default()).map_err(js_err)
        }
        _ => Err(js_err(format!(
            "unknown dataset `{name}`: the page has cora and citeseer"
        ))),
    }
}

/// The split, the GCN operator and the negative sampler of a bench run.
struct BenchGraph {
    graph: Graph,
    prepared: Prepared,
    sampler: NegativeSampler,
    split: data::LinkSplit,
}

impl BenchGraph {
    fn new(dataset: &str, seed: u64) -> Result<Self, JsError> {
        let graph = load_graph(dataset)?;
        let (val, test) = (defaults::VAL_FRAC, defaults::TEST_FRAC);
        let split = link_split(&graph, val, test, seed).map_err(js_err)?;
        let prepared = Prepared::new(&graph, &split.train_pos, false);
        let sampler = NegativeSampler::new(graph.num_nodes, &split.train_pos).map_err(js_err)?;
        Ok(Self {
            graph,
            split,
            prepared,
            sampler,
        })
    }
}

/// The browser's GPU device.
#[wasm_bindgen]
pub struct Gpu {
    ctx: GpuContext,
}

#[wasm_bindgen]
impl Gpu {
    /// Opens the browser's WebGPU adapter; rejects with a readable message without one.
    pub async fn open() -> Result<Gpu, JsError> {
        Ok(Gpu {
            ctx: GpuContext::new().await.map_err(js_err)?,
        })
    }

    /// The adapter and its limits (JSON, the fields of `argva info --json`).
    pub fn info(&self) -> String {
        serde_json::to_string(&self.ctx.summary).unwrap_or_default()
    }

    /// Compiles every shader with the browser's compiler (Tint in Chromium) and builds every
    /// pipeline the four models (and the dense loss) use, each under an error scope. JSON:
    /// `{shaders: [{name, errors}], pipelines: [{model, errors}], pipeline_count}`.
    pub async fn check_shaders(&self) -> String {
        let device = &self.ctx.device;
        let mut shaders = Vec::new();
        for (name, source) in crate::kernels::SHADERS {
            let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(name),
                source: wgpu::ShaderSource::Wgsl((*source).into()),
            });
            let info = module.get_compilation_info().await;
            let mut errors: Vec<String> = info
                .messages
                .iter()
                .filter(|m| m.message_type == wgpu::CompilationMessageType::Error)
                .map(|m| m.message.clone())
                .collect();
            errors.extend(scope.pop().await.map(|e| e.to_string()));
            shaders.push(json!({ "name": name, "errors": errors }));
        }
        let mut pipelines = Vec::new();
        let variants = ModelKind::ALL.iter().map(|&m| (m, Recon::Sampled));
        for (model, recon) in variants.chain([(ModelKind::Argva, Recon::Dense)]) {
            let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
            let built = small_trainer(&self.ctx, model, recon).map(|_| ());
            let mut errors: Vec<String> = built.err().into_iter().collect();
            errors.extend(scope.pop().await.map(|e| e.to_string()));
            let name = format!(
                "{}{}",
                model.name(),
                if recon == Recon::Dense {
                    " (dense)"
                } else {
                    ""
                }
            );
            pipelines.push(json!({ "model": name, "errors": errors }));
        }
        json!({
            "shaders": shaders,
            "pipelines": pipelines,
            "pipeline_count": self.ctx.kernel_count(),
        })
        .to_string()
    }

    /// `argva doctor` on the browser's adapter: every kernel against its twin, the golden
    /// epochs, a run repeated to the byte ([`crate::doctor::run`], the command line's own
    /// checks). `on_check` is called with each check's JSON as it finishes; resolves to the
    /// report's JSON (`{adapter, checks: [{name, passed, worst, bound, detail, seconds}],
    /// warnings, passed}`).
    pub async fn doctor(&self, on_check: js_sys::Function) -> Result<String, JsError> {
        let scope = self
            .ctx
            .device
            .push_error_scope(wgpu::ErrorFilter::Validation);
        let now = || now_ms() / 1000.0;
        let mut progress = |c: &crate::doctor::Check| {
            let text = serde_json::to_string(c).unwrap_or_default();
            let _ = on_check.call1(&JsValue::NULL, &text.into());
        };
        let report = crate::doctor::run(&self.ctx, &now, &mut progress).await;
        if let Some(e) = scope.pop().await {
            return Err(js_err(format!("the GPU rejected a check: {e}")));
        }
        serde_json::to_string(&report).map_err(js_err)
    }

    /// Trains on Cora or CiteSeer: the library's job ([`crate::run::run`]), as the CLI and
    /// the Python module run it (options: JSON of [`Options`]'s fields). `resume`: a
    /// checkpoint's bytes to continue from. `on_event` is called with a JSON text per epoch
    /// (`{kind: "epoch", epoch, recon, reg, kl, disc, total}`), per validation (`{kind:
    /// "val", epoch, auc, ap}`), per checkpoint (`{kind: "checkpoint", epoch}`, with the
    /// checkpoint's bytes as a second argument) and per note (`{kind: "note", text}`).
    pub async fn train(
        &self,
        options: &str,
        on_event: js_sys::Function,
        resume: Option<Vec<u8>>,
    ) -> Result<Run, JsError> {
        let (o, settings) = Options::parse(options)?;
        let resume = resume.map(|b| Checkpoint::from_bytes(&b)).transpose();
        let resume = resume.map_err(js_err)?;
        let graph = load_graph(&o.dataset)?;
        let mut hooks = PageHooks { on_event };
        let run = crate::run::run(&self.ctx, &graph, &settings, resume.as_ref(), &mut hooks);
        let outcome = run.await.map_err(js_err)?;
        let files = outcome.artifacts(GraphNames::of(&graph)).map_err(js_err)?;
        Ok(Run {
            report: outcome.report.to_json(),
            d: outcome.report.config.latent,
            embedding: outcome.embedding,
            labels: graph.labels.clone().unwrap_or_default(),
            files,
        })
    }

    /// `argva bench` in the browser: epoch time (each epoch waited for, and back to back),
    /// launches, host record+submit time, and a per-kernel table from GPU timestamps when
    /// the browser offers them, else from the wall clock around each launch. JSON.
    pub async fn bench(&self, options: &str) -> Result<String, JsError> {
        let (o, settings) = Options::parse(options)?;
        let epochs = settings.cfg.epochs;
        if epochs == 0 {
            return Err(js_err("options: the bench times at least 1 epoch"));
        }
        let cfg = TrainConfig {
            epochs: epochs + o.warmup,
            ..settings.cfg
        };
        let job = BenchGraph::new(&o.dataset, cfg.seed)?;
        let sample = |rng: &mut ChaCha8Rng, count: usize| job.sampler.sample(rng, count);
        let inputs = job.prepared.inputs(&job.split.train_pos, &sample);
        let ctx = &self.ctx;
        let mut trainer = Trainer::new(ctx, &cfg, &inputs).map_err(js_err)?;
        for _ in 0..o.warmup {
            one_epoch(ctx, &mut trainer, &inputs).await?;
        }
        let mut epoch_ms = Vec::new();
        let mut host_ms = Vec::new();
        for _ in 0..epochs {
            let t = now_ms();
            host_ms.push(one_epoch(ctx, &mut trainer, &inputs).await?);
            epoch_ms.push(now_ms() - t);
        }
        let t = now_ms();
        for _ in 0..epochs {
            while !trainer.try_submit(ctx, &inputs).map_err(js_err)? {
                trainer.collect_oldest(ctx).await;
            }
        }
        while trainer.in_flight() > 0 {
            trainer.collect_oldest(ctx).await;
        }
        let pipelined = (now_ms() - t) / epochs as f64;
        let (method, kernels) = kernel_table(ctx, &trainer).await?;
        let sorted = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v
        };
        let (epoch_ms, host_ms) = (sorted(epoch_ms), sorted(host_ms));
        let median = |v: &[f64]| v[v.len() / 2];
        Ok(json!({
            "dataset": job.graph.name,
            "model": cfg.model.name(),
            "adapter": ctx.summary,
            "epochs_timed": epochs,
            "epoch_ms_median": median(&epoch_ms),
            "epoch_ms_min": epoch_ms[0],
            "epoch_ms_max": epoch_ms[epoch_ms.len() - 1],
            "epoch_ms_pipelined": pipelined,
            "host_record_submit_ms": median(&host_ms),
            "launches_per_epoch": trainer.engine.step.dispatch_count(),
            "submissions_per_epoch": 1,
            "kernel_method": method,
            "kernels": kernels,
            "user_agent": user_agent(),
        })
        .to_string())
    }
}

fn user_agent() -> String {
    js_sys::Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| js_sys::Reflect::get(&n, &"userAgent".into()))
        .ok()
        .and_then(|u| u.as_string())
        .unwrap_or_default()
}

/// A trainer on a small random graph: building it creates every pipeline of that model.
fn small_trainer(ctx: &GpuContext, model: ModelKind, recon: Recon) -> Result<Trainer, String> {
    let graph = data::load(
        "sbm:nodes=64,classes=2,degree=4,features=16,seed=1",
        &LoadOptions::default(),
    )
    .map_err(|e| e.to_string())?;
    let (val, test) = (defaults::VAL_FRAC, defaults::TEST_FRAC);
    let split = link_split(&graph, val, test, 0).map_err(|e| e.to_string())?;
    let prepared = Prepared::new(&graph, &split.train_pos, false);
    let sampler =
        NegativeSampler::new(graph.num_nodes, &split.train_pos).map_err(|e| e.to_string())?;
    let sample = |rng: &mut ChaCha8Rng, count: usize| sampler.sample(rng, count);
    let inputs = prepared.inputs(&split.train_pos, &sample);
    let cfg = TrainConfig {
        model,
        recon,
        latent: 8,
        hidden: 16,
        disc_hidden: 16,
        ..TrainConfig::default()
    };
    Trainer::new(ctx, &cfg, &inputs).map_err(|e| e.to_string())
}

/// Submits one epoch and waits for it; returns the host's record+submit milliseconds.
async fn one_epoch(
    ctx: &GpuContext,
    trainer: &mut Trainer,
    inputs: &crate::train::TrainInputs<'_>,
) -> Result<f64, JsError> {
    let t = now_ms();
    if !trainer.try_submit(ctx, inputs).map_err(js_err)? {
        return Err(js_err("the loss ring is full (an epoch was not collected)"));
    }
    let host = now_ms() - t;
    while trainer.in_flight() > 0 {
        trainer.collect_oldest(ctx).await;
    }
    Ok(host)
}

/// One profiled epoch: GPU timestamps around each launch when the adapter has them, else the
/// wall clock around each launch submitted alone (includes submit and completion latency).
async fn kernel_table(
    ctx: &GpuContext,
    trainer: &Trainer,
) -> Result<(&'static str, Vec<KernelRow>), JsError> {
    let schedule = &trainer.engine.step;
    if ctx.summary.timestamp_queries {
        let (timed, ms) = schedule.profile(ctx).await.map_err(js_err)?;
        return Ok((
            "GPU timestamps, one pass per launch",
            kernel_rows(&timed, &ms),
        ));
    }
    let mut timed = Vec::new();
    let mut ms = Vec::new();
    for step in launched(&schedule.steps) {
        let t = now_ms();
        let mut enc = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            step.dispatch.record(&mut pass);
        }
        ctx.queue.submit([enc.finish()]);
        work_done(ctx).await.map_err(js_err)?;
        ms.push(now_ms() - t);
        timed.push((step.dispatch.label, step.cost));
    }
    Ok((
        "wall clock, each launch submitted alone (no GPU timestamps in this browser)",
        kernel_rows(&timed, &ms),
    ))
}

/// Resolves when the queue has finished everything submitted so far.
async fn work_done(ctx: &GpuContext) -> Result<(), GpuError> {
    let (tx, rx) = futures_channel::oneshot::channel();
    ctx.queue.on_submitted_work_done(move || {
        let _ = tx.send(());
    });
    rx.await.map_err(|_| GpuError::Readback {
        what: "queue".into(),
        reason: "the device was lost".into(),
    })
}

/// The page's side of a run: every event to `on_event` as JSON (checkpoints with their bytes).
struct PageHooks {
    on_event: js_sys::Function,
}

impl PageHooks {
    fn emit(&self, v: serde_json::Value, bytes: Option<&[u8]>) {
        let text = JsValue::from(v.to_string());
        let _ = match bytes {
            Some(b) => self
                .on_event
                .call2(&JsValue::NULL, &text, &js_sys::Uint8Array::from(b)),
            None => self.on_event.call1(&JsValue::NULL, &text),
        };
    }
}

impl RunHooks for PageHooks {
    fn event(&mut self, e: Event<'_>) -> ControlFlow<()> {
        match e {
            Event::Epoch(l) => self.emit(
                json!({ "kind": "epoch", "epoch": l.epoch + 1,
                "recon": l.recon, "reg": l.reg, "kl": l.kl, "disc": l.disc, "total": l.total }),
                None,
            ),
            Event::Validated { epoch, scores, .. } => self.emit(
                json!({ "kind": "val", "epoch": epoch, "auc": scores.auc, "ap": scores.ap }),
                None,
            ),
            Event::Checkpoint { .. } => {}
        }
        ControlFlow::Continue(())
    }

    fn checkpoint(&mut self, ck: &Checkpoint) -> Result<(), String> {
        let bytes = ck.to_bytes().map_err(|e| e.to_string())?;
        let v = json!({ "kind": "checkpoint", "epoch": ck.epochs_done });
        self.emit(v, Some(&bytes));
        Ok(())
    }

    fn note(&mut self, text: &str) {
        self.emit(json!({ "kind": "note", "text": text }), None);
    }
}

/// A finished training run: the report, the embedding, and the files the CLI would write.
#[wasm_bindgen]
pub struct Run {
    report: String,
    embedding: Vec<f32>,
    d: usize,
    labels: Vec<u32>,
    /// The run folder's files (`argva train --out`'s).
    files: Vec<Artifact>,
}

impl Run {
    fn file(&self, name: &str) -> Vec<u8> {
        let file = self.files.iter().find(|f| f.name == name);
        file.map(|f| f.bytes.clone()).unwrap_or_default()
    }
}

#[wasm_bindgen]
impl Run {
    /// Everything measured: the CLI's `metrics.json` (JSON).
    pub fn report(&self) -> String {
        self.report.clone()
    }
    /// The N × d embedding, row-major (μ for VGAE/ARGVA, z for GAE/ARGA).
    pub fn embedding(&self) -> Vec<f32> {
        self.embedding.clone()
    }
    pub fn latent(&self) -> usize {
        self.d
    }
    pub fn labels(&self) -> Vec<u32> {
        self.labels.clone()
    }
    /// `embedding.npy`, as the CLI writes it.
    pub fn embedding_npy(&self) -> Vec<u8> {
        self.file("embedding.npy")
    }
    /// `model.safetensors`, as the CLI writes it (loads into PyG, resumes in the CLI and
    /// here).
    pub fn model_safetensors(&self) -> Vec<u8> {
        self.file("model.safetensors")
    }
    /// The names of the run folder's files, for [`Run::file_bytes`].
    pub fn file_names(&self) -> Vec<String> {
        self.files.iter().map(|f| f.name.clone()).collect()
    }
    /// One of the run folder's files (empty for a name it does not have).
    pub fn file_bytes(&self, name: &str) -> Vec<u8> {
        self.file(name)
    }
    /// The embedding projected on its two principal axes (N × 2), for the page's scatter plot.
    pub fn projection_2d(&self) -> Vec<f32> {
        crate::eval::pca_2d(&self.embedding, self.d)
    }
}
