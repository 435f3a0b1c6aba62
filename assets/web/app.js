// The argva page: adapter, training with live curves, embedding view, downloads, benchmark.
// All GPU work happens in argva's wasm module (pkg/argva.js, built by tests/web/build.sh).
import init, { Gpu } from "./pkg/argva.js";

const $ = (id) => document.getElementById(id);
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf"];
let gpu = null;
let lastRun = null;
let lastBench = null;

function status(id, text, error = false) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle("error", error);
}

function formOptions(form) {
  const o = {};
  for (const el of form.elements) {
    // (left empty: the recipe's default)
    if (!el.name || el.value === "" || el.type === "file") continue;
    o[el.name] = el.type === "number" ? Number(el.value) : el.value;
  }
  return o;
}

// The options argva takes (RunOptions, as the Python module sends them), from a form's flat
// fields: hyperparameters under `overrides`, the page's own fields beside `run`.
const OVERRIDES = ["epochs", "latent", "hidden", "disc_hidden", "disc_steps", "lr", "disc_lr", "recon", "eval_noise"];
const PAGE_FIELDS = ["dataset", "warmup"];
function argvaOptions(flat) {
  const o = { run: { overrides: {} } };
  for (const [k, v] of Object.entries(flat)) {
    if (PAGE_FIELDS.includes(k)) o[k] = v;
    else if (OVERRIDES.includes(k)) o.run.overrides[k] = v;
    else o.run[k] = v;
  }
  return o;
}

function mib(b) { return (b / 1048576).toFixed(0) + " MiB"; }

function showAdapter(info) {
  status("adapter",
    `${info.name || "(unnamed adapter)"} — ${info.backend} (${info.device_type})\n` +
    `storage binding ${mib(info.max_storage_buffer_binding_size)}, buffer ${mib(info.max_buffer_size)}, ` +
    `${info.max_storage_buffers_per_shader_stage} storage buffers/stage\n` +
    `${info.max_compute_workgroups_per_dimension} workgroups/dimension, ` +
    `${info.max_compute_invocations_per_workgroup} invocations/workgroup, ` +
    `${info.max_compute_workgroup_storage_size} B workgroup memory, ` +
    `timestamps: ${info.timestamp_queries ? "yes" : "no (wall clock)"}\n` +
    `largest graph at d = 32: about ${(info.max_storage_buffer_binding_size / 128 / 1e6).toFixed(2)} M nodes (z in one binding)`);
}

// ---- curves ------------------------------------------------------------------------------
const SERIES = [["total", "#1d232a"], ["recon", "#1f77b4"], ["reg", "#d62728"], ["disc", "#2ca02c"]];

function drawCurves(history, validation, epochs) {
  const c = $("curves"), g = c.getContext("2d");
  const W = c.width, H = c.height, L = 44, R = 40, T = 10, B = 24;
  g.clearRect(0, 0, W, H);
  const vals = history.flatMap((h) => SERIES.map(([k]) => h[k])).filter(Number.isFinite);
  const ymax = Math.max(1e-6, ...vals), ymin = Math.min(0, ...vals);
  const x = (e) => L + (W - L - R) * (e - 1) / Math.max(1, epochs - 1);
  const y = (v) => T + (H - T - B) * (1 - (v - ymin) / (ymax - ymin));
  const ya = (a) => T + (H - T - B) * (1 - (a - 0.5) / 0.5);
  g.strokeStyle = "#dfe3e8"; g.fillStyle = "#5b6875"; g.font = "11px system-ui";
  g.strokeRect(L, T, W - L - R, H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = ymin + (ymax - ymin) * i / 4;
    g.fillText(v.toFixed(2), 4, y(v) + 4);
    g.fillText((0.5 + 0.125 * i).toFixed(2), W - R + 4, ya(0.5 + 0.125 * i) + 4);
  }
  g.fillText(`epoch 1…${epochs}`, L, H - 6);
  SERIES.forEach(([k, color], i) => {
    const pts = history.filter((h) => Number.isFinite(h[k]) && h[k] !== 0);
    g.fillStyle = color; g.fillText(k, L + 8 + 52 * i, T + 14);
    if (pts.length === 0) return;
    g.strokeStyle = color; g.lineWidth = 1.5; g.beginPath();
    pts.forEach((h, j) => (j ? g.lineTo : g.moveTo).call(g, x(h.epoch), y(h[k])));
    g.stroke();
  });
  g.fillStyle = "#9467bd"; g.fillText("val AUC", L + 8 + 52 * 4, T + 14);
  for (const v of validation) {
    g.beginPath(); g.arc(x(v.epoch), ya(Math.max(0.5, v.auc)), 3, 0, 2 * Math.PI); g.fill();
  }
}

function drawScatter(xy, labels) {
  const c = $("scatter"), g = c.getContext("2d");
  const W = c.width, H = c.height, P = 8;
  g.clearRect(0, 0, W, H);
  // 1st–99th percentile bounds, so a few outliers do not squash the picture.
  const q = (v, f) => v[Math.min(v.length - 1, Math.floor(f * v.length))];
  const xs = xy.filter((_, i) => i % 2 === 0).sort((a, b) => a - b);
  const ys = xy.filter((_, i) => i % 2 === 1).sort((a, b) => a - b);
  const [x0, x1, y0, y1] = [q(xs, 0.01), q(xs, 0.99), q(ys, 0.01), q(ys, 0.99)];
  const sx = (W - 2 * P) / Math.max(1e-9, x1 - x0), sy = (H - 2 * P) / Math.max(1e-9, y1 - y0);
  for (let i = 0; i < xy.length / 2; i++) {
    const px = P + (xy[2 * i] - x0) * sx, py = H - P - (xy[2 * i + 1] - y0) * sy;
    if (px < 0 || px > W || py < 0 || py > H) continue;
    g.fillStyle = COLORS[(labels[i] ?? 0) % COLORS.length];
    g.fillRect(px - 1.5, py - 1.5, 3, 3);
  }
}

// ---- training ----------------------------------------------------------------------------
function fmt(v) { return Number(v).toFixed(4); }

function showResults(report) {
  const body = $("metrics").querySelector("tbody");
  body.innerHTML = "";
  for (const [name, s] of [["test", report.test], ["val", report.val]]) {
    body.insertAdjacentHTML("beforeend", `<tr><td>${name}</td><td>${fmt(s.auc)}</td><td>${fmt(s.ap)}</td></tr>`);
  }
  $("metrics").hidden = false;
  const k = report.clustering;
  $("clustering").textContent = k ? `clustering (k-means, k = ${report.graph.classes}): ` +
    `ACC ${fmt(k.acc)}  NMI ${fmt(k.nmi)}  ARI ${fmt(k.ari)}  F1 ${fmt(k.f1)}` : "";
  $("downloads").hidden = false;
}

async function train(options, resume) {
  $("train-button").disabled = true;
  $("metrics").hidden = true; $("downloads").hidden = true; $("clustering").textContent = "";
  $("dl-checkpoints").replaceChildren();
  const history = [], validation = [], notes = [], checkpoints = [];
  let drawn = 0;
  const model = options.model ?? "argva", epochs = options.epochs ?? 200;
  status("train-status", `training ${model} on ${options.dataset}…`);
  try {
    const run = await gpu.train(JSON.stringify(argvaOptions(options)), (text, bytes) => {
      const e = JSON.parse(text);
      if (e.kind === "epoch") history.push(e);
      else if (e.kind === "val") validation.push(e);
      else if (e.kind === "note") notes.push(e.text);
      else if (e.kind === "checkpoint") checkpoints.push([e.epoch, bytes]);
      const last = history[history.length - 1];
      if (last) status("train-status", `epoch ${last.epoch}/${epochs}: loss ${fmt(last.total)}` +
        (validation.length ? `, val AUC ${fmt(validation[validation.length - 1].auc)}` : "") +
        notes.map((n) => `\nnote: ${n}`).join(""));
      if (history.length !== drawn) { drawn = history.length; drawCurves(history, validation, epochs); }
    }, resume);
    const report = JSON.parse(run.report());
    lastRun = { run, report };
    for (const [epoch, bytes] of checkpoints) {
      const name = `checkpoint-${String(epoch).padStart(5, "0")}.safetensors`;
      const button = Object.assign(document.createElement("button"), { textContent: name });
      button.addEventListener("click", () => download(name, bytes));
      $("dl-checkpoints").append(button);
    }
    drawCurves(history, validation, epochs);
    drawScatter(run.projection_2d(), run.labels());
    showResults(report);
    const c = report.config, ms = 1e3 * report.train_seconds / Math.max(c.epochs, 1);
    const how = report.batches ? `, ${report.batches.steps} mini-batch steps` : "";
    status("train-status", `done: ${c.epochs} epochs (${c.recipe} recipe${how}) in ` +
      `${report.train_seconds.toFixed(1)} s (${ms.toFixed(1)} ms/epoch, ${report.dispatches_per_epoch} ` +
      `launches/epoch); kept epoch ${report.selected_epoch}` + notes.map((n) => `\nnote: ${n}`).join(""));
    return report;
  } catch (e) {
    status("train-status", `training failed: ${e.message ?? e}`, true);
    throw e;
  } finally {
    $("train-button").disabled = false;
  }
}

function download(name, bytes, type = "application/octet-stream") {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = Object.assign(document.createElement("a"), { href: url, download: name });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- benchmark ---------------------------------------------------------------------------
async function bench(options) {
  $("bench-button").disabled = true;
  status("bench-status", `benchmarking ${options.model} on ${options.dataset}…`);
  try {
    const r = JSON.parse(await gpu.bench(JSON.stringify(argvaOptions(options))));
    lastBench = r;
    $("bench-summary").textContent =
      `epoch ${r.epoch_ms_median.toFixed(2)} ms median (min ${r.epoch_ms_min.toFixed(2)}, ` +
      `max ${r.epoch_ms_max.toFixed(2)}), ${r.epoch_ms_pipelined.toFixed(2)} ms back to back; ` +
      `${r.launches_per_epoch} launches in ${r.submissions_per_epoch} submission; ` +
      `host record+submit ${r.host_record_submit_ms.toFixed(3)} ms. Kernels: ${r.kernel_method}.`;
    const body = $("bench-table").querySelector("tbody");
    body.innerHTML = "";
    for (const k of r.kernels) {
      body.insertAdjacentHTML("beforeend", `<tr><td>${k.kernel}</td><td>${k.calls}</td>` +
        `<td>${k.ms_per_epoch.toFixed(3)}</td><td>${k.gflops.toFixed(2)}</td><td>${k.gbps.toFixed(2)}</td></tr>`);
    }
    $("bench-table").hidden = false;
    $("bench-copy").disabled = false;
    status("bench-status", "done");
    return r;
  } catch (e) {
    status("bench-status", `benchmark failed: ${e.message ?? e}`, true);
    throw e;
  } finally {
    $("bench-button").disabled = false;
  }
}

// ---- doctor ------------------------------------------------------------------------------
// `argva doctor` on this adapter: every kernel against its CPU twin, PyG's golden epochs, a
// run repeated to the byte (the command line's own checks, in the library).
async function doctor() {
  $("doctor-button").disabled = true;
  status("doctor-status", "checking this GPU…");
  const body = $("doctor-table").querySelector("tbody");
  body.innerHTML = "";
  $("doctor-table").hidden = false;
  try {
    const row = (text) => {
      const c = JSON.parse(text);
      body.insertAdjacentHTML("beforeend", `<tr class="${c.passed ? "pass" : "fail"}">` +
        `<td>${c.passed ? "pass" : "FAIL"}</td><td>${c.name}</td><td>${c.worst.toExponential(2)}</td>` +
        `<td>${c.bound}</td><td>${c.seconds.toFixed(2)}</td><td>${c.detail}</td></tr>`);
    };
    const report = JSON.parse(await gpu.doctor(row));
    const failed = report.checks.filter((c) => !c.passed).length;
    const notes = report.warnings.map((w) => `\nnote: ${w}`).join("");
    status("doctor-status", (report.passed ? `verdict: all ${report.checks.length} checks passed`
      : `verdict: ${failed} of ${report.checks.length} checks FAILED: results on this GPU are not to be trusted`) + notes,
      !report.passed);
    return report;
  } catch (e) {
    status("doctor-status", `the checks could not run: ${e.message ?? e}`, true);
    throw e;
  } finally {
    $("doctor-button").disabled = false;
  }
}

// ---- wiring ------------------------------------------------------------------------------
$("doctor-button").addEventListener("click", () => { doctor().catch(() => {}); });
$("train-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const file = $("resume-file").files[0];
  const go = (resume) => train(formOptions(ev.target), resume).catch(() => {});
  if (file) file.arrayBuffer().then((b) => go(new Uint8Array(b))); else go(undefined);
});
$("bench-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  bench(formOptions(ev.target)).catch(() => {});
});
$("bench-copy").addEventListener("click", async () => {
  const text = JSON.stringify(lastBench, null, 2);
  try { await navigator.clipboard.writeText(text); status("bench-status", "copied to the clipboard"); }
  catch { status("bench-status", "the clipboard is not available here; the JSON:\n" + text); }
});
$("dl-npy").addEventListener("click", () => download("embedding.npy", lastRun.run.embedding_npy()));
$("dl-model").addEventListener("click", () => download("model.safetensors", lastRun.run.model_safetensors()));
$("dl-report").addEventListener("click", () =>
  download("metrics.json", JSON.stringify(lastRun.report, null, 2), "application/json"));

// Frames the page has painted: they advance only while the main thread yields (the test
// checks that training does).
let frames = 0;
(function tick() { frames++; requestAnimationFrame(tick); })();

// Checkpoints the test's runs handed over, by epoch.
const testCheckpoints = new Map();

// What the headless test (tests/web/run.mjs) calls besides the buttons.
window.argvaTest = {
  frames: () => frames,
  ready: null,
  checkShaders: async () => JSON.parse(await gpu.check_shaders()),
  doctor: () => doctor(),
  lastReport: () => lastRun?.report ?? null,
  lastBench: () => lastBench,
  // The library's job with these (flat, form-like) options, `resume` a checkpoint kept by an
  // earlier call (by its epoch): the report, the checkpoint epochs seen, and SHA-256 digests
  // of the run folder's files.
  run: async (options, resumeFrom = null) => {
    const kept = new Map();
    const notes = [];
    const resume = resumeFrom === null ? undefined : testCheckpoints.get(resumeFrom);
    const run = await gpu.train(JSON.stringify(argvaOptions(options)), (text, bytes) => {
      const e = JSON.parse(text);
      if (e.kind === "checkpoint") kept.set(e.epoch, bytes);
      if (e.kind === "note") notes.push(e.text);
    }, resume);
    for (const [epoch, bytes] of kept) testCheckpoints.set(epoch, bytes);
    const digests = {};
    for (const name of run.file_names()) {
      const hash = await crypto.subtle.digest("SHA-256", run.file_bytes(name));
      digests[name] = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0")).join("");
    }
    return { report: JSON.parse(run.report()), checkpoints: [...kept.keys()], notes, digests };
  },
  files: () => lastRun ? {
    npy: Array.from(lastRun.run.embedding_npy().slice(0, 10)),
    npyLength: lastRun.run.embedding_npy().length,
    safetensorsLength: lastRun.run.model_safetensors().length,
  } : null,
};

async function main() {
  await init();
  if (!navigator.gpu) {
    throw new Error("This browser has no WebGPU (navigator.gpu is missing). argva needs a " +
      "browser with WebGPU: Chrome or Edge 113+, Firefox 141+, Safari 26+; on Linux Chrome " +
      "may need chrome://flags/#enable-unsafe-webgpu.");
  }
  gpu = await Gpu.open();
  showAdapter(JSON.parse(gpu.info()));
  $("train-button").disabled = false;
  $("bench-button").disabled = false;
  $("doctor-button").disabled = false;
}

window.argvaTest.ready = main().then(() => "ready").catch((e) => {
  status("adapter", `No GPU for argva: ${e.message ?? e}`, true);
  return "no-webgpu: " + (e.message ?? e);
});
