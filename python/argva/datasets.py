"""Datasets argva carries or can load: Cora and CiteSeer are compiled into argva (no files,
no network); `load` also takes `pubmed` (downloaded on request), an `sbm:` spec and the path
of an edge list, exactly as the command line does."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional, Tuple, Union

import numpy as np

from . import _argva


@dataclass(frozen=True)
class Dataset:
    """A graph in PyG's layout: ``edge_index`` int64 2 × E (each undirected edge in both
    directions), ``x`` float32 nodes × features (dense; ``x_sparse()`` gives SciPy CSR),
    ``y`` int64 classes or None. Pass it to :func:`argva.fit` as it is."""

    name: str
    edge_index: np.ndarray
    y: Optional[np.ndarray]
    num_nodes: int
    num_classes: int
    _argva_csr: Tuple[int, int, bytes, bytes, bytes] = field(repr=False)

    @property
    def x(self) -> np.ndarray:
        rows, cols, indptr, indices, data = self._csr_arrays()
        dense = np.zeros((rows, cols), dtype=np.float32)
        dense[np.repeat(np.arange(rows), np.diff(indptr)), indices] = data
        return dense

    def x_sparse(self) -> Any:
        """The features as a ``scipy.sparse.csr_matrix`` (needs SciPy)."""
        import scipy.sparse

        rows, cols, indptr, indices, data = self._csr_arrays()
        return scipy.sparse.csr_matrix((data, indices, indptr), shape=(rows, cols))

    def _csr_arrays(self) -> Tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
        rows, cols, indptr, indices, data = self._argva_csr
        return (
            rows,
            cols,
            np.frombuffer(indptr, dtype=np.int64),
            np.frombuffer(indices, dtype=np.int64),
            np.frombuffer(data, dtype=np.float32),
        )


def load(
    spec: str,
    *,
    root: Union[str, "os.PathLike[str]", None] = None,
    download: bool = False,
) -> Dataset:
    """Loads ``cora``, ``citeseer``, ``pubmed``, an ``sbm:`` spec or an edge-list file.

    Args:
        root: the folder holding Planetoid files (default: ``$ARGVA_DATA`` or ``./data``).
        download: fetch missing Planetoid files (PubMed) into ``root``.
    """
    raw = _argva.dataset(spec, None if root is None else os.fspath(root), download)
    edges = np.frombuffer(raw["edges"], dtype=np.int64).reshape(-1, 2).T.copy()
    y = raw["y"]
    return Dataset(
        name=raw["name"],
        edge_index=edges,
        y=None if y is None else np.frombuffer(y, dtype=np.int64).copy(),
        num_nodes=raw["num_nodes"],
        num_classes=raw["num_classes"],
        _argva_csr=tuple(raw["x"]),
    )


def cora() -> Dataset:
    """Cora (2708 papers, 1433 binary word features, 7 classes, 5278 edges): argva's copy."""
    return load("cora")


def citeseer() -> Dataset:
    """CiteSeer (3327 papers, 3703 binary features, 6 classes, 4552 edges): argva's copy."""
    return load("citeseer")
