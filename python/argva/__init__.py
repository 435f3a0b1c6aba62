"""argva: adversarially regularized graph autoencoders (GAE, VGAE, ARGA, ARGVA) trained
entirely on the GPU through WebGPU shaders (wgpu: Vulkan, Metal, DX12, or Mesa's lavapipe on a
machine without a GPU). No CUDA, no PyTorch.

>>> import argva
>>> result = argva.fit(argva.datasets.cora(), epochs=200, seed=0)
>>> result.embedding.shape, result.metrics["test_auc"]

`fit` runs the same job as the command line's `argva train` (same defaults, same seed → same
embedding bytes as its `embedding.npy`); `python -m argva …` is the command line itself.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _argva, datasets
from ._inputs import (
    Device, as_graph, batch_spec, check_count, device_arg, edge_bytes, feature_parts,
    numpy_scalar,
)
from ._progress import Progress

__version__: str = _argva.__version__
__all__ = ["fit", "FitResult", "devices", "doctor", "Device", "datasets", "__version__"]


@dataclass(frozen=True)
class FitResult:
    """A trained and evaluated model.

    Attributes:
        embedding: float32 array, nodes × latent: μ for VGAE/ARGVA, z for GAE/ARGA.
        metrics: test/val link prediction (``test_auc``, ``test_ap``, ``val_auc``,
            ``val_ap``) and, with labels, clustering (``acc``, ``nmi``, ``ari``, ``f1``).
        history: one dict per epoch: ``epoch``, ``total``, ``recon``, ``reg``, ``kl``,
            ``disc`` (and ``val_auc``, ``val_ap`` on validation epochs).
        split: the evaluated pairs, int64 arrays of shape (pairs, 2): ``test_pos``,
            ``test_neg``, ``val_pos``, ``val_neg``, and the ``train_pos`` edges trained on.
        config: the hyperparameters trained with (as in the CLI's ``metrics.json``).
        adapter: the GPU adapter's name; backend: its wgpu backend.
        selected_epoch: the epoch whose parameters made the embedding.
        train_seconds: time spent training.
        batches: a mini-batch run's clusters, steps, GPU bytes and time split (the CLI's
            ``batches`` in ``metrics.json``); None for a full-batch run.
        report: everything the run reports, the CLI's ``metrics.json`` (and ``--json``).
    """

    embedding: np.ndarray
    metrics: Dict[str, float]
    history: List[Dict[str, float]]
    split: Dict[str, np.ndarray]
    config: Dict[str, Any]
    adapter: str
    backend: str
    selected_epoch: int
    train_seconds: float
    batches: Optional[Dict[str, Any]]
    report: Dict[str, Any] = field(repr=False)
    _checkpoint: bytes = field(repr=False)
    _run_folder: Any = field(repr=False)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the trained model as the CLI's ``model.safetensors`` (loadable by ``argva
        embed``, ``--resume`` and ``fit(resume=…)``). Written to a temporary file first, then
        renamed: never half-written."""
        _argva.write_file(os.fspath(path), self._checkpoint)

    def write(self, folder: Union[str, "os.PathLike[str]"]) -> List[str]:
        """Writes the run folder ``argva train --out`` writes (``embedding.npy``,
        ``embedding.csv``, ``labels.npy``, ``history.csv``, ``model.safetensors``, the
        evaluated pairs, ``metrics.json`` last), each file atomically; returns their paths."""
        return list(self._run_folder.write(os.fspath(folder), self.embedding.tobytes()))

    def embed(
        self,
        edge_index: Any,
        x: Any = None,
        *,
        num_nodes: Optional[int] = None,
        device: Device = None,
    ) -> np.ndarray:
        """The trained encoder's embedding (float32, nodes × latent) of a graph with the same
        number of features, its messages passed over all of `edge_index`'s edges."""
        raw = _argva.embed(
            self._checkpoint,
            edge_bytes(edge_index),
            num_nodes,
            feature_parts(x),
            device_arg(device),
        )
        return np.frombuffer(raw, dtype=np.float32).reshape(-1, int(self.config["latent"]))


def fit(
    data_or_edge_index: Any,
    x: Any = None,
    y: Any = None,
    *,
    model: str = "argva",
    recipe: str = "pyg",
    epochs: Optional[int] = None,
    seed: int = 0,
    latent: Optional[int] = None,
    hidden: Optional[int] = None,
    disc_hidden: Optional[int] = None,
    disc_steps: Optional[int] = None,
    lr: Optional[float] = None,
    disc_lr: Optional[float] = None,
    recon: Optional[str] = None,
    eval_noise: Optional[bool] = None,
    normalize_features: bool = False,
    split: Tuple[float, float] = (0.05, 0.1),
    val_every: int = 10,
    select: str = "last",
    kmeans_restarts: int = 10,
    batch: Union[str, Tuple[int, int], None] = None,
    gpu_memory: Optional[int] = None,
    save_every: int = 0,
    checkpoint_dir: Union[str, "os.PathLike[str]", None] = None,
    resume: Union[str, "os.PathLike[str]", bytes, None] = None,
    num_nodes: Optional[int] = None,
    device: Device = None,
    progress: bool = True,
) -> FitResult:
    """Trains a graph autoencoder on the GPU and evaluates it, like ``argva train``.

    The hyperparameters left at ``None`` take the recipe's value (``argva train --help``
    lists both recipes'); ``result.config`` holds what the run used.

    Args:
        data_or_edge_index: the edges as a 2 × E integer array (PyG's ``edge_index``) or
            E × 2 (numpy, or a CPU torch tensor); or one object with ``.edge_index`` and
            optional ``.x``, ``.y`` (a PyG ``Data``, an ``argva.datasets`` dataset).
            Directions, duplicates and self-loops do not matter (edges are undirected).
        x: node features, nodes × features: a dense array (float32/float64/int) or any
            SciPy sparse matrix (kept sparse). Default: one-hot identity features.
        y: integer class per node (optional): enables the clustering metrics.
        model: ``gae``, ``vgae``, ``arga`` or ``argva``.
        recipe: ``pyg`` (PyTorch Geometric's ARGVA example: 200 epochs, latent 32, hidden
            2 × latent, 5 discriminator steps, lr 0.005 / 0.001, sampled loss) or ``paper``
            (the original ARGA/ARVGA code, Kipf's for GAE/VGAE: bias-free GCN, the dense loss,
            per iteration 5 reconstruction, 1 discriminator and 1 generator step; ARGA/ARVGA
            latent 32, hidden 32, lr 5e-4 / 1e-3; GAE/VGAE latent 16, lr 0.01).
        epochs: encoder steps (adversarial models add `disc_steps` discriminator steps each;
            ``paper``: iterations).
        seed: seeds everything random: initialisation, split, negatives, noise, k-means.
        latent: embedding width d; hidden: first GCN layer width.
        disc_hidden, disc_steps, lr, disc_lr: the discriminator's width and steps per epoch,
            the encoder's and the discriminator's Adam learning rates (``paper``: ``disc_lr``
            is also the generator step's).
        recon: ``sampled`` (positives + as many fresh negatives per epoch) or ``dense`` (the
            original paper's weighted BCE over all N² pairs).
        eval_noise: ``paper`` recipe, ARGA: keep the noise on H1 when computing the embedding
            that is evaluated, as the original code does (default True there).
        normalize_features: row-normalise x first (PyG's NormalizeFeatures).
        split: the fractions of edges held out for (validation, test).
        val_every: score the validation pairs every N epochs (0: only at the end).
        select: keep the ``last`` epoch's embedding or the best on validation AUC (``val``).
        kmeans_restarts: k-means restarts for the clustering metrics.
        batch: mini-batch training for graphs past the device (Cluster-GCN; the CLI's
            ``--batch``): ``(parts, per)`` or ``"parts=P,per=Q"`` cuts the nodes into P
            clusters once, and each step trains on the subgraph Q random clusters induce; the
            embedding is then computed layer by layer. The ``pyg`` recipe's sampled loss
            only; validation is scored at the end (``select="last"``).
        gpu_memory: GPU memory the run may use, in MiB (``--gpu-memory``): a graph whose
            full-batch buffers are larger trains in as few mini-batches as fit; also bounds
            the layer-wise evaluation. ``result.batches`` reports what ran.
        save_every: write a checkpoint (``checkpoint-EPOCH.safetensors``, the CLI's
            ``--save-every``) into ``checkpoint_dir`` every N epochs (0: never).
        checkpoint_dir: the folder for those checkpoints; with it, Ctrl-C also saves one
            before raising ``KeyboardInterrupt``.
        resume: continue from a checkpoint (a path, or its bytes: ``model.safetensors`` or
            ``checkpoint-*.safetensors``): its weights, Adam state, epoch count and
            hyperparameters are used; ``epochs`` is the total to reach. The split uses the
            checkpoint's seed; pass the run's ``split`` again if it was not the default.
        num_nodes: the node count when neither x nor the edges fix it (isolated last nodes).
        device: an index into :func:`devices` or part of an adapter's name (default: the
            best adapter; ``WGPU_BACKEND`` and ``WGPU_ADAPTER_NAME`` are honoured).
        progress: show a progress bar (tqdm when installed, else a line on stderr).

    Raises:
        ValueError: bad input (shapes, dtypes, ids out of range, NaN features, an empty
            graph, impossible settings), with the message the CLI gives.
        RuntimeError: no GPU adapter, a device error, or training that diverged.
        KeyboardInterrupt: Ctrl-C; training stops at the next epoch.
    """
    graph = as_graph(data_or_edge_index, x, y, num_nodes)
    counts = dict(epochs=epochs, seed=seed, latent=latent, hidden=hidden,
                  disc_hidden=disc_hidden, disc_steps=disc_steps, val_every=val_every,
                  kmeans_restarts=kmeans_restarts, gpu_memory=gpu_memory,
                  save_every=save_every)
    for name, value in counts.items():
        if value is not None:
            check_count(name, value)
    overrides = dict(epochs=epochs, latent=latent, hidden=hidden, disc_hidden=disc_hidden,
                     disc_steps=disc_steps, lr=lr, disc_lr=disc_lr, recon=recon,
                     eval_noise=eval_noise)
    settings = {
        "recipe": recipe,
        "model": model,
        "seed": seed,
        "normalize_features": normalize_features,
        "overrides": {k: v for k, v in overrides.items() if v is not None},
        "val_frac": split[0],
        "test_frac": split[1],
        "val_every": val_every,
        "select": select,
        "kmeans_restarts": kmeans_restarts,
        "batch": batch_spec(batch),
        "gpu_memory": gpu_memory,
        "save_every": save_every,
    }
    try:
        settings_json = json.dumps(settings, allow_nan=True, default=numpy_scalar)
    except TypeError as e:
        raise ValueError(f"a setting of argva.fit is not a number or a string: {e}") from None
    config = json.loads(_argva.config(settings_json))
    if isinstance(resume, (str, os.PathLike)):
        with open(resume, "rb") as f:
            resume = f.read()
    elif resume is not None and not isinstance(resume, (bytes, bytearray)):
        raise ValueError("resume must be a checkpoint's path or its bytes")
    if save_every and checkpoint_dir is None:
        raise ValueError("save_every needs a checkpoint_dir to write the checkpoints into")
    folder = os.fspath(checkpoint_dir) if checkpoint_dir is not None else None
    bar = Progress(config["epochs"], model, progress)
    try:
        raw = _argva.fit(
            graph.edges,
            graph.num_nodes,
            graph.features,
            graph.labels,
            graph.name,
            settings_json,
            device_arg(device),
            bar,
            bytes(resume) if resume is not None else None,
            folder,
        )
    finally:
        bar.close()
    nodes, d = raw["nodes"], raw["latent"]
    report = json.loads(raw["report"])
    return FitResult(
        embedding=np.frombuffer(raw["embedding"], dtype=np.float32).reshape(nodes, d),
        metrics=dict(raw["metrics"]),
        history=list(raw["history"]),
        split={
            k: np.frombuffer(v, dtype=np.int64).reshape(-1, 2).copy()
            for k, v in raw["split"].items()
        },
        config=report["config"],
        adapter=report["adapter"]["name"],
        backend=report["adapter"]["backend"],
        selected_epoch=report["selected_epoch"],
        train_seconds=report["train_seconds"],
        batches=report.get("batches"),
        report=report,
        _checkpoint=raw["checkpoint"],
        _run_folder=raw["run_folder"],
    )


@dataclass(frozen=True)
class Adapter:
    """A GPU adapter wgpu offers (``index`` is what ``device=`` takes)."""

    index: int
    name: str
    backend: str
    device_type: str


def doctor(device: Device = None) -> Dict[str, Any]:
    """Checks a GPU as ``argva doctor`` does: every kernel against its float64 twin on random
    inputs of awkward sizes, PyTorch Geometric's recorded epoch of each model replayed, an
    ARGVA run repeated to the byte, and whether the driver caps shader loops.

    Returns the report: ``{"adapter": {...}, "checks": [{"name", "passed", "worst", "bound",
    "detail", "seconds"}], "warnings": [...], "passed": bool}``. ``device`` as in :func:`fit`.
    Raises ``RuntimeError`` when no adapter opens; a failed check is ``passed: False``, not an
    exception.
    """
    return json.loads(_argva.doctor(device))


def devices() -> List[Adapter]:
    """The GPU adapters available (honours ``WGPU_BACKEND``), best first is not implied:
    ``device=None`` picks a discrete GPU over an integrated one over a software one."""
    return [Adapter(**a) for a in _argva.devices()]
