"""The Python module end to end: results, reproducibility against the CLI, metrics against
scikit-learn, every input layout, and every bad input's exception."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
import scipy.sparse
from sklearn.metrics import average_precision_score, roc_auc_score

import argva
from argva import _argva

from conftest import EPOCHS


def test_a_result_has_the_documented_shapes_and_dtypes(cora, cora_run):
    r = cora_run
    assert r.embedding.shape == (cora.num_nodes, 32) and r.embedding.dtype == np.float32
    assert np.isfinite(r.embedding).all() and r.embedding.std() > 0
    assert set(r.metrics) == {"test_auc", "test_ap", "val_auc", "val_ap", "acc", "nmi", "ari", "f1"}
    assert [h["epoch"] for h in r.history] == list(range(1, EPOCHS + 1))
    assert all(np.isfinite(h["total"]) for h in r.history)
    for name in ("test_pos", "test_neg", "val_pos", "val_neg", "train_pos"):
        pairs = r.split[name]
        assert pairs.dtype == np.int64 and pairs.ndim == 2 and pairs.shape[1] == 2
        assert pairs.min() >= 0 and pairs.max() < cora.num_nodes
    assert len(r.split["test_pos"]) == len(r.split["test_neg"]) == 527
    assert r.config["model"] == "argva" and r.config["epochs"] == EPOCHS
    assert r.selected_epoch == EPOCHS and r.adapter


def test_link_metrics_equal_scikit_learns_on_the_split(cora_run):
    r = cora_run
    for part in ("test", "val"):
        pos, neg = r.split[f"{part}_pos"], r.split[f"{part}_neg"]
        z = r.embedding.astype(np.float64)
        score = lambda p: np.einsum("ij,ij->i", z[p[:, 0]], z[p[:, 1]])
        s = np.concatenate([score(pos), score(neg)])
        t = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
        assert r.metrics[f"{part}_auc"] == pytest.approx(roc_auc_score(t, s), abs=1e-12)
        assert r.metrics[f"{part}_ap"] == pytest.approx(average_precision_score(t, s), abs=1e-12)


def test_the_same_seed_gives_the_same_bytes_as_the_cli(cora, cora_run, tmp_path):
    again = argva.fit(cora, epochs=EPOCHS, seed=3, progress=False)
    assert again.embedding.tobytes() == cora_run.embedding.tobytes()
    out = tmp_path / "run"
    cli = [sys.executable, "-m", "argva", "cora", "--epochs", str(EPOCHS), "--seed", "3"]
    done = subprocess.run([*cli, "--out", str(out), "-q"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert np.load(out / "embedding.npy").tobytes() == cora_run.embedding.tobytes()
    np.testing.assert_array_equal(np.load(out / "test_pos.npy"), cora_run.split["test_pos"])
    cora_run.save(tmp_path / "model.safetensors")
    saved = (tmp_path / "model.safetensors").read_bytes()
    assert saved == (out / "model.safetensors").read_bytes()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["auc"] == cora_run.metrics["test_auc"]


def test_mini_batches_give_the_clis_bytes_and_report_them(cora, cora_run, tmp_path):
    r = argva.fit(cora, epochs=EPOCHS, seed=3, batch=(8, 4), progress=False)
    assert cora_run.batches is None
    assert (r.batches["parts"], r.batches["per_batch"]) == (8, 4)
    assert r.batches["steps"] == 2 * EPOCHS and len(r.history) == EPOCHS
    same = argva.fit(cora, epochs=EPOCHS, seed=3, batch="parts=8,per=4", progress=False)
    assert same.embedding.tobytes() == r.embedding.tobytes()
    out = tmp_path / "run"
    cli = [sys.executable, "-m", "argva", "cora", "--epochs", str(EPOCHS), "--seed", "3",
           "--batch", "parts=8,per=4", "--out", str(out), "-q"]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert np.load(out / "embedding.npy").tobytes() == r.embedding.tobytes()
    # A budget under the full batch's 12 MiB trains in batches that fit it.
    with pytest.warns(UserWarning, match="training in mini-batches"):
        b = argva.fit(cora, epochs=1, seed=3, gpu_memory=8, progress=False).batches
    assert b is not None and b["gpu_bytes"] <= 8 << 20 and b["steps"] >= 2


def test_a_different_seed_gives_a_different_embedding(cora, cora_run):
    other = argva.fit(cora, epochs=EPOCHS, seed=4, progress=False)
    assert other.embedding.tobytes() != cora_run.embedding.tobytes()


def test_sparse_and_dense_features_train_identically(cora, cora_run):
    dense = argva.fit(cora.edge_index, cora.x, cora.y, epochs=EPOCHS, seed=3, progress=False)
    sparse = argva.fit(
        cora.edge_index, cora.x_sparse(), cora.y, epochs=EPOCHS, seed=3, progress=False
    )
    coo = argva.fit(
        cora.edge_index, scipy.sparse.coo_matrix(cora.x), cora.y, epochs=EPOCHS, seed=3,
        progress=False,
    )
    assert dense.embedding.tobytes() == cora_run.embedding.tobytes()
    assert sparse.embedding.tobytes() == dense.embedding.tobytes()
    assert coo.embedding.tobytes() == dense.embedding.tobytes()
    f64 = argva.fit(cora.edge_index, cora.x.astype(np.float64), epochs=1, seed=3, progress=False)
    f32 = argva.fit(cora.edge_index, cora.x, epochs=1, seed=3, progress=False)
    assert f64.embedding.tobytes() == f32.embedding.tobytes()


def test_layouts_and_pyg_like_objects_agree(ring):
    edge_index, x, y = ring
    kw = dict(epochs=3, seed=1, progress=False, model="gae")
    base = argva.fit(edge_index, x, y, **kw)
    transposed = argva.fit(edge_index.T.copy(), x, y, **kw)
    both_ways = argva.fit(np.concatenate([edge_index, edge_index[::-1]], axis=1), x, y, **kw)
    data = types.SimpleNamespace(edge_index=edge_index.astype(np.int32), x=x, y=y, num_nodes=12)
    pyg = argva.fit(data, **kw)
    for r in (transposed, both_ways, pyg):
        assert r.embedding.tobytes() == base.embedding.tobytes()
    assert "acc" in base.metrics


class FakeTensor:
    """Quacks like a CPU torch tensor (torch itself is not installed in the test venv)."""

    __module__ = "torch"

    def __init__(self, array, device="cpu"):
        self.array, self.device = array, device

    def detach(self):
        return self

    def numpy(self):
        return self.array


def test_torch_tensors_are_converted_without_torch(ring):
    edge_index, x, y = ring
    kw = dict(epochs=2, seed=0, progress=False, model="vgae")
    base = argva.fit(edge_index, x, y, **kw)
    viat = argva.fit(FakeTensor(edge_index), FakeTensor(x), FakeTensor(y), **kw)
    assert viat.embedding.tobytes() == base.embedding.tobytes()
    with pytest.raises(ValueError, match="tensor on cuda:0: move it to the CPU"):
        argva.fit(FakeTensor(edge_index, device="cuda:0"), progress=False)


def test_featureless_graphs_get_identity_features(ring):
    edge_index, _, _ = ring
    r = argva.fit(edge_index, epochs=2, progress=False, model="gae", latent=8)
    assert r.embedding.shape == (12, 8)
    r = argva.fit(edge_index, epochs=2, progress=False, model="gae", latent=8, num_nodes=15)
    assert r.embedding.shape == (15, 8)


def test_embed_reuses_the_trained_model(ring):
    edge_index, x, y = ring
    r = argva.fit(edge_index, x, y, epochs=3, seed=2, progress=False, model="arga")
    train_edges = r.split["train_pos"]
    again = r.embed(train_edges, x)
    np.testing.assert_array_equal(again, r.embedding)
    with pytest.raises(ValueError, match="feature size mismatch"):
        r.embed(edge_index, x[:, :3])


NAN_X = np.ones((12, 4), dtype=np.float32)
NAN_X[5, 2] = np.nan

BAD_INPUTS = [
    (dict(data=np.zeros((3, 3), np.int64)), "must be a 2 × E array"),
    (dict(data=np.zeros(4, np.int64)), "must be a 2 × E array"),
    (dict(data=np.array([[0.0, 1.0]])), "must hold integer node ids"),
    (dict(data=np.array([[0, -3]])), "node id -3 is not allowed"),
    (dict(data=np.array([[0, 40]]), x=np.ones((12, 4))), "node id 40 is out of range"),
    (dict(data=np.array([[0, 1]]), x=np.ones((3, 4)), num_nodes=5), "x has 3 rows for 5 nodes"),
    (dict(x=NAN_X), "feature row 5, column 2 is NaN"),
    (dict(x=np.ones(12)), "x must be a 2-D array"),
    (dict(x=np.array([["a"] * 4] * 12)), "x must hold real numbers"),
    (dict(y=np.zeros(11, np.int64)), "11 labels for 12 nodes"),
    (dict(y=np.full(12, 0.5)), "y must hold integer classes"),
    (dict(y=-np.ones(12, np.int64)), "labels must be non-negative"),
    (dict(data=np.zeros((2, 0), np.int64)), "the graph is empty"),
    (dict(data=np.array([[3, 3]])), "only self-loops"),
    (dict(model="gcn"), "unknown variant `gcn`"),
    (dict(recipe="tf"), "unknown variant `tf`"),
    (dict(recipe="paper", recon="full"), "unknown variant `full`"),
    (dict(epochs=-1), "epochs must be a non-negative integer, got -1"),
    (dict(latent=2.5), "latent must be a non-negative integer, got 2.5"),
    (dict(lr="fast"), "invalid type: string"),
    (dict(lr=0.0), "--lr must be a positive number"),
    (dict(split=(0.5, 0.5)), "must leave edges for training"),
    (dict(select="val", val_every=0), "--select val needs validation"),
    (dict(disc_steps=0), "--disc-steps 0"),
    (dict(device=-1), "device must be an index"),
    (dict(num_nodes=-2), "num_nodes must be a non-negative integer"),
    (dict(batch=(0, 1)), "argva.fit batch: `parts` needs a positive integer, got `0`"),
    (dict(batch=(2, 4)), "per=4 is more than parts=2"),
    (dict(batch="parts=two"), "`parts` needs a positive integer, got `two`"),
    (dict(batch=[1, 2, 3]), "batch must be (parts, per)"),
    (dict(batch=(3, 2), recipe="paper"), "not --recipe paper or --recon dense"),
    (dict(batch=(3, 2), select="val"), "--select val needs full batch"),
    (dict(gpu_memory=0), "argva.fit gpu_memory: the budget must be at least 1 MiB"),
    (dict(gpu_memory=-5), "gpu_memory must be a non-negative integer"),
    (dict(gpu_memory=2**60), "more bytes than a 64-bit count holds"),
]


@pytest.mark.parametrize("case,message", BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_raises_value_error_with_the_clis_message(ring, case, message):
    edge_index, x, y = ring
    args = dict(data=edge_index, x=x, y=None, progress=False, epochs=1)
    args.update(case)
    data = args.pop("data")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        argva.fit(data, **args)


def test_a_missing_adapter_is_a_runtime_error(ring):
    edge_index, x, _ = ring
    with pytest.raises(RuntimeError, match="no GPU adapter matches the name \"no such gpu\""):
        argva.fit(edge_index, x, epochs=1, progress=False, device="no such gpu")
    with pytest.raises(RuntimeError, match="no GPU adapter matches adapter #99"):
        argva.fit(edge_index, x, epochs=1, progress=False, device=99)


def test_devices_lists_adapters_and_an_index_picks_one(ring):
    found = argva.devices()
    assert found and all(d.name and d.backend for d in found)
    edge_index, x, _ = ring
    r = argva.fit(edge_index, x, epochs=1, progress=False, device=found[0].index)
    assert r.adapter == found[0].name


def test_doctor_checks_the_gpu_like_the_command_line():
    report = argva.doctor()
    assert report["passed"], [c for c in report["checks"] if not c["passed"]]
    names = [c["name"] for c in report["checks"]]
    # The CLI's report has the same checks in the same order.
    out = subprocess.run([sys.executable, "-m", "argva", "doctor", "--json"],
                         capture_output=True, text=True, check=True)
    assert [c["name"] for c in json.loads(out.stdout)["checks"]] == names
    assert any(n.startswith("golden argva") for n in names)
    with pytest.raises(RuntimeError, match="no GPU adapter matches"):
        argva.doctor(device="no such gpu")


# The settings whose default is the recipe's (None in the signature).
PER_RECIPE = {"epochs", "latent", "hidden", "disc_hidden", "disc_steps", "lr", "disc_lr",
              "recon", "eval_noise"}


def test_the_signatures_defaults_are_the_clis():
    d = json.loads(_argva.defaults())
    import inspect

    p = inspect.signature(argva.fit).parameters
    for k, v in d["config"].items():
        if k in PER_RECIPE:
            assert p[k].default is None, k
        else:
            assert p[k].default == v, k
    assert p["split"].default == (d["val_frac"], d["test_frac"])
    for k in ("val_every", "kmeans_restarts", "select"):
        assert p[k].default == d[k], k


def f32s(config):
    """A config's numbers as the f32 they are in Rust (JSON writes them two ways)."""
    return {k: float(np.float32(v)) if isinstance(v, float) else v for k, v in config.items()}


@pytest.mark.parametrize("recipe", ["pyg", "paper"])
def test_a_recipe_sets_the_defaults_and_an_argument_given_wins(ring, recipe):
    recipes = json.loads(_argva.defaults())["recipes"]
    assert recipes["pyg"]["argva"] == json.loads(_argva.defaults())["config"]
    edge_index, x, _ = ring
    for model in ("gae", "arga"):
        r = argva.fit(edge_index, x, model=model, recipe=recipe, epochs=2, progress=False)
        assert f32s(r.config) == f32s(dict(recipes[recipe][model], epochs=2)), model
        assert len(r.history) == 2 and np.isfinite(r.embedding).all()
    r = argva.fit(edge_index, x, model="arga", recipe=recipe, epochs=1, latent=8, lr=0.02,
                  recon="sampled", eval_noise=False, progress=False)
    want = dict(recipes[recipe]["arga"], epochs=1, latent=8, lr=0.02, recon="sampled",
                eval_noise=False)
    # pyg's hidden follows the latent width (2 × latent); the paper's is its own
    want["hidden"] = 16 if recipe == "pyg" else recipes["paper"]["arga"]["hidden"]
    assert f32s(r.config) == f32s(want)


def test_numpy_scalars_are_taken_as_the_numbers_they_hold(ring):
    """Settings from numpy (a sweep over np.arange, an np.float32 rate) train as plain ones."""
    edge_index, x, _ = ring
    plain = argva.fit(edge_index, x, model="arga", epochs=2, latent=8, lr=0.02, seed=3,
                      split=(0.05, 0.1), progress=False)
    numpy = argva.fit(edge_index, x, model="arga", epochs=np.int64(2), latent=np.int32(8),
                      lr=np.float64(0.02), seed=np.uint8(3), split=(np.float64(0.05), 0.1),
                      normalize_features=np.bool_(False), progress=False)
    assert numpy.config == plain.config
    assert numpy.embedding.tobytes() == plain.embedding.tobytes()
    # an np.float32 rate is the float32 it holds (Rust keeps rates as f32)
    r = argva.fit(edge_index, x, model="gae", epochs=1, lr=np.float32(0.02), progress=False)
    assert np.float32(r.config["lr"]) == np.float32(0.02)
    with pytest.raises(ValueError, match="not a number or a string"):
        argva.fit(edge_index, x, epochs=1, lr=np.datetime64("2026-12-07"), progress=False)


def test_the_paper_recipe_gives_the_clis_bytes(ring, tmp_path):
    edge_index, x, y = ring
    np.savetxt(tmp_path / "edges.txt", edge_index.T, fmt="%d")
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    r = argva.fit(edge_index, x, model="arga", recipe="paper", epochs=3, seed=2, progress=False)
    out = tmp_path / "run"
    cli = [sys.executable, "-m", "argva", "train", str(tmp_path / "edges.txt"), "--features",
           str(tmp_path / "x.csv"), "--model", "arga", "--recipe", "paper", "--epochs", "3",
           "--seed", "2", "--out", str(out), "-q"]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert np.load(out / "embedding.npy").tobytes() == r.embedding.tobytes()


def test_datasets_are_embedded():
    c = argva.datasets.citeseer()
    assert (c.num_nodes, c.x.shape[1], c.num_classes) == (3327, 3703, 6)
    assert c.edge_index.shape == (2, 2 * 4552) and c.y.shape == (3327,)
    with pytest.raises(ValueError, match="not a dataset name"):
        argva.datasets.load("no-such-dataset")


def test_save_writes_atomically_and_names_a_bad_folder(cora_run, tmp_path):
    cora_run.save(tmp_path / "m.safetensors")
    assert sorted(os.listdir(tmp_path)) == ["m.safetensors"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(RuntimeError, match="cannot create a temporary file in"):
        cora_run.save(tmp_path / "file" / "m.safetensors")


def test_ctrl_c_stops_training_with_keyboard_interrupt(tmp_path):
    script = textwrap.dedent(
        """
        import faulthandler, os, signal, sys, threading, time, numpy as np, argva
        faulthandler.dump_traceback_later(90, exit=True)  # a hang shows where it is
        # As in an interactive interpreter: a CI shell may start us with SIGINT ignored, and
        # Python then keeps it ignored (Ctrl-C would rightly do nothing).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        edges = np.array([(i, (i + 1) % 50) for i in range(50)]).T
        argva.fit(edges, epochs=1, progress=False, model="gae")  # compile the pipelines first
        print("compiled", file=sys.stderr, flush=True)
        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t = time.time()
        try:
            argva.fit(edges, epochs=10_000_000, progress=False, model="gae")
        except KeyboardInterrupt:
            print("interrupted after", round(time.time() - t, 2))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("interrupted after"), done.stdout + done.stderr
    assert float(done.stdout.split()[-1]) < 10


def test_python_m_argva_is_the_command_line():
    done = subprocess.run(
        [sys.executable, "-m", "argva", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "Usage: argva" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "argva", "train", "cora", "--epochs", "x"],
        capture_output=True, text=True,
    )
    assert done.returncode == 2 and "invalid value 'x'" in done.stderr


def test_training_releases_the_gil(cora):
    """A Python thread keeps running while fit trains (it would stall if the GIL were held)."""
    import threading
    import time

    ticks, stop = [], threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)

    argva.fit(cora, epochs=1, progress=False, model="gae")  # compile the pipelines first
    worker = threading.Thread(target=count)
    worker.start()
    t0 = time.perf_counter()
    argva.fit(cora, epochs=30, progress=False, model="gae")
    t1 = time.perf_counter()
    stop.set()
    worker.join()
    inside = [t for t in ticks if t0 < t < t1]
    # One tick per 5 ms when free; demand a third of that (2 cores, a busy software GPU).
    assert len(inside) > (t1 - t0) / 0.005 / 3, (len(inside), t1 - t0)


def test_checkpoints_and_resume_give_the_uninterrupted_bytes(cora, tmp_path):
    kw = dict(epochs=6, seed=3, latent=8, progress=False)
    whole = argva.fit(cora, **kw)
    half = argva.fit(cora, save_every=3, checkpoint_dir=tmp_path, **kw)
    assert half.embedding.tobytes() == whole.embedding.tobytes()
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["checkpoint-00003.safetensors", "checkpoint-00006.safetensors"]
    resumed = argva.fit(cora, resume=tmp_path / "checkpoint-00003.safetensors", **kw)
    assert [h["epoch"] for h in resumed.history] == [4, 5, 6]
    assert resumed.embedding.tobytes() == whole.embedding.tobytes()
    from_bytes = argva.fit(cora, resume=(tmp_path / "checkpoint-00003.safetensors").read_bytes(), **kw)
    assert from_bytes.embedding.tobytes() == whole.embedding.tobytes()
    with pytest.raises(ValueError, match="save_every needs a checkpoint_dir"):
        argva.fit(cora, save_every=2, **kw)
    with pytest.raises(ValueError, match="already trained 6 epochs"):
        argva.fit(cora, resume=(tmp_path / "checkpoint-00006.safetensors"), **{**kw, "epochs": 4})


def test_the_paper_recipe_and_best_validation_selection_run_as_in_the_cli(cora, tmp_path):
    r = argva.fit(cora, model="gae", recipe="paper", epochs=4, seed=1, progress=False)
    assert r.config["recipe"] == "paper" and r.config["recon"] == "dense"
    best = argva.fit(cora, epochs=6, seed=1, latent=8, val_every=2, select="val", progress=False)
    aucs = {e: s["auc"] for e, s in best.report["validation"]}
    assert best.selected_epoch == max(aucs, key=lambda e: (aucs[e], -e))
    out = tmp_path / "run"
    cli = [sys.executable, "-m", "argva", "cora", "--epochs", "6", "--seed", "1", "--latent", "8",
           "--val-every", "2", "--select", "val", "--out", str(out), "-q"]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert np.load(out / "embedding.npy").tobytes() == best.embedding.tobytes()


def test_the_report_and_run_folder_are_the_clis(cora, cora_run, tmp_path):
    r = cora_run
    assert r.report["test"]["auc"] == r.metrics["test_auc"]
    assert r.report["config"] == r.config and r.report["select"] == "last"
    written = r.write(tmp_path / "py")
    assert os.path.basename(written[-1]) == "metrics.json"
    out = tmp_path / "cli"
    cli = [sys.executable, "-m", "argva", "cora", "--epochs", str(EPOCHS), "--seed", "3",
           "--out", str(out), "-q"]
    done = subprocess.run(cli, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(tmp_path / "py")) == sorted(os.listdir(out))
    for name in os.listdir(out):
        if name != "metrics.json":  # (its clocks differ)
            assert (tmp_path / "py" / name).read_bytes() == (out / name).read_bytes(), name
    py, cl = (json.loads((d / "metrics.json").read_text()) for d in (tmp_path / "py", out))
    for report in (py, cl):  # (clocks, and where the graph came from: arrays vs embedded)
        del report["wall_seconds"], report["train_seconds"], report["graph"]["source"]
    assert py == cl


def test_a_budget_fallback_is_a_warning_not_stderr(cora):
    with pytest.warns(UserWarning, match="training in mini-batches"):
        r = argva.fit(cora, epochs=1, seed=3, gpu_memory=8, progress=False)
    assert r.batches is not None


def test_ctrl_c_with_a_checkpoint_dir_saves_a_checkpoint_that_resumes(tmp_path):
    script = textwrap.dedent(
        f"""
        import faulthandler, os, signal, sys, threading, numpy as np, argva
        faulthandler.dump_traceback_later(90, exit=True)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        edges = np.array([(i, (i + 1) % 50) for i in range(50)]).T
        argva.fit(edges, epochs=1, progress=False, model="gae")
        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        try:
            argva.fit(edges, epochs=10_000_000, progress=False, model="gae",
                      checkpoint_dir={str(tmp_path)!r})
        except KeyboardInterrupt:
            print("interrupted")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and done.stdout.strip() == "interrupted", done.stderr
    (saved,) = tmp_path.iterdir()
    epochs = int(saved.name.removeprefix("checkpoint-").removesuffix(".safetensors"))
    assert epochs >= 1
    edges = np.array([(i, (i + 1) % 50) for i in range(50)]).T
    r = argva.fit(edges, epochs=epochs + 2, progress=False, model="gae", resume=saved)
    assert [h["epoch"] for h in r.history] == [epochs + 1, epochs + 2]
