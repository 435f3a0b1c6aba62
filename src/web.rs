//! The browser page's entry points (wasm32 + WebGPU): open the adapter, check every shader
//! under the browser's own compiler, run `argva doctor`'s checks, train with live progress,
//! and benchmark. The page (`assets/web/`) calls these through wasm-bindgen; everything they
//! return is JSON text or bytes, so the page needs no knowledge of Rust types.
//!
//! The engine is the native one: the same kernels, buffers and epoch schedule. Nothing here
//! blocks: every wait is an `await` that yields to the page (see [`crate::gpu::yield_to_host`]).

use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;
use wasm_bindgen::prelude::*;

use crate::data::{self, Graph, LoadOptions, NegativeSampler, link_split};
use crate::gpu::{GpuContext, GpuError};
use crate::model::ModelKind;
use crate::train::fit::{Event, Resume, Validation, fit_async, link_scores};
use crate::train::schedule::{KernelRow, kernel_rows, launched};
use crate::train::{Prepared, TrainConfig, Trainer, engine::Recon};

const MODELS: [ModelKind; 4] = [
    ModelKind::Gae,
    ModelKind::Vgae,
    ModelKind::Arga,
    ModelKind::Argva,
];

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
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// The options the page sends (every field optional: the CLI's defaults).
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Options {
    dataset: String,
    model: ModelKind,
    epochs: u32,
    seed: u64,
    latent: usize,
    hidden: Option<usize>,
    disc_hidden: usize,
    disc_steps: usize,
    lr: f32,
    disc_lr: f32,
    val_every: u32,
    kmeans_restarts: usize,
    /// Bench only: untimed epochs first.
    warmup: u32,
}

impl Default for Options {
    fn default() -> Self {
        let c = TrainConfig::default();
        Self {
            dataset: "cora".into(),
            model: c.model,
            epochs: c.epochs,
            seed: c.seed,
            latent: c.latent,
            hidden: None,
            disc_hidden: c.disc_hidden,
            disc_steps: c.disc_steps,
            lr: c.lr,
            disc_lr: c.disc_lr,
            val_every: 10,
            kmeans_restarts: 10,
            warmup: 2,
        }
    }
}

impl Options {
    fn parse(json: &str) -> Result<Self, JsError> {
        let o: Options = serde_json::from_str(json).map_err(|e| js_err(format!("options: {e}")))?;
        if o.epochs == 0 {
            return Err(js_err("epochs must be at least 1"));
        }
        o.config().check().map_err(js_err)?;
        Ok(o)
    }
    fn config(&self) -> TrainConfig {
        TrainConfig {
            model: self.model,
            epochs: self.epochs,
            latent: self.latent,
            hidden: self.hidden.unwrap_or(2 * self.latent),
            disc_hidden: self.disc_hidden,
            disc_steps: self.disc_steps,
            lr: self.lr,
            disc_lr: self.disc_lr,
            seed: self.seed,
            ..TrainConfig::default()
        }
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

/// The split, the GCN operator and the negative sampler of one run.
struct Job {
    graph: Graph,
    split: data::LinkSplit,
    prepared: Prepared,
    sampler: NegativeSampler,
}

impl Job {
    fn new(o: &Options) -> Result<Self, JsError> {
        let graph = load_graph(&o.dataset)?;
        let split = link_split(&graph, 0.05, 0.1, o.seed).map_err(js_err)?;
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
        let variants = MODELS.iter().map(|&m| (m, Recon::Sampled));
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
        Ok(serde_json::to_string(&report).map_err(js_err)?)
    }

    /// Trains on Cora or CiteSeer (options: JSON of [`Options`]'s fields). `on_event` is
    /// called with a JSON text per epoch (`{kind: "epoch", epoch, recon, reg, kl, disc,
    /// total}`) and per validation (`{kind: "val", epoch, auc, ap}`).
    pub async fn train(&self, options: &str, on_event: js_sys::Function) -> Result<Run, JsError> {
        let o = Options::parse(options)?;
        let cfg = o.config();
        let job = Job::new(&o)?;
        let sample = |rng: &mut ChaCha8Rng, count: usize| job.sampler.sample(rng, count);
        let inputs = job.prepared.inputs(&job.split.train_pos, &sample);
        let val = Validation {
            pos: &job.split.val_pos,
            neg: &job.split.val_neg,
            every: o.val_every,
            select_best: false,
        };
        let emit = |v: serde_json::Value| {
            let _ = on_event.call1(&JsValue::NULL, &v.to_string().into());
        };
        let mut observer = |e: Event<'_>| {
            match e {
                Event::Epoch(l) => emit(json!({ "kind": "epoch", "epoch": l.epoch + 1,
                "recon": l.recon, "reg": l.reg, "kl": l.kl, "disc": l.disc, "total": l.total })),
                Event::Validated { epoch, scores, .. } => emit(
                    json!({ "kind": "val", "epoch": epoch, "auc": scores.auc, "ap": scores.ap }),
                ),
                Event::Checkpoint { .. } => {}
            }
            std::ops::ControlFlow::Continue(())
        };
        let started = now_ms();
        let fit = fit_async(
            &self.ctx,
            &cfg,
            &inputs,
            &val,
            &Resume::default(),
            &mut observer,
        )
        .await
        .map_err(js_err)?;
        let train_ms = now_ms() - started;
        Run::new(&self.ctx, &job, cfg, fit, train_ms, o.kmeans_restarts)
    }

    /// `argva bench` in the browser: epoch time (each epoch waited for, and back to back),
    /// launches, host record+submit time, and a per-kernel table from GPU timestamps when
    /// the browser offers them, else from the wall clock around each launch. JSON.
    pub async fn bench(&self, options: &str) -> Result<String, JsError> {
        let o = Options::parse(options)?;
        let cfg = TrainConfig {
            epochs: o.epochs + o.warmup,
            ..o.config()
        };
        let job = Job::new(&o)?;
        let sample = |rng: &mut ChaCha8Rng, count: usize| job.sampler.sample(rng, count);
        let inputs = job.prepared.inputs(&job.split.train_pos, &sample);
        let ctx = &self.ctx;
        let mut trainer = Trainer::new(ctx, &cfg, &inputs).map_err(js_err)?;
        for _ in 0..o.warmup {
            one_epoch(ctx, &mut trainer, &inputs).await?;
        }
        let mut epoch_ms = Vec::new();
        let mut host_ms = Vec::new();
        for _ in 0..o.epochs {
            let t = now_ms();
            host_ms.push(one_epoch(ctx, &mut trainer, &inputs).await?);
            epoch_ms.push(now_ms() - t);
        }
        let t = now_ms();
        for _ in 0..o.epochs {
            while !trainer.try_submit(ctx, &inputs).map_err(js_err)? {
                trainer.collect_oldest(ctx).await;
            }
        }
        while trainer.in_flight() > 0 {
            trainer.collect_oldest(ctx).await;
        }
        let pipelined = (now_ms() - t) / o.epochs as f64;
        let (method, kernels) = kernel_table(ctx, &trainer).await?;
        let sorted = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v
        };
        let (epoch_ms, host_ms) = (sorted(epoch_ms), sorted(host_ms));
        let median = |v: &[f64]| v[v.len() / 2];
        Ok(json!({
            "dataset": job.graph.name,
            "model": o.model.name(),
            "adapter": ctx.summary,
            "epochs_timed": o.epochs,
            "epoch_ms_median": median(&epoch_ms),
            "epoch_ms_min": epoch_ms[0],
            "epoch_ms_max": epoch_ms[epoch_ms.len() - 1],
            "epoch_ms_pipelined": pipelined,
            "host_record_submit_ms": median(&host_ms),
            "launches_per_epoch": trainer.engine.epoch.dispatch_count(),
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
    let split = link_split(&graph, 0.05, 0.1, 0).map_err(|e| e.to_string())?;
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
    let schedule = &trainer.engine.epoch;
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

/// A finished training run: the report, the embedding, and the files the CLI would write.
#[wasm_bindgen]
pub struct Run {
    report: String,
    embedding: Vec<f32>,
    d: usize,
    labels: Vec<u32>,
    checkpoint: Vec<u8>,
}

impl Run {
    fn new(
        ctx: &GpuContext,
        job: &Job,
        cfg: TrainConfig,
        fit: crate::train::fit::FitResult,
        train_ms: f64,
        restarts: usize,
    ) -> Result<Run, JsError> {
        let (g, s, d) = (&job.graph, &job.split, cfg.latent);
        let emb = &fit.embedding;
        let test = link_scores(emb, d, &s.test_pos, &s.test_neg);
        let val = link_scores(emb, d, &s.val_pos, &s.val_neg);
        let labels = g.labels.clone().unwrap_or_default();
        let clustering = crate::eval::evaluate_clustering(
            emb,
            g.num_nodes,
            d,
            &labels,
            g.num_classes,
            restarts.max(1),
            cfg.seed,
        )
        .map_err(js_err)?;
        let checkpoint = crate::checkpoint::Checkpoint {
            config: cfg.clone(),
            arch: cfg.arch(g.features.cols),
            epochs_done: cfg.epochs,
            state: fit.state.clone(),
        }
        .to_bytes()
        .map_err(js_err)?;
        let report = json!({
            "dataset": g.name,
            "adapter": ctx.summary,
            "config": cfg,
            "graph": data::Summary::new(g, Some(s)),
            "test": test,
            "val": val,
            "clustering": clustering,
            "train_seconds": train_ms * 1e-3,
            "ms_per_epoch": train_ms / cfg.epochs as f64,
            "dispatches_per_epoch": fit.dispatches_per_epoch,
            "history": fit.history,
            "validation": fit.validation,
        });
        Ok(Run {
            report: report.to_string(),
            embedding: fit.embedding,
            d,
            labels,
            checkpoint,
        })
    }
}

#[wasm_bindgen]
impl Run {
    /// Everything measured (JSON, the CLI's `--json` fields).
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
    pub fn embedding_npy(&self) -> Result<Vec<u8>, JsError> {
        let n = self.embedding.len() / self.d.max(1);
        crate::export::npy_bytes(&[n, self.d], &self.embedding).map_err(js_err)
    }
    /// `model.safetensors`, as the CLI writes it (loads into PyG, resumes in the CLI).
    pub fn model_safetensors(&self) -> Vec<u8> {
        self.checkpoint.clone()
    }
    /// The embedding projected on its two principal axes (N × 2), for the page's scatter plot.
    pub fn projection_2d(&self) -> Vec<f32> {
        crate::eval::pca_2d(&self.embedding, self.d)
    }
}
